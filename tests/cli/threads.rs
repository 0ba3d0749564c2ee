//! Thread-count independence: `train` writes the same model bytes whatever the number of rayon
//! threads, so a model does not depend on the machine that trained it.

use crate::util::*;

/// Train on the training fixture with `RAYON_NUM_THREADS=threads` and return the model bytes.
fn train_with_threads(threads: usize, extra: &[&str]) -> Vec<u8> {
    let dir = tempdir();
    let data = fx("train.csv");
    let mut args = vec!["train", "--data", data.as_str(), "--model", "m.newsclass"];
    args.extend_from_slice(extra);
    let out = newsclass(dir.path())
        .env("RAYON_NUM_THREADS", threads.to_string())
        .args(&args)
        .write_stdin("")
        .output()
        .expect("run newsclass");
    ok(&out);
    std::fs::read(dir.path().join("m.newsclass")).expect("read the trained model")
}

#[test]
fn model_bytes_do_not_depend_on_the_thread_count() {
    for extra in [
        &[][..],
        &[
            "--ngram-range",
            "1,3",
            "--sublinear-tf",
            "--c",
            "30",
            "--class-weight",
            "balanced",
        ][..],
    ] {
        let one = train_with_threads(1, extra);
        for threads in [2, 4] {
            let many = train_with_threads(threads, extra);
            assert!(
                many == one,
                "train {extra:?} with RAYON_NUM_THREADS={threads} wrote other bytes than with 1 \
                 ({} vs {} bytes)",
                many.len(),
                one.len()
            );
        }
    }
}

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

/// Train on the training fixture with `--threads threads` and return the model bytes.
fn train_with_flag(dir: &std::path::Path, threads: &str, model: &str) -> Vec<u8> {
    let data = fx("train.csv");
    ok(&run(
        dir,
        &[
            "train",
            "--threads",
            threads,
            "--data",
            data.as_str(),
            "--model",
            model,
        ],
    ));
    std::fs::read(dir.join(model)).expect("read the trained model")
}

#[test]
fn threads_flag_gives_the_same_model_and_predictions() {
    let dir = tempdir();
    let one = train_with_flag(dir.path(), "1", "one.newsclass");
    let two = train_with_flag(dir.path(), "2", "two.newsclass");
    assert!(
        one == two,
        "train --threads 1 and --threads 2 wrote different bytes"
    );
    let test = fx("test.csv");
    let predict = |threads: &str| {
        ok(&run(
            dir.path(),
            &[
                "--threads",
                threads,
                "predict",
                "--model",
                "one.newsclass",
                "--input-format",
                "csv",
                "--format",
                "jsonl",
                "--probs",
                test.as_str(),
            ],
        ))
    };
    let p1 = predict("1");
    assert!(p1.lines().count() > 10, "predict printed {p1:?}");
    assert_eq!(p1, predict("2"), "predict --threads 1 and 2 differ");
}

#[test]
fn threads_flag_rejects_zero_and_words() {
    let dir = tempdir();
    for bad in ["0", "-1", "many"] {
        let out = run(dir.path(), &["predict", "--threads", bad, "-"]);
        assert_eq!(out.status.code(), Some(2), "--threads {bad}");
        let err = stderr(&out);
        assert!(
            err.contains("--threads") && err.contains("at least 1"),
            "--threads {bad}: {err}"
        );
    }
}

#[test]
fn threads_flag_is_accepted_by_every_computing_command() {
    let dir = tempdir();
    let data = fx("train.csv");
    for cmd in [
        "train", "predict", "eval", "cv", "bench", "report", "explain", "info",
    ] {
        let out = run(dir.path(), &[cmd, "--threads", "1", "--help"]);
        assert!(
            stdout(&out).contains("--threads"),
            "{cmd} --help does not list --threads"
        );
    }
    let out = ok(&run(
        dir.path(),
        &[
            "bench",
            "--threads",
            "1",
            "--repeat",
            "1",
            "--data",
            data.as_str(),
        ],
    ));
    assert!(out.contains("batched"), "bench printed {out}");
}

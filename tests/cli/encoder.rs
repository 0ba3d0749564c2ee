//! `bench --encoder` (feature `encoder`): a bad encoder directory is one clear error line.

use crate::util::*;

#[test]
fn bench_refuses_a_missing_encoder_directory() {
    let dir = tempdir();
    let out = run(
        dir.path(),
        &[
            "bench",
            "--data",
            &fx("train.csv"),
            "--encoder",
            "no-such-dir",
        ],
    );
    assert_user_error(
        &out,
        &["no-such-dir", "is not a directory", "scripts/get-encoder"],
    );
}

#[test]
fn bench_names_the_missing_encoder_file() {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("enc")).unwrap();
    write(dir.path(), "enc/config.json", "{}");
    let out = run(
        dir.path(),
        &["bench", "--data", &fx("train.csv"), "--encoder", "enc"],
    );
    assert_user_error(&out, &["enc", "config.json"]);
    write(dir.path(), "enc/config.json", r#"{"model_type": "mpnet"}"#);
    let out = run(
        dir.path(),
        &["bench", "--data", &fx("train.csv"), "--encoder", "enc"],
    );
    assert_user_error(
        &out,
        &["enc", "config.json", "unsupported model_type \"mpnet\""],
    );
}

#[test]
fn bench_rewords_the_batch_size_as_its_flag() {
    let dir = tempdir();
    let enc =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/encoder/all-MiniLM-L6-v2");
    if !enc.join("model.safetensors").is_file() {
        println!("skipped: no encoder weights (run scripts/get-encoder)");
        return;
    }
    let out = run(
        dir.path(),
        &[
            "bench",
            "--data",
            &fx("train.csv"),
            "--encoder",
            enc.to_str().unwrap(),
            "--encoder-batch-tokens",
            "0",
        ],
    );
    assert_user_error(&out, &["--encoder-batch-tokens", "at least 1"]);
}

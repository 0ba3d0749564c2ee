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

/// The encoder directory `scripts/get-encoder` installs, when it is there.
fn weights() -> Option<String> {
    let enc =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/encoder/all-MiniLM-L6-v2");
    if !enc.join("model.safetensors").is_file() {
        println!("skipped: no encoder weights (run scripts/get-encoder)");
        return None;
    }
    Some(enc.to_str().unwrap().to_string())
}

#[test]
fn train_info_and_predict_with_an_encoder_block() {
    let Some(enc) = weights() else { return };
    let dir = tempdir();
    let m16 = train(
        dir.path(),
        "m16.newsclass",
        &["--c", "10", "--encoder", &enc, "--encoder-weight", "0.5"],
    );
    let info = json(&run_ok(
        dir.path(),
        &["info", "--model", m16.to_str().unwrap()],
    ));
    assert_eq!(info["format_version"], 3);
    assert_eq!(info["encoder"]["name"], "all-MiniLM-L6-v2");
    assert_eq!(info["encoder"]["dim"], 384);
    assert_eq!(info["encoder"]["precision"], "f16");
    assert_eq!(info["params"]["encoder"]["weight"], 0.5);
    assert_eq!(info["params"]["encoder"]["storage"], "f16");
    let article = fx("article.txt");
    let rows = predict_jsonl(dir.path(), "m16.newsclass", "text", &article);
    assert!(rows.len() > 3);
    // The file carries its encoder, so another one is refused.
    let out = run(
        dir.path(),
        &[
            "predict",
            "--model",
            "m16.newsclass",
            "--encoder",
            &enc,
            &article,
        ],
    );
    assert_user_error(&out, &["m16.newsclass", "carries its own encoder"]);

    // Identity only: predicting needs the encoder's directory.
    train(
        dir.path(),
        "m0.newsclass",
        &["--c", "10", "--encoder", &enc, "--encoder-embed", "none"],
    );
    let small = std::fs::metadata(dir.path().join("m0.newsclass"))
        .unwrap()
        .len();
    assert!(small * 10 < std::fs::metadata(&m16).unwrap().len());
    let out = run(
        dir.path(),
        &["predict", "--model", "m0.newsclass", &article],
    );
    assert_user_error(&out, &["m0.newsclass", "all-MiniLM-L6-v2", "--encoder DIR"]);
    let with = run_ok(
        dir.path(),
        &[
            "predict",
            "--model",
            "m0.newsclass",
            "--encoder",
            &enc,
            "--format",
            "jsonl",
            &article,
        ],
    );
    assert_eq!(jsonl(&with).len(), rows.len());
    // Training and cross-validation flags are checked.
    let out = run_train(
        dir.path(),
        "bad.newsclass",
        &["--encoder", &enc, "--encoder-weight", "0"],
    );
    assert_user_error(&out, &["--encoder-weight", "> 0"]);
    assert!(!dir.path().join("bad.newsclass").exists());
    let cv = json(&run_ok(
        dir.path(),
        &[
            "cv",
            "--data",
            &fx("train.csv"),
            "--folds",
            "2",
            "--c",
            "10",
            "--encoder",
            &enc,
            "--encoder-weight",
            "0.5,2",
            "--format",
            "json",
        ],
    ));
    let weights: Vec<f64> = cv["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["params"]["encoder"]["weight"].as_f64().unwrap())
        .collect();
    assert_eq!(weights, [0.5, 2.0]);
}

//! Nothing is lost on failure, closed pipes, `--quiet`, and the embedded default model.

use std::path::Path;

use crate::util::*;

/// A failed `train` must leave the existing model at `--model` byte-identical and no stray files.
fn assert_failed_training_keeps_the_model(extra: &[&str], data_name: &str, data: &str) {
    let dir = tempdir();
    let model = train(dir.path(), "m.newsclass", &[]);
    let before = std::fs::read(&model).unwrap();
    write(dir.path(), data_name, data);
    let files_before = entries(dir.path());
    let mut args = vec!["train", "--data", data_name, "--model", "m.newsclass"];
    args.extend_from_slice(extra);
    let out = run(dir.path(), &args);
    assert_user_error(&out, &[]);
    assert!(
        std::fs::read(&model).unwrap() == before,
        "failed training changed the existing model"
    );
    assert_eq!(entries(dir.path()), files_before, "stray files left behind");
}

#[test]
fn bad_data_keeps_the_existing_model() {
    assert_failed_training_keeps_the_model(
        &[],
        "bad.csv",
        "article,text,topic,stance\na,Troops advanced.,security,neutral\na,,security,neutral\n",
    );
}

#[test]
fn a_single_class_keeps_the_existing_model() {
    assert_failed_training_keeps_the_model(
        &[],
        "one.csv",
        "article,text,topic,stance\na,Troops advanced.,security,neutral\nb,Talks resumed.,security,critical\n",
    );
}

#[test]
fn a_bad_flag_keeps_the_existing_model() {
    let data = std::fs::read_to_string(fixture("train.csv")).unwrap();
    assert_failed_training_keeps_the_model(&["--max-df", "1.5"], "good.csv", &data);
}

#[test]
fn an_impossible_validation_split_keeps_the_existing_model() {
    // Two articles: holding out 10% of them leaves nothing to validate on.
    assert_failed_training_keeps_the_model(
        &["--validation-split", "0.1", "--group-column", "article"],
        "two.csv",
        "article,text,topic,stance\n\
         a,Troops advanced.,security,neutral\n\
         b,Talks resumed.,diplomacy,critical\n",
    );
}

#[test]
fn successful_training_leaves_only_the_model() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    assert_eq!(entries(dir.path()), ["m.newsclass"]);
    // Overwriting an existing model, too.
    train(dir.path(), "m.newsclass", &["--c", "3"]);
    assert_eq!(entries(dir.path()), ["m.newsclass"]);
}

#[test]
fn a_failed_save_leaves_no_temporary_file() {
    let dir = tempdir();
    let out = run_train(dir.path(), "missing-dir/m.newsclass", &[]);
    assert_user_error(&out, &["missing-dir"]);
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn quiet_training_prints_nothing() {
    let dir = tempdir();
    let data = fx("train.csv");
    for args in [
        [
            "train",
            "--quiet",
            "--data",
            &data,
            "--model",
            "q.newsclass",
        ],
        ["-q", "train", "--data", &data, "--model", "r.newsclass"],
    ] {
        let out = run(dir.path(), &args);
        ok(&out);
        assert!(out.stdout.is_empty(), "stdout: {}", stdout(&out));
        assert!(out.stderr.is_empty(), "stderr: {}", stderr(&out));
    }
    // Quiet changes nothing in the model.
    let loud = train(dir.path(), "l.newsclass", &[]);
    assert!(std::fs::read(loud).unwrap() == std::fs::read(dir.path().join("q.newsclass")).unwrap());
}

/// Run predict on a large article with stdout piped, read one line, close the pipe, and return
/// the exit status and stderr.
#[cfg(unix)]
fn predict_into_closed_pipe(dir: &Path, format: &str) -> (std::process::ExitStatus, String) {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};

    let article = std::fs::read_to_string(fixture("article.txt")).unwrap();
    // About 2,400 sentences: far more output than a pipe buffer holds.
    let big = write(dir, "big.txt", article.repeat(300));
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("newsclass"))
        .current_dir(dir)
        .args(["predict", "--model", "m.newsclass", "--format", format])
        .arg(&big)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn newsclass");
    let mut first = String::new();
    {
        let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
        reader.read_line(&mut first).unwrap();
        // Dropping the reader closes the pipe.
    }
    assert!(!first.is_empty(), "no output before the pipe was closed");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().expect("wait for newsclass"), err)
}

#[cfg(unix)]
fn assert_closed_pipe_is_success(format: &str) {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let (status, err) = predict_into_closed_pipe(dir.path(), format);
    assert_eq!(
        status.code(),
        Some(0),
        "predict --format {format} into a closed pipe: {status:?}, stderr: {err}"
    );
    assert!(err.is_empty(), "stderr: {err}");
}

#[cfg(unix)]
#[test]
fn closed_stdout_is_success_table() {
    assert_closed_pipe_is_success("table");
}

#[cfg(unix)]
#[test]
fn closed_stdout_is_success_jsonl() {
    assert_closed_pipe_is_success("jsonl");
}

#[cfg(unix)]
#[test]
fn closed_stdout_is_success_csv() {
    assert_closed_pipe_is_success("csv");
}

#[test]
fn predict_without_model_uses_the_embedded_default_or_asks_for_one() {
    let dir = tempdir();
    let embedded = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/default.newsclass")
        .is_file();
    let article = fx("article.txt");
    let out = run(dir.path(), &["predict", "--format", "jsonl", &article]);
    if embedded {
        let preds = jsonl(&ok(&out));
        assert!(!preds.is_empty());
        for p in &preds {
            assert!(p["text"].is_string(), "{p}");
            let heads: Vec<_> = p
                .as_object()
                .unwrap()
                .values()
                .filter(|v| v.get("label").is_some())
                .collect();
            assert!(!heads.is_empty(), "no head labels in {p}");
        }
    } else {
        assert_user_error(&out, &["--model"]);
        let test = fx("test.csv");
        let out = run(dir.path(), &["eval", "--data", &test]);
        assert_user_error(&out, &["--model"]);
    }
}

#[test]
fn model_names_default_and_fast_pick_the_built_in_models_unless_a_file_has_that_name() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    if !root.join("default.newsclass").is_file() || !root.join("fast.newsclass").is_file() {
        eprintln!("skipped: models/default.newsclass or models/fast.newsclass is missing");
        return;
    }
    let dir = tempdir();
    let info = |model: &[&str]| {
        let mut args = vec!["info"];
        args.extend_from_slice(model);
        json(&run_ok(dir.path(), &args))
    };
    let default = info(&[]);
    assert_eq!(info(&["--model", "default"]), default);
    let fast = info(&["--model", "fast"]);
    // The default model carries the sentence encoder; the fast one is TF-IDF only.
    assert!(default["encoder"]["name"].is_string(), "{default}");
    assert!(fast.get("encoder").is_none(), "{fast}");
    let on_disk = |name: &str| {
        let bytes = std::fs::read(root.join(name)).unwrap();
        newsclass::Pipeline::read_header(&bytes).unwrap().training
    };
    assert_eq!(
        serde_json::to_value(on_disk("fast.newsclass")).unwrap(),
        fast["training"]
    );
    assert_eq!(
        serde_json::to_value(on_disk("default.newsclass")).unwrap(),
        default["training"]
    );
    // Both classify; a file named `fast` in the working directory wins over the built-in name.
    let article = fx("article.txt");
    let by_fast = jsonl(&run_ok(
        dir.path(),
        &["predict", "--model", "fast", "--format", "jsonl", &article],
    ));
    assert!(!by_fast.is_empty());
    std::fs::copy(root.join("default.newsclass"), dir.path().join("fast")).unwrap();
    assert_eq!(info(&["--model", "fast"]), default);
    // Any other missing name is a missing file, named as such.
    let out = run(dir.path(), &["predict", "--model", "quick", &article]);
    assert_user_error(&out, &["quick"]);
}

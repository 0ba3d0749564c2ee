//! Helpers shared by the CLI tests: fixtures, running the binary, checking errors.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// Labels of the `topic` head in the fixtures.
pub const TOPICS: [&str; 3] = ["casualties", "diplomacy", "security"];
/// Labels of the `stance` head in the fixtures.
pub const STANCES: [&str; 3] = ["critical", "neutral", "supportive"];

/// Absolute path of a file under `tests/fixtures/cli/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cli")
        .join(name)
}

/// Absolute path of a fixture, as a string for argument lists.
pub fn fx(name: &str) -> String {
    fixture(name).to_str().expect("UTF-8 path").to_string()
}

/// A fresh temporary directory for one test.
pub fn tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("newsclass-cli-")
        .tempdir()
        .expect("create a temporary directory")
}

/// The `newsclass` binary, run in `dir`.
pub fn newsclass(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("newsclass").expect("the newsclass binary is built");
    cmd.current_dir(dir);
    cmd
}

/// Run `newsclass ARGS` in `dir` with empty standard input.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    newsclass(dir)
        .args(args)
        .write_stdin("")
        .output()
        .expect("run newsclass")
}

/// Run `newsclass ARGS` in `dir` with `input` on standard input.
pub fn run_stdin(dir: &Path, args: &[&str], input: impl Into<Vec<u8>>) -> Output {
    newsclass(dir)
        .args(args)
        .write_stdin(input)
        .output()
        .expect("run newsclass")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Assert success and return stdout.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "expected success, got {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        stderr(out)
    );
    stdout(out)
}

/// Run and assert success; return stdout.
pub fn run_ok(dir: &Path, args: &[&str]) -> String {
    ok(&run(dir, args))
}

/// Run `train` on the training fixture into `dir/name`, with extra flags; succeed or not.
pub fn run_train(dir: &Path, name: &str, extra: &[&str]) -> Output {
    let data = fx("train.csv");
    let mut args = vec!["train", "--data", data.as_str(), "--model", name];
    args.extend_from_slice(extra);
    run(dir, &args)
}

/// Train a model on the training fixture into `dir/name`, with extra flags.
pub fn train(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    ok(&run_train(dir, name, extra));
    let path = dir.join(name);
    assert!(path.is_file(), "train did not write {}", path.display());
    path
}

/// Run `predict --format jsonl` with `model` on `input` (read as `input_format`), assert
/// success, and return the parsed records.
pub fn predict_jsonl(dir: &Path, model: &str, input_format: &str, input: &str) -> Vec<Value> {
    jsonl(&run_ok(
        dir,
        &[
            "predict",
            "--model",
            model,
            "--input-format",
            input_format,
            "--format",
            "jsonl",
            input,
        ],
    ))
}

/// Write `contents` to `dir/name` and return its path.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write a test file");
    path
}

/// Sorted names of the entries of `dir`.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.sort();
    v
}

/// Assert a user error: exit code 2, nothing on stdout, and exactly one stderr line that starts
/// with `newsclass: error:`, is no panic message, and contains every one of `needles`.
/// Returns that line.
pub fn assert_user_error(out: &Output, needles: &[&str]) -> String {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit code 2, got {:?}; stderr:\n{err}",
        out.status
    );
    assert!(
        out.stdout.is_empty(),
        "expected nothing on stdout, got:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!err.contains("panicked"), "panic message on stderr:\n{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one stderr line, got {}:\n{err}",
        lines.len()
    );
    let line = lines[0];
    assert!(
        line.starts_with("newsclass: error:"),
        "stderr does not start with `newsclass: error:`: {line}"
    );
    for n in needles {
        assert!(line.contains(n), "stderr lacks {n:?}: {line}");
    }
    line.to_string()
}

/// Parse JSON lines.
pub fn jsonl(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// Parse a JSON document.
pub fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{s}"))
}

/// Read a CSV text into its header and rows.
pub fn csv_rows(s: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rdr = csv::Reader::from_reader(s.as_bytes());
    let header = rdr
        .headers()
        .expect("CSV header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = rdr
        .records()
        .map(|r| r.expect("CSV record").iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// The rows of a labeled fixture as (article, text, topic, stance).
pub fn fixture_rows(name: &str) -> Vec<[String; 4]> {
    let (header, rows) = csv_rows(&std::fs::read_to_string(fixture(name)).expect("read fixture"));
    assert_eq!(header, ["article", "text", "topic", "stance"]);
    rows.into_iter()
        .map(|r| [r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()])
        .collect()
}

/// A float field of a JSON value.
pub fn f(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

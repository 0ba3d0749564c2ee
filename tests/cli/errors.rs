//! User errors: exit code 2 and one `newsclass: error:` line naming the file, line and fix.

use std::path::Path;

use crate::util::*;

const HEADER: &str = "article,text,topic,stance\n";

/// Run `train` on `dir/name` (written from `contents`) into `m.newsclass`.
fn train_on(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> std::process::Output {
    write(dir, name, contents);
    run(dir, &["train", "--data", name, "--model", "m.newsclass"])
}

#[test]
fn missing_data_file() {
    let dir = tempdir();
    let out = run(
        dir.path(),
        &["train", "--data", "nope.csv", "--model", "m.newsclass"],
    );
    assert_user_error(&out, &["nope.csv"]);
}

#[test]
fn unknown_data_extension() {
    let dir = tempdir();
    let out = train_on(
        dir.path(),
        "data.txt",
        format!("{HEADER}a,Talks,diplomacy,neutral\n"),
    );
    let line = assert_user_error(&out, &["data.txt"]);
    assert!(line.contains(".csv") && line.contains(".jsonl"), "{line}");
}

#[test]
fn missing_column_in_header() {
    let dir = tempdir();
    let out = train_on(
        dir.path(),
        "d.csv",
        "article,text,topic\na,Troops advanced.,security\n",
    );
    // Line 1 is the header; the message names the missing column and what there is.
    assert_user_error(&out, &["d.csv:1", "stance", "topic"]);
}

#[test]
fn empty_text_names_its_line() {
    let dir = tempdir();
    // A quoted field spanning two lines comes first: the bad row is on line 5.
    let out = train_on(
        dir.path(),
        "d.csv",
        format!(
            "{HEADER}a,\"Troops advanced\ntoward the river.\",security,neutral\n\
             a,Talks resumed.,diplomacy,supportive\n\
             a,   ,security,neutral\n"
        ),
    );
    assert_user_error(&out, &["d.csv:5", "text", "empty"]);
}

#[test]
fn missing_label_names_its_line_and_column() {
    let dir = tempdir();
    let out = train_on(
        dir.path(),
        "d.csv",
        format!(
            "{HEADER}a,Troops advanced.,security,neutral\n\
             a,Talks resumed.,diplomacy,supportive\n\
             \n\
             a,Ten people died.,casualties,\n"
        ),
    );
    assert_user_error(&out, &["d.csv:5", "stance", "label"]);
}

#[test]
fn malformed_jsonl_names_its_line() {
    let dir = tempdir();
    let out = train_on(
        dir.path(),
        "d.jsonl",
        "{\"text\":\"Troops advanced.\",\"topic\":\"security\",\"stance\":\"neutral\"}\n\
         {\"text\":\"Talks resumed.\",\"topic\":\"diplomacy\",\"stance\":\"supportive\"}\n\
         {\"text\": \"Ten people died.\", \"topic\": \"casualties\"\n",
    );
    assert_user_error(&out, &["d.jsonl:3"]);
}

#[test]
fn invalid_utf8_in_training_data() {
    let dir = tempdir();
    let mut bytes = format!("{HEADER}a,Troops advanced.,security,neutral\n").into_bytes();
    bytes.extend_from_slice(b"a,Talks \xff\xfe resumed.,diplomacy,neutral\n");
    let out = train_on(dir.path(), "d.csv", bytes);
    assert_user_error(&out, &["d.csv:3", "UTF-8"]);
}

#[test]
fn invalid_utf8_in_an_article() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    write(
        dir.path(),
        "a.txt",
        b"Headline\n\nFirst paragraph.\nCaf\xe9 owners said \xff.\n",
    );
    let out = run(dir.path(), &["predict", "--model", "m.newsclass", "a.txt"]);
    assert_user_error(&out, &["a.txt:4", "UTF-8"]);
}

#[test]
fn a_single_class_label_column() {
    let dir = tempdir();
    let out = train_on(
        dir.path(),
        "d.csv",
        format!(
            "{HEADER}a,Troops advanced.,security,neutral\n\
             a,Talks resumed.,security,supportive\n\
             b,Ten people died.,security,critical\n"
        ),
    );
    assert_user_error(&out, &["topic", "security"]);
}

/// `train` on the good fixture with one bad flag: exit 2 and a message naming the flag (as
/// `--flag` or as the parameter `flag_name`).
fn assert_bad_train_flag(flag_args: &[&str]) {
    assert_bad_train_flag_as(flag_args[0], flag_args);
}

/// As [`assert_bad_train_flag`], for flag `flag` given as `flag_args`.
fn assert_bad_train_flag_as(flag: &str, flag_args: &[&str]) {
    let dir = tempdir();
    let data = fx("train.csv");
    let mut args = vec!["train", "--data", data.as_str(), "--model", "m.newsclass"];
    args.extend_from_slice(flag_args);
    let out = run(dir.path(), &args);
    let param = flag.trim_start_matches('-').replace('-', "_");
    let line = assert_user_error(&out, &[]);
    assert!(
        line.contains(&format!("'{flag}'"))
            || line.contains(&format!("`{flag}`"))
            || line.contains(&format!("`{param}`")),
        "the message does not name {flag}: {line}"
    );
    assert!(
        !dir.path().join("m.newsclass").exists(),
        "a model was written despite {flag_args:?}"
    );
}

#[test]
fn bad_flag_c_zero() {
    assert_bad_train_flag(&["--c", "0"]);
}

#[test]
fn bad_flag_c_negative() {
    assert_bad_train_flag(&["--c", "-1"]);
}

#[test]
fn bad_flag_c_negative_with_equals() {
    assert_bad_train_flag_as("--c", &["--c=-1"]);
}

#[test]
fn bad_flag_ngram_range_reversed() {
    assert_bad_train_flag(&["--ngram-range", "2,1"]);
}

#[test]
fn bad_flag_ngram_range_not_numbers() {
    assert_bad_train_flag(&["--ngram-range", "x"]);
}

#[test]
fn bad_flag_min_df_not_a_number() {
    assert_bad_train_flag(&["--min-df", "abc"]);
}

#[test]
fn bad_flag_max_df_above_one() {
    assert_bad_train_flag(&["--max-df", "1.5"]);
}

#[test]
fn bad_flag_validation_split_above_one() {
    assert_bad_train_flag(&["--validation-split", "1.5"]);
}

#[test]
fn bad_flag_max_iter_zero() {
    assert_bad_train_flag(&["--max-iter", "0"]);
}

#[test]
fn bad_flag_tol_zero() {
    assert_bad_train_flag(&["--tol", "0"]);
}

#[test]
fn bad_flag_folds_one() {
    let dir = tempdir();
    let data = fx("train.csv");
    let out = run(
        dir.path(),
        &["cv", "--data", &data, "--folds", "1", "--format", "json"],
    );
    assert_user_error(&out, &["--folds"]);
}

#[test]
fn more_folds_than_articles() {
    let dir = tempdir();
    let data = fx("test.csv");
    let out = run(
        dir.path(),
        &[
            "cv",
            "--data",
            &data,
            "--folds",
            "6",
            "--group-column",
            "article",
        ],
    );
    assert_user_error(&out, &["folds"]);
}

#[test]
fn a_corrupt_model_file() {
    let dir = tempdir();
    let model = train(dir.path(), "m.newsclass", &[]);
    let bytes = std::fs::read(&model).unwrap();
    write(dir.path(), "cut.newsclass", &bytes[..bytes.len() / 2]);
    let article = fx("article.txt");
    let out = run(
        dir.path(),
        &["predict", "--model", "cut.newsclass", &article],
    );
    assert_user_error(&out, &["cut.newsclass"]);
}

#[test]
fn a_random_file_as_model() {
    let dir = tempdir();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    write(dir.path(), "random.bin", bytes);
    let article = fx("article.txt");
    let out = run(dir.path(), &["predict", "--model", "random.bin", &article]);
    assert_user_error(&out, &["random.bin"]);
    let test = fx("test.csv");
    let out = run(
        dir.path(),
        &["eval", "--model", "random.bin", "--data", &test],
    );
    assert_user_error(&out, &["random.bin"]);
}

#[test]
fn a_training_csv_as_model() {
    let dir = tempdir();
    let data = fx("train.csv");
    let article = fx("article.txt");
    let out = run(dir.path(), &["predict", "--model", &data, &article]);
    assert_user_error(&out, &["train.csv"]);
}

#[test]
fn a_model_with_an_unknown_format_version() {
    let dir = tempdir();
    let model = train(dir.path(), "m.newsclass", &[]);
    let bytes = std::fs::read(&model).unwrap();
    let needle = b"\"format_version\": 2";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the header holds \"format_version\": 2");
    let mut future = bytes.clone();
    future[at + needle.len() - 1] = b'9';
    assert_eq!(future.len(), bytes.len());
    write(dir.path(), "future.newsclass", &future);
    let article = fx("article.txt");
    let out = run(
        dir.path(),
        &["predict", "--model", "future.newsclass", &article],
    );
    let line = assert_user_error(&out, &["future.newsclass", "version"]);
    assert!(line.contains('9'), "{line}");
}

#[test]
fn a_missing_model_file() {
    let dir = tempdir();
    let article = fx("article.txt");
    let out = run(
        dir.path(),
        &["predict", "--model", "gone.newsclass", &article],
    );
    assert_user_error(&out, &["gone.newsclass"]);
}

#[test]
fn eval_with_a_head_the_model_lacks() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let test = fx("test.csv");
    let out = run(
        dir.path(),
        &[
            "eval",
            "--model",
            "m.newsclass",
            "--data",
            &test,
            "--label-columns",
            "article",
        ],
    );
    assert_user_error(&out, &["article", "--label-columns"]);
}

#[test]
fn standard_input_twice() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let out = run(dir.path(), &["predict", "--model", "m.newsclass", "-", "-"]);
    assert_user_error(&out, &["standard input"]);
}

#[test]
fn duplicate_label_columns_are_rejected() {
    // Two heads named `topic` would collide in every output (JSON keys, CSV columns).
    let dir = tempdir();
    let out = run_train(
        dir.path(),
        "m.newsclass",
        &["--label-columns", "topic,topic"],
    );
    assert_user_error(&out, &["topic"]);
    assert!(!dir.path().join("m.newsclass").exists());
}

#[test]
fn info_on_a_bad_model_names_the_file() {
    let dir = tempdir();
    write(dir.path(), "notes.bin", "just some notes, not a model\n");
    let out = run(dir.path(), &["info", "--model", "notes.bin"]);
    assert_user_error(&out, &["notes.bin"]);
}

//! Character n-grams on the command line: train, save, load, predict, info, cv, and the flags'
//! errors.

use serde_json::Value;

use crate::util::*;

const CHAR_FLAGS: [&str; 6] = [
    "--analyzer",
    "char_wb",
    "--char-ngram-range",
    "2,5",
    "--min-df",
    "2",
];

#[test]
fn char_model_round_trips_and_predicts_the_same_after_reload() {
    let dir = tempdir();
    let out = run_train(dir.path(), "c.newsclass", &CHAR_FLAGS);
    let text = ok(&out);
    assert!(
        text.contains("word n-grams +") && text.contains("char_wb n-grams"),
        "{text}"
    );
    // Deterministic bytes, and different from a word-only model.
    let a = std::fs::read(dir.path().join("c.newsclass")).unwrap();
    let b = std::fs::read(train(dir.path(), "d.newsclass", &CHAR_FLAGS)).unwrap();
    assert!(a == b, "two char n-gram trainings differ");
    let w = std::fs::read(train(dir.path(), "w.newsclass", &["--min-df", "2"])).unwrap();
    assert!(a != w);
    // The header names the char block; the sections exist only for it.
    let info = json(&run_ok(dir.path(), &["info", "--model", "c.newsclass"]));
    let chars = &info["params"]["char_ngrams"];
    assert_eq!(chars["analyzer"], "char_wb", "{info}");
    assert_eq!(chars["ngram_range"], serde_json::json!([2, 5]), "{info}");
    assert!(info["params"].get("analyzer").is_none(), "{info}");
    let sections: Vec<&str> = info["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        &sections[..4],
        ["vocabulary", "idf", "char.vocabulary", "char.idf"]
    );
    let word_info = json(&run_ok(dir.path(), &["info", "--model", "w.newsclass"]));
    assert!(word_info["params"].get("char_ngrams").is_none());
    assert!(!word_info["sections"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"].as_str().unwrap().starts_with("char.")));
    // Predictions: identical for the model and a copy of it, and the model is not the word one.
    std::fs::copy(
        dir.path().join("c.newsclass"),
        dir.path().join("copy.newsclass"),
    )
    .unwrap();
    let article = fx("article.txt");
    let predict = |model: &str| {
        run_ok(
            dir.path(),
            &[
                "predict", "--model", model, "--format", "jsonl", "--probs", &article,
            ],
        )
    };
    let p1 = predict("c.newsclass");
    assert_eq!(p1, predict("copy.newsclass"));
    assert_ne!(p1, predict("w.newsclass"));
    let eval = json(&run_ok(
        dir.path(),
        &[
            "eval",
            "--model",
            "c.newsclass",
            "--data",
            &fx("train.csv"),
            "--format",
            "json",
        ],
    ));
    assert!(f(&eval["heads"]["topic"], "accuracy") > 0.9, "{eval}");
}

#[test]
fn char_analyzer_alone_counts_characters_with_ngram_range() {
    let dir = tempdir();
    train(
        dir.path(),
        "c.newsclass",
        &["--analyzer", "char", "--ngram-range", "1,3"],
    );
    let info = json(&run_ok(dir.path(), &["info", "--model", "c.newsclass"]));
    assert_eq!(info["params"]["analyzer"], "char", "{info}");
    assert!(info["params"].get("char_ngrams").is_none(), "{info}");
    let names: Vec<&str> = info["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(&names[..2], ["char.vocabulary", "char.idf"]);
    let out = run_ok(
        dir.path(),
        &["predict", "--model", "c.newsclass", &fx("article.txt")],
    );
    assert!(out.lines().count() > 3, "{out}");
}

#[test]
fn char_flags_are_checked_and_named() {
    let dir = tempdir();
    let out = run_train(dir.path(), "m.newsclass", &["--char-ngram-range", "3,9"]);
    assert_user_error(&out, &["--char-ngram-range", "6"]);
    let out = run_train(dir.path(), "m.newsclass", &["--char-ngram-range", "5"]);
    assert_user_error(&out, &["--char-ngram-range", "MIN,MAX"]);
    let out = run_train(
        dir.path(),
        "m.newsclass",
        &["--analyzer", "char", "--ngram-range", "1,7"],
    );
    assert_user_error(&out, &["--ngram-range", "6"]);
    let out = run_train(dir.path(), "m.newsclass", &["--char-min-df", "2"]);
    assert_user_error(&out, &["--char-min-df", "--char-ngram-range"]);
    let out = run_train(
        dir.path(),
        "m.newsclass",
        &["--char-ngram-range", "2,4", "--char-min-df", "1.5"],
    );
    assert_user_error(&out, &["--char-min-df"]);
    let out = run_train(
        dir.path(),
        "m.newsclass",
        &["--char-ngram-range", "2,4", "--char-min-df", "1000"],
    );
    assert_user_error(&out, &["--char-min-df", "--char-max-df"]);
    let out = run_train(dir.path(), "m.newsclass", &["--analyzer", "chars"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("char_wb"), "{}", stderr(&out));
    assert!(!dir.path().join("m.newsclass").exists());
}

#[test]
fn cv_grids_over_analyzer_and_char_ngram_range() {
    let dir = tempdir();
    let data = fx("train.csv");
    let out = run_ok(
        dir.path(),
        &[
            "cv",
            "--data",
            &data,
            "--folds",
            "3",
            "--group-column",
            "article",
            "--analyzer",
            "word,char",
            "--char-ngram-range",
            "none:2,4",
            "--format",
            "json",
        ],
    );
    let cv = json(&out);
    let settings = cv["settings"].as_array().expect("settings");
    assert_eq!(settings.len(), 4);
    let blocks: Vec<(Value, Value)> = settings
        .iter()
        .map(|s| {
            let p = &s["params"];
            (
                p.get("analyzer").cloned().unwrap_or(Value::Null),
                p.get("char_ngrams")
                    .map(|c| c["analyzer"].clone())
                    .unwrap_or(Value::Null),
            )
        })
        .collect();
    // word alone; word + char_wb 2-4; char alone (over --ngram-range); word + char 2-4.
    assert_eq!(
        blocks,
        [
            (Value::Null, Value::Null),
            (Value::Null, "char_wb".into()),
            ("char".into(), Value::Null),
            (Value::Null, "char".into()),
        ]
    );
    let text = run_ok(
        dir.path(),
        &[
            "cv",
            "--data",
            &data,
            "--folds",
            "3",
            "--group-column",
            "article",
            "--char-ngram-range",
            "none:2,4",
            "--char-min-df",
            "2",
        ],
    );
    assert!(text.contains("+char_wb=2,4"), "{text}");
    assert!(text.contains("char_min_df=2"), "{text}");
    let out = run(
        dir.path(),
        &["cv", "--data", &data, "--char-ngram-range", "none:2,x"],
    );
    assert_user_error(&out, &["--char-ngram-range"]);
}

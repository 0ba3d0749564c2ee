//! `newsclass predict`: output formats, offsets, inputs, reloading.

use std::path::Path;

use serde_json::Value;

use crate::util::*;

/// Train the default model in `dir` and return predict's JSONL objects for the article.
fn article_predictions(dir: &std::path::Path, extra: &[&str]) -> Vec<Value> {
    train(dir, "m.newsclass", &[]);
    let article = fx("article.txt");
    let mut args = vec!["predict", "--model", "m.newsclass", "--format", "jsonl"];
    args.extend_from_slice(extra);
    args.push(&article);
    jsonl(&run_ok(dir, &args))
}

fn check_head(p: &Value, head: &str, labels: [&str; 3], with_probs: bool) {
    let h = &p[head];
    let label = h["label"]
        .as_str()
        .unwrap_or_else(|| panic!("no {head}.label in {p}"));
    assert!(labels.contains(&label), "unknown {head} label in {p}");
    let prob = f(h, "prob");
    // The most likely of three classes has probability above 1/3.
    assert!(prob > 0.33 && prob <= 1.0, "{head}.prob {prob} in {p}");
    if !with_probs {
        assert!(h.get("probs").is_none(), "probs without --probs: {p}");
        return;
    }
    let probs = h["probs"]
        .as_object()
        .unwrap_or_else(|| panic!("no {head}.probs in {p}"));
    let mut keys: Vec<&str> = probs.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, labels, "{p}");
    let sum: f64 = probs.values().map(|v| v.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-3, "{head} probs sum to {sum}: {p}");
    let max = probs
        .values()
        .map(|v| v.as_f64().unwrap())
        .fold(f64::MIN, f64::max);
    assert!((probs[label].as_f64().unwrap() - max).abs() < 1e-9, "{p}");
    assert!((probs[label].as_f64().unwrap() - prob).abs() < 1e-9, "{p}");
}

#[test]
fn jsonl_objects_have_the_documented_fields() {
    let dir = tempdir();
    let preds = article_predictions(dir.path(), &[]);
    assert!(preds.len() >= 6, "too few sentences: {preds:?}");
    let article = fx("article.txt");
    for (i, p) in preds.iter().enumerate() {
        assert_eq!(p["source"].as_str(), Some(article.as_str()), "{p}");
        assert_eq!(p["sentence"].as_u64(), Some(i as u64 + 1), "{p}");
        assert!(p["start"].is_u64() && p["end"].is_u64(), "{p}");
        assert!(p["text"].is_string(), "{p}");
        check_head(p, "topic", TOPICS, false);
        check_head(p, "stance", STANCES, false);
    }
    // The headline (no final period) is a sentence of its own; `U.S.` does not end one.
    assert_eq!(
        preds[0]["text"],
        "Ceasefire talks resume in Geneva as shelling continues"
    );
    assert!(
        preds.iter().any(|p| p["text"]
            .as_str()
            .unwrap()
            .starts_with("The U.S. envoy praised")),
        "{preds:?}"
    );
}

#[test]
fn probs_flag_adds_a_distribution_per_head() {
    let dir = tempdir();
    let preds = article_predictions(dir.path(), &["--probs"]);
    assert!(!preds.is_empty());
    for p in &preds {
        check_head(p, "topic", TOPICS, true);
        check_head(p, "stance", STANCES, true);
    }
}

#[test]
fn offsets_index_the_article_in_chars() {
    let dir = tempdir();
    let preds = article_predictions(dir.path(), &[]);
    let chars: Vec<char> = std::fs::read_to_string(fixture("article.txt"))
        .unwrap()
        .chars()
        .collect();
    let mut last_end = 0;
    for p in &preds {
        let start = p["start"].as_u64().unwrap() as usize;
        let end = p["end"].as_u64().unwrap() as usize;
        assert!(
            last_end <= start && start < end && end <= chars.len(),
            "{p}"
        );
        let slice: String = chars[start..end].iter().collect();
        assert_eq!(slice, p["text"].as_str().unwrap(), "offsets of {p}");
        last_end = end;
    }
    // Every non-space character of the article is in some sentence.
    let covered: usize = preds
        .iter()
        .map(|p| {
            p["text"]
                .as_str()
                .unwrap()
                .chars()
                .filter(|c| !c.is_whitespace())
                .count()
        })
        .sum();
    assert_eq!(covered, chars.iter().filter(|c| !c.is_whitespace()).count());
}

#[test]
fn csv_output_has_a_header_and_one_row_per_sentence() {
    let dir = tempdir();
    let preds = article_predictions(dir.path(), &[]);
    let article = fx("article.txt");
    let out = run_ok(
        dir.path(),
        &[
            "predict",
            "--model",
            "m.newsclass",
            "--format",
            "csv",
            &article,
        ],
    );
    let (header, rows) = csv_rows(&out);
    for col in [
        "source", "sentence", "start", "end", "text", "topic", "stance",
    ] {
        assert!(header.iter().any(|h| h == col), "no {col} in {header:?}");
    }
    assert_eq!(rows.len(), preds.len());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (row, p) in rows.iter().zip(&preds) {
        assert_eq!(row[col("text")], p["text"].as_str().unwrap());
        assert_eq!(row[col("start")], p["start"].to_string());
        assert_eq!(row[col("end")], p["end"].to_string());
        assert_eq!(row[col("topic")], p["topic"]["label"].as_str().unwrap());
        assert_eq!(row[col("stance")], p["stance"]["label"].as_str().unwrap());
    }
}

#[test]
fn table_output_has_a_header_and_one_line_per_sentence() {
    let dir = tempdir();
    let preds = article_predictions(dir.path(), &[]);
    let article = fx("article.txt");
    let out = run_ok(dir.path(), &["predict", "--model", "m.newsclass", &article]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), preds.len() + 1, "{out}");
    for word in ["topic", "stance", "sentence"] {
        assert!(
            lines[0].contains(word),
            "header {:?} lacks {word}",
            lines[0]
        );
    }
    for (line, p) in lines[1..].iter().zip(&preds) {
        assert!(line.ends_with(p["text"].as_str().unwrap()), "{line}");
        assert!(
            line.contains(p["topic"]["label"].as_str().unwrap()),
            "{line}"
        );
        assert!(
            line.contains(p["stance"]["label"].as_str().unwrap()),
            "{line}"
        );
    }
}

#[test]
fn standard_input_with_dash_or_no_file_matches_the_file() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let article = fx("article.txt");
    let text = std::fs::read(fixture("article.txt")).unwrap();
    let from_file = run_ok(dir.path(), &["predict", "--model", "m.newsclass", &article]);
    let dash = ok(&run_stdin(
        dir.path(),
        &["predict", "--model", "m.newsclass", "-"],
        text.clone(),
    ));
    let none = ok(&run_stdin(
        dir.path(),
        &["predict", "--model", "m.newsclass"],
        text,
    ));
    assert!(!from_file.is_empty());
    assert_eq!(dash, from_file);
    assert_eq!(none, from_file);
}

#[test]
fn predictions_are_identical_across_loads_and_copies() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    std::fs::copy(dir.path().join("m.newsclass"), dir.path().join("copy.bin")).unwrap();
    let article = fx("article.txt");
    let predict = |model: &str| {
        run_ok(
            dir.path(),
            &[
                "predict", "--model", model, "--format", "jsonl", "--probs", &article,
            ],
        )
    };
    let first = predict("m.newsclass");
    let second = predict("m.newsclass");
    let third = predict("copy.bin");
    assert!(!first.is_empty());
    assert_eq!(first, second);
    assert_eq!(first, third);
}

#[test]
fn csv_input_passes_ids_through() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    write(
        dir.path(),
        "in.csv",
        "id,text\nx1,Troops shelled militant positions near the border.\nx2,\"The envoy praised the talks, calling them a success.\"\n",
    );
    let preds = predict_jsonl(dir.path(), "m.newsclass", "csv", "in.csv");
    assert_eq!(preds.len(), 2);
    assert_eq!(preds[0]["id"], "x1");
    assert_eq!(preds[1]["id"], "x2");
    assert_eq!(
        preds[1]["text"],
        "The envoy praised the talks, calling them a success."
    );
    for (i, p) in preds.iter().enumerate() {
        assert_eq!(p["sentence"].as_u64(), Some(i as u64 + 1));
        check_head(p, "topic", TOPICS, false);
        check_head(p, "stance", STANCES, false);
    }

    let out = run_ok(
        dir.path(),
        &[
            "predict",
            "--model",
            "m.newsclass",
            "--input-format",
            "csv",
            "--format",
            "csv",
            "in.csv",
        ],
    );
    let (header, rows) = csv_rows(&out);
    let id = header
        .iter()
        .position(|h| h == "id")
        .unwrap_or_else(|| panic!("no id column: {header:?}"));
    let ids: Vec<&str> = rows.iter().map(|r| r[id].as_str()).collect();
    assert_eq!(ids, ["x1", "x2"]);
}

#[test]
fn csv_input_on_standard_input() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let input = "id,text\na,Ten people were killed in the strike.\n";
    let preds = jsonl(&ok(&run_stdin(
        dir.path(),
        &[
            "predict",
            "--model",
            "m.newsclass",
            "--input-format",
            "csv",
            "--format",
            "jsonl",
            "-",
        ],
        input,
    )));
    assert_eq!(preds.len(), 1);
    assert_eq!(preds[0]["id"], "a");
    assert_eq!(preds[0]["text"], "Ten people were killed in the strike.");
}

#[test]
fn jsonl_input_is_classified_row_by_row() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    write(
        dir.path(),
        "in.jsonl",
        "{\"id\":\"j1\",\"text\":\"Troops shelled the border. Ten people died.\"}\n\n{\"id\":7,\"text\":\"Talks resumed in Geneva.\"}\n",
    );
    let preds = predict_jsonl(dir.path(), "m.newsclass", "jsonl", "in.jsonl");
    // Rows are classified as given: two sentences in one row stay one item.
    assert_eq!(preds.len(), 2, "{preds:?}");
    assert_eq!(preds[0]["id"], "j1");
    assert_eq!(
        preds[0]["text"],
        "Troops shelled the border. Ten people died."
    );
    assert_eq!(preds[1]["id"], "7");
    for p in &preds {
        check_head(p, "topic", TOPICS, false);
    }
}

/// A model file written by newsclass before the library API was reworked (git `ed810ab`) must
/// keep loading and give byte-identical predictions: `tests/fixtures/model-v1.newsclass` and the
/// `predict --format jsonl --probs` output that build gave for `data/example-article.txt`.
#[test]
fn model_from_an_earlier_version_predicts_byte_identically() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = run(
        root,
        &[
            "predict",
            "--model",
            "tests/fixtures/model-v1.newsclass",
            "--format",
            "jsonl",
            "--probs",
            "data/example-article.txt",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = std::fs::read(root.join("tests/fixtures/model-v1.predict.jsonl")).unwrap();
    assert_eq!(
        stdout(&out),
        String::from_utf8(expected).unwrap(),
        "predictions of the saved v1 model changed"
    );
}

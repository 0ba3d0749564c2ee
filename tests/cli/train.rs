//! `newsclass train`: summary, validation split, determinism, other data layouts.

use crate::util::*;

/// The number right before `word` in `s` (e.g. `vocabulary 916 terms` -> 916 for "terms").
fn number_before(s: &str, word: &str) -> usize {
    let idx = s.find(word).unwrap_or_else(|| panic!("no {word:?} in {s}"));
    let num: String = s[..idx]
        .trim_end()
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    num.parse()
        .unwrap_or_else(|_| panic!("no number before {word:?} in {s}"))
}

#[test]
fn train_prints_rows_vocabulary_and_per_head_summary() {
    let dir = tempdir();
    let data = fx("train.csv");
    let out = run_ok(
        dir.path(),
        &["train", "--data", &data, "--model", "m.newsclass"],
    );
    assert!(dir.path().join("m.newsclass").is_file());
    let first = out.lines().next().expect("a summary line");
    assert!(first.contains("trained on 60 rows"), "{out}");
    assert!(first.contains("m.newsclass"), "{out}");
    let vocab = number_before(&first[first.find("vocabulary").unwrap()..], "terms");
    assert!(vocab > 100, "implausible vocabulary size {vocab}: {out}");
    for (head, labels) in [("topic", TOPICS), ("stance", STANCES)] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(head))
            .unwrap_or_else(|| panic!("no line for head {head}:\n{out}"));
        assert!(line.contains("3 classes"), "{line}");
        for l in labels {
            assert!(line.contains(l), "{line} lacks label {l}");
        }
        let iters = number_before(line, "iterations");
        assert!(iters >= 1, "{line}");
        assert!(
            line.contains("converged") && !line.contains("NOT"),
            "{line}"
        );
    }
}

#[test]
fn validation_split_grouped_by_article_reports_held_out_scores() {
    let dir = tempdir();
    let out = ok(&run_train(
        dir.path(),
        "m.newsclass",
        &["--validation-split", "0.2", "--group-column", "article"],
    ));
    // 15 articles of 4 sentences: 3 articles (12 rows) held out, the model trained on 48.
    assert!(out.contains("trained on 48 rows"), "{out}");
    let held = out
        .lines()
        .find(|l| l.contains("held-out"))
        .unwrap_or_else(|| panic!("no held-out line:\n{out}"));
    assert_eq!(number_before(held, "rows"), 12, "{held}");
    for head in ["topic", "stance"] {
        let line = out
            .lines()
            .skip_while(|l| !l.contains("held-out"))
            .find(|l| l.trim_start().starts_with(head))
            .unwrap_or_else(|| panic!("no held-out score for {head}:\n{out}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        let after = |w: &str| -> f64 {
            let i = words
                .iter()
                .position(|x| *x == w)
                .unwrap_or_else(|| panic!("no {w} in {line}"));
            words[i + 1].parse().expect("a number")
        };
        let acc = after("accuracy");
        let f1 = after("macro-F1");
        assert!((0.0..=1.0).contains(&acc), "{line}");
        assert!((0.0..=1.0).contains(&f1), "{line}");
    }
    // The held-out model is trained on fewer rows than a full model: it must differ.
    let full = train(dir.path(), "full.newsclass", &[]);
    assert_ne!(
        std::fs::read(full).unwrap(),
        std::fs::read(dir.path().join("m.newsclass")).unwrap()
    );
}

#[test]
fn training_is_deterministic_and_parameters_change_the_bytes() {
    let dir = tempdir();
    let a = std::fs::read(train(dir.path(), "a.newsclass", &[])).unwrap();
    let b = std::fs::read(train(dir.path(), "b.newsclass", &[])).unwrap();
    assert!(a == b, "two trainings with the same data and params differ");
    let c = std::fs::read(train(dir.path(), "c.newsclass", &["--c", "10"])).unwrap();
    assert!(a != c, "--c 10 gave the same model file as --c 1");
    // Same holds with a validation split and an explicit seed.
    let args = ["--validation-split", "0.25", "--seed", "7"];
    let d = std::fs::read(train(dir.path(), "d.newsclass", &args)).unwrap();
    let e = std::fs::read(train(dir.path(), "e.newsclass", &args)).unwrap();
    assert!(d == e, "seeded validation-split trainings differ");
}

#[test]
fn jsonl_training_data_gives_the_same_model_as_csv() {
    let dir = tempdir();
    let mut jsonl = String::new();
    for [article, text, topic, stance] in fixture_rows("train.csv") {
        let obj =
            serde_json::json!({"article": article, "text": text, "topic": topic, "stance": stance});
        jsonl.push_str(&obj.to_string());
        jsonl.push('\n');
    }
    write(dir.path(), "train.jsonl", jsonl);
    let out = run_ok(
        dir.path(),
        &["train", "--data", "train.jsonl", "--model", "j.newsclass"],
    );
    assert!(out.contains("trained on 60 rows"), "{out}");
    let csv_model = train(dir.path(), "c.newsclass", &[]);
    assert!(
        std::fs::read(dir.path().join("j.newsclass")).unwrap() == std::fs::read(csv_model).unwrap(),
        "the same rows as JSONL and CSV gave different models"
    );
    let test = fx("test.csv");
    let ev = json(&run_ok(
        dir.path(),
        &[
            "eval",
            "--model",
            "j.newsclass",
            "--data",
            &test,
            "--format",
            "json",
        ],
    ));
    assert_eq!(ev["n"], 20);
}

/// The training fixture without a header: topic, article id, sentence.
fn headerless(dir: &std::path::Path, fixture_name: &str, name: &str) {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    for [article, text, topic, _] in fixture_rows(fixture_name) {
        w.write_record([topic, format!("Article {article}:"), text])
            .unwrap();
    }
    write(dir, name, w.into_inner().unwrap());
}

#[test]
fn no_header_with_numbered_columns_names_heads_coln() {
    let dir = tempdir();
    headerless(dir.path(), "train.csv", "train.csv");
    headerless(dir.path(), "test.csv", "test.csv");
    let cols = [
        "--no-header",
        "--text-column",
        "2,3",
        "--label-columns",
        "1",
    ];
    let mut args = vec!["train", "--data", "train.csv", "--model", "n.newsclass"];
    args.extend_from_slice(&cols);
    let out = run_ok(dir.path(), &args);
    assert!(out.contains("trained on 60 rows"), "{out}");
    let head = out
        .lines()
        .find(|l| l.trim_start().starts_with("col1"))
        .unwrap_or_else(|| panic!("no head col1:\n{out}"));
    assert!(head.contains("3 classes"), "{head}");
    assert!(!out.contains("stance"), "{out}");

    let article = fx("article.txt");
    let preds = predict_jsonl(dir.path(), "n.newsclass", "text", &article);
    assert!(!preds.is_empty());
    for p in &preds {
        let label = p["col1"]["label"].as_str().expect("col1 label");
        assert!(TOPICS.contains(&label), "{p}");
        assert!(p.get("topic").is_none() && p.get("stance").is_none(), "{p}");
    }

    let mut args = vec![
        "eval",
        "--model",
        "n.newsclass",
        "--data",
        "test.csv",
        "--format",
        "json",
    ];
    args.extend_from_slice(&cols);
    let ev = json(&run_ok(dir.path(), &args));
    assert_eq!(ev["n"], 20);
    let acc = f(&ev["heads"]["col1"], "accuracy");
    assert!((0.0..=1.0).contains(&acc));
}

/// `train --help` says `--data -` reads CSV from standard input.
#[test]
fn training_data_from_standard_input() {
    let dir = tempdir();
    let data = std::fs::read(fixture("train.csv")).unwrap();
    let out = run_stdin(
        dir.path(),
        &["train", "--data", "-", "--model", "s.newsclass"],
        data,
    );
    ok(&out);
    let from_file = train(dir.path(), "f.newsclass", &[]);
    assert!(
        std::fs::read(from_file).unwrap() == std::fs::read(dir.path().join("s.newsclass")).unwrap()
    );
}

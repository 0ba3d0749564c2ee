//! `newsclass eval`: JSON report, agreement with predict, unknown labels.

use serde_json::Value;

use crate::util::*;

/// The JSON report of `eval` with `m.newsclass` on `data`, as printed.
fn eval_json_text(dir: &std::path::Path, data: &str) -> String {
    run_ok(
        dir,
        &[
            "eval",
            "--model",
            "m.newsclass",
            "--data",
            data,
            "--format",
            "json",
        ],
    )
}

fn eval_json(dir: &std::path::Path, data: &str) -> Value {
    json(&eval_json_text(dir, data))
}

/// Check one head of an eval report; return its confusion labels.
fn check_head(h: &Value, n: u64) -> Vec<String> {
    for key in ["accuracy", "macro_f1", "weighted_f1"] {
        let v = f(h, key);
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    let labels: Vec<String> = h["confusion"]["labels"]
        .as_array()
        .expect("confusion.labels")
        .iter()
        .map(|l| l.as_str().expect("a label").to_string())
        .collect();
    let matrix: Vec<Vec<u64>> = h["confusion"]["matrix"]
        .as_array()
        .expect("confusion.matrix")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("a row")
                .iter()
                .map(|v| v.as_u64().expect("a count"))
                .collect()
        })
        .collect();
    assert_eq!(matrix.len(), labels.len());
    assert!(matrix.iter().all(|r| r.len() == labels.len()));
    let total: u64 = matrix.iter().flatten().sum();
    assert_eq!(total, n, "the confusion matrix counts every row");
    let diag: u64 = (0..labels.len()).map(|i| matrix[i][i]).sum();
    assert!((diag as f64 / n as f64 - f(h, "accuracy")).abs() < 1e-9);
    let per = h["per_class"].as_object().expect("per_class");
    let mut support = 0;
    for (i, l) in labels.iter().enumerate() {
        let c = &per[l.as_str()];
        for key in ["precision", "recall", "f1"] {
            // Undefined ratios (no predictions, no gold rows) may be null.
            let v = &c[key];
            assert!(
                v.is_null() || (0.0..=1.0).contains(&v.as_f64().unwrap()),
                "{l}.{key} = {v}"
            );
        }
        let s = c["support"].as_u64().expect("support");
        assert_eq!(s, matrix[i].iter().sum::<u64>(), "support of {l}");
        support += s;
    }
    assert_eq!(per.len(), labels.len());
    assert_eq!(support, n);
    labels
}

#[test]
fn eval_json_report_has_every_documented_field() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let ev = eval_json(dir.path(), &fx("test.csv"));
    assert_eq!(ev["n"], 20);
    let topic = check_head(&ev["heads"]["topic"], 20);
    let stance = check_head(&ev["heads"]["stance"], 20);
    for l in TOPICS {
        assert!(topic.iter().any(|x| x == l), "{topic:?}");
    }
    for l in STANCES {
        assert!(stance.iter().any(|x| x == l), "{stance:?}");
    }
    // Topic is easy on this data: well above chance.
    assert!(f(&ev["heads"]["topic"], "accuracy") > 0.5, "{ev}");
}

#[test]
fn eval_agrees_with_predict_and_survives_reloading() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let test = fx("test.csv");
    let first = eval_json_text(dir.path(), &test);
    let second = eval_json_text(dir.path(), &test);
    assert_eq!(first, second);
    let ev = json(&first);
    let preds = predict_jsonl(dir.path(), "m.newsclass", "csv", &test);
    let gold = fixture_rows("test.csv");
    assert_eq!(preds.len(), gold.len());
    for (head, col) in [("topic", 2), ("stance", 3)] {
        let right = preds
            .iter()
            .zip(&gold)
            .filter(|(p, g)| p[head]["label"].as_str() == Some(g[col].as_str()))
            .count();
        let acc = right as f64 / gold.len() as f64;
        assert!(
            (acc - f(&ev["heads"][head], "accuracy")).abs() < 1e-9,
            "{head}: predict gives {acc}, eval says {}",
            ev["heads"][head]["accuracy"]
        );
    }
}

#[test]
fn eval_text_report_names_rows_and_heads() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let test = fx("test.csv");
    let out = run_ok(
        dir.path(),
        &["eval", "--model", "m.newsclass", "--data", &test],
    );
    assert!(out.contains("20 rows"), "{out}");
    for head in ["topic", "stance"] {
        assert!(out.contains(&format!("head {head}: accuracy")), "{out}");
    }
    for l in TOPICS.iter().chain(&STANCES) {
        assert!(out.contains(l), "{out}");
    }
}

#[test]
fn a_label_the_model_does_not_know_is_an_error_class() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    write(
        dir.path(),
        "unk.csv",
        "article,text,topic,stance\n\
         u1,Diplomats signed an economic agreement on tariffs.,economy,neutral\n\
         u1,Troops shelled militant positions near the border.,security,neutral\n",
    );
    let out = run(
        dir.path(),
        &[
            "eval",
            "--model",
            "m.newsclass",
            "--data",
            "unk.csv",
            "--format",
            "json",
        ],
    );
    let ev = json(&ok(&out));
    assert!(!stderr(&out).contains("panicked"));
    assert_eq!(ev["n"], 2);
    let labels = check_head(&ev["heads"]["topic"], 2);
    assert!(labels.iter().any(|l| l == "economy"), "{labels:?}");
    let per = &ev["heads"]["topic"]["per_class"]["economy"];
    assert_eq!(per["support"], 1);
    // No prediction can be `economy`: its recall is 0 and the row counts as an error.
    assert_eq!(per["recall"].as_f64(), Some(0.0), "{per}");
    assert!(f(&ev["heads"]["topic"], "accuracy") <= 0.5);
    // The text report works too.
    let text = run_ok(
        dir.path(),
        &["eval", "--model", "m.newsclass", "--data", "unk.csv"],
    );
    assert!(text.contains("economy"), "{text}");
}

/// `eval --help` says `--data -` reads CSV from standard input.
#[test]
fn eval_reads_labeled_csv_from_standard_input() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let test = fx("test.csv");
    let from_file = eval_json(dir.path(), &test);
    let out = run_stdin(
        dir.path(),
        &[
            "eval",
            "--model",
            "m.newsclass",
            "--data",
            "-",
            "--format",
            "json",
        ],
        std::fs::read(fixture("test.csv")).unwrap(),
    );
    assert_eq!(json(&ok(&out)), from_file);
}

//! `newsclass cv`: grid, best setting, text and JSON reports.

use serde_json::Value;

use crate::util::*;

/// `cv` on the training fixture: 3 grouped folds over C = 1 and 10, with extra flags.
fn run_cv(dir: &std::path::Path, extra: &[&str]) -> String {
    let data = fx("train.csv");
    let mut args = vec![
        "cv",
        "--data",
        &data,
        "--folds",
        "3",
        "--group-column",
        "article",
        "--c",
        "1,10",
    ];
    args.extend_from_slice(extra);
    run_ok(dir, &args)
}

fn cv_json(dir: &std::path::Path) -> Value {
    json(&run_cv(dir, &["--format", "json"]))
}

#[test]
fn cv_json_has_one_entry_per_setting_and_a_best_index() {
    let dir = tempdir();
    let cv = cv_json(dir.path());
    assert_eq!(cv["n"], 60);
    assert_eq!(cv["folds"], 3);
    let settings = cv["settings"].as_array().expect("settings");
    assert_eq!(settings.len(), 2);
    let cs: Vec<f64> = settings
        .iter()
        .map(|s| {
            s["params"]["logistic"]["c"]
                .as_f64()
                .expect("params.logistic.c")
        })
        .collect();
    assert_eq!(cs, [1.0, 10.0]);
    let best = cv["best"].as_u64().expect("best") as usize;
    assert!(best < 2);
    let scores: Vec<f64> = settings.iter().map(|s| f(s, "mean_macro_f1")).collect();
    assert!(
        scores.iter().all(|&s| s <= scores[best]),
        "best {best} is not the highest mean macro-F1: {scores:?}"
    );
    for s in settings {
        for head in ["topic", "stance"] {
            let h = &s["heads"][head];
            for key in ["accuracy_mean", "macro_f1_mean"] {
                let v = f(h, key);
                assert!((0.0..=1.0).contains(&v), "{head}.{key} = {v}");
            }
        }
        assert_eq!(s["folds"].as_array().map(Vec::len), Some(3), "{s}");
    }
}

#[test]
fn cv_text_marks_the_best_setting() {
    let dir = tempdir();
    let cv = cv_json(dir.path());
    let best_c = cv["settings"][cv["best"].as_u64().unwrap() as usize]["params"]["logistic"]["c"]
        .as_f64()
        .unwrap();
    let out = run_cv(dir.path(), &[]);
    let settings: Vec<&str> = out.lines().filter(|l| l.contains("c=")).collect();
    let marked: Vec<&&str> = settings.iter().filter(|l| l.starts_with('*')).collect();
    assert_eq!(marked.len(), 1, "exactly one setting is marked:\n{out}");
    assert!(
        marked[0].contains(&format!("c={best_c} ")),
        "the marked line is not c={best_c}:\n{out}"
    );
    assert!(out.contains("c=1 ") && out.contains("c=10 "), "{out}");
}

#[test]
fn cv_is_deterministic() {
    let dir = tempdir();
    assert_eq!(cv_json(dir.path()), cv_json(dir.path()));
}

/// `cv` has grid flags `--min-df` and `--sublinear-tf` and also the model flags of the same
/// name: every long flag must be listed (and so be parseable) once.
#[test]
fn cv_help_lists_each_flag_once() {
    let dir = tempdir();
    let help = run_ok(dir.path(), &["cv", "--help"]);
    let mut seen = std::collections::BTreeMap::new();
    for line in help.lines() {
        // Option lines are indented by at most 6 spaces (`  -q, --quiet`, `      --data`);
        // wrapped descriptions are indented further.
        let indent = line.len() - line.trim_start().len();
        let t = line.trim_start();
        if indent > 6 || !t.starts_with('-') {
            continue;
        }
        // `-q, --quiet`: skip the short form.
        let t = match t.get(..2) {
            Some(short) if short != "--" => t[2..].trim_start_matches(", "),
            _ => t,
        };
        if let Some(rest) = t.strip_prefix("--") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            *seen.entry(name).or_insert(0) += 1;
        }
    }
    let dups: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).collect();
    assert!(dups.is_empty(), "flags listed twice: {dups:?}\n{help}");
}

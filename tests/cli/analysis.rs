//! Checking the labels (issue #10): `predict --explain`, `predict --min-prob`, the calibration
//! and selective-prediction tables of `eval`, `train --calibrate`, and `newsclass explain`.

use serde_json::Value;

use crate::util::*;

/// `predict --format jsonl` with `m.newsclass` on the article fixture, with extra flags.
fn article_jsonl(dir: &std::path::Path, extra: &[&str]) -> Vec<Value> {
    let article = fx("article.txt");
    let mut args = vec!["predict", "--model", "m.newsclass", "--format", "jsonl"];
    args.extend_from_slice(extra);
    args.push(&article);
    jsonl(&run_ok(dir, &args))
}

/// The weights of an explanation list, checking each entry's fields.
fn weights(list: &Value) -> Vec<f64> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|t| {
            assert!(!t["term"].as_str().expect("term").is_empty(), "{t}");
            assert!(
                ["word", "char"].contains(&t["kind"].as_str().expect("kind")),
                "{t}"
            );
            f(t, "weight")
        })
        .collect()
}

#[test]
fn explain_lists_terms_for_and_against_that_add_up_to_the_log_odds() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &["--char-ngram-range", "2,4"]);
    // Every term (K larger than any sentence's term count), with the probabilities.
    let rows = article_jsonl(dir.path(), &["--explain=100000", "--probs"]);
    assert!(rows.len() >= 8);
    let mut kinds = Vec::new();
    for r in &rows {
        for head in ["topic", "stance"] {
            let h = &r[head];
            let e = &h["explain"];
            let label = h["label"].as_str().unwrap();
            let versus = e["versus"].as_str().unwrap();
            assert_ne!(label, versus, "{r}");
            let (pos, neg) = (weights(&e["for"]), weights(&e["against"]));
            // (A weight below 0.00005 in magnitude prints as 0.)
            assert!(
                pos.iter().all(|&w| w >= 0.0) && neg.iter().all(|&w| w <= 0.0),
                "{e}"
            );
            assert!(pos.first().is_none_or(|&w| w > 0.0), "{e}");
            assert!(pos.windows(2).all(|w| w[0] >= w[1]), "{e}");
            assert!(neg.windows(2).all(|w| w[0] <= w[1]), "{e}");
            for side in ["for", "against"] {
                kinds.extend(
                    e[side]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t["kind"].clone()),
                );
            }
            // The printed weights are rounded to 4 decimals.
            let n = (pos.len() + neg.len()) as f64;
            let sum = f(e, "intercept") + pos.iter().sum::<f64>() + neg.iter().sum::<f64>();
            assert!(
                (sum - f(e, "log_odds")).abs() <= 5e-5 * (n + 2.0),
                "intercept + terms {sum} vs log_odds in {e}"
            );
            let (p, q) = (f(&h["probs"], label), f(&h["probs"], versus));
            if p > 0.01 && q > 0.01 {
                assert!(((p / q).ln() - f(e, "log_odds")).abs() < 0.03, "{h}");
            }
        }
    }
    assert!(kinds.contains(&Value::from("word")) && kinds.contains(&Value::from("char")));
    // Without a value, 5 terms a side at most; the explanations are the first of the full ones.
    let five = article_jsonl(dir.path(), &["--explain"]);
    for (a, b) in five.iter().zip(&rows) {
        for side in ["for", "against"] {
            let short = a["topic"]["explain"][side].as_array().unwrap();
            let long = b["topic"]["explain"][side].as_array().unwrap();
            assert_eq!(short.len(), long.len().min(5));
            assert_eq!(short[..], long[..short.len()]);
        }
        assert!(a["topic"].get("probs").is_none());
        assert!(a["topic"].get("abstained").is_none());
    }
    // Without --explain, no explanation.
    assert!(article_jsonl(dir.path(), &[])[0]["topic"]
        .get("explain")
        .is_none());
}

#[test]
fn explain_in_csv_and_table_output() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let article = fx("article.txt");
    let csv = run_ok(
        dir.path(),
        &[
            "predict",
            "--model",
            "m.newsclass",
            "--format",
            "csv",
            "--explain=2",
            &article,
        ],
    );
    let (header, rows) = csv_rows(&csv);
    for col in [
        "topic_versus",
        "topic_log_odds",
        "topic_intercept",
        "topic_for1",
        "topic_for1_kind",
        "topic_for1_weight",
        "topic_for2_weight",
        "topic_against2",
        "stance_against2_weight",
    ] {
        assert!(
            header.iter().any(|h| h == col),
            "no column {col} in {header:?}"
        );
    }
    assert!(!header.iter().any(|h| h == "topic_for3"), "{header:?}");
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    for r in &rows {
        assert_eq!(r.len(), header.len());
        assert_ne!(r[at("topic")], r[at("topic_versus")]);
        let w: f64 = r[at("topic_for1_weight")].parse().unwrap();
        assert!(w > 0.0, "{r:?}");
        assert_eq!(r[at("topic_for1_kind")], "word");
    }
    let plain = run_ok(dir.path(), &["predict", "--model", "m.newsclass", &article]);
    let table = run_ok(
        dir.path(),
        &["predict", "--model", "m.newsclass", "--explain", &article],
    );
    assert_eq!(table.lines().count(), plain.lines().count());
    let head = table.lines().next().unwrap();
    assert_eq!(head.matches("terms").count(), 2, "{head}");
    // The top terms of the jsonl output head the table's column.
    let rows = article_jsonl(dir.path(), &["--explain=1"]);
    for (line, r) in table.lines().skip(1).zip(&rows) {
        if let Some(t) = r["topic"]["explain"]["for"].as_array().unwrap().first() {
            assert!(line.contains(t["term"].as_str().unwrap()), "{line} / {t}");
        }
    }
}

#[test]
fn explain_value_must_be_attached_and_positive() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let article = fx("article.txt");
    // `--explain FILE` reads FILE; `--explain 3 FILE` is taken for a file named 3.
    let out = run(
        dir.path(),
        &[
            "predict",
            "--model",
            "m.newsclass",
            "--explain",
            "3",
            &article,
        ],
    );
    assert_user_error(&out, &["cannot read 3", "--explain=3"]);
    let out = run(
        dir.path(),
        &["predict", "--model", "m.newsclass", "--explain=0", &article],
    );
    assert_user_error(&out, &["--explain", "at least 1"]);
    let out = run(
        dir.path(),
        &["predict", "--model", "m.newsclass", "--explain=x", &article],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn min_prob_abstains_below_the_threshold_in_every_format() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let plain = article_jsonl(dir.path(), &["--probs"]);
    // A threshold between the smallest and largest topic probability, so both cases occur.
    let probs: Vec<f64> = plain.iter().map(|r| f(&r["topic"], "prob")).collect();
    let mut sorted = probs.clone();
    sorted.sort_by(f64::total_cmp);
    let t = (sorted[sorted.len() / 2] + sorted[sorted.len() / 2 - 1]) / 2.0;
    assert!(sorted[0] < t && t < sorted[sorted.len() - 1], "{sorted:?}");
    let arg = format!("topic={t}");
    let rows = article_jsonl(dir.path(), &["--probs", "--min-prob", &arg]);
    let mut abstained = 0;
    for (r, p) in rows.iter().zip(&plain) {
        let (topic, stance) = (&r["topic"], &r["stance"]);
        let below = f(topic, "prob") < t;
        assert_eq!(topic["abstained"], Value::from(below), "{r}");
        assert_eq!(topic["label"].is_null(), below, "{r}");
        if !below {
            assert_eq!(topic["label"], p["topic"]["label"]);
        }
        // Probabilities are kept; the head without a threshold never abstains.
        assert_eq!(topic["probs"], p["topic"]["probs"]);
        assert_eq!(stance["abstained"], Value::from(false));
        assert_eq!(stance["label"], p["stance"]["label"]);
        abstained += usize::from(below);
    }
    assert!(abstained > 0 && abstained < rows.len());
    let article = fx("article.txt");
    let table = run_ok(
        dir.path(),
        &[
            "predict",
            "--model",
            "m.newsclass",
            "--min-prob",
            &arg,
            &article,
        ],
    );
    assert_eq!(table.matches("uncertain").count(), abstained, "{table}");
    let csv = run_ok(
        dir.path(),
        &[
            "predict",
            "--model",
            "m.newsclass",
            "--format",
            "csv",
            "--min-prob",
            &arg,
            &article,
        ],
    );
    let (header, csv_rows) = csv_rows(&csv);
    let topic = header.iter().position(|h| h == "topic").unwrap();
    let uncertain = csv_rows.iter().filter(|r| r[topic] == "uncertain").count();
    assert_eq!(uncertain, abstained);
    // One threshold for every head; 0 never abstains.
    let zero = article_jsonl(dir.path(), &["--min-prob", "0"]);
    assert!(zero
        .iter()
        .all(|r| r["topic"]["abstained"] == false && r["stance"]["abstained"] == false));
    let all = article_jsonl(dir.path(), &["--min-prob", "1"]);
    assert!(all.iter().any(|r| r["stance"]["abstained"] == true));
}

#[test]
fn min_prob_is_validated() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let article = fx("article.txt");
    for (value, needles) in [
        (
            "topc=0.7",
            vec!["--min-prob", "no head \"topc\"", "topic, stance"],
        ),
        ("1.5", vec!["--min-prob", "between 0 and 1"]),
        ("topic=-0.1", vec!["--min-prob", "between 0 and 1"]),
        ("topic=high", vec!["--min-prob", "not a number"]),
        ("topic=0.5,topic=0.6", vec!["--min-prob", "twice"]),
        ("", vec!["--min-prob"]),
    ] {
        let out = run(
            dir.path(),
            &[
                "predict",
                "--model",
                "m.newsclass",
                "--min-prob",
                value,
                &article,
            ],
        );
        assert_user_error(&out, &needles);
    }
}

/// `eval --format json` with `model` on the test fixture.
fn eval_json(dir: &std::path::Path, model: &str) -> Value {
    json(&run_ok(
        dir,
        &[
            "eval",
            "--model",
            model,
            "--data",
            &fx("test.csv"),
            "--format",
            "json",
        ],
    ))
}

#[test]
fn eval_reports_calibration_and_selective_prediction_consistent_with_predict() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let report = eval_json(dir.path(), "m.newsclass");
    let n = report["n"].as_u64().unwrap();
    for head in ["topic", "stance"] {
        let h = &report["heads"][head];
        let c = &h["calibration"];
        assert!(f(c, "log_loss") > 0.0 && f(c, "brier") > 0.0, "{c}");
        assert!((0.0..=1.0).contains(&f(c, "ece")), "{c}");
        let bins = c["reliability"].as_array().unwrap();
        assert_eq!(bins.len(), 10);
        assert_eq!(
            bins.iter()
                .map(|b| b["count"].as_u64().unwrap())
                .sum::<u64>(),
            n
        );
        for (i, b) in bins.iter().enumerate() {
            assert!((f(b, "lower") - i as f64 / 10.0).abs() < 1e-12, "{b}");
            assert_eq!(b["accuracy"].is_null(), b["count"] == 0, "{b}");
        }
        let sel = h["selective"].as_array().unwrap();
        let thresholds: Vec<f64> = sel.iter().map(|s| f(s, "threshold")).collect();
        let want: Vec<f64> = (0..14).map(|i| (30 + 5 * i) as f64 / 100.0).collect();
        assert_eq!(thresholds, want);
        let kept: Vec<u64> = sel.iter().map(|s| s["kept"].as_u64().unwrap()).collect();
        assert!(kept.windows(2).all(|w| w[0] >= w[1]), "{kept:?}");
        for s in sel {
            let k = s["kept"].as_u64().unwrap();
            assert!((f(s, "coverage") - k as f64 / n as f64).abs() < 1e-12);
            assert_eq!(s["accuracy"].is_null(), k == 0);
        }
    }
    // The kept count at 0.70 is what predict --min-prob 0.7 keeps on the same rows.
    let preds = jsonl(&run_ok(
        dir.path(),
        &[
            "predict",
            "--model",
            "m.newsclass",
            "--input-format",
            "csv",
            "--format",
            "jsonl",
            "--min-prob",
            "0.7",
            &fx("test.csv"),
        ],
    ));
    assert_eq!(preds.len() as u64, n);
    for head in ["topic", "stance"] {
        let kept = preds
            .iter()
            .filter(|p| p[head]["abstained"] == false)
            .count() as u64;
        let row = &report["heads"][head]["selective"][8];
        assert_eq!(f(row, "threshold"), 0.7);
        assert_eq!(row["kept"].as_u64().unwrap(), kept, "{head}");
    }
    let text = run_ok(
        dir.path(),
        &["eval", "--model", "m.newsclass", "--data", &fx("test.csv")],
    );
    for needle in [
        "temperature 1, uncalibrated",
        "log-loss",
        "Brier",
        "ECE",
        "reliability",
        "0.9-1.0",
        "selective prediction",
        "0.95",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
}

/// A labeled CSV of `n` rows in articles of 4 rows: short texts of class words and filler words,
/// with 30% of each head's labels replaced by another label (from a fixed seed), so that a model
/// fitted with a huge C memorizes the noise and is over-confident on new rows.
fn noisy_csv(n: usize, seed: u64) -> String {
    let topic_words = [
        (
            "security",
            ["shelled", "troops", "artillery", "convoy", "raid", "border"],
        ),
        (
            "diplomacy",
            ["envoys", "talks", "treaty", "summit", "minister", "truce"],
        ),
        (
            "casualties",
            ["killed", "wounded", "dead", "hospital", "victims", "bodies"],
        ),
    ];
    let stance_words = [
        ("critical", ["condemned", "denounced", "accused"]),
        ("neutral", ["said", "reported", "added"]),
        ("supportive", ["praised", "welcomed", "hailed"]),
    ];
    let filler = [
        "the",
        "on",
        "in",
        "after",
        "officials",
        "week",
        "region",
        "city",
    ];
    let mut state = seed;
    let mut next = |m: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % m as u64) as usize
    };
    let mut csv = String::from("article,text,topic,stance\n");
    for i in 0..n {
        let (t, s) = (i % 3, (i / 3) % 3);
        let words = [
            topic_words[t].1[next(6)],
            topic_words[next(3)].1[next(6)],
            stance_words[s].1[next(3)],
            filler[next(8)],
            filler[next(8)],
        ];
        let tl = if next(10) < 3 {
            (t + 1 + next(2)) % 3
        } else {
            t
        };
        let sl = if next(10) < 3 {
            (s + 1 + next(2)) % 3
        } else {
            s
        };
        csv.push_str(&format!(
            "a{},{},{},{}\n",
            i / 4,
            words.join(" "),
            topic_words[tl].0,
            stance_words[sl].0
        ));
    }
    csv
}

#[test]
fn calibrate_lowers_held_out_log_loss_of_an_over_confident_model_and_keeps_labels() {
    let dir = tempdir();
    write(dir.path(), "noisy-train.csv", noisy_csv(300, 1));
    write(dir.path(), "noisy-test.csv", noisy_csv(300, 2));
    let train_into = |model: &str, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data",
            "noisy-train.csv",
            "--c",
            "10000",
            "--group-column",
            "article",
            "--model",
            model,
        ];
        args.extend_from_slice(extra);
        run_ok(dir.path(), &args)
    };
    train_into("plain.newsclass", &[]);
    let with = ["--calibrate"];
    let out = train_into("cal.newsclass", &with);
    assert!(out.contains("calibration: temperatures chosen on"), "{out}");
    let eval = |model: &str| {
        json(&run_ok(
            dir.path(),
            &[
                "eval",
                "--model",
                model,
                "--data",
                "noisy-test.csv",
                "--format",
                "json",
            ],
        ))
    };
    let (plain, cal) = (eval("plain.newsclass"), eval("cal.newsclass"));
    let info = json(&run_ok(dir.path(), &["info", "--model", "cal.newsclass"]));
    for (i, head) in ["topic", "stance"].iter().enumerate() {
        let before = f(&plain["heads"][head]["calibration"], "log_loss");
        let after = f(&cal["heads"][head]["calibration"], "log_loss");
        assert!(
            after < before,
            "{head}: held-out log-loss {before} -> {after}"
        );
        assert_eq!(
            plain["heads"][head]["confusion"],
            cal["heads"][head]["confusion"]
        );
        let t = f(&info["heads"][i], "temperature");
        assert!(t > 1.0, "an over-confident head is softened: T = {t}");
        assert!(out.contains(&format!("temperature {t:.4}")), "{out}");
        let c = &info["training"]["calibration"]["heads"][i];
        assert_eq!(c["head"], *head);
        assert!(f(c, "log_loss_after") < f(c, "log_loss_before"), "{c}");
    }
    let labels = |model: &str| -> Vec<(Value, Value)> {
        predict_jsonl(dir.path(), model, "csv", "noisy-test.csv")
            .into_iter()
            .map(|p| (p["topic"]["label"].clone(), p["stance"]["label"].clone()))
            .collect()
    };
    assert_eq!(labels("plain.newsclass"), labels("cal.newsclass"));
    let text = run_ok(
        dir.path(),
        &[
            "eval",
            "--model",
            "cal.newsclass",
            "--data",
            "noisy-test.csv",
        ],
    );
    assert!(text.contains("probabilities (temperature "), "{text}");
    // The same data, parameters and seed give the same calibrated model bytes.
    train_into("again.newsclass", &with);
    assert!(
        std::fs::read(dir.path().join("again.newsclass")).unwrap()
            == std::fs::read(dir.path().join("cal.newsclass")).unwrap(),
        "a calibrated model is not reproducible"
    );
    // An uncalibrated model's header has no temperature.
    let info = run_ok(dir.path(), &["info", "--model", "plain.newsclass"]);
    assert!(!info.contains("temperature"), "{info}");
}

#[test]
fn calibrate_with_a_validation_split_and_its_errors() {
    let dir = tempdir();
    let out = ok(&run_train(
        dir.path(),
        "m.newsclass",
        &[
            "--calibrate",
            "--calibration-split",
            "0.25",
            "--validation-split",
            "0.2",
            "--group-column",
            "article",
        ],
    ));
    assert!(out.contains("held-out validation"), "{out}");
    assert!(out.contains("calibration: temperatures chosen on"), "{out}");
    let info = json(&run_ok(dir.path(), &["info", "--model", "m.newsclass"]));
    let c = &info["training"]["calibration"];
    assert_eq!(f(c, "fraction"), 0.25);
    // The calibration rows come from the training part only.
    let n_rows = info["training"]["n_rows"].as_u64().unwrap();
    assert!(n_rows < 60);
    assert_eq!(
        c["n_fit"].as_u64().unwrap() + c["n_heldout"].as_u64().unwrap(),
        n_rows
    );
    for bad in ["0", "1", "1.5", "-0.2"] {
        let out = run_train(
            dir.path(),
            "bad.newsclass",
            &["--calibrate", "--calibration-split", bad],
        );
        assert_user_error(&out, &["--calibration-split", "between 0 and 1"]);
    }
    assert!(!dir.path().join("bad.newsclass").exists());
    // --calibration-split needs --calibrate.
    let out = run_train(dir.path(), "bad.newsclass", &["--calibration-split", "0.3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--calibrate"), "{}", stderr(&out));
}

#[test]
fn explain_command_shows_each_class_terms() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &["--c", "10"]);
    let doc = json(&run_ok(
        dir.path(),
        &[
            "explain",
            "--model",
            "m.newsclass",
            "--top",
            "4",
            "--format",
            "json",
        ],
    ));
    let classes = doc["classes"].as_array().unwrap();
    let names: Vec<String> = classes
        .iter()
        .map(|c| {
            format!(
                "{}/{}",
                c["head"].as_str().unwrap(),
                c["label"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "topic/casualties",
            "topic/diplomacy",
            "topic/security",
            "stance/critical",
            "stance/neutral",
            "stance/supportive"
        ]
    );
    for c in classes {
        let pos: Vec<f64> = c["positive"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| f(t, "score"))
            .collect();
        let neg: Vec<f64> = c["negative"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| f(t, "score"))
            .collect();
        assert!(pos.len() == 4 && neg.len() == 4, "{c}");
        assert!(pos.windows(2).all(|w| w[0] >= w[1]) && pos[3] > 0.0, "{c}");
        assert!(neg.windows(2).all(|w| w[0] <= w[1]) && neg[3] < 0.0, "{c}");
        for t in c["positive"].as_array().unwrap() {
            assert!(
                (f(t, "weight") * f(t, "idf") - f(t, "score")).abs() < 1e-9,
                "{t}"
            );
        }
    }
    // Casualty words rank high for casualties.
    let casualties: Vec<&str> = classes[0]["positive"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["term"].as_str().unwrap())
        .collect();
    assert!(
        casualties
            .iter()
            .any(|t| ["killed", "wounded", "dead", "died", "bodies"].contains(t)),
        "{casualties:?}"
    );
    let table = run_ok(
        dir.path(),
        &[
            "explain",
            "--model",
            "m.newsclass",
            "--head",
            "topic",
            "--label",
            "security",
            "--top",
            "3",
        ],
    );
    assert!(table.starts_with("head topic, label security"), "{table}");
    assert!(table.contains("toward security") && table.contains("away from security"));
    assert_eq!(table.lines().count(), 2 + 3, "{table}");
    // --label alone looks in every head.
    let one = json(&run_ok(
        dir.path(),
        &[
            "explain",
            "--model",
            "m.newsclass",
            "--label",
            "neutral",
            "--format",
            "json",
        ],
    ));
    assert_eq!(one["classes"].as_array().unwrap().len(), 1);
    assert_eq!(one["classes"][0]["head"], "stance");
    for (args, needles) in [
        (vec!["--head", "mood"], vec!["--head mood", "topic, stance"]),
        (
            vec!["--label", "sports"],
            vec!["--label sports", "casualties"],
        ),
        (
            vec!["--head", "topic", "--label", "neutral"],
            vec!["--label neutral", "topic:"],
        ),
        (vec!["--top", "0"], vec!["--top", "at least 1"]),
    ] {
        let mut a = vec!["explain", "--model", "m.newsclass"];
        a.extend(args);
        assert_user_error(&run(dir.path(), &a), &needles);
    }
}

#[test]
fn models_without_temperatures_load_as_uncalibrated() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = run_ok(
        root,
        &[
            "eval",
            "--model",
            "tests/fixtures/model-v1.newsclass",
            "--data",
            "tests/fixtures/cli/test.csv",
        ],
    );
    assert!(out.contains("temperature 1, uncalibrated"), "{out}");
}

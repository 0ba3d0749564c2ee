//! `newsclass report` and `eval --html`: the HTML pages hold what `predict` and `eval` give,
//! user text stays text, nothing is fetched, and failures leave earlier files intact.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

/// `s` escaped as the pages escape text.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Run `report` in `dir` with `args` and return the page written to `dir/r.html`.
fn report(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["report", "-o", "r.html"];
    all.extend_from_slice(args);
    run_ok(dir, &all);
    std::fs::read_to_string(dir.join("r.html")).expect("the report is written")
}

/// The markup of the sentence span `id` up to its details.
fn sentence_span<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no sentence {id}"));
    let start = html[..at].rfind("<span class=\"s").expect("span start");
    let end = at + html[at..].find("<span class=\"tip\"").expect("details");
    &html[start..end]
}

/// The number of sentence spans in a page.
fn n_sentences(html: &str) -> usize {
    html.matches("\" tabindex=\"0\" id=\"a").count()
}

/// Assert the page references nothing outside itself and runs no script.
fn assert_self_contained(html: &str) {
    for needle in [
        "http://", "https://", "<script", "<link", "<img", "<iframe", "src=", "url(", "@import",
    ] {
        assert!(!html.contains(needle), "the page contains {needle:?}");
    }
    assert!(html
        .contains("http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;;"));
}

#[test]
fn report_holds_every_sentence_with_the_labels_predict_gives() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let article = fx("article.txt");
    let preds = predict_jsonl(dir.path(), "m.newsclass", "text", &article);
    let html = report(dir.path(), &["--model", "m.newsclass", &article]);
    assert_self_contained(&html);
    assert_eq!(n_sentences(&html), preds.len(), "one span per sentence");
    for p in &preds {
        let n = p["sentence"].as_u64().unwrap();
        let span = sentence_span(&html, &format!("a1-s{n}"));
        let text = p["text"].as_str().unwrap();
        let topic = p["topic"]["label"].as_str().unwrap();
        let stance = p["stance"]["label"].as_str().unwrap();
        assert!(span.contains("tabindex=\"0\""), "{span}");
        assert!(span.contains(&format!("data-tint=\"{topic}\"")), "{span}");
        assert!(span.contains(&format!("data-mark=\"{stance}\"")), "{span}");
        assert!(
            span.contains(&format!("<span class=\"x\">{}</span>", esc(text))),
            "{span}"
        );
        // The details list the predicted label first with predict's probability.
        let details = &html[html.find(&format!("id=\"a1-s{n}-d\"")).unwrap()..];
        for head in ["topic", "stance"] {
            let h = &p[head];
            let want = format!(
                "<span class=\"pr top\"><bdi>{}</bdi><span class=\"pb\"><span style=\"width:",
                h["label"].as_str().unwrap()
            );
            let at = details
                .find(&want)
                .unwrap_or_else(|| panic!("{want} in {details}"));
            // Its probability, shown with two decimals, is predict's (rounded to four).
            let rest = &details[at..];
            let pv = rest.find("<span class=\"pv\">").unwrap() + "<span class=\"pv\">".len();
            let shown: f64 = rest[pv..pv + rest[pv..].find('<').unwrap()]
                .parse()
                .unwrap();
            assert!(
                (shown - f(h, "prob")).abs() <= 0.0051,
                "{head} of sentence {n}: page {shown}, predict {}",
                f(h, "prob")
            );
        }
    }
    // Legend and chart.
    for l in TOPICS.iter().chain(&STANCES) {
        assert!(
            html.contains(&format!("<bdi>{l}</bdi>")),
            "legend lacks {l}"
        );
    }
    assert!(html.contains("<svg class=\"chart\""));
    let summary = format!("{} sentences", preds.len());
    assert!(html.contains(&summary), "{summary}");
}

#[test]
fn report_keeps_markup_quotes_and_rtl_text_as_text() {
    let dir = tempdir();
    let nasty = "Rebels <script>alert(\"x\")</script> attacked the post & killed 3 soldiers.\n\
                 The minister said: \"It's </style> over\" & talks <b>will</b> resume.\n\
                 قال المتحدث إن المحادثات ستستأنف يوم الثلاثاء.\n\
                 הצבא אמר כי התקיפה נמשכה כל הלילה.\n";
    write(dir.path(), "nasty.txt", nasty);
    let html = report(dir.path(), &["--title", "<i>Wires</i> & co", "nasty.txt"]);
    assert_self_contained(&html);
    // Exactly the page's own style element; the input's tags are text.
    assert_eq!(html.matches("</style>").count(), 1);
    assert_eq!(html.matches("<style>").count(), 1);
    assert!(!html.contains("<b>") && !html.contains("<i>"));
    assert!(html.contains(
        "Rebels &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; attacked the post &amp; killed"
    ));
    assert!(html
        .contains("&quot;It&#39;s &lt;/style&gt; over&quot; &amp; talks &lt;b&gt;will&lt;/b&gt;"));
    assert!(html.contains("<title>&lt;i&gt;Wires&lt;/i&gt; &amp; co</title>"));
    for rtl in [
        "قال المتحدث إن المحادثات ستستأنف يوم الثلاثاء.",
        "הצבא אמר כי התקיפה נמשכה כל הלילה.",
    ] {
        let at = html.find(rtl).unwrap_or_else(|| panic!("{rtl} is missing"));
        // Its paragraph takes its direction from its text.
        let p = html[..at].rfind("<p").unwrap();
        assert!(
            html[p..at].starts_with("<p dir=\"auto\">"),
            "{}",
            &html[p..at]
        );
    }
    assert_eq!(n_sentences(&html), 4);
}

#[test]
fn report_reads_several_articles_and_standard_input() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    write(dir.path(), "b.txt", "Troops shelled the town.\n");
    let out = newsclass(dir.path())
        .args(["report", "--model", "m.newsclass", "-o", "-", "b.txt", "-"])
        .write_stdin("Envoys met for talks in Geneva. The talks failed.")
        .output()
        .unwrap();
    let html = ok(&out);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("id=\"a1\"") && html.contains("id=\"a2\""));
    assert!(html.contains("<h2 id=\"a2-h\" dir=\"auto\">standard input</h2>"));
    assert!(html.contains("id=\"a2-s2\"") && !html.contains("id=\"a2-s3\""));
    assert!(html.contains("newsclass report: 2 articles"));
    assert!(entries(dir.path()).iter().all(|e| !e.ends_with(".html")));
}

#[test]
fn report_is_deterministic_and_quiet_prints_nothing() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let article = fx("article.txt");
    let said = run_ok(
        dir.path(),
        &["report", "--model", "m.newsclass", &article, "-o", "a.html"],
    );
    assert!(
        said.starts_with("report written to a.html: 1 article, "),
        "{said}"
    );
    let quiet = run_ok(
        dir.path(),
        &[
            "report",
            "-q",
            "--model",
            "m.newsclass",
            &article,
            "-o",
            "b.html",
        ],
    );
    assert_eq!(quiet, "");
    let a = std::fs::read(dir.path().join("a.html")).unwrap();
    let b = std::fs::read(dir.path().join("b.html")).unwrap();
    assert!(a == b, "two runs wrote different pages");
}

#[test]
fn report_refuses_bad_inputs_and_outputs_with_one_clear_line() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let d = dir.path();
    write(d, "ok.txt", "Troops shelled the town.\n");
    write(
        d,
        "latin1.txt",
        b"First line.\nCaf\xe9 attacked.\n".as_slice(),
    );
    std::fs::create_dir(d.join("folder")).unwrap();
    let m = ["--model", "m.newsclass"];
    let case = |args: &[&str], needles: &[&str]| {
        let mut all = vec!["report"];
        all.extend_from_slice(&m);
        all.extend_from_slice(args);
        assert_user_error(&run(d, &all), needles);
    };
    case(
        &["missing.txt", "-o", "r.html"],
        &["cannot read missing.txt", "No such file"],
    );
    case(
        &["latin1.txt", "-o", "r.html"],
        &["latin1.txt:2", "not valid UTF-8", "save the file as UTF-8"],
    );
    case(
        &["ok.txt", "-o", "folder"],
        &["--output folder is a directory", "give a file name"],
    );
    case(
        &["ok.txt", "-o", "nowhere/r.html"],
        &["--output nowhere/r.html", "does not exist"],
    );
    case(
        &["-", "-", "-o", "r.html"],
        &["standard input (-) can be read only once"],
    );
    case(
        &["ok.txt", "-o", "ok.txt"],
        &["--output ok.txt is also an article to read"],
    );
    assert_eq!(
        std::fs::read_to_string(d.join("ok.txt")).unwrap(),
        "Troops shelled the town.\n"
    );
    let out = run(d, &["report", "ok.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--output"), "{}", stderr(&out));
    assert!(!d.join("r.html").exists());
}

#[test]
fn failed_report_leaves_the_earlier_page_intact() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let d = dir.path();
    write(d, "ok.txt", "Troops shelled the town.\n");
    write(d, "r.html", "earlier page");
    let before = entries(d);
    let out = run(
        d,
        &[
            "report",
            "--model",
            "m.newsclass",
            "ok.txt",
            "missing.txt",
            "-o",
            "r.html",
        ],
    );
    assert_user_error(&out, &["missing.txt"]);
    assert_eq!(
        std::fs::read_to_string(d.join("r.html")).unwrap(),
        "earlier page"
    );
    assert_eq!(entries(d), before, "no temporary file is left behind");
    // A successful run replaces it.
    run_ok(
        d,
        &["report", "--model", "m.newsclass", "ok.txt", "-o", "r.html"],
    );
    assert!(std::fs::read_to_string(d.join("r.html"))
        .unwrap()
        .starts_with("<!DOCTYPE html>"));
    assert_eq!(entries(d), before);
}

#[test]
fn report_with_the_default_model_tints_by_topic_and_marks_by_stance() {
    let dir = tempdir();
    let article = fx("article.txt");
    let out = run(dir.path(), &["report", &article, "-o", "r.html"]);
    if out.status.code() == Some(2) && stderr(&out).contains("no default model") {
        eprintln!("skipped: this build has no embedded default model");
        return;
    }
    ok(&out);
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert!(html.contains("topic (color)") && html.contains("stance (underline and sign)"));
    assert!(html.contains(".t0{--tint:"));
}

/// `eval --format json` and `eval --html` with a model trained on the fixture.
fn eval_both(dir: &Path) -> (Value, String) {
    train(dir, "m.newsclass", &[]);
    let test = fx("test.csv");
    let report = json(&run_ok(
        dir,
        &[
            "eval",
            "--model",
            "m.newsclass",
            "--data",
            &test,
            "--format",
            "json",
        ],
    ));
    let out = run(
        dir,
        &[
            "eval",
            "--model",
            "m.newsclass",
            "--data",
            &test,
            "--html",
            "e.html",
        ],
    );
    ok(&out);
    assert!(stderr(&out).contains("HTML page written to e.html"));
    let html = std::fs::read_to_string(dir.join("e.html")).expect("eval --html writes the page");
    (report, html)
}

#[test]
fn eval_html_holds_the_confusion_counts_and_the_errors() {
    let dir = tempdir();
    let (report, html) = eval_both(dir.path());
    assert_self_contained(&html);
    let rows = fixture_rows("test.csv");
    for head in ["topic", "stance"] {
        let h = &report["heads"][head];
        assert!(html.contains(&format!("Head <bdi>{head}</bdi>")));
        assert!(html.contains(&format!(
            "<b>{:.1}%</b><span>accuracy</span>",
            100.0 * f(h, "accuracy")
        )));
        let labels: Vec<&str> = h["confusion"]["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let mut errors = 0;
        for (g, row) in h["confusion"]["matrix"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            for (p, c) in row.as_array().unwrap().iter().enumerate() {
                let c = c.as_u64().unwrap();
                let cell = format!(
                    "title=\"gold {} \u{2192} predicted {}: {c}\">{c}",
                    labels[g], labels[p]
                );
                assert!(html.contains(&cell), "{head}: no cell {cell}");
                if g != p {
                    errors += c;
                }
            }
        }
        if errors > 0 {
            let listed = errors.min(20);
            let heading = if errors > 20 {
                format!("The {listed} most confident of {errors} errors")
            } else {
                format!("All {errors} error{}", if errors == 1 { "" } else { "s" })
            };
            assert!(html.contains(&heading), "{head}: no {heading:?}");
        }
    }
    // Every listed error is a row of the file, with its text.
    assert!(
        html.contains("<td class=\"txt\" dir=\"auto\">"),
        "errors are listed"
    );
    for cell in html.split("<td class=\"txt\" dir=\"auto\">").skip(1) {
        let text = &cell[..cell.find("</td>").unwrap()];
        assert!(
            rows.iter().any(|r| esc(&r[1]) == text),
            "listed text is not a row of the file: {text}"
        );
    }
}

#[test]
fn eval_html_shows_calibration_reliability_and_coverage_as_eval_json_gives_them() {
    let dir = tempdir();
    let (report, html) = eval_both(dir.path());
    assert_self_contained(&html);
    for head in ["topic", "stance"] {
        let h = &report["heads"][head];
        let section = &html[html.find(&format!("Head <bdi>{head}</bdi>")).unwrap()..];
        let section = &section[..section.find("</section>").unwrap()];
        let c = &h["calibration"];
        for (key, name) in [
            ("log_loss", "log-loss"),
            ("brier", "Brier score"),
            ("ece", "calibration error (ECE)"),
        ] {
            let card = format!("<b>{:.3}</b><span>{name}</span>", f(c, key));
            assert!(section.contains(&card), "{head}: no card {card}");
        }
        // The reliability diagram: one dot and one table row per non-empty bin, with its count.
        assert!(
            section.contains("<title id=\"head-"),
            "{head}: the charts have titles"
        );
        let mut non_empty = 0;
        for b in c["reliability"].as_array().unwrap() {
            let count = b["count"].as_u64().unwrap();
            let (lo, hi) = (f(b, "lower"), f(b, "upper"));
            let row = format!("<th scope=\"row\">{lo:.1}\u{2013}{hi:.1}</th><td>{count}</td>");
            let tip = format!("<title>confidence {lo:.1}\u{2013}{hi:.1}: {count} rows,");
            if count == 0 {
                assert!(
                    !section.contains(&row) && !section.contains(&tip),
                    "{head}: empty bin shown"
                );
                continue;
            }
            non_empty += 1;
            assert!(section.contains(&row), "{head}: no reliability row {row}");
            assert!(section.contains(&tip), "{head}: no dot {tip}");
        }
        assert!(non_empty > 0);
        assert!(section.matches("<circle class=\"dot\" cx=").count() >= non_empty);
        // The coverage–accuracy curve: every threshold with its kept rows.
        let sel = h["selective"].as_array().unwrap();
        assert_eq!(sel.len(), 14);
        for r in sel {
            let t = f(r, "threshold");
            let kept = r["kept"].as_u64().unwrap();
            let row = format!("<th scope=\"row\">{t:.2}</th><td>{kept}</td>");
            assert!(section.contains(&row), "{head}: no selective row {row}");
            if kept > 0 {
                let tip = format!("<title>threshold {t:.2}: coverage");
                assert!(section.contains(&tip), "{head}: no point {tip}");
            }
        }
        assert!(section.contains("<polyline class=\"acc\" points=\""));
        assert!(section.contains("<polyline class=\"f1\" points=\""));
    }
}

#[test]
fn report_shows_the_top_terms_predict_explain_gives() {
    let dir = tempdir();
    let article = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/example-article.txt");
    let article = article.to_str().unwrap();
    let out = run(dir.path(), &["report", article, "-o", "r.html"]);
    if out.status.code() == Some(2) && stderr(&out).contains("no default model") {
        eprintln!("skipped: this build has no embedded default model");
        return;
    }
    ok(&out);
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    let preds = jsonl(&run_ok(
        dir.path(),
        &[
            "predict",
            "--input-format",
            "text",
            "--format",
            "jsonl",
            "--explain=3",
            article,
        ],
    ));
    assert_eq!(n_sentences(&html), preds.len());
    let mut checked = 0;
    for p in &preds {
        let n = p["sentence"].as_u64().unwrap();
        // The sentence's details, up to the next sentence.
        let details = &html[html.find(&format!("id=\"a1-s{n}-d\"")).unwrap()..];
        let details = &details[..details
            .find("tabindex=\"0\" id=\"a1-s")
            .unwrap_or(details.len())];
        for head in ["topic", "stance"] {
            let terms = p[head]["explain"]["for"].as_array().unwrap();
            let at = details
                .find(&format!("<span class=\"hn\">{head}</span>"))
                .unwrap_or_else(|| panic!("sentence {n}: no {head} details"));
            // This head's part, up to the next head's.
            let part = &details[at + 1..];
            let part = &part[..part.find("<span class=\"hn\">").unwrap_or(part.len())];
            let tt = &part[part
                .find("<span class=\"tt\">terms:")
                .unwrap_or_else(|| panic!("sentence {n}, {head}: no terms in {part}"))..];
            let shown: Vec<&str> = tt
                .split("<span class=\"term ")
                .skip(1)
                .map(|x| {
                    let b = x.find("<bdi>").unwrap() + "<bdi>".len();
                    &x[b..b + x[b..].find("</bdi>").unwrap()]
                })
                .collect();
            let want: Vec<String> = terms
                .iter()
                .map(|t| {
                    let term = t["term"].as_str().unwrap().replace(['\n', '\r', '\t'], " ");
                    esc(&if t["kind"] == "char" {
                        format!("\"{term}\"")
                    } else {
                        term
                    })
                })
                .collect();
            assert_eq!(shown, want, "sentence {n}, {head}");
            checked += want.len();
        }
    }
    assert!(checked > 0, "some terms are compared");
}

#[test]
fn eval_html_refuses_a_directory_before_reading_data() {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let out = run(
        dir.path(),
        &["eval", "--data", "missing.csv", "--html", "out"],
    );
    assert_user_error(&out, &["--html out is a directory"]);
}

/// A headless Chromium on this machine, if there is one (`NEWSCLASS_CHROMIUM` names one).
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NEWSCLASS_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser", "google-chrome"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// Load `page` in headless Chromium; return the DOM after loading and the browser's log.
fn load_in_browser(chromium: &Path, dir: &Path, page: &Path) -> (String, String) {
    let profile = dir.join("chromium-profile");
    let dom = std::fs::File::create(dir.join("dom.html")).unwrap();
    let log = std::fs::File::create(dir.join("chromium.log")).unwrap();
    let mut child = Process::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdout(dom)
        .stderr(log)
        .spawn()
        .expect("start chromium");
    // A guard against a hung browser, not a timing assertion.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (
        std::fs::read_to_string(dir.join("dom.html")).unwrap(),
        std::fs::read_to_string(dir.join("chromium.log")).unwrap_or_default(),
    )
}

#[test]
fn report_parses_in_a_real_browser_without_console_messages() {
    let Some(chromium) = chromium() else {
        eprintln!(
            "skipped: no chromium on PATH (apt-get install chromium, or set NEWSCLASS_CHROMIUM)"
        );
        return;
    };
    let dir = tempdir();
    let d = dir.path();
    train(d, "m.newsclass", &[]);
    let nasty = "Rebels <script>document.title='pwned'</script> attacked & killed 3.\n\
                 \"</style><img src=x>\" said the envoy. قال المتحدث إن المحادثات ستستأنف.\n";
    write(d, "nasty.txt", nasty);
    let article = fx("article.txt");
    let preds = predict_jsonl(d, "m.newsclass", "text", &article);
    let nasty_preds = predict_jsonl(d, "m.newsclass", "text", "nasty.txt");
    run_ok(
        d,
        &[
            "report",
            "--model",
            "m.newsclass",
            &article,
            "nasty.txt",
            "-o",
            "r.html",
        ],
    );
    let (dom, log) = load_in_browser(&chromium, d, &d.join("r.html"));
    assert!(dom.contains("</html>"), "no DOM from chromium; log:\n{log}");
    let consoles: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(consoles.is_empty(), "console messages: {consoles:?}");
    // The parsed document has one span per sentence, each with its labels, and no element
    // made from the input.
    assert_eq!(n_sentences(&dom), preds.len() + nasty_preds.len());
    for (a, ps) in [(1, &preds), (2, &nasty_preds)] {
        for p in ps {
            let span = sentence_span(&dom, &format!("a{a}-s{}", p["sentence"]));
            assert!(span.contains(&format!(
                "data-tint=\"{}\"",
                p["topic"]["label"].as_str().unwrap()
            )));
            assert!(span.contains(&format!(
                "data-mark=\"{}\"",
                p["stance"]["label"].as_str().unwrap()
            )));
        }
    }
    assert!(!dom.contains("<script") && !dom.contains("<img"));
    assert!(dom.contains("<title>newsclass report: 2 articles</title>"));
}

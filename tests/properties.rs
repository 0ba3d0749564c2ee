//! Property tests (proptest): invariants that must hold for any input, not just the examples.
//!
//! * predictions: probabilities are finite and sum to 1 for every head, for any UTF-8 text,
//!   through `predict` and `classify_article`;
//! * sentences: offsets slice the input on char boundaries, in order, without overlap, and the
//!   text is that slice, trimmed as `text::sentences` documents;
//! * persistence: save → load is the identity (bytes and predictions) for models trained on
//!   random small datasets with random parameters;
//! * CSV: `csv::Writer` → `data::read_bytes` round-trips arbitrary fields (quotes, commas,
//!   newlines, unicode) with their line numbers;
//! * explanations: for any text, head, model and temperature, the intercept difference plus
//!   every active term's contribution equals `ln(p_label / p_runner_up)` within 1e-4;
//! * training does not depend on the number of rayon threads.

use std::path::Path;
use std::sync::OnceLock;

use newsclass::data::{read_bytes, DataFormat, DataSpec};
use newsclass::features::tfidf::Norm;
use newsclass::model::logistic::ClassWeight;
use newsclass::text::sentences::split_sentences;
use newsclass::{Dataset, Pipeline, PipelineParams, Prediction};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Strategies

/// Pieces of news-like text: words, abbreviations, terminators, quotes, brackets, line breaks,
/// the whitespace the splitter trims, and arbitrary chars.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "The", "troops", "said", "Mr.", "U.S.", "U.N.", "a.m.", "Gen.", "Jan.", "Corp.",
            "officials", "talks", "ceasefire", "3.5", "$1.2", "www.un.org/en", "press@un.org",
            "café", "Zürich", "I", "He", "Protesters", "J.R.R.", "No.", "etc.", "St.",
        ])
        .prop_map(str::to_string),
        3 => prop::sample::select(vec![
            " ", " ", " ", ".", ". ", "?", "!", "…", "...", ". . .", ",", ":", "“", "”", "\"",
            "'", "’", "«", "»", "(", ")", "[", "]", "—", "\n", "\r\n", "\r", "\n\n", "\t",
            "\u{2028}", "\u{2029}", "\u{85}", "\u{b}", "\u{c}", "\u{feff}", "\u{200b}", "\u{a0}",
            "\u{3000}", "。", "।", "\u{0}", "\u{301}", "👍🏽", "\u{fe0f}",
        ])
        .prop_map(str::to_string),
        1 => any::<char>().prop_map(String::from),
    ]
}

/// Any UTF-8 text: arbitrary strings, and news-like ones built from [`piece`]s.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(piece(), 0..60).prop_map(|v| v.concat()),
    ]
}

/// A fitted two-head model, trained once.
fn model() -> &'static Pipeline {
    static MODEL: OnceLock<Pipeline> = OnceLock::new();
    MODEL.get_or_init(|| {
        let rows = [
            (
                "Rebels shelled the border town overnight.",
                "security",
                "neutral",
            ),
            (
                "The blast killed 12 people at the market.",
                "casualties",
                "neutral",
            ),
            (
                "The ministry condemned the neighbour's raid.",
                "diplomacy",
                "critical",
            ),
            (
                "The two governments agreed to reopen talks.",
                "diplomacy",
                "supportive",
            ),
            (
                "Troops repelled an attack on a hilltop post.",
                "security",
                "supportive",
            ),
            (
                "Officials said 40 civilians died in the strikes.",
                "casualties",
                "critical",
            ),
            (
                "Envoys welcomed the café ceasefire in Zürich.",
                "diplomacy",
                "supportive",
            ),
        ];
        let data = Dataset::new(rows.iter().map(|r| r.0))
            .and_then(|d| d.with_head("topic", rows.iter().map(|r| r.1)))
            .and_then(|d| d.with_head("stance", rows.iter().map(|r| r.2)))
            .unwrap();
        Pipeline::fit(&PipelineParams::default().c(10.0).check().unwrap(), &data).unwrap()
    })
}

fn check_probs(p: &Prediction<'_>) -> Result<(), TestCaseError> {
    prop_assert_eq!(p.len(), 2);
    for h in p.heads() {
        let probs = h.probs();
        prop_assert!(
            probs
                .iter()
                .all(|x| x.is_finite() && (0.0..=1.0).contains(x)),
            "head {}: {:?}",
            h.name(),
            probs
        );
        let sum: f32 = probs.iter().sum();
        prop_assert!((sum - 1.0).abs() <= 1e-4, "head {}: sum {}", h.name(), sum);
    }
    Ok(())
}

/// What the splitter trims: Unicode White_Space, the BOM and the zero-width space.
fn trimmed(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}' || c == '\u{200b}'
}

// ---------------------------------------------------------------------------------------------
// Predictions and sentences

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn predict_gives_finite_probabilities_summing_to_one(text in text()) {
        let m = model();
        let preds = m.predict(&[text.as_str(), "", text.trim()]);
        prop_assert_eq!(preds.len(), 3);
        for p in &preds {
            check_probs(p)?;
        }
    }

    #[test]
    fn classify_article_gives_finite_probabilities_summing_to_one(text in text()) {
        let sentences = model().classify_article(&text);
        for (i, s) in sentences.iter().enumerate() {
            prop_assert_eq!(s.index, i + 1);
            check_probs(&s.prediction)?;
        }
    }

    #[test]
    fn sentence_offsets_slice_the_input_in_order(text in text()) {
        // Byte offset of each char offset, plus the end.
        let bounds: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(text.len()))
            .collect();
        let mut prev_end = 0;
        for s in split_sentences(&text) {
            prop_assert!(s.start < s.end, "empty sentence {:?}", s);
            prop_assert!(s.start >= prev_end, "overlap or disorder at {:?}", s);
            prop_assert!(s.end < bounds.len(), "past the end: {:?}", s);
            // Char offsets map to char boundaries by construction of `bounds`.
            let slice = &text[bounds[s.start]..bounds[s.end]];
            prop_assert!(text.is_char_boundary(bounds[s.start]));
            prop_assert_eq!(&s.text, slice);
            prop_assert_eq!(slice.trim_matches(trimmed), slice, "not trimmed");
            prop_assert_eq!(
                text.chars().skip(s.start).take(s.end - s.start).collect::<String>(),
                s.text.clone()
            );
            prev_end = s.end;
        }
    }

    #[test]
    fn sentences_lose_no_text(text in text()) {
        // Everything outside the sentences is whitespace the splitter trims or line breaks.
        let chars: Vec<char> = text.chars().collect();
        let mut covered = vec![false; chars.len()];
        for s in split_sentences(&text) {
            covered[s.start..s.end].iter_mut().for_each(|c| *c = true);
        }
        for (c, cov) in chars.iter().zip(&covered) {
            prop_assert!(*cov || trimmed(*c), "char {:?} of {:?} is in no sentence", c, text);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Save → load

/// A small labeled dataset (4–12 rows of 1–8 words, two heads with two or three labels each,
/// every label present) with random parameters.
fn small_training() -> impl Strategy<Value = (Dataset, PipelineParams)> {
    let words = prop::sample::select(vec![
        "troops",
        "shelled",
        "town",
        "envoys",
        "talks",
        "truce",
        "killed",
        "wounded",
        "market",
        "ministry",
        "condemned",
        "raid",
        "ceasefire",
        "café",
        "Zürich",
        "U.S.",
        "border",
        "aid",
    ]);
    let row = (prop::collection::vec(words, 1..8), 0usize..3, 0usize..2);
    let params = (
        1usize..=2,
        0usize..=1,
        any::<bool>(),
        0usize..3,
        0.1f64..50.0,
        any::<bool>(),
    );
    (prop::collection::vec(row, 4..12), params).prop_map(|(rows, p)| {
        let n = rows.len();
        let texts = rows.iter().map(|r| r.0.join(" "));
        // Rows 0..3 fix every label of both heads so that no head has a single class.
        let topics = ["casualties", "diplomacy", "security"];
        let stances = ["critical", "supportive"];
        let topic = (0..n).map(|i| topics[if i < 3 { i } else { rows[i].1 }]);
        let stance = (0..n).map(|i| stances[if i < 2 { i } else { rows[i].2 }]);
        let data = Dataset::new(texts)
            .and_then(|d| d.with_head("topic", topic))
            .and_then(|d| d.with_head("stance", stance))
            .unwrap();
        let (lo, extra, sublinear, norm, c, balanced) = p;
        let params = PipelineParams::default()
            .ngram_range(lo, lo + extra)
            .sublinear_tf(sublinear)
            .norm([Norm::L2, Norm::L1, Norm::None][norm])
            .c(c)
            .class_weight(if balanced {
                ClassWeight::Balanced
            } else {
                ClassWeight::None
            })
            .max_iter(200);
        (data, params)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn save_then_load_is_the_identity((data, params) in small_training(), probe in text()) {
        let model = Pipeline::fit(&params.check().unwrap(), &data).unwrap();
        let bytes = model.to_bytes();
        let loaded = Pipeline::from_bytes(&bytes).unwrap();
        prop_assert!(loaded.to_bytes() == bytes, "save → load → save changed the bytes");
        let mut texts: Vec<&str> = data.texts().iter().map(String::as_str).collect();
        texts.push(&probe);
        let (a, b) = (model.predict(&texts), loaded.predict(&texts));
        prop_assert!(a == b, "predictions differ after loading");
        let (a, b) = (model.classify_article(&probe), loaded.classify_article(&probe));
        prop_assert!(a == b, "classify_article differs after loading");
    }
}

// ---------------------------------------------------------------------------------------------
// Explanations

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// `intercept + Σ weight` over every active term is `ln(p_label / p_versus)` (within 1e-4,
    /// the f32 probabilities' precision), for models trained on random small datasets with
    /// random parameters, with or without character n-grams, at a random temperature.
    #[test]
    fn explanation_terms_add_up_to_the_log_odds(
        (data, params) in small_training(),
        chars in any::<bool>(),
        temperature in 0.25f64..4.0,
        probe in text(),
    ) {
        let params = if chars {
            params.features(newsclass::features::chars::Analyzer::CharWb, Some((2, 4)))
        } else {
            params
        };
        let mut model = Pipeline::fit(&params.check().unwrap(), &data).unwrap();
        model.set_temperature("stance", temperature).unwrap();
        let mut texts: Vec<&str> = data.texts().iter().map(String::as_str).collect();
        texts.push(&probe);
        for text in texts {
            let prediction = &model.predict(&[text])[0];
            for (e, head) in model.explain(text, usize::MAX).iter().zip(prediction.heads()) {
                prop_assert_eq!(e.label.as_str(), head.label());
                prop_assert_eq!(e.prob, head.score());
                let sum = e.intercept
                    + e.for_terms.iter().map(|c| c.weight).sum::<f64>()
                    + e.against_terms.iter().map(|c| c.weight).sum::<f64>();
                // Probabilities below f32's normal range lose the precision to check against.
                if e.versus_prob < 1e-30 {
                    continue;
                }
                let ratio = (f64::from(e.prob) / f64::from(e.versus_prob)).ln();
                prop_assert!(
                    (sum - ratio).abs() < 1e-4,
                    "{:?} head {}: intercept + terms {} but ln(p/p2) {}",
                    text, e.head, sum, ratio
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CSV write → read

/// A field the reader keeps as it is: non-empty and without surrounding whitespace (the
/// reader trims), built from quotes, commas, line breaks, unicode and arbitrary chars.
fn field() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        Just('"'),
        Just(','),
        Just('\n'),
        Just('\r'),
        Just(' '),
        Just('\''),
        Just(';'),
        Just('\t'),
        proptest::char::range('a', 'z'),
        prop::sample::select(vec![
            'é', 'ß', '“', '”', '—', '中', '👍', '\u{feff}', '\u{0}'
        ]),
        any::<char>(),
    ];
    prop::collection::vec(c, 1..24)
        .prop_map(|v| v.into_iter().collect::<String>().trim().to_string())
        .prop_filter("non-empty after trimming", |s| !s.is_empty())
}

/// A label: any field without a line break (a label that spans lines is refused by design; it
/// almost always comes from an unclosed quote).
fn label() -> impl Strategy<Value = String> {
    field()
        .prop_map(|s| s.replace(['\n', '\r'], " ").trim().to_string())
        .prop_filter("non-empty after trimming", |s| !s.is_empty())
}

/// What the reader refuses as an unclosed quote: a text whose continuation line holds as many
/// commas as a three-column record (see the README's limits).
fn looks_like_runaway_quote(text: &str) -> bool {
    text.lines()
        .skip(1)
        .any(|l| l.matches(',').count() + 1 >= 3)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn csv_write_then_read_round_trips(
        rows in prop::collection::vec((field(), label(), label()), 1..12)
            .prop_filter("no text continuation line that looks like a record", |rows| {
                rows.iter().all(|r| !looks_like_runaway_quote(&r.0))
            })
    ) {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["text", "topic", "stance"]).unwrap();
        w.flush().unwrap();
        // 1-based line where each record starts: one more than the newlines before it.
        let mut lines = Vec::new();
        for (text, topic, stance) in &rows {
            let at = w.get_ref().len();
            lines.push(1 + w.get_ref()[..at].iter().filter(|&&b| b == b'\n').count() as u64);
            w.write_record([text, topic, stance]).unwrap();
            w.flush().unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let d = read_bytes(Path::new("p.csv"), &bytes, DataFormat::Csv, &DataSpec::default())
            .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&bytes)));
        let texts: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let topics: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
        let stances: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
        prop_assert_eq!(d.texts(), texts.as_slice());
        prop_assert_eq!(d.head("topic").unwrap(), topics.as_slice());
        prop_assert_eq!(d.head("stance").unwrap(), stances.as_slice());
        prop_assert_eq!(&d.provenance().unwrap().lines, &lines);
    }
}

// ---------------------------------------------------------------------------------------------
// Threads

/// Training on the CLI fixture gives the same model bytes with 1, 2 and 4 rayon threads.
#[test]
fn fit_does_not_depend_on_the_thread_count() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli/train.csv");
    let data = newsclass::data::read_path(&path, &DataSpec::default()).unwrap();
    let params = PipelineParams::default()
        .ngram_range(1, 3)
        .c(10.0)
        .check()
        .unwrap();
    let fit = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| Pipeline::fit(&params, &data).unwrap().to_bytes())
    };
    let one = fit(1);
    for threads in [2, 4] {
        assert!(
            fit(threads) == one,
            "{threads} threads give other model bytes than 1"
        );
    }
}

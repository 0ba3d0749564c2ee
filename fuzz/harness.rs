//! What the fuzz targets run, shared with `tests/fuzz_regressions.rs`, which replays every saved
//! crash input under `fuzz/regressions/TARGET/` through the same functions.
//!
//! Each `fn TARGET(data)` must never panic on any input; the assertions inside are the invariants
//! a target checks beyond "no panic".
#![allow(dead_code)]

use std::borrow::Cow;
use std::path::Path;
use std::sync::OnceLock;

use newsclass::data::{read_bytes, Column, DataFormat, DataSpec};
use newsclass::text::sentences::{split_sentences, Sentence};
use newsclass::{Dataset, Error, Pipeline, PipelineParams, Prediction};

/// A small two-head model, trained once per process on a few in-code sentences.
pub fn model() -> &'static Pipeline {
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
            (
                "Gunmen ambushed a convoy near the U.S. base.",
                "security",
                "critical",
            ),
        ];
        let data = Dataset::new(rows.iter().map(|r| r.0))
            .and_then(|d| d.with_head("topic", rows.iter().map(|r| r.1)))
            .and_then(|d| d.with_head("stance", rows.iter().map(|r| r.2)))
            .expect("a valid in-code dataset");
        let params = PipelineParams::default()
            .c(10.0)
            .ngram_range(1, 3)
            .check()
            .expect("valid parameters");
        Pipeline::fit(&params, &data).expect("the in-code dataset fits")
    })
}

/// The small model's file bytes.
pub fn model_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| model().to_bytes())
}

/// Every head's probabilities are finite, in [0, 1], sum to 1 (±1e-4), and the label is the
/// argmax.
pub fn check_prediction(p: &Prediction<'_>, what: &str) {
    assert!(!p.is_empty(), "{what}: a prediction without heads");
    for h in p.heads() {
        let probs = h.probs();
        assert_eq!(probs.len(), h.labels().len(), "{what}: head {}", h.name());
        assert!(
            probs
                .iter()
                .all(|x| x.is_finite() && (0.0..=1.0).contains(x)),
            "{what}: head {} has probabilities {probs:?}",
            h.name()
        );
        let sum: f32 = probs.iter().sum();
        assert!(
            (sum - 1.0).abs() <= 1e-4,
            "{what}: head {} probabilities sum to {sum}: {probs:?}",
            h.name()
        );
        assert!(h.labels().iter().any(|l| l == h.label()));
        assert!(probs.iter().all(|&x| x <= h.score()));
    }
}

/// The characters the sentence splitter trims (White_Space, BOM, zero-width space).
pub fn is_trimmed_char(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}' || c == '\u{200b}'
}

/// Sentences are non-empty, in order, do not overlap, their char offsets slice `input` on char
/// boundaries, and their text equals that slice, with nothing left to trim at either end.
pub fn check_sentences(input: &str, sentences: &[Sentence]) {
    // Byte offset of every char boundary, indexed by char offset.
    let bounds: Vec<usize> = input
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(input.len()))
        .collect();
    let mut prev_end = 0;
    for (i, s) in sentences.iter().enumerate() {
        assert!(
            s.start < s.end,
            "sentence {i} is empty: {}..{}",
            s.start,
            s.end
        );
        assert!(
            s.start >= prev_end,
            "sentence {i} starts at {} before the previous end {prev_end}",
            s.start
        );
        assert!(
            s.end < bounds.len(),
            "sentence {i} ends at char {} past the input's {} chars",
            s.end,
            bounds.len() - 1
        );
        let slice = &input[bounds[s.start]..bounds[s.end]];
        assert_eq!(
            s.text, slice,
            "sentence {i}: text is not the slice {}..{}",
            s.start, s.end
        );
        assert_eq!(
            slice.trim_matches(is_trimmed_char),
            slice,
            "sentence {i} is not trimmed"
        );
        prev_end = s.end;
    }
}

// ---------------------------------------------------------------------------------------------
// readers

const NAMES: [&str; 4] = ["text", "topic", "stance", "id"];

fn column(has_header: bool, b: u8) -> Column {
    if has_header {
        Column::Name(NAMES[usize::from(b) % NAMES.len()].to_string())
    } else {
        // 0 is not a valid column number, but a spec built by hand may still hold it.
        Column::Number(usize::from(b % 5))
    }
}

/// The format and spec that two config bytes choose.
pub fn reader_spec([a, b]: [u8; 2]) -> (DataFormat, DataSpec) {
    let format = match (a & 1, b & 0x80) {
        (0, 0) => DataFormat::Csv,
        (0, _) => DataFormat::Tsv,
        _ => DataFormat::Jsonl,
    };
    let has_header = a & 2 == 0;
    let mut text = vec![column(has_header, u8::from(!has_header))];
    if a & 4 != 0 {
        text.push(column(has_header, b & 0x0f));
    }
    let labels = (0..(a >> 3) % 3)
        .map(|i| column(has_header, if has_header { 1 + i } else { 2 + i }))
        .collect();
    let id = (a & 0x20 != 0).then(|| column(has_header, b >> 4));
    let group = (a & 0x40 != 0).then(|| column(has_header, (b >> 4).wrapping_add(1)));
    let spec = DataSpec {
        text,
        labels,
        id,
        id_required: a & 0x80 != 0,
        group,
        has_header,
        format: Some(format),
    };
    (format, spec)
}

/// The CSV and JSONL readers on arbitrary bytes; the first two bytes choose format and spec.
///
/// `Ok` must hold a consistent dataset (non-empty trimmed texts, one non-empty label per head per
/// row, non-decreasing line numbers within the input, ids and groups one per row); `Err` must be one
/// of the readers' own error variants, with a 1-based line.
pub fn readers(data: &[u8]) {
    let Some((cfg, bytes)) = data.split_first_chunk::<2>() else {
        return;
    };
    let (format, spec) = reader_spec(*cfg);
    match read_bytes(Path::new("fuzz.data"), bytes, format, &spec) {
        Ok(d) => {
            let n = d.len();
            assert!(n > 0, "Ok with no rows");
            for t in d.texts() {
                assert!(!t.is_empty() && t.trim() == t, "text {t:?}");
            }
            assert_eq!(d.head_names().len(), spec.labels.len());
            for (name, labels) in d.heads() {
                assert_eq!(labels.len(), n, "head {name}");
                assert!(
                    labels.iter().all(|l| !l.is_empty()),
                    "head {name}: {labels:?}"
                );
            }
            let prov = d.provenance().expect("the readers attach provenance");
            assert_eq!(prov.lines.len(), n);
            let n_lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            assert!(prov.lines[0] >= 1);
            // Non-decreasing, not increasing: the csv crate also ends a record at a lone `\r`,
            // while line numbers count `\n` only, so two records can share a line.
            assert!(
                prov.lines.windows(2).all(|w| w[0] <= w[1]),
                "lines decreasing: {:?}",
                prov.lines
            );
            assert!(
                prov.lines[n - 1] <= n_lines,
                "line {} past the input's {n_lines} lines",
                prov.lines[n - 1]
            );
            if let Some(ids) = d.ids() {
                assert_eq!(ids.len(), n);
            }
            match d.groups() {
                Some(g) => assert_eq!(g.len(), n),
                None => assert!(spec.group.is_none(), "group column asked for but not read"),
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty());
            match e {
                Error::Data { line, .. } => assert!(line >= 1, "{msg}"),
                Error::DataFile { .. }
                | Error::UnknownColumn { .. }
                | Error::InvalidParam { .. } => {}
                other => panic!("unexpected error variant from a reader: {other:?}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// predict

/// Sentence splitter, tokenizer and predict on arbitrary text (invalid UTF-8 is replaced).
pub fn predict(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text: &str = &text;

    let sentences = split_sentences(text);
    check_sentences(text, &sentences);

    let model = model();
    let _ = model.tokenizer().tokenize(text);
    let _ = model.transform(text);
    for p in model.predict(&[text]) {
        check_prediction(&p, "predict(text)");
    }
    let classified = model.classify_article(text);
    assert_eq!(classified.len(), sentences.len());
    for (i, (c, s)) in classified.iter().zip(&sentences).enumerate() {
        assert_eq!(c.index, i + 1);
        assert_eq!((c.start, c.end, &c.text), (s.start, s.end, &s.text));
        check_prediction(&c.prediction, "classify_article");
    }
}

// ---------------------------------------------------------------------------------------------
// model_load

const MAGIC: &[u8] = b"NEWSCLASS-MODEL\n";

/// Mutate the small model's bytes as the input says (see [`model_load`]).
pub fn mutated_model(data: &[u8]) -> Vec<u8> {
    let mut m = model_bytes().to_vec();
    let (mode, rest) = (data[0] % 8, &data[1..]);
    let hlen = u32::from_le_bytes(m[16..20].try_into().expect("4 bytes")) as usize;
    let payload = 20 + hlen + 1;
    match mode {
        // Byte patches anywhere: (u32 offset, xor byte).
        1 | 5 => {
            for c in rest.chunks_exact(5) {
                let at = u32::from_le_bytes(c[..4].try_into().expect("4 bytes")) as usize % m.len();
                m[at] ^= c[4];
            }
        }
        // f32 values into the binary sections (aligned to the payload), each written into a
        // run of slots: (u32 slot, u8 run length, f32 bits).
        2 | 6 => {
            let slots = (m.len() - payload) / 4;
            for c in rest.chunks_exact(9) {
                let slot = u32::from_le_bytes(c[..4].try_into().expect("4 bytes")) as usize % slots;
                for s in slot..(slot + usize::from(c[4]) + 1).min(slots) {
                    let at = payload + s * 4;
                    m[at..at + 4].copy_from_slice(&c[5..9]);
                }
            }
        }
        // Byte patches inside the JSON header: (u16 offset, new byte).
        3 | 7 => {
            for c in rest.chunks_exact(3) {
                let at = 20 + usize::from(u16::from_le_bytes([c[0], c[1]])) % hlen;
                m[at] = c[2];
            }
        }
        // Truncate at, or insert the rest at, a u32 offset.
        _ => {
            if let Some((at, ins)) = rest.split_first_chunk::<4>() {
                let at = u32::from_le_bytes(*at) as usize % (m.len() + 1);
                if ins.is_empty() {
                    m.truncate(at);
                } else {
                    m.splice(at..at, ins.iter().copied());
                }
            }
        }
    }
    m
}

/// A loaded model predicts finite probabilities that sum to 1 for every head, and saves to
/// bytes that load back and save to the same bytes.
pub fn check_loaded(model: &Pipeline) {
    // Every term of the vocabulary (up to a bound), so that every weight takes part.
    let vocab_text = model
        .vectorizer()
        .map(|v| v.terms().iter().take(4096).cloned().collect::<Vec<_>>())
        .unwrap_or_default()
        .join(" ");
    let texts = [
        "",
        "Rebels shelled the border town overnight.",
        "Envoys welcomed the ceasefire.",
        vocab_text.as_str(),
    ];
    for (p, t) in model.predict(&texts).iter().zip(texts) {
        check_prediction(p, &format!("loaded model on {t:?}"));
    }
    let bytes = model.to_bytes();
    let again = Pipeline::from_bytes(&bytes).expect("a loaded model's own bytes load");
    assert!(
        again.to_bytes() == bytes,
        "save → load → save changed the bytes"
    );
}

/// The model loader on arbitrary bytes and on mutated valid model bytes.
///
/// Input that starts with the model signature, is empty, or has a first byte ≡ 0 (mod 8) is
/// loaded as it is; otherwise the first byte chooses how the rest mutates the small model's
/// bytes ([`mutated_model`]): byte patches anywhere, `f32` values written into the binary
/// sections (runs of slots), byte patches inside the JSON header, truncation or an inserted slice.
///
/// `from_bytes` must never panic, and a model that loads must pass [`check_loaded`].
pub fn model_load(data: &[u8]) {
    let bytes: Cow<'_, [u8]> =
        if data.is_empty() || data.starts_with(MAGIC) || data[0].is_multiple_of(8) {
            data.into()
        } else {
            mutated_model(data).into()
        };
    let _ = Pipeline::read_header(&bytes);
    if let Ok(model) = Pipeline::from_bytes(&bytes) {
        check_loaded(&model);
    }
}

//! `POST /v1/classify`: the request body, its checks, and the answer.
//!
//! One of `text` (an article, split into sentences), `sentences` (classified as given) or
//! `articles` (a batch of `{"id", "text"}`), with the options of `predict`: `probs` (every class
//! probability), `explain` (K terms per side, as `--explain=K`) and `min_prob` (a number for
//! every head or `{"head": p}`, as `--min-prob`). The answer holds the sentence objects that
//! `predict --format jsonl` prints, written by the same serializer ([`SentenceJson`]), without
//! `source`: `{"sentences": [...]}` for `text` and `sentences`, `{"articles": [{"id",
//! "sentences": [...]}]}` for `articles`. Everything here runs on rayon's pool, off the async
//! runtime. The sentences are classified [`CHUNK`] at a time; when the request is gone (timed
//! out), the work stops at the next chunk.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use newsclass::text::sentences::split_sentences;
use newsclass::{MinProb, Pipeline};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::server::ApiError;
use crate::cli::predict::Options;
use newsclass::output::{JsonOptions, SentenceJson, SentenceRef};

/// The most explanation terms per side a request may ask for.
pub(crate) const MAX_EXPLAIN: u64 = 100;

/// The request body (unknown fields are refused; `null` is not a value for any field).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default, deserialize_with = "present")]
    text: Option<String>,
    #[serde(default, deserialize_with = "present")]
    sentences: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    articles: Option<Vec<Article>>,
    #[serde(default, deserialize_with = "present")]
    probs: Option<bool>,
    /// A number, so that `5.0` is taken as JSON Schema's integers are.
    #[serde(default, deserialize_with = "present")]
    explain: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    min_prob: Option<Value>,
}

/// One article of a batch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Article {
    id: String,
    text: String,
}

/// A field that, when present, must hold a value of its type (so `null` is refused).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Sentences per prediction call (each call runs in parallel over its sentences); between two,
/// the work of a request that is gone stops.
const CHUNK: usize = 256;

/// Set when a request is gone, so that its classification stops early.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cancel(Arc<AtomicBool>);

impl Cancel {
    fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// A guard that sets the flag when dropped: the handler holds it, so the flag is set when
    /// the handler is dropped (the request timed out) or done.
    pub(crate) fn on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.clone())
    }
}

/// Sets its [`Cancel`] when dropped.
pub(crate) struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0 .0.store(true, Ordering::Relaxed);
    }
}

/// Why a request has no answer.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The request is refused with this error.
    Refused(ApiError),
    /// The request was cancelled: the work stopped before its end and nobody waits for it.
    Stopped,
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Refused(e)
    }
}

/// A classified answer: its JSON and how many sentences it holds.
pub(crate) struct Answer {
    pub body: Vec<u8>,
    pub sentences: usize,
}

/// Parse and check a request body.
fn parse(body: &[u8]) -> Result<Request, ApiError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        ApiError::bad_request(
            "invalid_utf8",
            format!(
                "the request body is not valid UTF-8 (at byte {}); send JSON encoded as UTF-8",
                e.valid_up_to()
            ),
        )
    })?;
    let req: Request = serde_json::from_str(text).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
                "invalid_json",
                format!("the request body is not valid JSON: {e}"),
            ),
            Category::Data if e.to_string().starts_with("unknown field") => {
                ApiError::unprocessable("unknown_field", format!("{e}"))
            }
            Category::Data => ApiError::unprocessable("invalid_request", format!("{e}")),
        }
    })?;
    let given: Vec<&str> = [
        ("text", req.text.is_some()),
        ("sentences", req.sentences.is_some()),
        ("articles", req.articles.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    if given.len() != 1 {
        let got = if given.is_empty() {
            "none".to_string()
        } else {
            given.join(" and ")
        };
        return Err(ApiError::unprocessable(
            "invalid_request",
            format!(
                "give exactly one of \"text\" (an article), \"sentences\" (a list of sentences) or \"articles\" (a list of {{\"id\", \"text\"}}); got {got}"
            ),
        ));
    }
    Ok(req)
}

/// The output options of a request, checked against the model.
fn options(req: &Request, model: &Pipeline) -> Result<Options, ApiError> {
    let invalid = |m: String| ApiError::unprocessable("invalid_request", m);
    let explain = match req.explain {
        Some(k) if !(k.fract() == 0.0 && (1.0..=MAX_EXPLAIN as f64).contains(&k)) => {
            return Err(invalid(format!(
                "\"explain\" is the number of terms to show per head and side: a whole number from 1 to {MAX_EXPLAIN}, got {k}"
            )))
        }
        // A whole number in range, so the conversion is exact.
        k => k.map(|k| k as usize),
    };
    let min_prob = match &req.min_prob {
        None => None,
        Some(v) => {
            let bad = || {
                invalid(format!(
                    "\"min_prob\" is a probability for every head (0.7) or one per head ({{\"topic\": 0.7}}), each from 0 to 1; got {v}"
                ))
            };
            let m = match v {
                Value::Number(n) => MinProb::all(n.as_f64().ok_or_else(bad)?),
                Value::Object(heads) => {
                    let mut m = Ok(MinProb::default());
                    for (h, p) in heads {
                        let p = p.as_f64().ok_or_else(bad)?;
                        m = m.and_then(|m: MinProb| m.with_head(h, p));
                    }
                    m
                }
                _ => return Err(bad()),
            }
            .map_err(|_| bad())?;
            m.check(model)
                .map_err(|e| invalid(format!("\"min_prob\": {e}")))?;
            Some(m)
        }
    };
    let thresholds = min_prob.map(|m| model.heads().iter().map(|h| m.threshold(&h.name)).collect());
    Ok(Options {
        probs: req.probs.unwrap_or(false),
        explain,
        thresholds,
    })
}

/// Refuse more than `max` sentences.
fn check_count(n: usize, max: usize) -> Result<(), ApiError> {
    if n > max {
        return Err(ApiError::too_large(
            "too_many_sentences",
            format!(
                "the request holds {n} sentences, more than the limit of {max}; send fewer per request (the server's --max-sentences)"
            ),
        ));
    }
    Ok(())
}

/// One unit to classify: which article (if any), its position, offsets and text.
struct Unit {
    index: usize,
    start: usize,
    end: usize,
    text: String,
}

/// The predictions (and explanations, when asked) of a request's units, made [`CHUNK`] units
/// per call (the same objects as one call over all of them: a sentence's prediction does not
/// depend on the others).
struct Classified<'m> {
    predictions: Vec<newsclass::Prediction<'m>>,
    explanations: Vec<Vec<newsclass::Explanation>>,
}

fn classify<'m>(
    model: &'m Pipeline,
    units: &[Unit],
    opts: &Options,
    cancel: &Cancel,
) -> Result<Classified<'m>, Failure> {
    let texts: Vec<&str> = units.iter().map(|u| u.text.as_str()).collect();
    let mut out = Classified {
        predictions: Vec::with_capacity(texts.len()),
        explanations: Vec::with_capacity(if opts.explain.is_some() {
            texts.len()
        } else {
            0
        }),
    };
    for chunk in texts.chunks(CHUNK) {
        if cancel.is_set() {
            return Err(Failure::Stopped);
        }
        out.predictions.extend(model.predict(chunk));
        if let Some(k) = opts.explain {
            out.explanations.extend(model.explain_all(chunk, k));
        }
    }
    Ok(out)
}

/// Write the sentence objects of `units[range]` to `out` as a JSON array: the objects of
/// [`SentenceJson`], the bytes of `predict --format jsonl`'s lines without `source`.
fn write_array(
    out: &mut Vec<u8>,
    units: &[Unit],
    classified: &Classified<'_>,
    range: std::ops::Range<usize>,
    opts: &Options,
) {
    let json_opts = JsonOptions {
        probs: opts.probs,
        thresholds: opts.thresholds.as_deref(),
    };
    out.push(b'[');
    for i in range.clone() {
        if i > range.start {
            out.push(b',');
        }
        let u = &units[i];
        let sentence = SentenceRef {
            index: u.index,
            start: u.start,
            end: u.end,
            id: None,
            text: &u.text,
            prediction: &classified.predictions[i],
        };
        let object = SentenceJson {
            sentence: &sentence,
            opts: json_opts,
            explanations: classified.explanations.get(i).map(Vec::as_slice),
            source: None,
        };
        serde_json::to_writer(&mut *out, &object).expect("writing JSON to memory cannot fail");
    }
    out.push(b']');
}

/// `{"sentences":[...]}` of `units`.
fn sentences_answer(
    model: &Pipeline,
    units: &[Unit],
    opts: &Options,
    cancel: &Cancel,
) -> Result<Vec<u8>, Failure> {
    let classified = classify(model, units, opts, cancel)?;
    let mut body = Vec::with_capacity(units.iter().map(|u| u.text.len() + 160).sum());
    body.extend_from_slice(b"{\"sentences\":");
    write_array(&mut body, units, &classified, 0..units.len(), opts);
    body.push(b'}');
    Ok(body)
}

/// The sentences of an article as units.
fn article_units(text: &str) -> Vec<Unit> {
    split_sentences(text)
        .into_iter()
        .enumerate()
        .map(|(i, s)| Unit {
            index: i + 1,
            start: s.start,
            end: s.end,
            text: s.text,
        })
        .collect()
}

/// Parse, check and classify one request body; stop early once `cancel` is set.
pub(crate) fn answer(
    model: &Pipeline,
    body: &[u8],
    max_sentences: usize,
    cancel: &Cancel,
) -> Result<Answer, Failure> {
    let req = parse(body)?;
    let opts = options(&req, model)?;
    let (body, n) = if let Some(text) = req.text {
        let units = article_units(&text);
        check_count(units.len(), max_sentences)?;
        (sentences_answer(model, &units, &opts, cancel)?, units.len())
    } else if let Some(sentences) = req.sentences {
        check_count(sentences.len(), max_sentences)?;
        let units: Vec<Unit> = sentences
            .into_iter()
            .enumerate()
            .map(|(i, text)| Unit {
                index: i + 1,
                start: 0,
                end: text.chars().count(),
                text,
            })
            .collect();
        (sentences_answer(model, &units, &opts, cancel)?, units.len())
    } else {
        let articles = req.articles.unwrap_or_default();
        let split: Vec<Vec<Unit>> = articles.iter().map(|a| article_units(&a.text)).collect();
        let lens: Vec<usize> = split.iter().map(Vec::len).collect();
        let n: usize = lens.iter().sum();
        check_count(n, max_sentences)?;
        // Every sentence of the batch classified together, then cut back into articles.
        let units: Vec<Unit> = split.into_iter().flatten().collect();
        let classified = classify(model, &units, &opts, cancel)?;
        let mut body = Vec::with_capacity(units.iter().map(|u| u.text.len() + 160).sum());
        body.extend_from_slice(b"{\"articles\":[");
        let mut start = 0;
        for (i, (a, len)) in articles.iter().zip(lens).enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(b"{\"id\":");
            serde_json::to_writer(&mut body, &a.id).expect("writing JSON to memory cannot fail");
            body.extend_from_slice(b",\"sentences\":");
            write_array(&mut body, &units, &classified, start..start + len, &opts);
            body.push(b'}');
            start += len;
        }
        body.extend_from_slice(b"]}");
        (body, n)
    };
    Ok(Answer { body, sentences: n })
}

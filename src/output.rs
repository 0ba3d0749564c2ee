//! The JSON of a classified sentence: the object that `newsclass predict --format jsonl` prints
//! per line, that `newsclass serve` answers with, and that the Python package returns as a
//! dict. Keeping the one function here makes the three byte for byte the same.
//!
//! It sits after [`crate::pipeline`] (it reads [`Prediction`] and [`Explanation`]) and writes
//! nothing itself.

use serde_json::{json, Map, Value};

use crate::pipeline::Contribution;
use crate::{Explanation, MinProb, Pipeline, Prediction};

/// One classified sentence or row, as [`sentence_json`] reads it.
#[derive(Debug, Clone, Copy)]
pub struct SentenceRef<'a, 'm> {
    /// 1-based position in its article or file (`"sentence"`).
    pub index: usize,
    /// Offset of the first character, in chars (Unicode scalar values) (`"start"`).
    pub start: usize,
    /// Offset one past the last character, in chars (`"end"`).
    pub end: usize,
    /// The row's id, when it has one (`"id"`, left out when `None`).
    pub id: Option<&'a str>,
    /// The text (`"text"`).
    pub text: &'a str,
    /// Its labels and probabilities.
    pub prediction: &'a Prediction<'m>,
}

/// What a sentence object shows beyond each head's label and probability.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonOptions<'a> {
    /// Add `"probs": {label: p}` to every head.
    pub probs: bool,
    /// Per head, in model order, its abstention threshold (see [`MinProb`]). With `Some`,
    /// every head gets `"abstained"`, and a head below its threshold has `"label": null`.
    pub thresholds: Option<&'a [Option<f64>]>,
}

/// Per head of `model`, in its order, the threshold `min_prob` sets (for
/// [`JsonOptions::thresholds`]).
pub fn thresholds(model: &Pipeline, min_prob: &MinProb) -> Vec<Option<f64>> {
    model
        .heads()
        .iter()
        .map(|h| min_prob.threshold(&h.name))
        .collect()
}

/// `v` rounded to 4 decimals (and -0 written as 0), as every probability and weight in the
/// JSON output.
pub fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0 + 0.0
}

/// The JSON of a list of contributions.
fn terms_json(terms: &[Contribution]) -> Value {
    Value::Array(
        terms
            .iter()
            .map(|c| {
                json!({
                    "term": c.term,
                    "kind": c.kind.name(),
                    "weight": round4(c.weight),
                })
            })
            .collect(),
    )
}

/// The `"explain"` object of one head: `versus`, `log_odds`, `intercept`, and the `for` and
/// `against` terms with `term`, `kind` and `weight`.
pub fn explain_json(e: &Explanation) -> Value {
    json!({
        "versus": e.versus,
        "log_odds": round4(e.log_odds),
        "intercept": round4(e.intercept),
        "for": terms_json(&e.for_terms),
        "against": terms_json(&e.against_terms),
    })
}

/// The JSON object of one classified sentence or row: `sentence`, `start`, `end`, `id` (when
/// the row has one), `text`, and per head `{"label", "prob"}` (probability rounded to 4
/// decimals), with `"abstained"` under thresholds, `"explain"` when `explanations` (one per
/// head, model order) are given and `"probs"` when asked. `predict --format jsonl` adds
/// `"source"`. Keys are in sorted order when serialized.
pub fn sentence_json(
    s: &SentenceRef<'_, '_>,
    opts: JsonOptions<'_>,
    explanations: Option<&[Explanation]>,
) -> Map<String, Value> {
    let mut obj = Map::new();
    obj.insert("sentence".into(), json!(s.index));
    obj.insert("start".into(), json!(s.start));
    obj.insert("end".into(), json!(s.end));
    if let Some(id) = s.id {
        obj.insert("id".into(), json!(id));
    }
    obj.insert("text".into(), json!(s.text));
    for (h, head) in s.prediction.heads().enumerate() {
        let mut ho = Map::new();
        let t = opts.thresholds.and_then(|t| t.get(h).copied().flatten());
        let label = head.label_unless_below(t);
        ho.insert("label".into(), json!(label));
        ho.insert("prob".into(), json!(round4(f64::from(head.score()))));
        if opts.thresholds.is_some() {
            ho.insert("abstained".into(), json!(label.is_none()));
        }
        if let Some(e) = explanations.and_then(|e| e.get(h)) {
            ho.insert("explain".into(), explain_json(e));
        }
        if opts.probs {
            let m: Map<String, Value> = head
                .labels()
                .iter()
                .zip(head.probs())
                .map(|(l, &v)| (l.clone(), json!(round4(f64::from(v)))))
                .collect();
            ho.insert("probs".into(), Value::Object(m));
        }
        obj.insert(head.name().to_string(), Value::Object(ho));
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dataset, PipelineParams};

    fn model() -> Pipeline {
        let data = Dataset::new([
            "Troops shelled the town.",
            "Envoys signed a truce.",
            "Rebels attacked a convoy.",
            "Ministers agreed to talks.",
        ])
        .unwrap()
        .with_head("topic", ["security", "diplomacy", "security", "diplomacy"])
        .unwrap();
        Pipeline::fit(&PipelineParams::default().c(10.0).check().unwrap(), &data).unwrap()
    }

    #[test]
    fn sentence_json_has_the_documented_fields() {
        let m = model();
        let p = m.predict(&["Envoys met for talks."]);
        let s = SentenceRef {
            index: 3,
            start: 5,
            end: 25,
            id: None,
            text: "Envoys met for talks.",
            prediction: &p[0],
        };
        let v = sentence_json(&s, JsonOptions::default(), None);
        let keys: Vec<&str> = v.keys().map(String::as_str).collect();
        assert_eq!(keys, ["end", "sentence", "start", "text", "topic"]);
        assert_eq!(v["sentence"], json!(3));
        assert_eq!(v["topic"]["label"], json!("diplomacy"));
        assert!(v["topic"].get("probs").is_none());
        let with_probs = sentence_json(
            &s,
            JsonOptions {
                probs: true,
                thresholds: Some(&[Some(1.0)]),
            },
            None,
        );
        assert_eq!(with_probs["topic"]["label"], Value::Null);
        assert_eq!(with_probs["topic"]["abstained"], json!(true));
        assert_eq!(
            with_probs["topic"]["probs"]
                .as_object()
                .map(|o| o.len())
                .unwrap(),
            2
        );
    }

    #[test]
    fn round4_rounds_and_drops_negative_zero() {
        assert_eq!(round4(0.123_46), 0.1235);
        assert_eq!(round4(-0.000_01).to_string(), "0");
    }
}

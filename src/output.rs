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
/// `"source"`. Keys are in sorted order when serialized. [`SentenceJson`] writes the same
/// object straight to JSON without building it.
pub fn sentence_json(
    s: &SentenceRef<'_, '_>,
    opts: JsonOptions<'_>,
    explanations: Option<&[Explanation]>,
) -> Map<String, Value> {
    let object = SentenceJson {
        sentence: s,
        opts,
        explanations,
        source: None,
    };
    match serde_json::to_value(object) {
        Ok(Value::Object(m)) => m,
        _ => unreachable!("a sentence serializes to a JSON object"),
    }
}

/// The object of [`sentence_json`], serialized directly (as `newsclass serve` answers): the
/// same keys in the same sorted order, so the same bytes as serializing the map, without a
/// map, a `String` per key or a `Value` per number.
#[derive(Debug, Clone, Copy)]
pub struct SentenceJson<'s, 'a, 'm> {
    /// The sentence and its prediction.
    pub sentence: &'s SentenceRef<'a, 'm>,
    /// What to show beyond label and probability.
    pub opts: JsonOptions<'s>,
    /// One explanation per head, in model order, when asked.
    pub explanations: Option<&'s [Explanation]>,
    /// `"source"`, added last (so it wins over a head of that name), as `predict
    /// --format jsonl` prints it; `None` leaves it out, as [`sentence_json`] does.
    pub source: Option<&'s str>,
}

/// A value of the sentence object.
enum Field<'x> {
    Number(usize),
    Text(&'x str),
    /// Head `h` of the prediction.
    Head(usize),
}

impl serde::Serialize for SentenceJson<'_, '_, '_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let s = self.sentence;
        let mut fields: Vec<(&str, Field)> = Vec::with_capacity(5 + s.prediction.heads().len());
        fields.push(("sentence", Field::Number(s.index)));
        fields.push(("start", Field::Number(s.start)));
        fields.push(("end", Field::Number(s.end)));
        if let Some(id) = s.id {
            fields.push(("id", Field::Text(id)));
        }
        fields.push(("text", Field::Text(s.text)));
        let heads: Vec<_> = s.prediction.heads().collect();
        for (h, head) in heads.iter().enumerate() {
            fields.push((head.name(), Field::Head(h)));
        }
        if let Some(source) = self.source {
            fields.push(("source", Field::Text(source)));
        }
        // As in a map: sorted by key, and a key given twice (a head named `text`) holds the
        // value given last. The sort is stable, so among equal keys the last one is kept.
        fields.sort_by(|a, b| a.0.cmp(b.0));
        let keep = |i: usize| fields.get(i + 1).is_none_or(|next| next.0 != fields[i].0);
        let n = (0..fields.len()).filter(|&i| keep(i)).count();
        let mut map = ser.serialize_map(Some(n))?;
        for (i, (key, field)) in fields.iter().enumerate() {
            if !keep(i) {
                continue;
            }
            match field {
                Field::Number(v) => map.serialize_entry(key, v)?,
                Field::Text(v) => map.serialize_entry(key, v)?,
                Field::Head(h) => {
                    let head = HeadJson {
                        head: &heads[*h],
                        threshold: self.opts.thresholds.map(|t| t.get(*h).copied().flatten()),
                        explanation: self.explanations.and_then(|e| e.get(*h)),
                        probs: self.opts.probs,
                    };
                    map.serialize_entry(key, &head)?
                }
            }
        }
        map.end()
    }
}

/// One head's object of [`SentenceJson`]: keys `abstained`, `explain`, `label`, `prob`,
/// `probs`, in that (sorted) order.
struct HeadJson<'x, 'a> {
    head: &'x crate::pipeline::HeadPrediction<'a>,
    /// `Some` when thresholds are given (then `abstained` is written): this head's threshold.
    threshold: Option<Option<f64>>,
    explanation: Option<&'x Explanation>,
    probs: bool,
}

impl serde::Serialize for HeadJson<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let label = self.head.label_unless_below(self.threshold.flatten());
        let n = 2
            + usize::from(self.threshold.is_some())
            + usize::from(self.explanation.is_some())
            + usize::from(self.probs);
        let mut map = ser.serialize_map(Some(n))?;
        if self.threshold.is_some() {
            map.serialize_entry("abstained", &label.is_none())?;
        }
        if let Some(e) = self.explanation {
            map.serialize_entry("explain", &explain_json(e))?;
        }
        map.serialize_entry("label", &label)?;
        map.serialize_entry("prob", &round4(f64::from(self.head.score())))?;
        if self.probs {
            let mut probs: Vec<(&str, f64)> = self
                .head
                .labels()
                .iter()
                .zip(self.head.probs())
                .map(|(l, &v)| (l.as_str(), round4(f64::from(v))))
                .collect();
            probs.sort_by(|a, b| a.0.cmp(b.0));
            map.serialize_entry("probs", &Probs(&probs))?;
        }
        map.end()
    }
}

/// Label probabilities, as a JSON object in the order given.
struct Probs<'x>(&'x [(&'x str, f64)]);

impl serde::Serialize for Probs<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_map(self.0.iter().map(|(l, p)| (l, p)))
    }
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

    /// The object built as a map, key by key, as `sentence_json` did before it serialized
    /// [`SentenceJson`]: the oracle of the direct serializer.
    fn map_oracle(
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

    #[test]
    fn the_direct_serializer_writes_the_bytes_of_the_map() {
        // Heads named like fields (`text`, `id`) and around them in sorted order, labels not
        // in sorted order, every option, with and without an id.
        let texts = [
            "Troops shelled the town.",
            "Envoys signed a truce.",
            "Rebels attacked a convoy.",
            "Ministers agreed to talks.",
        ];
        let data = Dataset::new(texts)
            .unwrap()
            .with_head("text", ["b", "a", "b", "a"])
            .unwrap()
            .with_head("aa", ["z", "y", "x", "z"])
            .unwrap()
            .with_head("zz", ["security", "diplomacy", "security", "diplomacy"])
            .unwrap()
            .with_head("id", ["1", "2", "1", "2"])
            .unwrap()
            .with_head("source", ["s", "t", "t", "s"])
            .unwrap();
        let m = Pipeline::fit(&PipelineParams::default().check().unwrap(), &data).unwrap();
        let preds = m.predict(&texts);
        let explanations = m.explain_all(&texts, 2);
        let thresholds = [Some(0.5), None, Some(0.99), Some(0.0), Some(0.6)];
        let mut seen = std::collections::BTreeSet::new();
        for (i, p) in preds.iter().enumerate() {
            for id in [None, Some("row \"7\"")] {
                for probs in [false, true] {
                    for t in [None, Some(&thresholds[..])] {
                        for (e, source) in [
                            (None, None),
                            (Some(explanations[i].as_slice()), None),
                            (None, Some("a.csv")),
                        ] {
                            let s = SentenceRef {
                                index: i + 1,
                                start: 3 * i,
                                end: 40 + i,
                                id,
                                text: texts[i],
                                prediction: p,
                            };
                            let opts = JsonOptions {
                                probs,
                                thresholds: t,
                            };
                            let direct = serde_json::to_string(&SentenceJson {
                                sentence: &s,
                                opts,
                                explanations: e,
                                source,
                            })
                            .unwrap();
                            let mut map = map_oracle(&s, opts, e);
                            if let Some(source) = source {
                                // As `predict --format jsonl` added it to the map.
                                map.insert("source".into(), json!(source));
                            } else {
                                assert_eq!(sentence_json(&s, opts, e), map);
                            }
                            let oracle = serde_json::to_string(&Value::Object(map)).unwrap();
                            assert_eq!(direct, oracle);
                            seen.insert(direct.len());
                        }
                    }
                }
            }
        }
        // The options did change the objects.
        assert!(seen.len() > 8, "{seen:?}");
    }

    #[test]
    fn round4_rounds_and_drops_negative_zero() {
        assert_eq!(round4(0.123_46), 0.1235);
        assert_eq!(round4(-0.000_01).to_string(), "0");
    }
}

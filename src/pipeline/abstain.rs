//! Abstention: a head whose top probability is below a threshold gives no label.
//!
//! A [`MinProb`] holds one threshold for every head, or one per head, and is checked against a
//! model before use; [`HeadPrediction::abstains`](super::HeadPrediction::abstains) applies it.
//! Pick the threshold from labeled data with the selective-prediction table of
//! [`Pipeline::evaluate`](super::Pipeline::evaluate) (coverage and accuracy per threshold).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Pipeline;
use crate::error::{Error, Result};

/// Probability thresholds below which a head abstains: a default for every head and/or one per
/// head (a head's own threshold wins). Each lies in `[0, 1]`; 0 never abstains, and a head
/// without a threshold never abstains.
///
/// ```
/// use newsclass::MinProb;
///
/// let m = MinProb::parse("0.5,topic=0.7")?;
/// assert_eq!(m.threshold("topic"), Some(0.7));
/// assert_eq!(m.threshold("stance"), Some(0.5));
/// assert!(MinProb::parse("topic=1.5").is_err());
/// # Ok::<(), newsclass::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MinProb {
    /// The threshold of every head that has none of its own.
    pub default: Option<f64>,
    /// Thresholds of named heads.
    pub heads: BTreeMap<String, f64>,
}

/// The threshold `p` checked: a number in `[0, 1]`.
fn check_prob(value: &str, p: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(Error::param(
            "min_prob",
            value,
            "a probability threshold must lie between 0 and 1, e.g. 0.7",
        ))
    }
}

impl MinProb {
    /// The same threshold `p` for every head.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] (`min_prob`) unless `0 <= p <= 1`.
    pub fn all(p: f64) -> Result<MinProb> {
        Ok(MinProb {
            default: Some(check_prob(&p.to_string(), p)?),
            heads: BTreeMap::new(),
        })
    }

    /// Add (or replace) the threshold of head `head`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] (`min_prob`) unless `0 <= p <= 1`.
    pub fn with_head(mut self, head: &str, p: f64) -> Result<MinProb> {
        let p = check_prob(&format!("{head}={p}"), p)?;
        self.heads.insert(head.to_string(), p);
        Ok(self)
    }

    /// Parse `P` (every head) or `HEAD=P,HEAD=P` (named heads), or both (`0.5,topic=0.7`).
    ///
    /// # Errors
    /// [`Error::InvalidParam`] (`min_prob`) for an empty item, a value that is not a number in
    /// `[0, 1]`, a head named twice or two default values.
    pub fn parse(s: &str) -> Result<MinProb> {
        let mut out = MinProb::default();
        for item in s.split(',') {
            let item = item.trim();
            let bad = |reason: &str| Error::param("min_prob", s, reason);
            if item.is_empty() {
                return Err(bad(
                    "expected P or HEAD=P items separated by commas, e.g. 0.7 or topic=0.7,stance=0.6",
                ));
            }
            let (head, value) = match item.split_once('=') {
                Some((h, v)) => (Some(h.trim()), v.trim()),
                None => (None, item),
            };
            let p: f64 = value.parse().map_err(|_| {
                bad(&format!(
                    "\"{value}\" is not a number; a threshold is a probability between 0 and 1, e.g. 0.7"
                ))
            })?;
            let p = check_prob(s, p)?;
            match head {
                Some("") => return Err(bad("a HEAD=P item needs a head name before =")),
                Some(h) => {
                    if out.heads.insert(h.to_string(), p).is_some() {
                        return Err(bad(&format!("head \"{h}\" is given twice")));
                    }
                }
                None => {
                    if out.default.replace(p).is_some() {
                        return Err(bad(
                            "two thresholds for every head; give one P, and HEAD=P for the others",
                        ));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Check that every named head is a head of `model`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] (`min_prob`) naming the unknown head and the model's heads.
    pub fn check(&self, model: &Pipeline) -> Result<()> {
        for (h, p) in &self.heads {
            if model.head_index(h).is_none() {
                let heads: Vec<&str> = model.heads().iter().map(|x| x.name.as_str()).collect();
                return Err(Error::param(
                    "min_prob",
                    format!("{h}={p}"),
                    format!(
                        "the model has no head \"{h}\" (its heads: {})",
                        heads.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The threshold of head `head`: its own, else the default, else none.
    pub fn threshold(&self, head: &str) -> Option<f64> {
        self.heads.get(head).copied().or(self.default)
    }

    /// True when no threshold is set.
    pub fn is_empty(&self) -> bool {
        self.default.is_none() && self.heads.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_global_per_head_and_mixed_thresholds() {
        assert_eq!(MinProb::parse("0.7").unwrap(), MinProb::all(0.7).unwrap());
        let m = MinProb::parse("topic=0.7, stance=0.6").unwrap();
        assert_eq!(
            (
                m.threshold("topic"),
                m.threshold("stance"),
                m.threshold("x")
            ),
            (Some(0.7), Some(0.6), None)
        );
        let m = MinProb::parse("0.5,topic=0.9").unwrap();
        assert_eq!(
            (m.threshold("topic"), m.threshold("x")),
            (Some(0.9), Some(0.5))
        );
        assert!(MinProb::parse("0").unwrap().threshold("a") == Some(0.0));
        assert!(MinProb::default().is_empty());
    }

    #[test]
    fn rejects_out_of_range_malformed_and_repeated_thresholds() {
        for bad in [
            "1.5",
            "-0.1",
            "NaN",
            "inf",
            "",
            "topic=",
            "=0.5",
            "topic=x",
            "0.5,0.6",
            "topic=0.5,topic=0.6",
            "0.5,",
            "topic:0.5",
        ] {
            match MinProb::parse(bad) {
                Err(Error::InvalidParam { name, .. }) => assert_eq!(name, "min_prob", "{bad}"),
                r => panic!("{bad:?} gave {r:?}"),
            }
        }
        assert!(MinProb::all(1.01).is_err());
        assert!(MinProb::default().with_head("topic", f64::NAN).is_err());
    }

    #[test]
    fn heads_below_their_threshold_abstain_and_unknown_heads_are_refused() {
        let d = super::super::tests::data();
        let p = Pipeline::fit(&crate::PipelineParams::default().check().unwrap(), &d).unwrap();
        let pred = &p.predict(&["Troops shelled the border town."])[0];
        let topic = pred.head("topic").unwrap();
        let s = f64::from(topic.score());
        assert!(!topic.abstains(s) && topic.abstains(s + 1e-6));
        assert_eq!(topic.label_unless_below(Some(s)), Some(topic.label()));
        assert_eq!(topic.label_unless_below(Some(s + 1e-6)), None);
        assert_eq!(topic.label_unless_below(None), Some(topic.label()));
        assert!(MinProb::parse("topic=0.7,stance=0.6")
            .unwrap()
            .check(&p)
            .is_ok());
        match MinProb::parse("0.5,topc=0.7").unwrap().check(&p) {
            Err(Error::InvalidParam {
                name,
                value,
                reason,
            }) => {
                assert_eq!((name, value.as_str()), ("min_prob", "topc=0.7"));
                assert!(reason.contains("topic, stance"), "{reason}");
            }
            r => panic!("unexpected {r:?}"),
        }
    }
}

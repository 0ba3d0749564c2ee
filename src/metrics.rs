//! Evaluation metrics: confusion matrix, accuracy, per-class precision / recall / F1, macro and
//! weighted F1 (scikit-learn's definitions; an undefined ratio counts as 0 in averages and is
//! reported as `None`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The evaluation of a model on labeled data ([`crate::Pipeline::evaluate`]); serialized, it is
/// the JSON that `newsclass eval --format json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Per head, by name.
    pub heads: BTreeMap<String, HeadReport>,
    /// Rows evaluated.
    pub n: usize,
}

/// The scores of one head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadReport {
    /// Share of rows labeled correctly.
    pub accuracy: f64,
    /// Gold rows by predicted columns.
    pub confusion: ConfusionMatrix,
    /// Unweighted mean F1 over the labels present.
    pub macro_f1: f64,
    /// Precision, recall, F1 and support per label.
    pub per_class: BTreeMap<String, ClassReport>,
    /// F1 weighted by support.
    pub weighted_f1: f64,
}

/// [`ClassMetrics`] as they appear in a [`HeadReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    /// See [`ClassMetrics::f1`].
    pub f1: Option<f64>,
    /// See [`ClassMetrics::precision`].
    pub precision: Option<f64>,
    /// See [`ClassMetrics::recall`].
    pub recall: Option<f64>,
    /// See [`ClassMetrics::support`].
    pub support: u64,
}

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// Correct predictions of the class / predictions of the class (`None` if never predicted).
    pub precision: Option<f64>,
    /// Correct predictions of the class / gold rows of the class (`None` if no gold rows).
    pub recall: Option<f64>,
    /// Harmonic mean of precision and recall (`None` if either is undefined).
    pub f1: Option<f64>,
    /// Gold rows of the class.
    pub support: u64,
}

/// A confusion matrix over named labels: `matrix[gold][predicted]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Label names: the model's labels, then labels seen only in the gold data (sorted).
    pub labels: Vec<String>,
    /// Counts, gold rows by predicted columns.
    pub matrix: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// Count gold/predicted pairs. Gold labels unknown to `model_labels` get their own rows
    /// (and columns that no prediction reaches), so they count as errors, not crashes.
    pub fn from_pairs<'a>(
        model_labels: &[String],
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
        let mut labels = model_labels.to_vec();
        let mut extra: Vec<String> = pairs
            .iter()
            .flat_map(|&(g, p)| [g, p])
            .filter(|l| !model_labels.iter().any(|m| m == l))
            .map(str::to_owned)
            .collect();
        extra.sort();
        extra.dedup();
        labels.extend(extra);
        let idx = |l: &str| {
            labels
                .iter()
                .position(|x| x == l)
                .expect("label collected above")
        };
        let mut matrix = vec![vec![0u64; labels.len()]; labels.len()];
        for (g, p) in pairs {
            matrix[idx(g)][idx(p)] += 1;
        }
        ConfusionMatrix { labels, matrix }
    }

    /// Number of rows counted.
    pub fn n(&self) -> u64 {
        self.matrix.iter().flatten().sum()
    }

    /// Fraction of rows predicted correctly (0 for an empty matrix).
    pub fn accuracy(&self) -> f64 {
        let n = self.n();
        if n == 0 {
            return 0.0;
        }
        let correct: u64 = (0..self.labels.len()).map(|i| self.matrix[i][i]).sum();
        correct as f64 / n as f64
    }

    /// Metrics per label, in the order of `labels`.
    pub fn per_class(&self) -> Vec<ClassMetrics> {
        let k = self.labels.len();
        (0..k)
            .map(|i| {
                let tp = self.matrix[i][i] as f64;
                let support: u64 = self.matrix[i].iter().sum();
                let predicted: u64 = (0..k).map(|g| self.matrix[g][i]).sum();
                let precision = (predicted > 0).then(|| tp / predicted as f64);
                let recall = (support > 0).then(|| tp / support as f64);
                let f1 = match (precision, recall) {
                    (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
                    (Some(_), Some(_)) => Some(0.0),
                    _ => None,
                };
                ClassMetrics {
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect()
    }

    /// Unweighted mean of F1 over labels that occur in the gold data or the predictions.
    pub fn macro_f1(&self) -> f64 {
        let per = self.per_class();
        let present: Vec<&ClassMetrics> = per
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                m.support > 0 || (0..self.labels.len()).any(|g| self.matrix[g][*i] > 0)
            })
            .map(|(_, m)| m)
            .collect();
        if present.is_empty() {
            return 0.0;
        }
        present.iter().map(|m| m.f1.unwrap_or(0.0)).sum::<f64>() / present.len() as f64
    }

    /// Every metric of this matrix as a [`HeadReport`].
    pub fn report(&self) -> HeadReport {
        HeadReport {
            accuracy: self.accuracy(),
            macro_f1: self.macro_f1(),
            weighted_f1: self.weighted_f1(),
            per_class: self
                .labels
                .iter()
                .zip(self.per_class())
                .map(|(l, m)| {
                    (
                        l.clone(),
                        ClassReport {
                            f1: m.f1,
                            precision: m.precision,
                            recall: m.recall,
                            support: m.support,
                        },
                    )
                })
                .collect(),
            confusion: self.clone(),
        }
    }

    /// Mean of F1 weighted by support.
    pub fn weighted_f1(&self) -> f64 {
        let n = self.n();
        if n == 0 {
            return 0.0;
        }
        self.per_class()
            .iter()
            .map(|m| m.f1.unwrap_or(0.0) * m.support as f64)
            .sum::<f64>()
            / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn metrics_match_hand_computed_values() {
        // gold: a a b b c ; pred: a b b b a
        let gold = ["a", "a", "b", "b", "c"];
        let pred = ["a", "b", "b", "b", "a"];
        let cm = ConfusionMatrix::from_pairs(&labels(&["a", "b", "c"]), gold.into_iter().zip(pred));
        assert_eq!(cm.accuracy(), 0.6);
        let per = cm.per_class();
        assert_eq!(per[0].precision, Some(0.5));
        assert_eq!(per[0].recall, Some(0.5));
        assert_eq!(per[1].precision, Some(2.0 / 3.0));
        assert_eq!(per[1].recall, Some(1.0));
        assert_eq!(per[2].precision, None);
        assert_eq!(per[2].f1, None);
        let f1b = 2.0 * (2.0 / 3.0) / (2.0 / 3.0 + 1.0);
        assert!((cm.macro_f1() - (0.5 + f1b + 0.0) / 3.0).abs() < 1e-12);
        assert!((cm.weighted_f1() - (0.5 * 2.0 + f1b * 2.0) / 5.0).abs() < 1e-12);
    }

    #[test]
    fn unknown_gold_label_is_an_error_class() {
        let cm = ConfusionMatrix::from_pairs(&labels(&["a", "b"]), [("zzz", "a"), ("a", "a")]);
        assert_eq!(cm.labels, ["a", "b", "zzz"]);
        assert_eq!(cm.matrix[2][0], 1);
        assert_eq!(cm.accuracy(), 0.5);
        assert_eq!(cm.per_class()[2].recall, Some(0.0));
    }
}

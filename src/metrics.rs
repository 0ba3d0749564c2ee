//! Evaluation metrics: confusion matrix, accuracy, per-class precision / recall / F1, macro and
//! weighted F1 (scikit-learn's definitions; an undefined ratio counts as 0 in averages and is
//! reported as `None`); and, from the probabilities, how well they are calibrated
//! ([`Calibration`]: log-loss, Brier score, expected calibration error, reliability table) and
//! what abstaining below a probability threshold buys ([`SelectiveRow`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::logistic::argmax;

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
    /// Log-loss, Brier score, expected calibration error and reliability table of the
    /// probabilities (`None` in a report built from labels alone, as
    /// [`ConfusionMatrix::report`] builds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
    /// Gold rows by predicted columns.
    pub confusion: ConfusionMatrix,
    /// Unweighted mean F1 over the labels present.
    pub macro_f1: f64,
    /// Precision, recall, F1 and support per label.
    pub per_class: BTreeMap<String, ClassReport>,
    /// The selective-prediction table: for each of [`SELECTIVE_THRESHOLDS`], what is kept when
    /// the head abstains below it (empty in a report built from labels alone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selective: Vec<SelectiveRow>,
    /// F1 weighted by support.
    pub weighted_f1: f64,
}

/// The thresholds of the selective-prediction table: 0.30, 0.35, …, 0.95.
pub const SELECTIVE_THRESHOLDS: [f64; 14] = [
    0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95,
];

/// Bins of the reliability table and of the expected calibration error.
pub const CALIBRATION_BINS: usize = 10;

/// The smallest probability a log-loss term uses (scikit-learn's clipping): a gold label given
/// probability 0 (or unknown to the model) costs `-ln(1e-15)` ≈ 34.5, not infinity.
pub const LOG_LOSS_EPS: f64 = 1e-15;

/// One labeled row as the probability metrics see it: the gold label and the head's class
/// probabilities, in the order of the model's labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredRow<'a> {
    /// The gold label (possibly one the model does not know).
    pub gold: &'a str,
    /// The class probabilities, in the order of the model's labels; they sum to 1.
    pub probs: &'a [f32],
}

/// How well a head's probabilities match what happens, on labeled rows.
///
/// The predicted label is the most probable one and its probability the *confidence*. Gold
/// labels the model does not know get probability 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Brier score: the mean over rows of `Σ_c (p_c − y_c)²` over the classes (`y` the one-hot
    /// gold label; a gold label the model does not know adds 1). 0 is perfect, 2 the worst.
    pub brier: f64,
    /// Expected calibration error: `Σ_b (n_b / n) · |accuracy_b − confidence_b|` over
    /// [`CALIBRATION_BINS`] equal-width bins of the confidence (`[0, 0.1)`, …, `[0.9, 1]`).
    pub ece: f64,
    /// Mean negative log-probability of the gold label (natural log, each probability clipped
    /// below at [`LOG_LOSS_EPS`]), as scikit-learn's `log_loss`.
    pub log_loss: f64,
    /// The reliability table: one entry per confidence bin, empty bins included.
    pub reliability: Vec<ReliabilityBin>,
}

/// One confidence bin of the reliability table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Predictions whose confidence falls in the bin.
    pub count: u64,
    /// Share of them whose predicted label is the gold one (`None` for an empty bin).
    pub accuracy: Option<f64>,
    /// Lower end of the bin (included).
    pub lower: f64,
    /// Mean confidence of the predictions in the bin (`None` for an empty bin).
    pub mean_confidence: Option<f64>,
    /// Upper end of the bin (excluded, except 1 in the last bin).
    pub upper: f64,
}

/// One row of the selective-prediction table: the rows whose confidence (top probability) is at
/// least `threshold` are kept, the others abstained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectiveRow {
    /// Accuracy on the kept rows (`None` when none is kept).
    pub accuracy: Option<f64>,
    /// Share of the rows kept.
    pub coverage: f64,
    /// Rows kept.
    pub kept: u64,
    /// Macro-F1 on the kept rows, over the labels present in them (`None` when none is kept).
    pub macro_f1: Option<f64>,
    /// The threshold: a row is kept when its top probability (as `f64`) is `>=` this.
    pub threshold: f64,
}

impl Calibration {
    /// Score the probabilities of `rows` against their gold labels; `labels` are the model's
    /// labels in the order of each row's probabilities. Empty input gives zeros and empty bins.
    pub fn from_rows(labels: &[String], rows: &[ScoredRow<'_>]) -> Calibration {
        let n = rows.len();
        let mut log_loss = 0.0;
        let mut brier = 0.0;
        let mut count = [0u64; CALIBRATION_BINS];
        let mut conf_sum = [0.0f64; CALIBRATION_BINS];
        let mut correct = [0u64; CALIBRATION_BINS];
        for r in rows {
            let gold = labels.iter().position(|l| l == r.gold);
            let p_gold = gold
                .and_then(|g| r.probs.get(g))
                .map_or(0.0, |&p| f64::from(p));
            log_loss -= p_gold.max(LOG_LOSS_EPS).ln();
            let mut b: f64 = r
                .probs
                .iter()
                .enumerate()
                .map(|(c, &p)| {
                    let y = if Some(c) == gold { 1.0 } else { 0.0 };
                    (f64::from(p) - y).powi(2)
                })
                .sum();
            if gold.is_none() {
                b += 1.0;
            }
            brier += b;
            if r.probs.is_empty() {
                continue;
            }
            let top = argmax(r.probs);
            let conf = f64::from(r.probs[top]);
            let bin = confidence_bin(conf);
            count[bin] += 1;
            conf_sum[bin] += conf;
            correct[bin] += u64::from(Some(top) == gold);
        }
        let nf = n.max(1) as f64;
        let mut ece = 0.0;
        let reliability = (0..CALIBRATION_BINS)
            .map(|b| {
                let (mean_confidence, accuracy) = if count[b] == 0 {
                    (None, None)
                } else {
                    let c = count[b] as f64;
                    let (m, a) = (conf_sum[b] / c, correct[b] as f64 / c);
                    ece += c / nf * (a - m).abs();
                    (Some(m), Some(a))
                };
                ReliabilityBin {
                    count: count[b],
                    accuracy,
                    lower: b as f64 / CALIBRATION_BINS as f64,
                    mean_confidence,
                    upper: (b + 1) as f64 / CALIBRATION_BINS as f64,
                }
            })
            .collect();
        Calibration {
            brier: brier / nf,
            ece,
            log_loss: log_loss / nf,
            reliability,
        }
    }
}

/// The bin of a confidence in `[0, 1]`: `floor(10 · c)`, with 1 in the last bin.
fn confidence_bin(conf: f64) -> usize {
    ((conf * CALIBRATION_BINS as f64).floor().max(0.0) as usize).min(CALIBRATION_BINS - 1)
}

/// The selective-prediction table of `rows` at each of `thresholds`: how many rows keep their
/// label when the head abstains below the threshold, and the accuracy and macro-F1 on those.
/// `labels` are the model's labels in the order of each row's probabilities.
pub fn selective(
    labels: &[String],
    rows: &[ScoredRow<'_>],
    thresholds: &[f64],
) -> Vec<SelectiveRow> {
    let predicted: Vec<(usize, f64)> = rows
        .iter()
        .map(|r| {
            let top = argmax(r.probs);
            (top, r.probs.get(top).map_or(0.0, |&p| f64::from(p)))
        })
        .collect();
    thresholds
        .iter()
        .map(|&threshold| {
            let kept: Vec<(&str, &str)> = rows
                .iter()
                .zip(&predicted)
                .filter(|(_, &(_, conf))| conf >= threshold)
                .filter_map(|(r, &(top, _))| Some((r.gold, labels.get(top)?.as_str())))
                .collect();
            let n_kept = kept.len() as u64;
            let (accuracy, macro_f1) = if kept.is_empty() {
                (None, None)
            } else {
                let cm = ConfusionMatrix::from_pairs(labels, kept);
                (Some(cm.accuracy()), Some(cm.macro_f1()))
            };
            SelectiveRow {
                accuracy,
                coverage: if rows.is_empty() {
                    0.0
                } else {
                    n_kept as f64 / rows.len() as f64
                },
                kept: n_kept,
                macro_f1,
                threshold,
            }
        })
        .collect()
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
            calibration: None,
            macro_f1: self.macro_f1(),
            selective: Vec::new(),
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
    fn calibration_matches_hand_computed_values() {
        let l = labels(&["a", "b"]);
        let rows = [
            ScoredRow {
                gold: "a",
                probs: &[0.95, 0.05],
            },
            ScoredRow {
                gold: "b",
                probs: &[0.85, 0.15],
            },
            ScoredRow {
                gold: "b",
                probs: &[0.25, 0.75],
            },
            ScoredRow {
                gold: "zzz",
                probs: &[0.5, 0.5],
            },
        ];
        let c = Calibration::from_rows(&l, &rows);
        let p = |x: f32| f64::from(x);
        let want_ll = -(p(0.95).ln() + p(0.15).ln() + p(0.75).ln() + LOG_LOSS_EPS.ln()) / 4.0;
        assert!((c.log_loss - want_ll).abs() < 1e-12);
        let sq = |x: f32, y: f64| (p(x) - y).powi(2);
        let want_brier = (sq(0.95, 1.0)
            + sq(0.05, 0.0)
            + sq(0.85, 0.0)
            + sq(0.15, 1.0)
            + sq(0.25, 0.0)
            + sq(0.75, 1.0)
            + 0.25
            + 0.25
            + 1.0)
            / 4.0;
        assert!((c.brier - want_brier).abs() < 1e-12);
        // Bins: 0.95 (right), 0.85 (wrong), 0.75 (right) and 0.5 (wrong; unknown gold).
        let counts: Vec<u64> = c.reliability.iter().map(|b| b.count).collect();
        assert_eq!(counts, [0, 0, 0, 0, 0, 1, 0, 1, 1, 1]);
        assert_eq!(c.reliability[8].accuracy, Some(0.0));
        assert_eq!(c.reliability[7].accuracy, Some(1.0));
        assert_eq!(c.reliability[9].mean_confidence, Some(p(0.95)));
        assert_eq!(
            (c.reliability[0].accuracy, c.reliability[0].mean_confidence),
            (None, None)
        );
        assert_eq!((c.reliability[3].lower, c.reliability[3].upper), (0.3, 0.4));
        let want_ece = ((1.0 - p(0.95)) + p(0.85) + (1.0 - p(0.75)) + p(0.5)) / 4.0;
        assert!((c.ece - want_ece).abs() < 1e-12, "{} vs {want_ece}", c.ece);
        // A confidence of exactly 1 is in the last bin.
        let one = Calibration::from_rows(
            &l,
            &[ScoredRow {
                gold: "a",
                probs: &[1.0, 0.0],
            }],
        );
        assert_eq!(one.reliability[9].count, 1);
        assert_eq!((one.log_loss, one.brier, one.ece), (0.0, 0.0, 0.0));
    }

    #[test]
    fn selective_table_keeps_rows_at_or_above_each_threshold() {
        let l = labels(&["a", "b"]);
        let rows = [
            ScoredRow {
                gold: "a",
                probs: &[0.9, 0.1],
            },
            ScoredRow {
                gold: "b",
                probs: &[0.8, 0.2],
            },
            ScoredRow {
                gold: "b",
                probs: &[0.25, 0.75],
            },
            ScoredRow {
                gold: "a",
                probs: &[0.5, 0.5],
            },
        ];
        let t = selective(&l, &rows, &[0.3, 0.76, 0.85, 0.95]);
        assert_eq!(t.iter().map(|r| r.kept).collect::<Vec<_>>(), [4, 2, 1, 0]);
        assert_eq!(t[0].coverage, 1.0);
        assert_eq!(t[0].accuracy, Some(0.75));
        assert_eq!(t[1].accuracy, Some(0.5));
        assert_eq!(
            (t[1].coverage, t[2].accuracy, t[2].macro_f1),
            (0.5, Some(1.0), Some(1.0))
        );
        assert_eq!(
            (t[3].accuracy, t[3].macro_f1, t[3].coverage),
            (None, None, 0.0)
        );
        assert_eq!(SELECTIVE_THRESHOLDS.len(), 14);
        assert_eq!(SELECTIVE_THRESHOLDS[0], 0.3);
        assert_eq!(SELECTIVE_THRESHOLDS[13], 0.95);
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

//! The whole pipeline: tokenizer -> word n-grams -> TF-IDF -> one logistic regression per head.
//!
//! [`PipelineParams`] holds every option; [`Pipeline::fit`] learns the vocabulary, idf and one
//! [`LogisticModel`] per label column ("head") and returns a [`Pipeline`], which predicts and
//! saves itself as one self-describing file (see [`crate::persist`]).
//!
//! ```
//! use newsclass::data::Dataset;
//! use newsclass::pipeline::{Pipeline, PipelineParams};
//!
//! let texts = ["Troops shelled the border town.", "The envoys signed a truce.",
//!              "Artillery pounded the town again.", "Ministers agreed to more talks."];
//! let data = Dataset {
//!     texts: texts.iter().map(|s| s.to_string()).collect(),
//!     lines: vec![2, 3, 4, 5],
//!     head_names: vec!["topic".into()],
//!     labels: vec![vec!["security".into(), "diplomacy".into(), "security".into(), "diplomacy".into()]],
//!     ..Default::default()
//! };
//! let (model, _) = Pipeline::fit(PipelineParams::default(), &data, &mut |_| {}).unwrap();
//! let pred = model.predict(&["Troops shelled the town."]);
//! assert_eq!(model.label(0, &pred[0]), "security");
//! ```

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::features::tfidf::{TfidfParams, TfidfVectorizer};
use crate::features::vocabulary::VocabularyParams;
use crate::model::labels::LabelSet;
use crate::model::logistic::{self, argmax, FitReport, LogisticModel, LogisticParams};
use crate::sparse::SparseVec;
use crate::text::tokenize::{TokenBuffer, Tokenizer, TokenizerParams};

/// Every option of the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PipelineParams {
    /// Tokenizer options.
    pub tokenizer: TokenizerParams,
    /// N-gram range and vocabulary pruning.
    pub vocabulary: VocabularyParams,
    /// Term weighting.
    pub tfidf: TfidfParams,
    /// Solver options, shared by every head.
    pub logistic: LogisticParams,
    /// Seed for everything random around the fit (validation splits, folds). Default `0`.
    pub seed: u64,
}

impl PipelineParams {
    /// Validate every option.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] naming the first option out of range.
    pub fn check(&self) -> Result<()> {
        self.vocabulary.check()?;
        self.logistic.check()
    }
}

/// One fitted head: a label column and its classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// The label column's name (e.g. `topic`).
    pub name: String,
    /// The classifier.
    pub model: LogisticModel,
}

/// What a model was trained on and how the fit went (saved in the model file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Training rows.
    pub n_rows: usize,
    /// Vocabulary size.
    pub n_features: usize,
    /// SHA-256 of the training texts and labels, in row order.
    pub data_sha256: String,
    /// Per head: label counts and solver outcome.
    pub heads: Vec<HeadSummary>,
}

/// Training facts about one head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadSummary {
    /// Head name.
    pub name: String,
    /// Training rows per label.
    pub label_counts: BTreeMap<String, usize>,
    /// Solver outcome.
    pub fit: FitReport,
}

/// Progress events during [`Pipeline::fit`].
#[derive(Debug, Clone, PartialEq)]
pub enum Progress<'a> {
    /// Tokenizing `n_docs` documents.
    Tokenizing {
        /// Documents.
        n_docs: usize,
    },
    /// The vocabulary is built.
    Vectorized {
        /// Vocabulary size.
        n_features: usize,
        /// Stored TF-IDF entries.
        nnz: usize,
    },
    /// One solver iteration of a head.
    Iteration {
        /// Head name.
        head: &'a str,
        /// Iteration number (1-based).
        iteration: usize,
        /// Maximum iterations.
        max_iter: usize,
        /// Objective value.
        objective: f64,
    },
    /// A head is fitted.
    HeadDone {
        /// Head name.
        head: &'a str,
        /// Solver outcome.
        report: &'a FitReport,
    },
}

/// A fitted pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub(crate) params: PipelineParams,
    pub(crate) tokenizer: Tokenizer,
    pub(crate) vectorizer: TfidfVectorizer,
    pub(crate) heads: Vec<Head>,
    pub(crate) summary: TrainingSummary,
}

/// Class probabilities of one document: `probs[head][class]`.
pub type Prediction = Vec<Vec<f32>>;

/// SHA-256 over texts and labels (length-prefixed, in row order).
pub fn data_hash(data: &Dataset) -> String {
    let mut h = Sha256::new();
    let mut put = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    for name in &data.head_names {
        put(name);
    }
    for (r, text) in data.texts.iter().enumerate() {
        put(text);
        for head in &data.labels {
            put(&head[r]);
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Tokenize documents in parallel.
pub fn tokenize_all(tokenizer: &Tokenizer, texts: &[impl AsRef<str> + Sync]) -> Vec<TokenBuffer> {
    texts
        .par_iter()
        .map(|t| {
            let mut b = TokenBuffer::default();
            tokenizer.tokenize_into(t.as_ref(), &mut b);
            b
        })
        .collect()
}

impl Pipeline {
    /// Fit the pipeline on a labeled dataset (one head per label column of `data`).
    ///
    /// # Errors
    /// Invalid parameters, no label column, an empty vocabulary, or a head with a single class.
    pub fn fit(
        params: PipelineParams,
        data: &Dataset,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<(Pipeline, Vec<FitReport>)> {
        params.check()?;
        if data.head_names.is_empty() {
            return Err(Error::Untrainable(
                "no label columns: name at least one with --label-columns".into(),
            ));
        }
        if data.is_empty() {
            return Err(Error::Untrainable("no training rows".into()));
        }
        let tokenizer = Tokenizer::new(params.tokenizer.clone());
        progress(Progress::Tokenizing { n_docs: data.len() });
        // The data hash (for the model's training summary) runs beside the vocabulary fit, whose
        // interning is sequential.
        let (data_sha256, fitted) = rayon::join(
            || data_hash(data),
            || {
                TfidfVectorizer::fit_transform_texts(
                    params.vocabulary.clone(),
                    params.tfidf.clone(),
                    &tokenizer,
                    &data.texts,
                )
            },
        );
        let (vectorizer, x) = fitted?;
        progress(Progress::Vectorized {
            n_features: x.n_cols,
            nnz: x.nnz(),
        });
        let mut heads = Vec::new();
        let mut reports = Vec::new();
        let mut head_summaries = Vec::new();
        for (name, labels) in data.head_names.iter().zip(&data.labels) {
            let set = LabelSet::from_labels(labels.iter().map(String::as_str));
            if set.len() < 2 {
                return Err(Error::Untrainable(format!(
                    "head \"{name}\" has a single class ({}); a classifier needs at least two labels",
                    set.names().first().map_or("none", String::as_str)
                )));
            }
            let y: Vec<u32> = labels
                .iter()
                .map(|l| set.id(l).expect("label set built from these labels") as u32)
                .collect();
            let mut label_counts = BTreeMap::new();
            for l in labels {
                *label_counts.entry(l.clone()).or_insert(0) += 1;
            }
            let max_iter = params.logistic.max_iter;
            let (model, report) =
                logistic::fit(&params.logistic, &x, &y, set, |iteration, objective| {
                    progress(Progress::Iteration {
                        head: name,
                        iteration,
                        max_iter,
                        objective,
                    })
                })?;
            progress(Progress::HeadDone {
                head: name,
                report: &report,
            });
            head_summaries.push(HeadSummary {
                name: name.clone(),
                label_counts,
                fit: report.clone(),
            });
            reports.push(report);
            heads.push(Head {
                name: name.clone(),
                model,
            });
        }
        let summary = TrainingSummary {
            n_rows: data.len(),
            n_features: vectorizer.n_features(),
            data_sha256,
            heads: head_summaries,
        };
        Ok((
            Pipeline {
                params,
                tokenizer,
                vectorizer,
                heads,
                summary,
            },
            reports,
        ))
    }

    /// The options the pipeline was fitted with.
    pub fn params(&self) -> &PipelineParams {
        &self.params
    }

    /// The heads, in the order of the training data's label columns.
    pub fn heads(&self) -> &[Head] {
        &self.heads
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The fitted vectorizer.
    pub fn vectorizer(&self) -> &TfidfVectorizer {
        &self.vectorizer
    }

    /// What the model was trained on.
    pub fn summary(&self) -> &TrainingSummary {
        &self.summary
    }

    /// The TF-IDF row of one text.
    pub fn transform(&self, text: &str) -> SparseVec {
        let mut tokens = TokenBuffer::default();
        self.tokenizer.tokenize_into(text, &mut tokens);
        self.vectorizer.transform(&tokens, &mut Vec::new())
    }

    /// Class probabilities of each text, per head (parallel over texts).
    pub fn predict<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<Prediction> {
        texts
            .par_iter()
            .map_init(
                || (TokenBuffer::default(), Vec::new()),
                |(tokens, scratch), text| {
                    self.tokenizer.tokenize_into(text.as_ref(), tokens);
                    let x = self.vectorizer.transform(tokens, scratch);
                    self.heads
                        .iter()
                        .map(|h| h.model.predict_proba(&x))
                        .collect()
                },
            )
            .collect()
    }

    /// The most probable label of head `head` in a prediction.
    pub fn label<'a>(&'a self, head: usize, prediction: &Prediction) -> &'a str {
        self.heads[head]
            .model
            .labels()
            .name(argmax(&prediction[head]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Dataset {
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
                "Troops were deployed along the border.",
                "security",
                "neutral",
            ),
            (
                "Hospital officials said 30 were wounded.",
                "casualties",
                "neutral",
            ),
        ];
        Dataset {
            texts: rows.iter().map(|r| r.0.to_string()).collect(),
            lines: (2..8).collect(),
            head_names: vec!["topic".into(), "stance".into()],
            labels: vec![
                rows.iter().map(|r| r.1.to_string()).collect(),
                rows.iter().map(|r| r.2.to_string()).collect(),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn fits_every_head_and_predicts_training_rows() {
        let params = PipelineParams {
            logistic: LogisticParams {
                c: 100.0,
                ..Default::default()
            },
            ..Default::default()
        };
        let d = data();
        let (p, reports) = Pipeline::fit(params, &d, &mut |_| {}).unwrap();
        assert_eq!(reports.len(), 2);
        let preds = p.predict(&d.texts);
        for (r, pred) in preds.iter().enumerate() {
            assert_eq!(p.label(0, pred), d.labels[0][r]);
            assert_eq!(p.label(1, pred), d.labels[1][r]);
        }
    }

    #[test]
    fn single_class_head_is_an_error() {
        let mut d = data();
        d.labels[1] = vec!["neutral".into(); 6];
        let e = Pipeline::fit(PipelineParams::default(), &d, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("single class"), "{e}");
    }

    #[test]
    fn data_hash_depends_on_labels() {
        let d = data();
        let mut e = data();
        e.labels[0][0] = "diplomacy".into();
        assert_ne!(data_hash(&d), data_hash(&e));
        assert_eq!(data_hash(&d), data_hash(&data()));
    }
}

//! Explanations: which terms made a prediction, and what each class learned.
//!
//! For a linear model both are exact. Head `h` gives class `c` the margin
//! `z_c = b_c + Σ_j x_j · w_{j,c}` over the active features `j` of the text (its TF-IDF row),
//! and with temperature `T` the probabilities `softmax(z / T)`. So for the predicted class `a`
//! and the runner-up `b`,
//!
//! ```text
//! ln(p_a / p_b) = (b_a − b_b) / T  +  Σ_j x_j · (w_{j,a} − w_{j,b}) / T
//!                 └─ intercept ─┘      └─ one contribution per term ─┘
//! ```
//!
//! [`Pipeline::explain`] returns those contributions ([`Explanation`]): the terms that pushed
//! most toward the predicted label and those that pushed most toward the runner-up. For an
//! uncalibrated head `T = 1` and a contribution is `x_j · (w_{j,a} − w_{j,b})`.
//!
//! [`Pipeline::class_terms`] looks at the model alone: per class, the terms with the largest
//! and smallest `w_{j,c} · idf_j` ([`ClassTerms`]), which is what one occurrence of the term in
//! a short text adds before normalization.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Pipeline, PooledScratch, Scratch};
use crate::error::{Error, Result};
use crate::model::logistic::argmax;

/// Which block a term (feature column) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TermKind {
    /// A word n-gram: words of the tokenizer joined by single spaces (`armed groups`).
    Word,
    /// A character n-gram of the normalized text (`char` or `char_wb`; with `char_wb` a space
    /// marks a word boundary, as in `"ion "`).
    Char,
    /// The whole sentence-encoder block, as one contribution named `[encoder]`.
    Encoder,
}

/// The name of the encoder block's one contribution in an [`Explanation`].
pub const ENCODER_TERM: &str = "[encoder]";

impl TermKind {
    /// `word` or `char`.
    pub fn name(self) -> &'static str {
        match self {
            TermKind::Word => "word",
            TermKind::Char => "char",
            TermKind::Encoder => "encoder",
        }
    }
}

impl std::fmt::Display for TermKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One active term's share of a prediction (see [`Explanation`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// The term's text.
    pub term: String,
    /// Word or character n-gram.
    pub kind: TermKind,
    /// Its column in the feature row (for `[encoder]`, the block's first column).
    pub column: usize,
    /// Its TF-IDF value `x_j` in this text (for `[encoder]`, the block weight `W`: the
    /// block's L2 norm, the embedding being of unit length).
    pub value: f64,
    /// `x_j · (w_{j,label} − w_{j,versus}) / T`: positive pushes toward the predicted label,
    /// negative toward the runner-up, in units of log-odds.
    pub weight: f64,
}

/// Why one head gave one text its label rather than the runner-up.
///
/// Invariant (tested): `intercept + Σ weight` over *every* active term equals
/// `ln(prob / versus_prob)`, which is `log_odds`; the two lists hold the strongest terms of
/// each sign, so their sum is part of it. A model with an encoder block counts the block as
/// one term, `[encoder]` ([`TermKind::Encoder`]), whose weight is the sum over its columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// Head name.
    pub head: String,
    /// The predicted (most probable) label.
    pub label: String,
    /// Its probability.
    pub prob: f32,
    /// The runner-up: the second most probable label.
    pub versus: String,
    /// Its probability.
    pub versus_prob: f32,
    /// The head's temperature (1 when uncalibrated); every weight here is divided by it.
    pub temperature: f64,
    /// `(b_label − b_versus) / T`: the intercepts' share of `log_odds`.
    pub intercept: f64,
    /// `ln(prob / versus_prob)` computed from the margins in `f64`: `intercept` plus the
    /// weights of every active term.
    pub log_odds: f64,
    /// Number of active terms (features present in the text).
    pub n_terms: usize,
    /// Up to `k` terms with positive weight, strongest first (ties by column).
    pub for_terms: Vec<Contribution>,
    /// Up to `k` terms with negative weight, most negative first (ties by column).
    pub against_terms: Vec<Contribution>,
}

/// A term and its weight for one class, in [`ClassTerms`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TermWeight {
    /// The term's text.
    pub term: String,
    /// Word or character n-gram.
    pub kind: TermKind,
    /// The class's weight `w_{j,c}` for the term.
    pub weight: f64,
    /// The term's idf.
    pub idf: f64,
    /// `weight · idf`, the ranking key.
    pub score: f64,
}

/// What one class of one head learned: its strongest terms of each sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassTerms {
    /// Head name.
    pub head: String,
    /// The class.
    pub label: String,
    /// The class's intercept.
    pub intercept: f64,
    /// Up to `k` terms with the largest positive `weight · idf`, largest first.
    pub positive: Vec<TermWeight>,
    /// Up to `k` terms with the most negative `weight · idf`, most negative first.
    pub negative: Vec<TermWeight>,
}

/// The index of the most probable class other than `top` (the first on ties).
fn runner_up(probs: &[f32], top: usize) -> usize {
    let mut best: Option<usize> = None;
    for (i, &p) in probs.iter().enumerate() {
        if i != top && best.is_none_or(|b| p > probs[b]) {
            best = Some(i);
        }
    }
    best.unwrap_or(top)
}

/// Keep the `k` entries with the largest `key` (ties by `column`), in that order.
fn top_k<T>(
    mut v: Vec<T>,
    k: usize,
    key: impl Fn(&T) -> f64,
    column: impl Fn(&T) -> usize,
) -> Vec<T> {
    v.sort_by(|a, b| {
        key(b)
            .total_cmp(&key(a))
            .then_with(|| column(a).cmp(&column(b)))
    });
    v.truncate(k);
    v
}

impl Pipeline {
    /// The text, kind and idf of feature column `column` (the word block's columns come
    /// first, then the character block's), or `None` past the last column.
    pub fn term(&self, column: usize) -> Option<(&str, TermKind, f64)> {
        let mut c = column;
        if let Some(word) = &self.word {
            if c < word.n_features() {
                return Some((word.terms()[c].as_str(), TermKind::Word, word.idf()[c]));
            }
            c -= word.n_features();
        }
        let chars = self.chars.as_ref()?;
        Some((
            chars.terms().get(c)?.as_str(),
            TermKind::Char,
            *chars.idf().get(c)?,
        ))
    }

    /// Explain every head's prediction for `text` (in head order), with up to `k` terms of
    /// each sign. The labels and probabilities are those [`Pipeline::predict`] gives.
    pub fn explain(&self, text: &str, k: usize) -> Vec<Explanation> {
        let rows = self.embed(&[text]);
        let embedding = self.embedding_row(rows.as_deref(), 0);
        self.explain_one(text, k, &mut PooledScratch::take(), embedding)
    }

    /// [`Pipeline::explain`] for many texts, in order (parallel over texts).
    pub fn explain_all<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        k: usize,
    ) -> Vec<Vec<Explanation>> {
        self.count_sentences(texts.len());
        let rows = self.embed(texts);
        texts
            .par_iter()
            .enumerate()
            .map_init(PooledScratch::take, |scratch, (i, t)| {
                let embedding = self.embedding_row(rows.as_deref(), i);
                self.explain_one(t.as_ref(), k, scratch, embedding)
            })
            .collect()
    }

    /// Explain head `head`'s prediction for `text`, with up to `k` terms of each sign.
    ///
    /// # Errors
    /// [`Error::UnknownHead`] when the model has no such head.
    pub fn explain_head(&self, text: &str, head: &str, k: usize) -> Result<Explanation> {
        let h = self
            .head_index(head)
            .ok_or_else(|| self.unknown_head(head))?;
        Ok(self.explain(text, k).swap_remove(h))
    }

    fn explain_one(
        &self,
        text: &str,
        k: usize,
        scratch: &mut Scratch,
        embedding: Option<&[f32]>,
    ) -> Vec<Explanation> {
        // The same path as `predict`, so the labels are the printed ones.
        let prediction = self.predict_one(text, scratch, embedding);
        let x = &scratch.row;
        let n_tfidf = self.n_tfidf_features();
        let total = self.offsets.last().copied().unwrap_or(0);
        let mut out = Vec::with_capacity(self.heads.len());
        for (h, head) in self.heads.iter().enumerate() {
            let probs = &prediction.probs[self.offsets[h]..self.offsets[h + 1]];
            let (a, b) = (argmax(probs), runner_up(probs, argmax(probs)));
            let (ja, jb) = (self.offsets[h] + a, self.offsets[h] + b);
            let t = self.temperatures[h];
            let intercept = (f64::from(self.joint_bias[ja]) - f64::from(self.joint_bias[jb])) / t;
            let mut log_odds = intercept;
            let (mut pos, mut neg) = (Vec::new(), Vec::new());
            let mut n_terms = 0;
            // The encoder block's columns add up to one contribution.
            let mut encoder_weight: Option<f64> = None;
            for (&j, &v) in x.indices.iter().zip(&x.values) {
                let j = j as usize;
                let Some(w) = self.joint_weights.get(j * total..j * total + total) else {
                    continue;
                };
                let value = f64::from(v);
                let weight = value * (f64::from(w[ja]) - f64::from(w[jb])) / t;
                log_odds += weight;
                if j >= n_tfidf {
                    *encoder_weight.get_or_insert(0.0) += weight;
                    continue;
                }
                n_terms += 1;
                if weight == 0.0 {
                    continue;
                }
                let (term, kind, _) = self.term(j).expect("a column of this model");
                let c = Contribution {
                    term: term.to_string(),
                    kind,
                    column: j,
                    value,
                    weight,
                };
                if weight > 0.0 {
                    pos.push(c)
                } else {
                    neg.push(c)
                }
            }
            if let Some(weight) = encoder_weight {
                n_terms += 1;
                let c = Contribution {
                    term: ENCODER_TERM.to_string(),
                    kind: TermKind::Encoder,
                    column: n_tfidf,
                    value: self
                        .params
                        .encoder
                        .as_ref()
                        .map_or(1.0, |e| f64::from(e.weight)),
                    weight,
                };
                if weight > 0.0 {
                    pos.push(c)
                } else if weight < 0.0 {
                    neg.push(c)
                }
            }
            let labels = head.model.labels();
            out.push(Explanation {
                head: head.name.clone(),
                label: labels.name(a).to_string(),
                prob: probs[a],
                versus: labels.name(b).to_string(),
                versus_prob: probs[b],
                temperature: t,
                intercept,
                log_odds,
                n_terms,
                for_terms: top_k(pos, k, |c| c.weight, |c| c.column),
                against_terms: top_k(neg, k, |c| -c.weight, |c| c.column),
            });
        }
        out
    }

    /// What each class of head `head` learned: per class (all, or only `label`), up to `k`
    /// terms with the largest and the most negative `weight · idf`. Temperatures are not
    /// applied (they scale every weight of a head alike).
    ///
    /// # Errors
    /// [`Error::UnknownHead`]; [`Error::UnknownLabel`] for a `label` the head does not have.
    pub fn class_terms(
        &self,
        head: &str,
        label: Option<&str>,
        k: usize,
    ) -> Result<Vec<ClassTerms>> {
        let h = self
            .head_index(head)
            .ok_or_else(|| self.unknown_head(head))?;
        let model = &self.heads[h].model;
        let labels = model.labels().names();
        let classes: Vec<usize> = match label {
            None => (0..labels.len()).collect(),
            Some(l) => {
                vec![labels
                    .iter()
                    .position(|x| x == l)
                    .ok_or_else(|| Error::UnknownLabel {
                        head: head.to_string(),
                        label: l.to_string(),
                        labels: labels.to_vec(),
                    })?]
            }
        };
        let idf: Vec<f64> = (0..self.n_features())
            .map(|j| self.term(j).map_or(0.0, |t| t.2))
            .collect();
        let weights = model.weights();
        Ok(classes
            .into_iter()
            .map(|c| {
                let column = weights.column(c);
                let scored: Vec<(usize, f64)> = column
                    .iter()
                    .zip(&idf)
                    .map(|(&w, &i)| f64::from(w) * i)
                    .enumerate()
                    .filter(|(_, s)| *s != 0.0)
                    .collect();
                let (pos, neg): (Vec<_>, Vec<_>) = scored.into_iter().partition(|(_, s)| *s > 0.0);
                let entry = |(j, score): (usize, f64)| {
                    let (term, kind, idf) = self.term(j).expect("a column of this model");
                    TermWeight {
                        term: term.to_string(),
                        kind,
                        weight: f64::from(column[j]),
                        idf,
                        score,
                    }
                };
                ClassTerms {
                    head: head.to_string(),
                    label: labels[c].clone(),
                    intercept: f64::from(model.bias()[c]),
                    positive: top_k(pos, k, |e| e.1, |e| e.0)
                        .into_iter()
                        .map(entry)
                        .collect(),
                    negative: top_k(neg, k, |e| -e.1, |e| e.0)
                        .into_iter()
                        .map(entry)
                        .collect(),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::chars::Analyzer;
    use crate::PipelineParams;

    fn probes() -> Vec<String> {
        let mut v: Vec<String> = super::super::tests::data().texts().to_vec();
        v.extend(
            [
                "Troops shelled the market; 12 were killed.",
                "The envoys condemned the raid and agreed to talks.",
                "Nothing here is known to the model.",
                "",
            ]
            .map(String::from),
        );
        v
    }

    /// `intercept + Σ weight` over every active term is `ln(p_label / p_versus)`.
    fn check_invariant(p: &Pipeline) {
        for text in probes() {
            let preds = p.predict(&[text.as_str()]);
            for (e, hp) in p.explain(&text, usize::MAX).iter().zip(preds[0].heads()) {
                assert_eq!((e.label.as_str(), e.prob), (hp.label(), hp.score()));
                let sum: f64 = e.intercept
                    + e.for_terms.iter().map(|c| c.weight).sum::<f64>()
                    + e.against_terms.iter().map(|c| c.weight).sum::<f64>();
                let ratio = (f64::from(e.prob) / f64::from(e.versus_prob)).ln();
                assert!(
                    (sum - ratio).abs() < 1e-4 && (e.log_odds - sum).abs() < 1e-9,
                    "{text:?} head {}: terms + intercept {sum}, log_odds {}, ln ratio {ratio}",
                    e.head,
                    e.log_odds
                );
                assert!(e.for_terms.len() + e.against_terms.len() <= e.n_terms);
                assert_eq!(e.n_terms, p.transform(&text).nnz());
                assert_ne!(e.label, e.versus);
                assert!(e.versus_prob <= e.prob);
            }
        }
    }

    #[test]
    fn contributions_add_up_to_the_log_odds_of_label_and_runner_up() {
        let d = super::super::tests::data();
        let word = PipelineParams::default().c(10.0).check().unwrap();
        let both = PipelineParams::default()
            .c(10.0)
            .features(Analyzer::CharWb, Some((2, 4)))
            .check()
            .unwrap();
        for params in [word, both] {
            let mut p = Pipeline::fit(&params, &d).unwrap();
            check_invariant(&p);
            p.set_temperature("topic", 2.5).unwrap();
            p.set_temperature("stance", 0.4).unwrap();
            check_invariant(&p);
        }
    }

    #[test]
    fn explanations_keep_the_strongest_terms_of_each_sign_in_order() {
        let d = super::super::tests::data();
        let params = PipelineParams::default()
            .c(10.0)
            .features(Analyzer::CharWb, Some((2, 4)))
            .check()
            .unwrap();
        let p = Pipeline::fit(&params, &d).unwrap();
        let text = "Troops shelled the market; 12 were killed.";
        let all = p.explain_head(text, "topic", usize::MAX).unwrap();
        let top = p.explain_head(text, "topic", 3).unwrap();
        assert_eq!(top.for_terms.len(), 3.min(all.for_terms.len()));
        assert_eq!(top.for_terms[..], all.for_terms[..top.for_terms.len()]);
        assert!(all.for_terms.windows(2).all(|w| w[0].weight >= w[1].weight));
        assert!(all
            .against_terms
            .windows(2)
            .all(|w| w[0].weight <= w[1].weight));
        assert!(all.for_terms.iter().all(|c| c.weight > 0.0));
        assert!(all.against_terms.iter().all(|c| c.weight < 0.0));
        // Both kinds of terms are named as such.
        let kinds: Vec<TermKind> = all
            .for_terms
            .iter()
            .chain(&all.against_terms)
            .map(|c| c.kind)
            .collect();
        assert!(kinds.contains(&TermKind::Word) && kinds.contains(&TermKind::Char));
        for c in all.for_terms.iter().chain(&all.against_terms) {
            assert_eq!(
                p.term(c.column).map(|t| (t.0, t.1)),
                Some((c.term.as_str(), c.kind))
            );
        }
        let words = p.vectorizer().unwrap().n_features();
        assert_eq!(p.term(words).unwrap().1, TermKind::Char);
        assert_eq!(p.term(words - 1).unwrap().1, TermKind::Word);
        assert!(p.term(p.n_features()).is_none());
        assert!(matches!(
            p.explain_head(text, "mood", 3),
            Err(Error::UnknownHead { .. })
        ));
        // The batch form gives the same.
        let texts = probes();
        let batch = p.explain_all(&texts, 4);
        for (t, e) in texts.iter().zip(batch) {
            assert_eq!(e, p.explain(t, 4));
        }
    }

    #[test]
    fn class_terms_rank_weight_times_idf() {
        let d = super::super::tests::data();
        let p = Pipeline::fit(&PipelineParams::default().c(10.0).check().unwrap(), &d).unwrap();
        let all = p.class_terms("topic", None, 5).unwrap();
        assert_eq!(
            all.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(),
            ["casualties", "diplomacy", "security"]
        );
        for c in &all {
            assert!(c.positive.len() <= 5 && c.negative.len() <= 5);
            assert!(c.positive.windows(2).all(|w| w[0].score >= w[1].score));
            assert!(c.negative.windows(2).all(|w| w[0].score <= w[1].score));
            for t in c.positive.iter().chain(&c.negative) {
                assert!((t.weight * t.idf - t.score).abs() < 1e-12);
            }
        }
        let security = p.class_terms("topic", Some("security"), 3).unwrap();
        assert_eq!(security.len(), 1);
        assert_eq!(security[0], {
            let mut s = all[2].clone();
            s.positive.truncate(3);
            s.negative.truncate(3);
            s
        });
        // Words of the security rows rank high for security.
        let terms: Vec<&str> = all[2].positive.iter().map(|t| t.term.as_str()).collect();
        assert!(
            terms
                .iter()
                .any(|t| ["border", "troops", "shelled", "deployed"].contains(t)),
            "{terms:?}"
        );
        assert!(matches!(
            p.class_terms("topic", Some("sports"), 3),
            Err(Error::UnknownLabel { .. })
        ));
        assert!(matches!(
            p.class_terms("mood", None, 3),
            Err(Error::UnknownHead { .. })
        ));
    }

    /// The shipped default model (word and character n-grams) on the example article and the
    /// test split's sentences: the invariant holds on real data, not only on toy models.
    #[test]
    fn default_model_explanations_add_up_on_real_sentences() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let (model, article, test) = (
            root.join("models/default.newsclass"),
            root.join("data/example-article.txt"),
            root.join("data/test.csv"),
        );
        if !(model.is_file() && article.is_file() && test.is_file()) {
            eprintln!("skipped: models/default.newsclass or data/ is missing");
            return;
        }
        let p = Pipeline::load(&model).unwrap();
        let spec = crate::data::DataSpec {
            labels: Vec::new(),
            ..crate::data::DataSpec::default()
        };
        let mut texts = crate::data::read_path(&test, &spec)
            .unwrap()
            .texts()
            .to_vec();
        let article = std::fs::read_to_string(article).unwrap();
        texts.extend(
            crate::text::sentences::split_sentences(&article)
                .into_iter()
                .map(|s| s.text),
        );
        let mut worst: f64 = 0.0;
        let mut checked = 0;
        for (text, explanations) in texts.iter().zip(p.explain_all(&texts, usize::MAX)) {
            for e in explanations {
                let sum = e.intercept
                    + e.for_terms.iter().map(|c| c.weight).sum::<f64>()
                    + e.against_terms.iter().map(|c| c.weight).sum::<f64>();
                if e.versus_prob < 1e-30 {
                    continue;
                }
                let err = (sum - (f64::from(e.prob) / f64::from(e.versus_prob)).ln()).abs();
                assert!(err < 1e-4, "{text:?} head {}: off by {err}", e.head);
                worst = worst.max(err);
                checked += 1;
            }
        }
        eprintln!(
            "default model: {checked} explanations of {} sentences, largest |intercept + Σ terms − ln(p/p2)| = {worst:.2e}",
            texts.len()
        );
    }

    #[test]
    fn runner_up_is_the_second_most_probable_class() {
        assert_eq!(runner_up(&[0.2, 0.5, 0.3], 1), 2);
        assert_eq!(runner_up(&[0.4, 0.2, 0.4], 0), 2);
        assert_eq!(runner_up(&[0.3, 0.3, 0.4], 2), 0);
        assert_eq!(runner_up(&[0.9, 0.1], 0), 1);
    }
}

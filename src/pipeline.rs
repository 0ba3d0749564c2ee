//! The whole pipeline: tokenizer -> word n-grams -> TF-IDF -> one logistic regression per head.
//!
//! [`PipelineParams`] holds every option and is built like linfa's and ripgrep's parameter
//! builders; [`PipelineParams::check`] turns it into [`ValidPipelineParams`], the only form
//! [`Pipeline::fit`] accepts. A fitted [`Pipeline`] predicts ([`Pipeline::predict`],
//! [`Pipeline::classify_article`]), scores itself ([`Pipeline::evaluate`]) and saves itself as
//! one self-describing file ([`Pipeline::save`], [`Pipeline::load`]).
//!
//! For an analyst checking the labels: [`Pipeline::explain`] gives the terms behind each
//! prediction and [`Pipeline::class_terms`] what each class learned ([`explain`]);
//! [`MinProb`] lets a head abstain below a probability; [`Pipeline::fit_calibrated`] fits a
//! temperature per head so that the probabilities match held-out frequencies ([`calibrate`]).
//!
//! ```
//! use newsclass::{Dataset, Pipeline, PipelineParams};
//!
//! let data = Dataset::new([
//!     "Troops shelled the border town.",
//!     "The envoys signed a truce.",
//!     "Artillery pounded the town again.",
//!     "Ministers agreed to more talks.",
//! ])?
//! .with_head("topic", ["security", "diplomacy", "security", "diplomacy"])?;
//! let params = PipelineParams::default().c(10.0).check()?;
//! let model = Pipeline::fit(&params, &data)?;
//! let pred = &model.predict(&["Troops shelled the town."])[0];
//! assert_eq!(pred.head("topic").unwrap().label(), "security");
//! # Ok::<(), newsclass::Error>(())
//! ```

mod abstain;
pub mod calibrate;
pub mod explain;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::encoder::{Encoder, EncoderIdentity, EncoderStorage};
use crate::error::{EncoderError, Error, ModelError, Result};
use crate::features::chars::{
    Analyzer, CharParams, CharScratch, CharVectorizer, CharVocabulary, WordColumns, MAX_CHAR_NGRAM,
};
use crate::features::tfidf::{Norm, TfidfParams, TfidfVectorizer};
use crate::features::vocabulary::{DocFreq, ParamNames, Vocabulary, VocabularyParams};
use crate::metrics::{self, Calibration, ConfusionMatrix, Report, ScoredRow};
use crate::model::labels::LabelSet;
use crate::model::logistic::{
    self, argmax, ClassWeight, FitReport, LogisticModel, LogisticParams, ValidLogisticParams,
};
use crate::persist::{self, Section, Sections};
use crate::sparse::{CsrMatrix, SparseVec};
use crate::text::sentences::split_sentences;
use crate::text::tokenize::{TokenBuffer, Tokenizer, TokenizerParams};

pub use abstain::MinProb;
pub use calibrate::{CalibrationSummary, HeadCalibration};
pub use explain::{ClassTerms, Contribution, Explanation, TermKind, TermWeight};

/// The seed used when none is given: for validation splits, folds and anything else random.
pub const DEFAULT_SEED: u64 = 42;

fn default_seed() -> u64 {
    DEFAULT_SEED
}

/// Every option of the pipeline, with builder methods.
///
/// The fields are public for serialization and inspection; build with the methods and call
/// [`PipelineParams::check`] to get the [`ValidPipelineParams`] that fitting takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineParams {
    /// Tokenizer options.
    pub tokenizer: TokenizerParams,
    /// What the terms of the first (or only) block are: word n-grams (default), or character
    /// n-grams (`char`, `char_wb`) of the normalized text, as scikit-learn's `analyzer`.
    #[serde(default, skip_serializing_if = "Analyzer::is_word")]
    pub analyzer: Analyzer,
    /// N-gram range and vocabulary pruning of the first (or only) block.
    pub vocabulary: VocabularyParams,
    /// A second block of character n-grams beside the word n-grams, with its own vocabulary,
    /// idf and normalization (scikit-learn's `FeatureUnion` of two `TfidfVectorizer`s). Default
    /// none; needs `analyzer` word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub char_ngrams: Option<CharParams>,
    /// Term weighting.
    pub tfidf: TfidfParams,
    /// Solver options, shared by every head.
    pub logistic: LogisticParams,
    /// Seed for everything random around the fit (validation splits, folds). Default
    /// [`DEFAULT_SEED`].
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Refuse a head with more classes than this. Default `None`: 1,000, and no more than half
    /// the rows once that is above 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_classes: Option<usize>,
    /// The sentence-encoder block beside the TF-IDF block(s), for a pipeline fitted with
    /// [`Pipeline::fit_with_encoder`] (feature `encoder`). Default none: TF-IDF only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<EncoderParams>,
}

/// Options of the sentence-encoder block (see [`PipelineParams::encoder`]).
///
/// The block's columns are `weight · e`, where `e` is the encoder's unit-length embedding of
/// the text, after the TF-IDF columns of the same row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncoderParams {
    /// `W`, the scale of the embedding against the unit-length TF-IDF block(s) (finite, > 0;
    /// default 1).
    pub weight: f32,
    /// Which copy of the encoder the model file carries (default [`EncoderStorage::F16`]: the
    /// weights rounded to half precision, and the model fitted with that rounded encoder).
    #[serde(default)]
    pub storage: EncoderStorage,
}

impl Default for EncoderParams {
    fn default() -> Self {
        EncoderParams {
            weight: 1.0,
            storage: EncoderStorage::default(),
        }
    }
}

impl Default for PipelineParams {
    fn default() -> Self {
        PipelineParams {
            tokenizer: TokenizerParams::default(),
            analyzer: Analyzer::Word,
            vocabulary: VocabularyParams::default(),
            char_ngrams: None,
            tfidf: TfidfParams::default(),
            logistic: LogisticParams::default(),
            seed: DEFAULT_SEED,
            max_classes: None,
            encoder: None,
        }
    }
}

impl PipelineParams {
    /// Inverse regularization strength `C` (finite, > 0; default 1). linfa's `alpha` is `1/C`.
    pub fn c(mut self, c: f64) -> Self {
        self.logistic.c = c;
        self
    }

    /// Maximum solver iterations per head (>= 1; default 1000).
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.logistic.max_iter = max_iter;
        self
    }

    /// Stopping tolerance on the largest gradient component (> 0; default 1e-4).
    pub fn tol(mut self, tol: f64) -> Self {
        self.logistic.tol = tol;
        self
    }

    /// Class weighting (default none).
    pub fn class_weight(mut self, class_weight: ClassWeight) -> Self {
        self.logistic.class_weight = class_weight;
        self
    }

    /// Smallest and largest word n-gram length (`1 <= min <= max <= 8`; default 1, 2).
    pub fn ngram_range(mut self, min: usize, max: usize) -> Self {
        self.vocabulary.ngram_range = (min, max);
        self
    }

    /// What the first (or only) block's terms are (default [`Analyzer::Word`]); with `Char` or
    /// `CharWb`, [`PipelineParams::ngram_range`] counts characters (at most
    /// [`MAX_CHAR_NGRAM`]).
    pub fn analyzer(mut self, analyzer: Analyzer) -> Self {
        self.analyzer = analyzer;
        self
    }

    /// Add (or, with `None`, remove) a block of character n-grams beside the word n-grams.
    ///
    /// ```
    /// use newsclass::features::chars::{Analyzer, CharParams};
    /// use newsclass::PipelineParams;
    ///
    /// // Word 1- and 2-grams and, beside them, char_wb 2- to 5-grams.
    /// let p = PipelineParams::default().char_ngrams(Some(CharParams::new(Analyzer::CharWb, 2, 5)));
    /// assert!(p.check().is_ok());
    /// ```
    pub fn char_ngrams(mut self, char_ngrams: Option<CharParams>) -> Self {
        self.char_ngrams = char_ngrams;
        self
    }

    /// Choose the blocks as the command line does (`--analyzer`, `--char-ngram-range`): without
    /// `char_ngram_range`, one block of `analyzer` terms over [`PipelineParams::ngram_range`];
    /// with it, word n-grams over `ngram_range` and beside them character n-grams of `analyzer`
    /// (`char_wb` when `analyzer` is word) over `char_ngram_range`. The character block keeps
    /// the `min_df`, `max_df` and `max_features` of any [`CharParams`] already set.
    pub fn features(
        mut self,
        analyzer: Analyzer,
        char_ngram_range: Option<(usize, usize)>,
    ) -> Self {
        match char_ngram_range {
            None => {
                self.analyzer = analyzer;
                self.char_ngrams = None;
            }
            Some((lo, hi)) => {
                let mut c = self.char_ngrams.take().unwrap_or_default();
                c.analyzer = if analyzer.is_word() {
                    Analyzer::CharWb
                } else {
                    analyzer
                };
                c.ngram_range = (lo, hi);
                self.analyzer = Analyzer::Word;
                self.char_ngrams = Some(c);
            }
        }
        self
    }

    /// The character block, if any: its analyzer and its vocabulary options (the unset ones
    /// taken from the word block's). For `analyzer` char or char_wb this is the only block.
    pub fn char_block(&self) -> Option<(Analyzer, VocabularyParams)> {
        if !self.analyzer.is_word() {
            return Some((self.analyzer, self.vocabulary.clone()));
        }
        self.char_ngrams
            .as_ref()
            .map(|c| (c.analyzer, c.vocabulary(&self.vocabulary)))
    }

    /// Drop terms in fewer documents than this (default 1 document).
    pub fn min_df(mut self, min_df: DocFreq) -> Self {
        self.vocabulary.min_df = min_df;
        self
    }

    /// Drop terms in more documents than this (default all of them).
    pub fn max_df(mut self, max_df: DocFreq) -> Self {
        self.vocabulary.max_df = max_df;
        self
    }

    /// Keep only the `n` most frequent terms (default: no limit).
    pub fn max_features(mut self, n: Option<usize>) -> Self {
        self.vocabulary.max_features = n;
        self
    }

    /// Use `1 + ln(tf)` instead of the raw count (default false).
    pub fn sublinear_tf(mut self, on: bool) -> Self {
        self.tfidf.sublinear_tf = on;
        self
    }

    /// Smooth idf as if a document held every term once (default true).
    pub fn smooth_idf(mut self, on: bool) -> Self {
        self.tfidf.smooth_idf = on;
        self
    }

    /// Row normalization (default L2).
    pub fn norm(mut self, norm: Norm) -> Self {
        self.tfidf.norm = norm;
        self
    }

    /// Lowercase text before tokenizing (default true).
    pub fn lowercase(mut self, on: bool) -> Self {
        self.tokenizer.lowercase = on;
        self
    }

    /// Remove accents (NFKD + strip combining marks) instead of NFKC (default false).
    pub fn strip_accents(mut self, on: bool) -> Self {
        self.tokenizer.strip_accents = on;
        self
    }

    /// Keep punctuation tokens as features (default false).
    pub fn keep_punctuation(mut self, on: bool) -> Self {
        self.tokenizer.keep_punctuation = on;
        self
    }

    /// Seed for anything random (default [`DEFAULT_SEED`]).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Refuse heads with more than `n` classes (default: 1,000, and no more than half the rows
    /// once that is above 10).
    pub fn max_classes(mut self, n: Option<usize>) -> Self {
        self.max_classes = n;
        self
    }

    /// Set (or, with `None`, remove) the sentence-encoder block's options.
    pub fn encoder(mut self, encoder: Option<EncoderParams>) -> Self {
        self.encoder = encoder;
        self
    }

    /// Set the encoder block's weight `W` (adding the block with default options if absent).
    pub fn encoder_weight(mut self, weight: f32) -> Self {
        self.encoder
            .get_or_insert_with(EncoderParams::default)
            .weight = weight;
        self
    }

    /// Set which copy of the encoder the model file carries (adding the block with default
    /// options if absent).
    pub fn encoder_storage(mut self, storage: EncoderStorage) -> Self {
        self.encoder
            .get_or_insert_with(EncoderParams::default)
            .storage = storage;
        self
    }

    /// Validate every option, once, and return the checked parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] naming the first option out of range.
    pub fn check(self) -> Result<ValidPipelineParams> {
        if self.max_classes.is_some_and(|n| n < 2) {
            return Err(Error::param(
                "max_classes",
                self.max_classes.unwrap_or(0),
                "must be at least 2",
            ));
        }
        if self.analyzer.is_word() {
            self.vocabulary.check()?;
        } else {
            self.vocabulary
                .check_with(&ParamNames::MAIN, MAX_CHAR_NGRAM)?;
        }
        if let Some(c) = &self.char_ngrams {
            if !self.analyzer.is_word() {
                return Err(Error::param(
                    "analyzer",
                    self.analyzer,
                    "character n-grams beside other terms (char_ngrams) go with word n-grams; \
                     use analyzer word with char_ngrams, or analyzer char / char_wb alone",
                ));
            }
            c.check(&self.vocabulary)?;
        }
        if let Some(e) = &self.encoder {
            if !(e.weight.is_finite() && e.weight > 0.0) {
                return Err(Error::param(
                    "encoder_weight",
                    e.weight,
                    "must be a finite number > 0",
                ));
            }
        }
        let logistic = self.logistic.clone().check()?;
        Ok(ValidPipelineParams {
            params: self,
            logistic,
        })
    }
}

/// Pipeline options that passed [`PipelineParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidPipelineParams {
    params: PipelineParams,
    logistic: ValidLogisticParams,
}

impl ValidPipelineParams {
    /// The checked options.
    pub fn params(&self) -> &PipelineParams {
        &self.params
    }

    /// The checked solver options.
    pub fn logistic(&self) -> &ValidLogisticParams {
        &self.logistic
    }
}

impl std::ops::Deref for ValidPipelineParams {
    type Target = PipelineParams;
    fn deref(&self) -> &PipelineParams {
        &self.params
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
    /// Number of features (columns): the word block's terms plus the character block's plus
    /// the encoder's dimension.
    pub n_features: usize,
    /// SHA-256 of the training texts and labels, in row order ([`Dataset::sha256`]).
    pub data_sha256: String,
    /// Per head: label counts and solver outcome.
    pub heads: Vec<HeadSummary>,
    /// How the temperatures were fitted, for a model trained with
    /// [`Pipeline::fit_calibrated`] (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationSummary>,
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

/// Progress events during [`Pipeline::fit_with_progress`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// Tokenizing `n_docs` documents.
    Tokenizing {
        /// Documents.
        n_docs: usize,
    },
    /// Embedding `n_texts` texts with the sentence encoder.
    Embedding {
        /// Texts.
        n_texts: usize,
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
    /// [`Pipeline::fit_calibrated`]: fitting the model whose held-out probabilities choose the
    /// temperatures.
    Calibrating {
        /// Rows it is fitted on.
        n_fit: usize,
        /// Rows held out for the temperatures.
        n_heldout: usize,
    },
    /// [`Pipeline::fit_calibrated`]: the temperatures are chosen; fitting the final model on
    /// every row.
    Refitting {
        /// Rows.
        n_rows: usize,
    },
}

/// `out += Σ_e x.values[e] · w[x.indices[e]·T .. +T]` for `T` classes over all heads, columns
/// outside `w` ignored.
#[inline(always)]
fn joint_margins<const T: usize>(out: &mut [f32], x: &SparseVec, w: &[f32]) {
    let mut acc = [0.0f32; T];
    acc.copy_from_slice(out);
    for (&j, &v) in x.indices.iter().zip(&x.values) {
        let start = j as usize * T;
        if let Some(wj) = w.get(start..start + T) {
            let wj: &[f32; T] = wj.try_into().expect("a slice of length T");
            for c in 0..T {
                acc[c] += v * wj[c];
            }
        }
    }
    out.copy_from_slice(&acc);
}

/// Reusable buffers for turning one text into its feature row.
#[derive(Debug, Default)]
struct Scratch {
    tokens: TokenBuffer,
    cols: Vec<u32>,
    normalized: String,
    chars: CharScratch,
    row: SparseVec,
}

thread_local! {
    /// One [`Scratch`] kept per thread between calls: with character n-grams it holds a count
    /// table over every column (about 120 KB for the default model), which a fresh scratch
    /// would allocate and zero again on every `predict` call and every rayon job.
    static SCRATCH: std::cell::Cell<Option<Box<Scratch>>> = const { std::cell::Cell::new(None) };
}

/// A [`Scratch`] borrowed from this thread's pool, given back when dropped. If the work using
/// it panics, it is dropped during unwinding like any value; buffers are always left in a
/// usable state (the count table is cleared as it is read).
struct PooledScratch(Option<Box<Scratch>>);

impl PooledScratch {
    fn take() -> PooledScratch {
        PooledScratch(Some(SCRATCH.take().unwrap_or_default()))
    }
}

impl std::ops::Deref for PooledScratch {
    type Target = Scratch;
    fn deref(&self) -> &Scratch {
        self.0.as_deref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for PooledScratch {
    fn deref_mut(&mut self) -> &mut Scratch {
        self.0.as_deref_mut().expect("present until dropped")
    }
}

impl Drop for PooledScratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            // `try_with`: the thread may be shutting down, its local already gone.
            let _ = SCRATCH.try_with(|cell| cell.set(self.0.take()));
        }
    }
}

/// A fitted pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    params: PipelineParams,
    tokenizer: Tokenizer,
    /// The word n-gram block (columns first), unless `analyzer` is char or char_wb.
    word: Option<TfidfVectorizer>,
    /// The character n-gram block (columns after the word block's), if any.
    chars: Option<CharVectorizer>,
    /// The sentence encoder whose embedding (times the block weight) fills the last columns,
    /// if any.
    encoder: Option<Arc<Encoder>>,
    heads: Vec<Head>,
    summary: TrainingSummary,
    /// Where each head's probabilities start in a [`Prediction`]; one more entry at the end.
    offsets: Vec<usize>,
    /// Every head's weights side by side (`n_features × Σ classes`, row-major), so that a
    /// feature's weights for all heads are read at once when predicting.
    joint_weights: Vec<f32>,
    /// Every head's intercepts, in the same order.
    joint_bias: Vec<f32>,
    /// Per head, the temperature `T` its margins are divided by before the softmax (1 for an
    /// uncalibrated head).
    temperatures: Vec<f64>,
    /// The character n-gram columns of the word block's unigrams, once enough sentences were
    /// classified to pay for working them out.
    remembered: RememberedWords,
}

/// How many sentences a pipeline classifies before it works out the character n-gram columns
/// of its word block's unigrams (about 14 ms for the `fast` model's 7,000 unigrams, three
/// forms each; each later sentence saves about 1.5 µs).
const REMEMBER_AFTER: usize = 16_384;

/// The character n-gram columns of whole words (see [`CharVectorizer::word_columns`]), worked
/// out once [`REMEMBER_AFTER`] sentences have been classified. Derived from the model, so not
/// part of it: rows and predictions are the same with or without them.
#[derive(Debug, Default)]
struct RememberedWords {
    words: std::sync::OnceLock<Option<WordColumns>>,
    seen: std::sync::atomic::AtomicUsize,
    /// Set by the one thread that works them out; no other thread waits for it.
    claimed: std::sync::atomic::AtomicBool,
}

impl Clone for RememberedWords {
    fn clone(&self) -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        let words = self.words.clone();
        RememberedWords {
            // A copy made while another thread works them out may work them out itself.
            claimed: words.get().is_some().into(),
            words,
            seen: self.seen.load(Relaxed).into(),
        }
    }
}

/// The class probabilities of one text, for every head of the model that made it.
#[derive(Debug, Clone)]
pub struct Prediction<'m> {
    model: &'m Pipeline,
    probs: Box<[f32]>,
}

/// Two predictions are equal when they have the same probabilities for the same heads and
/// labels.
impl PartialEq for Prediction<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.probs == other.probs
            && self.model.heads.len() == other.model.heads.len()
            && self
                .model
                .heads
                .iter()
                .zip(&other.model.heads)
                .all(|(a, b)| a.name == b.name && a.model.labels() == b.model.labels())
    }
}

/// One head's part of a [`Prediction`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadPrediction<'a> {
    name: &'a str,
    labels: &'a LabelSet,
    probs: &'a [f32],
}

impl<'a> HeadPrediction<'a> {
    /// The head's name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The most probable label (the first in label order on ties).
    pub fn label(&self) -> &'a str {
        self.labels.name(self.label_id())
    }

    /// The index of the most probable label in [`HeadPrediction::labels`].
    pub fn label_id(&self) -> usize {
        argmax(self.probs)
    }

    /// The probability of the most probable label.
    pub fn score(&self) -> f32 {
        self.probs[self.label_id()]
    }

    /// Every class probability, in the order of [`HeadPrediction::labels`]; they sum to 1.
    pub fn probs(&self) -> &'a [f32] {
        self.probs
    }

    /// The head's labels, sorted.
    pub fn labels(&self) -> &'a [String] {
        self.labels.names()
    }

    /// True when the head abstains at threshold `min_prob`: its top probability (as `f64`) is
    /// below it. See [`MinProb`].
    pub fn abstains(&self, min_prob: f64) -> bool {
        f64::from(self.score()) < min_prob
    }

    /// The most probable label, or `None` when the head abstains at `min_prob` (no threshold:
    /// never).
    pub fn label_unless_below(&self, min_prob: Option<f64>) -> Option<&'a str> {
        match min_prob {
            Some(p) if self.abstains(p) => None,
            _ => Some(self.label()),
        }
    }
}

impl<'m> Prediction<'m> {
    /// Number of heads.
    pub fn len(&self) -> usize {
        self.model.heads.len()
    }

    /// True for a model without heads (never, for a fitted or loaded model).
    pub fn is_empty(&self) -> bool {
        self.model.heads.is_empty()
    }

    /// The prediction of head number `i` (in the model's head order).
    pub fn get(&self, i: usize) -> Option<HeadPrediction<'_>> {
        let head = self.model.heads.get(i)?;
        Some(HeadPrediction {
            name: &head.name,
            labels: head.model.labels(),
            probs: &self.probs[self.model.offsets[i]..self.model.offsets[i + 1]],
        })
    }

    /// The prediction of the head called `name`.
    pub fn head(&self, name: &str) -> Option<HeadPrediction<'_>> {
        self.get(self.model.head_index(name)?)
    }

    /// Every head's prediction, in the model's head order.
    pub fn heads(&self) -> impl ExactSizeIterator<Item = HeadPrediction<'_>> {
        (0..self.len()).map(|i| self.get(i).expect("index below len"))
    }
}

/// One sentence of an article with its prediction (see [`Pipeline::classify_article`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SentencePrediction<'m> {
    /// 1-based position of the sentence in the article.
    pub index: usize,
    /// Offset of the first character, in chars (Unicode scalar values) from the article start.
    pub start: usize,
    /// Offset one past the last character, in chars.
    pub end: usize,
    /// The sentence text.
    pub text: String,
    /// Its labels and probabilities.
    pub prediction: Prediction<'m>,
}

/// The JSON header of a model file: what `newsclass info` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelHeader {
    /// Always `newsclass-model`.
    pub format: String,
    /// Format version ([`persist::FORMAT_VERSION`]).
    pub format_version: u32,
    /// The newsclass version that wrote the file.
    pub created_by: String,
    /// Every option of the pipeline, including the seed.
    pub params: PipelineParams,
    /// The tokenizer in standard `tokenizer.json` form.
    pub tokenizer: serde_json::Value,
    /// Heads: names and label sets, in column order.
    pub heads: Vec<HeadHeader>,
    /// What the model was trained on and how the fit went.
    pub training: TrainingSummary,
    /// Number of features: the TF-IDF columns plus the encoder's dimension.
    pub n_features: usize,
    /// The sentence encoder of the last columns, for a model with an encoder block (format
    /// version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<EncoderIdentity>,
    /// Where each binary section lies in the payload.
    pub sections: Vec<Section>,
}

/// A head's name and labels, in a [`ModelHeader`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadHeader {
    /// Head name.
    pub name: String,
    /// Sorted class names.
    pub labels: Vec<String>,
    /// The temperature of a calibrated head (see [`Pipeline::temperature`]); absent means 1.
    /// Builds from before calibration refuse a header with this field (unknown field) rather
    /// than ignore it and print other probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
}

impl Pipeline {
    /// Fit the pipeline on a labeled dataset (one head per label column of `data`).
    ///
    /// # Errors
    /// [`Error::NoHeads`], [`Error::NoRows`], an empty vocabulary
    /// ([`Error::EmptyVocabulary`], [`Error::DocFreqBounds`]) or a head with a single class
    /// ([`Error::SingleClass`]).
    pub fn fit(params: &ValidPipelineParams, data: &Dataset) -> Result<Pipeline> {
        Self::fit_with_progress(params, data, &mut |_| {})
    }

    /// [`Pipeline::fit`], reporting progress to `progress`.
    ///
    /// # Errors
    /// As [`Pipeline::fit`].
    pub fn fit_with_progress(
        params: &ValidPipelineParams,
        data: &Dataset,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Pipeline> {
        if params.encoder.is_some() {
            return Err(Error::param(
                "encoder",
                "set",
                "a pipeline with an encoder block is fitted with Pipeline::fit_with_encoder",
            ));
        }
        Self::fit_inner(params, data, None, progress)
    }

    /// Fit with a sentence-encoder block beside the TF-IDF block(s) (see the
    /// [module docs](crate::encoder)): every row gets `W · embedding` as its last
    /// `encoder.dim()` columns, in the same logistic regression. Without
    /// [`PipelineParams::encoder`] the block's options are the defaults ([`EncoderParams`]).
    /// With [`EncoderStorage::F16`] the encoder's weights are first rounded to half precision,
    /// so that the model predicts with the encoder it was fitted with.
    ///
    /// # Errors
    /// As [`Pipeline::fit`].
    pub fn fit_with_encoder(
        params: &ValidPipelineParams,
        data: &Dataset,
        encoder: &Arc<Encoder>,
    ) -> Result<Pipeline> {
        Self::fit_with_encoder_progress(params, data, encoder, &mut |_| {})
    }

    /// [`Pipeline::fit_with_encoder`], reporting progress to `progress`.
    ///
    /// # Errors
    /// As [`Pipeline::fit`].
    pub fn fit_with_encoder_progress(
        params: &ValidPipelineParams,
        data: &Dataset,
        encoder: &Arc<Encoder>,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Pipeline> {
        let (params, encoder) = Self::encoder_setup(params, encoder)?;
        progress(Progress::Embedding {
            n_texts: data.len(),
        });
        let texts: Vec<&str> = data.texts().iter().map(String::as_str).collect();
        let rows = encoder.embed_flat(&texts);
        Self::fit_inner(&params, data, Some((&encoder, &rows)), progress)
    }

    /// The parameters with an encoder block (the defaults unless set) and the encoder at the
    /// precision its storage asks for.
    pub(crate) fn encoder_setup(
        params: &ValidPipelineParams,
        encoder: &Arc<Encoder>,
    ) -> Result<(ValidPipelineParams, Arc<Encoder>)> {
        let mut p = params.params().clone();
        let block = p.encoder.get_or_insert_with(EncoderParams::default).clone();
        let encoder = encoder.quantized(block.storage.precision())?;
        Ok((p.check()?, encoder))
    }

    /// Fit on `data` whose embeddings `rows` (row after row) come from `encoder`, which must
    /// already have the precision of the parameters' storage ([`Pipeline::encoder_setup`]).
    pub(crate) fn fit_embedded(
        params: &ValidPipelineParams,
        data: &Dataset,
        encoder: &Arc<Encoder>,
        rows: &[f32],
    ) -> Result<Pipeline> {
        Self::fit_inner(params, data, Some((encoder, rows)), &mut |_| {})
    }

    fn fit_inner(
        params: &ValidPipelineParams,
        data: &Dataset,
        encoder: Option<(&Arc<Encoder>, &[f32])>,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Pipeline> {
        if data.head_names().is_empty() {
            return Err(Error::NoHeads);
        }
        if data.is_empty() {
            return Err(Error::NoRows);
        }
        // Check every head before the (long) vocabulary fit.
        let mut label_sets = Vec::new();
        for (name, labels) in data.heads() {
            let set = LabelSet::from_labels(labels.iter().map(String::as_str));
            if set.len() < 2 {
                return Err(Error::SingleClass {
                    head: name.to_string(),
                    label: set.names().first().cloned().unwrap_or_default(),
                });
            }
            let limit = params
                .max_classes
                .unwrap_or_else(|| 1000.min((data.len() / 2).max(10)));
            if set.len() > limit {
                return Err(Error::TooManyClasses {
                    head: name.to_string(),
                    classes: set.len(),
                    rows: data.len(),
                    limit,
                });
            }
            label_sets.push(set);
        }
        let tokenizer = Tokenizer::new(params.tokenizer.clone());
        progress(Progress::Tokenizing { n_docs: data.len() });
        // The data hash (for the model's training summary) runs beside the vocabulary fit, whose
        // interning is sequential.
        let fit_word = || {
            params
                .analyzer
                .is_word()
                .then(|| {
                    TfidfVectorizer::fit_transform_checked(
                        &params.vocabulary,
                        &params.tfidf,
                        data.texts(),
                        |t, b| tokenizer.tokenize_into(t, b),
                    )
                })
                .transpose()
        };
        let fit_chars = || {
            params
                .char_block()
                .map(|(analyzer, vocabulary)| {
                    CharVectorizer::fit_transform_checked(
                        analyzer,
                        &vocabulary,
                        &params.tfidf,
                        data.texts(),
                        |t, s| tokenizer.normalize_into(t, s),
                    )
                    .map_err(|e| match e {
                        // Name the second block's bounds as such.
                        Error::EmptyVocabulary {
                            min_df,
                            max_df,
                            n_docs,
                        } if params.analyzer.is_word() => Error::EmptyCharVocabulary {
                            min_df,
                            max_df,
                            n_docs,
                        },
                        Error::DocFreqBounds {
                            min_df,
                            max_df,
                            n_docs,
                        } if params.analyzer.is_word() => Error::CharDocFreqBounds {
                            min_df,
                            max_df,
                            n_docs,
                        },
                        e => e,
                    })
                })
                .transpose()
        };
        let (data_sha256, (word, chars)) =
            rayon::join(|| data.sha256(), || rayon::join(fit_word, fit_chars));
        let (word, chars) = (word?, chars?);
        let (word, word_x) = word.unzip();
        let (chars, char_x) = chars.unzip();
        // Columns: the word block's, then the character block's, then the encoder's.
        let mut x = match (word_x, char_x) {
            (Some(a), Some(b)) => a.hstack(&b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => unreachable!("checked parameters have at least one block"),
        };
        if let Some((encoder, rows)) = encoder {
            let dim = encoder.identity().dim;
            let weight = params.encoder.as_ref().map_or(1.0, |e| e.weight);
            let block = CsrMatrix {
                n_cols: dim,
                indptr: (0..=data.len()).map(|r| r * dim).collect(),
                indices: (0..data.len()).flat_map(|_| 0..dim as u32).collect(),
                values: rows.iter().map(|v| weight * v).collect(),
            };
            x = x.hstack(&block);
        }
        progress(Progress::Vectorized {
            n_features: x.n_cols,
            nnz: x.nnz(),
        });
        let mut heads = Vec::new();
        let mut head_summaries = Vec::new();
        for ((name, labels), set) in data.heads().zip(label_sets) {
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
                logistic::fit(params.logistic(), &x, &y, set, |iteration, objective| {
                    progress(Progress::Iteration {
                        head: name,
                        iteration,
                        max_iter,
                        objective,
                    })
                })
                .map_err(|e| match e {
                    Error::Diverged { c, .. } => Error::Diverged {
                        head: name.to_string(),
                        c,
                    },
                    e => e,
                })?;
            progress(Progress::HeadDone {
                head: name,
                report: &report,
            });
            head_summaries.push(HeadSummary {
                name: name.to_string(),
                label_counts,
                fit: report,
            });
            heads.push(Head {
                name: name.to_string(),
                model,
            });
        }
        let summary = TrainingSummary {
            n_rows: data.len(),
            n_features: x.n_cols,
            data_sha256,
            heads: head_summaries,
            calibration: None,
        };
        Ok(Self::assemble(
            params.params().clone(),
            encoder.map(|e| Arc::clone(e.0)),
            tokenizer,
            (word, chars),
            heads,
            summary,
        ))
    }

    /// Hold out about `fraction` of the rows (of the groups, when `data` has groups; drawn with
    /// the parameters' seed), fit on the rest, and score the held-out rows.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] unless `0 < fraction < 1` leaves both parts non-empty; otherwise
    /// as [`Pipeline::fit`].
    pub fn fit_holdout(
        params: &ValidPipelineParams,
        data: &Dataset,
        fraction: f64,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<(Pipeline, Report)> {
        let (train, held) = crate::cv::holdout_split(data, fraction, params.seed)?;
        let model = Self::fit_with_progress(params, &data.select(&train), progress)?;
        let report = model.evaluate(&data.select(&held))?;
        Ok((model, report))
    }

    fn assemble(
        params: PipelineParams,
        encoder: Option<Arc<Encoder>>,
        tokenizer: Tokenizer,
        (word, chars): (Option<TfidfVectorizer>, Option<CharVectorizer>),
        heads: Vec<Head>,
        summary: TrainingSummary,
    ) -> Pipeline {
        let mut offsets = vec![0];
        for h in &heads {
            offsets.push(offsets.last().copied().unwrap_or(0) + h.model.labels().len());
        }
        let total = *offsets.last().unwrap_or(&0);
        let d = heads.first().map_or(0, |h| h.model.n_features());
        let mut joint_weights = vec![0.0f32; d * total];
        let mut joint_bias = Vec::with_capacity(total);
        for (h, head) in heads.iter().enumerate() {
            let k = head.model.labels().len();
            for (j, row) in head.model.weights().rows().into_iter().enumerate() {
                for (c, &w) in row.iter().enumerate() {
                    joint_weights[j * total + offsets[h] + c] = w;
                }
            }
            joint_bias.extend(head.model.bias().iter().take(k));
        }
        let temperatures = vec![1.0; heads.len()];
        Pipeline {
            params,
            tokenizer,
            word,
            chars,
            encoder,
            heads,
            summary,
            offsets,
            joint_weights,
            joint_bias,
            temperatures,
            remembered: RememberedWords::default(),
        }
    }

    /// Count `n` sentences about to be classified; past [`REMEMBER_AFTER`], work out the
    /// character n-gram columns of the word block's unigrams (each alone and with a comma or a
    /// full stop after it, as a sentence's words often are) so that later sentences look those
    /// words up whole. One thread does it; threads that classify meanwhile go on without them
    /// and never wait (so no rayon worker blocks while the work is spread over the pool).
    fn count_sentences(&self, n: usize) {
        use std::sync::atomic::Ordering::{AcqRel, Relaxed};
        let r = &self.remembered;
        if r.claimed.load(Relaxed)
            || r.seen.fetch_add(n, Relaxed).saturating_add(n) < REMEMBER_AFTER
        {
            return;
        }
        if r.claimed.swap(true, AcqRel) {
            return;
        }
        let words = (|| {
            let (word, block) = (self.word.as_ref()?, self.chars.as_ref()?);
            let unigrams = || word.terms().iter().filter(|t| !t.contains(' '));
            let forms: Vec<String> = unigrams()
                .flat_map(|t| [format!("{t},"), format!("{t}.")])
                .collect();
            block.word_columns(
                unigrams()
                    .map(String::as_str)
                    .chain(forms.iter().map(String::as_str)),
            )
        })();
        // Only the thread that claimed the work sets it, so the cell is still empty.
        let _ = r.words.set(words);
    }

    /// The temperature of head `name`: its margins are divided by it before the softmax, so
    /// the probabilities are `softmax(z / T)`. 1 for an uncalibrated head; `None` for a head
    /// the model does not have.
    pub fn temperature(&self, name: &str) -> Option<f64> {
        Some(self.temperatures[self.head_index(name)?])
    }

    /// Set the temperature of head `name` (see [`Pipeline::temperature`]). A temperature
    /// never changes which label is the most probable, only how sure the model says it is.
    ///
    /// # Errors
    /// [`Error::UnknownHead`]; [`Error::InvalidParam`] (`temperature`) unless `t` is finite
    /// and > 0.
    pub fn set_temperature(&mut self, name: &str, t: f64) -> Result<()> {
        if !(t.is_finite() && t > 0.0) {
            return Err(Error::param(
                "temperature",
                t,
                "must be a finite number > 0 (1 leaves the probabilities as fitted)",
            ));
        }
        let h = self
            .head_index(name)
            .ok_or_else(|| self.unknown_head(name))?;
        // Predictions divide in f32; keep exactly the value they use, so that explanations
        // (computed in f64) add up to the printed probabilities.
        let t32 = t as f32;
        if !(t32.is_finite() && t32 > 0.0) {
            return Err(Error::param(
                "temperature",
                t,
                "is out of the range of a 32-bit float",
            ));
        }
        self.temperatures[h] = f64::from(t32);
        Ok(())
    }

    /// The options the pipeline was fitted with.
    pub fn params(&self) -> &PipelineParams {
        &self.params
    }

    /// The heads, in the order of the training data's label columns.
    pub fn heads(&self) -> &[Head] {
        &self.heads
    }

    /// The index of the head called `name`.
    pub fn head_index(&self, name: &str) -> Option<usize> {
        self.heads.iter().position(|h| h.name == name)
    }

    /// The labels of head `name`, sorted.
    ///
    /// # Errors
    /// [`Error::UnknownHead`] when the model has no such head.
    pub fn labels(&self, name: &str) -> Result<&[String]> {
        match self.head_index(name) {
            Some(i) => Ok(self.heads[i].model.labels().names()),
            None => Err(self.unknown_head(name)),
        }
    }

    fn unknown_head(&self, name: &str) -> Error {
        Error::UnknownHead {
            head: name.to_string(),
            heads: self.heads.iter().map(|h| h.name.clone()).collect(),
        }
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The fitted word n-gram block (its columns come first), unless the model's analyzer is
    /// char or char_wb.
    pub fn vectorizer(&self) -> Option<&TfidfVectorizer> {
        self.word.as_ref()
    }

    /// The fitted character n-gram block (its columns follow the word block's), if any.
    pub fn char_vectorizer(&self) -> Option<&CharVectorizer> {
        self.chars.as_ref()
    }

    /// Number of features: the word block's columns plus the character block's plus the
    /// encoder's dimension.
    pub fn n_features(&self) -> usize {
        self.n_tfidf_features() + self.encoder.as_ref().map_or(0, |e| e.identity().dim)
    }

    /// Number of TF-IDF columns (the word and character blocks'); the encoder's columns, if
    /// any, follow them.
    pub fn n_tfidf_features(&self) -> usize {
        self.word.as_ref().map_or(0, TfidfVectorizer::n_features)
            + self.chars.as_ref().map_or(0, CharVectorizer::n_features)
    }

    /// The sentence encoder of the encoder block, if the model has one.
    pub fn encoder(&self) -> Option<&Arc<Encoder>> {
        self.encoder.as_ref()
    }

    /// The embeddings of `texts`, row after row, for a model with an encoder (batched: one
    /// call to the encoder for all of them).
    fn embed<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Option<Vec<f32>> {
        let encoder = self.encoder.as_ref()?;
        let texts: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        Some(encoder.embed_flat(&texts))
    }

    /// Row `i` of embeddings made by [`Pipeline::embed`].
    fn embedding_row<'e>(&self, rows: Option<&'e [f32]>, i: usize) -> Option<&'e [f32]> {
        let dim = self.encoder.as_ref()?.identity().dim;
        rows?.get(i * dim..(i + 1) * dim)
    }

    /// What the model was trained on.
    pub fn summary(&self) -> &TrainingSummary {
        &self.summary
    }

    /// The feature row of one text: the word block's TF-IDF row, then the character block's
    /// (each normalized on its own), then the encoder block's `W · embedding`.
    pub fn transform(&self, text: &str) -> SparseVec {
        let rows = self.embed(&[text]);
        let mut scratch = PooledScratch::take();
        self.features_into(text, &mut scratch, self.embedding_row(rows.as_deref(), 0));
        std::mem::take(&mut scratch.row)
    }

    /// Fill `scratch.row` with the feature row of `text`, whose embedding (for a model with
    /// an encoder) is `embedding`.
    #[inline]
    fn features_into(&self, text: &str, scratch: &mut Scratch, embedding: Option<&[f32]>) {
        let Scratch {
            tokens,
            cols,
            normalized,
            chars,
            row,
        } = scratch;
        row.indices.clear();
        row.values.clear();
        let mut offset = 0;
        if let Some(word) = &self.word {
            self.tokenizer.tokenize_into(text, tokens);
            word.transform_into(tokens, cols, 0, &mut row.indices, &mut row.values);
            offset = word.n_features() as u32;
        }
        if let Some(block) = &self.chars {
            self.tokenizer.normalize_into(text, normalized);
            let words = self.remembered.words.get().and_then(Option::as_ref);
            block.transform_remembering(
                normalized,
                chars,
                offset,
                &mut row.indices,
                &mut row.values,
                words,
            );
        }
        if let (Some(e), Some(params)) = (embedding, &self.params.encoder) {
            let offset = self.n_tfidf_features() as u32;
            row.indices.extend((0..e.len() as u32).map(|k| offset + k));
            row.values.extend(e.iter().map(|v| params.weight * v));
        }
    }

    fn predict_one(
        &self,
        text: &str,
        scratch: &mut Scratch,
        embedding: Option<&[f32]>,
    ) -> Prediction<'_> {
        self.features_into(text, scratch, embedding);
        let mut probs = self.joint_margins(&scratch.row);
        for h in 0..self.heads.len() {
            let z = &mut probs[self.offsets[h]..self.offsets[h + 1]];
            let t = self.temperatures[h];
            if t != 1.0 {
                let t = t as f32;
                for v in z.iter_mut() {
                    *v /= t;
                }
            }
            logistic::softmax_in_place(z);
        }
        Prediction { model: self, probs }
    }

    /// Every head's margins `z = Wᵀx + b` of one feature row, side by side (before any
    /// temperature).
    fn joint_margins(&self, x: &SparseVec) -> Box<[f32]> {
        // Every head at once over the joint weights; per head, the same operations in the same
        // order as `LogisticModel::predict_proba_into`, so the same bits.
        let mut probs: Box<[f32]> = self.joint_bias.clone().into_boxed_slice();
        match probs.len() {
            2 => joint_margins::<2>(&mut probs, x, &self.joint_weights),
            3 => joint_margins::<3>(&mut probs, x, &self.joint_weights),
            4 => joint_margins::<4>(&mut probs, x, &self.joint_weights),
            5 => joint_margins::<5>(&mut probs, x, &self.joint_weights),
            6 => joint_margins::<6>(&mut probs, x, &self.joint_weights),
            7 => joint_margins::<7>(&mut probs, x, &self.joint_weights),
            8 => joint_margins::<8>(&mut probs, x, &self.joint_weights),
            t => {
                for (&j, &v) in x.indices.iter().zip(&x.values) {
                    if let Some(wj) = self.joint_weights.get(j as usize * t..j as usize * t + t) {
                        for (o, wc) in probs.iter_mut().zip(wj) {
                            *o += v * wc;
                        }
                    }
                }
            }
        }
        probs
    }

    /// The prediction of every text, in order (parallel over texts; with an encoder, the
    /// texts are embedded first in one batched call).
    pub fn predict<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<Prediction<'_>> {
        let rows = self.embed(texts);
        self.predict_embedded(texts, rows.as_deref())
    }

    /// [`Pipeline::predict`] with the embeddings already made.
    fn predict_embedded<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        rows: Option<&[f32]>,
    ) -> Vec<Prediction<'_>> {
        self.count_sentences(texts.len());
        texts
            .par_iter()
            .enumerate()
            .map_init(PooledScratch::take, |scratch, (i, text)| {
                self.predict_one(text.as_ref(), scratch, self.embedding_row(rows, i))
            })
            .collect()
    }

    /// Split an article into sentences and classify each one.
    pub fn classify_article(&self, text: &str) -> Vec<SentencePrediction<'_>> {
        let sentences = split_sentences(text);
        let preds = self.predict(
            &sentences
                .iter()
                .map(|s| s.text.as_str())
                .collect::<Vec<_>>(),
        );
        sentences
            .into_iter()
            .zip(preds)
            .enumerate()
            .map(|(i, (s, prediction))| SentencePrediction {
                index: i + 1,
                start: s.start,
                end: s.end,
                text: s.text,
                prediction,
            })
            .collect()
    }

    /// Score the model on labeled data: per head of `data` (each must be a head of the model),
    /// accuracy, macro- and weighted F1, per-class precision/recall/F1, the confusion matrix,
    /// the calibration of the probabilities ([`Calibration`]: log-loss, Brier score, ECE,
    /// reliability table; with the model's temperatures applied) and the selective-prediction
    /// table ([`metrics::selective`] at [`metrics::SELECTIVE_THRESHOLDS`]).
    ///
    /// # Errors
    /// [`Error::NoHeads`] for data without labels, [`Error::UnknownHead`] for a label column the
    /// model has no head for, [`Error::NoRows`] for empty data.
    pub fn evaluate(&self, data: &Dataset) -> Result<Report> {
        self.evaluate_embedded(data, None)
    }

    /// [`Pipeline::evaluate`] with the embeddings of `data`'s texts already made (`None`: made
    /// here when the model has an encoder).
    pub(crate) fn evaluate_embedded(&self, data: &Dataset, rows: Option<&[f32]>) -> Result<Report> {
        if data.is_empty() {
            return Err(Error::NoRows);
        }
        if data.head_names().is_empty() {
            return Err(Error::NoHeads);
        }
        let mut cols = Vec::new();
        for (name, gold) in data.heads() {
            let h = self
                .head_index(name)
                .ok_or_else(|| self.unknown_head(name))?;
            cols.push((h, gold));
        }
        let made;
        let rows = match rows {
            Some(r) => Some(r),
            None => {
                made = self.embed(data.texts());
                made.as_deref()
            }
        };
        let preds = self.predict_embedded(data.texts(), rows);
        let mut heads = BTreeMap::new();
        for (h, gold) in cols {
            let head = &self.heads[h];
            let pairs = preds.iter().zip(gold).map(|(p, g)| {
                (
                    g.as_str(),
                    p.get(h).expect("head index of this model").label(),
                )
            });
            let labels = head.model.labels().names();
            let cm = ConfusionMatrix::from_pairs(labels, pairs);
            let rows: Vec<ScoredRow<'_>> = preds
                .iter()
                .zip(gold)
                .map(|(p, g)| ScoredRow {
                    gold: g.as_str(),
                    probs: &p.probs[self.offsets[h]..self.offsets[h + 1]],
                })
                .collect();
            let mut report = cm.report();
            report.calibration = Some(Calibration::from_rows(labels, &rows));
            report.selective = metrics::selective(labels, &rows, &metrics::SELECTIVE_THRESHOLDS);
            heads.insert(head.name.clone(), report);
        }
        Ok(Report {
            heads,
            n: data.len(),
        })
    }

    /// The header this pipeline's model file carries.
    pub fn header(&self) -> ModelHeader {
        self.frame().0
    }

    /// The header and the binary sections of this pipeline's model file. Each stage writes its
    /// own sections; [`persist`] only frames them.
    fn frame(&self) -> (ModelHeader, Sections) {
        let mut sections = Sections::default();
        if let Some(word) = &self.word {
            sections.add("vocabulary", "utf8", word.vocabulary().to_section());
            sections.add("idf", "f64le", word.idf_section());
        }
        if let Some(chars) = &self.chars {
            sections.add(
                "char.vocabulary",
                "u8len-utf8",
                chars.vocabulary().to_section(),
            );
            sections.add("char.idf", "f64le", chars.idf_section());
        }
        for (i, h) in self.heads.iter().enumerate() {
            sections.add(
                &format!("head.{i}.weights"),
                "f32le",
                h.model.weights_section(),
            );
            sections.add(&format!("head.{i}.bias"), "f32le", h.model.bias_section());
        }
        if let (Some(encoder), Some(block)) = (&self.encoder, &self.params.encoder) {
            for (name, dtype, bytes) in encoder.to_sections(block.storage) {
                sections.add(name, dtype, bytes);
            }
        }
        let tokenizer: serde_json::Value = serde_json::from_str(&self.tokenizer.to_json())
            .expect("tokenizer.json produced by the tokenizers crate is valid JSON");
        let header = ModelHeader {
            format: persist::FORMAT.into(),
            // Version 3 only when the model has an encoder, so that older builds still read
            // every TF-IDF model and refuse an encoder model by its version.
            format_version: if self.encoder.is_some() {
                persist::FORMAT_VERSION
            } else {
                persist::TFIDF_FORMAT_VERSION
            },
            created_by: format!("newsclass {}", env!("CARGO_PKG_VERSION")),
            params: self.params.clone(),
            tokenizer,
            heads: self
                .heads
                .iter()
                .zip(&self.temperatures)
                .map(|(h, &t)| HeadHeader {
                    name: h.name.clone(),
                    labels: h.model.labels().names().to_vec(),
                    temperature: (t != 1.0).then_some(t),
                })
                .collect(),
            training: self.summary.clone(),
            n_features: self.n_features(),
            encoder: self.encoder.as_ref().map(|e| e.identity().clone()),
            sections: sections.table().to_vec(),
        };
        (header, sections)
    }

    /// The model file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (header, sections) = self.frame();
        let json = serde_json::to_vec_pretty(&header).expect("the header always serializes");
        persist::frame(&json, sections.payload())
    }

    /// Read only the header of a model file's bytes (checks the signature and the version).
    ///
    /// # Errors
    /// [`Error::BadModel`] for a foreign, truncated or damaged file,
    /// [`Error::UnsupportedFormat`] for another format version.
    pub fn read_header(bytes: &[u8]) -> Result<ModelHeader> {
        Ok(Self::split(bytes)?.0)
    }

    fn split(bytes: &[u8]) -> Result<(ModelHeader, &[u8])> {
        let (value, payload) = persist::unframe(bytes)?;
        let header: ModelHeader =
            serde_json::from_value(value).map_err(|e| ModelError::Header(e.to_string()))?;
        Ok((header, payload))
    }

    /// Rebuild a pipeline from a model file's bytes.
    ///
    /// # Errors
    /// [`Error::BadModel`] or [`Error::UnsupportedFormat`] when the bytes are not a valid model.
    pub fn from_bytes(bytes: &[u8]) -> Result<Pipeline> {
        Self::from_bytes_with_encoder(bytes, None)
    }

    /// [`Pipeline::from_bytes`] with a sentence encoder at hand: needed for a model whose file
    /// records only its encoder's identity ([`EncoderStorage::None`]); used instead of the
    /// carried copy when it gives the same embeddings. Ignored for a model without an encoder.
    ///
    /// # Errors
    /// As [`Pipeline::from_bytes`]; [`Error::Encoder`] with [`EncoderError::Required`] when the
    /// model needs an encoder the file does not carry and none is given,
    /// [`EncoderError::Mismatch`] when `encoder` is not the model's encoder,
    /// [`EncoderError::NotBuilt`] for an encoder model in a build without feature `encoder`.
    pub fn from_bytes_with_encoder(
        bytes: &[u8],
        encoder: Option<&Arc<Encoder>>,
    ) -> Result<Pipeline> {
        let (header, payload) = Self::split(bytes)?;
        let ModelHeader {
            params,
            tokenizer,
            heads: head_headers,
            training,
            n_features,
            sections,
            encoder: identity,
            format_version,
            ..
        } = header;
        if identity.is_some() && format_version < 3 {
            return Err(ModelError::Header(format!(
                "format version {format_version} has no encoder block, yet the header names an encoder"
            ))
            .into());
        }
        let params = params
            .check()
            .map_err(|e| ModelError::Params(e.to_string()))?
            .params;
        let tokenizer = Tokenizer::from_json(params.tokenizer.clone(), &tokenizer.to_string())?;
        persist::verify(&sections, payload)?;
        let section = |name: &str| persist::section(&sections, payload, name);
        let word = if params.analyzer.is_word() {
            let vocabulary = Vocabulary::from_section("vocabulary", section("vocabulary")?)?;
            let idf = TfidfVectorizer::idf_from_section("idf", section("idf")?, vocabulary.len())?;
            Some(TfidfVectorizer::from_parts(
                params.vocabulary.clone(),
                params.tfidf.clone(),
                vocabulary,
                idf,
            )?)
        } else {
            None
        };
        let chars = match params.char_block() {
            Some((analyzer, vocabulary_params)) => {
                let vocabulary =
                    CharVocabulary::from_section("char.vocabulary", section("char.vocabulary")?)?;
                let idf = TfidfVectorizer::idf_from_section(
                    "char.idf",
                    section("char.idf")?,
                    vocabulary.len(),
                )?;
                Some(CharVectorizer::from_parts(
                    analyzer,
                    vocabulary_params,
                    params.tfidf.clone(),
                    vocabulary,
                    idf,
                )?)
            }
            None => None,
        };
        let encoder = Self::load_encoder(&params, identity, encoder, &sections, payload)?;
        let d = word.as_ref().map_or(0, TfidfVectorizer::n_features)
            + chars.as_ref().map_or(0, CharVectorizer::n_features)
            + encoder.as_ref().map_or(0, |e| e.identity().dim);
        if d != n_features {
            return Err(ModelError::FeatureCount {
                terms: d,
                n_features,
            }
            .into());
        }
        let mut heads = Vec::new();
        let mut temperatures = Vec::new();
        for (i, h) in head_headers.into_iter().enumerate() {
            let t = h.temperature.unwrap_or(1.0);
            if !(t.is_finite() && t > 0.0) {
                return Err(ModelError::Header(format!(
                    "head {}: temperature {t} is not a finite number > 0",
                    h.name
                ))
                .into());
            }
            temperatures.push(t);
            let labels = LabelSet::from_sorted(h.labels)?;
            let (wname, bname) = (format!("head.{i}.weights"), format!("head.{i}.bias"));
            let model = LogisticModel::from_sections(
                labels,
                d,
                (&wname, section(&wname)?),
                (&bname, section(&bname)?),
            )?;
            heads.push(Head {
                name: h.name,
                model,
            });
        }
        if heads.is_empty() {
            return Err(ModelError::NoHeads.into());
        }
        let mut pipeline =
            Self::assemble(params, encoder, tokenizer, (word, chars), heads, training);
        pipeline.temperatures = temperatures;
        Ok(pipeline)
    }

    /// The encoder of a model file: none for a TF-IDF model; else `given` when it is the
    /// recorded one, or the copy the file carries.
    fn load_encoder(
        params: &PipelineParams,
        identity: Option<EncoderIdentity>,
        given: Option<&Arc<Encoder>>,
        sections: &[Section],
        payload: &[u8],
    ) -> Result<Option<Arc<Encoder>>> {
        let (identity, block) = match (identity, &params.encoder) {
            (None, None) => return Ok(None),
            (Some(i), Some(b)) => (i, b),
            _ => {
                return Err(ModelError::Header(
                    "has an encoder identity without encoder parameters, or the reverse".into(),
                )
                .into())
            }
        };
        if cfg!(not(feature = "encoder")) {
            return Err(EncoderError::NotBuilt {
                identity: identity.to_string(),
            }
            .into());
        }
        let carried = sections.iter().any(|s| s.name == "encoder.weights");
        if carried != (block.storage != EncoderStorage::None) {
            return Err(ModelError::Header(format!(
                "encoder storage {} but the file {} the encoder's weights",
                block.storage,
                if carried { "carries" } else { "lacks" }
            ))
            .into());
        }
        if let Some(g) = given {
            if g.identity().same_output(&identity) {
                return Ok(Some(Arc::clone(g)));
            }
            return Err(EncoderError::Mismatch {
                model: identity.to_string(),
                given: g.identity().to_string(),
                carried,
            }
            .into());
        }
        if !carried {
            return Err(EncoderError::Required {
                identity: identity.to_string(),
            }
            .into());
        }
        Self::encoder_from_sections(identity, sections, payload).map(Some)
    }

    #[cfg(feature = "encoder")]
    fn encoder_from_sections(
        identity: EncoderIdentity,
        sections: &[Section],
        payload: &[u8],
    ) -> Result<Arc<Encoder>> {
        let section = |name: &str| persist::section(sections, payload, name);
        Ok(Arc::new(Encoder::from_sections(
            identity,
            Path::new("model file"),
            section("encoder.config")?,
            section("encoder.tokenizer")?,
            section("encoder.weights")?,
        )?))
    }

    #[cfg(not(feature = "encoder"))]
    fn encoder_from_sections(
        identity: EncoderIdentity,
        _sections: &[Section],
        _payload: &[u8],
    ) -> Result<Arc<Encoder>> {
        Err(EncoderError::NotBuilt {
            identity: identity.to_string(),
        }
        .into())
    }

    /// Save to `path` atomically: the bytes are checked to load back, written to a temporary file
    /// in the same directory (stale temporary files of dead processes there are removed first),
    /// synced, then renamed over `path`. A symbolic link at `path` is written through.
    ///
    /// # Errors
    /// I/O errors, a `path` that exists and is not a regular file; an existing file at `path` is
    /// left untouched on failure.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes();
        // Never write a file that would not load back.
        Self::from_bytes_with_encoder(&bytes, self.encoder.as_ref())?;
        persist::write_atomic(path, &bytes)
    }

    /// Load a model file.
    ///
    /// # Errors
    /// I/O errors, [`Error::BadModel`], [`Error::UnsupportedFormat`].
    pub fn load(path: &Path) -> Result<Pipeline> {
        Self::from_bytes(&persist::read_file(path)?)
    }

    /// Load a model file with a sentence encoder at hand (see
    /// [`Pipeline::from_bytes_with_encoder`]).
    ///
    /// # Errors
    /// As [`Pipeline::from_bytes_with_encoder`].
    pub fn load_with_encoder(path: &Path, encoder: Option<&Arc<Encoder>>) -> Result<Pipeline> {
        Self::from_bytes_with_encoder(&persist::read_file(path)?, encoder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn data() -> Dataset {
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
        Dataset::new(rows.iter().map(|r| r.0))
            .unwrap()
            .with_head("topic", rows.iter().map(|r| r.1))
            .unwrap()
            .with_head("stance", rows.iter().map(|r| r.2))
            .unwrap()
    }

    #[test]
    fn fits_every_head_and_predicts_training_rows() {
        let params = PipelineParams::default().c(100.0).check().unwrap();
        let d = data();
        let p = Pipeline::fit(&params, &d).unwrap();
        assert_eq!(p.summary().heads.len(), 2);
        let preds = p.predict(d.texts());
        for (r, pred) in preds.iter().enumerate() {
            assert_eq!(
                pred.head("topic").unwrap().label(),
                d.head("topic").unwrap()[r]
            );
            assert_eq!(pred.get(1).unwrap().label(), d.head("stance").unwrap()[r]);
            let sum: f32 = pred.get(0).unwrap().probs().iter().sum();
            assert!((sum - 1.0).abs() < 1e-5);
        }
        assert!(preds[0].head("nosuch").is_none());
        assert!(matches!(p.labels("nosuch"), Err(Error::UnknownHead { .. })));
        assert_eq!(
            p.labels("topic").unwrap(),
            ["casualties", "diplomacy", "security"]
        );
    }

    #[test]
    fn per_thread_scratch_is_shared_between_models_of_different_sizes() {
        // The scratch a thread keeps between calls (its count table sized for the largest
        // model seen) must not carry anything from one model's rows into another's.
        let d = data();
        let big = PipelineParams::default()
            .features(Analyzer::CharWb, Some((1, 5)))
            .check()
            .unwrap();
        let small = PipelineParams::default()
            .features(Analyzer::Char, Some((2, 2)))
            .check()
            .unwrap();
        let big = Pipeline::fit(&big, &d).unwrap();
        let small = Pipeline::fit(&small, &d).unwrap();
        assert!(big.n_features() > small.n_features());
        let fresh = |p: &Pipeline| {
            std::thread::scope(|s| {
                s.spawn(|| d.texts().iter().map(|t| p.transform(t)).collect::<Vec<_>>())
                    .join()
                    .unwrap()
            })
        };
        let (want_big, want_small) = (fresh(&big), fresh(&small));
        for _ in 0..2 {
            for (i, t) in d.texts().iter().enumerate() {
                assert_eq!(big.transform(t), want_big[i]);
                assert_eq!(small.transform(t), want_small[i]);
                let a = big.predict(&[t.as_str(), t.as_str()]);
                let b = small.predict(&[t.as_str()]);
                assert_eq!(a[0].get(0).unwrap().probs(), a[1].get(0).unwrap().probs());
                assert_eq!(
                    b[0].get(0).unwrap().probs(),
                    small.predict(&[t.as_str()])[0].get(0).unwrap().probs()
                );
            }
        }
    }

    #[test]
    fn single_class_head_is_an_error() {
        let d = Dataset::new(data().texts().to_vec())
            .unwrap()
            .with_head("topic", data().head("topic").unwrap().to_vec())
            .unwrap()
            .with_head("stance", vec!["neutral"; 6])
            .unwrap();
        let params = PipelineParams::default().check().unwrap();
        match Pipeline::fit(&params, &d).unwrap_err() {
            Error::SingleClass { head, label } => {
                assert_eq!((head.as_str(), label.as_str()), ("stance", "neutral"))
            }
            e => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn unlabeled_data_cannot_train() {
        let d = Dataset::new(["a b", "c d"]).unwrap();
        let params = PipelineParams::default().check().unwrap();
        assert!(matches!(Pipeline::fit(&params, &d), Err(Error::NoHeads)));
    }

    #[test]
    fn params_are_checked_by_the_builder() {
        assert!(matches!(
            PipelineParams::default().c(-1.0).check(),
            Err(Error::InvalidParam { name: "c", .. })
        ));
        assert!(matches!(
            PipelineParams::default().ngram_range(2, 1).check(),
            Err(Error::InvalidParam {
                name: "ngram_range",
                ..
            })
        ));
        assert_eq!(PipelineParams::default().seed, DEFAULT_SEED);
    }

    #[test]
    fn char_params_are_checked_by_the_builder() {
        let chars =
            |a, lo, hi| PipelineParams::default().char_ngrams(Some(CharParams::new(a, lo, hi)));
        assert!(chars(Analyzer::CharWb, 2, 5).check().is_ok());
        assert!(matches!(
            chars(Analyzer::CharWb, 2, 7).check(),
            Err(Error::InvalidParam {
                name: "char_ngram_range",
                ..
            })
        ));
        assert!(matches!(
            chars(Analyzer::Word, 2, 5).check(),
            Err(Error::InvalidParam {
                name: "char_analyzer",
                ..
            })
        ));
        assert!(matches!(
            chars(Analyzer::Char, 2, 5).analyzer(Analyzer::Char).check(),
            Err(Error::InvalidParam {
                name: "analyzer",
                ..
            })
        ));
        assert!(matches!(
            PipelineParams::default()
                .analyzer(Analyzer::Char)
                .ngram_range(1, 8)
                .check(),
            Err(Error::InvalidParam {
                name: "ngram_range",
                ..
            })
        ));
        let p = PipelineParams::default()
            .char_ngrams(Some(CharParams::default().min_df(DocFreq::Count(3))))
            .features(Analyzer::Char, Some((1, 3)));
        let c = p.char_ngrams.as_ref().unwrap();
        assert_eq!(
            (c.analyzer, c.ngram_range, c.min_df),
            (Analyzer::Char, (1, 3), Some(DocFreq::Count(3)))
        );
        let p = p.features(Analyzer::CharWb, None);
        assert_eq!(
            (p.analyzer, p.char_ngrams.is_none()),
            (Analyzer::CharWb, true)
        );
    }

    #[test]
    fn remembered_words_come_after_enough_sentences_and_change_no_prediction() {
        let d = data();
        let params = PipelineParams::default().features(Analyzer::CharWb, Some((2, 5)));
        let p = Pipeline::fit(&params.c(10.0).check().unwrap(), &d).unwrap();
        let texts: Vec<&str> = d
            .texts()
            .iter()
            .map(String::as_str)
            .chain(["Unseen words, the troops! Rebels.", "the, the. the"])
            .collect();
        let before = p.predict(&texts);
        let rows: Vec<SparseVec> = texts.iter().map(|t| p.transform(t)).collect();
        assert!(p.remembered.words.get().is_none());
        // Just short of the count, nothing is worked out; one more sentence does it.
        p.count_sentences(
            REMEMBER_AFTER - 1 - p.remembered.seen.load(std::sync::atomic::Ordering::Relaxed),
        );
        assert!(p.remembered.words.get().is_none());
        p.count_sentences(1);
        let words = p.remembered.words.get().unwrap().as_ref().unwrap();
        let unigrams = p
            .word
            .as_ref()
            .unwrap()
            .terms()
            .iter()
            .filter(|t| !t.contains(' '));
        // Each unigram alone, with a comma and with a full stop.
        assert_eq!(words.len(), 3 * unigrams.count());
        let after = p.predict(&texts);
        for (a, b) in before.iter().zip(&after) {
            assert_eq!(a.probs, b.probs);
        }
        for (t, row) in texts.iter().zip(&rows) {
            assert_eq!(&p.transform(t), row);
        }
        // A copy keeps them; a word-only model has nothing to remember.
        assert!(p.clone().remembered.words.get().is_some());
        let w = Pipeline::fit(&PipelineParams::default().check().unwrap(), &d).unwrap();
        w.count_sentences(REMEMBER_AFTER);
        assert!(w.remembered.words.get().unwrap().is_none());
    }

    #[test]
    fn remembered_words_are_worked_out_while_threads_and_rayon_jobs_classify() {
        let d = data();
        let params = PipelineParams::default().features(Analyzer::CharWb, Some((2, 5)));
        let p = Pipeline::fit(&params.c(10.0).check().unwrap(), &d).unwrap();
        let texts: Vec<&str> = d.texts().iter().map(String::as_str).collect();
        let expected = p.predict(&texts);
        let batch: Vec<&str> = texts.iter().copied().cycle().take(1000).collect();
        // Plain threads and rayon jobs (which must never block on one another) classify at
        // once, well past the count.
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for _ in 0..2 * REMEMBER_AFTER / 1000 {
                        p.predict(&batch);
                    }
                });
            }
            (0..8).into_par_iter().for_each(|_| {
                for _ in 0..REMEMBER_AFTER / 1000 {
                    p.predict(&batch);
                }
            });
        });
        assert!(p.remembered.words.get().unwrap().is_some());
        for (a, b) in p.predict(&texts).iter().zip(&expected) {
            assert_eq!(a.probs, b.probs);
        }
    }

    #[test]
    fn char_blocks_save_and_load_to_the_same_bytes_and_rows() {
        let d = data();
        for params in [
            PipelineParams::default().features(Analyzer::CharWb, Some((2, 4))),
            PipelineParams::default()
                .analyzer(Analyzer::Char)
                .ngram_range(1, 3),
        ] {
            let p = Pipeline::fit(&params.c(10.0).check().unwrap(), &d).unwrap();
            let bytes = p.to_bytes();
            let q = Pipeline::from_bytes(&bytes).unwrap();
            assert_eq!(q.to_bytes(), bytes);
            assert_eq!(q.n_features(), p.n_features());
            for t in d.texts() {
                assert_eq!(p.transform(t), q.transform(t));
                let row = p.transform(t);
                assert!(row.indices.windows(2).all(|w| w[0] < w[1]));
            }
            assert_eq!(p.predict(d.texts()), q.predict(d.texts()));
        }
        // Word block first, then the char block, each of unit length.
        let params = PipelineParams::default().features(Analyzer::CharWb, Some((2, 4)));
        let p = Pipeline::fit(&params.check().unwrap(), &d).unwrap();
        let split = p.vectorizer().unwrap().n_features() as u32;
        let row = p.transform(d.texts()[0].as_str());
        let norm = |keep: &dyn Fn(u32) -> bool| {
            row.indices
                .iter()
                .zip(&row.values)
                .filter(|(&i, _)| keep(i))
                .map(|(_, &v)| f64::from(v) * f64::from(v))
                .sum::<f64>()
        };
        assert!((norm(&|i| i < split) - 1.0).abs() < 1e-5);
        assert!((norm(&|i| i >= split) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn classify_article_gives_offsets_and_labels() {
        let params = PipelineParams::default().c(100.0).check().unwrap();
        let p = Pipeline::fit(&params, &data()).unwrap();
        let text = "Troops were deployed along the border. The blast killed 12 people.";
        let out = p.classify_article(text);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].index, 2);
        let chars: Vec<char> = text.chars().collect();
        let second: String = chars[out[1].start..out[1].end].iter().collect();
        assert_eq!(second, out[1].text);
        assert_eq!(
            out[1].prediction.head("topic").unwrap().label(),
            "casualties"
        );
    }

    #[test]
    fn evaluate_scores_known_heads_and_refuses_unknown_ones() {
        let params = PipelineParams::default().c(100.0).check().unwrap();
        let d = data();
        let p = Pipeline::fit(&params, &d).unwrap();
        let r = p.evaluate(&d).unwrap();
        assert_eq!(r.n, 6);
        assert_eq!(r.heads["topic"].accuracy, 1.0);
        // Probability scores: every row in some reliability bin, the whole table at 0.30.
        let topic = &r.heads["topic"];
        let cal = topic.calibration.as_ref().unwrap();
        assert_eq!(cal.reliability.iter().map(|b| b.count).sum::<u64>(), 6);
        assert!(cal.log_loss > 0.0 && cal.brier > 0.0 && cal.ece >= 0.0);
        assert_eq!(topic.selective.len(), metrics::SELECTIVE_THRESHOLDS.len());
        assert_eq!(
            (topic.selective[0].kept, topic.selective[0].accuracy),
            (6, Some(1.0))
        );
        let kept: Vec<u64> = topic.selective.iter().map(|s| s.kept).collect();
        assert!(kept.windows(2).all(|w| w[0] >= w[1]), "{kept:?}");
        let other = Dataset::new(["x"])
            .unwrap()
            .with_head("mood", ["happy"])
            .unwrap();
        assert!(matches!(p.evaluate(&other), Err(Error::UnknownHead { .. })));
    }

    #[test]
    fn encoder_models_are_refused_clearly_without_their_encoder() {
        use crate::encoder::{Pooling, Precision};
        let p =
            Pipeline::fit(&PipelineParams::default().c(10.0).check().unwrap(), &data()).unwrap();
        let bytes = p.to_bytes();
        let (mut header, payload) = Pipeline::split(&bytes).unwrap();
        // A TF-IDF model stays version 2, with no encoder in its header.
        assert_eq!(header.format_version, 2);
        assert!(header.encoder.is_none() && header.params.encoder.is_none());
        let json = String::from_utf8(serde_json::to_vec_pretty(&header).unwrap()).unwrap();
        assert!(!json.contains("encoder"));
        // The same model as if fitted with an encoder recorded by identity only.
        header.format_version = 3;
        header.encoder = Some(EncoderIdentity {
            name: "all-MiniLM-L6-v2".into(),
            architecture: "bert".into(),
            dim: 0,
            pooling: Pooling::Mean,
            normalized: true,
            max_tokens: 128,
            weights_sha256: "ab".repeat(32),
            precision: Precision::F32,
        });
        header.params.encoder = Some(EncoderParams {
            weight: 1.0,
            storage: EncoderStorage::None,
        });
        let forged =
            |h: &ModelHeader| persist::frame(&serde_json::to_vec_pretty(h).unwrap(), payload);
        let e = Pipeline::from_bytes(&forged(&header)).unwrap_err();
        if cfg!(feature = "encoder") {
            assert!(
                matches!(e, Error::Encoder(EncoderError::Required { .. })),
                "{e}"
            );
        } else {
            assert!(
                matches!(e, Error::Encoder(EncoderError::NotBuilt { .. })),
                "{e}"
            );
            assert!(e.to_string().contains("--features encoder"), "{e}");
        }
        assert!(e.to_string().contains("all-MiniLM-L6-v2"), "{e}");
        // Version 2 has no encoder block.
        header.format_version = 2;
        assert!(matches!(
            Pipeline::from_bytes(&forged(&header)),
            Err(Error::BadModel(ModelError::Header(_)))
        ));
        // A version from a newer build is named as such.
        header.format_version = persist::FORMAT_VERSION + 1;
        assert!(matches!(
            Pipeline::from_bytes(&forged(&header)),
            Err(Error::UnsupportedFormat { found, supported: 3 }) if found == 4
        ));
    }

    #[test]
    fn holdout_uses_the_seed() {
        let params = PipelineParams::default().check().unwrap();
        let d = data().with_groups(["a", "a", "b", "b", "c", "c"]).unwrap();
        let (_, r1) = Pipeline::fit_holdout(&params, &d, 0.34, &mut |_| {}).unwrap();
        let (_, r2) = Pipeline::fit_holdout(&params, &d, 0.34, &mut |_| {}).unwrap();
        assert_eq!(r1.n, 2);
        assert_eq!(r1, r2);
    }
}

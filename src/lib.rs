//! # newsclass
//!
//! Label every sentence of a news article by topic and stance (or any label columns of your own)
//! with a small, fast, transparent pipeline: tokenizer → word n-grams → sparse TF-IDF →
//! multinomial logistic regression, one head per label column.
//!
//! ```
//! use newsclass::{Dataset, Pipeline, PipelineParams};
//!
//! let data = Dataset::new(["Troops shelled the town.", "Envoys signed a truce.",
//!                          "Rebels attacked a convoy.", "Ministers agreed to talks."])?
//!     .with_head("topic", ["security", "diplomacy", "security", "diplomacy"])?;
//! let model = Pipeline::fit(&PipelineParams::default().c(10.0).check()?, &data)?;
//! for s in model.classify_article("Gunmen attacked a post. The envoys met for talks.") {
//!     let topic = s.prediction.head("topic").unwrap();
//!     println!("{} {:.2} {}", topic.label(), topic.score(), s.text);
//! }
//! # Ok::<(), newsclass::Error>(())
//! ```
//!
//! The stages, each usable on its own:
//!
//! ```text
//! raw article ──► sentences ──► tokens ──► word n-grams ──► TF-IDF (sparse) ──► softmax per head
//!   text::sentences   text::tokenize  features::vocabulary  features::tfidf   model::logistic
//! ```
//!
//! * [`text::sentences`] splits news prose into sentences with character offsets;
//! * [`text::tokenize`] is a Hugging Face `tokenizers` pipeline (saved as `tokenizer.json`);
//! * [`features`] builds scikit-learn-compatible TF-IDF rows with a sorted, frozen vocabulary,
//!   from word n-grams and, optionally, character n-grams ([`features::chars`], scikit-learn's
//!   `char` and `char_wb` analyzers) in a second block beside them;
//! * [`model::logistic`] fits multinomial logistic regression on sparse rows with an in-place,
//!   preconditioned L-BFGS;
//! * [`Pipeline`] ties the stages together, predicts ([`Prediction`]), evaluates
//!   ([`metrics::Report`], with calibration and selective-prediction tables) and saves itself
//!   as one self-describing file;
//! * for checking the labels: [`Pipeline::explain`] gives the terms behind a prediction
//!   ([`Explanation`]), [`Pipeline::class_terms`] what each class learned, [`MinProb`] lets a
//!   head abstain below a probability, and [`Pipeline::fit_calibrated`] fits a temperature per
//!   head ([`pipeline::calibrate`]);
//! * [`html`] renders classified articles and evaluations as self-contained HTML pages;
//! * [`output::sentence_json`] is the JSON of a classified sentence that the CLI, the server and
//!   the Python package share ([`output::SentenceJson`] writes it without building the map);
//! * [`Dataset`] holds labeled texts in memory; [`data`] reads CSV / JSONL with precise error
//!   messages; [`cv`] does grouped splits and grid cross-validation.
//!
//! Every fallible function returns [`Error`], whose variants carry the values that went wrong.
//!
//! Cargo features, all but `linfa` on by default: `cli` builds the `newsclass` binary and pulls
//! in clap, anyhow and indicatif; `serve` adds `newsclass serve` (axum on tokio; the library
//! itself has no HTTP code); `encoder` adds [`encoder::Encoder`], sentence embeddings from a
//! pretrained BERT-family model (all-MiniLM-L6-v2) in pure Rust, and with it an encoder block
//! beside the TF-IDF features ([`Pipeline::fit_with_encoder`]), which the built-in default model
//! has; builds without it read encoder models' headers and refuse to load them with a message
//! saying so. The library alone builds with `--no-default-features`. `linfa` implements linfa's
//! traits for the sparse logistic regression (the `linfa` module).
#![deny(missing_docs)]

pub mod cv;
pub mod data;
pub mod encoder;
pub mod error;
pub mod features;
pub mod html;
#[cfg(feature = "linfa")]
pub mod linfa;
pub mod metrics;
pub mod model;
pub mod output;
mod persist;
pub mod pipeline;
pub mod sparse;
pub mod text;

pub use data::{Dataset, Provenance};
pub use error::{EncoderError, Error, ModelError, Result};
pub use metrics::Report;
pub use persist::{Section, FORMAT_VERSION, TFIDF_FORMAT_VERSION};
pub use pipeline::{
    EncoderParams, Explanation, HeadPrediction, MinProb, ModelHeader, Pipeline, PipelineParams,
    Prediction, SentencePrediction, TermKind, ValidPipelineParams, DEFAULT_SEED,
};

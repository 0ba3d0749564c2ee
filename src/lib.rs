//! # newsclass
//!
//! Label every sentence of a news article by topic and stance (or any label columns of your own)
//! with a small, fast, transparent pipeline:
//!
//! ```text
//! raw article ──► sentences ──► tokens ──► word n-grams ──► TF-IDF (sparse) ──► softmax per head
//!   text::sentences   text::tokenize  features::vocabulary  features::tfidf   model::logistic
//! ```
//!
//! * [`text::sentences`] splits news prose into sentences with character offsets;
//! * [`text::tokenize`] is a Hugging Face `tokenizers` pipeline (saved as `tokenizer.json`);
//! * [`features`] builds scikit-learn-compatible TF-IDF rows with a sorted, frozen vocabulary;
//! * [`model::logistic`] fits multinomial logistic regression on sparse rows with an in-place
//!   L-BFGS ([`model::lbfgs`]), one head per label column;
//! * [`pipeline`] ties the stages together and [`persist`] saves them as one self-describing file;
//! * [`data`] reads CSV / JSONL with precise error messages, [`metrics`] scores predictions.
//!
//! See [`pipeline::Pipeline`] for a runnable example.
#![warn(missing_docs)]

pub mod cv;
pub mod data;
pub mod error;
pub mod features;
pub mod metrics;
pub mod model;
pub mod persist;
pub mod pipeline;
pub mod sparse;
pub mod text;

pub use error::{Error, Result};
pub use pipeline::{Pipeline, PipelineParams};

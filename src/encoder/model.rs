//! The encoder itself (feature `encoder`): loading, tokenizing, batching and embedding.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::Array2;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use super::bert::{Bert, BertConfig, Sequence};
use super::cache::EmbeddingCache;
use super::safetensors::{self, SafeTensors};
use super::{EncoderIdentity, EncoderStorage, Pooling, Precision};
use crate::error::{EncoderError, Error, Result};

/// Longest sequence, in word pieces with `[CLS]` and `[SEP]`, unless set otherwise.
pub const DEFAULT_MAX_TOKENS: usize = 128;

/// Tokens per batch unless set otherwise (fewer when the texts would not give every thread a
/// batch).
pub const DEFAULT_BATCH_TOKENS: usize = 2048;

/// Embeddings of a list of texts.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// One row per text, in input order; each row has unit L2 norm.
    pub vectors: Array2<f32>,
    /// How many texts were longer than the token limit and were cut.
    pub n_truncated: usize,
    /// Word pieces processed, `[CLS]` and `[SEP]` included.
    pub n_tokens: usize,
}

/// A loaded sentence encoder. Cheap to share across threads (`&Encoder` is all `embed` needs).
pub struct Encoder {
    bert: Bert,
    tokenizer: Tokenizer,
    identity: EncoderIdentity,
    batch_tokens: usize,
    /// `config.json` as read, for a model file that carries the encoder.
    config_json: String,
    /// `tokenizer.json` as read, likewise.
    tokenizer_json: Vec<u8>,
    /// Where `embed_flat` (training, cross-validation, calibration) keeps embeddings.
    cache: Option<Arc<EmbeddingCache>>,
}

impl std::fmt::Debug for Encoder {
    /// The identity and settings, without the weights and the vocabulary.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("identity", &self.identity)
            .field("batch_tokens", &self.batch_tokens)
            .finish_non_exhaustive()
    }
}

/// Reads one file of the encoder directory, naming it when it is missing.
fn read(dir: &Path, file: &str) -> Result<Vec<u8>> {
    let path = dir.join(file);
    match fs::read(&path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(EncoderError::MissingFile {
            dir: dir.to_path_buf(),
            file: file.to_string(),
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// Checks `1_Pooling/config.json`, when there is one: only mean pooling is supported.
fn check_pooling(dir: &Path) -> Result<Pooling> {
    let path = dir.join("1_Pooling").join("config.json");
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Pooling::Mean),
        Err(e) => return Err(e.into()),
    };
    let v: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| EncoderError::Config {
            path: path.clone(),
            reason: format!("not a pooling configuration: {e}"),
        })?;
    let on: Vec<&str> = v
        .iter()
        .filter(|(k, val)| k.starts_with("pooling_mode_") && val.as_bool() == Some(true))
        .map(|(k, _)| k.as_str())
        .collect();
    if on != ["pooling_mode_mean_tokens"] {
        return Err(EncoderError::Unsupported {
            what: "pooling",
            found: if on.is_empty() {
                "none".to_string()
            } else {
                on.join(" + ")
            },
            supported: "mean pooling (pooling_mode_mean_tokens alone)",
            path,
        }
        .into());
    }
    Ok(Pooling::Mean)
}

impl Encoder {
    /// Loads a sentence-transformers BERT model directory (see the [module docs](super)).
    ///
    /// Errors: [`EncoderError::NotADirectory`] when `dir` is not a directory;
    /// [`EncoderError::MissingFile`] for a missing `config.json`, `tokenizer.json` or
    /// `model.safetensors`; [`EncoderError::Config`] for a configuration that does not parse;
    /// [`EncoderError::Unsupported`] for another architecture, activation or pooling;
    /// [`EncoderError::DimensionMismatch`] and [`EncoderError::MissingTensor`] for weights that do
    /// not fit the configuration; [`EncoderError::Weights`] for a damaged weights file;
    /// [`EncoderError::Tokenizer`] for a tokenizer that does not load or fit the model.
    pub fn load(dir: impl AsRef<Path>) -> Result<Encoder> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(EncoderError::NotADirectory {
                dir: dir.to_path_buf(),
            }
            .into());
        }
        let config_path = dir.join("config.json");
        let config_text = read(dir, "config.json")?;
        let config_text = String::from_utf8(config_text).map_err(|_| EncoderError::Config {
            path: config_path.clone(),
            reason: "not UTF-8".to_string(),
        })?;
        let config = BertConfig::parse(&config_path, &config_text)?;
        let pooling = check_pooling(dir)?;
        let weights_path = dir.join("model.safetensors");
        let bytes = read(dir, "model.safetensors")?;
        // Hash on one core while the other parses and converts, then loads the tokenizer.
        let (digest, loaded) = rayon::join(
            || hex(&Sha256::digest(&bytes)),
            || -> Result<(Bert, (Tokenizer, Vec<u8>))> {
                let st = SafeTensors::parse(&weights_path, &bytes)?;
                let bert = Bert::load(config, &st, &weights_path)?;
                let path = dir.join("tokenizer.json");
                let bytes = read(dir, "tokenizer.json")?;
                Ok((bert, (tokenizer_from_bytes(&path, &bytes, &config)?, bytes)))
            },
        );
        let (bert, (tokenizer, tokenizer_json)) = loaded?;
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        let mut encoder = Encoder {
            bert,
            tokenizer,
            identity: EncoderIdentity {
                name,
                architecture: "bert".to_string(),
                dim: config.hidden,
                pooling,
                normalized: true,
                max_tokens: 0,
                weights_sha256: digest,
                precision: Precision::F32,
            },
            batch_tokens: DEFAULT_BATCH_TOKENS,
            config_json: config_text,
            tokenizer_json,
            cache: None,
        };
        encoder.set_max_tokens(DEFAULT_MAX_TOKENS.min(config.max_positions))?;
        Ok(encoder)
    }

    /// Sets the longest sequence in tokens (`[CLS]` and `[SEP]` included): at least 2 and at
    /// most the model's `max_position_embeddings`.
    pub fn with_max_tokens(mut self, max_tokens: usize) -> Result<Encoder> {
        self.set_max_tokens(max_tokens)?;
        Ok(self)
    }

    fn set_max_tokens(&mut self, max_tokens: usize) -> Result<()> {
        let limit = self.bert.config().max_positions;
        if !(2..=limit).contains(&max_tokens) {
            return Err(EncoderError::InvalidParam {
                name: "max_tokens",
                value: max_tokens.to_string(),
                reason: format!("must be from 2 to the model's max_position_embeddings ({limit})"),
            }
            .into());
        }
        self.tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..TruncationParams::default()
            }))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        self.identity.max_tokens = max_tokens;
        Ok(())
    }

    /// Sets how many tokens a batch holds (at least 1; a longer text is a batch of its own).
    /// It changes speed and memory only, never the embeddings.
    pub fn with_batch_tokens(mut self, batch_tokens: usize) -> Result<Encoder> {
        if batch_tokens == 0 {
            return Err(EncoderError::InvalidParam {
                name: "batch_tokens",
                value: "0".to_string(),
                reason: "must be at least 1".to_string(),
            }
            .into());
        }
        self.batch_tokens = batch_tokens;
        Ok(self)
    }

    /// What identifies this encoder's output.
    pub fn identity(&self) -> &EncoderIdentity {
        &self.identity
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.identity.dim
    }

    /// Longest sequence in tokens.
    pub fn max_tokens(&self) -> usize {
        self.identity.max_tokens
    }

    /// Tokens per batch.
    pub fn batch_tokens(&self) -> usize {
        self.batch_tokens
    }

    /// The word-piece ids of `text` as the encoder sees them: `[CLS]`, the pieces, `[SEP]`, cut
    /// to [`Encoder::max_tokens`]; and whether it was cut.
    pub fn token_ids(&self, text: &str) -> Result<(Vec<u32>, bool)> {
        let s = self.tokenize(text)?;
        Ok((s.0.ids, s.1))
    }

    fn tokenize(&self, text: &str) -> Result<(Sequence, bool)> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let truncated = !enc.get_overflowing().is_empty();
        let seq = Sequence {
            ids: enc.get_ids().to_vec(),
            type_ids: enc.get_type_ids().to_vec(),
        };
        let cfg = self.bert.config();
        let bad = seq.ids.iter().find(|&&i| i as usize >= cfg.vocab);
        let bad_type = seq.type_ids.iter().find(|&&i| i as usize >= cfg.type_vocab);
        let too_long = seq.ids.len() > cfg.max_positions || seq.type_ids.len() != seq.ids.len();
        if seq.ids.is_empty() || bad.is_some() || bad_type.is_some() || too_long {
            return Err(Error::Tokenizer(format!(
                "the tokenizer gave {} for {text:?}, which the model (vocab_size {}, type_vocab_size {}, max_position_embeddings {}) cannot take",
                if let Some(i) = bad {
                    format!("id {i}")
                } else if let Some(t) = bad_type {
                    format!("token type {t}")
                } else if too_long {
                    format!("{} tokens, more than max_position_embeddings", seq.ids.len())
                } else {
                    "no tokens".to_string()
                },
                cfg.vocab,
                cfg.type_vocab,
                cfg.max_positions
            )));
        }
        Ok((seq, truncated))
    }

    /// The encoder's parts as a model file stores them: `(section, dtype, bytes)` for
    /// `encoder.config` (its `config.json`), `encoder.tokenizer` (its `tokenizer.json`) and
    /// `encoder.weights` (a safetensors file of `F32` or `F16` weights, or for
    /// [`EncoderStorage::Int8`] `I8` weights of the dense layers and word embeddings, each with
    /// an `F32` tensor `…weight_scale` of row scales, and the other weights in `F32`); nothing
    /// for [`EncoderStorage::None`].
    pub(crate) fn to_sections(
        &self,
        storage: EncoderStorage,
    ) -> Vec<(&'static str, &'static str, Vec<u8>)> {
        if storage == EncoderStorage::None {
            return Vec::new();
        }
        vec![
            (
                "encoder.config",
                "utf8",
                self.config_json.clone().into_bytes(),
            ),
            ("encoder.tokenizer", "utf8", self.tokenizer_json.clone()),
            (
                "encoder.weights",
                "safetensors",
                safetensors::write(
                    &self.bert.tensors(storage == EncoderStorage::Int8),
                    storage.precision(),
                ),
            ),
        ]
    }

    /// Rebuilds an encoder from the sections [`Encoder::to_sections`] wrote, giving it
    /// `identity` (checked against the configuration's dimension). `what` names the source in
    /// errors (e.g. the model file).
    pub(crate) fn from_sections(
        identity: EncoderIdentity,
        what: &Path,
        config_json: &[u8],
        tokenizer_json: &[u8],
        weights: &[u8],
    ) -> Result<Encoder> {
        let config_json =
            String::from_utf8(config_json.to_vec()).map_err(|_| EncoderError::Config {
                path: what.join("encoder.config"),
                reason: "not UTF-8".to_string(),
            })?;
        let config = BertConfig::parse(&what.join("encoder.config"), &config_json)?;
        if config.hidden != identity.dim {
            return Err(EncoderError::Config {
                path: what.join("encoder.config"),
                reason: format!(
                    "hidden_size {} differs from the recorded dimension {}",
                    config.hidden, identity.dim
                ),
            }
            .into());
        }
        let weights_path = what.join("encoder.weights");
        let st = SafeTensors::parse(&weights_path, weights)?;
        let bert = Bert::load(config, &st, &weights_path)?;
        if bert.is_int8() != (identity.precision == Precision::Int8) {
            return Err(EncoderError::Weights {
                path: weights_path,
                reason: format!(
                    "the encoder's recorded precision is {}, but its dense layers are {}",
                    identity.precision,
                    if bert.is_int8() { "int8" } else { "not int8" }
                ),
            }
            .into());
        }
        let tokenizer =
            tokenizer_from_bytes(&what.join("encoder.tokenizer"), tokenizer_json, &config)?;
        let max_tokens = identity.max_tokens;
        let mut encoder = Encoder {
            bert,
            tokenizer,
            identity,
            batch_tokens: DEFAULT_BATCH_TOKENS,
            config_json,
            tokenizer_json: tokenizer_json.to_vec(),
            cache: None,
        };
        encoder.set_max_tokens(max_tokens)?;
        Ok(encoder)
    }

    /// This encoder computing with its weights rounded to `precision` (itself when they
    /// already are): f16, or int8 (see [`Precision::Int8`]). Rounding is one way and starts
    /// from f32: asking an f16 or int8 encoder for another precision is an error.
    ///
    /// # Errors
    /// [`EncoderError::InvalidParam`] (`precision`) for another precision than its own from an
    /// f16 or int8 encoder.
    pub fn quantized(self: &Arc<Self>, precision: Precision) -> Result<Arc<Encoder>> {
        if precision == self.identity.precision {
            return Ok(Arc::clone(self));
        }
        if self.identity.precision != Precision::F32 {
            return Err(EncoderError::InvalidParam {
                name: "precision",
                value: precision.to_string(),
                reason: format!(
                    "this encoder's weights are already rounded to {}; load the original \
                     directory for {precision}",
                    self.identity.precision
                ),
            }
            .into());
        }
        let weights =
            safetensors::write(&self.bert.tensors(precision == Precision::Int8), precision);
        let identity = EncoderIdentity {
            precision,
            ..self.identity.clone()
        };
        let mut e = Encoder::from_sections(
            identity,
            Path::new("(rounded weights)"),
            self.config_json.as_bytes(),
            &self.tokenizer_json,
            &weights,
        )?;
        e.batch_tokens = self.batch_tokens;
        e.cache = self.cache.clone();
        Ok(Arc::new(e))
    }

    /// The embeddings of `texts`, row after row (`texts.len() × dim` values). A text the
    /// tokenizer refuses (none does with a model's own tokenizer) gets a row of zeros, so that
    /// prediction never fails on one text.
    pub(crate) fn embed_flat(&self, texts: &[&str]) -> Vec<f32> {
        match &self.cache {
            Some(cache) => cache.embed_flat(self, texts),
            None => self.embed_flat_uncached(texts),
        }
    }

    /// [`Encoder::embed_flat`] without the cache.
    pub(crate) fn embed_flat_uncached(&self, texts: &[&str]) -> Vec<f32> {
        match self.embed(texts) {
            Ok(e) => e.vectors.iter().copied().collect(),
            Err(_) => texts
                .iter()
                .flat_map(|t| match self.embed(&[t]) {
                    Ok(e) => e.vectors.iter().copied().collect(),
                    Err(_) => vec![0.0; self.dim()],
                })
                .collect(),
        }
    }

    /// This encoder keeping the embeddings that training, cross-validation and calibration
    /// compute in `cache` (and taking them from it), so that each text is embedded once per
    /// encoder across runs. [`Encoder::embed`] never uses the cache.
    pub fn with_cache(mut self, cache: Arc<EmbeddingCache>) -> Encoder {
        self.cache = Some(cache);
        self
    }

    /// The embedding cache, if any.
    pub fn cache(&self) -> Option<&Arc<EmbeddingCache>> {
        self.cache.as_ref()
    }

    /// Embeds `texts`: one unit-length row per text, in order (see the [module docs](super)).
    pub fn embed<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Embeddings> {
        let tokenized: Vec<(Sequence, bool)> = texts
            .par_iter()
            .map(|t| self.tokenize(t.as_ref()))
            .collect::<Result<_>>()?;
        let n_truncated = tokenized.iter().filter(|t| t.1).count();
        let n_tokens: usize = tokenized.iter().map(|t| t.0.ids.len()).sum();
        // Length-sorted (ties in input order), then cut into batches of about batch_tokens.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| (tokenized[i].0.ids.len(), i));
        // Few texts are still split, so that every thread gets a share.
        let per_thread = n_tokens.div_ceil(rayon::current_num_threads().max(1));
        let batch_tokens = self.batch_tokens.min(per_thread.max(1));
        let mut batches: Vec<&[usize]> = Vec::new();
        let (mut start, mut tokens) = (0, 0);
        for (k, &i) in order.iter().enumerate() {
            let len = tokenized[i].0.ids.len();
            if k > start && tokens + len > batch_tokens {
                batches.push(&order[start..k]);
                (start, tokens) = (k, 0);
            }
            tokens += len;
        }
        if start < order.len() {
            batches.push(&order[start..]);
        }
        let pooled: Vec<Array2<f32>> = batches
            .par_iter()
            .map(|batch| {
                let seqs: Vec<&Sequence> = batch.iter().map(|&i| &tokenized[i].0).collect();
                self.bert.mean_pooled(&seqs)
            })
            .collect();
        let mut vectors = Array2::<f32>::zeros((texts.len(), self.dim()));
        for (batch, rows) in batches.iter().zip(&pooled) {
            for (&i, row) in batch.iter().zip(rows.rows()) {
                let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
                vectors.row_mut(i).assign(&(&row / norm));
            }
        }
        Ok(Embeddings {
            vectors,
            n_truncated,
            n_tokens,
        })
    }
}

fn tokenizer_from_bytes(path: &Path, bytes: &[u8], config: &BertConfig) -> Result<Tokenizer> {
    let bad = |reason: String| EncoderError::Tokenizer {
        path: path.to_path_buf(),
        reason,
    };
    let mut tokenizer =
        Tokenizer::from_bytes(bytes).map_err(|e| bad(format!("does not load: {e}")))?;
    tokenizer.with_padding(None);
    let n_vocab = tokenizer.get_vocab_size(true);
    if n_vocab > config.vocab {
        return Err(bad(format!(
            "{n_vocab} tokens, more than the model's vocab_size {}",
            config.vocab
        ))
        .into());
    }
    Ok(tokenizer)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where `scripts/get-encoder` installs all-MiniLM-L6-v2, relative to the repository root.
pub const DEFAULT_DIR: &str = "models/encoder/all-MiniLM-L6-v2";

/// The encoder directory named by the environment variable `NEWSCLASS_ENCODER`, or
/// [`DEFAULT_DIR`] under `root`, if that directory holds a `model.safetensors`.
pub fn find_dir(root: &Path) -> Option<PathBuf> {
    let dir = std::env::var_os("NEWSCLASS_ENCODER")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(DEFAULT_DIR));
    dir.join("model.safetensors").is_file().then_some(dir)
}

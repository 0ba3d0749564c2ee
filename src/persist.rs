//! The model file: one self-describing file per pipeline.
//!
//! Layout:
//!
//! ```text
//! "NEWSCLASS-MODEL\n"            16 bytes, magic
//! header length                 u32, little-endian
//! header                        JSON (format_version, params, tokenizer.json, label sets,
//!                               training summary, section table)
//! payload                       binary sections, little-endian:
//!   vocabulary                  terms in column order, UTF-8, separated by '\n'
//!   idf                         f64 per column
//!   head.N.weights              f32, n_features × n_classes, row-major
//!   head.N.bias                 f32 per class
//! ```
//!
//! The header is readable with `head -c` or `newsclass info`. Its maps are ordered and nothing in
//! it depends on time or machine, so the same data, parameters and seed give the same bytes.
//! Files are written to a temporary file in the target directory and renamed into place, so a
//! failed save never damages an existing model. Unknown format versions are rejected on load.

use std::io::Write;
use std::path::Path;

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::tfidf::TfidfVectorizer;
use crate::model::labels::LabelSet;
use crate::model::logistic::LogisticModel;
use crate::pipeline::{Head, Pipeline, PipelineParams, TrainingSummary};
use crate::text::tokenize::Tokenizer;

/// The magic bytes that open every model file.
pub const MAGIC: &[u8; 16] = b"NEWSCLASS-MODEL\n";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The JSON header of a model file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always `newsclass-model`.
    pub format: String,
    /// Format version ([`FORMAT_VERSION`]).
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
    /// Vocabulary size.
    pub n_features: usize,
    /// Where each binary section lies in the payload.
    pub sections: Vec<Section>,
}

/// A head's name and labels.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadHeader {
    /// Head name.
    pub name: String,
    /// Sorted class names.
    pub labels: Vec<String>,
}

/// A binary section of the payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Section name.
    pub name: String,
    /// Element type: `utf8`, `f64le` or `f32le`.
    pub dtype: String,
    /// Offset in bytes from the start of the payload.
    pub offset: u64,
    /// Length in bytes.
    pub bytes: u64,
}

fn f32_bytes(v: impl Iterator<Item = f32>, out: &mut Vec<u8>) {
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

/// Serialize a pipeline to bytes.
pub fn to_bytes(p: &Pipeline) -> Vec<u8> {
    let mut payload: Vec<u8> = Vec::new();
    let mut sections = Vec::new();
    let mut section =
        |name: String, dtype: &str, payload: &mut Vec<u8>, write: &mut dyn FnMut(&mut Vec<u8>)| {
            let offset = payload.len() as u64;
            write(payload);
            sections.push(Section {
                name,
                dtype: dtype.into(),
                offset,
                bytes: payload.len() as u64 - offset,
            });
        };
    section("vocabulary".into(), "utf8", &mut payload, &mut |out| {
        out.extend_from_slice(p.vectorizer.terms().join("\n").as_bytes())
    });
    section("idf".into(), "f64le", &mut payload, &mut |out| {
        for x in p.vectorizer.idf() {
            out.extend_from_slice(&x.to_le_bytes());
        }
    });
    for (i, h) in p.heads.iter().enumerate() {
        section(
            format!("head.{i}.weights"),
            "f32le",
            &mut payload,
            &mut |out| f32_bytes(h.model.weights().iter().copied(), out),
        );
        section(
            format!("head.{i}.bias"),
            "f32le",
            &mut payload,
            &mut |out| f32_bytes(h.model.bias().iter().copied(), out),
        );
    }
    let tokenizer: serde_json::Value = serde_json::from_str(&p.tokenizer.to_json())
        .expect("tokenizer.json produced by the tokenizers crate is valid JSON");
    let header = Header {
        format: "newsclass-model".into(),
        format_version: FORMAT_VERSION,
        created_by: format!("newsclass {}", env!("CARGO_PKG_VERSION")),
        params: p.params.clone(),
        tokenizer,
        heads: p
            .heads
            .iter()
            .map(|h| HeadHeader {
                name: h.name.clone(),
                labels: h.model.labels().names().to_vec(),
            })
            .collect(),
        training: p.summary.clone(),
        n_features: p.vectorizer.n_features(),
        sections,
    };
    let json = serde_json::to_vec_pretty(&header).expect("the header always serializes");
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + json.len() + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.push(b'\n');
    out.extend_from_slice(&payload);
    out
}

/// Read only the header of a model file's bytes.
///
/// # Errors
/// [`Error::BadModel`] for a foreign or truncated file, [`Error::UnsupportedFormat`] for another
/// format version.
pub fn read_header(bytes: &[u8]) -> Result<(Header, &[u8])> {
    let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(|| {
        Error::BadModel("the file does not start with the newsclass model signature".into())
    })?;
    let (len, rest) = rest
        .split_first_chunk::<4>()
        .ok_or_else(|| Error::BadModel("truncated header".into()))?;
    let len = u32::from_le_bytes(*len) as usize;
    if rest.len() < len + 1 {
        return Err(Error::BadModel("truncated header".into()));
    }
    let (json, payload) = rest.split_at(len);
    let payload = &payload[1..];
    let value: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| Error::BadModel(format!("header is not JSON: {e}")))?;
    if value.get("format").and_then(|v| v.as_str()) != Some("newsclass-model") {
        return Err(Error::BadModel(
            "header lacks format \"newsclass-model\"".into(),
        ));
    }
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| Error::BadModel("header lacks format_version".into()))?;
    if version != u64::from(FORMAT_VERSION) {
        return Err(Error::UnsupportedFormat {
            found: u32::try_from(version).unwrap_or(u32::MAX),
            supported: FORMAT_VERSION,
        });
    }
    let header: Header =
        serde_json::from_value(value).map_err(|e| Error::BadModel(format!("header: {e}")))?;
    Ok((header, payload))
}

fn section<'a>(header: &Header, payload: &'a [u8], name: &str) -> Result<&'a [u8]> {
    let s = header
        .sections
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| Error::BadModel(format!("missing section {name}")))?;
    let start = usize::try_from(s.offset).map_err(|_| Error::BadModel("bad offset".into()))?;
    let end = start
        .checked_add(usize::try_from(s.bytes).map_err(|_| Error::BadModel("bad length".into()))?)
        .ok_or_else(|| Error::BadModel("bad length".into()))?;
    payload.get(start..end).ok_or_else(|| {
        Error::BadModel(format!("section {name} lies outside the file (truncated?)"))
    })
}

fn read_f32(bytes: &[u8], n: usize, name: &str) -> Result<Vec<f32>> {
    if bytes.len() != n * 4 {
        return Err(Error::BadModel(format!(
            "section {name} has {} bytes, expected {}",
            bytes.len(),
            n * 4
        )));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("chunks of 4")))
        .collect())
}

/// Deserialize a pipeline from bytes.
///
/// # Errors
/// [`Error::BadModel`] or [`Error::UnsupportedFormat`] when the bytes are not a valid model.
pub fn from_bytes(bytes: &[u8]) -> Result<Pipeline> {
    let (header, payload) = read_header(bytes)?;
    header
        .params
        .check()
        .map_err(|e| Error::BadModel(format!("parameters: {e}")))?;
    let tokenizer = Tokenizer::from_json(
        header.params.tokenizer.clone(),
        &header.tokenizer.to_string(),
    )?;
    let vocab = std::str::from_utf8(section(&header, payload, "vocabulary")?)
        .map_err(|_| Error::BadModel("vocabulary is not UTF-8".into()))?;
    let terms: Vec<String> = if vocab.is_empty() {
        Vec::new()
    } else {
        vocab.split('\n').map(str::to_owned).collect()
    };
    let d = terms.len();
    if d != header.n_features {
        return Err(Error::BadModel(format!(
            "{d} terms but n_features {}",
            header.n_features
        )));
    }
    let idf_bytes = section(&header, payload, "idf")?;
    if idf_bytes.len() != d * 8 {
        return Err(Error::BadModel("idf section has the wrong length".into()));
    }
    let idf = idf_bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8")))
        .collect();
    let vectorizer = TfidfVectorizer::from_parts(
        header.params.vocabulary.clone(),
        header.params.tfidf.clone(),
        terms,
        idf,
    )?;
    let mut heads = Vec::new();
    for (i, h) in header.heads.iter().enumerate() {
        let labels = LabelSet::from_sorted(h.labels.clone())?;
        let k = labels.len();
        let name = format!("head.{i}.weights");
        let w = read_f32(section(&header, payload, &name)?, d * k, &name)?;
        let name = format!("head.{i}.bias");
        let b = read_f32(section(&header, payload, &name)?, k, &name)?;
        let weights =
            Array2::from_shape_vec((d, k), w).map_err(|e| Error::BadModel(e.to_string()))?;
        heads.push(Head {
            name: h.name.clone(),
            model: LogisticModel::from_parts(labels, weights, Array1::from(b))?,
        });
    }
    if heads.is_empty() {
        return Err(Error::BadModel("the model has no heads".into()));
    }
    Ok(Pipeline {
        params: header.params,
        tokenizer,
        vectorizer,
        heads,
        summary: header.training,
    })
}

impl Pipeline {
    /// Save to `path` atomically (temporary file in the same directory, then rename).
    ///
    /// # Errors
    /// I/O errors; an existing file at `path` is left untouched on failure.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = to_bytes(self);
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let file_name = path.file_name().ok_or_else(|| {
            Error::param("model", path.display(), "the model path must name a file")
        })?;
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            file_name.to_string_lossy(),
            std::process::id()
        ));
        let result = (|| -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(std::io::Error::new(
                e.kind(),
                format!("cannot write model {}: {e}", path.display()),
            )
            .into());
        }
        Ok(())
    }

    /// Load a model file.
    ///
    /// # Errors
    /// I/O errors, [`Error::BadModel`], [`Error::UnsupportedFormat`].
    pub fn load(path: &Path) -> Result<Pipeline> {
        let bytes = std::fs::read(path).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot read model {}: {e}", path.display()),
            )
        })?;
        from_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;

    fn fitted() -> Pipeline {
        let data = Dataset {
            texts: vec![
                "troops shelled the town".into(),
                "envoys signed a truce".into(),
                "café talks".into(),
            ],
            lines: vec![1, 2, 3],
            head_names: vec!["topic".into()],
            labels: vec![vec![
                "security".into(),
                "diplomacy".into(),
                "diplomacy".into(),
            ]],
            ..Default::default()
        };
        Pipeline::fit(PipelineParams::default(), &data, &mut |_| {})
            .unwrap()
            .0
    }

    #[test]
    fn round_trip_is_byte_identical() {
        let p = fitted();
        let bytes = to_bytes(&p);
        let q = from_bytes(&bytes).unwrap();
        assert_eq!(to_bytes(&q), bytes);
        assert_eq!(q.predict(&["café truce"]), p.predict(&["café truce"]));
    }

    #[test]
    fn rejects_foreign_truncated_and_future_files() {
        let bytes = to_bytes(&fitted());
        assert!(matches!(from_bytes(b"hello"), Err(Error::BadModel(_))));
        assert!(matches!(
            from_bytes(&bytes[..bytes.len() - 3]),
            Err(Error::BadModel(_))
        ));
        let text = String::from_utf8_lossy(&bytes)
            .replace("\"format_version\": 1", "\"format_version\": 9");
        let mut future = text.into_bytes();
        future.truncate(bytes.len());
        assert!(matches!(
            from_bytes(&future),
            Err(Error::UnsupportedFormat {
                found: 9,
                supported: 1
            })
        ));
    }
}

//! The model file's framing: signature, JSON header, binary sections; atomic writes.
//!
//! Layout:
//!
//! ```text
//! "NEWSCLASS-MODEL\n"            16 bytes, magic
//! header length                 u32, little-endian
//! header                        JSON (format_version, params, tokenizer.json, label sets,
//!                               training summary, section table)
//! "\n"
//! payload                       binary sections, little-endian:
//!   vocabulary                  terms in column order, UTF-8, separated by '\n' (word block)
//!   idf                         f64 per column (word block)
//!   char.vocabulary             character n-grams in column order, each a u8 byte length and
//!                               its UTF-8 bytes (only when the model has character n-grams)
//!   char.idf                    f64 per column of the character block
//!   head.N.weights              f32, n_features × n_classes, row-major
//!   head.N.bias                 f32 per class
//! ```
//!
//! This module knows nothing of what the sections mean: each stage writes and reads its own
//! (see [`crate::Pipeline::to_bytes`]). The header is readable with `head -c` or
//! `newsclass info`. Nothing in it depends on time or machine, so the same data, parameters and
//! seed give the same bytes. Files are written to a temporary file in the target directory and
//! renamed into place, so a failed save never damages an existing model.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ModelError, Result};

/// The magic bytes that open every model file.
pub const MAGIC: &[u8; 16] = b"NEWSCLASS-MODEL\n";
/// The `format` field of every header.
pub const FORMAT: &str = "newsclass-model";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Where a binary section lies in the payload (an entry of the header's section table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Section name.
    pub name: String,
    /// Element type: `utf8`, `u8len-utf8` (length-prefixed strings), `f64le` or `f32le`.
    pub dtype: String,
    /// Offset in bytes from the start of the payload.
    pub offset: u64,
    /// Length in bytes.
    pub bytes: u64,
}

/// Sections being written: the payload and its table.
#[derive(Debug, Default)]
pub(crate) struct Sections {
    payload: Vec<u8>,
    table: Vec<Section>,
}

impl Sections {
    /// Append a section.
    pub(crate) fn add(&mut self, name: &str, dtype: &str, bytes: Vec<u8>) {
        let offset = self.payload.len() as u64;
        self.payload.extend_from_slice(&bytes);
        self.table.push(Section {
            name: name.to_string(),
            dtype: dtype.to_string(),
            offset,
            bytes: bytes.len() as u64,
        });
    }

    /// The section table.
    pub(crate) fn table(&self) -> &[Section] {
        &self.table
    }

    /// The payload.
    pub(crate) fn payload(&self) -> &[u8] {
        &self.payload
    }
}

/// A whole file: magic, header length, header JSON, newline, payload.
pub(crate) fn frame(header_json: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 5 + header_json.len() + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header_json.len() as u32).to_le_bytes());
    out.extend_from_slice(header_json);
    out.push(b'\n');
    out.extend_from_slice(payload);
    out
}

/// Split a file into its header (checked for format and version) and its payload.
pub(crate) fn unframe(bytes: &[u8]) -> Result<(serde_json::Value, &[u8])> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or(ModelError::Signature)?;
    let (len, rest) = rest
        .split_first_chunk::<4>()
        .ok_or(ModelError::TruncatedHeader)?;
    let len = u32::from_le_bytes(*len) as usize;
    if rest.len() < len + 1 {
        return Err(ModelError::TruncatedHeader.into());
    }
    let (json, payload) = rest.split_at(len);
    let payload = &payload[1..];
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| ModelError::Header(format!("not JSON: {e}")))?;
    if value.get("format").and_then(|v| v.as_str()) != Some(FORMAT) {
        return Err(ModelError::Header(format!("lacks format \"{FORMAT}\"")).into());
    }
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| ModelError::Header("lacks format_version".into()))?;
    if version != u64::from(FORMAT_VERSION) {
        return Err(Error::UnsupportedFormat {
            found: u32::try_from(version).unwrap_or(u32::MAX),
            supported: FORMAT_VERSION,
        });
    }
    Ok((value, payload))
}

/// The bytes of section `name`.
pub(crate) fn section<'a>(table: &[Section], payload: &'a [u8], name: &str) -> Result<&'a [u8]> {
    let s = table
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| ModelError::MissingSection {
            name: name.to_string(),
        })?;
    let bounds = || ModelError::SectionBounds {
        name: name.to_string(),
    };
    let start = usize::try_from(s.offset).map_err(|_| bounds())?;
    let end = start
        .checked_add(usize::try_from(s.bytes).map_err(|_| bounds())?)
        .ok_or_else(bounds)?;
    Ok(payload.get(start..end).ok_or_else(bounds)?)
}

/// Read little-endian `f32`s from section `name`, which must hold exactly `n` finite values.
pub(crate) fn f32_section(name: &str, bytes: &[u8], n: usize) -> Result<Vec<f32>> {
    if bytes.len() != n * 4 {
        return Err(ModelError::SectionLength {
            name: name.to_string(),
            found: bytes.len() as u64,
            expected: n as u64 * 4,
        }
        .into());
    }
    let v: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("chunks of 4")))
        .collect();
    if v.iter().any(|x| !x.is_finite()) {
        return Err(ModelError::NonFinite {
            name: name.to_string(),
        }
        .into());
    }
    Ok(v)
}

/// Little-endian bytes of `f32` values.
pub(crate) fn f32_bytes<'a>(v: impl IntoIterator<Item = &'a f32>) -> Vec<u8> {
    v.into_iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Write `bytes` to `path` atomically: a temporary file in the same directory, synced, then
/// renamed over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::param("model", path.display(), "the model path must name a file"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
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

/// Read a whole model file.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot read model {}: {e}", path.display()),
        )
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dataset, Pipeline, PipelineParams};

    fn fitted() -> Pipeline {
        let data = Dataset::new([
            "troops shelled the town",
            "envoys signed a truce",
            "café talks",
        ])
        .unwrap()
        .with_head("topic", ["security", "diplomacy", "diplomacy"])
        .unwrap();
        Pipeline::fit(&PipelineParams::default().check().unwrap(), &data).unwrap()
    }

    #[test]
    fn round_trip_is_byte_identical() {
        let p = fitted();
        let bytes = p.to_bytes();
        let q = Pipeline::from_bytes(&bytes).unwrap();
        assert_eq!(q.to_bytes(), bytes);
        assert_eq!(q.predict(&["café truce"]), p.predict(&["café truce"]));
    }

    #[test]
    fn rejects_foreign_truncated_and_future_files() {
        let bytes = fitted().to_bytes();
        assert!(matches!(
            Pipeline::from_bytes(b"hello"),
            Err(Error::BadModel(ModelError::Signature))
        ));
        assert!(matches!(
            Pipeline::from_bytes(&bytes[..bytes.len() - 3]),
            Err(Error::BadModel(ModelError::SectionBounds { .. }))
        ));
        let text = String::from_utf8_lossy(&bytes)
            .replace("\"format_version\": 1", "\"format_version\": 9");
        let mut future = text.into_bytes();
        future.truncate(bytes.len());
        assert!(matches!(
            Pipeline::from_bytes(&future),
            Err(Error::UnsupportedFormat {
                found: 9,
                supported: 1
            })
        ));
    }
}

//! The model file's framing: signature, JSON header, binary sections; atomic writes.
//!
//! Layout:
//!
//! ```text
//! "NEWSCLASS-MODEL\n"            16 bytes, magic
//! header length                 u32, little-endian
//! header                        JSON (format_version, params, tokenizer.json, label sets,
//!                               training summary, section table with each section's SHA-256)
//! "\n"
//! payload                       binary sections, little-endian:
//!   vocabulary                  terms in column order, UTF-8, separated by '\n' (word block)
//!   idf                         f64 per column (word block)
//!   char.vocabulary             character n-grams in column order, each a u8 byte length and
//!                               its UTF-8 bytes (only when the model has character n-grams)
//!   char.idf                    f64 per column of the character block
//!   head.N.weights              f32, n_features × n_classes, row-major
//!   head.N.bias                 f32 per class
//!   encoder.config              the sentence encoder's config.json, UTF-8 (format version 3,
//!   encoder.tokenizer           its tokenizer.json, UTF-8          when the model carries
//!   encoder.weights             a safetensors file, F32 or F16      its encoder)
//! "NCSHA256"                    8 bytes, then the SHA-256 of the header JSON (32 bytes)
//! ```
//!
//! On load every checksum is verified, the sections must fill the payload exactly (no trailing
//! bytes), and numeric sections must hold finite values: a damaged file is refused with the name
//! of the damaged part. Format version 1 (written before checksums) has no section checksums and
//! no trailer; it still loads, with the other checks.
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
/// The newest format version this build reads and writes: version 3 adds the sentence-encoder
/// block (an `encoder` identity in the header and, unless only the identity is recorded, the
/// `encoder.*` sections). Models without an encoder are still written as version
/// [`TFIDF_FORMAT_VERSION`], byte for byte as before, so older builds read them.
pub const FORMAT_VERSION: u32 = 3;
/// The format version of models without an encoder block.
pub const TFIDF_FORMAT_VERSION: u32 = 2;
/// The oldest format version this build reads.
pub const OLDEST_FORMAT_VERSION: u32 = 1;
/// Opens the trailer that holds the header's checksum (format version 2).
const TRAILER: &[u8; 8] = b"NCSHA256";
const TRAILER_LEN: usize = 8 + 32;

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
    /// SHA-256 of the section's bytes, hex (format version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
            sha256: Some(hex(&sha256(&bytes))),
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

/// A whole file: magic, header length, header JSON, newline, payload, trailer.
pub(crate) fn frame(header_json: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(MAGIC.len() + 5 + header_json.len() + payload.len() + TRAILER_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header_json.len() as u32).to_le_bytes());
    out.extend_from_slice(header_json);
    out.push(b'\n');
    out.extend_from_slice(payload);
    out.extend_from_slice(TRAILER);
    out.extend_from_slice(&sha256(header_json));
    out
}

/// Split a file into its header (checked for format, version and, in version 2, its checksum)
/// and its payload.
pub(crate) fn unframe(bytes: &[u8]) -> Result<(serde_json::Value, &[u8])> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or(ModelError::Signature)?;
    let (len, rest) = rest
        .split_first_chunk::<4>()
        .ok_or(ModelError::TruncatedHeader)?;
    let len = u32::from_le_bytes(*len) as usize;
    if rest.len() < len.saturating_add(1) {
        return Err(ModelError::TruncatedHeader.into());
    }
    let (json, payload) = rest.split_at(len);
    if payload[0] != b'\n' {
        return Err(ModelError::Header(
            "does not end with a line break where its length says".into(),
        )
        .into());
    }
    let mut payload = &payload[1..];
    // Version 2 ends with the header's checksum; version 1 has no trailer.
    let trailer = payload.len().checked_sub(TRAILER_LEN).and_then(|at| {
        let (p, t) = payload.split_at(at);
        t.starts_with(TRAILER).then_some((p, &t[TRAILER.len()..]))
    });
    let header_intact = trailer.map(|(_, digest)| sha256(json).as_slice() == digest);
    let damaged = || -> Error {
        ModelError::Checksum {
            section: "header".into(),
        }
        .into()
    };
    let value: serde_json::Value = match serde_json::from_slice(json) {
        Ok(v) => v,
        Err(_) if header_intact == Some(false) => return Err(damaged()),
        Err(e) => return Err(ModelError::Header(format!("not JSON: {e}")).into()),
    };
    if value.get("format").and_then(|v| v.as_str()) != Some(FORMAT) {
        return Err(ModelError::Header(format!("lacks format \"{FORMAT}\"")).into());
    }
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| ModelError::Header("lacks format_version".into()))?;
    // The version decides how the rest is read, so it is judged first: a file from a newer
    // build is reported as such even though this build cannot check it.
    if !(u64::from(OLDEST_FORMAT_VERSION)..=u64::from(FORMAT_VERSION)).contains(&version) {
        return Err(Error::UnsupportedFormat {
            found: u32::try_from(version).unwrap_or(u32::MAX),
            supported: FORMAT_VERSION,
        });
    }
    if header_intact == Some(false) {
        return Err(damaged());
    }
    let has_trailer = trailer.is_some();
    if let Some((p, _)) = trailer {
        payload = p;
    }
    if version >= 2 && !has_trailer {
        return Err(ModelError::Checksum {
            section: "trailer (the file is truncated or has trailing bytes)".into(),
        }
        .into());
    }
    Ok((value, payload))
}

/// Check a section table against its payload: sections lie one after another and fill it
/// exactly, and each checksum that is present matches.
pub(crate) fn verify(table: &[Section], payload: &[u8]) -> Result<()> {
    let mut end = 0u64;
    for s in table {
        let bytes = section(table, payload, &s.name)?;
        if s.offset != end {
            return Err(ModelError::SectionBounds {
                name: s.name.clone(),
            }
            .into());
        }
        end = s.offset + s.bytes;
        if let Some(want) = &s.sha256 {
            if &hex(&sha256(bytes)) != want {
                return Err(ModelError::Checksum {
                    section: s.name.clone(),
                }
                .into());
            }
        }
    }
    if end != payload.len() as u64 {
        return Err(ModelError::TrailingBytes {
            bytes: payload.len() as u64 - end.min(payload.len() as u64),
        }
        .into());
    }
    Ok(())
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
/// renamed over `path`. A symbolic link at `path` is followed (its target is replaced); a `path`
/// that exists and is not a regular file (a directory, a device such as `/dev/full`) is refused.
/// Temporary files left in that directory by earlier saves of the same name whose process is gone
/// (killed mid-write) are removed first.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_as(path, bytes, "model")
}

/// [`write_atomic`] for a file that messages call `what` (`model`, `output`); `what` is also
/// the parameter named when `path` does not name a file.
pub(crate) fn write_atomic_as(path: &Path, bytes: &[u8], what: &'static str) -> Result<()> {
    let target = resolve_target(path, what)?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name = target
        .file_name()
        .ok_or_else(|| {
            Error::param(
                what,
                path.display(),
                format!("the {what} path must name a file"),
            )
        })?
        .to_string_lossy()
        .into_owned();
    let prefix = format!(".{file_name}.tmp-");
    remove_stale_temporaries(&dir, &prefix);
    let tmp = dir.join(format!("{prefix}{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(std::io::Error::new(
            e.kind(),
            format!("cannot write {what} {}: {e}", path.display()),
        )
        .into());
    }
    Ok(())
}

/// The file a save to `path` must replace: `path` itself, or the final target of a symbolic link
/// (which may not exist yet). Refuses an existing target that is not a regular file.
fn resolve_target(path: &Path, what: &str) -> Result<std::path::PathBuf> {
    let mut target = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&target) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&target)?;
                target = match target.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(m) if !m.is_file() => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "cannot write {what} {}: it exists and is not a regular file; choose a file name",
                        path.display()
                    ),
                )
                .into())
            }
            _ => return Ok(target),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "cannot write {what} {}: too many symbolic links",
            path.display()
        ),
    )
    .into())
}

/// Remove `dir/<prefix><pid>` files whose process no longer runs (Linux: no `/proc/<pid>`).
fn remove_stale_temporaries(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    if !Path::new("/proc/self").exists() {
        return; // no way to tell live processes from dead ones here
    }
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
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
    fn round_trip_keeps_every_bit_of_float_parameters() {
        // Found by tests/properties.rs: serde_json's default float parsing may be one ulp off,
        // so C = 45.73252116146402 came back as another number and save → load → save changed
        // the bytes. serde_json's `float_roundtrip` parses floats exactly.
        let data = Dataset::new(["troops shelled", "envoys signed", "troops signed"])
            .unwrap()
            .with_head("topic", ["security", "diplomacy", "security"])
            .unwrap();
        let params = PipelineParams::default()
            .c(45.73252116146402)
            .check()
            .unwrap();
        let p = Pipeline::fit(&params, &data).unwrap();
        let bytes = p.to_bytes();
        let q = Pipeline::from_bytes(&bytes).unwrap();
        assert_eq!(
            q.params().logistic.c.to_bits(),
            45.73252116146402f64.to_bits()
        );
        assert!(q.to_bytes() == bytes);
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
            Err(Error::BadModel(ModelError::Checksum { .. }))
        ));
        // A future version (written without this build's trailer) is refused by its version.
        let mut future = bytes[..bytes.len() - TRAILER_LEN].to_vec();
        let key = b"\"format_version\": 2";
        let at = future.windows(key.len()).position(|w| w == key).unwrap();
        future[at + key.len() - 1] = b'9';
        assert!(matches!(
            Pipeline::from_bytes(&future),
            Err(Error::UnsupportedFormat {
                found: 9,
                supported: FORMAT_VERSION
            })
        ));
    }

    /// Every single-bit flip anywhere in the file is refused (sampled positions, every bit).
    #[test]
    fn any_flipped_bit_is_refused() {
        let bytes = fitted().to_bytes();
        let step = (bytes.len() / 97).max(1);
        for at in (0..bytes.len()).step_by(step).chain([bytes.len() - 1]) {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[at] ^= 1 << bit;
                assert!(
                    Pipeline::from_bytes(&b).is_err(),
                    "flipping bit {bit} of byte {at} of {} went unnoticed",
                    bytes.len()
                );
            }
        }
    }

    #[test]
    fn damaged_sections_are_named() {
        let bytes = fitted().to_bytes();
        let mut b = bytes.clone();
        let at = b.len() - TRAILER_LEN - 5; // inside the last bias value
        b[at] ^= 0x40;
        match Pipeline::from_bytes(&b) {
            Err(Error::BadModel(ModelError::Checksum { section })) => {
                assert_eq!(section, "head.0.bias")
            }
            r => panic!("unexpected {r:?}"),
        }
        let mut b = bytes.clone();
        let at = b.windows(7).position(|w| w == b"created").unwrap();
        b[at + 12] ^= 0x01; // inside the header JSON, in a value
        assert!(matches!(
            Pipeline::from_bytes(&b),
            Err(Error::BadModel(ModelError::Checksum { section })) if section == "header"
        ));
        let mut b = bytes;
        b.extend_from_slice(b"junk");
        assert!(matches!(
            Pipeline::from_bytes(&b),
            Err(Error::BadModel(ModelError::Checksum { .. }))
        ));
    }

    #[test]
    fn format_1_files_load_and_refuse_trailing_bytes() {
        let v1 = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model-v1.newsclass"),
        )
        .unwrap();
        let p = Pipeline::from_bytes(&v1).unwrap();
        assert_eq!(p.heads().len(), 2);
        let mut b = v1.clone();
        b.extend_from_slice(&[0; 3]);
        assert!(matches!(
            Pipeline::from_bytes(&b),
            Err(Error::BadModel(ModelError::TrailingBytes { bytes: 3 }))
        ));
    }

    #[test]
    fn non_finite_numbers_are_refused() {
        let mut bytes = Vec::new();
        for v in [1.0f32, f32::NAN] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        assert!(matches!(
            f32_section("head.0.bias", &bytes, 2),
            Err(Error::BadModel(ModelError::NonFinite { .. }))
        ));
    }

    #[test]
    fn saves_refuse_non_files_follow_symlinks_and_clean_stale_temporaries() {
        let dir = std::env::temp_dir().join(format!("newsclass-persist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = fitted();
        // A directory at the target is refused.
        let sub = dir.join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        assert!(p.save(&sub).is_err());
        // A symbolic link is written through: the link stays, its target gets the model.
        let real = dir.join("real.newsclass");
        let link = dir.join("link.newsclass");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        p.save(&link).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), p.to_bytes());
        // A temporary file of a dead process (pid far above pid_max) is removed by the next save.
        let stale = dir.join(".real.newsclass.tmp-4194305");
        std::fs::write(&stale, b"partial").unwrap();
        p.save(&real).unwrap();
        assert!(!stale.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

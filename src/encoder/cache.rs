//! A disk cache of sentence embeddings, so that `train`, `cv` and calibration embed a text once
//! per encoder, across runs (embedding is most of their time; see the README).
//!
//! One file per encoder output identity (weights, precision, dimension, pooling, token limit:
//! [`EncoderIdentity::same_output`]) in the cache directory. A record is the SHA-256 of the text,
//! its embedding (`dim` little-endian `f32`, bit for bit what the encoder computed; an int8
//! embedding does not depend on the texts embedded with it, an f32 or f16 one by at most 1e-6)
//! and a check (the first 8 bytes of
//! the SHA-256 of the key and the vector). New records are appended in one write; a file whose
//! header, length or any check is wrong is reported in [`CacheStats::damaged`], its valid
//! records before the damage are kept and the file is rewritten whole (to a temporary file,
//! then renamed), so a damaged cache costs time, never a wrong embedding.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::{Encoder, EncoderIdentity};

const MAGIC: &[u8; 8] = b"NCEMBED1";
const KEY: usize = 32;
const CHECK: usize = 8;

/// What the cache did, summed over the calls since it was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Texts found in the cache.
    pub hits: usize,
    /// Texts embedded (and added to the cache).
    pub misses: usize,
    /// Damaged cache files found (and rewritten), with what was wrong.
    pub damaged: Vec<String>,
    /// Errors reading or writing the cache (the embeddings were computed anyway).
    pub errors: Vec<String>,
}

/// A directory of cached embeddings; give it to an encoder with [`Encoder::with_cache`].
#[derive(Debug)]
pub struct EmbeddingCache {
    dir: PathBuf,
    stats: Mutex<CacheStats>,
}

impl EmbeddingCache {
    /// A cache in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> EmbeddingCache {
        EmbeddingCache {
            dir: dir.into(),
            stats: Mutex::new(CacheStats::default()),
        }
    }

    /// The default directory: `$NEWSCLASS_CACHE/embeddings`, else
    /// `$XDG_CACHE_HOME/newsclass/embeddings`, else `$HOME/.cache/newsclass/embeddings`; `None`
    /// when none of these variables is set.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        let root = var("NEWSCLASS_CACHE")
            .map(PathBuf::from)
            .or_else(|| var("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("newsclass")))
            .or_else(|| var("HOME").map(|d| PathBuf::from(d).join(".cache").join("newsclass")))?;
        Some(root.join("embeddings"))
    }

    /// The cache's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the cache did so far.
    pub fn stats(&self) -> CacheStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The file holding the embeddings of encoders with this output identity.
    pub fn file_for(&self, identity: &EncoderIdentity) -> PathBuf {
        let id = identity_key(identity);
        let name: String = identity
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .take(60)
            .collect();
        self.dir.join(format!(
            "{name}-{}-{}.embcache",
            identity.precision,
            &hex(&id)[..16]
        ))
    }

    /// The embeddings of `texts` by `encoder`, row after row, from the cache where present;
    /// the others are embedded (each distinct text once) and added. Cache I/O errors are
    /// recorded in the stats and do not fail the call.
    pub(crate) fn embed_flat(&self, encoder: &Encoder, texts: &[&str]) -> Vec<f32> {
        let dim = encoder.dim();
        let path = self.file_for(encoder.identity());
        let id = identity_key(encoder.identity());
        let mut stats = CacheStats::default();
        let (mut cached, damage) = match read(&path, &id, dim) {
            Ok(r) => r,
            Err(e) => {
                stats.errors.push(format!(
                    "cannot read the embedding cache {}: {e}",
                    path.display()
                ));
                (Cached::default(), None)
            }
        };
        let keys: Vec<[u8; KEY]> = texts.iter().map(|t| text_key(t)).collect();
        let mut missing: Vec<usize> = Vec::new();
        let mut seen: HashMap<[u8; KEY], ()> = HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            if !cached.index.contains_key(k) && seen.insert(*k, ()).is_none() {
                missing.push(i);
            }
        }
        let new_texts: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
        let new_rows = if new_texts.is_empty() {
            Vec::new()
        } else {
            encoder.embed_flat_uncached(&new_texts)
        };
        let mut appended = Vec::with_capacity(missing.len() * record_len(dim));
        for (j, &i) in missing.iter().enumerate() {
            let row = &new_rows[j * dim..(j + 1) * dim];
            push_record(&mut appended, &keys[i], row);
            cached.insert(keys[i], row);
        }
        let written = match &damage {
            Some(what) => {
                stats.damaged.push(format!("{}: {what}", path.display()));
                rewrite(&path, &id, dim, &cached)
            }
            None if !appended.is_empty() => append(&path, &id, dim, &appended),
            None => Ok(()),
        };
        if let Err(e) = written {
            stats.errors.push(format!(
                "cannot write the embedding cache {}: {e}",
                path.display()
            ));
        }
        let mut out = Vec::with_capacity(texts.len() * dim);
        for k in &keys {
            out.extend_from_slice(cached.get(k, dim));
        }
        stats.misses = missing.len();
        stats.hits = texts.len() - missing.len();
        if let Ok(mut s) = self.stats.lock() {
            s.hits += stats.hits;
            s.misses += stats.misses;
            s.damaged.append(&mut stats.damaged);
            s.errors.append(&mut stats.errors);
        }
        out
    }
}

/// Cached rows in file order and where each key's row starts.
#[derive(Debug, Default)]
struct Cached {
    keys: Vec<[u8; KEY]>,
    rows: Vec<f32>,
    index: HashMap<[u8; KEY], usize>,
}

impl Cached {
    fn insert(&mut self, key: [u8; KEY], row: &[f32]) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.index.entry(key) {
            e.insert(self.rows.len());
            self.keys.push(key);
            self.rows.extend_from_slice(row);
        }
    }

    fn get(&self, key: &[u8; KEY], dim: usize) -> &[f32] {
        let at = self.index[key];
        &self.rows[at..at + dim]
    }
}

fn record_len(dim: usize) -> usize {
    KEY + 4 * dim + CHECK
}

fn header(id: &[u8; 32], dim: usize) -> Vec<u8> {
    let mut h = Vec::with_capacity(8 + 4 + 32);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&(dim as u32).to_le_bytes());
    h.extend_from_slice(id);
    h
}

fn push_record(out: &mut Vec<u8>, key: &[u8; KEY], row: &[f32]) {
    let start = out.len();
    out.extend_from_slice(key);
    for v in row {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let check = Sha256::digest(&out[start..]);
    out.extend_from_slice(&check[..CHECK]);
}

/// Reads a cache file: its valid records, and what was wrong if it is damaged. A missing file
/// is an empty cache.
fn read(path: &Path, id: &[u8; 32], dim: usize) -> std::io::Result<(Cached, Option<String>)> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Cached::default(), None)),
        Err(e) => return Err(e),
    };
    let head = header(id, dim);
    if bytes.len() < head.len() || bytes[..head.len()] != head[..] {
        return Ok((
            Cached::default(),
            Some("not this encoder's cache file".into()),
        ));
    }
    let mut cached = Cached::default();
    let n = record_len(dim);
    let body = &bytes[head.len()..];
    for (i, rec) in body.chunks(n).enumerate() {
        if rec.len() < n {
            return Ok((cached, Some(format!("record {} is cut short", i + 1))));
        }
        let check = Sha256::digest(&rec[..n - CHECK]);
        if check[..CHECK] != rec[n - CHECK..] {
            return Ok((cached, Some(format!("record {} fails its check", i + 1))));
        }
        let key: [u8; KEY] = rec[..KEY].try_into().expect("key length");
        let row: Vec<f32> = rec[KEY..n - CHECK]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        cached.insert(key, &row);
    }
    Ok((cached, None))
}

fn append(path: &Path, id: &[u8; 32], dim: usize, records: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut buf = Vec::new();
    if f.metadata()?.len() == 0 {
        buf = header(id, dim);
    }
    buf.extend_from_slice(records);
    f.write_all(&buf)
}

fn rewrite(path: &Path, id: &[u8; 32], dim: usize, cached: &Cached) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut buf = header(id, dim);
    for key in &cached.keys {
        push_record(&mut buf, key, cached.get(key, dim));
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, &buf)?;
    fs::rename(&tmp, path)
}

fn text_key(text: &str) -> [u8; KEY] {
    Sha256::digest(text.as_bytes()).into()
}

/// A digest of everything in the identity that decides the output (not the name).
fn identity_key(identity: &EncoderIdentity) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [
        identity.weights_sha256.as_str(),
        &identity.precision.to_string(),
        &identity.architecture,
        &identity.dim.to_string(),
        &identity.pooling.to_string(),
        &identity.normalized.to_string(),
        &identity.max_tokens.to_string(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

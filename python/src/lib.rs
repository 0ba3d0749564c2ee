//! `newsclass._newsclass`: the extension module of the `newsclass` Python package, PyO3
//! bindings over the newsclass library.
//!
//! Every call that computes (tokenizing, fitting, predicting, evaluating, explaining) runs with
//! the GIL released, on rayon's global pool or, with `threads=N`, on a pool of N threads made
//! for the call. Results are the library's: the dicts of `classify_article` and `predict` are
//! [`newsclass::output::sentence_json`], the objects `newsclass predict --format jsonl` prints,
//! and `evaluate` returns the report `newsclass eval --format json` prints. Library errors
//! become `ValueError` (bad arguments, data or parameters), `newsclass.ModelError` (a subclass
//! of `ValueError`, for model bytes that cannot be read) or `OSError`, with the library's
//! message. The pyarrow side of `predict_arrow` is in `newsclass/_arrow.py`.

use std::path::PathBuf;
use std::sync::Arc;

use newsclass::encoder::{Encoder, EncoderStorage};
use newsclass::features::chars::{Analyzer, CharParams};
use newsclass::features::tfidf::Norm;
use newsclass::features::vocabulary::DocFreq;
use newsclass::model::logistic::ClassWeight;
use newsclass::output::{sentence_json, thresholds, JsonOptions, SentenceRef};
use newsclass::{Dataset, Error, Explanation, MinProb, Pipeline, PipelineParams, Prediction};
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString};
use serde_json::{Map, Value};

mod articles;

create_exception!(
    newsclass,
    ModelError,
    PyValueError,
    "Model bytes or a model file that newsclass cannot read: not a newsclass model, damaged, \
     truncated, or of another format version."
);

/// The default model's bytes (TF-IDF + sentence encoder, carrying the encoder's weights), when
/// `models/default.newsclass` existed at build time.
#[cfg(newsclass_default_model)]
const DEFAULT_MODEL: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../models/default.newsclass"
)));
/// The default model's bytes, when `models/default.newsclass` existed at build time.
#[cfg(not(newsclass_default_model))]
const DEFAULT_MODEL: Option<&[u8]> = None;

/// The fast model's bytes (TF-IDF only), when `models/fast.newsclass` existed at build time.
#[cfg(newsclass_fast_model)]
const FAST_MODEL: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../models/fast.newsclass"
)));
/// The fast model's bytes, when `models/fast.newsclass` existed at build time.
#[cfg(not(newsclass_fast_model))]
const FAST_MODEL: Option<&[u8]> = None;

/// A built-in model by name (`default` or `fast`) from its embedded bytes.
fn builtin(py: Python<'_>, name: &str, bytes: Option<&'static [u8]>) -> PyResult<Model> {
    let bytes = bytes.ok_or_else(|| {
        ModelError::new_err(format!(
            "this build has no built-in {name} model (models/{name}.newsclass was missing at build time); use Model.load(path)"
        ))
    })?;
    let inner = py.detach(|| Pipeline::from_bytes(bytes)).map_err(py_err)?;
    Ok(Model { inner })
}

/// A library error as the Python exception it stands for.
fn py_err(e: Error) -> PyErr {
    match e {
        Error::BadModel(_) | Error::UnsupportedFormat { .. } => ModelError::new_err(e.to_string()),
        Error::Io(io) => PyErr::from(io),
        other => PyValueError::new_err(other.to_string()),
    }
}

fn value_error(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}

/// The pool of `threads=N`: `None` uses rayon's global pool (all cores, or
/// `RAYON_NUM_THREADS`).
fn pool(threads: Option<i64>) -> PyResult<Option<rayon::ThreadPool>> {
    match threads {
        None => Ok(None),
        Some(n) if n >= 1 => rayon::ThreadPoolBuilder::new()
            .num_threads(usize::try_from(n).unwrap_or(usize::MAX))
            .build()
            .map(Some)
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start {n} threads: {e}"))),
        Some(n) => Err(value_error(format!(
            "invalid value {n} for `threads`: give at least 1, or None for all cores"
        ))),
    }
}

/// Run `f` without the GIL, on `pool` when given.
fn compute<T: Send>(
    py: Python<'_>,
    pool: &Option<rayon::ThreadPool>,
    f: impl FnOnce() -> T + Send,
) -> T {
    py.detach(|| match pool {
        Some(p) => p.install(f),
        None => f(),
    })
}

/// A JSON value as the Python object `json.loads` would make of it.
fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_u64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let l = PyList::empty(py);
            for x in a {
                l.append(to_py(py, x)?)?;
            }
            l.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

fn json_value(v: impl serde::Serialize) -> PyResult<Value> {
    serde_json::to_value(v).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// `explain=K`: at least 1.
fn explain_k(explain: Option<i64>) -> PyResult<Option<usize>> {
    match explain {
        None => Ok(None),
        Some(k) if k >= 1 => Ok(Some(usize::try_from(k).unwrap_or(usize::MAX))),
        Some(k) => Err(value_error(format!(
            "invalid value {k} for `explain`: it is the number of terms to show per head and side; give at least 1"
        ))),
    }
}

/// `min_prob=`: a probability for every head, a `{head: p}` dict, or the command line's
/// `"P"` / `"HEAD=P,..."` text; checked against `model`.
fn min_prob(model: &Pipeline, v: Option<&Bound<'_, PyAny>>) -> PyResult<Option<MinProb>> {
    let Some(v) = v else { return Ok(None) };
    let m = if v.is_none() {
        return Ok(None);
    } else if let Ok(s) = v.cast::<PyString>() {
        MinProb::parse(&s.to_cow()?).map_err(py_err)?
    } else if let Ok(d) = v.cast::<PyDict>() {
        let mut m = MinProb::default();
        for (k, p) in d.iter() {
            m = m
                .with_head(&k.extract::<String>()?, p.extract::<f64>()?)
                .map_err(py_err)?;
        }
        m
    } else if v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(
            "min_prob takes a probability, a {head: probability} dict or a string, not a bool",
        ));
    } else if let Ok(p) = v.extract::<f64>() {
        MinProb::all(p).map_err(py_err)?
    } else {
        return Err(PyTypeError::new_err(format!(
            "min_prob takes a probability, a {{head: probability}} dict or a string, not {}",
            v.get_type().name()?
        )));
    };
    m.check(model).map_err(py_err)?;
    Ok(Some(m))
}

/// The sentence objects of classified texts.
fn objects(
    rows: &[(usize, usize, usize, &str)],
    preds: &[Prediction<'_>],
    opts: JsonOptions<'_>,
    explanations: Option<&[Vec<Explanation>]>,
    source: Option<&str>,
) -> Vec<Map<String, Value>> {
    rows.iter()
        .zip(preds)
        .enumerate()
        .map(|(i, (&(index, start, end, text), prediction))| {
            let s = SentenceRef {
                index,
                start,
                end,
                id: None,
                text,
                prediction,
            };
            let e = explanations.and_then(|e| e.get(i)).map(Vec::as_slice);
            let mut obj = sentence_json(&s, opts, e);
            if let Some(src) = source {
                obj.insert("source".into(), Value::String(src.to_string()));
            }
            obj
        })
        .collect()
}

fn list_of_objects<'py>(
    py: Python<'py>,
    objs: Vec<Map<String, Value>>,
) -> PyResult<Bound<'py, PyList>> {
    let l = PyList::empty(py);
    for o in objs {
        l.append(to_py(py, &Value::Object(o))?)?;
    }
    Ok(l)
}

/// A head's labels and scores over one chunk of an Arrow string array, as little-endian bytes.
struct HeadColumns {
    indices: Vec<u8>,
    scores: Vec<u8>,
}

/// Read offset `i` of an Arrow offsets buffer (`i32`, or `i64` for `large_string`).
fn read_offset(offsets: &[u8], i: usize, large: bool) -> Option<usize> {
    if large {
        let b = offsets.get(i * 8..i * 8 + 8)?;
        usize::try_from(i64::from_le_bytes(b.try_into().ok()?)).ok()
    } else {
        let b = offsets.get(i * 4..i * 4 + 4)?;
        usize::try_from(i32::from_le_bytes(b.try_into().ok()?)).ok()
    }
}

/// Is bit `i` of an Arrow validity bitmap set (no bitmap: every row is valid)?
fn is_valid(validity: Option<&[u8]>, i: usize) -> bool {
    validity.is_none_or(|v| v.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0))
}

/// Rows `offset..offset + n` of an Arrow string array, given by its buffers (as
/// `newsclass._arrow` hands them over).
struct StringChunk<'a> {
    n: usize,
    offset: usize,
    /// `large_string` (`i64` offsets) rather than `string` (`i32`).
    large: bool,
    validity: Option<&'a [u8]>,
    offsets: &'a [u8],
    data: &'a [u8],
}

impl<'a> StringChunk<'a> {
    /// The valid (non-null) strings, each with its index `i` in `0..n`; an error names the row
    /// whose offsets or UTF-8 are bad.
    fn valid_strings(&self) -> Result<Vec<(usize, &'a str)>, String> {
        let StringChunk {
            n,
            offset,
            large,
            validity,
            offsets,
            data,
        } = *self;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let row = offset + i;
            if !is_valid(validity, row) {
                continue;
            }
            let (a, b) = match (
                read_offset(offsets, row, large),
                read_offset(offsets, row + 1, large),
            ) {
                (Some(a), Some(b)) if a <= b && b <= data.len() => (a, b),
                _ => {
                    return Err(format!(
                        "row {i}: the string array's offsets are out of bounds"
                    ))
                }
            };
            let text = std::str::from_utf8(&data[a..b])
                .map_err(|_| format!("row {i}: the string is not valid UTF-8"))?;
            out.push((i, text));
        }
        Ok(out)
    }
}

/// Predict the rows of an Arrow string chunk. Null rows get label 0 and score 0 (the caller
/// marks them null).
fn predict_buffers(model: &Pipeline, chunk: &StringChunk<'_>) -> Result<Vec<HeadColumns>, String> {
    let n = chunk.n;
    let (rows, texts): (Vec<usize>, Vec<&str>) = chunk.valid_strings()?.into_iter().unzip();
    let preds = model.predict(&texts);
    let mut heads: Vec<HeadColumns> = (0..model.heads().len())
        .map(|_| HeadColumns {
            indices: vec![0; n * 4],
            scores: vec![0; n * 4],
        })
        .collect();
    for (&i, p) in rows.iter().zip(&preds) {
        for (h, head) in p.heads().enumerate() {
            let label = i32::try_from(head.label_id()).unwrap_or(i32::MAX);
            heads[h].indices[i * 4..i * 4 + 4].copy_from_slice(&label.to_le_bytes());
            heads[h].scores[i * 4..i * 4 + 4].copy_from_slice(&head.score().to_le_bytes());
        }
    }
    Ok(heads)
}

/// The validity bitmap of rows `offset..offset + n`, starting at bit 0; `None` when every row is
/// valid.
fn shifted_validity(validity: Option<&[u8]>, offset: usize, n: usize) -> Option<Vec<u8>> {
    let v = validity?;
    let mut out = vec![0u8; n.div_ceil(8)];
    let mut all = true;
    for i in 0..n {
        if is_valid(Some(v), offset + i) {
            out[i / 8] |= 1 << (i % 8);
        } else {
            all = false;
        }
    }
    (!all).then_some(out)
}

/// Parse a document-frequency bound given as an int (a count) or a float (a fraction).
fn doc_freq(name: &'static str, v: &Bound<'_, PyAny>) -> PyResult<DocFreq> {
    let s = if v.is_instance_of::<PyBool>() {
        None
    } else if v.is_instance_of::<PyInt>() {
        Some(v.extract::<i64>()?.to_string())
    } else if let Ok(f) = v.extract::<f64>() {
        Some(format!("{f:?}"))
    } else {
        None
    };
    let s = s.ok_or_else(|| {
        PyTypeError::new_err(format!(
            "{name} takes an int (a number of documents) or a float (a fraction of them)"
        ))
    })?;
    DocFreq::parse(name, &s).map_err(py_err)
}

fn analyzer(s: &str) -> PyResult<Analyzer> {
    match s {
        "word" => Ok(Analyzer::Word),
        "char" => Ok(Analyzer::Char),
        "char_wb" => Ok(Analyzer::CharWb),
        _ => Err(value_error(format!(
            "invalid value \"{s}\" for `analyzer`: choose \"word\", \"char\" or \"char_wb\""
        ))),
    }
}

/// A fitted newsclass pipeline: tokenizer, TF-IDF (and, in an encoder model, a sentence
/// embedding) and one logistic-regression head per label column.
#[pyclass(frozen, module = "newsclass")]
struct Model {
    inner: Pipeline,
}

#[pymethods]
impl Model {
    /// The default model embedded at build time (topic and stance of conflict news): TF-IDF
    /// plus the MiniLM sentence encoder, whose weights the model carries (what `newsclass
    /// predict` uses without `--model`). Hundreds of times slower than `Model.fast()`.
    #[staticmethod]
    fn default(py: Python<'_>) -> PyResult<Model> {
        builtin(py, "default", DEFAULT_MODEL)
    }

    /// The fast model embedded at build time: the same heads and labels from TF-IDF alone
    /// (`newsclass predict --model fast`), for volume.
    #[staticmethod]
    fn fast(py: Python<'_>) -> PyResult<Model> {
        builtin(py, "fast", FAST_MODEL)
    }

    /// Load a model file. `encoder=DIR` (a sentence-transformers BERT directory, as the
    /// command line's `--encoder`) supplies the sentence encoder of a model trained with
    /// `encoder_embed="none"`, which records only its identity.
    #[staticmethod]
    #[pyo3(signature = (path, encoder=None))]
    fn load(py: Python<'_>, path: PathBuf, encoder: Option<PathBuf>) -> PyResult<Model> {
        let encoder = load_encoder(py, encoder)?;
        let inner = py
            .detach(|| Pipeline::load_with_encoder(&path, encoder.as_ref()))
            .map_err(py_err)?;
        Ok(Model { inner })
    }

    /// Rebuild a model from the bytes of a model file (`encoder=` as for `load`).
    #[staticmethod]
    #[pyo3(signature = (data, encoder=None))]
    fn from_bytes(py: Python<'_>, data: &[u8], encoder: Option<PathBuf>) -> PyResult<Model> {
        let encoder = load_encoder(py, encoder)?;
        let inner = py
            .detach(|| Pipeline::from_bytes_with_encoder(data, encoder.as_ref()))
            .map_err(py_err)?;
        Ok(Model { inner })
    }

    /// The bytes of the model file.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = py.detach(|| self.inner.to_bytes());
        PyBytes::new(py, &bytes)
    }

    /// Save atomically to `path`.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.save(&path)).map_err(py_err)
    }

    /// Pickling goes through the model file's bytes.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let from_bytes = slf.get_type().getattr("from_bytes")?;
        Ok((from_bytes, (slf.get().to_bytes(slf.py()),)))
    }

    fn __repr__(&self) -> String {
        let heads: Vec<String> = self
            .inner
            .heads()
            .iter()
            .map(|h| format!("{:?}", h.name))
            .collect();
        let encoder = self
            .inner
            .encoder()
            .map(|e| format!(", encoder={:?}", e.identity().name))
            .unwrap_or_default();
        format!(
            "Model(heads=[{}], n_features={}{encoder})",
            heads.join(", "),
            self.inner.n_features()
        )
    }

    /// Head names, in model order.
    #[getter]
    fn heads(&self) -> Vec<String> {
        self.inner.heads().iter().map(|h| h.name.clone()).collect()
    }

    /// Number of features (columns of the TF-IDF rows).
    #[getter]
    fn n_features(&self) -> usize {
        self.inner.n_features()
    }

    /// The sorted labels of head `head`.
    fn labels(&self, head: &str) -> PyResult<Vec<String>> {
        self.inner
            .labels(head)
            .map(<[String]>::to_vec)
            .map_err(py_err)
    }

    /// Every option of the pipeline, as saved in the model file.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &json_value(self.inner.params())?)
    }

    /// The model file's header: format, parameters, heads and labels, training summary,
    /// tokenizer; what `newsclass info` prints.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &json_value(self.inner.header())?)
    }

    /// Split an article into sentences and classify each: one dict per sentence, as
    /// `newsclass predict --format jsonl` prints them (with `source` only when given).
    #[pyo3(signature = (text, probs=false, explain=None, min_prob=None, source=None, threads=None))]
    #[allow(clippy::too_many_arguments)]
    fn classify_article<'py>(
        &self,
        py: Python<'py>,
        text: String,
        probs: bool,
        explain: Option<i64>,
        min_prob: Option<&Bound<'py, PyAny>>,
        source: Option<String>,
        threads: Option<i64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let k = explain_k(explain)?;
        let m = self::min_prob(&self.inner, min_prob)?;
        let pool = pool(threads)?;
        let model = &self.inner;
        let objs = compute(py, &pool, || {
            let sentences = model.classify_article(&text);
            let rows: Vec<(usize, usize, usize, &str)> = sentences
                .iter()
                .map(|s| (s.index, s.start, s.end, s.text.as_str()))
                .collect();
            let explanations =
                k.map(|k| model.explain_all(&rows.iter().map(|r| r.3).collect::<Vec<_>>(), k));
            let t = m.as_ref().map(|m| thresholds(model, m));
            let preds: Vec<Prediction<'_>> =
                sentences.iter().map(|s| s.prediction.clone()).collect();
            objects(
                &rows,
                &preds,
                JsonOptions {
                    probs,
                    thresholds: t.as_deref(),
                },
                explanations.as_deref(),
                source.as_deref(),
            )
        });
        list_of_objects(py, objs)
    }

    /// Classify texts as given (no sentence splitting): one dict per text, as `newsclass
    /// predict --input-format csv --format jsonl` prints a row (`sentence` is the 1-based row).
    #[pyo3(signature = (texts, probs=false, explain=None, min_prob=None, threads=None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        probs: bool,
        explain: Option<i64>,
        min_prob: Option<&Bound<'py, PyAny>>,
        threads: Option<i64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let k = explain_k(explain)?;
        let m = self::min_prob(&self.inner, min_prob)?;
        let pool = pool(threads)?;
        let model = &self.inner;
        let objs = compute(py, &pool, || {
            let preds = model.predict(&texts);
            let explanations = k.map(|k| model.explain_all(&texts, k));
            let rows: Vec<(usize, usize, usize, &str)> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| (i + 1, 0, t.chars().count(), t.as_str()))
                .collect();
            let t = m.as_ref().map(|m| thresholds(model, m));
            objects(
                &rows,
                &preds,
                JsonOptions {
                    probs,
                    thresholds: t.as_deref(),
                },
                explanations.as_deref(),
                None,
            )
        });
        list_of_objects(py, objs)
    }

    /// Classify a pyarrow string array (or chunked array; `string` or `large_string`) into a
    /// `pyarrow.Table` with, per head, `<head>` (dictionary-encoded label) and `<head>_score`
    /// (float32). Null texts give null rows.
    #[pyo3(signature = (texts, threads=None))]
    fn predict_arrow<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        threads: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let arrow = py.import("newsclass._arrow")?;
        let chunks = arrow.call_method1("string_chunks", (texts,))?;
        let pool = pool(threads)?;
        let model = &self.inner;
        let out = PyList::empty(py);
        for chunk in chunks.try_iter()? {
            type Chunk<'a> = (
                usize,
                usize,
                bool,
                Option<Bound<'a, PyBytes>>,
                Bound<'a, PyBytes>,
                Bound<'a, PyBytes>,
            );
            let (n, offset, large, validity, offsets, data): Chunk<'py> = chunk?.extract()?;
            let validity = validity.as_ref().map(|v| v.as_bytes());
            let strings = StringChunk {
                n,
                offset,
                large,
                validity,
                offsets: offsets.as_bytes(),
                data: data.as_bytes(),
            };
            let heads =
                compute(py, &pool, || predict_buffers(model, &strings)).map_err(value_error)?;
            let valid = shifted_validity(validity, offset, n);
            let cols = PyList::empty(py);
            for h in heads {
                cols.append((PyBytes::new(py, &h.indices), PyBytes::new(py, &h.scores)))?;
            }
            out.append((n, valid.map(|v| PyBytes::new(py, &v)), cols))?;
        }
        let labels: Vec<Vec<String>> = model
            .heads()
            .iter()
            .map(|h| h.model.labels().names().to_vec())
            .collect();
        arrow.call_method1("table", (self.heads(), labels, out))
    }

    /// Split every article of a pyarrow string array (or chunked array) into sentences and
    /// classify them: a `pyarrow.Table` with one row per sentence: `article` (the article's row
    /// in `texts`, int64), `sentence` (its number, from 1), `start` and `end` (character offsets,
    /// as `predict` gives them), `text`, and per head `<head>` (dictionary-encoded label) and
    /// `<head>_score` (float32). Null and empty articles give no rows. No Python object is made
    /// per row; this is what `newsclass.spark` runs on each Arrow batch.
    #[pyo3(signature = (texts, threads=None))]
    fn classify_articles_arrow<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        threads: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let arrow = py.import("newsclass._arrow")?;
        let chunks = arrow.call_method1("string_chunks_with_rows", (texts,))?;
        let pool = pool(threads)?;
        let model = &self.inner;
        let out = PyList::empty(py);
        for chunk in chunks.try_iter()? {
            type Chunk<'a> = (
                usize,
                usize,
                usize,
                bool,
                Option<Bound<'a, PyBytes>>,
                Bound<'a, PyBytes>,
                Bound<'a, PyBytes>,
            );
            let (base, n, offset, large, validity, offsets, data): Chunk<'py> = chunk?.extract()?;
            let strings = StringChunk {
                n,
                offset,
                large,
                validity: validity.as_ref().map(|v| v.as_bytes()),
                offsets: offsets.as_bytes(),
                data: data.as_bytes(),
            };
            let c = compute(py, &pool, || {
                articles::classify_article_buffers(model, &strings, base)
            })
            .map_err(value_error)?;
            let heads = PyList::empty(py);
            for (labels, scores) in &c.heads {
                heads.append((PyBytes::new(py, labels), PyBytes::new(py, scores)))?;
            }
            out.append((
                c.n,
                PyBytes::new(py, &c.article),
                PyBytes::new(py, &c.sentence),
                PyBytes::new(py, &c.start),
                PyBytes::new(py, &c.end),
                PyBytes::new(py, &c.text_offsets),
                PyBytes::new(py, &c.text_data),
                heads,
            ))?;
        }
        let labels: Vec<Vec<String>> = model
            .heads()
            .iter()
            .map(|h| h.model.labels().names().to_vec())
            .collect();
        arrow.call_method1("sentence_table", (self.heads(), labels, out))
    }

    /// Score the model on labeled texts (`labels`: head name → one label per text): the report
    /// `newsclass eval --format json` prints, as a dict.
    #[pyo3(signature = (texts, labels, threads=None))]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        labels: &Bound<'py, PyDict>,
        threads: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let data = dataset(texts, labels)?;
        let pool = pool(threads)?;
        let report = compute(py, &pool, || self.inner.evaluate(&data)).map_err(py_err)?;
        to_py(py, &json_value(&report)?)
    }

    /// Why each head labeled `text` as it did: per head, the `k` terms that pushed most toward
    /// its label and the `k` that pushed most toward the runner-up, with their log-odds.
    #[pyo3(signature = (text, k=5))]
    fn explain<'py>(&self, py: Python<'py>, text: String, k: i64) -> PyResult<Bound<'py, PyAny>> {
        let k = explain_k(Some(k))?.unwrap_or(1);
        let e = py.detach(|| self.inner.explain(&text, k));
        to_py(py, &json_value(e)?)
    }
}

/// Texts and `{head: labels}` as a [`Dataset`].
fn dataset(texts: Vec<String>, labels: &Bound<'_, PyDict>) -> PyResult<Dataset> {
    let mut data = Dataset::new(texts).map_err(py_err)?;
    for (k, v) in labels.iter() {
        let name: String = k
            .extract()
            .map_err(|_| PyTypeError::new_err("label heads are named by strings"))?;
        if v.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(format!(
                "the labels of head \"{name}\" must be a list of strings, not a string"
            )));
        }
        let values: Vec<String> = v.extract()?;
        data = data.with_head(name, values).map_err(py_err)?;
    }
    Ok(data)
}

/// Fit a model on `texts` with one head per entry of `labels` (head name → one label per
/// text). Keyword options mirror `newsclass train`'s flags and defaults; `encoder=DIR` (a
/// sentence-transformers BERT directory, as `--encoder`) adds the sentence-encoder block, with
/// `encoder_weight` (`--encoder-weight`, default 1.0) and `encoder_embed` (`--encoder-embed`:
/// "f32", "f16" (the default), "int8" or "none").
#[pyfunction]
#[pyo3(signature = (
    texts, labels, *, c=1.0, ngram_range=(1, 2), analyzer="word", char_ngram_range=None,
    min_df=None, max_df=None, max_features=None, char_min_df=None, char_max_df=None,
    char_max_features=None, sublinear_tf=false, smooth_idf=true, norm=Some("l2"),
    lowercase=true, strip_accents=false, keep_punctuation=false, max_iter=1000, tol=1e-4,
    class_weight=None, seed=42, max_classes=None, encoder=None, encoder_weight=None,
    encoder_embed=None, threads=None
))]
#[allow(clippy::too_many_arguments)]
fn train<'py>(
    py: Python<'py>,
    texts: Vec<String>,
    labels: &Bound<'py, PyDict>,
    c: f64,
    ngram_range: (usize, usize),
    analyzer: &str,
    char_ngram_range: Option<(usize, usize)>,
    min_df: Option<&Bound<'py, PyAny>>,
    max_df: Option<&Bound<'py, PyAny>>,
    max_features: Option<usize>,
    char_min_df: Option<&Bound<'py, PyAny>>,
    char_max_df: Option<&Bound<'py, PyAny>>,
    char_max_features: Option<usize>,
    sublinear_tf: bool,
    smooth_idf: bool,
    norm: Option<&str>,
    lowercase: bool,
    strip_accents: bool,
    keep_punctuation: bool,
    max_iter: usize,
    tol: f64,
    class_weight: Option<&str>,
    seed: u64,
    max_classes: Option<usize>,
    encoder: Option<PathBuf>,
    encoder_weight: Option<f32>,
    encoder_embed: Option<&str>,
    threads: Option<i64>,
) -> PyResult<Model> {
    let has_char_options =
        char_min_df.is_some() || char_max_df.is_some() || char_max_features.is_some();
    if has_char_options && char_ngram_range.is_none() {
        return Err(value_error(
            "char_min_df, char_max_df and char_max_features apply to the character n-grams of char_ngram_range; give char_ngram_range=(MIN, MAX)",
        ));
    }
    let mut params = PipelineParams::default();
    if has_char_options {
        let mut cp = CharParams::default().max_features(char_max_features);
        if let Some(v) = char_min_df {
            cp = cp.min_df(doc_freq("char_min_df", v)?);
        }
        if let Some(v) = char_max_df {
            cp = cp.max_df(doc_freq("char_max_df", v)?);
        }
        params = params.char_ngrams(Some(cp));
    }
    if let Some(v) = min_df {
        params = params.min_df(doc_freq("min_df", v)?);
    }
    if let Some(v) = max_df {
        params = params.max_df(doc_freq("max_df", v)?);
    }
    let norm = match norm {
        Some("l2") => Norm::L2,
        Some("l1") => Norm::L1,
        None | Some("none") => Norm::None,
        Some(other) => {
            return Err(value_error(format!(
                "invalid value \"{other}\" for `norm`: choose \"l2\", \"l1\" or None"
            )))
        }
    };
    let class_weight = match class_weight {
        None | Some("none") => ClassWeight::None,
        Some("balanced") => ClassWeight::Balanced,
        Some(other) => {
            return Err(value_error(format!(
                "invalid value \"{other}\" for `class_weight`: choose None or \"balanced\""
            )))
        }
    };
    if encoder.is_none() && (encoder_weight.is_some() || encoder_embed.is_some()) {
        return Err(value_error(
            "encoder_weight and encoder_embed apply to the sentence-encoder block; give encoder=DIR",
        ));
    }
    if encoder.is_some() {
        params = params
            .encoder_weight(encoder_weight.unwrap_or(1.0))
            .encoder_storage(self::encoder_storage(encoder_embed.unwrap_or("f16"))?);
    }
    let params = params
        .lowercase(lowercase)
        .strip_accents(strip_accents)
        .keep_punctuation(keep_punctuation)
        .max_features(max_features)
        .smooth_idf(smooth_idf)
        .norm(norm)
        .max_iter(max_iter)
        .tol(tol)
        .class_weight(class_weight)
        .seed(seed)
        .max_classes(max_classes)
        .features(self::analyzer(analyzer)?, char_ngram_range)
        .ngram_range(ngram_range.0, ngram_range.1)
        .sublinear_tf(sublinear_tf)
        .c(c)
        .check()
        .map_err(py_err)?;
    let data = dataset(texts, labels)?;
    let pool = pool(threads)?;
    let encoder = load_encoder(py, encoder)?;
    let inner = compute(py, &pool, || match &encoder {
        Some(e) => Pipeline::fit_with_encoder(&params, &data, e),
        None => Pipeline::fit(&params, &data),
    })
    .map_err(py_err)?;
    Ok(Model { inner })
}

/// The sentence encoder in directory `dir`, if one is given.
fn load_encoder(py: Python<'_>, dir: Option<PathBuf>) -> PyResult<Option<Arc<Encoder>>> {
    match dir {
        Some(dir) => Ok(Some(Arc::new(
            py.detach(|| Encoder::load(&dir)).map_err(py_err)?,
        ))),
        None => Ok(None),
    }
}

/// `encoder_embed=`: which copy of the sentence encoder the model file carries.
fn encoder_storage(s: &str) -> PyResult<EncoderStorage> {
    match s {
        "f32" => Ok(EncoderStorage::F32),
        "f16" => Ok(EncoderStorage::F16),
        "int8" => Ok(EncoderStorage::Int8),
        "none" => Ok(EncoderStorage::None),
        _ => Err(value_error(format!(
            "invalid value \"{s}\" for `encoder_embed`: choose \"f32\", \"f16\", \"int8\" or \"none\""
        ))),
    }
}

/// The extension module `newsclass._newsclass`.
#[pymodule]
fn _newsclass(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add("ModelError", m.py().get_type::<ModelError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

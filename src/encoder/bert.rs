//! The BERT forward pass, in plain Rust over ndarray (whose matrix products run on
//! `matrixmultiply`'s kernels, chosen for the CPU at run time).
//!
//! Sequences are packed without padding: the rows of every matrix are the tokens of all the
//! sequences of a batch, one after the other. The dense layers, layer norms and GELU work row by
//! row, so they never see a batch boundary; attention runs per sequence and head on that
//! sequence's own rows. No attention mask is needed and no work is spent on padding, and a
//! sequence's result does not depend on the sequences it is batched with.

use std::path::Path;

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array1, Array2, ArrayView1, Axis};
use serde::Deserialize;

use super::int8::{smoothing, QActs, QLinear, QMatrix};
use super::safetensors::{SafeTensors, Values};
use crate::error::EncoderError;

/// The fields of a Hugging Face `config.json` that a BERT encoder needs.
#[derive(Debug, Deserialize)]
struct RawConfig {
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    hidden_act: String,
    layer_norm_eps: f64,
    max_position_embeddings: usize,
    type_vocab_size: usize,
    vocab_size: usize,
    position_embedding_type: Option<String>,
}

/// The shapes of a BERT model, from its `config.json`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BertConfig {
    /// Width of the hidden states (the embedding dimension).
    pub hidden: usize,
    /// Number of transformer layers.
    pub layers: usize,
    /// Attention heads per layer.
    pub heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate: usize,
    /// Layer-norm epsilon.
    pub eps: f32,
    /// Longest sequence the position embeddings allow.
    pub max_positions: usize,
    /// Number of token types (segments).
    pub type_vocab: usize,
    /// Number of word pieces.
    pub vocab: usize,
}

impl BertConfig {
    /// Reads and checks `config.json`.
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, EncoderError> {
        let not_bert = |e: serde_json::Error| EncoderError::Config {
            path: path.to_path_buf(),
            reason: format!("not a BERT config.json: {e}"),
        };
        let unsupported = |what, found: String, supported| EncoderError::Unsupported {
            what,
            found,
            supported,
            path: path.to_path_buf(),
        };
        // The architecture first, so that another model's config is named as such.
        let value: serde_json::Value = serde_json::from_str(text).map_err(not_bert)?;
        let model_type = value["model_type"].as_str().unwrap_or_default();
        if model_type != "bert" {
            let found = if model_type.is_empty() {
                match value["architectures"].as_array() {
                    Some(a) if !a.is_empty() => a
                        .iter()
                        .map(|v| v.as_str().unwrap_or("?"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => "none given".to_string(),
                }
            } else {
                model_type.to_string()
            };
            return Err(unsupported(
                "model_type",
                found,
                "BERT models (model_type \"bert\")",
            ));
        }
        let raw: RawConfig = serde_json::from_value(value).map_err(not_bert)?;
        if raw.hidden_act != "gelu" {
            return Err(unsupported(
                "hidden_act",
                raw.hidden_act,
                "the exact (erf) GELU, hidden_act \"gelu\"",
            ));
        }
        if let Some(p) = raw.position_embedding_type.filter(|p| p != "absolute") {
            return Err(unsupported(
                "position_embedding_type",
                p,
                "absolute position embeddings",
            ));
        }
        let bad = |reason: String| EncoderError::Config {
            path: path.to_path_buf(),
            reason,
        };
        for (name, v) in [
            ("hidden_size", raw.hidden_size),
            ("num_hidden_layers", raw.num_hidden_layers),
            ("num_attention_heads", raw.num_attention_heads),
            ("intermediate_size", raw.intermediate_size),
            ("max_position_embeddings", raw.max_position_embeddings),
            ("type_vocab_size", raw.type_vocab_size),
            ("vocab_size", raw.vocab_size),
        ] {
            if v == 0 {
                return Err(bad(format!("{name} is 0")));
            }
        }
        if !raw.hidden_size.is_multiple_of(raw.num_attention_heads) {
            return Err(bad(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                raw.hidden_size, raw.num_attention_heads
            )));
        }
        if !(raw.layer_norm_eps.is_finite() && raw.layer_norm_eps > 0.0) {
            return Err(bad(format!(
                "layer_norm_eps {} is not a positive number",
                raw.layer_norm_eps
            )));
        }
        Ok(BertConfig {
            hidden: raw.hidden_size,
            layers: raw.num_hidden_layers,
            heads: raw.num_attention_heads,
            intermediate: raw.intermediate_size,
            eps: raw.layer_norm_eps as f32,
            max_positions: raw.max_position_embeddings,
            type_vocab: raw.type_vocab_size,
            vocab: raw.vocab_size,
        })
    }
}

/// A dense layer `y = x · wᵀ + b`, with `w` stored as PyTorch stores it, `[out, in]`: in f32
/// (the matrix product reads it transposed through strides; no copy), or quantized to int8
/// (see [`super::int8`]).
#[derive(Debug)]
enum Linear {
    F32 { w: Array2<f32>, b: Array1<f32> },
    Int8(QLinear),
}

impl Linear {
    /// `out = x · wᵀ + b`; `q` holds the quantized `x` of an int8 layer.
    fn forward(&self, x: &Array2<f32>, out: &mut Array2<f32>, q: &mut QActs) {
        match self {
            Linear::F32 { w, b } => {
                out.assign(&b.broadcast(out.raw_dim()).expect("bias width"));
                general_mat_mul(1.0, x, &w.t(), 1.0, out);
            }
            Linear::Int8(l) => Self::int8(l, x, out, q, false),
        }
    }

    /// `out += x · wᵀ + b` (a residual connection).
    fn forward_add(&self, x: &Array2<f32>, out: &mut Array2<f32>, q: &mut QActs) {
        match self {
            Linear::F32 { w, b } => {
                *out += b;
                general_mat_mul(1.0, x, &w.t(), 1.0, out);
            }
            Linear::Int8(l) => Self::int8(l, x, out, q, true),
        }
    }

    fn int8(l: &QLinear, x: &Array2<f32>, out: &mut Array2<f32>, q: &mut QActs, add: bool) {
        q.quantize(
            x.as_slice().expect("standard layout"),
            l.w.cols,
            l.input_mul.as_deref(),
        );
        l.forward(q, out.as_slice_mut().expect("standard layout"), add);
    }

    /// The weight (`[out, in]`, rows `rows`) and bias as a model file stores them: `name.weight`
    /// and `name.bias`, plus `name.weight_scale` (row scales) and, for smoothed inputs,
    /// `name.input_mul` for int8 weights. With `int8`, f32 weights are quantized here, smoothed
    /// first when `act` estimates the inputs' magnitudes (see [`smoothing`]).
    fn tensors(
        &self,
        name: &str,
        rows: std::ops::Range<usize>,
        int8: bool,
        act: Option<&[f32]>,
    ) -> Vec<Tensor> {
        let mut out = Vec::new();
        let bias = match self {
            Linear::F32 { w, b } => {
                let (n, k) = (rows.len(), w.ncols());
                if int8 {
                    let all: Vec<f32> = w.iter().copied().collect();
                    let s = act.map(|a| smoothing(a, &all, k));
                    let mut part: Vec<f32> =
                        w.slice(s![rows.clone(), ..]).iter().copied().collect();
                    if let Some(s) = &s {
                        for row in part.chunks_exact_mut(k) {
                            row.iter_mut().zip(s).for_each(|(v, s)| *v *= s);
                        }
                    }
                    let mul = s.map(|s| s.iter().map(|s| 1.0 / s).collect());
                    out.extend(qtensors(name, &QMatrix::quantize(&part, n, k), mul));
                } else {
                    let part = w.slice(s![rows.clone(), ..]).iter().copied().collect();
                    out.push((format!("{name}.weight"), vec![n, k], Values::F32(part)));
                }
                b.slice(s![rows]).to_vec()
            }
            Linear::Int8(l) => {
                out.extend(qtensors(
                    name,
                    &l.w.slice_rows(rows.clone()),
                    l.input_mul.clone(),
                ));
                l.b[rows].to_vec()
            }
        };
        out.push((format!("{name}.bias"), vec![bias.len()], Values::F32(bias)));
        out
    }
}

/// One tensor of a model file: name, shape, values.
type Tensor = (String, Vec<usize>, Values);

/// `name.weight` (`I8`), `name.weight_scale` (`F32`, one per row) of a quantized matrix, and
/// `name.input_mul` (`F32`, one per column) when given.
fn qtensors(name: &str, m: &QMatrix, input_mul: Option<Vec<f32>>) -> Vec<Tensor> {
    let mut out = vec![
        (
            format!("{name}.weight"),
            vec![m.rows, m.cols],
            Values::I8(m.q.clone()),
        ),
        (
            format!("{name}.weight_scale"),
            vec![m.rows],
            Values::F32(m.scale.clone()),
        ),
    ];
    if let Some(mul) = input_mul {
        out.push((format!("{name}.input_mul"), vec![m.cols], Values::F32(mul)));
    }
    out
}

/// The word-embedding table: f32, or int8 with a scale per row (dequantized at lookup).
#[derive(Debug)]
enum Table {
    F32(Array2<f32>),
    Int8(QMatrix),
}

#[derive(Debug)]
struct LayerNorm {
    gamma: Array1<f32>,
    beta: Array1<f32>,
    eps: f32,
}

impl LayerNorm {
    /// Normalizes every row of `x` in place.
    fn forward(&self, x: &mut Array2<f32>) {
        let (g, b) = (self.gamma.view(), self.beta.view());
        for mut row in x.rows_mut() {
            let row = row.as_slice_mut().expect("rows are contiguous");
            layer_norm_row(row, g, b, self.eps);
        }
    }
}

fn layer_norm_row(row: &mut [f32], gamma: ArrayView1<f32>, beta: ArrayView1<f32>, eps: f32) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
        *v = (*v - mean) * inv * g + b;
    }
}

#[derive(Debug)]
struct Layer {
    /// Query, key and value projections side by side: `[hidden, 3 · hidden]`.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// A BERT encoder's weights.
#[derive(Debug)]
pub(crate) struct Bert {
    config: BertConfig,
    word: Table,
    position: Array2<f32>,
    token_type: Array2<f32>,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
}

/// One tokenized sequence: word-piece ids and token-type ids of the same length.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sequence {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
}

/// Reused buffers of one batch.
#[derive(Debug, Default)]
struct Scratch {
    qkv: Array2<f32>,
    context: Array2<f32>,
    attention: Array2<f32>,
    intermediate: Array2<f32>,
    scores: Vec<f32>,
    /// Quantized activations of the int8 layers.
    q: QActs,
}

fn matrix(
    st: &SafeTensors,
    name: &str,
    rows: usize,
    cols: usize,
) -> Result<Array2<f32>, EncoderError> {
    let v = st.f32(name, &[rows, cols])?;
    Ok(Array2::from_shape_vec((rows, cols), v).expect("shape checked"))
}

fn vector(st: &SafeTensors, name: &str, n: usize) -> Result<Array1<f32>, EncoderError> {
    Ok(Array1::from(st.f32(name, &[n])?))
}

/// The int8 matrix `name` (`I8`, `[rows, cols]`) with its scales `name_scale` (`F32`,
/// `[rows]`, finite and not negative).
fn qmatrix(
    st: &SafeTensors,
    path: &Path,
    name: &str,
    rows: usize,
    cols: usize,
) -> Result<QMatrix, EncoderError> {
    let q = st.i8(name, &[rows, cols])?;
    let scale = st.f32(&format!("{name}_scale"), &[rows])?;
    if let Some(i) = scale.iter().position(|&s| s < 0.0) {
        return Err(EncoderError::Weights {
            path: path.to_path_buf(),
            reason: format!("tensor {name}_scale holds a negative scale at index {i}"),
        });
    }
    Ok(QMatrix {
        rows,
        cols,
        q,
        scale,
    })
}

impl Bert {
    /// Takes the weights out of a parsed `model.safetensors`, checking every shape against the
    /// configuration. Tensor names may carry a `bert.` prefix (as in `BertForMaskedLM` files).
    pub(crate) fn load(
        config: BertConfig,
        st: &SafeTensors,
        path: &Path,
    ) -> Result<Self, EncoderError> {
        let prefix = if !st.contains("embeddings.word_embeddings.weight")
            && st.contains("bert.embeddings.word_embeddings.weight")
        {
            "bert."
        } else {
            ""
        };
        let name = |n: &str| format!("{prefix}{n}");
        let h = config.hidden;
        let norm = |p: &str| -> Result<LayerNorm, EncoderError> {
            Ok(LayerNorm {
                gamma: vector(st, &name(&format!("{p}.weight")), h)?,
                beta: vector(st, &name(&format!("{p}.bias")), h)?,
                eps: config.eps,
            })
        };
        let is_i8 = |n: &str| st.dtype(n) == Some("I8");
        // PyTorch's Linear weight is [out, in].
        let linear = |p: &str, n_in: usize, n_out: usize| -> Result<Linear, EncoderError> {
            let w = name(&format!("{p}.weight"));
            let bias = || vector(st, &name(&format!("{p}.bias")), n_out);
            Ok(if is_i8(&w) {
                let q = qmatrix(st, path, &w, n_out, n_in)?;
                let mul = name(&format!("{p}.input_mul"));
                let mul = if st.contains(&mul) {
                    Some(st.f32(&mul, &[n_in])?)
                } else {
                    None
                };
                Linear::Int8(QLinear::new(q, bias()?.to_vec(), mul))
            } else {
                Linear::F32 {
                    w: matrix(st, &w, n_out, n_in)?,
                    b: bias()?,
                }
            })
        };
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let p = format!("encoder.layer.{i}");
            let (q, k, v) = (
                linear(&format!("{p}.attention.self.query"), h, h)?,
                linear(&format!("{p}.attention.self.key"), h, h)?,
                linear(&format!("{p}.attention.self.value"), h, h)?,
            );
            let qkv = match (q, k, v) {
                (
                    Linear::F32 { w: qw, b: qb },
                    Linear::F32 { w: kw, b: kb },
                    Linear::F32 { w: vw, b: vb },
                ) => Linear::F32 {
                    w: ndarray::concatenate(Axis(0), &[qw.view(), kw.view(), vw.view()])
                        .expect("same rows"),
                    b: ndarray::concatenate(Axis(0), &[qb.view(), kb.view(), vb.view()])
                        .expect("vectors"),
                },
                (Linear::Int8(q), Linear::Int8(k), Linear::Int8(v))
                    if q.input_mul == k.input_mul && q.input_mul == v.input_mul =>
                {
                    let b = [q.b.as_slice(), &k.b, &v.b].concat();
                    let w = QMatrix::stack(&[&q.w, &k.w, &v.w]);
                    Linear::Int8(QLinear::new(w, b, q.input_mul.clone()))
                }
                _ => {
                    return Err(EncoderError::Weights {
                        path: path.to_path_buf(),
                        reason: format!(
                            "the query, key and value weights of layer {i} mix I8 and floats, \
                             or have different input factors"
                        ),
                    })
                }
            };
            layers.push(Layer {
                qkv,
                attention_out: linear(&format!("{p}.attention.output.dense"), h, h)?,
                attention_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                intermediate: linear(&format!("{p}.intermediate.dense"), h, config.intermediate)?,
                output: linear(&format!("{p}.output.dense"), config.intermediate, h)?,
                output_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        let word_name = name("embeddings.word_embeddings.weight");
        let word = if is_i8(&word_name) {
            Table::Int8(qmatrix(st, path, &word_name, config.vocab, h)?)
        } else {
            Table::F32(matrix(st, &word_name, config.vocab, h)?)
        };
        Ok(Bert {
            config,
            word,
            position: matrix(
                st,
                &name("embeddings.position_embeddings.weight"),
                config.max_positions,
                h,
            )?,
            token_type: matrix(
                st,
                &name("embeddings.token_type_embeddings.weight"),
                config.type_vocab,
                h,
            )?,
            embedding_norm: norm("embeddings.LayerNorm")?,
            layers,
        })
    }

    /// True when the dense layers and the word embeddings are int8.
    pub(crate) fn is_int8(&self) -> bool {
        matches!(self.word, Table::Int8(_))
            && self.layers.iter().all(|l| {
                [&l.qkv, &l.attention_out, &l.intermediate, &l.output]
                    .iter()
                    .all(|lin| matches!(lin, Linear::Int8(_)))
            })
    }

    /// Every weight under the name [`Bert::load`] reads it by (without a prefix), with its
    /// shape: what a safetensors file of this model holds. With `int8`, f32 weights of the
    /// dense layers and the word embeddings are quantized (int8 ones are always given as such).
    pub(crate) fn tensors(&self, int8: bool) -> Vec<Tensor> {
        let h = self.config.hidden;
        let mut out = Vec::new();
        let matrix = |name: &str, m: &Array2<f32>| -> Tensor {
            (
                name.to_string(),
                m.shape().to_vec(),
                Values::F32(m.iter().copied().collect()),
            )
        };
        let word = "embeddings.word_embeddings";
        match &self.word {
            Table::F32(w) if int8 => {
                let (n, k) = w.dim();
                let values: Vec<f32> = w.iter().copied().collect();
                out.extend(qtensors(word, &QMatrix::quantize(&values, n, k), None));
            }
            Table::F32(w) => out.push(matrix(&format!("{word}.weight"), w)),
            Table::Int8(q) => out.extend(qtensors(word, q, None)),
        }
        out.push(matrix(
            "embeddings.position_embeddings.weight",
            &self.position,
        ));
        out.push(matrix(
            "embeddings.token_type_embeddings.weight",
            &self.token_type,
        ));
        let mut vectors: Vec<(String, &Array1<f32>)> = vec![
            (
                "embeddings.LayerNorm.weight".into(),
                &self.embedding_norm.gamma,
            ),
            (
                "embeddings.LayerNorm.bias".into(),
                &self.embedding_norm.beta,
            ),
        ];
        // The layers that read a layer norm's output are smoothed, with |γ| + |β| of that norm
        // as the estimate of their inputs' magnitudes.
        let act = |n: &LayerNorm| -> Vec<f32> {
            n.gamma
                .iter()
                .zip(&n.beta)
                .map(|(g, b)| g.abs() + b.abs())
                .collect()
        };
        for (i, layer) in self.layers.iter().enumerate() {
            let p = format!("encoder.layer.{i}");
            let before = if i == 0 {
                &self.embedding_norm
            } else {
                &self.layers[i - 1].output_norm
            };
            let qkv_act = act(before);
            for (k, part) in ["query", "key", "value"].iter().enumerate() {
                out.extend(layer.qkv.tensors(
                    &format!("{p}.attention.self.{part}"),
                    k * h..(k + 1) * h,
                    int8,
                    Some(&qkv_act),
                ));
            }
            let inter_act = act(&layer.attention_norm);
            for (name, lin, n, a) in [
                ("attention.output.dense", &layer.attention_out, h, None),
                (
                    "intermediate.dense",
                    &layer.intermediate,
                    self.config.intermediate,
                    Some(&inter_act[..]),
                ),
                ("output.dense", &layer.output, h, None),
            ] {
                out.extend(lin.tensors(&format!("{p}.{name}"), 0..n, int8, a));
            }
            for (name, norm) in [
                ("attention.output.LayerNorm", &layer.attention_norm),
                ("output.LayerNorm", &layer.output_norm),
            ] {
                vectors.push((format!("{p}.{name}.weight"), &norm.gamma));
                vectors.push((format!("{p}.{name}.bias"), &norm.beta));
            }
        }
        for (name, v) in vectors {
            out.push((name, vec![v.len()], Values::F32(v.to_vec())));
        }
        out
    }

    /// The configuration the weights were checked against.
    pub(crate) fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The mean over each sequence's tokens of the last hidden states: one row per sequence.
    ///
    /// Every id must be below the vocabulary and type-vocabulary sizes and every sequence no
    /// longer than the position embeddings and not empty (the caller's tokenizer ensures this).
    pub(crate) fn mean_pooled(&self, batch: &[&Sequence]) -> Array2<f32> {
        let h = self.config.hidden;
        let n_tokens: usize = batch.iter().map(|s| s.ids.len()).sum();
        let mut x = Array2::<f32>::zeros((n_tokens, h));
        let mut row = 0;
        for seq in batch {
            for (pos, (&id, &tt)) in seq.ids.iter().zip(&seq.type_ids).enumerate() {
                let mut r = x.row_mut(row);
                match &self.word {
                    Table::F32(w) => r.assign(&w.row(id as usize)),
                    Table::Int8(q) => q.row_into(id as usize, r.as_slice_mut().expect("a row")),
                }
                r += &self.position.row(pos);
                r += &self.token_type.row(tt as usize);
                row += 1;
            }
        }
        self.embedding_norm.forward(&mut x);
        let mut scratch = Scratch {
            qkv: Array2::zeros((n_tokens, 3 * h)),
            context: Array2::zeros((n_tokens, h)),
            attention: Array2::zeros((n_tokens, h)),
            intermediate: Array2::zeros((n_tokens, self.config.intermediate)),
            scores: Vec::new(),
            q: QActs::default(),
        };
        for layer in &self.layers {
            self.layer(layer, batch, &mut x, &mut scratch);
        }
        let mut pooled = Array2::<f32>::zeros((batch.len(), h));
        let mut start = 0;
        for (i, seq) in batch.iter().enumerate() {
            let len = seq.ids.len();
            let rows = x.slice(s![start..start + len, ..]);
            let mut out = pooled.row_mut(i);
            for r in rows.rows() {
                out += &r;
            }
            out /= len as f32;
            start += len;
        }
        pooled
    }

    fn layer(&self, layer: &Layer, batch: &[&Sequence], x: &mut Array2<f32>, sc: &mut Scratch) {
        let h = self.config.hidden;
        let heads = self.config.heads;
        let dh = h / heads;
        let scale = 1.0 / (dh as f32).sqrt();
        layer.qkv.forward(x, &mut sc.qkv, &mut sc.q);
        let qkv = sc.qkv.as_slice().expect("standard layout");
        let context = sc.context.as_slice_mut().expect("standard layout");
        let width = 3 * h;
        let mut start = 0;
        for seq in batch {
            let len = seq.ids.len();
            sc.scores.resize(len, 0.0);
            for head in 0..heads {
                let (qo, ko, vo) = (head * dh, h + head * dh, 2 * h + head * dh);
                for i in start..start + len {
                    let q = &qkv[i * width + qo..i * width + qo + dh];
                    // scores = softmax(q · kⱼ / √dh) over the sequence's own tokens
                    for (j, score) in (start..start + len).zip(sc.scores.iter_mut()) {
                        let k = &qkv[j * width + ko..j * width + ko + dh];
                        *score = dot(q, k) * scale;
                    }
                    softmax(&mut sc.scores);
                    // context = Σⱼ scoreⱼ · vⱼ
                    let out = &mut context[i * h + qo..i * h + qo + dh];
                    out.fill(0.0);
                    for (j, &p) in (start..start + len).zip(sc.scores.iter()) {
                        let v = &qkv[j * width + vo..j * width + vo + dh];
                        for (o, v) in out.iter_mut().zip(v) {
                            *o += p * v;
                        }
                    }
                }
            }
            start += len;
        }
        // attention = LayerNorm(x + context · Wo + bo)
        sc.attention.assign(x);
        layer
            .attention_out
            .forward_add(&sc.context, &mut sc.attention, &mut sc.q);
        layer.attention_norm.forward(&mut sc.attention);
        // x = LayerNorm(attention + GELU(attention · W1 + b1) · W2 + b2)
        layer
            .intermediate
            .forward(&sc.attention, &mut sc.intermediate, &mut sc.q);
        for v in sc.intermediate.as_slice_mut().expect("standard layout") {
            *v = gelu(*v);
        }
        x.assign(&sc.attention);
        layer.output.forward_add(&sc.intermediate, x, &mut sc.q);
        layer.output_norm.forward(x);
    }
}

/// Dot product, in eight interleaved sums so that it vectorizes.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Softmax of a row in place.
fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = exp(*v - max);
        sum += *v;
    }
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// The exact GELU, `x · Φ(x) = x/2 · (1 + erf(x/√2))`, as BERT's `hidden_act: "gelu"`.
#[inline]
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The error function, by Abramowitz and Stegun's formula 7.1.26 (absolute error at most
/// 1.5e-7, below f32's resolution of GELU's values where it matters). Branch-free, so loops over
/// it vectorize.
#[inline]
pub(crate) fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
    (1.0 - poly * exp(-a * a)).copysign(x)
}

/// `e^x` for f32 (relative error about 2e-7 over the whole range; clamped to [-87.3, 88.3]), branch-free so
/// that loops over it vectorize: `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, a degree-6 polynomial
/// for `e^r`, and `2^n` built from its bits.
#[inline]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // 1.5 · 2^23: adding and subtracting it rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.3, 88.3);
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // n is an integer in [-126, 128] held in the low bits of n + ROUND: 2^n without a
    // float-to-int conversion (which does not vectorize).
    let bits = (n + ROUND).to_bits().wrapping_sub(ROUND.to_bits());
    let scale = f32::from_bits(bits.wrapping_add(127) << 23);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std_to_a_few_ulp() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = (x as f64).exp();
            let rel = ((exp(x) as f64 - want) / want).abs();
            worst = worst.max(rel);
            x += 0.0137;
        }
        assert!(worst < 5e-7, "worst relative error {worst}");
        assert_eq!(exp(-200.0), exp(-87.3));
        assert!(exp(-200.0) < 1e-37);
    }

    #[test]
    fn erf_and_gelu_match_reference_values() {
        // erf values from the definition (printed by Python's math.erf).
        for (x, want) in [
            (0.0f32, 0.0f64),
            (0.1, 0.112_462_916_018_284_9),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (-1.5, -0.966_105_146_475_310_7),
            (4.0, 0.999_999_984_582_742_1),
        ] {
            assert!((erf(x) as f64 - want).abs() < 3e-7, "erf({x})");
        }
        assert_eq!(gelu(0.0), 0.0);
        assert!((gelu(1.0) - 0.841_344_7).abs() < 3e-7);
        assert!((gelu(-1.0) + 0.158_655_3).abs() < 3e-7);
        assert!(gelu(-10.0).abs() < 1e-6 && (gelu(10.0) - 10.0).abs() < 1e-6);
    }

    #[test]
    fn softmax_sums_to_one_and_ignores_shifts() {
        let mut a = [1.0f32, 2.0, 3.0];
        let mut b = [101.0f32, 102.0, 103.0];
        softmax(&mut a);
        softmax(&mut b);
        assert!((a.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-6);
        }
    }

    #[test]
    fn config_rejects_other_architectures_and_activations() {
        let p = Path::new("config.json");
        let ok = r#"{"model_type":"bert","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,
            "intermediate_size":16,"hidden_act":"gelu","layer_norm_eps":1e-12,
            "max_position_embeddings":16,"type_vocab_size":2,"vocab_size":10}"#;
        let c = BertConfig::parse(p, ok).unwrap();
        assert_eq!((c.hidden, c.heads, c.intermediate), (8, 2, 16));
        let roberta = ok.replace("\"bert\"", "\"roberta\"");
        assert!(matches!(
            BertConfig::parse(p, &roberta),
            Err(EncoderError::Unsupported {
                what: "model_type",
                ..
            })
        ));
        let relu = ok.replace("\"gelu\"", "\"relu\"");
        assert!(matches!(
            BertConfig::parse(p, &relu),
            Err(EncoderError::Unsupported {
                what: "hidden_act",
                ..
            })
        ));
        let odd = ok.replace("\"num_attention_heads\":2", "\"num_attention_heads\":3");
        assert!(matches!(
            BertConfig::parse(p, &odd),
            Err(EncoderError::Config { .. })
        ));
        assert!(matches!(
            BertConfig::parse(p, r#"{"model_type": "bert", "hidden_size": 8}"#),
            Err(EncoderError::Config { .. })
        ));
        assert!(matches!(
            BertConfig::parse(p, "{not json"),
            Err(EncoderError::Config { .. })
        ));
        match BertConfig::parse(p, r#"{"architectures": ["MPNetModel"]}"#) {
            Err(EncoderError::Unsupported { found, .. }) => assert_eq!(found, "MPNetModel"),
            other => panic!("expected an unsupported architecture, got {other:?}"),
        }
    }
}

//! TF-IDF: tokens -> sparse, normalized term weights, with scikit-learn's `TfidfVectorizer`
//! semantics.
//!
//! For term `t` in document `d` with raw count `tf(t, d)`:
//!
//! * `tf' = 1 + ln(tf)` with `sublinear_tf`, else `tf`;
//! * `idf(t) = ln((1 + n) / (1 + df(t))) + 1` with `smooth_idf` (default), else
//!   `ln(n / df(t)) + 1`, where `n` is the number of training documents;
//! * `x(t, d) = tf' · idf(t)`, then the row is divided by its L2 (default) or L1 norm.
//!
//! The vocabulary and the idf are frozen at fit: transforming one sentence gives the same vector
//! as transforming it inside a batch.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ModelError, Result};
use crate::features::vocabulary::{
    NgramIndex, Selection, Trie, Vocabulary, VocabularyParams, WordTable, NONE,
};
use crate::sparse::{CsrMatrix, SparseVec};
use crate::text::tokenize::TokenBuffer;

/// Row normalization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// Divide by the Euclidean norm (default).
    #[default]
    L2,
    /// Divide by the sum of absolute values.
    L1,
    /// Leave rows as they are.
    None,
}

/// Term-weighting options (scikit-learn's names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TfidfParams {
    /// Use `1 + ln(tf)` instead of `tf`. Default `false`.
    pub sublinear_tf: bool,
    /// Add one to document frequencies, as if a document held every term once. Default `true`.
    pub smooth_idf: bool,
    /// Row normalization. Default L2.
    pub norm: Norm,
}

impl Default for TfidfParams {
    fn default() -> Self {
        TfidfParams {
            sublinear_tf: false,
            smooth_idf: true,
            norm: Norm::L2,
        }
    }
}

/// A fitted TF-IDF vectorizer: a frozen [`Vocabulary`] and idf. It works on tokens; which
/// tokenizer made them is the caller's business.
#[derive(Debug, Clone)]
pub struct TfidfVectorizer {
    vocabulary_params: VocabularyParams,
    params: TfidfParams,
    vocabulary: Vocabulary,
    idf: Vec<f64>,
}

pub(crate) fn idf_value(smooth: bool, n_docs: usize, df: u64) -> f64 {
    let (n, df) = (n_docs as f64, df as f64);
    if smooth {
        ((1.0 + n) / (1.0 + df)).ln() + 1.0
    } else {
        (n / df).ln() + 1.0
    }
}

/// The n-gram nodes of every document in one buffer (few large allocations: the memory goes back
/// to the system when it is dropped, instead of fragmenting the heap).
struct Interned {
    nodes: Vec<u32>,
    /// Document `d`'s nodes are `nodes[offsets[d]..offsets[d + 1]]`.
    offsets: Vec<usize>,
}

impl Default for Interned {
    fn default() -> Self {
        Interned {
            nodes: Vec::new(),
            offsets: vec![0],
        }
    }
}

impl TfidfVectorizer {
    /// Learn the vocabulary and idf from documents and return the vectorizer with the documents'
    /// TF-IDF rows as one sparse matrix. `tokenize(doc, buffer)` fills `buffer` with the tokens of
    /// `doc` (for pre-tokenized documents, a copy).
    ///
    /// Documents are tokenized a block of 2,048 at a time, in a two-stage pipeline: while the
    /// n-grams of one block are interned, the other threads tokenize the next block and give its
    /// words their ids. The token buffers are reused, so the tokens of the whole corpus are never
    /// held at once.
    ///
    /// # Errors
    /// Invalid parameters ([`Error::InvalidParam`]), no documents ([`Error::NoRows`]), or an empty
    /// vocabulary after pruning ([`Error::EmptyVocabulary`], [`Error::DocFreqBounds`]).
    pub fn fit_transform<T: Sync>(
        vocabulary_params: &VocabularyParams,
        params: &TfidfParams,
        docs: &[T],
        tokenize: impl Fn(&T, &mut TokenBuffer) + Sync,
    ) -> Result<(TfidfVectorizer, CsrMatrix)> {
        vocabulary_params.check()?;
        Self::fit_transform_checked(vocabulary_params, params, docs, tokenize)
    }

    /// [`TfidfVectorizer::fit_transform`] for parameters already checked by
    /// [`crate::PipelineParams::check`].
    pub(crate) fn fit_transform_checked<T: Sync>(
        vocabulary_params: &VocabularyParams,
        params: &TfidfParams,
        docs: &[T],
        tokenize: impl Fn(&T, &mut TokenBuffer) + Sync,
    ) -> Result<(TfidfVectorizer, CsrMatrix)> {
        const TOKEN_BLOCK: usize = 2048;
        let range = vocabulary_params.ngram_range;
        /// The word ids of a block's documents, one after another, and where each document ends.
        #[derive(Default)]
        struct WordIds {
            ids: Vec<u32>,
            ends: Vec<usize>,
        }
        let mut buffers: Vec<TokenBuffer> = Vec::new();
        let mut prepare = |block: &[T], words: &mut WordTable, out: &mut WordIds| {
            buffers.resize_with(block.len(), TokenBuffer::default);
            buffers
                .par_iter_mut()
                .zip(block)
                .for_each(|(b, t)| tokenize(t, b));
            out.ids.clear();
            out.ends.clear();
            for b in &buffers {
                out.ids.extend(b.iter().map(|t| words.id(t)));
                out.ends.push(out.ids.len());
            }
        };
        let blocks: Vec<&[T]> = docs.chunks(TOKEN_BLOCK).collect();
        let mut words = WordTable::default();
        let mut trie = Trie::default();
        let mut interned = Interned::default();
        let (mut current, mut next) = (WordIds::default(), WordIds::default());
        if let Some(first) = blocks.first() {
            prepare(first, &mut words, &mut current);
        }
        for i in 0..blocks.len() {
            rayon::join(
                || {
                    let mut start = 0;
                    for &end in &current.ends {
                        trie.intern_ids(&current.ids[start..end], range, &mut interned.nodes);
                        interned.offsets.push(interned.nodes.len());
                        start = end;
                    }
                },
                || {
                    if let Some(b) = blocks.get(i + 1) {
                        prepare(b, &mut words, &mut next);
                    }
                },
            );
            std::mem::swap(&mut current, &mut next);
        }
        drop(buffers);
        let index = NgramIndex::from_parts(words, trie);
        Self::fit_interned(vocabulary_params.clone(), params.clone(), index, interned)
    }

    /// The rest of the fit, from the interned n-grams of every document.
    fn fit_interned(
        vocabulary_params: VocabularyParams,
        params: TfidfParams,
        index: NgramIndex,
        interned: Interned,
    ) -> Result<(TfidfVectorizer, CsrMatrix)> {
        let Interned {
            nodes: flat,
            offsets,
        } = interned;
        let n_docs = offsets.len() - 1;
        if n_docs == 0 {
            return Err(Error::NoRows);
        }
        let doc_nodes: Vec<&[u32]> = offsets.windows(2).map(|w| &flat[w[0]..w[1]]).collect();
        let Selection { nodes, terms, dfs } = vocabulary_params.select(&index, &doc_nodes)?;
        // Map the full index (every n-gram seen) to columns, then replace it by a compact index of
        // the kept terms only: the full one is much larger and is not needed after this point.
        let mut full_column = vec![NONE; index.n_nodes()];
        for (col, &node) in nodes.iter().enumerate() {
            full_column[node as usize] = col as u32;
        }
        drop(index);
        let vocabulary = Vocabulary::from_terms(terms)
            .expect("selected terms are sorted, unique and made of non-empty words");
        let idf = dfs
            .iter()
            .map(|&df| idf_value(params.smooth_idf, n_docs, df))
            .collect();
        let vectorizer = TfidfVectorizer {
            vocabulary_params,
            params,
            vocabulary,
            idf,
        };
        // Rows in parallel, a block of documents at a time, each block into flat buffers.
        const BLOCK: usize = 1024;
        let blocks: Vec<(Vec<usize>, Vec<u32>, Vec<f32>)> = doc_nodes
            .par_chunks(BLOCK)
            .map(|block| {
                let mut scratch = Vec::new();
                let (mut lens, mut indices, mut values) = (Vec::new(), Vec::new(), Vec::new());
                for nodes in block {
                    scratch.clear();
                    scratch.extend(
                        nodes
                            .iter()
                            .map(|&n| full_column[n as usize])
                            .filter(|&c| c != NONE),
                    );
                    let before = indices.len();
                    vectorizer.weigh_into(&mut scratch, &mut indices, &mut values);
                    lens.push(indices.len() - before);
                }
                (lens, indices, values)
            })
            .collect();
        drop(doc_nodes);
        drop(flat);
        let rows = CsrMatrix::from_blocks(vectorizer.n_features(), n_docs, blocks);
        Ok((vectorizer, rows))
    }

    /// Rebuild a vectorizer from its parts, checking that they fit together.
    ///
    /// # Errors
    /// [`ModelError::FeatureCount`] when the vocabulary and the idf differ in length,
    /// [`ModelError::Params`] for an idf value that is not finite and positive.
    pub fn from_parts(
        vocabulary_params: VocabularyParams,
        params: TfidfParams,
        vocabulary: Vocabulary,
        idf: Vec<f64>,
    ) -> Result<TfidfVectorizer> {
        if vocabulary.len() != idf.len() {
            return Err(ModelError::FeatureCount {
                terms: vocabulary.len(),
                n_features: idf.len(),
            }
            .into());
        }
        Ok(TfidfVectorizer {
            vocabulary_params,
            params,
            vocabulary,
            idf,
        })
    }

    /// The idf section of a model file: one little-endian `f64` per column.
    pub(crate) fn idf_section(&self) -> Vec<u8> {
        self.idf.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// Read an idf section of `n` values written by [`TfidfVectorizer::idf_section`].
    pub(crate) fn idf_from_section(name: &str, bytes: &[u8], n: usize) -> Result<Vec<f64>> {
        if bytes.len() != n * 8 {
            return Err(ModelError::SectionLength {
                name: name.to_string(),
                found: bytes.len() as u64,
                expected: n as u64 * 8,
            }
            .into());
        }
        let idf: Vec<f64> = bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8")))
            .collect();
        if idf.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(ModelError::NonFinite {
                name: name.to_string(),
            }
            .into());
        }
        Ok(idf)
    }

    /// Number of columns (vocabulary size).
    pub fn n_features(&self) -> usize {
        self.vocabulary.len()
    }

    /// The vocabulary.
    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    /// The sorted vocabulary terms; term `i` is column `i`.
    pub fn terms(&self) -> &[String] {
        self.vocabulary.terms()
    }

    /// The frozen idf, one per column.
    pub fn idf(&self) -> &[f64] {
        &self.idf
    }

    /// The vocabulary options used at fit.
    pub fn vocabulary_params(&self) -> &VocabularyParams {
        &self.vocabulary_params
    }

    /// The weighting options used at fit.
    pub fn params(&self) -> &TfidfParams {
        &self.params
    }

    /// The TF-IDF row of one tokenized document. Unknown n-grams are ignored. `scratch` is a
    /// reusable buffer.
    pub fn transform(&self, tokens: &TokenBuffer, scratch: &mut Vec<u32>) -> SparseVec {
        scratch.clear();
        self.vocabulary
            .columns_of(tokens, self.vocabulary_params.ngram_range, |c| {
                scratch.push(c)
            });
        self.weigh(scratch)
    }

    /// Turn a list of column occurrences (any order, repeats = counts) into a weighted row.
    fn weigh(&self, cols: &mut [u32]) -> SparseVec {
        let mut row = SparseVec::default();
        self.weigh_into(cols, &mut row.indices, &mut row.values);
        row
    }

    /// [`TfidfVectorizer::weigh`], appending the row's columns and weights to `indices` and
    /// `values`.
    fn weigh_into(&self, cols: &mut [u32], indices: &mut Vec<u32>, values: &mut Vec<f32>) {
        weigh_into(&self.params, &self.idf, cols, 0, indices, values);
    }

    /// Append the TF-IDF row of one tokenized document to `indices` / `values`, with `offset`
    /// added to every column. `scratch` is a reusable buffer.
    #[inline]
    pub fn transform_into(
        &self,
        tokens: &TokenBuffer,
        scratch: &mut Vec<u32>,
        offset: u32,
        indices: &mut Vec<u32>,
        values: &mut Vec<f32>,
    ) {
        scratch.clear();
        self.vocabulary
            .columns_of(tokens, self.vocabulary_params.ngram_range, |c| {
                scratch.push(c)
            });
        weigh_into(&self.params, &self.idf, scratch, offset, indices, values);
    }
}

/// Column counts of one row, kept in a dense table over all columns (reused between rows), so
/// that a row with hundreds of occurrences, as character n-grams give, is counted and read back
/// in column order without sorting. Reading the counts back clears the table.
#[derive(Debug, Default, Clone)]
pub(crate) struct DenseCounts {
    /// Per column, its count modulo 256.
    counts: Vec<u8>,
    /// One bit per column with a nonzero count.
    bits: Vec<u64>,
    /// One bit per nonzero word of `bits`.
    summary: Vec<u64>,
    /// A column once for every 256 of its occurrences (counts above 255 are rare).
    overflow: Vec<u32>,
}

impl DenseCounts {
    /// Make room for columns below `n_cols` (the table stays clear).
    pub(crate) fn reserve(&mut self, n_cols: usize) {
        if self.counts.len() < n_cols {
            self.counts.resize(n_cols, 0);
            self.bits.resize(n_cols.div_ceil(64), 0);
            self.summary.resize(self.bits.len().div_ceil(64), 0);
        }
    }

    /// Count one occurrence of column `c` (below the `n_cols` of [`DenseCounts::reserve`]).
    #[inline(always)]
    pub(crate) fn add(&mut self, c: u32) {
        let c = c as usize;
        let x = self.counts[c];
        if x == 0 {
            self.bits[c >> 6] |= 1 << (c & 63);
            self.summary[c >> 12] |= 1 << ((c >> 6) & 63);
        } else if x == u8::MAX {
            self.overflow.push(c as u32);
        }
        self.counts[c] = x.wrapping_add(1);
    }

    /// Call `f(column, count)` for every counted column in increasing order, and clear.
    #[inline]
    pub(crate) fn drain(&mut self, mut f: impl FnMut(u32, u32)) {
        self.overflow.sort_unstable();
        let overflow = &self.overflow;
        for (si, s) in self.summary.iter_mut().enumerate() {
            let mut s = std::mem::take(s);
            while s != 0 {
                let wi = si * 64 + s.trailing_zeros() as usize;
                s &= s - 1;
                let mut w = std::mem::take(&mut self.bits[wi]);
                while w != 0 {
                    let c = wi * 64 + w.trailing_zeros() as usize;
                    w &= w - 1;
                    let mut count = u32::from(std::mem::take(&mut self.counts[c]));
                    if !overflow.is_empty() {
                        let lo = overflow.partition_point(|&o| (o as usize) < c);
                        let hi = overflow.partition_point(|&o| (o as usize) <= c);
                        count += 256 * (hi - lo) as u32;
                    }
                    f(c as u32, count);
                }
            }
        }
        self.overflow.clear();
    }
}

/// The term-frequency weight of a term occurring `count` times: the count, or `1 + ln(count)`
/// (exactly 1 for a count of 1) with sublinear tf; computed from the count as `f32`, as
/// [`weigh_into`] does.
#[inline]
fn tf_weight(sublinear: bool, count: u32) -> f64 {
    let tf = f64::from(count as f32);
    if sublinear && count != 1 {
        1.0 + tf.ln()
    } else {
        tf
    }
}

/// [`tf_weight`] of the counts below 256, so that the logarithm is taken once per count.
fn sublinear_table() -> &'static [f64; 256] {
    static TABLE: std::sync::OnceLock<[f64; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|i| tf_weight(true, i as u32)))
}

/// [`tf_weight`] without sublinear tf, of the counts below 256.
fn linear_table() -> &'static [f64; 256] {
    static TABLE: std::sync::OnceLock<[f64; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|i| tf_weight(false, i as u32)))
}

/// Turn the counts of one row into its weighted, normalized row: append its columns (plus
/// `offset`) and weights to `indices` and `values`; the same bits as [`weigh_into`] on the same
/// occurrences. `weights` is scratch.
pub(crate) fn weigh_counts_into(
    params: &TfidfParams,
    idf: &[f64],
    counts: &mut DenseCounts,
    offset: u32,
    weights: &mut Vec<f64>,
    indices: &mut Vec<u32>,
    values: &mut Vec<f32>,
) {
    weights.clear();
    let (mut sum_sq, mut sum_abs) = (0.0, 0.0);
    let table = if params.sublinear_tf {
        sublinear_table()
    } else {
        linear_table()
    };
    counts.drain(|c, count| {
        let tf = match table.get(count as usize) {
            Some(&tf) => tf,
            None => tf_weight(params.sublinear_tf, count),
        };
        let w = tf * idf[c as usize];
        sum_sq += w * w;
        sum_abs += w.abs();
        weights.push(w);
        indices.push(c + offset);
    });
    let norm = match params.norm {
        Norm::L2 => sum_sq.sqrt(),
        Norm::L1 => sum_abs,
        Norm::None => 1.0,
    };
    let scale = if norm > 0.0 { 1.0 / norm } else { 1.0 };
    values.extend(weights.iter().map(|&w| (w * scale) as f32));
}

/// Turn a list of column occurrences (any order, repeats = counts) into a weighted, normalized
/// row: append its columns (plus `offset`) and weights to `indices` and `values`.
pub(crate) fn weigh_into(
    params: &TfidfParams,
    idf: &[f64],
    cols: &mut [u32],
    offset: u32,
    indices: &mut Vec<u32>,
    values: &mut Vec<f32>,
) {
    cols.sort_unstable();
    let start = indices.len();
    let weight = |count: f32, col: u32| {
        let tf = f64::from(count);
        // 1 + ln(1) is exactly 1: most terms occur once, so skip the logarithm for them.
        let tf = if params.sublinear_tf && count != 1.0 {
            1.0 + tf.ln()
        } else {
            tf
        };
        tf * idf[col as usize]
    };
    // Pass 1: columns and counts (held in `values`), and the norm of the weights.
    let mut sum_sq = 0.0;
    let mut sum_abs = 0.0;
    let mut i = 0;
    while i < cols.len() {
        let c = cols[i];
        let mut j = i + 1;
        while j < cols.len() && cols[j] == c {
            j += 1;
        }
        let count = (j - i) as f32;
        let w = weight(count, c);
        sum_sq += w * w;
        sum_abs += w.abs();
        indices.push(c);
        values.push(count);
        i = j;
    }
    let norm = match params.norm {
        Norm::L2 => sum_sq.sqrt(),
        Norm::L1 => sum_abs,
        Norm::None => 1.0,
    };
    let scale = if norm > 0.0 { 1.0 / norm } else { 1.0 };
    // Pass 2: counts -> normalized weights, recomputed exactly as in pass 1; columns shifted.
    for (v, c) in values[start..].iter_mut().zip(&mut indices[start..]) {
        *v = (weight(*v, *c) * scale) as f32;
        *c += offset;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::vocabulary::DocFreq;
    use crate::text::tokenize::{Tokenizer, TokenizerParams};

    #[test]
    fn dense_counts_weigh_as_sorting_does() {
        let n = 300;
        let idf: Vec<f64> = (0..n).map(|i| 1.0 + (i as f64).sqrt() / 7.0).collect();
        let mut cols: Vec<u32> = (0..2000u32).map(|i| (i * i * 7 + i * 13) % n).collect();
        // One column 700 times: its count passes 255 twice.
        cols.extend(std::iter::repeat_n(5, 700));
        cols.push(n - 1);
        for sublinear_tf in [false, true] {
            for norm in [Norm::L2, Norm::L1, Norm::None] {
                let params = TfidfParams {
                    sublinear_tf,
                    norm,
                    ..TfidfParams::default()
                };
                let (mut a_i, mut a_v) = (Vec::new(), Vec::new());
                weigh_into(&params, &idf, &mut cols.clone(), 3, &mut a_i, &mut a_v);
                let mut counts = DenseCounts::default();
                counts.reserve(n as usize);
                for &c in &cols {
                    counts.add(c);
                }
                let (mut b_i, mut b_v, mut w) = (Vec::new(), Vec::new(), Vec::new());
                weigh_counts_into(&params, &idf, &mut counts, 3, &mut w, &mut b_i, &mut b_v);
                assert_eq!(a_i, b_i);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a_v), bits(&b_v), "{params:?}");
                // Reading the counts cleared them.
                let (mut c_i, mut c_v) = (Vec::new(), Vec::new());
                weigh_counts_into(&params, &idf, &mut counts, 0, &mut w, &mut c_i, &mut c_v);
                assert!(c_i.is_empty() && c_v.is_empty());
            }
        }
    }

    fn fit(
        texts: &[&str],
        vp: VocabularyParams,
        tp: TfidfParams,
    ) -> (TfidfVectorizer, Vec<SparseVec>) {
        let t = Tokenizer::new(TokenizerParams::default());
        let (v, x) =
            TfidfVectorizer::fit_transform(&vp, &tp, texts, |s, b| t.tokenize_into(s, b)).unwrap();
        (v, x.to_rows())
    }

    #[test]
    fn fitting_block_by_block_equals_fitting_each_document_alone() {
        // More texts than one token block, with non-ASCII text on the reference path.
        let words = [
            "talks",
            "shelling",
            "Envoy",
            "truce",
            "Ministère",
            "killed",
            "border",
        ];
        let texts: Vec<String> = (0..5000)
            .map(|i| {
                (0..(3 + i % 7))
                    .map(|j| words[(i * 7 + j * 3 + i / 11) % words.len()])
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let vp = VocabularyParams {
            ngram_range: (1, 3),
            min_df: DocFreq::Count(2),
            ..Default::default()
        };
        let tp = TfidfParams {
            sublinear_tf: true,
            ..Default::default()
        };
        let t = Tokenizer::new(TokenizerParams::default());
        let (a, xa) =
            TfidfVectorizer::fit_transform(&vp, &tp, &texts, |s, b| t.tokenize_into(s, b)).unwrap();
        assert!(a.n_features() > 20);
        // Interning across blocks must give each document the rows it gets on its own.
        let mut b = TokenBuffer::default();
        let mut scratch = Vec::new();
        for (r, text) in texts.iter().enumerate() {
            t.tokenize_into(text, &mut b);
            let row = a.transform(&b, &mut scratch);
            let (idx, val) = xa.row(r);
            assert_eq!(
                (row.indices.as_slice(), row.values.as_slice()),
                (idx, val),
                "row {r}"
            );
        }
        assert_eq!(xa.n_rows(), texts.len());
    }

    #[test]
    fn idf_matches_formula_and_rows_are_unit_length() {
        let (v, rows) = fit(
            &["a b", "a c", "a"],
            VocabularyParams {
                ngram_range: (1, 1),
                ..Default::default()
            },
            TfidfParams::default(),
        );
        assert_eq!(v.terms(), ["a", "b", "c"]);
        assert!((v.idf()[0] - 1.0).abs() < 1e-12);
        assert!((v.idf()[1] - ((4.0f64 / 2.0).ln() + 1.0)).abs() < 1e-12);
        for r in &rows {
            assert!((r.l2_norm() - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn idf_is_frozen_after_fit() {
        let texts = [
            "the army moved",
            "the talks resumed",
            "the army and the talks",
        ];
        let (v, rows) = fit(&texts, VocabularyParams::default(), TfidfParams::default());
        let t = Tokenizer::new(TokenizerParams::default());
        let mut b = TokenBuffer::default();
        t.tokenize_into(texts[2], &mut b);
        let mut scratch = Vec::new();
        assert_eq!(v.transform(&b, &mut scratch), rows[2]);
        t.tokenize_into("unknown words only", &mut b);
        assert_eq!(v.transform(&b, &mut scratch).nnz(), 0);
    }

    #[test]
    fn from_parts_round_trip_gives_same_rows() {
        let texts = ["a b c a", "b c d", "c d e e"];
        let vp = VocabularyParams {
            ngram_range: (1, 3),
            min_df: DocFreq::Count(1),
            ..Default::default()
        };
        let tp = TfidfParams {
            sublinear_tf: true,
            ..Default::default()
        };
        let (v, rows) = fit(&texts, vp.clone(), tp.clone());
        let vocabulary = Vocabulary::from_terms(v.terms().to_vec()).unwrap();
        let w = TfidfVectorizer::from_parts(vp, tp, vocabulary, v.idf().to_vec()).unwrap();
        let t = Tokenizer::new(TokenizerParams::default());
        let mut b = TokenBuffer::default();
        let mut scratch = Vec::new();
        for (text, row) in texts.iter().zip(&rows) {
            t.tokenize_into(text, &mut b);
            assert_eq!(&w.transform(&b, &mut scratch), row);
        }
    }

    #[test]
    fn from_parts_rejects_unsorted_terms() {
        let r = Vocabulary::from_terms(vec!["b".into(), "a".into()]);
        assert!(matches!(r, Err(Error::BadModel(ModelError::Vocabulary(_)))));
        let v = Vocabulary::from_terms(vec!["a".into(), "b".into()]).unwrap();
        let r = TfidfVectorizer::from_parts(
            VocabularyParams::default(),
            TfidfParams::default(),
            v,
            vec![1.0],
        );
        assert!(matches!(
            r,
            Err(Error::BadModel(ModelError::FeatureCount { .. }))
        ));
    }
}

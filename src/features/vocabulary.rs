//! Word n-grams and the vocabulary that numbers them.
//!
//! An n-gram index interns every n-gram as a node of a trie: a unigram is a node of its own and
//! the n-gram `w1 … wn` is the child of `w1 … wn-1` along `wn`. Looking up all n-grams of a
//! document therefore costs one string hash per token and one integer hash per longer n-gram,
//! with no string building. The vocabulary is the set of nodes kept after pruning (`min_df`,
//! `max_df`, `max_features`), numbered in the sorted order of their text (`"w1 w2"`, words joined
//! by one space), as scikit-learn numbers its columns.

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ModelError, Result};
use crate::text::tokenize::TokenBuffer;

/// Marks a node that is not a column of the vocabulary, or a unigram's missing parent.
pub(crate) const NONE: u32 = u32::MAX;

/// The longest n-gram supported.
pub const MAX_NGRAM: usize = 8;

/// A document-frequency bound: an absolute count of documents or a fraction of them
/// (scikit-learn's int/float convention: `2` is a count, `0.5` and `1.0` are fractions).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DocFreq {
    /// At least / at most this many documents.
    Count(u64),
    /// At least / at most this fraction of the documents, in `[0, 1]`.
    Fraction(f64),
}

impl DocFreq {
    /// Parse `"2"` as a count and `"0.5"` or `"1.0"` as a fraction.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for anything else, negatives, or fractions outside `[0, 1]`.
    pub fn parse(name: &'static str, s: &str) -> Result<Self> {
        let s = s.trim();
        if let Ok(n) = s.parse::<u64>() {
            return Ok(DocFreq::Count(n));
        }
        match s.parse::<f64>() {
            Ok(f) if (0.0..=1.0).contains(&f) => Ok(DocFreq::Fraction(f)),
            _ => Err(Error::param(
                name,
                s,
                "expected a document count (e.g. 2) or a fraction in [0, 1] written with a point (e.g. 0.95)",
            )),
        }
    }

    /// The bound in documents, for a corpus of `n_docs` (fractions: `floor` for max, `ceil` for
    /// min, as scikit-learn compares `df >= min_df * n` and `df <= max_df * n`).
    fn as_count(self, n_docs: usize, upper: bool) -> f64 {
        match self {
            DocFreq::Count(c) => c as f64,
            DocFreq::Fraction(f) => {
                let x = f * n_docs as f64;
                if upper {
                    x
                } else {
                    x.ceil()
                }
            }
        }
    }
}

impl std::fmt::Display for DocFreq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DocFreq::Count(c) => write!(f, "{c}"),
            DocFreq::Fraction(x) => write!(f, "{x:?}"),
        }
    }
}

/// Interned n-grams (see the module docs): a table of words and a trie of n-grams over their ids.
#[derive(Debug, Clone, Default)]
pub(crate) struct NgramIndex {
    words: WordTable,
    trie: Trie,
}

/// Words and their ids, in order of first appearance.
#[derive(Debug, Clone, Default)]
pub(crate) struct WordTable {
    words: Vec<Box<str>>,
    ids: FxHashMap<Box<str>, u32>,
}

impl WordTable {
    /// The id of `w`, adding it if it is new.
    #[inline]
    pub(crate) fn id(&mut self, w: &str) -> u32 {
        if let Some(&id) = self.ids.get(w) {
            return id;
        }
        let id = self.words.len() as u32;
        self.words.push(w.into());
        self.ids.insert(w.into(), id);
        id
    }

    #[inline]
    fn get(&self, w: &str) -> Option<u32> {
        self.ids.get(w).copied()
    }
}

/// N-gram nodes over word ids: a unigram is a node of its own and `w1 … wn` is the child of
/// `w1 … wn-1` along `wn`. It never looks at strings, so it can grow while another thread assigns
/// the word ids of the next documents.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trie {
    links: FxHashMap<u64, u32>,
    /// Per node: parent node (or [`NONE`] for a unigram) and word id.
    nodes: Vec<(u32, u32)>,
    /// Per word id: its unigram node, or [`NONE`].
    unigram: Vec<u32>,
}

#[inline]
fn link_key(parent: u32, word: u32) -> u64 {
    (u64::from(parent) << 32) | u64::from(word)
}

impl Trie {
    fn unigram_node(&mut self, word: u32) -> u32 {
        let w = word as usize;
        if w >= self.unigram.len() {
            self.unigram.resize(w + 1, NONE);
        }
        if self.unigram[w] == NONE {
            self.unigram[w] = self.nodes.len() as u32;
            self.nodes.push((NONE, word));
        }
        self.unigram[w]
    }

    fn intern_link(&mut self, parent: u32, word: u32) -> u32 {
        let next = self.nodes.len() as u32;
        let node = *self.links.entry(link_key(parent, word)).or_insert(next);
        if node == next {
            self.nodes.push((parent, word));
        }
        node
    }

    /// Intern every n-gram of the word-id sequence `ids` with `lo <= n <= hi`, appending their
    /// node ids to `out`.
    pub(crate) fn intern_ids(&mut self, ids: &[u32], (lo, hi): (usize, usize), out: &mut Vec<u32>) {
        for i in 0..ids.len() {
            let mut node = self.unigram_node(ids[i]);
            if lo <= 1 {
                out.push(node);
            }
            for n in 2..=hi.min(ids.len() - i) {
                node = self.intern_link(node, ids[i + n - 1]);
                if n >= lo {
                    out.push(node);
                }
            }
        }
    }
}

impl NgramIndex {
    /// An index made of a word table and a trie built over its ids.
    pub(crate) fn from_parts(words: WordTable, trie: Trie) -> NgramIndex {
        NgramIndex { words, trie }
    }

    /// Number of interned n-grams.
    pub(crate) fn n_nodes(&self) -> usize {
        self.trie.nodes.len()
    }

    /// Intern every n-gram of `tokens` with `lo <= n <= hi`, appending their node ids to `out`.
    #[cfg(test)]
    pub(crate) fn intern_doc(
        &mut self,
        tokens: &TokenBuffer,
        range: (usize, usize),
        out: &mut Vec<u32>,
    ) {
        let ids: Vec<u32> = tokens.iter().map(|t| self.words.id(t)).collect();
        self.trie.intern_ids(&ids, range, out);
    }

    /// Look up every n-gram of `tokens` with `lo <= n <= hi` without interning, calling `f`
    /// with the node id of each one that exists.
    #[inline]
    pub(crate) fn lookup_doc(
        &self,
        tokens: &TokenBuffer,
        (lo, hi): (usize, usize),
        mut f: impl FnMut(u32),
    ) {
        // Walk the tokens once, keeping the nodes of the n-grams that end at the previous token
        // (`active[n - 1]` for length n); no allocation. `hi <= 8` is checked by the params.
        let hi = hi.min(MAX_NGRAM);
        let mut active = [NONE; MAX_NGRAM];
        for t in tokens.iter() {
            let mut next = [NONE; MAX_NGRAM];
            if let Some(word) = self.words.get(t) {
                next[0] = self
                    .trie
                    .unigram
                    .get(word as usize)
                    .copied()
                    .unwrap_or(NONE);
                for n in 2..=hi {
                    let prefix = active[n - 2];
                    if prefix != NONE {
                        if let Some(&node) = self.trie.links.get(&link_key(prefix, word)) {
                            next[n - 1] = node;
                        }
                    }
                }
                for &node in &next[lo.max(1) - 1..hi] {
                    if node != NONE {
                        f(node);
                    }
                }
            }
            active = next;
        }
    }

    /// The text of node `node`: its words joined by single spaces.
    pub(crate) fn term(&self, node: u32) -> String {
        let mut words = Vec::new();
        let mut cur = node;
        while cur != NONE {
            let (parent, word) = self.trie.nodes[cur as usize];
            words.push(&*self.words.words[word as usize]);
            cur = parent;
        }
        words.reverse();
        words.join(" ")
    }

    /// Build an index holding exactly `terms` (and their prefixes); returns it with, per node, the
    /// position of its term in `terms` or [`NONE`].
    pub(crate) fn from_terms<S: AsRef<str>>(terms: &[S]) -> (NgramIndex, Vec<u32>) {
        let mut index = NgramIndex::default();
        let mut column = Vec::new();
        for (col, term) in terms.iter().enumerate() {
            let mut node = NONE;
            for w in term.as_ref().split(' ') {
                let word = index.words.id(w);
                node = if node == NONE {
                    index.trie.unigram_node(word)
                } else {
                    index.trie.intern_link(node, word)
                };
            }
            if node != NONE {
                column.resize(index.n_nodes(), NONE);
                column[node as usize] = col as u32;
            }
        }
        column.resize(index.n_nodes(), NONE);
        (index, column)
    }
}

/// Vocabulary pruning options (scikit-learn's names and semantics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VocabularyParams {
    /// Smallest and largest n-gram length. Default `(1, 2)`; `1 <= min <= max`.
    pub ngram_range: (usize, usize),
    /// Drop terms in fewer documents than this. Default `Count(1)`.
    pub min_df: DocFreq,
    /// Drop terms in more documents than this. Default `Fraction(1.0)`.
    pub max_df: DocFreq,
    /// Keep only this many terms, the most frequent over the corpus (ties by term). Default none.
    pub max_features: Option<usize>,
}

impl Default for VocabularyParams {
    fn default() -> Self {
        VocabularyParams {
            ngram_range: (1, 2),
            min_df: DocFreq::Count(1),
            max_df: DocFreq::Fraction(1.0),
            max_features: None,
        }
    }
}

impl VocabularyParams {
    /// Validate the options (called by [`crate::PipelineParams::check`]).
    pub(crate) fn check(&self) -> Result<()> {
        self.check_with(&ParamNames::MAIN, MAX_NGRAM)
    }

    /// Validate the options with n-grams of at most `max_n` units, naming them as `names` says.
    pub(crate) fn check_with(&self, names: &ParamNames, max_n: usize) -> Result<()> {
        let (lo, hi) = self.ngram_range;
        if lo < 1 || lo > hi || hi > max_n {
            return Err(Error::param(
                names.ngram_range,
                format!("{lo},{hi}"),
                format!(
                    "expected MIN,MAX with 1 <= MIN <= MAX <= {max_n}, e.g. {}",
                    if max_n == MAX_NGRAM { "1,2" } else { "2,5" }
                ),
            ));
        }
        for (name, v) in [(names.min_df, self.min_df), (names.max_df, self.max_df)] {
            if let DocFreq::Fraction(f) = v {
                if !(0.0..=1.0).contains(&f) {
                    return Err(Error::param(name, f, "a fraction must lie in [0, 1]"));
                }
            }
        }
        // Bounds of the same kind can be compared now; mixed kinds only against a corpus size.
        let flipped = match (self.min_df, self.max_df) {
            (DocFreq::Fraction(a), DocFreq::Fraction(b)) => a > b,
            (DocFreq::Count(a), DocFreq::Count(b)) => a > b,
            _ => false,
        };
        if flipped {
            // Blame the bound the user moved from its default.
            return Err(if self.max_df != DocFreq::Fraction(1.0) {
                Error::param(
                    names.max_df,
                    self.max_df,
                    format!("must not be below {} ({})", names.min_df, self.min_df),
                )
            } else {
                Error::param(
                    names.min_df,
                    self.min_df,
                    format!("must not exceed {} ({})", names.max_df, self.max_df),
                )
            });
        }
        if self.max_features == Some(0) {
            return Err(Error::param(names.max_features, 0, "must be at least 1"));
        }
        Ok(())
    }

    /// Choose the vocabulary from (term key, document frequency, total count) triples, one per
    /// distinct term of `n_docs` documents, where keys sort as their terms do: the kept keys in
    /// sorted order with their document frequencies.
    ///
    /// # Errors
    /// [`Error::DocFreqBounds`] when the bounds contradict each other for this corpus,
    /// [`Error::EmptyVocabulary`] when no term is left after pruning.
    pub(crate) fn select_counts<K: Ord + Copy + Send>(
        &self,
        n_docs: usize,
        counts: Vec<(K, u64, u64)>,
    ) -> Result<(Vec<K>, Vec<u64>)> {
        let max_count = self.max_df.as_count(n_docs, true);
        let min_count = self.min_df.as_count(n_docs, false);
        if max_count < min_count {
            return Err(Error::DocFreqBounds {
                min_df: self.min_df,
                max_df: self.max_df,
                n_docs,
            });
        }
        let mut kept: Vec<(K, u64, u64)> = counts
            .into_par_iter()
            .filter(|&(_, df, _)| {
                let d = df as f64;
                d >= min_count && d <= max_count && df > 0
            })
            .collect();
        kept.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(limit) = self.max_features {
            if kept.len() > limit {
                keep_most_frequent(&mut kept, limit, |k| k.2);
            }
        }
        if kept.is_empty() {
            return Err(Error::EmptyVocabulary {
                min_df: self.min_df,
                max_df: self.max_df,
                n_docs,
            });
        }
        Ok(kept.into_iter().map(|(k, df, _)| (k, df)).unzip())
    }

    /// Choose the vocabulary from per-document node lists: the kept nodes in the sorted order of
    /// their terms, with their terms and document frequencies.
    ///
    /// # Errors
    /// [`Error::DocFreqBounds`] when the bounds contradict each other for this corpus,
    /// [`Error::EmptyVocabulary`] when no term is left after pruning.
    pub(crate) fn select<D: AsRef<[u32]>>(
        &self,
        index: &NgramIndex,
        docs: &[D],
    ) -> Result<Selection> {
        let n_docs = docs.len();
        let mut df = vec![0u64; index.n_nodes()];
        let mut tf = vec![0u64; index.n_nodes()];
        let mut seen = vec![u32::MAX; index.n_nodes()];
        for (d, nodes) in docs.iter().enumerate() {
            for &node in nodes.as_ref() {
                tf[node as usize] += 1;
                if seen[node as usize] != d as u32 {
                    seen[node as usize] = d as u32;
                    df[node as usize] += 1;
                }
            }
        }
        drop(seen);
        let max_count = self.max_df.as_count(n_docs, true);
        let min_count = self.min_df.as_count(n_docs, false);
        if max_count < min_count {
            return Err(Error::DocFreqBounds {
                min_df: self.min_df,
                max_df: self.max_df,
                n_docs,
            });
        }
        // Terms are built and sorted in parallel; (term, node) pairs are unique, so the order is
        // the same on any number of threads.
        let mut kept: Vec<(String, u32)> = (0..index.n_nodes() as u32)
            .into_par_iter()
            .filter(|&n| {
                let d = df[n as usize] as f64;
                d >= min_count && d <= max_count && df[n as usize] > 0
            })
            .map(|n| (index.term(n), n))
            .collect();
        kept.par_sort_unstable();
        if let Some(limit) = self.max_features {
            if kept.len() > limit {
                keep_most_frequent(&mut kept, limit, |k| tf[k.1 as usize]);
            }
        }
        if kept.is_empty() {
            return Err(Error::EmptyVocabulary {
                min_df: self.min_df,
                max_df: self.max_df,
                n_docs,
            });
        }
        let nodes: Vec<u32> = kept.iter().map(|k| k.1).collect();
        let dfs = nodes.iter().map(|&n| df[n as usize]).collect();
        let terms = kept.into_iter().map(|k| k.0).collect();
        Ok(Selection { nodes, terms, dfs })
    }
}

/// The names under which a block's vocabulary options are reported in errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParamNames {
    pub(crate) ngram_range: &'static str,
    pub(crate) min_df: &'static str,
    pub(crate) max_df: &'static str,
    pub(crate) max_features: &'static str,
}

impl ParamNames {
    /// The first (or only) block's names.
    pub(crate) const MAIN: ParamNames = ParamNames {
        ngram_range: "ngram_range",
        min_df: "min_df",
        max_df: "max_df",
        max_features: "max_features",
    };
}

/// The outcome of [`VocabularyParams::select`].
pub(crate) struct Selection {
    /// Kept index nodes, in the sorted order of their terms.
    pub(crate) nodes: Vec<u32>,
    /// The kept terms, sorted.
    pub(crate) terms: Vec<String>,
    /// Document frequency of each kept term.
    pub(crate) dfs: Vec<u64>,
}

/// A frozen vocabulary: sorted terms (term `i` is column `i`) and an n-gram index that finds the
/// columns of a tokenized document without building strings.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    terms: Vec<String>,
    index: NgramIndex,
    /// Column of each index node, or [`NONE`].
    column: Vec<u32>,
}

impl Vocabulary {
    /// A vocabulary of `terms` (n-grams: words joined by single spaces).
    ///
    /// # Errors
    /// [`ModelError::Vocabulary`] unless the terms are sorted, unique and free of empty words.
    pub fn from_terms(terms: Vec<String>) -> Result<Vocabulary> {
        if terms.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ModelError::Vocabulary("terms are not sorted and unique".into()).into());
        }
        if terms
            .iter()
            .any(|t| t.is_empty() || t.split(' ').any(str::is_empty))
        {
            return Err(ModelError::Vocabulary("it holds an empty term".into()).into());
        }
        let (index, column) = NgramIndex::from_terms(&terms);
        Ok(Vocabulary {
            terms,
            index,
            column,
        })
    }

    /// Number of terms (columns).
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// True when the vocabulary has no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The sorted terms; term `i` is column `i`.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// The column of `term`, if it is in the vocabulary.
    pub fn column(&self, term: &str) -> Option<usize> {
        self.terms.binary_search_by(|t| t.as_str().cmp(term)).ok()
    }

    /// Call `f` with the column of every n-gram of `tokens` (lengths in `range`) that is in the
    /// vocabulary, in document order; repeats are repeated.
    #[inline]
    pub fn columns_of(&self, tokens: &TokenBuffer, range: (usize, usize), mut f: impl FnMut(u32)) {
        self.index.lookup_doc(tokens, range, |node| {
            let c = self.column[node as usize];
            if c != NONE {
                f(c);
            }
        });
    }

    /// The vocabulary section of a model file: the terms in column order, separated by `\n`.
    pub(crate) fn to_section(&self) -> Vec<u8> {
        self.terms.join("\n").into_bytes()
    }

    /// Read a vocabulary section written by [`Vocabulary::to_section`].
    ///
    /// # Errors
    /// [`ModelError::NotUtf8`] or [`ModelError::Vocabulary`].
    pub(crate) fn from_section(name: &str, bytes: &[u8]) -> Result<Vocabulary> {
        let text = std::str::from_utf8(bytes).map_err(|_| ModelError::NotUtf8 {
            name: name.to_string(),
        })?;
        let terms = if text.is_empty() {
            Vec::new()
        } else {
            text.split('\n').map(str::to_owned).collect()
        };
        Vocabulary::from_terms(terms)
    }
}

/// Keep the `limit` items of `kept` with the highest `count`, in their order; a stable sort keeps
/// the earlier (sorted) item among ties.
pub(crate) fn keep_most_frequent<T>(kept: &mut Vec<T>, limit: usize, count: impl Fn(&T) -> u64) {
    let mut order: Vec<usize> = (0..kept.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(count(&kept[i])));
    let mut keep = vec![false; kept.len()];
    for &i in order.iter().take(limit) {
        keep[i] = true;
    }
    let mut i = 0;
    kept.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokenize::{Tokenizer, TokenizerParams};

    fn toks(t: &str) -> TokenBuffer {
        let mut b = TokenBuffer::default();
        Tokenizer::new(TokenizerParams::default()).tokenize_into(t, &mut b);
        b
    }

    #[test]
    fn interns_ngrams_and_rebuilds_terms() {
        let mut idx = NgramIndex::default();
        let mut out = Vec::new();
        idx.intern_doc(&toks("a b c"), (1, 3), &mut out);
        let terms: Vec<String> = out.iter().map(|&n| idx.term(n)).collect();
        assert_eq!(terms, ["a", "a b", "a b c", "b", "b c", "c"]);
        let mut out2 = Vec::new();
        idx.intern_doc(&toks("b c"), (2, 2), &mut out2);
        assert_eq!(idx.term(out2[0]), "b c");
        assert_eq!(out2.len(), 1);
    }

    #[test]
    fn from_terms_finds_the_same_ngrams() {
        let terms = ["b c", "c", "z y x"];
        let (idx, col) = NgramIndex::from_terms(&terms);
        let mut found = Vec::new();
        idx.lookup_doc(&toks("a b c z y x"), (1, 3), |n| {
            if col[n as usize] != NONE {
                found.push(col[n as usize]);
            }
        });
        found.sort();
        assert_eq!(found, [0, 1, 2]);
    }

    #[test]
    fn doc_freq_parse_follows_int_float_convention() {
        assert_eq!(DocFreq::parse("min_df", "2").unwrap(), DocFreq::Count(2));
        assert_eq!(
            DocFreq::parse("max_df", "1.0").unwrap(),
            DocFreq::Fraction(1.0)
        );
        assert!(DocFreq::parse("max_df", "1.5").is_err());
        assert!(DocFreq::parse("max_df", "-1").is_err());
        assert!(DocFreq::parse("max_df", "abc").is_err());
    }

    #[test]
    fn rejects_flipped_ngram_range() {
        let p = VocabularyParams {
            ngram_range: (2, 1),
            ..Default::default()
        };
        assert!(matches!(
            p.check(),
            Err(Error::InvalidParam {
                name: "ngram_range",
                ..
            })
        ));
    }

    #[test]
    fn pruning_everything_is_an_error() {
        let mut idx = NgramIndex::default();
        let mut d = Vec::new();
        idx.intern_doc(&toks("a b"), (1, 1), &mut d);
        let p = VocabularyParams {
            min_df: DocFreq::Count(5),
            max_df: DocFreq::Count(10),
            ..Default::default()
        };
        assert!(matches!(
            p.select(&idx, &[d.clone()]),
            Err(Error::EmptyVocabulary { n_docs: 1, .. })
        ));
        let p = VocabularyParams {
            min_df: DocFreq::Count(5),
            ..Default::default()
        };
        assert!(matches!(
            p.select(&idx, &[d]),
            Err(Error::DocFreqBounds { n_docs: 1, .. })
        ));
    }

    #[test]
    fn max_features_keeps_most_frequent_ties_alphabetical() {
        let mut idx = NgramIndex::default();
        let docs: Vec<Vec<u32>> = ["b a c", "b d", "b c"]
            .iter()
            .map(|t| {
                let mut d = Vec::new();
                idx.intern_doc(&toks(t), (1, 1), &mut d);
                d
            })
            .collect();
        let p = VocabularyParams {
            ngram_range: (1, 1),
            max_features: Some(2),
            ..Default::default()
        };
        let sel = p.select(&idx, &docs).unwrap();
        assert_eq!(sel.terms, ["b", "c"]);
        assert_eq!(sel.dfs, [3, 2]);
    }
}

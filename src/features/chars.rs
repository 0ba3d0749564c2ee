//! Character n-grams with scikit-learn's `analyzer="char"` and `analyzer="char_wb"` semantics,
//! and the TF-IDF block built on them.
//!
//! Both run over the *normalized* text (the model's `tokenizers` normalizer: NFKC or
//! NFKD + accent stripping, then lowercasing; see [`crate::text::tokenize::Tokenizer::normalize_into`]),
//! as scikit-learn's analyzers run over the output of its preprocessor. Then, exactly as
//! `sklearn.feature_extraction.text` does:
//!
//! * every run of two or more whitespace characters becomes one space (`re.sub(r"\s\s+", " ")`;
//!   a single whitespace character, such as a lone newline, stays as it is);
//! * `char`: every substring of `MIN..=MAX` characters of the whole text;
//! * `char_wb`: the text is split into words at whitespace (`str.split()`), each word is padded
//!   with one space on each side, and every substring of `MIN..=MAX` characters of each padded
//!   word is taken; a padded word shorter than `MIN` is taken once, whole.
//!
//! Whitespace is Python's (`str.isspace`): Unicode `White_Space` plus the ASCII separators
//! U+001C..U+001F. Lengths count Unicode scalar values, not bytes.
//!
//! **Keys.** An n-gram of at most [`MAX_CHAR_NGRAM`] characters is packed into a `u128`, 21 bits
//! per character (code point + 1, the first character in the highest bits, unused positions
//! zero). The packing is exact, needs no allocation, and orders keys as Python orders strings (by
//! code point, a prefix first), so the vocabulary is sorted without building strings. Fitting
//! counts document frequencies in parallel per-thread hash maps that are merged at the end;
//! transforming looks each key up in a hash map of the kept n-grams.

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ModelError, Result};
use crate::features::tfidf::{idf_value, weigh_counts_into, DenseCounts, TfidfParams};
use crate::features::vocabulary::{DocFreq, VocabularyParams};
use crate::sparse::{CsrMatrix, SparseVec};

/// What the terms of a TF-IDF block are made of (scikit-learn's `analyzer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Analyzer {
    /// Word n-grams of the tokenizer's tokens (default).
    #[default]
    Word,
    /// Character n-grams of the whole normalized text, whitespace runs collapsed.
    Char,
    /// Character n-grams inside words, each word padded with one space on each side.
    CharWb,
}

impl Analyzer {
    /// True for [`Analyzer::Word`].
    pub fn is_word(&self) -> bool {
        *self == Analyzer::Word
    }

    /// scikit-learn's name: `word`, `char` or `char_wb`.
    pub fn name(&self) -> &'static str {
        match self {
            Analyzer::Word => "word",
            Analyzer::Char => "char",
            Analyzer::CharWb => "char_wb",
        }
    }

    /// Parse scikit-learn's name.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] (`analyzer`) for anything but `word`, `char`, `char_wb`.
    pub fn parse(s: &str) -> Result<Analyzer> {
        match s.trim() {
            "word" => Ok(Analyzer::Word),
            "char" => Ok(Analyzer::Char),
            "char_wb" => Ok(Analyzer::CharWb),
            other => Err(Error::param(
                "analyzer",
                other,
                "expected word, char or char_wb",
            )),
        }
    }
}

impl std::fmt::Display for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The longest character n-gram supported (n-grams are packed into 128 bits).
pub const MAX_CHAR_NGRAM: usize = 6;

/// A packed n-gram of raw code points (see the module docs).
pub(crate) type Key = u128;

const BITS: u32 = 21;
const MASK: u128 = (1 << BITS) - 1;
/// The space that pads `char_wb` words, as a raw code (code point + 1).
const SPACE: u32 = ' ' as u32 + 1;

/// How the characters of an n-gram are packed into an integer key. Codes are never 0, so the
/// packing is exact: different strings of at most [`MAX_CHAR_NGRAM`] characters get different
/// keys.
pub(crate) trait Packing: Copy + Send + Sync {
    /// The key type.
    type Key: Copy + Eq + std::hash::Hash + Ord + Send + Sync;
    /// The key of the empty string.
    const EMPTY: Self::Key;
    /// `key` (the first `position` characters) extended by a character of code `code`.
    fn put(self, key: Self::Key, position: usize, code: u32) -> Self::Key;
}

/// Raw code points in [`MAX_CHAR_NGRAM`] slots of `BITS` bits, the first character in the
/// highest slot and unused slots 0, so that keys order as their strings do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Raw;

impl Packing for Raw {
    type Key = u128;
    const EMPTY: u128 = 0;
    #[inline(always)]
    fn put(self, key: u128, position: usize, code: u32) -> u128 {
        key | (u128::from(code) << shift(position))
    }
}

/// Codes of an [`Alphabet`], `bits` bits each, appended at the low end (`key << bits | code`).
/// Keys of different lengths differ because every code is nonzero.
#[derive(Debug, Clone, Copy)]
struct Dense {
    bits: u32,
}

impl Packing for Dense {
    type Key = u64;
    const EMPTY: u64 = 0;
    #[inline(always)]
    fn put(self, key: u64, _position: usize, code: u32) -> u64 {
        (key << self.bits) | u64::from(code)
    }
}

#[inline(always)]
fn shift(position: usize) -> u32 {
    BITS * (MAX_CHAR_NGRAM - 1 - position) as u32
}

/// Python's `str.isspace`: Unicode `White_Space` plus U+001C..U+001F.
#[inline]
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The raw code of a character: its code point + 1.
#[inline(always)]
fn raw_code(c: char) -> u32 {
    c as u32 + 1
}

/// The text of a key of raw codes.
pub(crate) fn key_text(key: Key) -> String {
    (0..MAX_CHAR_NGRAM)
        .map(|j| ((key >> shift(j)) & MASK) as u32)
        .take_while(|&c| c != 0)
        .map(|c| char::from_u32(c - 1).expect("keys are built from chars"))
        .collect()
}

/// The key of a term under `code`, if it has 1 to [`MAX_CHAR_NGRAM`] characters, all with a
/// code.
fn term_key<P: Packing>(p: P, term: &str, code: impl Fn(char) -> u32) -> Option<P::Key> {
    let mut k = P::EMPTY;
    let mut n = 0;
    for c in term.chars() {
        let x = code(c);
        if n == MAX_CHAR_NGRAM || x == 0 {
            return None;
        }
        k = p.put(k, n, x);
        n += 1;
    }
    (n > 0).then_some(k)
}

/// Turn normalized text into the character sequence the analyzer slides over, as raw codes:
/// for `char`, the text with whitespace runs collapsed; for `char_wb`, the words separated by
/// single spaces, with a space before the first and after the last (so that padded word `k` is
/// the slice from one space to the next, both included). [`Analyzer::Word`] is treated as
/// `char`.
pub(crate) fn prepare(analyzer: Analyzer, text: &str, out: &mut Vec<u32>) {
    prepare_with(analyzer, text, raw_code, SPACE, out);
}

/// [`prepare`] with characters coded by `code` (0 for a character that no term holds) and the
/// space coded `space` (never 0).
#[inline(always)]
fn prepare_with(
    analyzer: Analyzer,
    text: &str,
    code: impl Fn(char) -> u32,
    space: u32,
    out: &mut Vec<u32>,
) {
    out.clear();
    if text.is_ascii() {
        prepare_chars(analyzer, text.bytes().map(char::from), code, space, out);
    } else {
        prepare_chars(analyzer, text.chars(), code, space, out);
    }
}

#[inline(always)]
fn prepare_chars(
    analyzer: Analyzer,
    chars: impl Iterator<Item = char>,
    code: impl Fn(char) -> u32,
    space: u32,
    out: &mut Vec<u32>,
) {
    match analyzer {
        Analyzer::CharWb => {
            let mut in_word = false;
            for c in chars {
                if is_py_space(c) {
                    if in_word {
                        out.push(space);
                        in_word = false;
                    }
                } else {
                    if out.is_empty() {
                        out.push(space);
                    }
                    out.push(code(c));
                    in_word = true;
                }
            }
            if in_word {
                out.push(space);
            }
        }
        Analyzer::Char | Analyzer::Word => {
            // `re.sub(r"\s\s+", " ", text)`: a run of one whitespace character is kept as is.
            let mut run = 0usize;
            let mut first = ' ';
            for c in chars {
                if is_py_space(c) {
                    if run == 0 {
                        first = c;
                    }
                    run += 1;
                    continue;
                }
                match run {
                    0 => {}
                    1 => out.push(code(first)),
                    _ => out.push(space),
                }
                run = 0;
                out.push(code(c));
            }
            match run {
                0 => {}
                1 => out.push(code(first)),
                _ => out.push(space),
            }
        }
    }
}

/// Every substring of `s` with `lo..=hi` characters, except those holding a code 0.
#[inline(always)]
fn windows<P: Packing>(p: P, s: &[u32], (lo, hi): (usize, usize), f: &mut impl FnMut(P::Key)) {
    let len = s.len();
    for i in 0..len {
        let top = hi.min(len - i);
        let mut k = P::EMPTY;
        for (j, &c) in s[i..i + top].iter().enumerate() {
            if c == 0 {
                break;
            }
            k = p.put(k, j, c);
            if j + 1 >= lo {
                f(k);
            }
        }
    }
}

/// Call `f` with every padded word of a `char_wb` sequence made by [`prepare_with`] with the
/// same `space`: the slice from one space to the next, both included.
#[inline(always)]
fn for_each_padded_word(chars: &[u32], space: u32, mut f: impl FnMut(&[u32])) {
    let mut start = 0;
    for j in 1..chars.len() {
        if chars[j] == space {
            f(&chars[start..=j]);
            start = j;
        }
    }
}

/// Call `f` with the key of every `char_wb` n-gram of one padded word, as scikit-learn makes
/// them: a padded word shorter than `lo` counts once, whole.
#[inline(always)]
fn word_keys<P: Packing>(p: P, word: &[u32], range: (usize, usize), f: &mut impl FnMut(P::Key)) {
    if word.len() < range.0 {
        if word.iter().all(|&c| c != 0) {
            let k = word
                .iter()
                .enumerate()
                .fold(P::EMPTY, |k, (j, &c)| p.put(k, j, c));
            f(k);
        }
    } else {
        windows(p, word, range, f);
    }
}

/// Call `f` with the key of every n-gram (`lo..=hi` characters) of a sequence made by
/// [`prepare_with`] for the same analyzer and `space`, in no particular order; repeats are
/// repeated. N-grams holding a code 0 are skipped.
#[inline(always)]
fn for_each_key<P: Packing>(
    p: P,
    analyzer: Analyzer,
    chars: &[u32],
    range: (usize, usize),
    space: u32,
    mut f: impl FnMut(P::Key),
) {
    match analyzer {
        Analyzer::CharWb => for_each_padded_word(chars, space, |w| word_keys(p, w, range, &mut f)),
        Analyzer::Char | Analyzer::Word => windows(p, chars, range, &mut f),
    }
}

/// `f` called with the column of every key that `lookup` finds.
#[inline(always)]
fn lookup_into<K>(lookup: impl Fn(K) -> Option<u32>, mut f: impl FnMut(u32)) -> impl FnMut(K) {
    move |k| {
        if let Some(c) = lookup(k) {
            f(c);
        }
    }
}

/// Call `f` with the column of every n-gram of a `char_wb` sequence (`space` its space code)
/// that `lookup` finds; a padded word in `words` is not cut into n-grams but its remembered
/// columns are given, which are the same columns in the same order.
#[inline(always)]
fn remembered_columns<P: Packing>(
    p: P,
    chars: &[u32],
    range: (usize, usize),
    space: u32,
    words: &WordColumns,
    lookup: impl Fn(P::Key) -> Option<u32>,
    mut f: impl FnMut(u32),
) {
    for_each_padded_word(chars, space, |w| match words.get(w) {
        Some(cols) => cols.iter().for_each(|&c| f(c)),
        None => word_keys(p, w, range, &mut lookup_into(&lookup, &mut f)),
    })
}

/// The columns of whole padded `char_wb` words, computed once, so that a sentence's common
/// words are looked up once each instead of n-gram by n-gram. A word is keyed by its codes
/// (spaces included) packed `bits` bits each into a `u128` (words too long for that are not
/// remembered); a padded word starts with the nonzero space code, so the packing is exact.
/// Equal code sequences have equal n-grams, so a remembered word gives exactly the columns
/// the n-gram path would, in the same order.
#[derive(Debug, Default, Clone)]
pub(crate) struct WordColumns {
    bits: u32,
    /// A padded word's key to the start and length of its columns in `cols`.
    map: FxHashMap<u128, (u32, u32)>,
    cols: Vec<u32>,
}

impl WordColumns {
    /// The key of a padded word, if it fits.
    #[inline(always)]
    fn key(&self, word: &[u32]) -> Option<u128> {
        if word.len() * self.bits as usize > 128 {
            return None;
        }
        Some(
            word.iter()
                .fold(0u128, |k, &c| (k << self.bits) | u128::from(c)),
        )
    }

    #[inline(always)]
    fn get(&self, word: &[u32]) -> Option<&[u32]> {
        let &(start, len) = self.map.get(&self.key(word)?)?;
        self.cols.get(start as usize..(start + len) as usize)
    }

    /// How many words are remembered.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// The n-grams of normalized `text` as strings, in no particular order (for tests and for
/// inspecting the analyzers).
pub fn ngrams(analyzer: Analyzer, text: &str, range: (usize, usize)) -> Vec<String> {
    let mut chars = Vec::new();
    prepare(analyzer, text, &mut chars);
    let mut out = Vec::new();
    for_each_key(Raw, analyzer, &chars, range, SPACE, |k| {
        out.push(key_text(k))
    });
    out
}

/// The characters of a vocabulary, numbered from 1 in code point order, so that keys of codes
/// order as their strings. A character outside it is in no term (code 0).
#[derive(Debug, Clone)]
struct Alphabet {
    ascii: [u16; 128],
    other: FxHashMap<char, u16>,
}

impl Alphabet {
    /// The alphabet of `chars` (sorted, unique), or `None` when there are too many for 16 bits.
    fn new(chars: &[char]) -> Option<Alphabet> {
        if chars.len() >= usize::from(u16::MAX) {
            return None;
        }
        let mut a = Alphabet {
            ascii: [0; 128],
            other: FxHashMap::default(),
        };
        for (i, &c) in chars.iter().enumerate() {
            let code = i as u16 + 1;
            if c.is_ascii() {
                a.ascii[c as usize] = code;
            } else {
                a.other.insert(c, code);
            }
        }
        Some(a)
    }

    #[inline(always)]
    fn code(&self, c: char) -> u32 {
        if c.is_ascii() {
            u32::from(self.ascii[c as usize])
        } else {
            self.other.get(&c).map_or(0, |&x| u32::from(x))
        }
    }
}

/// The map from n-gram to column. When the vocabulary's alphabet is small enough that an
/// n-gram's codes and a column number fit in 64 bits together (as for any vocabulary of a few
/// hundred distinct characters), a [`PackedMap`]; otherwise a hash map over raw code points.
#[derive(Debug, Clone)]
enum Table {
    Packed {
        alphabet: Box<Alphabet>,
        packing: Dense,
        map: PackedMap,
    },
    Wide {
        map: FxHashMap<u128, u32>,
    },
}

/// An open-addressing hash table (linear probing, at most half full) of `key << col_bits |
/// column` in one `u64` per slot, 0 for an empty slot (keys are never 0). A lookup reads one
/// slot, and usually its neighbours in the same cache line, with no separate control bytes.
#[derive(Debug, Clone)]
struct PackedMap {
    slots: Vec<u64>,
    /// `64 - log2(slots.len())`: the hash is the top bits of a multiplicative hash.
    shift: u32,
    col_bits: u32,
}

impl PackedMap {
    /// The bits a column number below `n` needs (at least 1).
    fn col_bits(n: usize) -> u32 {
        (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
    }

    /// A map of `(key, column)` pairs (keys nonzero, unique, below `2^(64 - col_bits)`).
    fn new(entries: impl ExactSizeIterator<Item = (u64, u32)>, col_bits: u32) -> PackedMap {
        let capacity = (entries.len() * 2).next_power_of_two().max(8);
        let mut map = PackedMap {
            slots: vec![0; capacity],
            shift: 64 - capacity.trailing_zeros(),
            col_bits,
        };
        let mask = capacity - 1;
        for (key, col) in entries {
            let mut h = map.home(key);
            while map.slots[h] != 0 {
                h = (h + 1) & mask;
            }
            map.slots[h] = (key << col_bits) | u64::from(col);
        }
        map
    }

    #[inline(always)]
    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    #[inline(always)]
    fn get(&self, key: u64) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut h = self.home(key);
        loop {
            let s = self.slots[h];
            if s == 0 {
                return None;
            }
            if s >> self.col_bits == key {
                return Some((s & ((1 << self.col_bits) - 1)) as u32);
            }
            h = (h + 1) & mask;
        }
    }
}

/// The options of a block of character n-grams added beside the word n-grams (scikit-learn's
/// `FeatureUnion` of a word and a character `TfidfVectorizer`). The document-frequency bounds
/// follow the word block's unless set here; the term weighting ([`TfidfParams`]) is shared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharParams {
    /// `char` or `char_wb`. Default `char_wb`.
    pub analyzer: Analyzer,
    /// Smallest and largest n-gram length in characters. Default `(2, 5)`;
    /// `1 <= min <= max <=` [`MAX_CHAR_NGRAM`].
    pub ngram_range: (usize, usize),
    /// Drop n-grams in fewer documents than this. Default: the word block's `min_df`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_df: Option<DocFreq>,
    /// Drop n-grams in more documents than this. Default: the word block's `max_df`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_df: Option<DocFreq>,
    /// Keep only this many n-grams, the most frequent. Default: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_features: Option<usize>,
}

impl Default for CharParams {
    fn default() -> Self {
        CharParams {
            analyzer: Analyzer::CharWb,
            ngram_range: (2, 5),
            min_df: None,
            max_df: None,
            max_features: None,
        }
    }
}

impl CharParams {
    /// Character n-grams of `analyzer` (`Char` or `CharWb`) with `min..=max` characters.
    pub fn new(analyzer: Analyzer, min: usize, max: usize) -> CharParams {
        CharParams {
            analyzer,
            ngram_range: (min, max),
            ..CharParams::default()
        }
    }

    /// Set `min_df` of this block.
    pub fn min_df(mut self, min_df: DocFreq) -> Self {
        self.min_df = Some(min_df);
        self
    }

    /// Set `max_df` of this block.
    pub fn max_df(mut self, max_df: DocFreq) -> Self {
        self.max_df = Some(max_df);
        self
    }

    /// Set `max_features` of this block.
    pub fn max_features(mut self, n: Option<usize>) -> Self {
        self.max_features = n;
        self
    }

    /// The block's vocabulary options, the unset ones taken from the word block's.
    pub fn vocabulary(&self, word: &VocabularyParams) -> VocabularyParams {
        VocabularyParams {
            ngram_range: self.ngram_range,
            min_df: self.min_df.unwrap_or(word.min_df),
            max_df: self.max_df.unwrap_or(word.max_df),
            max_features: self.max_features,
        }
    }

    /// Validate against the word block's options.
    pub(crate) fn check(&self, word: &VocabularyParams) -> Result<()> {
        if self.analyzer.is_word() {
            return Err(Error::param(
                "char_analyzer",
                self.analyzer,
                "the block beside the word n-grams holds character n-grams: char or char_wb",
            ));
        }
        self.vocabulary(word)
            .check_with(&CHAR_BLOCK_NAMES, MAX_CHAR_NGRAM)
    }
}

/// The parameter names of the second (character) block, as errors report them.
pub(crate) const CHAR_BLOCK_NAMES: crate::features::vocabulary::ParamNames =
    crate::features::vocabulary::ParamNames {
        ngram_range: "char_ngram_range",
        min_df: "char_min_df",
        max_df: "char_max_df",
        max_features: "char_max_features",
    };

/// A frozen vocabulary of character n-grams: sorted terms (term `i` is column `i`) and a map
/// from packed n-gram to column.
#[derive(Debug, Clone)]
pub struct CharVocabulary {
    terms: Vec<String>,
    table: Table,
}

impl CharVocabulary {
    /// A vocabulary of `terms` (each 1 to [`MAX_CHAR_NGRAM`] characters).
    ///
    /// # Errors
    /// [`ModelError::Vocabulary`] unless the terms are sorted, unique and of valid length.
    pub fn from_terms(terms: Vec<String>) -> Result<CharVocabulary> {
        if terms.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ModelError::Vocabulary("terms are not sorted and unique".into()).into());
        }
        let bad = |t: &str| {
            ModelError::Vocabulary(format!(
                "character n-gram {t:?} is empty or longer than {MAX_CHAR_NGRAM} characters"
            ))
        };
        let mut chars: Vec<char> = terms.iter().flat_map(|t| t.chars()).collect();
        chars.push(' ');
        chars.sort_unstable();
        chars.dedup();
        let bits = usize::BITS - chars.len().leading_zeros();
        let col_bits = PackedMap::col_bits(terms.len());
        let fits = bits * MAX_CHAR_NGRAM as u32 + col_bits <= 64;
        let table = match Alphabet::new(&chars).filter(|_| fits) {
            Some(alphabet) => {
                let packing = Dense { bits };
                let keys = terms
                    .iter()
                    .map(|t| term_key(packing, t, |c| alphabet.code(c)).ok_or_else(|| bad(t)))
                    .collect::<std::result::Result<Vec<u64>, ModelError>>()?;
                let map = PackedMap::new(keys.into_iter().zip(0..terms.len() as u32), col_bits);
                Table::Packed {
                    alphabet: Box::new(alphabet),
                    packing,
                    map,
                }
            }
            None => {
                let mut map = FxHashMap::default();
                map.reserve(terms.len());
                for (i, t) in terms.iter().enumerate() {
                    let key = term_key(Raw, t, raw_code).ok_or_else(|| bad(t))?;
                    map.insert(key, i as u32);
                }
                Table::Wide { map }
            }
        };
        Ok(CharVocabulary { terms, table })
    }

    /// Call `f` with the column of every n-gram of normalized `text` that is in the vocabulary;
    /// repeats are repeated. `chars` is scratch.
    #[inline]
    fn columns_of(
        &self,
        analyzer: Analyzer,
        text: &str,
        range: (usize, usize),
        chars: &mut Vec<u32>,
        words: Option<&WordColumns>,
        f: impl FnMut(u32),
    ) {
        // Remembered words are whole `char_wb` words.
        let words = words.filter(|_| analyzer == Analyzer::CharWb);
        match &self.table {
            Table::Packed {
                alphabet,
                packing,
                map,
            } => {
                let space = alphabet.code(' ');
                prepare_with(analyzer, text, |c| alphabet.code(c), space, chars);
                let (p, lookup) = (*packing, |k| map.get(k));
                match words {
                    Some(w) => remembered_columns(p, chars, range, space, w, lookup, f),
                    None => for_each_key(p, analyzer, chars, range, space, lookup_into(lookup, f)),
                }
            }
            Table::Wide { map } => {
                prepare_with(analyzer, text, raw_code, SPACE, chars);
                let lookup = |k| map.get(&k).copied();
                match words {
                    Some(w) => remembered_columns(Raw, chars, range, SPACE, w, lookup, f),
                    None => {
                        for_each_key(Raw, analyzer, chars, range, SPACE, lookup_into(lookup, f))
                    }
                }
            }
        }
    }

    /// The columns of every whole word in `words` (each alone, as `char_wb` pads it), for
    /// [`CharVectorizer::word_columns`]. Strings holding whitespace, or none, are skipped.
    fn word_columns<'a>(
        &self,
        range: (usize, usize),
        words: impl IntoIterator<Item = &'a str>,
    ) -> WordColumns {
        let bits = match &self.table {
            Table::Packed { packing, .. } => packing.bits,
            Table::Wide { .. } => u32::BITS - (char::MAX as u32 + 1).leading_zeros(),
        };
        let mut out = WordColumns {
            bits,
            ..WordColumns::default()
        };
        let words: Vec<&str> = words
            .into_iter()
            .filter(|w| !w.is_empty() && !w.chars().any(is_py_space))
            .collect();
        // Each chunk's keys, column counts and columns, worked out in parallel, then merged
        // in order (the first of equal keys is kept), so the result does not depend on the
        // number of threads.
        let chunks: Vec<(Vec<u128>, Vec<u32>, Vec<u32>)> = words
            .par_chunks(1024)
            .map(|chunk| {
                let (mut keys, mut lens, mut cols) = (Vec::new(), Vec::new(), Vec::new());
                let mut chars = Vec::new();
                for w in chunk {
                    let start = cols.len();
                    self.columns_of(Analyzer::CharWb, w, range, &mut chars, None, |c| {
                        cols.push(c)
                    });
                    match out.key(&chars) {
                        Some(key) => {
                            keys.push(key);
                            lens.push((cols.len() - start) as u32);
                        }
                        None => cols.truncate(start),
                    }
                }
                (keys, lens, cols)
            })
            .collect();
        out.map.reserve(words.len());
        for (keys, lens, cols) in chunks {
            let mut at = 0;
            for (key, len) in keys.into_iter().zip(lens) {
                let span = &cols[at..at + len as usize];
                at += len as usize;
                if let std::collections::hash_map::Entry::Vacant(e) = out.map.entry(key) {
                    e.insert((out.cols.len() as u32, len));
                    out.cols.extend_from_slice(span);
                }
            }
        }
        out.cols.shrink_to_fit();
        out
    }

    /// Number of terms.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// True when there are no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The sorted terms; term `i` is column `i`.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// The column of `term`.
    pub fn column(&self, term: &str) -> Option<usize> {
        let c = match &self.table {
            Table::Packed {
                alphabet,
                packing,
                map,
            } => map.get(term_key(*packing, term, |c| alphabet.code(c))?),
            Table::Wide { map } => map.get(&term_key(Raw, term, raw_code)?).copied(),
        };
        c.map(|c| c as usize)
    }

    /// The section of a model file: per term, its length in bytes (`u8`) and its UTF-8 bytes
    /// (terms may hold any character, newlines included).
    pub(crate) fn to_section(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for t in &self.terms {
            out.push(t.len() as u8);
            out.extend_from_slice(t.as_bytes());
        }
        out
    }

    /// Read a section written by [`CharVocabulary::to_section`].
    pub(crate) fn from_section(name: &str, bytes: &[u8]) -> Result<CharVocabulary> {
        let mut terms = Vec::new();
        let mut rest = bytes;
        while let Some((&len, tail)) = rest.split_first() {
            let len = usize::from(len);
            if tail.len() < len {
                return Err(ModelError::SectionLength {
                    name: name.to_string(),
                    found: bytes.len() as u64,
                    expected: (bytes.len() - tail.len() + len) as u64,
                }
                .into());
            }
            let text = std::str::from_utf8(&tail[..len]).map_err(|_| ModelError::NotUtf8 {
                name: name.to_string(),
            })?;
            terms.push(text.to_string());
            rest = &tail[len..];
        }
        CharVocabulary::from_terms(terms)
    }
}

/// Reusable buffers for transforming one text.
#[derive(Debug, Default, Clone)]
pub struct CharScratch {
    chars: Vec<u32>,
    cols: Vec<u32>,
    counts: DenseCounts,
    weights: Vec<f64>,
}

/// A fitted TF-IDF block of character n-grams: analyzer, frozen vocabulary and idf. It works on
/// normalized text; which normalizer made it is the caller's business.
#[derive(Debug, Clone)]
pub struct CharVectorizer {
    analyzer: Analyzer,
    vocabulary_params: VocabularyParams,
    params: TfidfParams,
    vocabulary: CharVocabulary,
    idf: Vec<f64>,
}

/// Per n-gram counts while fitting.
#[derive(Clone, Copy)]
struct Counts {
    df: u32,
    /// The last document that counted towards `df`.
    last: u32,
    tf: u64,
}

impl CharVectorizer {
    /// Learn the vocabulary and idf from documents and return the vectorizer with the documents'
    /// TF-IDF rows. `normalize(doc, buffer)` writes the normalized text of `doc` into `buffer`
    /// (cleared first). `analyzer` must be `Char` or `CharWb`; `vocabulary_params` is checked
    /// with character limits.
    ///
    /// # Errors
    /// [`Error::InvalidParam`], [`Error::NoRows`], [`Error::EmptyVocabulary`],
    /// [`Error::DocFreqBounds`].
    pub fn fit_transform<T: Sync>(
        analyzer: Analyzer,
        vocabulary_params: &VocabularyParams,
        params: &TfidfParams,
        docs: &[T],
        normalize: impl Fn(&T, &mut String) + Sync,
    ) -> Result<(CharVectorizer, CsrMatrix)> {
        if analyzer.is_word() {
            return Err(Error::param(
                "analyzer",
                analyzer,
                "a character block needs char or char_wb",
            ));
        }
        vocabulary_params.check_with(
            &crate::features::vocabulary::ParamNames::MAIN,
            MAX_CHAR_NGRAM,
        )?;
        Self::fit_transform_checked(analyzer, vocabulary_params, params, docs, normalize)
    }

    /// [`CharVectorizer::fit_transform`] for checked parameters.
    pub(crate) fn fit_transform_checked<T: Sync>(
        analyzer: Analyzer,
        vocabulary_params: &VocabularyParams,
        params: &TfidfParams,
        docs: &[T],
        normalize: impl Fn(&T, &mut String) + Sync,
    ) -> Result<(CharVectorizer, CsrMatrix)> {
        const BLOCK: usize = 256;
        let n_docs = docs.len();
        if n_docs == 0 {
            return Err(Error::NoRows);
        }
        let range = vocabulary_params.ngram_range;
        // Pass 1: document and term frequencies, in per-thread maps.
        let maps: Vec<FxHashMap<Key, Counts>> = docs
            .par_chunks(BLOCK)
            .enumerate()
            .fold(
                || {
                    (
                        FxHashMap::<Key, Counts>::default(),
                        String::new(),
                        Vec::new(),
                    )
                },
                |(mut map, mut text, mut chars), (b, block)| {
                    for (i, doc) in block.iter().enumerate() {
                        let d = (b * BLOCK + i) as u32;
                        normalize(doc, &mut text);
                        prepare(analyzer, &text, &mut chars);
                        for_each_key(Raw, analyzer, &chars, range, SPACE, |k| {
                            let e = map.entry(k).or_insert(Counts {
                                df: 0,
                                last: u32::MAX,
                                tf: 0,
                            });
                            e.tf += 1;
                            if e.last != d {
                                e.last = d;
                                e.df += 1;
                            }
                        });
                    }
                    (map, text, chars)
                },
            )
            .map(|(map, _, _)| map)
            .collect();
        // Merge into the largest map (sums do not depend on the order).
        let mut maps = maps;
        maps.sort_by_key(|m| std::cmp::Reverse(m.len()));
        let mut iter = maps.into_iter();
        let mut counts = iter.next().unwrap_or_default();
        for m in iter {
            for (k, c) in m {
                let e = counts.entry(k).or_insert(Counts {
                    df: 0,
                    last: 0,
                    tf: 0,
                });
                e.df += c.df;
                e.tf += c.tf;
            }
        }
        let (keys, dfs) = vocabulary_params.select_counts(
            n_docs,
            counts
                .into_iter()
                .map(|(k, c)| (k, u64::from(c.df), c.tf))
                .collect(),
        )?;
        let terms: Vec<String> = keys.par_iter().map(|&k| key_text(k)).collect();
        drop(keys);
        // Rows are made through the vocabulary a loaded model has, so that they are the same.
        let vocabulary = CharVocabulary::from_terms(terms)?;
        let idf = dfs
            .iter()
            .map(|&df| idf_value(params.smooth_idf, n_docs, df))
            .collect();
        let vectorizer = CharVectorizer {
            analyzer,
            vocabulary_params: vocabulary_params.clone(),
            params: params.clone(),
            vocabulary,
            idf,
        };
        // Pass 2: the rows, a block of documents at a time, each block into flat buffers.
        let blocks: Vec<(Vec<usize>, Vec<u32>, Vec<f32>)> = docs
            .par_chunks(BLOCK)
            .map(|block| {
                let mut text = String::new();
                let mut scratch = CharScratch::default();
                let (mut lens, mut indices, mut values) = (Vec::new(), Vec::new(), Vec::new());
                for doc in block {
                    normalize(doc, &mut text);
                    let before = indices.len();
                    vectorizer.transform_into(&text, &mut scratch, 0, &mut indices, &mut values);
                    lens.push(indices.len() - before);
                }
                (lens, indices, values)
            })
            .collect();
        let rows = CsrMatrix::from_blocks(vectorizer.n_features(), n_docs, blocks);
        Ok((vectorizer, rows))
    }

    /// Rebuild a vectorizer from its parts.
    ///
    /// # Errors
    /// [`ModelError::FeatureCount`] when the vocabulary and the idf differ in length;
    /// [`Error::InvalidParam`] for a word analyzer.
    pub fn from_parts(
        analyzer: Analyzer,
        vocabulary_params: VocabularyParams,
        params: TfidfParams,
        vocabulary: CharVocabulary,
        idf: Vec<f64>,
    ) -> Result<CharVectorizer> {
        if analyzer.is_word() {
            return Err(Error::param(
                "analyzer",
                analyzer,
                "a character block needs char or char_wb",
            ));
        }
        if vocabulary.len() != idf.len() {
            return Err(ModelError::FeatureCount {
                terms: vocabulary.len(),
                n_features: idf.len(),
            }
            .into());
        }
        Ok(CharVectorizer {
            analyzer,
            vocabulary_params,
            params,
            vocabulary,
            idf,
        })
    }

    /// For `char_wb`, the columns of these whole words (the word block's unigrams, say), for
    /// [`CharVectorizer::transform_remembering`]; strings with whitespace are skipped. `None`
    /// for `char`, or when no word was kept.
    pub(crate) fn word_columns<'a>(
        &self,
        words: impl IntoIterator<Item = &'a str>,
    ) -> Option<WordColumns> {
        if self.analyzer != Analyzer::CharWb {
            return None;
        }
        let words = self
            .vocabulary
            .word_columns(self.vocabulary_params.ngram_range, words);
        (words.len() > 0).then_some(words)
    }

    /// `char` or `char_wb`.
    pub fn analyzer(&self) -> Analyzer {
        self.analyzer
    }

    /// Number of columns.
    pub fn n_features(&self) -> usize {
        self.vocabulary.len()
    }

    /// The vocabulary.
    pub fn vocabulary(&self) -> &CharVocabulary {
        &self.vocabulary
    }

    /// The sorted terms; term `i` is column `i`.
    pub fn terms(&self) -> &[String] {
        self.vocabulary.terms()
    }

    /// The frozen idf, one per column.
    pub fn idf(&self) -> &[f64] {
        &self.idf
    }

    /// The vocabulary options used at fit (n-gram lengths in characters).
    pub fn vocabulary_params(&self) -> &VocabularyParams {
        &self.vocabulary_params
    }

    /// The weighting options used at fit.
    pub fn params(&self) -> &TfidfParams {
        &self.params
    }

    /// The idf section of a model file.
    pub(crate) fn idf_section(&self) -> Vec<u8> {
        self.idf.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// The TF-IDF row of one normalized text. Unknown n-grams are ignored.
    pub fn transform(&self, normalized: &str) -> SparseVec {
        let mut row = SparseVec::default();
        self.transform_into(
            normalized,
            &mut CharScratch::default(),
            0,
            &mut row.indices,
            &mut row.values,
        );
        row
    }

    /// Append the TF-IDF row of one normalized text to `indices` / `values`, with `offset` added
    /// to every column. Looks n-grams up without allocating (beyond growing the buffers).
    #[inline]
    pub fn transform_into(
        &self,
        normalized: &str,
        scratch: &mut CharScratch,
        offset: u32,
        indices: &mut Vec<u32>,
        values: &mut Vec<f32>,
    ) {
        self.transform_remembering(normalized, scratch, offset, indices, values, None);
    }

    /// [`CharVectorizer::transform_into`], taking the columns of the words in `words` (made by
    /// [`CharVectorizer::word_columns`] of this vectorizer) from there: the same row, faster.
    #[inline]
    pub(crate) fn transform_remembering(
        &self,
        normalized: &str,
        scratch: &mut CharScratch,
        offset: u32,
        indices: &mut Vec<u32>,
        values: &mut Vec<f32>,
        words: Option<&WordColumns>,
    ) {
        // Look every n-gram up first, then count: the lookups do not wait on one another.
        scratch.cols.clear();
        let cols = &mut scratch.cols;
        self.vocabulary.columns_of(
            self.analyzer,
            normalized,
            self.vocabulary_params.ngram_range,
            &mut scratch.chars,
            words,
            |c| cols.push(c),
        );
        scratch.counts.reserve(self.n_features());
        for &c in &scratch.cols {
            scratch.counts.add(c);
        }
        weigh_counts_into(
            &self.params,
            &self.idf,
            &mut scratch.counts,
            offset,
            &mut scratch.weights,
            indices,
            values,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    fn strs(v: &[&str]) -> Vec<String> {
        sorted(v.iter().map(|s| s.to_string()).collect())
    }

    /// scikit-learn's `_char_wb_ngrams`, transcribed.
    fn sk_char_wb(text: &str, (lo, hi): (usize, usize)) -> Vec<String> {
        let mut out = Vec::new();
        for w in text.split(is_py_space).filter(|w| !w.is_empty()) {
            let w: Vec<char> = format!(" {w} ").chars().collect();
            let len = w.len();
            for n in lo..=hi {
                let mut offset = 0;
                out.push(w[offset..(offset + n).min(len)].iter().collect());
                while offset + n < len {
                    offset += 1;
                    out.push(w[offset..offset + n].iter().collect());
                }
                if offset == 0 {
                    break;
                }
            }
        }
        sorted(out)
    }

    /// scikit-learn's `_char_ngrams`, transcribed (with its `\s\s+` substitution).
    fn sk_char(text: &str, (lo, hi): (usize, usize)) -> Vec<String> {
        let mut t: Vec<char> = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if is_py_space(chars[i]) {
                let mut j = i;
                while j < chars.len() && is_py_space(chars[j]) {
                    j += 1;
                }
                if j - i >= 2 {
                    t.push(' ');
                } else {
                    t.push(chars[i]);
                }
                i = j;
            } else {
                t.push(chars[i]);
                i += 1;
            }
        }
        let mut out = Vec::new();
        for n in lo..=hi.min(t.len()) {
            for i in 0..=t.len() - n {
                out.push(t[i..i + n].iter().collect());
            }
        }
        sorted(out)
    }

    #[test]
    fn char_wb_pads_words_with_one_space() {
        assert_eq!(
            sorted(ngrams(Analyzer::CharWb, "ab c", (2, 3))),
            strs(&[" a", "ab", "b ", " ab", "ab ", " c", "c ", " c "])
        );
        // Unigrams count each padding space, the shared ones twice.
        let uni = ngrams(Analyzer::CharWb, "ab c", (1, 1));
        assert_eq!(uni.iter().filter(|s| *s == " ").count(), 4);
    }

    #[test]
    fn char_wb_counts_a_short_word_once_whole() {
        // " a " has 3 characters; with MIN = 4 it is taken once.
        assert_eq!(
            ngrams(Analyzer::CharWb, "a bcd", (4, 5)),
            sk_char_wb("a bcd", (4, 5))
        );
        assert!(ngrams(Analyzer::CharWb, "a", (4, 5)) == vec![" a ".to_string()]);
        assert!(ngrams(Analyzer::CharWb, "  \t ", (2, 5)).is_empty());
        assert!(ngrams(Analyzer::CharWb, "", (1, 1)).is_empty());
    }

    #[test]
    fn char_collapses_whitespace_runs_but_keeps_a_single_one() {
        assert_eq!(
            sorted(ngrams(Analyzer::Char, "a  \t b\nc", (2, 2))),
            strs(&["a ", " b", "b\n", "\nc"])
        );
        assert_eq!(
            sorted(ngrams(Analyzer::Char, " ab ", (3, 5))),
            strs(&[" ab", "ab ", " ab "])
        );
        assert!(ngrams(Analyzer::Char, "ab", (3, 5)).is_empty());
    }

    #[test]
    fn counts_characters_not_bytes() {
        let text = "café über 東京 👍🏽 x";
        for range in [(1, 1), (1, 3), (2, 5), (3, 6), (5, 6)] {
            assert_eq!(
                sorted(ngrams(Analyzer::CharWb, text, range)),
                sk_char_wb(text, range),
                "{range:?}"
            );
            assert_eq!(
                sorted(ngrams(Analyzer::Char, text, range)),
                sk_char(text, range),
                "{range:?}"
            );
        }
        assert!(ngrams(Analyzer::CharWb, "東京", (2, 2)).contains(&"東京".to_string()));
    }

    #[test]
    fn generators_match_the_transcriptions_of_scikit_learn() {
        let texts = [
            "the u.n. envoy's visit -- the first since 2019 -- ended early.",
            "  leading and trailing  ",
            "tabs\tand\nnewlines\r\n\x0bvertical\x0cfeeds\x1cfile\x1fsep",
            "nbsp\u{a0}nel\u{85}ls\u{2028}ideographic\u{3000}space\u{2009}thin",
            "a b c d e",
            "x",
            "",
            " ",
            "\n",
            "no  double\u{a0}\u{a0}space",
        ];
        for text in texts {
            for range in [(1, 1), (1, 2), (2, 5), (3, 3), (4, 6), (6, 6)] {
                assert_eq!(
                    sorted(ngrams(Analyzer::CharWb, text, range)),
                    sk_char_wb(text, range),
                    "char_wb {range:?} {text:?}"
                );
                assert_eq!(
                    sorted(ngrams(Analyzer::Char, text, range)),
                    sk_char(text, range),
                    "char {range:?} {text:?}"
                );
            }
        }
    }

    /// The columns of every n-gram of `text` that is a term, found by string search: the
    /// reference the packed and wide tables are checked against.
    fn columns_by_string(
        v: &CharVocabulary,
        analyzer: Analyzer,
        text: &str,
        range: (usize, usize),
    ) -> Vec<u32> {
        let mut cols: Vec<u32> = ngrams(analyzer, text, range)
            .iter()
            .filter_map(|g| v.terms().binary_search(g).ok())
            .map(|c| c as u32)
            .collect();
        cols.sort_unstable();
        cols
    }

    fn columns_by_table(
        v: &CharVocabulary,
        analyzer: Analyzer,
        text: &str,
        range: (usize, usize),
    ) -> Vec<u32> {
        let mut cols = Vec::new();
        v.columns_of(analyzer, text, range, &mut Vec::new(), None, |c| {
            cols.push(c)
        });
        cols.sort_unstable();
        cols
    }

    #[test]
    fn packed_and_wide_tables_find_the_terms_that_strings_find() {
        let texts = [
            "the rebels dismissed the appeal",
            "Ünïcode ñ 北京 talks\n",
            "a",
            "  ",
            "x\u{1c}y  z",
            "unseen: @#% qqq",
        ];
        let mut all: Vec<String> = texts
            .iter()
            .flat_map(|t| {
                let mut g = ngrams(Analyzer::CharWb, t, (1, 4));
                g.extend(ngrams(Analyzer::Char, t, (1, 4)));
                g
            })
            .filter(|g| !g.contains('q'))
            .collect();
        all.sort_unstable();
        all.dedup();
        // Leave every third n-gram out, so that lookups also miss.
        let small: Vec<String> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 0)
            .map(|(_, g)| g.clone())
            .collect();
        // 1,100 more distinct characters do not pack into 64 bits with a column.
        let mut wide = small.clone();
        wide.extend((0..1100).map(|i| char::from_u32(0x4E00 + i).unwrap().to_string()));
        wide.sort_unstable();
        wide.dedup();
        let packed = CharVocabulary::from_terms(small).unwrap();
        assert!(matches!(packed.table, Table::Packed { .. }));
        let wide = CharVocabulary::from_terms(wide).unwrap();
        assert!(matches!(wide.table, Table::Wide { .. }));
        for v in [&packed, &wide] {
            for analyzer in [Analyzer::Char, Analyzer::CharWb] {
                for text in texts {
                    for range in [(1, 4), (2, 3), (3, 5)] {
                        assert_eq!(
                            columns_by_table(v, analyzer, text, range),
                            columns_by_string(v, analyzer, text, range),
                            "{analyzer} {range:?} {text:?}"
                        );
                    }
                }
            }
            for (i, t) in v.terms().iter().enumerate() {
                assert_eq!(v.column(t), Some(i));
            }
            assert_eq!(v.column("qqq"), None);
            assert_eq!(v.column(""), None);
            assert_eq!(v.column("abcdefg"), None);
        }
    }

    #[test]
    fn remembered_words_give_the_columns_of_the_ngram_path() {
        let texts = [
            "the rebels dismissed the appeal, the rebels said",
            "Ünïcode ñ 北京 talks\n talks",
            "a  b\u{1c}a",
            "unseen: @#% qqq qqq internationalization internationalization",
            "",
        ];
        let mut terms: Vec<String> = texts
            .iter()
            .flat_map(|t| ngrams(Analyzer::CharWb, t, (1, 5)))
            .filter(|g| !g.contains('q'))
            .enumerate()
            .filter(|(i, _)| i % 4 != 0)
            .map(|(_, g)| g)
            .collect();
        terms.sort_unstable();
        terms.dedup();
        let mut wide = terms.clone();
        wide.extend((0..1100).map(|i| char::from_u32(0x4E00 + i).unwrap().to_string()));
        wide.sort_unstable();
        wide.dedup();
        // Whole words, words with punctuation or characters in no term, words too long to
        // pack, and strings that are not one word (skipped).
        let words = [
            "the",
            "rebels",
            "appeal,",
            "talks",
            "北京",
            "a",
            "b",
            "qqq",
            "@#%",
            "internationalization",
            "two words",
            "",
            " ",
            "ñ",
        ];
        for vocabulary in [terms, wide] {
            let v = CharVocabulary::from_terms(vocabulary).unwrap();
            for range in [(1, 4), (2, 5), (3, 3), (5, 5)] {
                let remembered = v.word_columns(range, words);
                assert!(remembered.len() >= 5, "{}", remembered.len());
                for text in texts {
                    let (mut plain, mut cached) = (Vec::new(), Vec::new());
                    let mut chars = Vec::new();
                    v.columns_of(Analyzer::CharWb, text, range, &mut chars, None, |c| {
                        plain.push(c)
                    });
                    v.columns_of(
                        Analyzer::CharWb,
                        text,
                        range,
                        &mut chars,
                        Some(&remembered),
                        |c| cached.push(c),
                    );
                    assert_eq!(cached, plain, "{range:?} {text:?}");
                    // `char` never uses them.
                    let (mut plain, mut given) = (Vec::new(), Vec::new());
                    v.columns_of(Analyzer::Char, text, range, &mut chars, None, |c| {
                        plain.push(c)
                    });
                    v.columns_of(
                        Analyzer::Char,
                        text,
                        range,
                        &mut chars,
                        Some(&remembered),
                        |c| given.push(c),
                    );
                    assert_eq!(given, plain);
                }
            }
        }
    }

    #[test]
    fn keys_sort_like_strings() {
        let mut terms: Vec<&str> = vec!["a", "ab", "b", " a", "é", "z", "\u{10FFFF}", "aa", "a\n"];
        let text_key = |t: &str| term_key(Raw, t, raw_code);
        let mut keys: Vec<Key> = terms.iter().map(|t| text_key(t).unwrap()).collect();
        keys.sort_unstable();
        terms.sort_unstable();
        let back: Vec<String> = keys.into_iter().map(key_text).collect();
        assert_eq!(back, terms);
        assert!(text_key("").is_none());
        assert!(text_key("abcdefg").is_none());
        assert_eq!(key_text(text_key("abcdef").unwrap()), "abcdef");
    }

    #[test]
    fn vocabulary_section_round_trips_terms_with_newlines() {
        let v = CharVocabulary::from_terms(vec![
            "\na".to_string(),
            " ab".into(),
            "a\n".into(),
            "é".into(),
        ])
        .unwrap();
        let back = CharVocabulary::from_section("char.vocabulary", &v.to_section()).unwrap();
        assert_eq!(back.terms(), v.terms());
        assert_eq!(back.column("a\n"), Some(2));
        assert!(CharVocabulary::from_section("x", &[5, b'a']).is_err());
        assert!(CharVocabulary::from_terms(vec!["b".into(), "a".into()]).is_err());
        assert!(CharVocabulary::from_terms(vec!["abcdefg".into()]).is_err());
    }

    #[test]
    fn fit_transform_counts_documents_and_transform_agrees() {
        let docs = ["ab ab", "abc", "b c", "ab ab"];
        let vp = VocabularyParams {
            ngram_range: (2, 3),
            min_df: DocFreq::Count(2),
            ..VocabularyParams::default()
        };
        let (v, x) = CharVectorizer::fit_transform(
            Analyzer::CharWb,
            &vp,
            &TfidfParams::default(),
            &docs,
            |d, s| {
                s.clear();
                s.push_str(d)
            },
        )
        .unwrap();
        // " a", "ab", " ab" are in 3 documents; "b " and "ab " in 3; "c " in 2.
        assert!(v.terms().windows(2).all(|w| w[0] < w[1]));
        let col = |t: &str| v.vocabulary().column(t).unwrap();
        let n = docs.len();
        assert!((v.idf()[col(" a")] - idf_value(true, n, 3)).abs() < 1e-12);
        assert!((v.idf()[col("c ")] - idf_value(true, n, 2)).abs() < 1e-12);
        assert!(v.vocabulary().column("abc").is_none());
        for (r, d) in docs.iter().enumerate() {
            let row = v.transform(d);
            let (i, val) = x.row(r);
            assert_eq!((row.indices.as_slice(), row.values.as_slice()), (i, val));
            assert!((row.l2_norm() - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn fitting_is_the_same_on_one_or_many_threads() {
        let docs: Vec<String> = (0..3000)
            .map(|i| format!("doc {} wörd{} {}", i % 17, i % 5, "xy".repeat(i % 4)))
            .collect();
        let vp = VocabularyParams {
            ngram_range: (1, 4),
            min_df: DocFreq::Count(2),
            ..VocabularyParams::default()
        };
        let fit = || {
            CharVectorizer::fit_transform(
                Analyzer::Char,
                &vp,
                &TfidfParams::default(),
                &docs,
                |d, s| {
                    s.clear();
                    s.push_str(d)
                },
            )
            .unwrap()
        };
        let (a, xa) = fit();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let (b, xb) = pool.install(fit);
        assert_eq!(a.terms(), b.terms());
        assert_eq!(a.idf(), b.idf());
        assert_eq!(xa, xb);
    }
}

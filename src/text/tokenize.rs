//! Tokenization: raw text -> word tokens, built on the `tokenizers` crate.
//!
//! The tokenizer is a Hugging Face `tokenizers` pipeline made of a normalizer (Unicode NFKC, or
//! NFKD + accent stripping, then optional lowercasing) and the `Whitespace` pre-tokenizer, which
//! splits on the regular expression `\w+|[^\w\s]+` (runs of word characters, runs of punctuation).
//! Its definition is kept as standard `tokenizer.json` text inside every model, so the same
//! tokens can be reproduced in Python:
//!
//! ```python
//! from tokenizers import Tokenizer
//! tok = Tokenizer.from_str(tokenizer_json)
//! norm = tok.normalizer.normalize_str(text)
//! tokens = [t for t, _ in tok.pre_tokenizer.pre_tokenize_str(norm)]
//! ```
//!
//! After the pipeline, tokens that do not start with a letter, digit or `_` (punctuation runs, and
//! stray marks such as an emoji's variation selector) are dropped unless `keep_punctuation` is
//! set: in Python, `re.match(r"\w", token)`. Unlike scikit-learn's default `token_pattern`,
//! one-character words are kept.
//!
//! **Fast path.** The `tokenizers` pipeline runs at roughly 10 MB/s. For input that is pure ASCII,
//! NFKC/NFKD and accent stripping are the identity and `\w`/`\s` reduce to small byte classes, so
//! an equivalent byte scanner produces the same tokens at several hundred MB/s. Any non-ASCII
//! input goes through the `tokenizers` pipeline itself. The differential tests in this file and in
//! `tests/` check that both paths agree on the project's corpora and on adversarial Unicode.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tokenizers::models::wordlevel::WordLevel;
use tokenizers::normalizers::{Lowercase, Sequence, StripAccents, NFKC, NFKD};
use tokenizers::pre_tokenizers::whitespace::Whitespace;
use tokenizers::{
    NormalizedString, Normalizer, NormalizerWrapper, OffsetReferential, OffsetType,
    PreTokenizedString, PreTokenizer, PreTokenizerWrapper,
};

use crate::error::{Error, ModelError, Result};

/// Tokenizer options (scikit-learn names where they exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerParams {
    /// Lowercase the text before splitting. Default `true`.
    pub lowercase: bool,
    /// Decompose (NFKD) and remove combining accents (`é` -> `e`). Default `false` (NFKC instead).
    pub strip_accents: bool,
    /// Keep punctuation tokens such as `,` or `”`. Default `false`.
    pub keep_punctuation: bool,
}

impl Default for TokenizerParams {
    fn default() -> Self {
        TokenizerParams {
            lowercase: true,
            strip_accents: false,
            keep_punctuation: false,
        }
    }
}

/// A reusable buffer holding the tokens of one text: `text[spans[i].0..spans[i].1]` is token `i`.
#[derive(Debug, Default, Clone)]
pub struct TokenBuffer {
    text: String,
    spans: Vec<(u32, u32)>,
}

impl TokenBuffer {
    /// Iterate over the tokens.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.spans
            .iter()
            .map(|&(a, b)| &self.text[a as usize..b as usize])
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The tokens as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }

    fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
    }

    fn push(&mut self, token: &str) {
        let a = self.text.len() as u32;
        self.text.push_str(token);
        self.spans.push((a, self.text.len() as u32));
    }
}

/// A fitted tokenizer: the `tokenizers` pipeline plus the options applied after it.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    params: TokenizerParams,
    inner: tokenizers::Tokenizer,
}

/// Whether a token counts as a word: its first character is alphanumeric or `_` (Python's `\w`).
/// Tokens of the `\w+` alternative that start with a combining mark or a joiner (an emoji's
/// variation selector, for instance) are dropped with the punctuation.
fn starts_with_word_char(token: &str) -> bool {
    use unicode_categories::UnicodeCategories;
    // Rust's `is_alphanumeric` follows the Alphabetic property, which includes some spacing
    // marks (Mc); Python's `isalnum` takes letters and numbers only, so marks are excluded.
    token
        .chars()
        .next()
        .is_some_and(|c| c == '_' || (c.is_alphanumeric() && !c.is_mark()))
}

impl Tokenizer {
    /// Build the tokenizer for `params`.
    pub fn new(params: TokenizerParams) -> Self {
        let mut steps: Vec<NormalizerWrapper> = Vec::new();
        if params.strip_accents {
            steps.push(NFKD.into());
            steps.push(StripAccents.into());
        } else {
            steps.push(NFKC.into());
        }
        if params.lowercase {
            steps.push(Lowercase.into());
        }
        let model = WordLevel::builder()
            .vocab([("[UNK]".to_string(), 0u32)].into_iter().collect())
            .unk_token("[UNK]".to_string())
            .build()
            .expect("a one-word vocabulary with its unknown token is valid");
        let mut inner = tokenizers::Tokenizer::new(model);
        inner
            .with_normalizer(Some(Sequence::new(steps)))
            .expect("a normalizer sequence is accepted");
        inner.with_pre_tokenizer(Some(PreTokenizerWrapper::Whitespace(Whitespace)));
        Tokenizer { params, inner }
    }

    /// Rebuild a tokenizer from its parameters and the saved `tokenizer.json` text, checking that
    /// the two describe the same pipeline.
    ///
    /// # Errors
    /// [`ModelError::Tokenizer`] if the JSON does not parse or differs from what the parameters
    /// build.
    pub fn from_json(params: TokenizerParams, json: &str) -> Result<Self> {
        let built = Tokenizer::new(params);
        let parsed = tokenizers::Tokenizer::from_str(json)
            .map_err(|e| ModelError::Tokenizer(format!("does not parse: {e}")))?;
        let canonical = |t: &tokenizers::Tokenizer| {
            t.to_string(false)
                .map_err(|e| Error::Tokenizer(e.to_string()))
        };
        if canonical(&parsed)? != canonical(&built.inner)? {
            return Err(ModelError::Tokenizer(
                "does not match the model's tokenizer parameters".into(),
            )
            .into());
        }
        Ok(built)
    }

    /// The options this tokenizer was built with.
    pub fn params(&self) -> &TokenizerParams {
        &self.params
    }

    /// The pipeline as standard `tokenizer.json` text.
    pub fn to_json(&self) -> String {
        self.inner
            .to_string(true)
            .expect("a built-in normalizer and pre-tokenizer always serialize")
    }

    /// Tokenize `text` into `out` (cleared first), using the ASCII fast path when possible.
    pub fn tokenize_into(&self, text: &str, out: &mut TokenBuffer) {
        if text.is_ascii()
            || text
                .chars()
                .all(|c| c.is_ascii() || is_stable_punctuation(c))
        {
            self.tokenize_ascii(text, out);
        } else {
            self.tokenize_reference(text, out);
        }
    }

    /// Write the normalized text of `text` into `out` (cleared first): the tokenizer's
    /// normalizer (NFKC, or NFKD + accent stripping, then lowercasing), as Python's
    /// `tokenizer.normalizer.normalize_str(text)` gives it. This is what character n-grams are
    /// taken from. ASCII text (and the punctuation the tokenizer's fast path accepts) is only
    /// lowercased; anything else goes through the `tokenizers` normalizer.
    pub fn normalize_into(&self, text: &str, out: &mut String) {
        out.clear();
        if text.is_ascii()
            || text
                .chars()
                .all(|c| c.is_ascii() || is_stable_punctuation(c))
        {
            out.push_str(text);
            if self.params.lowercase {
                out.make_ascii_lowercase();
            }
            return;
        }
        let mut normalized = NormalizedString::from(text);
        // The built-in normalizers cannot fail on valid UTF-8; should a future version fail, the
        // text is left as it is.
        if let Some(n) = self.inner.get_normalizer() {
            if n.normalize(&mut normalized).is_err() {
                out.push_str(text);
                return;
            }
        }
        out.push_str(normalized.get());
    }

    /// The normalized text of `text` (see [`Tokenizer::normalize_into`]).
    pub fn normalize(&self, text: &str) -> String {
        let mut out = String::new();
        self.normalize_into(text, &mut out);
        out
    }

    /// Tokenize many texts in parallel, one buffer each.
    pub fn tokenize_all<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<TokenBuffer> {
        use rayon::prelude::*;
        texts
            .par_iter()
            .map(|t| {
                let mut b = TokenBuffer::default();
                self.tokenize_into(t.as_ref(), &mut b);
                b
            })
            .collect()
    }

    /// Tokenize `text` and return owned tokens.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let mut buf = TokenBuffer::default();
        self.tokenize_into(text, &mut buf);
        buf.to_vec()
    }

    /// Tokenize through the `tokenizers` pipeline only (no fast path). This is the reference
    /// the fast path is tested against.
    pub fn tokenize_reference(&self, text: &str, out: &mut TokenBuffer) {
        out.clear();
        let mut pretok = PreTokenizedString::from(text);
        // The built-in normalizers and the Whitespace pre-tokenizer cannot fail on valid UTF-8;
        // should a future version fail, the text yields no tokens rather than a crash.
        if let Some(n) = self.inner.get_normalizer() {
            if pretok.normalize(|s| n.normalize(s)).is_err() {
                return;
            }
        }
        if let Some(p) = self.inner.get_pre_tokenizer() {
            if p.pre_tokenize(&mut pretok).is_err() {
                return;
            }
        }
        for (token, _, _) in pretok.get_splits(OffsetReferential::Normalized, OffsetType::Byte) {
            if self.params.keep_punctuation || starts_with_word_char(token) {
                out.push(token);
            }
        }
    }

    fn tokenize_ascii(&self, text: &str, out: &mut TokenBuffer) {
        out.clear();
        out.text.push_str(text);
        if self.params.lowercase {
            out.text.make_ascii_lowercase();
        }
        let bytes = out.text.as_bytes();
        let n = bytes.len();
        let mut i = 0;
        while i < n {
            let class = ascii_class(bytes[i]);
            if class == AsciiClass::Space {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < n && ascii_class(bytes[j]) == class {
                j += 1;
            }
            if class == AsciiClass::Word || self.params.keep_punctuation {
                out.spans.push((i as u32, j as u32));
            }
            i = j;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AsciiClass {
    Word,
    Space,
    Punct,
}

/// `\w` and `\s` of the `regex` crate restricted to ASCII: `[0-9A-Za-z_]` and `[\t\n\v\f\r ]`.
/// Every byte of a multi-byte character is `Punct`: the fast path only sees multi-byte characters
/// that are punctuation (see [`is_stable_punctuation`]).
#[inline]
fn ascii_class(b: u8) -> AsciiClass {
    match b {
        b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' | b'_' => AsciiClass::Word,
        b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' => AsciiClass::Space,
        _ => AsciiClass::Punct,
    }
}

/// Non-ASCII punctuation that news text is full of and that the fast path may treat like ASCII
/// punctuation: each is left unchanged by NFKC, NFKD, accent stripping and lowercasing, has no
/// combining behaviour, and is neither `\w` nor `\s` (curly quotes, guillemets, en and em dashes).
/// `…` is not here: NFKC rewrites it to `...`.
#[inline]
fn is_stable_punctuation(c: char) -> bool {
    matches!(
        c,
        '\u{2018}'
            | '\u{2019}'
            | '\u{201C}'
            | '\u{201D}'
            | '\u{2013}'
            | '\u{2014}'
            | '\u{00AB}'
            | '\u{00BB}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(t: &Tokenizer, text: &str) -> (Vec<String>, Vec<String>) {
        let mut a = TokenBuffer::default();
        let mut b = TokenBuffer::default();
        t.tokenize_into(text, &mut a);
        t.tokenize_reference(text, &mut b);
        (a.to_vec(), b.to_vec())
    }

    fn all_params() -> Vec<TokenizerParams> {
        let mut v = Vec::new();
        for lowercase in [true, false] {
            for strip_accents in [true, false] {
                for keep_punctuation in [true, false] {
                    v.push(TokenizerParams {
                        lowercase,
                        strip_accents,
                        keep_punctuation,
                    });
                }
            }
        }
        v
    }

    #[test]
    fn splits_words_from_punctuation() {
        let t = Tokenizer::new(TokenizerParams::default());
        assert_eq!(
            t.tokenize("U.S. troops, 3.5 km away; \"no\"!"),
            ["u", "s", "troops", "3", "5", "km", "away", "no"]
        );
        let p = Tokenizer::new(TokenizerParams {
            keep_punctuation: true,
            ..Default::default()
        });
        assert_eq!(p.tokenize("Hey man!?"), ["hey", "man", "!?"]);
    }

    #[test]
    fn table_fast_path_matches_tokenizers_pipeline() {
        let cases = [
            "",
            "   ",
            "Gunmen stormed a checkpoint near the border overnight, officials said.",
            "The U.N. envoy's visit -- the first since 2019 -- ended early.",
            "snake_case and CamelCase and 1,200 troops at 10:30 a.m.",
            "tabs\tand\nnewlines\r\nand\x0bvertical\x0cfeeds",
            "weird ~`!@#$%^&*()-+=[]{}|\\:;\"'<>,.?/ punctuation",
            "\x00\x01\x1f control \x7f chars",
            "ALL CAPS HEADLINE WITHOUT PERIOD",
            "\u{201C}The next months are critical,\u{201D} said an official \u{2014} who asked",
            "Kyiv\u{2019}s \u{2018}red lines\u{2019} \u{2013} \u{00AB}non\u{00BB}.\u{201D}\u{2019}",
            "mixed \u{201C}quotes\u{201D} and caf\u{e9} go the slow way \u{2026}",
        ];
        for params in all_params() {
            let t = Tokenizer::new(params.clone());
            for text in cases {
                let (fast, reference) = both(&t, text);
                assert_eq!(fast, reference, "{params:?} on {text:?}");
            }
        }
    }

    #[test]
    fn non_ascii_goes_through_the_pipeline() {
        let t = Tokenizer::new(TokenizerParams::default());
        assert_eq!(
            t.tokenize("“Café Zürich,” said Ms. Müller — ﬁne ① Ⅻ"),
            ["café", "zürich", "said", "ms", "müller", "fine", "1", "xii"]
        );
        let s = Tokenizer::new(TokenizerParams {
            strip_accents: true,
            ..Default::default()
        });
        assert_eq!(s.tokenize("Café Zürich"), ["cafe", "zurich"]);
    }

    #[test]
    fn json_round_trip_is_checked() {
        let t = Tokenizer::new(TokenizerParams::default());
        let json = t.to_json();
        assert!(json.contains("\"Whitespace\""));
        assert!(Tokenizer::from_json(TokenizerParams::default(), &json).is_ok());
        let other = TokenizerParams {
            lowercase: false,
            ..Default::default()
        };
        assert!(matches!(
            Tokenizer::from_json(other, &json),
            Err(Error::BadModel(ModelError::Tokenizer(_)))
        ));
        assert!(Tokenizer::from_json(TokenizerParams::default(), "{").is_err());
    }
}

//! `Model.classify_articles_arrow`: articles in a pyarrow string array → one row per sentence, as
//! little-endian column buffers that `newsclass/_arrow.py` wraps into a `pyarrow.Table` without a
//! Python object per row. This is what the Spark integration (`newsclass.spark`) runs on each
//! Arrow batch of a partition.

use newsclass::text::sentences::split_sentences;
use newsclass::Pipeline;
use rayon::prelude::*;

use crate::StringChunk;

/// The sentence rows of one chunk of articles, column by column.
pub(crate) struct SentenceColumns {
    /// Rows.
    pub n: usize,
    /// The article's row in the whole input (across chunks), `i64`.
    pub article: Vec<u8>,
    /// The sentence's number in its article, from 1, `i32`.
    pub sentence: Vec<u8>,
    /// Character offsets in the article, as `predict` gives them, `i64`.
    pub start: Vec<u8>,
    /// One past the last character, `i64`.
    pub end: Vec<u8>,
    /// `large_string` offsets (`i64`, n + 1 of them) and UTF-8 data of the sentence texts.
    pub text_offsets: Vec<u8>,
    /// The sentence texts' bytes.
    pub text_data: Vec<u8>,
    /// Per head: label indices (`i32`) and scores (`f32`).
    pub heads: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Split and classify the rows of an Arrow string chunk; `base` is the row number of the
/// chunk's first row in the whole input. Null articles, like empty ones, give no sentences.
pub(crate) fn classify_article_buffers(
    model: &Pipeline,
    chunk: &StringChunk<'_>,
    base: usize,
) -> Result<SentenceColumns, String> {
    let articles: Vec<(usize, &str)> = chunk
        .valid_strings()?
        .into_iter()
        .map(|(i, text)| (base + i, text))
        .collect();
    let split: Vec<_> = articles
        .par_iter()
        .map(|&(row, text)| (row, split_sentences(text)))
        .collect();
    let texts: Vec<&str> = split
        .iter()
        .flat_map(|(_, s)| s.iter().map(|s| s.text.as_str()))
        .collect();
    let preds = model.predict(&texts);
    let rows = texts.len();
    let mut out = SentenceColumns {
        n: rows,
        article: Vec::with_capacity(rows * 8),
        sentence: Vec::with_capacity(rows * 4),
        start: Vec::with_capacity(rows * 8),
        end: Vec::with_capacity(rows * 8),
        text_offsets: Vec::with_capacity((rows + 1) * 8),
        text_data: Vec::with_capacity(texts.iter().map(|t| t.len()).sum()),
        heads: (0..model.heads().len())
            .map(|_| (Vec::with_capacity(rows * 4), Vec::with_capacity(rows * 4)))
            .collect(),
    };
    out.text_offsets.extend_from_slice(&0i64.to_le_bytes());
    let mut preds = preds.iter();
    for (row, sentences) in &split {
        for (k, s) in sentences.iter().enumerate() {
            let p = preds.next().expect("one prediction per sentence");
            out.article.extend_from_slice(&(*row as i64).to_le_bytes());
            let number = i32::try_from(k + 1).map_err(|_| "an article has too many sentences")?;
            out.sentence.extend_from_slice(&number.to_le_bytes());
            out.start.extend_from_slice(&(s.start as i64).to_le_bytes());
            out.end.extend_from_slice(&(s.end as i64).to_le_bytes());
            out.text_data.extend_from_slice(s.text.as_bytes());
            out.text_offsets
                .extend_from_slice(&(out.text_data.len() as i64).to_le_bytes());
            for (h, head) in p.heads().enumerate() {
                let label = i32::try_from(head.label_id()).unwrap_or(i32::MAX);
                out.heads[h].0.extend_from_slice(&label.to_le_bytes());
                out.heads[h]
                    .1
                    .extend_from_slice(&head.score().to_le_bytes());
            }
        }
    }
    Ok(out)
}

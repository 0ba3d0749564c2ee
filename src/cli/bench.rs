//! `newsclass bench`: time each public pipeline stage end to end on a data file.

use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use newsclass::features::chars::CharScratch;
use newsclass::text::tokenize::TokenBuffer;

use super::args::{load_model, read_data, DataArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model file, or a built-in model: `default` (TF-IDF + sentence encoder; used when
    /// --model is not given) or `fast` (TF-IDF only, hundreds of times faster).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Data whose text column is classified (labels are not needed).
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    #[command(flatten)]
    data_args: DataArgs,
    /// Repetitions per stage; the median is reported.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Also time the sentence encoder in DIR (a sentence-transformers BERT directory, e.g. as
    /// scripts/get-encoder installs it): load, embedding every row (batched, all threads), and one
    /// 25-row article including the load.
    #[cfg(feature = "encoder")]
    #[arg(long, value_name = "DIR")]
    encoder: Option<PathBuf>,
    /// With --encoder: tokens per encoder batch.
    #[cfg(feature = "encoder")]
    #[arg(long, value_name = "N", default_value_t = newsclass::encoder::DEFAULT_BATCH_TOKENS, requires = "encoder")]
    encoder_batch_tokens: usize,
    /// With --encoder: the precision the encoder computes with (f16 and int8 quantize the
    /// loaded weights, as train's --encoder-embed; the load time then includes that step).
    #[cfg(feature = "encoder")]
    #[arg(
        long,
        value_enum,
        value_name = "P",
        default_value = "f32",
        requires = "encoder"
    )]
    encoder_precision: super::args::EmbedArg,
}

fn median_time(repeat: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..repeat.max(1))
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

pub fn run(a: Args, _quiet: bool) -> anyhow::Result<()> {
    // A bad encoder directory fails before anything is timed or printed.
    #[cfg(feature = "encoder")]
    let encoder = match &a.encoder {
        Some(dir) => Some(load_encoder(
            dir,
            a.encoder_batch_tokens,
            a.encoder_precision,
        )?),
        None => None,
    };
    let load_start = Instant::now();
    let model = load_model(a.model.as_ref())?;
    let load = load_start.elapsed().as_secs_f64();
    let data = read_data(&a.data, &a.data_args.spec(false)?)?;
    let n = data.len() as f64;
    let bytes: usize = data.texts().iter().map(String::len).sum();
    let tok = model.tokenizer();
    let t_tok = median_time(a.repeat, || {
        black_box(tok.tokenize_all(data.texts()));
    });
    let t_ref = median_time(a.repeat.min(3), || {
        let mut b = TokenBuffer::default();
        for t in data.texts() {
            tok.tokenize_reference(t, &mut b);
            black_box(b.len());
        }
    });
    let docs = tok.tokenize_all(data.texts());
    let t_vec = model.vectorizer().map(|word| {
        median_time(a.repeat, || {
            let mut s = Vec::new();
            for d in &docs {
                black_box(word.transform(d, &mut s));
            }
        })
    });
    let normalized: Vec<String> = data.texts().iter().map(|t| tok.normalize(t)).collect();
    let t_chars = model.char_vectorizer().map(|chars| {
        let t_norm = median_time(a.repeat, || {
            let mut s = String::new();
            for t in data.texts() {
                tok.normalize_into(t, &mut s);
                black_box(s.len());
            }
        });
        let t_grams = median_time(a.repeat, || {
            let mut scratch = CharScratch::default();
            let (mut indices, mut values) = (Vec::new(), Vec::new());
            for t in &normalized {
                indices.clear();
                values.clear();
                chars.transform_into(t, &mut scratch, 0, &mut indices, &mut values);
                black_box(indices.len());
            }
        });
        (t_norm, t_grams)
    });
    let t_batch = median_time(a.repeat, || {
        black_box(model.predict(data.texts()));
    });
    let t_single = median_time(a.repeat.min(3), || {
        for t in data.texts() {
            black_box(model.predict(std::slice::from_ref(t)));
        }
    });
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} rows, {:.1} MB of text from {}; {} threads; medians of {} runs",
        data.len(),
        bytes as f64 / 1e6,
        a.data.display(),
        rayon::current_num_threads(),
        a.repeat
    )?;
    writeln!(out, "{:<44} {:>10} {:>16}", "stage", "seconds", "rows/s")?;
    writeln!(out, "{:<44} {load:>10.4}", "model load")?;
    let mut rows = vec![
        ("tokenize (fast path, parallel)", t_tok),
        ("tokenize (tokenizers pipeline, 1 thread)", t_ref),
    ];
    if let Some(t) = t_vec {
        rows.push(("word n-grams + TF-IDF (1 thread)", t));
    }
    if let Some((t_norm, t_grams)) = t_chars {
        rows.push(("normalize for char n-grams (1 thread)", t_norm));
        rows.push(("char n-grams + TF-IDF (1 thread)", t_grams));
    }
    rows.push(("predict, batched (parallel)", t_batch));
    rows.push(("predict, one row per call", t_single));
    for (name, t) in rows {
        writeln!(out, "{name:<44} {t:>10.4} {:>16.0}", n / t)?;
    }
    #[cfg(feature = "encoder")]
    if let (Some(dir), Some(encoder)) = (&a.encoder, encoder) {
        bench_encoder(
            &mut out,
            dir,
            encoder,
            data.texts(),
            a.repeat,
            a.encoder_precision,
        )?;
    }
    Ok(())
}

/// Rows in the article of the latency measurement.
#[cfg(feature = "encoder")]
const ARTICLE_ROWS: usize = 25;

#[cfg(feature = "encoder")]
fn load_encoder(
    dir: &std::path::Path,
    batch_tokens: usize,
    precision: super::args::EmbedArg,
) -> anyhow::Result<std::sync::Arc<newsclass::encoder::Encoder>> {
    let e = newsclass::encoder::Encoder::load(dir)?.with_batch_tokens(batch_tokens)?;
    let storage: newsclass::encoder::EncoderStorage = precision.into();
    Ok(std::sync::Arc::new(e).quantized(storage.precision())?)
}

#[cfg(feature = "encoder")]
fn bench_encoder(
    out: &mut impl Write,
    dir: &std::path::Path,
    encoder: std::sync::Arc<newsclass::encoder::Encoder>,
    texts: &[String],
    repeat: usize,
    precision: super::args::EmbedArg,
) -> anyhow::Result<()> {
    let batch_tokens = encoder.batch_tokens();
    let load = |dir: &std::path::Path| load_encoder(dir, batch_tokens, precision);
    let t_load = median_time(repeat, || {
        black_box(load(dir).ok());
    });
    let mut first = None;
    let t_embed = median_time(repeat, || {
        let r = black_box(encoder.embed(texts));
        if first.is_none() {
            first = Some(r);
        }
    });
    let first = first.expect("at least one run")?;
    let first_precision = encoder.identity().precision;
    drop(encoder);
    let article = &texts[..texts.len().min(ARTICLE_ROWS)];
    let t_article = median_time(repeat, || {
        let e = load(dir).ok();
        black_box(e.map(|e| e.embed(article).ok()));
    });
    let n = texts.len() as f64;
    writeln!(
        out,
        "encoder {} ({}): {:.1} tokens per row, {} rows cut at the token limit, {} tokens per batch",
        dir.display(),
        first_precision,
        first.n_tokens as f64 / n,
        first.n_truncated,
        batch_tokens
    )?;
    writeln!(out, "{:<44} {t_load:>10.4}", "encoder load")?;
    writeln!(
        out,
        "{:<44} {t_embed:>10.4} {:>16.1}",
        "encoder embed, batched (parallel)",
        n / t_embed
    )?;
    writeln!(
        out,
        "{:<44} {t_article:>10.4} {:>16.1}",
        format!("encoder load + one {}-row article", article.len()),
        article.len() as f64 / t_article
    )?;
    Ok(())
}

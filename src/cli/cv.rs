//! `newsclass cv`: grouped k-fold cross-validation over a parameter grid.

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;
use newsclass::cv::{cross_validate, Grid};
use newsclass::data::Column;
use newsclass::features::chars::Analyzer;
use newsclass::features::vocabulary::DocFreq;
use newsclass::PipelineParams;

use super::args::{
    parse_char_ngram_range, parse_ngram_range, read_data, usage, DataArgs, ModelArgs,
};
use super::progress::Reporter;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Labeled data to cross-validate on (never the test split).
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    #[command(flatten)]
    data_args: DataArgs,
    /// Number of folds.
    #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
    folds: usize,
    /// Keep rows with the same value of this column in one fold (e.g. article).
    #[arg(long, value_name = "COL")]
    group_column: Option<String>,
    /// Grid: values of C, comma-separated.
    #[arg(
        long,
        value_name = "LIST",
        default_value = "1",
        allow_negative_numbers = true,
        help_heading = "Grid"
    )]
    c: String,
    /// Grid: n-gram ranges, colon-separated (1,1:1,2).
    #[arg(
        long,
        value_name = "LIST",
        default_value = "1,2",
        help_heading = "Grid"
    )]
    ngram_range: String,
    /// Grid: min_df values, comma-separated (counts or fractions).
    #[arg(
        long = "min-df",
        value_name = "LIST",
        default_value = "1",
        help_heading = "Grid"
    )]
    min_df_grid: String,
    /// Grid: sublinear_tf values (true,false).
    #[arg(
        long = "sublinear-tf",
        value_name = "LIST",
        default_value = "false",
        help_heading = "Grid"
    )]
    sublinear_grid: String,
    /// Grid: analyzers, comma-separated (word,char,char_wb). Without a character block, the
    /// analyzer of --ngram-range; with one, the kind of its character n-grams (char_wb for word).
    #[arg(
        long,
        value_name = "LIST",
        default_value = "word",
        help_heading = "Grid"
    )]
    analyzer: String,
    /// Grid: character n-gram ranges beside the word n-grams, colon-separated, none for no
    /// character block (none:2,5:3,5).
    #[arg(
        long,
        value_name = "LIST",
        default_value = "none",
        help_heading = "Grid"
    )]
    char_ngram_range: String,
    #[command(flatten)]
    model_args: ModelArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Sentence-encoder block in every setting: a sentence-transformers BERT
    /// directory; every row is embedded once per run.
    #[cfg(feature = "encoder")]
    #[arg(long, value_name = "DIR", help_heading = "Sentence encoder")]
    encoder: Option<PathBuf>,
    /// Grid: encoder block weights W, comma-separated.
    #[cfg(feature = "encoder")]
    #[arg(
        long,
        value_name = "LIST",
        default_value = "1",
        requires = "encoder",
        help_heading = "Sentence encoder"
    )]
    encoder_weight: String,
    /// Precision of the encoder the settings are scored with, as train's --encoder-embed: f16
    /// rounds the weights first; f32 and none use them as loaded.
    #[cfg(feature = "encoder")]
    #[arg(
        long,
        value_enum,
        default_value = "f16",
        requires = "encoder",
        help_heading = "Sentence encoder"
    )]
    encoder_embed: super::args::EmbedArg,
    #[cfg(feature = "encoder")]
    #[command(flatten)]
    cache_args: super::args::CacheArgs,
}

fn list<'a>(flag: &str, s: &'a str, sep: char) -> anyhow::Result<Vec<&'a str>> {
    let v: Vec<&str> = s.split(sep).map(str::trim).collect();
    if v.iter().any(|x| x.is_empty()) {
        return Err(usage(format!(
            "invalid value '{s}' for '--{flag}': empty item in the list"
        )));
    }
    Ok(v)
}

fn parse_bool(s: &str) -> anyhow::Result<bool> {
    match s {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(usage(format!(
            "invalid value '{s}' for '--sublinear-tf': expected true or false"
        ))),
    }
}

fn describe(p: &PipelineParams) -> String {
    let mut s = format!(
        "c={} ngram={},{} min_df={} sublinear_tf={}",
        p.logistic.c,
        p.vocabulary.ngram_range.0,
        p.vocabulary.ngram_range.1,
        p.vocabulary.min_df,
        p.tfidf.sublinear_tf
    );
    if !p.analyzer.is_word() {
        s.push_str(&format!(" analyzer={}", p.analyzer));
    }
    if let Some(c) = &p.char_ngrams {
        s.push_str(&format!(
            " +{}={},{}",
            c.analyzer, c.ngram_range.0, c.ngram_range.1
        ));
    }
    if let Some(e) = &p.encoder {
        s.push_str(&format!(" +encoder weight={} ({})", e.weight, e.storage));
    }
    s
}

/// The options that are fixed across the grid, when they differ from the defaults (the character
/// block's from `chars`, a setting that has one).
fn fixed_options(p: &PipelineParams, chars: &PipelineParams) -> String {
    let d = PipelineParams::default();
    let mut v = Vec::new();
    if p.logistic.class_weight != d.logistic.class_weight {
        v.push(format!("class_weight={:?}", p.logistic.class_weight).to_lowercase());
    }
    if p.tokenizer != d.tokenizer {
        v.push(format!("{:?}", p.tokenizer));
    }
    if p.vocabulary.max_df != d.vocabulary.max_df {
        v.push(format!("max_df={}", p.vocabulary.max_df));
    }
    if let Some(m) = p.vocabulary.max_features {
        v.push(format!("max_features={m}"));
    }
    if let Some(c) = &chars.char_ngrams {
        if let Some(m) = c.min_df {
            v.push(format!("char_min_df={m}"));
        }
        if let Some(m) = c.max_df {
            v.push(format!("char_max_df={m}"));
        }
        if let Some(m) = c.max_features {
            v.push(format!("char_max_features={m}"));
        }
    }
    if p.tfidf.norm != d.tfidf.norm || p.tfidf.smooth_idf != d.tfidf.smooth_idf {
        v.push(format!(
            "norm={:?} smooth_idf={}",
            p.tfidf.norm, p.tfidf.smooth_idf
        ));
    }
    v.join(" ")
}

pub fn run(a: Args, quiet: bool) -> anyhow::Result<()> {
    // Build and check the whole grid before reading data.
    let mut cs = Vec::new();
    for c in list("c", &a.c, ',')? {
        cs.push(c.parse::<f64>().map_err(|_| {
            usage(format!(
                "invalid value '{c}' for '--c': expected a number such as 1.0"
            ))
        })?);
    }
    let ngrams = list("ngram-range", &a.ngram_range, ':')?
        .into_iter()
        .map(parse_ngram_range)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let min_dfs = list("min-df", &a.min_df_grid, ',')?
        .into_iter()
        .map(|m| DocFreq::parse("min_df", m))
        .collect::<Result<Vec<_>, _>>()?;
    let sublinear = list("sublinear-tf", &a.sublinear_grid, ',')?
        .into_iter()
        .map(parse_bool)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let analyzers = list("analyzer", &a.analyzer, ',')?
        .into_iter()
        .map(|s| {
            Analyzer::parse(s).map_err(|_| {
                usage(format!(
                    "invalid value '{s}' for '--analyzer': expected word, char or char_wb"
                ))
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let char_ranges = list("char-ngram-range", &a.char_ngram_range, ':')?
        .into_iter()
        .map(parse_char_ngram_range)
        .collect::<anyhow::Result<Vec<_>>>()?;
    if a.model_args.has_char_options() && char_ranges.iter().all(Option::is_none) {
        return Err(usage(
            "--char-min-df, --char-max-df and --char-max-features apply to the character n-grams of --char-ngram-range; add --char-ngram-range MIN,MAX",
        ));
    }
    #[allow(unused_mut)]
    let mut base = a.model_args.base("1")?;
    #[cfg(feature = "encoder")]
    let mut weights = Vec::new();
    #[cfg(feature = "encoder")]
    if a.encoder.is_some() {
        for w in list("encoder-weight", &a.encoder_weight, ',')? {
            weights.push(w.parse::<f32>().map_err(|_| {
                usage(format!(
                    "invalid value '{w}' for '--encoder-weight': expected a number such as 1.0"
                ))
            })?);
        }
        base = base.encoder_storage(a.encoder_embed.into());
    }
    let grid = Grid::new(base)
        .c(cs)
        .ngram_range(ngrams)
        .min_df(min_dfs)
        .sublinear_tf(sublinear)
        .analyzer(analyzers)
        .char_ngram_range(char_ranges);
    #[cfg(feature = "encoder")]
    let grid = grid.encoder_weight(weights);
    let settings = grid.settings()?;
    if a.folds < 2 {
        return Err(usage(format!(
            "invalid value '{}' for '--folds': at least 2",
            a.folds
        )));
    }
    let mut spec = a.data_args.spec(true)?;
    if let Some(g) = &a.group_column {
        spec.group = Some(Column::parse_list("group_column", g, spec.has_header)?.remove(0));
    }
    let data = read_data(&a.data, &spec)?;
    let reporter = Reporter::new(quiet);
    let mut on_setting = |i: usize, n: usize, params: &PipelineParams| {
        reporter.message(format!("setting {}/{}: {}", i + 1, n, describe(params)))
    };
    #[cfg(feature = "encoder")]
    let mut report = match &a.encoder {
        Some(dir) => {
            let encoder =
                std::sync::Arc::new(super::args::load_encoder_cached(dir, &a.cache_args)?);
            reporter.message(format!("embedding {} rows", data.len()));
            let report = newsclass::cv::cross_validate_with_encoder(
                &grid,
                &data,
                a.folds,
                &encoder,
                &mut on_setting,
            )?;
            super::args::report_cache(&encoder, quiet);
            report
        }
        None => cross_validate(&grid, &data, a.folds, &mut on_setting)?,
    };
    #[cfg(not(feature = "encoder"))]
    let mut report = cross_validate(&grid, &data, a.folds, &mut on_setting)?;
    reporter.finish();
    report.grouped_by = a.group_column.clone();
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Text => {
            let heads = data.head_names();
            writeln!(
                out,
                "{}-fold cross-validation on {} rows of {}{}; mean ± sd over folds",
                a.folds,
                data.len(),
                a.data.display(),
                a.group_column
                    .as_ref()
                    .map(|g| format!(", grouped by {g}"))
                    .unwrap_or_default()
            )?;
            // The character block's own options show on the settings that have one.
            let with_chars = settings
                .iter()
                .find(|s| s.char_ngrams.is_some())
                .unwrap_or(&settings[0]);
            let fixed = fixed_options(settings[0].params(), with_chars.params());
            if !fixed.is_empty() {
                writeln!(out, "fixed options: {fixed}")?;
            }
            let width = report
                .settings
                .iter()
                .map(|s| describe(&s.params).len() + 2)
                .max()
                .unwrap_or(0)
                .max(46);
            write!(out, "{:<width$}", "setting")?;
            for h in heads {
                write!(
                    out,
                    "  {:>15}  {:>15}",
                    format!("{h} acc"),
                    format!("{h} macro-F1")
                )?;
            }
            writeln!(out)?;
            for (i, s) in report.settings.iter().enumerate() {
                write!(
                    out,
                    "{:<width$}",
                    format!(
                        "{}{}",
                        if i == report.best { "* " } else { "  " },
                        describe(&s.params)
                    )
                )?;
                for h in heads {
                    let x = &s.heads[h];
                    write!(
                        out,
                        "  {:>15}  {:>15}",
                        format!("{:.4}±{:.4}", x.accuracy_mean, x.accuracy_sd),
                        format!("{:.4}±{:.4}", x.macro_f1_mean, x.macro_f1_sd)
                    )?;
                }
                writeln!(out)?;
            }
            writeln!(
                out,
                "best (* , highest mean macro-F1 over heads): {}",
                describe(&report.best().params)
            )?;
        }
    }
    Ok(())
}

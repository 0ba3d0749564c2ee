//! `newsclass train`: fit a pipeline on labeled data and save it.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use newsclass::data::Column;
use newsclass::Pipeline;

use super::args::{
    check_output_target, parse_char_ngram_range, parse_ngram_range, read_data, usage, AnalyzerArg,
    DataArgs, ModelArgs,
};
use super::progress::Reporter;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Labeled training data (.csv or .jsonl; - for CSV on stdin).
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    /// Where to write the model (written atomically; an existing file is replaced only on success).
    #[arg(long, value_name = "OUT")]
    model: PathBuf,
    #[command(flatten)]
    data_args: DataArgs,
    /// Smallest and largest word n-gram length.
    #[arg(
        long,
        value_name = "MIN,MAX",
        default_value = "1,2",
        help_heading = "Features"
    )]
    ngram_range: String,
    /// What the terms are: word n-grams, or character n-grams of the normalized text (char:
    /// the whole text; char_wb: inside words padded with spaces). With --char-ngram-range, the
    /// kind of character n-grams added beside word n-grams (char_wb for word).
    #[arg(long, value_enum, default_value = "word", help_heading = "Features")]
    analyzer: AnalyzerArg,
    /// Add character n-grams of MIN..MAX characters beside the word n-grams of --ngram-range:
    /// a second TF-IDF block with its own vocabulary, idf and norm (none: no such block).
    #[arg(
        long,
        value_name = "MIN,MAX",
        default_value = "none",
        help_heading = "Character n-grams"
    )]
    char_ngram_range: String,
    /// Drop terms in fewer documents than this: a count (2) or a fraction (0.01).
    #[arg(
        long,
        value_name = "N|F",
        default_value = "1",
        allow_negative_numbers = true,
        help_heading = "Features"
    )]
    min_df: String,
    /// Use 1 + ln(tf) instead of raw term counts.
    #[arg(long, help_heading = "Features")]
    sublinear_tf: bool,
    /// Inverse regularization strength (scikit-learn's C; linfa's alpha = 1/C).
    #[arg(
        long,
        value_name = "F",
        default_value_t = 1.0,
        allow_negative_numbers = true,
        help_heading = "Solver"
    )]
    c: f64,
    #[command(flatten)]
    model_args: ModelArgs,
    /// Hold out this fraction of the rows (of the groups, with --group-column), report accuracy
    /// and macro-F1 on them, and train the saved model on the rest.
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    validation_split: Option<f64>,
    /// Keep rows with the same value of this column on one side of --validation-split (and of
    /// --calibration-split).
    #[arg(long, value_name = "COL")]
    group_column: Option<String>,
    /// Calibrate the probabilities: fit on all but --calibration-split of the rows, choose per
    /// head the temperature T (probabilities softmax(z / T)) that minimizes the log-loss of the
    /// held-out rows, then fit on every row and store T in the model. Labels do not change.
    #[arg(long, help_heading = "Calibration")]
    calibrate: bool,
    /// With --calibrate: the fraction of the rows (of the groups, with --group-column) held out
    /// to choose the temperatures.
    #[arg(
        long,
        value_name = "F",
        default_value_t = 0.2,
        allow_negative_numbers = true,
        requires = "calibrate",
        help_heading = "Calibration"
    )]
    calibration_split: f64,
    /// Sentence-encoder block: a sentence-transformers BERT directory (e.g.
    /// models/encoder/all-MiniLM-L6-v2 from scripts/get-encoder); each text's embedding, times
    /// --encoder-weight, becomes extra features beside the TF-IDF block(s).
    #[cfg(feature = "encoder")]
    #[arg(long, value_name = "DIR", help_heading = "Sentence encoder")]
    encoder: Option<PathBuf>,
    /// Weight W of the encoder block against the unit-length TF-IDF block(s).
    #[cfg(feature = "encoder")]
    #[arg(
        long,
        value_name = "W",
        default_value_t = 1.0,
        allow_negative_numbers = true,
        requires = "encoder",
        help_heading = "Sentence encoder"
    )]
    encoder_weight: f32,
    /// Which copy of the encoder the model file carries: f32, f16 or int8 (the model is then
    /// fitted with the rounded encoder; int8 also computes in 8-bit integers, about twice as
    /// fast with AVX-512 VNNI; the default model uses it) or none (identity only; predicting
    /// needs --encoder DIR).
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

pub fn run(a: Args, quiet: bool) -> anyhow::Result<()> {
    // Check every parameter before reading any data.
    let params = a.model_args.params(
        parse_ngram_range(&a.ngram_range)?,
        &a.min_df,
        a.sublinear_tf,
        a.c,
        a.analyzer.into(),
        parse_char_ngram_range(&a.char_ngram_range)?,
    )?;
    if let Some(f) = a.validation_split {
        newsclass::cv::check_holdout_fraction(f)?;
    }
    if a.calibrate && !(a.calibration_split > 0.0 && a.calibration_split < 1.0) {
        return Err(usage(format!(
            "invalid value {} for `--calibration-split`: expected a fraction strictly between 0 and 1, e.g. 0.2",
            a.calibration_split
        )));
    }
    #[cfg(feature = "encoder")]
    let (params, encoder) = match &a.encoder {
        Some(dir) => (
            params
                .params()
                .clone()
                .encoder_weight(a.encoder_weight)
                .encoder_storage(a.encoder_embed.into())
                .check()?,
            Some(std::sync::Arc::new(super::args::load_encoder_cached(
                dir,
                &a.cache_args,
            )?)),
        ),
        None => (params, None),
    };
    #[cfg(not(feature = "encoder"))]
    let encoder: Option<std::sync::Arc<newsclass::encoder::Encoder>> = None;
    check_output_target("--model", &a.model)?;
    let mut spec = a.data_args.spec(true)?;
    if let Some(g) = &a.group_column {
        spec.group = Some(Column::parse_list("group_column", g, spec.has_header)?.remove(0));
    }
    let start = Instant::now();
    let data = read_data(&a.data, &spec)?;
    let reporter = Reporter::new(quiet);
    let mut on_progress = |p: newsclass::pipeline::Progress<'_>| reporter.on_progress(p);
    let fit = |d: &newsclass::Dataset,
               progress: &mut dyn FnMut(newsclass::pipeline::Progress<'_>)| {
        match &encoder {
            Some(e) => Pipeline::fit_with_encoder_progress(&params, d, e, progress),
            None => Pipeline::fit_with_progress(&params, d, progress),
        }
    };
    let (model, held) = match (a.validation_split, a.calibrate) {
        // As `Pipeline::fit_holdout`, with or without an encoder.
        (Some(f), false) => {
            let (train, held) = newsclass::cv::holdout_split(&data, f, params.seed)?;
            let model = fit(&data.select(&train), &mut on_progress)?;
            let report = model.evaluate(&data.select(&held))?;
            (model, Some(report))
        }
        // Without a validation split, train on the data as read (no copy).
        (None, false) => (fit(&data, &mut on_progress)?, None),
        // Calibrated: the validation rows (if any) are set aside first, as `fit_holdout` does;
        // the temperatures are chosen and the model fitted on the rest.
        (validation, true) => {
            let split = validation
                .map(|f| newsclass::cv::holdout_split(&data, f, params.seed))
                .transpose()?;
            let rest = split.as_ref().map(|(train, _)| data.select(train));
            let rest = rest.as_ref().unwrap_or(&data);
            let model = match &encoder {
                Some(e) => Pipeline::fit_calibrated_with_encoder(
                    &params,
                    rest,
                    e,
                    a.calibration_split,
                    &mut on_progress,
                )?,
                None => {
                    Pipeline::fit_calibrated(&params, rest, a.calibration_split, &mut on_progress)?
                }
            };
            let report = split
                .map(|(_, held)| model.evaluate(&data.select(&held)))
                .transpose()?;
            (model, report)
        }
    };
    reporter.message("saving model");
    model
        .save(&a.model)
        .with_context(|| format!("saving model to {}", a.model.display()))?;
    reporter.finish();
    #[cfg(feature = "encoder")]
    if let Some(e) = &encoder {
        super::args::report_cache(e, quiet);
    }
    if quiet {
        return Ok(());
    }
    // The model is saved: a closed stdout (`| head`, `| true`) must not turn that into a failure.
    let mut out = std::io::stdout().lock();
    let s = model.summary();
    writeln!(
        out,
        "trained on {} rows from {} in {:.2} s; vocabulary {} terms{}{}; model written to {}",
        s.n_rows,
        a.data.display(),
        start.elapsed().as_secs_f64(),
        model.n_tfidf_features(),
        match (model.vectorizer(), model.char_vectorizer()) {
            (Some(w), Some(c)) => format!(
                " ({} word n-grams + {} {} n-grams)",
                w.n_features(),
                c.n_features(),
                c.analyzer()
            ),
            (None, Some(c)) => format!(" ({} n-grams)", c.analyzer()),
            _ => String::new(),
        },
        match (model.encoder(), &model.params().encoder) {
            (Some(e), Some(block)) => format!(
                "; sentence encoder {} ({} dims, weight {}, file carries {})",
                e.identity().name,
                e.identity().dim,
                block.weight,
                match block.storage {
                    newsclass::encoder::EncoderStorage::None => "its identity only".to_string(),
                    s => format!("its {s} weights"),
                }
            ),
            _ => String::new(),
        },
        a.model.display()
    )?;
    for (head, summary) in model.heads().iter().zip(&s.heads) {
        let report = &summary.fit;
        writeln!(
            out,
            "  {:<12} {} classes ({}); {} iterations, {}, {:.2} s",
            head.name,
            head.model.labels().len(),
            head.model.labels().names().join(", "),
            report.n_iter,
            if report.converged {
                "converged"
            } else {
                "NOT converged (raise --max-iter or --tol)"
            },
            report.seconds
        )?;
    }
    if let Some(c) = &s.calibration {
        writeln!(
            out,
            "calibration: temperatures chosen on {} held-out rows by a model fitted on the other {}, applied to the model fitted on all {}:",
            c.n_heldout, c.n_fit, s.n_rows
        )?;
        for h in &c.heads {
            writeln!(
                out,
                "  {:<12} temperature {:.4}; held-out log-loss {:.4} -> {:.4} ({} rows)",
                h.head, h.temperature, h.log_loss_before, h.log_loss_after, h.n_rows
            )?;
        }
    }
    if let Some(report) = held {
        writeln!(out, "held-out validation ({} rows):", report.n)?;
        for name in model.heads().iter().map(|h| &h.name) {
            let h = &report.heads[name];
            writeln!(
                out,
                "  {:<12} accuracy {:.4}  macro-F1 {:.4}",
                name, h.accuracy, h.macro_f1
            )?;
        }
    }
    Ok(())
}

//! `newsclass eval`: score a model on labeled data: labels (accuracy, F1, confusion matrix) and
//! probabilities (log-loss, Brier score, ECE, reliability and selective-prediction tables).

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use anyhow::Context;
use newsclass::html::{eval_page, EvalView};

use super::args::{check_output_target, fmt_opt, read_data, DataArgs};

/// Errors listed per head in the HTML page.
const HTML_ERRORS: usize = 20;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model file, or a built-in model: `default` (TF-IDF + sentence encoder; used when
    /// --model is not given) or `fast` (TF-IDF only, hundreds of times faster).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// The sentence encoder's directory, for a model trained with --encoder-embed none (which
    /// records only its encoder's identity); refused unless it is that encoder.
    #[cfg(feature = "encoder")]
    #[arg(long, value_name = "DIR")]
    encoder: Option<PathBuf>,
    /// Labeled data (.csv or .jsonl; - for CSV on stdin).
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    #[command(flatten)]
    data_args: DataArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Also write an HTML page (self-contained): per head the scores, the confusion matrix as a
    /// heatmap with counts, and the 20 most confident errors with their text.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

/// The calibration scores, reliability table and selective-prediction table of one head.
fn write_probability_scores(
    out: &mut impl Write,
    r: &newsclass::metrics::HeadReport,
    temperature: f64,
) -> anyhow::Result<()> {
    if let Some(c) = &r.calibration {
        let t = if temperature == 1.0 {
            "temperature 1, uncalibrated".to_string()
        } else {
            format!("temperature {temperature:.4}")
        };
        writeln!(
            out,
            "  probabilities ({t}): log-loss {:.4}  Brier {:.4}  ECE {:.4}",
            c.log_loss, c.brier, c.ece
        )?;
        writeln!(out, "  reliability (top-label confidence in 10 equal bins)")?;
        writeln!(
            out,
            "    {:<9}  {:>7}  {:>10}  {:>8}",
            "bin", "count", "confidence", "accuracy"
        )?;
        for b in &c.reliability {
            writeln!(
                out,
                "    {:<9}  {:>7}  {:>10}  {:>8}",
                format!("{:.1}-{:.1}", b.lower, b.upper),
                b.count,
                fmt_opt(b.mean_confidence),
                fmt_opt(b.accuracy)
            )?;
        }
    }
    if !r.selective.is_empty() {
        writeln!(
            out,
            "  selective prediction (keep rows whose top probability >= threshold; predict --min-prob)"
        )?;
        writeln!(
            out,
            "    {:>9}  {:>8}  {:>8}  {:>8}  {:>7}",
            "threshold", "coverage", "accuracy", "macro-F1", "kept"
        )?;
        for s in &r.selective {
            writeln!(
                out,
                "    {:>9.2}  {:>8.4}  {:>8}  {:>8}  {:>7}",
                s.threshold,
                s.coverage,
                fmt_opt(s.accuracy),
                fmt_opt(s.macro_f1),
                s.kept
            )?;
        }
    }
    Ok(())
}

pub fn run(a: Args, quiet: bool) -> anyhow::Result<()> {
    if let Some(h) = &a.html {
        check_output_target("--html", h)?;
    }
    #[cfg(feature = "encoder")]
    let model = super::args::load_model_with(a.model.as_ref(), a.encoder.as_ref())?;
    #[cfg(not(feature = "encoder"))]
    let model = super::args::load_model(a.model.as_ref())?;
    let mut spec = a.data_args.spec(true)?;
    // Model heads missing from --label-columns are fine; label columns the model lacks are not.
    let heads: Vec<String> = model.heads().iter().map(|h| h.name.clone()).collect();
    for c in &spec.labels {
        model.labels(&c.head_name())?;
    }
    if spec.labels.is_empty() {
        spec.labels = heads
            .iter()
            .map(|h| newsclass::data::Column::Name(h.clone()))
            .collect();
    }
    let data = read_data(&a.data, &spec)?;
    let report = model.evaluate(&data)?;
    if let Some(path) = &a.html {
        let view = EvalView::new(&model, &data, &report, HTML_ERRORS)?;
        let title = format!("newsclass eval: {}", a.data.display());
        let meta = format!(
            "{} rows from {}, labeled by {}",
            data.len(),
            a.data.display(),
            super::args::model_source(a.model.as_ref())?.label("model ")
        );
        newsclass::html::save(path, &eval_page(&title, &meta, &view))
            .with_context(|| format!("writing the HTML page to {}", path.display()))?;
        if !quiet {
            let _ = writeln!(std::io::stderr(), "HTML page written to {}", path.display());
        }
    }
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Text => {
            writeln!(out, "{} rows from {}", data.len(), a.data.display())?;
            // Heads in the model's order.
            for name in model.heads().iter().map(|h| &h.name) {
                let Some(r) = report.heads.get(name) else {
                    continue;
                };
                let cm = &r.confusion;
                writeln!(out)?;
                writeln!(
                    out,
                    "head {name}: accuracy {:.4}  macro-F1 {:.4}  weighted-F1 {:.4}",
                    r.accuracy, r.macro_f1, r.weighted_f1
                )?;
                let w = cm.labels.iter().map(String::len).max().unwrap_or(5).max(5);
                writeln!(
                    out,
                    "  {:<w$}  {:>9}  {:>9}  {:>9}  {:>7}",
                    "label", "precision", "recall", "f1", "support"
                )?;
                for (l, m) in cm.labels.iter().zip(cm.per_class()) {
                    writeln!(
                        out,
                        "  {:<w$}  {:>9}  {:>9}  {:>9}  {:>7}",
                        l,
                        fmt_opt(m.precision),
                        fmt_opt(m.recall),
                        fmt_opt(m.f1),
                        m.support
                    )?;
                }
                writeln!(out, "  confusion (rows: gold, columns: predicted)")?;
                write!(out, "  {:<w$}", "")?;
                for l in &cm.labels {
                    write!(out, "  {:>w$}", l)?;
                }
                writeln!(out)?;
                for (l, row) in cm.labels.iter().zip(&cm.matrix) {
                    write!(out, "  {:<w$}", l)?;
                    for v in row {
                        write!(out, "  {:>w$}", v)?;
                    }
                    writeln!(out)?;
                }
                let t = model.temperature(name).unwrap_or(1.0);
                write_probability_scores(&mut out, r, t)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

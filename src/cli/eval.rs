//! `newsclass eval`: score a model on labeled data: labels (accuracy, F1, confusion matrix) and
//! probabilities (log-loss, Brier score, ECE, reliability and selective-prediction tables).

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::args::{fmt_opt, load_model, read_data, DataArgs};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model file (default: the embedded default model).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Labeled data (.csv or .jsonl; - for CSV on stdin).
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    #[command(flatten)]
    data_args: DataArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
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

pub fn run(a: Args, _quiet: bool) -> anyhow::Result<()> {
    let model = load_model(a.model.as_ref())?;
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

//! `newsclass eval`: score a model on labeled data.

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
            }
        }
    }
    out.flush()?;
    Ok(())
}

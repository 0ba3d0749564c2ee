//! `newsclass eval`: score a model on labeled data.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;
use newsclass::cv::score;
use newsclass::metrics::ConfusionMatrix;
use serde_json::json;

use super::args::{fmt_opt, load_model, read_data, usage, DataArgs};

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

pub fn head_json(cm: &ConfusionMatrix) -> serde_json::Value {
    let per: BTreeMap<&str, serde_json::Value> = cm
        .labels
        .iter()
        .zip(cm.per_class())
        .map(|(l, m)| {
            (
                l.as_str(),
                json!({"precision": m.precision, "recall": m.recall, "f1": m.f1, "support": m.support}),
            )
        })
        .collect();
    json!({
        "accuracy": cm.accuracy(),
        "macro_f1": cm.macro_f1(),
        "weighted_f1": cm.weighted_f1(),
        "per_class": per,
        "confusion": {"labels": cm.labels, "matrix": cm.matrix},
    })
}

pub fn run(a: Args, _quiet: bool) -> anyhow::Result<()> {
    let model = load_model(a.model.as_ref())?;
    let mut spec = a.data_args.spec(true)?;
    // Model heads missing from --label-columns are fine; label columns the model lacks are not.
    let heads: Vec<String> = model.heads().iter().map(|h| h.name.clone()).collect();
    let wanted: Vec<String> = spec.labels.iter().map(|c| c.head_name()).collect();
    if let Some(w) = wanted.iter().find(|w| !heads.contains(w)) {
        return Err(usage(format!(
            "the model has no head \"{w}\" (its heads: {}); choose --label-columns among them",
            heads.join(", ")
        )));
    }
    if spec.labels.is_empty() {
        spec.labels = heads
            .iter()
            .map(|h| newsclass::data::Column::Name(h.clone()))
            .collect();
    }
    let data = read_data(&a.data, &spec)?;
    let results = score(&model, &data);
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => {
            let heads: serde_json::Map<String, serde_json::Value> = results
                .iter()
                .map(|(n, cm)| (n.clone(), head_json(cm)))
                .collect();
            serde_json::to_writer_pretty(&mut out, &json!({"n": data.len(), "heads": heads}))?;
            writeln!(out)?;
        }
        Format::Text => {
            writeln!(out, "{} rows from {}", data.len(), a.data.display())?;
            for (name, cm) in &results {
                writeln!(out)?;
                writeln!(
                    out,
                    "head {name}: accuracy {:.4}  macro-F1 {:.4}  weighted-F1 {:.4}",
                    cm.accuracy(),
                    cm.macro_f1(),
                    cm.weighted_f1()
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

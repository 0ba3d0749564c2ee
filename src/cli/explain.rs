//! `newsclass explain`: what a model learned. Per class of each head, the terms whose weight ×
//! idf is the largest (they push a text toward the class) and the most negative (they push it
//! away).

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;
use newsclass::pipeline::{ClassTerms, TermWeight};
use newsclass::{Pipeline, TermKind};
use serde_json::json;

use super::args::usage;
use super::predict::fit_width;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    /// Two columns per class: toward it, and away from it.
    Table,
    /// One JSON document.
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
    /// Only this head (default: every head).
    #[arg(long, value_name = "NAME")]
    head: Option<String>,
    /// Only this class (of --head, or of every head that has it).
    #[arg(long, value_name = "LABEL")]
    label: Option<String>,
    /// Terms per class and direction.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 30,
        allow_negative_numbers = true
    )]
    top: i64,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// The classes to show: (head, label) pairs in head order, labels sorted.
fn classes(a: &Args, model: &Pipeline, top: usize) -> anyhow::Result<Vec<ClassTerms>> {
    let heads: Vec<&str> = model.heads().iter().map(|h| h.name.as_str()).collect();
    let chosen: Vec<&str> = match &a.head {
        Some(h) if !heads.contains(&h.as_str()) => {
            return Err(usage(format!(
                "--head {h}: the model has no head \"{h}\" (its heads: {}); choose one of them",
                heads.join(", ")
            )))
        }
        Some(h) => vec![h.as_str()],
        None => heads.clone(),
    };
    let with_label: Vec<&str> = match &a.label {
        None => chosen.clone(),
        Some(l) => chosen
            .iter()
            .copied()
            .filter(|h| model.labels(h).is_ok_and(|ls| ls.contains(l)))
            .collect(),
    };
    if let (Some(l), true) = (&a.label, with_label.is_empty()) {
        let known: Vec<String> = chosen
            .iter()
            .map(|h| format!("{h}: {}", model.labels(h).unwrap_or_default().join(", ")))
            .collect();
        return Err(usage(format!(
            "--label {l}: no such label ({}); choose one of them",
            known.join("; ")
        )));
    }
    let mut out = Vec::new();
    for h in with_label {
        out.extend(model.class_terms(h, a.label.as_deref(), top)?);
    }
    Ok(out)
}

/// A term as the table shows it: word n-grams as they are, character n-grams in quotes (so
/// their spaces show).
fn display_term(t: &TermWeight) -> String {
    let term = t.term.replace(['\n', '\r', '\t'], " ");
    match t.kind {
        TermKind::Word | TermKind::Encoder => term,
        TermKind::Char => format!("\"{term}\""),
    }
}

const TERM_WIDTH: usize = 26;

fn write_table(out: &mut impl Write, classes: &[ClassTerms]) -> anyhow::Result<()> {
    for (i, c) in classes.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(
            out,
            "head {}, label {} (intercept {:.4}); score = weight × idf",
            c.head, c.label, c.intercept
        )?;
        let side = |s: &str| format!("{:>8}  {:<TERM_WIDTH$}  {:<4}", "score", s, "kind");
        writeln!(
            out,
            "  {}    {}",
            side(&format!("toward {}", c.label)),
            side(&format!("away from {}", c.label))
        )?;
        let cell = |t: Option<&TermWeight>| match t {
            Some(t) => format!(
                "{:>+8.3}  {:<TERM_WIDTH$}  {:<4}",
                t.score,
                fit_width(&display_term(t), TERM_WIDTH),
                t.kind.name()
            ),
            None => format!("{:>8}  {:<TERM_WIDTH$}  {:<4}", "", "", ""),
        };
        for r in 0..c.positive.len().max(c.negative.len()) {
            let line = format!(
                "  {}    {}",
                cell(c.positive.get(r)),
                cell(c.negative.get(r))
            );
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    Ok(())
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if a.top < 1 {
        return Err(usage(format!(
            "invalid value '{}' for '--top': give the number of terms per class and direction, at least 1 (e.g. 30)",
            a.top
        )));
    }
    let top = usize::try_from(a.top).unwrap_or(usize::MAX);
    #[cfg(feature = "encoder")]
    let model = super::args::load_model_with(a.model.as_ref(), a.encoder.as_ref())?;
    #[cfg(not(feature = "encoder"))]
    let model = super::args::load_model(a.model.as_ref())?;
    let classes = classes(&a, &model, top)?;
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => {
            let doc = json!({
                "model": super::args::model_source(a.model.as_ref())?.to_string(),
                "top": top,
                "classes": classes,
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Table => write_table(&mut out, &classes)?,
    }
    out.flush()?;
    Ok(())
}

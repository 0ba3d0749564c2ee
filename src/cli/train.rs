//! `newsclass train`: fit a pipeline on labeled data and save it.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use newsclass::cv::{holdout_split, score};
use newsclass::data::Column;
use newsclass::Pipeline;

use super::args::{parse_ngram_range, read_data, usage, DataArgs, ModelArgs};
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
    /// Keep rows with the same value of this column on one side of --validation-split.
    #[arg(long, value_name = "COL")]
    group_column: Option<String>,
}

pub fn run(a: Args, quiet: bool) -> anyhow::Result<()> {
    // Check every parameter before reading any data.
    let params = a.model_args.params(
        parse_ngram_range(&a.ngram_range)?,
        &a.min_df,
        a.sublinear_tf,
        a.c,
    )?;
    if let Some(f) = a.validation_split {
        if !(f > 0.0 && f < 1.0) {
            return Err(usage(format!(
                "invalid value '{f}' for '--validation-split': expected a fraction strictly between 0 and 1, e.g. 0.2"
            )));
        }
    }
    if a.model.is_dir() {
        return Err(usage(format!(
            "--model {} is a directory; give a file name",
            a.model.display()
        )));
    }
    let mut spec = a.data_args.spec(true)?;
    if let Some(g) = &a.group_column {
        spec.group = Some(Column::parse_list("group_column", g, spec.has_header)?.remove(0));
    }
    let start = Instant::now();
    let data = read_data(&a.data, &spec)?;
    let reporter = Reporter::new(quiet);
    let (train_rows, held_rows) = match a.validation_split {
        Some(f) => {
            let (t, h) = holdout_split(&data, f, params.seed)?;
            (Some(t), Some(h))
        }
        None => (None, None),
    };
    // Without a validation split, train on the data as read (no copy).
    let selected = train_rows.as_ref().map(|rows| data.select(rows));
    let train_data = selected.as_ref().unwrap_or(&data);
    let (model, reports) = Pipeline::fit(params, train_data, &mut |p| reporter.on_progress(p))?;
    reporter.message("saving model");
    model
        .save(&a.model)
        .with_context(|| format!("saving model to {}", a.model.display()))?;
    reporter.finish();
    if quiet {
        return Ok(());
    }
    let s = model.summary();
    println!(
        "trained on {} rows from {} in {:.2} s; vocabulary {} terms; model written to {}",
        s.n_rows,
        a.data.display(),
        start.elapsed().as_secs_f64(),
        s.n_features,
        a.model.display()
    );
    for (head, report) in model.heads().iter().zip(&reports) {
        println!(
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
        );
    }
    if let Some(rows) = held_rows {
        let held = data.select(&rows);
        println!("held-out validation ({} rows):", held.len());
        for (name, cm) in score(&model, &held) {
            println!(
                "  {:<12} accuracy {:.4}  macro-F1 {:.4}",
                name,
                cm.accuracy(),
                cm.macro_f1()
            );
        }
    }
    Ok(())
}

//! Command-line interface: clap definitions and one module per subcommand.
//!
//! Exit codes: 0 success (also when stdout is closed early, e.g. piped into `head`), 2 bad input
//! or usage (flags, data files, model files), 1 internal failure.

mod args;
mod bench;
mod cv;
mod eval;
mod explain;
mod info;
mod predict;
mod progress;
mod report;
#[cfg(feature = "serve")]
mod serve;
mod train;

use anyhow::Context;
use clap::{Parser, Subcommand};

pub use args::UsageError;

/// Label every sentence of a news article by topic and stance (or your own label columns).
#[derive(Debug, Parser)]
#[command(name = "newsclass", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Examples:\n  newsclass predict article.txt\n  newsclass train --data data/train.csv --model my.newsclass\n  newsclass eval --model my.newsclass --data data/test.csv\n  newsclass report data/example-article.txt -o report.html\n  newsclass cv --data data/train.csv --c 1,3,10 --ngram-range 1,1:1,2\n  newsclass explain --head topic --top 20"
)]
pub struct Cli {
    /// No progress bars or summaries on stderr/stdout beyond the requested output.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Worker threads for tokenizing, fitting and predicting (default: all cores, or
    /// RAYON_NUM_THREADS when set). Results are the same for any number.
    #[arg(
        long,
        global = true,
        value_name = "N",
        value_parser = parse_threads,
        allow_negative_numbers = true
    )]
    pub threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a model on labeled sentences (CSV or JSONL).
    Train(train::Args),
    /// Label the sentences of articles (or rows of a CSV/JSONL file).
    Predict(predict::Args),
    /// Score a model on labeled data: accuracy, F1 per class, confusion matrix, calibration of
    /// the probabilities, selective prediction.
    Eval(eval::Args),
    /// Write classified articles as one self-contained HTML page.
    Report(report::Args),
    /// Grouped k-fold cross-validation over a parameter grid.
    Cv(cv::Args),
    /// Show what a model file holds: parameters, labels, temperatures, training summary.
    Info(info::Args),
    /// Show what a model learned: per class, the terms with the strongest positive and
    /// negative weight × idf.
    Explain(explain::Args),
    /// Time each pipeline stage on a data file and print throughput.
    Bench(bench::Args),
    /// Serve the model over HTTP: POST /v1/classify, GET /v1/model, /healthz, /metrics.
    #[cfg(feature = "serve")]
    Serve(serve::Args),
}

/// Parse argv and run the subcommand.
pub fn run() -> anyhow::Result<()> {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors exit 2.
            let code = e.exit_code();
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let quiet = cli.quiet;
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("starting the worker threads of --threads")?;
    }
    match cli.command {
        Command::Train(a) => train::run(a, quiet),
        Command::Predict(a) => predict::run(a, quiet),
        Command::Eval(a) => eval::run(a, quiet),
        Command::Report(a) => report::run(a, quiet),
        Command::Cv(a) => cv::run(a, quiet),
        Command::Info(a) => info::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Bench(a) => bench::run(a, quiet),
        #[cfg(feature = "serve")]
        Command::Serve(a) => serve::run(a, quiet),
    }
}

/// `--threads N`: a whole number of at least 1.
fn parse_threads(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(
            "N is the number of worker threads: give a whole number of at least 1 (e.g. --threads 2), or leave the flag out to use all cores"
                .to_string(),
        ),
    }
}

/// The one-line message for an error chain, with library errors worded for the command line:
/// parameters are named by their flags (`min_df` -> `--min-df`) and hints name the flag to use.
pub fn render(e: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for c in e.chain() {
        if let Some(err) = c.downcast_ref::<newsclass::Error>() {
            parts.push(describe(err));
            // A library error's own text already says everything below it.
            break;
        }
        parts.push(c.to_string());
    }
    parts.join(": ")
}

fn flag(name: &str) -> String {
    format!("--{}", name.replace('_', "-"))
}

/// A library error in the words of the command line.
fn describe(e: &newsclass::Error) -> String {
    use newsclass::Error as E;
    match e {
        E::InvalidParam {
            name,
            value,
            reason,
        } => {
            let hint = if reason.contains("not by number") {
                "; drop --no-header"
            } else {
                ""
            };
            format!("invalid value {value} for `{}`: {reason}{hint}", flag(name))
        }
        E::UnknownColumn { .. } => {
            format!("{e}, or use --no-header with column numbers")
        }
        E::NoHeads => "no label columns: name at least one with --label-columns".into(),
        E::EmptyVocabulary {
            min_df,
            max_df,
            n_docs,
        } => format!(
            "after pruning, no terms remain (min_df {min_df}, max_df {max_df}, {n_docs} documents); lower --min-df or raise --max-df"
        ),
        E::DocFreqBounds {
            min_df,
            max_df,
            n_docs,
        } => format!(
            "--max-df ({max_df}) keeps fewer documents than --min-df ({min_df}) on {n_docs} documents; raise --max-df or lower --min-df"
        ),
        E::EmptyCharVocabulary {
            min_df,
            max_df,
            n_docs,
        } => format!(
            "after pruning, no character n-grams remain (char_min_df {min_df}, char_max_df {max_df}, {n_docs} documents); lower --char-min-df or raise --char-max-df"
        ),
        E::CharDocFreqBounds {
            min_df,
            max_df,
            n_docs,
        } => format!(
            "--char-max-df ({max_df}) keeps fewer documents than --char-min-df ({min_df}) on {n_docs} documents; raise --char-max-df or lower --char-min-df"
        ),
        E::UnknownHead { .. } => format!("{e}; choose --label-columns among them"),
        E::TooManyClasses { .. } => e.to_string().replace("raise max_classes", "raise --max-classes"),
        E::Diverged { .. } => e.to_string().replace("lower c", "lower --c"),
        E::Encoder(newsclass::EncoderError::InvalidParam {
            name,
            value,
            reason,
        }) => format!(
            "invalid value {value} for `--encoder-{}`: {reason}",
            name.replace('_', "-")
        ),
        E::Data { reason, .. } if reason.contains("the label columns") => e
            .to_string()
            .replace("from the label columns", "from --label-columns"),
        _ => e.to_string(),
    }
}

/// True when the error is a write to a closed pipe.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || matches!(c.downcast_ref::<newsclass::Error>(), Some(newsclass::Error::Io(io)) if io.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
            || matches!(c.downcast_ref::<csv::Error>().map(csv::Error::kind), Some(csv::ErrorKind::Io(io)) if io.kind() == BrokenPipe)
    })
}

/// 2 for bad input or usage, 1 for internal failures.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    for c in e.chain() {
        if c.downcast_ref::<UsageError>().is_some() {
            return 2;
        }
        if let Some(err) = c.downcast_ref::<newsclass::Error>() {
            return if err.is_user_error() { 2 } else { 1 };
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if newsclass::error::is_user_io_error(io.kind()) {
                return 2;
            }
        }
    }
    1
}

//! `newsclass info`: print a model's header (parameters, labels, training summary).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use newsclass::Pipeline;

use super::args::{usage, DEFAULT_MODEL};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model file (default: the embedded default model).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Print only the model's tokenizer in standard tokenizer.json form (loadable with
    /// Hugging Face tokenizers: `Tokenizer.from_file`).
    #[arg(long)]
    tokenizer_json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let bytes = match &a.model {
        Some(p) => {
            std::fs::read(p).with_context(|| format!("cannot read model {}", p.display()))?
        }
        None => DEFAULT_MODEL
            .ok_or_else(|| usage("no --model given and this build has no default model"))?
            .to_vec(),
    };
    let source = a.model.as_ref().map_or_else(
        || "the embedded default model".to_string(),
        |p| p.display().to_string(),
    );
    let mut header =
        Pipeline::read_header(&bytes).with_context(|| format!("loading model {source}"))?;
    let mut out = std::io::stdout().lock();
    if a.tokenizer_json {
        serde_json::to_writer_pretty(&mut out, &header.tokenizer)?;
        writeln!(out)?;
        return Ok(());
    }
    header.tokenizer =
        serde_json::Value::String("(omitted: newsclass info --tokenizer-json prints it)".into());
    serde_json::to_writer_pretty(&mut out, &header)?;
    writeln!(out)?;
    Ok(())
}

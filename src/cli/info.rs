//! `newsclass info`: print a model's header (parameters, labels, training summary).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use newsclass::{ModelHeader, Pipeline};

use super::args::{model_source, ModelSource};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model file, or a built-in model: `default` (TF-IDF + sentence encoder; used when
    /// --model is not given) or `fast` (TF-IDF only, hundreds of times faster).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Print only the model's tokenizer in standard tokenizer.json form (loadable with
    /// Hugging Face tokenizers: `Tokenizer.from_file`).
    #[arg(long)]
    tokenizer_json: bool,
}

/// The bytes of `--model` (a file or a built-in model) and where they come from.
pub(crate) fn model_bytes(model: Option<&PathBuf>) -> anyhow::Result<(Vec<u8>, ModelSource<'_>)> {
    let source = model_source(model)?;
    let bytes = match source {
        ModelSource::File(p) => {
            std::fs::read(p).with_context(|| format!("cannot read model {}", p.display()))?
        }
        ModelSource::Builtin(_, bytes) => bytes.to_vec(),
    };
    Ok((bytes, source))
}

/// The header as `info` prints it: everything but the tokenizer, which is replaced by a note.
pub(crate) fn printable(mut header: ModelHeader) -> ModelHeader {
    header.tokenizer =
        serde_json::Value::String("(omitted: newsclass info --tokenizer-json prints it)".into());
    header
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let (bytes, source) = model_bytes(a.model.as_ref())?;
    let header =
        Pipeline::read_header(&bytes).with_context(|| format!("loading model {source}"))?;
    let mut out = std::io::stdout().lock();
    if a.tokenizer_json {
        serde_json::to_writer_pretty(&mut out, &header.tokenizer)?;
        writeln!(out)?;
        return Ok(());
    }
    serde_json::to_writer_pretty(&mut out, &printable(header))?;
    writeln!(out)?;
    Ok(())
}

//! `newsclass report`: classify articles and write them as one self-contained HTML page.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use newsclass::html::{articles_page, ArticleView, Theme};

use super::args::{check_output_target, usage};
use super::progress::Reporter;

/// Terms shown per head in a sentence's details (as `predict --explain=3` gives them).
const TOP_TERMS: usize = 3;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The page needs no network and runs no scripts: every sentence is tinted by its topic (or the model's first head) and marked by its stance (or the second head); point at it or move to it with Tab to see every head's probabilities and the 3 terms that pushed most toward each predicted label (with their log-odds, as predict --explain=3 gives them; character n-grams in quotes). Each article gets a chart of its sentences per topic and stance, and a legend explains the colors and marks.\n\nExamples:\n  newsclass report data/example-article.txt -o report.html\n  newsclass report --model my.newsclass --title \"Monday's wires\" a.txt b.txt -o monday.html\n  cat article.txt | newsclass report - -o - > report.html"
)]
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
    /// Where to write the HTML page (replaced atomically); - writes it to standard output.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// The page's title (default: from the article file names).
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
    /// Article files (plain text, UTF-8, one paragraph per line); - reads standard input (so
    /// does nothing, when input is piped).
    #[arg(value_name = "ARTICLE")]
    files: Vec<PathBuf>,
}

/// The text of an article file (or of standard input for `-`), without a byte order mark.
fn read_article(path: &Path) -> anyhow::Result<String> {
    let stdin = path.as_os_str() == "-";
    let source = if stdin {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    let bytes = if stdin {
        let mut b = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut b)
            .context("cannot read standard input")?;
        b
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {source}"))?
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    match std::str::from_utf8(bytes) {
        Ok(t) => Ok(t.to_string()),
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            Err(usage(format!(
                "{source}:{line}: text is not valid UTF-8; save the file as UTF-8"
            )))
        }
    }
}

pub fn run(a: Args, quiet: bool) -> anyhow::Result<()> {
    let files = if a.files.is_empty() {
        if std::io::stdin().is_terminal() {
            return Err(usage(
                "no input: give one or more article files, or - to read standard input",
            ));
        }
        vec![PathBuf::from("-")]
    } else {
        a.files.clone()
    };
    if files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(usage("standard input (-) can be read only once"));
    }
    let to_stdout = a.output.as_os_str() == "-";
    if !to_stdout {
        check_output_target("--output", &a.output)?;
        if let Ok(out) = a.output.canonicalize() {
            if files
                .iter()
                .any(|f| f.canonicalize().is_ok_and(|f| f == out))
            {
                return Err(usage(format!(
                    "--output {} is also an article to read; choose another file name",
                    a.output.display()
                )));
            }
        }
    }
    #[cfg(feature = "encoder")]
    let model = super::args::load_model_with(a.model.as_ref(), a.encoder.as_ref())?;
    #[cfg(not(feature = "encoder"))]
    let model = super::args::load_model(a.model.as_ref())?;
    let reporter = Reporter::new(quiet);
    let mut articles = Vec::with_capacity(files.len());
    for path in &files {
        let text = read_article(path)?;
        let source = if path.as_os_str() == "-" {
            "standard input".to_string()
        } else {
            path.display().to_string()
        };
        reporter.message(format!("classifying {source}"));
        let mut article = ArticleView::classify(&model, source, &text);
        article.explain(&model, TOP_TERMS);
        articles.push(article);
    }
    let n_sentences: usize = articles.iter().map(|a| a.sentences.len()).sum();
    let title = a
        .title
        .clone()
        .unwrap_or_else(|| match articles.as_slice() {
            [one] => format!("newsclass report: {}", one.source),
            many => format!("newsclass report: {} articles", many.len()),
        });
    let model_name = super::args::model_source(a.model.as_ref())?.label("model ");
    let meta = format!(
        "{} article{}, {n_sentences} sentence{}, labeled by {model_name}",
        articles.len(),
        if articles.len() == 1 { "" } else { "s" },
        if n_sentences == 1 { "" } else { "s" },
    );
    let html = articles_page(&title, &meta, &articles, &Theme::for_model(&model));
    if to_stdout {
        reporter.finish();
        let mut out = std::io::stdout().lock();
        out.write_all(html.as_bytes())?;
        out.flush()?;
        return Ok(());
    }
    reporter.message(format!("writing {}", a.output.display()));
    newsclass::html::save(&a.output, &html)
        .with_context(|| format!("writing the report to {}", a.output.display()))?;
    reporter.finish();
    if !quiet {
        // The page is written: a closed stdout must not turn that into a failure.
        let _ = writeln!(
            std::io::stdout().lock(),
            "report written to {}: {meta}; {} bytes",
            a.output.display(),
            html.len()
        );
    }
    Ok(())
}

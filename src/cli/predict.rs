//! `newsclass predict`: label every sentence of articles, or every row of a CSV/TSV/JSONL file.
//!
//! Text input streams: it is read a block of whole lines at a time (about 4 MiB), split,
//! classified and written before the next block is read. Every line break ends a sentence, so
//! block boundaries never change a sentence, and offsets and sentence numbers carry across blocks:
//! the output is the same as for the whole file at once, in bounded memory. A single line longer
//! than [`MAX_LINE`] is cut there. CSV, TSV and JSONL inputs are read whole.

use std::io::{BufRead, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::ValueEnum;
use newsclass::data::{Column, DataFormat};
use newsclass::output::{JsonOptions, SentenceJson, SentenceRef};
use newsclass::{Explanation, MinProb, Pipeline, Prediction, TermKind};

use super::args::usage;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum InputFormat {
    /// Raw article text, split into sentences.
    Text,
    /// CSV rows, classified as given.
    Csv,
    /// Tab-separated rows with a header, classified as given.
    Tsv,
    /// JSON lines, classified as given.
    Jsonl,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum OutputFormat {
    /// A readable table.
    Table,
    /// One JSON object per sentence.
    Jsonl,
    /// CSV with a header row.
    Csv,
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
    /// How to read the inputs.
    #[arg(long, value_enum, default_value = "text")]
    input_format: InputFormat,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: OutputFormat,
    /// Also print every class probability of every head.
    #[arg(long)]
    probs: bool,
    /// Explain each head's label: the K terms that pushed most toward it against the runner-up
    /// label, and the K that pushed most toward the runner-up, with their log-odds weights
    /// (K is 5 unless attached with =, e.g. --explain=10). jsonl: an "explain" object per
    /// head; csv: columns per head; table: the top 3 terms per head.
    #[arg(
        long,
        value_name = "K",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "5",
        allow_negative_numbers = true
    )]
    explain: Option<i64>,
    /// Abstain below a probability: P for every head, or HEAD=P,... per head (e.g. 0.7 or
    /// topic=0.7,stance=0.6). A head whose top probability is below its P prints the label
    /// "uncertain" (jsonl: "label": null, "abstained": true) and keeps its probabilities.
    #[arg(long, value_name = "P|HEAD=P,...", allow_negative_numbers = true)]
    min_prob: Option<String>,
    /// With csv/jsonl input: text column(s), joined with a space (1-based numbers with --no-header).
    #[arg(long, value_name = "COLS", default_value = "text")]
    text_column: String,
    /// With csv/tsv/jsonl input: the column passed through as "id" (default: "id", when the file
    /// has one; a column given here must exist).
    #[arg(long, value_name = "COL")]
    id_column: Option<String>,
    /// With csv input: the file has no header row.
    #[arg(long)]
    no_header: bool,
    /// Input files; - reads standard input (so does nothing, when input is piped).
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Bytes of text read per block (whole lines).
const BLOCK: usize = 4 << 20;
/// The longest line held whole; a longer one is cut into pieces of this size.
pub const MAX_LINE: usize = 16 << 20;

/// One classified unit: a sentence of an article or a row of a file.
pub(crate) struct Item<'m> {
    /// The input it came from (a path, or `-`).
    pub(crate) source: String,
    /// 1-based position in its input.
    pub(crate) index: usize,
    /// Character offsets in the input.
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// The row's id column, if any.
    pub(crate) id: Option<String>,
    pub(crate) text: String,
    pub(crate) prediction: Prediction<'m>,
}

fn open(path: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        Ok(Box::new(std::io::BufReader::with_capacity(
            1 << 16,
            std::io::stdin(),
        )))
    } else {
        let f =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 16, f)))
    }
}

/// Read the next block of whole lines (up to about [`BLOCK`] bytes) into `buf`; false at the end.
fn next_block(mut r: &mut dyn BufRead, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.clear();
    while buf.len() < BLOCK {
        let start = buf.len();
        let n = (&mut r).take(MAX_LINE as u64).read_until(b'\n', buf)?;
        if n == 0 {
            break;
        }
        if buf.len() - start == MAX_LINE && buf.last() != Some(&b'\n') {
            // An over-long line: this piece ends the block, completed to a whole character.
            let mut byte = [0u8; 1];
            while matches!(std::str::from_utf8(&buf[start..]), Err(e) if e.error_len().is_none())
                && r.read(&mut byte)? == 1
            {
                buf.push(byte[0]);
            }
            break;
        }
    }
    Ok(!buf.is_empty())
}

/// Stream one text input: blocks of lines → sentences → predictions → `out`.
fn stream_text(model: &Pipeline, path: &Path, out: &mut Output<'_>) -> anyhow::Result<()> {
    let source = path.display().to_string();
    let mut reader = open(path).with_context(|| format!("reading {source}"))?;
    let mut buf = Vec::new();
    let (mut chars_before, mut sentences_before, mut lines_before) = (0usize, 0usize, 0usize);
    let mut first = true;
    while next_block(&mut *reader, &mut buf).with_context(|| format!("reading {source}"))? {
        let mut bytes = buf.as_slice();
        if first {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            first = false;
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = e.valid_up_to();
                let line = lines_before + bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
                return Err(usage(format!(
                    "{source}:{line}: text is not valid UTF-8; save the file as UTF-8"
                )));
            }
        };
        let items: Vec<Item<'_>> = model
            .classify_article(text)
            .into_iter()
            .map(|s| Item {
                source: source.clone(),
                index: sentences_before + s.index,
                start: chars_before + s.start,
                end: chars_before + s.end,
                id: None,
                text: s.text,
                prediction: s.prediction,
            })
            .collect();
        sentences_before += items.len();
        chars_before += text.chars().count();
        lines_before += text.bytes().filter(|&b| b == b'\n').count();
        out.write(&items)?;
    }
    Ok(())
}

/// Read a CSV/TSV/JSONL input whole and classify its rows.
fn classify_rows<'m>(a: &Args, model: &'m Pipeline, path: &Path) -> anyhow::Result<Vec<Item<'m>>> {
    let source = path.display().to_string();
    // JSONL fields are always named; CSV/TSV columns are numbered with --no-header.
    let format = match a.input_format {
        InputFormat::Jsonl => DataFormat::Jsonl,
        InputFormat::Tsv => DataFormat::Tsv,
        _ => DataFormat::Csv,
    };
    let named = format == DataFormat::Jsonl || !a.no_header;
    let id = match &a.id_column {
        Some(c) => Some(Column::parse_list("id_column", c, named)?.remove(0)),
        None => named.then(|| Column::Name("id".into())),
    };
    let spec = newsclass::data::DataSpec {
        text: Column::parse_list("text_column", &a.text_column, named)?,
        labels: Vec::new(),
        id,
        id_required: a.id_column.is_some(),
        group: None,
        has_header: named,
        format: Some(format),
    };
    let data = newsclass::data::read_path(path, &spec)?;
    let preds = model.predict(data.texts());
    Ok(data
        .texts()
        .iter()
        .zip(preds)
        .enumerate()
        .map(|(i, (text, prediction))| Item {
            source: source.clone(),
            index: i + 1,
            start: 0,
            end: text.chars().count(),
            id: data.ids().map(|v| v[i].clone()),
            text: text.clone(),
            prediction,
        })
        .collect())
}

/// The label printed in table and csv output for a head that abstains.
const UNCERTAIN: &str = "uncertain";

/// `--explain[=K]` checked: K >= 1. A number given as a file that does not exist is most likely
/// a K written without `=`.
fn explain_terms(a: &Args) -> anyhow::Result<Option<usize>> {
    let Some(k) = a.explain else {
        return Ok(None);
    };
    if k < 1 {
        return Err(usage(format!(
            "invalid value '{k}' for '--explain': K is the number of terms to show per head and side; give at least 1, e.g. --explain=5"
        )));
    }
    if let Some(f) = a.files.iter().find(|f| {
        let s = f.to_string_lossy();
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && !f.exists()
    }) {
        let n = f.display();
        return Err(usage(format!(
            "cannot read {n}: no such file; to show {n} terms, attach the number to the flag: --explain={n}"
        )));
    }
    Ok(Some(usize::try_from(k).unwrap_or(usize::MAX)))
}

/// `--min-prob` checked against the model; refused in table and csv output when a head with a
/// threshold has a label spelled like the abstention marker.
fn min_prob(a: &Args, model: &Pipeline) -> anyhow::Result<Option<MinProb>> {
    let Some(s) = &a.min_prob else {
        return Ok(None);
    };
    let m = MinProb::parse(s)?;
    m.check(model)?;
    if a.format != OutputFormat::Jsonl {
        for h in model.heads() {
            if m.threshold(&h.name).is_some()
                && model.labels(&h.name)?.iter().any(|l| l == UNCERTAIN)
            {
                return Err(usage(format!(
                    "--min-prob: head \"{}\" has a label named \"{UNCERTAIN}\", which the {} output also prints for abstentions; use --format jsonl, where an abstention is \"label\": null",
                    h.name,
                    if a.format == OutputFormat::Csv { "csv" } else { "table" }
                )));
            }
        }
    }
    Ok(Some(m))
}

pub fn run(a: Args, _quiet: bool) -> anyhow::Result<()> {
    let explain = explain_terms(&a)?;
    if let Some(s) = &a.min_prob {
        // Malformed thresholds are refused before the model loads.
        MinProb::parse(s)?;
    }
    let files = if a.files.is_empty() {
        if std::io::stdin().is_terminal() {
            return Err(usage(
                "no input: give one or more files, or - to read standard input",
            ));
        }
        vec![PathBuf::from("-")]
    } else {
        a.files.clone()
    };
    if files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(usage("standard input (-) can be read only once"));
    }
    #[cfg(feature = "encoder")]
    let model = super::args::load_model_with(a.model.as_ref(), a.encoder.as_ref())?;
    #[cfg(not(feature = "encoder"))]
    let model = super::args::load_model(a.model.as_ref())?;
    let min_prob = min_prob(&a, &model)?;
    let thresholds: Option<Vec<Option<f64>>> = min_prob
        .as_ref()
        .map(|m| model.heads().iter().map(|h| m.threshold(&h.name)).collect());
    let stdout = std::io::stdout();
    let mut out = Output {
        w: BufWriter::with_capacity(1 << 16, stdout.lock()),
        model: &model,
        format: a.format,
        opts: Options {
            probs: a.probs,
            explain,
            thresholds,
        },
        many: files.len() > 1,
        with_id: false,
        started: false,
        last_source: None,
    };
    if a.input_format == InputFormat::Text {
        for path in &files {
            stream_text(&model, path, &mut out)?;
        }
    } else {
        let mut items = Vec::new();
        for path in &files {
            items.extend(classify_rows(&a, &model, path)?);
        }
        out.with_id = items.iter().any(|i| i.id.is_some());
        out.write(&items)?;
    }
    out.w.flush()?;
    Ok(())
}

/// What each row shows beyond label and probability.
pub(crate) struct Options {
    /// Every class probability.
    pub(crate) probs: bool,
    /// Explanations with this many terms per side.
    pub(crate) explain: Option<usize>,
    /// With `--min-prob`: per head (model order), its threshold.
    pub(crate) thresholds: Option<Vec<Option<f64>>>,
}

impl Options {
    /// The label to print for head `h` of a row, or `None` when the head abstains.
    fn label<'p>(&self, h: usize, head: &newsclass::HeadPrediction<'p>) -> Option<&'p str> {
        let t = self.thresholds.as_ref().and_then(|t| t[h]);
        head.label_unless_below(t)
    }
}

/// The output stream, with what it must remember between blocks.
struct Output<'a> {
    w: BufWriter<std::io::StdoutLock<'a>>,
    model: &'a Pipeline,
    format: OutputFormat,
    opts: Options,
    many: bool,
    with_id: bool,
    /// The CSV header is written.
    started: bool,
    /// The source of the last table row.
    last_source: Option<String>,
}

impl Output<'_> {
    fn write(&mut self, items: &[Item<'_>]) -> anyhow::Result<()> {
        let explanations = match self.opts.explain {
            Some(k) => self.model.explain_all(
                &items.iter().map(|i| i.text.as_str()).collect::<Vec<_>>(),
                k,
            ),
            None => Vec::new(),
        };
        match self.format {
            OutputFormat::Jsonl => write_jsonl(&mut self.w, items, &self.opts, &explanations),
            OutputFormat::Csv => {
                let header = !std::mem::replace(&mut self.started, true);
                write_csv(
                    &mut self.w,
                    self.model,
                    items,
                    &self.opts,
                    &explanations,
                    self.with_id,
                    header,
                )
            }
            OutputFormat::Table => write_table(
                &mut self.w,
                self.model,
                items,
                &self.opts,
                &explanations,
                self.many,
                &mut self.last_source,
            ),
        }
    }
}

/// A term as the table shows it: word n-grams as they are, character n-grams in quotes (so
/// their spaces show).
fn display_term(term: &str, kind: TermKind) -> String {
    match kind {
        TermKind::Word | TermKind::Encoder => term.replace(['\n', '\r', '\t'], " "),
        TermKind::Char => format!("\"{}\"", term.replace(['\n', '\r', '\t'], " ")),
    }
}

/// `s` cut to at most `width` characters, with an ellipsis when cut.
pub(super) fn fit_width(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Width of the table's per-head terms column.
const TERMS_WIDTH: usize = 30;
/// Terms per head in the table.
const TABLE_TERMS: usize = 3;
fn write_jsonl(
    out: &mut impl Write,
    items: &[Item<'_>],
    opts: &Options,
    explanations: &[Vec<Explanation>],
) -> anyhow::Result<()> {
    let json_opts = JsonOptions {
        probs: opts.probs,
        thresholds: opts.thresholds.as_deref(),
    };
    for (i, item) in items.iter().enumerate() {
        let sentence = SentenceRef {
            index: item.index,
            start: item.start,
            end: item.end,
            id: item.id.as_deref(),
            text: &item.text,
            prediction: &item.prediction,
        };
        let object = SentenceJson {
            sentence: &sentence,
            opts: json_opts,
            explanations: explanations.get(i).map(Vec::as_slice),
            source: Some(&item.source),
        };
        serde_json::to_writer(&mut *out, &object)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn write_csv(
    out: &mut impl Write,
    model: &Pipeline,
    items: &[Item<'_>],
    opts: &Options,
    explanations: &[Vec<Explanation>],
    with_id: bool,
    write_header: bool,
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = vec![
        "source".into(),
        "sentence".into(),
        "start".into(),
        "end".into(),
    ];
    if with_id {
        header.push("id".into());
    }
    header.push("text".into());
    for head in model.heads() {
        header.push(head.name.clone());
        header.push(format!("{}_prob", head.name));
        if opts.probs {
            for l in head.model.labels().names() {
                header.push(format!("{}_p_{l}", head.name));
            }
        }
        if let Some(k) = opts.explain {
            let n = &head.name;
            header.extend([
                format!("{n}_versus"),
                format!("{n}_log_odds"),
                format!("{n}_intercept"),
            ]);
            for side in ["for", "against"] {
                for i in 1..=k {
                    header.extend([
                        format!("{n}_{side}{i}"),
                        format!("{n}_{side}{i}_kind"),
                        format!("{n}_{side}{i}_weight"),
                    ]);
                }
            }
        }
    }
    if write_header {
        w.write_record(&header)?;
    }
    for (i, item) in items.iter().enumerate() {
        let mut rec: Vec<String> = vec![
            item.source.clone(),
            item.index.to_string(),
            item.start.to_string(),
            item.end.to_string(),
        ];
        if with_id {
            rec.push(item.id.clone().unwrap_or_default());
        }
        rec.push(item.text.clone());
        for (h, head) in item.prediction.heads().enumerate() {
            rec.push(opts.label(h, &head).unwrap_or(UNCERTAIN).to_string());
            rec.push(format!("{:.4}", head.score()));
            if opts.probs {
                rec.extend(head.probs().iter().map(|v| format!("{v:.4}")));
            }
            if let (Some(k), Some(e)) = (opts.explain, explanations.get(i).and_then(|e| e.get(h))) {
                rec.push(e.versus.clone());
                rec.push(format!("{:.4}", e.log_odds));
                rec.push(format!("{:.4}", e.intercept));
                for terms in [&e.for_terms, &e.against_terms] {
                    for j in 0..k {
                        match terms.get(j) {
                            Some(c) => rec.extend([
                                c.term.clone(),
                                c.kind.name().to_string(),
                                format!("{:.4}", c.weight),
                            ]),
                            None => rec.extend([String::new(), String::new(), String::new()]),
                        }
                    }
                }
            }
        }
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

fn write_table(
    out: &mut impl Write,
    model: &Pipeline,
    items: &[Item<'_>],
    opts: &Options,
    explanations: &[Vec<Explanation>],
    many: bool,
    last_source: &mut Option<String>,
) -> anyhow::Result<()> {
    let widths: Vec<usize> = model
        .heads()
        .iter()
        .map(|h| {
            h.model
                .labels()
                .names()
                .iter()
                .map(String::len)
                .max()
                .unwrap_or(0)
                .max(h.name.len())
                .max(if opts.thresholds.is_some() {
                    UNCERTAIN.len()
                } else {
                    0
                })
        })
        .collect();
    let explain = opts.explain.is_some();
    for (i, item) in items.iter().enumerate() {
        if last_source.as_deref() != Some(item.source.as_str()) {
            if last_source.is_some() {
                writeln!(out)?;
            }
            if many {
                writeln!(out, "== {} ==", item.source)?;
            }
            write!(out, "{:>4}", "#")?;
            for (head, w) in model.heads().iter().zip(&widths) {
                write!(out, "  {:<w$}  {:>4}", head.name, "p")?;
                if explain {
                    write!(out, "  {:<TERMS_WIDTH$}", "terms")?;
                }
            }
            writeln!(out, "  sentence")?;
            *last_source = Some(item.source.clone());
        }
        write!(out, "{:>4}", item.index)?;
        for (h, (head, w)) in item.prediction.heads().zip(&widths).enumerate() {
            let label = opts.label(h, &head).unwrap_or(UNCERTAIN);
            write!(out, "  {:<w$}  {:>4.2}", label, head.score())?;
            if explain {
                let terms = explanations
                    .get(i)
                    .and_then(|e| e.get(h))
                    .map(|e| {
                        e.for_terms
                            .iter()
                            .take(TABLE_TERMS)
                            .map(|c| display_term(&c.term, c.kind))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                write!(out, "  {:<TERMS_WIDTH$}", fit_width(&terms, TERMS_WIDTH))?;
            }
        }
        writeln!(out, "  {}", item.text.replace(['\n', '\r'], " "))?;
        if opts.probs {
            for head in item.prediction.heads() {
                let parts: Vec<String> = head
                    .labels()
                    .iter()
                    .zip(head.probs())
                    .map(|(l, p)| format!("{l} {p:.2}"))
                    .collect();
                writeln!(out, "        {}: {}", head.name(), parts.join(", "))?;
            }
        }
    }
    Ok(())
}

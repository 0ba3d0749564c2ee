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
use newsclass::{Pipeline, Prediction};
use serde_json::{json, Map, Value};

use super::args::{load_model, usage};

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
    /// Model file (default: the model embedded at build time from models/default.newsclass).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// How to read the inputs.
    #[arg(long, value_enum, default_value = "text")]
    input_format: InputFormat,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: OutputFormat,
    /// Also print every class probability of every head.
    #[arg(long)]
    probs: bool,
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

pub fn run(a: Args, _quiet: bool) -> anyhow::Result<()> {
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
    let model = load_model(a.model.as_ref())?;
    let stdout = std::io::stdout();
    let mut out = Output {
        w: BufWriter::with_capacity(1 << 16, stdout.lock()),
        model: &model,
        format: a.format,
        probs: a.probs,
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

/// The output stream, with what it must remember between blocks.
struct Output<'a> {
    w: BufWriter<std::io::StdoutLock<'a>>,
    model: &'a Pipeline,
    format: OutputFormat,
    probs: bool,
    many: bool,
    with_id: bool,
    /// The CSV header is written.
    started: bool,
    /// The source of the last table row.
    last_source: Option<String>,
}

impl Output<'_> {
    fn write(&mut self, items: &[Item<'_>]) -> anyhow::Result<()> {
        match self.format {
            OutputFormat::Jsonl => write_jsonl(&mut self.w, items, self.probs),
            OutputFormat::Csv => {
                let header = !std::mem::replace(&mut self.started, true);
                write_csv(
                    &mut self.w,
                    self.model,
                    items,
                    self.probs,
                    self.with_id,
                    header,
                )
            }
            OutputFormat::Table => write_table(
                &mut self.w,
                self.model,
                items,
                self.probs,
                self.many,
                &mut self.last_source,
            ),
        }
    }
}
fn write_jsonl(out: &mut impl Write, items: &[Item<'_>], probs: bool) -> anyhow::Result<()> {
    for item in items {
        let mut obj = sentence_object(item, probs);
        obj.insert("source".into(), json!(item.source));
        serde_json::to_writer(&mut *out, &Value::Object(obj))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The JSON object of one classified sentence or row, as `--format jsonl` prints it, without
/// its `source` (the caller adds that): `sentence`, `start`, `end`, `id` (when the item has one),
/// `text`, and per head `{"label", "prob"}` plus `"probs"` when asked. `serve` answers with the
/// same objects.
pub(crate) fn sentence_object(item: &Item<'_>, probs: bool) -> Map<String, Value> {
    let mut obj = Map::new();
    obj.insert("sentence".into(), json!(item.index));
    obj.insert("start".into(), json!(item.start));
    obj.insert("end".into(), json!(item.end));
    if let Some(id) = &item.id {
        obj.insert("id".into(), json!(id));
    }
    obj.insert("text".into(), json!(item.text));
    for head in item.prediction.heads() {
        let mut ho = Map::new();
        ho.insert("label".into(), json!(head.label()));
        ho.insert("prob".into(), json!(round4(head.score())));
        if probs {
            let m: Map<String, Value> = head
                .labels()
                .iter()
                .zip(head.probs())
                .map(|(l, &v)| (l.clone(), json!(round4(v))))
                .collect();
            ho.insert("probs".into(), Value::Object(m));
        }
        obj.insert(head.name().to_string(), Value::Object(ho));
    }
    obj
}

fn round4(v: f32) -> f64 {
    (f64::from(v) * 10_000.0).round() / 10_000.0
}

fn write_csv(
    out: &mut impl Write,
    model: &Pipeline,
    items: &[Item<'_>],
    probs: bool,
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
        if probs {
            for l in head.model.labels().names() {
                header.push(format!("{}_p_{l}", head.name));
            }
        }
    }
    if write_header {
        w.write_record(&header)?;
    }
    for item in items {
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
        for head in item.prediction.heads() {
            rec.push(head.label().to_string());
            rec.push(format!("{:.4}", head.score()));
            if probs {
                rec.extend(head.probs().iter().map(|v| format!("{v:.4}")));
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
    probs: bool,
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
        })
        .collect();
    for item in items {
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
            }
            writeln!(out, "  sentence")?;
            *last_source = Some(item.source.clone());
        }
        write!(out, "{:>4}", item.index)?;
        for (head, w) in item.prediction.heads().zip(&widths) {
            write!(out, "  {:<w$}  {:>4.2}", head.label(), head.score())?;
        }
        writeln!(out, "  {}", item.text.replace(['\n', '\r'], " "))?;
        if probs {
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

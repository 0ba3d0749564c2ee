//! `newsclass predict`: label every sentence of articles, or every row of a CSV/JSONL file.

use std::io::{BufWriter, Read, Write};
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
    /// With csv/jsonl input: the column passed through as "id" when present.
    #[arg(long, value_name = "COL", default_value = "id")]
    id_column: String,
    /// With csv input: the file has no header row.
    #[arg(long)]
    no_header: bool,
    /// Input files; - or nothing reads standard input.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// One classified unit: a sentence of an article or a row of a file.
struct Item<'m> {
    source: String,
    index: usize,
    start: usize,
    end: usize,
    id: Option<String>,
    text: String,
    prediction: Prediction<'m>,
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
    } else {
        bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    }
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&bytes)
        .to_vec();
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        usage(format!(
            "{}:{line}: text is not valid UTF-8; save the file as UTF-8",
            path.display()
        ))
    })
}

fn classify<'m>(a: &Args, model: &'m Pipeline, files: &[PathBuf]) -> anyhow::Result<Vec<Item<'m>>> {
    let mut items = Vec::new();
    for path in files {
        let source = path.display().to_string();
        match a.input_format {
            InputFormat::Text => {
                let text = read_text(path)?;
                for s in model.classify_article(&text) {
                    items.push(Item {
                        source: source.clone(),
                        index: s.index,
                        start: s.start,
                        end: s.end,
                        id: None,
                        text: s.text,
                        prediction: s.prediction,
                    });
                }
            }
            InputFormat::Csv | InputFormat::Jsonl => {
                // JSONL fields are always named; CSV columns are numbered with --no-header.
                let jsonl = a.input_format == InputFormat::Jsonl;
                let named = jsonl || !a.no_header;
                let spec = newsclass::data::DataSpec {
                    text: Column::parse_list("text_column", &a.text_column, named)?,
                    labels: Vec::new(),
                    id: named.then(|| Column::Name(a.id_column.clone())),
                    group: None,
                    has_header: named,
                    format: Some(if jsonl {
                        DataFormat::Jsonl
                    } else {
                        DataFormat::Csv
                    }),
                };
                let data = newsclass::data::read_path(path, &spec)?;
                let preds = model.predict(data.texts());
                for (i, (text, prediction)) in data.texts().iter().zip(preds).enumerate() {
                    items.push(Item {
                        source: source.clone(),
                        index: i + 1,
                        start: 0,
                        end: text.chars().count(),
                        id: data.ids().map(|v| v[i].clone()),
                        text: text.clone(),
                        prediction,
                    });
                }
            }
        }
    }
    Ok(items)
}

pub fn run(a: Args, _quiet: bool) -> anyhow::Result<()> {
    let files = if a.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        a.files.clone()
    };
    if files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(usage("standard input (-) can be read only once"));
    }
    let model = load_model(a.model.as_ref())?;
    let items = classify(&a, &model, &files)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    match a.format {
        OutputFormat::Jsonl => write_jsonl(&mut out, &items, a.probs)?,
        OutputFormat::Csv => write_csv(&mut out, &model, &items, a.probs)?,
        OutputFormat::Table => write_table(&mut out, &model, &items, a.probs, files.len() > 1)?,
    }
    out.flush()?;
    Ok(())
}

fn write_jsonl(out: &mut impl Write, items: &[Item<'_>], probs: bool) -> anyhow::Result<()> {
    for item in items {
        let mut obj = Map::new();
        obj.insert("source".into(), json!(item.source));
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
        serde_json::to_writer(&mut *out, &Value::Object(obj))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn round4(v: f32) -> f64 {
    (f64::from(v) * 10_000.0).round() / 10_000.0
}

fn write_csv(
    out: &mut impl Write,
    model: &Pipeline,
    items: &[Item<'_>],
    probs: bool,
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let with_id = items.iter().any(|i| i.id.is_some());
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
    w.write_record(&header)?;
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
    let mut last_source: Option<&str> = None;
    for item in items {
        if last_source != Some(item.source.as_str()) {
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
            last_source = Some(item.source.as_str());
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

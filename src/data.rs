//! Labeled and unlabeled text data: CSV (with or without a header) and JSONL.
//!
//! A [`DataSpec`] says which columns hold the text (several are joined with a space), which hold
//! labels (one head per column), and optionally which hold an id and a group (e.g. the article a
//! sentence belongs to). Columns are named by header names, or by 1-based numbers with
//! `has_header = false`. Every malformed record is reported with its file, line and column.
//!
//! CSV files may start with a UTF-8 byte-order mark, use CRLF line ends, and quote fields that
//! hold commas, quotes or newlines. JSONL files hold one JSON object per line; label values may be
//! strings, numbers or booleans.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A column reference: a header name or a 1-based column number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Column {
    /// A header name (CSV with header) or a JSON key.
    Name(String),
    /// A 1-based column number (CSV without header).
    Number(usize),
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Column::Name(n) => write!(f, "column \"{n}\""),
            Column::Number(n) => write!(f, "column {n}"),
        }
    }
}

impl Column {
    /// Parse a comma-separated list of columns: names, or 1-based numbers when `has_header` is
    /// false.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for an empty list or, without a header, a non-number or 0.
    pub fn parse_list(name: &'static str, s: &str, has_header: bool) -> Result<Vec<Column>> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(Error::param(
                name,
                s,
                "expected a comma-separated list of column names",
            ));
        }
        parts
            .into_iter()
            .map(|p| {
                if has_header {
                    Ok(Column::Name(p.to_string()))
                } else {
                    match p.parse::<usize>() {
                        Ok(n) if n >= 1 => Ok(Column::Number(n)),
                        _ => Err(Error::param(
                            name,
                            s,
                            "without a header, columns are 1-based numbers such as 2,3",
                        )),
                    }
                }
            })
            .collect()
    }

    /// The name of a label head read from this column: the header name, or `colN`.
    pub fn head_name(&self) -> String {
        match self {
            Column::Name(n) => n.clone(),
            Column::Number(n) => format!("col{n}"),
        }
    }
}

/// File format of a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    /// Comma-separated values.
    Csv,
    /// Tab-separated values (quoted as CSV), the form event-data sets ship in.
    Tsv,
    /// One JSON object per line.
    Jsonl,
}

impl DataFormat {
    /// Guess the format from a file extension (`.csv`, `.tsv`/`.tab`, `.jsonl`, `.ndjson`,
    /// `.json`).
    pub fn from_path(path: &Path) -> Option<DataFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(DataFormat::Csv),
            "tsv" | "tab" => Some(DataFormat::Tsv),
            "jsonl" | "ndjson" | "json" => Some(DataFormat::Jsonl),
            _ => None,
        }
    }
}

/// Which columns to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSpec {
    /// Text columns, joined with a space.
    pub text: Vec<Column>,
    /// Label columns, one head each (may be empty for unlabeled data).
    pub labels: Vec<Column>,
    /// An id column passed through to predictions (read only when present, unless
    /// `id_required`).
    pub id: Option<Column>,
    /// The id column must exist.
    pub id_required: bool,
    /// A group column (e.g. the article), for grouped splits. Required when set.
    pub group: Option<Column>,
    /// Whether a CSV file starts with a header row.
    pub has_header: bool,
    /// Format; `None` guesses from the file extension.
    pub format: Option<DataFormat>,
}

impl Default for DataSpec {
    fn default() -> Self {
        DataSpec {
            text: vec![Column::Name("text".into())],
            labels: vec![Column::Name("topic".into()), Column::Name("stance".into())],
            id: None,
            id_required: false,
            group: None,
            has_header: true,
            format: None,
        }
    }
}

/// Labeled (or unlabeled) texts in memory: the input of [`crate::Pipeline::fit`],
/// [`crate::Pipeline::evaluate`] and cross-validation.
///
/// Build one from your own data, checked as it grows:
///
/// ```
/// use newsclass::Dataset;
///
/// let data = Dataset::new(["Troops shelled the town.", "Envoys signed a truce."])?
///     .with_head("topic", ["security", "diplomacy"])?
///     .with_groups(["article-1", "article-2"])?;
/// assert_eq!(data.len(), 2);
/// assert_eq!(data.head("topic").unwrap()[1], "diplomacy");
/// # Ok::<(), newsclass::Error>(())
/// ```
///
/// The readers ([`read_path`], [`read_bytes`]) attach a [`Provenance`] (file, line numbers, ids)
/// that messages and outputs use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    texts: Vec<String>,
    head_names: Vec<String>,
    /// `labels[head][row]`.
    labels: Vec<Vec<String>>,
    groups: Option<Vec<String>>,
    provenance: Option<Provenance>,
}

/// Where the rows of a [`Dataset`] came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The file the rows came from (`-` for standard input).
    pub path: PathBuf,
    /// 1-based line where each row starts.
    pub lines: Vec<u64>,
    /// Ids, when the spec names an id column and the file has it.
    pub ids: Option<Vec<String>>,
}

fn collect_strings<S: Into<String>>(values: impl IntoIterator<Item = S>) -> Vec<String> {
    values.into_iter().map(Into::into).collect()
}

impl Dataset {
    /// A dataset of texts, without labels yet.
    ///
    /// # Errors
    /// [`Error::NoRows`] when `texts` is empty.
    pub fn new<S: Into<String>>(texts: impl IntoIterator<Item = S>) -> Result<Dataset> {
        let texts = collect_strings(texts);
        if texts.is_empty() {
            return Err(Error::NoRows);
        }
        Ok(Dataset {
            texts,
            ..Default::default()
        })
    }

    /// Add a label column: one head of the model, with one label per text.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the number of labels differs from the number of texts,
    /// [`Error::DuplicateHead`] for a name already used, [`Error::InvalidParam`] for an empty
    /// name or an empty label.
    pub fn with_head<S: Into<String>>(
        mut self,
        name: impl Into<String>,
        labels: impl IntoIterator<Item = S>,
    ) -> Result<Dataset> {
        let name = name.into();
        let labels = collect_strings(labels);
        if name.is_empty() {
            return Err(Error::param("head", "\"\"", "a head needs a name"));
        }
        if self.head_names.contains(&name) {
            return Err(Error::DuplicateHead { head: name });
        }
        if labels.len() != self.texts.len() {
            return Err(Error::LengthMismatch {
                what: format!("labels of head \"{name}\""),
                expected: self.texts.len(),
                found: labels.len(),
            });
        }
        if let Some(row) = labels.iter().position(String::is_empty) {
            return Err(Error::param(
                "labels",
                format!("row {row} of head \"{name}\""),
                "every label must be a non-empty string",
            ));
        }
        self.head_names.push(name);
        self.labels.push(labels);
        Ok(self)
    }

    /// Add a group per text (e.g. the article or conflict a sentence belongs to): grouped splits
    /// and cross-validation keep each group on one side.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the number of groups differs from the number of texts.
    pub fn with_groups<S: Into<String>>(
        mut self,
        groups: impl IntoIterator<Item = S>,
    ) -> Result<Dataset> {
        let groups = collect_strings(groups);
        if groups.len() != self.texts.len() {
            return Err(Error::LengthMismatch {
                what: "groups".into(),
                expected: self.texts.len(),
                found: groups.len(),
            });
        }
        self.groups = Some(groups);
        Ok(self)
    }

    /// Attach where the rows came from.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the line numbers or ids do not match the texts.
    pub fn with_provenance(mut self, provenance: Provenance) -> Result<Dataset> {
        if provenance.lines.len() != self.texts.len() {
            return Err(Error::LengthMismatch {
                what: "line numbers".into(),
                expected: self.texts.len(),
                found: provenance.lines.len(),
            });
        }
        if let Some(ids) = &provenance.ids {
            if ids.len() != self.texts.len() {
                return Err(Error::LengthMismatch {
                    what: "ids".into(),
                    expected: self.texts.len(),
                    found: ids.len(),
                });
            }
        }
        self.provenance = Some(provenance);
        Ok(self)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// The texts, in row order.
    pub fn texts(&self) -> &[String] {
        &self.texts
    }

    /// The names of the label columns (heads), in order.
    pub fn head_names(&self) -> &[String] {
        &self.head_names
    }

    /// The labels of head `name`, one per row.
    pub fn head(&self, name: &str) -> Option<&[String]> {
        let i = self.head_names.iter().position(|h| h == name)?;
        Some(&self.labels[i])
    }

    /// Every head with its labels, in order.
    pub fn heads(&self) -> impl ExactSizeIterator<Item = (&str, &[String])> {
        self.head_names
            .iter()
            .zip(&self.labels)
            .map(|(n, l)| (n.as_str(), l.as_slice()))
    }

    /// The groups, when set.
    pub fn groups(&self) -> Option<&[String]> {
        self.groups.as_deref()
    }

    /// Where the rows came from, for data read from a file.
    pub fn provenance(&self) -> Option<&Provenance> {
        self.provenance.as_ref()
    }

    /// The ids of the rows, when the file had an id column.
    pub fn ids(&self) -> Option<&[String]> {
        self.provenance.as_ref()?.ids.as_deref()
    }

    /// A new dataset holding rows `rows` (in that order).
    ///
    /// # Panics
    /// If a row index is out of range.
    pub fn select(&self, rows: &[usize]) -> Dataset {
        let pick = |v: &[String]| rows.iter().map(|&r| v[r].clone()).collect::<Vec<_>>();
        Dataset {
            texts: pick(&self.texts),
            head_names: self.head_names.clone(),
            labels: self.labels.iter().map(|h| pick(h)).collect(),
            groups: self.groups.as_deref().map(pick),
            provenance: self.provenance.as_ref().map(|p| Provenance {
                path: p.path.clone(),
                lines: rows.iter().map(|&r| p.lines[r]).collect(),
                ids: p.ids.as_deref().map(pick),
            }),
        }
    }

    /// SHA-256 over head names, texts and labels (length-prefixed, in row order): the identity of
    /// the training data recorded in a model.
    pub fn sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut put = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        for name in &self.head_names {
            put(name);
        }
        for (r, text) in self.texts.iter().enumerate() {
            put(text);
            for head in &self.labels {
                put(&head[r]);
            }
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Rows as the readers collect them, before they become a [`Dataset`].
#[derive(Default)]
struct Rows {
    texts: Vec<String>,
    lines: Vec<u64>,
    head_names: Vec<String>,
    labels: Vec<Vec<String>>,
    ids: Option<Vec<String>>,
    groups: Option<Vec<String>>,
}

impl Rows {
    fn len(&self) -> usize {
        self.texts.len()
    }

    fn into_dataset(self, path: &Path) -> Dataset {
        Dataset {
            texts: self.texts,
            head_names: self.head_names,
            labels: self.labels,
            groups: self.groups,
            provenance: Some(Provenance {
                path: path.to_path_buf(),
                lines: self.lines,
                ids: self.ids,
            }),
        }
    }
}

/// Read a data file (`-` reads standard input; its format must then be given).
///
/// # Errors
/// I/O errors, an unknown format, missing columns, empty texts, missing labels, malformed
/// records: each names the file, and the line and column where it applies.
pub fn read_path(path: &Path, spec: &DataSpec) -> Result<Dataset> {
    let stdin = path.as_os_str() == "-";
    let format = match spec
        .format
        .or_else(|| DataFormat::from_path(path))
        .or(stdin.then_some(DataFormat::Csv))
    {
        Some(f) => f,
        None => return Err(Error::DataFile {
            path: path.to_path_buf(),
            reason:
                "unknown data format: use a .csv or .jsonl file name, or give the format explicitly"
                    .into(),
        }),
    };
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(path).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
        })?;
    }
    read_bytes(path, &bytes, format, spec)
}

/// Parse data already in memory. `path` is used in messages only.
///
/// # Errors
/// As [`read_path`].
pub fn read_bytes(
    path: &Path,
    bytes: &[u8],
    format: DataFormat,
    spec: &DataSpec,
) -> Result<Dataset> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if spec.text.is_empty() {
        return Err(Error::param(
            "text_column",
            "",
            "name at least one text column",
        ));
    }
    let heads: Vec<String> = spec.labels.iter().map(Column::head_name).collect();
    if let Some((_, dup)) = heads
        .iter()
        .enumerate()
        .find(|(i, h)| heads[..*i].contains(h))
    {
        return Err(Error::param(
            "label_columns",
            dup,
            "names the same column twice; list each label column once",
        ));
    }
    let mut reader = RowReader {
        path: path.to_path_buf(),
        jsonl: format == DataFormat::Jsonl,
        spec,
        out: Rows {
            head_names: spec.labels.iter().map(Column::head_name).collect(),
            labels: vec![Vec::new(); spec.labels.len()],
            ..Default::default()
        },
    };
    match format {
        DataFormat::Csv => reader.read_csv(bytes, b',')?,
        DataFormat::Tsv => reader.read_csv(bytes, b'\t')?,
        DataFormat::Jsonl => reader.read_jsonl(bytes)?,
    }
    if reader.out.len() == 0 {
        return Err(Error::DataFile {
            path: path.to_path_buf(),
            reason: "no data rows".into(),
        });
    }
    Ok(reader.out.into_dataset(path))
}

struct RowReader<'a> {
    path: PathBuf,
    /// JSONL names fields, CSV names columns (for messages).
    jsonl: bool,
    spec: &'a DataSpec,
    out: Rows,
}

/// Maps byte offsets to 1-based line numbers, for offsets visited in increasing order.
///
/// The csv crate reports a record's position as where the reader stood after the previous
/// record, which may be before that record's line terminator or before blank lines; the true
/// start is found by skipping line-end bytes first.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    fn line_of(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        self.line += self.bytes[self.offset..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.offset = start;
        self.line
    }
}

/// Where each requested column sits in a CSV record.
struct Positions {
    text: Vec<usize>,
    labels: Vec<usize>,
    id: Option<usize>,
    group: Option<usize>,
}

impl RowReader<'_> {
    fn data_err(&self, line: u64, field: impl ToString, reason: impl Into<String>) -> Error {
        Error::Data {
            path: self.path.clone(),
            line,
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    fn resolve(
        &self,
        header: Option<&csv::StringRecord>,
        col: &Column,
        required: bool,
    ) -> Result<Option<usize>> {
        match (col, header) {
            (Column::Number(n), _) => match n.checked_sub(1) {
                Some(i) => Ok(Some(i)),
                None => Err(Error::param(
                    "column",
                    n,
                    "columns are 1-based numbers such as 2,3",
                )),
            },
            (Column::Name(name), Some(h)) => match h.iter().position(|f| f.trim() == name) {
                Some(i) => Ok(Some(i)),
                None if !required => Ok(None),
                None => Err(Error::UnknownColumn {
                    path: self.path.clone(),
                    column: name.clone(),
                    available: h.iter().map(str::to_string).collect(),
                }),
            },
            (Column::Name(name), None) => Err(Error::param(
                "text_column",
                name,
                "without a header, columns are 1-based numbers such as 2,3",
            )),
        }
    }

    fn read_csv(&mut self, bytes: &[u8], delimiter: u8) -> Result<()> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(bytes);
        let mut records = rdr.records();
        let header = if self.spec.has_header {
            match records.next() {
                Some(r) => Some(r.map_err(|e| self.csv_err(&e, &mut LineCounter::new(bytes)))?),
                None => {
                    return Err(Error::DataFile {
                        path: self.path.clone(),
                        reason: "empty file: expected a header row".into(),
                    })
                }
            }
        } else {
            None
        };
        let spec = self.spec;
        let pos = Positions {
            text: spec
                .text
                .iter()
                .map(|c| {
                    self.resolve(header.as_ref(), c, true)
                        .map(|p| p.unwrap_or(0))
                })
                .collect::<Result<_>>()?,
            labels: spec
                .labels
                .iter()
                .map(|c| {
                    self.resolve(header.as_ref(), c, true)
                        .map(|p| p.unwrap_or(0))
                })
                .collect::<Result<_>>()?,
            id: match &spec.id {
                Some(c) => self.resolve(header.as_ref(), c, spec.id_required)?,
                None => None,
            },
            group: match &spec.group {
                Some(c) => self.resolve(header.as_ref(), c, true)?,
                None => None,
            },
        };
        if pos.id.is_some() {
            self.out.ids = Some(Vec::new());
        }
        if pos.group.is_some() {
            self.out.groups = Some(Vec::new());
        }
        let mut lines = LineCounter::new(bytes);
        for rec in records {
            let rec = rec.map_err(|e| self.csv_err(&e, &mut LineCounter::new(bytes)))?;
            let line = lines.line_of(rec.position().map_or(0, |p| p.byte()));
            if rec.len() == 1 && rec.get(0).is_some_and(|f| f.trim().is_empty()) {
                continue; // a blank line
            }
            let field = |i: usize, col: &Column| -> Result<&str> {
                rec.get(i).ok_or_else(|| {
                    self.data_err(
                        line,
                        col,
                        format!(
                            "missing: the row has only {} field{}; check the quoting and the separator",
                            rec.len(),
                            if rec.len() == 1 { "" } else { "s" }
                        ),
                    )
                })
            };
            let mut text = String::new();
            for (&i, col) in pos.text.iter().zip(&spec.text) {
                let t = field(i, col)?.trim();
                // A quote that is never closed swallows the following records into one field:
                // a continuation line holding as many separators as a record is taken for that.
                let n_fields = header.as_ref().map_or(rec.len(), csv::StringRecord::len);
                if n_fields >= 2
                    && t.lines()
                        .skip(1)
                        .any(|l| l.bytes().filter(|&b| b == delimiter).count() + 1 >= n_fields)
                {
                    return Err(self.data_err(
                        line,
                        col,
                        "a quoted field opened on this line runs over the next lines, which look like records of their own: the quote is probably never closed; close it, or double quotes inside a field (\"\")",
                    ));
                }
                if !t.is_empty() {
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    text.push_str(t);
                }
            }
            let mut labels = Vec::with_capacity(pos.labels.len());
            for (&i, col) in pos.labels.iter().zip(&spec.labels) {
                labels.push(field(i, col)?.trim().to_string());
            }
            let id = match (pos.id, &spec.id) {
                (Some(i), Some(col)) => Some(field(i, col)?.to_string()),
                _ => None,
            };
            let group = match (pos.group, &spec.group) {
                (Some(i), Some(col)) => Some(field(i, col)?.to_string()),
                _ => None,
            };
            self.push(line, text, labels, id, group)?;
        }
        Ok(())
    }

    fn csv_err(&self, e: &csv::Error, lines: &mut LineCounter<'_>) -> Error {
        let line = lines.line_of(e.position().map_or(0, |p| p.byte()));
        match e.kind() {
            csv::ErrorKind::Utf8 { .. } => {
                self.data_err(line, "record", "not valid UTF-8; save the file as UTF-8")
            }
            _ => self.data_err(line, "record", format!("malformed CSV: {e}")),
        }
    }

    fn read_jsonl(&mut self, bytes: &[u8]) -> Result<()> {
        let spec = self.spec;
        let key = |flag: &'static str| {
            move |c: &Column| -> Result<String> {
                match c {
                    Column::Name(n) => Ok(n.clone()),
                    Column::Number(n) => Err(Error::param(
                        flag,
                        n,
                        "JSONL fields are named by key, not by number",
                    )),
                }
            }
        };
        let text_keys: Vec<String> = spec
            .text
            .iter()
            .map(key("text_column"))
            .collect::<Result<_>>()?;
        let label_keys: Vec<String> = spec
            .labels
            .iter()
            .map(key("label_columns"))
            .collect::<Result<_>>()?;
        let id_key = spec.id.as_ref().map(key("id_column")).transpose()?;
        let group_key = spec.group.as_ref().map(key("group_column")).transpose()?;
        if group_key.is_some() {
            self.out.groups = Some(Vec::new());
        }
        let mut ids_seen = false;
        for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let line = i as u64 + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let value: serde_json::Value = serde_json::from_slice(raw)
                .map_err(|e| self.data_err(line, "record", format!("not a JSON object: {e}")))?;
            let Some(obj) = value.as_object() else {
                return Err(self.data_err(line, "record", "expected a JSON object per line"));
            };
            let mut text = String::new();
            for k in &text_keys {
                match obj.get(k) {
                    Some(serde_json::Value::String(s)) => {
                        let s = s.trim();
                        if !s.is_empty() {
                            if !text.is_empty() {
                                text.push(' ');
                            }
                            text.push_str(s);
                        }
                    }
                    Some(serde_json::Value::Null) | None => {
                        return Err(self.data_err(
                            line,
                            format!("field \"{k}\""),
                            "missing; every record needs its text",
                        ))
                    }
                    Some(_) => {
                        return Err(self.data_err(
                            line,
                            format!("field \"{k}\""),
                            "text must be a JSON string",
                        ))
                    }
                }
            }
            let mut labels = Vec::with_capacity(label_keys.len());
            for k in &label_keys {
                labels.push(match obj.get(k) {
                    Some(serde_json::Value::String(s)) => s.trim().to_string(),
                    Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
                        v.to_string()
                    }
                    Some(serde_json::Value::Null) | None => String::new(),
                    Some(_) => {
                        return Err(self.data_err(
                            line,
                            format!("field \"{k}\""),
                            "a label must be a string, number or boolean",
                        ))
                    }
                });
            }
            let id = id_key.as_ref().and_then(|k| obj.get(k)).map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            });
            if id.is_some() && !ids_seen {
                ids_seen = true;
                self.out.ids = Some(vec![String::new(); self.out.len()]);
            }
            let id = if ids_seen {
                Some(id.unwrap_or_default())
            } else {
                None
            };
            let group = match &group_key {
                Some(k) => Some(match obj.get(k) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v) if !v.is_null() => v.to_string(),
                    _ => {
                        return Err(self.data_err(
                            line,
                            format!("field \"{k}\""),
                            "missing group value",
                        ))
                    }
                }),
                None => None,
            };
            self.push(line, text, labels, id, group)?;
        }
        Ok(())
    }

    fn push(
        &mut self,
        line: u64,
        text: String,
        labels: Vec<String>,
        id: Option<String>,
        group: Option<String>,
    ) -> Result<()> {
        if text.is_empty() {
            let cols: Vec<String> = self.spec.text.iter().map(ToString::to_string).collect();
            return Err(self.data_err(
                line,
                cols.join(" + "),
                "empty text; fill it in or remove the row",
            ));
        }
        for (h, label) in labels.iter().enumerate() {
            if label.contains(['\n', '\r']) {
                let col = self.spec.labels[h].to_string();
                return Err(self.data_err(
                    line,
                    col,
                    "the label spans several lines: a quote opened in this record is probably never closed; close it, or escape quotes inside a field by doubling them (\"\")",
                ));
            }
            if label.is_empty() {
                let col = self.spec.labels[h].to_string();
                let col = if self.jsonl {
                    col.replace("column ", "field ")
                } else {
                    col
                };
                return Err(self.data_err(
                    line,
                    col,
                    "missing label; every row needs one label per head (or drop the head from the label columns)",
                ));
            }
        }
        self.out.texts.push(text);
        self.out.lines.push(line);
        for (h, label) in labels.into_iter().enumerate() {
            self.out.labels[h].push(label);
        }
        if let (Some(ids), Some(id)) = (self.out.ids.as_mut(), id) {
            ids.push(id);
        }
        if let (Some(groups), Some(g)) = (self.out.groups.as_mut(), group) {
            groups.push(g);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DataSpec {
        DataSpec::default()
    }

    fn csv(s: &str) -> Result<Dataset> {
        read_bytes(Path::new("t.csv"), s.as_bytes(), DataFormat::Csv, &spec())
    }

    #[test]
    fn reads_csv_with_bom_crlf_and_quoted_newlines() {
        let d = csv("\u{feff}text,topic,stance\r\n\"A, b\nc\",security,neutral\r\nTalks resumed.,diplomacy,supportive\r\n").unwrap();
        assert_eq!(d.texts(), ["A, b\nc", "Talks resumed."]);
        assert_eq!(d.provenance().unwrap().lines, [2, 4]);
        assert_eq!(d.head_names(), ["topic", "stance"]);
        assert_eq!(d.head("stance").unwrap(), ["neutral", "supportive"]);
        let d = csv("text,topic,stance\n\n\nx,a,b\r\ny,a,b\n").unwrap();
        assert_eq!(d.provenance().unwrap().lines, [4, 5]);
    }

    #[test]
    fn missing_column_names_the_header() {
        let e = csv("text,topic\nx,security\n").unwrap_err().to_string();
        assert!(e.contains("t.csv:1") && e.contains("\"stance\""), "{e}");
    }

    #[test]
    fn empty_text_and_missing_label_name_the_line() {
        let e = csv("text,topic,stance\nok,security,neutral\n  ,security,neutral\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.csv:3:"), "{e}");
        let e = csv("text,topic,stance\nok,security,\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.csv:2: column \"stance\""), "{e}");
        let e = csv("text,topic,stance\nok,security\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv:2") && e.contains("only 2 fields"), "{e}");
    }

    #[test]
    fn no_header_joins_numbered_text_columns() {
        let s = DataSpec {
            text: Column::parse_list("text_column", "2,3", false).unwrap(),
            labels: Column::parse_list("label_columns", "1", false).unwrap(),
            has_header: false,
            ..spec()
        };
        let d = read_bytes(
            Path::new("ag.csv"),
            b"\"3\",\"Title\",\"Body text\"\n",
            DataFormat::Csv,
            &s,
        )
        .unwrap();
        assert_eq!(d.texts(), ["Title Body text"]);
        assert_eq!(d.head_names(), ["col1"]);
        assert_eq!(d.head("col1").unwrap(), ["3"]);
        assert!(Column::parse_list("text_column", "text", false).is_err());
    }

    #[test]
    fn reads_jsonl_with_numeric_labels_and_ids() {
        let s = DataSpec {
            labels: vec![Column::Name("label".into())],
            id: Some(Column::Name("id".into())),
            ..spec()
        };
        let d = read_bytes(
            Path::new("x.jsonl"),
            b"{\"id\": 7, \"text\": \"a\", \"label\": 2}\n\n{\"id\": \"b\", \"text\": \"b\", \"label\": \"x\"}\n",
            DataFormat::Jsonl,
            &s,
        )
        .unwrap();
        assert_eq!(d.head("label").unwrap(), ["2", "x"]);
        assert_eq!(d.ids().unwrap(), ["7", "b"]);
        let e = read_bytes(
            Path::new("x.jsonl"),
            b"{\"text\": 1}\n",
            DataFormat::Jsonl,
            &s,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("x.jsonl:1: field \"text\""),
            "{e}"
        );
        let e = read_bytes(
            Path::new("x.jsonl"),
            b"{\"text\":\"a\",\"label\":1}\n{oops\n",
            DataFormat::Jsonl,
            &s,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("x.jsonl:2: record"), "{e}");
    }

    #[test]
    fn invalid_utf8_is_reported_with_line() {
        let e = read_bytes(
            Path::new("b.csv"),
            b"text,topic,stance\nok,a,b\n\xff\xfe,a,b\n",
            DataFormat::Csv,
            &spec(),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("b.csv:3") && e.to_string().contains("UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn an_unclosed_quote_is_reported_at_its_line() {
        let mut body = String::from("text,topic,stance\n");
        for i in 0..20 {
            body.push_str(&format!("row {i},security,neutral\n"));
        }
        body.push_str("\"troops fired shells at the town,security,neutral\n");
        for i in 0..10 {
            body.push_str(&format!("later row {i},diplomacy,critical\n"));
        }
        body.push_str("a \"quoted\" word,security,neutral\n");
        let e = csv(&body).unwrap_err().to_string();
        assert!(e.starts_with("t.csv:22: column \"text\""), "{e}");
        assert!(e.contains("never closed"), "{e}");
        // A label that spans lines is refused too.
        let e = csv("text,topic,stance\nok,\"security\nx\",neutral\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.csv:2: column \"topic\""), "{e}");
        // Quoted newlines inside a text are fine.
        assert!(csv("text,topic,stance\n\"two\nlines\",a,b\n").is_ok());
    }

    #[test]
    fn reads_tsv() {
        let d = read_bytes(
            Path::new("e.tsv"),
            b"text\ttopic\tstance\nA, b\tsecurity\tneutral\n",
            DataFormat::Tsv,
            &spec(),
        )
        .unwrap();
        assert_eq!(d.texts(), ["A, b"]);
        assert_eq!(
            DataFormat::from_path(Path::new("x.TSV")),
            Some(DataFormat::Tsv)
        );
    }

    #[test]
    fn in_memory_datasets_check_lengths_and_names() {
        let d = Dataset::new(["a", "b"]).unwrap();
        assert!(matches!(
            d.clone().with_head("topic", ["x"]),
            Err(Error::LengthMismatch {
                expected: 2,
                found: 1,
                ..
            })
        ));
        let d = d.with_head("topic", ["x", "y"]).unwrap();
        assert!(matches!(
            d.clone().with_head("topic", ["x", "y"]),
            Err(Error::DuplicateHead { .. })
        ));
        assert!(d.clone().with_head("stance", ["x", ""]).is_err());
        assert!(d.clone().with_groups(["g"]).is_err());
        assert!(matches!(
            Dataset::new(Vec::<String>::new()),
            Err(Error::NoRows)
        ));
        let picked = d.with_groups(["g1", "g2"]).unwrap().select(&[1]);
        assert_eq!(picked.texts(), ["b"]);
        assert_eq!(picked.groups().unwrap(), ["g2"]);
    }

    #[test]
    fn sha256_depends_on_labels() {
        let a = Dataset::new(["a", "b"])
            .unwrap()
            .with_head("t", ["x", "y"])
            .unwrap();
        let b = Dataset::new(["a", "b"])
            .unwrap()
            .with_head("t", ["x", "x"])
            .unwrap();
        assert_ne!(a.sha256(), b.sha256());
        assert_eq!(a.sha256(), a.clone().sha256());
    }

    #[test]
    fn column_number_zero_is_an_error_not_a_panic() {
        // Found by fuzz/readers: `Column::Number(0)` (the fields of a DataSpec are public)
        // underflowed `n - 1`, a panic in debug builds.
        let s = DataSpec {
            text: vec![Column::Number(1)],
            labels: vec![],
            id: Some(Column::Number(0)),
            has_header: false,
            ..spec()
        };
        let e = read_bytes(Path::new("z.csv"), b"*\n", DataFormat::Csv, &s).unwrap_err();
        assert!(
            matches!(e, Error::InvalidParam { name: "column", .. }),
            "{e}"
        );
    }

    #[test]
    fn unknown_extension_is_an_error() {
        let e = read_path(Path::new("data.txt"), &spec()).unwrap_err();
        assert!(e.to_string().contains("unknown data format"));
    }
}

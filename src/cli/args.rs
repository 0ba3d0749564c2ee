//! Flags shared by several subcommands, and turning them into library types.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::ValueEnum;
use newsclass::data::{Column, DataFormat, DataSpec, Dataset};
use newsclass::features::chars::{Analyzer, CharParams};
use newsclass::features::tfidf::Norm;
use newsclass::features::vocabulary::DocFreq;
use newsclass::model::logistic::ClassWeight;
use newsclass::{Pipeline, PipelineParams, ValidPipelineParams};

/// A usage problem found after parsing (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Shorthand for a usage error.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// Which columns of a data file to read.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// Text column(s); several are joined with a space. Names, or 1-based numbers with --no-header.
    #[arg(long, value_name = "COLS", default_value = "text")]
    pub text_column: String,
    /// Label column(s), one model head each. Names, or 1-based numbers with --no-header.
    #[arg(long, value_name = "COLS", default_value = "topic,stance")]
    pub label_columns: String,
    /// The CSV file has no header row; columns are numbered from 1.
    #[arg(long)]
    pub no_header: bool,
    /// Format of the data file (default: from its extension; CSV for - on standard input).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub data_format: Option<DataFormatArg>,
}

/// `--data-format`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DataFormatArg {
    /// Comma-separated values.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// One JSON object per line.
    Jsonl,
}

impl From<DataFormatArg> for DataFormat {
    fn from(f: DataFormatArg) -> DataFormat {
        match f {
            DataFormatArg::Csv => DataFormat::Csv,
            DataFormatArg::Tsv => DataFormat::Tsv,
            DataFormatArg::Jsonl => DataFormat::Jsonl,
        }
    }
}

impl DataArgs {
    pub fn spec(&self, with_labels: bool) -> anyhow::Result<DataSpec> {
        let has_header = !self.no_header;
        Ok(DataSpec {
            text: Column::parse_list("text_column", &self.text_column, has_header)?,
            labels: if with_labels {
                Column::parse_list("label_columns", &self.label_columns, has_header)?
            } else {
                Vec::new()
            },
            has_header,
            format: self.data_format.map(DataFormat::from),
            ..DataSpec::default()
        })
    }
}

/// Read a labeled data file.
pub fn read_data(path: &Path, spec: &DataSpec) -> anyhow::Result<Dataset> {
    Ok(newsclass::data::read_path(path, spec)?)
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum NormArg {
    L2,
    L1,
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ClassWeightArg {
    None,
    Balanced,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum AnalyzerArg {
    Word,
    Char,
    #[value(name = "char_wb")]
    CharWb,
}

impl From<AnalyzerArg> for Analyzer {
    fn from(a: AnalyzerArg) -> Analyzer {
        match a {
            AnalyzerArg::Word => Analyzer::Word,
            AnalyzerArg::Char => Analyzer::Char,
            AnalyzerArg::CharWb => Analyzer::CharWb,
        }
    }
}

/// Parse `MIN,MAX` for `--ngram-range`.
pub fn parse_ngram_range(s: &str) -> anyhow::Result<(usize, usize)> {
    parse_range("ngram-range", "1,2", s)
}

/// Parse `MIN,MAX` or `none` for `--char-ngram-range`.
pub fn parse_char_ngram_range(s: &str) -> anyhow::Result<Option<(usize, usize)>> {
    if s.trim() == "none" {
        return Ok(None);
    }
    parse_range("char-ngram-range", "2,5 (or none)", s).map(Some)
}

/// Parse `MIN,MAX` for `--FLAG`.
fn parse_range(flag: &str, example: &str, s: &str) -> anyhow::Result<(usize, usize)> {
    let bad = || {
        usage(format!(
            "invalid value '{s}' for '--{flag}': expected MIN,MAX such as {example}"
        ))
    };
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    let a = a.trim().parse().map_err(|_| bad())?;
    let b = b.trim().parse().map_err(|_| bad())?;
    Ok((a, b))
}

/// Every model option of `train` (and the fixed options of `cv`).
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// Do not lowercase text before tokenizing.
    #[arg(long, help_heading = "Tokenizer")]
    pub no_lowercase: bool,
    /// Remove accents (NFKD + strip combining marks) instead of NFKC normalization.
    #[arg(long, help_heading = "Tokenizer")]
    pub strip_accents: bool,
    /// Keep punctuation tokens as features.
    #[arg(long, help_heading = "Tokenizer")]
    pub keep_punctuation: bool,
    /// Drop terms in more documents than this: a count (500) or a fraction (0.95).
    #[arg(
        long,
        value_name = "N|F",
        default_value = "1.0",
        allow_negative_numbers = true,
        help_heading = "Features"
    )]
    pub max_df: String,
    /// Keep only the N most frequent terms.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Features"
    )]
    pub max_features: Option<usize>,
    /// Character n-grams of --char-ngram-range: drop those in fewer documents than this
    /// (default: as --min-df).
    #[arg(
        long,
        value_name = "N|F",
        allow_negative_numbers = true,
        help_heading = "Character n-grams"
    )]
    pub char_min_df: Option<String>,
    /// Character n-grams of --char-ngram-range: drop those in more documents than this
    /// (default: as --max-df).
    #[arg(
        long,
        value_name = "N|F",
        allow_negative_numbers = true,
        help_heading = "Character n-grams"
    )]
    pub char_max_df: Option<String>,
    /// Character n-grams of --char-ngram-range: keep only the N most frequent.
    #[arg(long, value_name = "N", help_heading = "Character n-grams")]
    pub char_max_features: Option<usize>,
    /// Do not smooth idf (ln(n/df) + 1 instead of ln((1+n)/(1+df)) + 1).
    #[arg(long, help_heading = "Features")]
    pub no_smooth_idf: bool,
    /// Row normalization.
    #[arg(long, value_enum, default_value = "l2", help_heading = "Features")]
    pub norm: NormArg,
    /// Maximum solver iterations per head.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        allow_negative_numbers = true,
        help_heading = "Solver"
    )]
    pub max_iter: usize,
    /// Stopping tolerance on the largest gradient component (scikit-learn's tol).
    #[arg(
        long,
        value_name = "F",
        default_value_t = 1e-4,
        allow_negative_numbers = true,
        help_heading = "Solver"
    )]
    pub tol: f64,
    /// Weigh classes equally (n / (classes * class count)) or not.
    #[arg(long, value_enum, default_value = "none", help_heading = "Solver")]
    pub class_weight: ClassWeightArg,
    /// Seed for validation splits and folds (recorded in the model).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 42,
        allow_negative_numbers = true
    )]
    pub seed: u64,
    /// Refuse a label column with more classes than this (default: 1,000, and no more than half
    /// the rows once that is above 10): more usually means the wrong column or a quoting error.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_classes: Option<usize>,
}

impl ModelArgs {
    /// True when a `--char-*` option is given (they need `--char-ngram-range`).
    pub fn has_char_options(&self) -> bool {
        self.char_min_df.is_some() || self.char_max_df.is_some() || self.char_max_features.is_some()
    }

    /// The character block's own options (`--char-min-df`, ...), if any is given.
    fn char_template(&self) -> anyhow::Result<Option<CharParams>> {
        if !self.has_char_options() {
            return Ok(None);
        }
        let mut c = CharParams::default().max_features(self.char_max_features);
        if let Some(m) = &self.char_min_df {
            c = c.min_df(DocFreq::parse("char_min_df", m)?);
        }
        if let Some(m) = &self.char_max_df {
            c = c.max_df(DocFreq::parse("char_max_df", m)?);
        }
        Ok(Some(c))
    }

    /// The parameters these flags set, before the grid-able values are applied.
    pub fn base(&self, min_df: &str) -> anyhow::Result<PipelineParams> {
        Ok(PipelineParams::default()
            .char_ngrams(self.char_template()?)
            .lowercase(!self.no_lowercase)
            .strip_accents(self.strip_accents)
            .keep_punctuation(self.keep_punctuation)
            .min_df(DocFreq::parse("min_df", min_df)?)
            .max_df(DocFreq::parse("max_df", &self.max_df)?)
            .max_features(self.max_features)
            .smooth_idf(!self.no_smooth_idf)
            .norm(match self.norm {
                NormArg::L2 => Norm::L2,
                NormArg::L1 => Norm::L1,
                NormArg::None => Norm::None,
            })
            .max_iter(self.max_iter)
            .tol(self.tol)
            .class_weight(match self.class_weight {
                ClassWeightArg::None => ClassWeight::None,
                ClassWeightArg::Balanced => ClassWeight::Balanced,
            })
            .seed(self.seed)
            .max_classes(self.max_classes))
    }

    /// Build checked pipeline parameters with the grid-able values given explicitly.
    pub fn params(
        &self,
        ngram_range: (usize, usize),
        min_df: &str,
        sublinear_tf: bool,
        c: f64,
        analyzer: Analyzer,
        char_ngram_range: Option<(usize, usize)>,
    ) -> anyhow::Result<ValidPipelineParams> {
        if char_ngram_range.is_none() && self.has_char_options() {
            return Err(usage(
                "--char-min-df, --char-max-df and --char-max-features apply to the character n-grams of --char-ngram-range; add --char-ngram-range MIN,MAX",
            ));
        }
        Ok(self
            .base(min_df)?
            .features(analyzer, char_ngram_range)
            .ngram_range(ngram_range.0, ngram_range.1)
            .sublinear_tf(sublinear_tf)
            .c(c)
            .check()?)
    }
}

/// The default model's bytes (TF-IDF + sentence encoder), when one was embedded at build time.
#[cfg(newsclass_default_model)]
pub const DEFAULT_MODEL: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/default.newsclass"
)));
/// The default model's bytes (TF-IDF + sentence encoder), when one was embedded at build time.
#[cfg(not(newsclass_default_model))]
pub const DEFAULT_MODEL: Option<&[u8]> = None;

/// The fast model's bytes (TF-IDF only), when one was embedded at build time.
#[cfg(newsclass_fast_model)]
pub const FAST_MODEL: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/fast.newsclass"
)));
/// The fast model's bytes (TF-IDF only), when one was embedded at build time.
#[cfg(not(newsclass_fast_model))]
pub const FAST_MODEL: Option<&[u8]> = None;

/// The models built into the binary, by the name `--model` takes.
pub const BUILTIN_MODELS: [(&str, Option<&[u8]>); 2] =
    [("default", DEFAULT_MODEL), ("fast", FAST_MODEL)];

/// Where `--model` reads a model from.
#[derive(Debug, Clone, Copy)]
pub enum ModelSource<'a> {
    /// A model file.
    File(&'a Path),
    /// A model built into the binary: its name and bytes.
    Builtin(&'static str, &'static [u8]),
}

impl std::fmt::Display for ModelSource<'_> {
    /// How messages name the model: its path, or `the built-in fast model`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelSource::File(p) => write!(f, "{}", p.display()),
            ModelSource::Builtin(name, _) => write!(f, "the built-in {name} model"),
        }
    }
}

impl ModelSource<'_> {
    /// How pages name the model: `model PATH`, or `the built-in fast model`; `prefix` comes
    /// before a path (`model `, `the model `).
    pub fn label(&self, prefix: &str) -> String {
        match self {
            ModelSource::File(_) => format!("{prefix}{self}"),
            builtin => builtin.to_string(),
        }
    }
}

/// Resolves `--model`: no value is the built-in `default` model; a path that exists is a model
/// file; otherwise `default` and `fast` name the built-in models; anything else is a file
/// (whose loading then says that it does not exist).
pub fn model_source(path: Option<&PathBuf>) -> anyhow::Result<ModelSource<'_>> {
    let wanted: &std::ffi::OsStr = match path {
        Some(p) if p.exists() => return Ok(ModelSource::File(p)),
        Some(p) => p.as_os_str(),
        None => "default".as_ref(),
    };
    let Some(&(name, bytes)) = BUILTIN_MODELS.iter().find(|(n, _)| wanted == *n) else {
        return Ok(ModelSource::File(
            path.expect("`default` is a built-in name"),
        ));
    };
    match bytes {
        Some(bytes) => Ok(ModelSource::Builtin(name, bytes)),
        None => Err(usage(format!(
            "this build has no built-in {name} model (models/{name}.newsclass was missing at build time); pass --model FILE or rebuild after training it"
        ))),
    }
}

/// Load `--model`: a file, or a built-in model (`default` when `--model` is not given).
pub fn load_model(path: Option<&PathBuf>) -> anyhow::Result<Pipeline> {
    let source = model_source(path)?;
    let model = match source {
        ModelSource::File(p) => Pipeline::load(p),
        ModelSource::Builtin(_, bytes) => Pipeline::from_bytes(bytes),
    };
    model.with_context(|| format!("loading model {source}"))
}

/// Load `--model` (or a built-in model) with the sentence encoder of `--encoder DIR`, when
/// given: needed for a model that records only its encoder's identity.
#[cfg(feature = "encoder")]
pub fn load_model_with(
    path: Option<&PathBuf>,
    encoder: Option<&PathBuf>,
) -> anyhow::Result<Pipeline> {
    let Some(dir) = encoder else {
        return load_model(path);
    };
    let encoder = std::sync::Arc::new(load_encoder(dir)?);
    let source = model_source(path)?;
    let model = match source {
        ModelSource::File(p) => Pipeline::load_with_encoder(p, Some(&encoder)),
        ModelSource::Builtin(_, bytes) => Pipeline::from_bytes_with_encoder(bytes, Some(&encoder)),
    };
    model.with_context(|| format!("loading model {source}"))
}

/// `--encoder-embed`: which copy of the sentence encoder a model file carries.
#[cfg(feature = "encoder")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmbedArg {
    /// The weights in f32 (self-contained, largest).
    F32,
    /// The weights rounded to f16 (self-contained, half the size; the model is fitted with
    /// the rounded encoder).
    F16,
    /// The dense layers' and word embeddings' weights quantized to int8 with a scale per row
    /// (self-contained, about a quarter of f32; computes in integer arithmetic; the model is
    /// fitted with the int8 encoder).
    Int8,
    /// Only the encoder's identity: predicting needs --encoder DIR.
    None,
}

#[cfg(feature = "encoder")]
impl From<EmbedArg> for newsclass::encoder::EncoderStorage {
    fn from(a: EmbedArg) -> Self {
        match a {
            EmbedArg::F32 => Self::F32,
            EmbedArg::F16 => Self::F16,
            EmbedArg::Int8 => Self::Int8,
            EmbedArg::None => Self::None,
        }
    }
}

/// Load the sentence encoder of `--encoder DIR`.
#[cfg(feature = "encoder")]
pub fn load_encoder(dir: &Path) -> anyhow::Result<newsclass::encoder::Encoder> {
    newsclass::encoder::Encoder::load(dir)
        .with_context(|| format!("loading the sentence encoder {}", dir.display()))
}

/// Where `train` and `cv` keep the encoder's embeddings between runs.
#[cfg(feature = "encoder")]
#[derive(Debug, Clone, clap::Args)]
pub struct CacheArgs {
    /// Directory of the embedding cache: each text is embedded once per encoder, across runs
    /// (default: $NEWSCLASS_CACHE/embeddings, else $XDG_CACHE_HOME/newsclass/embeddings, else
    /// ~/.cache/newsclass/embeddings).
    #[arg(long, value_name = "DIR", help_heading = "Sentence encoder")]
    pub embedding_cache: Option<PathBuf>,
    /// Embed every text afresh and keep nothing on disk.
    #[arg(
        long,
        conflicts_with = "embedding_cache",
        help_heading = "Sentence encoder"
    )]
    pub no_embedding_cache: bool,
}

/// `load_encoder` with the embedding cache `--embedding-cache` asks for (or the default one).
#[cfg(feature = "encoder")]
pub fn load_encoder_cached(
    dir: &Path,
    cache: &CacheArgs,
) -> anyhow::Result<newsclass::encoder::Encoder> {
    let encoder = load_encoder(dir)?;
    if cache.no_embedding_cache {
        return Ok(encoder);
    }
    let dir = cache
        .embedding_cache
        .clone()
        .or_else(newsclass::encoder::EmbeddingCache::default_dir);
    Ok(match dir {
        Some(d) => encoder.with_cache(std::sync::Arc::new(
            newsclass::encoder::EmbeddingCache::new(d),
        )),
        None => encoder,
    })
}

/// Prints what the embedding cache did (hits, embedded texts, damage, errors) on stderr.
#[cfg(feature = "encoder")]
pub fn report_cache(encoder: &newsclass::encoder::Encoder, quiet: bool) {
    let Some(cache) = encoder.cache() else { return };
    let stats = cache.stats();
    for what in &stats.damaged {
        eprintln!("warning: damaged embedding cache {what}; rewrote it with its valid records");
    }
    for e in &stats.errors {
        eprintln!("warning: {e}; the embeddings were computed without it");
    }
    if !quiet {
        eprintln!(
            "embedding cache {}: {} texts found, {} embedded",
            cache.dir().display(),
            stats.hits,
            stats.misses
        );
    }
}

/// Format an optional ratio for text output (`-` when undefined, as fastText's meter).
pub fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.4}"))
}

/// Refuse an output path that cannot be written, before any work is done: a directory, a folder
/// that does not exist, or one this user cannot create files in. `flag` names the option
/// (`--model`, `--output`).
pub fn check_output_target(flag: &str, path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        return Err(usage(format!(
            "{flag} {} is a directory; give a file name",
            path.display()
        )));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(usage(format!(
            "{flag} {}: the folder {} does not exist; create it first",
            path.display(),
            dir.display()
        )));
    }
    let probe = dir.join(format!(".newsclass-write-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(usage(format!(
            "{flag} {}: cannot create files in {} ({e}); choose a writable folder",
            path.display(),
            dir.display()
        ))),
    }
}

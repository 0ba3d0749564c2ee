//! The crate's error type: one `thiserror` enum whose variants carry the offending values, so that
//! callers can match on what went wrong and front ends can word it for their users.
//!
//! Every variant is something a user can trigger (a bad parameter, a malformed data file, a model
//! file from another version). Display text is lowercase, names the parameter or field by its
//! library name (`min_df`, not a command-line flag) and says how to fix it; the `newsclass` CLI
//! rewords parameter names as its flags.

use std::path::PathBuf;

use crate::features::vocabulary::DocFreq;

/// Errors returned by the newsclass library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hyperparameter or option is out of its valid range.
    #[error("invalid value {value} for `{name}`: {reason}")]
    InvalidParam {
        /// The parameter's name (e.g. `min_df`).
        name: &'static str,
        /// The offending value as given.
        value: String,
        /// What the valid range is.
        reason: String,
    },
    /// A data file is malformed at a given line.
    #[error("{}:{line}: {field}: {reason}", path.display())]
    Data {
        /// The file (or `-` for standard input).
        path: PathBuf,
        /// 1-based line number where the record starts.
        line: u64,
        /// The column or field concerned.
        field: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A data file could not be used as a whole (unknown format, no rows, ...).
    #[error("{}: {reason}", path.display())]
    DataFile {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A named column is not in a data file's header.
    #[error("{}:1: column \"{column}\": no such column in the header (columns: {}); name an existing column", path.display(), available.join(", "))]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The columns the header has.
        available: Vec<String>,
    },
    /// In-memory data whose parts disagree in length.
    #[error("{what} has {found} values but the dataset has {expected} texts")]
    LengthMismatch {
        /// What was given (e.g. `labels of head "topic"`).
        what: String,
        /// Number of texts.
        expected: usize,
        /// Number of values given.
        found: usize,
    },
    /// A head name given twice.
    #[error("head \"{head}\" is given twice; each label column makes one head")]
    DuplicateHead {
        /// The repeated name.
        head: String,
    },
    /// Training data without any label column.
    #[error("no label columns: a model needs at least one head")]
    NoHeads,
    /// Training or evaluation data without rows.
    #[error("no data rows")]
    NoRows,
    /// A head whose training labels hold a single class.
    #[error(
        "head \"{head}\" has a single class ({label}); a classifier needs at least two labels"
    )]
    SingleClass {
        /// Head name.
        head: String,
        /// The only label.
        label: String,
    },
    /// Document-frequency bounds that keep no document on this corpus.
    #[error("max_df ({max_df}) keeps fewer documents than min_df ({min_df}) on {n_docs} documents; raise max_df or lower min_df")]
    DocFreqBounds {
        /// Lower bound.
        min_df: DocFreq,
        /// Upper bound.
        max_df: DocFreq,
        /// Documents in the corpus.
        n_docs: usize,
    },
    /// No term survives vocabulary pruning.
    #[error("after pruning, no terms remain (min_df {min_df}, max_df {max_df}, {n_docs} documents); lower min_df or raise max_df")]
    EmptyVocabulary {
        /// Lower bound.
        min_df: DocFreq,
        /// Upper bound.
        max_df: DocFreq,
        /// Documents in the corpus.
        n_docs: usize,
    },
    /// A head with more classes than the limit (by default 1,000, and no more than half the rows
    /// once that is above 10):
    /// usually the wrong label column, or a quoting error that made text into labels.
    #[error("head \"{head}\" has {classes} classes in {rows} rows, more than the limit of {limit}; check that the label column is right, or raise max_classes to allow it")]
    TooManyClasses {
        /// Head name.
        head: String,
        /// Distinct labels found.
        classes: usize,
        /// Training rows.
        rows: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The solver produced a non-finite objective or weights (e.g. a huge `c`).
    #[error("fitting head \"{head}\" diverged (the objective or the weights are not finite) with c = {c}; lower c")]
    Diverged {
        /// Head name (empty when fitting a bare model).
        head: String,
        /// The regularization parameter in use.
        c: f64,
    },
    /// Document-frequency bounds of the character n-grams beside the word n-grams that keep no
    /// document on this corpus.
    #[error("char_max_df ({max_df}) keeps fewer documents than char_min_df ({min_df}) on {n_docs} documents; raise char_max_df or lower char_min_df")]
    CharDocFreqBounds {
        /// Lower bound.
        min_df: DocFreq,
        /// Upper bound.
        max_df: DocFreq,
        /// Documents in the corpus.
        n_docs: usize,
    },
    /// No character n-gram beside the word n-grams survives pruning.
    #[error("after pruning, no character n-grams remain (char_min_df {min_df}, char_max_df {max_df}, {n_docs} documents); lower char_min_df or raise char_max_df")]
    EmptyCharVocabulary {
        /// Lower bound.
        min_df: DocFreq,
        /// Upper bound.
        max_df: DocFreq,
        /// Documents in the corpus.
        n_docs: usize,
    },
    /// A head the model does not have.
    #[error("the model has no head \"{head}\" (its heads: {})", heads.join(", "))]
    UnknownHead {
        /// The name asked for.
        head: String,
        /// The model's heads.
        heads: Vec<String>,
    },
    /// A label a head does not have.
    #[error("head \"{head}\" has no label \"{label}\" (its labels: {})", labels.join(", "))]
    UnknownLabel {
        /// The head.
        head: String,
        /// The label asked for.
        label: String,
        /// The head's labels.
        labels: Vec<String>,
    },
    /// Inputs to the solver that do not fit together (row and label counts, class ids).
    #[error("cannot fit: {0}")]
    Shape(String),
    /// A model file is not a newsclass model or is damaged.
    #[error("not a valid newsclass model: {0}")]
    BadModel(ModelError),
    /// A model file was written by an unknown format version.
    #[error("model format version {found} is not supported (this build reads version {supported}); retrain the model or use a matching newsclass")]
    UnsupportedFormat {
        /// Version found in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// The tokenizers pipeline failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// An I/O error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A JSON (de)serialization error.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A sentence-encoder directory that cannot be used (feature `encoder`).
    #[error("sentence encoder: {0}")]
    Encoder(#[from] EncoderError),
}

/// What is wrong with a sentence-encoder directory (inside [`Error::Encoder`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncoderError {
    /// The encoder directory does not exist or is not a directory.
    #[error("{} is not a directory; give a sentence-transformers BERT model directory (scripts/get-encoder installs all-MiniLM-L6-v2 into models/encoder/all-MiniLM-L6-v2)", dir.display())]
    NotADirectory {
        /// The path given.
        dir: PathBuf,
    },
    /// A file the encoder needs is not in its directory.
    #[error("{} has no {file}; the directory must hold a sentence-transformers BERT model (config.json, tokenizer.json, model.safetensors), e.g. as scripts/get-encoder installs it", dir.display())]
    MissingFile {
        /// The encoder directory.
        dir: PathBuf,
        /// The missing file's name.
        file: String,
    },
    /// A configuration file that does not parse or holds values out of range.
    #[error("{}: {reason}", path.display())]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A model this encoder cannot run (another architecture, activation or pooling).
    #[error("unsupported {what} \"{found}\" in {}; this encoder runs {supported}", path.display())]
    Unsupported {
        /// What is unsupported (`model_type`, `hidden_act`, `pooling`, ...).
        what: &'static str,
        /// The value found.
        found: String,
        /// What is supported.
        supported: &'static str,
        /// The file that says so.
        path: PathBuf,
    },
    /// A weight tensor whose shape disagrees with the configuration.
    #[error("weight {tensor} has shape {found:?} but config.json implies {expected:?}")]
    DimensionMismatch {
        /// Tensor name.
        tensor: String,
        /// Shape in the weights file.
        found: Vec<usize>,
        /// Shape the configuration implies.
        expected: Vec<usize>,
    },
    /// A weight tensor the model needs is not in the weights file.
    #[error("{} has no tensor {name}; is it a BERT model's weights?", path.display())]
    MissingTensor {
        /// The weights file.
        path: PathBuf,
        /// Tensor name.
        name: String,
    },
    /// A weights file that is damaged or not in the expected form.
    #[error("{}: {reason}", path.display())]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The model's `tokenizer.json` does not load or does not fit the model.
    #[error("{}: {reason}", path.display())]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A model with an encoder block, in a build without feature `encoder`.
    #[error("this model uses the sentence encoder {identity}, and this build of newsclass has no encoder; rebuild with the encoder feature (cargo build --release --features encoder)")]
    NotBuilt {
        /// The model's encoder.
        identity: String,
    },
    /// A model whose file records only its encoder's identity, loaded without an encoder.
    #[error("this model needs the sentence encoder {identity}, which its file does not carry; load it with that encoder's directory (newsclass: --encoder DIR)")]
    Required {
        /// The model's encoder.
        identity: String,
    },
    /// An encoder given for a model that was fitted with another one.
    #[error("this model was fitted with the sentence encoder {model}, but the encoder given is {given}; {}", if *carried { "the model file carries its own encoder, so give none" } else { "give the directory of the encoder it was fitted with" })]
    Mismatch {
        /// The model's encoder.
        model: String,
        /// The encoder given.
        given: String,
        /// Whether the model file carries its own encoder.
        carried: bool,
    },
    /// An encoder option out of range.
    #[error("invalid value {value} for `{name}`: {reason}")]
    InvalidParam {
        /// The option's name.
        name: &'static str,
        /// The value given.
        value: String,
        /// The valid range.
        reason: String,
    },
}

/// What is wrong with a model file (inside [`Error::BadModel`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The file does not start with the model signature.
    #[error("the file does not start with the newsclass model signature")]
    Signature,
    /// The file ends inside its header.
    #[error("truncated header")]
    TruncatedHeader,
    /// The header is not the expected JSON.
    #[error("header: {0}")]
    Header(String),
    /// A section named in the header is missing.
    #[error("missing section {name}")]
    MissingSection {
        /// Section name.
        name: String,
    },
    /// A section lies (partly) outside the file.
    #[error("section {name} lies outside the file (truncated?)")]
    SectionBounds {
        /// Section name.
        name: String,
    },
    /// A section has the wrong size for the model's shapes.
    #[error("section {name} has {found} bytes, expected {expected}")]
    SectionLength {
        /// Section name.
        name: String,
        /// Bytes found.
        found: u64,
        /// Bytes expected.
        expected: u64,
    },
    /// A text section is not UTF-8.
    #[error("section {name} is not UTF-8")]
    NotUtf8 {
        /// Section name.
        name: String,
    },
    /// A checksum does not match: the file was damaged after it was written.
    #[error("model file is damaged (checksum mismatch in section {section}); restore it from a copy or retrain")]
    Checksum {
        /// The damaged part (`header` or a section name).
        section: String,
    },
    /// Bytes after the last section.
    #[error("{bytes} unexpected bytes after the last section")]
    TrailingBytes {
        /// How many.
        bytes: u64,
    },
    /// A numeric section holds a value that is not finite (or an idf that is not positive).
    #[error("section {name} holds a value that is not finite")]
    NonFinite {
        /// Section name.
        name: String,
    },
    /// The vocabulary is not sorted and unique, or holds an empty term.
    #[error("vocabulary: {0}")]
    Vocabulary(String),
    /// The number of terms disagrees with the header.
    #[error("{terms} terms but n_features {n_features}")]
    FeatureCount {
        /// Terms in the vocabulary section.
        terms: usize,
        /// `n_features` in the header.
        n_features: usize,
    },
    /// A head's labels are not at least two sorted, unique names.
    #[error("a head's labels must be at least two sorted, unique names")]
    Labels,
    /// Weights or bias that do not match the label set.
    #[error(
        "weights for {weight_classes} classes and bias for {bias_classes} but {labels} labels"
    )]
    HeadShape {
        /// Columns of the weight matrix.
        weight_classes: usize,
        /// Length of the bias.
        bias_classes: usize,
        /// Number of labels.
        labels: usize,
    },
    /// The model has no heads.
    #[error("the model has no heads")]
    NoHeads,
    /// The saved parameters are out of range.
    #[error("parameters: {0}")]
    Params(String),
    /// The saved `tokenizer.json` does not parse or does not match the parameters.
    #[error("tokenizer.json {0}")]
    Tokenizer(String),
}

impl From<ModelError> for Error {
    fn from(e: ModelError) -> Self {
        Error::BadModel(e)
    }
}

impl Error {
    /// True when the error comes from the user's input (parameters, data, model files) rather than
    /// from an internal failure. The CLI maps these to exit code 2.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Io(e) => is_user_io_error(e.kind()),
            Error::Tokenizer(_) | Error::Json(_) => false,
            _ => true,
        }
    }

    pub(crate) fn param(
        name: &'static str,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidParam {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// True for I/O failures caused by the user's paths or files (missing, unreadable, a directory,
/// invalid data) rather than by the system.
pub fn is_user_io_error(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        kind,
        NotFound | PermissionDenied | InvalidData | InvalidInput | IsADirectory
    )
}

/// Result alias with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

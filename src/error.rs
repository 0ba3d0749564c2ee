//! The crate's error type: one `thiserror` enum whose variants carry the offending values.
//!
//! Every variant is something a user can trigger (a bad flag, a malformed data file, a model file
//! from another version). Display text is lowercase, names the field and says how to fix it.

use std::path::PathBuf;

/// Errors returned by the newsclass library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hyperparameter or option is out of its valid range.
    #[error("invalid value {value} for `--{}`: {reason}", name.replace('_', "-"))]
    InvalidParam {
        /// The parameter's name (the CLI flag without dashes, e.g. `min_df`).
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
    /// The training data cannot produce a model (one class, empty vocabulary, ...).
    #[error("{0}")]
    Untrainable(String),
    /// A model file is not a newsclass model or is damaged.
    #[error("not a valid newsclass model: {0}")]
    BadModel(String),
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
}

impl Error {
    /// True when the error comes from the user's input (flags, data, model files) rather than
    /// from an internal failure. The CLI maps these to exit code 2.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::InvalidParam { .. }
            | Error::Data { .. }
            | Error::DataFile { .. }
            | Error::Untrainable(_)
            | Error::BadModel(_)
            | Error::UnsupportedFormat { .. } => true,
            Error::Io(e) => is_user_io_error(e.kind()),
            Error::Tokenizer(_) | Error::Json(_) => false,
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
        NotFound | PermissionDenied | InvalidData | IsADirectory
    )
}

/// Result alias with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

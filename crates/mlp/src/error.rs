//! The library's one error type.
//!
//! Every variant carries the context a person needs to fix the problem: the file, line and column of
//! a bad cell, the field of a bad configuration, the shapes of a mismatch. The command-line tool
//! prints these as one line; nothing the user controls makes the library panic.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed at the operating-system level. The message includes the
    /// operating system's reason (`data.csv: No such file or directory (os error 2)`); the
    /// reason is part of the message rather than a `source()`, so a printed error chain does not
    /// say it twice.
    #[error("{}: {reason}", path.display())]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        reason: std::io::Error,
    },
    /// A cell or record of a text data file could not be used.
    #[error("{}, line {line}, column '{column}': {msg}", path.display())]
    Parse {
        /// The data file.
        path: PathBuf,
        /// 1-based line number in the file (the header is line 1).
        line: u64,
        /// Column name (or 1-based index when the file has no usable header).
        column: String,
        /// What is wrong and, where possible, how to fix it.
        msg: String,
    },
    /// A whole file is malformed: wrong magic number, truncated, not the expected format.
    #[error("{}: {msg}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        msg: String,
    },
    /// A column the user named does not exist.
    #[error("{}: no column '{name}' (columns are: {available})", path.display())]
    UnknownColumn {
        /// The data file.
        path: PathBuf,
        /// The column that was asked for.
        name: String,
        /// The columns that exist, comma-separated.
        available: String,
    },
    /// Array shapes do not fit together.
    #[error("shape mismatch in {op}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// The operation that checked the shapes.
        op: String,
        /// The shape it expected.
        expected: String,
        /// The shape it got.
        got: String,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid {field}: {reason}")]
    InvalidConfig {
        /// The setting at fault, as the library and config files name it (e.g. `lr`,
        /// `batch_size`, `adversarial.ratio`); the command-line tool maps it to its flag.
        field: String,
        /// Why it is invalid, and what would be valid.
        reason: String,
    },
    /// Data that parsed but cannot be used (a NaN feature, an empty set, a single class...).
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// A named data set's files are not on this machine.
    #[error("data set '{name}' not found (looked in {searched}); {hint}")]
    DatasetNotFound {
        /// The data set's name, e.g. `fashion-mnist`.
        name: String,
        /// The directories searched, comma-separated.
        searched: String,
        /// How to get the files.
        hint: String,
    },
    /// Training produced a non-finite loss; the model keeps its last good weights. The trainer
    /// itself reports divergence as [`Outcome::Diverged`](crate::train::Outcome::Diverged); this
    /// variant is for callers that treat a diverged run as a failure.
    #[error(
        "training diverged at epoch {epoch}, batch {batch}: loss is {loss}; the last good weights were kept (try a lower learning rate or gradient clipping)"
    )]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// 0-based batch within the epoch.
        batch: usize,
        /// The non-finite loss value.
        loss: f32,
    },
    /// A model file's architecture disagrees with the tensors stored in it (a hand-edited or
    /// foreign file); found before anything is allocated from the architecture's sizes.
    #[error("{}: layer {layer} ({kind}): {msg}", path.display())]
    ModelMismatch {
        /// The model file.
        path: PathBuf,
        /// Position of the layer in the spec's layer list.
        layer: usize,
        /// The layer's kind (`dense`, ...).
        kind: String,
        /// What disagrees: the tensor, the shape the spec asks for and what the file holds.
        msg: String,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            reason: source,
        }
    }

    /// The operating-system error behind an [`Error::Io`], if this is one.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        match self {
            Error::Io { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// A whole-file format error.
    pub fn format(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            msg: msg.into(),
        }
    }

    /// An invalid configuration value.
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A shape mismatch.
    pub fn shape(op: impl Into<String>, expected: impl ToString, got: impl ToString) -> Self {
        Error::ShapeMismatch {
            op: op.into(),
            expected: expected.to_string(),
            got: got.to_string(),
        }
    }
}

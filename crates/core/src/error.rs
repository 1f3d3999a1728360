//! The one error type of kindling-core: every failure a user can cause is a variant here,
//! with a message that names the file, row, field or setting at fault.

use std::path::PathBuf;

/// Everything that can go wrong in kindling-core, as a value rather than a panic.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is outside the range it must be in (`valid_pct`, batch size, epochs …).
    #[error("invalid {name}: {reason}")]
    InvalidArgument {
        /// The setting, by the name the user knows it by.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The data cannot be used as it is (empty, a split left empty, a single class …).
    #[error("{0}")]
    Data(String),
    /// A column that was asked for is not in the table.
    #[error("column '{name}' does not exist; the columns are: {available}")]
    MissingColumn {
        /// The column asked for.
        name: String,
        /// The columns that do exist, comma separated.
        available: String,
    },
    /// One item of a dataset could not be read or transformed.
    #[error("item {index}: {message}")]
    Item {
        /// Position of the item in its dataset.
        index: usize,
        /// What went wrong, naming the file where there is one.
        message: String,
    },
    /// The backend asked for was not compiled into this build.
    #[error("device '{0}' is not available in this build: {1}")]
    DeviceUnavailable(String, String),
    /// Training produced a loss that is not a finite number.
    #[error("the loss became {value} at epoch {epoch}, batch {batch}: lower the learning rate or check the data for NaN/inf")]
    NonFiniteLoss {
        /// The loss value seen (NaN or ±inf).
        value: f32,
        /// Epoch (0-based) where it happened.
        epoch: usize,
        /// Batch (0-based) within the epoch.
        batch: usize,
    },
    /// A model or checkpoint file is unusable.
    #[error("{path}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// Training was cancelled by a callback (early stopping is not an error; this is a hard cancel).
    #[error("training cancelled: {0}")]
    Cancelled(String),
    /// An I/O failure, with the path it happened on.
    #[error("{path}: {source}")]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// `Result` with kindling-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::InvalidArgument`] for the setting `name`.
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidArgument { name: name.into(), reason: reason.into() }
    }

    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// An [`Error::BadFile`] for `path`.
    pub fn bad_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::BadFile { path: path.into(), reason: reason.into() }
    }
}

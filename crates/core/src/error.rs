//! Errors of the core crate and of adapters.

use std::path::PathBuf;

/// An error from the core data model or from an adapter.
///
/// The variant says whose fault it is: the caller's input (`InvalidInput`, `NotFound`), the
/// environment (`Io`, `Adapter`, `Timeout`), or faultline itself (`Internal`, likely a bug).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// Input that does not satisfy the data model's rules.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A looked-up item does not exist.
    #[error("{kind} not found: {id}")]
    NotFound {
        /// What was looked up (`incident`, `plan`).
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// Reading or writing a file failed.
    #[error("i/o error on {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An adapter (LLM, runner, store, notifier) failed.
    #[error("adapter {adapter} failed: {message}")]
    Adapter {
        /// The adapter's name.
        adapter: String,
        /// What it said.
        message: String,
    },
    /// An operation took too long.
    #[error("{what} timed out after {millis} ms")]
    Timeout {
        /// What timed out.
        what: String,
        /// After how long.
        millis: u64,
    },
    /// A state-machine rule was broken (e.g. executing an unapproved plan).
    #[error("not allowed: {0}")]
    NotAllowed(String),
    /// A bug in faultline.
    #[error("internal error (likely a bug): {0}")]
    Internal(String),
}

/// `Result` with [`CoreError`].
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

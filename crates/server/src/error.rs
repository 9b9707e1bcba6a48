//! [`ServerError`]: every failure of the server, from configuration to storage.

use std::path::PathBuf;

/// An error of the reference server.
///
/// The variant says whose fault it is: the operator's configuration (`Config`, `Io`), the
/// store (`Store`), the client's request (`BadRequest`, `NotFound`, `Conflict`), or the server
/// itself (`Internal`, likely a bug).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The configuration is malformed or invalid.
    #[error("bad server configuration: {field}: {reason}")]
    Config {
        /// The offending field (`listen_addr`, `api_keys_file`, …).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading a file or binding a socket failed.
    #[error("i/o error on {path}")]
    Io {
        /// The file or address.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The store failed.
    #[error("store operation {op} failed: {message}")]
    Store {
        /// What was attempted (`ingest`, `put_report`, `migrate`).
        op: &'static str,
        /// What the database said.
        message: String,
    },
    /// A client request is malformed or invalid.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A looked-up item does not exist.
    #[error("{kind} not found: {id}")]
    NotFound {
        /// What was looked up (`incident`, `plan`).
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The request conflicts with stored state (idempotency key reused with another body,
    /// plan in the wrong state).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The analysis or remediation library refused or failed.
    #[error("faultline failed: {0}")]
    Faultline(String),
    /// A bug in the server.
    #[error("internal error (likely a bug): {0}")]
    Internal(String),
}

impl ServerError {
    /// A store error for operation `op`.
    pub fn store(op: &'static str, e: impl std::fmt::Display) -> Self {
        ServerError::Store {
            op,
            message: e.to_string(),
        }
    }
    /// A configuration error naming `field`.
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ServerError::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<faultline::Error> for ServerError {
    fn from(e: faultline::Error) -> Self {
        if e.is_bad_input() {
            ServerError::BadRequest(e.chain())
        } else {
            ServerError::Faultline(e.chain())
        }
    }
}

/// `Result` with [`ServerError`].
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

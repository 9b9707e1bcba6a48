//! [`Error`]: every failure of the facade, wrapping the stage crates' errors with their
//! cause chain.

use crate::bundle::BundleError;

/// An error from any part of faultline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The incident bundle is missing or malformed (the caller's input).
    #[error("bad bundle")]
    Bundle(#[from] BundleError),
    /// The configuration is malformed or invalid (the caller's input).
    #[error("bad configuration: {0}")]
    Config(String),
    /// Other bad input (CLI arguments, stdin data).
    #[error("bad input: {0}")]
    Input(String),
    /// Metric detection failed.
    #[error("detection failed")]
    Detect(#[from] faultline_detect::DetectError),
    /// Log mining failed.
    #[error("log mining failed")]
    Cluster(#[from] faultline_cluster::ClusterError),
    /// Root-cause analysis failed.
    #[error("root-cause analysis failed")]
    Rca(#[from] faultline_rca::RcaError),
    /// Fix planning failed.
    #[error("fix planning failed")]
    Remediate(#[from] faultline_remediate::RemediateError),
    /// An adapter or core operation failed.
    #[error("core operation failed")]
    Core(#[from] faultline_core::CoreError),
}

impl Error {
    /// Whether the error is the caller's fault (bad input or configuration) rather than an
    /// internal failure. The CLI maps this to exit code 2 (else 1).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Error::Bundle(_) | Error::Config(_) | Error::Input(_))
            || matches!(self, Error::Core(faultline_core::CoreError::InvalidInput(_)))
    }

    /// The message with its whole cause chain, `outer: inner: innermost`.
    pub fn chain(&self) -> String {
        let mut s = self.to_string();
        let mut src = std::error::Error::source(self);
        while let Some(e) = src {
            s.push_str(": ");
            s.push_str(&e.to_string());
            src = e.source();
        }
        s
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

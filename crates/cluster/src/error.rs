//! The crate's error type.

/// What can go wrong in faultline-cluster.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    /// A configuration field is out of its valid range.
    #[error("invalid configuration: {field} = {value}: {reason}")]
    InvalidConfig {
        /// Field name (`similarity_threshold`).
        field: &'static str,
        /// The offending value, as text.
        value: String,
        /// What the valid range is.
        reason: &'static str,
    },
    /// A miner snapshot is inconsistent (hand-edited or from another version).
    #[error("invalid miner snapshot: {0}")]
    InvalidSnapshot(String),
    /// A named pattern does not compile or references an unknown pattern.
    #[error("invalid pattern {name:?}: {reason}")]
    InvalidPattern {
        /// The pattern's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl ClusterError {
    pub(crate) fn invalid(field: &'static str, value: impl ToString, reason: &'static str) -> Self {
        ClusterError::InvalidConfig {
            field,
            value: value.to_string(),
            reason,
        }
    }
}

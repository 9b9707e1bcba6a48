//! The crate's error type.

/// What can go wrong in root-cause analysis.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RcaError {
    /// A configuration value is out of its allowed range.
    #[error("invalid rca config: {field} = {value}: {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// Its value, as text.
        value: String,
        /// What is allowed.
        reason: &'static str,
    },
    /// The incident's window is empty or inverted.
    #[error("incident window is empty: start {start} is after end {end}")]
    EmptyWindow {
        /// Window start.
        start: faultline_core::Timestamp,
        /// Window end.
        end: faultline_core::Timestamp,
    },
}

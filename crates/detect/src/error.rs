//! The crate's error type.

/// Everything that can go wrong in faultline-detect.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DetectError {
    /// A configuration field has a value outside its domain.
    #[error("invalid config: {field} {reason}")]
    InvalidConfig {
        /// The field, as named in the config struct.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The input has fewer usable samples than the method needs.
    #[error("series too short: {needed} samples needed, {got} given")]
    TooShort {
        /// Minimum number of samples.
        needed: usize,
        /// Number of samples given.
        got: usize,
    },
    /// The input holds a NaN or infinite value where the method cannot skip it.
    #[error("non-finite value {value} at index {index}")]
    NonFinite {
        /// Position of the value.
        index: usize,
        /// The value.
        value: f64,
    },
    /// Timestamps and values have different lengths.
    #[error("{timestamps} timestamps but {values} values")]
    LengthMismatch {
        /// Number of timestamps.
        timestamps: usize,
        /// Number of values.
        values: usize,
    },
}

impl DetectError {
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field,
            reason: reason.into(),
        }
    }
}

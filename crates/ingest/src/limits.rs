//! [`Limits`]: the caps that keep hostile input from costing unbounded time or memory.

use serde::{Deserialize, Serialize};

/// Caps applied to every body. A body that breaks one is refused as a whole.
///
/// Memory used while parsing is bounded by `max_decoded_bytes` and `max_records` (protobuf
/// bodies are counted before they are decoded, see `docs/ingest.md`).
///
/// ```
/// use faultline_ingest::Limits;
/// let l: Limits = serde_json::from_str(r#"{"max_records": 1000}"#).unwrap();
/// assert_eq!(l.max_records, 1000);
/// assert_eq!(l.max_labels, Limits::default().max_labels);
/// l.validate().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest body accepted as sent (compressed, if it is), in bytes.
    pub max_body_bytes: usize,
    /// Largest body after decompression (snappy for remote-write), in bytes.
    pub max_decoded_bytes: usize,
    /// Most records in one batch: metric points + log records + spans + events + alerts.
    pub max_records: usize,
    /// Most labels (or attributes) on one series, alert or record.
    pub max_labels: usize,
    /// Longest label name or value, in bytes.
    pub max_label_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 << 20,
            max_decoded_bytes: 64 << 20,
            max_records: 1_000_000,
            max_labels: 64,
            max_label_bytes: 4096,
        }
    }
}

/// A [`Limits`] field that makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("limits: `{field}` must be at least 1 (got {value})")]
pub struct InvalidLimits {
    /// The field.
    pub field: &'static str,
    /// Its value.
    pub value: usize,
}

impl Limits {
    /// Checks that every cap is at least 1.
    pub fn validate(&self) -> Result<(), InvalidLimits> {
        for (field, value) in [
            ("max_body_bytes", self.max_body_bytes),
            ("max_decoded_bytes", self.max_decoded_bytes),
            ("max_records", self.max_records),
            ("max_labels", self.max_labels),
            ("max_label_bytes", self.max_label_bytes),
        ] {
            if value == 0 {
                return Err(InvalidLimits { field, value });
            }
        }
        Ok(())
    }
}

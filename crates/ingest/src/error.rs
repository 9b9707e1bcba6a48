//! [`IngestError`]: why a body was refused, worded for an RFC 9457 Problem+JSON answer.

use crate::Format;

/// Longest offending value quoted in an error, in bytes (cut at a char boundary, `…` added).
pub const MAX_QUOTED_BYTES: usize = 80;

/// Why a request body was refused. Nothing of a refused body is returned: a batch is valid as
/// a whole or not at all.
///
/// Every variant names where the problem is (`at`: a JSON pointer such as `/logs/3/ts`, or
/// `line 17` for text formats, or a protobuf field path) so that [`IngestError::problem`] can
/// fill in a Problem+JSON document.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The (decoded) body is larger than [`Limits::max_body_bytes`](crate::Limits).
    #[error("body of {bytes} bytes exceeds the limit of {max} bytes")]
    BodyTooLarge {
        /// Size of the body, or a lower bound of it.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The batch holds more records than [`Limits::max_records`](crate::Limits).
    #[error("{format}: more than {max} records in one batch (at {at})")]
    TooManyRecords {
        /// The format being parsed.
        format: Format,
        /// Where the first record over the limit is.
        at: String,
        /// The limit.
        max: usize,
    },
    /// The body is not well-formed in its format (JSON syntax, protobuf wire format, snappy
    /// framing, a text line that is not a sample).
    #[error("{format}: malformed body at {at}: {message}")]
    Malformed {
        /// The format being parsed.
        format: Format,
        /// Where (JSON pointer, `line N`, byte offset).
        at: String,
        /// What the decoder said.
        message: String,
    },
    /// A record is well-formed but a field's value is not acceptable.
    #[error("{format}: {at}: field `{field}` = {value:?}: {reason}")]
    InvalidField {
        /// The format being parsed.
        format: Format,
        /// The record (JSON pointer such as `/logs/3`, or `line 17`).
        at: String,
        /// The field (`ts`, `labels.pod`, `timeUnixNano`).
        field: String,
        /// The offending value, truncated to [`MAX_QUOTED_BYTES`]; empty when it is missing.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// The content type / encoding does not name a format this crate reads.
    #[error("unsupported media type {content_type:?}")]
    UnsupportedMediaType {
        /// What the request said.
        content_type: String,
    },
}

impl IngestError {
    /// The parts of an RFC 9457 problem document: `(title, detail, pointer)`. The title is
    /// constant per kind of error, the detail is the full message and the pointer (when the
    /// error is about one record) says where it is, e.g. `/logs/3/ts` or `line 17`.
    ///
    /// ```
    /// use faultline_ingest::{parse, Format, Limits};
    /// let body = br#"{"logs":[{"ts":"2024-05-14T10:30:00Z","service":"a","body":"ok"},
    ///                         {"ts":"yesterday","service":"a","body":"x"}]}"#;
    /// let err = parse(Format::Batch, body, &Limits::default()).unwrap_err();
    /// let (title, detail, pointer) = err.problem();
    /// assert_eq!(title, "invalid field");
    /// assert_eq!(pointer.as_deref(), Some("/logs/1/ts"));
    /// assert!(detail.contains("yesterday"), "{detail}");
    /// ```
    pub fn problem(&self) -> (&'static str, String, Option<String>) {
        let detail = self.to_string();
        match self {
            IngestError::BodyTooLarge { .. } => ("body too large", detail, None),
            IngestError::TooManyRecords { at, .. } => ("too many records", detail, Some(at.clone())),
            IngestError::Malformed { at, .. } => ("malformed body", detail, Some(at.clone())),
            IngestError::InvalidField { at, field, .. } => {
                let pointer = if at.starts_with('/') && !field.is_empty() {
                    format!("{}/{}", at.trim_end_matches('/'), escape_pointer(field))
                } else {
                    at.clone()
                };
                ("invalid field", detail, Some(pointer))
            }
            IngestError::UnsupportedMediaType { .. } => ("unsupported media type", detail, None),
        }
    }

    /// The HTTP status that fits: 413 for size limits, 415 for an unknown media type, 422 for
    /// an invalid field and 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            IngestError::BodyTooLarge { .. } | IngestError::TooManyRecords { .. } => 413,
            IngestError::UnsupportedMediaType { .. } => 415,
            IngestError::InvalidField { .. } => 422,
            IngestError::Malformed { .. } => 400,
        }
    }

    pub(crate) fn invalid(
        format: Format,
        at: impl Into<String>,
        field: impl Into<String>,
        value: &str,
        reason: impl Into<String>,
    ) -> Self {
        IngestError::InvalidField {
            format,
            at: at.into(),
            field: field.into(),
            value: truncate(value),
            reason: reason.into(),
        }
    }

    pub(crate) fn malformed(format: Format, at: impl Into<String>, message: impl Into<String>) -> Self {
        IngestError::Malformed {
            format,
            at: at.into(),
            message: truncate(&message.into()),
        }
    }
}

/// `~` and `/` escaped as RFC 6901 says (a dotted field path keeps its dots).
fn escape_pointer(field: &str) -> String {
    field.replace('~', "~0").replace('/', "~1")
}

/// The first [`MAX_QUOTED_BYTES`] of `s` (at a char boundary), with `…` when cut.
pub(crate) fn truncate(s: &str) -> String {
    if s.len() <= MAX_QUOTED_BYTES {
        return s.to_owned();
    }
    let mut end = MAX_QUOTED_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_at_a_char_boundary() {
        let s = "é".repeat(100);
        let t = truncate(&s);
        assert!(t.len() <= MAX_QUOTED_BYTES + '…'.len_utf8());
        assert!(t.ends_with('…'));
        assert_eq!(truncate("short"), "short");
    }

    #[test]
    fn problem_pointer_joins_record_and_field() {
        let e = IngestError::invalid(Format::Batch, "/metrics/2", "value", "x", "not a number");
        let (title, detail, pointer) = e.problem();
        assert_eq!(title, "invalid field");
        assert_eq!(pointer.as_deref(), Some("/metrics/2/value"));
        assert!(detail.contains("/metrics/2"));
        assert_eq!(e.status(), 422);
        let root = IngestError::invalid(Format::Sentry, "/", "data", "", "missing field");
        assert_eq!(root.problem().2.as_deref(), Some("/data"));
    }
}

//! JSON decoding with errors that point at the offending record: the fast path decodes
//! straight into typed records; only when that fails is the body decoded again while tracking
//! the path (`serde_path_to_error`), so valid bodies pay nothing for good error messages.

use serde::Deserialize;
use serde_json::error::Category;

use crate::error::truncate;
use crate::{Format, IngestError};

/// Decodes `body` as `T`, or says where and why it is not one.
pub(crate) fn decode<'de, T: Deserialize<'de>>(format: Format, body: &'de [u8]) -> Result<T, IngestError> {
    match serde_json::from_slice::<T>(body) {
        Ok(v) => Ok(v),
        Err(e) => Err(explain::<T>(format, body, e)),
    }
}

/// An error for a body that failed to decode as `T`, located by decoding it again.
pub(crate) fn explain<'de, T: Deserialize<'de>>(
    format: Format,
    body: &'de [u8],
    first: serde_json::Error,
) -> IngestError {
    let mut de = serde_json::Deserializer::from_slice(body);
    let (path, err) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(_) => match de.end() {
            Ok(()) => (String::new(), first),
            Err(e) => (String::new(), e),
        },
        Err(e) => {
            let path = pointer_of(e.path());
            (path, e.into_inner())
        }
    };
    from_serde(format, body, &path, &err)
}

/// Turns a serde_json error at JSON pointer `path` into an [`IngestError`].
pub(crate) fn from_serde(format: Format, body: &[u8], path: &str, err: &serde_json::Error) -> IngestError {
    let message = err.to_string();
    let reason = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => &message,
    };
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => IngestError::malformed(
            format,
            format!("line {} column {}", err.line(), err.column()),
            reason,
        ),
        Category::Data => {
            if let Some(field) = reason
                .strip_prefix("missing field `")
                .and_then(|r| r.strip_suffix('`'))
            {
                let at = if path.is_empty() {
                    "/".to_owned()
                } else {
                    path.to_owned()
                };
                return IngestError::invalid(format, at, field, "", "missing field");
            }
            let (at, field) = match path.rfind('/') {
                Some(i) => (&path[..i], &path[i + 1..]),
                None => ("", path),
            };
            let at = if at.is_empty() { "/" } else { at };
            let value = value_at(body, path).unwrap_or_default();
            IngestError::invalid(format, at, unescape(field), &value, reason)
        }
    }
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// The text of the value at `pointer` (strings unquoted), if the body is JSON at all.
fn value_at(body: &[u8], pointer: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let found = v.pointer(pointer)?;
    Some(match found {
        serde_json::Value::String(s) => truncate(s),
        other => truncate(&other.to_string()),
    })
}

/// RFC 6901 pointer of a serde path.
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => {
                out.push('/');
                out.push_str(&index.to_string());
            }
            Segment::Map { key } => {
                out.push('/');
                out.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Enum { variant } => {
                out.push('/');
                out.push_str(variant);
            }
            Segment::Unknown => out.push_str("/?"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
        n: u32,
    }

    #[test]
    fn type_errors_name_pointer_field_and_value() {
        let body = br#"{"items":[{"name":"a","n":1},{"name":"b","n":"lots"}]}"#;
        let e = decode::<Outer>(Format::Batch, body).unwrap_err();
        match e {
            IngestError::InvalidField { at, field, value, .. } => {
                assert_eq!(
                    (at.as_str(), field.as_str(), value.as_str()),
                    ("/items/1", "n", "lots")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_fields_and_syntax_errors() {
        let e = decode::<Outer>(Format::Batch, br#"{"items":[{"n":1}]}"#).unwrap_err();
        assert!(
            matches!(e, IngestError::InvalidField { ref at, ref field, .. } if at == "/items/0" && field == "name"),
            "{e:?}"
        );
        let e = decode::<Outer>(Format::Batch, br#"{"items":[{"n":1"#).unwrap_err();
        assert!(matches!(e, IngestError::Malformed { .. }), "{e:?}");
        let e = decode::<Outer>(Format::Batch, br#"{"items":[]} trailing"#).unwrap_err();
        assert!(matches!(e, IngestError::Malformed { .. }), "{e:?}");
    }
}

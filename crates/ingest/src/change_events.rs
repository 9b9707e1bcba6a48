//! Deploy and change events, the body of `POST /v1/events`: one JSON object, an array of
//! them, `{"events": [...]}`, or JSON lines. Each object is the bundle's `events.jsonl` shape:
//! `{"timestamp" | "ts" | "time", "service", "kind"?, "version"?, "description"?, ...}` —
//! other members become attributes. `kind` is read with [`ChangeKind::parse`] and defaults
//! to `deploy` (the route is for deploy notifications first).

use std::collections::BTreeMap;

use faultline_core::{ChangeEvent, ChangeKind, ServiceId, Timestamp};
use serde_json::Value;

use crate::batch::Builder;
use crate::{json, Batch, Format, IngestError, Limits};

const F: Format = Format::ChangeEvents;

/// Parses change events.
pub(crate) fn parse(body: &[u8], limits: &Limits) -> Result<Batch, IngestError> {
    let mut b = Builder::new(F, limits);
    let trimmed = body.trim_ascii_start();
    let whole: Result<Value, _> = serde_json::from_slice(body);
    match whole {
        Ok(Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                one(v, &mut b, &|| format!("/{i}"))?;
            }
        }
        Ok(Value::Object(mut o)) if o.get("events").is_some_and(Value::is_array) => {
            if let Some(Value::Array(items)) = o.remove("events") {
                for (i, v) in items.iter().enumerate() {
                    one(v, &mut b, &|| format!("/events/{i}"))?;
                }
            }
        }
        Ok(v @ Value::Object(_)) => one(&v, &mut b, &|| "/".to_owned())?,
        Ok(other) => {
            return Err(IngestError::invalid(
                F,
                "/",
                "",
                &other.to_string(),
                "expected an object or an array",
            ))
        }
        Err(_) if trimmed.first() == Some(&b'{') => {
            // JSON lines: one object per line.
            for (n, line) in body.split(|&c| c == b'\n').enumerate() {
                if line.trim_ascii().is_empty() {
                    continue;
                }
                let v: Value = json::decode(F, line).map_err(|e| e.relocate_line(n + 1))?;
                one(&v, &mut b, &|| format!("line {}", n + 1))?;
            }
        }
        Err(_) => {
            json::decode::<Value>(F, body)?;
        }
    }
    Ok(b.finish())
}

impl IngestError {
    fn relocate_line(self, line: usize) -> Self {
        match self {
            IngestError::Malformed { format, message, .. } => IngestError::Malformed {
                format,
                at: format!("line {line}"),
                message,
            },
            other => other,
        }
    }
}

fn one(v: &Value, b: &mut Builder<'_>, at: &dyn Fn() -> String) -> Result<(), IngestError> {
    let Value::Object(o) = v else {
        return Err(IngestError::invalid(
            F,
            at(),
            "",
            &v.to_string(),
            "expected an object",
        ));
    };
    let mut ts = None;
    let mut service = None;
    let mut kind = ChangeKind::Deploy;
    let mut version = None;
    let mut description = None;
    let mut attributes = BTreeMap::new();
    for (k, val) in o {
        let as_text = || match val {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let need_text = |field: &str| {
            as_text()
                .ok_or_else(|| IngestError::invalid(F, at(), field, &val.to_string(), "expected a string"))
        };
        match k.as_str() {
            "timestamp" | "ts" | "time" => {
                let t = match val {
                    Value::Number(n) => Timestamp::from_epoch_number(n.as_f64().unwrap_or(f64::NAN)),
                    Value::String(s) => Timestamp::parse(s),
                    _ => {
                        return Err(IngestError::invalid(
                            F,
                            at(),
                            k,
                            &val.to_string(),
                            "expected a timestamp",
                        ))
                    }
                };
                ts = Some(t.map_err(|e| IngestError::invalid(F, at(), k, &val.to_string(), e.to_string()))?);
            }
            "service" => service = Some(need_text(k)?),
            "kind" | "type" => kind = ChangeKind::parse(&need_text(k)?),
            "version" => version = Some(need_text(k)?),
            "description" | "message" => description = Some(need_text(k)?),
            _ => {
                attributes.insert(k.clone(), val.clone());
            }
        }
    }
    let ts = ts.ok_or_else(|| IngestError::invalid(F, at(), "timestamp", "", "missing field"))?;
    let service = service.ok_or_else(|| IngestError::invalid(F, at(), "service", "", "missing field"))?;
    let ev = ChangeEvent {
        ts,
        service: ServiceId::new(service),
        kind,
        version,
        description,
        attributes,
        source: None,
    };
    b.event(ev, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_array_wrapper_and_lines_agree() {
        let one_ev =
            r#"{"timestamp":"2024-05-14T10:30:12Z","service":"payments","version":"2.32.0","pr":4411}"#;
        let forms = [
            one_ev.to_owned(),
            format!("[{one_ev}]"),
            format!("{{\"events\":[{one_ev}]}}"),
            format!("{one_ev}\n\n"),
            format!("{one_ev}\n{one_ev}\n"),
        ];
        for f in &forms {
            let b = parse(f.as_bytes(), &Limits::default()).unwrap();
            let e = &b.events[0];
            assert_eq!(
                (e.service.as_str(), e.kind, e.version.as_deref()),
                ("payments", ChangeKind::Deploy, Some("2.32.0"))
            );
            assert_eq!(e.attributes["pr"], serde_json::json!(4411));
        }
    }

    #[test]
    fn errors_name_record_and_field() {
        let e = parse(
            br#"[{"timestamp":"2024-05-14T10:30:12Z","service":"a"},{"timestamp":"later","service":"b"}]"#,
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e.problem().2.as_deref(), Some("/1/timestamp"));
        let e = parse(b"{\"ts\":1,\"service\":\"a\"}\n{\"ts\":2}\n", &Limits::default()).unwrap_err();
        assert!(
            e.to_string().contains("line 2") && e.to_string().contains("service"),
            "{e}"
        );
        let e = parse(b"{\"ts\":1,\"service\":\"a\"}\n{\"ts\":\n", &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }
}

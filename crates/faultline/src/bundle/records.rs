//! Parsers for the JSON Lines files of a bundle: logs, events, traces, alerts.

use std::collections::BTreeMap;

use faultline_core::{
    Alert, AlertStatus, ChangeEvent, ChangeKind, DurationNs, Labels, LogRecord, ServiceId, Severity,
    SourceRef, Span, SpanStatus, Timestamp,
};
use serde_json::{Map, Value};

use super::BundleError;

/// One JSON object line being read, with its position for errors.
pub(crate) struct Line<'a> {
    pub file: &'a str,
    pub line: u64,
    pub obj: Map<String, Value>,
}

impl<'a> Line<'a> {
    pub fn parse(file: &'a str, line: u64, text: &str) -> Result<Self, BundleError> {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(obj)) => Ok(Self { file, line, obj }),
            Ok(other) => Err(BundleError::malformed(
                file,
                line,
                "<line>",
                text,
                format!("expected a JSON object, found {}", json_type(&other)),
            )),
            Err(e) => Err(BundleError::malformed(
                file,
                line,
                "<line>",
                text,
                format!("invalid JSON: {e}"),
            )),
        }
    }

    fn err(&self, field: &str, value: &Value, reason: impl Into<String>) -> BundleError {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        BundleError::malformed(self.file, self.line, field, &text, reason)
    }

    fn missing(&self, field: &str) -> BundleError {
        BundleError::malformed(self.file, self.line, field, "", "required field is missing")
    }

    /// Removes and returns the first present key among `names` (null counts as absent).
    fn take(&mut self, names: &[&str]) -> Option<(String, Value)> {
        for n in names {
            if let Some(v) = self.obj.remove(*n) {
                if !v.is_null() {
                    return Some(((*n).to_owned(), v));
                }
            }
        }
        None
    }

    fn take_ts(&mut self, names: &[&str]) -> Result<Option<Timestamp>, BundleError> {
        let Some((k, v)) = self.take(names) else {
            return Ok(None);
        };
        json_timestamp(&v)
            .map(Some)
            .map_err(|reason| self.err(&k, &v, reason))
    }

    fn req_ts(&mut self, names: &[&str]) -> Result<Timestamp, BundleError> {
        self.take_ts(names)?.ok_or_else(|| self.missing(names[0]))
    }

    fn take_str(&mut self, names: &[&str]) -> Result<Option<String>, BundleError> {
        match self.take(names) {
            None => Ok(None),
            Some((_, Value::String(s))) => Ok(Some(s)),
            // Numbers and booleans are accepted as their text (versions like 2.4 are common).
            Some((_, v @ (Value::Number(_) | Value::Bool(_)))) => Ok(Some(v.to_string())),
            Some((k, v)) => Err(self.err(&k, &v, format!("expected a string, found {}", json_type(&v)))),
        }
    }

    fn req_str(&mut self, names: &[&str]) -> Result<String, BundleError> {
        let s = self.take_str(names)?.ok_or_else(|| self.missing(names[0]))?;
        if s.trim().is_empty() {
            return Err(BundleError::malformed(
                self.file,
                self.line,
                names[0],
                &s,
                "must not be empty",
            ));
        }
        Ok(s)
    }

    fn take_labels(&mut self, name: &str) -> Result<Labels, BundleError> {
        match self.take(&[name]) {
            None => Ok(Labels::new()),
            Some((_, Value::Object(m))) => {
                let mut l = Labels::new();
                for (k, v) in m {
                    match v {
                        Value::String(s) => l.insert(&k, &s),
                        Value::Null => {}
                        other => l.insert(&k, &other.to_string()),
                    }
                }
                Ok(l)
            }
            Some((k, v)) => Err(self.err(&k, &v, format!("expected an object, found {}", json_type(&v)))),
        }
    }

    fn source(&self) -> SourceRef {
        SourceRef {
            file: self.file.to_owned(),
            line: self.line,
        }
    }

    fn into_attributes(self) -> BTreeMap<String, Value> {
        self.obj.into_iter().collect()
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A timestamp from a JSON string (RFC 3339 or epoch digits) or number (epoch seconds or
/// milliseconds by magnitude).
pub(crate) fn json_timestamp(v: &Value) -> Result<Timestamp, String> {
    match v {
        Value::String(s) => Timestamp::parse(s).map_err(|e| e.to_string()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Timestamp::parse(&i.to_string()).map_err(|e| e.to_string())
            } else {
                let f = n.as_f64().ok_or_else(|| "not a finite number".to_owned())?;
                Timestamp::from_epoch_number(f).map_err(|e| e.to_string())
            }
        }
        other => Err(format!("expected a timestamp, found {}", json_type(other))),
    }
}

const TS: &[&str] = &["timestamp", "ts", "time", "@timestamp"];

/// A `logs.jsonl` line.
pub(crate) fn log_record(mut l: Line<'_>) -> Result<LogRecord, BundleError> {
    let ts = l.req_ts(TS)?;
    let service = ServiceId::new(l.req_str(&["service", "service_name", "app"])?);
    let body = l
        .take_str(&["message", "msg", "body", "log"])?
        .ok_or_else(|| l.missing("message"))?;
    let severity = match l.take(&["level", "severity", "lvl", "severity_text"]) {
        None => Severity::Unspecified,
        Some((_, Value::String(s))) => Severity::parse(&s),
        Some((_, Value::Number(n))) => Severity::parse(&n.to_string()),
        Some((k, v)) => return Err(l.err(&k, &v, "expected a level name or number")),
    };
    let trace_id = l.take_str(&["trace_id", "traceId", "trace.id"])?;
    let span_id = l.take_str(&["span_id", "spanId", "span.id"])?;
    let source = l.source();
    Ok(LogRecord {
        ts,
        service,
        severity,
        body,
        trace_id,
        span_id,
        source: Some(source),
        attributes: l.into_attributes(),
    })
}

/// An `events.jsonl` line.
pub(crate) fn change_event(mut l: Line<'_>) -> Result<ChangeEvent, BundleError> {
    let ts = l.req_ts(TS)?;
    let service = ServiceId::new(l.req_str(&["service"])?);
    let kind = ChangeKind::parse(&l.req_str(&["kind", "type"])?);
    let version = l.take_str(&["version"])?;
    let description = l.take_str(&["description", "message"])?;
    let source = l.source();
    Ok(ChangeEvent {
        ts,
        service,
        kind,
        version,
        description,
        source: Some(source),
        attributes: l.into_attributes(),
    })
}

/// A `traces.jsonl` line.
pub(crate) fn span(mut l: Line<'_>) -> Result<Span, BundleError> {
    let trace_id = l.req_str(&["trace_id", "traceId"])?;
    let span_id = l.req_str(&["span_id", "spanId"])?;
    let parent_span_id = l
        .take_str(&["parent_span_id", "parentSpanId"])?
        .filter(|s| !s.is_empty());
    let service = ServiceId::new(l.req_str(&["service"])?);
    let operation = l.take_str(&["operation", "name"])?.unwrap_or_default();
    let start = l.req_ts(&["start", "start_time", "timestamp"])?;
    let duration = match l.take(&["duration_ms"]) {
        None => return Err(l.missing("duration_ms")),
        Some((k, v)) => match v.as_f64() {
            Some(ms) if ms.is_finite() && ms >= 0.0 => DurationNs::from_secs_f64(ms / 1e3),
            _ => return Err(l.err(&k, &v, "expected a non-negative number of milliseconds")),
        },
    };
    let status = match l.take_str(&["status"])? {
        None => SpanStatus::Ok,
        Some(s) => match s.to_ascii_lowercase().as_str() {
            "ok" | "unset" | "" | "status_code_ok" | "status_code_unset" => SpanStatus::Ok,
            "error" | "status_code_error" => SpanStatus::Error,
            _ => {
                return Err(BundleError::malformed(
                    l.file,
                    l.line,
                    "status",
                    &s,
                    "expected \"ok\" or \"error\"",
                ))
            }
        },
    };
    let attributes = match l.take(&["attributes"]) {
        None => BTreeMap::new(),
        Some((_, Value::Object(m))) => m.into_iter().collect(),
        Some((k, v)) => return Err(l.err(&k, &v, "expected an object")),
    };
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        service,
        operation,
        start,
        duration,
        status,
        attributes,
    })
}

/// An `alerts.jsonl` line.
pub(crate) fn alert(mut l: Line<'_>) -> Result<Alert, BundleError> {
    let starts_at = l.req_ts(&["starts_at", "startsAt"])?;
    // Alertmanager writes 0001-01-01T00:00:00Z (outside Timestamp's range) for "not ended".
    if let Some(Value::String(s)) = l.obj.get("ends_at").or_else(|| l.obj.get("endsAt")) {
        if s.starts_with("0001-01-01") {
            l.obj.remove("ends_at");
            l.obj.remove("endsAt");
        }
    }
    let ends_at = l.take_ts(&["ends_at", "endsAt"])?;
    let status = match l
        .take_str(&["status"])?
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("firing") => AlertStatus::Firing,
        Some("resolved") => AlertStatus::Resolved,
        Some(other) => {
            return Err(BundleError::malformed(
                l.file,
                l.line,
                "status",
                other,
                "expected \"firing\" or \"resolved\"",
            ))
        }
    };
    let labels = l.take_labels("labels")?;
    let annotations = l.take_labels("annotations")?;
    let fingerprint = match l.take_str(&["fingerprint"])? {
        Some(f) => f,
        None => format!(
            "{:016x}",
            faultline_core::id::StableHasher::hash_str(&labels.to_string())
        ),
    };
    Ok(Alert {
        starts_at,
        ends_at,
        status,
        labels,
        annotations,
        fingerprint,
    })
}

//! Parsers for the JSON Lines files of a bundle: logs, events, traces, alerts.
//!
//! Each line is deserialized once, typed and borrowed ([`super::raw`]): the fields a record
//! kind knows (with their aliases, in priority order) are read into slots, the rest become
//! attributes. Errors name the file, line, field (the key actually present) and value.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use faultline_core::{
    Alert, AlertStatus, ChangeEvent, ChangeKind, DurationNs, Labels, LogRecord, ServiceId, Severity,
    SourceRef, Span, SpanStatus, Timestamp,
};
use serde_json::Value;

use super::raw::{Fields, Raw, Schema};
use super::BundleError;

/// Interns service names: records of one service share one `ServiceId` allocation.
#[derive(Debug, Default)]
pub(crate) struct Services(HashMap<String, ServiceId>);

impl Services {
    fn get(&mut self, name: &str) -> ServiceId {
        if let Some(s) = self.0.get(name) {
            return s.clone();
        }
        let s = ServiceId::new(name);
        self.0.insert(name.to_owned(), s.clone());
        s
    }
}

/// One JSON object line being read, with its position for errors.
pub(crate) struct Line<'a, const N: usize> {
    pub file: &'a str,
    pub line: u64,
    fields: Fields<'a, N>,
}

impl<'a, const N: usize> Line<'a, N> {
    pub fn parse(
        schema: &'static Schema<N>,
        file: &'a str,
        line: u64,
        text: &'a str,
    ) -> Result<Self, BundleError> {
        match Fields::parse(schema, text) {
            Ok(fields) => Ok(Self { file, line, fields }),
            // Rare path: classify the line again for the same message as ever.
            Err(e) => Err(match serde_json::from_str::<Value>(text) {
                Ok(v) if !v.is_object() => BundleError::malformed(
                    file,
                    line,
                    "<line>",
                    text,
                    format!("expected a JSON object, found {}", json_type(&v)),
                ),
                Ok(_) => BundleError::malformed(file, line, "<line>", text, format!("invalid JSON: {e}")),
                Err(e) => BundleError::malformed(file, line, "<line>", text, format!("invalid JSON: {e}")),
            }),
        }
    }

    fn err(&self, field: &str, value: &Raw<'_>, reason: impl Into<String>) -> BundleError {
        BundleError::malformed(self.file, self.line, field, &value.display(), reason)
    }

    fn missing(&self, field: &str) -> BundleError {
        BundleError::malformed(self.file, self.line, field, "", "required field is missing")
    }

    /// The first present field among the aliases `r` (null counts as absent and is dropped).
    fn take(&mut self, r: Range<usize>) -> Option<(&'static str, Raw<'a>)> {
        for i in r {
            match self.fields.known[i].take() {
                None | Some(Raw::Null) => {}
                Some(v) => return Some((self.fields.schema[i], v)),
            }
        }
        None
    }

    fn name(&self, r: &Range<usize>) -> &'static str {
        self.fields.schema[r.start]
    }

    fn take_ts(&mut self, r: Range<usize>) -> Result<Option<Timestamp>, BundleError> {
        let Some((k, v)) = self.take(r) else {
            return Ok(None);
        };
        raw_timestamp(&v)
            .map(Some)
            .map_err(|reason| self.err(k, &v, reason))
    }

    fn req_ts(&mut self, r: Range<usize>) -> Result<Timestamp, BundleError> {
        let name = self.name(&r);
        self.take_ts(r)?.ok_or_else(|| self.missing(name))
    }

    fn take_str(&mut self, r: Range<usize>) -> Result<Option<Cow<'a, str>>, BundleError> {
        match self.take(r) {
            None => Ok(None),
            Some((_, Raw::Str(s))) => Ok(Some(s)),
            // Numbers and booleans are accepted as their text (versions like 2.4 are common).
            Some((_, v @ (Raw::Bool(_) | Raw::I64(_) | Raw::U64(_) | Raw::F64(_)))) => {
                Ok(Some(Cow::Owned(v.display())))
            }
            Some((k, v)) => Err(self.err(k, &v, format!("expected a string, found {}", v.type_name()))),
        }
    }

    fn take_string(&mut self, r: Range<usize>) -> Result<Option<String>, BundleError> {
        Ok(self.take_str(r)?.map(Cow::into_owned))
    }

    fn req_str(&mut self, r: Range<usize>) -> Result<Cow<'a, str>, BundleError> {
        let name = self.name(&r);
        let s = self.take_str(r)?.ok_or_else(|| self.missing(name))?;
        if s.trim().is_empty() {
            return Err(BundleError::malformed(
                self.file,
                self.line,
                name,
                &s,
                "must not be empty",
            ));
        }
        Ok(s)
    }

    fn take_labels(&mut self, r: Range<usize>) -> Result<Labels, BundleError> {
        match self.take(r) {
            None => Ok(Labels::new()),
            Some((_, Raw::Nested(Value::Object(m)))) => {
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
            Some((k, v)) => Err(self.err(k, &v, format!("expected an object, found {}", v.type_name()))),
        }
    }

    fn source(&self) -> SourceRef {
        SourceRef {
            file: self.file.to_owned(),
            line: self.line,
        }
    }

    /// The fields not taken, as attributes.
    fn into_attributes(self) -> BTreeMap<String, Value> {
        let Fields {
            schema,
            known,
            mut attributes,
        } = self.fields;
        for (name, v) in schema.iter().zip(known) {
            if let Some(v) = v {
                attributes.insert((*name).to_owned(), v.into_value());
            }
        }
        attributes
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

/// An integer epoch (unit by magnitude) without allocating its text.
fn int_timestamp(i: impl std::fmt::Display) -> Result<Timestamp, String> {
    use std::io::Write as _;
    let mut buf = [0u8; 24];
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    write!(cur, "{i}").map_err(|_| "out of range".to_owned())?;
    let n = cur.position() as usize;
    let text = std::str::from_utf8(&buf[..n]).map_err(|_| "out of range".to_owned())?;
    Timestamp::parse(text).map_err(|e| e.to_string())
}

/// A timestamp from a JSON string (RFC 3339 or epoch digits) or number (epoch seconds or
/// milliseconds by magnitude).
fn raw_timestamp(v: &Raw<'_>) -> Result<Timestamp, String> {
    match v {
        Raw::Str(s) => Timestamp::parse(s).map_err(|e| e.to_string()),
        Raw::I64(i) => int_timestamp(i),
        Raw::U64(u) => Timestamp::from_epoch_number(*u as f64).map_err(|e| e.to_string()),
        Raw::F64(f) => Timestamp::from_epoch_number(*f).map_err(|e| e.to_string()),
        other => Err(format!("expected a timestamp, found {}", other.type_name())),
    }
}

/// A timestamp from a JSON value (for `incident.json`).
pub(crate) fn json_timestamp(v: &Value) -> Result<Timestamp, String> {
    match v {
        Value::String(s) => Timestamp::parse(s).map_err(|e| e.to_string()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                int_timestamp(i)
            } else {
                let f = n.as_f64().ok_or_else(|| "not a finite number".to_owned())?;
                Timestamp::from_epoch_number(f).map_err(|e| e.to_string())
            }
        }
        other => Err(format!("expected a timestamp, found {}", json_type(other))),
    }
}

/// Field names of `logs.jsonl`, aliases in priority order.
pub(crate) static LOG: Schema<21> = [
    "timestamp",
    "ts",
    "time",
    "@timestamp", // 0..4
    "service",
    "service_name",
    "app", // 4..7
    "message",
    "msg",
    "body",
    "log", // 7..11
    "level",
    "severity",
    "lvl",
    "severity_text", // 11..15
    "trace_id",
    "traceId",
    "trace.id", // 15..18
    "span_id",
    "spanId",
    "span.id", // 18..21
];

/// A `logs.jsonl` line.
pub(crate) fn log_record(mut l: Line<'_, 21>, services: &mut Services) -> Result<LogRecord, BundleError> {
    let ts = l.req_ts(0..4)?;
    let service = services.get(&l.req_str(4..7)?);
    let body = l.take_string(7..11)?.ok_or_else(|| l.missing("message"))?;
    let severity = match l.take(11..15) {
        None => Severity::Unspecified,
        Some((_, Raw::Str(s))) => Severity::parse(&s),
        Some((_, v @ (Raw::I64(_) | Raw::U64(_) | Raw::F64(_)))) => Severity::parse(&v.display()),
        Some((k, v)) => return Err(l.err(k, &v, "expected a level name or number")),
    };
    let trace_id = l.take_string(15..18)?;
    let span_id = l.take_string(18..21)?;
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

/// Field names of `events.jsonl`.
pub(crate) static EVENT: Schema<10> = [
    "timestamp",
    "ts",
    "time",
    "@timestamp", // 0..4
    "service",    // 4..5
    "kind",
    "type",    // 5..7
    "version", // 7..8
    "description",
    "message", // 8..10
];

/// An `events.jsonl` line.
pub(crate) fn change_event(mut l: Line<'_, 10>, services: &mut Services) -> Result<ChangeEvent, BundleError> {
    let ts = l.req_ts(0..4)?;
    let service = services.get(&l.req_str(4..5)?);
    let kind = ChangeKind::parse(&l.req_str(5..7)?);
    let version = l.take_string(7..8)?;
    let description = l.take_string(8..10)?;
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

/// Field names of `traces.jsonl`.
pub(crate) static SPAN: Schema<15> = [
    "trace_id",
    "traceId", // 0..2
    "span_id",
    "spanId", // 2..4
    "parent_span_id",
    "parentSpanId", // 4..6
    "service",      // 6..7
    "operation",
    "name", // 7..9
    "start",
    "start_time",
    "timestamp",   // 9..12
    "duration_ms", // 12..13
    "status",      // 13..14
    "attributes",  // 14..15
];

/// A `traces.jsonl` line.
pub(crate) fn span(mut l: Line<'_, 15>, services: &mut Services) -> Result<Span, BundleError> {
    let trace_id = l.req_str(0..2)?.into_owned();
    let span_id = l.req_str(2..4)?.into_owned();
    let parent_span_id = l.take_str(4..6)?.filter(|s| !s.is_empty()).map(Cow::into_owned);
    let service = services.get(&l.req_str(6..7)?);
    let operation = l.take_string(7..9)?.unwrap_or_default();
    let start = l.req_ts(9..12)?;
    let duration = match l.take(12..13) {
        None => return Err(l.missing("duration_ms")),
        Some((k, v)) => match v.as_f64() {
            Some(ms) if ms.is_finite() && ms >= 0.0 => DurationNs::from_secs_f64(ms / 1e3),
            _ => return Err(l.err(k, &v, "expected a non-negative number of milliseconds")),
        },
    };
    let status = match l.take_str(13..14)? {
        None => SpanStatus::Ok,
        Some(s) => {
            if ["ok", "unset", "", "status_code_ok", "status_code_unset"]
                .iter()
                .any(|k| s.eq_ignore_ascii_case(k))
            {
                SpanStatus::Ok
            } else if s.eq_ignore_ascii_case("error") || s.eq_ignore_ascii_case("status_code_error") {
                SpanStatus::Error
            } else {
                return Err(BundleError::malformed(
                    l.file,
                    l.line,
                    "status",
                    &s,
                    "expected \"ok\" or \"error\"",
                ));
            }
        }
    };
    let attributes = match l.take(14..15) {
        None => BTreeMap::new(),
        Some((_, Raw::Nested(Value::Object(m)))) => m.into_iter().collect(),
        Some((k, v)) => return Err(l.err(k, &v, "expected an object")),
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

/// Field names of `alerts.jsonl`.
pub(crate) static ALERT: Schema<8> = [
    "starts_at",
    "startsAt", // 0..2
    "ends_at",
    "endsAt",      // 2..4
    "status",      // 4..5
    "labels",      // 5..6
    "annotations", // 6..7
    "fingerprint", // 7..8
];

/// An `alerts.jsonl` line.
pub(crate) fn alert(mut l: Line<'_, 8>) -> Result<Alert, BundleError> {
    let starts_at = l.req_ts(0..2)?;
    // Alertmanager writes 0001-01-01T00:00:00Z (outside Timestamp's range) for "not ended".
    let unset_end = (2..4).find_map(|i| match &l.fields.known[i] {
        None | Some(Raw::Null) => None,
        Some(Raw::Str(s)) => Some(s.starts_with("0001-01-01")),
        Some(_) => Some(false),
    });
    if unset_end == Some(true) {
        l.fields.known[2] = None;
        l.fields.known[3] = None;
    }
    let ends_at = l.take_ts(2..4)?;
    let status = match l.take_str(4..5)? {
        None => AlertStatus::Firing,
        Some(s) if s.eq_ignore_ascii_case("firing") => AlertStatus::Firing,
        Some(s) if s.eq_ignore_ascii_case("resolved") => AlertStatus::Resolved,
        Some(other) => {
            return Err(BundleError::malformed(
                l.file,
                l.line,
                "status",
                &other.to_ascii_lowercase(),
                "expected \"firing\" or \"resolved\"",
            ))
        }
    };
    let labels = l.take_labels(5..6)?;
    let annotations = l.take_labels(6..7)?;
    let fingerprint = match l.take_string(7..8)? {
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

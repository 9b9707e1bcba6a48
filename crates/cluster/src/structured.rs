//! Field extraction from structured log lines — JSON objects and logfmt (`key=value`,
//! `key="quoted value"`) — without per-source configuration: the message, level, time,
//! error, stack and trace/span ids are found under their common names (`msg` / `message` /
//! `@message`, `lvl` / `level` / `severity`, `err` / `error.message` / `exception`,
//! `stack` / `err.stack` / `stacktrace`, `traceId` / `trace_id` / `dd.trace_id`, …). Nested
//! JSON objects are read through dotted keys (`err.message`); everything not used stays in
//! `attributes`.

use std::collections::BTreeMap;

use faultline_core::{Severity, Timestamp};
use serde::{Deserialize, Serialize};

/// The syntax a structured line was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordFormat {
    /// A JSON object.
    Json,
    /// logfmt pairs.
    Logfmt,
}

/// The fields of one structured line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructuredFields {
    /// How the line was read.
    pub format: RecordFormat,
    /// Time of the record, when a time field parsed.
    pub timestamp: Option<Timestamp>,
    /// Level (`Unspecified` when absent).
    pub severity: Severity,
    /// The message (empty when absent).
    pub message: String,
    /// Error text, when present (an error object's message).
    pub error: Option<String>,
    /// Stack trace text, when present.
    pub stack: Option<String>,
    /// Trace id, when present.
    pub trace_id: Option<String>,
    /// Span id, when present.
    pub span_id: Option<String>,
    /// Which source key each found field came from (`message` → `msg`, `error` →
    /// `err.message`).
    pub source_keys: BTreeMap<String, String>,
    /// Every other field, by (dotted) key.
    pub attributes: BTreeMap<String, serde_json::Value>,
}

const MESSAGE_KEYS: &[&str] = &["message", "msg", "@message", "@m", "log", "text", "event", "@mt"];
const LEVEL_KEYS: &[&str] = &[
    "level",
    "lvl",
    "severity",
    "log.level",
    "levelname",
    "@l",
    "loglevel",
];
const TIME_KEYS: &[&str] = &[
    "timestamp",
    "ts",
    "time",
    "@timestamp",
    "@t",
    "datetime",
    "t",
    "date",
];
const ERROR_KEYS: &[&str] = &[
    "error.message",
    "err.message",
    "exception.message",
    "error",
    "err",
    "exception",
    "error.msg",
    "exc_info",
    "@x",
];
const STACK_KEYS: &[&str] = &[
    "stack",
    "stacktrace",
    "stack_trace",
    "error.stack",
    "err.stack",
    "error.stack_trace",
    "exception.stacktrace",
    "exception.stack_trace",
    "exception.stack",
];
const TRACE_KEYS: &[&str] = &[
    "trace_id",
    "traceId",
    "trace.id",
    "traceid",
    "dd.trace_id",
    "otelTraceID",
    "logging.googleapis.com/trace",
];
const SPAN_KEYS: &[&str] = &[
    "span_id",
    "spanId",
    "span.id",
    "spanid",
    "dd.span_id",
    "otelSpanID",
];

/// Reads a JSON-object or logfmt line into its fields; `None` for other text (a logfmt line
/// needs at least two pairs, one of them a message or level key).
///
/// ```
/// use faultline_cluster::{parse_structured, RecordFormat};
/// use faultline_core::Severity;
/// let f = parse_structured(r#"t=2024-05-14T10:32:06.201+0000 lvl=eror msg="failed to load cart" err="redis: pool timeout""#).unwrap();
/// assert_eq!(f.format, RecordFormat::Logfmt);
/// assert_eq!((f.severity, f.message.as_str()), (Severity::Error, "failed to load cart"));
/// assert_eq!(f.error.as_deref(), Some("redis: pool timeout"));
///
/// let j = parse_structured(r#"{"level":50,"msg":"checkout failed","err":{"message":"502","stack":"Error: 502\n    at f (a.js:1:2)"}}"#).unwrap();
/// assert_eq!(j.severity, Severity::Error);
/// assert_eq!(j.error.as_deref(), Some("502"));
/// assert!(j.stack.unwrap().starts_with("Error: 502"));
/// ```
pub fn parse_structured(line: &str) -> Option<StructuredFields> {
    let t = line.trim();
    let (format, mut map) = if t.starts_with('{') {
        let serde_json::Value::Object(obj) = serde_json::from_str::<serde_json::Value>(t).ok()? else {
            return None;
        };
        let mut flat = BTreeMap::new();
        flatten("", serde_json::Value::Object(obj), &mut flat, 0);
        (RecordFormat::Json, flat)
    } else {
        let pairs = logfmt_pairs(t)?;
        let known = pairs
            .keys()
            .any(|k| MESSAGE_KEYS.contains(&k.as_str()) || LEVEL_KEYS.contains(&k.as_str()));
        if pairs.len() < 2 || !known {
            return None;
        }
        (RecordFormat::Logfmt, pairs)
    };
    let mut source_keys = BTreeMap::new();
    let mut take = |name: &str, keys: &[&str], map: &mut BTreeMap<String, serde_json::Value>| {
        // Null and empty values count as absent.
        let (k, v) = keys.iter().find_map(|k| {
            let v = map.get(*k)?;
            if v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()) {
                return None;
            }
            map.remove(*k).map(|v| (k.to_string(), v))
        })?;
        source_keys.insert(name.to_string(), k);
        Some(v)
    };
    let text = |v: serde_json::Value| match v {
        serde_json::Value::String(s) => s,
        v => v.to_string(),
    };
    // Container runtimes keep the line's newline in `log`.
    let message = take("message", MESSAGE_KEYS, &mut map)
        .map(|v| text(v).trim_end_matches(['\n', '\r']).to_string())
        .unwrap_or_default();
    let severity = take("level", LEVEL_KEYS, &mut map)
        .map(|v| level(&text(v)))
        .unwrap_or_default();
    let timestamp = take("timestamp", TIME_KEYS, &mut map).and_then(|v| match v {
        // The decimal text keeps sub-second digits exact.
        serde_json::Value::Number(n) => Timestamp::parse(&n.to_string())
            .ok()
            .or_else(|| n.as_f64().and_then(|f| Timestamp::from_epoch_number(f).ok())),
        serde_json::Value::String(s) => Timestamp::parse(&s).ok(),
        _ => None,
    });
    let mut error = take("error", ERROR_KEYS, &mut map).map(text);
    let mut stack = take("stack", STACK_KEYS, &mut map).map(text);
    // An exception text with frames (`@x`, `exc_info`): the first line is the error, the
    // whole text the stack.
    if stack.is_none() {
        if let Some(e) = error.as_mut().filter(|e| e.contains('\n')) {
            let first = e.lines().next().unwrap_or_default().to_string();
            stack = Some(std::mem::replace(e, first));
        }
    }
    // GCP: `projects/<p>/traces/<id>`.
    let trace_id = take("trace_id", TRACE_KEYS, &mut map).map(text).map(|t| {
        t.rsplit_once("/traces/")
            .map_or(t.clone(), |(_, id)| id.to_string())
    });
    let span_id = take("span_id", SPAN_KEYS, &mut map).map(text);
    Some(StructuredFields {
        format,
        timestamp,
        severity,
        message,
        error,
        stack,
        trace_id,
        span_id,
        source_keys,
        attributes: map,
    })
}

/// A level word, with the four-letter forms some loggers print (`dbug`, `eror`, `crit`).
fn level(text: &str) -> Severity {
    match Severity::parse(text) {
        Severity::Unspecified if text.trim().eq_ignore_ascii_case("dbug") => Severity::Debug,
        s => s,
    }
}

/// Flattens nested objects into dotted keys (depth-bounded; arrays stay values).
fn flatten(prefix: &str, v: serde_json::Value, out: &mut BTreeMap<String, serde_json::Value>, depth: usize) {
    match v {
        serde_json::Value::Object(obj) if depth < 8 => {
            for (k, v) in obj {
                let key = if prefix.is_empty() {
                    k
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out, depth + 1);
            }
        }
        v => {
            out.insert(prefix.to_string(), v);
        }
    }
}

/// logfmt pairs (`key=value`, `key="a \"quoted\" value"`, bare `key` as `true`); `None` when
/// a quote is left open or a token has no key.
fn logfmt_pairs(t: &str) -> Option<BTreeMap<String, serde_json::Value>> {
    let mut out = BTreeMap::new();
    let mut chars = t.char_indices().peekable();
    loop {
        while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            chars.next();
        }
        let (start, _) = *chars.peek()?;
        let mut key_end = t.len();
        while let Some(&(i, c)) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                key_end = i;
                break;
            }
            if c == '"' {
                return None;
            }
            chars.next();
        }
        let key = &t[start..key_end];
        if key.is_empty() {
            return None;
        }
        if chars.peek().is_some_and(|&(_, c)| c == '=') {
            chars.next();
            let value = if chars.peek().is_some_and(|&(_, c)| c == '"') {
                chars.next();
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some(o) => s.push(o),
                            None => return None,
                        },
                        c => s.push(c),
                    }
                }
                if !closed {
                    return None;
                }
                s
            } else {
                let mut s = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                s
            };
            out.insert(key.to_string(), serde_json::Value::String(value));
        } else {
            out.insert(key.to_string(), serde_json::Value::Bool(true));
        }
        if chars.peek().is_none() {
            return Some(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_fields_under_common_names() {
        let f = parse_structured(
            r#"level=error ts=2024-05-14T10:32:07.401Z caller=client.go:112 msg="request failed" err="context deadline exceeded" stacktrace="main.(*client).do\n\t/src/client.go:112" traceId=0af7651916cd43dd"#,
        )
        .expect("logfmt");
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.message, "request failed");
        assert_eq!(f.error.as_deref(), Some("context deadline exceeded"));
        assert_eq!(
            f.stack.as_deref(),
            Some("main.(*client).do\n\t/src/client.go:112")
        );
        assert_eq!(f.trace_id.as_deref(), Some("0af7651916cd43dd"));
        assert_eq!(f.timestamp, Timestamp::parse("2024-05-14T10:32:07.401Z").ok());
        assert_eq!(f.source_keys.get("error").map(String::as_str), Some("err"));
        assert_eq!(
            f.attributes.get("caller"),
            Some(&serde_json::json!("client.go:112"))
        );
    }

    #[test]
    fn json_nested_error_objects_and_numeric_levels() {
        let f = parse_structured(
            r#"{"level":30,"time":1715682718118,"traceId":"4bf9","msg":"GET /cart 200 41ms","hostname":"fe-1"}"#,
        )
        .expect("json");
        assert_eq!((f.format, f.severity), (RecordFormat::Json, Severity::Info));
        assert_eq!(f.message, "GET /cart 200 41ms");
        assert_eq!(f.trace_id.as_deref(), Some("4bf9"));
        assert!(f.timestamp.is_some());
        assert_eq!(f.error, None);
        let g = parse_structured(
            r#"{"severity":"ERROR","message":"payment declined","error":{"message":"acquirer timeout","stack_trace":"x\ny"}}"#,
        )
        .expect("json");
        assert_eq!(g.error.as_deref(), Some("acquirer timeout"));
        assert_eq!(g.stack.as_deref(), Some("x\ny"));
        assert_eq!(
            g.source_keys.get("stack").map(String::as_str),
            Some("error.stack_trace")
        );
    }

    #[test]
    fn exception_text_splits_into_error_and_stack_and_empty_fields_are_absent() {
        let f = parse_structured(
            r#"{"@t":"2024-05-14T10:32:07.388Z","@m":"Authorization failed","@l":"Error","@x":"System.IO.IOException: reset\n   at A.B()","logging.googleapis.com/trace":"projects/p/traces/0af7","span_id":""}"#,
        )
        .expect("json");
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.error.as_deref(), Some("System.IO.IOException: reset"));
        assert_eq!(
            f.stack.as_deref(),
            Some("System.IO.IOException: reset\n   at A.B()")
        );
        assert_eq!(f.trace_id.as_deref(), Some("0af7"));
        assert_eq!(f.span_id, None);
        let g = parse_structured("ts=2024-05-14T10:32:10.500Z level=dbug msg= cache_hit trace_id=")
            .expect("logfmt");
        assert_eq!(
            (g.severity, g.message.as_str(), g.trace_id.as_deref()),
            (Severity::Debug, "", None)
        );
        assert_eq!(g.attributes.get("cache_hit"), Some(&serde_json::json!(true)));
    }

    #[test]
    fn plain_text_and_broken_input_are_not_structured() {
        assert_eq!(parse_structured("Connection closed by 10.0.0.1 port 22"), None);
        assert_eq!(parse_structured("uid=0 euid=0"), None);
        assert_eq!(parse_structured(r#"level=info msg="unterminated"#), None);
        assert_eq!(parse_structured("{not json"), None);
        assert_eq!(parse_structured("[1, 2]"), None);
        assert_eq!(parse_structured(""), None);
    }
}

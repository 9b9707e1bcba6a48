//! Sentry integration-platform webhooks (Sentry docs, "Integration Platform → Webhooks":
//! issue alerts `event_alert`, and `issue` / `error` resources).
//!
//! An event (`data.event` or `data.error`) becomes one ERROR-level [`LogRecord`] (level from
//! the event) whose body is the event title and whose attributes carry the exception chain —
//! `exception.type` / `exception.message` of the exception finally raised (the last of
//! `exception.values`, which Sentry lists oldest cause first), `exception.root_type` of the
//! first, `exception.stacktrace` of the raised one (most recent frame last), plus culprit,
//! release, environment, links and ids; the trace context gives `trace_id` / `span_id`.
//! An issue alert (`data.triggered_rule`) also becomes a firing [`Alert`] named after the
//! rule, fingerprinted by the issue id. An issue (`data.issue`) becomes a log record too.
//!
//! Service: the event's `service` tag, else the release's package (`payments@2.32.0`), else
//! the project slug of the event URL, else `unknown`.

use std::collections::BTreeMap;

use faultline_core::{Alert, AlertStatus, Labels, LogRecord, ServiceId, Severity, Timestamp};
use serde_json::Value;

use crate::batch::{Builder, UNKNOWN_SERVICE};
use crate::{json, Batch, Format, IngestError, Limits};

const F: Format = Format::Sentry;

/// Parses a Sentry webhook body.
pub(crate) fn parse(body: &[u8], limits: &Limits) -> Result<Batch, IngestError> {
    let hook: Value = json::decode(F, body)?;
    let data = hook
        .get("data")
        .filter(|d| d.is_object())
        .ok_or_else(|| IngestError::invalid(F, "/", "data", "", "missing field"))?;
    let mut b = Builder::new(F, limits);
    let (record, pointer) = if let Some(ev) = data.get("event").or_else(|| data.get("error")) {
        let key = if data.get("event").is_some() {
            "event"
        } else {
            "error"
        };
        (event_record(ev, &format!("/data/{key}"))?, format!("/data/{key}"))
    } else if let Some(issue) = data.get("issue") {
        (issue_record(issue, "/data/issue")?, "/data/issue".to_owned())
    } else {
        return Err(IngestError::invalid(
            F,
            "/data",
            "event",
            "",
            "expected `event`, `error` or `issue`",
        ));
    };
    let rule = data
        .get("triggered_rule")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty());
    let alert = rule.map(|rule| rule_alert(rule, &record, data));
    b.log(record, &|| pointer.clone())?;
    if let Some(alert) = alert {
        b.alert(alert, &|| "/data/triggered_rule".to_owned())?;
    }
    Ok(b.finish())
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The event's time: `datetime` (RFC 3339), else `timestamp` (epoch seconds or RFC 3339).
fn event_time(ev: &Value, at: &str) -> Result<Timestamp, IngestError> {
    if let Some(t) = text(ev, "datetime") {
        return Timestamp::parse(t).map_err(|e| IngestError::invalid(F, at, "datetime", t, e.to_string()));
    }
    match ev.get("timestamp") {
        Some(Value::Number(n)) => Timestamp::from_epoch_number(n.as_f64().unwrap_or(f64::NAN))
            .map_err(|e| IngestError::invalid(F, at, "timestamp", &n.to_string(), e.to_string())),
        Some(Value::String(s)) => {
            Timestamp::parse(s).map_err(|e| IngestError::invalid(F, at, "timestamp", s, e.to_string()))
        }
        _ => Err(IngestError::invalid(F, at, "datetime", "", "missing field")),
    }
}

/// Sentry's tags: a list of `[key, value]` pairs or an object.
fn tags(ev: &Value) -> Vec<(String, String)> {
    match ev.get("tags") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|p| match p {
                Value::Array(kv) if kv.len() == 2 => {
                    Some((kv[0].as_str()?.to_owned(), kv[1].as_str()?.to_owned()))
                }
                Value::Object(o) => Some((
                    o.get("key")?.as_str()?.to_owned(),
                    o.get("value")?.as_str()?.to_owned(),
                )),
                _ => None,
            })
            .collect(),
        Some(Value::Object(o)) => o
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
        _ => Vec::new(),
    }
}

fn service_of(ev: &Value, tags: &[(String, String)]) -> ServiceId {
    let tag = tags
        .iter()
        .find(|(k, v)| k == "service" && !v.is_empty())
        .map(|(_, v)| v.clone());
    let release = text(ev, "release")
        .and_then(|r| r.split_once('@'))
        .map(|(pkg, _)| pkg.to_owned());
    // .../projects/{org}/{project}/events/...
    let project = ["url", "web_url"].iter().find_map(|k| {
        let url = text(ev, k)?;
        let mut parts = url.split('/').skip_while(|p| *p != "projects").skip(2);
        parts.next().filter(|p| !p.is_empty()).map(str::to_owned)
    });
    ServiceId::new(
        tag.or(release)
            .or(project)
            .unwrap_or_else(|| UNKNOWN_SERVICE.to_owned()),
    )
}

fn event_record(ev: &Value, at: &str) -> Result<LogRecord, IngestError> {
    if !ev.is_object() {
        return Err(IngestError::invalid(
            F,
            at,
            "",
            &ev.to_string(),
            "expected an object",
        ));
    }
    let ts = event_time(ev, at)?;
    let tags = tags(ev);
    let service = service_of(ev, &tags);
    let severity = text(ev, "level").map_or(Severity::Error, Severity::parse);
    let mut attributes = BTreeMap::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            attributes.insert(k.to_owned(), Value::String(v.to_owned()));
        }
    };
    for key in [
        "culprit",
        "release",
        "environment",
        "logger",
        "platform",
        "event_id",
        "issue_id",
        "web_url",
    ] {
        put(&format!("sentry.{key}"), text(ev, key));
    }
    let chain = ev
        .pointer("/exception/values")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if let Some(raised) = chain.last() {
        put("exception.type", text(raised, "type"));
        put("exception.message", text(raised, "value"));
        if let Some(trace) = stacktrace(raised) {
            put("exception.stacktrace", Some(&trace));
        }
    }
    if chain.len() > 1 {
        put("exception.root_type", chain.first().and_then(|e| text(e, "type")));
    }
    for (k, v) in &tags {
        if k != "service" {
            attributes
                .entry(format!("tag.{k}"))
                .or_insert_with(|| Value::String(v.clone()));
        }
    }
    let body = text(ev, "title")
        .or_else(|| text(ev, "message"))
        .map(str::to_owned)
        .or_else(|| {
            let raised = chain.last()?;
            Some(format!(
                "{}: {}",
                text(raised, "type")?,
                text(raised, "value").unwrap_or_default()
            ))
        })
        .unwrap_or_default();
    let trace = ev.pointer("/contexts/trace");
    Ok(LogRecord {
        ts,
        service,
        severity,
        body,
        attributes,
        trace_id: trace.and_then(|t| text(t, "trace_id")).map(str::to_owned),
        span_id: trace.and_then(|t| text(t, "span_id")).map(str::to_owned),
        source: None,
    })
}

/// A Python-style rendering of an exception's frames, most recent call last (as sent).
fn stacktrace(exc: &Value) -> Option<String> {
    let frames = exc.pointer("/stacktrace/frames")?.as_array()?;
    let mut out = String::new();
    for f in frames {
        let file = text(f, "filename").or_else(|| text(f, "abs_path")).unwrap_or("?");
        let line = f
            .get("lineno")
            .and_then(Value::as_u64)
            .map(|l| l.to_string())
            .unwrap_or_default();
        let func = text(f, "function").unwrap_or("?");
        out.push_str(&format!("  File \"{file}\", line {line}, in {func}\n"));
        if let Some(code) = text(f, "context_line") {
            out.push_str(&format!("    {}\n", code.trim()));
        }
    }
    (!out.is_empty()).then_some(out)
}

fn issue_record(issue: &Value, at: &str) -> Result<LogRecord, IngestError> {
    let first_seen = text(issue, "firstSeen").or_else(|| text(issue, "lastSeen"));
    let ts = match first_seen {
        Some(t) => {
            Timestamp::parse(t).map_err(|e| IngestError::invalid(F, at, "firstSeen", t, e.to_string()))?
        }
        None => return Err(IngestError::invalid(F, at, "firstSeen", "", "missing field")),
    };
    let service = issue
        .pointer("/project/slug")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(UNKNOWN_SERVICE);
    let mut attributes = BTreeMap::new();
    for key in ["id", "culprit", "status", "web_url", "shortId"] {
        if let Some(v) = text(issue, key) {
            attributes.insert(format!("sentry.{key}"), Value::String(v.to_owned()));
        }
    }
    Ok(LogRecord {
        ts,
        service: ServiceId::new(service),
        severity: text(issue, "level").map_or(Severity::Error, Severity::parse),
        body: text(issue, "title").unwrap_or_default().to_owned(),
        attributes,
        trace_id: None,
        span_id: None,
        source: None,
    })
}

fn rule_alert(rule: &str, rec: &LogRecord, data: &Value) -> Alert {
    let mut labels = Labels::from_pairs([
        ("alertname", rule),
        ("service", rec.service.as_str()),
        ("source", "sentry"),
    ]);
    let level = match rec.severity {
        Severity::Fatal => "critical",
        Severity::Error => "error",
        Severity::Warn => "warning",
        _ => "info",
    };
    labels.insert("severity", level);
    if let Some(Value::String(env)) = rec.attributes.get("sentry.environment") {
        labels.insert("env", env);
    }
    let mut annotations = Labels::from_pairs([("summary", rec.body.as_str())]);
    if let Some(Value::String(url)) = rec.attributes.get("sentry.web_url") {
        annotations.insert("web_url", url);
    }
    let issue = data
        .pointer("/event/issue_id")
        .and_then(Value::as_str)
        .or_else(|| data.pointer("/issue/id").and_then(Value::as_str));
    let fingerprint = match issue {
        Some(id) => format!("sentry-{id}"),
        None => crate::alertmanager::fingerprint(&labels),
    };
    Alert {
        starts_at: rec.ts,
        ends_at: None,
        status: AlertStatus::Firing,
        labels,
        annotations,
        fingerprint,
    }
}

//! Telegraf's `json` output serializer (InfluxData docs, "JSON output data format"): one
//! metric `{"name", "tags", "fields", "timestamp"}` or the batch form `{"metrics": [...]}`.
//!
//! Every numeric field is a point of metric `NAME_FIELD` (the naming of Telegraf's own
//! Prometheus output); booleans are 1/0; string fields are not metrics and are skipped. The
//! tags are the labels, the service is taken from them as for Prometheus (`service`, `job`,
//! `app`, ...) else [`Context::default_service`](crate::Context). The timestamp unit (seconds
//! by default, or `json_timestamp_units`) is inferred from its magnitude; a metric without
//! one is stamped [`Context::received_at`](crate::Context).

use std::collections::BTreeMap;

use faultline_core::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use crate::batch::Builder;
use crate::prometheus::series_key;
use crate::{json, Batch, Context, Format, IngestError, Limits};

const F: Format = Format::Telegraf;

#[derive(Deserialize)]
struct Metric {
    name: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    fields: BTreeMap<String, Value>,
    #[serde(default)]
    timestamp: Option<f64>,
}

/// Parses a Telegraf JSON body.
pub(crate) fn parse(body: &[u8], limits: &Limits, ctx: &Context) -> Result<Batch, IngestError> {
    let value: Value = json::decode(F, body)?;
    let (metrics, batch_form) = match value {
        Value::Object(mut o) if o.contains_key("metrics") => (o.remove("metrics").unwrap_or_default(), true),
        other => (Value::Array(vec![other]), false),
    };
    let Value::Array(items) = metrics else {
        return Err(IngestError::invalid(
            F,
            "/",
            "metrics",
            "",
            "expected an array of metrics",
        ));
    };
    let mut b = Builder::new(F, limits);
    for (i, item) in items.into_iter().enumerate() {
        let at = || {
            if batch_form {
                format!("/metrics/{i}")
            } else {
                String::new()
            }
        };
        let m = Metric::deserialize(&item).map_err(|e| {
            let text = serde_json::to_vec(&item).unwrap_or_default();
            json::from_serde(F, &text, "", &e).relocate(&at())
        })?;
        let ts = match m.timestamp {
            None => ctx.received_at,
            Some(t) => Timestamp::from_epoch_number(t)
                .map_err(|e| IngestError::invalid(F, at(), "timestamp", &t.to_string(), e.to_string()))?,
        };
        for (field, v) in &m.fields {
            let value = match v {
                Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
                Value::Bool(b) => f64::from(u8::from(*b)),
                _ => continue,
            };
            let labels: Vec<(&str, &str)> = m.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let key = series_key(&format!("{}_{field}", m.name), labels, ctx);
            b.point(key, ts, value, &at)?;
        }
    }
    Ok(b.finish())
}

impl IngestError {
    /// The same error, its location prefixed with `prefix` (a record inside a larger body).
    pub(crate) fn relocate(self, prefix: &str) -> Self {
        let join = |at: String| {
            if at == "/" {
                if prefix.is_empty() {
                    at
                } else {
                    prefix.to_owned()
                }
            } else if at.starts_with('/') {
                format!("{prefix}{at}")
            } else {
                at
            }
        };
        match self {
            IngestError::InvalidField {
                format,
                at,
                field,
                value,
                reason,
            } => IngestError::InvalidField {
                format,
                at: join(at),
                field,
                value,
                reason,
            },
            IngestError::Malformed { format, at, message } => IngestError::Malformed {
                format,
                at: join(at),
                message,
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            received_at: Timestamp::from_secs(1_715_682_780),
            default_service: None,
        }
    }

    #[test]
    fn single_metric_form_and_missing_name() {
        let b = parse(
            br#"{"name":"up","tags":{"service":"cart"},"fields":{"ok":true,"note":"x"}}"#,
            &Limits::default(),
            &ctx(),
        )
        .unwrap();
        assert_eq!(b.series.len(), 1);
        assert_eq!(
            (b.series[0].key.metric.as_str(), b.series[0].values[0]),
            ("up_ok", 1.0)
        );
        assert_eq!(b.series[0].timestamps[0], ctx().received_at);
        let e = parse(
            br#"{"metrics":[{"name":"a","fields":{}},{"fields":{"x":1}}]}"#,
            &Limits::default(),
            &ctx(),
        )
        .unwrap_err();
        let (_, _, pointer) = e.problem();
        assert_eq!(pointer.as_deref(), Some("/metrics/1/name"), "{e}");
    }
}

//! faultline's own JSON batch, the body of `POST /v1/signals/ingest`.
//!
//! ```json
//! {"metrics": [{"ts": "2024-05-14T10:30:00Z", "service": "checkout", "metric": "latency_p99_ms",
//!               "labels": {"route": "/api/checkout"}, "value": 6020.0}],
//!  "series":  [{"key": {"service": "cart", "metric": "cpu"}, "timestamps": [...], "values": [...]}],
//!  "logs":    [LogRecord], "events": [ChangeEvent], "spans": [Span],
//!  "alerts":  [Alert (fingerprint optional)]}
//! ```
//! Every member is optional; unknown top-level members are refused (a typo must not drop data
//! silently). Records use the core types' serde shapes; a point's `value` may be `null`
//! (a missing sample, stored as NaN).

use std::collections::BTreeMap;

use faultline_core::{
    Alert, AlertStatus, ChangeEvent, Labels, LogRecord, Series, SeriesKey, ServiceId, Span, Timestamp,
};
use serde::Deserialize;

use crate::batch::Builder;
use crate::{json, Batch, Format, IngestError, Limits};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    #[serde(default)]
    metrics: Vec<Point>,
    #[serde(default)]
    series: Vec<Series>,
    #[serde(default)]
    logs: Vec<LogRecord>,
    #[serde(default)]
    events: Vec<ChangeEvent>,
    #[serde(default)]
    spans: Vec<Span>,
    #[serde(default)]
    alerts: Vec<WireAlert>,
}

#[derive(Deserialize)]
struct Point {
    #[serde(alias = "timestamp")]
    ts: Timestamp,
    service: ServiceId,
    metric: String,
    #[serde(default)]
    labels: Labels,
    value: Option<f64>,
}

#[derive(Deserialize)]
struct WireAlert {
    #[serde(alias = "startsAt")]
    starts_at: Timestamp,
    #[serde(default, alias = "endsAt")]
    ends_at: Option<Timestamp>,
    #[serde(default)]
    status: AlertStatus,
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    fingerprint: Option<String>,
}

/// Parses a faultline JSON batch.
pub(crate) fn parse(body: &[u8], limits: &Limits) -> Result<Batch, IngestError> {
    let wire: Wire = json::decode(Format::Batch, body)?;
    let mut b = Builder::new(Format::Batch, limits);
    for (i, p) in wire.metrics.into_iter().enumerate() {
        let at = || format!("/metrics/{i}");
        let key = SeriesKey {
            service: p.service,
            metric: p.metric,
            labels: p.labels,
        };
        b.point(key, p.ts, p.value.unwrap_or(f64::NAN), &at)?;
    }
    for (i, s) in wire.series.into_iter().enumerate() {
        let at = || format!("/series/{i}");
        if s.timestamps.len() != s.values.len() {
            return Err(IngestError::invalid(
                Format::Batch,
                at(),
                "values",
                &s.values.len().to_string(),
                format!("{} values for {} timestamps", s.values.len(), s.timestamps.len()),
            ));
        }
        b.reserve(s.timestamps.len(), at)?;
        let idx = b.series(s.key, &at)?;
        for (t, v) in s.timestamps.into_iter().zip(s.values) {
            b.push_point(idx, t, v, at)?;
        }
    }
    for (i, rec) in wire.logs.into_iter().enumerate() {
        b.log(rec, &|| format!("/logs/{i}"))?;
    }
    for (i, ev) in wire.events.into_iter().enumerate() {
        b.event(ev, &|| format!("/events/{i}"))?;
    }
    for (i, sp) in wire.spans.into_iter().enumerate() {
        b.span(sp, &|| format!("/spans/{i}"))?;
    }
    for (i, a) in wire.alerts.into_iter().enumerate() {
        let labels = Labels::from(a.labels);
        let fingerprint = a
            .fingerprint
            .unwrap_or_else(|| crate::alertmanager::fingerprint(&labels));
        let alert = Alert {
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            status: a.status,
            labels,
            annotations: Labels::from(a.annotations),
            fingerprint,
        };
        b.alert(alert, &|| format!("/alerts/{i}"))?;
    }
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_group_per_series_and_sort_by_time() {
        let body = br#"{"metrics":[
            {"ts":"2024-05-14T10:30:15Z","service":"checkout","metric":"p99","value":2.0},
            {"ts":"2024-05-14T10:30:00Z","service":"checkout","metric":"p99","value":1.0},
            {"ts":"2024-05-14T10:30:00Z","service":"checkout","metric":"p99","labels":{"pod":"a"},"value":null}
        ]}"#;
        let batch = parse(body, &Limits::default()).unwrap();
        let c = batch.counts();
        assert_eq!((c.series, c.points), (2, 3));
        assert_eq!(batch.series[0].values, vec![1.0, 2.0]);
        assert!(batch.series[1].values[0].is_nan());
        assert_eq!(batch.series[1].key.labels.get("pod"), Some("a"));
    }

    #[test]
    fn unknown_top_level_member_is_refused() {
        let e = parse(br#"{"log":[]}"#, &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn record_limit_names_the_first_record_over_it() {
        let limits = Limits {
            max_records: 2,
            ..Limits::default()
        };
        let body = br#"{"logs":[{"ts":1,"service":"a","body":"x"},{"ts":2,"service":"a","body":"y"},{"ts":3,"service":"a","body":"z"}]}"#;
        match parse(body, &limits).unwrap_err() {
            IngestError::TooManyRecords { at, max, .. } => assert_eq!((at.as_str(), max), ("/logs/2", 2)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn alerts_without_fingerprint_get_a_stable_one() {
        let body = br#"{"alerts":[{"starts_at":"2024-05-14T10:31:45Z","labels":{"alertname":"X","service":"redis"}}]}"#;
        let a = parse(body, &Limits::default()).unwrap().alerts;
        let b = parse(body, &Limits::default()).unwrap().alerts;
        assert_eq!(a[0].fingerprint.len(), 16);
        assert_eq!(a[0].fingerprint, b[0].fingerprint);
    }
}

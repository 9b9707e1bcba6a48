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

use std::borrow::Cow;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use faultline_core::{
    Alert, AlertStatus, ChangeEvent, Labels, LogRecord, Series, SeriesKey, ServiceId, Span, Timestamp,
};
use serde::Deserialize;

use crate::batch::Builder;
use crate::{json, Batch, Format, IngestError, Limits};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    #[serde(default, borrow)]
    metrics: Vec<Point<'a>>,
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

/// A metric point, borrowing its strings from the body where it can: most points of a batch
/// belong to a series already seen, which is then found without allocating a key.
#[derive(Deserialize)]
struct Point<'a> {
    #[serde(alias = "timestamp")]
    ts: Timestamp,
    #[serde(borrow)]
    service: Cow<'a, str>,
    #[serde(borrow)]
    metric: Cow<'a, str>,
    #[serde(default, borrow)]
    labels: PointLabels<'a>,
    value: Option<f64>,
}

/// Labels sorted by name, unique (a later duplicate wins, as in [`Labels::from_pairs`]).
#[derive(Default)]
struct PointLabels<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de: 'a, 'a> Deserialize<'de> for PointLabels<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = PointLabels<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of label names to string values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut v: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
                while let Some((k, val)) = map.next_entry::<Borrowed<'a>, Borrowed<'a>>()? {
                    v.push((k.0, val.0));
                }
                // Stable sort keeps input order among equal names; keep the last of each.
                v.sort_by(|a, b| a.0.cmp(&b.0));
                let mut out: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::with_capacity(v.len());
                for pair in v {
                    match out.last_mut() {
                        Some(last) if last.0 == pair.0 => *last = pair,
                        _ => out.push(pair),
                    }
                }
                Ok(PointLabels(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// A string borrowed from the body when it has no escapes.
struct Borrowed<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Borrowed<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct W<'a>(#[serde(borrow)] Cow<'a, str>);
        W::deserialize(d).map(|w| Borrowed(w.0))
    }
}

fn point_hash(p: &Point<'_>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    p.service.hash(&mut h);
    p.metric.hash(&mut h);
    for (k, v) in &p.labels.0 {
        k.hash(&mut h);
        v.hash(&mut h);
    }
    h.finish()
}

fn same_series(key: &SeriesKey, p: &Point<'_>) -> bool {
    key.service.as_str() == p.service
        && key.metric == p.metric
        && key.labels.len() == p.labels.0.len()
        && key
            .labels
            .iter()
            .zip(&p.labels.0)
            .all(|((k, v), (pk, pv))| k == pk && v == pv)
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
    // hash of (service, metric, labels) → series indices; buckets capped so that crafted
    // collisions stay linear (a miss only costs building the key).
    let mut cache: FxHashMap<u64, Vec<usize>> = FxHashMap::default();
    for (i, p) in wire.metrics.into_iter().enumerate() {
        let at = || format!("/metrics/{i}");
        let h = point_hash(&p);
        let hit = cache
            .get(&h)
            .and_then(|c| c.iter().copied().find(|&idx| same_series(b.series_key(idx), &p)));
        let idx = match hit {
            Some(idx) => idx,
            None => {
                let key = SeriesKey {
                    service: ServiceId::new(&p.service),
                    metric: p.metric.into_owned(),
                    labels: Labels::from_pairs(p.labels.0),
                };
                let idx = b.series(key, &at)?;
                let bucket = cache.entry(h).or_default();
                if bucket.len() < 8 {
                    bucket.push(idx);
                }
                idx
            }
        };
        b.push_point(idx, p.ts, p.value.unwrap_or(f64::NAN), at)?;
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
    b.logs(wire.logs, |i| format!("/logs/{i}"))?;
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
    fn label_order_escapes_and_duplicates_resolve_to_one_series() {
        let body = br#"{"metrics":[
            {"ts":1,"service":"a","metric":"m","labels":{"x":"1","y":"q\"uote"},"value":1},
            {"ts":2,"service":"a","metric":"m","labels":{"y":"q\"uote","x":"1"},"value":2},
            {"ts":3,"service":"a","metric":"m","labels":{"x":"0","y":"q\"uote","x":"1"},"value":3},
            {"ts":4,"service":"a","metric":"m","labels":{"x":"1"},"value":4}
        ]}"#;
        let batch = parse(body, &Limits::default()).unwrap();
        assert_eq!(batch.series.len(), 2);
        assert_eq!(batch.series[0].values, vec![1.0, 2.0, 3.0]);
        assert_eq!(batch.series[0].key.labels.get("y"), Some("q\"uote"));
        assert_eq!(batch.series[1].values, vec![4.0]);
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

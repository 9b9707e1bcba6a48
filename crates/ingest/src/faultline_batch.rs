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
    Alert, AlertStatus, ChangeEvent, Labels, LogRecord, Series, SeriesKey, ServiceId, Severity, SourceRef,
    Span, Timestamp,
};
use serde::Deserialize;

use crate::batch::Builder;
use crate::{json, Batch, Format, IngestError, Limits};

/// The body's shape, used only to locate an error (see [`json::explain`]); valid bodies are
/// read in one pass by [`Members`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
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

/// Top-level members of a batch.
#[derive(Deserialize, Clone, Copy)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Member {
    Metrics,
    Series,
    Logs,
    Events,
    Spans,
    Alerts,
}

impl Member {
    const NAMES: [&'static str; 6] = ["metrics", "series", "logs", "events", "spans", "alerts"];
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

/// Where decoded records go: the builder, the series lookup of metric points, and the first
/// refusal (a limit or a bad field), which ends decoding.
struct Sink<'l> {
    b: Builder<'l>,
    /// Hash of (service, metric, labels) → series indices; buckets capped so that crafted
    /// collisions stay linear (a miss only costs building the key).
    cache: FxHashMap<u64, Vec<usize>>,
    refused: Option<IngestError>,
}

impl Sink<'_> {
    fn point(&mut self, i: usize, p: Point<'_>) -> Result<(), IngestError> {
        let at = || format!("/metrics/{i}");
        let h = point_hash(&p);
        let b = &mut self.b;
        let hit = self
            .cache
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
                let bucket = self.cache.entry(h).or_default();
                if bucket.len() < 8 {
                    bucket.push(idx);
                }
                idx
            }
        };
        b.push_point(idx, p.ts, p.value.unwrap_or(f64::NAN), at)
    }

    fn series(&mut self, list: Vec<Series>) -> Result<(), IngestError> {
        for (i, s) in list.into_iter().enumerate() {
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
            self.b.reserve(s.timestamps.len(), at)?;
            let idx = self.b.series(s.key, &at)?;
            self.b.push_points(idx, s.timestamps, s.values, at)?;
        }
        Ok(())
    }

    fn alerts(&mut self, list: Vec<WireAlert>) -> Result<(), IngestError> {
        for (i, a) in list.into_iter().enumerate() {
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
            self.b.alert(alert, &|| format!("/alerts/{i}"))?;
        }
        Ok(())
    }

    /// Keeps `e` as the reason decoding stops, for [`parse`] to return instead of the
    /// deserialiser's error.
    fn refuse<E: serde::de::Error>(&mut self, e: IngestError) -> E {
        self.refused = Some(e);
        E::custom("batch refused")
    }
}

/// The top-level object, member by member, each into the [`Sink`] as it is read.
struct Members<'s, 'l>(&'s mut Sink<'l>);

impl<'de> serde::de::Visitor<'de> for Members<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a faultline batch object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let sink = self.0;
        let mut seen = [false; 6];
        while let Some(m) = map.next_key::<Member>()? {
            if std::mem::replace(&mut seen[m as usize], true) {
                return Err(serde::de::Error::duplicate_field(Member::NAMES[m as usize]));
            }
            let checked = match m {
                Member::Metrics => {
                    map.next_value_seed(Points(&mut *sink))?;
                    Ok(())
                }
                Member::Series => {
                    let list: Vec<Series> = map.next_value()?;
                    sink.series(list)
                }
                Member::Logs => {
                    map.next_value_seed(Logs(&mut *sink))?;
                    Ok(())
                }
                Member::Events => {
                    let list: Vec<ChangeEvent> = map.next_value()?;
                    list.into_iter()
                        .enumerate()
                        .try_for_each(|(i, ev)| sink.b.event(ev, &|| format!("/events/{i}")))
                }
                Member::Spans => {
                    let list: Vec<Span> = map.next_value()?;
                    list.into_iter()
                        .enumerate()
                        .try_for_each(|(i, sp)| sink.b.span(sp, &|| format!("/spans/{i}")))
                }
                Member::Alerts => {
                    let list: Vec<WireAlert> = map.next_value()?;
                    sink.alerts(list)
                }
            };
            checked.map_err(|e| sink.refuse(e))?;
        }
        Ok(())
    }
}

/// The `metrics` array: each point goes to its series as soon as it is read (no list of
/// points in between).
struct Points<'s, 'l>(&'s mut Sink<'l>);

impl<'de> serde::de::DeserializeSeed<'de> for Points<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Points<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a sequence of metric points")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while let Some(p) = seq.next_element::<Point<'de>>()? {
            self.0.point(i, p).map_err(|e| self.0.refuse(e))?;
            i += 1;
        }
        Ok(())
    }
}

/// A log record as sent: [`LogRecord`]'s fields and serde shape, with the service name
/// borrowed from the body so that the records of one service share one [`ServiceId`].
#[derive(Deserialize)]
struct WireLog<'a> {
    ts: Timestamp,
    #[serde(borrow)]
    service: Cow<'a, str>,
    #[serde(default)]
    severity: Severity,
    body: String,
    #[serde(default)]
    attributes: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    trace_id: Option<String>,
    #[serde(default)]
    span_id: Option<String>,
    #[serde(default)]
    source: Option<SourceRef>,
}

/// The `logs` array: each record is checked and added as soon as it is read.
struct Logs<'s, 'l>(&'s mut Sink<'l>);

impl<'de> serde::de::DeserializeSeed<'de> for Logs<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Logs<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a sequence of log records")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let sink = self.0;
        let mut services: FxHashMap<&'de str, ServiceId> = FxHashMap::default();
        let mut i = 0;
        while let Some(w) = seq.next_element::<WireLog<'de>>()? {
            let service = match w.service {
                Cow::Borrowed(name) => services
                    .entry(name)
                    .or_insert_with(|| ServiceId::new(name))
                    .clone(),
                Cow::Owned(name) => ServiceId::new(name),
            };
            let rec = LogRecord {
                ts: w.ts,
                service,
                severity: w.severity,
                body: w.body,
                attributes: w.attributes,
                trace_id: w.trace_id,
                span_id: w.span_id,
                source: w.source,
            };
            sink.b
                .log(rec, &|| format!("/logs/{i}"))
                .map_err(|e| sink.refuse(e))?;
            i += 1;
        }
        Ok(())
    }
}

/// Parses a faultline JSON batch in one pass; a body that fails is decoded again (as [`Wire`])
/// only to say where.
pub(crate) fn parse(body: &[u8], limits: &Limits) -> Result<Batch, IngestError> {
    use serde::Deserializer as _;
    let mut sink = Sink {
        b: Builder::new(Format::Batch, limits),
        cache: FxHashMap::default(),
        refused: None,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let read = (&mut de)
        .deserialize_map(Members(&mut sink))
        .and_then(|()| de.end());
    match read {
        Ok(()) => Ok(sink.b.finish()),
        Err(e) => Err(match sink.refused.take() {
            Some(refused) => refused,
            None => json::explain::<Wire>(Format::Batch, body, e),
        }),
    }
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
    fn logs_decode_exactly_as_core_log_records() {
        let logs = r#"[
            {"ts":"2024-05-14T10:30:01Z","service":"checkout","severity":"ERROR","body":"payment timed out"},
            {"ts":1715682601000000000,"service":"check\u006fut","body":"esc\"aped\nline","unknown":1},
            {"ts":1,"service":"cart","severity":"WARN","body":"b","attributes":{"k":[1,{"x":null}]},
             "trace_id":"ab","span_id":"cd","source":{"file":"cart.log","line":7}}
        ]"#;
        let expected: Vec<LogRecord> = serde_json::from_str(logs).unwrap();
        let body = format!(r#"{{"logs":{logs}}}"#);
        let batch = parse(body.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(batch.logs, expected);
    }

    #[test]
    fn a_refusal_inside_a_member_wins_over_a_later_syntax_error_and_duplicates_are_refused() {
        let e = parse(
            br#"{"metrics":[{"ts":1,"service":" ","metric":"m","value":1}], "logs": [oops"#,
            &Limits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(e, IngestError::InvalidField { ref at, ref field, .. } if at == "/metrics/0" && field == "service"),
            "{e:?}"
        );
        let e = parse(br#"{"logs":[],"logs":[]}"#, &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("duplicate field"), "{e}");
        let e = parse(
            br#"{"metrics":[{"ts":1,"service":"a","metric":"m","value":"x"}]}"#,
            &Limits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(e, IngestError::InvalidField { ref at, ref field, .. } if at == "/metrics/0" && field == "value"),
            "{e:?}"
        );
    }

    #[test]
    fn series_and_points_of_one_key_merge_in_either_order() {
        let body = br#"{"series":[{"key":{"service":"a","metric":"m"},"timestamps":[3,4],"values":[3,4]}],
                        "metrics":[{"ts":1,"service":"a","metric":"m","value":1}]}"#;
        let batch = parse(body, &Limits::default()).unwrap();
        assert_eq!(batch.series.len(), 1);
        assert_eq!(batch.series[0].values, vec![1.0, 3.0, 4.0]);
        let limits = Limits {
            max_records: 2,
            ..Limits::default()
        };
        match parse(body, &limits).unwrap_err() {
            IngestError::TooManyRecords { at, .. } => assert_eq!(at, "/metrics/0"),
            other => panic!("{other:?}"),
        }
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

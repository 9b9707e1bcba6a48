//! Properties of every parser: arbitrary and mutated bodies never panic (they parse or give
//! an error), and bodies written by a serializer parse back to what was written.

use faultline_core::{Labels, LogRecord, SeriesKey, ServiceId, Severity, Timestamp};
use faultline_ingest::otlp::messages as otlp;
use faultline_ingest::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use faultline_ingest::{parse_with, Context, Encoding, Format, Limits};
use proptest::prelude::*;
use prost::Message;

fn ctx() -> Context {
    Context {
        received_at: Timestamp::from_secs(1_715_682_780),
        default_service: None,
    }
}

fn small_limits() -> Limits {
    Limits {
        max_body_bytes: 1 << 16,
        max_decoded_bytes: 1 << 16,
        max_records: 200,
        max_labels: 16,
        max_label_bytes: 64,
    }
}

const FIXTURES: &[(&str, Format)] = &[
    ("alertmanager_firing.json", Format::Alertmanager),
    ("grafana_firing.json", Format::Alertmanager),
    ("otlp_logs.json", Format::OtlpLogs(Encoding::Json)),
    ("otlp_metrics.json", Format::OtlpMetrics(Encoding::Json)),
    ("otlp_traces.json", Format::OtlpTraces(Encoding::Json)),
    ("prometheus_exposition.txt", Format::PrometheusText),
    ("telegraf_batch.json", Format::Telegraf),
    ("sentry_event_alert.json", Format::Sentry),
    ("k8s_events.json", Format::KubernetesEvents),
    ("k8s_pod_redis_oomkilled.json", Format::KubernetesEvents),
];

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")
    ))
    .expect("fixture exists")
}

fn any_format() -> impl Strategy<Value = Format> {
    let all: Vec<Format> = Format::all().collect();
    proptest::sample::select(all)
}

/// Label-ish text with the characters the text format must escape.
fn label_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z0-9 \"\\\\\n=,{}é]{0,12}").expect("valid regex")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(format in any_format(), body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_with(format, &body, &small_limits(), &ctx());
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0..FIXTURES.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let (name, format) = FIXTURES[which];
        let mut body = fixture(name);
        for (at, byte) in edits {
            let i = at.index(body.len());
            body[i] = byte;
        }
        let _ = parse_with(format, &body, &small_limits(), &ctx());
        body.truncate(cut.index(body.len() + 1));
        let _ = parse_with(format, &body, &small_limits(), &ctx());
    }

    #[test]
    fn mutated_protobuf_never_panics(
        which in 0..3usize,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let (name, format) = [
            ("otlp_logs.json", Format::OtlpLogs(Encoding::Protobuf)),
            ("otlp_metrics.json", Format::OtlpMetrics(Encoding::Protobuf)),
            ("otlp_traces.json", Format::OtlpTraces(Encoding::Protobuf)),
        ][which];
        let json = fixture(name);
        let mut body = match which {
            0 => serde_json::from_slice::<otlp::ExportLogsServiceRequest>(&json).unwrap().encode_to_vec(),
            1 => serde_json::from_slice::<otlp::ExportMetricsServiceRequest>(&json).unwrap().encode_to_vec(),
            _ => serde_json::from_slice::<otlp::ExportTraceServiceRequest>(&json).unwrap().encode_to_vec(),
        };
        for (at, byte) in edits {
            let i = at.index(body.len());
            body[i] = byte;
        }
        let _ = parse_with(format, &body, &small_limits(), &ctx());
        let snappy = snap::raw::Encoder::new().compress_vec(&body).unwrap();
        let _ = parse_with(Format::PrometheusRemoteWrite, &snappy, &small_limits(), &ctx());
    }

    #[test]
    fn json_batch_round_trips(
        points in proptest::collection::vec(("[a-c]", "[a-z_]{1,8}", label_text(), -1e12f64..1e12, 0i64..4_000_000_000_000_000_000), 0..20),
        logs in proptest::collection::vec(("[a-c]", ".{0,40}", 0u8..25, 0i64..4_000_000_000_000_000_000), 0..20),
    ) {
        let metrics: Vec<serde_json::Value> = points
            .iter()
            .map(|(s, m, l, v, t)| serde_json::json!({"ts": Timestamp(*t), "service": s, "metric": m, "labels": {"l": l}, "value": v}))
            .collect();
        let records: Vec<LogRecord> = logs
            .iter()
            .map(|(s, body, sev, t)| LogRecord {
                ts: Timestamp(*t),
                service: ServiceId::new(s),
                severity: Severity::from_number(*sev),
                body: body.clone(),
                attributes: Default::default(),
                trace_id: None,
                span_id: None,
                source: None,
            })
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({"metrics": metrics, "logs": records})).unwrap();
        let b = parse_with(Format::Batch, &body, &Limits::default(), &ctx()).unwrap();
        prop_assert_eq!(&b.logs, &records);
        prop_assert_eq!(b.counts().points, points.len());
        for (s, m, l, v, t) in &points {
            let key = SeriesKey { service: ServiceId::new(s), metric: m.clone(), labels: Labels::from_pairs([("l", l)]) };
            let series = b.series.iter().find(|x| x.key == key).expect("series present");
            // serde_json's default float parsing may land one ulp away from the shortest repr.
            prop_assert!(series.timestamps.iter().zip(&series.values).any(|(ts, val)| ts.0 == *t && (val - v).abs() <= v.abs() * 1e-15));
        }
    }

    #[test]
    fn prometheus_text_round_trips(
        samples in proptest::collection::vec(("[a-z_][a-z0-9_:]{0,10}", label_text(), -1e15f64..1e15, proptest::option::of(100_000_000_000i64..4_000_000_000_000)), 1..20),
    ) {
        let escape = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        let mut text = String::new();
        for (i, (name, value_label, v, ts)) in samples.iter().enumerate() {
            text.push_str(&format!("# TYPE {name} gauge\n{name}{{i=\"{i}\",v=\"{}\"}} {v:e}", escape(value_label)));
            if let Some(ms) = ts {
                text.push_str(&format!(" {ms}"));
            }
            text.push('\n');
        }
        let b = parse_with(Format::PrometheusText, text.as_bytes(), &Limits::default(), &ctx()).unwrap();
        prop_assert_eq!(b.series.len(), samples.len());
        for (i, (name, value_label, v, ts)) in samples.iter().enumerate() {
            let s = &b.series[i];
            prop_assert_eq!(&s.key.metric, name);
            let want_i = i.to_string();
            prop_assert_eq!(s.key.labels.get("i"), Some(want_i.as_str()));
            prop_assert_eq!(s.key.labels.get("v"), Some(value_label.as_str()));
            prop_assert_eq!(s.values[0], *v);
            prop_assert_eq!(s.timestamps[0], ts.map_or(ctx().received_at, Timestamp::from_millis));
        }
    }

    #[test]
    fn remote_write_round_trips(
        series in proptest::collection::vec(("[a-z_]{1,10}", label_text(), proptest::collection::vec((-1e9f64..1e9, 0i64..4_000_000_000_000), 1..10)), 1..10),
    ) {
        let req = WriteRequest {
            timeseries: series
                .iter()
                .enumerate()
                .map(|(i, (name, l, pts))| TimeSeries {
                    labels: vec![
                        Label { name: "__name__".into(), value: name.clone() },
                        Label { name: "i".into(), value: i.to_string() },
                        Label { name: "l".into(), value: l.clone() },
                    ],
                    samples: pts.iter().map(|(v, t)| Sample { value: *v, timestamp: *t }).collect(),
                })
                .collect(),
        };
        let body = snap::raw::Encoder::new().compress_vec(&req.encode_to_vec()).unwrap();
        let b = parse_with(Format::PrometheusRemoteWrite, &body, &Limits::default(), &ctx()).unwrap();
        prop_assert_eq!(b.series.len(), series.len());
        for (i, (name, l, pts)) in series.iter().enumerate() {
            let s = &b.series[i];
            prop_assert_eq!(&s.key.metric, name);
            prop_assert_eq!(s.key.labels.get("l"), Some(l.as_str()));
            let mut want: Vec<(i64, f64)> = pts.iter().map(|(v, t)| (t * 1_000_000, *v)).collect();
            want.sort_by_key(|p| p.0);
            let got: Vec<(i64, f64)> = s.timestamps.iter().map(|t| t.0).zip(s.values.iter().copied()).collect();
            prop_assert_eq!(got.iter().map(|p| p.0).collect::<Vec<_>>(), want.iter().map(|p| p.0).collect::<Vec<_>>());
        }
    }

    #[test]
    fn otlp_protobuf_logs_round_trip(
        records in proptest::collection::vec(("[a-z]{1,6}", ".{0,30}", 1u8..25, 1u64..4_000_000_000_000_000_000, proptest::collection::vec(any::<u8>(), 16)), 1..20),
    ) {
        let req = otlp::ExportLogsServiceRequest {
            resource_logs: records
                .iter()
                .map(|(svc, body, sev, t, trace)| otlp::ResourceLogs {
                    resource: Some(otlp::Resource {
                        attributes: vec![otlp::KeyValue {
                            key: "service.name".into(),
                            value: Some(otlp::AnyValue { value: Some(otlp::any_value::Value::StringValue(svc.clone())) }),
                        }],
                    }),
                    scope_logs: vec![otlp::ScopeLogs {
                        scope: None,
                        log_records: vec![otlp::LogRecord {
                            time_unix_nano: *t,
                            severity_number: i32::from(*sev),
                            body: Some(otlp::AnyValue { value: Some(otlp::any_value::Value::StringValue(body.clone())) }),
                            trace_id: trace.clone(),
                            ..Default::default()
                        }],
                    }],
                })
                .collect(),
        };
        let b = parse_with(Format::OtlpLogs(Encoding::Protobuf), &req.encode_to_vec(), &Limits::default(), &ctx()).unwrap();
        prop_assert_eq!(b.logs.len(), records.len());
        for (log, (svc, body, sev, t, trace)) in b.logs.iter().zip(&records) {
            prop_assert_eq!(log.service.as_str(), svc.as_str());
            prop_assert_eq!(&log.body, body);
            prop_assert_eq!(log.severity, Severity::from_number(*sev));
            prop_assert_eq!(log.ts.0 as u64, *t);
            let hex: String = trace.iter().map(|b| format!("{b:02x}")).collect();
            prop_assert_eq!(log.trace_id.clone(), trace.iter().any(|&b| b != 0).then_some(hex));
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for format in Format::all() {
        let _ = parse_with(format, deep.as_bytes(), &Limits::default(), &ctx());
    }
    // 10,000 nested arrayValues in protobuf.
    let mut v = otlp::AnyValue {
        value: Some(otlp::any_value::Value::IntValue(1)),
    };
    for _ in 0..10_000 {
        v = otlp::AnyValue {
            value: Some(otlp::any_value::Value::ArrayValue(otlp::ArrayValue {
                values: vec![v],
            })),
        };
    }
    let kv = otlp::KeyValue {
        key: "k".into(),
        value: Some(v),
    };
    let body = kv.encode_to_vec();
    let _ = parse_with(
        Format::OtlpLogs(Encoding::Protobuf),
        &body,
        &Limits::default(),
        &ctx(),
    );
}

#[test]
fn oversized_bodies_are_refused_before_parsing() {
    let limits = Limits {
        max_body_bytes: 10,
        ..Limits::default()
    };
    for format in Format::all() {
        let e = parse_with(format, &[b' '; 11], &limits, &ctx()).unwrap_err();
        assert_eq!(e.status(), 413, "{format}");
    }
}

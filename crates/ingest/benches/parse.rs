//! Parse throughput: log lines/s and metric points/s for the JSON batch, OTLP protobuf,
//! Prometheus text and remote-write. Bodies come from a seeded generator.
//!
//! `cargo bench -p faultline-ingest --bench parse`
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use faultline_core::Timestamp;
use faultline_ingest::otlp::messages as otlp;
use faultline_ingest::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use faultline_ingest::{parse_with, Context, Encoding, Format, Limits};
use prost::Message;

const T0: i64 = 1_715_682_600_000_000_000;
const SERVICES: [&str; 5] = ["frontend", "checkout", "payments", "cart", "redis"];

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn ctx() -> Context {
    Context {
        received_at: Timestamp(T0),
        default_service: None,
    }
}

fn log_body(r: &mut Lcg) -> String {
    format!(
        "request {} to /api/orders/{} took {} ms status={}",
        r.next() % 100_000,
        r.next() % 10_000,
        r.next() % 2000,
        [200, 200, 200, 502][(r.next() % 4) as usize]
    )
}

fn json_logs(n: usize) -> Vec<u8> {
    let mut r = Lcg(1);
    let logs: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "ts": Timestamp(T0 + i as i64 * 1_000_000),
                "service": SERVICES[i % 5],
                "severity": if i % 10 == 0 { "ERROR" } else { "INFO" },
                "body": log_body(&mut r),
                "trace_id": format!("{:032x}", r.next()),
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "logs": logs })).unwrap()
}

fn json_points(series: usize, per: usize) -> Vec<u8> {
    let mut r = Lcg(2);
    let mut metrics = Vec::with_capacity(series * per);
    for t in 0..per {
        for s in 0..series {
            metrics.push(serde_json::json!({
                "ts": T0 + t as i64 * 15_000_000_000,
                "service": SERVICES[s % 5],
                "metric": "http_requests_per_sec",
                "labels": {"pod": format!("pod-{s}"), "route": "/api/checkout"},
                "value": (r.next() % 10_000) as f64 / 10.0,
            }));
        }
    }
    serde_json::to_vec(&serde_json::json!({ "metrics": metrics })).unwrap()
}

fn json_series(series: usize, per: usize) -> Vec<u8> {
    let mut r = Lcg(3);
    let list: Vec<serde_json::Value> = (0..series)
        .map(|s| {
            serde_json::json!({
                "key": {"service": SERVICES[s % 5], "metric": "cpu", "labels": {"pod": format!("pod-{s}")}},
                "timestamps": (0..per).map(|t| T0 + t as i64 * 15_000_000_000).collect::<Vec<_>>(),
                "values": (0..per).map(|_| (r.next() % 10_000) as f64 / 100.0).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "series": list })).unwrap()
}

fn kv(k: &str, v: &str) -> otlp::KeyValue {
    otlp::KeyValue {
        key: k.into(),
        value: Some(otlp::AnyValue {
            value: Some(otlp::any_value::Value::StringValue(v.into())),
        }),
    }
}

fn otlp_logs(n: usize) -> Vec<u8> {
    let mut r = Lcg(4);
    let req = otlp::ExportLogsServiceRequest {
        resource_logs: SERVICES
            .iter()
            .map(|svc| otlp::ResourceLogs {
                resource: Some(otlp::Resource {
                    attributes: vec![kv("service.name", svc), kv("k8s.pod.name", &format!("{svc}-0"))],
                }),
                scope_logs: vec![otlp::ScopeLogs {
                    scope: None,
                    log_records: (0..n / SERVICES.len())
                        .map(|i| otlp::LogRecord {
                            time_unix_nano: (T0 + i as i64 * 1_000_000) as u64,
                            severity_number: 9,
                            body: Some(otlp::AnyValue {
                                value: Some(otlp::any_value::Value::StringValue(log_body(&mut r))),
                            }),
                            attributes: vec![kv("thread.name", "http-nio-8080-exec-7")],
                            trace_id: r.next().to_be_bytes().repeat(2),
                            span_id: r.next().to_be_bytes().to_vec(),
                            ..Default::default()
                        })
                        .collect(),
                }],
            })
            .collect(),
    };
    req.encode_to_vec()
}

fn otlp_metrics(series: usize, per: usize) -> Vec<u8> {
    let mut r = Lcg(5);
    let metrics = (0..series)
        .map(|s| otlp::Metric {
            name: format!("http.server.active_requests.{}", s % 20),
            data: Some(otlp::metric::Data::Gauge(otlp::Gauge {
                data_points: (0..per)
                    .map(|t| otlp::NumberDataPoint {
                        attributes: vec![kv("http.route", &format!("/r{}", s / 20))],
                        time_unix_nano: (T0 + t as i64 * 15_000_000_000) as u64,
                        value: Some(otlp::number_data_point::Value::AsDouble((r.next() % 1000) as f64)),
                        ..Default::default()
                    })
                    .collect(),
            })),
            ..Default::default()
        })
        .collect();
    let req = otlp::ExportMetricsServiceRequest {
        resource_metrics: vec![otlp::ResourceMetrics {
            resource: Some(otlp::Resource {
                attributes: vec![kv("service.name", "checkout")],
            }),
            scope_metrics: vec![otlp::ScopeMetrics { scope: None, metrics }],
        }],
    };
    req.encode_to_vec()
}

fn prometheus_text(series: usize, scrapes: usize) -> Vec<u8> {
    let mut r = Lcg(6);
    let mut out = String::new();
    for t in 0..scrapes {
        out.push_str("# HELP http_requests_total Requests\n# TYPE http_requests_total counter\n");
        for s in 0..series {
            out.push_str(&format!(
                "http_requests_total{{service=\"{}\",route=\"/api/r{}\",code=\"200\"}} {} {}\n",
                SERVICES[s % 5],
                s,
                r.next() % 1_000_000,
                1_715_682_600_000 + t as i64 * 15_000
            ));
        }
    }
    out.into_bytes()
}

fn remote_write(series: usize, per: usize) -> Vec<u8> {
    let mut r = Lcg(7);
    let req = WriteRequest {
        timeseries: (0..series)
            .map(|s| TimeSeries {
                labels: vec![
                    Label {
                        name: "__name__".into(),
                        value: "container_cpu_usage_seconds_total".into(),
                    },
                    Label {
                        name: "job".into(),
                        value: SERVICES[s % 5].into(),
                    },
                    Label {
                        name: "pod".into(),
                        value: format!("pod-{s}"),
                    },
                ],
                samples: (0..per)
                    .map(|t| Sample {
                        value: (r.next() % 10_000) as f64,
                        timestamp: 1_715_682_600_000 + t as i64 * 15_000,
                    })
                    .collect(),
            })
            .collect(),
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let ctx = ctx();
    let mut g = c.benchmark_group("ingest");
    g.sample_size(20);
    let cases: Vec<(&str, Format, Vec<u8>, usize)> = vec![
        ("json_batch_logs", Format::Batch, json_logs(20_000), 20_000),
        (
            "otlp_protobuf_logs",
            Format::OtlpLogs(Encoding::Protobuf),
            otlp_logs(20_000),
            20_000,
        ),
        ("json_batch_points", Format::Batch, json_points(100, 200), 20_000),
        (
            "json_batch_series",
            Format::Batch,
            json_series(100, 2_000),
            200_000,
        ),
        (
            "otlp_protobuf_points",
            Format::OtlpMetrics(Encoding::Protobuf),
            otlp_metrics(100, 1_000),
            100_000,
        ),
        (
            "prometheus_text_points",
            Format::PrometheusText,
            prometheus_text(1_000, 20),
            20_000,
        ),
        (
            "prometheus_remote_write_points",
            Format::PrometheusRemoteWrite,
            remote_write(100, 1_000),
            100_000,
        ),
    ];
    for (name, format, body, n) in &cases {
        let b = parse_with(*format, body, &limits, &ctx).expect("generated body parses");
        assert_eq!(b.counts().records(), *n, "{name}");
        g.throughput(Throughput::Elements(*n as u64));
        g.bench_function(*name, |bench| {
            bench.iter(|| parse_with(*format, black_box(body), &limits, &ctx).expect("parses"))
        });
    }
    // Baselines in the same run: the bare decoders, without building any batch.
    let json = json_logs(20_000);
    g.throughput(Throughput::Elements(20_000));
    g.bench_function("baseline_serde_json_value_logs", |bench| {
        bench.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&json)).expect("json"))
    });
    let proto = otlp_logs(20_000);
    g.bench_function("baseline_prost_decode_otlp_logs", |bench| {
        bench.iter(|| otlp::ExportLogsServiceRequest::decode(black_box(proto.as_slice())).expect("proto"))
    });
    let points = json_points(100, 200);
    g.bench_function("baseline_serde_json_value_points", |bench| {
        bench.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&points)).expect("json"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Prometheus text exposition and remote-write parse into series keyed by service.

use faultline_core::{ServiceId, Timestamp};
use faultline_ingest::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use faultline_ingest::{parse_with, Context, Format, IngestError, Limits};
use prost::Message;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")
    ))
    .expect("fixture exists")
}

fn ctx() -> Context {
    Context {
        received_at: Timestamp::from_secs(1_715_682_790),
        default_service: None,
    }
}

#[test]
fn exposition_fixture_parses_every_sample() {
    let body = fixture("prometheus_exposition.txt");
    let samples = String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    let b = parse_with(Format::PrometheusText, &body, &Limits::default(), &ctx()).unwrap();
    assert_eq!(b.counts().points, samples);
    assert_eq!(
        b.counts().series,
        samples,
        "every sample of one scrape is its own series"
    );
    let find = |metric: &str, label: (&str, &str)| {
        b.series
            .iter()
            .find(|s| s.key.metric == metric && s.key.labels.get(label.0) == Some(label.1))
            .unwrap_or_else(|| panic!("{metric} {label:?}"))
    };
    let inf = find("http_server_requests_seconds_bucket", ("le", "+Inf"));
    assert_eq!((inf.key.service.as_str(), inf.values[0]), ("checkout", 185_598.0));
    assert!(
        inf.key.labels.get("service").is_none(),
        "the service label moves into the key"
    );
    let cfg = find("payments_config_info", ("version", "2.32.0"));
    assert_eq!(
        cfg.key.labels.get("flags"),
        Some("risk_v2=on,note=\"pool \\ 4\"\nsecond line")
    );
    let ratio = find("redis_keyspace_hit_ratio", ("db", "db1"));
    assert!(ratio.values[0].is_nan());
    assert_eq!(ratio.key.service.as_str(), "unknown");
    assert_eq!(ratio.timestamps[0], ctx().received_at);
    let start = b
        .series
        .iter()
        .find(|s| s.key.metric == "process_start_time_seconds")
        .unwrap();
    assert_eq!(start.timestamps[0], Timestamp::from_millis(1_715_682_780_000));
    let up = b.series.iter().find(|s| s.key.metric == "up").unwrap();
    assert_eq!(
        up.key.service.as_str(),
        "cart",
        "job names the service when service is absent"
    );
}

#[test]
fn default_service_applies_to_unlabelled_series() {
    let c = Context {
        default_service: Some(ServiceId::new("redis")),
        ..ctx()
    };
    let b = parse_with(
        Format::PrometheusText,
        &fixture("prometheus_exposition.txt"),
        &Limits::default(),
        &c,
    )
    .unwrap();
    let mem = b
        .series
        .iter()
        .find(|s| s.key.metric == "redis_memory_used_bytes")
        .unwrap();
    assert_eq!(
        (mem.key.service.as_str(), mem.values[0]),
        ("redis", 3.221225472e9)
    );
}

fn write_request() -> WriteRequest {
    let label = |n: &str, v: &str| Label {
        name: n.into(),
        value: v.into(),
    };
    WriteRequest {
        timeseries: vec![
            TimeSeries {
                labels: vec![
                    label("__name__", "redis_connected_clients"),
                    label("job", "redis"),
                    label("instance", "redis-0"),
                ],
                samples: (0..3)
                    .map(|i| Sample {
                        value: 2210.0 + f64::from(i) * 1000.0,
                        timestamp: 1_715_682_660_000 + i64::from(i) * 15_000,
                    })
                    .collect(),
            },
            TimeSeries {
                labels: vec![label("__name__", "up"), label("service", "cart")],
                samples: vec![Sample {
                    value: 0.0,
                    timestamp: 1_715_682_790_000,
                }],
            },
        ],
    }
}

#[test]
fn remote_write_decompresses_and_keeps_samples_per_series() {
    let raw = write_request().encode_to_vec();
    let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
    let b = parse_with(Format::PrometheusRemoteWrite, &body, &Limits::default(), &ctx()).unwrap();
    assert_eq!((b.counts().series, b.counts().points), (2, 4));
    let redis = &b.series[0];
    assert_eq!(
        (redis.key.service.as_str(), redis.key.metric.as_str()),
        ("redis", "redis_connected_clients")
    );
    assert_eq!(redis.key.labels.get("instance"), Some("redis-0"));
    assert_eq!(redis.values, vec![2210.0, 3210.0, 4210.0]);
    assert_eq!(redis.timestamps[1], Timestamp::from_millis(1_715_682_675_000));
}

#[test]
fn remote_write_limits_hold_before_decoding() {
    let raw = write_request().encode_to_vec();
    let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
    let small = Limits {
        max_records: 3,
        ..Limits::default()
    };
    let e = parse_with(Format::PrometheusRemoteWrite, &body, &small, &ctx()).unwrap_err();
    assert!(matches!(e, IngestError::TooManyRecords { .. }), "{e:?}");
    let tiny = Limits {
        max_decoded_bytes: 16,
        ..Limits::default()
    };
    let e = parse_with(Format::PrometheusRemoteWrite, &body, &tiny, &ctx()).unwrap_err();
    assert!(matches!(e, IngestError::BodyTooLarge { .. }), "{e:?}");
    let e = parse_with(Format::PrometheusRemoteWrite, &raw, &Limits::default(), &ctx()).unwrap_err();
    assert_eq!(
        e.status(),
        400,
        "uncompressed protobuf is not a snappy block: {e}"
    );
}

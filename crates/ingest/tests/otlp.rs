//! OTLP fixtures in the JSON encoding parse into the signals they describe, and the same
//! requests re-encoded as protobuf parse into the same batch.

use faultline_core::{Severity, SpanStatus};
use faultline_ingest::otlp::messages::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use faultline_ingest::{parse, Encoding, Format, IngestError, Limits};
use prost::Message;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")
    ))
    .expect("fixture exists")
}

#[test]
fn logs_json_fixture_maps_service_severity_ids_and_kvlist_bodies() {
    let b = parse(
        Format::OtlpLogs(Encoding::Json),
        &fixture("otlp_logs.json"),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(b.counts().logs, 5);
    let first = &b.logs[0];
    assert_eq!(first.service.as_str(), "checkout");
    assert_eq!(first.severity, Severity::Error);
    assert_eq!(first.body, "Order placement failed orderId=8812 cartId=c-4411");
    assert_eq!(
        first.trace_id.as_deref(),
        Some("0af7651916cd43dd8448eb211c80319c")
    );
    assert_eq!(first.span_id.as_deref(), Some("53995c3f42cd8ad8"));
    assert_eq!(first.attributes["order.id"], serde_json::json!(8812));
    assert_eq!(
        first.attributes["k8s.pod.name"],
        serde_json::json!("checkout-5f7c9d8b6-q2wxl")
    );
    assert_eq!(first.ts.to_string(), "2024-05-14T10:32:07.412Z");
    let kv = b
        .logs
        .iter()
        .find(|l| l.body == "failed to load cart")
        .expect("kvlist body's msg is the text");
    assert_eq!(kv.attributes["body.cart_id"], serde_json::json!("c-4419"));
}

#[test]
fn traces_json_fixture_keeps_parentage_errors_and_exception() {
    let b = parse(
        Format::OtlpTraces(Encoding::Json),
        &fixture("otlp_traces.json"),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(b.spans.len(), 4);
    assert!(b.spans.iter().all(|s| s.status == SpanStatus::Error));
    assert!(b
        .spans
        .iter()
        .all(|s| s.trace_id == "0af7651916cd43dd8448eb211c80319c"));
    let root = &b.spans[0];
    assert_eq!(
        (root.service.as_str(), root.parent_span_id.as_deref()),
        ("frontend", None)
    );
    assert_eq!(root.duration.0, 6_041_000_000);
    let client = b.spans.iter().find(|s| s.span_id == "53995c3f42cd8ad8").unwrap();
    assert_eq!(client.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert_eq!(client.attributes["span.kind"], serde_json::json!("client"));
    assert!(client.attributes.contains_key("exception.type"));
    let payments = b.spans.iter().find(|s| s.service.as_str() == "payments").unwrap();
    assert_eq!(
        payments.attributes["status.message"],
        serde_json::json!("acquirer timeout for order 8812")
    );
}

#[test]
fn metrics_json_fixture_groups_points_and_expands_histograms() {
    let b = parse(
        Format::OtlpMetrics(Encoding::Json),
        &fixture("otlp_metrics.json"),
        &Limits::default(),
    )
    .unwrap();
    let gauge = b
        .series
        .iter()
        .find(|s| s.key.metric == "jvm.thread.count")
        .unwrap();
    assert_eq!(gauge.key.service.as_str(), "checkout");
    assert_eq!(gauge.values, vec![212.0, 398.0]);
    assert_eq!(gauge.key.labels.get("jvm.thread.daemon"), Some("false"));
    let count = b
        .series
        .iter()
        .find(|s| s.key.metric == "http.server.request.duration_count")
        .unwrap();
    assert_eq!(count.values, vec![185_598.0]);
    let buckets: Vec<_> = b
        .series
        .iter()
        .filter(|s| s.key.metric == "http.server.request.duration_bucket")
        .collect();
    assert_eq!(buckets.len(), 9);
    let inf = buckets
        .iter()
        .find(|s| s.key.labels.get("le") == Some("+Inf"))
        .unwrap();
    assert_eq!(
        inf.values, count.values,
        "the +Inf bucket holds every observation"
    );
    let redis = b
        .series
        .iter()
        .find(|s| s.key.metric == "redis.clients.connected")
        .unwrap();
    assert_eq!(
        (redis.key.service.as_str(), redis.values.as_slice()),
        ("redis", &[2210.0, 9830.0][..])
    );
}

#[test]
fn protobuf_encoding_gives_the_same_batch_as_json() {
    let limits = Limits::default();
    let logs: ExportLogsServiceRequest = serde_json::from_slice(&fixture("otlp_logs.json")).unwrap();
    let metrics: ExportMetricsServiceRequest = serde_json::from_slice(&fixture("otlp_metrics.json")).unwrap();
    let traces: ExportTraceServiceRequest = serde_json::from_slice(&fixture("otlp_traces.json")).unwrap();
    for (json_format, proto_format, json, proto) in [
        (
            Format::OtlpLogs(Encoding::Json),
            Format::OtlpLogs(Encoding::Protobuf),
            fixture("otlp_logs.json"),
            logs.encode_to_vec(),
        ),
        (
            Format::OtlpMetrics(Encoding::Json),
            Format::OtlpMetrics(Encoding::Protobuf),
            fixture("otlp_metrics.json"),
            metrics.encode_to_vec(),
        ),
        (
            Format::OtlpTraces(Encoding::Json),
            Format::OtlpTraces(Encoding::Protobuf),
            fixture("otlp_traces.json"),
            traces.encode_to_vec(),
        ),
    ] {
        let a = parse(json_format, &json, &limits).unwrap();
        let b = parse(proto_format, &proto, &limits).unwrap();
        assert!(!a.is_empty());
        assert_eq!(
            format!("{a:?}"),
            format!("{b:?}"),
            "{json_format} vs {proto_format}"
        ); // NaN-safe equality
    }
}

#[test]
fn bad_trace_id_names_the_span_and_field() {
    let text = String::from_utf8(fixture("otlp_traces.json")).unwrap();
    let bad = text.replacen("\"b7ad6b7169203331\"", "\"not-hex\"", 1);
    let e = parse(
        Format::OtlpTraces(Encoding::Json),
        bad.as_bytes(),
        &Limits::default(),
    )
    .unwrap_err();
    let (_, detail, pointer) = e.problem();
    assert_eq!(
        pointer.as_deref(),
        Some("/resourceSpans/0/scopeSpans/0/spans/0/spanId"),
        "{detail}"
    );
    assert!(detail.contains("not-hex"), "{detail}");
}

#[test]
fn protobuf_record_limit_is_checked_before_decoding() {
    let traces: ExportTraceServiceRequest = serde_json::from_slice(&fixture("otlp_traces.json")).unwrap();
    let limits = Limits {
        max_records: 3,
        ..Limits::default()
    };
    let e = parse(
        Format::OtlpTraces(Encoding::Protobuf),
        &traces.encode_to_vec(),
        &limits,
    )
    .unwrap_err();
    assert!(matches!(e, IngestError::TooManyRecords { max: 3, .. }), "{e:?}");
    let e = parse(
        Format::OtlpTraces(Encoding::Protobuf),
        &[0x0a, 0x05, 0x12],
        &limits,
    )
    .unwrap_err();
    assert!(matches!(e, IngestError::Malformed { .. }), "{e:?}");
}

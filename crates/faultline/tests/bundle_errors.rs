//! Every way a bundle can be malformed yields a typed error naming file, line, field and value;
//! every accepted variation reads the same data.
#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::io::Write;
use std::path::Path;

use faultline::bundle::{read_bundle, BundleError};
use faultline::core::{ChangeKind, Severity, SpanStatus, Timestamp};

const INCIDENT: &str = r#"{"id": "inc-1", "onset": "2024-05-14T10:32:00Z"}"#;

fn write(dir: &Path, name: &str, content: &[u8]) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, content).unwrap();
}

fn bundle(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if !files.iter().any(|(n, _)| n.starts_with("incident.json")) {
        write(dir.path(), "incident.json", INCIDENT.as_bytes());
    }
    for (name, content) in files {
        write(dir.path(), name, content.as_bytes());
    }
    dir
}

#[track_caller]
fn malformed(files: &[(&str, &str)]) -> (String, u64, String, String, String) {
    let dir = bundle(files);
    match read_bundle(dir.path()) {
        Err(BundleError::Malformed {
            file,
            line,
            field,
            value,
            reason,
        }) => (file, line, field, value, reason),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[track_caller]
fn assert_malformed(files: &[(&str, &str)], file: &str, line: u64, field: &str, value: &str) {
    let (f, l, fd, v, reason) = malformed(files);
    assert_eq!(
        (f.as_str(), l, fd.as_str(), v.as_str()),
        (file, line, field, value),
        "reason: {reason}"
    );
    assert!(!reason.is_empty());
}

#[test]
fn not_a_directory_is_reported() {
    let f = tempfile::NamedTempFile::new().unwrap();
    assert!(matches!(
        read_bundle(f.path()),
        Err(BundleError::NotADirectory { .. })
    ));
    assert!(matches!(
        read_bundle("/definitely/not/here"),
        Err(BundleError::NotADirectory { .. })
    ));
}

#[test]
fn missing_incident_json_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "metrics.csv", b"timestamp,service,metric,value\n");
    let e = read_bundle(dir.path()).unwrap_err();
    assert!(matches!(e, BundleError::MissingIncident { .. }));
    assert!(e.to_string().contains("incident.json is missing"));
}

#[test]
fn malformed_incident_json_names_field_and_value() {
    let (f, _, field, _, _) = malformed(&[("incident.json", "{not json")]);
    assert_eq!((f.as_str(), field.as_str()), ("incident.json", "<file>"));
    assert_malformed(
        &[("incident.json", "[1,2]")],
        "incident.json",
        1,
        "<file>",
        "[1,2]",
    );
    assert_malformed(
        &[("incident.json", r#"{"id": "x"}"#)],
        "incident.json",
        1,
        "onset",
        "",
    );
    assert_malformed(
        &[("incident.json", r#"{"id": "x", "onset": "soon"}"#)],
        "incident.json",
        1,
        "onset",
        "soon",
    );
    assert_malformed(
        &[("incident.json", r#"{"id": [1], "onset": 1}"#)],
        "incident.json",
        1,
        "id",
        "[1]",
    );
    assert_malformed(
        &[("incident.json", r#"{"onset": 1, "window": {"start": 5}}"#)],
        "incident.json",
        1,
        "window.end",
        "",
    );
    assert_malformed(
        &[(
            "incident.json",
            r#"{"onset": 1, "window": {"start": 10, "end": 5}}"#,
        )],
        "incident.json",
        1,
        "window.end",
        "1970-01-01T00:00:05Z",
    );
    assert_malformed(
        &[("incident.json", r#"{"onset": 1, "window": 3}"#)],
        "incident.json",
        1,
        "window",
        "3",
    );
    assert_malformed(
        &[("incident.json", r#"{"onset": 1, "title": 3}"#)],
        "incident.json",
        1,
        "title",
        "3",
    );
    assert_malformed(
        &[("incident.json", r#"{"onset": 1, "services": "a"}"#)],
        "incident.json",
        1,
        "services",
        "a",
    );
}

#[test]
fn incident_defaults_id_to_directory_and_window_to_data() {
    let dir = bundle(&[
        ("incident.json", r#"{"onset": 1700000100}"#),
        (
            "metrics.csv",
            "timestamp,service,metric,value\n1700000000,a,cpu,1\n1700000200,a,cpu,2\n",
        ),
    ]);
    let b = read_bundle(dir.path()).unwrap();
    assert_eq!(b.incident.id.0, dir.path().file_name().unwrap().to_string_lossy());
    assert_eq!(b.incident.window.start, Timestamp::from_secs(1_700_000_000));
    assert_eq!(b.incident.window.end, Timestamp::from_secs(1_700_000_200));
}

#[test]
fn metrics_errors_name_line_field_and_value() {
    let h = "timestamp,service,metric,value\n";
    assert_malformed(
        &[("metrics.csv", "timestamp,service,value\n1,a,2\n")],
        "metrics.csv",
        1,
        "metric",
        "timestamp,service,value",
    );
    assert_malformed(
        &[("metrics.csv", &format!("{h}1,a,cpu,1\nyesterday,a,cpu,2\n"))],
        "metrics.csv",
        3,
        "timestamp",
        "yesterday",
    );
    assert_malformed(
        &[("metrics.csv", &format!("{h}1,a,cpu,1\n2,a,cpu,lots\n"))],
        "metrics.csv",
        3,
        "value",
        "lots",
    );
    assert_malformed(
        &[("metrics.csv", &format!("{h}1,a,cpu,inf\n"))],
        "metrics.csv",
        2,
        "value",
        "inf",
    );
    assert_malformed(
        &[("metrics.csv", &format!("{h}1,,cpu,1\n"))],
        "metrics.csv",
        2,
        "service",
        "",
    );
    assert_malformed(
        &[("metrics.csv", &format!("{h}1,a,,1\n"))],
        "metrics.csv",
        2,
        "metric",
        "",
    );
    let (f, l, field, _, _) = malformed(&[("metrics.csv", &format!("{h}1,a,cpu,1\n2,a,cpu\n"))]);
    assert_eq!((f.as_str(), l, field.as_str()), ("metrics.csv", 3, "<row>"));
}

#[test]
fn metrics_extra_columns_become_labels_and_time_formats_agree() {
    let dir = bundle(&[(
        "metrics.csv",
        "service,timestamp,metric,value,pod\n\
         a,2024-05-14T10:30:00Z,cpu,1.5,p1\n\
         a,1715682660,cpu,2.5,p1\n\
         a,1715682720000,cpu,,p1\n\
         a,1715682600,cpu,9,p2\n",
    )]);
    let b = read_bundle(dir.path()).unwrap();
    assert_eq!(b.signals.series.len(), 2);
    let s = &b.signals.series[0];
    assert_eq!(s.key.labels.get("pod"), Some("p1"));
    assert_eq!(
        s.timestamps,
        vec![
            Timestamp::from_secs(1_715_682_600),
            Timestamp::from_secs(1_715_682_660),
            Timestamp::from_secs(1_715_682_720)
        ]
    );
    assert_eq!(s.values[..2], [1.5, 2.5]);
    assert!(s.values[2].is_nan(), "an empty value is a missing sample");
}

#[test]
fn gzip_files_are_read_and_corrupt_gzip_is_an_io_error() {
    let dir = bundle(&[]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"timestamp,service,metric,value\n1,a,cpu,1\n")
        .unwrap();
    write(dir.path(), "metrics.csv.gz", &gz.finish().unwrap());
    assert_eq!(read_bundle(dir.path()).unwrap().signals.series.len(), 1);

    let bad = bundle(&[]);
    write(bad.path(), "logs.jsonl.gz", b"\x1f\x8b\x08\x00garbage");
    assert!(matches!(read_bundle(bad.path()), Err(BundleError::Io { .. })));
}

#[test]
fn log_lines_errors_name_line_and_field() {
    let ok = r#"{"timestamp": "2024-05-14T10:30:00Z", "service": "a", "message": "hi"}"#;
    assert_malformed(
        &[("logs.jsonl", &format!("{ok}\n{{oops\n"))],
        "logs.jsonl",
        2,
        "<line>",
        "{oops",
    );
    assert_malformed(
        &[("logs.jsonl", &format!("{ok}\n\n[1]\n"))],
        "logs.jsonl",
        3,
        "<line>",
        "[1]",
    );
    assert_malformed(
        &[("logs.jsonl", r#"{"service": "a", "message": "x"}"#)],
        "logs.jsonl",
        1,
        "timestamp",
        "",
    );
    assert_malformed(
        &[(
            "logs.jsonl",
            r#"{"timestamp": "later", "service": "a", "message": "x"}"#,
        )],
        "logs.jsonl",
        1,
        "timestamp",
        "later",
    );
    assert_malformed(
        &[("logs.jsonl", r#"{"timestamp": 1, "message": "x"}"#)],
        "logs.jsonl",
        1,
        "service",
        "",
    );
    assert_malformed(
        &[("logs.jsonl", r#"{"timestamp": 1, "service": "a"}"#)],
        "logs.jsonl",
        1,
        "message",
        "",
    );
    assert_malformed(
        &[(
            "logs.jsonl",
            r#"{"timestamp": 1, "service": {"x": 1}, "message": "m"}"#,
        )],
        "logs.jsonl",
        1,
        "service",
        r#"{"x":1}"#,
    );
    assert_malformed(
        &[(
            "logs.jsonl",
            r#"{"timestamp": true, "service": "a", "message": "m"}"#,
        )],
        "logs.jsonl",
        1,
        "timestamp",
        "true",
    );
    let dir = bundle(&[]);
    write(
        dir.path(),
        "logs.jsonl",
        b"{\"timestamp\": 1, \"service\": \"a\", \"message\": \"\xff\"}\n",
    );
    match read_bundle(dir.path()) {
        Err(BundleError::Malformed { line: 1, field, .. }) => assert_eq!(field, "<line>"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn log_fields_and_extras_are_kept() {
    let dir = bundle(&[(
        "logs.jsonl",
        "{\"timestamp\": 1715682600123, \"service\": \"a\", \"level\": \"warning\", \"message\": \"slow\", \"trace_id\": \"t1\", \"pod\": \"p\"}\r\n\
         {\"ts\": \"2024-05-14T10:29:00Z\", \"service\": \"b\", \"msg\": \"early\"}\n",
    )]);
    let b = read_bundle(dir.path()).unwrap();
    assert_eq!(b.signals.logs.len(), 2);
    let (early, slow) = (&b.signals.logs[0], &b.signals.logs[1]);
    assert_eq!(early.body, "early");
    assert_eq!(slow.ts, Timestamp::from_millis(1_715_682_600_123));
    assert_eq!(slow.severity, Severity::Warn);
    assert_eq!(slow.trace_id.as_deref(), Some("t1"));
    assert_eq!(slow.attributes.get("pod").and_then(|v| v.as_str()), Some("p"));
    assert_eq!(
        slow.source.as_ref().map(|s| (s.file.as_str(), s.line)),
        Some(("logs.jsonl", 1))
    );
}

#[test]
fn event_errors_and_kinds() {
    assert_malformed(
        &[("events.jsonl", r#"{"timestamp": 1, "service": "a"}"#)],
        "events.jsonl",
        1,
        "kind",
        "",
    );
    assert_malformed(
        &[(
            "events.jsonl",
            r#"{"timestamp": "x", "service": "a", "kind": "deploy"}"#,
        )],
        "events.jsonl",
        1,
        "timestamp",
        "x",
    );
    let dir = bundle(&[(
        "events.jsonl",
        r#"{"timestamp": 2, "service": "a", "kind": "deployment", "version": 2.4, "ticket": "CHG-1"}
{"timestamp": 1, "service": "a", "kind": "feature_flag"}"#,
    )]);
    let b = read_bundle(dir.path()).unwrap();
    assert_eq!(b.signals.events[0].kind, ChangeKind::FeatureFlag);
    assert_eq!(b.signals.events[1].kind, ChangeKind::Deploy);
    assert_eq!(b.signals.events[1].version.as_deref(), Some("2.4"));
    assert!(b.signals.events[1].attributes.contains_key("ticket"));
}

#[test]
fn span_errors_name_field() {
    let base = r#""trace_id": "t", "span_id": "s", "service": "a", "operation": "GET", "start": 1"#;
    assert_malformed(
        &[("traces.jsonl", &format!("{{{base}, \"duration_ms\": -3}}"))],
        "traces.jsonl",
        1,
        "duration_ms",
        "-3",
    );
    assert_malformed(
        &[("traces.jsonl", &format!("{{{base}}}"))],
        "traces.jsonl",
        1,
        "duration_ms",
        "",
    );
    assert_malformed(
        &[(
            "traces.jsonl",
            &format!("{{{base}, \"duration_ms\": 3, \"status\": \"meh\"}}"),
        )],
        "traces.jsonl",
        1,
        "status",
        "meh",
    );
    assert_malformed(
        &[(
            "traces.jsonl",
            r#"{"trace_id": "t", "service": "a", "start": 1, "duration_ms": 1}"#,
        )],
        "traces.jsonl",
        1,
        "span_id",
        "",
    );
    let dir = bundle(&[(
        "traces.jsonl",
        &format!("{{{base}, \"duration_ms\": 2.5, \"status\": \"error\", \"parent_span_id\": null}}"),
    )]);
    let s = &read_bundle(dir.path()).unwrap().signals.spans[0];
    assert_eq!(s.status, SpanStatus::Error);
    assert_eq!(s.duration.0, 2_500_000);
    assert_eq!(s.parent_span_id, None);
}

#[test]
fn alert_errors_and_fingerprints() {
    assert_malformed(
        &[(
            "alerts.jsonl",
            r#"{"starts_at": 1, "status": "burning", "labels": {}}"#,
        )],
        "alerts.jsonl",
        1,
        "status",
        "burning",
    );
    assert_malformed(
        &[(
            "alerts.jsonl",
            r#"{"starts_at": 1, "status": "firing", "labels": [1]}"#,
        )],
        "alerts.jsonl",
        1,
        "labels",
        "[1]",
    );
    assert_malformed(
        &[("alerts.jsonl", r#"{"status": "firing"}"#)],
        "alerts.jsonl",
        1,
        "starts_at",
        "",
    );
    let dir = bundle(&[(
        "alerts.jsonl",
        r#"{"starts_at": "2024-05-14T10:31:00Z", "ends_at": "0001-01-01T00:00:00Z", "status": "firing", "labels": {"alertname": "HighLatency", "service": "checkout"}}"#,
    )]);
    let a = &read_bundle(dir.path()).unwrap().signals.alerts[0];
    assert_eq!(a.ends_at, None, "Alertmanager's zero time means not ended");
    assert_eq!(a.fingerprint.len(), 16);
    assert_eq!(a.service().map(|s| s.to_string()).as_deref(), Some("checkout"));
}

#[test]
fn topology_errors_and_edges() {
    assert_malformed(
        &[("topology.csv", "from,to\na,b\n")],
        "topology.csv",
        1,
        "source",
        "from,to",
    );
    assert_malformed(
        &[("topology.csv", "source,target\na,\n")],
        "topology.csv",
        2,
        "target",
        "",
    );
    assert_malformed(
        &[("topology.csv", "source,target\n,b\n")],
        "topology.csv",
        2,
        "source",
        "",
    );
    let dir = bundle(&[(
        "topology.csv",
        "source,target,kind\nfrontend,checkout,http\ncheckout,db\n",
    )]);
    let t = read_bundle(dir.path()).unwrap().signals.topology;
    assert_eq!(t.len(), 2);
    assert_eq!(t.callees(&"frontend".into()), vec!["checkout".into()]);
}

#[test]
fn raw_text_logs_take_service_from_file_name() {
    let dir = bundle(&[(
        "logs/checkout.log",
        "2024-05-14 10:31:00.123 ERROR [main] c.s.Price - boom\n\
         java.lang.NullPointerException: null\n\
         \tat c.s.Price.apply(Price.java:42)\n\
         2024-05-14 10:31:01.000 INFO [main] c.s.Price - fine\n",
    )]);
    let b = read_bundle(dir.path()).unwrap();
    assert_eq!(b.signals.logs.len(), 2, "the stack trace joins its record");
    assert!(b.signals.logs.iter().all(|l| l.service.as_str() == "checkout"));
    assert!(b.signals.logs[0].body.contains("NullPointerException"));
    assert_eq!(
        b.signals.logs[0].source.as_ref().map(|s| s.file.as_str()),
        Some("logs/checkout.log")
    );
}

//! Property test: whatever bytes a bundle's files hold, reading it returns a value or a typed
//! error — never a panic.
#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use proptest::prelude::*;

fn line_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,60}",
        Just(r#"{"timestamp": 1, "service": "a", "message": "m"}"#.to_owned()),
        Just(r#"{"timestamp": "2024-05-14T10:30:00Z", "service": "a", "kind": "deploy"}"#.to_owned()),
        Just(r#"{"trace_id": "t", "span_id": "s", "service": "a", "start": 1, "duration_ms": 1}"#.to_owned()),
        Just(r#"{"starts_at": 1, "status": "firing", "labels": {"a": "b"}}"#.to_owned()),
        Just("1700000000,a,cpu,1.5".to_owned()),
        Just("2024-05-14 10:31:00 ERROR boom".to_owned()),
        Just("\tat x.Y.z(Y.java:1)".to_owned()),
        "[0-9]{1,20},[a-z]{0,3},[a-z]{0,3},[-0-9.e]{0,8}",
        "\\{\"[a-z_]{1,10}\": [0-9\"a-z\\[\\]{}]{0,10}\\}",
    ]
}

fn file_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(line_strategy(), 0..8).prop_map(|v| v.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn reading_arbitrary_bundles_never_panics(
        incident in prop_oneof![
            Just(r#"{"id": "x", "onset": 1700000000}"#.to_owned()),
            Just(r#"{"onset": "2024-05-14T10:30:00Z", "window": {"start": 1, "end": 2}}"#.to_owned()),
            ".{0,40}",
        ],
        metrics in file_strategy(),
        logs in file_strategy(),
        raw in file_strategy(),
        events in file_strategy(),
        traces in file_strategy(),
        alerts in file_strategy(),
        topology in file_strategy(),
        header in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("incident.json"), incident).unwrap();
        let m = if header { format!("timestamp,service,metric,value\n{metrics}") } else { metrics };
        std::fs::write(p.join("metrics.csv"), m).unwrap();
        std::fs::write(p.join("logs.jsonl"), logs).unwrap();
        std::fs::create_dir(p.join("logs")).unwrap();
        std::fs::write(p.join("logs/svc.log"), raw).unwrap();
        std::fs::write(p.join("events.jsonl"), events).unwrap();
        std::fs::write(p.join("traces.jsonl"), traces).unwrap();
        std::fs::write(p.join("alerts.jsonl"), alerts).unwrap();
        std::fs::write(p.join("topology.csv"), format!("source,target\n{topology}")).unwrap();
        let _ = faultline::bundle::read_bundle(p);
    }
}

//! Telegraf, Sentry and Kubernetes fixtures parse into the signals they describe.

use faultline_core::{AlertStatus, ChangeKind, Severity, Timestamp};
use faultline_ingest::{parse, parse_with, Context, Format, Limits};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")
    ))
    .expect("fixture exists")
}

#[test]
fn telegraf_batch_gives_one_series_per_numeric_field() {
    let body = fixture("telegraf_batch.json");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let numeric: usize = v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["fields"]
                .as_object()
                .unwrap()
                .values()
                .filter(|f| f.is_number() || f.is_boolean())
                .count()
        })
        .sum();
    let ctx = Context {
        received_at: Timestamp::from_secs(1),
        default_service: None,
    };
    let b = parse_with(Format::Telegraf, &body, &Limits::default(), &ctx).unwrap();
    assert_eq!(b.counts().points, numeric);
    let clients = b.series.iter().find(|s| s.key.metric == "redis_clients").unwrap();
    assert_eq!(clients.values, vec![9830.0]);
    assert_eq!(clients.timestamps[0], Timestamp::from_secs(1_715_682_720));
    assert_eq!(clients.key.labels.get("host"), Some("redis-0"));
    let prom = b
        .series
        .iter()
        .find(|s| s.key.metric.starts_with("prometheus_"))
        .unwrap();
    assert_eq!(prom.key.service.as_str(), "cart");
}

#[test]
fn sentry_event_alert_gives_an_error_log_and_a_firing_alert() {
    let b = parse(
        Format::Sentry,
        &fixture("sentry_event_alert.json"),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!((b.logs.len(), b.alerts.len()), (1, 1));
    let log = &b.logs[0];
    assert_eq!(log.service.as_str(), "payments");
    assert_eq!(log.severity, Severity::Error);
    assert_eq!(log.body, "AcquirerUnavailable: acquirer timeout for order 8812");
    assert_eq!(log.trace_id.as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
    assert_eq!(log.attributes["exception.type"], "AcquirerUnavailable");
    assert_eq!(log.attributes["exception.root_type"], "ReadTimeout");
    let stack = log.attributes["exception.stacktrace"].as_str().unwrap();
    assert!(
        stack.contains("payments/gateway.py\", line 93, in authorize"),
        "{stack}"
    );
    assert_eq!(log.ts.to_string(), "2024-05-14T10:32:07.398Z");
    let alert = &b.alerts[0];
    assert_eq!(alert.status, AlertStatus::Firing);
    assert_eq!(alert.service().unwrap().as_str(), "payments");
    assert_eq!(alert.fingerprint, "sentry-5123456789");
}

#[test]
fn kubernetes_events_give_logs_a_versioned_deploy_and_restarts() {
    let b = parse(
        Format::KubernetesEvents,
        &fixture("k8s_events.json"),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(b.logs.len(), 11, "every event is a log record");
    let deploys: Vec<_> = b.events.iter().filter(|e| e.kind == ChangeKind::Deploy).collect();
    assert_eq!(
        deploys.len(),
        2,
        "scale up of the new and scale down of the old replica set"
    );
    assert!(deploys.iter().all(|d| d.service.as_str() == "payments"));
    assert_eq!(deploys[0].version.as_deref(), Some("2.32.0"));
    assert_eq!(deploys[0].ts.to_string(), "2024-05-14T10:30:12Z");
    let restarts: Vec<_> = b
        .events
        .iter()
        .filter(|e| e.kind == ChangeKind::Restart)
        .collect();
    let services: Vec<&str> = restarts.iter().map(|e| e.service.as_str()).collect();
    assert_eq!(
        services,
        ["cart", "redis"],
        "BackOff of cart, OOMKilling of redis-server"
    );
    let probe = b.logs.iter().find(|l| l.body.starts_with("Unhealthy")).unwrap();
    assert_eq!(
        (probe.service.as_str(), probe.severity),
        ("checkout", Severity::Warn)
    );
    assert_eq!(probe.attributes["k8s.count"], 6);
    let oom = b.logs.iter().find(|l| l.body.starts_with("OOMKilling")).unwrap();
    assert_eq!(oom.severity, Severity::Error);
}

#[test]
fn oomkilled_pod_status_is_a_restart_with_its_time() {
    let b = parse(
        Format::KubernetesEvents,
        &fixture("k8s_pod_redis_oomkilled.json"),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!((b.events.len(), b.logs.len()), (1, 1));
    let e = &b.events[0];
    assert_eq!((e.service.as_str(), e.kind), ("redis", ChangeKind::Restart));
    assert_eq!(e.ts.to_string(), "2024-05-14T10:31:58Z");
    assert_eq!(e.attributes["exit_code"], 137);
    assert_eq!(b.logs[0].severity, Severity::Error);
}

#[test]
fn kubernetes_watch_event_and_bad_time() {
    let body = br#"{"type":"ADDED","object":{"kind":"Event","reason":"Killing","message":"Stopping container cart",
        "involvedObject":{"kind":"Pod","name":"cart-7b8d6c9f5-lm3zp"},"firstTimestamp":"2024-05-14T10:32:09Z","type":"Normal"}}"#;
    let b = parse(Format::KubernetesEvents, body, &Limits::default()).unwrap();
    assert_eq!(b.events[0].service.as_str(), "cart");
    let bad = String::from_utf8(fixture("k8s_events.json"))
        .unwrap()
        .replace("2024-05-14T10:30:31Z", "half past ten");
    let e = parse(Format::KubernetesEvents, bad.as_bytes(), &Limits::default()).unwrap_err();
    assert_eq!(e.problem().2.as_deref(), Some("/items/5/firstTimestamp"), "{e}");
}

#[test]
fn sentry_issue_resource_and_missing_data() {
    let body = br#"{"action":"created","data":{"issue":{"id":"42","title":"KeyError: 'cart'","culprit":"cart.store in get",
        "level":"error","firstSeen":"2024-05-14T10:32:09.120Z","project":{"slug":"cart"},"status":"unresolved"}}}"#;
    let b = parse(Format::Sentry, body, &Limits::default()).unwrap();
    assert_eq!((b.logs.len(), b.alerts.len()), (1, 0));
    assert_eq!(
        (b.logs[0].service.as_str(), b.logs[0].body.as_str()),
        ("cart", "KeyError: 'cart'")
    );
    assert_eq!(b.logs[0].attributes["sentry.id"], "42");
    let e = parse(Format::Sentry, br#"{"action":"created"}"#, &Limits::default()).unwrap_err();
    assert_eq!(e.problem().2.as_deref(), Some("/data"), "{e}");
    let e = parse(
        Format::Sentry,
        br#"{"data":{"event":{"title":"x","datetime":"not a time"}}}"#,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(e.problem().2.as_deref(), Some("/data/event/datetime"), "{e}");
}

//! Online log mining on ingested streams: steady info lines open nothing; after warm-up a
//! burst of a never-seen ERROR template opens one incident for its service (cooldown), and
//! publishes an anomaly with its template; a batch of many services stays bounded.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{get, post_json, TestServer};

const T0: i64 = 1_700_000_000;

fn line(service: &str, secs_x10: i64, severity: &str, body: String) -> serde_json::Value {
    serde_json::json!({"ts": T0 * 1_000_000_000 + secs_x10 * 100_000_000, "service": service, "severity": severity, "body": body})
}

/// `n` info lines of three steady templates, one per 100 ms from tick `from`.
fn steady(service: &str, from: i64, n: i64) -> Vec<serde_json::Value> {
    (from..from + n)
        .map(|i| {
            let body = match i % 3 {
                0 => format!("request {i} served in {} ms", i % 97),
                1 => format!("cache hit for key user-{}", i % 13),
                _ => format!("connection from 10.0.0.{} accepted", i % 200),
            };
            line(service, i, "INFO", body)
        })
        .collect()
}

fn ingest(s: &TestServer, logs: Vec<serde_json::Value>) {
    let r = post_json(
        s.addr,
        "/v1/signals/ingest",
        &serde_json::json!({ "logs": logs }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

fn metric(s: &TestServer, name: &str) -> u64 {
    let text = get(s.addr, "/metrics").text();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0)
}

fn wait_for_lines(s: &TestServer, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(s, "faultline_online_log_lines_total ") + metric(s, "faultline_online_log_shed_lines_total ")
        < n
    {
        assert!(Instant::now() < deadline, "log lines not mined in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn incidents(s: &TestServer) -> Vec<serde_json::Value> {
    get(s.addr, "/v1/incidents").json()["incidents"]
        .as_array()
        .unwrap()
        .clone()
}

fn server() -> TestServer {
    TestServer::start(|c, _| {
        c.online.logs.warmup_lines = 200;
        c.online.logs.warmup_secs = 20;
    })
}

#[test]
fn steady_info_logs_open_nothing() {
    let s = server();
    for b in 0..6 {
        ingest(&s, steady("checkout", b * 500, 500));
    }
    wait_for_lines(&s, 3000);
    assert!(incidents(&s).is_empty());
    assert_eq!(metric(&s, "faultline_online_log_anomalies_total "), 0);
}

#[test]
fn a_new_error_template_after_warm_up_opens_one_incident_for_its_service() {
    let s = server();
    for b in 0..4 {
        ingest(&s, steady("checkout", b * 500, 500));
        ingest(&s, steady("search", b * 500, 500));
    }
    wait_for_lines(&s, 4000);
    assert!(incidents(&s).is_empty());
    let burst: Vec<_> = (2000..2050)
        .map(|i| {
            line(
                "checkout",
                i,
                "ERROR",
                format!("payment gateway refused card token {}", i * 7),
            )
        })
        .chain(steady("search", 2000, 50))
        .collect();
    let sent = Instant::now();
    ingest(&s, burst);
    let mut found = None;
    while sent.elapsed() < Duration::from_secs(2) {
        if let Some(inc) = incidents(&s).first() {
            found = Some(inc.clone());
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let inc = found.expect("no incident within 2 s of the burst");
    assert!(inc["id"].as_str().unwrap().starts_with("auto-checkout-"), "{inc}");
    assert_eq!(inc["services"], serde_json::json!(["checkout"]));
    assert!(
        inc["title"].as_str().unwrap().contains("payment gateway refused"),
        "{inc}"
    );
    // Another new error template within the cooldown opens nothing more.
    ingest(
        &s,
        (2050..2060)
            .map(|i| {
                line(
                    "checkout",
                    i,
                    "FATAL",
                    format!("ledger shard {} unreachable", i % 3),
                )
            })
            .collect(),
    );
    wait_for_lines(&s, 4110);
    std::thread::sleep(Duration::from_millis(300));
    let all = incidents(&s);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(metric(&s, "faultline_online_log_anomalies_total ") >= 1);
    assert_eq!(metric(&s, "faultline_auto_incidents_total "), 1);
}

#[test]
fn a_batch_of_many_services_stays_bounded() {
    let s = TestServer::start(|c, _| {
        c.online.logs.max_services = 50;
    });
    let logs: Vec<_> = (0..5000)
        .map(|i| line(&format!("svc-{i}"), i, "ERROR", format!("boom {i}")))
        .collect();
    ingest(&s, logs);
    wait_for_lines(&s, 5000);
    assert_eq!(metric(&s, "faultline_online_log_lines_total "), 50);
    assert_eq!(metric(&s, "faultline_online_log_shed_lines_total "), 4950);
    assert!(incidents(&s).is_empty(), "cold services fire nothing");
    assert_eq!(
        metric(&s, "faultline_ingest_logs_total "),
        5000,
        "storage keeps every line"
    );
}

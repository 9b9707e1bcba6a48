//! The HTTP API end to end over loopback: ingest validation and atomicity, idempotency,
//! authentication and roles, incidents, the OpenAPI document against the router.

#![allow(clippy::unwrap_used)]

mod common;

use common::{batch_json, get, post_json, request, TestServer};

fn stats(s: &TestServer) -> serde_json::Value {
    get(s.addr, "/v1/stats").json()
}

#[test]
fn a_batch_is_committed_whole_and_a_bad_record_rejects_all_of_it() {
    let s = TestServer::start(|_, _| {});
    let r = post_json(s.addr, "/v1/signals/ingest", &batch_json("latency_ms", 0, 50));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["accepted"]["points"], 50);
    assert!(r.header("x-request-id").is_some());
    assert_eq!(stats(&s)["points"], 50);
    assert_eq!(stats(&s)["logs"], 50);

    // Record 1 of `logs` has a bad timestamp: the good metric points before it are not written.
    let bad = r#"{"metrics":[{"ts":"2024-05-14T10:30:00Z","service":"a","metric":"m","value":1}],
                  "logs":[{"ts":"2024-05-14T10:30:00Z","service":"a","body":"ok"},
                          {"ts":"yesterday","service":"a","body":"x"}]}"#;
    let r = post_json(s.addr, "/v1/signals/ingest", bad);
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let p = r.json();
    assert_eq!(p["pointer"], "/logs/1/ts");
    assert!(p["detail"].as_str().unwrap().contains("yesterday"));
    assert_eq!(stats(&s)["points"], 50, "nothing of the refused batch is written");

    let m = get(s.addr, "/metrics").text();
    assert!(m.contains("faultline_ingest_batches_total 1"), "{m}");
    assert!(m.contains("faultline_ingest_rejected_total 1"), "{m}");
}

#[test]
fn alertmanager_webhook_and_gzip_bodies_are_ingested() {
    let s = TestServer::start(|_, _| {});
    let body = br#"{"version":"4","status":"firing","alerts":[{"status":"firing",
      "labels":{"alertname":"CheckoutLatencyHigh","service":"checkout"},
      "annotations":{"summary":"p99 above 1.5s"},
      "startsAt":"2024-05-14T10:32:30.512Z","endsAt":"0001-01-01T00:00:00Z"}]}"#;
    let r = request(
        s.addr,
        "POST",
        "/v1/ingest/alertmanager",
        &[("Content-Type", "application/json")],
        body,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(stats(&s)["alerts"], 1);

    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(batch_json("cpu", 0, 10).as_bytes()).unwrap();
    let r = request(
        s.addr,
        "POST",
        "/v1/signals/ingest",
        &[("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
        &gz.finish().unwrap(),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(stats(&s)["points"], 10);

    let r = request(
        s.addr,
        "POST",
        "/v1/signals/ingest",
        &[("Content-Type", "image/png")],
        b"x",
    )
    .unwrap();
    assert_eq!(r.status, 415);
}

#[test]
fn an_idempotency_key_replays_the_first_answer_and_writes_once() {
    let s = TestServer::start(|_, _| {});
    let body = batch_json("errors", 0, 20);
    let h = [
        ("Content-Type", "application/json"),
        ("Idempotency-Key", "batch-0001"),
    ];
    let first = request(s.addr, "POST", "/v1/signals/ingest", &h, body.as_bytes()).unwrap();
    assert_eq!(first.status, 200);
    let again = request(s.addr, "POST", "/v1/signals/ingest", &h, body.as_bytes()).unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(stats(&s)["points"], 20, "stored once");

    let other = batch_json("errors", 100, 5);
    let r = request(s.addr, "POST", "/v1/signals/ingest", &h, other.as_bytes()).unwrap();
    assert_eq!(
        r.status,
        422,
        "a key reused with another body is refused: {}",
        r.text()
    );

    // Non-ingest POSTs are replayed too.
    let open = r#"{"id":"inc-idem","title":"t","onset":"2023-11-14T22:15:00Z"}"#;
    let h = [
        ("Content-Type", "application/json"),
        ("Idempotency-Key", "open-1"),
    ];
    assert_eq!(
        request(s.addr, "POST", "/v1/incidents/open", &h, open.as_bytes())
            .unwrap()
            .status,
        201
    );
    let r = request(s.addr, "POST", "/v1/incidents/open", &h, open.as_bytes()).unwrap();
    assert_eq!(r.status, 201, "replayed, not a conflict: {}", r.text());
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
}

fn keyed_server() -> TestServer {
    TestServer::start(|c, dir| {
        let keys = dir.join("keys.yaml");
        std::fs::write(
            &keys,
            "keys:\n  - {name: viewer, key: viewer-key-1, role: viewer}\n  - {name: ci, key: operator-key-1, role: operator}\n  - {name: alice, key: approver-key-1, role: approver}\n  - {name: slow, key: slow-key-0001, role: viewer, rate_per_sec: 0.5, burst: 2}\n",
        )
        .unwrap();
        c.api_keys_file = Some(keys);
    })
}

#[test]
fn keys_and_roles_gate_every_route_but_health() {
    let s = keyed_server();
    assert_eq!(get(s.addr, "/healthz").status, 200);
    assert_eq!(get(s.addr, "/readyz").status, 200);
    let r = get(s.addr, "/v1/incidents");
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let body = batch_json("m", 0, 3);
    let with = |key: &str| {
        let auth = format!("Bearer {key}");
        request(
            s.addr,
            "POST",
            "/v1/signals/ingest",
            &[("Content-Type", "application/json"), ("Authorization", &auth)],
            body.as_bytes(),
        )
        .unwrap()
        .status
    };
    assert_eq!(with("viewer-key-1"), 403);
    assert_eq!(with("approver-key-1"), 403, "approvers only approve");
    assert_eq!(with("operator-key-1"), 200);
    assert_eq!(with("wrong-key-xxxx"), 401);
    let r = request(
        s.addr,
        "GET",
        "/v1/incidents",
        &[("X-Api-Key", "viewer-key-1")],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200);

    let statuses: Vec<u16> = (0..4)
        .map(|_| {
            request(
                s.addr,
                "GET",
                "/v1/incidents",
                &[("X-Api-Key", "slow-key-0001")],
                b"",
            )
            .unwrap()
            .status
        })
        .collect();
    assert_eq!(&statuses[..2], &[200, 200]);
    assert_eq!(statuses[3], 429, "{statuses:?}");
}

#[test]
fn no_cors_headers_unless_configured() {
    let s = TestServer::start(|_, _| {});
    let r = request(
        s.addr,
        "GET",
        "/v1/incidents",
        &[("Origin", "https://evil.example")],
        b"",
    )
    .unwrap();
    assert!(r.header("access-control-allow-origin").is_none());
    let s = TestServer::start(|c, _| c.cors_allow_origins = vec!["https://ops.example".into()]);
    let r = request(
        s.addr,
        "GET",
        "/v1/incidents",
        &[("Origin", "https://ops.example")],
        b"",
    )
    .unwrap();
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://ops.example")
    );
    let r = request(
        s.addr,
        "GET",
        "/v1/incidents",
        &[("Origin", "https://evil.example")],
        b"",
    )
    .unwrap();
    assert!(r.header("access-control-allow-origin").is_none());
}

#[test]
fn body_limit_gives_413() {
    let s = TestServer::start(|c, _| c.max_body_bytes = 4096);
    let r = post_json(s.addr, "/v1/signals/ingest", &batch_json("m", 0, 200));
    assert_eq!(r.status, 413, "{}", r.text());
}

#[test]
fn preloaded_incident_is_analysed_and_reanalysed_from_stored_signals() {
    let s = TestServer::start(common::preload_deploy_example);
    let list = get(s.addr, "/v1/incidents").json();
    let incidents = list["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1);
    let id = incidents[0]["id"].as_str().unwrap().to_owned();

    let inc = get(s.addr, &format!("/v1/incidents/{id}")).json();
    assert_eq!(inc["analyzed"], true);
    assert_eq!(inc["hypotheses"][0]["service"], "checkout");

    let ev = get(s.addr, &format!("/v1/incidents/{id}/evidence")).json();
    assert!(!ev["evidence"].as_array().unwrap().is_empty());
    let md = get(s.addr, &format!("/v1/incidents/{id}/report?format=md"));
    assert_eq!(md.status, 200);
    assert!(md.text().contains("checkout"));
    let html = get(s.addr, &format!("/v1/incidents/{id}/report?format=html"));
    assert_eq!(html.status, 200);
    let page = html.text();
    assert!(
        page.starts_with("<!DOCTYPE html>"),
        "{}",
        &page[..page.len().min(200)]
    );
    assert!(page.contains("checkout"));
    // The stored series of the window are charted.
    assert!(page.contains("<svg"), "no chart in the HTML report");
    assert_eq!(
        get(s.addr, &format!("/v1/incidents/{id}/report?format=pdf")).status,
        400
    );

    // A second incident over the same window, analysed from what the store holds.
    let window = &inc["incident"]["window"];
    let open = serde_json::json!({"id": "inc-2", "title": "again", "onset": inc["incident"]["onset"], "window": window});
    let r = post_json(s.addr, "/v1/incidents/open", &open.to_string());
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        post_json(s.addr, "/v1/incidents/open", &open.to_string()).status,
        409
    );
    let report = post_json(s.addr, "/v1/incidents/inc-2/analyze", "");
    assert_eq!(report.status, 200, "{}", report.text());
    assert_eq!(report.json()["hypotheses"][0]["service"], "checkout");
    assert_eq!(get(s.addr, "/v1/incidents/nope").status, 404);
    assert_eq!(get(s.addr, "/v1/incidents/nope/report").status, 404);
}

#[test]
fn openapi_document_matches_the_router() {
    let s = TestServer::start(|_, _| {});
    let doc = get(s.addr, "/v1/openapi.json").json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20);
    for (path, ops) in paths {
        let concrete = path.replace("{id}", "x").replace("{format}", "alertmanager");
        for (method, _) in ops.as_object().unwrap() {
            let r = request(
                s.addr,
                &method.to_uppercase(),
                &concrete,
                &[("Content-Type", "application/json")],
                b"{}",
            )
            .unwrap();
            let routed = !(r.status == 404 && r.text().contains("no route")) && r.status != 405;
            assert!(
                routed,
                "{method} {path} is documented but not routed: {} {}",
                r.status,
                r.text()
            );
        }
    }
    // And the reverse: an undocumented path is not routed.
    let r = get(s.addr, "/v1/undocumented");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("no route"));
}

/// A steady series then a spike: online detection opens an incident for the service and
/// analyses it, without anyone calling `/open`.
#[test]
fn a_spike_in_an_ingested_series_opens_an_incident_automatically() {
    let s = TestServer::start(|_, _| {});
    let t0 = 1_700_000_000i64;
    let point = |i: i64, v: f64| serde_json::json!({"ts": (t0 + i * 10) * 1_000_000_000, "service": "payments", "metric": "latency_ms", "value": v});
    let steady: Vec<_> = (0..300)
        .map(|i| point(i, 100.0 + ((i * 37) % 11) as f64))
        .collect();
    let r = post_json(
        s.addr,
        "/v1/signals/ingest",
        &serde_json::json!({"metrics": steady}).to_string(),
    );
    assert_eq!(r.status, 200);
    assert!(get(s.addr, "/v1/incidents").json()["incidents"]
        .as_array()
        .unwrap()
        .is_empty());
    let spike: Vec<_> = (300..306).map(|i| point(i, 5000.0)).collect();
    let r = post_json(
        s.addr,
        "/v1/signals/ingest",
        &serde_json::json!({"metrics": spike}).to_string(),
    );
    assert_eq!(r.status, 200);
    let mut found = None;
    for _ in 0..200 {
        let list = get(s.addr, "/v1/incidents").json();
        if let Some(inc) = list["incidents"].as_array().unwrap().first() {
            found = Some(inc.clone());
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let inc = found.expect("no incident opened within 5 s");
    let id = inc["id"].as_str().unwrap();
    assert!(id.starts_with("auto-payments-"), "{inc}");
    assert_eq!(inc["services"][0], "payments");
    let mut analyzed = false;
    for _ in 0..200 {
        if get(s.addr, &format!("/v1/incidents/{id}")).json()["analyzed"] == true {
            analyzed = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(analyzed, "the automatic incident is analysed");
    assert!(get(s.addr, "/metrics")
        .text()
        .contains("faultline_auto_incidents_total 1"));
}

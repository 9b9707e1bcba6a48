//! `GET /v1/metrics/dora` over a small generated history (deploy events, incidents opened and
//! resolved through the API), checked against values computed by hand; and
//! `POST /v1/incidents/{id}/resolve`.

#![allow(clippy::unwrap_used)]

mod common;

use common::{get, post_json, TestServer};

const H: i64 = 3600;
const D: i64 = 86_400;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn ns(secs: i64) -> i64 {
    secs * 1_000_000_000
}

#[test]
fn dora_metrics_match_a_hand_computed_history() {
    let s = TestServer::start(|_, _| {});
    let t = now();
    let events = serde_json::json!([
        // Outside a 7-day window.
        {"timestamp": t - 10 * D, "service": "api", "kind": "deploy", "commit_time": t - 10 * D - H},
        // Lead time 2 h.
        {"timestamp": t - 5 * D, "service": "api", "kind": "deploy", "version": "1.1", "commit_time": t - 5 * D - 2 * H},
        // Lead times 4 h and 6 h (GitHub push-webhook shape).
        {"timestamp": t - 3 * D, "service": "api", "kind": "deploy", "version": "1.2",
         "commits": [{"timestamp": t - 3 * D - 4 * H}, {"timestamp": t - 3 * D - 6 * H}]},
        // No commit time; environment prod.
        {"timestamp": t - 2 * D, "service": "web", "kind": "deploy", "environment": "prod"},
        // Not a deploy.
        {"timestamp": t - D, "service": "web", "kind": "config"},
    ]);
    let r = post_json(s.addr, "/v1/events", &events.to_string());
    assert_eq!(r.status, 200, "{}", r.text());

    let open = |id: &str, service: &str, onset: i64| {
        let body = serde_json::json!({"id": id, "title": id, "onset": ns(onset), "services": [service]});
        let r = post_json(s.addr, "/v1/incidents/open", &body.to_string());
        assert_eq!(r.status, 201, "{}", r.text());
    };
    let resolve = |id: &str, at: i64| {
        let r = post_json(
            s.addr,
            &format!("/v1/incidents/{id}/resolve"),
            &serde_json::json!({"resolved_at": ns(at), "comment": "rolled back"}).to_string(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    };
    // 1 h after api's -3d deploy (horizon rule pins it); restored after 40 min.
    open("i-1", "api", t - 3 * D + H);
    let r = resolve("i-1", t - 3 * D + H + 2400);
    assert_eq!(r["time_to_restore_secs"], 2400.0);
    assert_eq!(r["incident"]["status"], "resolved");
    // 26 h after web's deploy: beyond the 24 h horizon; restored after 3 h.
    open("i-2", "web", t - 2 * D + 26 * H);
    resolve("i-2", t - 2 * D + 29 * H);
    // Still open; no api deploy in the 24 h before it.
    open("i-3", "api", t - 6 * H);

    let d = get(s.addr, "/v1/metrics/dora?window=7d").json();
    let f = &d["deployment_frequency"];
    assert_eq!(f["deploys"], 3, "{d:#}");
    assert!((f["per_day"].as_f64().unwrap() - 3.0 / 7.0).abs() < 1e-9);
    assert_eq!(f["band"], "high");
    let l = &d["lead_time_for_changes"];
    assert_eq!(
        (l["changes"].as_u64(), l["deploys_with_commit_time"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(l["median_secs"], 4.0 * H as f64);
    assert_eq!(l["p90_secs"], 6.0 * H as f64);
    assert_eq!(l["band"], "elite");
    let c = &d["change_failure_rate"];
    assert_eq!(
        (c["failed"].as_u64(), c["by_horizon"].as_u64()),
        (Some(1), Some(1)),
        "{d:#}"
    );
    assert!((c["rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(c["band"], "low");
    let r = &d["time_to_restore"];
    assert_eq!(
        (r["resolved"].as_u64(), r["unresolved"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(r["median_secs"], 6600.0);
    assert_eq!(r["p90_secs"], 10800.0);
    assert_eq!(r["band"], "high");
    assert!(d["bands_source"].as_str().unwrap().contains("2023"));

    // Filters and other windows.
    let web = get(s.addr, "/v1/metrics/dora?window=7d&service=web").json();
    assert_eq!(web["deployment_frequency"]["deploys"], 1);
    assert!(web["lead_time_for_changes"]["median_secs"].is_null());
    assert!(web["lead_time_for_changes"]["reason"]
        .as_str()
        .unwrap()
        .contains("commit"));
    let prod = get(s.addr, "/v1/metrics/dora?window=30d&environment=prod").json();
    assert_eq!(prod["deployment_frequency"]["deploys"], 1);
    let day = get(s.addr, "/v1/metrics/dora?window=24h").json();
    assert_eq!(day["deployment_frequency"]["deploys"], 0);
    assert!(day["change_failure_rate"]["rate"].is_null());
    assert_eq!(
        get(s.addr, "/v1/metrics/dora?window=90d").json()["deployment_frequency"]["deploys"],
        4
    );
    assert_eq!(get(s.addr, "/v1/metrics/dora").json()["window_days"], 30.0);
    let bad = get(s.addr, "/v1/metrics/dora?window=fortnight");
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("window"), "{}", bad.text());
    assert_eq!(get(s.addr, "/v1/metrics/dora?windw=7d").status, 400);

    // The resolutions are in the signed audit log.
    let audit = get(s.addr, "/v1/audit/verify").json();
    assert_eq!(
        (audit["ok"].as_bool(), audit["records"].as_u64()),
        (Some(true), Some(2)),
        "{audit}"
    );
}

#[test]
fn resolve_refuses_twice_before_onset_and_unknown() {
    let s = TestServer::start(|_, _| {});
    let t = now();
    let body = serde_json::json!({"id": "x-1", "onset": ns(t - H)});
    assert_eq!(
        post_json(s.addr, "/v1/incidents/open", &body.to_string()).status,
        201
    );
    let early = serde_json::json!({"resolved_at": ns(t - 2 * H)}).to_string();
    let r = post_json(s.addr, "/v1/incidents/x-1/resolve", &early);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("onset"), "{}", r.text());
    let r = post_json(s.addr, "/v1/incidents/x-1/resolve", "");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["time_to_restore_secs"].as_f64().unwrap() >= 3600.0);
    assert_eq!(post_json(s.addr, "/v1/incidents/x-1/resolve", "").status, 409);
    assert_eq!(post_json(s.addr, "/v1/incidents/nope/resolve", "").status, 404);
    assert_eq!(
        get(s.addr, "/v1/incidents/x-1").json()["incident"]["status"],
        "resolved"
    );
}

//! The remediation flow over HTTP: plan → preflight → approve → execute → verify, roles,
//! the own-plan rule in production, and the audit log verifying at the end.

#![allow(clippy::unwrap_used)]

mod common;

use common::{request, Resp, TestServer};

fn call(s: &TestServer, key: &str, method: &str, path: &str, body: &str) -> Resp {
    request(
        s.addr,
        method,
        path,
        &[("Content-Type", "application/json"), ("X-Api-Key", key)],
        body.as_bytes(),
    )
    .unwrap()
}

#[test]
fn a_production_fix_goes_through_every_step_and_the_audit_log_verifies() {
    let s = TestServer::start(|c, dir| {
        common::preload_deploy_example(c, dir);
        common::api_keys(
            c,
            dir,
            "keys:\n  - {name: ci, key: operator-key-1, role: operator}\n  - {name: alice, key: approver-key-1, role: approver}\n  - {name: root, key: admin-key-0001, role: admin}\n",
        );
    });
    let list = call(&s, "operator-key-1", "GET", "/v1/incidents", "").json();
    let incident = list["incidents"][0]["id"].as_str().unwrap().to_owned();

    let plan_req = serde_json::json!({"incident": incident, "environment": "prod"}).to_string();
    let r = call(&s, "operator-key-1", "POST", "/v1/fix/plan", &plan_req);
    assert_eq!(r.status, 201, "{}", r.text());
    let plan = r.json()["plan"]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["plan"]["environment"], "prod");
    assert_eq!(
        call(&s, "approver-key-1", "POST", "/v1/fix/plan", &plan_req).status,
        403,
        "approvers only approve"
    );

    let p = serde_json::json!({"plan": plan}).to_string();
    let r = call(&s, "approver-key-1", "POST", "/v1/fix/approve", &p);
    assert_eq!(
        r.status,
        409,
        "approval before preflight is refused: {}",
        r.text()
    );
    let r = call(&s, "operator-key-1", "POST", "/v1/fix/preflight", &p);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["plan"]["state"], "preflighted", "{}", r.text());

    let r = call(&s, "operator-key-1", "POST", "/v1/fix/execute", &p);
    assert_eq!(
        r.status,
        409,
        "execution without approval is refused: {}",
        r.text()
    );
    assert_eq!(
        call(&s, "operator-key-1", "POST", "/v1/fix/approve", &p).status,
        403
    );
    let r = call(&s, "approver-key-1", "POST", "/v1/fix/approve", &p);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["approved_by"], "alice");

    let shell = serde_json::json!({"plan": plan, "runner": {"kind": "shell"}}).to_string();
    assert_eq!(
        call(&s, "operator-key-1", "POST", "/v1/fix/execute", &shell).status,
        400,
        "shell is not enabled"
    );
    let r = call(&s, "operator-key-1", "POST", "/v1/fix/execute", &p);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["plan"]["state"], "executing", "{}", r.text());

    let same: Vec<f64> = (0..30).map(|i| 100.0 + (i % 5) as f64).collect();
    let v =
        serde_json::json!({"plan": plan, "baseline": {"latency_ms": same}, "canary": {"latency_ms": same}})
            .to_string();
    let r = call(&s, "operator-key-1", "POST", "/v1/fix/verify", &v);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["plan"]["state"], "verified", "{}", r.text());
    let got = call(&s, "approver-key-1", "GET", &format!("/v1/fix/plans/{plan}"), "");
    assert_eq!(got.json()["plan"]["state"], "verified");

    // An admin may plan and approve, but not approve their own production plan.
    let r = call(&s, "admin-key-0001", "POST", "/v1/fix/plan", &plan_req);
    assert_eq!(r.status, 201);
    let own = serde_json::json!({"plan": r.json()["plan"]["id"]}).to_string();
    assert_eq!(
        call(&s, "admin-key-0001", "POST", "/v1/fix/preflight", &own).status,
        200
    );
    let r = call(&s, "admin-key-0001", "POST", "/v1/fix/approve", &own);
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("may not approve"));

    let audit = call(&s, "approver-key-1", "GET", "/v1/audit/verify", "").json();
    assert_eq!(audit["ok"], true, "{audit}");
    assert!(audit["records"].as_u64().unwrap() >= 7, "{audit}");
}

//! The HTTP runner against a fake server on a local TcpListener.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::sync::mpsc;

use faultline_testkit::{Answer, Request};

use faultline_core::ports::{ManualClock, RunMode, Runner};
use faultline_core::{FixPlan, IncidentId, PlanId, PlanState, Step};
use faultline_remediate::approval::Plan;
use faultline_remediate::http::{HttpAuth, HttpRequest};
use faultline_remediate::http_runner::{HttpRunner, HttpRunnerConfig};
use faultline_remediate::preflight::Preflight;
use serde_json::{json, Value};

/// Serves `answers.len()` connections, answering each with (status, body) in order.
fn fake_server(answers: Vec<(u16, &'static str)>) -> (String, mpsc::Receiver<Request>) {
    faultline_testkit::serve(
        answers
            .into_iter()
            .map(|(status, body)| Answer::status(status, body))
            .collect(),
    )
}

fn runner(base: &str) -> HttpRunner {
    HttpRunner::try_new(HttpRunnerConfig {
        allowed_url_prefixes: vec![format!("{base}/")],
        env_passthrough: vec!["PD_TOKEN".into(), "PD_ROUTING_KEY".into()],
        timeout_ms: 5_000,
        ..Default::default()
    })
    .unwrap()
    .with_var("PD_TOKEN", "s3cret")
    .with_var("PD_ROUTING_KEY", "R-123")
}

fn event_step(base: &str) -> Step {
    let send = HttpRequest {
        method: "POST".into(),
        url: format!("{base}/v2/enqueue"),
        content_type: "application/json".into(),
        auth: HttpAuth::Bearer("PD_TOKEN".into()),
        body: Some(
            json!({ "routing_key": "{{env:PD_ROUTING_KEY}}", "event_action": "trigger",
            "payload": { "summary": "checkout rolled back: it's done", "severity": "warning" } }),
        ),
    };
    let check = HttpRequest {
        method: "GET".into(),
        body: None,
        url: format!("{base}/v2/health"),
        ..send.clone()
    };
    Step {
        action: "pagerduty_event".into(),
        target: "pagerduty".into(),
        script: send.to_curl(),
        dry_run: check.to_curl(),
        rollback: "echo 'nothing to undo'".into(),
    }
}

#[tokio::test]
async fn sends_the_request_with_secrets_filled_from_allow_listed_variables() {
    let (base, seen) = fake_server(vec![(202, r#"{"status":"success"}"#)]);
    let out = runner(&base)
        .run(&event_step(&base), RunMode::Execute)
        .await
        .unwrap();
    assert_eq!(out.status, 0, "{}", out.output);
    assert!(
        out.output.starts_with("HTTP 202") && out.output.contains("success"),
        "{}",
        out.output
    );
    let s = seen.recv().unwrap();
    assert_eq!(s.line, "POST /v2/enqueue HTTP/1.1");
    assert_eq!(s.header("authorization"), Some("Bearer s3cret"));
    assert_eq!(s.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&s.body).unwrap();
    assert_eq!(body["routing_key"], "R-123", "placeholder filled");
    assert_eq!(body["payload"]["summary"], "checkout rolled back: it's done");
}

#[tokio::test]
async fn error_answers_become_the_step_status() {
    let (base, seen) = fake_server(vec![(500, r#"{"error":"boom"}"#)]);
    let out = runner(&base)
        .run(&event_step(&base), RunMode::Execute)
        .await
        .unwrap();
    assert_eq!(out.status, 500);
    assert!(out.output.contains("boom"));
    assert_eq!(seen.recv().unwrap().line, "POST /v2/enqueue HTTP/1.1");
}

#[tokio::test]
async fn refuses_what_it_must_not_send() {
    let base = "http://127.0.0.1:9"; // nothing listens; nothing may be sent anyway
    let r = runner(base);
    let mut step = event_step(base);
    // A variable outside the pass-through list.
    step.script = step.script.replace("PD_TOKEN", "AWS_SECRET_ACCESS_KEY");
    let e = r.run(&step, RunMode::Execute).await.unwrap_err().to_string();
    assert!(e.contains("pass-through"), "{e}");
    // A URL outside the allow-list, and https without TLS.
    for url in [
        "http://10.0.0.1/v2/enqueue",
        "https://events.pagerduty.com/v2/enqueue",
    ] {
        let mut step = event_step(base);
        step.script = step.script.replace(&format!("{base}/v2/enqueue"), url);
        let e = r.run(&step, RunMode::Execute).await.unwrap_err().to_string();
        assert!(e.contains("allow-listed") || e.contains("TLS"), "{url}: {e}");
    }
    // Not an HTTP step.
    step.script = "kubectl rollout undo deployment/checkout".into();
    assert!(r.run(&step, RunMode::Execute).await.is_err());
    // Extra curl options are refused, not passed on.
    step.script = format!("curl -X POST {base}/v2/enqueue -o /etc/passwd");
    assert!(r.run(&step, RunMode::Execute).await.is_err());
    // An echo step succeeds without a request.
    step.script = "echo 'nothing to undo'".into();
    let out = r.run(&step, RunMode::Execute).await.unwrap();
    assert_eq!((out.status, out.output.as_str()), (0, "nothing to undo"));
}

#[tokio::test]
async fn approved_plan_runs_through_the_http_runner() {
    // Preflight's dry run (GET) and the execution (POST) both reach the server.
    let (base, seen) = fake_server(vec![(200, "{}"), (202, "{}")]);
    let fix = FixPlan {
        id: PlanId::derive(&["http-test"]),
        incident: IncidentId("INC-1".into()),
        hypothesis: faultline_core::HypothesisId("hyp-1".into()),
        service: faultline_core::ServiceId::new("checkout"),
        environment: "production".into(),
        rationale: "page the owner".into(),
        steps: vec![event_step(&base)],
        risk: 0.1,
        state: PlanState::Draft,
    };
    let clock = ManualClock::default();
    let r = runner(&base);
    let pre = Plan::new(fix)
        .preflight(&Preflight::default(), &r, &clock)
        .await
        .map_err(|f| f.report.reasons)
        .unwrap();
    assert_eq!(seen.recv().unwrap().line, "GET /v2/health HTTP/1.1");
    let approved = pre
        .approve("alice", &clock, "page them")
        .map_err(|_| "refused")
        .unwrap();
    let done = approved
        .execute(&r, &clock)
        .await
        .map_err(|f| f.reason().to_owned())
        .unwrap();
    assert_eq!(done.executions()[0].status, 0);
    assert_eq!(done.executions()[0].runner, "http");
    assert_eq!(seen.recv().unwrap().line, "POST /v2/enqueue HTTP/1.1");
}

/// https against a loopback server whose self-signed certificate is made in the test.
#[cfg(feature = "tls")]
mod tls {
    use super::*;

    /// A TLS server for one connection; returns the base URL, the CA PEM and what it saw
    /// (`None` when the handshake failed).
    fn tls_server(status: u16, answer: &'static str) -> (String, String, mpsc::Receiver<Option<Request>>) {
        let server = faultline_testkit::serve_tls(vec![Answer::status(status, answer)]);
        (server.base, server.ca_pem, server.seen)
    }

    fn tls_runner(base: &str, ca: Option<String>) -> HttpRunner {
        HttpRunner::try_new(HttpRunnerConfig {
            allowed_url_prefixes: vec![format!("{base}/")],
            env_passthrough: vec!["PD_TOKEN".into(), "PD_ROUTING_KEY".into()],
            timeout_ms: 5_000,
            ca_certs_pem: ca.into_iter().collect(),
            ..Default::default()
        })
        .unwrap()
        .with_var("PD_TOKEN", "s3cret")
        .with_var("PD_ROUTING_KEY", "R-123")
    }

    #[tokio::test]
    async fn https_request_reaches_a_server_whose_ca_is_trusted() {
        let (base, ca, seen) = tls_server(202, r#"{"status":"success"}"#);
        let out = tls_runner(&base, Some(ca))
            .run(&event_step(&base), RunMode::Execute)
            .await
            .unwrap();
        assert_eq!(out.status, 0, "{}", out.output);
        let s = seen.recv().unwrap().expect("the handshake succeeds");
        assert_eq!(s.line, "POST /v2/enqueue HTTP/1.1");
        assert_eq!(s.header("authorization"), Some("Bearer s3cret"));
        let body: Value = serde_json::from_str(&s.body).unwrap();
        assert_eq!(body["routing_key"], "R-123");
    }

    #[tokio::test]
    async fn https_to_an_untrusted_certificate_sends_nothing() {
        // The public roots do not vouch for a self-signed certificate.
        let (base, _ca, seen) = tls_server(202, "{}");
        let err = tls_runner(&base, None)
            .run(&event_step(&base), RunMode::Execute)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.to_lowercase().contains("certificate") || err.contains("issuer"),
            "{err}"
        );
        assert!(
            seen.recv().unwrap().is_none(),
            "no request after a failed handshake"
        );
    }
}

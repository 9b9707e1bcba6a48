//! The Rego policy gives readable deny reasons.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "rego")]

use std::sync::Arc;

use faultline_core::ports::{ManualClock, PolicyEngine};
use faultline_core::{FixPlan, PlanId, PlanState, Step, Timestamp};
use faultline_remediate::rego::RegoPolicy;
use serde_json::json;

fn plan(env: &str, scripts: &[&str]) -> FixPlan {
    let (report, h) = faultline_remediate::testing::deploy_report("checkout", 0.9);
    FixPlan {
        id: PlanId::derive(&["rego"]),
        incident: report.incident.id,
        hypothesis: h.id,
        service: h.service,
        environment: env.into(),
        rationale: String::new(),
        steps: scripts
            .iter()
            .map(|s| Step {
                action: "test".into(),
                target: "t".into(),
                script: (*s).into(),
                dry_run: String::new(),
                rollback: String::new(),
            })
            .collect(),
        risk: 0.3,
        state: PlanState::Draft,
    }
}

// Tuesday 2024-05-14 10:45 UTC.
fn tuesday_morning() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp::from_secs(1_715_683_500)))
}

#[test]
fn default_policy_allows_a_plain_rollback() {
    let p = RegoPolicy::default_policy(json!({})).unwrap();
    let d = p.evaluate(&plan(
        "prod",
        &["kubectl rollout undo deployment/checkout -n shop"],
    ));
    assert!(d.allowed, "{:?}", d.reasons);
}

#[test]
fn denies_deletes_in_prod_with_a_readable_reason() {
    let p = RegoPolicy::default_policy(json!({})).unwrap();
    let d = p.evaluate(&plan("prod", &["kubectl delete pod checkout-1 -n shop"]));
    assert!(!d.allowed);
    assert_eq!(
        d.reasons,
        vec!["step 1 (test) would delete ('delete') in production".to_string()]
    );
    assert!(
        p.evaluate(&plan("staging", &["kubectl delete pod checkout-1 -n shop"]))
            .allowed
    );
}

#[test]
fn denies_unknown_tools_and_namespaces() {
    let p = RegoPolicy::default_policy(json!({ "allowed_namespaces": ["shop"] })).unwrap();
    let d = p.evaluate(&plan(
        "staging",
        &[
            "kubectl scale deployment/x -n kube-system --replicas=3",
            "nc -l 80",
        ],
    ));
    assert!(!d.allowed);
    assert!(
        d.reasons.iter().any(|r| r.contains("namespace 'kube-system'")),
        "{:?}",
        d.reasons
    );
    assert!(d.reasons.iter().any(|r| r.contains("'nc'")), "{:?}", d.reasons);
    assert_eq!(d.reasons.len(), 2, "kubectl itself is allowed: {:?}", d.reasons);
}

#[test]
fn change_window_applies_to_production_only() {
    let window =
        json!({ "change_window": { "start_hour_utc": 12, "end_hour_utc": 16, "weekdays": [1, 2, 3, 4] } });
    let p = RegoPolicy::default_policy(window)
        .unwrap()
        .with_clock(tuesday_morning());
    let prod = plan("prod", &["kubectl rollout undo deployment/checkout -n shop"]);
    let d = p.evaluate(&prod);
    assert!(!d.allowed);
    assert!(
        d.reasons[0].contains("between 12:00 and 16:00 UTC"),
        "{:?}",
        d.reasons
    );
    assert!(
        p.evaluate(&plan(
            "staging",
            &["kubectl rollout undo deployment/checkout -n shop"]
        ))
        .allowed
    );
    let afternoon = Arc::new(ManualClock::new(Timestamp::from_secs(1_715_683_500 + 3 * 3600)));
    let p = p.with_clock(afternoon);
    assert!(p.evaluate(&prod).allowed);
}

#[test]
fn broken_policies_fail_to_load_and_bad_output_fails_closed() {
    assert!(RegoPolicy::new(
        &[("bad.rego", "package faultline\n deny contains x if {")],
        json!({})
    )
    .is_err());
    let weird = RegoPolicy::new(&[("w.rego", "package faultline\ndeny := 3\n")], json!({}));
    if let Ok(p) = weird {
        assert!(!p.evaluate(&plan("prod", &["echo hi"])).allowed);
    }
}

#[test]
fn extra_modules_in_the_package_keep_the_default_tool_list() {
    // Regression: with a second module in package faultline, `object.get(data.faultline, …)`
    // evaluated to undefined in regorus and every tool was denied.
    let extra = "package faultline\n\nimport rego.v1\n\ndeny contains msg if {\n\tsome step in input.steps\n\t\"forbidden\" in step.words\n\tmsg := \"forbidden word\"\n}\n";
    let p = RegoPolicy::new(
        &[
            ("default.rego", faultline_remediate::rego::DEFAULT_POLICY),
            ("extra.rego", extra),
        ],
        json!({ "faultline": { "max_steps": 20 } }),
    )
    .unwrap();
    let d = p.evaluate(&plan(
        "prod",
        &["kubectl rollout undo deployment/checkout -n shop"],
    ));
    assert!(d.allowed, "{:?}", d.reasons);
    let d = p.evaluate(&plan("prod", &["echo forbidden"]));
    assert_eq!(d.reasons, vec!["forbidden word".to_string()]);
    let only_echo = RegoPolicy::default_policy(json!({ "allowed_tools": ["echo"] })).unwrap();
    assert!(
        !only_echo
            .evaluate(&plan("staging", &["kubectl get pods"]))
            .allowed
    );
}

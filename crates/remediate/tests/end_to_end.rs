//! analyze output → plan → preflight → approve → execute (dry-run and GitOps) → verify →
//! audit-verify.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use faultline_core::ports::{AuditSink, DryRunRunner, ManualClock, PolicyEngine};
use faultline_core::{Cause, PlanState, Timestamp, VerdictOutcome};
use faultline_remediate::approval::Plan;
use faultline_remediate::audit::{verify_file, FileAuditSink};
use faultline_remediate::canary::{CanaryJudge, MetricComparison, MetricDirection, MetricKind};
use faultline_remediate::gitops::GitOpsRunner;
use faultline_remediate::preflight::{DriftCheck, ErrorBudget, Preflight, PreflightConfig};
use faultline_remediate::{Catalog, PlanContext};
use support::{git, repo_with_flags, RecordingNotifier};

fn policy() -> Box<dyn PolicyEngine> {
    #[cfg(feature = "rego")]
    {
        Box::new(
            faultline_remediate::rego::RegoPolicy::default_policy(
                serde_json::json!({ "allowed_namespaces": ["shop"] }),
            )
            .unwrap(),
        )
    }
    #[cfg(not(feature = "rego"))]
    {
        Box::new(faultline_core::ports::BuiltinPolicy {
            allowed_tools: faultline_remediate::preflight::DEFAULT_TOOLS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ..Default::default()
        })
    }
}

#[tokio::test]
async fn flag_incident_is_fixed_through_gitops_verified_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    repo_with_flags(&repo);
    let audit_path = dir.path().join("audit.jsonl");
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_715_683_500)));
    let key = SigningKey::from_bytes(&[42u8; 32]);
    let audit = FileAuditSink::open(&audit_path, key.clone(), clock.clone()).unwrap();

    // Analyze's output: a feature-flag change on payments.
    let (report, h) = faultline_remediate::testing::report_with(
        "payments",
        Cause::Change {
            change_kind: "feature_flag".into(),
            ts: Timestamp::from_secs(1_715_682_721),
            version: None,
        },
        0.82,
    );
    let ctx = PlanContext {
        namespace: "shop".into(),
        params: [
            ("flag_key", "acquirer_pool_size"),
            ("flag_previous", "16"),
            ("flag_current", "4"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..Default::default()
    };
    let fix = Catalog::default_catalog()
        .plan(&report, &h, &ctx)
        .unwrap()
        .expect("revert-feature-flag matches");
    assert_eq!(
        fix.steps[0].script,
        "gitops set flags/payments.yaml acquirer_pool_size 16"
    );
    let draft = Plan::new(fix);
    audit.append(draft.audit_event("planned")).await.unwrap();

    let runner = GitOpsRunner::for_plan(&repo, "main", draft.fix_plan());
    let preflight = Preflight::try_new(PreflightConfig::default())
        .unwrap()
        .with_policy(policy())
        .with_budget(ErrorBudget {
            slo_target: 0.999,
            total_events: 1_000_000,
            bad_events: 400,
        })
        .with_drift_check(DriftCheck {
            name: "the flag is still at the bad value".into(),
            probe: "gitops diff flags/payments.yaml acquirer_pool_size 16".into(),
            expect_contains: "-acquirer_pool_size: 4".into(),
        });
    let pre = draft
        .preflight(&preflight, &runner, clock.as_ref())
        .await
        .unwrap();
    assert_eq!(pre.preflight_report().drift[0].holds, Some(true));
    assert!(pre.preflight_report().dry_runs[0]
        .output
        .contains("+acquirer_pool_size: 16"));
    audit.append(pre.audit_event("preflighted")).await.unwrap();

    let approved = pre.approve("alice@shop", clock.as_ref(), "restore pool").unwrap();
    audit.append(approved.audit_event("approved")).await.unwrap();
    let executed = approved.execute(&runner, clock.as_ref()).await.unwrap();
    assert!(executed.executions()[0].output.contains("committed"));
    audit.append(executed.audit_event("executed")).await.unwrap();
    assert!(git(
        &repo,
        &["show", &format!("{}:flags/payments.yaml", runner.branch())]
    )
    .contains("acquirer_pool_size: 16"));

    // Verify: errors back to normal after the fix.
    let before: Vec<f64> = (0..30).map(|i| 20.0 + f64::from(i % 5)).collect();
    let after: Vec<f64> = (0..30).map(|i| f64::from(i % 2)).collect();
    let metrics = [MetricComparison {
        name: "payments_5xx".into(),
        baseline: before,
        canary: after,
        direction: MetricDirection::Increase,
        critical: true,
        kind: MetricKind::Count,
    }];
    let (verdict, _) = CanaryJudge::default().judge(&executed.fix_plan().id, &metrics);
    assert_eq!(verdict.outcome, VerdictOutcome::Pass);
    let verified = executed
        .verify(verdict, &runner, &RecordingNotifier::default(), clock.as_ref())
        .await
        .unwrap();
    assert_eq!(verified.fix_plan().state, PlanState::Verified);
    audit.append(verified.audit_event("verified")).await.unwrap();

    assert_eq!(verify_file(&audit_path, &key.verifying_key()).unwrap(), 5);
}

#[tokio::test]
async fn deploy_incident_with_dry_run_runner_and_exhausted_budget() {
    let clock = ManualClock::default();
    let (report, h) = faultline_remediate::testing::deploy_report("checkout", 0.9);
    let ctx = PlanContext {
        namespace: "shop".into(),
        ..Default::default()
    };
    let fix = Catalog::default_catalog()
        .plan(&report, &h, &ctx)
        .unwrap()
        .unwrap();
    // Budget overspent: the rollback (low risk) still passes...
    let exhausted = ErrorBudget {
        slo_target: 0.999,
        total_events: 100_000,
        bad_events: 500,
    };
    let strict = Preflight::try_new(PreflightConfig {
        max_risk_when_budget_exhausted: 0.35,
        ..Default::default()
    })
    .unwrap()
    .with_policy(policy())
    .with_budget(exhausted);
    let pre = Plan::new(fix.clone())
        .preflight(&strict, &DryRunRunner, &clock)
        .await
        .unwrap();
    assert!(pre.preflight_report().budget_remaining.unwrap() < 0.0);
    let executed = pre
        .approve("alice", &clock, "")
        .unwrap()
        .execute(&DryRunRunner, &clock)
        .await
        .unwrap();
    assert!(executed.executions()[0]
        .output
        .starts_with("[dry-run] would run: kubectl rollout undo"));
    // ...but a riskier plan is stopped with a readable reason.
    let mut risky = fix;
    risky.risk = 0.6;
    let failed = Plan::new(risky)
        .preflight(&strict, &DryRunRunner, &clock)
        .await
        .unwrap_err();
    assert!(
        failed
            .report
            .reasons
            .iter()
            .any(|r| r.contains("error budget exhausted")),
        "{:?}",
        failed.report.reasons
    );
}

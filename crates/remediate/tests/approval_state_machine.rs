//! The approval state machine: no sequence of calls executes an unapproved production plan.
#![allow(clippy::unwrap_used)]

mod support;

use ed25519_dalek::SigningKey;
use faultline_core::ports::{DryRunRunner, ManualClock};
use faultline_core::{FixPlan, PlanState, Verdict, VerdictOutcome};
use faultline_remediate::approval::{AutoApprove, Plan};
use faultline_remediate::preflight::Preflight;
use faultline_remediate::{Catalog, PlanContext};
use proptest::prelude::*;
use support::{RecordingNotifier, RecordingRunner};

fn fix_plan(env: &str) -> FixPlan {
    let (report, h) = faultline_remediate::testing::deploy_report("checkout", 0.9);
    let ctx = PlanContext {
        environment: env.into(),
        namespace: "shop".into(),
        ..Default::default()
    };
    Catalog::default_catalog()
        .plan(&report, &h, &ctx)
        .unwrap()
        .unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[derive(Debug, Clone)]
enum Op {
    Preflight,
    Approve(String),
    AutoApprove {
        enabled: bool,
        list_env: bool,
    },
    Reject,
    Execute,
    Verify(bool),
    /// Re-create an approved plan from a signed approval (maybe with the wrong key, maybe
    /// for an edited plan).
    FromSigned {
        wrong_key: bool,
        edit_plan: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Preflight),
        prop_oneof![
            Just(String::new()),
            Just("  ".to_string()),
            Just("alice".to_string())
        ]
        .prop_map(Op::Approve),
        (any::<bool>(), any::<bool>()).prop_map(|(enabled, list_env)| Op::AutoApprove { enabled, list_env }),
        Just(Op::Reject),
        Just(Op::Execute),
        any::<bool>().prop_map(Op::Verify),
        (any::<bool>(), any::<bool>())
            .prop_map(|(wrong_key, edit_plan)| Op::FromSigned { wrong_key, edit_plan }),
    ]
}

#[allow(dead_code)] // the terminal state is kept for debugging output
enum AnyPlan {
    Draft(Plan<faultline_remediate::approval::state::Draft>),
    Pre(Plan<faultline_remediate::approval::state::Preflighted>),
    Approved(Plan<faultline_remediate::approval::state::Approved>),
    Executed(Plan<faultline_remediate::approval::state::Executed>),
    Terminal(PlanState),
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn no_call_sequence_executes_an_unapproved_production_plan(
        env in prop_oneof![Just("prod"), Just("PROD"), Just("production"), Just("staging")],
        ops in proptest::collection::vec(op(), 0..12),
    ) {
        let production = env.eq_ignore_ascii_case("prod") || env.eq_ignore_ascii_case("production");
        let runner = RecordingRunner::default();
        let notifier = RecordingNotifier::default();
        let clock = ManualClock::default();
        let preflight = Preflight::default();
        let key = SigningKey::from_bytes(&[3u8; 32]);
        let mut signed = None;
        let mut approved_by_human = false;
        let mut approved_by_policy = false;
        let mut state = AnyPlan::Draft(Plan::new(fix_plan(env)));
        block_on(async {
            for op in &ops {
                state = match (state, op) {
                    (AnyPlan::Draft(p), Op::Preflight) => match p.preflight(&preflight, &DryRunRunner, &clock).await {
                        Ok(p) => AnyPlan::Pre(p),
                        Err(f) => AnyPlan::Draft(f.plan),
                    },
                    (AnyPlan::Pre(p), Op::Approve(who)) => match p.approve(who, &clock, "ok") {
                        Ok(p) => {
                            approved_by_human = true;
                            signed = Some(p.signed_approval(&key));
                            AnyPlan::Approved(p)
                        }
                        Err(p) => AnyPlan::Pre(p),
                    },
                    (AnyPlan::Pre(p), Op::AutoApprove { enabled, list_env }) => {
                        let policy = AutoApprove {
                            enabled: *enabled,
                            environments: if *list_env { vec![env.to_string(), "prod".into()] } else { vec!["dev".into()] },
                            max_risk: 1.0,
                            ..Default::default()
                        };
                        match p.auto_approve(&policy, &clock) {
                            Ok(p) => {
                                approved_by_policy = true;
                                AnyPlan::Approved(p)
                            }
                            Err((p, _)) => AnyPlan::Pre(p),
                        }
                    }
                    (AnyPlan::Pre(p), Op::Reject) => AnyPlan::Terminal(p.reject("bob", &clock, "no").fix_plan().state),
                    (AnyPlan::Approved(p), Op::Execute) => match p.execute(&runner, &clock).await {
                        Ok(p) => AnyPlan::Executed(p),
                        Err(p) => AnyPlan::Terminal(p.fix_plan().state),
                    },
                    (AnyPlan::Executed(p), Op::Verify(pass)) => {
                        let verdict = Verdict {
                            plan: p.fix_plan().id.clone(),
                            outcome: if *pass { VerdictOutcome::Pass } else { VerdictOutcome::Fail },
                            score: 0.0,
                            reasons: vec![],
                        };
                        match p.verify(verdict, &runner, &notifier, &clock).await {
                            Ok(p) => AnyPlan::Terminal(p.fix_plan().state),
                            Err(p) => AnyPlan::Terminal(p.fix_plan().state),
                        }
                    }
                    (s, Op::FromSigned { wrong_key, edit_plan }) => {
                        let mut fp = fix_plan(env);
                        if *edit_plan {
                            fp.steps[0].script = "kubectl delete namespace shop".into();
                        }
                        let vk = if *wrong_key { SigningKey::from_bytes(&[4u8; 32]).verifying_key() } else { key.verifying_key() };
                        match signed.as_ref().map(|sa| Plan::from_signed_approval(fp, sa, &vk)) {
                            Some(Ok(p)) => {
                                // Only a genuine approval of this exact plan gets here.
                                assert!(!wrong_key && !edit_plan && approved_by_human);
                                AnyPlan::Approved(p)
                            }
                            _ => s,
                        }
                    }
                    (s, _) => s, // not offered by the API in this state
                };
            }
        });
        let executed = runner.executed();
        if !executed.is_empty() {
            if production {
                prop_assert!(approved_by_human, "prod plan executed without a human approval: {ops:?}");
                prop_assert!(!approved_by_policy, "prod plan was auto-approved: {ops:?}");
            } else {
                prop_assert!(approved_by_human || approved_by_policy);
            }
        }
    }
}

#[tokio::test]
async fn auto_approval_is_explicit_and_never_for_production() {
    let clock = ManualClock::default();
    let pre = |env: &str| {
        let p = Plan::new(fix_plan(env));
        async move {
            p.preflight(&Preflight::default(), &DryRunRunner, &ManualClock::default())
                .await
                .unwrap()
        }
    };
    let policy = AutoApprove {
        enabled: true,
        environments: vec!["staging".into(), "prod".into()],
        ..Default::default()
    };
    let (_, why) = pre("prod").await.auto_approve(&policy, &clock).unwrap_err();
    assert!(why.contains("production"), "{why}");
    assert!(pre("staging").await.auto_approve(&policy, &clock).is_ok());
    let (_, why) = pre("staging")
        .await
        .auto_approve(&AutoApprove::default(), &clock)
        .unwrap_err();
    assert!(why.contains("disabled"));
}

#[tokio::test]
async fn a_failing_step_rolls_back_the_completed_ones_in_reverse() {
    let clock = ManualClock::default();
    let mut fp = fix_plan("staging");
    let mut second = fp.steps[0].clone();
    second.script = "kubectl scale deployment/checkout -n shop --replicas=9".into();
    fp.steps.push(second);
    let approved = Plan::new(fp)
        .preflight(&Preflight::default(), &DryRunRunner, &clock)
        .await
        .unwrap()
        .approve("alice", &clock, "")
        .unwrap();
    let runner = RecordingRunner {
        fail_on: Some("--replicas=9".into()),
        ..Default::default()
    };
    let failed = approved.execute(&runner, &clock).await.unwrap_err();
    assert_eq!(failed.fix_plan().state, PlanState::Failed);
    let executed = runner.executed();
    assert_eq!(executed.len(), 3, "{executed:?}");
    assert_eq!(executed[2], failed.fix_plan().steps[0].rollback);
}

#[tokio::test]
async fn failed_verification_rolls_back_and_notifies() {
    let clock = ManualClock::default();
    let approved = Plan::new(fix_plan("prod"))
        .preflight(&Preflight::default(), &DryRunRunner, &clock)
        .await
        .unwrap()
        .approve("alice", &clock, "")
        .unwrap();
    let runner = RecordingRunner::default();
    let executed = approved.execute(&runner, &clock).await.unwrap();
    let verdict = Verdict {
        plan: executed.fix_plan().id.clone(),
        outcome: VerdictOutcome::Fail,
        score: 0.0,
        reasons: vec!["5xx up".into()],
    };
    let notifier = RecordingNotifier::default();
    let rolled = executed
        .verify(verdict, &runner, &notifier, &clock)
        .await
        .unwrap_err();
    assert_eq!(rolled.fix_plan().state, PlanState::RolledBack);
    assert_eq!(
        runner.executed().last(),
        Some(&rolled.fix_plan().steps[0].rollback)
    );
    let n = notifier.0.lock().unwrap();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].severity, "critical");
}

#[tokio::test]
async fn preflight_failure_hands_back_the_draft_with_reasons() {
    let clock = ManualClock::default();
    let mut fp = fix_plan("prod");
    fp.steps[0].script = "kubectl delete deployment checkout -n shop".into();
    let failed = Plan::new(fp)
        .preflight(&Preflight::default(), &DryRunRunner, &clock)
        .await
        .unwrap_err();
    assert!(!failed.report.passed);
    assert!(
        failed
            .report
            .reasons
            .iter()
            .any(|r| r.contains("deletes in production")),
        "{:?}",
        failed.report.reasons
    );
    assert_eq!(failed.plan.fix_plan().state, PlanState::Draft);
}

#[tokio::test]
async fn signed_approvals_bind_the_key_and_the_exact_plan() {
    let clock = ManualClock::default();
    let key = SigningKey::from_bytes(&[5u8; 32]);
    let approved = Plan::new(fix_plan("prod"))
        .preflight(&Preflight::default(), &DryRunRunner, &clock)
        .await
        .unwrap()
        .approve("alice", &clock, "ok")
        .unwrap();
    let signed = approved.signed_approval(&key);
    // Through JSON, as a CLI would store it.
    let signed: faultline_remediate::approval::SignedApproval =
        serde_json::from_str(&serde_json::to_string(&signed).unwrap()).unwrap();
    let fp = fix_plan("prod");
    let again = Plan::from_signed_approval(fp.clone(), &signed, &key.verifying_key()).unwrap();
    assert_eq!(again.approval().approver, "alice");
    assert_eq!(again.fix_plan().state, PlanState::Approved);

    let other_key = SigningKey::from_bytes(&[6u8; 32]).verifying_key();
    assert!(Plan::from_signed_approval(fp.clone(), &signed, &other_key).is_err());
    let mut edited = fp.clone();
    edited.steps[0].script = "kubectl delete namespace shop".into();
    let err = Plan::from_signed_approval(edited, &signed, &key.verifying_key()).unwrap_err();
    assert!(err.to_string().contains("changed after it was approved"), "{err}");
    let mut forged = signed.clone();
    forged.approval.approver = "mallory".into();
    assert!(Plan::from_signed_approval(fp.clone(), &forged, &key.verifying_key()).is_err());
    let mut rejected = signed;
    rejected.approval.approved = false;
    assert!(Plan::from_signed_approval(fp, &rejected, &key.verifying_key()).is_err());
}

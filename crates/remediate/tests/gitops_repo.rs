//! The GitOps runner writes the change to a branch of a real (temporary) repository.
#![allow(clippy::unwrap_used)]

mod support;

use faultline_core::ports::{RunMode, Runner};
use faultline_remediate::actions::{generate, ActionKind, RenderedAction};
use faultline_remediate::gitops::GitOpsRunner;
use support::{git, repo_with_flags};

fn flag_step() -> faultline_core::Step {
    let mut a = RenderedAction::default();
    for (k, v) in [
        ("file", "flags/payments.yaml"),
        ("key", "acquirer_pool_size"),
        ("value", "16"),
        ("previous_value", "4"),
    ] {
        a.params.insert(k.into(), v.into());
    }
    generate(ActionKind::GitopsSet, &a).unwrap()
}

fn plan_for(step: faultline_core::Step) -> faultline_core::FixPlan {
    let (report, h) = faultline_remediate::testing::deploy_report("payments", 0.9);
    faultline_core::FixPlan {
        id: faultline_core::PlanId::derive(&["gitops-test"]),
        incident: report.incident.id.clone(),
        hypothesis: h.id,
        service: h.service,
        environment: "prod".into(),
        rationale: "test".into(),
        steps: vec![step],
        risk: 0.3,
        state: faultline_core::PlanState::Approved,
    }
}

#[tokio::test]
async fn commits_the_change_to_a_branch_linking_the_incident_without_touching_the_worktree() {
    let dir = tempfile::tempdir().unwrap();
    repo_with_flags(dir.path());
    let step = flag_step();
    let plan = plan_for(step.clone());
    let runner = GitOpsRunner::for_plan(dir.path(), "main", &plan);

    let dry = runner.run(&step, RunMode::DryRun).await.unwrap();
    assert!(
        dry.output.contains("-acquirer_pool_size: 4") && dry.output.contains("+acquirer_pool_size: 16"),
        "{}",
        dry.output
    );
    assert!(
        git(dir.path(), &["branch", "--list", runner.branch()]).is_empty(),
        "dry run creates no branch"
    );

    let out = runner.run(&step, RunMode::Execute).await.unwrap();
    assert_eq!(out.status, 0, "{}", out.output);
    let on_branch = git(
        dir.path(),
        &["show", &format!("{}:flags/payments.yaml", runner.branch())],
    );
    assert_eq!(on_branch, "# payments flags\nacquirer_pool_size: 16\nretries: 3");
    let msg = git(dir.path(), &["log", "-1", "--format=%B", runner.branch()]);
    assert!(msg.contains("Incident: FL-2024-05-14-0032"), "{msg}");
    assert!(msg.contains(&format!("Plan: {}", plan.id)));
    assert!(msg.contains("Rollback: gitops set flags/payments.yaml acquirer_pool_size 4"));
    // The working tree, index and checked-out branch are untouched.
    assert_eq!(git(dir.path(), &["rev-parse", "--abbrev-ref", "HEAD"]), "main");
    assert!(git(dir.path(), &["status", "--porcelain"]).is_empty());
    assert!(std::fs::read_to_string(dir.path().join("flags/payments.yaml"))
        .unwrap()
        .contains("acquirer_pool_size: 4"));

    // A second step (the rollback) stacks on the same branch.
    let rb = faultline_core::Step {
        script: step.rollback.clone(),
        ..step.clone()
    };
    runner.run(&rb, RunMode::Execute).await.unwrap();
    assert_eq!(
        git(
            dir.path(),
            &["rev-list", "--count", &format!("main..{}", runner.branch())]
        ),
        "2"
    );
    let back = git(
        dir.path(),
        &["show", &format!("{}:flags/payments.yaml", runner.branch())],
    );
    assert!(back.contains("acquirer_pool_size: 4"));
}

#[tokio::test]
async fn refuses_other_commands_and_escaping_paths() {
    let dir = tempfile::tempdir().unwrap();
    repo_with_flags(dir.path());
    let mut step = flag_step();
    let plan = plan_for(step.clone());
    let runner = GitOpsRunner::for_plan(dir.path(), "main", &plan);
    step.script = "kubectl delete ns shop".into();
    assert!(runner.run(&step, RunMode::Execute).await.is_err());
    step.script = "gitops set ../outside.yaml k v".into();
    assert!(runner.run(&step, RunMode::Execute).await.is_err());
}

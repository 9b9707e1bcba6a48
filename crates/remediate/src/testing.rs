//! Small report builders for examples and tests (also used by the facade's tests).

use faultline_core::{
    BlastRadius, Cause, Evidence, EvidenceKind, EvidenceRef, Hypothesis, HypothesisId, Incident, IncidentId,
    IncidentReport, IncidentStatus, NonEmpty, ServiceId, TimeWindow, Timestamp, REPORT_VERSION,
};

/// A report with one hypothesis on `service` with the given cause and confidence, in
/// environment `prod`.
pub fn report_with(service: &str, cause: Cause, confidence: f64) -> (IncidentReport, Hypothesis) {
    let onset = Timestamp::from_secs(1_715_682_721);
    let ev = Evidence::new(
        EvidenceKind::Change,
        ServiceId::new(service),
        format!("{service} changed 2 min before onset"),
        0.9,
        EvidenceRef::Change {
            ts: onset,
            kind: "deploy".into(),
            version: Some("2.32.0".into()),
            source: None,
        },
    );
    let h = Hypothesis {
        id: HypothesisId::derive(&[service, cause.kind_name()]),
        rank: 1,
        service: ServiceId::new(service),
        cause,
        statement: format!("{service} is the root cause"),
        confidence,
        support: NonEmpty::new(ev.id.clone(), vec![]),
        counter: vec![],
        why_not: None,
    };
    let report = IncidentReport {
        version: REPORT_VERSION,
        incident: Incident {
            id: IncidentId("FL-2024-05-14-0032".into()),
            title: "Checkout latency".into(),
            onset,
            window: TimeWindow {
                start: Timestamp::from_secs(1_715_682_000),
                end: Timestamp::from_secs(1_715_684_000),
            },
            environment: Some("prod".into()),
            services: vec![ServiceId::new(service)],
            severity: Some("critical".into()),
            status: IncidentStatus::Open,
        },
        narrative: String::new(),
        hypotheses: vec![h.clone()],
        evidence: vec![ev],
        anomalies: vec![],
        templates: vec![],
        template_signals: vec![],
        alert_groups: vec![],
        blast_radius: BlastRadius {
            services: vec![ServiceId::new(service)],
            slos: vec![],
        },
        timeline: vec![],
        plan: None,
        timings: Default::default(),
    };
    (report, h)
}

/// A report whose top hypothesis is a recent deploy of `service`.
pub fn deploy_report(service: &str, confidence: f64) -> (IncidentReport, Hypothesis) {
    report_with(
        service,
        Cause::Change {
            change_kind: "deploy".into(),
            ts: Timestamp::from_secs(1_715_682_612),
            version: Some("2.32.0".into()),
        },
        confidence,
    )
}

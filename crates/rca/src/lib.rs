//! # faultline-rca
//!
//! Root-cause analysis: given one incident's signals and what the detect and cluster stages
//! found in them, say which service most likely caused the incident, by what (a change, a
//! resource, a code fault, a dependency), on which evidence, and why not the others.
//!
//! The analysis, in order:
//! 1. **Topology** ([`graph`]): the host's service graph plus caller → callee edges derived
//!    from spans.
//! 2. **Channels** per service: metric shifts from robust window statistics ([`metrics`],
//!    BARO-style median/IQR, on dependency-model residuals where the baseline allows) and
//!    detector anomalies; error logs and new/spiking error templates ([`logs`]); error-origin
//!    spans, self time and caller → callee gaps ([`traces`]).
//! 3. **Changes** ([`changes`]) within ± `change_window_secs` of the onset, with a
//!    change-impact likelihood.
//! 4. **Scoring** ([`scoring`]): channels combine into an anomaly per service; a service whose
//!    dependency is as anomalous as itself is discounted (faults propagate to callers).
//! 5. **Hypotheses** with support and counter-evidence and a "why not X?" for runners-up;
//!    **alert groups** ([`alerts`]); **blast radius**; **timeline**.
//!
//! Deterministic: equal input and configuration give an equal output, ids are derived from
//! content.
//!
//! ```
//! use faultline_core::*;
//! use faultline_rca::{analyze, RcaConfig, RcaInput};
//!
//! // web calls db; db's latency jumps at t = 600 s, web's follows.
//! let ts: Vec<Timestamp> = (0..120).map(|i| Timestamp::from_secs(i * 10)).collect();
//! let wiggle = |i: usize| ((i * 37) % 11) as f64 * 0.1;
//! let db: Vec<f64> = (0..120).map(|i| 5.0 + wiggle(i) + if i >= 60 { 50.0 } else { 0.0 }).collect();
//! let web: Vec<f64> = db.iter().enumerate().map(|(i, v)| v + 20.0 + wiggle(i + 3)).collect();
//! let mut signals = SignalSet::default();
//! signals.series.push(Series::new(SeriesKey::new("db", "latency_ms"), ts.clone(), db).unwrap());
//! signals.series.push(Series::new(SeriesKey::new("web", "latency_ms"), ts, web).unwrap());
//! signals.topology.add_edge("web", "db", None);
//! let incident = Incident {
//!     id: IncidentId("inc-1".into()), title: "slow checkout".into(),
//!     onset: Timestamp::from_secs(600),
//!     window: TimeWindow { start: Timestamp::from_secs(0), end: Timestamp::from_secs(1190) },
//!     environment: None, services: vec![], severity: None, status: IncidentStatus::Open,
//! };
//! let input = RcaInput { incident: &incident, signals: &signals, anomalies: &[], templates: &[], template_signals: &[] };
//! let out = analyze(&input, &RcaConfig::default()).unwrap();
//! assert_eq!(out.hypotheses[0].service.as_str(), "db");
//! assert!(out.hypotheses[1].why_not.is_some());
//! ```

pub mod alerts;
pub mod changes;
mod config;
mod error;
pub mod graph;
mod hypotheses;
pub mod logs;
pub mod metrics;
pub mod narrate;
pub mod scoring;
pub mod stats;
mod timeline;
pub mod traces;

use faultline_core::{
    Anomaly, BlastRadius, Evidence, Hypothesis, Incident, LogTemplate, ServiceId, SignalSet, TemplateSignal,
    TimelineEntry,
};

pub use config::RcaConfig;
pub use error::RcaError;

/// Everything the analysis reads. Anomalies come from faultline-detect, templates and template
/// signals from faultline-cluster (the facade runs those first); the analysis also computes
/// its own robust window statistics over the raw series, so metric-only input works.
#[derive(Debug, Clone, Copy)]
pub struct RcaInput<'a> {
    /// The incident: onset and analysis window.
    pub incident: &'a Incident,
    /// Raw signals: series, logs, change events, spans, alerts, topology.
    pub signals: &'a SignalSet,
    /// Metric anomalies found by the detect stage.
    pub anomalies: &'a [Anomaly],
    /// Log templates mined by the cluster stage.
    pub templates: &'a [LogTemplate],
    /// New or spiking templates per service.
    pub template_signals: &'a [TemplateSignal],
}

impl<'a> RcaInput<'a> {
    /// Input of raw signals only (no detector anomalies, no mined templates): the analysis
    /// computes its own window statistics over the series, logs and spans.
    ///
    /// ```
    /// use faultline_core::{Incident, IncidentId, IncidentStatus, SignalSet, TimeWindow, Timestamp};
    /// use faultline_rca::{analyze, RcaConfig, RcaInput};
    /// let inc = Incident {
    ///     id: IncidentId("inc-1".into()),
    ///     title: "checkout errors".into(),
    ///     onset: Timestamp::from_secs(600),
    ///     window: TimeWindow { start: Timestamp::from_secs(0), end: Timestamp::from_secs(1200) },
    ///     environment: None,
    ///     services: vec![],
    ///     severity: None,
    ///     status: IncidentStatus::Open,
    /// };
    /// let signals = SignalSet::default();
    /// let out = analyze(&RcaInput::signals_only(&inc, &signals), &RcaConfig::default()).unwrap();
    /// assert!(out.hypotheses.is_empty()); // nothing observed, nothing blamed
    /// ```
    pub fn signals_only(incident: &'a Incident, signals: &'a SignalSet) -> Self {
        Self {
            incident,
            signals,
            anomalies: &[],
            templates: &[],
            template_signals: &[],
        }
    }
}

/// The result of the analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct RcaOutput {
    /// Ranked hypotheses, rank 1 = best, at most `top_n`.
    pub hypotheses: Vec<Hypothesis>,
    /// Every evidence item any hypothesis refers to (and nothing else).
    pub evidence: Vec<Evidence>,
    /// Alert groups.
    pub alert_groups: Vec<faultline_core::AlertGroup>,
    /// The top hypothesis's service and the callers that show symptoms.
    pub blast_radius: BlastRadius,
    /// What happened, in time order.
    pub timeline: Vec<TimelineEntry>,
    /// Alert compression: `1 − notifications / alerts` (0 without alerts).
    pub alert_compression: f64,
    /// Channel and root-cause scores of every scored service, best first (diagnostics).
    pub service_scores: Vec<(ServiceId, scoring::ServiceScore)>,
}

/// Intermediate results shared by the output builders.
pub(crate) struct Analysis<'a> {
    pub(crate) input: RcaInput<'a>,
    pub(crate) cfg: &'a RcaConfig,
    pub(crate) adj: graph::Adjacency,
    pub(crate) shifts: Vec<Vec<metrics::SeriesShift>>,
    pub(crate) errors: Vec<logs::ServiceErrors>,
    pub(crate) traces: Vec<traces::ServiceTraces>,
    pub(crate) scores: Vec<scoring::ServiceScore>,
    pub(crate) changes: Vec<(changes::CorrelatedChange<'a>, f64)>,
    pub(crate) ranking: Vec<usize>,
    /// Whether the service has any metric, log or span data (a dependency without data is
    /// unknown, not healthy).
    pub(crate) has_signals: Vec<bool>,
}

/// Runs the analysis. Errors only on an invalid configuration or an inverted window; missing
/// signals give fewer (or no) hypotheses, never a panic.
pub fn analyze(input: &RcaInput<'_>, cfg: &RcaConfig) -> Result<RcaOutput, RcaError> {
    cfg.validate()?;
    let inc = input.incident;
    if inc.window.start > inc.window.end {
        return Err(RcaError::EmptyWindow {
            start: inc.window.start,
            end: inc.window.end,
        });
    }
    let sig = input.signals;
    let topo = graph::build_topology(&sig.topology, &sig.spans);
    let mut services = sig.services();
    services.extend(inc.services.iter().cloned());
    services.extend(input.anomalies.iter().map(|a| a.series.service.clone()));
    services.extend(input.template_signals.iter().map(|s| s.service.clone()));
    let adj = graph::Adjacency::new(services, &topo);
    let n = adj.services.len();

    let shifts = metrics::service_shifts(&sig.series, inc, &adj, cfg);
    let mut metric = metrics::service_metric_strength(&shifts);
    // Ranking rests on the window statistics above, which tolerate an onset that is off by
    // minutes; detector anomalies are point decisions whose scores saturate on noisy series,
    // so they only speak for services whose series were too short for window statistics, and
    // then at most as strongly as a moderate shift. They remain evidence either way.
    for (i, s) in metrics::anomaly_strength(input.anomalies, inc, &adj) {
        if metric[i] == 0.0 {
            let z = cfg.metric_half_z * s / (1.0 - s).max(1e-3);
            metric[i] = z.min(cfg.metric_half_z);
        }
    }
    let errors = logs::service_errors(&sig.logs, input.templates, input.template_signals, inc, &adj);
    let traces = traces::service_traces(&sig.spans, inc, &adj);
    let strengths = scoring::Strengths {
        metric,
        error: (0..n)
            .map(|i| errors[i].strength().max(traces[i].error_strength))
            .collect(),
        latency: traces
            .iter()
            .map(traces::ServiceTraces::latency_strength)
            .collect(),
    };
    // Changes need the services' own anomaly first; score once without changes, then again.
    let no_change = vec![0.0; n];
    let pre = scoring::score(&strengths, &adj.callees, &no_change, cfg);
    let max_anomaly = pre.iter().map(|s| s.anomaly).fold(0.0f64, f64::max);
    let changes: Vec<(changes::CorrelatedChange<'_>, f64)> =
        changes::correlated(&sig.events, inc, &adj.index, cfg)
            .into_iter()
            .map(|c| {
                let s = &pre[c.service];
                let shift = if max_anomaly > 0.0 {
                    s.anomaly / max_anomaly
                } else {
                    0.0
                };
                let lik = changes::likelihood(&c, shift, s.explained, cfg);
                (c, lik)
            })
            .collect();
    let mut change = no_change;
    for (c, lik) in &changes {
        change[c.service] = change[c.service].max(*lik);
    }
    let scores = scoring::score(&strengths, &adj.callees, &change, cfg);
    let ranking = scoring::ranking(&scores);

    let mut has_signals = vec![false; n];
    for s in &sig.series {
        if let Some(&i) = adj.index.get(&s.key.service) {
            has_signals[i] = true;
        }
    }
    for i in 0..n {
        has_signals[i] |= errors[i].pre + errors[i].post > 0 || traces[i].self_time_ms != (0.0, 0.0);
    }
    let a = Analysis {
        input: *input,
        cfg,
        adj,
        shifts,
        errors,
        traces,
        scores,
        changes,
        ranking,
        has_signals,
    };
    let (hypotheses, evidence) = hypotheses::build(&a);
    let alert_groups = alerts::group_alerts(&sig.alerts, &a.adj, cfg);
    let alert_compression = alerts::compression(&alert_groups, sig.alerts.len());
    let blast_radius = blast_radius(&a, &hypotheses);
    let timeline = timeline::build(&a, &alert_groups);
    let service_scores = a
        .ranking
        .iter()
        .map(|&i| (a.adj.services[i].clone(), a.scores[i].clone()))
        .collect();
    Ok(RcaOutput {
        hypotheses,
        evidence,
        alert_groups,
        blast_radius,
        timeline,
        alert_compression,
        service_scores,
    })
}

/// The top hypothesis's service plus its (transitive) callers whose anomaly is at least a
/// quarter of the root's; SLOs from the `slo` label of alerts on those services.
fn blast_radius(a: &Analysis<'_>, hyps: &[Hypothesis]) -> BlastRadius {
    let Some(top) = hyps.first().and_then(|h| a.adj.index.get(&h.service).copied()) else {
        return BlastRadius::default();
    };
    let floor = 0.25 * a.scores[top].anomaly;
    let mut services = vec![a.adj.services[top].clone()];
    services.extend(
        a.adj
            .upstream(top)
            .into_iter()
            .filter(|&u| a.scores[u].anomaly > 0.0 && a.scores[u].anomaly >= floor)
            .map(|u| a.adj.services[u].clone()),
    );
    services.sort();
    let mut slos: Vec<String> = a
        .input
        .signals
        .alerts
        .iter()
        .filter(|al| al.service().is_some_and(|s| services.binary_search(&s).is_ok()))
        .filter_map(|al| al.labels.get("slo").map(str::to_owned))
        .collect();
    slos.sort();
    slos.dedup();
    BlastRadius { services, slos }
}

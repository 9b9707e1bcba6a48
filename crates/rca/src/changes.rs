//! Change correlation: change events near the onset and their change-impact likelihood.
//!
//! The likelihood multiplies four factors, each in [0, 1] or a bounded odds ratio:
//! - **timing**: `exp(−Δ/τ)`, Δ the distance to the onset; τ = window/4 for changes before the
//!   onset and window/12 after it (a change after the impact started rarely caused it);
//! - **shift**: `0.2 + 0.8 · s`, s the changed service's own anomaly (metric, error, latency
//!   channels, normalised to the strongest service), so a deploy to a quiet service stays
//!   weak; error templates that are new or spiking count in s through the error channel;
//! - **position**: `1 − 0.5 · e`, e how far the service's anomaly is explained by an
//!   anomalous dependency;
//! - **prior**: the odds of the service's change-failure rate (event attribute
//!   `change_failure_rate`, else the configured prior) over the prior's odds, in [0.25, 2].

use faultline_core::{ChangeEvent, Incident};

use crate::RcaConfig;

/// A change event correlated with the incident.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelatedChange<'a> {
    /// The event.
    pub event: &'a ChangeEvent,
    /// Service index.
    pub service: usize,
    /// Seconds from the event to the onset (positive: the change came first).
    pub lead_secs: f64,
    /// Timing factor in [0, 1].
    pub timing: f64,
}

/// Change events within ± `change_window_secs` of the onset whose service is known.
pub fn correlated<'a>(
    events: &'a [ChangeEvent],
    incident: &Incident,
    index: &std::collections::BTreeMap<faultline_core::ServiceId, usize>,
    cfg: &RcaConfig,
) -> Vec<CorrelatedChange<'a>> {
    let w = cfg.change_window_secs as f64;
    let mut out: Vec<CorrelatedChange<'a>> = events
        .iter()
        .filter_map(|e| {
            let lead = incident.onset.since(e.ts).as_secs_f64();
            if lead.abs() > w {
                return None;
            }
            let service = *index.get(&e.service)?;
            let tau = if lead >= 0.0 { w / 4.0 } else { w / 12.0 };
            let timing = if tau > 0.0 { (-lead.abs() / tau).exp() } else { 1.0 };
            Some(CorrelatedChange {
                event: e,
                service,
                lead_secs: lead,
                timing,
            })
        })
        .collect();
    out.sort_by(|a, b| a.event.ts.cmp(&b.event.ts).then(a.service.cmp(&b.service)));
    out
}

/// The change-impact likelihood from its factors (see the module documentation).
pub fn likelihood(c: &CorrelatedChange<'_>, shift: f64, explained: f64, cfg: &RcaConfig) -> f64 {
    let p = c
        .event
        .attributes
        .get("change_failure_rate")
        .and_then(serde_json::Value::as_f64)
        .filter(|p| (0.0..1.0).contains(p))
        .unwrap_or(cfg.change_failure_prior);
    let odds = |p: f64| p.max(1e-3) / (1.0 - p).max(1e-3);
    let prior = (odds(p) / odds(cfg.change_failure_prior)).clamp(0.25, 2.0);
    let v = c.timing * (0.2 + 0.8 * shift.clamp(0.0, 1.0)) * (1.0 - 0.5 * explained.clamp(0.0, 1.0)) * prior;
    v.clamp(0.0, 1.0)
}

//! [`IncidentReport`]: the versioned result of an analysis.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    AlertGroupId, Anomaly, Evidence, FixPlan, Hypothesis, Incident, LogTemplate, ServiceId, TemplateSignal,
    Timestamp,
};

/// Version of the report's JSON shape. Bumped on any incompatible change.
pub const REPORT_VERSION: u32 = 1;

/// Alerts grouped into one notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertGroup {
    /// Content-derived id.
    pub id: AlertGroupId,
    /// The label values the group shares.
    pub key: crate::Labels,
    /// Fingerprints of the member alerts (deduplicated).
    pub fingerprints: Vec<String>,
    /// First member's start.
    pub start: Timestamp,
    /// Last member's start.
    pub end: Timestamp,
    /// Set when an upstream group explains this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<AlertGroupId>,
}

/// Who is affected.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BlastRadius {
    /// Services affected (the root cause and those that depend on it and show symptoms).
    pub services: Vec<ServiceId>,
    /// SLOs at risk, when known.
    #[serde(default)]
    pub slos: Vec<String>,
}

/// One line of the incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When.
    pub ts: Timestamp,
    /// Which service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceId>,
    /// What (`change`, `anomaly`, `new_template`, `alert`, `onset`).
    pub kind: String,
    /// Text.
    pub summary: String,
}

/// The result of analysing one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentReport {
    /// Shape version ([`REPORT_VERSION`]).
    pub version: u32,
    /// The incident.
    pub incident: Incident,
    /// One-paragraph summary from the narrator.
    #[serde(default)]
    pub narrative: String,
    /// Ranked hypotheses, best first.
    pub hypotheses: Vec<Hypothesis>,
    /// Every evidence item any hypothesis refers to.
    pub evidence: Vec<Evidence>,
    /// Metric anomalies in the window.
    pub anomalies: Vec<Anomaly>,
    /// Templates that matter (new or spiking, and the most frequent errors).
    pub templates: Vec<LogTemplate>,
    /// New / spiking template signals.
    #[serde(default)]
    pub template_signals: Vec<TemplateSignal>,
    /// Alert groups.
    pub alert_groups: Vec<AlertGroup>,
    /// Who is affected.
    pub blast_radius: BlastRadius,
    /// What happened, in order.
    pub timeline: Vec<TimelineEntry>,
    /// Fix plan for the top hypothesis, when planning ran and a rule matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<FixPlan>,
    /// Milliseconds per stage.
    pub timings: BTreeMap<String, f64>,
}

impl IncidentReport {
    /// The evidence item with this id.
    pub fn evidence(&self, id: &crate::EvidenceId) -> Option<&Evidence> {
        self.evidence.iter().find(|e| &e.id == id)
    }
}

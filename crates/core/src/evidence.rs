//! Evidence: observations that support or argue against a hypothesis, each pointing back at
//! the inputs it came from so a user can open it.

use serde::{Deserialize, Serialize};

use crate::{AnomalyId, EvidenceId, SeriesKey, ServiceId, TemplateId, Timestamp};

/// What sort of observation a piece of evidence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// A metric anomaly.
    MetricAnomaly,
    /// A metric shift measured over the window (robust statistics, no detector threshold).
    MetricShift,
    /// A log template that is new in the window.
    NewLogTemplate,
    /// A log template whose rate jumped.
    LogSpike,
    /// A change event near the onset.
    Change,
    /// Error spans or span latency.
    Trace,
    /// Firing alerts.
    Alert,
    /// A dependency relation in the service graph.
    Topology,
    /// Something that looks normal (used as counter-evidence).
    Healthy,
}

/// Where a piece of evidence comes from in the inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EvidenceRef {
    /// A metric series over a time range.
    Series {
        /// The series.
        key: SeriesKey,
        /// Range start.
        start: Timestamp,
        /// Range end.
        end: Timestamp,
        /// The anomaly, if a detector flagged it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        anomaly: Option<AnomalyId>,
    },
    /// A log template and example lines.
    Template {
        /// The template.
        template: TemplateId,
        /// Example lines.
        exemplars: Vec<String>,
    },
    /// A change event.
    Change {
        /// When it happened.
        ts: Timestamp,
        /// Kind (`deploy`, `config`, …).
        kind: String,
        /// New version, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        /// Input file and line, if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<crate::SourceRef>,
    },
    /// Spans.
    Spans {
        /// Some of the spans' ids (trace id / span id).
        span_ids: Vec<String>,
    },
    /// Alerts by fingerprint.
    Alerts {
        /// Fingerprints.
        fingerprints: Vec<String>,
    },
    /// An edge of the service graph.
    Edge {
        /// Caller.
        source: ServiceId,
        /// Callee.
        target: ServiceId,
    },
}

/// One observation, with a score of how strongly it points at its subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Content-derived id.
    pub id: EvidenceId,
    /// What sort of observation.
    pub kind: EvidenceKind,
    /// The service it is about.
    pub service: ServiceId,
    /// One sentence for humans.
    pub summary: String,
    /// Strength in [0, 1].
    pub score: f64,
    /// Where to look.
    #[serde(rename = "ref")]
    pub reference: EvidenceRef,
}

impl Evidence {
    /// Evidence whose id is derived from its kind, service and summary.
    pub fn new(
        kind: EvidenceKind,
        service: ServiceId,
        summary: String,
        score: f64,
        reference: EvidenceRef,
    ) -> Self {
        let kind_name = serde_json::to_string(&kind).unwrap_or_default();
        let id = EvidenceId::derive(&[&kind_name, service.as_str(), &summary]);
        Self {
            id,
            kind,
            service,
            summary,
            score: if score.is_finite() {
                score.clamp(0.0, 1.0)
            } else {
                0.0
            },
            reference,
        }
    }
}

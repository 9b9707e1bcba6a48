//! Ranked explanations of an incident.

use serde::{Deserialize, Serialize};

use crate::{EvidenceId, HypothesisId, NonEmpty, SeriesKey, ServiceId, TemplateId, Timestamp};

/// What a hypothesis says caused the incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cause {
    /// A change event (deploy, config, flag, scaling).
    Change {
        /// Kind of change (`deploy`, `config`, …).
        change_kind: String,
        /// When it happened.
        ts: Timestamp,
        /// Version, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
    },
    /// Resource exhaustion or saturation in a metric.
    Resource {
        /// The metric.
        metric: SeriesKey,
    },
    /// A code-level fault visible in logs.
    Code {
        /// The error template.
        template: TemplateId,
        /// Its text.
        text: String,
    },
    /// The service suffers from a failing dependency.
    Dependency {
        /// The dependency.
        service: ServiceId,
    },
    /// Anomalous, cause not identified.
    Unknown,
}

impl Cause {
    /// Short name of the variant (`change`, `resource`, …).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Cause::Change { .. } => "change",
            Cause::Resource { .. } => "resource",
            Cause::Code { .. } => "code",
            Cause::Dependency { .. } => "dependency",
            Cause::Unknown => "unknown",
        }
    }
}

/// A ranked explanation: which service, what cause, how confident, and on what evidence.
///
/// `support` is a [`NonEmpty`] list: a hypothesis without evidence cannot be built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hypothesis {
    /// Content-derived id.
    pub id: HypothesisId,
    /// 1-based rank.
    pub rank: u32,
    /// The suspected root-cause service.
    pub service: ServiceId,
    /// What caused it.
    pub cause: Cause,
    /// One sentence for humans.
    pub statement: String,
    /// Confidence in [0, 1].
    pub confidence: f64,
    /// Evidence for it (never empty).
    pub support: NonEmpty<EvidenceId>,
    /// Evidence against it.
    #[serde(default)]
    pub counter: Vec<EvidenceId>,
    /// Why it ranks below the top hypothesis (absent for rank 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
}

//! Log templates mined from records, and the signals derived from them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{ServiceId, Severity, TemplateId, Timestamp};

/// A log template: the constant text of a family of lines, variables as `<*>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogTemplate {
    /// Content-derived id.
    pub id: TemplateId,
    /// Template text, variables written `<*>`.
    pub text: String,
    /// Tokens of the template.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<String>,
    /// Records that matched it.
    pub count: u64,
    /// First record's time.
    pub first_seen: Timestamp,
    /// Last record's time.
    pub last_seen: Timestamp,
    /// Count per level.
    #[serde(default)]
    pub severity_mix: BTreeMap<Severity, u64>,
    /// A few example lines.
    #[serde(default)]
    pub exemplars: Vec<String>,
    /// Services whose logs contain it.
    #[serde(default)]
    pub services: Vec<ServiceId>,
}

impl LogTemplate {
    /// Records at ERROR or above.
    pub fn error_count(&self) -> u64 {
        self.severity_mix
            .iter()
            .filter(|(s, _)| s.is_error())
            .map(|(_, n)| n)
            .sum()
    }
}

/// What is new or changed about a template in the incident window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TemplateSignalKind {
    /// Never seen before the window's baseline.
    New,
    /// Its rate moved against its own baseline.
    RateShift {
        /// Rate before (records per minute).
        baseline_per_min: f64,
        /// Rate during (records per minute).
        current_per_min: f64,
    },
}

/// A template that is new or spiking for one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateSignal {
    /// The template.
    pub template: TemplateId,
    /// The service whose logs show it.
    pub service: ServiceId,
    /// New or rate shift.
    #[serde(flatten)]
    pub kind: TemplateSignalKind,
    /// Start of the window where it shows.
    pub start: Timestamp,
    /// End of that window.
    pub end: Timestamp,
    /// Records of this template for this service in the window.
    pub count: u64,
    /// Share of those records at ERROR or above.
    pub error_share: f64,
    /// How unusual, in [0, 1].
    pub score: f64,
}

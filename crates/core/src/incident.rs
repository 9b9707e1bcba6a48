//! Incidents and their analysis window.

use serde::{Deserialize, Serialize};

use crate::{IncidentId, ServiceId, Timestamp};

/// A closed time range `[start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeWindow {
    /// Start (inclusive).
    pub start: Timestamp,
    /// End (inclusive).
    pub end: Timestamp,
}

impl TimeWindow {
    /// Whether `t` is inside.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t <= self.end
    }
}

/// How far along an incident is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    /// Open, being investigated.
    #[default]
    Open,
    /// Cause known, fix under way.
    Mitigating,
    /// Over.
    Resolved,
}

/// An incident: when it started, the window to analyse, where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Host-chosen id.
    pub id: IncidentId,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// When the impact started (as far as anyone knows; it may be off by minutes).
    pub onset: Timestamp,
    /// Window to analyse.
    pub window: TimeWindow,
    /// Environment (`prod`, `staging`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Services known to be affected.
    #[serde(default)]
    pub services: Vec<ServiceId>,
    /// Severity label, if the host has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Status.
    #[serde(default)]
    pub status: IncidentStatus,
}

impl Incident {
    /// An open incident with an id, a title, its onset and the window to analyse; no
    /// environment, services or severity yet.
    ///
    /// ```
    /// use faultline_core::{Incident, IncidentStatus, TimeWindow, Timestamp};
    /// let window = TimeWindow { start: Timestamp::from_secs(0), end: Timestamp::from_secs(3600) };
    /// let i = Incident::new("inc-1", "checkout errors", Timestamp::from_secs(1800), window);
    /// assert_eq!((i.id.0.as_str(), i.status), ("inc-1", IncidentStatus::Open));
    /// assert!(i.services.is_empty() && i.environment.is_none());
    /// ```
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        onset: Timestamp,
        window: TimeWindow,
    ) -> Self {
        Self {
            id: IncidentId(id.into()),
            title: title.into(),
            onset,
            window,
            environment: None,
            services: Vec::new(),
            severity: None,
            status: IncidentStatus::Open,
        }
    }
}

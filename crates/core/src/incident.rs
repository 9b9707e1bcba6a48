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

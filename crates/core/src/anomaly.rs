//! Detected anomalies in metric series.

use serde::{Deserialize, Serialize};

use crate::{AnomalyId, SeriesKey, Timestamp};

/// Which way the observed value left the expected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Above expected.
    Up,
    /// Below expected.
    Down,
}

impl Direction {
    /// `Up` for a positive deviation, `Down` otherwise.
    pub fn of(deviation: f64) -> Self {
        if deviation >= 0.0 {
            Direction::Up
        } else {
            Direction::Down
        }
    }
}

/// How bad an anomaly is, from its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnomalySeverity {
    /// Score below 0.5.
    Low,
    /// Score in [0.5, 0.8).
    Medium,
    /// Score in [0.8, 0.95).
    High,
    /// Score at least 0.95.
    Critical,
}

impl AnomalySeverity {
    /// The level of a score in [0, 1].
    pub fn from_score(score: f64) -> Self {
        if score >= 0.95 {
            Self::Critical
        } else if score >= 0.8 {
            Self::High
        } else if score >= 0.5 {
            Self::Medium
        } else {
            Self::Low
        }
    }
}

/// The shape of an anomaly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnomalyKind {
    /// Isolated outlying points.
    Point,
    /// The level moved and stayed.
    LevelShift,
    /// A sustained slope.
    Trend,
    /// The spread changed.
    Variance,
    /// A forecast crosses a threshold in the future.
    Predictive {
        /// When the threshold is expected to be crossed.
        eta: Timestamp,
        /// The threshold.
        threshold: f64,
    },
}

/// Expected value with an interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Expected {
    /// Point estimate.
    pub value: f64,
    /// Lower bound of the normal band.
    pub lower: f64,
    /// Upper bound of the normal band.
    pub upper: f64,
}

/// An anomaly in one series: one episode, from `start` to `end`, peaking at `peak`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// Content-derived id.
    pub id: AnomalyId,
    /// The series.
    pub series: SeriesKey,
    /// First anomalous sample.
    pub start: Timestamp,
    /// Last anomalous sample.
    pub end: Timestamp,
    /// Most anomalous sample.
    pub peak: Timestamp,
    /// Observed value at the peak.
    pub observed: f64,
    /// Expected value at the peak.
    pub expected: Expected,
    /// Anomaly score in [0, 1].
    pub score: f64,
    /// Level derived from the score.
    pub severity: AnomalySeverity,
    /// Up or down.
    pub direction: Direction,
    /// Shape.
    pub kind: AnomalyKind,
    /// Name of the detector that found it.
    pub detector: String,
}

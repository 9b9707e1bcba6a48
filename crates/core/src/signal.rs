//! Input signals: metric series, log records, change events, spans and alerts, and
//! [`SignalSet`], the bundle of all of them for one incident window.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{DurationNs, Labels, ServiceId, Timestamp, Topology};

/// Identifies one metric series: which service, which metric, which label combination.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeriesKey {
    /// The service the series belongs to.
    pub service: ServiceId,
    /// Metric name (`latency_p95_ms`, `cpu`, `http_5xx_rate`).
    pub metric: String,
    /// Further dimensions (pod, instance, endpoint).
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
}

impl SeriesKey {
    /// A key without labels.
    pub fn new(service: impl Into<ServiceId>, metric: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            metric: metric.into(),
            labels: Labels::new(),
        }
    }
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.service, self.metric)?;
        if !self.labels.is_empty() {
            write!(f, "{}", self.labels)?;
        }
        Ok(())
    }
}

/// A metric series, columnar: `timestamps[i]` goes with `values[i]`, sorted by time.
///
/// ```
/// use faultline_core::{Series, SeriesKey, Timestamp};
/// let s = Series::new(
///     SeriesKey::new("checkout", "latency_p95_ms"),
///     vec![Timestamp::from_secs(0), Timestamp::from_secs(15)],
///     vec![120.0, 980.0],
/// ).unwrap();
/// assert_eq!(s.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// What the series measures.
    pub key: SeriesKey,
    /// Sample times, ascending.
    pub timestamps: Vec<Timestamp>,
    /// Sample values (may hold NaN for missing samples).
    pub values: Vec<f64>,
}

/// The columns of a [`Series`] had different lengths.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("series {key}: {timestamps} timestamps but {values} values")]
pub struct RaggedSeries {
    /// The series.
    pub key: String,
    /// Number of timestamps.
    pub timestamps: usize,
    /// Number of values.
    pub values: usize,
}

impl Series {
    /// A series from its columns; sorts by time (stable) if needed.
    pub fn new(key: SeriesKey, timestamps: Vec<Timestamp>, values: Vec<f64>) -> Result<Self, RaggedSeries> {
        if timestamps.len() != values.len() {
            return Err(RaggedSeries {
                key: key.to_string(),
                timestamps: timestamps.len(),
                values: values.len(),
            });
        }
        let mut s = Self {
            key,
            timestamps,
            values,
        };
        s.sort_by_time();
        Ok(s)
    }
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }
    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }
    /// Sorts samples by time if they are not already (stable: equal times keep input order).
    pub fn sort_by_time(&mut self) {
        if self.timestamps.windows(2).all(|w| w[0] <= w[1]) {
            return;
        }
        let mut idx: Vec<usize> = (0..self.timestamps.len()).collect();
        idx.sort_by_key(|&i| self.timestamps[i]);
        self.timestamps = idx.iter().map(|&i| self.timestamps[i]).collect();
        self.values = idx.iter().map(|&i| self.values[i]).collect();
    }
    /// Index of the first sample at or after `t`.
    pub fn index_at(&self, t: Timestamp) -> usize {
        self.timestamps.partition_point(|&x| x < t)
    }
}

/// Severity of a log record: the OpenTelemetry severity number (1–24) and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// No level given.
    #[default]
    Unspecified,
    /// TRACE (OTel 1–4).
    Trace,
    /// DEBUG (5–8).
    Debug,
    /// INFO (9–12).
    Info,
    /// WARN (13–16).
    Warn,
    /// ERROR (17–20).
    Error,
    /// FATAL (21–24).
    Fatal,
}

impl Severity {
    /// The OpenTelemetry severity number of the level's first step (INFO = 9, ERROR = 17).
    pub fn number(self) -> u8 {
        match self {
            Severity::Unspecified => 0,
            Severity::Trace => 1,
            Severity::Debug => 5,
            Severity::Info => 9,
            Severity::Warn => 13,
            Severity::Error => 17,
            Severity::Fatal => 21,
        }
    }
    /// From an OpenTelemetry severity number.
    pub fn from_number(n: u8) -> Self {
        match n {
            1..=4 => Severity::Trace,
            5..=8 => Severity::Debug,
            9..=12 => Severity::Info,
            13..=16 => Severity::Warn,
            17..=20 => Severity::Error,
            21..=24 => Severity::Fatal,
            _ => Severity::Unspecified,
        }
    }
    /// Reads the level names used by common loggers (case-insensitive): `warning`, `wrn`,
    /// `eror`, `crit`, `notice`, `panic`, `E`, … Unknown text is `Unspecified`.
    ///
    /// ```
    /// use faultline_core::Severity;
    /// assert_eq!(Severity::parse("WARNING"), Severity::Warn);
    /// assert_eq!(Severity::parse("eror"), Severity::Error);
    /// ```
    pub fn parse(text: &str) -> Self {
        let t = text.trim();
        let mut buf = [0u8; 12];
        if t.len() > buf.len() {
            return Severity::Unspecified;
        }
        for (d, s) in buf.iter_mut().zip(t.bytes()) {
            *d = s.to_ascii_lowercase();
        }
        match &buf[..t.len()] {
            b"trace" | b"trc" | b"t" | b"finest" | b"finer" | b"verbose" | b"v" => Severity::Trace,
            b"debug" | b"dbg" | b"d" | b"fine" | b"config" => Severity::Debug,
            b"info" | b"inf" | b"i" | b"information" | b"notice" | b"informational" => Severity::Info,
            b"warn" | b"warning" | b"wrn" | b"w" => Severity::Warn,
            b"error" | b"err" | b"eror" | b"e" | b"severe" => Severity::Error,
            b"fatal" | b"ftl" | b"f" | b"crit" | b"critical" | b"alert" | b"emerg" | b"emergency"
            | b"panic" | b"dpanic" => Severity::Fatal,
            _ => match t.parse::<u8>() {
                // pino/bunyan numeric levels
                Ok(10) => Severity::Trace,
                Ok(20) => Severity::Debug,
                Ok(30) => Severity::Info,
                Ok(40) => Severity::Warn,
                Ok(50) => Severity::Error,
                Ok(60) => Severity::Fatal,
                Ok(n) => Severity::from_number(n),
                Err(_) => Severity::Unspecified,
            },
        }
    }
    /// Whether this is ERROR or FATAL.
    pub fn is_error(self) -> bool {
        self >= Severity::Error
    }
}

/// Where a record came from in the input, for evidence that points back at it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct SourceRef {
    /// File name relative to the bundle (`logs.jsonl`, `logs/checkout.log`).
    pub file: String,
    /// 1-based line number of the record's first line.
    pub line: u64,
}

/// One log record (after multi-line joining).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    /// When it was written.
    pub ts: Timestamp,
    /// Which service wrote it.
    pub service: ServiceId,
    /// Level.
    #[serde(default)]
    pub severity: Severity,
    /// The message (with continuation lines, joined by `\n`).
    pub body: String,
    /// Further fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Trace id, if the record carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Span id, if the record carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// Where the record was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

/// What kind of change a [`ChangeEvent`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A new version rolled out.
    Deploy,
    /// A configuration change.
    Config,
    /// A feature flag flipped.
    FeatureFlag,
    /// Replicas or resources changed.
    Scale,
    /// A restart.
    Restart,
    /// Anything else.
    Other,
}

impl ChangeKind {
    /// Reads common spellings (`deploy`, `deployment`, `rollout`, `config`, `feature_flag`,
    /// `flag`, `scale`, `restart`); anything else is `Other`.
    pub fn parse(text: &str) -> Self {
        match text.trim().to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
            "deploy" | "deployment" | "rollout" | "release" | "upgrade" => ChangeKind::Deploy,
            "config" | "configuration" | "config_change" | "configmap" => ChangeKind::Config,
            "feature_flag" | "featureflag" | "flag" | "feature" => ChangeKind::FeatureFlag,
            "scale" | "scaling" | "autoscale" | "resize" => ChangeKind::Scale,
            "restart" | "reboot" | "redeploy" => ChangeKind::Restart,
            _ => ChangeKind::Other,
        }
    }
}

/// A change to the system: deploy, config, flag, scaling, restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// When it happened.
    pub ts: Timestamp,
    /// Which service changed.
    pub service: ServiceId,
    /// What kind of change.
    pub kind: ChangeKind,
    /// New version, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Further fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Where it was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

/// Outcome of a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SpanStatus {
    /// Succeeded (or unset).
    #[default]
    Ok,
    /// Failed.
    Error,
}

/// One span of a distributed trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// Trace id.
    pub trace_id: String,
    /// Span id.
    pub span_id: String,
    /// Parent span id (none for a root span).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    /// Service that emitted the span.
    pub service: ServiceId,
    /// Operation name.
    pub operation: String,
    /// Start time.
    pub start: Timestamp,
    /// Duration.
    pub duration: DurationNs,
    /// Outcome.
    pub status: SpanStatus,
    /// Further fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// Alert state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// Still firing.
    #[default]
    Firing,
    /// Resolved.
    Resolved,
}

/// An alert, shaped like Alertmanager's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// When it started firing.
    pub starts_at: Timestamp,
    /// When it resolved, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Timestamp>,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// Identifying labels (`alertname`, `service`, `severity`, …).
    pub labels: Labels,
    /// Descriptive annotations (`summary`, `description`, …).
    #[serde(default)]
    pub annotations: Labels,
    /// Stable identity of the alert (derived from the labels when not given).
    pub fingerprint: String,
}

impl Alert {
    /// The service the alert is about: its `service` label, else `job`, `app`, `container`.
    pub fn service(&self) -> Option<ServiceId> {
        ["service", "service_name", "app", "job", "container"]
            .iter()
            .find_map(|k| self.labels.get(k))
            .map(ServiceId::new)
    }
}

/// Every signal of one incident window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SignalSet {
    /// Metric series.
    #[serde(default)]
    pub series: Vec<Series>,
    /// Log records, in time order.
    #[serde(default)]
    pub logs: Vec<LogRecord>,
    /// Change events, in time order.
    #[serde(default)]
    pub events: Vec<ChangeEvent>,
    /// Spans.
    #[serde(default)]
    pub spans: Vec<Span>,
    /// Alerts.
    #[serde(default)]
    pub alerts: Vec<Alert>,
    /// The service graph, if known.
    #[serde(default)]
    pub topology: Topology,
}

impl SignalSet {
    /// Every service named by any signal, sorted.
    pub fn services(&self) -> Vec<ServiceId> {
        let mut v: Vec<ServiceId> = self
            .series
            .iter()
            .map(|s| s.key.service.clone())
            .chain(self.logs.iter().map(|l| l.service.clone()))
            .chain(self.events.iter().map(|e| e.service.clone()))
            .chain(self.spans.iter().map(|s| s.service.clone()))
            .chain(self.alerts.iter().filter_map(Alert::service))
            .chain(self.topology.services())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_reads_common_spellings() {
        for (t, s) in [
            ("WARNING", Severity::Warn),
            ("wrn", Severity::Warn),
            ("Eror", Severity::Error),
            ("CRITICAL", Severity::Fatal),
            ("notice", Severity::Info),
            ("50", Severity::Error),
            ("17", Severity::Error),
            ("banana", Severity::Unspecified),
            ("a-very-long-level-name", Severity::Unspecified),
        ] {
            assert_eq!(Severity::parse(t), s, "{t}");
        }
    }

    #[test]
    fn series_sorts_and_rejects_ragged_columns() {
        let k = SeriesKey::new("a", "m");
        let s = Series::new(k.clone(), vec![Timestamp(2), Timestamp(1)], vec![2.0, 1.0]).unwrap();
        assert_eq!(s.values, vec![1.0, 2.0]);
        assert_eq!(s.index_at(Timestamp(2)), 1);
        let e = Series::new(k, vec![Timestamp(1)], vec![]).unwrap_err();
        assert_eq!(e.to_string(), "series a/m: 1 timestamps but 0 values");
    }

    #[test]
    fn change_kind_spellings() {
        assert_eq!(ChangeKind::parse("Deployment"), ChangeKind::Deploy);
        assert_eq!(ChangeKind::parse("feature-flag"), ChangeKind::FeatureFlag);
        assert_eq!(ChangeKind::parse("whatever"), ChangeKind::Other);
    }
}

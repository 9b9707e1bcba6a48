//! [`Batch`]: what one parsed body holds, and the builder every parser fills it through (the
//! one place where [`Limits`] on records and labels are enforced).

use std::collections::BTreeMap;

use faultline_core::{Alert, ChangeEvent, Labels, LogRecord, Series, SeriesKey, SignalSet, Span, Timestamp};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::{Format, IngestError, Limits};

/// The signals of one request body, validated as a whole.
///
/// Metric points are grouped per [`SeriesKey`] into columnar [`Series`] (sorted by time, in
/// order of first appearance), ready to be appended to per-series chunks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Metric points grouped per series.
    pub series: Vec<Series>,
    /// Log records, in input order.
    pub logs: Vec<LogRecord>,
    /// Spans, in input order.
    pub spans: Vec<Span>,
    /// Change events (deploys, config, scaling, restarts), in input order.
    pub events: Vec<ChangeEvent>,
    /// Alerts, in input order.
    pub alerts: Vec<Alert>,
}

/// How many records of each kind a [`Batch`] holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Distinct series.
    pub series: usize,
    /// Metric points over all series.
    pub points: usize,
    /// Log records.
    pub logs: usize,
    /// Spans.
    pub spans: usize,
    /// Change events.
    pub events: usize,
    /// Alerts.
    pub alerts: usize,
}

impl Counts {
    /// Records of every kind (points, logs, spans, events, alerts), the unit of
    /// [`Limits::max_records`].
    pub fn records(&self) -> usize {
        self.points + self.logs + self.spans + self.events + self.alerts
    }
}

impl Batch {
    /// How many records of each kind it holds.
    pub fn counts(&self) -> Counts {
        Counts {
            series: self.series.len(),
            points: self.series.iter().map(Series::len).sum(),
            logs: self.logs.len(),
            spans: self.spans.len(),
            events: self.events.len(),
            alerts: self.alerts.len(),
        }
    }

    /// Whether it holds no record at all.
    pub fn is_empty(&self) -> bool {
        self.counts().records() == 0
    }

    /// The batch as a [`SignalSet`] (no topology), e.g. to analyse it directly.
    pub fn into_signal_set(self) -> SignalSet {
        SignalSet {
            series: self.series,
            logs: self.logs,
            events: self.events,
            spans: self.spans,
            alerts: self.alerts,
            topology: Default::default(),
        }
    }
}

/// Fills a [`Batch`], enforcing [`Limits`] as records arrive.
pub(crate) struct Builder<'l> {
    pub(crate) format: Format,
    limits: &'l Limits,
    records: usize,
    index: FxHashMap<SeriesKey, usize>,
    batch: Batch,
}

impl<'l> Builder<'l> {
    pub(crate) fn new(format: Format, limits: &'l Limits) -> Self {
        Self {
            format,
            limits,
            records: 0,
            index: FxHashMap::default(),
            batch: Batch::default(),
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        self.limits
    }

    /// Counts one record, refusing the one past the limit.
    pub(crate) fn count(&mut self, at: impl FnOnce() -> String) -> Result<(), IngestError> {
        self.records += 1;
        if self.records > self.limits.max_records {
            return Err(IngestError::TooManyRecords {
                format: self.format,
                at: at(),
                max: self.limits.max_records,
            });
        }
        Ok(())
    }

    /// Refuses `n` more records at once when they would not fit (cheap pre-check before a
    /// decoder allocates them).
    pub(crate) fn reserve(&self, n: usize, at: impl FnOnce() -> String) -> Result<(), IngestError> {
        if self.records.saturating_add(n) > self.limits.max_records {
            return Err(IngestError::TooManyRecords {
                format: self.format,
                at: at(),
                max: self.limits.max_records,
            });
        }
        Ok(())
    }

    /// Room for `n` more log records (a count the decoder already knows).
    pub(crate) fn reserve_logs(&mut self, n: usize) {
        self.batch.logs.reserve(n.min(self.limits.max_records));
    }

    /// Room for `n` more spans.
    pub(crate) fn reserve_spans(&mut self, n: usize) {
        self.batch.spans.reserve(n.min(self.limits.max_records));
    }

    /// Checks a label set against the count and length caps. `field` names the map
    /// (`labels`, `attributes`).
    pub(crate) fn check_labels(
        &self,
        labels: &Labels,
        at: &dyn Fn() -> String,
        field: &str,
    ) -> Result<(), IngestError> {
        self.check_count(labels.len(), at, field)?;
        for (k, v) in labels.iter() {
            self.check_label(k, at, field)?;
            if v.len() > self.limits.max_label_bytes {
                return Err(self.too_long(at, &format!("{field}.{k}"), v));
            }
        }
        Ok(())
    }

    /// Checks attribute keys (not values: a stack trace may be long) and their count.
    pub(crate) fn check_attributes(
        &self,
        attrs: &BTreeMap<String, serde_json::Value>,
        at: &dyn Fn() -> String,
    ) -> Result<(), IngestError> {
        self.check_count(attrs.len(), at, "attributes")?;
        for k in attrs.keys() {
            self.check_label(k, at, "attributes")?;
        }
        Ok(())
    }

    fn check_count(&self, n: usize, at: &dyn Fn() -> String, field: &str) -> Result<(), IngestError> {
        if n > self.limits.max_labels {
            return Err(IngestError::invalid(
                self.format,
                at(),
                field,
                &n.to_string(),
                format!("more than {} entries", self.limits.max_labels),
            ));
        }
        Ok(())
    }

    fn check_label(&self, name: &str, at: &dyn Fn() -> String, field: &str) -> Result<(), IngestError> {
        if name.is_empty() {
            return Err(IngestError::invalid(self.format, at(), field, "", "empty name"));
        }
        if name.len() > self.limits.max_label_bytes {
            return Err(self.too_long(at, field, name));
        }
        Ok(())
    }

    fn too_long(&self, at: &dyn Fn() -> String, field: &str, value: &str) -> IngestError {
        IngestError::invalid(
            self.format,
            at(),
            field,
            value,
            format!("longer than {} bytes", self.limits.max_label_bytes),
        )
    }

    /// Checks a service name: not empty, not longer than a label.
    pub(crate) fn check_service(
        &self,
        service: &str,
        at: &dyn Fn() -> String,
        field: &str,
    ) -> Result<(), IngestError> {
        if service.trim().is_empty() {
            return Err(IngestError::invalid(
                self.format,
                at(),
                field,
                service,
                "empty service name",
            ));
        }
        if service.len() > self.limits.max_label_bytes {
            return Err(self.too_long(at, field, service));
        }
        Ok(())
    }

    /// The index of `key`'s series, creating it (after checking the key) when new.
    pub(crate) fn series(&mut self, key: SeriesKey, at: &dyn Fn() -> String) -> Result<usize, IngestError> {
        if let Some(&i) = self.index.get(&key) {
            return Ok(i);
        }
        self.check_service(key.service.as_str(), at, "service")?;
        if key.metric.is_empty() {
            return Err(IngestError::invalid(
                self.format,
                at(),
                "metric",
                "",
                "empty metric name",
            ));
        }
        if key.metric.len() > self.limits.max_label_bytes {
            return Err(self.too_long(at, "metric", &key.metric));
        }
        self.check_labels(&key.labels, at, "labels")?;
        let i = self.batch.series.len();
        self.batch.series.push(Series {
            key: key.clone(),
            timestamps: Vec::new(),
            values: Vec::new(),
        });
        self.index.insert(key, i);
        Ok(i)
    }

    /// The key of series `i` (from [`Builder::series`]).
    pub(crate) fn series_key(&self, i: usize) -> &SeriesKey {
        &self.batch.series[i].key
    }

    /// Appends a point to series `i` (from [`Builder::series`]).
    pub(crate) fn push_point(
        &mut self,
        i: usize,
        ts: Timestamp,
        value: f64,
        at: impl FnOnce() -> String,
    ) -> Result<(), IngestError> {
        self.count(at)?;
        let s = &mut self.batch.series[i];
        s.timestamps.push(ts);
        s.values.push(value);
        Ok(())
    }

    /// Appends a whole column of points (same length) to series `i`, counting each.
    pub(crate) fn push_points(
        &mut self,
        i: usize,
        ts: Vec<Timestamp>,
        values: Vec<f64>,
        at: impl FnOnce() -> String,
    ) -> Result<(), IngestError> {
        debug_assert_eq!(ts.len(), values.len());
        self.reserve(ts.len(), at)?;
        self.records += ts.len();
        let s = &mut self.batch.series[i];
        if s.timestamps.is_empty() {
            s.timestamps = ts;
            s.values = values;
        } else {
            s.timestamps.extend(ts);
            s.values.extend(values);
        }
        Ok(())
    }

    /// Appends a point to the series of `key`.
    pub(crate) fn point(
        &mut self,
        key: SeriesKey,
        ts: Timestamp,
        value: f64,
        at: &dyn Fn() -> String,
    ) -> Result<(), IngestError> {
        let i = self.series(key, at)?;
        self.push_point(i, ts, value, at)
    }

    pub(crate) fn log(&mut self, rec: LogRecord, at: &dyn Fn() -> String) -> Result<(), IngestError> {
        self.count(at)?;
        self.check_service(rec.service.as_str(), at, "service")?;
        self.check_attributes(&rec.attributes, at)?;
        self.batch.logs.push(rec);
        Ok(())
    }

    pub(crate) fn span(&mut self, span: Span, at: &dyn Fn() -> String) -> Result<(), IngestError> {
        self.count(at)?;
        self.check_service(span.service.as_str(), at, "service")?;
        if span.trace_id.is_empty() {
            return Err(IngestError::invalid(
                self.format,
                at(),
                "trace_id",
                "",
                "empty trace id",
            ));
        }
        if span.span_id.is_empty() {
            return Err(IngestError::invalid(
                self.format,
                at(),
                "span_id",
                "",
                "empty span id",
            ));
        }
        if span.duration.0 < 0 {
            return Err(IngestError::invalid(
                self.format,
                at(),
                "duration",
                &span.duration.0.to_string(),
                "negative duration",
            ));
        }
        self.check_attributes(&span.attributes, at)?;
        self.batch.spans.push(span);
        Ok(())
    }

    pub(crate) fn event(&mut self, ev: ChangeEvent, at: &dyn Fn() -> String) -> Result<(), IngestError> {
        self.count(at)?;
        self.check_service(ev.service.as_str(), at, "service")?;
        self.check_attributes(&ev.attributes, at)?;
        self.batch.events.push(ev);
        Ok(())
    }

    pub(crate) fn alert(&mut self, alert: Alert, at: &dyn Fn() -> String) -> Result<(), IngestError> {
        self.count(at)?;
        self.check_labels(&alert.labels, at, "labels")?;
        self.check_count(alert.annotations.len(), at, "annotations")?;
        self.batch.alerts.push(alert);
        Ok(())
    }

    /// The batch, every series sorted by time.
    pub(crate) fn finish(mut self) -> Batch {
        for s in &mut self.batch.series {
            s.sort_by_time();
        }
        self.batch
    }
}

/// Label names that say which service a series belongs to, by priority.
pub const SERVICE_LABELS: [&str; 6] = [
    "service",
    "service_name",
    "service.name",
    "job",
    "app",
    "container",
];

/// The service of a series or record that names none.
pub const UNKNOWN_SERVICE: &str = "unknown";

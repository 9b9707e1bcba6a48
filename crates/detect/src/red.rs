//! RED and USE signals: rate, errors and duration per service derived from spans or request
//! counters, and the USE role (utilisation, saturation, errors) of resource metrics.
//!
//! RED from spans ([`red_from_spans`]): a service's *requests* are its entry spans — spans
//! without a parent or whose parent belongs to another service (the server side of a call);
//! internal child spans would count one request several times. Spans are bucketed by start
//! time into `bucket_secs` buckets aligned to the epoch, over the common range of all
//! services, and each service gets six series on that grid:
//! `request_rate` and `error_rate` (per second), `error_ratio` (errors / requests, NaN in
//! empty buckets), and `duration_p50_ms`, `duration_p95_ms`, `duration_p99_ms` (type-7
//! quantiles of the bucket's durations, NaN in empty buckets). Detectors skip NaN samples.
//!
//! Request counters ([`counter_rate`]): a monotone counter (Prometheus `*_total`) becomes a
//! per-second rate; a decrease is a counter reset, after which the new value itself is the
//! increase (as Prometheus' `rate` does).
//!
//! RED from request metrics ([`red_from_metrics`]): the same six series per service from
//! Prometheus-style request counters (with status / gRPC code labels or separate error
//! counters) and latency histograms (`_bucket` with `le`, quantiles as `histogram_quantile`
//! computes them) or summaries (`quantile` label); see its module for the conventions.
//!
//! USE from resource metrics ([`use_from_metrics`]): one series per service, role and metric
//! (`use_utilization_cpu_usage_percent`), counters as rates, percentages as fractions, pods and
//! devices merged by their maximum.

use std::collections::{BTreeMap, HashMap};

use faultline_core::{Series, SeriesKey, ServiceId, Span, SpanStatus, Timestamp};
use serde::{Deserialize, Serialize};

use crate::DetectError;

mod metrics;
mod use_series;
pub use metrics::red_from_metrics;
pub use use_series::use_from_metrics;

/// Metric names of the series [`red_from_spans`] produces, in output order per service.
pub const RED_METRICS: [&str; 6] = [
    "request_rate",
    "error_rate",
    "error_ratio",
    "duration_p50_ms",
    "duration_p95_ms",
    "duration_p99_ms",
];

/// Settings of [`red_from_spans`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedConfig {
    /// Bucket width in seconds (at least 1).
    pub bucket_secs: u64,
    /// Count only entry spans (see the module docs); `false` counts every span.
    pub entry_spans_only: bool,
    /// Most buckets (guards against a stray timestamp spanning years).
    pub max_buckets: usize,
}

impl RedConfig {
    /// Bucket width in nanoseconds.
    fn bucket_width_ns(&self) -> i64 {
        i64::try_from(self.bucket_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000_000)
    }

    /// Number of buckets from bucket index `first` to `last` (since the epoch), or the
    /// `max_buckets` error naming `what` needed more.
    fn buckets(&self, first: i64, last: i64, what: &str) -> Result<usize, DetectError> {
        let n = usize::try_from(last - first)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        if n > self.max_buckets {
            let width = self.bucket_width_ns();
            return Err(DetectError::config(
                "max_buckets",
                format!(
                    "{what} from {} to {} need {n} buckets of {} s",
                    Timestamp(first.saturating_mul(width)),
                    Timestamp(last.saturating_mul(width)),
                    self.bucket_secs
                ),
            ));
        }
        Ok(n)
    }
}

impl Default for RedConfig {
    fn default() -> Self {
        Self {
            bucket_secs: 60,
            entry_spans_only: true,
            max_buckets: 100_000,
        }
    }
}

/// One bucket of one service: span durations (ms) and the number of errors.
type Bucket = (Vec<f64>, usize);

/// Type-7 quantile of an ascending, non-empty slice.
fn quantile_sorted(s: &[f64], q: f64) -> f64 {
    let h = (s.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(s.len() - 1);
    s[lo] + (h - lo as f64) * (s[hi] - s[lo])
}

/// RED series per service from spans (see the module docs), services in name order, each with
/// the metrics of [`RED_METRICS`] in that order. No spans give `Ok(vec![])`.
///
/// Errors: [`DetectError::InvalidConfig`] for `bucket_secs = 0`, or when the spans cover more
/// than `max_buckets` buckets (naming the first and last start times).
///
/// ```
/// use faultline_core::{DurationNs, ServiceId, Span, SpanStatus, Timestamp};
/// use faultline_detect::red::{red_from_spans, RedConfig};
/// let span = |id: usize, secs: i64, ms: i64, err: bool| Span {
///     trace_id: format!("t{id}"),
///     span_id: format!("s{id}"),
///     parent_span_id: None,
///     service: ServiceId::new("checkout"),
///     operation: "POST /pay".into(),
///     start: Timestamp::from_secs(secs),
///     duration: DurationNs::from_millis(ms),
///     status: if err { SpanStatus::Error } else { SpanStatus::Ok },
///     attributes: Default::default(),
/// };
/// let spans: Vec<Span> = (0..120).map(|i| span(i, i as i64, 100 + i as i64, i % 10 == 0)).collect();
/// let red = red_from_spans(&spans, &RedConfig::default()).unwrap();
/// assert_eq!(red.len(), 6);
/// assert_eq!(red[0].key.metric, "request_rate");
/// assert_eq!(red[0].values, vec![1.0, 1.0]); // 60 requests per 60 s bucket
/// assert_eq!(red[2].values, vec![0.1, 0.1]); // error ratio
/// ```
pub fn red_from_spans(spans: &[Span], cfg: &RedConfig) -> Result<Vec<Series>, DetectError> {
    if cfg.bucket_secs == 0 {
        return Err(DetectError::config("bucket_secs", "must be at least 1"));
    }
    let owner: HashMap<(&str, &str), &ServiceId> = spans
        .iter()
        .map(|s| ((s.trace_id.as_str(), s.span_id.as_str()), &s.service))
        .collect();
    let is_entry = |s: &Span| match &s.parent_span_id {
        None => true,
        Some(p) => owner
            .get(&(s.trace_id.as_str(), p.as_str()))
            .is_none_or(|svc| **svc != s.service),
    };
    let width = cfg.bucket_width_ns();
    let chosen: Vec<&Span> = spans
        .iter()
        .filter(|s| !cfg.entry_spans_only || is_entry(s))
        .collect();
    let (Some(first), Some(last)) = (
        chosen.iter().map(|s| s.start.as_nanos().div_euclid(width)).min(),
        chosen.iter().map(|s| s.start.as_nanos().div_euclid(width)).max(),
    ) else {
        return Ok(vec![]);
    };
    let buckets = cfg.buckets(first, last, "spans")?;
    // Per service: per bucket (durations in ms, errors).
    let mut per: BTreeMap<&str, (ServiceId, Vec<Bucket>)> = BTreeMap::new();
    for s in &chosen {
        let b = (s.start.as_nanos().div_euclid(width) - first) as usize;
        let entry = per
            .entry(s.service.as_str())
            .or_insert_with(|| (s.service.clone(), vec![(Vec::new(), 0); buckets]));
        entry.1[b].0.push(s.duration.0 as f64 / 1e6);
        entry.1[b].1 += usize::from(s.status == SpanStatus::Error);
    }
    let ts: Vec<Timestamp> = (0..buckets as i64)
        .map(|b| Timestamp((first + b).saturating_mul(width)))
        .collect();
    let secs = cfg.bucket_secs as f64;
    let mut out = Vec::with_capacity(per.len() * RED_METRICS.len());
    for (_, (svc, mut cells)) in per {
        let mut cols: [Vec<f64>; 6] = Default::default();
        for (durs, errs) in &mut cells {
            let n = durs.len();
            durs.sort_unstable_by(f64::total_cmp);
            cols[0].push(n as f64 / secs);
            cols[1].push(*errs as f64 / secs);
            if n == 0 {
                cols[2].push(f64::NAN);
                cols[3].push(f64::NAN);
                cols[4].push(f64::NAN);
                cols[5].push(f64::NAN);
            } else {
                cols[2].push(*errs as f64 / n as f64);
                cols[3].push(quantile_sorted(durs, 0.5));
                cols[4].push(quantile_sorted(durs, 0.95));
                cols[5].push(quantile_sorted(durs, 0.99));
            }
        }
        for (metric, values) in RED_METRICS.iter().zip(cols) {
            let key = SeriesKey::new(svc.clone(), *metric);
            out.push(Series::new(key, ts.clone(), values).expect("one value per bucket by construction"));
        }
    }
    Ok(out)
}

/// Per-second rate of a monotone counter series (one value fewer than the input: the rate
/// over each interval, stamped at its end). Decreases are counter resets (the new value is
/// the increase); non-finite values and non-increasing timestamps are skipped. The metric name
/// loses a `_total` suffix and gains `_rate`.
///
/// ```
/// use faultline_core::{Series, SeriesKey, Timestamp};
/// let ts = (0..5).map(|i| Timestamp::from_secs(10 * i)).collect();
/// let c = Series::new(SeriesKey::new("api", "http_requests_total"), ts, vec![0.0, 50.0, 100.0, 20.0, 70.0]).unwrap();
/// let r = faultline_detect::red::counter_rate(&c);
/// assert_eq!(r.key.metric, "http_requests_rate");
/// assert_eq!(r.values, vec![5.0, 5.0, 2.0, 5.0]);
/// ```
pub fn counter_rate(counter: &Series) -> Series {
    let name = counter
        .key
        .metric
        .strip_suffix("_total")
        .unwrap_or(&counter.key.metric);
    let key = SeriesKey {
        metric: format!("{name}_rate"),
        ..counter.key.clone()
    };
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    let mut prev: Option<(Timestamp, f64)> = None;
    for (&t, &v) in counter.timestamps.iter().zip(&counter.values) {
        if !v.is_finite() {
            continue;
        }
        if let Some((pt, pv)) = prev {
            if t <= pt {
                continue;
            }
            let inc = if v >= pv { v - pv } else { v };
            ts.push(t);
            vs.push(inc / ((t.as_nanos() - pt.as_nanos()) as f64 / 1e9));
        }
        prev = Some((t, v));
    }
    Series::new(key, ts, vs).expect("pushed in pairs")
}

/// Whether `values` read as a cumulative counter: the finite ones never negative, at least two
/// of them, and decreasing (counter resets) in at most `max_reset_fraction` of the steps
/// between them. A gauge that goes up and down fails; a counter restarted a few times passes.
///
/// ```
/// use faultline_detect::red::is_cumulative;
/// assert!(is_cumulative(&[0.0, 5.0, 9.0, f64::NAN, 12.0, 30.0], 0.0));
/// assert!(is_cumulative(&[10.0, 20.0, 3.0, 8.0, 15.0, 21.0], 0.25)); // one reset in 5 steps
/// assert!(!is_cumulative(&[4.0, 9.0, 2.0, 7.0, 1.0], 0.25));
/// ```
pub fn is_cumulative(values: &[f64], max_reset_fraction: f64) -> bool {
    let (mut steps, mut resets) = (0usize, 0usize);
    let mut prev: Option<f64> = None;
    for v in values.iter().copied().filter(|v| v.is_finite()) {
        if v < 0.0 {
            return false;
        }
        if let Some(p) = prev {
            steps += 1;
            resets += usize::from(v < p);
        }
        prev = Some(v);
    }
    steps > 0 && resets as f64 <= max_reset_fraction * steps as f64
}

/// The USE role of a resource metric, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UseRole {
    /// How busy the resource is (CPU, memory, disk or connection-pool usage).
    Utilization,
    /// Work the resource cannot serve yet (queues, load, throttling, waits, swapping).
    Saturation,
    /// Error events of the resource (drops, retransmits, OOM kills, I/O errors).
    Errors,
}

/// Classifies a resource metric name into its USE role by the words it contains
/// (case-insensitive, checked in this order): errors (`error`, `fail`, `drop`, `retrans`,
/// `oom`, `kill`), saturation (`queue`, `pending`, `wait`, `throttl`, `saturat`, `load`,
/// `backlog`, `swap`, `lag`), utilisation (`util`, `usage`, `used`, `cpu`, `mem`, `disk`,
/// `busy`, `percent`, `pct`, `conn`). `None` for anything else.
///
/// ```
/// use faultline_detect::red::{use_role, UseRole};
/// assert_eq!(use_role("container_cpu_usage_seconds"), Some(UseRole::Utilization));
/// assert_eq!(use_role("cpu_throttled_periods"), Some(UseRole::Saturation));
/// assert_eq!(use_role("node_network_receive_drop_total"), Some(UseRole::Errors));
/// assert_eq!(use_role("orders_placed"), None);
/// ```
pub fn use_role(metric: &str) -> Option<UseRole> {
    let m = metric.to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if any(&["error", "fail", "drop", "retrans", "oom", "kill"]) {
        Some(UseRole::Errors)
    } else if any(&[
        "queue", "pending", "wait", "throttl", "saturat", "load", "backlog", "swap", "lag",
    ]) {
        Some(UseRole::Saturation)
    } else if any(&[
        "util", "usage", "used", "cpu", "mem", "disk", "busy", "percent", "pct", "conn",
    ]) {
        Some(UseRole::Utilization)
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use faultline_core::DurationNs;

    fn span(trace: &str, id: &str, parent: Option<&str>, svc: &str, secs: i64, ms: i64, err: bool) -> Span {
        Span {
            trace_id: trace.into(),
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            service: ServiceId::new(svc),
            operation: "op".into(),
            start: Timestamp::from_secs(secs),
            duration: DurationNs::from_millis(ms),
            status: if err { SpanStatus::Error } else { SpanStatus::Ok },
            attributes: Default::default(),
        }
    }

    #[test]
    fn entry_spans_count_once_per_service_and_quantiles_are_per_bucket() {
        let mut spans = Vec::new();
        for i in 0..100 {
            let t = format!("t{i}");
            let secs = i64::from(i) * 3; // 20 per minute over 5 minutes
            spans.push(span(
                &t,
                "a",
                None,
                "front",
                secs,
                10 * (i64::from(i) % 10 + 1),
                false,
            ));
            spans.push(span(&t, "b", Some("a"), "front", secs, 1, false)); // internal child
            spans.push(span(&t, "c", Some("b"), "db", secs, 5, i % 4 == 0)); // call into db
        }
        let red = red_from_spans(&spans, &RedConfig::default()).unwrap();
        assert_eq!(red.len(), 12);
        let get = |svc: &str, m: &str| {
            red.iter()
                .find(|s| s.key.service.as_str() == svc && s.key.metric == m)
                .unwrap()
        };
        let rate = get("front", "request_rate");
        assert_eq!(rate.values.len(), 5);
        assert!(rate.values.iter().all(|&r| (r - 20.0 / 60.0).abs() < 1e-12));
        assert!(get("front", "duration_p99_ms")
            .values
            .iter()
            .all(|&v| v > 90.0 && v <= 100.0));
        assert!(get("front", "error_rate").values.iter().all(|&v| v == 0.0));
        let ratio = &get("db", "error_ratio").values;
        assert!(ratio.iter().all(|&v| (v - 0.25).abs() < 0.06), "{ratio:?}");
        let all = red_from_spans(
            &spans,
            &RedConfig {
                entry_spans_only: false,
                ..Default::default()
            },
        )
        .unwrap();
        let front_all = all.iter().find(|s| s.key.service.as_str() == "front").unwrap();
        assert!((front_all.values[0] - 40.0 / 60.0).abs() < 1e-12, "{front_all:?}");
        assert!(red_from_spans(&[], &RedConfig::default()).unwrap().is_empty());
    }

    #[test]
    fn empty_buckets_and_bad_ranges() {
        let spans = vec![
            span("t", "a", None, "s", 0, 5, false),
            span("u", "a", None, "s", 180, 5, true),
        ];
        let red = red_from_spans(&spans, &RedConfig::default()).unwrap();
        assert_eq!(red[0].values, vec![1.0 / 60.0, 0.0, 0.0, 1.0 / 60.0]);
        assert!(red[2].values[1].is_nan());
        let far = vec![
            span("t", "a", None, "s", 0, 5, false),
            span("u", "a", None, "s", 1 << 40, 5, false),
        ];
        assert!(matches!(
            red_from_spans(&far, &RedConfig::default()),
            Err(DetectError::InvalidConfig { .. })
        ));
        assert!(red_from_spans(
            &spans,
            &RedConfig {
                bucket_secs: 0,
                ..Default::default()
            }
        )
        .is_err());
    }
}

//! RED from request metrics ([`red_from_metrics`]): the Prometheus conventions for request
//! counters, error labels, latency histograms and summaries, turned into the same per-service
//! series as [`super::red_from_spans`] on a common bucket grid.
//!
//! Recognised (metric names case-insensitive):
//! - **request counters**: a `*_total` counter whose name contains `request`, `handled` or
//!   `calls` (`http_requests_total`, `grpc_server_handled_total`), else the `*_count` of a
//!   latency histogram or summary (`http_request_duration_seconds_count`). One family per
//!   service: the first in name order of the first kind found, so the same requests are never
//!   counted twice; its label combinations are summed.
//! - **errors**: the series of that family whose `status` / `code` / `status_code` /
//!   `http_status` label is a 5xx code, whose `grpc_code` is a server-side failure (`Unknown`,
//!   `DeadlineExceeded`, `Internal`, `Unavailable`, `DataLoss`), whose `outcome` is
//!   `SERVER_ERROR` or whose `error` label is `true`. Without such labels, a `*_total` counter
//!   of the service whose name contains `error`, `fail` or `exception` and `request`, `http`,
//!   `grpc` or `rpc` is the error count.
//! - **latency**: a `*_bucket` histogram with an `le` label, or a summary with a `quantile`
//!   label, whose name contains `duration`, `latency` or `time` and ends in a unit
//!   (`_seconds`, `_milliseconds` / `_ms`, `_microseconds` / `_us`); values are converted to ms.
//!   Histogram quantiles interpolate linearly inside the bucket that holds the rank, as
//!   Prometheus' `histogram_quantile` does (a rank in the `+Inf` bucket gives the largest finite
//!   bound; cumulative counts are made monotone first). Summaries give p50 / p95 / p99 from
//!   their `0.5`, `0.95` and `0.99` quantiles (mean over the bucket's samples and labels).
//!
//! Counters become increases between consecutive samples (a decrease is a reset: the new value
//! is the increase), summed into the bucket holding the later sample; a bucket without any
//! sample of a family is NaN (unknown), not 0. Negative and non-finite samples (never valid for
//! counters or latencies) are skipped.

use std::collections::BTreeMap;

use faultline_core::{Series, SeriesKey, ServiceId, Timestamp};

use super::{RedConfig, RED_METRICS};
use crate::DetectError;

/// Quantiles of the duration series, in [`RED_METRICS`] order.
const QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];

/// gRPC status codes that are the server's failure (the rest are the caller's or success).
const GRPC_SERVER_ERRORS: [&str; 5] = [
    "unknown",
    "deadlineexceeded",
    "internal",
    "unavailable",
    "dataloss",
];

/// What a series contributes to RED.
#[derive(Debug, Clone, PartialEq)]
enum Role {
    /// A request counter (`*_total`) of `family`.
    Requests,
    /// The `_count` of a latency histogram or summary.
    HistogramCount,
    /// A dedicated error counter.
    Errors,
    /// A cumulative histogram bucket with upper bound `le` (in ms).
    Bucket { le_ms: f64 },
    /// A summary quantile `q`, with the factor to ms.
    Quantile { q: f64, to_ms: f64 },
}

/// Factor from a latency metric's unit suffix to ms (`None` when it names no unit).
fn unit_to_ms(base: &str) -> Option<f64> {
    if !["duration", "latency", "time"].iter().any(|w| base.contains(w)) {
        return None;
    }
    [
        ("_seconds", 1e3),
        ("_milliseconds", 1.0),
        ("_ms", 1.0),
        ("_microseconds", 1e-3),
        ("_us", 1e-3),
    ]
    .iter()
    .find(|(suffix, _)| base.ends_with(suffix))
    .map(|&(_, f)| f)
}

/// The family (metric name without the role suffix) and role of a series, if it is one.
fn classify(key: &SeriesKey) -> Option<(String, Role)> {
    let m = key.metric.to_ascii_lowercase();
    if let Some(base) = m.strip_suffix("_bucket") {
        let le = key.labels.get("le")?;
        let to_ms = unit_to_ms(base)?;
        let le = if le.eq_ignore_ascii_case("+inf") || le.eq_ignore_ascii_case("inf") {
            f64::INFINITY
        } else {
            le.parse::<f64>().ok().filter(|v| !v.is_nan())?
        };
        return Some((base.to_owned(), Role::Bucket { le_ms: le * to_ms }));
    }
    if let Some(q) = key.labels.get("quantile") {
        let to_ms = unit_to_ms(&m)?;
        let q = q.parse::<f64>().ok().filter(|q| (0.0..=1.0).contains(q))?;
        return Some((m, Role::Quantile { q, to_ms }));
    }
    if let Some(base) = m.strip_suffix("_count") {
        return unit_to_ms(base).map(|_| (base.to_owned(), Role::HistogramCount));
    }
    let base = m.strip_suffix("_total")?;
    let has = |words: &[&str]| words.iter().any(|w| base.contains(w));
    if has(&["error", "fail", "exception"]) && has(&["request", "http", "grpc", "rpc"]) {
        Some((base.to_owned(), Role::Errors))
    } else if has(&["request", "handled", "calls"]) {
        Some((base.to_owned(), Role::Requests))
    } else {
        None
    }
}

/// Whether a request counter's labels mark server errors.
fn is_error(key: &SeriesKey) -> bool {
    let l = &key.labels;
    let http = ["status", "code", "status_code", "http_status"]
        .iter()
        .filter_map(|n| l.get(n))
        .any(|v| v.len() == 3 && v.starts_with('5') && v.bytes().all(|b| b.is_ascii_digit()));
    let grpc = l
        .get("grpc_code")
        .is_some_and(|c| GRPC_SERVER_ERRORS.contains(&c.to_ascii_lowercase().as_str()));
    let outcome = l
        .get("outcome")
        .is_some_and(|o| o.eq_ignore_ascii_case("server_error"));
    let flag = l.get("error").is_some_and(|e| e.eq_ignore_ascii_case("true"));
    http || grpc || outcome || flag
}

/// Whether a family's series carry any label that [`is_error`] reads.
fn has_error_labels<'a>(mut series: impl Iterator<Item = &'a Series>) -> bool {
    series.any(|s| {
        [
            "status",
            "code",
            "status_code",
            "http_status",
            "grpc_code",
            "outcome",
            "error",
        ]
        .iter()
        .any(|n| s.key.labels.get(n).is_some())
    })
}

/// The common bucket grid: index of its first bucket since the epoch and bucket width in ns.
struct Grid {
    first: i64,
    width: i64,
}

impl Grid {
    fn index(&self, t: Timestamp) -> usize {
        (t.as_nanos().div_euclid(self.width) - self.first) as usize
    }
}

/// Per-bucket sums of a counter's increases, and which buckets saw a sample.
fn add_increases(series: &Series, grid: &Grid, sums: &mut [f64], seen: &mut [bool]) {
    let mut prev: Option<(Timestamp, f64)> = None;
    for (&t, &v) in series.timestamps.iter().zip(&series.values) {
        if !(v.is_finite() && v >= 0.0) {
            continue;
        }
        let b = grid.index(t);
        seen[b] = true;
        if let Some((pt, pv)) = prev {
            if t <= pt {
                continue;
            }
            sums[b] += if v >= pv { v - pv } else { v };
        }
        prev = Some((t, v));
    }
}

/// Per-bucket means of a gauge's finite samples (adds to `sums` / `counts`).
fn add_samples(series: &Series, grid: &Grid, scale: f64, sums: &mut [f64], counts: &mut [usize]) {
    for (&t, &v) in series.timestamps.iter().zip(&series.values) {
        if v.is_finite() && v >= 0.0 {
            let b = grid.index(t);
            sums[b] += v * scale;
            counts[b] += 1;
        }
    }
}

/// `histogram_quantile(q)` of cumulative `(upper bound, count)` pairs sorted by bound.
fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> f64 {
    let Some(&(_, total)) = buckets.last() else {
        return f64::NAN;
    };
    if total <= 0.0 {
        return f64::NAN;
    }
    let rank = q * total;
    let (mut lo, mut below) = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return lo;
            }
            if count <= below {
                return le;
            }
            // A first bucket with a negative bound has no lower bound to interpolate from.
            let lo = if lo > le { le } else { lo };
            return lo + (le - lo) * (rank - below) / (count - below);
        }
        (lo, below) = (le, count);
    }
    lo
}

/// RED series per service from request metrics (see the module docs), services in name order,
/// each with those of the metrics of [`RED_METRICS`] it has a source for, in that order, on a
/// common grid of `bucket_secs` buckets. Series that are not request metrics are ignored; none
/// gives `Ok(vec![])`.
///
/// Errors: [`DetectError::InvalidConfig`] for `bucket_secs = 0`, or when the samples cover
/// more than `max_buckets` buckets.
///
/// ```
/// use faultline_core::{Labels, Series, SeriesKey, Timestamp};
/// use faultline_detect::red::{red_from_metrics, RedConfig};
/// let ts: Vec<Timestamp> = (0..=8).map(|i| Timestamp::from_secs(15 * i)).collect();
/// let counter = |status: &str, per_scrape: f64| Series::new(
///     SeriesKey { labels: Labels::from_pairs([("status", status)]), ..SeriesKey::new("api", "http_requests_total") },
///     ts.clone(),
///     (0..=8).map(|i| per_scrape * i as f64).collect(),
/// ).unwrap();
/// let red = red_from_metrics(&[counter("200", 90.0), counter("503", 30.0)], &RedConfig::default()).unwrap();
/// let metrics: Vec<&str> = red.iter().map(|s| s.key.metric.as_str()).collect();
/// assert_eq!(metrics, ["request_rate", "error_rate", "error_ratio"]);
/// assert_eq!(red[0].values[1], 8.0); // (90 + 30) per 15 s
/// assert_eq!(red[2].values[1], 0.25);
/// ```
pub fn red_from_metrics(series: &[Series], cfg: &RedConfig) -> Result<Vec<Series>, DetectError> {
    if cfg.bucket_secs == 0 {
        return Err(DetectError::config("bucket_secs", "must be at least 1"));
    }
    // service → family → (role, series)
    type Families<'a> = BTreeMap<String, Vec<(Role, &'a Series)>>;
    let mut per: BTreeMap<&ServiceId, Families<'_>> = BTreeMap::new();
    for s in series {
        if let Some((family, role)) = classify(&s.key) {
            per.entry(&s.key.service)
                .or_default()
                .entry(family)
                .or_default()
                .push((role, s));
        }
    }
    let width = cfg.bucket_width_ns();
    let times = per
        .values()
        .flat_map(|f| f.values().flatten())
        .flat_map(|(_, s)| {
            s.timestamps
                .iter()
                .zip(&s.values)
                .filter(|(_, v)| v.is_finite() && **v >= 0.0)
                .map(|(t, _)| t.as_nanos().div_euclid(width))
        });
    let (first, last) = times.fold((i64::MAX, i64::MIN), |(lo, hi), b| (lo.min(b), hi.max(b)));
    if first > last {
        return Ok(vec![]);
    }
    let len = cfg.buckets(first, last, "request metrics")?;
    let grid = Grid { first, width };
    let ts: Vec<Timestamp> = (0..len as i64)
        .map(|b| Timestamp((first + b).saturating_mul(width)))
        .collect();
    let secs = cfg.bucket_secs as f64;
    let mut out = Vec::new();
    for (service, families) in per {
        let mut emit = |metric: &str, values: Vec<f64>| {
            let key = SeriesKey::new(service.clone(), metric);
            out.push(Series::new(key, ts.clone(), values).expect("one value per bucket by construction"));
        };
        let of_role = |want: fn(&Role) -> bool| {
            families
                .values()
                .find(|members| members.iter().any(|(r, _)| want(r)))
                .map(|members| {
                    members
                        .iter()
                        .filter(|(r, _)| want(r))
                        .map(|(r, s)| (r, *s))
                        .collect::<Vec<(&Role, &Series)>>()
                })
        };
        let requests = of_role(|r| *r == Role::Requests).or_else(|| of_role(|r| *r == Role::HistogramCount));
        if let Some(requests) = requests {
            let (mut total, mut seen) = (vec![0.0; len], vec![false; len]);
            let (mut errors, mut errors_seen) = (vec![0.0; len], vec![false; len]);
            let labelled = has_error_labels(requests.iter().map(|(_, s)| *s));
            for &(_, s) in &requests {
                add_increases(s, &grid, &mut total, &mut seen);
                if labelled && is_error(&s.key) {
                    add_increases(s, &grid, &mut errors, &mut errors_seen);
                }
            }
            let errors_known = if labelled {
                Some(seen.clone())
            } else {
                of_role(|r| *r == Role::Errors).map(|counters| {
                    for (_, s) in counters {
                        add_increases(s, &grid, &mut errors, &mut errors_seen);
                    }
                    errors_seen
                })
            };
            let rate = |sum: &[f64], seen: &[bool]| -> Vec<f64> {
                sum.iter()
                    .zip(seen)
                    .map(|(&v, &s)| if s { v / secs } else { f64::NAN })
                    .collect()
            };
            emit(RED_METRICS[0], rate(&total, &seen));
            if let Some(known) = errors_known {
                emit(RED_METRICS[1], rate(&errors, &known));
                let ratio = (0..len)
                    .map(|b| {
                        if seen[b] && known[b] && total[b] > 0.0 {
                            errors[b] / total[b]
                        } else {
                            f64::NAN
                        }
                    })
                    .collect();
                emit(RED_METRICS[2], ratio);
            }
        }
        if let Some(buckets) = of_role(|r| matches!(r, Role::Bucket { .. })) {
            // Per bound: per-bucket increases summed over the other labels.
            let mut bounds: BTreeMap<u64, (f64, Vec<f64>, Vec<bool>)> = BTreeMap::new();
            for (role, s) in buckets {
                let &Role::Bucket { le_ms } = role else {
                    continue;
                };
                let e = bounds
                    .entry(le_ms.to_bits() ^ if le_ms < 0.0 { u64::MAX } else { 1 << 63 })
                    .or_insert_with(|| (le_ms, vec![0.0; len], vec![false; len]));
                add_increases(s, &grid, &mut e.1, &mut e.2);
            }
            let cols: Vec<&(f64, Vec<f64>, Vec<bool>)> = bounds.values().collect();
            let mut quantiles: [Vec<f64>; 3] = Default::default();
            let mut cum: Vec<(f64, f64)> = Vec::with_capacity(cols.len());
            for b in 0..len {
                cum.clear();
                let mut running = 0.0f64;
                for (le, counts, seen) in &cols {
                    if seen[b] {
                        running = running.max(counts[b]);
                        cum.push((*le, running));
                    }
                }
                for (col, q) in quantiles.iter_mut().zip(QUANTILES) {
                    col.push(histogram_quantile(q, &cum));
                }
            }
            for (metric, values) in RED_METRICS[3..].iter().zip(quantiles) {
                emit(metric, values);
            }
        } else if let Some(summary) = of_role(|r| matches!(r, Role::Quantile { .. })) {
            for (metric, want) in RED_METRICS[3..].iter().zip(QUANTILES) {
                let (mut sums, mut counts) = (vec![0.0; len], vec![0usize; len]);
                let mut any = false;
                for &(role, s) in &summary {
                    if let &Role::Quantile { q, to_ms } = role {
                        if (q - want).abs() < 1e-9 {
                            any = true;
                            add_samples(s, &grid, to_ms, &mut sums, &mut counts);
                        }
                    }
                }
                if any {
                    let means = sums
                        .iter()
                        .zip(&counts)
                        .map(|(&s, &n)| if n > 0 { s / n as f64 } else { f64::NAN })
                        .collect();
                    emit(metric, means);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use faultline_core::Labels;
    use proptest::prelude::*;

    fn key(service: &str, metric: &str, labels: &[(&str, &str)]) -> SeriesKey {
        SeriesKey {
            labels: Labels::from_pairs(labels.iter().copied()),
            ..SeriesKey::new(service, metric)
        }
    }

    /// A counter scraped every 15 s for 4 minutes, increasing by `per_scrape(i)` at scrape i.
    fn counter(k: SeriesKey, per_scrape: impl Fn(usize) -> f64) -> Series {
        let ts = (0..=16).map(|i| Timestamp::from_secs(15 * i)).collect();
        let mut v = 0.0;
        let vs = (0..=16)
            .map(|i| {
                if i > 0 {
                    v += per_scrape(i as usize);
                }
                v
            })
            .collect();
        Series::new(k, ts, vs).unwrap()
    }

    fn get<'a>(red: &'a [Series], service: &str, metric: &str) -> &'a [f64] {
        &red.iter()
            .find(|s| s.key.service.as_str() == service && s.key.metric == metric)
            .unwrap_or_else(|| panic!("{service}/{metric} in {red:?}"))
            .values
    }

    #[test]
    fn status_labels_split_requests_and_errors_and_other_metrics_are_ignored() {
        let red = red_from_metrics(
            &[
                counter(
                    key("api", "http_requests_total", &[("status", "200"), ("pod", "a")]),
                    |_| 60.0,
                ),
                counter(
                    key("api", "http_requests_total", &[("status", "200"), ("pod", "b")]),
                    |_| 30.0,
                ),
                counter(
                    key("api", "http_requests_total", &[("status", "503"), ("pod", "a")]),
                    |i| {
                        if i > 8 {
                            30.0
                        } else {
                            0.0
                        }
                    },
                ),
                counter(key("api", "http_requests_total", &[("status", "404")]), |_| 15.0),
                counter(key("api", "orders_placed_total", &[]), |_| 7.0),
                counter(key("db", "cpu_seconds_total", &[]), |_| 1.0),
            ],
            &RedConfig::default(),
        )
        .unwrap();
        assert_eq!(red.len(), 3, "only api has request metrics");
        // Bucket 1 (60–120 s) holds scrapes 4..=7: (60 + 30 + 15) × 4 / 60 s.
        assert_eq!(get(&red, "api", "request_rate")[1], 7.0);
        assert_eq!(get(&red, "api", "error_rate")[1], 0.0);
        // Bucket 2 (120–180 s) holds scrapes 8..=11, three of them with 30 errors each: 404s
        // are the caller's errors, not the service's.
        assert_eq!(get(&red, "api", "error_rate")[2], 1.5);
        assert!((get(&red, "api", "error_ratio")[2] - 90.0 / (105.0 * 4.0 + 90.0)).abs() < 1e-12);
    }

    #[test]
    fn a_counter_reset_counts_the_new_value_and_missing_buckets_are_nan() {
        let ts = [0, 15, 30, 45, 200, 215]
            .iter()
            .map(|&s| Timestamp::from_secs(s))
            .collect();
        let s = Series::new(
            key("api", "grpc_server_handled_total", &[("grpc_code", "OK")]),
            ts,
            vec![100.0, 130.0, 160.0, 10.0, 40.0, f64::NAN],
        )
        .unwrap();
        let red = red_from_metrics(&[s], &RedConfig::default()).unwrap();
        let rate = get(&red, "api", "request_rate");
        assert_eq!(rate[0], 70.0 / 60.0);
        assert!(
            rate[1].is_nan() && rate[2].is_nan(),
            "no scrape in 60–180 s: {rate:?}"
        );
        assert_eq!(rate[3], 30.0 / 60.0);
        assert_eq!(
            get(&red, "api", "error_rate")[0],
            0.0,
            "grpc_code labels the errors"
        );
    }

    #[test]
    fn dedicated_error_counters_are_used_when_requests_carry_no_status() {
        let red = red_from_metrics(
            &[
                counter(key("pay", "rpc_requests_total", &[]), |_| 40.0),
                counter(key("pay", "rpc_request_errors_total", &[]), |_| 4.0),
            ],
            &RedConfig::default(),
        )
        .unwrap();
        assert_eq!(get(&red, "pay", "request_rate")[1], 160.0 / 60.0);
        assert_eq!(get(&red, "pay", "error_ratio")[1], 0.1);
    }

    #[test]
    fn histogram_quantiles_interpolate_within_buckets_in_ms() {
        // Per scrape: 50 requests ≤ 0.1 s, 30 in (0.1, 0.25], 15 in (0.25, 1], 5 above 1 s.
        let bounds = [("0.1", 50.0), ("0.25", 80.0), ("1", 95.0), ("+Inf", 100.0)];
        let mut all: Vec<Series> = bounds
            .iter()
            .map(|&(le, n)| {
                counter(
                    key("web", "http_request_duration_seconds_bucket", &[("le", le)]),
                    move |_| n,
                )
            })
            .collect();
        all.push(counter(
            key("web", "http_request_duration_seconds_count", &[]),
            |_| 100.0,
        ));
        let red = red_from_metrics(&all, &RedConfig::default()).unwrap();
        let at = |m: &str| get(&red, "web", m)[1];
        assert_eq!(
            at("request_rate"),
            400.0 / 60.0,
            "the histogram's _count is the request counter"
        );
        // p50: rank 200 of 400 lies in the first bucket: 0 + 100 ms × 200 / 200.
        assert!(
            (at("duration_p50_ms") - 100.0).abs() < 1e-9,
            "{}",
            at("duration_p50_ms")
        );
        // p95: rank 380 lies in (250, 1000] ms, which holds 320..380: its upper bound.
        assert!((at("duration_p95_ms") - 1000.0).abs() < 1e-9);
        // p99: rank 396 lies in the +Inf bucket: the largest finite bound.
        assert_eq!(at("duration_p99_ms"), 1000.0);
        assert!(
            red.iter().all(|s| s.key.metric != "error_rate"),
            "no error source"
        );
    }

    #[test]
    fn summary_quantiles_are_converted_to_ms() {
        let gauge = |q: &str, secs: f64| {
            let ts = (0..8).map(|i| Timestamp::from_secs(15 * i)).collect();
            Series::new(
                key("q", "rpc_latency_seconds", &[("quantile", q)]),
                ts,
                vec![secs; 8],
            )
            .unwrap()
        };
        let red = red_from_metrics(&[gauge("0.5", 0.02), gauge("0.99", 0.4)], &RedConfig::default()).unwrap();
        let metrics: Vec<&str> = red.iter().map(|s| s.key.metric.as_str()).collect();
        assert_eq!(metrics, ["duration_p50_ms", "duration_p99_ms"]);
        assert_eq!(red[0].values, vec![20.0, 20.0]);
        assert_eq!(red[1].values, vec![400.0, 400.0]);
    }

    #[test]
    fn bad_settings_and_no_metrics() {
        assert!(red_from_metrics(
            &[],
            &RedConfig {
                bucket_secs: 0,
                ..Default::default()
            }
        )
        .is_err());
        assert!(red_from_metrics(&[], &RedConfig::default()).unwrap().is_empty());
        let far = Series::new(
            key("a", "http_requests_total", &[]),
            vec![Timestamp::from_secs(0), Timestamp::from_secs(10_000_000)],
            vec![1.0, 2.0],
        )
        .unwrap();
        let e = red_from_metrics(&[far], &RedConfig::default()).unwrap_err();
        assert!(e.to_string().contains("max_buckets"), "{e}");
    }

    proptest! {
        #[test]
        fn arbitrary_request_metrics_give_aligned_series_without_panics(
            samples in proptest::collection::vec((0usize..6, 0i64..3_000, prop_oneof![
                4 => 0f64..1e6, 1 => Just(f64::NAN), 1 => Just(f64::INFINITY), 1 => -1e3f64..0.0,
            ]), 0..120),
        ) {
            let names = [
                ("http_requests_total", "status", "500"),
                ("http_requests_total", "status", "200"),
                ("req_duration_seconds_bucket", "le", "0.5"),
                ("req_duration_seconds_bucket", "le", "+Inf"),
                ("req_latency_ms", "quantile", "0.95"),
                ("http_request_errors_total", "x", "y"),
            ];
            let mut by: BTreeMap<usize, (Vec<Timestamp>, Vec<f64>)> = BTreeMap::new();
            for &(which, secs, v) in &samples {
                let e = by.entry(which).or_default();
                e.0.push(Timestamp::from_secs(secs));
                e.1.push(v);
            }
            let series: Vec<Series> = by
                .into_iter()
                .map(|(w, (ts, vs))| {
                    let (m, l, v) = names[w];
                    Series::new(key("svc", m, &[(l, v)]), ts, vs).unwrap()
                })
                .collect();
            let red = red_from_metrics(&series, &RedConfig::default()).unwrap();
            let n = red.first().map_or(0, Series::len);
            for s in &red {
                prop_assert_eq!(s.len(), n);
                prop_assert!(s.values.iter().all(|v| v.is_nan() || (v.is_finite() && *v >= 0.0)), "{:?}", s);
            }
        }
    }
}

//! USE series from resource metrics ([`use_from_metrics`]): every metric whose name gives it a
//! USE role ([`super::use_role`]) becomes one series per service on a common bucket grid,
//! named `use_<role>_<metric>` (`use_utilization_cpu_usage_percent`,
//! `use_saturation_cpu_cfs_throttled_periods`), so the detect stage and its reports see
//! utilisation, saturation and errors per service and not per pod or device:
//! - a cumulative counter (a `_total` name, never negative, decreasing in at most 5 % of its
//!   steps: resets) becomes its per-second rate, the name losing `_total`;
//! - a percentage (`percent` or `pct` in the name) becomes a fraction in [0, 1];
//! - the label combinations of one metric (pods, devices, CPUs) are merged by the **maximum**
//!   of their bucket means: the busiest instance is the one that saturates first.
//!
//! Buckets without a sample are NaN (detectors skip them). Negative and non-finite samples are
//! skipped.

use std::collections::BTreeMap;

use faultline_core::{Series, SeriesKey, ServiceId, Timestamp};

use super::{counter_rate, is_cumulative, use_role, RedConfig, UseRole};
use crate::DetectError;

/// Most counter resets, as a fraction of steps, for a `_total` series to read as a counter.
const MAX_RESET_FRACTION: f64 = 0.05;

/// The name part of a USE series for `role`.
fn role_name(role: UseRole) -> &'static str {
    match role {
        UseRole::Utilization => "utilization",
        UseRole::Saturation => "saturation",
        UseRole::Errors => "errors",
    }
}

/// Whether `s` is a cumulative counter (see the module docs).
fn is_counter(s: &Series) -> bool {
    s.key.metric.ends_with("_total") && is_cumulative(&s.values, MAX_RESET_FRACTION)
}

/// Factor from a metric's unit to the USE series' unit (percentages to fractions).
fn scale(metric: &str) -> f64 {
    let m = metric.to_ascii_lowercase();
    if m.contains("percent") || m.contains("pct") {
        0.01
    } else {
        1.0
    }
}

/// USE series per service from its resource metrics (see the module docs), in order of
/// service, then name; metrics without a USE role are ignored (none gives `Ok(vec![])`).
/// `cfg` gives the bucket width and the bucket limit (its `entry_spans_only` is unused).
///
/// Errors: [`DetectError::InvalidConfig`] for `bucket_secs = 0`, or when the samples cover
/// more than `max_buckets` buckets.
///
/// ```
/// use faultline_core::{Labels, Series, SeriesKey, Timestamp};
/// use faultline_detect::red::{use_from_metrics, RedConfig};
/// let ts: Vec<Timestamp> = (0..8).map(|i| Timestamp::from_secs(15 * i)).collect();
/// let pod = |name: &str, pct: f64| Series::new(
///     SeriesKey { labels: Labels::from_pairs([("pod", name)]), ..SeriesKey::new("api", "cpu_usage_percent") },
///     ts.clone(),
///     vec![pct; 8],
/// ).unwrap();
/// let out = use_from_metrics(&[pod("a", 40.0), pod("b", 85.0)], &RedConfig::default()).unwrap();
/// assert_eq!(out[0].key.metric, "use_utilization_cpu_usage_percent");
/// assert_eq!(out[0].values, vec![0.85, 0.85]); // the busiest pod, as a fraction
/// ```
pub fn use_from_metrics<'a>(
    series: impl IntoIterator<Item = &'a Series>,
    cfg: &RedConfig,
) -> Result<Vec<Series>, DetectError> {
    if cfg.bucket_secs == 0 {
        return Err(DetectError::config("bucket_secs", "must be at least 1"));
    }
    // (service, derived name) → the members as USE values (rates of counters, fractions).
    let mut groups: BTreeMap<(&'a ServiceId, String), Vec<Series>> = BTreeMap::new();
    for s in series {
        let Some(role) = use_role(&s.key.metric) else {
            continue;
        };
        let (base, mut values) = if is_counter(s) {
            let rate = counter_rate(s);
            let base = s
                .key
                .metric
                .strip_suffix("_total")
                .unwrap_or(&s.key.metric)
                .to_owned();
            (base, rate)
        } else {
            (s.key.metric.clone(), s.clone())
        };
        let k = scale(&s.key.metric);
        if k != 1.0 {
            values.values.iter_mut().for_each(|v| *v *= k);
        }
        let name = format!("use_{}_{base}", role_name(role));
        groups.entry((&s.key.service, name)).or_default().push(values);
    }
    let width = cfg.bucket_width_ns();
    let valid = |v: f64| v.is_finite() && v >= 0.0;
    let (first, last) = groups
        .values()
        .flatten()
        .flat_map(|s| {
            s.timestamps
                .iter()
                .zip(&s.values)
                .filter(|(_, v)| valid(**v))
                .map(|(t, _)| t.as_nanos().div_euclid(width))
        })
        .fold((i64::MAX, i64::MIN), |(lo, hi), b| (lo.min(b), hi.max(b)));
    if first > last {
        return Ok(vec![]);
    }
    let len = cfg.buckets(first, last, "resource metrics")?;
    let ts: Vec<Timestamp> = (0..len as i64)
        .map(|b| Timestamp((first + b).saturating_mul(width)))
        .collect();
    let mut out = Vec::with_capacity(groups.len());
    for ((service, name), members) in groups {
        let mut merged = vec![f64::NAN; len];
        for m in &members {
            let (mut sum, mut n) = (vec![0.0; len], vec![0usize; len]);
            for (&t, &v) in m.timestamps.iter().zip(&m.values) {
                if valid(v) {
                    let b = (t.as_nanos().div_euclid(width) - first) as usize;
                    sum[b] += v;
                    n[b] += 1;
                }
            }
            for (b, slot) in merged.iter_mut().enumerate() {
                if n[b] > 0 {
                    let mean = sum[b] / n[b] as f64;
                    // NaN (no sample yet) loses to any mean.
                    *slot = if slot.is_nan() { mean } else { slot.max(mean) };
                }
            }
        }
        if merged.iter().any(|v| v.is_finite()) {
            let key = SeriesKey::new(service.clone(), name);
            out.push(Series::new(key, ts.clone(), merged).expect("one value per bucket by construction"));
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

    fn series(
        service: &str,
        metric: &str,
        labels: &[(&str, &str)],
        secs: &[i64],
        values: Vec<f64>,
    ) -> Series {
        let key = SeriesKey {
            labels: Labels::from_pairs(labels.iter().copied()),
            ..SeriesKey::new(service, metric)
        };
        Series::new(
            key,
            secs.iter().map(|&s| Timestamp::from_secs(s)).collect(),
            values,
        )
        .unwrap()
    }

    #[test]
    fn counters_become_rates_gauges_stay_and_pods_merge_by_maximum() {
        let secs: Vec<i64> = (0..=8).map(|i| 15 * i).collect();
        let throttled = |pod: &str, per_scrape: f64| {
            series(
                "api",
                "container_cpu_cfs_throttled_periods_total",
                &[("pod", pod)],
                &secs,
                (0..=8).map(|i| per_scrape * f64::from(i)).collect(),
            )
        };
        let out = use_from_metrics(
            &[
                throttled("a", 3.0),
                throttled("b", 30.0),
                series("api", "memory_used_bytes", &[], &secs, vec![5e8; 9]),
                series(
                    "db",
                    "node_network_receive_drop_total",
                    &[],
                    &secs,
                    (0..=8).map(f64::from).collect(),
                ),
                // Named like a counter but going up and down: a gauge.
                series(
                    "db",
                    "queue_pending_total",
                    &[],
                    &secs,
                    vec![4.0, 9.0, 2.0, 7.0, 1.0, 8.0, 3.0, 6.0, 5.0],
                ),
                series(
                    "db",
                    "orders_placed_total",
                    &[],
                    &secs,
                    (0..=8).map(f64::from).collect(),
                ),
            ],
            &RedConfig::default(),
        )
        .unwrap();
        let names: Vec<String> = out.iter().map(|s| s.key.to_string()).collect();
        assert_eq!(
            names,
            [
                "api/use_saturation_container_cpu_cfs_throttled_periods",
                "api/use_utilization_memory_used_bytes",
                "db/use_errors_node_network_receive_drop",
                "db/use_saturation_queue_pending_total",
            ]
        );
        // Bucket 1 (60-120 s): pod b throttles 30 periods per 15 s = 2 per second.
        assert_eq!(out[0].values[1], 2.0);
        assert_eq!(out[1].values, vec![5e8, 5e8, 5e8]);
        assert_eq!(out[2].values[1], 1.0 / 15.0);
        // The gauge's bucket means: (4 + 9 + 2 + 7) / 4, (1 + 8 + 3 + 6) / 4, 5.
        assert_eq!(out[3].values, vec![5.5, 4.5, 5.0]);
    }

    #[test]
    fn empty_buckets_are_nan_and_bad_settings_are_errors() {
        let s = series("api", "cpu_util", &[], &[0, 10, 200], vec![0.5, f64::NAN, 0.7]);
        let out = use_from_metrics([&s], &RedConfig::default()).unwrap();
        assert_eq!(out[0].values[0], 0.5);
        assert!(out[0].values[1].is_nan() && out[0].values[2].is_nan());
        assert_eq!(out[0].values[3], 0.7);
        let bad = RedConfig {
            bucket_secs: 0,
            ..Default::default()
        };
        assert!(use_from_metrics([&s], &bad).is_err());
        assert!(use_from_metrics(&[], &RedConfig::default()).unwrap().is_empty());
    }

    proptest! {
        #[test]
        fn arbitrary_resource_metrics_give_aligned_series_without_panics(
            samples in proptest::collection::vec((0usize..4, 0i64..3_000, prop_oneof![
                4 => 0f64..1e6, 1 => Just(f64::NAN), 1 => Just(f64::INFINITY), 1 => -1e3f64..0.0,
            ]), 0..120),
        ) {
            let names = ["cpu_usage_percent", "disk_io_errors_total", "queue_depth", "mem_used"];
            let mut by: BTreeMap<usize, (Vec<i64>, Vec<f64>)> = BTreeMap::new();
            for &(which, secs, v) in &samples {
                let e = by.entry(which).or_default();
                e.0.push(secs);
                e.1.push(v);
            }
            let input: Vec<Series> = by
                .into_iter()
                .map(|(w, (secs, vs))| series("svc", names[w], &[], &secs, vs))
                .collect();
            let out = use_from_metrics(&input, &RedConfig::default()).unwrap();
            let n = out.first().map_or(0, Series::len);
            for s in &out {
                prop_assert_eq!(s.len(), n);
                prop_assert!(s.values.iter().all(|v| v.is_nan() || (v.is_finite() && *v >= 0.0)), "{:?}", s);
            }
        }
    }
}

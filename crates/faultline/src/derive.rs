//! The series the detect stage runs on: the bundle's metric series, with cumulative counters
//! replaced by their rate (`detect.counters`), followed by RED series derived from the spans of
//! the incident window and from its request metrics (`detect.red`) and by service-level USE
//! series (`detect.use`); and the utilisation forecasts of `detect.use.predict`. See
//! [`crate::DetectStageConfig`].

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use faultline_core::{Anomaly, Incident, Series, SeriesKey, ServiceId, SignalSet, Span, Timestamp};
use faultline_detect::forecast::{time_to_threshold, ForecastConfig, ThresholdSide};
use faultline_detect::red::{
    counter_rate, is_cumulative, red_from_metrics, red_from_spans, use_from_metrics, use_role, RedConfig,
    UseRole,
};

use crate::{CounterRateConfig, DetectStageConfig, RedSeriesConfig, UseSeriesConfig};

/// Prefix of the metric names of RED series derived from spans (`span_duration_p95_ms`, …), so
/// a report tells them apart from the bundle's own metrics.
pub(crate) const RED_PREFIX: &str = "span_";

/// Prefix of the metric names of RED series derived from request metrics (`red_error_ratio`).
pub(crate) const RED_METRICS_PREFIX: &str = "red_";

/// The series to detect on, in a deterministic order: the bundle's series in their order
/// (a counter replaced in place by its rate, or dropped when the bundle has that rate already),
/// then the derived RED series (services in name order), then the derived USE series. No
/// derived series has the key of a bundle series.
pub(crate) fn detection_series<'a>(
    incident: &Incident,
    signals: &'a SignalSet,
    cfg: &DetectStageConfig,
) -> Vec<Cow<'a, Series>> {
    let present: HashSet<&SeriesKey> = signals.series.iter().map(|s| &s.key).collect();
    let mut out: Vec<Cow<'a, Series>> = Vec::with_capacity(signals.series.len());
    for s in &signals.series {
        if !(cfg.counters.enabled && is_counter(s, &cfg.counters)) {
            out.push(Cow::Borrowed(s));
            continue;
        }
        let rate = counter_rate(s);
        if present.contains(&rate.key) {
            tracing::debug!(counter = %s.key, "counter skipped: the bundle has its rate");
        } else {
            tracing::debug!(counter = %s.key, rate = %rate.key, "counter detected on its rate");
            out.push(Cow::Owned(rate));
        }
    }
    // Derived series never shadow one of the bundle's.
    let mut add = |derived: Vec<Series>, what: &str| {
        let before = out.len();
        out.extend(
            derived
                .into_iter()
                .filter(|s| !present.contains(&s.key))
                .map(Cow::Owned),
        );
        tracing::debug!(series = out.len() - before, "{what} series derived");
    };
    if cfg.red.enabled {
        add(red_series(incident, &signals.spans, &cfg.red), "RED (spans)");
        if cfg.red.from_metrics && !signals.series.is_empty() {
            let derived = match red_from_metrics(&signals.series, &cfg.red.red_config()) {
                Ok(all) => floored(incident, all, &cfg.red, RED_METRICS_PREFIX, false),
                Err(e) => {
                    tracing::warn!(error = %e, "no RED series derived from request metrics");
                    Vec::new()
                }
            };
            add(derived, "RED (request metrics)");
        }
    }
    if cfg.use_series.enabled {
        add(use_series(&signals.series, &cfg.use_series), "USE");
    }
    out
}

/// Service-level USE series of the resource metrics a service reports for several label
/// combinations (see [`UseSeriesConfig`]); a metric reported once is detected as it is.
fn use_series(series: &[Series], cfg: &UseSeriesConfig) -> Vec<Series> {
    let mut instances: BTreeMap<(&ServiceId, &str), usize> = BTreeMap::new();
    for s in series.iter().filter(|s| use_role(&s.key.metric).is_some()) {
        *instances
            .entry((&s.key.service, s.key.metric.as_str()))
            .or_default() += 1;
    }
    let merged = series.iter().filter(|s| {
        instances
            .get(&(&s.key.service, s.key.metric.as_str()))
            .is_some_and(|&n| n > 1)
    });
    let red = RedConfig {
        bucket_secs: cfg.bucket_secs,
        ..RedConfig::default()
    };
    match use_from_metrics(merged, &red) {
        Ok(out) => out,
        Err(e) => {
            tracing::warn!(error = %e, "no USE series derived from resource metrics");
            Vec::new()
        }
    }
}

/// The predictive anomaly of a utilisation series (see [`UseSeriesConfig`]): when its
/// forecast reaches the threshold within the horizon. `None` for other series, when the
/// forecast does not get there, or when the series is too short to forecast.
pub(crate) fn predict(s: &Series, cfg: &UseSeriesConfig) -> Option<Anomaly> {
    if !cfg.predict {
        return None;
    }
    let metric = s.key.metric.to_ascii_lowercase();
    let derived = metric.starts_with("use_utilization_");
    if !derived && use_role(&metric) != Some(UseRole::Utilization) {
        return None;
    }
    let finite = || s.values.iter().copied().filter(|v| v.is_finite());
    let threshold = if !derived && (metric.contains("percent") || metric.contains("pct")) {
        cfg.threshold * 100.0
    } else if finite().next().is_some() && finite().all(|v| (0.0..=1.0).contains(&v)) {
        cfg.threshold
    } else {
        // Bytes, cores, connections: no known capacity to compare with.
        return None;
    };
    let times: Vec<i64> = s
        .timestamps
        .iter()
        .zip(&s.values)
        .filter(|(_, v)| v.is_finite())
        .map(|(t, _)| t.as_nanos())
        .collect();
    let (&first, &last) = (times.first()?, times.last()?);
    let span = (last - first) as f64;
    if times.len() < 2 || span <= 0.0 {
        return None;
    }
    let step = span / (times.len() - 1) as f64;
    let horizon_ns = (cfg.horizon_secs as f64 * 1e9).min(cfg.max_horizon_ratio * span);
    let fc = ForecastConfig {
        horizon_samples: ((horizon_ns / step) as usize).clamp(1, 100_000),
        ..ForecastConfig::default()
    };
    match time_to_threshold(s, threshold, ThresholdSide::Above, &fc) {
        Ok(found) => found,
        Err(e) => {
            tracing::debug!(series = %s.key, error = %e, "no utilisation forecast");
            None
        }
    }
}

/// Whether `s` reads as a cumulative counter: a name with one of the suffixes, finite values
/// never negative, and decreases (counter resets) in at most `max_reset_fraction` of the steps.
fn is_counter(s: &Series, cfg: &CounterRateConfig) -> bool {
    cfg.suffixes.iter().any(|x| s.key.metric.ends_with(x.as_str()))
        && is_cumulative(&s.values, cfg.max_reset_fraction)
}

/// Fewest requests in a bucket for a per-request RED metric (ratio, quantile) to mean
/// something there, besides `min_bucket_spans`: for the tail quantiles, enough requests that at
/// least one lies beyond the quantile (`n (1 - q) >= 1`: 20 for p95, 100 for p99); below that
/// the type-7 quantile is the bucket's largest duration, an extreme value whose spread makes
/// quiet buckets outliers.
fn min_requests(metric: &str) -> f64 {
    match metric {
        "duration_p95_ms" => 20.0,
        "duration_p99_ms" => 100.0,
        _ => 1.0,
    }
}

/// RED series of the spans that start inside the incident window, restricted to the
/// configured metrics and renamed with [`RED_PREFIX`], without the buckets the window's edges
/// cut. A service with fewer than `min_bucket_spans` requests in its median bucket derives
/// nothing (sampled traces: one span a minute is not a rate); in the others, buckets with fewer
/// requests (or fewer than [`min_requests`] for a tail quantile) have no error ratio or
/// duration quantile (NaN, which detectors skip). A series left without a value is dropped.
/// Fewer than `min_bucket_errors` errors in a bucket read as none: on a service that rarely
/// fails, the baseline of its error series is exactly 0 and any lone error would otherwise be
/// an outlier of unbounded z.
fn red_series(incident: &Incident, spans: &[Span], cfg: &RedSeriesConfig) -> Vec<Series> {
    if spans.is_empty() || cfg.metrics.is_empty() {
        return Vec::new();
    }
    let w = incident.window;
    let inside = |s: &Span| s.start >= w.start && s.start <= w.end;
    let spans: Cow<'_, [Span]> = if spans.iter().all(inside) {
        Cow::Borrowed(spans)
    } else {
        Cow::Owned(spans.iter().filter(|s| inside(s)).cloned().collect())
    };
    match red_from_spans(&spans, &cfg.red_config()) {
        Ok(all) => floored(incident, all, cfg, RED_PREFIX, true),
        Err(e) => {
            tracing::warn!(error = %e, "no RED series derived from spans");
            Vec::new()
        }
    }
}

/// The derived RED series `all` restricted to the configured metrics and the buckets wholly
/// inside the incident window, with the request floors of [`red_series`] applied per service,
/// renamed with `prefix`. A service without a request rate keeps its other series unfloored
/// unless `need_rate` (spans always give one; request metrics may have only a latency summary).
fn floored(
    incident: &Incident,
    all: Vec<Series>,
    cfg: &RedSeriesConfig,
    prefix: &str,
    need_rate: bool,
) -> Vec<Series> {
    let w = incident.window;
    let mut per_service: BTreeMap<ServiceId, Vec<Series>> = BTreeMap::new();
    for s in all {
        per_service.entry(s.key.service.clone()).or_default().push(s);
    }
    let width_ns = i64::try_from(cfg.bucket_secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000_000);
    // A bucket cut by the window's edge holds only part of its requests: its rate would read
    // as a drop in traffic at the start or end of every window.
    let whole = |t: Timestamp| t >= w.start && t.as_nanos().saturating_add(width_ns - 1) <= w.end.as_nanos();
    let min = cfg.min_bucket_spans as f64;
    let mut out = Vec::new();
    for (service, group) in per_service {
        let Some(first) = group.first() else { continue };
        let rate = group.iter().find(|s| s.key.metric == "request_rate");
        if rate.is_none() && need_rate {
            continue;
        }
        // All series of a service share one grid.
        let keep: Vec<usize> = (0..first.len()).filter(|&i| whole(first.timestamps[i])).collect();
        let counts: Vec<f64> = match rate {
            Some(rate) => keep
                .iter()
                .map(|&i| (rate.values[i] * cfg.bucket_secs as f64).round())
                .collect(),
            // No request count known: no floor.
            None => vec![f64::INFINITY; keep.len()],
        };
        let mut sorted: Vec<f64> = counts.iter().copied().filter(|c| !c.is_nan()).collect();
        sorted.sort_unstable_by(f64::total_cmp);
        if sorted.get(sorted.len() / 2).is_none_or(|&m| m < min) {
            tracing::debug!(%service, "too few requests per bucket for RED series");
            continue;
        }
        // Errors per bucket, to floor lone errors to none (see `min_bucket_errors`).
        let errors: Vec<f64> = match group.iter().find(|s| s.key.metric == "error_rate") {
            Some(e) => keep
                .iter()
                .map(|&i| (e.values[i] * cfg.bucket_secs as f64).round())
                .collect(),
            None => vec![0.0; keep.len()],
        };
        let floor = cfg.min_bucket_errors as f64;
        for s in group.iter().filter(|s| cfg.metrics.contains(&s.key.metric)) {
            let is_error = s.key.metric.starts_with("error_");
            // Rates are counts; ratios and quantiles of a few requests are noise.
            let need = if s.key.metric.ends_with("_rate") {
                0.0
            } else {
                min.max(min_requests(&s.key.metric))
            };
            let ts = keep.iter().map(|&i| s.timestamps[i]).collect();
            let vs: Vec<f64> = keep
                .iter()
                .zip(counts.iter().zip(&errors))
                .map(|(&i, (&n, &e))| match s.values[i] {
                    // An unknown count (a bucket without a counter sample) is no floor.
                    _ if n < need => f64::NAN,
                    _ if is_error && e < floor => 0.0,
                    v => v,
                })
                .collect();
            if !vs.iter().any(|v| v.is_finite()) {
                continue;
            }
            let key = SeriesKey {
                metric: format!("{prefix}{}", s.key.metric),
                ..s.key.clone()
            };
            if let Ok(series) = Series::new(key, ts, vs) {
                out.push(series);
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use faultline_core::{DurationNs, SpanStatus, TimeWindow};

    fn incident(start: i64, end: i64) -> Incident {
        Incident::new(
            "i",
            "",
            Timestamp::from_secs((start + end) / 2),
            TimeWindow {
                start: Timestamp::from_secs(start),
                end: Timestamp::from_secs(end),
            },
        )
    }

    fn series(svc: &str, metric: &str, values: Vec<f64>) -> Series {
        let ts = (0..values.len() as i64)
            .map(|i| Timestamp::from_secs(60 * i))
            .collect();
        Series::new(SeriesKey::new(svc, metric), ts, values).unwrap()
    }

    fn span(i: usize, svc: &str, secs: i64) -> Span {
        span_ms(i, svc, 1000 * secs)
    }

    fn span_ms(i: usize, svc: &str, ms: i64) -> Span {
        Span {
            trace_id: format!("t{i}"),
            span_id: "s".into(),
            parent_span_id: None,
            service: ServiceId::new(svc),
            operation: "GET /".into(),
            start: Timestamp(ms * 1_000_000),
            duration: DurationNs::from_millis(20),
            status: SpanStatus::Ok,
            attributes: Default::default(),
        }
    }

    fn keys(v: &[Cow<'_, Series>]) -> Vec<String> {
        v.iter().map(|s| s.key.to_string()).collect()
    }

    #[test]
    fn counters_are_detected_on_their_rate_and_gauges_as_they_are() {
        let mut signals = SignalSet::default();
        let counter: Vec<f64> = (0..30).map(|i| f64::from(i) * 10.0).collect();
        signals
            .series
            .push(series("api", "http_requests_total", counter.clone()));
        // Named like a counter, but it goes up and down: a gauge.
        let wobble: Vec<f64> = (0..30).map(|i| f64::from(i % 3)).collect();
        signals.series.push(series("api", "inflight_total", wobble));
        signals.series.push(series("api", "cpu", vec![1.0; 30]));
        // A counter whose rate the bundle already has: detected once, on the bundle's rate.
        signals.series.push(series("db", "queries_total", counter));
        signals.series.push(series("db", "queries_rate", vec![10.0; 29]));
        let got = detection_series(&incident(0, 1800), &signals, &DetectStageConfig::default());
        assert_eq!(
            keys(&got),
            [
                "api/http_requests_rate",
                "api/inflight_total",
                "api/cpu",
                "db/queries_rate",
                // The request counter also gives the service's RED request rate.
                "api/red_request_rate"
            ]
        );
        assert!(got[0].values.iter().all(|&r| (r - 10.0 / 60.0).abs() < 1e-12));
        assert!(matches!(got[3], Cow::Borrowed(_)));

        let off = DetectStageConfig {
            counters: CounterRateConfig {
                enabled: false,
                ..Default::default()
            },
            red: RedSeriesConfig {
                from_metrics: false,
                ..Default::default()
            },
            ..Default::default()
        };
        let got = detection_series(&incident(0, 1800), &signals, &off);
        assert_eq!(got.len(), signals.series.len());
    }

    #[test]
    fn red_series_come_from_window_spans_named_apart_and_never_shadow_the_bundle() {
        let mut signals = SignalSet::default();
        // 120 requests a minute to web and db over 10 minutes, one web span far outside the
        // window, and a sampled service with one span a minute.
        for i in 0..1200 {
            signals.spans.push(span_ms(i, "web", 500 * i as i64));
            signals.spans.push(span_ms(10_000 + i, "db", 500 * i as i64));
        }
        for i in 0..10 {
            signals.spans.push(span(20_000 + i, "sampled", 60 * i as i64));
        }
        signals.spans.push(span(999, "web", 100_000));
        // The bundle already has db's derived p95 under the derived name.
        signals
            .series
            .push(series("db", "span_duration_p95_ms", vec![20.0; 10]));
        let got = detection_series(&incident(0, 600), &signals, &DetectStageConfig::default());
        let k = keys(&got);
        assert_eq!(k.len(), 1 + 6 + 5, "{k:?}");
        assert_eq!(k.iter().filter(|k| *k == "db/span_duration_p95_ms").count(), 1);
        assert!(!k.iter().any(|k| k.starts_with("sampled/")), "{k:?}");
        let rate = got
            .iter()
            .find(|s| s.key.to_string() == "web/span_request_rate")
            .unwrap();
        // Ten one-minute buckets: the stray span did not stretch the grid.
        assert_eq!(rate.values, vec![2.0; 10]);

        let only_p99 = DetectStageConfig {
            red: RedSeriesConfig {
                metrics: vec!["duration_p99_ms".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let got = detection_series(&incident(0, 600), &signals, &only_p99);
        assert_eq!(
            keys(&got),
            [
                "db/span_duration_p95_ms",
                "db/span_duration_p99_ms",
                "web/span_duration_p99_ms"
            ]
        );
        let off = DetectStageConfig {
            red: RedSeriesConfig {
                enabled: false,
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(detection_series(&incident(0, 600), &signals, &off).len(), 1);
    }

    #[test]
    fn buckets_cut_by_the_window_and_thin_buckets_are_left_out() {
        let mut signals = SignalSet::default();
        // 12 a minute from 0 s to 600 s, but only 3 in minute 5.
        for i in 0..120 {
            if i / 12 != 5 || i % 12 < 3 {
                signals.spans.push(span(i, "web", 5 * i as i64));
            }
        }
        // The window starts and ends mid-minute: minutes 0 and 9 are cut.
        let got = detection_series(&incident(30, 570), &signals, &DetectStageConfig::default());
        let get = |m: &str| got.iter().find(|s| s.key.metric == m).unwrap();
        let rate = get("span_request_rate");
        assert_eq!(rate.timestamps.first(), Some(&Timestamp::from_secs(60)));
        assert_eq!(rate.timestamps.last(), Some(&Timestamp::from_secs(480)));
        assert_eq!(rate.values[4], 3.0 / 60.0);
        let p50 = get("span_duration_p50_ms");
        assert!(p50.values[4].is_nan());
        assert!(p50.values.iter().enumerate().all(|(i, v)| i == 4 || *v == 20.0));
        // 12 requests never estimate a p95 or p99: those series are not derived.
        assert!(!got
            .iter()
            .any(|s| s.key.metric.ends_with("p95_ms") || s.key.metric.ends_with("p99_ms")));
    }

    #[test]
    fn lone_errors_read_as_none_and_bursts_stay() {
        let mut signals = SignalSet::default();
        // 12 a minute over 10 minutes; one error in minute 2, five in minute 6.
        for i in 0..120usize {
            let mut sp = span(i, "api", 5 * i as i64);
            let (minute, k) = (i / 12, i % 12);
            if (minute == 2 && k == 0) || (minute == 6 && k < 5) {
                sp.status = SpanStatus::Error;
            }
            signals.spans.push(sp);
        }
        let got = detection_series(&incident(0, 600), &signals, &DetectStageConfig::default());
        let get = |m: &str| got.iter().find(|s| s.key.metric == m).unwrap();
        let rate = &get("span_error_rate").values;
        assert_eq!(rate[2], 0.0);
        assert_eq!(rate[6], 5.0 / 60.0);
        let ratio = &get("span_error_ratio").values;
        assert_eq!((ratio[2], ratio[6]), (0.0, 5.0 / 12.0));
        assert_eq!(rate.iter().filter(|&&v| v > 0.0).count(), 1);
    }
}

//! Metric channel: robust pre/post shift of every series, optionally on the residual of a
//! linear model of the series on its dependencies' series.
//!
//! Raw shift: BARO's robust scorer (Pham et al., FSE 2024): z = (x − median_pre) / IQR-scale,
//! the score of a series is its largest z after the onset. Upward and downward shifts are
//! weighted differently (`down_shift_weight`), because services *behind* a fault often see
//! their load and latency drop.
//!
//! Residual shift: in the spirit of regression-based hypothesis testing over a known causal
//! graph (PyRCA, Liu et al. 2023, "HT"; Ikram et al., NeurIPS 2022 for the framing of a root
//! cause as a node whose conditional distribution changed), each series is regressed on the
//! series of the service's dependencies over the baseline (ridge, standardised regressors)
//! and the post-onset residual is scored the same way. A caller whose shift is fully explained
//! by a dependency then scores low, while the service where the mechanism changed keeps a high
//! residual. The model is fitted only when the baseline has enough samples per parameter.

use std::collections::BTreeMap;

use faultline_core::{Incident, Series, SeriesKey, Timestamp};

use crate::graph::Adjacency;
use crate::stats::{ridge, RobustBaseline};
use crate::RcaConfig;

/// The shift of one series across the onset.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesShift {
    /// The series.
    pub key: SeriesKey,
    /// Largest upward robust z after the onset (≥ 0).
    pub up_z: f64,
    /// Largest downward robust z after the onset (≥ 0).
    pub down_z: f64,
    /// Score: `max(up_z, down_shift_weight · down_z)`, capped at `max_z`; for
    /// dependency-side metrics, scaled by their weight on the saturated scale.
    pub score: f64,
    /// Baseline median.
    pub baseline: f64,
    /// Observed value at the peak.
    pub observed: f64,
    /// Time of the peak deviation.
    pub peak: Timestamp,
    /// Whether the score is on the residual of a dependency model.
    pub residual: bool,
}

/// Where the baseline ends and the post-onset part begins for one series.
fn split(s: &Series, incident: &Incident) -> (usize, usize, usize) {
    let onset = s.index_at(incident.onset);
    let start = s.index_at(incident.window.start).min(onset);
    // Too short a windowed baseline: fall back to everything before the onset.
    let start = if onset - start < 3 { 0 } else { start };
    let end = s
        .timestamps
        .partition_point(|&t| t <= incident.window.end)
        .max(onset);
    (start, onset, end)
}

fn score_of(up: f64, down: f64, cfg: &RcaConfig) -> f64 {
    up.max(cfg.down_shift_weight * down).clamp(0.0, cfg.max_z)
}

/// Weight of a series by what it measures: the service itself (1) or its calls to
/// dependencies (`dependency_metric_weight`).
fn series_weight(key: &SeriesKey, cfg: &RcaConfig) -> f64 {
    let m = key.metric.to_ascii_lowercase();
    if cfg
        .dependency_metric_markers
        .iter()
        .any(|k| !k.is_empty() && m.contains(&k.to_ascii_lowercase()))
    {
        cfg.dependency_metric_weight
    } else {
        1.0
    }
}

/// Raw shift of one series; `None` if it lacks a baseline or post-onset samples.
pub fn raw_shift(s: &Series, incident: &Incident, cfg: &RcaConfig) -> Option<SeriesShift> {
    let (start, onset, end) = split(s, incident);
    if end <= onset {
        return None;
    }
    let base = RobustBaseline::of(s.values[start..onset].iter().copied(), cfg.min_baseline_samples)?;
    shift_from(
        &s.key,
        &base,
        (onset..end).map(|i| (s.timestamps[i], s.values[i])),
        false,
        cfg,
    )
}

fn shift_from(
    key: &SeriesKey,
    base: &RobustBaseline,
    post: impl Iterator<Item = (Timestamp, f64)>,
    residual: bool,
    cfg: &RcaConfig,
) -> Option<SeriesShift> {
    let (mut up, mut down) = (0.0f64, 0.0f64);
    let (mut peak, mut observed, mut best) = (None, f64::NAN, -1.0f64);
    for (t, x) in post {
        if !x.is_finite() {
            continue;
        }
        let z = base.z(x);
        up = up.max(z);
        down = down.max(-z);
        let w = score_of(z.max(0.0), (-z).max(0.0), cfg);
        if w > best {
            best = w;
            peak = Some(t);
            observed = x;
        }
    }
    let peak = peak?;
    // A series that was constant before the onset has no scale to measure a change with;
    // any change at all would be an "infinite" z. Such shifts are capped low (RCAEval drops
    // constant columns altogether).
    let cap = if base.constant {
        cfg.constant_baseline_max_z
    } else {
        cfg.max_z
    };
    let (up, down) = (up.min(cap), down.min(cap));
    Some(SeriesShift {
        key: key.clone(),
        up_z: up,
        down_z: down,
        score: score_of(up, down, cfg),
        baseline: base.median,
        observed,
        peak,
        residual,
    })
}

/// Shifts of every series, grouped by service index of `adj` (series of unknown services are
/// ignored). With `residual_regression`, a series whose service has dependencies with series
/// is scored on its residual when the baseline is long enough.
pub fn service_shifts(
    series: &[Series],
    incident: &Incident,
    adj: &Adjacency,
    cfg: &RcaConfig,
) -> Vec<Vec<SeriesShift>> {
    let n = adj.services.len();
    let mut by_service: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, s) in series.iter().enumerate() {
        if let Some(&k) = adj.index.get(&s.key.service) {
            by_service[k].push(i);
        }
    }
    let mut out = vec![Vec::new(); n];
    for svc in 0..n {
        let regressors: Vec<usize> = if cfg.residual_regression {
            adj.callees[svc]
                .iter()
                .flat_map(|&c| by_service[c].iter().copied())
                .collect()
        } else {
            Vec::new()
        };
        for &i in &by_service[svc] {
            let s = &series[i];
            let shift = if !regressors.is_empty() && regressors.len() <= cfg.max_regressors {
                let raw = raw_shift(s, incident, cfg);
                match (residual_shift(s, &regressors, series, incident, cfg), raw) {
                    // The residual can only lower a score: it removes what the dependencies
                    // explain, and never lets an extrapolating model inflate a shift.
                    (Some(res), Some(raw)) if res.score < raw.score => Some(res),
                    (_, raw) => raw,
                }
            } else {
                raw_shift(s, incident, cfg)
            };
            if let Some(mut sh) = shift {
                // Weighted on the saturated scale, so that a weight bounds the score even
                // for enormous z (a timeout sentinel of 3600 s in a latency quantile).
                let w = series_weight(&sh.key, cfg);
                if w < 1.0 {
                    let p = w * crate::stats::saturate(sh.score, cfg.metric_half_z);
                    sh.score = cfg.metric_half_z * p / (1.0 - p).max(1e-9);
                }
                out[svc].push(sh);
            }
        }
        out[svc].sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.key.cmp(&b.key)));
    }
    out
}

/// The value of series `s` at exactly `t`, if sampled then.
fn value_at(s: &Series, t: Timestamp) -> Option<f64> {
    let i = s.index_at(t);
    (s.timestamps.get(i) == Some(&t))
        .then(|| s.values[i])
        .filter(|v| v.is_finite())
}

fn residual_shift(
    y: &Series,
    regressors: &[usize],
    series: &[Series],
    incident: &Incident,
    cfg: &RcaConfig,
) -> Option<SeriesShift> {
    let (start, onset, end) = split(y, incident);
    if end <= onset {
        return None;
    }
    let p = regressors.len();
    let row = |i: usize| -> Option<Vec<f64>> {
        let t = y.timestamps[i];
        let v = y.values[i];
        if !v.is_finite() {
            return None;
        }
        let mut r = Vec::with_capacity(p + 1);
        r.push(v);
        for &j in regressors {
            r.push(value_at(&series[j], t)?);
        }
        Some(r)
    };
    let pre: Vec<Vec<f64>> = (start..onset).filter_map(row).collect();
    if pre.len() < cfg.regression_samples_per_param * (p + 1) {
        return None;
    }
    // Standardise regressors over the baseline; drop constant ones.
    let nf = pre.len() as f64;
    let mut cols: Vec<(usize, f64, f64)> = Vec::new();
    for c in 1..=p {
        let mean = pre.iter().map(|r| r[c]).sum::<f64>() / nf;
        let var = pre.iter().map(|r| (r[c] - mean).powi(2)).sum::<f64>() / nf;
        if var > 1e-12 * (1.0 + mean * mean) {
            cols.push((c, mean, var.sqrt()));
        }
    }
    if cols.is_empty() {
        return None;
    }
    let ymean = pre.iter().map(|r| r[0]).sum::<f64>() / nf;
    let q = cols.len();
    fn design<'c>(cols: &'c [(usize, f64, f64)], r: &'c [f64]) -> impl Iterator<Item = f64> + 'c {
        cols.iter().map(move |&(c, m, sd)| (r[c] - m) / sd)
    }
    let x: Vec<f64> = pre.iter().flat_map(|r| design(&cols, r)).collect();
    let yv: Vec<f64> = pre.iter().map(|r| r[0] - ymean).collect();
    let beta = ridge(&x, &yv, q, 1e-3 * nf)?;
    let predict = |r: &[f64]| ymean + design(&cols, r).zip(&beta).map(|(a, b)| a * b).sum::<f64>();
    let mut base = RobustBaseline::of(pre.iter().map(|r| r[0] - predict(r)), cfg.min_baseline_samples)?;
    // Residuals centre on zero, so the level-relative floor must come from the series itself;
    // and a model that fits the baseline almost perfectly must not turn small post-onset
    // extrapolation errors into huge scores: the residual scale is kept at a tenth of the
    // raw one or more.
    let raw = RobustBaseline::of(pre.iter().map(|r| r[0]), cfg.min_baseline_samples)?;
    base.scale = base.scale.max(0.1 * raw.scale).max(raw.median.abs() * 0.01);
    let post: Vec<(Timestamp, f64)> = (onset..end)
        .filter_map(|i| row(i).map(|r| (y.timestamps[i], r[0] - predict(&r))))
        .collect();
    let mut sh = shift_from(&y.key, &base, post.into_iter(), true, cfg)?;
    // Report the observed level of the series itself, not of the residual.
    sh.baseline = crate::stats::median(y.values[start..onset].iter().copied()).unwrap_or(sh.baseline);
    sh.observed = value_at(y, sh.peak).unwrap_or(sh.observed);
    Some(sh)
}

/// Largest series score per service, with the best series' index in `shifts[svc]`.
pub fn service_metric_strength(shifts: &[Vec<SeriesShift>]) -> Vec<f64> {
    shifts
        .iter()
        .map(|v| v.first().map_or(0.0, |s| s.score))
        .collect()
}

/// Per service, the strongest detector anomaly score in the analysis window, from the
/// anomalies the detect stage found.
pub fn anomaly_strength(
    anomalies: &[faultline_core::Anomaly],
    incident: &Incident,
    adj: &Adjacency,
) -> BTreeMap<usize, f64> {
    let mut m: BTreeMap<usize, f64> = BTreeMap::new();
    for a in anomalies {
        // Episodes over well before the onset are the series' usual noise, not the incident.
        let settle = faultline_core::DurationNs::from_secs(120);
        if a.end < incident.onset.sub(settle) || a.start > incident.window.end {
            continue;
        }
        if let Some(&i) = adj.index.get(&a.series.service) {
            let e = m.entry(i).or_insert(0.0);
            if a.score.is_finite() && a.score > *e {
                *e = a.score.clamp(0.0, 1.0);
            }
        }
    }
    m
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use faultline_core::{TimeWindow, Topology};

    fn incident(onset: i64, end: i64) -> Incident {
        Incident::new(
            "i",
            "",
            Timestamp::from_secs(onset),
            TimeWindow {
                start: Timestamp::from_secs(0),
                end: Timestamp::from_secs(end),
            },
        )
    }

    fn series(svc: &str, f: impl Fn(i64) -> f64) -> Series {
        let ts: Vec<Timestamp> = (0..200).map(|i| Timestamp::from_secs(i * 10)).collect();
        let vs = (0..200).map(f).collect();
        Series::new(SeriesKey::new(svc, "value"), ts, vs).unwrap()
    }

    fn noise(i: i64) -> f64 {
        ((i * 7919) % 101) as f64 / 101.0 - 0.5
    }

    #[test]
    fn drop_scores_less_than_rise() {
        let inc = incident(1500, 2000);
        let cfg = RcaConfig::default();
        let up = raw_shift(
            &series("a", |i| noise(i) + if i >= 150 { 10.0 } else { 0.0 }),
            &inc,
            &cfg,
        )
        .unwrap();
        let down = raw_shift(
            &series("b", |i| noise(i) - if i >= 150 { 10.0 } else { 0.0 }),
            &inc,
            &cfg,
        )
        .unwrap();
        assert!(up.score > 10.0 && (down.score - 0.5 * down.down_z).abs() < 1e-9);
        assert!(up.score > down.score);
    }

    #[test]
    fn residual_removes_inherited_shift() {
        // caller = 2 * callee + noise; only the callee has a fault.
        let inc = incident(1500, 2000);
        let cfg = RcaConfig::default();
        let callee = series("db", |i| noise(i * 3) + if i >= 150 { 5.0 } else { 0.0 });
        let caller = series("api", |i| {
            2.0 * (noise(i * 3) + if i >= 150 { 5.0 } else { 0.0 }) + 0.1 * noise(i)
        });
        let mut t = Topology::default();
        t.add_edge("api", "db", None);
        let adj = Adjacency::new(vec![], &t);
        let shifts = service_shifts(&[callee, caller], &inc, &adj, &cfg);
        let api = adj.index[&"api".into()];
        let db = adj.index[&"db".into()];
        assert!(shifts[api][0].residual);
        assert!(shifts[db][0].score > 5.0 * shifts[api][0].score, "{shifts:?}");
    }
}

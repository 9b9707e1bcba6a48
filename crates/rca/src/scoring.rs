//! Candidate scoring: channel strengths → one anomaly score per service → root-cause score
//! after discounting anomalies that dependencies explain.
//!
//! Each channel's strength v (metric robust z, error records per minute, relative latency
//! increase) is mapped to [0, 1) by `v / (v + half)` and sharpened by its share of the
//! channel's strongest service: `n = sat(v) · √(v / max v)`. The service's
//! anomaly `a` is the weighted sum of its channels plus its strongest correlated change.
//! Faults propagate to callers, so a service whose dependency is at least as anomalous as
//! itself is discounted: `r = a · (1 − γ · e)`, `e = clamp((max_dep a / a − 0.25) / 0.75, 0, 1)` (γ =
//! `propagation_discount`). An anomalous service with healthy dependencies keeps its score.

use crate::stats::saturate;
use crate::RcaConfig;

/// Ratio of a dependency's anomaly to the service's below which it explains nothing.
const EXPLAIN_FROM: f64 = 0.25;

/// Per-service scores.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceScore {
    /// Metric channel, normalised.
    pub metric: f64,
    /// Error channel, normalised.
    pub error: f64,
    /// Latency channel, normalised.
    pub latency: f64,
    /// Best correlated change likelihood.
    pub change: f64,
    /// Weighted anomaly before the topology discount.
    pub anomaly: f64,
    /// How far a dependency explains the anomaly, in [0, 1].
    pub explained: f64,
    /// The dependency that explains it most (service index).
    pub explained_by: Option<usize>,
    /// Final root-cause score.
    pub root: f64,
}

/// Raw channel strengths per service, in their native units.
#[derive(Debug, Clone, Default)]
pub struct Strengths {
    /// Metric robust z.
    pub metric: Vec<f64>,
    /// Error records per minute.
    pub error: Vec<f64>,
    /// Relative latency increase.
    pub latency: Vec<f64>,
}

fn normalise(v: &[f64], half: f64) -> Vec<f64> {
    let max = v.iter().copied().filter(|x| x.is_finite()).fold(0.0f64, f64::max);
    v.iter()
        .map(|&x| {
            if max > 0.0 && x.is_finite() && x > 0.0 {
                saturate(x, half) * (x / max).sqrt()
            } else {
                0.0
            }
        })
        .collect()
}

/// Channel-normalised anomaly per service (before changes and topology).
pub fn anomaly(s: &Strengths, cfg: &RcaConfig) -> Vec<ServiceScore> {
    let m = normalise(&s.metric, cfg.metric_half_z);
    let e = normalise(&s.error, cfg.error_half_per_min);
    let l = normalise(&s.latency, cfg.latency_half_ratio);
    (0..m.len())
        .map(|i| ServiceScore {
            metric: m[i],
            error: e[i],
            latency: l[i],
            anomaly: cfg.metric_weight * m[i] + cfg.error_weight * e[i] + cfg.latency_weight * l[i],
            ..ServiceScore::default()
        })
        .collect()
}

/// How far each service's anomaly is explained by its most anomalous dependency.
pub fn explain(scores: &mut [ServiceScore], callees: &[Vec<usize>]) {
    let a: Vec<f64> = scores.iter().map(|s| s.anomaly).collect();
    for (i, s) in scores.iter_mut().enumerate() {
        let best = callees[i]
            .iter()
            .copied()
            .filter(|&c| c != i)
            .max_by(|&x, &y| a[x].total_cmp(&a[y]).then(y.cmp(&x)));
        if let Some(c) = best {
            if a[c] > 0.0 {
                // A dependency at a quarter of the service's anomaly or less explains nothing;
                // one at least as anomalous explains it fully.
                let ratio = if a[i] > 0.0 { a[c] / a[i] } else { 1.0 };
                s.explained = ((ratio - EXPLAIN_FROM) / (1.0 - EXPLAIN_FROM)).clamp(0.0, 1.0);
                s.explained_by = Some(c);
            }
        }
    }
}

/// Applies changes and the topology discount: fills `root`.
pub fn finish(scores: &mut [ServiceScore], cfg: &RcaConfig) {
    for s in scores.iter_mut() {
        let a = s.anomaly + cfg.change_weight * s.change;
        s.root = a * (1.0 - cfg.propagation_discount * s.explained);
    }
}

/// Service indices by descending root score, ties by index (services are sorted by name).
pub fn ranking(scores: &[ServiceScore]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).filter(|&i| scores[i].root > 0.0).collect();
    idx.sort_by(|&x, &y| scores[y].root.total_cmp(&scores[x].root).then(x.cmp(&y)));
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_dependencies_outrank_inherited_faults() {
        // 0 = frontend calls 1 = api calls 2 = db; db is the root cause, but the frontend's
        // symptoms are as loud.
        let cfg = RcaConfig::default();
        let st = Strengths {
            metric: vec![40.0, 30.0, 35.0],
            error: vec![0.0; 3],
            latency: vec![0.0; 3],
        };
        let mut s = anomaly(&st, &cfg);
        explain(&mut s, &[vec![1], vec![2], vec![]]);
        finish(&mut s, &cfg);
        assert_eq!(ranking(&s)[0], 2);
        assert_eq!(s[1].explained_by, Some(2));
    }
}

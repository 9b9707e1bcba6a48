//! Candidate scoring: channel strengths → one anomaly score per service → root-cause score
//! after discounting what dependencies explain.
//!
//! Each channel's strength v (metric robust z, error records per minute, relative latency
//! increase) is mapped to [0, 1) by `v / (v + half)` and sharpened by its share of the
//! channel's strongest service: `n = sat(v) · √(v / max v)`.
//!
//! Faults propagate to callers, so each channel is discounted by how far the same channel of
//! the service's most anomalous dependency explains it: `n' = n · (1 − γ · e)` with
//! `e = clamp((max_dep n / n − 0.25) / 0.75, 0, 1)` and γ = `propagation_discount`. Like is
//! compared with like: a dependency's noisy metrics do not explain a service's error burst.
//! The latency channel is not discounted: self time and caller → callee gaps already exclude
//! the dependencies' own time. An anomalous service whose dependencies are healthy keeps its
//! score; a caller that only inherits a fault loses up to γ of it.
//!
//! The service's score is its strongest weighted channel plus 0.3 × the others (one decisive
//! channel, such as error logs for a code fault or network gaps for a delay, must not lose to
//! several middling ones), plus its strongest correlated change.

use crate::stats::saturate;
use crate::RcaConfig;

/// Ratio of a dependency's anomaly to the service's below which it explains nothing.
const EXPLAIN_FROM: f64 = 0.25;

/// Weight of the channels other than the strongest.
const OTHER_CHANNELS_SHARE: f64 = 0.3;

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
    /// Combined anomaly before the topology discount.
    pub anomaly: f64,
    /// How far dependencies explain the anomaly, in [0, 1] (1 − discounted / undiscounted,
    /// over γ).
    pub explained: f64,
    /// The dependency that explains it most (service index).
    pub explained_by: Option<usize>,
    /// Final root-cause score.
    pub root: f64,
    /// Raw channel strengths before normalisation: metric robust z, error records per
    /// minute, relative latency increase.
    pub raw: [f64; 3],
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

fn combine(mut ch: [f64; 3]) -> f64 {
    ch.sort_by(|a, b| b.total_cmp(a));
    ch[0] + OTHER_CHANNELS_SHARE * (ch[1] + ch[2])
}

fn explained_share(own: f64, dep: f64) -> f64 {
    if dep <= 0.0 {
        0.0
    } else if own <= 0.0 {
        1.0
    } else {
        ((dep / own - EXPLAIN_FROM) / (1.0 - EXPLAIN_FROM)).clamp(0.0, 1.0)
    }
}

/// Scores every service: normalised channels, topology discount, changes (`change[i]` is the
/// best change-impact likelihood of service i, 0 without changes).
pub fn score(s: &Strengths, callees: &[Vec<usize>], change: &[f64], cfg: &RcaConfig) -> Vec<ServiceScore> {
    let m = normalise(&s.metric, cfg.metric_half_z);
    let e = normalise(&s.error, cfg.error_half_per_min);
    let l = normalise(&s.latency, cfg.latency_half_ratio);
    let n = m.len();
    let g = cfg.propagation_discount;
    (0..n)
        .map(|i| {
            let deps: Vec<usize> = callees
                .get(i)
                .map_or(Vec::new(), |c| c.iter().copied().filter(|&c| c != i).collect());
            let max_dep = |v: &[f64]| deps.iter().map(|&c| v[c]).fold(0.0f64, f64::max);
            let (em, ee) = (
                explained_share(m[i], max_dep(&m)),
                explained_share(e[i], max_dep(&e)),
            );
            let raw = [
                cfg.metric_weight * m[i],
                cfg.error_weight * e[i],
                cfg.latency_weight * l[i],
            ];
            let disc = [raw[0] * (1.0 - g * em), raw[1] * (1.0 - g * ee), raw[2]];
            let anomaly = combine(raw);
            let root = combine(disc) + cfg.change_weight * change.get(i).copied().unwrap_or(0.0);
            let lost = anomaly - combine(disc);
            let explained = if anomaly > 0.0 && g > 0.0 {
                (lost / (g * anomaly)).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let explained_by = if explained > 0.0 {
                deps.iter()
                    .copied()
                    .max_by(|&x, &y| (m[x] + e[x]).total_cmp(&(m[y] + e[y])).then(y.cmp(&x)))
            } else {
                None
            };
            ServiceScore {
                metric: m[i],
                error: e[i],
                latency: l[i],
                change: change.get(i).copied().unwrap_or(0.0),
                anomaly,
                explained,
                explained_by,
                root,
                raw: [s.metric[i], s.error[i], s.latency[i]],
            }
        })
        .collect()
}

/// Service indices by descending root score, ties by index (services are sorted by name).
pub fn ranking(scores: &[ServiceScore]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).filter(|&i| scores[i].root > 0.0).collect();
    idx.sort_by(|&x, &y| scores[y].root.total_cmp(&scores[x].root).then(x.cmp(&y)));
    idx
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
        let s = score(&st, &[vec![1], vec![2], vec![]], &[], &cfg);
        assert_eq!(ranking(&s)[0], 2);
        assert_eq!(s[1].explained_by, Some(2));
        assert!(s[2].explained == 0.0 && s[1].explained > 0.5);
    }

    #[test]
    fn dependency_metrics_do_not_explain_an_error_burst() {
        let cfg = RcaConfig::default();
        let st = Strengths {
            metric: vec![0.0, 30.0],
            error: vec![20.0, 0.0],
            latency: vec![0.0; 2],
        };
        let s = score(&st, &[vec![1], vec![]], &[], &cfg);
        assert_eq!(s[0].explained, 0.0);
        assert_eq!(ranking(&s)[0], 0);
    }
}

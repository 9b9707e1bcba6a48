//! The canary judge: compares baseline and canary (or pre- and post-fix) windows per metric
//! and returns pass / marginal / fail / inconclusive with a reason per metric.
//!
//! Per metric it follows Kayenta's `NetflixACAJudge` with its `MannWhitneyClassifier`
//! (Netflix/Google, 2018): the Mann-Whitney U test's confidence interval for the shift
//! `canary − baseline` (Hodges-Lehmann estimate, distribution-free interval from the ordered
//! pairwise differences; Hollander & Wolfe 1999, §4.3) at 98 % confidence; the metric is
//! *High* when the interval's lower end exceeds the tolerance band `0.25 · |estimate|` and the
//! mean ratio reaches `allowed_increase`, *Low* symmetrically, and only the direction the
//! metric cares about counts. Identical or constant data pass. The score is the share of
//! passing metrics; a failing critical metric vetoes the whole canary.
//!
//! Where Kayenta is known to fail it adds two rules:
//! - **sparse counts** (error counts): an all-zero baseline followed by a few 5xx has a
//!   Hodges-Lehmann shift of 0, so Mann-Whitney passes it. Count metrics also get an exact
//!   one-sided Poisson rate test: with `λ₀ = max(k_b / n_b, rate_floor) · (1 + tolerance)`
//!   errors per sample, the canary's `k_c` errors in `n_c` samples fail when
//!   `P(X ≥ k_c | Poisson(λ₀ · n_c)) < 1 − confidence`;
//! - **low samples**: fewer than `min_samples` points in either window is *inconclusive*
//!   rather than a pass.

use faultline_core::{PlanId, Verdict, VerdictOutcome};
use serde::{Deserialize, Serialize};

use crate::RemediateError;

/// Which change of a metric is bad (Kayenta's `direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MetricDirection {
    /// An increase is bad (latency, errors).
    Increase,
    /// A decrease is bad (throughput, success rate).
    Decrease,
    /// Any significant change is bad.
    #[default]
    Either,
}

/// What sort of values a metric has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// Measurements (latency, CPU).
    #[default]
    Continuous,
    /// Event counts per sample (5xx per interval): also gets the Poisson rate test.
    Count,
}

/// One metric's two windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    /// Metric name.
    pub name: String,
    /// Baseline (control / before) samples.
    pub baseline: Vec<f64>,
    /// Canary (experiment / after) samples.
    pub canary: Vec<f64>,
    /// Which change is bad.
    #[serde(default)]
    pub direction: MetricDirection,
    /// A failing critical metric fails the canary.
    #[serde(default)]
    pub critical: bool,
    /// Continuous or count.
    #[serde(default)]
    pub kind: MetricKind,
}

/// A metric's classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricClass {
    /// No significant change in the bad direction.
    Pass,
    /// Significantly higher.
    High,
    /// Significantly lower.
    Low,
    /// Too few samples to judge.
    Inconclusive,
}

/// The judgement of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricResult {
    /// Metric name.
    pub name: String,
    /// Classification.
    pub class: MetricClass,
    /// Whether the metric is critical.
    pub critical: bool,
    /// Hodges-Lehmann shift estimate (canary − baseline).
    pub estimate: f64,
    /// Confidence interval of the shift.
    pub interval: (f64, f64),
    /// Mean ratio canary / baseline (1 when the baseline mean is 0).
    pub deviation: f64,
    /// Why, for humans.
    pub reason: String,
}

/// Judge settings (Kayenta's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CanaryConfig {
    /// Confidence of the interval and the rate test.
    pub confidence: f64,
    /// Tolerance band as a fraction of the shift estimate.
    pub tolerance: f64,
    /// Mean ratio at or above which a significant increase counts (effect-size threshold).
    pub allowed_increase: f64,
    /// Mean ratio at or below which a significant decrease counts.
    pub allowed_decrease: f64,
    /// Fewer samples than this in either window: inconclusive.
    pub min_samples: usize,
    /// Score (0–100) at or above which the canary passes.
    pub pass_score: f64,
    /// Score at or above which it is marginal (below: fail).
    pub marginal_score: f64,
    /// Smallest baseline event rate (events per sample) the rate test assumes, so that one
    /// stray error after a silent baseline is not a failure.
    pub rate_floor_per_sample: f64,
    /// Samples per window beyond this are thinned evenly (bounds the O(m·n) interval).
    pub max_samples: usize,
}

impl Default for CanaryConfig {
    fn default() -> Self {
        Self {
            confidence: 0.98,
            tolerance: 0.25,
            allowed_increase: 1.0,
            allowed_decrease: 1.0,
            min_samples: 10,
            pass_score: 95.0,
            marginal_score: 75.0,
            rate_floor_per_sample: 0.01,
            max_samples: 600,
        }
    }
}

/// The canary judge.
#[derive(Debug, Clone, Default)]
pub struct CanaryJudge {
    config: CanaryConfig,
}

/// Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9).
#[allow(clippy::excessive_precision)] // published coefficients, kept verbatim
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let lo = 0.02425;
    if p < lo {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - lo {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// `P(X ≥ k)` for `X ~ Poisson(lambda)`.
pub fn poisson_sf(k: u64, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    // P(X ≤ k−1) summed in log space-safe increments.
    let mut term = (-lambda).exp();
    let mut cdf = term;
    for i in 1..k {
        term *= lambda / i as f64;
        cdf += term;
        if term < 1e-300 && i as f64 > lambda {
            break;
        }
    }
    (1.0 - cdf).clamp(0.0, 1.0)
}

/// Hodges-Lehmann shift estimate of `y − x` and its distribution-free confidence interval.
pub fn shift_interval(x: &[f64], y: &[f64], confidence: f64) -> (f64, (f64, f64)) {
    let mut d: Vec<f64> = Vec::with_capacity(x.len() * y.len());
    for &b in y {
        for &a in x {
            d.push(b - a);
        }
    }
    if d.is_empty() {
        return (0.0, (0.0, 0.0));
    }
    d.sort_by(|a, b| a.total_cmp(b));
    let n = d.len();
    let est = if n % 2 == 1 {
        d[n / 2]
    } else {
        0.5 * (d[n / 2 - 1] + d[n / 2])
    };
    let (m, k) = (x.len() as f64, y.len() as f64);
    let z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    let c = (m * k / 2.0 - z * (m * k * (m + k + 1.0) / 12.0).sqrt()).floor();
    // c is 1-based; clamp into range.
    let lo_idx = (c.max(1.0) as usize).min(n) - 1;
    let hi_idx = n - 1 - lo_idx;
    (est, (d[lo_idx], d[hi_idx.max(lo_idx)]))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn thin(v: Vec<f64>, max: usize) -> Vec<f64> {
    if v.len() <= max || max == 0 {
        return v;
    }
    let step = v.len() as f64 / max as f64;
    (0..max).map(|i| v[(i as f64 * step) as usize]).collect()
}

impl CanaryJudge {
    /// A judge with `config` (validated).
    pub fn try_new(config: CanaryConfig) -> Result<Self, RemediateError> {
        let bad = |m: &str| Err(RemediateError::Config(format!("canary: {m}")));
        if !(config.confidence > 0.5 && config.confidence < 1.0) {
            return bad("confidence must be in (0.5, 1)");
        }
        if !(config.tolerance >= 0.0 && config.tolerance.is_finite()) {
            return bad("tolerance must be >= 0");
        }
        if !(0.0..=100.0).contains(&config.marginal_score)
            || !(config.marginal_score..=100.0).contains(&config.pass_score)
        {
            return bad("need 0 <= marginal_score <= pass_score <= 100");
        }
        if !(config.rate_floor_per_sample >= 0.0 && config.rate_floor_per_sample.is_finite()) {
            return bad("rate_floor_per_sample must be >= 0");
        }
        Ok(Self { config })
    }

    /// Classifies one metric.
    pub fn classify(&self, m: &MetricComparison) -> MetricResult {
        let cfg = &self.config;
        let clean = |v: &[f64]| {
            thin(
                v.iter().copied().filter(|x| x.is_finite()).collect(),
                cfg.max_samples,
            )
        };
        let (x, y) = (clean(&m.baseline), clean(&m.canary));
        let mut r = MetricResult {
            name: m.name.clone(),
            class: MetricClass::Pass,
            critical: m.critical,
            estimate: 0.0,
            interval: (0.0, 0.0),
            deviation: 1.0,
            reason: String::new(),
        };
        if x.len() < cfg.min_samples.max(1) || y.len() < cfg.min_samples.max(1) {
            r.class = MetricClass::Inconclusive;
            r.reason = format!(
                "{}: too few samples (baseline {}, canary {}; need {})",
                m.name,
                x.len(),
                y.len(),
                cfg.min_samples
            );
            return r;
        }
        let mx = mean(&x);
        r.deviation = if mx == 0.0 { 1.0 } else { mean(&y) / mx };
        let increase_bad = matches!(m.direction, MetricDirection::Increase | MetricDirection::Either);
        let decrease_bad = matches!(m.direction, MetricDirection::Decrease | MetricDirection::Either);

        if m.kind == MetricKind::Count && increase_bad {
            let kb: f64 = x.iter().map(|v| v.max(0.0)).sum();
            let kc: f64 = y.iter().map(|v| v.max(0.0)).sum();
            let lambda0 = (kb / x.len() as f64).max(cfg.rate_floor_per_sample) * (1.0 + cfg.tolerance);
            let p = poisson_sf(kc.round() as u64, lambda0 * y.len() as f64);
            if p < 1.0 - cfg.confidence {
                r.class = MetricClass::High;
                r.reason = format!(
                    "{}: {} events in {} canary samples against {} in {} baseline samples (Poisson rate test p = {:.4})",
                    m.name,
                    kc,
                    y.len(),
                    kb,
                    x.len(),
                    p
                );
                return r;
            }
        }

        let mut xs = x.clone();
        let mut ys = y.clone();
        xs.sort_by(|a, b| a.total_cmp(b));
        ys.sort_by(|a, b| a.total_cmp(b));
        if xs == ys {
            r.reason = format!("{}: baseline and canary data are identical", m.name);
            return r;
        }
        if xs.first() == xs.last() && ys.first() == ys.last() && xs.first() == ys.first() {
            r.reason = format!("{}: one unique value in both windows", m.name);
            return r;
        }
        let (est, (lo, hi)) = shift_interval(&x, &y, cfg.confidence);
        r.estimate = est;
        r.interval = (lo, hi);
        let band = cfg.tolerance * est.abs();
        if increase_bad && lo > band && r.deviation >= cfg.allowed_increase {
            r.class = MetricClass::High;
        } else if decrease_bad && hi < -band && r.deviation <= cfg.allowed_decrease {
            r.class = MetricClass::Low;
        }
        r.reason = format!(
            "{}: {} (shift {:+.4}, {:.0}% interval [{:.4}, {:.4}], mean ratio {:.3})",
            m.name,
            match r.class {
                MetricClass::High => "significantly higher",
                MetricClass::Low => "significantly lower",
                _ => "no significant change in the watched direction",
            },
            est,
            cfg.confidence * 100.0,
            lo,
            hi,
            r.deviation
        );
        r
    }

    /// Judges every metric and combines them into a verdict for `plan`.
    ///
    /// ```
    /// use faultline_remediate::canary::{CanaryJudge, MetricComparison, MetricDirection, MetricKind};
    /// use faultline_core::{PlanId, VerdictOutcome};
    /// let errors = MetricComparison { name: "http_5xx".into(), baseline: vec![0.0; 30],
    ///     canary: [vec![0.0; 27], vec![1.0, 2.0, 1.0]].concat(), direction: MetricDirection::Increase,
    ///     critical: false, kind: MetricKind::Count };
    /// let (v, _) = CanaryJudge::default().judge(&PlanId::derive(&["p"]), &[errors]);
    /// assert_eq!(v.outcome, VerdictOutcome::Fail);
    /// ```
    pub fn judge(&self, plan: &PlanId, metrics: &[MetricComparison]) -> (Verdict, Vec<MetricResult>) {
        let results: Vec<MetricResult> = metrics.iter().map(|m| self.classify(m)).collect();
        let reasons: Vec<String> = results.iter().map(|r| r.reason.clone()).collect();
        let conclusive: Vec<&MetricResult> = results
            .iter()
            .filter(|r| r.class != MetricClass::Inconclusive)
            .collect();
        let passed = conclusive.iter().filter(|r| r.class == MetricClass::Pass).count();
        let score = if conclusive.is_empty() {
            0.0
        } else {
            100.0 * passed as f64 / conclusive.len() as f64
        };
        let critical_fail = results
            .iter()
            .any(|r| r.critical && matches!(r.class, MetricClass::High | MetricClass::Low));
        let critical_unknown = results
            .iter()
            .any(|r| r.critical && r.class == MetricClass::Inconclusive);
        let outcome = if critical_fail {
            VerdictOutcome::Fail
        } else if conclusive.is_empty() || critical_unknown {
            VerdictOutcome::Inconclusive
        } else if score >= self.config.pass_score {
            VerdictOutcome::Pass
        } else if score >= self.config.marginal_score {
            VerdictOutcome::Marginal
        } else {
            VerdictOutcome::Fail
        };
        let verdict = Verdict {
            plan: plan.clone(),
            outcome,
            score: if critical_fail { 0.0 } else { score / 100.0 },
            reasons,
        };
        (verdict, results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_matches_tables() {
        assert!((normal_quantile(0.99) - 2.326_347_874).abs() < 1e-6);
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-6);
        assert!(normal_quantile(0.5).abs() < 1e-9);
        assert!((normal_quantile(0.001) + 3.090_232_306).abs() < 1e-6);
    }

    #[test]
    fn poisson_tail_is_exact_for_small_cases() {
        // P(X >= 1 | 0.5) = 1 - e^-0.5
        assert!((poisson_sf(1, 0.5) - (1.0 - (-0.5f64).exp())).abs() < 1e-12);
        assert_eq!(poisson_sf(0, 3.0), 1.0);
        assert_eq!(poisson_sf(2, 0.0), 0.0);
    }

    #[test]
    fn interval_of_a_pure_shift_contains_it() {
        let x: Vec<f64> = (0..40).map(|i| f64::from(i % 10)).collect();
        let y: Vec<f64> = x.iter().map(|v| v + 5.0).collect();
        let (est, (lo, hi)) = shift_interval(&x, &y, 0.98);
        assert_eq!(est, 5.0);
        assert!(lo <= 5.0 && 5.0 <= hi && lo > 0.0, "[{lo}, {hi}]");
    }

    #[test]
    fn bad_config_is_refused() {
        assert!(CanaryJudge::try_new(CanaryConfig {
            confidence: 1.5,
            ..Default::default()
        })
        .is_err());
        assert!(CanaryJudge::try_new(CanaryConfig {
            pass_score: 50.0,
            ..Default::default()
        })
        .is_err());
        assert!(CanaryJudge::try_new(CanaryConfig::default()).is_ok());
    }
}

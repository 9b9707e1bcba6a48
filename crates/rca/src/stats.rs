//! Robust window statistics.
//!
//! The metric channel follows BARO (Pham, Ha, Zhang, FSE 2024, "BARO: Robust Root Cause
//! Analysis for Microservices via Multivariate Bayesian Online Change Point Detection",
//! §3.3 "RobustScorer"): each series is scaled by the median and inter-quartile range of its
//! pre-onset part, and scored by the largest scaled deviation after the onset. Median and IQR
//! barely move when the given onset is a minute or two late (a few faulty samples in the
//! baseline), which is what makes the score robust to onset errors, unlike N-sigma with mean
//! and standard deviation.

use faultline_core::Timestamp;

/// Linear-interpolated quantile `q ∈ [0, 1]` of sorted, finite values; `None` when empty.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

/// The finite values of `v`, sorted.
pub fn sorted_finite(v: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut s: Vec<f64> = v.into_iter().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    s
}

/// Median of finite values; `None` when there are none.
pub fn median(v: impl IntoIterator<Item = f64>) -> Option<f64> {
    quantile_sorted(&sorted_finite(v), 0.5)
}

/// Robust location and scale of a baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RobustBaseline {
    /// Median.
    pub median: f64,
    /// Scale in the units of the data: IQR / 1.349, else 1.4826 · MAD, else a floor.
    pub scale: f64,
    /// Whether the baseline was constant (scale is only a floor).
    pub constant: bool,
}

impl RobustBaseline {
    /// The baseline of `values` (non-finite values are ignored); `None` when fewer than
    /// `min_samples` finite values remain.
    pub fn of(values: impl IntoIterator<Item = f64>, min_samples: usize) -> Option<Self> {
        let s = sorted_finite(values);
        if s.len() < min_samples.max(1) {
            return None;
        }
        let med = quantile_sorted(&s, 0.5)?;
        let iqr = quantile_sorted(&s, 0.75)? - quantile_sorted(&s, 0.25)?;
        let mut scale = iqr / 1.349;
        if scale <= 0.0 {
            let dev = sorted_finite(s.iter().map(|x| (x - med).abs()));
            scale = 1.4826 * quantile_sorted(&dev, 0.5).unwrap_or(0.0);
        }
        if scale <= 0.0 {
            // Mean absolute deviation catches baselines that are constant except for a
            // few samples.
            scale = s.iter().map(|x| (x - med).abs()).sum::<f64>() / s.len() as f64;
        }
        // A floor relative to the level keeps near-constant baselines from turning noise
        // into enormous scores.
        let floor = (med.abs() * 0.01).max(1e-9);
        let constant = scale <= floor;
        Some(Self {
            median: med,
            scale: scale.max(floor),
            constant,
        })
    }
    /// Signed robust z of `x`.
    pub fn z(&self, x: f64) -> f64 {
        (x - self.median) / self.scale
    }
}

/// Solves the ridge regression `(XᵀX + λI) β = Xᵀy` by Cholesky decomposition.
/// `x` is row-major with `p` columns. Returns `None` if the system is singular.
pub fn ridge(x: &[f64], y: &[f64], p: usize, lambda: f64) -> Option<Vec<f64>> {
    let n = y.len();
    if p == 0 || x.len() != n * p {
        return None;
    }
    let mut a = vec![0.0; p * p];
    let mut b = vec![0.0; p];
    for r in 0..n {
        let row = &x[r * p..(r + 1) * p];
        for i in 0..p {
            b[i] += row[i] * y[r];
            for j in 0..=i {
                a[i * p + j] += row[i] * row[j];
            }
        }
    }
    for i in 0..p {
        a[i * p + i] += lambda;
        for j in 0..i {
            a[j * p + i] = a[i * p + j];
        }
    }
    // Cholesky: a = L Lᵀ, L stored in the lower triangle.
    for j in 0..p {
        let mut d = a[j * p + j];
        for k in 0..j {
            d -= a[j * p + k] * a[j * p + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * p + j] = d;
        for i in j + 1..p {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= a[i * p + k] * a[j * p + k];
            }
            a[i * p + j] = s / d;
        }
    }
    let mut z = vec![0.0; p];
    for i in 0..p {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * p + k] * z[k];
        }
        z[i] = s / a[i * p + i];
    }
    let mut beta = vec![0.0; p];
    for i in (0..p).rev() {
        let mut s = z[i];
        for k in i + 1..p {
            s -= a[k * p + i] * beta[k];
        }
        beta[i] = s / a[i * p + i];
    }
    beta.iter().all(|v| v.is_finite()).then_some(beta)
}

/// `v / (v + half)`: maps a non-negative strength to [0, 1), reaching 0.5 at `half`.
pub fn saturate(v: f64, half: f64) -> f64 {
    if v.is_finite() && v > 0.0 {
        v / (v + half)
    } else {
        0.0
    }
}

/// Observed minutes before and after `onset`: the number of one-minute buckets (aligned on
/// the onset) holding at least one of `times`, each side at least 0.5. Log and trace exports
/// often cover only some minutes of a window (a collector restart, files kept only around
/// events); a rate over wall-clock time would count the gaps as silence and make every
/// steady source look like it grew after the onset.
///
/// ```
/// use faultline_core::Timestamp;
/// use faultline_rca::stats::observed_minutes;
/// let t = |s| Timestamp::from_secs(s);
/// // Records at -550 s, -30 s and -10 s, +5 s and +70 s: two minutes observed on each side.
/// let (pre, post) = observed_minutes([t(50), t(570), t(590), t(605), t(670)].into_iter(), t(600));
/// assert_eq!((pre, post), (2.0, 2.0));
/// ```
pub fn observed_minutes(times: impl Iterator<Item = Timestamp>, onset: Timestamp) -> (f64, f64) {
    let mut buckets: Vec<i64> = times
        .map(|t| (t.0 - onset.0).div_euclid(60_000_000_000))
        .collect();
    buckets.sort_unstable();
    buckets.dedup();
    let pre = buckets.iter().filter(|&&b| b < 0).count() as f64;
    let post = buckets.len() as f64 - pre;
    (pre.max(0.5), post.max(0.5))
}

/// Excess of `after` records over `post_min` minutes against `before` records over `pre_min`
/// minutes, per minute: the count beyond the expected `λ = before · post_min / pre_min` and
/// one Poisson standard deviation `√max(λ, 1)`, plus a quarter of the rate itself when
/// there is such an excess; 0 otherwise.
///
/// ```
/// use faultline_rca::stats::count_excess_per_min;
/// assert_eq!(count_excess_per_min(10, 10, 5.0, 5.0), 0.0); // steady
/// assert!(count_excess_per_min(0, 12, 5.0, 3.0) > 4.0); // new: 11 beyond noise in 3 min
/// ```
pub fn count_excess_per_min(before: u64, after: u64, pre_min: f64, post_min: f64) -> f64 {
    let lambda = before as f64 * post_min / pre_min.max(1e-9);
    let excess = after as f64 - lambda - lambda.max(1.0).sqrt();
    if excess > 0.0 {
        (excess + 0.25 * after as f64) / post_min.max(1e-9)
    } else {
        0.0
    }
}

/// Strength of an error rate that is `after` per minute since the onset and was `before` per
/// minute until then: the excess over the baseline rate, plus a quarter of the rate itself
/// when it grew (a steady error source explains nothing about the incident; a new one does).
pub fn rate_excess(before: f64, after: f64) -> f64 {
    if after > before {
        (after - before) + 0.25 * after
    } else {
        0.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_baseline() {
        let s = sorted_finite([4.0, 1.0, f64::NAN, 3.0, 2.0]);
        assert_eq!(s, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(quantile_sorted(&s, 0.5), Some(2.5));
        let b = RobustBaseline::of([10.0, 11.0, 9.0, 10.0, 10.5, 9.5], 3).unwrap();
        assert!((b.median - 10.0).abs() < 1e-12);
        assert!(b.z(20.0) > 5.0);
        assert!(RobustBaseline::of([1.0], 3).is_none());
        let c = RobustBaseline::of([5.0; 10], 3).unwrap();
        assert!(c.constant && c.scale > 0.0);
    }

    #[test]
    fn baseline_ignores_a_few_faulty_samples() {
        // A late onset puts faulty samples into the baseline; the median and IQR barely move.
        let mut v: Vec<f64> = (0..60).map(|i| 10.0 + (i % 5) as f64 * 0.1).collect();
        let clean = RobustBaseline::of(v.clone(), 3).unwrap();
        v.extend([50.0, 55.0, 60.0]);
        let dirty = RobustBaseline::of(v, 3).unwrap();
        assert!((clean.median - dirty.median).abs() < 0.1);
        assert!(dirty.z(50.0) > 50.0);
    }

    #[test]
    fn ridge_recovers_linear_coefficients() {
        let n = 50;
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let a = (i as f64 * 0.37).sin();
            let b = (i as f64 * 0.11).cos();
            x.extend([a, b]);
            y.push(2.0 * a - 3.0 * b);
        }
        let beta = ridge(&x, &y, 2, 1e-9).unwrap();
        assert!(
            (beta[0] - 2.0).abs() < 1e-6 && (beta[1] + 3.0).abs() < 1e-6,
            "{beta:?}"
        );
        assert!(ridge(&x, &y, 3, 0.0).is_none());
    }
}

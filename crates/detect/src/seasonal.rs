//! Automatic period detection.
//!
//! [`detect_period`] computes the autocorrelation on block means (at most 1024 blocks, so one
//! search costs about 1024²/2.5 multiply-adds whatever the length), finds the highest
//! autocorrelation among its local maxima, takes the *shortest* lag whose local maximum is
//! within 10 % of it (multiples of a period correlate almost as well as the period, and noise
//! decides which is highest), refines it at full resolution, and keeps it when the best
//! autocorrelation reaches `min_acf`. A least-squares line is removed first.
//!
//! A causal seasonal channel built on it (seasonal-naive residual `x_t - median(x_{t-P},
//! x_{t-2P}, x_{t-3P})` through the robust deviation of [`crate::stream`]) was tried in
//! `score_stream` and lost on NAB (docs/detect.md §2), so it is not wired in.

/// Prefix sums of `x` and `x²` (length `n + 1`).
fn prefix_sums(x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut s = Vec::with_capacity(x.len() + 1);
    let mut q = Vec::with_capacity(x.len() + 1);
    let (mut a, mut b) = (0.0, 0.0);
    s.push(0.0);
    q.push(0.0);
    for &v in x {
        a += v;
        b += v * v;
        s.push(a);
        q.push(b);
    }
    (s, q)
}

/// Autocorrelation of `x` at `lag` as the Pearson correlation of `x[lag..]` with
/// `x[..n - lag]` (each overlap centred and scaled by its own mean and spread, so a residual
/// trend or level change does not bias the peak); `(s, q)` are the prefix sums of `x` and `x²`.
fn acf(x: &[f64], (s, q): (&[f64], &[f64]), lag: usize) -> f64 {
    let n = x.len();
    if lag == 0 || lag + 2 > n {
        return 0.0;
    }
    let m = (n - lag) as f64;
    let (sa, sb) = (s[n] - s[lag], s[n - lag]);
    let (qa, qb) = (q[n] - q[lag], q[n - lag]);
    let sab: f64 = x[lag..].iter().zip(&x[..n - lag]).map(|(a, b)| a * b).sum();
    let cov = sab - sa * sb / m;
    let va = qa - sa * sa / m;
    let vb = qb - sb * sb / m;
    if va <= 0.0 || vb <= 0.0 {
        return 0.0;
    }
    cov / (va * vb).sqrt()
}

/// `x` minus its least-squares line (a trend raises the autocorrelation at every lag and
/// blurs the peaks).
fn detrend(x: &[f64]) -> Vec<f64> {
    let n = x.len() as f64;
    if x.len() < 3 {
        return x.to_vec();
    }
    let tm = (n - 1.0) / 2.0;
    let xm = x.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (t, &v) in x.iter().enumerate() {
        let dt = t as f64 - tm;
        sxy += dt * (v - xm);
        sxx += dt * dt;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    x.iter()
        .enumerate()
        .map(|(t, &v)| v - xm - slope * (t as f64 - tm))
        .collect()
}

/// The dominant period of `x` in samples (at least 2.5 periods must fit in `x`), or `None` when
/// no lag's autocorrelation reaches `min_acf` (constant or aperiodic input, fewer than 16
/// samples). `x` must be finite.
///
/// ```
/// let x: Vec<f64> = (0..1000).map(|i| ((i % 24) as f64 / 24.0 * std::f64::consts::TAU).sin()).collect();
/// assert_eq!(faultline_detect::seasonal::detect_period(&x, 0.5), Some(24));
/// ```
pub fn detect_period(x: &[f64], min_acf: f64) -> Option<usize> {
    let detrended = detrend(x);
    let x = &detrended[..];
    let n = x.len();
    let block = n.div_ceil(1024).max(1);
    let coarse: Vec<f64> = x
        .chunks(block)
        .filter(|c| c.len() == block)
        .map(|c| c.iter().sum::<f64>() / block as f64)
        .collect();
    let m = coarse.len();
    if m < 16 {
        return None;
    }
    let mean = coarse.iter().sum::<f64>() / m as f64;
    let var = coarse.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / m as f64;
    if var <= 1e-24 * mean.abs().max(1.0).powi(2) {
        return None;
    }
    let (cs, cq) = prefix_sums(&coarse);
    let max_lag = (m as f64 / 2.5) as usize;
    let min_lag = (4 / block).max(2);
    if max_lag <= min_lag + 1 {
        return None;
    }
    let r: Vec<f64> = (0..=max_lag + 1)
        .map(|l| {
            if l < min_lag - 1 {
                0.0
            } else {
                acf(&coarse, (&cs, &cq), l)
            }
        })
        .collect();
    let mut best: Option<(usize, f64)> = None;
    for l in min_lag..=max_lag {
        if r[l] >= r[l - 1] && r[l] >= r[l + 1] && r[l] > best.map_or(f64::NEG_INFINITY, |b| b.1) {
            best = Some((l, r[l]));
        }
    }
    let (_, a) = best?;
    if a < min_acf {
        return None;
    }
    // Multiples of the period correlate about as well as the period itself (and noise decides
    // which is highest): take the shortest local maximum within 10 % of the best.
    let l = (min_lag..=max_lag)
        .find(|&l| r[l] >= r[l - 1] && r[l] >= r[l + 1] && r[l] >= 0.9 * a)
        .unwrap_or(min_lag);
    if block == 1 {
        return Some(l);
    }
    // Refine at full resolution around the coarse lag.
    let (fs, fq) = prefix_sums(x);
    let lo = (l - 1) * block;
    let hi = ((l + 1) * block).min(n * 2 / 5);
    (lo.max(2)..=hi.max(lo.max(2)))
        .map(|lag| (lag, acf(x, (&fs, &fq), lag)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(lag, _)| lag)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_daily_and_weekly_periods() {
        let daily: Vec<f64> = (0..2000)
            .map(|i| ((i % 48) as f64 / 48.0 * std::f64::consts::TAU).sin())
            .collect();
        assert_eq!(detect_period(&daily, 0.3), Some(48));
        let weekly: Vec<f64> = (0..3000)
            .map(|i| {
                let d = ((i % 48) as f64 / 48.0 * std::f64::consts::TAU).sin();
                if (i / 48) % 7 >= 5 {
                    0.3 * d
                } else {
                    d + 1.0
                }
            })
            .collect();
        assert_eq!(detect_period(&weekly, 0.3), Some(336));
        let mut st = 42u64;
        let noise: Vec<f64> = (0..2000)
            .map(|_| {
                st = st
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (st >> 40) as f64
            })
            .collect();
        assert_eq!(detect_period(&noise, 0.5), None);
        // Noisy daily cycle over two weeks: the period, not a multiple of it.
        let mut st = 9u64;
        let noisy: Vec<f64> = (0..48 * 14)
            .map(|i| {
                st = st
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let e = (st >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                80.0 * ((i % 48) as f64 / 48.0 * std::f64::consts::TAU).sin() + 4.0 * e
            })
            .collect();
        assert_eq!(detect_period(&noisy, 0.3), Some(48));
        assert_eq!(detect_period(&[1.0; 500], 0.3), None);
    }
}

//! Automatic period detection.
//!
//! [`detect_period`] computes the autocorrelation on block means (at most 1024 blocks, so one
//! search costs about 1024²/2.5 multiply-adds whatever the length), finds the highest
//! autocorrelation among its local maxima, takes the *shortest* lag whose local maximum is
//! within 10 % of it (multiples of a period correlate almost as well as the period, and noise
//! decides which is highest), refines it at full resolution, and keeps it when the best
//! autocorrelation reaches `min_acf`.
//!
//! A causal seasonal channel built on it (seasonal-naive residual `x_t - median(x_{t-P},
//! x_{t-2P}, x_{t-3P})` through the robust deviation of [`crate::stream`]) was tried in
//! `score_stream` and lost on NAB (docs/detect.md §2), so it is not wired in.

/// Autocorrelation of `x` at `lag` (mean removed, normalised by the overall variance).
fn acf(x: &[f64], mean: f64, var: f64, lag: usize) -> f64 {
    let n = x.len();
    if lag >= n || var <= 0.0 {
        return 0.0;
    }
    let s: f64 = x[lag..]
        .iter()
        .zip(&x[..n - lag])
        .map(|(a, b)| (a - mean) * (b - mean))
        .sum();
    s / ((n - lag) as f64 * var)
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
    if var <= 0.0 {
        return None;
    }
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
                acf(&coarse, mean, var, l)
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
    let fmean = x.iter().sum::<f64>() / n as f64;
    let fvar = x.iter().map(|v| (v - fmean) * (v - fmean)).sum::<f64>() / n as f64;
    let lo = (l - 1) * block;
    let hi = ((l + 1) * block).min(n * 2 / 5);
    (lo.max(2)..=hi.max(lo.max(2)))
        .map(|lag| (lag, acf(x, fmean, fvar, lag)))
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

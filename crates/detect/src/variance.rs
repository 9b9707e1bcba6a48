//! Variance (volatility) changes: the series' noise level moves while its level may not.
//!
//! Method, on the finite samples of a series:
//! 1. **Differences** `d_t = x_t - x_{t-1}` remove the level (a level shift becomes a single
//!    large difference), winsorised at `winsor_sigma` robust spreads of all differences so
//!    that such single jumps cannot pose as a volatility change.
//! 2. **Changepoints in variance** by ICSS (Inclán and Tiao 1994, "Use of Cumulative Sums of
//!    Squares for Retrospective Detection of Changes of Variance", JASA 89(427)): with
//!    `C_k = Σ_{t<=k} d_t²`, `D_k = C_k / C_T - k / T`, a segment is split at the `k` that
//!    maximises `|D_k|` when `sqrt(T / 2) max |D_k| > critical_value` (asymptotic critical
//!    values 1.358 at 5 %, 1.628 at 1 %), recursively, up to `max_changepoints`, with segments
//!    of at least `min_segment_samples`.
//! 3. **Episodes**: the first segment is the baseline (an incident window starts before the
//!    incident); a later segment whose robust spread of differences (`1.4826 MAD`, mean
//!    absolute deviation × 1.2533 when the MAD is 0) is at least `min_sd_ratio` times the
//!    baseline's, or at most its inverse, is anomalous; consecutive anomalous segments in the
//!    same direction form one [`AnomalyKind::Variance`] anomaly.
//!
//! For variance anomalies `observed` and `expected.value` are noise standard deviations (the
//! spread of differences divided by `sqrt 2`) of the episode and of the baseline; the band is
//! `[baseline / ratio, baseline × ratio]` with `ratio = min_sd_ratio`. Direction `Up` = more
//! volatile. Score `1 - 2^-(ln r / ln min_sd_ratio)²` of the spread ratio `r` (0.5 at the
//! threshold).

use faultline_core::{Anomaly, AnomalyKind, Expected, Series};
use serde::{Deserialize, Serialize};

use crate::batch::{anomaly, finite_samples};
use crate::stats::{median_in_place, score_from_z, MAD_TO_SIGMA};
use crate::DetectError;

/// Name recorded in [`Anomaly::detector`] by [`detect_variance`].
pub const VARIANCE_DETECTOR: &str = "icss_variance";

/// Settings of [`detect_variance`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VarianceConfig {
    /// Fewer finite samples than this give no anomalies.
    pub min_samples: usize,
    /// ICSS critical value of `sqrt(T / 2) max |D_k|` (1.358 = 5 %, 1.628 = 1 %).
    pub critical_value: f64,
    /// Most variance changepoints per series.
    pub max_changepoints: usize,
    /// Shortest segment between changepoints (samples).
    pub min_segment_samples: usize,
    /// Spread ratio (episode / baseline, or its inverse) that makes a segment anomalous (> 1).
    pub min_sd_ratio: f64,
    /// Differences are clipped at this many robust spreads before the ICSS test.
    pub winsor_sigma: f64,
}

impl Default for VarianceConfig {
    fn default() -> Self {
        Self {
            min_samples: 40,
            critical_value: 1.628,
            max_changepoints: 4,
            min_segment_samples: 15,
            min_sd_ratio: 2.0,
            winsor_sigma: 5.0,
        }
    }
}

impl VarianceConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), DetectError> {
        if !(self.critical_value.is_finite() && self.critical_value > 0.0) {
            return Err(DetectError::config("critical_value", "must be positive"));
        }
        if self.min_segment_samples < 4 {
            return Err(DetectError::config("min_segment_samples", "must be at least 4"));
        }
        if self.min_samples < 2 * self.min_segment_samples {
            return Err(DetectError::config(
                "min_samples",
                "must be at least 2 * min_segment_samples",
            ));
        }
        if !(self.min_sd_ratio.is_finite() && self.min_sd_ratio > 1.0) {
            return Err(DetectError::config("min_sd_ratio", "must be greater than 1"));
        }
        if !(self.winsor_sigma.is_finite() && self.winsor_sigma > 0.0) {
            return Err(DetectError::config("winsor_sigma", "must be positive"));
        }
        Ok(())
    }
}

/// Robust spread of `d`: `1.4826 MAD` around 0-free center (median), or `1.2533` × the mean
/// absolute deviation when the MAD is 0.
fn spread(d: &[f64]) -> f64 {
    let mut buf = d.to_vec();
    let Some(m) = median_in_place(&mut buf) else {
        return 0.0;
    };
    buf.iter_mut().zip(d).for_each(|(b, v)| *b = (v - m).abs());
    let mad = median_in_place(&mut buf).unwrap_or(0.0);
    if mad > 0.0 {
        MAD_TO_SIGMA * mad
    } else {
        1.253_314_137_315_500_3 * buf.iter().sum::<f64>() / buf.len().max(1) as f64
    }
}

/// ICSS binary segmentation of `sq` (squared differences) within `[a, b)`.
fn icss(sq: &[f64], a: usize, b: usize, cfg: &VarianceConfig, out: &mut Vec<usize>) {
    if out.len() >= cfg.max_changepoints || b - a < 2 * cfg.min_segment_samples {
        return;
    }
    let total: f64 = sq[a..b].iter().sum();
    if total <= 0.0 {
        return;
    }
    let t = (b - a) as f64;
    let (mut c, mut best, mut at) = (0.0, 0.0, 0);
    for (k, &v) in sq.iter().enumerate().take(b).skip(a) {
        c += v;
        let len = k + 1 - a;
        if len < cfg.min_segment_samples || b - (k + 1) < cfg.min_segment_samples {
            continue;
        }
        let dk = (c / total - len as f64 / t).abs();
        if dk > best {
            best = dk;
            at = k + 1;
        }
    }
    if at == 0 || (t / 2.0).sqrt() * best <= cfg.critical_value {
        return;
    }
    out.push(at);
    icss(sq, a, at, cfg, out);
    icss(sq, at, b, cfg, out);
}

/// Variance (volatility) anomalies of one series, one per episode (see the module docs).
/// NaN samples are skipped; fewer than `min_samples` finite samples and series without
/// spread give `Ok(vec![])`; an invalid config is an error.
///
/// ```
/// use faultline_core::{AnomalyKind, Direction, Series, SeriesKey, Timestamp};
/// use faultline_detect::variance::{detect_variance, VarianceConfig};
/// let mut s = 1u64;
/// let v: Vec<f64> = (0..300).map(|i| {
///     s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
///     let e = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
///     50.0 + if i < 200 { 1.0 } else { 6.0 } * e
/// }).collect();
/// let ts = (0..300).map(|i| Timestamp::from_secs(15 * i)).collect();
/// let series = Series::new(SeriesKey::new("db", "latency_ms"), ts, v).unwrap();
/// let found = detect_variance(&series, &VarianceConfig::default()).unwrap();
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].kind, AnomalyKind::Variance);
/// assert_eq!(found[0].direction, Direction::Up);
/// let start = found[0].start.as_nanos() / 1_000_000_000 / 15;
/// assert!((195..=205).contains(&start), "{start}");
/// ```
pub fn detect_variance(series: &Series, cfg: &VarianceConfig) -> Result<Vec<Anomaly>, DetectError> {
    cfg.validate()?;
    let (ts, ys) = finite_samples(series);
    if ys.len() < cfg.min_samples {
        return Ok(vec![]);
    }
    // d[i] = ys[i + 1] - ys[i] belongs to sample i + 1.
    let d: Vec<f64> = ys.windows(2).map(|w| w[1] - w[0]).collect();
    let s_all = spread(&d);
    if !(s_all > 0.0 && s_all.is_finite()) {
        return Ok(vec![]);
    }
    let clip = cfg.winsor_sigma * s_all;
    let sq: Vec<f64> = d.iter().map(|v| v.clamp(-clip, clip).powi(2)).collect();
    let mut cps = Vec::new();
    icss(&sq, 0, sq.len(), cfg, &mut cps);
    cps.sort_unstable();
    let bounds: Vec<usize> = std::iter::once(0)
        .chain(cps)
        .chain(std::iter::once(d.len()))
        .collect();
    let segs: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    let base = spread(&d[segs[0].0..segs[0].1]);
    let floor = 1e-12 * s_all;
    let ratios: Vec<f64> = segs
        .iter()
        .map(|&(a, b)| spread(&d[a..b]).max(floor) / base.max(floor))
        .collect();
    let r = cfg.min_sd_ratio;
    let dir = |x: f64| {
        if x >= r {
            1i8
        } else if x <= 1.0 / r {
            -1
        } else {
            0
        }
    };
    let mut out = Vec::new();
    let mut i = 1;
    while i < segs.len() {
        let side = dir(ratios[i]);
        if side == 0 {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < segs.len() && dir(ratios[j + 1]) == side {
            j += 1;
        }
        let (a, b) = (segs[i].0, segs[j].1);
        let ratio = spread(&d[a..b]).max(floor) / base.max(floor);
        let peak = (a..b)
            .max_by(|&p, &q| d[p].abs().total_cmp(&d[q].abs()))
            .unwrap_or(a);
        let sd0 = base / std::f64::consts::SQRT_2;
        out.push(anomaly(
            series,
            &ts,
            (a + 1, b, peak + 1),
            sd0 * ratio,
            Expected {
                value: sd0,
                lower: sd0 / r,
                upper: sd0 * r,
            },
            score_from_z(ratio.ln().abs(), r.ln()),
            AnomalyKind::Variance,
            VARIANCE_DETECTOR,
        ));
        i = j + 1;
    }
    Ok(out)
}

/// [`detect_variance`] as a [`crate::Detector`].
#[derive(Debug, Clone, Default)]
pub struct VarianceDetector {
    cfg: VarianceConfig,
}

impl VarianceDetector {
    /// A detector with validated settings.
    pub fn try_new(cfg: VarianceConfig) -> Result<Self, DetectError> {
        cfg.validate()?;
        Ok(Self { cfg })
    }
}

impl crate::Detector for VarianceDetector {
    fn name(&self) -> &'static str {
        VARIANCE_DETECTOR
    }
    fn detect(&self, series: &Series) -> Result<Vec<Anomaly>, DetectError> {
        detect_variance(series, &self.cfg)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use faultline_core::{Direction, SeriesKey, Timestamp};

    fn series(v: Vec<f64>) -> Series {
        let ts = (0..v.len() as i64)
            .map(|i| Timestamp::from_secs(10 * i))
            .collect();
        Series::new(SeriesKey::new("s", "m"), ts, v).unwrap()
    }

    fn noise(n: usize, seed: u64, amp: impl Fn(usize) -> f64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                amp(i) * ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
            })
            .collect()
    }

    #[test]
    fn a_level_shift_alone_is_not_a_variance_change() {
        let v: Vec<f64> = noise(400, 5, |_| 1.0)
            .iter()
            .enumerate()
            .map(|(i, e)| e + if i >= 200 { 50.0 } else { 0.0 })
            .collect();
        assert!(detect_variance(&series(v), &VarianceConfig::default())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn calmer_episode_is_reported_down_and_stationary_noise_is_quiet() {
        let v = noise(400, 7, |i| if (150..300).contains(&i) { 0.2 } else { 2.0 });
        let found = detect_variance(&series(v), &VarianceConfig::default()).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].direction, Direction::Down);
        for seed in 0..20 {
            let v = noise(500, seed, |_| 1.0);
            assert!(
                detect_variance(&series(v), &VarianceConfig::default())
                    .unwrap()
                    .is_empty(),
                "seed {seed}"
            );
        }
        assert!(
            detect_variance(&series(vec![3.0; 100]), &VarianceConfig::default())
                .unwrap()
                .is_empty()
        );
        assert!(
            detect_variance(&series(vec![3.0; 10]), &VarianceConfig::default())
                .unwrap()
                .is_empty()
        );
    }
}

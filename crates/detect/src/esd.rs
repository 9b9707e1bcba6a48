//! Generalized ESD and Seasonal-Hybrid ESD (S-H-ESD).
//!
//! **Generalized ESD** (Rosner 1983, "Percentage points for a generalized ESD many-outlier
//! procedure", Technometrics 25(2)) for up to `k` outliers: for `i = 1..=k`, `R_i` is the
//! largest `|x - center| / scale` among the values not yet removed, and the value attaining it
//! is removed; the critical value is
//! `λ_i = (n - i) t_{p, n-i-1} / sqrt((n - i - 1 + t²_{p, n-i-1}) (n - i + 1))` with
//! `p = 1 - α / (2 (n - i + 1))` (two-sided; `1 - α / (n - i + 1)` one-sided) and `t_{p, ν}`
//! the `p` quantile of Student's t with `ν` degrees of freedom. The number of outliers is the
//! largest `i` with `R_i > λ_i`. As in Twitter's S-H-ESD the center and scale are the median
//! and `1.4826 MAD` instead of the mean and standard deviation. Because the value farthest from
//! the median is always the smallest or largest one left, the procedure runs on one sorted
//! copy whose ends are trimmed: O(n log n) in all, the MAD in O(log n) per step.
//!
//! **S-H-ESD** (Hochenbaum, Vallis and Kejariwal 2017, "Automatic Anomaly Detection in the
//! Cloud Via Statistical Learning", arXiv:1704.07706): per piece of `piece_samples` samples
//! (the "piecewise median" over a long window, two weeks in the paper; 0 = whole series), a
//! periodic seasonal component is removed, the trend is replaced by the piece's median, and
//! generalized ESD runs on the residual `x - seasonal - median` with at most
//! `max_anoms_fraction` of the piece flagged. Without a period (none given and none detected)
//! the residual is `x - median`.
//!
//! Deviation from the paper: the periodic seasonal component is the per-phase *median* of the
//! series minus a centred rolling median over one period, not R's `stl(s.window =
//! "periodic", robust = TRUE)` (a per-phase weighted mean). With a few cycles per piece, the
//! first, non-robust STL pass spreads a large outlier over its cycle-subseries, the
//! robustness weights then reject the whole subseries, and the seasonal component absorbs the
//! outlier (seen in the tests here with one week of half-hourly data); medians do not.
//!
//! Student's t quantile: the tail probability `P(T > t) = I_{ν/(ν+t²)}(ν/2, 1/2) / 2` from the
//! regularized incomplete beta function (continued fraction, modified Lentz; Press et al.,
//! Numerical Recipes 3rd ed. §6.4), inverted by bisection on `t` (to 1e-12 relative).

use faultline_core::{Anomaly, AnomalyKind, Expected, Series};
use serde::{Deserialize, Serialize};

use crate::batch::{anomaly, finite_samples};
use crate::stats::{mad_of_sorted, median_in_place, median_of_sorted, score_from_z, MAD_TO_SIGMA};
use crate::DetectError;

/// Name recorded in [`Anomaly::detector`] by [`sh_esd`].
pub const SH_ESD_DETECTOR: &str = "sh_esd";

/// Which deviations count as outliers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EsdDirection {
    /// Above the center only (Twitter's `pos`).
    Up,
    /// Below the center only (`neg`).
    Down,
    /// Either side (`both`, two-sided critical values).
    #[default]
    Both,
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~1e-15 relative).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Regularized incomplete beta `I_x(a, b)`.
fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

/// `P(T > t)` for Student's t with `df` degrees of freedom, `t >= 0`.
pub fn student_t_sf(t: f64, df: f64) -> f64 {
    if t <= 0.0 {
        return 0.5;
    }
    0.5 * inc_beta(0.5 * df, 0.5, df / (df + t * t))
}

/// The `1 - q` quantile of Student's t with `df > 0` degrees of freedom, for a tail
/// probability `q` in (0, 0.5): the `t >= 0` with `P(T > t) = q`.
///
/// ```
/// use faultline_detect::esd::student_t_upper_quantile;
/// assert!((student_t_upper_quantile(0.025, 10.0) - 2.228_138_851_986_274).abs() < 1e-9);
/// ```
pub fn student_t_upper_quantile(q: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while student_t_sf(hi, df) > q && hi < 1e300 {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_sf(mid, df) > q {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Critical value `λ_i` of generalized ESD for step `i` (1-based) of `n` values.
pub fn esd_critical_value(n: usize, i: usize, alpha: f64, two_sided: bool) -> f64 {
    let rem = (n - i + 1) as f64;
    let q = if two_sided {
        alpha / (2.0 * rem)
    } else {
        alpha / rem
    };
    let df = (n - i - 1) as f64;
    let t = student_t_upper_quantile(q, df);
    (n - i) as f64 * t / ((df + t * t) * rem).sqrt()
}

/// `sqrt(pi / 2)`: times the mean absolute deviation, estimates a normal standard deviation.
const MEAN_AD_TO_SIGMA: f64 = 1.253_314_137_315_500_3;

/// One outlier found by [`generalized_esd`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EsdOutlier {
    /// Position in the input.
    pub index: usize,
    /// Test statistic `R_i` (robust units).
    pub statistic: f64,
    /// Critical value `λ_i` at that step.
    pub critical: f64,
}

/// Generalized ESD with median / `1.4826 MAD` on finite `values`: the outliers among at most
/// `max_outliers` candidates, in the order removed (see the module docs). When more than half
/// of what is left equals the median (MAD 0) the scale is `1.2533` times the mean absolute
/// deviation instead; the test stops when that is 0 too or fewer than 3 values remain.
///
/// ```
/// use faultline_detect::esd::{generalized_esd, EsdDirection};
/// let mut x: Vec<f64> = (0..100).map(|i| (i % 7) as f64).collect();
/// x[40] = 60.0;
/// x[70] = -50.0;
/// let out = generalized_esd(&x, 10, 0.05, EsdDirection::Both);
/// let mut idx: Vec<usize> = out.iter().map(|o| o.index).collect();
/// idx.sort();
/// assert_eq!(idx, vec![40, 70]);
/// ```
pub fn generalized_esd(
    values: &[f64],
    max_outliers: usize,
    alpha: f64,
    dir: EsdDirection,
) -> Vec<EsdOutlier> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let sorted: Vec<f64> = order.iter().map(|&i| values[i]).collect();
    let (mut lo, mut hi) = (0usize, n);
    let mut steps: Vec<EsdOutlier> = Vec::new();
    let mut found = 0;
    let k = max_outliers.min(n.saturating_sub(3));
    for i in 1..=k {
        let s = &sorted[lo..hi];
        let m = median_of_sorted(s);
        let mut scale = MAD_TO_SIGMA * mad_of_sorted(s, m);
        if scale <= 0.0 {
            // More than half the values equal the median: fall back to the mean absolute
            // deviation (times sqrt(pi / 2), its normal consistency constant).
            scale = MEAN_AD_TO_SIGMA * s.iter().map(|v| (v - m).abs()).sum::<f64>() / s.len() as f64;
        }
        if scale <= 0.0 || !scale.is_finite() {
            break;
        }
        let (up, down) = (s[s.len() - 1] - m, m - s[0]);
        let take_top = match dir {
            EsdDirection::Up => true,
            EsdDirection::Down => false,
            EsdDirection::Both => up >= down,
        };
        let (pos, dev) = if take_top {
            hi -= 1;
            (hi, up)
        } else {
            lo += 1;
            (lo - 1, down)
        };
        let r = dev / scale;
        let critical = esd_critical_value(n, i, alpha, dir == EsdDirection::Both);
        steps.push(EsdOutlier {
            index: order[pos],
            statistic: r,
            critical,
        });
        if r > critical {
            found = i;
        }
    }
    steps.truncate(found);
    steps
}

/// Settings of [`sh_esd`] (names as in Twitter's `AnomalyDetectionVec`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShEsdConfig {
    /// Season length in samples; `None` = detected ([`crate::seasonal::detect_period`],
    /// autocorrelation at least `min_period_acf`).
    pub period_samples: Option<usize>,
    /// Smallest autocorrelation accepted for a detected period.
    pub min_period_acf: f64,
    /// Most anomalies, as a fraction of each piece (Twitter: 0.10), in (0, 0.49].
    pub max_anoms_fraction: f64,
    /// Significance level of each test, in (0, 1).
    pub alpha: f64,
    /// Which side counts.
    pub direction: EsdDirection,
    /// Samples per piece of the piecewise median (0 = the whole series as one piece).
    pub piece_samples: usize,
    /// Flagged samples at most this many apart form one anomaly.
    pub merge_gap_samples: usize,
    /// Fewer finite samples than this give no anomalies.
    pub min_samples: usize,
}

impl Default for ShEsdConfig {
    fn default() -> Self {
        Self {
            period_samples: None,
            min_period_acf: 0.3,
            max_anoms_fraction: 0.02,
            alpha: 0.05,
            direction: EsdDirection::Both,
            piece_samples: 0,
            merge_gap_samples: 2,
            min_samples: 16,
        }
    }
}

impl ShEsdConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), DetectError> {
        if self.period_samples.is_some_and(|p| p < 2) {
            return Err(DetectError::config("period_samples", "must be at least 2"));
        }
        if !(self.max_anoms_fraction > 0.0 && self.max_anoms_fraction <= 0.49) {
            return Err(DetectError::config("max_anoms_fraction", "must be in (0, 0.49]"));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(DetectError::config("alpha", "must be in (0, 1)"));
        }
        if self.min_samples < 4 {
            return Err(DetectError::config("min_samples", "must be at least 4"));
        }
        Ok(())
    }
}

/// Periodic seasonal component of one piece, or `None` when it holds fewer than two periods:
/// the trend is a centred rolling median over one period (the first and last full windows at
/// the edges), and each phase's seasonal value is the median of `x - trend` over the cycles,
/// centred so that the profile's median is 0.
fn periodic_seasonal(piece: &[f64], period: usize) -> Option<Vec<f64>> {
    let n = piece.len();
    if n < 2 * period {
        return None;
    }
    let mut win = crate::rolling::RollingMedianMad::new(period);
    let mut trend = vec![0.0; n];
    let half = period / 2;
    for (i, &v) in piece.iter().enumerate() {
        win.push(v);
        if i + 1 >= period {
            // Window piece[i + 1 - period..=i] is centred on i + 1 - period + half.
            let m = win.median();
            let c = i + 1 - period + half;
            if i + 1 == period {
                trend[..=c].iter_mut().for_each(|t| *t = m);
            }
            trend[c] = m;
            if i + 1 == n {
                trend[c..].iter_mut().for_each(|t| *t = m);
            }
        }
    }
    let mut profile: Vec<f64> = (0..period)
        .map(|ph| {
            let mut d: Vec<f64> = (ph..n).step_by(period).map(|i| piece[i] - trend[i]).collect();
            median_in_place(&mut d).unwrap_or(0.0)
        })
        .collect();
    let center = median_in_place(&mut profile.clone()).unwrap_or(0.0);
    profile.iter_mut().for_each(|p| *p -= center);
    Some((0..n).map(|i| profile[i % period]).collect())
}

/// Seasonal-Hybrid ESD on one series: one `Point` anomaly per run of flagged samples (gaps of
/// at most `merge_gap_samples` bridged), expected value `seasonal + median` with a band of
/// ±3 robust spreads, score `1 - 2^-(R / λ)²` of the run's largest statistic (0.5 at the
/// critical value). NaN samples are skipped; fewer than `min_samples` finite samples give
/// `Ok(vec![])`; an invalid config is an error.
///
/// ```
/// use faultline_core::{Series, SeriesKey, Timestamp};
/// use faultline_detect::esd::{sh_esd, ShEsdConfig};
/// // Four days of hourly values with a daily cycle and one off-cycle spike.
/// let mut v: Vec<f64> = (0..96).map(|i| 100.0 + 30.0 * ((i % 24) as f64 / 24.0 * std::f64::consts::TAU).sin() + (i % 3) as f64).collect();
/// v[60] += 25.0;
/// let ts = (0..96).map(|i| Timestamp::from_secs(3600 * i)).collect();
/// let s = Series::new(SeriesKey::new("api", "rps"), ts, v).unwrap();
/// let found = sh_esd(&s, &ShEsdConfig { period_samples: Some(24), ..Default::default() }).unwrap();
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].peak, Timestamp::from_secs(3600 * 60));
/// ```
pub fn sh_esd(series: &Series, cfg: &ShEsdConfig) -> Result<Vec<Anomaly>, DetectError> {
    cfg.validate()?;
    let (ts, ys) = finite_samples(series);
    let n = ys.len();
    if n < cfg.min_samples {
        return Ok(vec![]);
    }
    let period = cfg
        .period_samples
        .or_else(|| crate::seasonal::detect_period(&ys, cfg.min_period_acf));
    let piece = if cfg.piece_samples == 0 {
        n
    } else {
        cfg.piece_samples.max(cfg.min_samples)
    };
    // Per sample: (statistic, critical) when flagged, and the expected value and spread.
    let mut flag: Vec<Option<(f64, f64)>> = vec![None; n];
    let mut expected = vec![0.0; n];
    let mut spread = vec![0.0; n];
    let mut start = 0;
    while start < n {
        // The last short piece is analysed within the last full-length window.
        let (a, b) = if n - start < piece {
            (n.saturating_sub(piece), n)
        } else {
            (start, start + piece)
        };
        let x = &ys[a..b];
        let seasonal = period.and_then(|p| periodic_seasonal(x, p));
        let deseason: Vec<f64> = match &seasonal {
            Some(s) => x.iter().zip(s).map(|(v, s)| v - s).collect(),
            None => x.to_vec(),
        };
        let med = median_in_place(&mut deseason.clone()).unwrap_or(0.0);
        let resid: Vec<f64> = deseason.iter().map(|v| v - med).collect();
        let (_, mad) = crate::stats::median_mad(&resid).unwrap_or((0.0, 0.0));
        let k = ((cfg.max_anoms_fraction * x.len() as f64) as usize).max(1);
        for o in generalized_esd(&resid, k, cfg.alpha, cfg.direction) {
            let g = a + o.index;
            if g >= start {
                flag[g] = Some((o.statistic, o.critical));
            }
        }
        for i in start.max(a)..b {
            expected[i] = med + seasonal.as_ref().map_or(0.0, |s| s[i - a]);
            spread[i] = 3.0 * MAD_TO_SIGMA * mad;
        }
        start = b;
    }
    let hits: Vec<usize> = (0..n).filter(|&i| flag[i].is_some()).collect();
    let mut out = Vec::new();
    let mut k = 0;
    while k < hits.len() {
        let mut e = k;
        while e + 1 < hits.len() && hits[e + 1] - hits[e] <= cfg.merge_gap_samples + 1 {
            e += 1;
        }
        let ratio = |i: usize| flag[i].map_or(0.0, |(r, c)| r / c);
        let peak = hits[k..=e]
            .iter()
            .copied()
            .max_by(|&p, &q| ratio(p).total_cmp(&ratio(q)))
            .unwrap_or(hits[k]);
        out.push(anomaly(
            series,
            &ts,
            (hits[k], hits[e], peak),
            ys[peak],
            Expected {
                value: expected[peak],
                lower: expected[peak] - spread[peak],
                upper: expected[peak] + spread[peak],
            },
            score_from_z(ratio(peak), 1.0),
            AnomalyKind::Point,
            SH_ESD_DETECTOR,
        ));
        k = e + 1;
    }
    Ok(out)
}

/// [`sh_esd`] as a [`crate::Detector`].
#[derive(Debug, Clone, Default)]
pub struct ShEsdDetector {
    cfg: ShEsdConfig,
}

impl ShEsdDetector {
    /// A detector with validated settings.
    pub fn try_new(cfg: ShEsdConfig) -> Result<Self, DetectError> {
        cfg.validate()?;
        Ok(Self { cfg })
    }
}

impl crate::Detector for ShEsdDetector {
    fn name(&self) -> &'static str {
        SH_ESD_DETECTOR
    }
    fn detect(&self, series: &Series) -> Result<Vec<Anomaly>, DetectError> {
        sh_esd(series, &self.cfg)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // (q, df, t) from standard tables / scipy.stats.t.isf.
        for (q, df, want) in [
            (0.025, 1.0, 12.706_204_736_174_7),
            (0.025, 5.0, 2.570_581_835_636_314),
            (0.05, 20.0, 1.724_718_242_920_787),
            (0.005, 30.0, 2.749_995_653_567_87),
            (0.025, 1000.0, 1.962_339_080_827),
        ] {
            let got = student_t_upper_quantile(q, df);
            assert!((got - want).abs() < 1e-7 * want, "q {q} df {df}: {got} vs {want}");
        }
        // df = 1 is Cauchy: t = tan(pi (1/2 - q)), also far in the tail.
        for q in [1e-3, 1e-6, 1e-9] {
            let want = (std::f64::consts::PI * (0.5 - q)).tan();
            let got = student_t_upper_quantile(q, 1.0);
            assert!((got - want).abs() < 1e-6 * want, "q {q}: {got} vs {want}");
        }
        let t = student_t_upper_quantile(1e-7, 40.0);
        assert!((student_t_sf(t, 40.0) / 1e-7 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn rosner_critical_values() {
        // Rosner (1983) table, n = 54, alpha 0.05: lambda_1..3 = 3.158, 3.151, 3.143.
        for (i, want) in [(1usize, 3.158), (2, 3.151), (3, 3.143)] {
            let got = esd_critical_value(54, i, 0.05, true);
            assert!((got - want).abs() < 1e-3, "i {i}: {got}");
        }
    }

    #[test]
    fn esd_respects_direction_and_max() {
        let mut x: Vec<f64> = (0..200).map(|i| ((i * 37) % 11) as f64).collect();
        x[10] = 100.0;
        x[20] = -100.0;
        x[30] = 90.0;
        let up: Vec<usize> = generalized_esd(&x, 10, 0.05, EsdDirection::Up)
            .iter()
            .map(|o| o.index)
            .collect();
        assert_eq!(up, vec![10, 30]);
        let down: Vec<usize> = generalized_esd(&x, 10, 0.05, EsdDirection::Down)
            .iter()
            .map(|o| o.index)
            .collect();
        assert_eq!(down, vec![20]);
        assert_eq!(generalized_esd(&x, 1, 0.05, EsdDirection::Both).len(), 1);
        assert!(generalized_esd(&[1.0; 50], 5, 0.05, EsdDirection::Both).is_empty());
        assert!(generalized_esd(&[1.0, 2.0], 5, 0.05, EsdDirection::Both).is_empty());
    }

    #[test]
    fn sh_esd_finds_an_off_season_dip_a_global_test_cannot() {
        use faultline_core::{SeriesKey, Timestamp};
        let p = 48;
        let mut s = 9u64;
        let mut v: Vec<f64> = (0..p * 14)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let e = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                200.0 + 80.0 * ((i % p) as f64 / p as f64 * std::f64::consts::TAU).sin() + 4.0 * e
            })
            .collect();
        // At the daily peak, drop to the daily mean: normal overall, anomalous for the hour.
        let at = p * 9 + p / 4;
        v[at] = 200.0;
        let ts: Vec<Timestamp> = (0..v.len() as i64)
            .map(|i| Timestamp::from_secs(300 * i))
            .collect();
        let series = Series::new(SeriesKey::new("svc", "rps"), ts.clone(), v.clone()).unwrap();
        let found = sh_esd(&series, &ShEsdConfig::default()).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].peak, ts[at]);
        assert!(found[0].score > 0.5);
        assert_eq!(found[0].direction, faultline_core::Direction::Down);
        let global = generalized_esd(&v, 20, 0.05, EsdDirection::Both);
        assert!(global.iter().all(|o| o.index != at));
        // One-week pieces give the same answer here.
        let pieces = sh_esd(
            &series,
            &ShEsdConfig {
                piece_samples: p * 7,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(pieces.len(), 1);
    }
}

//! Multi-resolution detection: the same series scored at several aggregation windows (e.g.
//! 5 min / 30 min / 6 h), fused so that a single noisy point does not raise an alert while a
//! sustained shift does.
//!
//! For each resolution `r` (in samples) and each new sample:
//! 1. **Aggregate**: the median of the last `r` values (the sample itself for `r = 1`). A median
//!    ignores fewer than `r / 2` outlying points, so one spike moves only the finest resolution;
//!    a shift moves resolution `r` once it has lasted about `r / 2` samples.
//! 2. **Baseline**: median and `1.4826 MAD` of the last `baseline_points` aggregates of that
//!    resolution, taken every `hop = max(1, r / 4)` samples (so a 6 h window at 5 min samples,
//!    `r = 72`, has a baseline spanning `64 × 18` samples, four days, in 64 values). The current
//!    aggregate is scored before it enters the baseline (causal).
//! 3. **Deviation** `z = |aggregate - median| / spread`, the spread floored at
//!    `min_relative_scale × |median|` (0 until the baseline holds 8 points), and its score
//!    `1 - 2^-(z / threshold_sigma)^2` (0.5 at the threshold).
//!
//! **Fusion rule**: the fused score is the `min_agree`-th largest of the resolutions' scores
//! (an order statistic: `min_agree = 1` is the maximum, the most sensitive; `min_agree = n` the
//! minimum, the most conservative), computed as the score of the `min_agree`-th largest `z`. With the default `min_agree = 2` of three resolutions a
//! sample alerts only when two resolutions agree: a lone spike is seen by the finest one only,
//! a sustained shift by all of them in turn.
//!
//! State: per resolution, a window of `r` values and one of `baseline_points` aggregates (16
//! bytes per value each): about 6 KB with the defaults (`1 + 6 + 72` and `3 × 64` values).

use serde::{Deserialize, Serialize};

use crate::online::OnlineDetector;
use crate::rolling::SortedWindow;
use crate::stats::{score_from_z_fast, MAD_TO_SIGMA};
use crate::DetectError;

/// Settings of [`MultiRes`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MultiResConfig {
    /// Aggregation windows, in samples (ascending or not; each at least 1). The default
    /// `[1, 6, 72]` is 5 min / 30 min / 6 h for a series sampled every 5 minutes.
    pub resolutions_samples: Vec<usize>,
    /// Aggregates per resolution forming its baseline (at least 8).
    pub baseline_points: usize,
    /// Deviation (robust standard units of the resolution's aggregates) that scores 0.5.
    pub threshold_sigma: f64,
    /// How many resolutions must agree: the fused score is the `min_agree`-th largest
    /// resolution score (1 = the maximum; at most the number of resolutions).
    pub min_agree: usize,
    /// Smallest spread, relative to `|baseline median|`, so that flat baselines do not divide
    /// by zero.
    pub min_relative_scale: f64,
}

impl Default for MultiResConfig {
    fn default() -> Self {
        Self {
            resolutions_samples: vec![1, 6, 72],
            baseline_points: 64,
            threshold_sigma: 4.0,
            min_agree: 2,
            min_relative_scale: 1e-3,
        }
    }
}

impl MultiResConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), DetectError> {
        if self.resolutions_samples.is_empty() {
            return Err(DetectError::config("resolutions_samples", "must not be empty"));
        }
        if self.resolutions_samples.contains(&0) {
            return Err(DetectError::config("resolutions_samples", "must be positive"));
        }
        if self.baseline_points < 8 {
            return Err(DetectError::config("baseline_points", "must be at least 8"));
        }
        if !(self.threshold_sigma.is_finite() && self.threshold_sigma > 0.0) {
            return Err(DetectError::config("threshold_sigma", "must be positive"));
        }
        if self.min_agree == 0 || self.min_agree > self.resolutions_samples.len() {
            return Err(DetectError::config(
                "min_agree",
                "must be between 1 and the number of resolutions",
            ));
        }
        if !(self.min_relative_scale.is_finite() && self.min_relative_scale >= 0.0) {
            return Err(DetectError::config("min_relative_scale", "must be >= 0"));
        }
        Ok(())
    }
}

/// One resolution: the last `r` values and the baseline of past aggregates.
#[derive(Debug, Clone)]
struct Level {
    recent: SortedWindow<f64>,
    baseline: SortedWindow<f64>,
    hop: usize,
    since_push: usize,
    /// Baseline median and spread, recomputed when the baseline changes (every `hop`
    /// samples); `None` until it holds 8 aggregates.
    base: Option<(f64, f64)>,
}

impl Level {
    fn new(r: usize, baseline_points: usize) -> Self {
        Self {
            recent: SortedWindow::new(r),
            baseline: SortedWindow::new(baseline_points),
            hop: (r / 4).max(1),
            since_push: 0,
            base: None,
        }
    }

    /// Pushes `v`; returns `|z|` of the new aggregate against the baseline (0 until the
    /// window is full and the baseline holds 8 aggregates), then feeds the baseline every
    /// `hop` samples.
    fn update(&mut self, v: f64, cfg: &MultiResConfig) -> f64 {
        self.recent.push(v);
        if !self.recent.is_full() {
            return 0.0;
        }
        let agg = self.recent.median();
        let z = match self.base {
            Some((med, spread)) => {
                let d = (agg - med).abs();
                if spread > 0.0 {
                    d / spread
                } else if d > 0.0 {
                    f64::INFINITY
                } else {
                    0.0
                }
            }
            None => 0.0,
        };
        self.since_push += 1;
        if self.since_push >= self.hop {
            self.baseline.push(agg);
            self.since_push = 0;
            if self.baseline.len() >= 8 {
                let (med, mad) = self.baseline.median_mad();
                self.base = Some((med, (MAD_TO_SIGMA * mad).max(cfg.min_relative_scale * med.abs())));
            }
        }
        z
    }

    fn clear(&mut self) {
        self.recent.clear();
        self.baseline.clear();
        self.since_push = 0;
        self.base = None;
    }

    fn heap_bytes(&self) -> usize {
        self.recent.heap_bytes() + self.baseline.heap_bytes()
    }
}

/// Multi-resolution robust detector (module doc): one score in [0, 1] per sample, the
/// `min_agree`-th largest of the per-resolution scores. Causal; non-finite values score 0 and
/// leave the state unchanged.
///
/// ```
/// use faultline_detect::{MultiRes, MultiResConfig, OnlineDetector};
/// let mut d = MultiRes::try_new(MultiResConfig::default()).unwrap();
/// // Two days of a noisy level at 5-minute samples, one wild point, then a lasting shift.
/// let value = |i: usize| 50.0 + ((i * 37) % 11) as f64 - 5.0;
/// let mut spike = 0.0f64;
/// let mut shift = 0.0f64;
/// for i in 0..700 {
///     let v = if i == 600 { 500.0 } else if i >= 640 { value(i) + 40.0 } else { value(i) };
///     let s = d.update(v);
///     if i == 600 { spike = s; }
///     if i >= 640 { shift = shift.max(s); }
/// }
/// assert!(spike < 0.5, "a lone point is not an alert: {spike}");
/// assert!(shift > 0.9, "a sustained shift is: {shift}");
/// ```
#[derive(Debug, Clone)]
pub struct MultiRes {
    cfg: MultiResConfig,
    levels: Vec<Level>,
    /// `|z|` per resolution for the last sample.
    zs: Vec<f64>,
    /// Index of the finest resolution (its baseline median is the expected value).
    finest: usize,
    /// Baseline median of the finest resolution the last value was scored against.
    expected: Option<f64>,
}

impl MultiRes {
    /// A detector with validated settings.
    pub fn try_new(cfg: MultiResConfig) -> Result<Self, DetectError> {
        cfg.validate()?;
        Ok(Self {
            levels: cfg
                .resolutions_samples
                .iter()
                .map(|&r| Level::new(r, cfg.baseline_points))
                .collect(),
            zs: Vec::with_capacity(cfg.resolutions_samples.len()),
            finest: (0..cfg.resolutions_samples.len())
                .min_by_key(|&i| cfg.resolutions_samples[i])
                .unwrap_or(0),
            expected: None,
            cfg,
        })
    }

    /// The per-resolution deviations `|z|` (robust standard units of each resolution's
    /// aggregates) of the last sample, in the order of
    /// [`MultiResConfig::resolutions_samples`] (empty before the first finite sample).
    pub fn resolution_z(&self) -> &[f64] {
        &self.zs
    }

    /// Bytes of state held per series (struct plus heap).
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self
                .levels
                .iter()
                .map(|l| std::mem::size_of::<Level>() + l.heap_bytes())
                .sum::<usize>()
            + self.zs.capacity() * 8
    }
}

/// The `k`-th largest (1-based) of `xs` (`1 <= k <= xs.len()`), without allocating: a handful
/// of resolutions, so a rank count per candidate.
fn kth_largest(xs: &[f64], k: usize) -> f64 {
    for (i, &x) in xs.iter().enumerate() {
        // x is the k-th largest when fewer than k values rank above it (ties by index) and
        // at least k rank at or above it.
        let above = xs
            .iter()
            .enumerate()
            .filter(|&(j, &y)| y > x || (y == x && j < i))
            .count();
        if above == k - 1 {
            return x;
        }
    }
    0.0
}

impl OnlineDetector for MultiRes {
    fn update(&mut self, value: f64) -> f64 {
        if !value.is_finite() {
            return 0.0;
        }
        self.zs.clear();
        self.expected = self
            .levels
            .get(self.finest)
            .and_then(|l| l.base)
            .map(|(med, _)| med);
        for l in &mut self.levels {
            self.zs.push(l.update(value, &self.cfg));
        }
        // The score is monotone in |z|: the k-th largest score is the score of the k-th
        // largest |z| (one exponential per sample instead of one per resolution).
        score_from_z_fast(
            kth_largest(&self.zs, self.cfg.min_agree),
            self.cfg.threshold_sigma,
        )
    }
    fn reset(&mut self) {
        for l in &mut self.levels {
            l.clear();
        }
        self.zs.clear();
        self.expected = None;
    }
    /// The baseline median of the finest resolution the last value was scored against
    /// (`None` until that baseline holds 8 aggregates).
    fn expected(&self) -> Option<f64> {
        self.expected
    }
    fn name(&self) -> &'static str {
        "multi_resolution"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Seeded noise around 100 with standard deviation about 2.9 (uniform on ±5).
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                100.0 + ((s >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 10.0
            })
            .collect()
    }

    fn run(cfg: MultiResConfig, xs: &[f64]) -> Vec<f64> {
        let mut d = MultiRes::try_new(cfg).unwrap();
        xs.iter().map(|&x| d.update(x)).collect()
    }

    #[test]
    fn a_single_noisy_point_is_not_alerted_but_a_sustained_shift_is() {
        for seed in 1..=10u64 {
            let mut xs = noise(3000, seed);
            xs[2000] += 60.0; // a lone 20-sigma point
            for x in &mut xs[2500..] {
                *x += 15.0; // a lasting 5-sigma shift
            }
            let fused = run(MultiResConfig::default(), &xs);
            let finest = run(
                MultiResConfig {
                    min_agree: 1,
                    ..Default::default()
                },
                &xs,
            );
            // The finest resolution alone alerts on the point; the fused score does not.
            assert!(finest[2000] > 0.9, "seed {seed}: {}", finest[2000]);
            let near_point = fused[1995..2100].iter().copied().fold(0.0, f64::max);
            assert!(near_point < 0.5, "seed {seed}: point fused to {near_point}");
            // The shift alerts within a few samples (once the 6-sample median has moved: fully
            // after 4 samples, so 10 leaves room for the noise).
            let onset = fused[2500..].iter().position(|&s| s >= 0.5);
            assert!(
                matches!(onset, Some(k) if k <= 10),
                "seed {seed}: onset {onset:?}"
            );
        }
    }

    #[test]
    fn quiet_noise_stays_below_the_alert_level() {
        for seed in 11..=20u64 {
            let xs = noise(4000, seed);
            let fused = run(MultiResConfig::default(), &xs);
            let worst = fused[500..].iter().copied().fold(0.0, f64::max);
            assert!(worst < 0.5, "seed {seed}: {worst}");
        }
    }

    #[test]
    fn is_a_detector_config_method_reporting_shifts_as_level_shifts() {
        use crate::DetectorConfig;
        use faultline_core::{AnomalyKind, Series, SeriesKey, Timestamp};
        let cfg: DetectorConfig =
            serde_json::from_str(r#"{"method": "multi_res", "resolutions_samples": [1, 6, 24]}"#).unwrap();
        assert!(
            serde_json::from_str::<DetectorConfig>(r#"{"method": "multi_res", "windows": [1]}"#).is_err()
        );
        let seg: DetectorConfig = serde_json::from_str(r#"{"method": "level_shift"}"#).unwrap();
        assert_eq!(seg, DetectorConfig::default());
        let mut xs = noise(1200, 5);
        xs[700] += 60.0;
        for x in &mut xs[1000..] {
            *x += 20.0;
        }
        let ts: Vec<Timestamp> = (0..1200).map(|i| Timestamp::from_secs(300 * i)).collect();
        let s = Series::new(SeriesKey::new("api", "latency_ms"), ts.clone(), xs).unwrap();
        let found = cfg.build().unwrap().detect(&s).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, AnomalyKind::LevelShift);
        assert!(
            found[0].start >= ts[1000] && found[0].start <= ts[1006],
            "{:?}",
            found[0].start
        );
    }

    proptest::proptest! {
        /// Any input (NaN, infinities, huge or constant values) gives scores in [0, 1], and a
        /// prefix scores the same as the start of the whole series (causal).
        #[test]
        fn scores_are_bounded_and_causal(
            xs in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::num::f64::ANY,
                    -1e6f64..1e6,
                    proptest::strategy::Just(3.0),
                ],
                0..600,
            ),
            cut in 0usize..600,
        ) {
            let cfg = MultiResConfig {
                resolutions_samples: vec![1, 4, 16],
                baseline_points: 8,
                ..Default::default()
            };
            let full = run(cfg.clone(), &xs);
            proptest::prop_assert!(full.iter().all(|s| (0.0..=1.0).contains(s)));
            let cut = cut.min(xs.len());
            proptest::prop_assert_eq!(&run(cfg, &xs[..cut])[..], &full[..cut]);
        }
    }

    #[test]
    fn fusion_is_the_kth_largest_score() {
        assert_eq!(kth_largest(&[0.1, 0.9, 0.5], 1), 0.9);
        assert_eq!(kth_largest(&[0.1, 0.9, 0.5], 2), 0.5);
        assert_eq!(kth_largest(&[0.1, 0.9, 0.5], 3), 0.1);
        assert_eq!(kth_largest(&[0.7, 0.7, 0.2], 2), 0.7);
    }

    #[test]
    fn bad_settings_are_typed_errors_and_bad_values_never_give_nan() {
        for cfg in [
            MultiResConfig {
                resolutions_samples: vec![],
                ..Default::default()
            },
            MultiResConfig {
                resolutions_samples: vec![1, 0],
                ..Default::default()
            },
            MultiResConfig {
                min_agree: 4,
                ..Default::default()
            },
            MultiResConfig {
                baseline_points: 3,
                ..Default::default()
            },
        ] {
            assert!(matches!(
                MultiRes::try_new(cfg),
                Err(DetectError::InvalidConfig { .. })
            ));
        }
        let mut d = MultiRes::try_new(MultiResConfig::default()).unwrap();
        for i in 0..2000 {
            let v = match i % 97 {
                0 => f64::NAN,
                1 => f64::INFINITY,
                _ if i > 1500 => 7.0,
                _ => 7.0 + (i % 3) as f64,
            };
            let s = d.update(v);
            assert!((0.0..=1.0).contains(&s), "{i}: {s}");
        }
        assert!(d.state_bytes() < 8 * 1024, "{}", d.state_bytes());
    }
}

//! Online detectors: one point at a time, bounded state, causal.

use serde::{Deserialize, Serialize};

use crate::rolling::RollingMedianMad;
use crate::stats::{mad_of_sorted, median_of_sorted, score_from_u_fast, score_from_z_fast, MAD_TO_SIGMA};
use crate::DetectError;

/// A detector that scores a stream one value at a time with bounded state.
///
/// `update` returns a score in [0, 1] for the value just seen that depends only on it and the
/// values before it. Non-finite values score 0 and leave the state unchanged.
pub trait OnlineDetector {
    /// Scores `value` and then learns from it.
    fn update(&mut self, value: f64) -> f64;
    /// Forgets everything seen so far.
    fn reset(&mut self);
    /// Short name, used as [`Anomaly::detector`](faultline_core::Anomaly::detector).
    fn name(&self) -> &'static str;
    /// The value the detector expected for the last value passed to
    /// [`update`](OnlineDetector::update): the baseline that value was scored against (the
    /// window median, mean or seasonal forecast). `None` while there is none yet (cold start,
    /// first season) or when the detector keeps no single expected value. Hosts use it for
    /// an anomaly's direction and expected value.
    fn expected(&self) -> Option<f64> {
        None
    }
}

/// Settings of [`RollingZ`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RollingZConfig {
    /// Samples in the rolling window.
    pub window_samples: usize,
    /// Deviation (in standard deviations) that scores 0.5.
    pub threshold_sigma: f64,
    /// Samples seen before any non-zero score.
    pub cold_start_samples: usize,
}

impl Default for RollingZConfig {
    /// The original design: window 1000, 2.5 sigma, cold start 10.
    fn default() -> Self {
        Self {
            window_samples: 1000,
            threshold_sigma: 2.5,
            cold_start_samples: 10,
        }
    }
}

impl RollingZConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), DetectError> {
        if self.window_samples < 2 {
            return Err(DetectError::config("window_samples", "must be at least 2"));
        }
        if !(self.threshold_sigma.is_finite() && self.threshold_sigma > 0.0) {
            return Err(DetectError::config("threshold_sigma", "must be positive"));
        }
        Ok(())
    }
}

/// Rolling mean / standard deviation z-score over the last `window_samples` values (the
/// current value excluded). State: one ring buffer of the window (8 bytes per sample).
#[derive(Debug, Clone)]
pub struct RollingZ {
    cfg: RollingZConfig,
    ring: Vec<f64>,
    head: usize,
    /// Offset subtracted before summing, to keep the running sums well conditioned.
    shift: f64,
    sum: f64,
    sum_sq: f64,
    seen: usize,
    /// Window mean the last value was scored against (NaN before the first).
    expected: f64,
}

impl RollingZ {
    /// A detector with validated settings.
    pub fn try_new(cfg: RollingZConfig) -> Result<Self, DetectError> {
        cfg.validate()?;
        Ok(Self {
            ring: Vec::with_capacity(cfg.window_samples),
            cfg,
            head: 0,
            shift: f64::NAN,
            sum: 0.0,
            sum_sq: 0.0,
            seen: 0,
            expected: f64::NAN,
        })
    }

    /// The current z of `value` against the window (NaN before two samples).
    pub fn z(&self, value: f64) -> f64 {
        let n = self.ring.len() as f64;
        if n < 2.0 {
            return f64::NAN;
        }
        let mean = self.sum / n;
        let var = (self.sum_sq / n - mean * mean).max(0.0);
        let d = value - self.shift - mean;
        let sd = var.sqrt();
        if sd > 1e-12 * (self.shift.abs() + mean.abs()).max(1e-300) {
            d / sd
        } else if d.abs() > 1e-12 * self.shift.abs().max(1.0) {
            f64::INFINITY.copysign(d)
        } else {
            0.0
        }
    }
}

impl OnlineDetector for RollingZ {
    fn update(&mut self, value: f64) -> f64 {
        if !value.is_finite() {
            return 0.0;
        }
        if self.shift.is_nan() {
            self.shift = value;
        }
        let score = if self.seen >= self.cfg.cold_start_samples {
            score_from_z_fast(self.z(value), self.cfg.threshold_sigma)
        } else {
            0.0
        };
        self.expected = if self.ring.is_empty() {
            f64::NAN
        } else {
            self.shift + self.sum / self.ring.len() as f64
        };
        let v = value - self.shift;
        if self.ring.len() < self.cfg.window_samples {
            self.ring.push(v);
        } else {
            let old = std::mem::replace(&mut self.ring[self.head], v);
            self.head += 1;
            if self.head == self.cfg.window_samples {
                self.head = 0;
            }
            self.sum -= old;
            self.sum_sq -= old * old;
        }
        self.sum += v;
        self.sum_sq += v * v;
        // Re-sum once per window so rounding errors cannot accumulate.
        if self.head == 0 && self.ring.len() == self.cfg.window_samples {
            self.sum = self.ring.iter().sum();
            self.sum_sq = self.ring.iter().map(|x| x * x).sum();
        }
        self.seen += 1;
        score
    }
    fn reset(&mut self) {
        self.ring.clear();
        self.head = 0;
        self.shift = f64::NAN;
        self.sum = 0.0;
        self.sum_sq = 0.0;
        self.seen = 0;
        self.expected = f64::NAN;
    }
    fn name(&self) -> &'static str {
        "rolling_z"
    }
    /// The window mean the last value was scored against.
    fn expected(&self) -> Option<f64> {
        Some(self.expected).filter(|e| e.is_finite())
    }
}

/// Settings of [`RobustZ`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RobustZConfig {
    /// Samples in the rolling window (median and MAD).
    pub window_samples: usize,
    /// Deviation (in robust standard units, `1.4826 MAD`) that scores 0.5.
    pub threshold_sigma: f64,
    /// Samples seen before any non-zero score.
    pub cold_start_samples: usize,
    /// Smallest scale, relative to `|median|`, so that flat windows do not divide by zero.
    pub min_relative_scale: f64,
    /// The median and MAD are recomputed every this many samples; in between, the last
    /// baseline is used. 1 (the default) = exact at every sample, maintained incrementally
    /// ([`crate::rolling::RollingMedianMad`]); larger values use sorted blocks merged at each
    /// refresh (the previous default was 16).
    pub refresh_samples: usize,
}

impl Default for RobustZConfig {
    fn default() -> Self {
        Self {
            window_samples: 64,
            threshold_sigma: 4.0,
            cold_start_samples: 10,
            min_relative_scale: 1e-3,
            refresh_samples: 1,
        }
    }
}

impl RobustZConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), DetectError> {
        if self.window_samples < 3 {
            return Err(DetectError::config("window_samples", "must be at least 3"));
        }
        if !(self.threshold_sigma.is_finite() && self.threshold_sigma > 0.0) {
            return Err(DetectError::config("threshold_sigma", "must be positive"));
        }
        if !(self.min_relative_scale.is_finite() && self.min_relative_scale >= 0.0) {
            return Err(DetectError::config("min_relative_scale", "must be >= 0"));
        }
        if self.refresh_samples == 0 {
            return Err(DetectError::config("refresh_samples", "must be at least 1"));
        }
        Ok(())
    }
}

/// Robust z-score: distance from the rolling median in units of `1.4826 MAD` of the last
/// `window_samples` values (current value excluded).
///
/// With `refresh_samples = 1` (the default) the baseline is exact at every sample and
/// maintained incrementally by [`crate::rolling::RollingMedianMad`]: a sorted copy of the
/// window updated by one shift per sample, the median read off the middle, the MAD by a walk
/// of a tracked crossing (amortised O(1)). State: 16 bytes per sample of window (about 1 KB
/// with the defaults).
///
/// With `refresh_samples = r > 1` the baseline (median and MAD, exact for the window at that
/// moment) is recomputed every `r` samples and at every sample while the window fills; in
/// between the last one is used, so it lags by at most `r - 1` values. The window is stored in blocks of `refresh_samples` positions, each kept sorted; a
/// refresh sorts only the blocks written since the previous one and merges the sorted blocks
/// (O(window log(window / refresh))), then reads the median and MAD off the merged order in
/// O(log window). Per sample in between: a store and the score. State: 32 bytes per sample of
/// window (about 2 KB with the defaults).
#[derive(Debug, Clone)]
pub struct RobustZ {
    cfg: RobustZConfig,
    ring: Vec<f64>,
    head: usize,
    blocks: Vec<f64>,
    merged: Vec<f64>,
    scratch: Vec<f64>,
    median: f64,
    scale: f64,
    since_refresh: usize,
    seen: usize,
    /// The exact incremental baseline (`refresh_samples == 1`).
    exact: Option<RollingMedianMad>,
}

/// Writes `src` in ascending order into `dst` (same length, finite values). Short blocks use a
/// rank count (each value's position = how many values precede it in order, ties by index):
/// O(len²) comparisons but no unpredictable branches.
fn sort_block(src: &[f64], dst: &mut [f64]) {
    if src.len() > 32 {
        dst.copy_from_slice(src);
        dst.sort_unstable_by(f64::total_cmp);
        return;
    }
    for (i, &x) in src.iter().enumerate() {
        let before = src[..i].iter().filter(|&&y| y <= x).count();
        let after = src[i + 1..].iter().filter(|&&y| y < x).count();
        dst[before + after] = x;
    }
}

/// Merges ascending `a` and `b` into `dst` (`a.len() + b.len()` long) without data-dependent
/// branches in the main loop (a conditional move per element).
fn merge_into(a: &[f64], b: &[f64], dst: &mut [f64]) {
    let (mut i, mut j, mut k) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        let take_b = y < x;
        dst[k] = if take_b { y } else { x };
        j += usize::from(take_b);
        i += usize::from(!take_b);
        k += 1;
    }
    let rest = if i < a.len() { &a[i..] } else { &b[j..] };
    dst[k..].copy_from_slice(rest);
}

/// Merges the ascending runs of length `run` in `src` into `out` (bottom-up merge sort passes).
fn merge_sorted_runs(src: &[f64], run: usize, out: &mut Vec<f64>, tmp: &mut Vec<f64>) {
    let n = src.len();
    out.clear();
    out.extend_from_slice(src);
    tmp.clear();
    tmp.resize(n, 0.0);
    let mut width = run.max(1);
    while width < n {
        let mut lo = 0;
        while lo < n {
            let mid = (lo + width).min(n);
            let hi = (lo + 2 * width).min(n);
            merge_into(&out[lo..mid], &out[mid..hi], &mut tmp[lo..hi]);
            lo = hi;
        }
        std::mem::swap(out, tmp);
        width *= 2;
    }
}

impl RobustZ {
    /// A detector with validated settings.
    pub fn try_new(cfg: RobustZConfig) -> Result<Self, DetectError> {
        cfg.validate()?;
        let w = cfg.window_samples;
        let exact = cfg.refresh_samples == 1;
        let blocked = if exact { 0 } else { w };
        Ok(Self {
            ring: Vec::with_capacity(blocked),
            head: 0,
            blocks: Vec::with_capacity(blocked),
            merged: Vec::with_capacity(blocked),
            scratch: Vec::with_capacity(blocked),
            exact: exact.then(|| RollingMedianMad::new(w)),
            median: f64::NAN,
            scale: f64::NAN,
            since_refresh: 0,
            seen: 0,
            cfg,
        })
    }

    fn refresh(&mut self) {
        let w = self.ring.len();
        if w < self.cfg.window_samples {
            self.merged.clear();
            self.merged.extend_from_slice(&self.ring);
            self.merged.sort_unstable_by(f64::total_cmp);
        } else {
            let r = self.cfg.refresh_samples.min(w);
            if self.blocks.len() != w {
                self.blocks.clear();
                self.blocks.resize(w, 0.0);
                for (src, dst) in self.ring.chunks(r).zip(self.blocks.chunks_mut(r)) {
                    sort_block(src, dst);
                }
            } else {
                // Re-sort the blocks holding the positions written since the last refresh
                // (the `since` positions before `head`, cyclically).
                let mut left = self.since_refresh.min(w);
                let mut p = (self.head + w - left) % w;
                while left > 0 {
                    let lo = p / r * r;
                    let hi = (lo + r).min(w);
                    sort_block(&self.ring[lo..hi], &mut self.blocks[lo..hi]);
                    left = left.saturating_sub(hi - p);
                    p = if hi == w { 0 } else { hi };
                }
            }
            merge_sorted_runs(&self.blocks, r, &mut self.merged, &mut self.scratch);
        }
        let med = median_of_sorted(&self.merged);
        let mad = mad_of_sorted(&self.merged, med);
        self.median = med;
        self.scale = (MAD_TO_SIGMA * mad).max(self.cfg.min_relative_scale * med.abs());
        self.since_refresh = 0;
    }

    /// Bytes of state held per series (struct plus heap).
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + (self.ring.capacity()
                + self.blocks.capacity()
                + self.merged.capacity()
                + self.scratch.capacity())
                * 8
            + self.exact.as_ref().map_or(0, RollingMedianMad::heap_bytes)
    }

    /// Signed robust z of `value` against the current baseline, with the baseline median
    /// (NaN before the first sample).
    pub fn z(&self, value: f64) -> (f64, f64) {
        let d = value - self.median;
        let z = if self.scale > 0.0 {
            d / self.scale
        } else if d != 0.0 && !d.is_nan() {
            f64::INFINITY.copysign(d)
        } else if d.is_nan() {
            f64::NAN
        } else {
            0.0
        };
        (z, self.median)
    }
}

impl OnlineDetector for RobustZ {
    fn update(&mut self, value: f64) -> f64 {
        if !value.is_finite() {
            return 0.0;
        }
        if let Some(win) = &mut self.exact {
            if !win.is_empty() {
                let (med, mad) = win.median_mad();
                self.median = med;
                self.scale = (MAD_TO_SIGMA * mad).max(self.cfg.min_relative_scale * med.abs());
            }
            win.push(value);
            self.seen += 1;
            return if self.seen > self.cfg.cold_start_samples {
                // One division: |value - median| / (scale * threshold). A zero scale gives
                // +inf (score 1) for any change and NaN (score 0) for none, as `z` does.
                score_from_u_fast((value - self.median).abs() / (self.scale * self.cfg.threshold_sigma))
            } else {
                0.0
            };
        }
        let filling = self.ring.len() < self.cfg.window_samples;
        if !self.ring.is_empty() && (filling || self.since_refresh >= self.cfg.refresh_samples) {
            self.refresh();
        }
        let score = if self.seen >= self.cfg.cold_start_samples {
            score_from_z_fast(self.z(value).0, self.cfg.threshold_sigma)
        } else {
            0.0
        };
        if filling {
            self.ring.push(value);
        } else {
            self.ring[self.head] = value;
            self.head += 1;
            if self.head == self.cfg.window_samples {
                self.head = 0;
            }
        }
        self.since_refresh += 1;
        self.seen += 1;
        score
    }
    fn reset(&mut self) {
        if let Some(win) = &mut self.exact {
            win.clear();
        }
        self.ring.clear();
        self.blocks.clear();
        self.head = 0;
        self.median = f64::NAN;
        self.scale = f64::NAN;
        self.since_refresh = 0;
        self.seen = 0;
    }
    fn name(&self) -> &'static str {
        "robust_z"
    }
    /// The window median the last value was scored against.
    fn expected(&self) -> Option<f64> {
        Some(self.median).filter(|m| m.is_finite())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rolling_z_flags_a_spike_after_cold_start_only() {
        let mut d = RollingZ::try_new(RollingZConfig::default()).unwrap();
        for i in 0..9 {
            assert_eq!(d.update(if i == 5 { 40.0 } else { (i % 3) as f64 }), 0.0);
        }
        for i in 0..200 {
            assert!(d.update((i % 3) as f64) < 0.5);
        }
        assert!(d.update(50.0) > 0.99);
        for i in 0..2000 {
            d.update((i % 3) as f64);
        }
        assert!(d.update(4.0) > 0.5, "the old spike has left the window");
        assert_eq!(d.update(f64::NAN), 0.0);
    }

    #[test]
    fn rolling_z_stays_accurate_over_long_streams() {
        let mut d = RollingZ::try_new(RollingZConfig {
            window_samples: 10,
            ..Default::default()
        })
        .unwrap();
        for i in 0..100_000 {
            d.update(1e9 + (i % 2) as f64);
        }
        // window holds 5 zeros and 5 ones around 1e9: mean 0.5, sd 0.5
        assert!((d.z(1e9 + 1.5) - 2.0).abs() < 1e-6, "{}", d.z(1e9 + 1.5));
    }

    #[test]
    fn robust_z_ignores_outliers_in_its_window() {
        let mut d = RobustZ::try_new(RobustZConfig {
            refresh_samples: 1,
            ..Default::default()
        })
        .unwrap();
        for i in 0..64 {
            d.update(if i % 10 == 0 {
                1000.0
            } else {
                10.0 + (i % 3) as f64
            });
        }
        d.update(11.0);
        let (z, med) = d.z(11.0);
        assert_eq!(med, 11.0);
        assert_eq!(z, 0.0);
        assert!(d.update(30.0) > 0.99);
    }

    #[test]
    fn robust_z_baseline_is_the_exact_window_median_and_mad() {
        let w = 33;
        let mut d = RobustZ::try_new(RobustZConfig {
            window_samples: w,
            refresh_samples: 1,
            ..Default::default()
        })
        .unwrap();
        let mut s = 5u64;
        let mut all = Vec::new();
        for _ in 0..500 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = ((s >> 33) % 1000) as f64 / 3.0;
            d.update(v);
            all.push(v);
            let tail = &all[all.len().saturating_sub(w)..];
            let (m, mad) = crate::stats::median_mad(tail).unwrap();
            // The baseline is computed when the next value arrives.
            let mut p2 = d.clone();
            p2.update(0.0);
            assert_eq!(p2.median, m);
            assert!((p2.scale - (MAD_TO_SIGMA * mad).max(1e-3 * m.abs())).abs() < 1e-9);
        }
    }

    #[test]
    fn robust_z_blocks_match_a_direct_recomputation() {
        for (w, r) in [
            (64usize, 16usize),
            (50, 16),
            (10, 3),
            (7, 7),
            (5, 9),
            (64, 1),
            (33, 1),
            (200, 1),
        ] {
            let cfg = RobustZConfig {
                window_samples: w,
                refresh_samples: r,
                ..Default::default()
            };
            let mut d = RobustZ::try_new(cfg.clone()).unwrap();
            // Reference: the last `w` values, median/MAD by selection on the same schedule.
            let (mut all, mut since, mut med, mut scale) = (Vec::new(), 0usize, f64::NAN, f64::NAN);
            let mut s = 11u64 + w as u64;
            for i in 0..700 {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let v = ((s >> 33) % 500) as f64 / 7.0 + if i % 97 == 0 { 300.0 } else { 0.0 };
                if !all.is_empty() && (all.len() < w || since >= r) {
                    let tail = &all[all.len().saturating_sub(w)..];
                    let (m, mad) = crate::stats::median_mad(tail).unwrap();
                    med = m;
                    scale = (MAD_TO_SIGMA * mad).max(cfg.min_relative_scale * m.abs());
                    since = 0;
                }
                let got = d.update(v);
                if i > 0 {
                    assert_eq!((d.median, d.scale), (med, scale), "w {w} r {r} i {i}");
                }
                let want = if i >= cfg.cold_start_samples {
                    score_from_z_fast((v - med) / scale, cfg.threshold_sigma)
                } else {
                    0.0
                };
                assert_eq!(got, want, "w {w} r {r} i {i}");
                all.push(v);
                since += 1;
            }
        }
    }

    #[test]
    fn robust_z_on_flat_series_flags_any_change() {
        let mut d = RobustZ::try_new(RobustZConfig::default()).unwrap();
        for _ in 0..50 {
            assert_eq!(d.update(0.0), 0.0);
        }
        assert_eq!(d.update(1.0), 1.0);
        d.reset();
        assert_eq!(d.update(5.0), 0.0);
    }

    #[test]
    fn bad_configs_are_rejected() {
        assert!(RobustZ::try_new(RobustZConfig {
            window_samples: 1,
            ..Default::default()
        })
        .is_err());
        assert!(RollingZ::try_new(RollingZConfig {
            threshold_sigma: f64::NAN,
            ..Default::default()
        })
        .is_err());
    }
}

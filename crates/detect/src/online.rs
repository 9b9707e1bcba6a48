//! Online detectors: one point at a time, bounded state, causal.

use serde::{Deserialize, Serialize};

use crate::stats::{score_from_z, SortedWindow, MAD_TO_SIGMA};
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
            score_from_z(self.z(value), self.cfg.threshold_sigma)
        } else {
            0.0
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
    }
    fn name(&self) -> &'static str {
        "rolling_z"
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
    /// The MAD (scale) is recomputed every this many samples (1 = every sample); in between,
    /// the last scale is used. The median is exact at every sample.
    pub refresh_samples: usize,
}

impl Default for RobustZConfig {
    fn default() -> Self {
        Self {
            window_samples: 64,
            threshold_sigma: 4.0,
            cold_start_samples: 10,
            min_relative_scale: 1e-3,
            refresh_samples: 16,
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
/// `window_samples` values (current value excluded). The window is kept sorted
/// ([`SortedWindow`]: one `memmove` per sample), so the median is exact at every sample and the
/// MAD costs O(log window) (a selection over the two sorted halves); the MAD is recomputed every
/// `refresh_samples` (every sample while the window fills). State: the window in arrival and in
/// sorted order, 16 bytes per sample.
#[derive(Debug, Clone)]
pub struct RobustZ {
    cfg: RobustZConfig,
    window: SortedWindow,
    median: f64,
    scale: f64,
    since_refresh: usize,
    seen: usize,
}

impl RobustZ {
    /// A detector with validated settings.
    pub fn try_new(cfg: RobustZConfig) -> Result<Self, DetectError> {
        cfg.validate()?;
        Ok(Self {
            window: SortedWindow::new(cfg.window_samples),
            median: f64::NAN,
            scale: f64::NAN,
            since_refresh: 0,
            seen: 0,
            cfg,
        })
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
        if !self.window.is_empty() {
            self.median = self.window.median();
            let filling = self.window.len() < self.cfg.window_samples;
            if filling || self.since_refresh >= self.cfg.refresh_samples {
                let mad = self.window.mad(self.median);
                self.scale = (MAD_TO_SIGMA * mad).max(self.cfg.min_relative_scale * self.median.abs());
                self.since_refresh = 0;
            }
        }
        let score = if self.seen >= self.cfg.cold_start_samples {
            score_from_z(self.z(value).0, self.cfg.threshold_sigma)
        } else {
            0.0
        };
        self.window.push(value);
        self.since_refresh += 1;
        self.seen += 1;
        score
    }
    fn reset(&mut self) {
        self.window.clear();
        self.median = f64::NAN;
        self.scale = f64::NAN;
        self.since_refresh = 0;
        self.seen = 0;
    }
    fn name(&self) -> &'static str {
        "robust_z"
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

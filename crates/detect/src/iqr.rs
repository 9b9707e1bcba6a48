//! Tukey's fences over a rolling window (Tukey 1977, *Exploratory Data Analysis*): a value
//! beyond `Q1 - k IQR` or `Q3 + k IQR` of the last `window_samples` values is an outlier
//! (`k = 1.5` "outside", `k = 3` "far out"). Quartiles are type-7 quantiles (linear between
//! order statistics) of the exact rolling window, maintained incrementally
//! ([`crate::rolling::RollingMedianMad`]).
//!
//! Score: the distance beyond the nearer quartile in IQRs, `u = max(x - Q3, Q1 - x, 0) / IQR`,
//! mapped by `1 - 2^-(u / k)²`: 0.5 exactly on the fence.

use serde::{Deserialize, Serialize};

use crate::online::OnlineDetector;
use crate::rolling::RollingMedianMad;
use crate::stats::score_from_z_fast;
use crate::DetectError;

/// Settings of [`IqrFence`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IqrConfig {
    /// Samples in the rolling window (at least 4).
    pub window_samples: usize,
    /// Fence multiplier `k` (positive): the fence scores 0.5.
    pub fence_k: f64,
    /// Samples seen before any non-zero score.
    pub cold_start_samples: usize,
    /// Smallest IQR, relative to `|median|`, so that flat windows do not divide by zero.
    pub min_relative_iqr: f64,
}

impl Default for IqrConfig {
    /// Window 100, Tukey's "far out" fence `k = 3`, cold start 10.
    fn default() -> Self {
        Self {
            window_samples: 100,
            fence_k: 3.0,
            cold_start_samples: 10,
            min_relative_iqr: 1e-3,
        }
    }
}

impl IqrConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), DetectError> {
        if self.window_samples < 4 {
            return Err(DetectError::config("window_samples", "must be at least 4"));
        }
        if !(self.fence_k.is_finite() && self.fence_k > 0.0) {
            return Err(DetectError::config("fence_k", "must be positive"));
        }
        if !(self.min_relative_iqr.is_finite() && self.min_relative_iqr >= 0.0) {
            return Err(DetectError::config("min_relative_iqr", "must be >= 0"));
        }
        Ok(())
    }
}

/// Rolling IQR-fence detector (see the module docs). State: 16 bytes per sample of window.
///
/// ```
/// use faultline_detect::{IqrConfig, IqrFence, OnlineDetector};
/// let mut d = IqrFence::try_new(IqrConfig::default()).unwrap();
/// for i in 0..200 {
///     assert!(d.update(10.0 + (i % 4) as f64) < 0.5);
/// }
/// let (q1, q3) = d.quartiles();
/// assert!(d.update(q3 + 3.0 * (q3 - q1) + 1.0) > 0.5); // beyond the far-out fence
/// ```
#[derive(Debug, Clone)]
pub struct IqrFence {
    cfg: IqrConfig,
    window: RollingMedianMad,
    seen: usize,
    /// Window median the last value was compared with (NaN before the first).
    expected: f64,
}

impl IqrFence {
    /// A detector with validated settings.
    pub fn try_new(cfg: IqrConfig) -> Result<Self, DetectError> {
        cfg.validate()?;
        Ok(Self {
            window: RollingMedianMad::new(cfg.window_samples),
            cfg,
            seen: 0,
            expected: f64::NAN,
        })
    }

    /// First and third quartiles of the current window (NaN when empty).
    pub fn quartiles(&self) -> (f64, f64) {
        (self.window.quantile(0.25), self.window.quantile(0.75))
    }
}

impl OnlineDetector for IqrFence {
    fn update(&mut self, value: f64) -> f64 {
        if !value.is_finite() {
            return 0.0;
        }
        let score = if self.seen >= self.cfg.cold_start_samples && !self.window.is_empty() {
            let (q1, q3) = self.quartiles();
            let floor = self.cfg.min_relative_iqr * self.window.median().abs();
            let iqr = (q3 - q1).max(floor);
            let d = (value - q3).max(q1 - value).max(0.0);
            let u = if iqr > 0.0 {
                d / iqr
            } else if d > 0.0 {
                f64::INFINITY
            } else {
                0.0
            };
            score_from_z_fast(u, self.cfg.fence_k)
        } else {
            0.0
        };
        self.expected = self.window.median();
        self.window.push(value);
        self.seen += 1;
        score
    }
    fn reset(&mut self) {
        self.window.clear();
        self.seen = 0;
        self.expected = f64::NAN;
    }
    /// The window median the last value was compared with.
    fn expected(&self) -> Option<f64> {
        Some(self.expected).filter(|e| e.is_finite())
    }
    fn name(&self) -> &'static str {
        "iqr_fence"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fence_scores_one_half_and_flat_windows_flag_any_change() {
        let mut d = IqrFence::try_new(IqrConfig {
            window_samples: 5,
            fence_k: 1.5,
            cold_start_samples: 0,
            ..Default::default()
        })
        .unwrap();
        for v in [1.0, 2.0, 3.0, 4.0, 5.0] {
            d.update(v);
        }
        // Q1 = 2, Q3 = 4, IQR = 2: upper fence 7, lower fence -1.
        assert!((d.clone().update(7.0) - 0.5).abs() < 1e-12);
        assert!((d.clone().update(-1.0) - 0.5).abs() < 1e-12);
        assert_eq!(d.clone().update(3.5), 0.0);
        let mut flat = IqrFence::try_new(IqrConfig::default()).unwrap();
        for _ in 0..50 {
            assert_eq!(flat.update(0.0), 0.0);
        }
        assert_eq!(flat.update(1.0), 1.0);
        assert_eq!(flat.update(f64::NAN), 0.0);
    }
}

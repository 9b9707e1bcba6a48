//! Seasonal online detector: robust (Huberised) additive Holt-Winters without trend, with the
//! one-step residuals scored by a rolling robust z.
//!
//! Per sample, with `p = t mod period`:
//! 1. forecast `f = level + season[p]`, residual `r = x - f`;
//! 2. score `r` against the exact rolling median and `1.4826 MAD` of the last
//!    `residual_window_samples` residuals ([`crate::RobustZ`] on residuals);
//! 3. clean the observation before learning from it, `x* = f + clip(r - m_r, ±huber_k σ_r) + m_r`
//!    (Huber's ψ; Gelper, Fried and Croux 2010, "Robust forecasting with exponential and
//!    Holt-Winters smoothing", J. Forecasting 29), so an outlier moves the baseline by at most
//!    `huber_k` spreads;
//! 4. `level ← α (x* - season[p]) + (1 - α) level`, `season[p] ← γ (x* - level) + (1 - γ) season[p]`.
//!
//! Initialisation: the first period is stored as the seasonal profile minus its mean (the
//! level); scores are 0 until one period plus `cold_start_samples` residuals have been seen.
//! Cost O(1) + the rolling median/MAD of the residuals per sample; state `8 period + 16 ×
//! residual_window_samples` bytes (≈ 3.3 KB for period 288 and the defaults).

use serde::{Deserialize, Serialize};

use crate::online::OnlineDetector;
use crate::rolling::RollingMedianMad;
use crate::stats::{score_from_z_fast, MAD_TO_SIGMA};
use crate::DetectError;

/// Settings of [`SeasonalZ`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeasonalZConfig {
    /// Season length in samples (at least 2); see [`crate::seasonal::detect_period`].
    pub period_samples: usize,
    /// Level smoothing `α` in (0, 1].
    pub level_alpha: f64,
    /// Seasonal smoothing `γ` in (0, 1].
    pub season_gamma: f64,
    /// Residuals forming the robust scale (at least 3).
    pub residual_window_samples: usize,
    /// Deviation (robust standard units) that scores 0.5.
    pub threshold_sigma: f64,
    /// Huber clipping of the residual before learning, in robust standard units (positive).
    pub huber_k: f64,
    /// Residuals seen before any non-zero score.
    pub cold_start_samples: usize,
}

impl Default for SeasonalZConfig {
    fn default() -> Self {
        Self {
            period_samples: 288,
            level_alpha: 0.05,
            season_gamma: 0.2,
            residual_window_samples: 64,
            threshold_sigma: 4.0,
            huber_k: 2.0,
            cold_start_samples: 10,
        }
    }
}

impl SeasonalZConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), DetectError> {
        if self.period_samples < 2 {
            return Err(DetectError::config("period_samples", "must be at least 2"));
        }
        for (field, v) in [
            ("level_alpha", self.level_alpha),
            ("season_gamma", self.season_gamma),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(DetectError::config(field, format!("must be in (0, 1], got {v}")));
            }
        }
        if self.residual_window_samples < 3 {
            return Err(DetectError::config(
                "residual_window_samples",
                "must be at least 3",
            ));
        }
        if !(self.threshold_sigma.is_finite() && self.threshold_sigma > 0.0) {
            return Err(DetectError::config("threshold_sigma", "must be positive"));
        }
        if !(self.huber_k.is_finite() && self.huber_k > 0.0) {
            return Err(DetectError::config("huber_k", "must be positive"));
        }
        Ok(())
    }
}

/// Robust seasonal detector (see the module docs).
///
/// ```
/// use faultline_detect::{OnlineDetector, SeasonalZ, SeasonalZConfig};
/// let mut d = SeasonalZ::try_new(SeasonalZConfig { period_samples: 24, ..Default::default() }).unwrap();
/// let daily = |i: usize| 100.0 + 30.0 * ((i % 24) as f64 / 24.0 * std::f64::consts::TAU).sin() + (i % 5) as f64;
/// for i in 0..24 * 20 {
///     let s = d.update(daily(i));
///     assert!(i < 24 * 5 || s < 0.5, "after a few days the daily cycle is not anomalous");
/// }
/// // A value normal at another hour but not at this one.
/// assert!(d.update(daily(24 * 20) + 40.0) > 0.9);
/// ```
#[derive(Debug, Clone)]
pub struct SeasonalZ {
    cfg: SeasonalZConfig,
    season: Vec<f64>,
    level: f64,
    phase: usize,
    residuals: RollingMedianMad,
    seen: usize,
    /// Forecast plus residual median the last value was scored against (NaN in the first
    /// season).
    expected: f64,
}

impl SeasonalZ {
    /// A detector with validated settings.
    pub fn try_new(cfg: SeasonalZConfig) -> Result<Self, DetectError> {
        cfg.validate()?;
        Ok(Self {
            season: Vec::with_capacity(cfg.period_samples),
            level: 0.0,
            phase: 0,
            residuals: RollingMedianMad::new(cfg.residual_window_samples),
            seen: 0,
            expected: f64::NAN,
            cfg,
        })
    }

    /// Forecast of the next value (NaN during the first period).
    pub fn forecast(&self) -> f64 {
        if self.season.len() < self.cfg.period_samples {
            f64::NAN
        } else {
            self.level + self.season[self.phase]
        }
    }

    /// Bytes of state held per series (struct plus heap).
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.season.capacity() * 8 + self.residuals.heap_bytes()
    }
}

impl OnlineDetector for SeasonalZ {
    fn update(&mut self, value: f64) -> f64 {
        if !value.is_finite() {
            return 0.0;
        }
        let p = self.cfg.period_samples;
        if self.season.len() < p {
            self.season.push(value);
            if self.season.len() == p {
                self.level = self.season.iter().sum::<f64>() / p as f64;
                let level = self.level;
                self.season.iter_mut().for_each(|s| *s -= level);
            }
            self.phase = self.season.len() % p;
            return 0.0;
        }
        let f = self.level + self.season[self.phase];
        let r = value - f;
        let (score, cleaned) = if self.residuals.is_empty() {
            self.expected = f;
            (0.0, value)
        } else {
            let (m, mad) = self.residuals.median_mad();
            self.expected = f + m;
            let sigma = MAD_TO_SIGMA * mad;
            let scale = sigma.max(1e-9 * f.abs()).max(f64::MIN_POSITIVE);
            let z = (r - m) / scale;
            let score = if self.seen >= self.cfg.cold_start_samples {
                score_from_z_fast(z, self.cfg.threshold_sigma)
            } else {
                0.0
            };
            let k = self.cfg.huber_k * scale;
            (score, f + m + (r - m).clamp(-k, k))
        };
        self.residuals.push(r);
        self.seen += 1;
        let s = &mut self.season[self.phase];
        self.level += self.cfg.level_alpha * (cleaned - *s - self.level);
        *s += self.cfg.season_gamma * (cleaned - self.level - *s);
        self.phase += 1;
        if self.phase == p {
            self.phase = 0;
        }
        score
    }

    fn reset(&mut self) {
        self.season.clear();
        self.level = 0.0;
        self.phase = 0;
        self.residuals.clear();
        self.seen = 0;
        self.expected = f64::NAN;
    }

    /// The seasonal forecast (level + season + residual median) the last value was scored
    /// against; `None` during the first season.
    fn expected(&self) -> Option<f64> {
        Some(self.expected).filter(|e| e.is_finite())
    }

    fn name(&self) -> &'static str {
        "seasonal_z"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn noise(s: &mut u64) -> f64 {
        *s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }

    #[test]
    fn flags_an_off_season_value_that_a_plain_robust_z_misses() {
        let p = 48;
        let cfg = SeasonalZConfig {
            period_samples: p,
            ..Default::default()
        };
        let mut d = SeasonalZ::try_new(cfg).unwrap();
        let mut rz = crate::RobustZ::try_new(crate::RobustZConfig::default()).unwrap();
        let mut s = 7u64;
        let x = |i: usize, s: &mut u64| {
            50.0 + 20.0 * ((i % p) as f64 / p as f64 * std::f64::consts::TAU).sin() + noise(s)
        };
        let mut max_normal: f64 = 0.0;
        for i in 0..p * 30 {
            let v = x(i, &mut s);
            let sc = d.update(v);
            rz.update(v);
            if i > p * 3 {
                max_normal = max_normal.max(sc);
            }
        }
        assert!(max_normal < 0.5, "{max_normal}");
        // The trough of the cycle, lifted to the daily mean: ordinary overall, off for the hour.
        let mut i = p * 30;
        while i % p != p * 3 / 4 {
            let v = x(i, &mut s);
            d.update(v);
            rz.update(v);
            i += 1;
        }
        let v = x(i, &mut s) + 20.0;
        assert!(d.update(v) > 0.99);
        assert!(rz.update(v) < 0.5);
    }

    #[test]
    fn an_outlier_barely_moves_the_baseline() {
        let mut d = SeasonalZ::try_new(SeasonalZConfig {
            period_samples: 10,
            ..Default::default()
        })
        .unwrap();
        let mut s = 3u64;
        for i in 0..500 {
            d.update((i % 10) as f64 + noise(&mut s));
        }
        let before = d.forecast();
        d.update(1e6);
        for i in 501..510 {
            d.update((i % 10) as f64 + noise(&mut s));
        }
        assert!(
            (d.forecast() - before).abs() < 1.0,
            "{} vs {before}",
            d.forecast()
        );
        assert!(d.state_bytes() < 2048, "{}", d.state_bytes());
    }

    #[test]
    fn nan_constant_and_bad_config() {
        let mut d = SeasonalZ::try_new(SeasonalZConfig {
            period_samples: 4,
            ..Default::default()
        })
        .unwrap();
        for _ in 0..100 {
            assert_eq!(d.update(5.0), 0.0);
        }
        assert_eq!(d.update(f64::NAN), 0.0);
        assert!(d.update(6.0) > 0.99);
        d.reset();
        assert!(d.forecast().is_nan());
        assert!(SeasonalZ::try_new(SeasonalZConfig {
            period_samples: 1,
            ..Default::default()
        })
        .is_err());
    }
}

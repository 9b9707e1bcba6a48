//! Causal streaming scores for `faultline detect`: multi-resolution robust deviations
//! post-processed into an anomaly likelihood.
//!
//! Pipeline per sample (all state bounded by the configured windows):
//! 1. **Multi-resolution robust deviation.** For each resolution `s` (samples), the mean of the
//!    last `s` values is compared with the median of the past `baseline_samples` such means, in
//!    units of their robust spread (`1.4826 MAD`). Averaging over `s` samples makes sustained
//!    shifts stand out while single noisy points are scored at resolution 1 only; each
//!    resolution has its own spread, so autocorrelated series are not over-scored.
//! 2. **Anomaly likelihood** (Ahmad, Lavin, Purdy and Agha, "Unsupervised real-time anomaly
//!    detection for streaming data", Neurocomputing 262, 2017, §4): the raw score (largest
//!    deviation over resolutions, log-compressed) is averaged over a short window and compared
//!    with the mean and standard deviation of the raw score over a long window. What counts is
//!    how unusual the raw score is *for this series*, so one configuration serves noisy and
//!    quiet series alike.
//! 3. **Rest period.** After the score crosses `alarm_score`, the following `rest_samples`
//!    scores are damped, so one episode raises one alarm (NAB and on-call humans both charge
//!    for repeats).
//!
//! The score of sample `i` depends only on samples `..=i`. Non-finite values score 0 and do
//! not change the state.

use serde::{Deserialize, Serialize};

use crate::stats::{SortedWindow, MAD_TO_SIGMA};
use crate::DetectError;
use faultline_core::Timestamp;

/// Settings of [`score_stream`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamConfig {
    /// Window lengths (samples) over which the current level is averaged.
    pub resolutions_samples: Vec<usize>,
    /// Past values (per resolution) forming the baseline median and spread.
    pub baseline_samples: usize,
    /// Samples before any non-zero score.
    pub warmup_samples: usize,
    /// Short averaging window of the raw score (likelihood numerator).
    pub likelihood_short_samples: usize,
    /// Long window of the raw score's mean and standard deviation.
    pub likelihood_long_samples: usize,
    /// Score at which an alarm is considered raised (starts the rest period).
    pub alarm_score: f64,
    /// Samples after an alarm during which scores are damped.
    pub rest_samples: usize,
    /// Multiplier applied to scores during the rest period.
    pub rest_damping: f64,
    /// Post-process the raw deviation into an anomaly likelihood (otherwise the raw deviation
    /// is mapped to [0, 1] directly).
    pub likelihood: bool,
    /// Deviation (robust units) that maps to 0.5 when `likelihood` is off; scale of the
    /// likelihood's squashing otherwise.
    pub squash_scale: f64,
    /// Rest period relative to the recent maximum: a score is damped unless it exceeds every
    /// undamped score of the last `rest_samples` samples (independent of any threshold).
    pub rest_recent_max: bool,
    /// Factor by which a level must exceed the recent maximum to escape damping.
    pub rest_margin: f64,
    /// Let the recent maximum decay exponentially (time constant `rest_samples`) instead of
    /// forgetting it after `rest_samples`.
    pub rest_decay: bool,
    /// Normalise the deviation by its recent maximum like the novelty ratio.
    pub deviation_normalised: bool,
    /// How the deviation and novelty ratios combine: 0 max, 1 mean, 2 geometric mean.
    pub combine_mode: u8,
    /// Weight of the range-excess channel (distance beyond the historical min/max as a
    /// fraction of the historical range); 0 disables it.
    pub range_weight: f64,
    /// Samples of history defining the range.
    pub range_history_samples: usize,
    /// Length of the subsequence compared with earlier ones (0 disables novelty).
    pub novelty_window_samples: usize,
    /// Scales of the novelty search: each compares windows of `stride`-sample means.
    pub novelty_strides_samples: Vec<usize>,
    /// How many earlier samples the novelty search looks back.
    pub novelty_history_samples: usize,
    /// Nearest neighbours averaged.
    pub novelty_k: usize,
    /// Recent nearest-neighbour distances that define "typical".
    pub novelty_calibration_samples: usize,
    /// Quantile of recent nearest-neighbour distances taken as "typical".
    pub novelty_quantile: f64,
    /// Caps the normaliser at this multiple of the 0.9 quantile (0 = no cap).
    pub normaliser_cap_mult: f64,
    /// Weight of the robust-deviation score against the novelty ratio.
    pub deviation_weight: f64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            resolutions_samples: vec![4, 16],
            baseline_samples: 400,
            warmup_samples: 30,
            likelihood_short_samples: 8,
            likelihood_long_samples: 2000,
            alarm_score: 0.5,
            rest_samples: 100,
            rest_damping: 0.05,
            likelihood: false,
            squash_scale: 8.0,
            rest_recent_max: true,
            rest_margin: 1.5,
            rest_decay: false,
            deviation_normalised: true,
            combine_mode: 0,
            range_weight: 5.0,
            range_history_samples: 2000,
            novelty_window_samples: 10,
            novelty_strides_samples: vec![1],
            novelty_history_samples: 2000,
            novelty_k: 3,
            novelty_calibration_samples: 2000,
            novelty_quantile: 1.0,
            normaliser_cap_mult: 0.0,
            deviation_weight: 1.0,
        }
    }
}

impl StreamConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), DetectError> {
        if self.resolutions_samples.contains(&0) || self.novelty_strides_samples.contains(&0) {
            return Err(DetectError::config(
                "resolutions_samples",
                "must be non-empty and positive",
            ));
        }
        if self.baseline_samples < 8 {
            return Err(DetectError::config("baseline_samples", "must be at least 8"));
        }
        if self.likelihood_short_samples == 0 || self.likelihood_long_samples < 2 {
            return Err(DetectError::config(
                "likelihood_long_samples",
                "windows must be positive",
            ));
        }
        if !(0.0..=1.0).contains(&self.rest_damping) {
            return Err(DetectError::config("rest_damping", "must be in [0, 1]"));
        }
        if !(0.0..=1.0).contains(&self.alarm_score) {
            return Err(DetectError::config("alarm_score", "must be in [0, 1]"));
        }
        Ok(())
    }
}

/// One resolution's state: the last `s` values' running sum and the baseline of past means.
#[derive(Debug, Clone)]
struct Resolution {
    s: usize,
    recent: Vec<f64>,
    head: usize,
    sum: f64,
    baseline: SortedWindow,
}

impl Resolution {
    fn new(s: usize, baseline: usize) -> Self {
        Self {
            s,
            recent: Vec::with_capacity(s),
            head: 0,
            sum: 0.0,
            baseline: SortedWindow::new(baseline),
        }
    }

    /// Pushes `v`; returns the deviation of the new `s`-mean from the baseline (robust units)
    /// and then adds that mean to the baseline.
    fn update(&mut self, v: f64) -> f64 {
        if self.recent.len() < self.s {
            self.recent.push(v);
            self.sum += v;
        } else {
            let old = std::mem::replace(&mut self.recent[self.head], v);
            self.head = (self.head + 1) % self.s;
            self.sum += v - old;
            if self.head == 0 {
                self.sum = self.recent.iter().sum();
            }
        }
        if self.recent.len() < self.s {
            return 0.0;
        }
        let mean = self.sum / self.s as f64;
        let z = if self.baseline.len() >= 8 {
            let med = self.baseline.median();
            let spread = MAD_TO_SIGMA * self.baseline.mad(med);
            // Floor: a tiny fraction of the level and of the baseline's full range, so flat
            // baselines give large but finite deviations.
            let range = self.baseline.quantile(1.0) - self.baseline.quantile(0.0);
            let floor = 1e-3 * range.max(1e-6 * med.abs()).max(1e-12);
            (mean - med).abs() / spread.max(floor)
        } else {
            0.0
        };
        self.baseline.push(mean);
        z
    }
}

/// Rolling mean and variance of the raw score over a long window.
#[derive(Debug, Clone)]
struct RollingMoments {
    ring: Vec<f64>,
    head: usize,
    cap: usize,
    sum: f64,
    sum_sq: f64,
}

impl RollingMoments {
    fn new(cap: usize) -> Self {
        Self {
            ring: Vec::with_capacity(cap),
            head: 0,
            cap,
            sum: 0.0,
            sum_sq: 0.0,
        }
    }
    fn push(&mut self, v: f64) {
        if self.ring.len() < self.cap {
            self.ring.push(v);
        } else {
            let old = std::mem::replace(&mut self.ring[self.head], v);
            self.head = (self.head + 1) % self.cap;
            self.sum -= old;
            self.sum_sq -= old * old;
            if self.head == 0 {
                self.sum = self.ring.iter().sum();
                self.sum_sq = self.ring.iter().map(|x| x * x).sum();
                self.sum -= v;
                self.sum_sq -= v * v;
            }
        }
        self.sum += v;
        self.sum_sq += v * v;
    }
    fn mean_sd(&self) -> (f64, f64) {
        let n = self.ring.len().max(1) as f64;
        let m = self.sum / n;
        (m, (self.sum_sq / n - m * m).max(0.0).sqrt())
    }
    fn len(&self) -> usize {
        self.ring.len()
    }
}

/// The streaming detector behind [`score_stream`], one instance per series.
#[derive(Debug, Clone)]
pub struct StreamDetector {
    cfg: StreamConfig,
    res: Vec<Resolution>,
    raw_long: RollingMoments,
    raw_short: Vec<f64>,
    short_head: usize,
    seen: usize,
    rest_left: usize,
    recent: std::collections::VecDeque<f64>,
    novelty: Vec<crate::novelty::Novelty>,
    bar: f64,
    past_dev: SortedWindow,
    range: SortedWindow,
}

impl StreamDetector {
    /// A detector with validated settings.
    pub fn try_new(cfg: StreamConfig) -> Result<Self, DetectError> {
        cfg.validate()?;
        Ok(Self::new_unchecked(cfg))
    }

    fn new_unchecked(cfg: StreamConfig) -> Self {
        Self {
            res: cfg
                .resolutions_samples
                .iter()
                .map(|&s| Resolution::new(s, cfg.baseline_samples))
                .collect(),
            raw_long: RollingMoments::new(cfg.likelihood_long_samples.max(2)),
            raw_short: Vec::with_capacity(cfg.likelihood_short_samples.max(1)),
            short_head: 0,
            seen: 0,
            rest_left: 0,
            recent: std::collections::VecDeque::with_capacity(cfg.rest_samples + 1),
            bar: 0.0,
            range: SortedWindow::new(cfg.range_history_samples.max(8)),
            past_dev: SortedWindow::new(cfg.novelty_calibration_samples.max(8)),
            novelty: if cfg.novelty_window_samples > 0 {
                cfg.novelty_strides_samples
                    .iter()
                    .map(|&stride| {
                        crate::novelty::Novelty::new(
                            cfg.novelty_window_samples,
                            stride,
                            cfg.novelty_history_samples,
                            cfg.novelty_k,
                            cfg.novelty_calibration_samples,
                            cfg.novelty_quantile,
                            cfg.normaliser_cap_mult,
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            },
            cfg,
        }
    }

    /// Scores one value (timestamps are not used yet: samples are assumed equally spaced).
    pub fn update(&mut self, value: f64) -> f64 {
        if !value.is_finite() {
            return 0.0;
        }
        let mut z = 0.0f64;
        for r in &mut self.res {
            z = z.max(r.update(value));
        }
        let z = if self.cfg.deviation_normalised {
            let r = if self.past_dev.len() >= 8 {
                let m = self
                    .past_dev
                    .normaliser(self.cfg.novelty_quantile, self.cfg.normaliser_cap_mult);
                if m > 0.0 {
                    z / m
                } else {
                    0.0
                }
            } else {
                0.0
            };
            self.past_dev.push(z);
            r * self.cfg.deviation_weight
        } else {
            z * self.cfg.deviation_weight
        };
        let mut nz = 0.0f64;
        for nv in &mut self.novelty {
            nz = nz.max(nv.update(value));
        }
        let mut rz = 0.0;
        if self.cfg.range_weight > 0.0 {
            if self.range.len() >= 8 {
                let (lo, hi) = (self.range.quantile(0.0), self.range.quantile(1.0));
                let width = (hi - lo).max(1e-9 * hi.abs().max(lo.abs())).max(1e-300);
                let excess = (value - hi).max(lo - value).max(0.0);
                rz = self.cfg.range_weight * excess / width;
            }
            self.range.push(value);
        }
        let z = match self.cfg.combine_mode {
            1 => 0.5 * (z + nz),
            2 => (z * nz).sqrt(),
            _ => z.max(nz),
        }
        .max(rz);
        let raw = z.ln_1p();
        self.seen += 1;
        // Short mean of the raw score, including the current one.
        let cap = self.cfg.likelihood_short_samples.max(1);
        if self.raw_short.len() < cap {
            self.raw_short.push(raw);
        } else {
            self.raw_short[self.short_head] = raw;
            self.short_head = (self.short_head + 1) % cap;
        }
        let short = self.raw_short.iter().sum::<f64>() / self.raw_short.len() as f64;
        // `level` >= 0: how anomalous, before squashing into [0, 1].
        let level = if self.seen <= self.cfg.warmup_samples {
            0.0
        } else if !self.cfg.likelihood {
            z
        } else if self.raw_long.len() >= 8 {
            let (m, sd) = self.raw_long.mean_sd();
            ((short - m) / sd.max(0.05)).max(0.0)
        } else {
            0.0
        };
        self.raw_long.push(raw);
        let level = if level.is_finite() { level } else { 1e12 };
        let score = level / (level + self.cfg.squash_scale);
        if self.cfg.rest_recent_max {
            let prev = if self.cfg.rest_decay {
                let p = self.bar;
                let decay = (-1.0 / self.cfg.rest_samples.max(1) as f64).exp();
                self.bar = (self.bar * decay).max(level);
                p
            } else {
                self.recent.iter().copied().fold(0.0, f64::max)
            };
            if self.recent.len() == self.cfg.rest_samples {
                self.recent.pop_front();
            }
            if self.cfg.rest_samples > 0 {
                self.recent.push_back(level);
            }
            let out = if level > prev * self.cfg.rest_margin {
                score
            } else {
                score * self.cfg.rest_damping
            };
            return if out.is_finite() { out.clamp(0.0, 1.0) } else { 0.0 };
        }
        let out = if self.rest_left > 0 {
            self.rest_left -= 1;
            score * self.cfg.rest_damping
        } else {
            score
        };
        if out >= self.cfg.alarm_score {
            self.rest_left = self.cfg.rest_samples;
        }
        if out.is_finite() {
            out.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// Causal anomaly scores for a stream: one score in [0, 1] per value; score `i` depends only on
/// `values[..=i]` (and `timestamps[..=i]`). Never NaN: non-finite values score 0. An invalid
/// `cfg` falls back to [`StreamConfig::default`] (validate it beforehand to get the error).
/// If the two slices differ in length, the extra values are scored as if equally spaced.
///
/// ```
/// use faultline_detect::{score_stream, StreamConfig};
/// use faultline_core::Timestamp;
/// let values: Vec<f64> = (0..600).map(|i| if i == 500 { 60.0 } else { 10.0 + (i % 7) as f64 }).collect();
/// let ts: Vec<Timestamp> = (0..600).map(|i| Timestamp::from_secs(i * 60)).collect();
/// let scores = score_stream(&ts, &values, &StreamConfig::default());
/// assert_eq!(scores.len(), 600);
/// assert!(scores[500] > scores[499]);
/// ```
pub fn score_stream(timestamps: &[Timestamp], values: &[f64], cfg: &StreamConfig) -> Vec<f64> {
    let _ = timestamps;
    let cfg = if cfg.validate().is_ok() {
        cfg.clone()
    } else {
        StreamConfig::default()
    };
    let mut d = StreamDetector::new_unchecked(cfg);
    values.iter().map(|&v| d.update(v)).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_bounded_and_causal() {
        let values: Vec<f64> = (0..2000)
            .map(|i| ((i * 7919) % 101) as f64 + if (1200..1300).contains(&i) { 80.0 } else { 0.0 })
            .collect();
        let ts: Vec<Timestamp> = (0..2000).map(|i| Timestamp::from_secs(i * 60)).collect();
        let cfg = StreamConfig::default();
        let full = score_stream(&ts, &values, &cfg);
        let prefix = score_stream(&ts[..1250], &values[..1250], &cfg);
        assert_eq!(&full[..1250], &prefix[..]);
        assert!(full.iter().all(|s| (0.0..=1.0).contains(s)));
        let peak = full[1195..1230].iter().copied().fold(0.0, f64::max);
        let before = full[300..1190].iter().copied().fold(0.0, f64::max);
        assert!(peak > before, "shift {peak} vs noise {before}");
    }

    #[test]
    fn nan_and_constant_inputs_never_give_nan() {
        let mut values = vec![5.0; 500];
        values[100] = f64::NAN;
        values[200] = f64::INFINITY;
        values[400] = 6.0;
        let s = score_stream(&[], &values, &StreamConfig::default());
        assert!(s.iter().all(|x| x.is_finite() && (0.0..=1.0).contains(x)));
        assert_eq!(s[100], 0.0);
        assert!(s[400] > 0.5);
    }
}

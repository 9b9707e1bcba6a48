//! Causal streaming scores for `faultline detect`: three channels, each calibrated against its
//! own recent history, fused by their maximum, gated so that one episode raises one alarm.
//!
//! Channels per sample (all state bounded by the configured windows):
//! 1. **Subsequence novelty** (`novelty` module): distance from the last
//!    `novelty_window_samples` values to their `novelty_k` nearest earlier non-overlapping
//!    windows in the last `novelty_history_samples` (KNN-CAD, Burnaev and Ishimtsev 2016;
//!    matrix-profile discords, Yeh et al. 2016).
//! 2. **Multi-resolution robust deviation.** For each resolution `s`, the mean of the last `s`
//!    values against the median and `1.4826 MAD` of the past `baseline_samples` such means.
//! 3. **Range excess**: distance beyond the min/max of the last `range_history_samples`
//!    values, as a fraction of that range, times `range_weight`.
//!
//! Channels 1 and 2 are calibrated against their own last `calibration_samples` values: above
//! that window's maximum `M` a value scores `x / M` (≥ 1), at or below it `F(x)^b`, the
//! probability that it exceeds each of `b = rank_block_samples` draws from the recent
//! distribution (`F` = empirical fraction strictly below `x`; KNN-CAD's conformal p-value
//! turned into a block-maximum probability). So a level near 1 means "as unusual as the most
//! unusual thing recently", whatever the series' noise and tail shape. The level is the largest
//! channel. **Rest gate:** a level that does not exceed `rest_margin` times every level of the
//! previous `rest_samples` samples, and `rest_near_margin` times every level of the previous
//! `rest_near_samples`, is multiplied by `rest_damping` (threshold-independent; a sustained
//! episode crosses once, and an escalation by less than `rest_near_margin` right after an
//! alarm — a near-record followed by a record — is not a second alarm). The level maps to [0, 1] by `x / (x + squash_scale)`
//! (monotone, no ties at 1).
//!
//! The score of sample `i` depends only on samples `..=i`. Non-finite values score 0 and do
//! not change the state. Samples are treated as equally spaced; timestamps only serve gap
//! handling (`gap_reset_intervals`, off by default).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::rolling::SortedWindow;
use crate::stats::MAD_TO_SIGMA;
use crate::DetectError;
use faultline_core::Timestamp;

/// Settings of [`score_stream`]. Unknown fields (switches of earlier versions) are ignored
/// when deserialising.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamConfig {
    /// Window lengths (samples) over which the current level is averaged (deviation channel).
    pub resolutions_samples: Vec<usize>,
    /// Past values (per resolution) forming the baseline median and spread (at least 8).
    pub baseline_samples: usize,
    /// Samples before any non-zero score.
    pub warmup_samples: usize,
    /// Weight of the range-excess channel; 0 disables it.
    pub range_weight: f64,
    /// Samples of history defining the range.
    pub range_history_samples: usize,
    /// Length of the subsequence compared with earlier ones (0 disables novelty).
    pub novelty_window_samples: usize,
    /// How many earlier samples the novelty search looks back.
    pub novelty_history_samples: usize,
    /// Nearest neighbours averaged (at least 1).
    pub novelty_k: usize,
    /// Samples of each channel's own history against which it is calibrated (novelty and
    /// deviation channels).
    pub calibration_samples: usize,
    /// Block size `b` of the calibration: a channel value below its recent maximum scores
    /// `F(x)^b` (the probability of exceeding `b` draws from the recent distribution), one
    /// above it `x / max`. 0 = `x / max` everywhere (the first version).
    pub rank_block_samples: usize,
    /// Samples of the rest gate's memory (0 disables the gate).
    pub rest_samples: usize,
    /// Factor by which a level must exceed the recent levels to escape damping (at least 1).
    pub rest_margin: f64,
    /// Multiplier applied to damped scores, in [0, 1].
    pub rest_damping: f64,
    /// Level that maps to a score of 0.5 (positive).
    pub squash_scale: f64,
    /// Samples of the rest gate's short tier (0 disables it): within this many samples of a
    /// level, a new level escapes damping only if it also exceeds `rest_near_margin` times
    /// it, so the escalating second sample of an episode (a near-record followed by a record)
    /// does not raise a second alarm.
    pub rest_near_samples: usize,
    /// Factor of the short tier (at least 1).
    pub rest_near_margin: f64,
    /// Gap handling (timestamps, [`StreamDetector::update_at`]): a sample arriving more than
    /// this many typical intervals (median of the last 16 positive intervals) after the
    /// previous one clears the rest gate's memory, so the first anomaly after an outage is not
    /// damped by levels from before it. 0 (the default) = off; values are then treated as
    /// equally spaced whatever their timestamps.
    pub gap_reset_intervals: f64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            resolutions_samples: vec![4, 16],
            baseline_samples: 400,
            warmup_samples: 30,
            range_weight: 5.0,
            range_history_samples: 2000,
            novelty_window_samples: 30,
            novelty_history_samples: 2000,
            novelty_k: 3,
            calibration_samples: 2000,
            rank_block_samples: 500,
            rest_samples: 100,
            rest_margin: 1.25,
            rest_damping: 0.05,
            squash_scale: 8.0,
            rest_near_samples: 30,
            rest_near_margin: 2.0,
            gap_reset_intervals: 0.0,
        }
    }
}

impl StreamConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), DetectError> {
        if self.resolutions_samples.contains(&0) {
            return Err(DetectError::config("resolutions_samples", "must be positive"));
        }
        if self.baseline_samples < 8 {
            return Err(DetectError::config("baseline_samples", "must be at least 8"));
        }
        if self.novelty_k == 0 {
            return Err(DetectError::config("novelty_k", "must be at least 1"));
        }
        if self.calibration_samples == 0 || self.range_history_samples == 0 {
            return Err(DetectError::config("calibration_samples", "must be positive"));
        }
        if !(self.range_weight >= 0.0 && self.range_weight.is_finite()) {
            return Err(DetectError::config("range_weight", "must be finite and >= 0"));
        }
        if !(self.rest_margin >= 1.0 && self.rest_margin.is_finite()) {
            return Err(DetectError::config("rest_margin", "must be finite and >= 1"));
        }
        if !(self.rest_near_margin >= 1.0 && self.rest_near_margin.is_finite()) {
            return Err(DetectError::config("rest_near_margin", "must be finite and >= 1"));
        }
        if !(self.gap_reset_intervals >= 0.0 && self.gap_reset_intervals.is_finite()) {
            return Err(DetectError::config(
                "gap_reset_intervals",
                "must be finite and >= 0",
            ));
        }
        if !(0.0..=1.0).contains(&self.rest_damping) {
            return Err(DetectError::config("rest_damping", "must be in [0, 1]"));
        }
        if !(self.squash_scale > 0.0 && self.squash_scale.is_finite()) {
            return Err(DetectError::config("squash_scale", "must be finite and positive"));
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
    /// Baseline median the last `s`-mean was compared with (NaN before there was one).
    expected: f64,
}

impl Resolution {
    fn new(s: usize, baseline: usize) -> Self {
        Self {
            s,
            recent: Vec::with_capacity(s),
            head: 0,
            sum: 0.0,
            baseline: SortedWindow::new(baseline),
            expected: f64::NAN,
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
            let (med, mad) = self.baseline.median_mad();
            self.expected = med;
            let spread = MAD_TO_SIGMA * mad;
            // Floor: a tiny fraction of the level and of the baseline's full range, so flat
            // baselines give large but finite deviations.
            let range = self.baseline.max() - self.baseline.min();
            let floor = 1e-3 * range.max(1e-6 * med.abs()).max(1e-12);
            (mean - med).abs() / spread.max(floor)
        } else {
            0.0
        };
        self.baseline.push(mean);
        z
    }
}

/// Maximum (or, with negated input, minimum) of the last `cap` values: a monotone deque,
/// O(1) amortised per sample.
#[derive(Debug, Clone)]
struct SlidingMax {
    cap: usize,
    seen: usize,
    deque: VecDeque<(usize, f64)>,
}

impl SlidingMax {
    fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            seen: 0,
            deque: VecDeque::new(),
        }
    }
    fn push(&mut self, v: f64) {
        while self.deque.back().is_some_and(|&(_, b)| b <= v) {
            self.deque.pop_back();
        }
        self.deque.push_back((self.seen, v));
        self.seen += 1;
        while self.deque.front().is_some_and(|&(i, _)| i + self.cap < self.seen) {
            self.deque.pop_front();
        }
    }
    fn heap_bytes(&self) -> usize {
        self.deque.capacity() * std::mem::size_of::<(usize, f64)>()
    }
    /// Values held (at most `cap`).
    fn len(&self) -> usize {
        self.seen.min(self.cap)
    }
    fn max(&self) -> f64 {
        self.deque.front().map_or(f64::NEG_INFINITY, |&(_, v)| v)
    }
}

/// A channel's value calibrated against its own last `calibration` values (0 until 8 were
/// seen): above their maximum `M`, `x / M` (≥ 1); at or below it, `F(x)^b`, where `F` is the
/// empirical fraction of those values strictly below `x` and `b` = `rank_block_samples`: the
/// probability that `x` exceeds every one of `b` draws from the recent distribution (the
/// conformal p-value of KNN-CAD turned into a block-maximum probability). With `b = 0`, `x / M`
/// everywhere.
///
/// The window is stored in `f32` (ring and sorted copy: 8 bytes per value instead of 16, half
/// the detector's state): a channel value within `f32` rounding (6e-8 relative) of a stored one
/// may rank differently, and the maximum is rounded by as much.
#[derive(Debug, Clone)]
struct Normalised {
    window: SortedWindow<f32>,
    block: f64,
}

impl Normalised {
    fn new(calibration: usize, block: usize) -> Self {
        Self {
            window: SortedWindow::new(calibration),
            block: block as f64,
        }
    }

    fn ratio_then_push(&mut self, x: f64) -> f64 {
        let n = self.window.len();
        let r = if n >= 8 {
            let m = self.window.max();
            if x > m || self.block == 0.0 {
                if m > 0.0 {
                    x / m
                } else if x > 0.0 {
                    1e6
                } else {
                    0.0
                }
            } else {
                (self.window.count_below(x) as f64 / n as f64).powf(self.block)
            }
        } else {
            0.0
        };
        // NaN-free; beyond the `f32` range it saturates to infinity.
        self.window.push(x as f32);
        r
    }
}

/// The streaming detector behind [`score_stream`], one instance per series. State: about
/// `2 novelty_history + resolutions × baseline + rest` values (≈ 50 KB with the defaults).
#[derive(Debug, Clone)]
pub struct StreamDetector {
    cfg: StreamConfig,
    res: Vec<Resolution>,
    deviation: Normalised,
    novelty: Option<(crate::novelty::Novelty, Normalised)>,
    range_hi: SlidingMax,
    range_lo: SlidingMax,
    recent: SlidingMax,
    near: SlidingMax,
    seen: usize,
    /// Last timestamp seen by `update_at` (nanoseconds) and the last positive intervals.
    last_ts: Option<i64>,
    intervals: VecDeque<i64>,
    gaps: usize,
}

impl StreamDetector {
    /// A detector with validated settings.
    pub fn try_new(cfg: StreamConfig) -> Result<Self, DetectError> {
        cfg.validate()?;
        Ok(Self::new_unchecked(cfg))
    }

    fn new_unchecked(cfg: StreamConfig) -> Self {
        let cal = cfg.calibration_samples;
        Self {
            res: cfg
                .resolutions_samples
                .iter()
                .map(|&s| Resolution::new(s, cfg.baseline_samples))
                .collect(),
            deviation: Normalised::new(cal, cfg.rank_block_samples),
            novelty: (cfg.novelty_window_samples > 0).then(|| {
                (
                    crate::novelty::Novelty::new(
                        cfg.novelty_window_samples,
                        cfg.novelty_history_samples,
                        cfg.novelty_k,
                    ),
                    Normalised::new(cal, cfg.rank_block_samples),
                )
            }),
            range_hi: SlidingMax::new(cfg.range_history_samples),
            range_lo: SlidingMax::new(cfg.range_history_samples),
            recent: SlidingMax::new(cfg.rest_samples),
            near: SlidingMax::new(cfg.rest_near_samples),
            seen: 0,
            last_ts: None,
            intervals: VecDeque::with_capacity(16),
            gaps: 0,
            cfg,
        }
    }

    /// Rest gate: whether `level` exceeds `rest_margin` × every level of the last
    /// `rest_samples` samples and `rest_near_margin` × every level of the last
    /// `rest_near_samples`; then remembers it.
    fn escapes_rest(&mut self, level: f64) -> bool {
        let prev = self.recent.max().max(0.0);
        self.recent.push(level);
        let near_ok = self.cfg.rest_near_samples == 0 || {
            let p = self.near.max().max(0.0);
            self.near.push(level);
            level > p * self.cfg.rest_near_margin
        };
        near_ok && level > prev * self.cfg.rest_margin
    }

    /// The value expected for the last value passed to [`StreamDetector::update`]: the
    /// baseline median of the finest resolution's means it was compared with (`None` until
    /// that baseline holds 8 means). Hosts use it for an anomaly's direction.
    pub fn expected(&self) -> Option<f64> {
        self.res
            .iter()
            .min_by_key(|r| r.s)
            .map(|r| r.expected)
            .filter(|e| e.is_finite())
    }

    /// Bytes of state held for this series now (struct plus heap; the monotone deques of the
    /// range and rest-gate maxima vary with the data, up to 16 bytes per sample of their
    /// windows).
    pub fn state_bytes(&self) -> usize {
        let res: usize = self
            .res
            .iter()
            .map(|r| std::mem::size_of::<Resolution>() + r.recent.capacity() * 8 + r.baseline.heap_bytes())
            .sum();
        let novelty = self
            .novelty
            .as_ref()
            .map_or(0, |(nv, norm)| nv.heap_bytes() + norm.window.heap_bytes());
        std::mem::size_of::<Self>()
            + res
            + self.deviation.window.heap_bytes()
            + novelty
            + self.range_hi.heap_bytes()
            + self.range_lo.heap_bytes()
            + self.recent.heap_bytes()
            + self.near.heap_bytes()
    }

    /// Scores one value stamped `ts`: as [`StreamDetector::update`], after gap handling
    /// (`gap_reset_intervals`). Timestamps that do not increase are accepted and scored (the
    /// value still counts as the next sample) but do not enter the typical interval.
    pub fn update_at(&mut self, ts: Timestamp, value: f64) -> f64 {
        if value.is_finite() {
            let t = ts.as_nanos();
            if let Some(prev) = self.last_ts {
                let dt = t.saturating_sub(prev);
                if dt > 0 {
                    if self.cfg.gap_reset_intervals > 0.0 && self.intervals.len() >= 4 {
                        let mut iv: Vec<i64> = self.intervals.iter().copied().collect();
                        iv.sort_unstable();
                        let typical = iv[iv.len() / 2] as f64;
                        if dt as f64 > self.cfg.gap_reset_intervals * typical {
                            self.gaps += 1;
                            self.recent = SlidingMax::new(self.cfg.rest_samples);
                            self.near = SlidingMax::new(self.cfg.rest_near_samples);
                        }
                    }
                    if self.intervals.len() == 16 {
                        self.intervals.pop_front();
                    }
                    self.intervals.push_back(dt);
                }
            }
            self.last_ts = Some(t);
        }
        self.update(value)
    }

    /// Gaps seen by [`StreamDetector::update_at`] (0 while `gap_reset_intervals` is 0).
    pub fn gaps_seen(&self) -> usize {
        self.gaps
    }

    /// Scores one value (samples are assumed equally spaced).
    pub fn update(&mut self, value: f64) -> f64 {
        if !value.is_finite() {
            return 0.0;
        }
        let mut z = 0.0f64;
        for r in &mut self.res {
            z = z.max(r.update(value));
        }
        let mut level = self.deviation.ratio_then_push(z);
        if let Some((nv, norm)) = &mut self.novelty {
            if let Some(d) = nv.update(value) {
                level = level.max(norm.ratio_then_push(d));
            }
        }
        if self.cfg.range_weight > 0.0 {
            if self.range_hi.len() >= 8 {
                let (lo, hi) = (-self.range_lo.max(), self.range_hi.max());
                let width = (hi - lo).max(1e-9 * hi.abs().max(lo.abs())).max(1e-300);
                let excess = (value - hi).max(lo - value).max(0.0);
                level = level.max(self.cfg.range_weight * excess / width);
            }
            self.range_hi.push(value);
            self.range_lo.push(-value);
        }
        self.seen += 1;
        let level = if self.seen <= self.cfg.warmup_samples {
            0.0
        } else if level.is_finite() {
            level
        } else {
            1e12
        };
        let score = level / (level + self.cfg.squash_scale);
        let out = if self.cfg.rest_samples == 0 {
            score
        } else {
            if self.escapes_rest(level) {
                score
            } else {
                score * self.cfg.rest_damping
            }
        };
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
    let cfg = if cfg.validate().is_ok() {
        cfg.clone()
    } else {
        StreamConfig::default()
    };
    let mut d = StreamDetector::new_unchecked(cfg);
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| match timestamps.get(i) {
            Some(&t) => d.update_at(t, v),
            None => d.update(v),
        })
        .collect()
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
    fn calibration_is_a_block_maximum_probability_below_the_max_and_a_ratio_above() {
        let mut n = Normalised::new(100, 50);
        for i in 0..100 {
            assert_eq!(
                n.ratio_then_push(f64::from(i)),
                if i < 8 { 0.0 } else { 1.0 + 1.0 / f64::from(i - 1) }
            );
        }
        // Window holds 0..=99: 99 is the max, 98 has 98 values below it.
        let r = n.ratio_then_push(98.5);
        assert!((r - 0.99f64.powi(50)).abs() < 1e-12, "{r}");
        assert!((n.ratio_then_push(200.0) - 200.0 / 99.0).abs() < 1e-12);
        let mut plain = Normalised::new(100, 0);
        for i in 0..20 {
            plain.ratio_then_push(f64::from(i));
        }
        assert!((plain.ratio_then_push(9.5) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn rest_gate_lets_one_alarm_through_per_escalating_episode() {
        let cfg = StreamConfig::default();
        let mut d = StreamDetector::try_new(cfg.clone()).unwrap();
        for _ in 0..200 {
            assert!(!d.escapes_rest(0.0));
        }
        // A near-record, then a record 1.9× larger one sample later: one alarm, not two.
        assert!(d.escapes_rest(0.5));
        assert!(!d.escapes_rest(0.95));
        // A much larger escalation is still reported.
        assert!(d.escapes_rest(2.5));
        // After the short tier forgets, the long tier's smaller margin applies again.
        for _ in 0..cfg.rest_samples {
            d.escapes_rest(0.1);
        }
        let mut probe = d.clone();
        assert!(!probe.escapes_rest(0.19), "within the short tier: needs 2 × 0.1");
        assert!(d.escapes_rest(0.2 + 1e-9));
        for _ in 0..cfg.rest_near_samples {
            d.escapes_rest(0.0);
        }
        let mut probe = d.clone();
        assert!(
            !probe.escapes_rest(0.24),
            "within the long tier: needs 1.25 × 0.2"
        );
        assert!(d.escapes_rest(0.26));
        // Without the short tier, the escalation would have been a second alarm.
        let mut plain = StreamDetector::try_new(StreamConfig {
            rest_near_samples: 0,
            ..cfg
        })
        .unwrap();
        assert!(plain.escapes_rest(0.5));
        assert!(plain.escapes_rest(0.95));
    }

    #[test]
    fn state_is_bounded_and_reported() {
        let mut d = StreamDetector::try_new(StreamConfig::default()).unwrap();
        for i in 0..20_000 {
            d.update(((i * 37) % 101) as f64 + if i % 1000 == 0 { 500.0 } else { 0.0 });
        }
        let b = d.state_bytes();
        assert!(b > 50_000 && b < 90_000, "{b}");
    }

    #[test]
    fn a_gap_clears_the_rest_gate_only_when_enabled() {
        let ts = |i: i64| Timestamp::from_secs(60 * i + if i >= 600 { 86_400 } else { 0 });
        let value = |i: i64| match i {
            598 => 100.0,
            601 => 150.0,
            _ => (i % 7) as f64,
        };
        let run = |cfg: StreamConfig| {
            let mut d = StreamDetector::try_new(cfg).unwrap();
            let scores: Vec<f64> = (0..700).map(|i| d.update_at(ts(i), value(i))).collect();
            (scores, d.gaps_seen())
        };
        let (off, gaps_off) = run(StreamConfig::default());
        let (on, gaps_on) = run(StreamConfig {
            gap_reset_intervals: 10.0,
            ..Default::default()
        });
        assert_eq!((gaps_off, gaps_on), (0, 1));
        // The spike right after the outage is less extreme than the one just before it:
        // damped by the rest gate without gap handling, a fresh alarm with it.
        assert!(on[601] > 5.0 * off[601], "{} vs {}", on[601], off[601]);
        assert_eq!(on[..600], off[..600]);
        let plain = score_stream(
            &(0..700).map(ts).collect::<Vec<_>>(),
            &(0..700).map(value).collect::<Vec<_>>(),
            &StreamConfig::default(),
        );
        assert_eq!(plain, off);
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

//! Batch detection on one series: level shifts and trends by robust binary segmentation, point
//! outliers against their segment, debounced into one [`Anomaly`] per episode.
//!
//! Method, for the finite samples of a series (NaN and infinities are skipped):
//! 1. **Noise scale** from first differences: `sigma = 1.4826 MAD(diff) / sqrt 2`, which a level
//!    shift or a few spikes barely move.
//! 2. **Changepoints** by binary segmentation with the CUSUM statistic
//!    `T(k) = |S_k - (k / n) S_n| / (sigma sqrt(k (n - k) / n))` (Page 1954; Vostrikova 1981) on
//!    the series after a running median of 5 (so spikes of one or two samples cannot pose as
//!    shifts). Splits with `T > changepoint_threshold` are taken, largest first, up to
//!    `max_changepoints`, each segment at least `min_segment_samples` long.
//! 3. **Baseline** = the first segment (an incident window starts before the incident): its
//!    median and spread `max(1.4826 MAD, sigma)`.
//! 4. **Shifts**: each later segment whose median is at least `shift_threshold_sigma` spreads
//!    and `min_relative_shift` of the baseline level away from the baseline is anomalous;
//!    consecutive anomalous segments in the same direction form one episode, `Trend` when the
//!    episode is a steady ramp (rank correlation with time), `LevelShift` otherwise.
//! 5. **Points**: outside shift episodes, samples more than `point_threshold_sigma` spreads
//!    from their segment's median; runs closer than `merge_gap_samples` form one episode.
//!
//! Scores map the deviation `z` (in baseline spreads) to [0, 1] with
//! `1 - 2^-(z / threshold)^2`: 0.5 at the threshold, 0.94 at twice it.
//!
//! Short input (fewer than `min_samples` finite samples) and constant input give `Ok(vec![])`:
//! nothing can be told apart from normal there. Only an invalid config is an error.

use std::borrow::Cow;

use faultline_core::{
    Anomaly, AnomalyId, AnomalyKind, AnomalySeverity, Direction, Expected, Series, SeriesKey, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::online::{OnlineDetector, RobustZ, RobustZConfig, RollingZ, RollingZConfig};
use crate::stats::{median_in_place, median_mad, score_from_z, MAD_TO_SIGMA};
use crate::DetectError;

/// Name recorded in [`Anomaly::detector`] for shifts and trends.
pub const LEVEL_SHIFT_DETECTOR: &str = "cusum_level_shift";
/// Name recorded in [`Anomaly::detector`] for point outliers.
pub const POINT_DETECTOR: &str = "segment_robust_z";

/// Settings of [`detect_series`], the batch detection the pipeline runs on each series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectConfig {
    /// Fewer finite samples than this give no anomalies.
    pub min_samples: usize,
    /// CUSUM statistic (noise units) above which a segment is split.
    pub changepoint_threshold: f64,
    /// Most changepoints per series.
    pub max_changepoints: usize,
    /// Shortest segment between changepoints (samples).
    pub min_segment_samples: usize,
    /// A segment this many baseline spreads away from the baseline is a shift.
    pub shift_threshold_sigma: f64,
    /// A shift must also move the level by this fraction of `|baseline median|`.
    pub min_relative_shift: f64,
    /// A sample this many spreads away from its segment's median is a point outlier.
    pub point_threshold_sigma: f64,
    /// Outliers at most this many samples apart belong to one episode.
    pub merge_gap_samples: usize,
    /// Also report volatility changes ([`crate::detect_variance`]) with these settings;
    /// `None` (the default) = off.
    pub variance: Option<crate::VarianceConfig>,
    /// Half-width of the expected band, in baseline spreads.
    pub band_sigma: f64,
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            min_samples: 12,
            changepoint_threshold: 5.0,
            max_changepoints: 6,
            min_segment_samples: 5,
            shift_threshold_sigma: 4.0,
            min_relative_shift: 0.1,
            point_threshold_sigma: 6.0,
            merge_gap_samples: 2,
            variance: None,
            band_sigma: 3.0,
        }
    }
}

impl DetectConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), DetectError> {
        let pos = |f: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(DetectError::config(f, "must be a positive number"))
            }
        };
        pos("changepoint_threshold", self.changepoint_threshold)?;
        pos("shift_threshold_sigma", self.shift_threshold_sigma)?;
        pos("point_threshold_sigma", self.point_threshold_sigma)?;
        pos("band_sigma", self.band_sigma)?;
        if let Some(v) = &self.variance {
            v.validate()?;
        }
        if !(self.min_relative_shift.is_finite() && self.min_relative_shift >= 0.0) {
            return Err(DetectError::config("min_relative_shift", "must be >= 0"));
        }
        if self.min_segment_samples < 2 {
            return Err(DetectError::config("min_segment_samples", "must be at least 2"));
        }
        if self.min_samples < 2 * self.min_segment_samples {
            return Err(DetectError::config(
                "min_samples",
                "must be at least 2 * min_segment_samples",
            ));
        }
        Ok(())
    }
}

/// A batch detector: one series in, its anomalies out.
pub trait Detector {
    /// Short name of the method.
    fn name(&self) -> &'static str;
    /// The anomalies of `series`, one per episode, sorted by start.
    fn detect(&self, series: &Series) -> Result<Vec<Anomaly>, DetectError>;
}

/// [`detect_series`] as a [`Detector`].
#[derive(Debug, Clone, Default)]
pub struct SegmentDetector {
    cfg: DetectConfig,
}

impl SegmentDetector {
    /// A detector with validated settings.
    pub fn try_new(cfg: DetectConfig) -> Result<Self, DetectError> {
        cfg.validate()?;
        Ok(Self { cfg })
    }
}

impl Detector for SegmentDetector {
    fn name(&self) -> &'static str {
        LEVEL_SHIFT_DETECTOR
    }
    fn detect(&self, series: &Series) -> Result<Vec<Anomaly>, DetectError> {
        detect_series(series, &self.cfg)
    }
}

/// Which batch detector to run, with its settings (serde: `{"method": "robust_z", ...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum DetectorConfig {
    /// [`detect_series`]: level shifts / changepoints (CUSUM binary segmentation), trends and
    /// point outliers (the default). Also accepted as `"method": "level_shift"`.
    #[serde(alias = "level_shift")]
    Segment(DetectConfig),
    /// Rolling median/MAD z-score, run online over the series.
    RobustZ(RobustZConfig),
    /// Rolling mean/standard deviation z-score (the original design), run online.
    RollingZ(RollingZConfig),
    /// Seasonal-Hybrid ESD ([`crate::esd::sh_esd`]).
    ShEsd(crate::esd::ShEsdConfig),
    /// Robust seasonal Holt-Winters residuals ([`crate::SeasonalZ`]), run online.
    SeasonalZ(crate::SeasonalZConfig),
    /// Tukey's IQR fences over a rolling window ([`crate::IqrFence`]), run online.
    Iqr(crate::IqrConfig),
    /// Volatility changes ([`crate::detect_variance`]).
    Variance(crate::VarianceConfig),
    /// Several aggregation windows fused ([`crate::MultiRes`]), run online: a lone noisy point
    /// is not an anomaly, a sustained shift is (reported as a `LevelShift` when the alert lasts
    /// at least the `min_agree`-th shortest window, else as a `Point`).
    MultiRes(crate::MultiResConfig),
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self::Segment(DetectConfig::default())
    }
}

impl DetectorConfig {
    /// The configured detector (validates the settings).
    pub fn build(&self) -> Result<Box<dyn Detector + Send + Sync>, DetectError> {
        Ok(match self {
            Self::Segment(c) => Box::new(SegmentDetector::try_new(c.clone())?),
            Self::RobustZ(c) => {
                RobustZ::try_new(c.clone())?;
                let c = c.clone();
                Box::new(OnlineBatch::new("robust_z", 0.5, 2, move || {
                    RobustZ::try_new(c.clone()).expect("validated above")
                }))
            }
            Self::RollingZ(c) => {
                RollingZ::try_new(c.clone())?;
                let c = c.clone();
                Box::new(OnlineBatch::new("rolling_z", 0.5, 2, move || {
                    RollingZ::try_new(c.clone()).expect("validated above")
                }))
            }
            Self::ShEsd(c) => Box::new(crate::esd::ShEsdDetector::try_new(c.clone())?),
            Self::Variance(c) => Box::new(crate::variance::VarianceDetector::try_new(c.clone())?),
            Self::SeasonalZ(c) => {
                crate::SeasonalZ::try_new(c.clone())?;
                let c = c.clone();
                Box::new(OnlineBatch::new("seasonal_z", 0.5, 2, move || {
                    crate::SeasonalZ::try_new(c.clone()).expect("validated above")
                }))
            }
            Self::MultiRes(c) => {
                crate::MultiRes::try_new(c.clone())?;
                let mut rs = c.resolutions_samples.clone();
                rs.sort_unstable();
                let sustained = rs.get(c.min_agree - 1).copied().unwrap_or(1);
                let c = c.clone();
                Box::new(
                    OnlineBatch::new("multi_resolution", 0.5, 2, move || {
                        crate::MultiRes::try_new(c.clone()).expect("validated above")
                    })
                    .level_shift_after(sustained),
                )
            }
            Self::Iqr(c) => {
                crate::IqrFence::try_new(c.clone())?;
                let c = c.clone();
                Box::new(OnlineBatch::new("iqr_fence", 0.5, 2, move || {
                    crate::IqrFence::try_new(c.clone()).expect("validated above")
                }))
            }
        })
    }
}

/// Runs an [`OnlineDetector`] over a whole series and turns runs of scores at or above
/// `min_score` (gaps of at most `merge_gap_samples` bridged) into one `Point` anomaly each. The
/// expected value is what the detector expected at the run's peak
/// ([`OnlineDetector::expected`]; else the median of up to 64 finite samples before the run),
/// with a band of 3 robust standard deviations of those samples either side.
pub struct OnlineBatch<F> {
    name: &'static str,
    min_score: f64,
    merge_gap_samples: usize,
    make: F,
    level_shift_samples: Option<usize>,
}

impl<F> OnlineBatch<F> {
    /// An adapter building a fresh online detector per series with `make`.
    pub fn new(name: &'static str, min_score: f64, merge_gap_samples: usize, make: F) -> Self {
        Self {
            name,
            min_score,
            merge_gap_samples,
            make,
            level_shift_samples: None,
        }
    }

    /// Reports runs of at least `samples` samples as `LevelShift` anomalies instead of `Point`
    /// (their expected value is chosen as for points).
    pub fn level_shift_after(mut self, samples: usize) -> Self {
        self.level_shift_samples = Some(samples.max(1));
        self
    }
}

impl<D: OnlineDetector, F: Fn() -> D> Detector for OnlineBatch<F> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn detect(&self, series: &Series) -> Result<Vec<Anomaly>, DetectError> {
        let mut d = (self.make)();
        let (ts, ys) = finite_samples(series);
        let mut scores = Vec::with_capacity(ys.len());
        // Samples at or above `min_score`, with the value the detector expected there.
        let mut hits = Vec::new();
        let mut hit_expected = Vec::new();
        for (i, &v) in ys.iter().enumerate() {
            let score = d.update(v);
            scores.push(score);
            if score >= self.min_score {
                hits.push(i);
                hit_expected.push(d.expected());
            }
        }
        let mut out = Vec::new();
        let mut k = 0;
        while k < hits.len() {
            let mut e = k;
            while e + 1 < hits.len() && hits[e + 1] - hits[e] <= self.merge_gap_samples + 1 {
                e += 1;
            }
            let (a, b) = (hits[k], hits[e]);
            let peak = (a..=b)
                .max_by(|&p, &q| scores[p].total_cmp(&scores[q]))
                .unwrap_or(a);
            let ctx = &ys[a.saturating_sub(64)..a];
            let (med, mad) = median_mad(ctx).unwrap_or((ys[a], 0.0));
            let spread = 3.0 * MAD_TO_SIGMA * mad;
            // The peak scored at least as high as the run's first sample, so it is a hit.
            let expected = hits[k..=e]
                .binary_search(&peak)
                .ok()
                .and_then(|h| hit_expected[k + h])
                .unwrap_or(med);
            out.push(anomaly(
                series,
                &ts,
                (a, b, peak),
                ys[peak],
                Expected {
                    value: expected,
                    lower: expected - spread,
                    upper: expected + spread,
                },
                scores[peak],
                match self.level_shift_samples {
                    Some(n) if b + 1 - a >= n => AnomalyKind::LevelShift,
                    _ => AnomalyKind::Point,
                },
                self.name,
            ));
            k = e + 1;
        }
        Ok(out)
    }
}

/// Batch detection on one series: one [`Anomaly`] per episode (level shift, trend or run of
/// point outliers), with score in [0, 1], severity, direction, expected value and band, kind
/// and detector name; ids derived from the series key, kind and start. See the module docs for
/// the method. Never panics; NaN samples are skipped; fewer than `min_samples` finite samples
/// or a constant series give `Ok(vec![])`; an invalid `cfg` gives
/// [`DetectError::InvalidConfig`].
///
/// ```
/// use faultline_core::{AnomalyKind, Direction, Series, SeriesKey, Timestamp};
/// use faultline_detect::{detect_series, DetectConfig};
/// let values: Vec<f64> = (0..240).map(|i| if i < 150 { 100.0 + (i % 5) as f64 } else { 400.0 + (i % 5) as f64 }).collect();
/// let ts = (0..240).map(|i| Timestamp::from_secs(15 * i)).collect();
/// let s = Series::new(SeriesKey::new("checkout", "latency_p95_ms"), ts, values).unwrap();
/// let found = detect_series(&s, &DetectConfig::default()).unwrap();
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].kind, AnomalyKind::LevelShift);
/// assert_eq!(found[0].direction, Direction::Up);
/// assert_eq!(found[0].start, Timestamp::from_secs(15 * 150));
/// ```
pub fn detect_series(series: &Series, cfg: &DetectConfig) -> Result<Vec<Anomaly>, DetectError> {
    cfg.validate()?;
    if series.timestamps.len() != series.values.len() {
        return Err(DetectError::LengthMismatch {
            timestamps: series.timestamps.len(),
            values: series.values.len(),
        });
    }
    let mut out = segment_anomalies(&series.key, &series.timestamps, &series.values, cfg);
    if let Some(v) = &cfg.variance {
        out.extend(crate::variance::detect_variance(series, v)?);
    }
    out.sort_by(|a, b| a.start.cmp(&b.start).then(b.score.total_cmp(&a.score)));
    Ok(out)
}

/// A sample time as [`detect_samples`] reads it: a [`Timestamp`], or an `i64` of nanoseconds
/// since the Unix epoch (the layout of an Arrow `timestamp[ns]` column), so a borrowed column
/// of either kind is read in place.
pub trait SampleTime: Copy {
    /// The time as a [`Timestamp`].
    fn timestamp(self) -> Timestamp;
}

impl SampleTime for Timestamp {
    fn timestamp(self) -> Timestamp {
        self
    }
}

impl SampleTime for i64 {
    fn timestamp(self) -> Timestamp {
        Timestamp(self)
    }
}

/// [`detect_series`] on borrowed columns: the same anomalies as `detect_series` on
/// `Series::new(key, timestamps, values)`, without building the series. The columns are read
/// in place when the timestamps are ascending and every value is finite (the usual case); NaN
/// or infinite values (missing samples, skipped) cost one copy of the finite samples, unsorted
/// timestamps one sorted copy of both columns, and `cfg.variance` one copy for the variance
/// detector (which takes a [`Series`]). Timestamps are [`Timestamp`]s or `i64` nanoseconds
/// since the epoch ([`SampleTime`]).
///
/// Errors: an invalid `cfg` gives [`DetectError::InvalidConfig`], columns of different lengths
/// [`DetectError::LengthMismatch`]; short or constant input gives `Ok(vec![])`.
///
/// ```
/// use faultline_core::{AnomalyKind, SeriesKey, Timestamp};
/// use faultline_detect::{detect_samples, DetectConfig};
/// let values: Vec<f64> = (0..240).map(|i| if i < 150 { 100.0 + (i % 5) as f64 } else { 400.0 + (i % 5) as f64 }).collect();
/// // epoch nanoseconds, as in an Arrow timestamp[ns] column
/// let ts: Vec<i64> = (0..240).map(|i| 15_000_000_000 * i).collect();
/// let key = SeriesKey::new("checkout", "latency_p95_ms");
/// let found = detect_samples(&key, &ts, &values, &DetectConfig::default()).unwrap();
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].kind, AnomalyKind::LevelShift);
/// assert_eq!(found[0].start, Timestamp::from_secs(15 * 150));
/// assert!(detect_samples(&key, &ts[1..], &values, &DetectConfig::default()).is_err());
/// ```
pub fn detect_samples<T: SampleTime>(
    key: &SeriesKey,
    timestamps: &[T],
    values: &[f64],
    cfg: &DetectConfig,
) -> Result<Vec<Anomaly>, DetectError> {
    cfg.validate()?;
    if timestamps.len() != values.len() {
        return Err(DetectError::LengthMismatch {
            timestamps: timestamps.len(),
            values: values.len(),
        });
    }
    let ascending = timestamps
        .windows(2)
        .all(|w| w[0].timestamp() <= w[1].timestamp());
    if !ascending || cfg.variance.is_some() {
        let ts = timestamps.iter().map(|t| t.timestamp()).collect();
        let s = Series::new(key.clone(), ts, values.to_vec()).map_err(|e| DetectError::LengthMismatch {
            timestamps: e.timestamps,
            values: e.values,
        })?;
        return detect_series(&s, cfg);
    }
    let mut out = segment_anomalies(key, timestamps, values, cfg);
    out.sort_by(|a, b| a.start.cmp(&b.start).then(b.score.total_cmp(&a.score)));
    Ok(out)
}

/// Level shifts, trends and point episodes of one series (steps 1-5 of the module docs),
/// unsorted; `cfg` is valid and the columns have the same length.
fn segment_anomalies<T: SampleTime>(
    key: &SeriesKey,
    timestamps: &[T],
    values: &[f64],
    cfg: &DetectConfig,
) -> Vec<Anomaly> {
    let (ts, ys) = finite_slices(timestamps, values);
    let (ts, ys) = (&ts[..], &ys[..]);
    let n = ys.len();
    if n < cfg.min_samples {
        return vec![];
    }
    let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo == hi {
        return vec![];
    }
    let sigma = noise_scale(ys, lo, hi);
    let smooth = running_median5(ys);
    let cps = segment(&smooth, sigma, cfg);
    let bounds: Vec<usize> = std::iter::once(0).chain(cps).chain(std::iter::once(n)).collect();
    let segs: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();

    let (m0, mad0) = median_mad(&ys[segs[0].0..segs[0].1]).unwrap_or((ys[0], 0.0));
    let s0 = (MAD_TO_SIGMA * mad0).max(sigma);
    let mut out = Vec::new();
    let mut in_shift = vec![false; n];

    // Shift / trend episodes over segments after the baseline.
    let seg_dev: Vec<(f64, f64)> = segs
        .iter()
        .map(|&(a, b)| {
            let mut buf = ys[a..b].to_vec();
            let med = median_in_place(&mut buf).unwrap_or(m0);
            (med, (med - m0) / s0)
        })
        .collect();
    let anomalous = |i: usize| {
        let (med, dev) = seg_dev[i];
        i > 0
            && dev.abs() >= cfg.shift_threshold_sigma
            && (med - m0).abs() >= cfg.min_relative_shift * m0.abs()
    };
    let mut i = 1;
    while i < segs.len() {
        if !anomalous(i) {
            i += 1;
            continue;
        }
        let up = seg_dev[i].1 > 0.0;
        let mut j = i;
        while j + 1 < segs.len() && anomalous(j + 1) && (seg_dev[j + 1].1 > 0.0) == up {
            j += 1;
        }
        // A ramp's first steps may sit below the threshold: extend back over segments that
        // already lean the same way.
        let mut first = i;
        while first > 1 && (seg_dev[first - 1].1 > 1.0) == up && seg_dev[first - 1].1.abs() > 1.0 {
            first -= 1;
        }
        let (a, b) = (segs[first].0, segs[j].1);
        for f in &mut in_shift[a..b] {
            *f = true;
        }
        let peak = (a..b)
            .max_by(|&p, &q| (ys[p] - m0).abs().total_cmp(&(ys[q] - m0).abs()))
            .unwrap_or(a);
        let z = seg_dev[i..=j].iter().map(|d| d.1.abs()).fold(0.0, f64::max);
        let kind = if is_ramp(&ys[a..b]) && j > first
            || is_ramp(&ys[a..b]) && b - a >= 3 * cfg.min_segment_samples
        {
            AnomalyKind::Trend
        } else {
            AnomalyKind::LevelShift
        };
        out.push(anomaly_keyed(
            key,
            ts,
            (a, b - 1, peak),
            ys[peak],
            Expected {
                value: m0,
                lower: m0 - cfg.band_sigma * s0,
                upper: m0 + cfg.band_sigma * s0,
            },
            score_from_z(z, cfg.shift_threshold_sigma),
            kind,
            LEVEL_SHIFT_DETECTOR,
        ));
        i = j + 1;
    }

    // Point outliers against their own segment.
    let mut flagged: Vec<(usize, f64, f64, f64)> = Vec::new(); // (index, z, median, spread)
    for &(a, b) in &segs {
        let Some((med, mad)) = median_mad(&ys[a..b]) else {
            continue;
        };
        let spread = (MAD_TO_SIGMA * mad).max(sigma);
        for k in a..b {
            let z = (ys[k] - med) / spread;
            if !in_shift[k] && z.abs() >= cfg.point_threshold_sigma {
                flagged.push((k, z, med, spread));
            }
        }
    }
    let mut k = 0;
    while k < flagged.len() {
        let mut e = k;
        while e + 1 < flagged.len() && flagged[e + 1].0 - flagged[e].0 <= cfg.merge_gap_samples + 1 {
            e += 1;
        }
        let run = &flagged[k..=e];
        let best = run
            .iter()
            .max_by(|p, q| p.1.abs().total_cmp(&q.1.abs()))
            .unwrap_or(&run[0]);
        let (peak, z, med, spread) = *best;
        out.push(anomaly_keyed(
            key,
            ts,
            (run[0].0, run[run.len() - 1].0, peak),
            ys[peak],
            Expected {
                value: med,
                lower: med - cfg.band_sigma * spread,
                upper: med + cfg.band_sigma * spread,
            },
            score_from_z(z, cfg.point_threshold_sigma),
            AnomalyKind::Point,
            POINT_DETECTOR,
        ));
        k = e + 1;
    }
    out
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn anomaly(
    series: &Series,
    ts: &[Timestamp],
    (start, end, peak): (usize, usize, usize),
    observed: f64,
    expected: Expected,
    score: f64,
    kind: AnomalyKind,
    detector: &str,
) -> Anomaly {
    anomaly_keyed(
        &series.key,
        ts,
        (start, end, peak),
        observed,
        expected,
        score,
        kind,
        detector,
    )
}

/// [`anomaly`] from a series key and any [`SampleTime`] column.
#[allow(clippy::too_many_arguments)]
fn anomaly_keyed<T: SampleTime>(
    key: &SeriesKey,
    ts: &[T],
    (start, end, peak): (usize, usize, usize),
    observed: f64,
    expected: Expected,
    score: f64,
    kind: AnomalyKind,
    detector: &str,
) -> Anomaly {
    let kind_name = match &kind {
        AnomalyKind::Point => "point",
        AnomalyKind::LevelShift => "level_shift",
        AnomalyKind::Trend => "trend",
        AnomalyKind::Variance => "variance",
        AnomalyKind::Predictive { .. } => "predictive",
    };
    let key_text = key.to_string();
    let start_s = ts[start].timestamp().as_nanos().to_string();
    Anomaly {
        id: AnomalyId::derive(&[&key_text, detector, kind_name, &start_s]),
        series: key.clone(),
        start: ts[start].timestamp(),
        end: ts[end].timestamp(),
        peak: ts[peak].timestamp(),
        observed,
        expected,
        score,
        severity: AnomalySeverity::from_score(score),
        direction: Direction::of(observed - expected.value),
        kind,
        detector: detector.to_string(),
    }
}

/// Robust noise scale from first differences, floored so flat stretches stay finite.
fn noise_scale(ys: &[f64], lo: f64, hi: f64) -> f64 {
    let mut d: Vec<f64> = ys.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let mad = median_in_place(&mut d).unwrap_or(0.0);
    let sigma = MAD_TO_SIGMA * mad / std::f64::consts::SQRT_2;
    let floor = 1e-9 * (hi - lo).max(lo.abs().max(hi.abs())).max(f64::MIN_POSITIVE);
    if sigma > floor {
        sigma
    } else {
        // Mostly flat with a few moves: take the mean absolute difference instead, so a
        // step function still has a sensible scale relative to its steps.
        let mean_abs = ys.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (ys.len() - 1) as f64;
        (0.1 * mean_abs).max(floor)
    }
}

fn running_median5(ys: &[f64]) -> Vec<f64> {
    let n = ys.len();
    (0..n)
        .map(|i| {
            let a = i.saturating_sub(2);
            let b = (i + 3).min(n);
            let mut w = [0.0; 5];
            let k = b - a;
            w[..k].copy_from_slice(&ys[a..b]);
            median_in_place(&mut w[..k]).unwrap_or(ys[i])
        })
        .collect()
}

/// Binary segmentation: changepoint indices (a changepoint is the first index of a new segment).
fn segment(ys: &[f64], sigma: f64, cfg: &DetectConfig) -> Vec<usize> {
    let mut cps = Vec::new();
    let mut todo = vec![(0usize, ys.len())];
    while cps.len() < cfg.max_changepoints {
        // Find the best split among all pending segments.
        let mut best: Option<(f64, usize, usize)> = None;
        for (si, &(a, b)) in todo.iter().enumerate() {
            if let Some((t, k)) = best_split(&ys[a..b], sigma, cfg.min_segment_samples) {
                if t > cfg.changepoint_threshold && best.is_none_or(|(bt, _, _)| t > bt) {
                    best = Some((t, si, a + k));
                }
            }
        }
        let Some((_, si, k)) = best else { break };
        let (a, b) = todo.swap_remove(si);
        cps.push(k);
        todo.push((a, k));
        todo.push((k, b));
    }
    cps.sort_unstable();
    cps
}

fn best_split(ys: &[f64], sigma: f64, min_seg: usize) -> Option<(f64, usize)> {
    let n = ys.len();
    if n < 2 * min_seg {
        return None;
    }
    let total: f64 = ys.iter().sum();
    let nf = n as f64;
    let mut s = 0.0;
    let mut best: Option<(f64, usize)> = None;
    for (k, &y) in ys.iter().enumerate().take(n - min_seg) {
        s += y;
        let kk = k + 1;
        if kk < min_seg {
            continue;
        }
        let kf = kk as f64;
        let t = (s - kf / nf * total).abs() / (sigma * (kf * (nf - kf) / nf).sqrt());
        if best.is_none_or(|(bt, _)| t > bt) {
            best = Some((t, kk));
        }
    }
    best
}

/// Whether `ys` rises or falls steadily: Spearman-like rank agreement with time above 0.8.
fn is_ramp(ys: &[f64]) -> bool {
    let n = ys.len();
    if n < 6 {
        return false;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| ys[a].total_cmp(&ys[b]));
    let mut rank = vec![0.0; n];
    for (r, &i) in idx.iter().enumerate() {
        rank[i] = r as f64;
    }
    let mean = (n - 1) as f64 / 2.0;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, r) in rank.iter().enumerate() {
        let dx = i as f64 - mean;
        sxy += dx * (r - mean);
        sxx += dx * dx;
    }
    (sxy / sxx).abs() > 0.8
}

/// The samples with a finite value (missing samples are skipped, never scored): the columns
/// themselves when every value is finite, else a copy of the finite samples.
fn finite_slices<'a, T: SampleTime>(ts: &'a [T], ys: &'a [f64]) -> (Cow<'a, [T]>, Cow<'a, [f64]>) {
    if ys.iter().all(|v| v.is_finite()) {
        return (Cow::Borrowed(ts), Cow::Borrowed(ys));
    }
    let (t, y): (Vec<T>, Vec<f64>) = ts
        .iter()
        .zip(ys)
        .filter(|(_, v)| v.is_finite())
        .map(|(t, v)| (*t, *v))
        .unzip();
    (Cow::Owned(t), Cow::Owned(y))
}

/// The series' samples with a finite value, as separate time and value columns (missing
/// samples are skipped, never scored).
pub(crate) fn finite_samples(series: &Series) -> (Vec<Timestamp>, Vec<f64>) {
    series
        .timestamps
        .iter()
        .zip(&series.values)
        .filter(|(_, v)| v.is_finite())
        .map(|(t, v)| (*t, *v))
        .unzip()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use faultline_core::SeriesKey;

    #[test]
    fn changepoint_found_at_the_step() {
        let ys: Vec<f64> = (0..100)
            .map(|i| if i < 40 { 0.0 } else { 10.0 } + (i % 3) as f64 * 0.1)
            .collect();
        let cps = segment(&ys, 0.1, &DetectConfig::default());
        assert!(cps.contains(&40), "{cps:?}");
    }

    #[test]
    fn ramp_is_recognised() {
        let up: Vec<f64> = (0..30).map(|i| i as f64 + (i % 2) as f64).collect();
        assert!(is_ramp(&up));
        let flat: Vec<f64> = (0..30).map(|i| ((i * 7) % 5) as f64).collect();
        assert!(!is_ramp(&flat));
    }

    #[test]
    fn detector_config_builds_each_method() {
        let mut v: Vec<f64> = (0..300).map(|i| 10.0 + (i % 4) as f64).collect();
        v[200] = 80.0;
        let ts = (0..300).map(|i| Timestamp::from_secs(15 * i)).collect();
        let s = Series::new(SeriesKey::new("a", "m"), ts, v).unwrap();
        for cfg in [
            DetectorConfig::default(),
            DetectorConfig::RobustZ(RobustZConfig::default()),
            DetectorConfig::RollingZ(RollingZConfig::default()),
            DetectorConfig::ShEsd(crate::ShEsdConfig::default()),
            DetectorConfig::SeasonalZ(crate::SeasonalZConfig {
                period_samples: 4,
                ..Default::default()
            }),
            DetectorConfig::Iqr(crate::IqrConfig::default()),
        ] {
            let d = cfg.build().unwrap();
            let found = d.detect(&s).unwrap();
            assert_eq!(found.len(), 1, "{}: {found:#?}", d.name());
            assert_eq!(found[0].peak, Timestamp::from_secs(15 * 200));
        }
        let json = r#"{"method": "robust_z", "window_samples": 2}"#;
        let bad: DetectorConfig = serde_json::from_str(json).unwrap();
        assert!(bad.build().is_err());
        let json = r#"{"method": "sh_esd", "alpha": 0.01, "direction": "up"}"#;
        let esd: DetectorConfig = serde_json::from_str(json).unwrap();
        assert_eq!(esd.build().unwrap().name(), "sh_esd");
        let var: DetectorConfig = serde_json::from_str(r#"{"method": "variance"}"#).unwrap();
        assert!(var.build().unwrap().detect(&s).unwrap().is_empty());
    }

    /// A random series: noise, an optional step, a few spikes, NaN gaps, maybe out of order.
    fn random_columns(
        seed: u64,
        n: usize,
        step: f64,
        nan_every: usize,
        shuffle: bool,
    ) -> (Vec<Timestamp>, Vec<f64>) {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut ts: Vec<Timestamp> = (0..n as i64).map(|i| Timestamp::from_secs(10 * i)).collect();
        let mut ys: Vec<f64> = (0..n)
            .map(|i| {
                let base = if i > n / 2 { 50.0 + step } else { 50.0 };
                let spike = if next() < 0.01 { 40.0 } else { 0.0 };
                base + spike + next() * 2.0
            })
            .collect();
        if nan_every > 0 {
            for v in ys.iter_mut().step_by(nan_every) {
                *v = f64::NAN;
            }
        }
        if shuffle && n > 3 {
            ts.swap(1, n - 2);
            ys.swap(1, n - 2);
        }
        (ts, ys)
    }

    #[test]
    fn samples_equal_series_with_nans_and_unsorted_times() {
        let key = SeriesKey::new("svc", "m");
        for (seed, nan_every, shuffle) in [(3, 0, false), (5, 7, false), (9, 0, true), (11, 5, true)] {
            let (ts, ys) = random_columns(seed, 400, 30.0, nan_every, shuffle);
            let s = Series::new(key.clone(), ts.clone(), ys.clone()).unwrap();
            let want = detect_series(&s, &DetectConfig::default()).unwrap();
            assert!(!want.is_empty());
            assert_eq!(
                detect_samples(&key, &ts, &ys, &DetectConfig::default()).unwrap(),
                want
            );
            let nanos: Vec<i64> = ts.iter().map(|t| t.as_nanos()).collect();
            assert_eq!(
                detect_samples(&key, &nanos, &ys, &DetectConfig::default()).unwrap(),
                want
            );
        }
    }

    #[test]
    fn finite_columns_are_borrowed_and_gaps_copied() {
        let ts: Vec<i64> = (0..5).collect();
        let ys = [1.0, 2.0, 3.0, 4.0, 5.0];
        let (t, y) = finite_slices(&ts, &ys);
        assert!(matches!((&t, &y), (Cow::Borrowed(_), Cow::Borrowed(_))));
        assert_eq!(y.as_ptr(), ys.as_ptr());
        let gappy = [1.0, f64::NAN, 3.0, f64::INFINITY, 5.0];
        let (t, y) = finite_slices(&ts, &gappy);
        assert!(matches!((&t, &y), (Cow::Owned(_), Cow::Owned(_))));
        assert_eq!((&t[..], &y[..]), (&[0, 2, 4][..], &[1.0, 3.0, 5.0][..]));
    }

    #[test]
    fn samples_check_lengths_and_config() {
        let key = SeriesKey::new("a", "m");
        let err = detect_samples(&key, &[0i64, 1], &[1.0], &DetectConfig::default());
        assert_eq!(
            err,
            Err(DetectError::LengthMismatch {
                timestamps: 2,
                values: 1
            })
        );
        let cfg = DetectConfig {
            min_samples: 1,
            ..Default::default()
        };
        assert!(matches!(
            detect_samples::<i64>(&key, &[], &[], &cfg),
            Err(DetectError::InvalidConfig {
                field: "min_samples",
                ..
            })
        ));
        assert_eq!(
            detect_samples::<i64>(&key, &[], &[], &DetectConfig::default()),
            Ok(vec![])
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        #[test]
        fn samples_equal_series_on_random_input(
            seed in 1u64..u64::MAX,
            n in 0usize..300,
            step in -80.0f64..80.0,
            nan_every in 0usize..9,
            shuffle in proptest::bool::ANY,
            variance in proptest::bool::ANY,
        ) {
            let key = SeriesKey::new("svc", "m");
            let (ts, ys) = random_columns(seed, n, step, nan_every, shuffle);
            let cfg = DetectConfig {
                variance: variance.then(crate::VarianceConfig::default),
                ..Default::default()
            };
            let s = Series::new(key.clone(), ts.clone(), ys.clone()).unwrap();
            let want = detect_series(&s, &cfg).unwrap();
            proptest::prop_assert_eq!(&detect_samples(&key, &ts, &ys, &cfg).unwrap(), &want);
            let nanos: Vec<i64> = ts.iter().map(|t| t.as_nanos()).collect();
            proptest::prop_assert_eq!(&detect_samples(&key, &nanos, &ys, &cfg).unwrap(), &want);
        }
    }

    #[test]
    fn invalid_config_is_an_error() {
        let s = Series::new(SeriesKey::new("a", "m"), vec![], vec![]).unwrap();
        let cfg = DetectConfig {
            shift_threshold_sigma: -1.0,
            ..Default::default()
        };
        assert!(matches!(
            detect_series(&s, &cfg),
            Err(DetectError::InvalidConfig {
                field: "shift_threshold_sigma",
                ..
            })
        ));
    }
}

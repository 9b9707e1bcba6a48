//! [`DetectStageConfig`]: the `detect` section of [`crate::PipelineConfig`] — which detector
//! runs on every series, and which series the pipeline derives before detection (RED series
//! from spans and request metrics, USE series from resource metrics, rates of cumulative
//! counters), and the time-to-threshold forecasts of utilisation.
//!
//! The section is one flat object: the detector's settings, tagged by `method` as
//! [`faultline_detect::DetectorConfig`], plus the keys `red`, `use` and `counters`. An object without
//! `method` holds the segment detector's settings (the format before `method` existed), so
//! `detect: {point_threshold_sigma: 8}` and `detect: {method: segment, point_threshold_sigma:
//! 8}` are the same configuration.

use faultline_detect::red::RED_METRICS;
use faultline_detect::DetectorConfig;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// RED series derived from spans and request metrics (`detect.red`): per service and bucket,
/// request rate, error rate and ratio, and duration quantiles of the service's entry spans
/// ([`faultline_detect::red::red_from_spans`]) over the incident window, named
/// `span_<metric>` (`span_duration_p95_ms`, …), and of its Prometheus-style request counters,
/// latency histograms and summaries ([`faultline_detect::red::red_from_metrics`]), named
/// `red_<metric>` (`red_error_ratio`, …). A derived series is skipped when the bundle already
/// has a series with its key. Buckets cut by the window's edges are left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedSeriesConfig {
    /// Derive and detect RED series when the signals carry spans (default `true`).
    pub enabled: bool,
    /// Also derive them from request metrics (request counters with status labels or error
    /// counters, latency histograms and summaries) when the signals have such series (default
    /// `true`; needs `enabled`).
    pub from_metrics: bool,
    /// Bucket width in seconds (default 60, at least 1).
    pub bucket_secs: u64,
    /// Count only a service's entry spans, the server side of calls into it (default `true`);
    /// `false` counts every span, internal ones too.
    pub entry_spans_only: bool,
    /// Most buckets per series (default 100 000): a longer window derives nothing.
    pub max_buckets: usize,
    /// Fewest requests (entry spans) in a bucket for its error ratio and duration quantiles
    /// to count (default 10; fewer give NaN there, which detectors skip); a service whose
    /// median bucket has fewer derives no RED series at all, as with sampled traces, where
    /// one span a minute would make every bucket an outlier.
    pub min_bucket_spans: usize,
    /// Fewest errors in a bucket for its `error_rate` and `error_ratio` to be non-zero
    /// (default 3; fewer read as none). A service that rarely fails has an error baseline of
    /// exactly 0, against which a single failed request would be an outlier of unbounded z.
    pub min_bucket_errors: usize,
    /// Which RED metrics to derive, from `request_rate`, `error_rate`, `error_ratio`,
    /// `duration_p50_ms`, `duration_p95_ms`, `duration_p99_ms` (default all six).
    pub metrics: Vec<String>,
}

impl Default for RedSeriesConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            from_metrics: true,
            bucket_secs: 60,
            entry_spans_only: true,
            max_buckets: 100_000,
            min_bucket_spans: 10,
            min_bucket_errors: 3,
            metrics: RED_METRICS.iter().map(|m| (*m).to_owned()).collect(),
        }
    }
}

impl RedSeriesConfig {
    /// The settings of [`faultline_detect::red::red_from_spans`].
    pub fn red_config(&self) -> faultline_detect::red::RedConfig {
        faultline_detect::red::RedConfig {
            bucket_secs: self.bucket_secs,
            entry_spans_only: self.entry_spans_only,
            max_buckets: self.max_buckets,
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.bucket_secs == 0 {
            return Err("red.bucket_secs: must be at least 1".into());
        }
        if self.max_buckets == 0 {
            return Err("red.max_buckets: must be at least 1".into());
        }
        if let Some(bad) = self.metrics.iter().find(|m| !RED_METRICS.contains(&m.as_str())) {
            return Err(format!(
                "red.metrics: unknown RED metric `{bad}` (expected one of {})",
                RED_METRICS.join(", ")
            ));
        }
        Ok(())
    }
}

/// USE series and utilisation forecasts (`detect.use`).
///
/// Derivation: a resource metric (a name with a USE role, [`faultline_detect::red::use_role`])
/// that a service reports for several label combinations (pods, devices) also becomes one
/// service-level series, `use_<role>_<metric>`, the maximum of its instances per bucket
/// ([`faultline_detect::red::use_from_metrics`]: counters as rates, percentages as fractions).
/// A metric with one label combination is detected as it is (no duplicate series).
///
/// Forecast: every utilisation series — a `use_utilization_*` series, or a bundle series whose
/// name has the utilisation role and which is a percentage (`percent` / `pct` in the name) or a
/// fraction (all values in [0, 1]) — is forecast ([`faultline_detect::forecast::time_to_threshold`]); when the
/// forecast reaches `threshold` within the horizon, the report gets a `predictive` anomaly of
/// that service with the expected time ("disk full in 3 days").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UseSeriesConfig {
    /// Derive and detect the service-level USE series (default `true`).
    pub enabled: bool,
    /// Bucket width of the derived series, in seconds (default 60, at least 1).
    pub bucket_secs: u64,
    /// Forecast utilisation and report predicted exhaustion (default `false`: a trend
    /// extrapolated from an incident window also extrapolates the incident's own level shift —
    /// on the example bundles a CPU step after a bad deploy read as "CPU at 90 % within the
    /// hour" and displaced the latency evidence; turn it on for capacity questions).
    pub predict: bool,
    /// Utilisation, as a fraction, at which a resource counts as exhausted (default 0.9;
    /// a percentage series is compared with 90).
    pub threshold: f64,
    /// Farthest ahead a crossing is reported, in seconds (default 604 800: a week).
    pub horizon_secs: u64,
    /// ... and in multiples of the time the series covers (default 4: a one-hour window looks
    /// at most four hours ahead; a trend is not extrapolated far beyond what was seen).
    pub max_horizon_ratio: f64,
}

impl Default for UseSeriesConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            bucket_secs: 60,
            predict: false,
            threshold: 0.9,
            horizon_secs: 7 * 24 * 3600,
            max_horizon_ratio: 4.0,
        }
    }
}

impl UseSeriesConfig {
    fn validate(&self) -> Result<(), String> {
        if self.bucket_secs == 0 {
            return Err("use.bucket_secs: must be at least 1".into());
        }
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(format!(
                "use.threshold: must be in (0, 1], got {}",
                self.threshold
            ));
        }
        if self.horizon_secs == 0 {
            return Err("use.horizon_secs: must be at least 1".into());
        }
        if !(self.max_horizon_ratio.is_finite() && self.max_horizon_ratio > 0.0) {
            return Err(format!(
                "use.max_horizon_ratio: must be positive, got {}",
                self.max_horizon_ratio
            ));
        }
        Ok(())
    }
}

/// Cumulative counters detected on their rate (`detect.counters`): a series whose metric name
/// ends with one of `suffixes` and whose values never decrease except at counter resets
/// (at most `max_reset_fraction` of its steps) is replaced, for detection, by its per-second
/// rate ([`faultline_detect::red::counter_rate`], metric `<name>_rate` without `_total`).
/// When the bundle already has a series with the rate's key, the counter is skipped and the
/// bundle's rate is detected instead. A raw counter only ever climbs, so detecting on it
/// reports its climb, not a change in traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CounterRateConfig {
    /// Detect counters on their rate (default `true`).
    pub enabled: bool,
    /// Metric-name suffixes that mark a cumulative counter (default `["_total"]`, the
    /// Prometheus / OpenMetrics convention).
    pub suffixes: Vec<String>,
    /// Largest fraction of decreasing steps still read as counter resets (default 0.05); a
    /// series that decreases more often is a gauge despite its name and is detected as is.
    pub max_reset_fraction: f64,
}

impl Default for CounterRateConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            suffixes: vec!["_total".into()],
            max_reset_fraction: 0.05,
        }
    }
}

impl CounterRateConfig {
    fn validate(&self) -> Result<(), String> {
        if self.suffixes.iter().any(|s| s.trim().is_empty()) {
            return Err("counters.suffixes: a suffix must not be empty".into());
        }
        if !(self.max_reset_fraction.is_finite() && (0.0..=1.0).contains(&self.max_reset_fraction)) {
            return Err("counters.max_reset_fraction: must be in [0, 1]".into());
        }
        Ok(())
    }
}

/// The `detect` section of [`crate::PipelineConfig`]: the detector run on every series and the
/// series derived for detection. Serialised flat: the detector's settings with their `method`
/// tag, plus `red` and `counters` (see the module docs; without `method`, the segment
/// detector's settings).
///
/// ```
/// use faultline::detect::DetectorConfig;
/// let cfg = faultline::PipelineConfig::from_yaml(
///     "detect:\n  method: multi_res\n  resolutions_samples: [1, 5, 30]\n  red:\n    bucket_secs: 30\n",
/// )
/// .unwrap();
/// assert!(matches!(cfg.detect.detector, DetectorConfig::MultiRes(_)));
/// assert_eq!(cfg.detect.red.bucket_secs, 30);
///
/// // Without `method`: the segment detector's settings, as before `method` existed.
/// let legacy = faultline::PipelineConfig::from_yaml("detect:\n  point_threshold_sigma: 8\n").unwrap();
/// let DetectorConfig::Segment(seg) = &legacy.detect.detector else { panic!("segment") };
/// assert_eq!(seg.point_threshold_sigma, 8.0);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DetectStageConfig {
    /// The detector run on every series (default: the segment detector,
    /// [`faultline_detect::detect_series`], with its default settings).
    pub detector: DetectorConfig,
    /// RED series derived from spans.
    pub red: RedSeriesConfig,
    /// USE series from resource metrics and utilisation forecasts (key `use`).
    pub use_series: UseSeriesConfig,
    /// Cumulative counters detected on their rate.
    pub counters: CounterRateConfig,
}

/// Keys of the section that are not the detector's.
const RED_KEY: &str = "red";
const COUNTERS_KEY: &str = "counters";
const USE_KEY: &str = "use";

impl DetectStageConfig {
    /// Checks the detector's settings (by building it) and the derivation settings.
    pub fn validate(&self) -> Result<(), String> {
        self.detector.build().map_err(|e| e.to_string())?;
        self.red.validate()?;
        self.use_series.validate()?;
        self.counters.validate()
    }

    /// The section from a JSON value (`null` is the default). Used by `Deserialize`.
    fn from_json(v: serde_json::Value) -> Result<Self, String> {
        let mut map = match v {
            serde_json::Value::Null => return Ok(Self::default()),
            serde_json::Value::Object(m) => m,
            other => return Err(format!("expected a map of detection settings, found {other}")),
        };
        let red = match map.remove(RED_KEY) {
            Some(v) => serde_json::from_value(v).map_err(|e| format!("{RED_KEY}: {e}"))?,
            None => RedSeriesConfig::default(),
        };
        let counters = match map.remove(COUNTERS_KEY) {
            Some(v) => serde_json::from_value(v).map_err(|e| format!("{COUNTERS_KEY}: {e}"))?,
            None => CounterRateConfig::default(),
        };
        let use_series = match map.remove(USE_KEY) {
            Some(v) => serde_json::from_value(v).map_err(|e| format!("{USE_KEY}: {e}"))?,
            None => UseSeriesConfig::default(),
        };
        map.entry("method")
            .or_insert_with(|| serde_json::Value::String("segment".into()));
        let detector = serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| e.to_string())?;
        Ok(Self {
            detector,
            red,
            use_series,
            counters,
        })
    }

    /// The section as one flat JSON object. Used by `Serialize`.
    fn to_json(&self) -> Result<serde_json::Value, String> {
        let mut v = serde_json::to_value(&self.detector).map_err(|e| e.to_string())?;
        let map = v
            .as_object_mut()
            .ok_or_else(|| "detector settings must serialise to a map".to_owned())?;
        map.insert(
            RED_KEY.into(),
            serde_json::to_value(&self.red).map_err(|e| e.to_string())?,
        );
        map.insert(
            COUNTERS_KEY.into(),
            serde_json::to_value(&self.counters).map_err(|e| e.to_string())?,
        );
        map.insert(
            USE_KEY.into(),
            serde_json::to_value(&self.use_series).map_err(|e| e.to_string())?,
        );
        Ok(v)
    }
}

impl From<DetectorConfig> for DetectStageConfig {
    fn from(detector: DetectorConfig) -> Self {
        Self {
            detector,
            ..Default::default()
        }
    }
}

impl From<faultline_detect::DetectConfig> for DetectStageConfig {
    fn from(segment: faultline_detect::DetectConfig) -> Self {
        DetectorConfig::Segment(segment).into()
    }
}

impl Serialize for DetectStageConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().map_err(serde::ser::Error::custom)?.serialize(s)
    }
}

impl<'de> Deserialize<'de> for DetectStageConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_json(serde_json::Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use faultline_detect::DetectConfig;

    fn every_method() -> Vec<DetectorConfig> {
        vec![
            DetectorConfig::default(),
            DetectorConfig::RobustZ(Default::default()),
            DetectorConfig::RollingZ(Default::default()),
            DetectorConfig::ShEsd(Default::default()),
            DetectorConfig::SeasonalZ(Default::default()),
            DetectorConfig::Iqr(Default::default()),
            DetectorConfig::Variance(Default::default()),
            DetectorConfig::MultiRes(Default::default()),
        ]
    }

    #[test]
    fn no_detector_has_a_setting_named_like_the_section_keys() {
        for d in every_method() {
            let v = serde_json::to_value(&d).unwrap();
            for key in [RED_KEY, COUNTERS_KEY, USE_KEY] {
                assert!(v.get(key).is_none(), "{d:?} has a `{key}` setting");
            }
        }
    }

    #[test]
    fn every_method_round_trips_through_json_and_yaml() {
        for d in every_method() {
            let cfg = DetectStageConfig {
                detector: d,
                red: RedSeriesConfig {
                    bucket_secs: 15,
                    metrics: vec!["duration_p95_ms".into()],
                    ..Default::default()
                },
                counters: CounterRateConfig {
                    enabled: false,
                    ..Default::default()
                },
                use_series: UseSeriesConfig {
                    predict: true,
                    threshold: 0.8,
                    ..Default::default()
                },
            };
            let json = serde_json::to_string(&cfg).unwrap();
            assert_eq!(serde_json::from_str::<DetectStageConfig>(&json).unwrap(), cfg);
            let yaml = serde_norway::to_string(&cfg).unwrap();
            assert_eq!(serde_norway::from_str::<DetectStageConfig>(&yaml).unwrap(), cfg);
        }
    }

    #[test]
    fn a_section_without_method_is_the_segment_detector() {
        let legacy: DetectStageConfig =
            serde_json::from_str(r#"{"min_samples": 20, "point_threshold_sigma": 7.5}"#).unwrap();
        let want = DetectConfig {
            min_samples: 20,
            point_threshold_sigma: 7.5,
            ..Default::default()
        };
        assert_eq!(legacy, DetectStageConfig::from(want));
        let alias: DetectStageConfig = serde_json::from_str(
            r#"{"method": "level_shift", "min_samples": 20, "point_threshold_sigma": 7.5}"#,
        )
        .unwrap();
        assert_eq!(alias, legacy);
    }

    #[test]
    fn bad_derivation_settings_are_named() {
        let red = DetectStageConfig {
            red: RedSeriesConfig {
                metrics: vec!["latency".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(red.validate().unwrap_err().contains("`latency`"));
        let counters = DetectStageConfig {
            counters: CounterRateConfig {
                max_reset_fraction: 2.0,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(counters
            .validate()
            .unwrap_err()
            .starts_with("counters.max_reset_fraction"));
        assert!(
            serde_json::from_str::<DetectStageConfig>(r#"{"red": {"bucket": 5}}"#)
                .unwrap_err()
                .to_string()
                .contains("bucket")
        );
        assert!(serde_json::from_str::<DetectStageConfig>("[1]").is_err());
    }
}

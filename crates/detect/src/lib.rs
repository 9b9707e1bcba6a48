//! # faultline-detect
//!
//! How faultline notices that something is wrong in a metric: batch detection of level
//! shifts, trends and outliers in an incident window, causal streaming scores, online
//! detectors with bounded state, and STL seasonal decomposition.
//!
//! ```
//! use faultline_core::{AnomalyKind, Series, SeriesKey, Timestamp};
//! use faultline_detect::{detect_series, score_stream, DetectConfig, StreamConfig};
//!
//! // One hour of p95 latency at 15 s: ~120 ms, then a step to ~300 ms at sample 160.
//! let values: Vec<f64> = (0..240).map(|i| if i < 160 { 120.0 } else { 300.0 } + ((i * 37) % 11) as f64).collect();
//! let ts: Vec<Timestamp> = (0..240).map(|i| Timestamp::from_secs(1_700_000_000 + 15 * i)).collect();
//! let series = Series::new(SeriesKey::new("checkout", "latency_p95_ms"), ts.clone(), values.clone()).unwrap();
//!
//! let anomalies = detect_series(&series, &DetectConfig::default()).unwrap();
//! assert_eq!(anomalies.len(), 1);
//! assert_eq!(anomalies[0].kind, AnomalyKind::LevelShift);
//! assert_eq!(anomalies[0].start, ts[160]);
//!
//! // Streaming: one causal score in [0, 1] per sample.
//! let scores = score_stream(&ts, &values, &StreamConfig::default());
//! assert_eq!(scores.len(), values.len());
//! ```
//!
//! Main items:
//! - [`detect_series`] / [`DetectConfig`]: batch detection, one [`faultline_core::Anomaly`]
//!   per episode; [`Detector`] and [`DetectorConfig`] to choose another method;
//! - [`score_stream`] / [`StreamConfig`] / [`StreamDetector`]: causal scores for
//!   `faultline detect` (NAB-style streams);
//! - [`OnlineDetector`]: [`RobustZ`] (median/MAD) and [`RollingZ`] (mean/sd), one point at a
//!   time with bounded state; [`SeasonalZ`] (robust Holt-Winters residuals) for seasonal
//!   series; [`MultiRes`] (several aggregation windows fused, so a lone noisy point is not an
//!   alert but a sustained shift is);
//! - [`stl()`] / [`StlParams`] / [`Decomposition`]: STL matching statsmodels in f64;
//!   [`mstl()`] for several periods;
//! - [`sh_esd`] (Seasonal-Hybrid ESD), [`IqrFence`] (Tukey's fences), [`detect_variance`]
//!   (volatility changes, ICSS);
//! - [`forecast()`] / [`time_to_threshold`]: Holt / ETS(A,A,N) on the STL-deseasonalised
//!   series with prediction intervals; a threshold crossing becomes a predictive anomaly;
//! - [`red::red_from_spans`], [`red::counter_rate`], [`red::use_role`]: RED series from
//!   spans and counters, USE roles of resource metrics;
//! - [`seasonal::detect_period`]: automatic period detection (autocorrelation);
//! - [`DetectError`]: the crate's error type.

pub mod batch;
pub mod error;
pub mod esd;
pub mod forecast;
pub mod iqr;
pub mod mstl;
pub mod multires;
mod novelty;
pub mod online;
pub mod red;
pub mod rolling;
pub mod seasonal;
pub mod seasonal_z;
pub mod stats;
pub mod stl;
pub mod stream;
pub mod variance;

pub use batch::{
    detect_samples, detect_series, DetectConfig, Detector, DetectorConfig, OnlineBatch, SampleTime,
    SegmentDetector,
};
pub use error::DetectError;
pub use esd::{sh_esd, EsdDirection, ShEsdConfig};
pub use forecast::{forecast, time_to_threshold, Forecast, ForecastConfig, ThresholdSide};
pub use iqr::{IqrConfig, IqrFence};
pub use mstl::{mstl, MstlDecomposition, MstlParams};
pub use multires::{MultiRes, MultiResConfig};
pub use online::{OnlineDetector, RobustZ, RobustZConfig, RollingZ, RollingZConfig};
pub use seasonal_z::{SeasonalZ, SeasonalZConfig};
pub use stl::{stl, Decomposition, StlParams};
pub use stream::{score_stream, StreamConfig, StreamDetector};
pub use variance::{detect_variance, VarianceConfig};

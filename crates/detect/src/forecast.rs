//! Forecasting with prediction intervals, and time-to-threshold ("disk full in 3 days") as a
//! predictive anomaly.
//!
//! Model: optional seasonal component from STL (period given, or detected by
//! [`crate::seasonal::detect_period`] when at least three periods are available), repeated
//! forward from the last cycle; the deseasonalised series follows Holt's linear method, i.e.
//! ETS(A,A,N) (Hyndman, Koehler, Ord and Snyder 2008, *Forecasting with Exponential
//! Smoothing*, ch. 2 and Table 6.1):
//! `ℓ_t = ℓ_{t-1} + b_{t-1} + α e_t`, `b_t = b_{t-1} + αβ e_t` with one-step error
//! `e_t = y_t - ℓ_{t-1} - b_{t-1}`; `α` and `β` are chosen on a fixed grid by the smallest sum
//! of squared one-step errors (deterministic, no optimiser). The `h`-step variance is
//! `σ² (1 + (h - 1)(α² + α²β h + α²β² h (2h - 1) / 6))` (class-1 formula for ETS(A,A,N) with
//! smoothing parameters `α` and `αβ`), `σ²` the mean squared one-step error after a burn-in;
//! intervals use Student's t quantile with `n - 2` degrees of freedom.
//!
//! Time to threshold: the first step whose point forecast reaches the threshold (from below
//! for [`ThresholdSide::Above`], from above for `Below`) within `horizon_samples` gives an
//! [`AnomalyKind::Predictive`] anomaly with `eta` = last timestamp + steps × the median
//! sampling interval. Series already beyond the threshold give `None` (that is a current
//! anomaly, not a prediction).

use faultline_core::{Anomaly, AnomalyKind, Expected, Series, Timestamp};
use serde::{Deserialize, Serialize};

use crate::batch::{anomaly, finite_samples};
use crate::esd::student_t_upper_quantile;
use crate::{stl, DetectError, StlParams};

/// Name recorded in [`Anomaly::detector`] by [`time_to_threshold`].
pub const FORECAST_DETECTOR: &str = "holt_forecast";

/// Settings of [`forecast`] and [`time_to_threshold`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForecastConfig {
    /// Season length in samples; `None` = detected; `Some(0)` = no seasonality.
    pub period_samples: Option<usize>,
    /// Smallest autocorrelation accepted for a detected period.
    pub min_period_acf: f64,
    /// Steps forecast.
    pub horizon_samples: usize,
    /// Coverage of the prediction interval, in (0, 1).
    pub interval_level: f64,
    /// Fewer finite samples than this is [`DetectError::TooShort`].
    pub min_samples: usize,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        Self {
            period_samples: None,
            min_period_acf: 0.3,
            horizon_samples: 1440,
            interval_level: 0.95,
            min_samples: 10,
        }
    }
}

impl ForecastConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), DetectError> {
        if self.period_samples == Some(1) {
            return Err(DetectError::config(
                "period_samples",
                "must be 0 (none) or at least 2",
            ));
        }
        if self.horizon_samples == 0 {
            return Err(DetectError::config("horizon_samples", "must be at least 1"));
        }
        if !(self.interval_level > 0.0 && self.interval_level < 1.0) {
            return Err(DetectError::config("interval_level", "must be in (0, 1)"));
        }
        if self.min_samples < 4 {
            return Err(DetectError::config("min_samples", "must be at least 4"));
        }
        Ok(())
    }
}

/// A forecast: `horizon_samples` steps after the last finite sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// Point forecasts, step 1 first.
    pub mean: Vec<f64>,
    /// Lower bounds of the prediction interval.
    pub lower: Vec<f64>,
    /// Upper bounds of the prediction interval.
    pub upper: Vec<f64>,
    /// Season length used (`None` = no seasonal component).
    pub period_samples: Option<usize>,
    /// Chosen level smoothing `α`.
    pub alpha: f64,
    /// Chosen trend smoothing `β` (the trend moves by `αβ e`).
    pub beta: f64,
    /// Standard deviation of the one-step errors.
    pub sigma: f64,
}

/// Holt's method on `y`: (sse after burn-in, errors counted, final level, final trend).
fn holt(y: &[f64], alpha: f64, beta: f64, burn: usize) -> (f64, usize, f64, f64) {
    let k = burn.clamp(1, y.len() - 1);
    let mut level = y[0];
    let mut trend = (y[k] - y[0]) / k as f64;
    let (mut sse, mut count) = (0.0, 0usize);
    for (t, &v) in y.iter().enumerate().skip(1) {
        let e = v - level - trend;
        if t >= burn {
            sse += e * e;
            count += 1;
        }
        level += trend + alpha * e;
        trend += alpha * beta * e;
    }
    (sse, count, level, trend)
}

/// Forecasts the finite samples of `values` (see the module docs).
///
/// Errors: [`DetectError::InvalidConfig`], or [`DetectError::TooShort`] with fewer than
/// `min_samples` finite values.
///
/// ```
/// use faultline_detect::forecast::{forecast, ForecastConfig};
/// let y: Vec<f64> = (0..100).map(|i| 10.0 + 0.5 * i as f64 + (i % 3) as f64 * 0.1).collect();
/// let f = forecast(&y, &ForecastConfig { period_samples: Some(0), horizon_samples: 10, ..Default::default() }).unwrap();
/// assert!((f.mean[9] - (10.0 + 0.5 * 109.0)).abs() < 1.0);
/// assert!(f.lower[9] <= f.mean[9] && f.mean[9] <= f.upper[9]);
/// ```
pub fn forecast(values: &[f64], cfg: &ForecastConfig) -> Result<Forecast, DetectError> {
    cfg.validate()?;
    let y: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = y.len();
    if n < cfg.min_samples {
        return Err(DetectError::TooShort {
            needed: cfg.min_samples,
            got: n,
        });
    }
    let period = match cfg.period_samples {
        Some(0) => None,
        Some(p) => Some(p),
        None => crate::seasonal::detect_period(&y, cfg.min_period_acf),
    }
    .filter(|&p| n >= 3 * p);
    let seasonal = match period {
        Some(p) => Some(stl(&y, &StlParams::robust(p))?.seasonal),
        None => None,
    };
    let deseason: Vec<f64> = match &seasonal {
        Some(s) => y.iter().zip(s).map(|(v, s)| v - s).collect(),
        None => y.clone(),
    };
    let burn = (n / 10).clamp(2, period.unwrap_or(10).max(2));
    let mut best = (f64::INFINITY, 0usize, 0.0, 0.0, 0.5, 0.1);
    for alpha in [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9] {
        for beta in [0.0, 0.01, 0.05, 0.1, 0.2, 0.5] {
            let (sse, count, level, trend) = holt(&deseason, alpha, beta, burn);
            if sse < best.0 {
                best = (sse, count, level, trend, alpha, beta);
            }
        }
    }
    let (sse, count, level, trend, alpha, beta) = best;
    let sigma = (sse / count.max(1) as f64).sqrt();
    let q = student_t_upper_quantile((1.0 - cfg.interval_level) / 2.0, (n - 2) as f64);
    let (mut mean, mut lower, mut upper) = (Vec::new(), Vec::new(), Vec::new());
    for h in 1..=cfg.horizon_samples {
        let hf = h as f64;
        let season = match (&seasonal, period) {
            // The last observed cycle, repeated.
            (Some(s), Some(p)) => s[n - p + (h - 1) % p],
            _ => 0.0,
        };
        let m = level + hf * trend + season;
        let b = alpha * beta;
        let var = sigma
            * sigma
            * (1.0 + (hf - 1.0) * (alpha * alpha + alpha * b * hf + b * b * hf * (2.0 * hf - 1.0) / 6.0));
        let half = q * var.sqrt();
        mean.push(m);
        lower.push(m - half);
        upper.push(m + half);
    }
    Ok(Forecast {
        mean,
        lower,
        upper,
        period_samples: period,
        alpha,
        beta,
        sigma,
    })
}

/// Which crossing [`time_to_threshold`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdSide {
    /// The series rises to the threshold (disk usage, CPU, latency).
    #[default]
    Above,
    /// The series falls to the threshold (free space, remaining quota).
    Below,
}

/// When the forecast of `series` reaches `threshold`, as an [`AnomalyKind::Predictive`]
/// anomaly at the last sample; `None` when it does not within `horizon_samples` or the last
/// value is already beyond it. Score: `1 - h / (2 horizon)` for a crossing after `h` steps
/// (1 now, 0.5 at the horizon). The expected value and band are the forecast and its interval
/// at the crossing.
///
/// ```
/// use faultline_core::{AnomalyKind, Series, SeriesKey, Timestamp};
/// use faultline_detect::forecast::{time_to_threshold, ForecastConfig, ThresholdSide};
/// // Disk usage: 50 % rising 0.5 % per hour, hourly samples for two days (73.5 % now).
/// let v: Vec<f64> = (0..48).map(|i| 50.0 + 0.5 * i as f64 + 0.2 * ((i * 7) % 3) as f64).collect();
/// let ts = (0..48).map(|i| Timestamp::from_secs(3600 * i)).collect();
/// let s = Series::new(SeriesKey::new("db", "disk_used_pct"), ts, v).unwrap();
/// let cfg = ForecastConfig { period_samples: Some(0), horizon_samples: 24 * 7, ..Default::default() };
/// let a = time_to_threshold(&s, 95.0, ThresholdSide::Above, &cfg).unwrap().unwrap();
/// let AnomalyKind::Predictive { eta, .. } = a.kind else { panic!() };
/// let hours = (eta.as_secs() - 47 * 3600) / 3600;
/// assert!((40..=46).contains(&hours), "{hours}"); // full in about 43 hours
/// ```
pub fn time_to_threshold(
    series: &Series,
    threshold: f64,
    side: ThresholdSide,
    cfg: &ForecastConfig,
) -> Result<Option<Anomaly>, DetectError> {
    if !threshold.is_finite() {
        return Err(DetectError::config(
            "threshold",
            format!("must be finite, got {threshold}"),
        ));
    }
    let (ts, ys) = finite_samples(series);
    let f = forecast(&ys, cfg)?;
    let n = ys.len();
    let last = ys[n - 1];
    let beyond = |v: f64| match side {
        ThresholdSide::Above => v >= threshold,
        ThresholdSide::Below => v <= threshold,
    };
    if beyond(last) {
        return Ok(None);
    }
    let Some(h) = f.mean.iter().position(|&m| beyond(m)) else {
        return Ok(None);
    };
    let mut steps: Vec<i64> = ts.windows(2).map(|w| w[1].as_nanos() - w[0].as_nanos()).collect();
    steps.sort_unstable();
    let step = steps.get(steps.len() / 2).copied().unwrap_or(0).max(0);
    let eta = Timestamp(
        ts[n - 1]
            .as_nanos()
            .saturating_add(step.saturating_mul(h as i64 + 1)),
    );
    let score = 1.0 - (h + 1) as f64 / (2.0 * cfg.horizon_samples as f64);
    Ok(Some(anomaly(
        series,
        &ts,
        (n - 1, n - 1, n - 1),
        last,
        Expected {
            value: f.mean[h],
            lower: f.lower[h],
            upper: f.upper[h],
        },
        score.clamp(0.0, 1.0),
        AnomalyKind::Predictive { eta, threshold },
        FORECAST_DETECTOR,
    )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use faultline_core::SeriesKey;

    fn noise(s: &mut u64) -> f64 {
        *s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    #[test]
    fn seasonal_trend_reaches_threshold_at_a_daily_peak() {
        // CPU: daily cycle of ±20 around a level rising 2 points per day, 5-minute samples.
        let p = 288;
        let mut s = 4u64;
        let v: Vec<f64> = (0..p * 7)
            .map(|i| {
                let t = i as f64;
                40.0 + 2.0 * t / p as f64
                    + 20.0 * (t / p as f64 * std::f64::consts::TAU).sin()
                    + noise(&mut s)
            })
            .collect();
        let f = forecast(
            &v,
            &ForecastConfig {
                horizon_samples: p * 10,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(f.period_samples, Some(p));
        // Daily peaks at phase p/4: 40 + 2 d + 20 reaches 95 at day 17.5 -> day 18's peak.
        let ts: Vec<Timestamp> = (0..v.len() as i64)
            .map(|i| Timestamp::from_secs(300 * i))
            .collect();
        let series = Series::new(SeriesKey::new("web", "cpu_pct"), ts, v).unwrap();
        let cfg = ForecastConfig {
            horizon_samples: p * 14,
            ..Default::default()
        };
        let a = time_to_threshold(&series, 95.0, ThresholdSide::Above, &cfg)
            .unwrap()
            .unwrap();
        let AnomalyKind::Predictive { eta, threshold } = a.kind else {
            panic!("{a:?}")
        };
        assert_eq!(threshold, 95.0);
        let day = eta.as_secs() as f64 / (300.0 * p as f64);
        assert!((17.0..18.6).contains(&day), "{day}");
        assert!(a.expected.lower < a.expected.value && a.expected.value < a.expected.upper);
        assert!(time_to_threshold(&series, 500.0, ThresholdSide::Above, &cfg)
            .unwrap()
            .is_none());
        assert!(time_to_threshold(&series, 0.0, ThresholdSide::Above, &cfg)
            .unwrap()
            .is_none());
    }

    #[test]
    fn intervals_widen_with_the_horizon_and_short_input_is_an_error() {
        let mut s = 8u64;
        let y: Vec<f64> = (0..200).map(|i| 5.0 + 0.1 * i as f64 + noise(&mut s)).collect();
        let f = forecast(
            &y,
            &ForecastConfig {
                period_samples: Some(0),
                horizon_samples: 50,
                ..Default::default()
            },
        )
        .unwrap();
        let w = |h: usize| f.upper[h] - f.lower[h];
        assert!(w(0) > 0.0 && w(49) > w(0));
        assert!(matches!(
            forecast(&y[..5], &ForecastConfig::default()),
            Err(DetectError::TooShort { .. })
        ));
        let mut with_nan = y.clone();
        with_nan[10] = f64::NAN;
        assert!(forecast(&with_nan, &ForecastConfig::default()).is_ok());
    }
}

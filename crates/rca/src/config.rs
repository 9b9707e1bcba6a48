//! [`RcaConfig`]: every knob of the analysis, with documented defaults.

use serde::{Deserialize, Serialize};

use crate::RcaError;

/// Configuration of root-cause analysis. One configuration serves every system; the
/// defaults are what the evaluation in `docs/rca.md` was measured with.
///
/// ```
/// use faultline_rca::RcaConfig;
/// let cfg: RcaConfig = serde_json::from_str(r#"{"top_n": 3}"#).unwrap();
/// assert_eq!(cfg.top_n, 3);
/// assert_eq!(cfg.change_window_secs, 1800);
/// cfg.validate().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RcaConfig {
    /// Change events within ± this many seconds of the onset are correlated (default 1800).
    pub change_window_secs: u64,
    /// Number of hypotheses returned (default 10).
    pub top_n: usize,
    /// Weight of a downward metric shift relative to an upward one, in [0, 1] (default 0.5):
    /// the load and latency of services *behind* a fault often drop, so drops are weaker
    /// evidence of a root cause than rises.
    pub down_shift_weight: f64,
    /// Robust z-scores are capped here so one degenerate series cannot dominate (default 1000).
    pub max_z: f64,
    /// Cap of the robust z of a series whose baseline was constant (default 3).
    pub constant_baseline_max_z: f64,
    /// Minimum pre-onset samples a series needs to be scored (default 3).
    pub min_baseline_samples: usize,
    /// Fit a linear model of a service's series on its dependencies' series over the baseline
    /// and score the residual, i.e. the part of the shift the dependencies do not explain
    /// (default true). Needs `regression_samples_per_param` baseline samples per regressor.
    pub residual_regression: bool,
    /// Baseline samples required per regression parameter (default 10).
    pub regression_samples_per_param: usize,
    /// Most regressors in one residual model (default 40); larger neighbourhoods are skipped.
    pub max_regressors: usize,
    /// Metric names containing one of these markers measure the service's calls to its
    /// dependencies (client-side latency, outbound errors), not the service itself (default
    /// `["client"]`, as in OpenTelemetry's client/server span kinds).
    pub dependency_metric_markers: Vec<String>,
    /// Weight of such dependency-side metrics relative to the service's own (default 0.25):
    /// their rise is a symptom of a dependency's fault more often than of the service's.
    pub dependency_metric_weight: f64,
    /// Weight of the metric channel in the service score (default 1.0).
    pub metric_weight: f64,
    /// Weight of the error channel (error logs, new/spiking error templates, error spans)
    /// (default 2.0).
    pub error_weight: f64,
    /// Weight of the span-latency channel (self time and caller→callee gaps) (default 2.0,
    /// as the error channel: both localise a fault directly, excluding what dependencies
    /// add).
    pub latency_weight: f64,
    /// Weight of a correlated change event (default 1.0).
    pub change_weight: f64,
    /// Half-saturation of the metric channel, in robust z units (default 5).
    pub metric_half_z: f64,
    /// Half-saturation of the error channel, in error records per minute (default 3).
    pub error_half_per_min: f64,
    /// Half-saturation of the latency channel, as a relative increase (default 2.0 = self
    /// time or network time tripled): busy services' self-time quantiles drift by +100 % to
    /// +300 % without a fault, while CPU saturation and network delay move them tenfold to a
    /// hundredfold.
    pub latency_half_ratio: f64,
    /// How much a service is discounted when one of its dependencies is at least as
    /// anomalous as itself, in [0, 1] (default 0.5): faults propagate to callers.
    pub propagation_discount: f64,
    /// Prior probability that a change fails, used when the host gives no history
    /// (default 0.2).
    pub change_failure_prior: f64,
    /// Alerts with equal values of these labels form one group (default `["alertname"]`
    /// plus the service).
    pub alert_group_by: Vec<String>,
    /// Alerts of one group key whose starts are further apart than this open a new group
    /// (Alertmanager's group interval; default 300).
    pub alert_group_interval_secs: u64,
}

impl Default for RcaConfig {
    fn default() -> Self {
        Self {
            change_window_secs: 1800,
            top_n: 10,
            down_shift_weight: 0.5,
            max_z: 1000.0,
            constant_baseline_max_z: 3.0,
            min_baseline_samples: 3,
            residual_regression: true,
            regression_samples_per_param: 10,
            max_regressors: 40,
            dependency_metric_markers: vec!["client".to_owned()],
            dependency_metric_weight: 0.25,
            metric_weight: 1.0,
            error_weight: 2.0,
            latency_weight: 2.0,
            change_weight: 1.0,
            metric_half_z: 5.0,
            error_half_per_min: 3.0,
            latency_half_ratio: 2.0,
            propagation_discount: 0.5,
            change_failure_prior: 0.2,
            alert_group_by: vec!["alertname".to_owned()],
            alert_group_interval_secs: 300,
        }
    }
}

impl RcaConfig {
    /// Checks every field once; analysis code relies on it.
    pub fn validate(&self) -> Result<(), RcaError> {
        let bad = |field, value: String, reason| Err(RcaError::InvalidConfig { field, value, reason });
        if self.top_n == 0 {
            return bad("top_n", "0".into(), "must be at least 1");
        }
        for (field, v) in [
            ("down_shift_weight", self.down_shift_weight),
            ("propagation_discount", self.propagation_discount),
            ("change_failure_prior", self.change_failure_prior),
            ("dependency_metric_weight", self.dependency_metric_weight),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(field, v.to_string(), "must be in [0, 1]");
            }
        }
        for (field, v) in [
            ("metric_weight", self.metric_weight),
            ("error_weight", self.error_weight),
            ("latency_weight", self.latency_weight),
            ("change_weight", self.change_weight),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(field, v.to_string(), "must be finite and non-negative");
            }
        }
        for (field, v) in [
            ("max_z", self.max_z),
            ("constant_baseline_max_z", self.constant_baseline_max_z),
            ("metric_half_z", self.metric_half_z),
            ("error_half_per_min", self.error_half_per_min),
            ("latency_half_ratio", self.latency_half_ratio),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(field, v.to_string(), "must be finite and positive");
            }
        }
        if self.min_baseline_samples < 2 {
            return bad(
                "min_baseline_samples",
                self.min_baseline_samples.to_string(),
                "must be at least 2",
            );
        }
        if self.regression_samples_per_param < 2 {
            return bad(
                "regression_samples_per_param",
                self.regression_samples_per_param.to_string(),
                "must be at least 2",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_out_of_range_values_are_named() {
        RcaConfig::default().validate().unwrap();
        let cfg = RcaConfig {
            propagation_discount: 1.5,
            ..RcaConfig::default()
        };
        let e = cfg.validate().unwrap_err();
        assert!(e.to_string().contains("propagation_discount"), "{e}");
        let cfg = RcaConfig {
            top_n: 0,
            ..RcaConfig::default()
        };
        assert!(cfg.validate().is_err());
    }
}

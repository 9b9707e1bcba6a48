//! MSTL: STL for several seasonal periods (Bandara, Hyndman and Bergmeir 2021, "MSTL: A
//! Seasonal-Trend Decomposition Algorithm for Time Series with Multiple Seasonal Patterns",
//! arXiv:2107.13462), with statsmodels' defaults (`statsmodels.tsa.seasonal.MSTL`).
//!
//! Periods are processed in ascending order; each seasonal component is re-estimated
//! `iterations` times (1 when there is a single period) by STL on the series with the other
//! components removed: `deseason += S_j; S_j = STL(deseason, period_j).seasonal;
//! deseason -= S_j`. The trend is the one of the last STL fit, the remainder `deseason -
//! trend`. Seasonal lengths default to `7 + 4 i` for the `i`-th period (1-based, ascending).
//! Periods that do not fit twice in the series are an error (statsmodels drops them
//! silently; here the caller decides).

use serde::{Deserialize, Serialize};

use crate::{stl, DetectError, StlParams};

/// Settings of [`mstl()`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MstlParams {
    /// Seasonal periods in samples (each at least 2; any order, duplicates rejected).
    pub periods: Vec<usize>,
    /// Seasonal smoother length per period, in the order of `periods`; `None` = `7 + 4 i`
    /// by ascending period.
    pub seasonal_lengths: Option<Vec<usize>>,
    /// Passes over all seasonal components (statsmodels: 2).
    pub iterations: usize,
    /// Settings of each STL fit; `period` and `seasonal` are set per component, and `trend`
    /// and `low_pass` (when `None`) are resolved per component.
    pub stl: StlParams,
}

impl Default for MstlParams {
    fn default() -> Self {
        Self {
            periods: vec![24, 168],
            seasonal_lengths: None,
            iterations: 2,
            stl: StlParams::default(),
        }
    }
}

/// The components of an MSTL decomposition; `trend + Σ seasonal + remainder` is the input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MstlDecomposition {
    /// The periods, ascending.
    pub periods: Vec<usize>,
    /// Trend component.
    pub trend: Vec<f64>,
    /// One seasonal component per period, in the order of `periods`.
    pub seasonal: Vec<Vec<f64>>,
    /// What is left.
    pub remainder: Vec<f64>,
}

/// Decomposes `values` (equally spaced, finite) into a trend, one seasonal component per
/// period and a remainder.
///
/// Errors: [`DetectError::InvalidConfig`] for no or duplicate periods, mismatched seasonal
/// lengths or invalid STL settings; [`DetectError::TooShort`] when the longest period does not
/// fit twice; [`DetectError::NonFinite`] for NaN or infinite values.
///
/// ```
/// use faultline_detect::mstl::{mstl, MstlParams};
/// let y: Vec<f64> = (0..24 * 7 * 4)
///     .map(|i| {
///         let t = i as f64;
///         10.0 + (t * std::f64::consts::TAU / 24.0).sin() + 3.0 * (t * std::f64::consts::TAU / 168.0).cos()
///     })
///     .collect();
/// let d = mstl(&y, &MstlParams { periods: vec![168, 24], ..Default::default() }).unwrap();
/// assert_eq!(d.periods, vec![24, 168]);
/// let i = 300;
/// let sum = d.trend[i] + d.seasonal[0][i] + d.seasonal[1][i] + d.remainder[i];
/// assert!((sum - y[i]).abs() < 1e-9);
/// assert!((d.seasonal[1][i] - 3.0 * (i as f64 * std::f64::consts::TAU / 168.0).cos()).abs() < 0.3);
/// ```
pub fn mstl(values: &[f64], params: &MstlParams) -> Result<MstlDecomposition, DetectError> {
    if params.periods.is_empty() {
        return Err(DetectError::config("periods", "must not be empty"));
    }
    if params.iterations == 0 {
        return Err(DetectError::config("iterations", "must be at least 1"));
    }
    let mut order: Vec<usize> = (0..params.periods.len()).collect();
    order.sort_by_key(|&i| params.periods[i]);
    if order
        .windows(2)
        .any(|w| params.periods[w[0]] == params.periods[w[1]])
    {
        return Err(DetectError::config("periods", "must not repeat"));
    }
    if let Some(l) = &params.seasonal_lengths {
        if l.len() != params.periods.len() {
            return Err(DetectError::config(
                "seasonal_lengths",
                format!("has {} entries for {} periods", l.len(), params.periods.len()),
            ));
        }
    }
    let n = values.len();
    let longest = params.periods[order[order.len() - 1]];
    if n < 2 * longest {
        return Err(DetectError::TooShort {
            needed: 2 * longest,
            got: n,
        });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(DetectError::NonFinite { index, value });
    }
    let iterations = if order.len() == 1 { 1 } else { params.iterations };
    let mut seasonal = vec![vec![0.0; n]; order.len()];
    let mut deseason = values.to_vec();
    let mut trend = vec![0.0; n];
    for _ in 0..iterations {
        for (rank, &j) in order.iter().enumerate() {
            for (d, s) in deseason.iter_mut().zip(&seasonal[rank]) {
                *d += s;
            }
            let p = StlParams {
                period: params.periods[j],
                seasonal: params
                    .seasonal_lengths
                    .as_ref()
                    .map_or(7 + 4 * (rank + 1), |l| l[j]),
                ..params.stl.clone()
            };
            let fit = stl(&deseason, &p)?;
            seasonal[rank] = fit.seasonal;
            trend = fit.trend;
            for (d, s) in deseason.iter_mut().zip(&seasonal[rank]) {
                *d -= s;
            }
        }
    }
    let remainder = deseason.iter().zip(&trend).map(|(d, t)| d - t).collect();
    Ok(MstlDecomposition {
        periods: order.iter().map(|&j| params.periods[j]).collect(),
        trend,
        seasonal,
        remainder,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bad_inputs_give_typed_errors() {
        let y = vec![1.0; 100];
        let p = |periods: Vec<usize>| MstlParams {
            periods,
            ..Default::default()
        };
        assert!(matches!(
            mstl(&y, &p(vec![])),
            Err(DetectError::InvalidConfig { .. })
        ));
        assert!(matches!(
            mstl(&y, &p(vec![5, 5])),
            Err(DetectError::InvalidConfig { .. })
        ));
        assert!(matches!(
            mstl(&y, &p(vec![5, 60])),
            Err(DetectError::TooShort { .. })
        ));
        let mut z = y.clone();
        z[3] = f64::NAN;
        assert!(matches!(
            mstl(&z, &p(vec![5, 12])),
            Err(DetectError::NonFinite { index: 3, .. })
        ));
        let d = mstl(&y, &p(vec![12, 5])).unwrap();
        assert!(d.remainder.iter().all(|r| r.abs() < 1e-9));
    }
}

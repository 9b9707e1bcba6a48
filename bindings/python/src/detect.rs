//! Detection on one series: causal per-sample scores (`score`), anomaly episodes (`detect`) and
//! STL decomposition (`decompose`).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array};
use faultline::core::{Series, SeriesKey, Timestamp};
use faultline::detect::{StlParams, StreamConfig, StreamDetector};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::columns::{self, Column};
use crate::convert;
use crate::errors::{input_error, IntoPy};
use crate::output::ArrowData;

/// Causal anomaly scores in [0, 1], one per value (row i's score uses rows <= i): the
/// `faultline detect` protocol. `values` is read in place when it is an Arrow float64 column.
/// `config` is a `StreamConfig` dict.
#[pyfunction]
#[pyo3(signature = (values, config=None))]
pub fn score(
    py: Python<'_>,
    values: &Bound<'_, PyAny>,
    config: Option<&Bound<'_, PyAny>>,
) -> PyResult<ArrowData> {
    let cfg: StreamConfig = convert::stage_config(config, "config")?;
    let mut det = StreamDetector::try_new(cfg).py_err()?;
    let col = columns::column(values, "values")?;
    let chunks = columns::f64_chunks(&col, "values")?;
    let scores = py.detach(|| {
        let n = chunks.iter().map(|c| c.len()).sum();
        let mut out = Vec::with_capacity(n);
        for c in &chunks {
            out.extend(c.iter().map(|&v| det.update(v)));
        }
        out
    });
    ArrowData::column("score", Arc::new(Float64Array::from(scores)) as ArrayRef)
}

/// Anomaly episodes of one series (the batch detection `analyze` runs on every series), as
/// report-shaped dicts. `timestamps` default to one second apart from the epoch. `config` is a
/// `PipelineConfig` dict (its `detect` section is used).
#[pyfunction]
#[pyo3(signature = (values, timestamps=None, *, service="series", metric="value", config=None))]
pub fn detect<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyAny>,
    timestamps: Option<&Bound<'py, PyAny>>,
    service: &str,
    metric: &str,
    config: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let cfg = convert::pipeline_config(config)?;
    let series = build_series(values, timestamps, service, metric)?;
    let found = py
        .detach(|| faultline::detect::detect_series(&series, &cfg.detect))
        .py_err()?;
    let out = PyList::empty(py);
    for a in &found {
        out.append(convert::ser_to_py(py, a)?)?;
    }
    Ok(out)
}

/// A series from a values column and an optional timestamps column of the same length.
pub fn build_series(
    values: &Bound<'_, PyAny>,
    timestamps: Option<&Bound<'_, PyAny>>,
    service: &str,
    metric: &str,
) -> PyResult<Series> {
    let col = columns::column(values, "values")?;
    let ys = columns::f64_vec(&col, "values")?;
    let ts: Vec<Timestamp> = match timestamps {
        Some(t) if !t.is_none() => {
            let tcol = columns::column(t, "timestamps")?;
            columns::timestamps(&tcol, "timestamps")?
        }
        _ => (0..ys.len() as i64).map(Timestamp::from_secs).collect(),
    };
    if ts.len() != ys.len() {
        return Err(input_error(format!(
            "`timestamps` has {} rows but `values` has {}; they must be the same length",
            ts.len(),
            ys.len()
        )));
    }
    let mut s = Series::new(SeriesKey::new(service, metric), ts, ys)
        .map_err(|e| input_error(format!("cannot build the series: {e}")))?;
    s.sort_by_time();
    Ok(s)
}

/// STL decomposition (Cleveland et al., 1990) of `values` with seasonal `period` (samples):
/// a table of `trend`, `seasonal`, `remainder`.
#[pyfunction]
#[pyo3(signature = (values, period, *, robust=false))]
pub fn decompose(
    py: Python<'_>,
    values: &Bound<'_, PyAny>,
    period: usize,
    robust: bool,
) -> PyResult<ArrowData> {
    let col = columns::column(values, "values")?;
    let chunks = columns::f64_chunks(&col, "values")?;
    let params = if robust {
        StlParams::robust(period)
    } else {
        StlParams::new(period)
    };
    let d = py
        .detach(|| match chunks.as_slice() {
            [one] => faultline::detect::stl(one, &params),
            many => faultline::detect::stl(&many.concat(), &params),
        })
        .py_err()?;
    ArrowData::table(vec![
        ("trend", Arc::new(Float64Array::from(d.trend)) as ArrayRef),
        ("seasonal", Arc::new(Float64Array::from(d.seasonal)) as ArrayRef),
        ("remainder", Arc::new(Float64Array::from(d.remainder)) as ArrayRef),
    ])
}

/// The address of the first value as the native code reads it (0 for an empty column), and
/// whether the column was read in place; used by tests to show float64 columns are not copied.
#[pyfunction]
pub fn _values_address(values: &Bound<'_, PyAny>) -> PyResult<(usize, bool)> {
    let col = columns::column(values, "values")?;
    let chunks = columns::f64_chunks(&col, "values")?;
    let borrowed =
        matches!(col, Column::Arrow(_)) && chunks.iter().all(|c| matches!(c, std::borrow::Cow::Borrowed(_)));
    Ok((chunks.first().map_or(0, |c| c.as_ptr() as usize), borrowed))
}

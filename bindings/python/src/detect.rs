//! Detection on one series: causal per-sample scores (`score`), anomaly episodes (`detect`) and
//! STL decomposition (`decompose`).

use std::sync::Arc;

use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;
use arrow_array::{Array, ArrayRef, Float64Array};
use arrow_schema::{DataType, TimeUnit};
use faultline::core::{Anomaly, Series, SeriesKey, Timestamp};
use faultline::detect::{
    detect_samples, DetectConfig, DetectorConfig, StlParams, StreamConfig, StreamDetector,
};
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
/// `PipelineConfig` dict (its `detect` section is used: its `method`, default the segment
/// detector; the derived RED series and counter rates are the pipeline's, not this function's).
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
    let DetectorConfig::Segment(segment) = &cfg.detect.detector else {
        // Another `method`: the chosen detector on the series, as `analyze` runs it.
        let series = build_series(values, timestamps, service, metric)?;
        let detector = cfg.detect.detector.build().py_err()?;
        let found = py.detach(|| detector.detect(&series)).py_err()?;
        let out = PyList::empty(py);
        for a in &found {
            out.append(convert::ser_to_py(py, a)?)?;
        }
        return Ok(out);
    };
    let key = SeriesKey::new(service, metric);
    let vcol = columns::column(values, "values")?;
    let tcol = match timestamps {
        Some(t) if !t.is_none() => Some(columns::column(t, "timestamps")?),
        _ => None,
    };
    let input = Samples::read(&vcol, tcol.as_ref())?;
    let found = py.detach(|| input.detect(&key, segment)).py_err()?;
    let out = PyList::empty(py);
    for a in &found {
        out.append(convert::ser_to_py(py, a)?)?;
    }
    Ok(out)
}

/// The columns `detect` reads: values and timestamps borrowed from the producer's buffers when
/// they are a single float64 chunk and a single `timestamp[ns]` chunk (or `int64` nanoseconds
/// typed as such by Arrow), converted once otherwise.
pub struct Samples<'a> {
    values: Cow<'a, [f64]>,
    times: Times<'a>,
}

/// Sample times: borrowed epoch nanoseconds, or converted timestamps.
enum Times<'a> {
    Nanos(&'a [i64]),
    Owned(Vec<Timestamp>),
}

impl<'a> Samples<'a> {
    /// Reads `values` and optional `timestamps` (one second apart from the epoch when absent)
    /// and checks that they have the same length.
    pub fn read(values: &'a Column, timestamps: Option<&'a Column>) -> PyResult<Self> {
        let mut chunks = columns::f64_chunks(values, "values")?;
        let values = match chunks.len() {
            0 => Cow::Borrowed(&[][..]),
            1 => chunks.swap_remove(0),
            _ => Cow::Owned(chunks.concat()),
        };
        let times = match timestamps {
            None => Times::Owned((0..values.len() as i64).map(Timestamp::from_secs).collect()),
            Some(tcol) => match nanos_chunk(tcol) {
                Some(ns) => Times::Nanos(ns),
                None => Times::Owned(columns::timestamps(tcol, "timestamps")?),
            },
        };
        let n_times = match &times {
            Times::Nanos(t) => t.len(),
            Times::Owned(t) => t.len(),
        };
        if n_times != values.len() {
            return Err(input_error(format!(
                "`timestamps` has {} rows but `values` has {}; they must be the same length",
                n_times,
                values.len()
            )));
        }
        Ok(Self { values, times })
    }

    /// The batch detection on these columns (no copy when both were borrowed and every value is
    /// finite; see `faultline_detect::detect_samples`).
    pub fn detect(
        &self,
        key: &SeriesKey,
        cfg: &DetectConfig,
    ) -> Result<Vec<Anomaly>, faultline::detect::DetectError> {
        match &self.times {
            Times::Nanos(t) => detect_samples(key, t, &self.values, cfg),
            Times::Owned(t) => detect_samples(key, t, &self.values, cfg),
        }
    }

    /// Addresses of the first value and first timestamp as the detector reads them (0 when
    /// empty), and whether each was borrowed from the input.
    fn addresses(&self) -> ((usize, bool), (usize, bool)) {
        let v = (
            if self.values.is_empty() {
                0
            } else {
                self.values.as_ptr() as usize
            },
            matches!(self.values, Cow::Borrowed(_)),
        );
        let t = match &self.times {
            Times::Nanos(t) => (if t.is_empty() { 0 } else { t.as_ptr() as usize }, true),
            Times::Owned(t) => (if t.is_empty() { 0 } else { t.as_ptr() as usize }, false),
        };
        (v, t)
    }
}

/// A one-chunk Arrow `timestamp[ns]` column without nulls, as its `i64` buffer.
fn nanos_chunk(col: &Column) -> Option<&[i64]> {
    match col {
        Column::Arrow(chunks) => match chunks.as_slice() {
            [a] if a.null_count() == 0
                && matches!(a.data_type(), DataType::Timestamp(TimeUnit::Nanosecond, _)) =>
            {
                Some(&a.as_primitive::<TimestampNanosecondType>().values()[..])
            }
            _ => None,
        },
        _ => None,
    }
}

/// Where `detect` reads `values` and `timestamps`: `((value address, borrowed), (timestamp
/// address, borrowed))`, from the same code path as `detect`; used by tests to show that
/// float64 and `timestamp[ns]` columns are not copied.
#[pyfunction]
#[pyo3(signature = (values, timestamps=None))]
pub fn _detect_addresses(
    values: &Bound<'_, PyAny>,
    timestamps: Option<&Bound<'_, PyAny>>,
) -> PyResult<((usize, bool), (usize, bool))> {
    let vcol = columns::column(values, "values")?;
    let tcol = match timestamps {
        Some(t) if !t.is_none() => Some(columns::column(t, "timestamps")?),
        _ => None,
    };
    let input = Samples::read(&vcol, tcol.as_ref())?;
    let borrowed_arrow = matches!(vcol, Column::Arrow(_));
    let ((va, vb), t) = input.addresses();
    Ok(((va, vb && borrowed_arrow), t))
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

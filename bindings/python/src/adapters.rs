//! Host adapters written in Python: any object with the right method acts as a faultline port.
//!
//! - LLM client ([`faultline::core::ports::LlmClient`]): `complete(request: dict) -> str`,
//!   where `request` is `{"messages": [{"role", "content"}], "json_schema"?, "temperature",
//!   "timeout_ms"}`; used to narrate reports (`analyze(..., llm=obj)`), with faultline's
//!   answer checks and template fallback.
//! - Runner ([`faultline::core::ports::Runner`]): `run(step: dict, mode: str) -> dict |
//!   (int, str)` with `mode` `"dry_run"` or `"execute"`, returning `{"status", "output"}`;
//!   optional `name` attribute.
//! - Notifier ([`faultline::core::ports::Notifier`]): `notify(notification: dict) -> None`.
//! - Detector ([`faultline::detect::Detector`]): `detect(series: dict) -> list[dict]` with
//!   `series = {"service", "metric", "labels", "timestamps": [ns], "values": [float]}`, returning
//!   anomalies as dicts (`start`, `end`, `score`, optional `peak`, `kind`, `direction`,
//!   `observed`, `expected`).
//!
//! A Python exception raised by an adapter becomes `CoreError::Adapter` (Python
//! `AdapterError`) naming the adapter and carrying the exception's type and message.

use std::sync::Arc;

use async_trait::async_trait;
use faultline::core::ports::{ChatRequest, LlmClient, Notification, Notifier, RunMode, RunOutput, Runner};
use faultline::core::{
    Anomaly, AnomalyId, AnomalyKind, AnomalySeverity, CoreError, Direction, Expected, IncidentReport, Series,
    Step, Timestamp,
};
use faultline::detect::{DetectError, Detector};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::convert;
use crate::errors::{message, IntoPy};

fn adapter_err(adapter: &str, py: Python<'_>, e: &PyErr) -> CoreError {
    CoreError::Adapter {
        adapter: adapter.to_owned(),
        message: format!(
            "{}: {}",
            e.get_type(py).name().map(|n| n.to_string()).unwrap_or_default(),
            message(py, e)
        ),
    }
}

/// A Python object acting as an [`LlmClient`].
pub struct PyLlm {
    obj: Py<PyAny>,
}

impl PyLlm {
    /// Wraps an object with a `complete(request)` method.
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        require(obj, "complete", "an LLM client")?;
        Ok(Self {
            obj: obj.clone().unbind(),
        })
    }
}

fn require(obj: &Bound<'_, PyAny>, method: &str, what: &str) -> PyResult<()> {
    if obj.hasattr(method)? {
        Ok(())
    } else {
        Err(crate::errors::input_error(format!(
            "{what} must have a `{method}` method; {} has none",
            obj.get_type().name()?
        )))
    }
}

#[async_trait]
impl LlmClient for PyLlm {
    async fn complete(&self, request: &ChatRequest) -> faultline::core::Result<String> {
        Python::attach(|py| {
            let call = || -> PyResult<String> {
                let req = convert::ser_to_py(py, request)?;
                self.obj.bind(py).call_method1("complete", (req,))?.extract()
            };
            call().map_err(|e| adapter_err("python llm", py, &e))
        })
    }
}

/// A Python object acting as a [`Runner`].
pub struct PyRunner {
    obj: Py<PyAny>,
    name: String,
}

impl PyRunner {
    /// Wraps an object with a `run(step, mode)` method.
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        require(obj, "run", "a runner")?;
        let name = match obj.getattr("name") {
            Ok(n) if n.is_instance_of::<pyo3::types::PyString>() => n.extract()?,
            _ => format!("python:{}", obj.get_type().name()?),
        };
        Ok(Self {
            obj: obj.clone().unbind(),
            name,
        })
    }
}

#[async_trait]
impl Runner for PyRunner {
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self, step: &Step, mode: RunMode) -> faultline::core::Result<RunOutput> {
        Python::attach(|py| {
            let call = || -> PyResult<RunOutput> {
                let s = convert::ser_to_py(py, step)?;
                let m = match mode {
                    RunMode::DryRun => "dry_run",
                    RunMode::Execute => "execute",
                };
                let r = self.obj.bind(py).call_method1("run", (s, m))?;
                if let Ok(t) = r.cast::<PyTuple>() {
                    let (status, output): (i32, String) = t.extract()?;
                    return Ok(RunOutput { status, output });
                }
                if let Ok(d) = r.cast::<PyDict>() {
                    let status: i32 = d
                        .get_item("status")?
                        .map(|v| v.extract())
                        .transpose()?
                        .unwrap_or(0);
                    let output: String = d
                        .get_item("output")?
                        .map(|v| v.extract())
                        .transpose()?
                        .unwrap_or_default();
                    return Ok(RunOutput { status, output });
                }
                Err(pyo3::exceptions::PyTypeError::new_err(
                    "run() must return {\"status\": int, \"output\": str} or (status, output)",
                ))
            };
            call().map_err(|e| adapter_err(&self.name, py, &e))
        })
    }
}

/// A Python object acting as a [`Notifier`].
pub struct PyNotifier {
    obj: Py<PyAny>,
}

impl PyNotifier {
    /// Wraps an object with a `notify(notification)` method.
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        require(obj, "notify", "a notifier")?;
        Ok(Self {
            obj: obj.clone().unbind(),
        })
    }
}

#[async_trait]
impl Notifier for PyNotifier {
    async fn notify(&self, n: &Notification) -> faultline::core::Result<()> {
        Python::attach(|py| {
            let call = || -> PyResult<()> {
                let d = convert::ser_to_py(py, n)?;
                self.obj.bind(py).call_method1("notify", (d,))?;
                Ok(())
            };
            call().map_err(|e| adapter_err("python notifier", py, &e))
        })
    }
}

/// A Python object acting as a batch [`Detector`], standalone ([`detect_with`]) or inside
/// the pipeline (`analyze(..., detector=obj)` through `PipelineBuilder::detector`).
pub struct PyDetector {
    obj: Py<PyAny>,
    /// The first exception the object raised, kept so that the caller can re-raise it as the
    /// `AdapterError`'s `__cause__` (the pipeline only carries the message).
    failure: std::sync::Mutex<Option<(String, PyErr)>>,
}

impl PyDetector {
    /// Wraps an object with a `detect(series)` method.
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        require(obj, "detect", "a detector")?;
        Ok(Self {
            obj: obj.clone().unbind(),
            failure: std::sync::Mutex::new(None),
        })
    }

    /// The first exception raised by the object since the last call, if any, with the
    /// message naming the adapter and the series.
    pub fn take_failure(&self) -> Option<(String, PyErr)> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }

    /// Maps a failed run that involved this detector: when the object raised, an
    /// `AdapterError` with the pipeline's message and the Python exception as `__cause__`;
    /// otherwise the facade error's own exception.
    pub fn map_err(&self, py: Python<'_>, e: faultline::Error) -> PyErr {
        match self.take_failure() {
            Some((msg, cause)) => {
                let err = crate::errors::adapter_error(msg);
                err.set_cause(py, Some(cause));
                err
            }
            None => crate::errors::to_py(e),
        }
    }
}

fn detector_err(msg: String) -> DetectError {
    // The stage's error type has no adapter variant; the message names the adapter.
    DetectError::InvalidConfig {
        field: "detector",
        reason: msg,
    }
}

impl Detector for PyDetector {
    fn name(&self) -> &'static str {
        "python"
    }
    fn detect(&self, series: &Series) -> Result<Vec<Anomaly>, DetectError> {
        Python::attach(|py| {
            let call = || -> PyResult<Vec<Anomaly>> {
                let d = PyDict::new(py);
                d.set_item("service", series.key.service.as_str())?;
                d.set_item("metric", &series.key.metric)?;
                let labels = PyDict::new(py);
                for (k, v) in series.key.labels.iter() {
                    labels.set_item(k, v)?;
                }
                d.set_item("labels", labels)?;
                d.set_item(
                    "timestamps",
                    PyList::new(py, series.timestamps.iter().map(|t| t.as_nanos()))?,
                )?;
                d.set_item("values", PyList::new(py, series.values.iter().copied())?)?;
                let found = self.obj.bind(py).call_method1("detect", (d,))?;
                let mut out = Vec::new();
                for (i, item) in found.try_iter()?.enumerate() {
                    let item = item?;
                    let item = item.cast::<PyDict>().map_err(|_| {
                        pyo3::exceptions::PyTypeError::new_err(format!("anomaly {i} is not a dict"))
                    })?;
                    out.push(anomaly_from_py(series, item, i)?);
                }
                Ok(out)
            };
            call().map_err(|e| {
                let msg = format!(
                    "{} (series {})",
                    adapter_err("python detector", py, &e),
                    series.key
                );
                if let Ok(mut f) = self.failure.lock() {
                    f.get_or_insert((msg.clone(), e));
                }
                detector_err(msg)
            })
        })
    }
}

fn anomaly_from_py(series: &Series, d: &Bound<'_, PyDict>, i: usize) -> PyResult<Anomaly> {
    let ts = |k: &str| -> PyResult<Option<Timestamp>> {
        d.get_item(k)?
            .map(|v| crate::analyze::py_timestamp(&v, &format!("anomaly {i}.{k}")))
            .transpose()
    };
    let start =
        ts("start")?.ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(format!("anomaly {i}: `start`")))?;
    let end = ts("end")?.unwrap_or(start);
    let peak = ts("peak")?.unwrap_or(start);
    let score: f64 = d
        .get_item("score")?
        .map(|v| v.extract())
        .transpose()?
        .unwrap_or(1.0);
    let idx = series.index_at(peak).min(series.len().saturating_sub(1));
    let observed: f64 = match d.get_item("observed")? {
        Some(v) => v.extract()?,
        None => series.values.get(idx).copied().unwrap_or(f64::NAN),
    };
    let expected_value: f64 = match d.get_item("expected")? {
        Some(v) => v.extract()?,
        None => f64::NAN,
    };
    let kind = match d
        .get_item("kind")?
        .map(|v| v.extract::<String>())
        .transpose()?
        .as_deref()
    {
        Some("level_shift") => AnomalyKind::LevelShift,
        Some("trend") => AnomalyKind::Trend,
        Some("variance") => AnomalyKind::Variance,
        _ => AnomalyKind::Point,
    };
    let direction = match d
        .get_item("direction")?
        .map(|v| v.extract::<String>())
        .transpose()?
        .as_deref()
    {
        Some("down") => Direction::Down,
        Some("up") => Direction::Up,
        _ if expected_value.is_finite() && observed < expected_value => Direction::Down,
        _ => Direction::Up,
    };
    let score = score.clamp(0.0, 1.0);
    Ok(Anomaly {
        id: AnomalyId::derive(&[&series.key.to_string(), &start.as_nanos().to_string(), "python"]),
        series: series.key.clone(),
        start,
        end,
        peak,
        observed,
        expected: Expected {
            value: expected_value,
            lower: expected_value,
            upper: expected_value,
        },
        score,
        severity: AnomalySeverity::from_score(score),
        direction,
        kind,
        detector: "python".into(),
    })
}

/// Narrates `report` with a Python LLM client (faultline's prompt, answer checks and template
/// fallback); runs without the GIL apart from the client's own calls.
pub fn narrate(py: Python<'_>, report: &mut IncidentReport, llm: &Bound<'_, PyAny>) -> PyResult<()> {
    use faultline::rca::narrate::{LlmNarrator, LlmNarratorConfig};
    let client = Arc::new(PyLlm::new(llm)?);
    let narrator = LlmNarrator::try_new(client, LlmNarratorConfig::default()).py_err()?;
    let text = py.detach(|| -> Result<String, CoreError> {
        let rt = runtime()?;
        Ok(rt.block_on(narrator.narrate_with_source(report)).text)
    });
    report.narrative = text.py_err()?;
    Ok(())
}

/// A single-threaded runtime for the async ports (adapters call back into Python).
pub fn runtime() -> Result<tokio::runtime::Runtime, CoreError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| CoreError::Internal(format!("cannot start an async runtime: {e}")))
}

/// Runs `detector` (a Python object) on one series: `detect_with(values, timestamps,
/// detector=obj)` returns report-shaped anomaly dicts, checked and completed by faultline.
#[pyfunction]
#[pyo3(signature = (detector, values, timestamps=None, *, service="series", metric="value"))]
pub fn detect_with<'py>(
    py: Python<'py>,
    detector: &Bound<'py, PyAny>,
    values: &Bound<'py, PyAny>,
    timestamps: Option<&Bound<'py, PyAny>>,
    service: &str,
    metric: &str,
) -> PyResult<Bound<'py, PyList>> {
    let d = PyDetector::new(detector)?;
    let series = crate::detect::build_series(values, timestamps, service, metric)?;
    let found = d
        .detect(&series)
        .map_err(|e| d.map_err(py, faultline::Error::Detect(e)))?;
    let out = PyList::empty(py);
    for a in &found {
        out.append(convert::ser_to_py(py, a)?)?;
    }
    Ok(out)
}

/// Registers the adapter functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(detect_with, m)?)?;
    Ok(())
}

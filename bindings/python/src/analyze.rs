//! Analysis of an incident: from a bundle directory or from in-memory tables (metrics long
//! table, logs, change events, topology) to a report-shaped dict.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use faultline::core::{
    ChangeEvent, ChangeKind, Incident, IncidentId, IncidentReport, IncidentStatus, Labels, LogRecord, Series,
    SeriesKey, ServiceId, Severity, SignalSet, TimeWindow, Timestamp, Topology,
};
use faultline::Pipeline;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use serde_json::Value;

use crate::adapters::PyDetector;
use crate::columns::{self, Column};
use crate::convert;
use crate::errors::input_error;

/// The host pieces of an analysis besides the configuration: a Python detector replacing the
/// configured one, and a fix catalog replacing the shipped one.
struct Hosts {
    detector: Option<Arc<PyDetector>>,
    catalog: Option<faultline::fix::Catalog>,
}

impl Hosts {
    fn new(detector: Option<&Bound<'_, PyAny>>, catalog: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Ok(Self {
            detector: detector
                .filter(|d| !d.is_none())
                .map(PyDetector::new)
                .transpose()?
                .map(Arc::new),
            catalog: catalog
                .filter(|c| !c.is_none())
                .map(crate::fix::catalog_from_py)
                .transpose()?,
        })
    }

    /// A pipeline with `cfg` and the host pieces (the catalog moves into it).
    fn pipeline(&mut self, cfg: faultline::PipelineConfig) -> faultline::Result<Pipeline> {
        let mut b = Pipeline::builder().config(cfg);
        if let Some(d) = &self.detector {
            b = b.detector(d.clone());
        }
        if let Some(c) = self.catalog.take() {
            b = b.catalog(c);
        }
        b.build()
    }

    /// The Python exception of a failed analysis: the detector's own exception (as the
    /// `AdapterError`'s cause) when it raised one.
    fn error(&self, py: Python<'_>, e: faultline::Error) -> PyErr {
        match &self.detector {
            Some(d) => d.map_err(py, e),
            None => crate::errors::to_py(e),
        }
    }
}

/// Analyses an incident bundle directory; returns the report as a dict (the JSON report's
/// shape). `config` is a `PipelineConfig` dict; `detector` a Python detector
/// (`detect(series: dict) -> list[dict]`) used instead of the configured one; `catalog` a fix
/// catalog (dict, YAML text or path) used to plan when `plan.enabled`.
#[pyfunction]
#[pyo3(signature = (path, *, config=None, llm=None, detector=None, catalog=None))]
pub fn analyze_bundle<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    config: Option<&Bound<'py, PyAny>>,
    llm: Option<&Bound<'py, PyAny>>,
    detector: Option<&Bound<'py, PyAny>>,
    catalog: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let cfg = convert::pipeline_config(config)?;
    let mut hosts = Hosts::new(detector, catalog)?;
    let mut report = py
        .detach(|| -> faultline::Result<IncidentReport> {
            let b = faultline::bundle::read_bundle(&path)?;
            hosts.pipeline(cfg)?.analyze(&b.incident, &b.signals)
        })
        .map_err(|e| hosts.error(py, e))?;
    if let Some(llm) = llm.filter(|l| !l.is_none()) {
        crate::adapters::narrate(py, &mut report, llm)?;
    }
    convert::ser_to_py(py, &report)
}

/// Analyses an incident from in-memory tables; returns the report as a dict.
///
/// `incident`: `{"id", "onset", "title"?, "window"?: {"start", "end"}, "environment"?,
/// "services"?, "severity"?}` (times as RFC 3339 text, epoch numbers or datetimes; the window
/// defaults to the data's time range). `metrics`: a long table `service, metric, timestamp,
/// value` (other string columns become labels). `logs`: `timestamp, service, message`
/// (`level`, `trace_id`, `span_id` optional; other columns become attributes). `events`:
/// `timestamp, service, kind` (`version`, `description` optional). `topology`: a table
/// `source, target[, kind]` or a list of `(source, target)` pairs. `detector` and `catalog`
/// as for [`analyze_bundle`].
#[pyfunction]
#[pyo3(signature = (incident, *, metrics=None, logs=None, events=None, topology=None, config=None, llm=None, detector=None, catalog=None))]
#[allow(clippy::too_many_arguments)]
pub fn analyze<'py>(
    py: Python<'py>,
    incident: &Bound<'py, PyAny>,
    metrics: Option<&Bound<'py, PyAny>>,
    logs: Option<&Bound<'py, PyAny>>,
    events: Option<&Bound<'py, PyAny>>,
    topology: Option<&Bound<'py, PyAny>>,
    config: Option<&Bound<'py, PyAny>>,
    llm: Option<&Bound<'py, PyAny>>,
    detector: Option<&Bound<'py, PyAny>>,
    catalog: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let cfg = convert::pipeline_config(config)?;
    let mut hosts = Hosts::new(detector, catalog)?;
    let signals = signal_set(metrics, logs, events, topology)?;
    let incident = read_incident(incident, &signals)?;
    let mut report = py
        .detach(|| hosts.pipeline(cfg)?.analyze(&incident, &signals))
        .map_err(|e| hosts.error(py, e))?;
    if let Some(llm) = llm.filter(|l| !l.is_none()) {
        crate::adapters::narrate(py, &mut report, llm)?;
    }
    convert::ser_to_py(py, &report)
}

/// Renders a report dict as Markdown (headline, top hypothesis with evidence, why-not,
/// timeline, blast radius).
#[pyfunction]
pub fn render_markdown(report: &Bound<'_, PyAny>) -> PyResult<String> {
    let r = report_from_py(report)?;
    Ok(faultline::render::to_markdown(&r))
}

/// Narrates a report dict with a Python LLM client (`complete(request: dict) -> str`), with
/// faultline's answer checks; falls back to the template narrative. Returns the narrative.
#[pyfunction]
pub fn narrate(py: Python<'_>, report: &Bound<'_, PyAny>, llm: &Bound<'_, PyAny>) -> PyResult<String> {
    let mut r = report_from_py(report)?;
    crate::adapters::narrate(py, &mut r, llm)?;
    Ok(r.narrative)
}

/// A report dict back as the Rust type.
pub fn report_from_py(report: &Bound<'_, PyAny>) -> PyResult<IncidentReport> {
    let v = convert::to_json(report, "report")?;
    serde_json::from_value(v).map_err(|e| input_error(format!("report: {e}")))
}

/// The signals of the `analyze` tables.
pub fn signal_set(
    metrics: Option<&Bound<'_, PyAny>>,
    logs: Option<&Bound<'_, PyAny>>,
    events: Option<&Bound<'_, PyAny>>,
    topology: Option<&Bound<'_, PyAny>>,
) -> PyResult<SignalSet> {
    let mut s = SignalSet::default();
    if let Some(m) = metrics.filter(|m| !m.is_none()) {
        s.series = read_metrics(m)?;
    }
    if let Some(l) = logs.filter(|l| !l.is_none()) {
        s.logs = read_logs(l)?;
    }
    if let Some(e) = events.filter(|e| !e.is_none()) {
        s.events = read_events(e)?;
    }
    if let Some(t) = topology.filter(|t| !t.is_none()) {
        s.topology = read_topology(t)?;
    }
    Ok(s)
}

struct Table {
    what: &'static str,
    cols: Vec<(String, Column)>,
    rows: usize,
}

impl Table {
    fn read(obj: &Bound<'_, PyAny>, what: &'static str) -> PyResult<Self> {
        let cols = columns::table(obj, what)?;
        let rows = cols.first().map_or(0, |(_, c)| columns::len(c));
        Ok(Self { what, cols, rows })
    }
    fn find(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|n| self.cols.iter().position(|(c, _)| c.eq_ignore_ascii_case(n)))
    }
    fn required(&self, names: &[&str]) -> PyResult<usize> {
        self.find(names).ok_or_else(|| {
            input_error(format!(
                "`{}`: required column `{}` is missing (columns: {})",
                self.what,
                names[0],
                self.cols
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }
    fn name(&self, i: usize) -> String {
        format!("{}.{}", self.what, self.cols[i].0)
    }
    fn strings(&self, i: usize) -> PyResult<Vec<String>> {
        text_values(&self.cols[i].1, &self.name(i), false)
            .map(|v| v.into_iter().map(|s| s.unwrap_or_default()).collect())
    }
    fn opt_strings(&self, i: usize) -> PyResult<Vec<Option<String>>> {
        text_values(&self.cols[i].1, &self.name(i), true)
    }
    fn timestamps(&self, i: usize) -> PyResult<Vec<Timestamp>> {
        columns::timestamps(&self.cols[i].1, &self.name(i))
    }
}

/// Strings of a column, including dictionary-encoded (categorical) ones; nulls are errors
/// unless `nullable`.
fn text_values(col: &Column, name: &str, nullable: bool) -> PyResult<Vec<Option<String>>> {
    let Column::Arrow(chunks) = col else {
        return Ok(columns::strings(col, name)?.into_iter().map(Some).collect());
    };
    let mut out = Vec::new();
    for a in chunks {
        let a: ArrayRef = match a.data_type() {
            DataType::Dictionary(_, _) => {
                // Categorical columns (polars, pandas): expand through the dictionary.
                let d = a.as_any_dictionary();
                let values = d.values().clone();
                if !columns::is_string(values.data_type()) {
                    return Err(input_error(format!(
                        "`{name}`: expected strings, got a dictionary of {}",
                        values.data_type()
                    )));
                }
                let mut vals = Vec::new();
                columns::for_each_str(&values, |_, s| vals.push(s));
                let keys = d.normalized_keys();
                for (i, k) in keys.iter().enumerate() {
                    if a.is_null(i) {
                        out.push(None);
                    } else {
                        out.push(vals.get(*k).map(|s| (*s).to_owned()));
                    }
                }
                continue;
            }
            t if columns::is_string(t) => a.clone(),
            other => {
                return Err(input_error(format!(
                    "`{name}`: expected a string column, got Arrow type {other}"
                )))
            }
        };
        let start = out.len();
        out.resize(start + a.len(), None);
        columns::for_each_str(&a, |i, s| out[start + i] = Some(s.to_owned()));
    }
    if !nullable {
        if let Some(i) = out.iter().position(Option::is_none) {
            return Err(input_error(format!(
                "`{name}`: null value at row {i}; drop or fill nulls first"
            )));
        }
    }
    Ok(out)
}

fn non_empty(what: &str, i: usize, v: &str) -> PyResult<()> {
    if v.trim().is_empty() {
        return Err(input_error(format!("`{what}`: row {i} is empty")));
    }
    Ok(())
}

fn read_metrics(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Series>> {
    let t = Table::read(obj, "metrics")?;
    let (c_svc, c_metric, c_ts, c_val) = (
        t.required(&["service"])?,
        t.required(&["metric", "name"])?,
        t.required(&["timestamp", "time", "ts"])?,
        t.required(&["value"])?,
    );
    let svc = t.strings(c_svc)?;
    let metric = t.strings(c_metric)?;
    let ts = t.timestamps(c_ts)?;
    let vals = columns::f64_vec(&t.cols[c_val].1, &t.name(c_val))?;
    let label_cols: Vec<(String, Vec<String>)> = (0..t.cols.len())
        .filter(|i| ![c_svc, c_metric, c_ts, c_val].contains(i))
        .map(|i| Ok((t.cols[i].0.clone(), t.strings(i)?)))
        .collect::<PyResult<_>>()?;
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut parts: Vec<(SeriesKey, Vec<Timestamp>, Vec<f64>)> = Vec::new();
    let mut key = String::new();
    for i in 0..t.rows {
        non_empty("metrics.service", i, &svc[i])?;
        non_empty("metrics.metric", i, &metric[i])?;
        key.clear();
        for p in [&svc[i], &metric[i]]
            .into_iter()
            .chain(label_cols.iter().map(|(_, v)| &v[i]))
        {
            key.push_str(p);
            key.push('\u{1f}');
        }
        let slot = match index.get(&key) {
            Some(&s) => s,
            None => {
                let mut k = SeriesKey::new(svc[i].trim(), metric[i].trim());
                if !label_cols.is_empty() {
                    k.labels =
                        Labels::from_pairs(label_cols.iter().map(|(n, v)| (n.as_str(), v[i].as_str())));
                }
                parts.push((k, Vec::new(), Vec::new()));
                index.insert(key.clone(), parts.len() - 1);
                parts.len() - 1
            }
        };
        parts[slot].1.push(ts[i]);
        parts[slot].2.push(vals[i]);
    }
    parts
        .into_iter()
        .map(|(k, ts, vs)| {
            let mut s = Series::new(k, ts, vs).map_err(|e| input_error(format!("`metrics`: {e}")))?;
            s.sort_by_time();
            Ok(s)
        })
        .collect()
}

fn json_cell(a: &ArrayRef, i: usize) -> Value {
    if a.is_null(i) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Utf8 => Value::String(a.as_string::<i32>().value(i).to_owned()),
        DataType::LargeUtf8 => Value::String(a.as_string::<i64>().value(i).to_owned()),
        DataType::Utf8View => Value::String(a.as_string_view().value(i).to_owned()),
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::Int64 => Value::from(a.as_primitive::<arrow_array::types::Int64Type>().value(i)),
        DataType::Int32 => Value::from(a.as_primitive::<arrow_array::types::Int32Type>().value(i)),
        DataType::Float64 => Value::from(a.as_primitive::<arrow_array::types::Float64Type>().value(i)),
        _ => Value::Null,
    }
}

/// Extra columns as JSON values, row by row (strings, integers, floats, booleans).
/// Row `i` of the extra columns as a record's attributes (nulls left out).
fn row_attributes(attrs: &[(String, Vec<Value>)], i: usize) -> BTreeMap<String, Value> {
    attrs
        .iter()
        .filter(|(_, v)| !v[i].is_null())
        .map(|(n, v)| (n.clone(), v[i].clone()))
        .collect()
}

fn attribute_columns(t: &Table, skip: &[usize]) -> PyResult<Vec<(String, Vec<Value>)>> {
    let mut out = Vec::new();
    for (i, (name, col)) in t.cols.iter().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        let Column::Arrow(chunks) = col else { continue };
        let mut vals = Vec::with_capacity(t.rows);
        for a in chunks {
            if matches!(a.data_type(), DataType::Dictionary(_, _)) {
                let s = text_values(&Column::Arrow(vec![a.clone()]), &t.name(i), true)?;
                vals.extend(s.into_iter().map(|x| x.map_or(Value::Null, Value::String)));
                continue;
            }
            if !matches!(
                a.data_type(),
                DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Boolean
                    | DataType::Int64
                    | DataType::Int32
                    | DataType::Float64
            ) {
                return Err(input_error(format!(
                    "`{}.{name}`: extra columns must be strings, int32/int64, float64 or booleans, got {}",
                    t.what,
                    a.data_type()
                )));
            }
            vals.extend((0..a.len()).map(|r| json_cell(a, r)));
        }
        out.push((name.clone(), vals));
    }
    Ok(out)
}

fn read_logs(obj: &Bound<'_, PyAny>) -> PyResult<Vec<LogRecord>> {
    let t = Table::read(obj, "logs")?;
    let c_ts = t.required(&["timestamp", "time", "ts"])?;
    let c_svc = t.required(&["service"])?;
    let c_msg = t.required(&["message", "body", "msg"])?;
    let c_level = t.find(&["level", "severity"]);
    let c_trace = t.find(&["trace_id"]);
    let c_span = t.find(&["span_id"]);
    let ts = t.timestamps(c_ts)?;
    let svc = t.strings(c_svc)?;
    let msg = t.strings(c_msg)?;
    let level = c_level.map(|c| t.opt_strings(c)).transpose()?;
    let trace = c_trace.map(|c| t.opt_strings(c)).transpose()?;
    let span = c_span.map(|c| t.opt_strings(c)).transpose()?;
    let skip: Vec<usize> = [Some(c_ts), Some(c_svc), Some(c_msg), c_level, c_trace, c_span]
        .into_iter()
        .flatten()
        .collect();
    let attrs = attribute_columns(&t, &skip)?;
    let mut out = Vec::with_capacity(t.rows);
    for i in 0..t.rows {
        non_empty("logs.service", i, &svc[i])?;
        let attributes = row_attributes(&attrs, i);
        out.push(LogRecord {
            ts: ts[i],
            service: ServiceId::new(svc[i].trim()),
            severity: level
                .as_ref()
                .and_then(|l| l[i].as_deref())
                .map(Severity::parse)
                .unwrap_or_default(),
            body: msg[i].clone(),
            attributes,
            trace_id: trace.as_ref().and_then(|v| v[i].clone()),
            span_id: span.as_ref().and_then(|v| v[i].clone()),
            source: None,
        });
    }
    out.sort_by_key(|r| r.ts);
    Ok(out)
}

fn read_events(obj: &Bound<'_, PyAny>) -> PyResult<Vec<ChangeEvent>> {
    let t = Table::read(obj, "events")?;
    let c_ts = t.required(&["timestamp", "time", "ts"])?;
    let c_svc = t.required(&["service"])?;
    let c_kind = t.required(&["kind", "type"])?;
    let c_ver = t.find(&["version"]);
    let c_desc = t.find(&["description"]);
    let ts = t.timestamps(c_ts)?;
    let svc = t.strings(c_svc)?;
    let kind = t.strings(c_kind)?;
    let ver = c_ver.map(|c| t.opt_strings(c)).transpose()?;
    let desc = c_desc.map(|c| t.opt_strings(c)).transpose()?;
    let skip: Vec<usize> = [Some(c_ts), Some(c_svc), Some(c_kind), c_ver, c_desc]
        .into_iter()
        .flatten()
        .collect();
    let attrs = attribute_columns(&t, &skip)?;
    let mut out = Vec::with_capacity(t.rows);
    for i in 0..t.rows {
        non_empty("events.service", i, &svc[i])?;
        let attributes = row_attributes(&attrs, i);
        out.push(ChangeEvent {
            ts: ts[i],
            service: ServiceId::new(svc[i].trim()),
            kind: ChangeKind::parse(&kind[i]),
            version: ver.as_ref().and_then(|v| v[i].clone()),
            description: desc.as_ref().and_then(|v| v[i].clone()),
            attributes,
            source: None,
        });
    }
    out.sort_by_key(|e| e.ts);
    Ok(out)
}

fn read_topology(obj: &Bound<'_, PyAny>) -> PyResult<Topology> {
    let mut topo = Topology::default();
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        for (i, item) in obj.try_iter()?.enumerate() {
            let item = item?;
            let pair: Vec<String> = item.extract().map_err(|_| {
                input_error(format!(
                    "`topology`: element {i} must be a (source, target[, kind]) tuple of strings"
                ))
            })?;
            match pair.as_slice() {
                [s, t] => topo.add_edge(s.as_str(), t.as_str(), None),
                [s, t, k] => topo.add_edge(s.as_str(), t.as_str(), Some(k.clone())),
                _ => {
                    return Err(input_error(format!(
                        "`topology`: element {i} must have 2 or 3 strings, has {}",
                        pair.len()
                    )))
                }
            }
        }
        return Ok(topo);
    }
    let t = Table::read(obj, "topology")?;
    let src = t.strings(t.required(&["source", "caller"])?)?;
    let dst = t.strings(t.required(&["target", "callee"])?)?;
    let kind = t.find(&["kind"]).map(|c| t.opt_strings(c)).transpose()?;
    for i in 0..t.rows {
        topo.add_edge(
            src[i].as_str(),
            dst[i].as_str(),
            kind.as_ref().and_then(|k| k[i].clone()),
        );
    }
    Ok(topo)
}

/// A timestamp from a Python value: RFC 3339 text, an epoch number (unit from magnitude) or
/// a `datetime` (naive datetimes are UTC).
pub fn py_timestamp(v: &Bound<'_, PyAny>, field: &str) -> PyResult<Timestamp> {
    if let Ok(s) = v.cast::<PyString>() {
        let s = s.to_str()?;
        return Timestamp::parse(s)
            .map_err(|e| input_error(format!("`{field}`: invalid timestamp {s:?}: {e}")));
    }
    if v.hasattr("timestamp")? && v.hasattr("tzinfo")? {
        let aware = if v.getattr("tzinfo")?.is_none() {
            let tz = PyModule::import(v.py(), "datetime")?
                .getattr("timezone")?
                .getattr("utc")?;
            let kw = PyDict::new(v.py());
            kw.set_item("tzinfo", tz)?;
            v.call_method("replace", (), Some(&kw))?
        } else {
            v.clone()
        };
        let secs: f64 = aware.call_method0("timestamp")?.extract()?;
        return Ok(Timestamp::from_secs_f64(secs));
    }
    if let Ok(x) = v.extract::<f64>() {
        return Timestamp::from_epoch_number(x)
            .map_err(|e| input_error(format!("`{field}`: invalid timestamp {x}: {e}")));
    }
    Err(input_error(format!(
        "`{field}`: expected RFC 3339 text, an epoch number or a datetime, got {}",
        v.get_type().name()?
    )))
}

fn data_range(s: &SignalSet) -> Option<TimeWindow> {
    let times = s
        .series
        .iter()
        .flat_map(|x| x.timestamps.first().into_iter().chain(x.timestamps.last()))
        .chain(s.logs.iter().map(|l| &l.ts))
        .chain(s.events.iter().map(|e| &e.ts));
    let mut w: Option<TimeWindow> = None;
    for &t in times {
        w = Some(match w {
            None => TimeWindow { start: t, end: t },
            Some(w) => TimeWindow {
                start: w.start.min(t),
                end: w.end.max(t),
            },
        });
    }
    w
}

/// The incident of `analyze` from a dict.
pub fn read_incident(obj: &Bound<'_, PyAny>, signals: &SignalSet) -> PyResult<Incident> {
    let d = obj
        .cast::<PyDict>()
        .map_err(|_| input_error("`incident`: expected a dict with at least `id` and `onset`"))?;
    const KNOWN: [&str; 7] = [
        "id",
        "title",
        "onset",
        "window",
        "environment",
        "services",
        "severity",
    ];
    for k in d.keys() {
        let k: String = k.extract()?;
        if !KNOWN.contains(&k.as_str()) {
            return Err(input_error(format!(
                "`incident`: unknown field `{k}` (known: {})",
                KNOWN.join(", ")
            )));
        }
    }
    let get_str = |k: &str| -> PyResult<Option<String>> {
        match d.get_item(k)? {
            None => Ok(None),
            Some(v) if v.is_none() => Ok(None),
            Some(v) => v
                .extract::<String>()
                .map(Some)
                .map_err(|_| input_error(format!("`incident.{k}`: expected a string"))),
        }
    };
    let id = get_str("id")?.ok_or_else(|| input_error("`incident.id` is required"))?;
    let onset = match d.get_item("onset")? {
        Some(v) if !v.is_none() => py_timestamp(&v, "incident.onset")?,
        _ => return Err(input_error("`incident.onset` is required")),
    };
    let window = match d.get_item("window")? {
        Some(w) if !w.is_none() => {
            let w = w
                .cast::<PyDict>()
                .map_err(|_| input_error("`incident.window`: expected a dict with `start` and `end`"))?;
            let get = |k: &str| -> PyResult<Timestamp> {
                let v = w
                    .get_item(k)?
                    .ok_or_else(|| input_error(format!("`incident.window.{k}` is required")))?;
                py_timestamp(&v, &format!("incident.window.{k}"))
            };
            let (start, end) = (get("start")?, get("end")?);
            if end < start {
                return Err(input_error(format!(
                    "`incident.window`: ends ({end}) before it starts ({start})"
                )));
            }
            TimeWindow { start, end }
        }
        _ => data_range(signals).unwrap_or(TimeWindow {
            start: Timestamp::MIN,
            end: Timestamp::MAX,
        }),
    };
    let services = match d.get_item("services")? {
        Some(v) if !v.is_none() => v
            .extract::<Vec<String>>()
            .map_err(|_| input_error("`incident.services`: expected a list of strings"))?
            .into_iter()
            .map(ServiceId::new)
            .collect(),
        _ => Vec::new(),
    };
    Ok(Incident {
        id: IncidentId(id),
        title: get_str("title")?.unwrap_or_default(),
        onset,
        window,
        environment: get_str("environment")?,
        services,
        severity: get_str("severity")?,
        status: IncidentStatus::default(),
    })
}

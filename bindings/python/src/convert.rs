//! JSON values ⇄ Python objects: configuration dicts in, report-shaped dicts out.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::errors::{config_error, input_error};

/// A Python object (dict, list, str, int, float, bool, None) as JSON.
pub fn to_json(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        return Err(input_error(format!("{path}: integer out of range")));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        return Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| input_error(format!("{path}: {v} is not a finite number")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let key: String = k
                .extract()
                .map_err(|_| input_error(format!("{path}: dict keys must be strings, got {k}")))?;
            let p = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            m.insert(key, to_json(&v, &p)?);
        }
        return Ok(Value::Object(m));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            out.push(to_json(&item?, &format!("{path}[{i}]"))?);
        }
        return Ok(Value::Array(out));
    }
    // numpy scalars and other number-likes.
    if let Ok(f) = obj.extract::<f64>() {
        if let Some(n) = Number::from_f64(f) {
            return Ok(Value::Number(n));
        }
    }
    Err(PyTypeError::new_err(format!(
        "{}: cannot convert {} to JSON",
        if path.is_empty() { "value" } else { path },
        obj.get_type().name()?
    )))
}

/// JSON as a Python object (objects become dicts, arrays lists).
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for x in a {
                list.append(to_py(py, x)?)?;
            }
            list.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// Any serialisable value as a Python object.
pub fn ser_to_py<'py, T: serde::Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyAny>> {
    let value = serde_json::to_value(v)
        .map_err(|e| crate::errors::internal_error(format!("cannot serialise a result: {e}")))?;
    to_py(py, &value)
}

/// A pipeline configuration from a plain dict (or `None` for the defaults).
pub fn pipeline_config(config: Option<&Bound<'_, PyAny>>) -> PyResult<faultline::PipelineConfig> {
    let v = match config {
        None => Value::Null,
        Some(c) => to_json(c, "").map_err(|e| config_error(format!("config: {e}")))?,
    };
    faultline::PipelineConfig::from_value(v).map_err(crate::errors::to_py)
}

/// A stage configuration from a plain dict, with unknown keys rejected (`what` names it).
pub fn stage_config<T: serde::de::DeserializeOwned + serde::Serialize + Default>(
    config: Option<&Bound<'_, PyAny>>,
    what: &str,
) -> PyResult<T> {
    let Some(c) = config else {
        return Ok(T::default());
    };
    if c.is_none() {
        return Ok(T::default());
    }
    let v = to_json(c, what).map_err(|e| config_error(format!("{what}: {e}")))?;
    let cfg: T = serde_json::from_value(v.clone()).map_err(|e| config_error(format!("{what}: {e}")))?;
    Ok(cfg)
}

//! Input columns: Arrow arrays (borrowed, never copied when they already have faultline's
//! types), Python lists and tuples, checked for dtype, nulls and shape with errors that name the
//! column.

use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, StructArray};
use arrow_schema::{DataType, TimeUnit};
use faultline::core::Timestamp;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::errors::input_error;
use crate::ffi::{self, Imported};

/// A column from Python: Arrow chunks, or values read from a Python sequence.
pub enum Column {
    /// Arrow chunks, shared with the producer.
    Arrow(Vec<ArrayRef>),
    /// Floats from a Python sequence.
    Floats(Vec<f64>),
    /// Strings from a Python sequence.
    Strings(Vec<String>),
}

/// Reads a column argument: an Arrow array/chunked array/series, or a flat Python sequence.
pub fn column(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Column> {
    if ffi::is_arrow(obj) {
        let imp = ffi::import(obj)?;
        if ffi::is_table(&imp.field) {
            return Err(input_error(format!(
                "`{name}`: expected one column, got a table; select a column"
            )));
        }
        return Ok(Column::Arrow(imp.chunks));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        return sequence(obj, name);
    }
    let mapping_or_text = obj.is_instance_of::<PyDict>() || obj.is_instance_of::<PyString>();
    if !mapping_or_text
        && (obj.hasattr("__array__")? || obj.hasattr("__len__")? && obj.hasattr("__getitem__")?)
    {
        // numpy arrays and other sequences without the Arrow interface (the Python layer passes
        // numpy through pyarrow, zero-copy, before it gets here).
        let list = obj.call_method0("tolist").or_else(|_| {
            let builtins = PyModule::import(obj.py(), "builtins")?;
            builtins.getattr("list")?.call1((obj,))
        })?;
        return sequence(&list, name);
    }
    Err(input_error(format!(
        "`{name}`: expected an Arrow array (pyarrow, polars, ...), a numpy array or a list, got {}",
        obj.get_type().name()?
    )))
}

fn sequence(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Column> {
    let mut floats = Vec::new();
    let mut strings = Vec::new();
    for (i, item) in obj.try_iter()?.enumerate() {
        let item = item?;
        if item.is_none() {
            return Err(input_error(format!(
                "`{name}`: element {i} is None; nulls are not allowed (drop or fill them; NaN marks a missing value)"
            )));
        }
        if item.is_instance_of::<PyList>() || item.is_instance_of::<PyTuple>() {
            return Err(input_error(format!(
                "`{name}`: element {i} is a sequence (ragged or nested input); pass a flat sequence"
            )));
        }
        if let Ok(s) = item.cast::<PyString>() {
            if !floats.is_empty() {
                return Err(mixed(name, i));
            }
            strings.push(s.to_str()?.to_owned());
            continue;
        }
        if !strings.is_empty() {
            return Err(mixed(name, i));
        }
        if item.is_instance_of::<PyBool>() {
            return Err(input_error(format!(
                "`{name}`: element {i} is a bool; expected numbers"
            )));
        }
        if item.is_instance_of::<PyFloat>() || item.is_instance_of::<PyInt>() {
            floats.push(item.extract::<f64>()?);
        } else if let Ok(v) = item.extract::<f64>() {
            floats.push(v);
        } else {
            return Err(input_error(format!(
                "`{name}`: element {i} has type {}; expected numbers or strings",
                item.get_type().name()?
            )));
        }
    }
    Ok(if strings.is_empty() {
        Column::Floats(floats)
    } else {
        Column::Strings(strings)
    })
}

fn mixed(name: &str, i: usize) -> PyErr {
    input_error(format!(
        "`{name}`: element {i} mixes strings and numbers; use one type per column"
    ))
}

fn no_nulls(a: &dyn Array, name: &str, offset: usize) -> PyResult<()> {
    if a.null_count() == 0 {
        return Ok(());
    }
    let first = (0..a.len()).find(|&i| a.is_null(i)).unwrap_or(0);
    Err(input_error(format!(
        "`{name}`: {} null value(s), the first at row {}; drop or fill them (NaN marks a missing value)",
        a.null_count(),
        offset + first
    )))
}

fn dtype_error(name: &str, expected: &str, got: &DataType) -> PyErr {
    input_error(format!("`{name}`: expected {expected}, got Arrow type {got}"))
}

/// The chunks of a numeric column as `f64` slices: float64 chunks are borrowed as they are;
/// other numeric types are converted (one copy).
pub fn f64_chunks<'a>(col: &'a Column, name: &str) -> PyResult<Vec<Cow<'a, [f64]>>> {
    match col {
        Column::Floats(v) => Ok(vec![Cow::Borrowed(v.as_slice())]),
        Column::Strings(_) => Err(input_error(format!("`{name}`: expected numbers, got strings"))),
        Column::Arrow(chunks) => {
            let mut out = Vec::with_capacity(chunks.len());
            let mut offset = 0;
            for a in chunks {
                no_nulls(a.as_ref(), name, offset)?;
                offset += a.len();
                out.push(f64_chunk(a, name)?);
            }
            Ok(out)
        }
    }
}

fn f64_chunk<'a>(a: &'a ArrayRef, name: &str) -> PyResult<Cow<'a, [f64]>> {
    macro_rules! conv {
        ($t:ty) => {
            Cow::Owned(
                a.as_primitive::<$t>()
                    .values()
                    .iter()
                    .map(|&v| v as f64)
                    .collect(),
            )
        };
    }
    Ok(match a.data_type() {
        DataType::Float64 => Cow::Borrowed(&a.as_primitive::<Float64Type>().values()[..]),
        DataType::Float32 => conv!(Float32Type),
        DataType::Int8 => conv!(Int8Type),
        DataType::Int16 => conv!(Int16Type),
        DataType::Int32 => conv!(Int32Type),
        DataType::Int64 => conv!(Int64Type),
        DataType::UInt8 => conv!(UInt8Type),
        DataType::UInt16 => conv!(UInt16Type),
        DataType::UInt32 => conv!(UInt32Type),
        DataType::UInt64 => conv!(UInt64Type),
        other => {
            return Err(dtype_error(
                name,
                "a numeric column (float64 is read without copying)",
                other,
            ))
        }
    })
}

/// The whole numeric column as one vector.
pub fn f64_vec(col: &Column, name: &str) -> PyResult<Vec<f64>> {
    let chunks = f64_chunks(col, name)?;
    let mut v = Vec::with_capacity(chunks.iter().map(|c| c.len()).sum());
    for c in &chunks {
        v.extend_from_slice(c);
    }
    Ok(v)
}

/// A timestamp column: Arrow timestamps of any unit (exact), integers or floats (epoch seconds,
/// milliseconds, microseconds or nanoseconds, inferred from magnitude as in bundles), or
/// strings (RFC 3339 or epoch numbers).
pub fn timestamps(col: &Column, name: &str) -> PyResult<Vec<Timestamp>> {
    let bad = |i: usize, v: String, e: String| {
        input_error(format!("`{name}`: row {i} has invalid timestamp {v}: {e}"))
    };
    match col {
        Column::Floats(v) => v
            .iter()
            .enumerate()
            .map(|(i, &x)| Timestamp::from_epoch_number(x).map_err(|e| bad(i, x.to_string(), e.to_string())))
            .collect(),
        Column::Strings(v) => v
            .iter()
            .enumerate()
            .map(|(i, s)| Timestamp::parse(s).map_err(|e| bad(i, format!("{s:?}"), e.to_string())))
            .collect(),
        Column::Arrow(chunks) => {
            let mut out = Vec::with_capacity(chunks.iter().map(|c| c.len()).sum());
            let mut offset = 0;
            for a in chunks {
                no_nulls(a.as_ref(), name, offset)?;
                match a.data_type() {
                    DataType::Timestamp(unit, _) => {
                        let mult: i64 = match unit {
                            TimeUnit::Second => 1_000_000_000,
                            TimeUnit::Millisecond => 1_000_000,
                            TimeUnit::Microsecond => 1_000,
                            TimeUnit::Nanosecond => 1,
                        };
                        let vals: &[i64] = match unit {
                            TimeUnit::Second => a.as_primitive::<TimestampSecondType>().values(),
                            TimeUnit::Millisecond => a.as_primitive::<TimestampMillisecondType>().values(),
                            TimeUnit::Microsecond => a.as_primitive::<TimestampMicrosecondType>().values(),
                            TimeUnit::Nanosecond => a.as_primitive::<TimestampNanosecondType>().values(),
                        };
                        for (i, &v) in vals.iter().enumerate() {
                            let ns = v
                                .checked_mul(mult)
                                .ok_or_else(|| bad(offset + i, v.to_string(), "out of range".into()))?;
                            out.push(Timestamp(ns));
                        }
                    }
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                        let mut err = None;
                        for_each_str(a, |i, s| {
                            if err.is_some() {
                                return;
                            }
                            match Timestamp::parse(s) {
                                Ok(t) => out.push(t),
                                Err(e) => err = Some(bad(offset + i, format!("{s:?}"), e.to_string())),
                            }
                        });
                        if let Some(e) = err {
                            return Err(e);
                        }
                    }
                    _ => {
                        let f = f64_chunk(a, name).map_err(|_| {
                            dtype_error(
                                name,
                                "timestamps (Arrow timestamp, numbers or strings)",
                                a.data_type(),
                            )
                        })?;
                        for (i, &x) in f.iter().enumerate() {
                            out.push(
                                Timestamp::from_epoch_number(x)
                                    .map_err(|e| bad(offset + i, x.to_string(), e.to_string()))?,
                            );
                        }
                    }
                }
                offset += a.len();
            }
            Ok(out)
        }
    }
}

/// Calls `f(row, text)` for every value of a string array (utf8, large utf8 or utf8 view),
/// borrowing the strings. Nulls are skipped (callers check for them first).
pub fn for_each_str<'a>(a: &'a ArrayRef, mut f: impl FnMut(usize, &'a str)) {
    match a.data_type() {
        DataType::Utf8 => {
            let s = a.as_string::<i32>();
            for i in 0..s.len() {
                if s.is_valid(i) {
                    f(i, s.value(i));
                }
            }
        }
        DataType::LargeUtf8 => {
            let s = a.as_string::<i64>();
            for i in 0..s.len() {
                if s.is_valid(i) {
                    f(i, s.value(i));
                }
            }
        }
        DataType::Utf8View => {
            let s = a.as_string_view();
            for i in 0..s.len() {
                if s.is_valid(i) {
                    f(i, s.value(i));
                }
            }
        }
        _ => {}
    }
}

/// Whether an Arrow type is a string type.
pub fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Checks a string column: string dtype and no nulls.
pub fn check_strings(col: &Column, name: &str) -> PyResult<()> {
    match col {
        Column::Strings(_) => Ok(()),
        Column::Floats(v) if v.is_empty() => Ok(()),
        Column::Floats(_) => Err(input_error(format!("`{name}`: expected strings, got numbers"))),
        Column::Arrow(chunks) => {
            let mut offset = 0;
            for a in chunks {
                if !is_string(a.data_type()) {
                    return Err(dtype_error(name, "a string column", a.data_type()));
                }
                no_nulls(a.as_ref(), name, offset)?;
                offset += a.len();
            }
            Ok(())
        }
    }
}

/// The strings of a column, owned (for small columns such as service names).
pub fn strings(col: &Column, name: &str) -> PyResult<Vec<String>> {
    check_strings(col, name)?;
    Ok(match col {
        Column::Strings(v) => v.clone(),
        Column::Floats(_) => Vec::new(),
        Column::Arrow(chunks) => {
            let mut out = Vec::new();
            for a in chunks {
                for_each_str(a, |_, s| out.push(s.to_owned()));
            }
            out
        }
    })
}

/// An imported table as `(column name, column)` pairs, chunks concatenated per column.
pub fn table(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<(String, Column)>> {
    let imp: Imported = ffi::import(obj)
        .map_err(|e| input_error(format!("`{what}`: {}", crate::errors::message(obj.py(), &e))))?;
    let DataType::Struct(fields) = imp.field.data_type() else {
        return Err(input_error(format!(
            "`{what}`: expected a table (pyarrow Table, polars DataFrame, ...), got a column of type {}",
            imp.field.data_type()
        )));
    };
    let mut cols: Vec<(String, Vec<ArrayRef>)> =
        fields.iter().map(|f| (f.name().clone(), Vec::new())).collect();
    for chunk in &imp.chunks {
        let s: &StructArray = chunk.as_struct();
        for (i, c) in s.columns().iter().enumerate() {
            if let Some(slot) = cols.get_mut(i) {
                slot.1.push(c.clone());
            }
        }
    }
    Ok(cols.into_iter().map(|(n, c)| (n, Column::Arrow(c))).collect())
}

/// Number of rows of a column.
pub fn len(col: &Column) -> usize {
    match col {
        Column::Arrow(c) => c.iter().map(|a| a.len()).sum(),
        Column::Floats(v) => v.len(),
        Column::Strings(v) => v.len(),
    }
}

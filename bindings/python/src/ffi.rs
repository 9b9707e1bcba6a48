//! The Arrow PyCapsule interface: importing arrays and streams that Python libraries (pyarrow,
//! polars, pandas via pyarrow, duckdb, nanoarrow) export through `__arrow_c_array__` /
//! `__arrow_c_stream__`, and exporting faultline's outputs the same way.
//!
//! This is the only module of the crate with `unsafe` code: the Arrow C data interface
//! (<https://arrow.apache.org/docs/format/CDataInterface/PyCapsuleInterface.html>) passes raw
//! pointers to C structs inside capsules, and taking ownership of them cannot be expressed in
//! safe Rust. Each block states the interface rule it relies on. Imported buffers are not
//! copied: the arrays keep the producer's memory alive through its `release` callback.
#![allow(unsafe_code)]

use std::ffi::CStr;

use arrow_array::ffi::{from_ffi, to_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{make_array, Array, ArrayRef, RecordBatch, RecordBatchIterator, StructArray};
use arrow_schema::{ArrowError, DataType, Field, SchemaRef};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyCapsuleMethods, PyTuple};

use crate::errors::input_error;

const SCHEMA_NAME: &CStr = c"arrow_schema";
const ARRAY_NAME: &CStr = c"arrow_array";
const STREAM_NAME: &CStr = c"arrow_array_stream";

/// An imported column or table: its field (a struct field for tables) and its chunks.
pub struct Imported {
    /// Name and type (for tables, `Struct` of the columns).
    pub field: Field,
    /// The data, in order; chunks share the producer's buffers.
    pub chunks: Vec<ArrayRef>,
}

fn arrow_err(what: &str, e: ArrowError) -> PyErr {
    input_error(format!("cannot import {what} through the Arrow C interface: {e}"))
}

/// Whether `obj` exports Arrow data (`__arrow_c_stream__` or `__arrow_c_array__`).
pub fn is_arrow(obj: &Bound<'_, PyAny>) -> bool {
    obj.hasattr("__arrow_c_stream__").unwrap_or(false) || obj.hasattr("__arrow_c_array__").unwrap_or(false)
}

/// Imports `obj` through its `__arrow_c_stream__` (preferred: chunked data stays chunked) or
/// `__arrow_c_array__` method.
pub fn import(obj: &Bound<'_, PyAny>) -> PyResult<Imported> {
    if obj.hasattr("__arrow_c_stream__")? {
        let capsule = obj.call_method0("__arrow_c_stream__")?;
        let capsule = capsule
            .cast_into::<PyCapsule>()
            .map_err(|_| input_error("__arrow_c_stream__ did not return a capsule"))?;
        import_stream(&capsule)
    } else if obj.hasattr("__arrow_c_array__")? {
        let pair = obj.call_method0("__arrow_c_array__")?;
        let pair = pair
            .cast_into::<PyTuple>()
            .map_err(|_| input_error("__arrow_c_array__ did not return a tuple"))?;
        if pair.len() != 2 {
            return Err(input_error(
                "__arrow_c_array__ did not return a (schema, array) pair",
            ));
        }
        let schema = pair.get_item(0)?.cast_into::<PyCapsule>()?;
        let array = pair.get_item(1)?.cast_into::<PyCapsule>()?;
        import_array(&schema, &array)
    } else {
        Err(input_error(format!(
            "expected Arrow data (an object with __arrow_c_stream__ or __arrow_c_array__), got {}",
            obj.get_type().name()?
        )))
    }
}

fn import_array(schema: &Bound<'_, PyCapsule>, array: &Bound<'_, PyCapsule>) -> PyResult<Imported> {
    let schema_ptr = schema.pointer_checked(Some(SCHEMA_NAME))?;
    let array_ptr = array.pointer_checked(Some(ARRAY_NAME))?;
    // SAFETY: a capsule named "arrow_schema" holds a valid `ArrowSchema` that the capsule keeps
    // owning (PyCapsule interface); we only borrow it while the capsule is alive.
    let ffi_schema: &FFI_ArrowSchema = unsafe { schema_ptr.cast::<FFI_ArrowSchema>().as_ref() };
    let field = Field::try_from(ffi_schema).map_err(|e| arrow_err("a schema", e))?;
    // SAFETY: a capsule named "arrow_array" holds a valid `ArrowArray`; the consumer may move
    // it out, and `from_raw` marks the original released so the capsule's destructor is a no-op.
    let ffi_array = unsafe { FFI_ArrowArray::from_raw(array_ptr.cast::<FFI_ArrowArray>().as_ptr()) };
    // SAFETY: the array was produced for this schema by the same producer.
    let data = unsafe { from_ffi(ffi_array, ffi_schema) }.map_err(|e| arrow_err("an array", e))?;
    Ok(Imported {
        field,
        chunks: vec![make_array(data)],
    })
}

fn import_stream(capsule: &Bound<'_, PyCapsule>) -> PyResult<Imported> {
    let ptr = capsule.pointer_checked(Some(STREAM_NAME))?;
    // SAFETY: a capsule named "arrow_array_stream" holds a valid `ArrowArrayStream`; moving it
    // out and marking the original released is what the interface asks of a consumer.
    let mut stream = unsafe { FFI_ArrowArrayStream::from_raw(ptr.cast::<FFI_ArrowArrayStream>().as_ptr()) };
    let (Some(get_schema), Some(get_next)) = (stream.get_schema, stream.get_next) else {
        return Err(input_error("the Arrow stream is already released"));
    };
    let mut ffi_schema = FFI_ArrowSchema::empty();
    // SAFETY: `get_schema` is the producer's callback for this live stream; it writes a schema
    // we own into `ffi_schema`.
    let rc = unsafe { get_schema(&mut stream, &mut ffi_schema) };
    if rc != 0 {
        return Err(input_error(format!(
            "the Arrow stream failed to give its schema: {}",
            last_error(&mut stream)
        )));
    }
    let field = Field::try_from(&ffi_schema).map_err(|e| arrow_err("a schema", e))?;
    let mut chunks = Vec::new();
    loop {
        let mut array = FFI_ArrowArray::empty();
        // SAFETY: as above; `get_next` writes an array we own, or a released one at the end.
        let rc = unsafe { get_next(&mut stream, &mut array) };
        if rc != 0 {
            return Err(input_error(format!(
                "the Arrow stream failed: {}",
                last_error(&mut stream)
            )));
        }
        if array.is_released() {
            break;
        }
        // SAFETY: every array of a stream has the stream's schema.
        let data = unsafe { from_ffi(array, &ffi_schema) }.map_err(|e| arrow_err("an array", e))?;
        chunks.push(make_array(data));
    }
    Ok(Imported { field, chunks })
}

fn last_error(stream: &mut FFI_ArrowArrayStream) -> String {
    let Some(f) = stream.get_last_error else {
        return "no message".into();
    };
    // SAFETY: `get_last_error` returns null or a NUL-terminated string valid until the next
    // call on the stream; we copy it at once.
    unsafe {
        let p = f(stream);
        if p.is_null() {
            "no message".into()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}

/// The `(schema, array)` capsule pair of `__arrow_c_array__` for `array`.
pub fn export_array<'py>(py: Python<'py>, array: &dyn Array) -> PyResult<Bound<'py, PyTuple>> {
    let (ffi_array, ffi_schema) = to_ffi(&array.to_data())
        .map_err(|e| crate::errors::internal_error(format!("cannot export an array: {e}")))?;
    // The capsules own the structs; a consumer moves them out and marks them released, so the
    // values' own `Drop` (which calls `release` when still set) frees whatever is left.
    let schema = PyCapsule::new_with_value(py, SendSchema(ffi_schema), SCHEMA_NAME)?;
    let array = PyCapsule::new_with_value(py, SendArray(ffi_array), ARRAY_NAME)?;
    PyTuple::new(py, [schema.into_any(), array.into_any()])
}

/// The capsule of `__arrow_c_stream__` for a table of `batches`.
pub fn export_stream<'py>(
    py: Python<'py>,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> PyResult<Bound<'py, PyCapsule>> {
    let reader = RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
    let stream = FFI_ArrowArrayStream::new(Box::new(reader));
    PyCapsule::new_with_value(py, stream, STREAM_NAME)
}

/// A struct array's columns as a record batch.
pub fn struct_to_batch(array: &StructArray) -> RecordBatch {
    RecordBatch::from(array.clone())
}

/// Whether a field is a table (struct) rather than a column.
pub fn is_table(field: &Field) -> bool {
    matches!(field.data_type(), DataType::Struct(_))
}

// `FFI_ArrowSchema` / `FFI_ArrowArray` hold raw pointers and are not `Send`; a capsule may be
// destroyed on any thread. The interface requires `release` to be callable from any thread, so
// moving them is sound.
#[repr(transparent)]
struct SendSchema(#[allow(dead_code)] FFI_ArrowSchema);
// SAFETY: see above (Arrow C data interface: release callbacks are thread-agnostic).
unsafe impl Send for SendSchema {}
#[repr(transparent)]
struct SendArray(#[allow(dead_code)] FFI_ArrowArray);
// SAFETY: see above.
unsafe impl Send for SendArray {}

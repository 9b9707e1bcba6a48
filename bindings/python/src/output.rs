//! [`ArrowData`]: results handed to Python through the Arrow PyCapsule interface, so that
//! `pyarrow.table(x)`, `pyarrow.array(x)` and `polars.DataFrame(x)` take them without copying.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema, SchemaRef};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyTuple};

use crate::errors::internal_error;
use crate::ffi;

/// An Arrow table or array produced by faultline (exported through the Arrow PyCapsule
/// interface: pass it to `pyarrow.table`, `pyarrow.array`, `polars.DataFrame`, ...).
#[pyclass(module = "faultline._native", frozen)]
pub struct ArrowData {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    /// Set when the data is one column (exported by `__arrow_c_array__` as that column).
    column: Option<ArrayRef>,
}

impl ArrowData {
    /// A table of named columns of equal length.
    pub fn table(columns: Vec<(&str, ArrayRef)>) -> PyResult<Self> {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), a.null_count() > 0))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect())
            .map_err(|e| internal_error(format!("cannot build a result table: {e}")))?;
        Ok(Self {
            schema,
            batches: vec![batch],
            column: None,
        })
    }

    /// One column.
    pub fn column(name: &str, array: ArrayRef) -> PyResult<Self> {
        let mut t = Self::table(vec![(name, array.clone())])?;
        t.column = Some(array);
        Ok(t)
    }
}

#[pymethods]
impl ArrowData {
    /// The Arrow C stream of the table (PyCapsule interface).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema; // the schema is fixed; consumers cast if they need to
        ffi::export_stream(py, self.schema.clone(), self.batches.clone())
    }

    /// The Arrow C array: the column for single-column results, else the table as a struct.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let _ = requested_schema;
        if let Some(c) = &self.column {
            return ffi::export_array(py, c.as_ref());
        }
        let batch = arrow_select_concat(&self.schema, &self.batches)?;
        let s = arrow_array::StructArray::from(batch);
        ffi::export_array(py, &s)
    }

    /// Number of rows.
    fn __len__(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    /// Column names.
    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.schema.fields().iter().map(|f| f.name().clone()).collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "ArrowData(rows={}, columns={:?})",
            self.__len__(),
            self.column_names()
        )
    }
}

fn arrow_select_concat(schema: &SchemaRef, batches: &[RecordBatch]) -> PyResult<RecordBatch> {
    match batches {
        [one] => Ok(one.clone()),
        _ => Err(internal_error(format!(
            "a result of {} batches cannot be one array; use __arrow_c_stream__ (schema {schema})",
            batches.len()
        ))),
    }
}

//! Python bindings of faultline: the native module `faultline._native` behind the Python
//! package `faultline` (bindings/python/python/faultline).
//!
//! Everything goes through the facade crate [`faultline`]: detection ([`detect`]), log mining
//! ([`mine`]), analysis of bundles and in-memory tables ([`analyze`]), host adapters written
//! in Python ([`adapters`]). Inputs arrive through the Arrow PyCapsule interface ([`ffi`]) and
//! are read in place; results leave as Arrow data ([`output::ArrowData`]) or as dicts shaped
//! like the JSON report ([`convert`]). Errors map onto a Python exception hierarchy
//! ([`errors`]). The GIL is released while Rust works.
//!
//! Built with maturin (`bindings/python/pyproject.toml`); see `docs/python.md`.

pub mod adapters;
pub mod analyze;
pub mod columns;
pub mod convert;
pub mod detect;
pub mod errors;
pub mod ffi;
pub mod fix;
pub mod mine;
pub mod output;

use pyo3::prelude::*;

/// The default `PipelineConfig` as a dict.
#[pyfunction]
fn default_config(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    convert::ser_to_py(py, &faultline::PipelineConfig::default())
}

/// Validates a `PipelineConfig` dict (unknown keys are errors) and returns it with every
/// default filled in.
#[pyfunction]
fn validate_config<'py>(py: Python<'py>, config: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let cfg = convert::pipeline_config(Some(config))?;
    convert::ser_to_py(py, &cfg)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    m.add_class::<output::ArrowData>()?;
    m.add_class::<mine::TemplateMiner>()?;
    m.add_function(wrap_pyfunction!(default_config, m)?)?;
    m.add_function(wrap_pyfunction!(validate_config, m)?)?;
    m.add_function(wrap_pyfunction!(detect::score, m)?)?;
    m.add_function(wrap_pyfunction!(detect::detect, m)?)?;
    m.add_function(wrap_pyfunction!(detect::decompose, m)?)?;
    m.add_function(wrap_pyfunction!(detect::_values_address, m)?)?;
    m.add_function(wrap_pyfunction!(detect::_detect_addresses, m)?)?;
    m.add_function(wrap_pyfunction!(mine::mine, m)?)?;
    m.add_function(wrap_pyfunction!(analyze::analyze_bundle, m)?)?;
    m.add_function(wrap_pyfunction!(analyze::analyze, m)?)?;
    m.add_function(wrap_pyfunction!(analyze::render_markdown, m)?)?;
    m.add_function(wrap_pyfunction!(analyze::narrate, m)?)?;
    adapters::register(m)?;
    fix::register(m)?;
    Ok(())
}

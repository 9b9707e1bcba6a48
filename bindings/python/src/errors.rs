//! The exception hierarchy: `FaultlineError` and one subclass per error family of
//! [`faultline::Error`], carrying the Rust message with its cause chain (`str(e)`) and the
//! chain's parts (`e.causes`).

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyList;

create_exception!(
    _native,
    FaultlineError,
    PyException,
    "Base class of every error raised by faultline."
);
create_exception!(
    _native,
    InputError,
    FaultlineError,
    "Bad input data: wrong dtype, nulls, ragged lists, malformed values."
);
create_exception!(
    _native,
    ConfigError,
    InputError,
    "A malformed or invalid configuration (unknown keys are errors)."
);
create_exception!(
    _native,
    BundleError,
    InputError,
    "A missing or malformed incident bundle (names file, line, field and value)."
);
create_exception!(
    _native,
    DetectError,
    FaultlineError,
    "Metric anomaly detection failed."
);
create_exception!(
    _native,
    MiningError,
    FaultlineError,
    "Log template mining failed."
);
create_exception!(
    _native,
    AnalysisError,
    FaultlineError,
    "Root-cause analysis failed."
);
create_exception!(
    _native,
    FixError,
    FaultlineError,
    "Fix planning, preflight, approval, execution or verification failed."
);
create_exception!(
    _native,
    NotAllowedError,
    FixError,
    "A rule of the fix state machine was broken (e.g. executing an unapproved plan)."
);
create_exception!(
    _native,
    AdapterError,
    FaultlineError,
    "A host adapter (LLM client, runner, notifier, detector) failed."
);
create_exception!(
    _native,
    InternalError,
    FaultlineError,
    "A failure that is not the caller's fault (likely a bug or an I/O problem)."
);

/// Registers the exception classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("FaultlineError", py.get_type::<FaultlineError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("BundleError", py.get_type::<BundleError>())?;
    m.add("DetectError", py.get_type::<DetectError>())?;
    m.add("MiningError", py.get_type::<MiningError>())?;
    m.add("AnalysisError", py.get_type::<AnalysisError>())?;
    m.add("FixError", py.get_type::<FixError>())?;
    m.add("NotAllowedError", py.get_type::<NotAllowedError>())?;
    m.add("AdapterError", py.get_type::<AdapterError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    Ok(())
}

/// An [`InputError`] with `message`.
pub fn input_error(message: impl Into<String>) -> PyErr {
    with_causes(InputError::new_err(message.into()), Vec::new())
}

/// A [`ConfigError`] with `message`.
pub fn config_error(message: impl Into<String>) -> PyErr {
    with_causes(ConfigError::new_err(message.into()), Vec::new())
}

/// An [`AdapterError`] with `message`.
pub fn adapter_error(message: impl Into<String>) -> PyErr {
    with_causes(AdapterError::new_err(message.into()), Vec::new())
}

/// An [`InternalError`] with `message`.
pub fn internal_error(message: impl Into<String>) -> PyErr {
    with_causes(InternalError::new_err(message.into()), Vec::new())
}

fn with_causes(err: PyErr, causes: Vec<String>) -> PyErr {
    Python::attach(|py| {
        let list = PyList::new(py, causes).ok();
        if let Some(list) = list {
            // Setting an attribute on a fresh exception instance cannot fail in practice; the
            // message already carries the chain if it did.
            let _ = err.value(py).setattr("causes", list);
        }
    });
    err
}

fn chain_parts(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        out.push(s.to_string());
        src = s.source();
    }
    out
}

/// Maps a facade error onto its exception class; the message is the whole cause chain.
pub fn to_py(e: faultline::Error) -> PyErr {
    use faultline::core::CoreError;
    use faultline::Error as E;
    let msg = e.chain();
    let causes = chain_parts(&e);
    let err = match &e {
        E::Bundle(_) => BundleError::new_err(msg),
        E::Config(_) => ConfigError::new_err(msg),
        E::Input(_) => InputError::new_err(msg),
        E::Detect(_) => DetectError::new_err(msg),
        E::Cluster(_) => MiningError::new_err(msg),
        E::Rca(_) => AnalysisError::new_err(msg),
        E::Remediate(faultline::remediate::RemediateError::NotAllowed(_)) => NotAllowedError::new_err(msg),
        E::Remediate(_) => FixError::new_err(msg),
        E::Core(c) => match c {
            CoreError::InvalidInput(_) => InputError::new_err(msg),
            CoreError::Adapter { .. } | CoreError::Timeout { .. } => AdapterError::new_err(msg),
            CoreError::NotAllowed(_) => NotAllowedError::new_err(msg),
            _ => InternalError::new_err(msg),
        },
        _ => FaultlineError::new_err(msg),
    };
    with_causes(err, causes)
}

/// `Result` conversion for facade results.
pub trait IntoPy<T> {
    /// The error as its Python exception.
    fn py_err(self) -> PyResult<T>;
}

impl<T, E: Into<faultline::Error>> IntoPy<T> for Result<T, E> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(|e| to_py(e.into()))
    }
}

/// The message of a Python exception (`str(e)`).
pub fn message(py: Python<'_>, e: &PyErr) -> String {
    e.value(py)
        .str()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "unprintable error".into())
}

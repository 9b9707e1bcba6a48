//! The remediation flow (`faultline::fix`): plan → preflight → approve → execute → verify,
//! every step appended to a signed audit log, with records passed as dicts.

use std::sync::Arc;

use faultline::core::ports::{DryRunRunner, Runner, SystemClock};
use faultline::core::FixPlan;
use faultline::fix::{
    self, Authority, CanaryConfig, CanarySpec, Catalog, ExecutionRecord, Fixer as RustFixer,
    MetricComparison, PlanContext, PreflightRecord, PreflightSpec, RunnerSpec, SignedApproval, SigningKey,
    VerifyingKey, Window,
};
use faultline::remediate::audit::SignedMemorySink;
use pyo3::prelude::*;
use pyo3::types::PyList;
use serde::de::DeserializeOwned;

use crate::adapters::{runtime, PyNotifier, PyRunner};
use crate::convert;
use crate::errors::{input_error, IntoPy};

fn from_py<T: DeserializeOwned>(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    let v = convert::to_json(obj, what)?;
    serde_json::from_value(v).map_err(|e| input_error(format!("`{what}`: {e}")))
}

fn opt_from_py<T: DeserializeOwned + Default>(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<T> {
    match obj {
        Some(o) if !o.is_none() => from_py(o, what),
        _ => Ok(T::default()),
    }
}

fn signing_key(hex: &str) -> PyResult<SigningKey> {
    fix::signing_key_from_hex(hex.trim()).py_err()
}

fn verifying_key(hex: &str) -> PyResult<VerifyingKey> {
    fix::verifying_key_from_hex(hex.trim()).py_err()
}

/// A Python runner, or the dry-run runner when `None`.
fn host_runner(runner: Option<&Bound<'_, PyAny>>) -> PyResult<Box<dyn Runner>> {
    Ok(match runner {
        Some(r) if !r.is_none() => Box::new(PyRunner::new(r)?),
        _ => Box::new(DryRunRunner),
    })
}

fn block_on<T>(
    py: Python<'_>,
    f: impl std::future::Future<Output = faultline::Result<T>> + Send,
) -> PyResult<T>
where
    T: Send,
{
    py.detach(|| -> faultline::Result<T> {
        let rt = runtime()?;
        rt.block_on(f)
    })
    .py_err()
}

/// A fix catalog from Python: a dict shaped like the catalog file (`{"version": 1, "rules":
/// [...]}`), a list of rules, YAML text, or a path (`os.PathLike`, or a one-line `str` naming
/// an existing file) to a YAML/JSON catalog file. Validated like a catalog file (unknown keys,
/// unknown action kinds, missing parameters and bad templates are `ConfigError`s).
pub fn catalog_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Catalog> {
    let bad = |e: faultline::remediate::RemediateError| crate::errors::config_error(format!("catalog: {e}"));
    let from_path = |p: std::path::PathBuf| -> PyResult<Catalog> {
        let text = std::fs::read_to_string(&p)
            .map_err(|e| input_error(format!("catalog: cannot read {}: {e}", p.display())))?;
        Catalog::from_yaml(&text)
            .map_err(|e| crate::errors::config_error(format!("catalog {}: {e}", p.display())))
    };
    if let Ok(text) = obj.extract::<String>() {
        let path = std::path::Path::new(&text);
        if !text.contains('\n') && path.is_file() {
            return from_path(path.to_path_buf());
        }
        return Catalog::from_yaml(&text).map_err(bad);
    }
    if obj.hasattr("__fspath__")? {
        return from_path(obj.extract()?);
    }
    let value = match convert::to_json(obj, "catalog")? {
        v @ serde_json::Value::Object(_) => v,
        v @ serde_json::Value::Array(_) => serde_json::json!({ "rules": v }),
        _ => {
            return Err(input_error(format!(
                "catalog: expected a dict, a list of rules, YAML text or a path, got {}",
                obj.get_type().name()?
            )))
        }
    };
    // JSON is YAML: the catalog file reader validates the dict exactly as it does a file.
    Catalog::from_yaml(&value.to_string()).map_err(bad)
}

/// The shipped fix catalog as a dict (`{"version": 1, "rules": [...]}`), a starting point for
/// a custom catalog passed to `Fixer.plan(..., catalog=)` or `analyze(..., catalog=)`.
#[pyfunction]
pub fn default_catalog(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let c = Catalog::default_catalog();
    convert::ser_to_py(py, &serde_json::json!({ "version": 1, "rules": c.rules() }))
}

/// A new Ed25519 key pair for approvals or the audit log: `(secret_hex, public_hex)`.
#[pyfunction]
pub fn generate_key() -> PyResult<(String, String)> {
    let k = fix::generate_key().py_err()?;
    Ok((
        fix::signing_key_hex(&k),
        fix::verifying_key_hex(&k.verifying_key()),
    ))
}

/// Pairs a baseline and a canary window (`{metric: [values]}`) into the judge's comparisons;
/// `spec` is a `CanarySpec` dict (`critical`, `count`, ...).
#[pyfunction]
#[pyo3(signature = (baseline, canary, spec=None))]
pub fn comparisons<'py>(
    py: Python<'py>,
    baseline: &Bound<'py, PyAny>,
    canary: &Bound<'py, PyAny>,
    spec: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let b: Window = from_py(baseline, "baseline")?;
    let c: Window = from_py(canary, "canary")?;
    let s: CanarySpec = opt_from_py(spec, "spec")?;
    convert::ser_to_py(py, &fix::comparisons(&b, &c, &s).py_err()?)
}

/// Verifies audit records (hash chain and signatures) against the log's public key; returns
/// how many records verified.
#[pyfunction]
pub fn verify_audit(records: &Bound<'_, PyAny>, public_key: &str) -> PyResult<u64> {
    let r: Vec<faultline::core::AuditRecord> = from_py(records, "records")?;
    fix::verify_audit(&r, &verifying_key(public_key)?, None).py_err()
}

/// The remediation flow over one signed audit log (in memory, or a JSONL file with `audit_path`).
#[pyclass(module = "faultline._native")]
pub struct Fixer {
    inner: RustFixer,
    public_key: String,
}

#[pymethods]
impl Fixer {
    /// A flow whose audit log is signed with `audit_key` (secret key hex; generated when
    /// omitted), kept in memory or appended to `audit_path`. `notifier`: a Python object with
    /// `notify(notification: dict)` (default: log).
    #[new]
    #[pyo3(signature = (audit_key=None, *, audit_path=None, notifier=None))]
    fn new(
        audit_key: Option<&str>,
        audit_path: Option<std::path::PathBuf>,
        notifier: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let key = match audit_key {
            Some(k) => signing_key(k)?,
            None => fix::generate_key().py_err()?,
        };
        let public_key = fix::verifying_key_hex(&key.verifying_key());
        let mut inner = match audit_path {
            Some(p) => RustFixer::with_file_audit(p, key).py_err()?,
            None => RustFixer::new(Arc::new(SignedMemorySink::new(key, Arc::new(SystemClock)))),
        };
        if let Some(n) = notifier.filter(|n| !n.is_none()) {
            inner = inner.with_notifier(Arc::new(PyNotifier::new(n)?));
        }
        Ok(Self { inner, public_key })
    }

    /// The audit log's public key (hex), for `verify_audit`.
    #[getter]
    fn audit_public_key(&self) -> String {
        self.public_key.clone()
    }

    /// A fix plan for the report's top hypothesis (dict), from `catalog` (a dict shaped like
    /// the catalog file, a list of rules, YAML text or a path; default: the shipped catalog,
    /// see `default_catalog()`). `context`: a `PlanContext` dict (`environment`, `namespace`,
    /// `labels`, `params`).
    #[pyo3(signature = (report, *, context=None, catalog=None))]
    fn plan<'py>(
        &self,
        py: Python<'py>,
        report: &Bound<'py, PyAny>,
        context: Option<&Bound<'py, PyAny>>,
        catalog: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r = crate::analyze::report_from_py(report)?;
        let ctx: PlanContext = opt_from_py(context, "context")?;
        let catalog = match catalog.filter(|c| !c.is_none()) {
            Some(c) => catalog_from_py(c)?,
            None => Catalog::default_catalog(),
        };
        let plan = block_on(py, self.inner.plan(&r, &catalog, &ctx))?;
        convert::ser_to_py(py, &plan)
    }

    /// Preflight checks (dry run, policy, error budget, drift, risk) of a plan: the record as
    /// a dict (`report.passed`, `report.reasons`). `spec`: a `PreflightSpec` dict; `runner`: a
    /// Python runner for the dry run (default: faultline's dry-run runner).
    #[pyo3(signature = (plan, *, spec=None, runner=None))]
    fn preflight<'py>(
        &self,
        py: Python<'py>,
        plan: &Bound<'py, PyAny>,
        spec: Option<&Bound<'py, PyAny>>,
        runner: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p: FixPlan = from_py(plan, "plan")?;
        let s: PreflightSpec = opt_from_py(spec, "spec")?;
        let r = host_runner(runner)?;
        let rec = block_on(py, self.inner.preflight(&p, &s, r.as_ref()))?;
        convert::ser_to_py(py, &rec)
    }

    /// A person's signed approval of a preflighted plan (dict), signed with `key` (the
    /// approver's secret key hex). Refused unless the preflight passed and is in the log.
    #[pyo3(signature = (plan, preflight, approver, comment, key, *, runner=None))]
    #[allow(clippy::too_many_arguments)]
    fn approve<'py>(
        &self,
        py: Python<'py>,
        plan: &Bound<'py, PyAny>,
        preflight: &Bound<'py, PyAny>,
        approver: &str,
        comment: &str,
        key: &str,
        runner: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p: FixPlan = from_py(plan, "plan")?;
        let pre: PreflightRecord = from_py(preflight, "preflight")?;
        let k = signing_key(key)?;
        let r = host_runner(runner)?;
        let signed = block_on(
            py,
            self.inner.approve(&p, &pre, approver, comment, &k, r.as_ref()),
        )?;
        convert::ser_to_py(py, &signed)
    }

    /// Executes an approved plan: the execution record (dict). Authority: `approval` (from
    /// `approve`) with the approver's `approver_key` (public key hex), or `auto_environment`
    /// (auto-approval for a non-production environment). `runner`: a Python runner object, a
    /// `RunnerSpec` dict (`{"kind": "dry-run" | "shell" | "gitops" | "http", ...}`), or None
    /// (dry run). Without authority the execution is refused (`NotAllowedError`) and logged.
    #[pyo3(signature = (plan, *, approval=None, approver_key=None, auto_environment=None, runner=None))]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        plan: &Bound<'py, PyAny>,
        approval: Option<&Bound<'py, PyAny>>,
        approver_key: Option<&str>,
        auto_environment: Option<&str>,
        runner: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p: FixPlan = from_py(plan, "plan")?;
        let authority = match (approval.filter(|a| !a.is_none()), auto_environment) {
            (Some(a), _) => {
                let approval: SignedApproval = from_py(a, "approval")?;
                let key = approver_key.ok_or_else(|| {
                    input_error("`approver_key` (public key hex) is required with `approval`")
                })?;
                Some(Authority::Signed {
                    approval,
                    key: verifying_key(key)?,
                })
            }
            (None, Some(env)) => Some(Authority::auto_for(env, PreflightSpec::default())),
            (None, None) => None,
        };
        let rec: ExecutionRecord = match runner.filter(|r| !r.is_none()) {
            Some(r) if r.hasattr("run")? => {
                let host = PyRunner::new(r)?;
                block_on(py, self.inner.execute_with(&p, authority.as_ref(), &host))?
            }
            Some(r) => {
                let spec: RunnerSpec = from_py(r, "runner")?;
                block_on(py, self.inner.execute(&p, authority.as_ref(), &spec))?
            }
            None => block_on(
                py,
                self.inner.execute(&p, authority.as_ref(), &RunnerSpec::DryRun),
            )?,
        };
        convert::ser_to_py(py, &rec)
    }

    /// Verifies an execution with the canary judge over `metrics` (from `comparisons`); a
    /// failing verdict rolls back (through `runner`, a Python runner, when the execution used
    /// one) and notifies. Returns the verify record (dict).
    #[pyo3(signature = (plan, execution, metrics, *, approver_key=None, canary=None, runner=None))]
    #[allow(clippy::too_many_arguments)]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        plan: &Bound<'py, PyAny>,
        execution: &Bound<'py, PyAny>,
        metrics: &Bound<'py, PyAny>,
        approver_key: Option<&str>,
        canary: Option<&Bound<'py, PyAny>>,
        runner: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p: FixPlan = from_py(plan, "plan")?;
        let rec: ExecutionRecord = from_py(execution, "execution")?;
        let m: Vec<MetricComparison> = from_py(metrics, "metrics")?;
        let c: CanaryConfig = opt_from_py(canary, "canary")?;
        let key = approver_key.map(verifying_key).transpose()?;
        let out = match runner.filter(|r| !r.is_none()) {
            Some(r) => {
                let host = PyRunner::new(r)?;
                block_on(py, self.inner.verify_with(&p, &rec, key.as_ref(), &m, &c, &host))?
            }
            None => block_on(py, self.inner.verify(&p, &rec, key.as_ref(), &m, &c))?,
        };
        convert::ser_to_py(py, &out)
    }

    /// The audit log's records (dicts), oldest first.
    fn audit_records<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let records = block_on(py, self.inner.audit_records())?;
        let out = PyList::empty(py);
        for r in &records {
            out.append(convert::ser_to_py(py, r)?)?;
        }
        Ok(out)
    }
}

/// Registers the fix functions and class.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Fixer>()?;
    m.add_function(wrap_pyfunction!(generate_key, m)?)?;
    m.add_function(wrap_pyfunction!(default_catalog, m)?)?;
    m.add_function(wrap_pyfunction!(comparisons, m)?)?;
    m.add_function(wrap_pyfunction!(verify_audit, m)?)?;
    Ok(())
}

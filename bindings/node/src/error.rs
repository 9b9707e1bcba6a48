//! Errors as JavaScript sees them: a plain `Error` whose `message` is the Rust message with its
//! whole cause chain, `code` and `name` naming the error family, `badInput` telling whether the
//! caller's input was at fault, and `cause` holding the Rust causes as nested `Error`s.

use napi::{Env, JsValue, Status};

/// The error families, one `code` / `name` pair each (documented in `docs/node.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// A configuration object was malformed or out of range.
    Config,
    /// An incident bundle (directory or in-memory records) was missing or malformed.
    Bundle,
    /// Other bad input: values, lines, records, arguments.
    Input,
    /// Metric detection failed.
    Detect,
    /// Log mining failed.
    Cluster,
    /// Root-cause analysis failed.
    Rca,
    /// Fix planning, preflight, approval, execution or verification refused or failed.
    Remediate,
    /// An operation broke a state-machine rule (e.g. executing an unapproved plan).
    NotAllowed,
    /// A host adapter (a JavaScript runner, notifier or LLM client) failed.
    Adapter,
    /// Reading or writing a file failed.
    Io,
    /// A bug in faultline or in these bindings.
    Internal,
}

impl Family {
    /// The stable `code` property.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Family::Config => "ERR_FAULTLINE_CONFIG",
            Family::Bundle => "ERR_FAULTLINE_BUNDLE",
            Family::Input => "ERR_FAULTLINE_INPUT",
            Family::Detect => "ERR_FAULTLINE_DETECT",
            Family::Cluster => "ERR_FAULTLINE_CLUSTER",
            Family::Rca => "ERR_FAULTLINE_RCA",
            Family::Remediate => "ERR_FAULTLINE_REMEDIATE",
            Family::NotAllowed => "ERR_FAULTLINE_NOT_ALLOWED",
            Family::Adapter => "ERR_FAULTLINE_ADAPTER",
            Family::Io => "ERR_FAULTLINE_IO",
            Family::Internal => "ERR_FAULTLINE_INTERNAL",
        }
    }

    /// The `name` property (what `String(err)` starts with).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Family::Config => "FaultlineConfigError",
            Family::Bundle => "FaultlineBundleError",
            Family::Input => "FaultlineInputError",
            Family::Detect => "FaultlineDetectError",
            Family::Cluster => "FaultlineClusterError",
            Family::Rca => "FaultlineRcaError",
            Family::Remediate => "FaultlineRemediateError",
            Family::NotAllowed => "FaultlineNotAllowedError",
            Family::Adapter => "FaultlineAdapterError",
            Family::Io => "FaultlineIoError",
            Family::Internal => "FaultlineInternalError",
        }
    }

    fn bad_input(self) -> bool {
        matches!(
            self,
            Family::Config | Family::Bundle | Family::Input | Family::NotAllowed
        )
    }
}

/// An error on its way to JavaScript: built on any thread, turned into a JS `Error` on the
/// JavaScript thread by [`JsFailure::into_napi`].
#[derive(Debug, Clone)]
pub(crate) struct JsFailure {
    family: Family,
    /// Messages, outermost first (the Rust error and then each `source()`).
    chain: Vec<String>,
}

impl JsFailure {
    /// An error of `family` with one message.
    pub(crate) fn new(family: Family, message: impl Into<String>) -> Self {
        Self {
            family,
            chain: vec![message.into()],
        }
    }

    /// Bad input with `message`.
    pub(crate) fn input(message: impl Into<String>) -> Self {
        Self::new(Family::Input, message)
    }

    /// A bad configuration object.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(Family::Config, message)
    }

    /// From any Rust error, keeping its cause chain.
    pub(crate) fn from_std(family: Family, e: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = vec![e.to_string()];
        let mut src = e.source();
        while let Some(s) = src {
            chain.push(s.to_string());
            src = s.source();
        }
        Self { family, chain }
    }

    /// `outer: inner: innermost`, as the JavaScript `message`.
    pub(crate) fn message(&self) -> String {
        self.chain.join(": ")
    }

    /// The JavaScript error object, wrapped in a [`napi::Error`] that keeps it as is when
    /// thrown or used to reject a promise.
    pub(crate) fn into_napi(self, env: &Env) -> napi::Error {
        match self.build(env) {
            Ok(e) => e,
            // Building the object failed (the environment is shutting down): a plain error
            // with the same message and code is the best left to do.
            Err(_) => napi::Error::new(
                Status::GenericFailure,
                format!("{}: {}", self.family.code(), self.message()),
            ),
        }
    }

    fn build(&self, env: &Env) -> napi::Result<napi::Error> {
        let mut cause: Option<napi::bindgen_prelude::Object<'_>> = None;
        // Innermost first, so each message wraps the next one as its `cause`.
        for msg in self.chain.iter().skip(1).rev() {
            let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, msg.clone()))?;
            obj.set("name", "Error")?;
            obj.set("code", napi::bindgen_prelude::Null)?;
            if let Some(c) = cause.take() {
                obj.set("cause", c)?;
            }
            cause = Some(obj);
        }
        let mut top = env.create_error(napi::Error::new(Status::GenericFailure, self.message()))?;
        top.set("name", self.family.name())?;
        top.set("code", self.family.code())?;
        top.set("badInput", self.family.bad_input())?;
        if let Some(c) = cause {
            top.set("cause", c)?;
        }
        Ok(napi::Error::from(top.to_unknown()))
    }
}

impl From<faultline::Error> for JsFailure {
    fn from(e: faultline::Error) -> Self {
        use faultline::Error as E;
        let family = match &e {
            E::Bundle(_) => Family::Bundle,
            E::Config(_) => Family::Config,
            E::Input(_) => Family::Input,
            E::Detect(_) => Family::Detect,
            E::Cluster(_) => Family::Cluster,
            E::Rca(_) => Family::Rca,
            E::Remediate(r) => remediate_family(r),
            E::Core(c) => core_family(c),
            _ => Family::Internal,
        };
        Self::from_std(family, &e)
    }
}

/// The family of a remediation error: refusals by the approval rules are `NotAllowed`, bad
/// plans, catalogs and settings are the caller's input, the rest is `Remediate`.
fn remediate_family(r: &faultline::remediate::RemediateError) -> Family {
    use faultline::remediate::RemediateError as R;
    match r {
        R::NotAllowed(_) => Family::NotAllowed,
        R::Config(_)
        | R::Catalog(_)
        | R::Template { .. }
        | R::MissingParam { .. }
        | R::InvalidValue { .. } => Family::Config,
        R::Core(c) => core_family(c),
        _ => Family::Remediate,
    }
}

/// The family of a core (adapter / data model) error.
pub(crate) fn core_family(c: &faultline::core::CoreError) -> Family {
    use faultline::core::CoreError;
    match c {
        CoreError::InvalidInput(_) | CoreError::NotFound { .. } => Family::Input,
        CoreError::Io { .. } => Family::Io,
        CoreError::Adapter { .. } | CoreError::Timeout { .. } => Family::Adapter,
        CoreError::NotAllowed(_) => Family::NotAllowed,
        _ => Family::Internal,
    }
}

impl From<faultline::core::CoreError> for JsFailure {
    fn from(e: faultline::core::CoreError) -> Self {
        Self::from_std(core_family(&e), &e)
    }
}

/// `Result` with [`JsFailure`].
pub(crate) type Fallible<T> = std::result::Result<T, JsFailure>;

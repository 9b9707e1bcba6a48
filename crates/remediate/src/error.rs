//! [`RemediateError`]: the one error type of this crate.

/// Everything that can go wrong while planning, checking, approving, running, auditing or
/// verifying a fix.
///
/// The variant says whose fault it is: the catalog or input (`Catalog`, `Template`,
/// `MissingParam`, `InvalidValue`, `Config`), the policy or state machine (`NotAllowed`), the
/// environment (`Io`, `Runner`, `Timeout`, `Git`), or tampering (`Audit`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemediateError {
    /// The catalog YAML does not parse or breaks a rule.
    #[error("invalid catalog: {0}")]
    Catalog(String),
    /// A template failed to compile or render.
    #[error("template error in rule '{rule}', action '{action}', field '{field}': {message}")]
    Template {
        /// The rule.
        rule: String,
        /// The action kind.
        action: String,
        /// The parameter or field.
        field: String,
        /// What minijinja said.
        message: String,
    },
    /// An action lacks a parameter its script generator needs.
    #[error("action '{action}' needs parameter '{param}'")]
    MissingParam {
        /// The action kind.
        action: String,
        /// The parameter.
        param: String,
    },
    /// A rendered value is not acceptable where it goes (an SQL identifier with a quote, a
    /// replica count that is not a number, …).
    #[error("invalid value for '{field}': {value:?} ({reason})")]
    InvalidValue {
        /// Where it goes.
        field: String,
        /// The value.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A configuration struct failed validation.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The policy, the approval state machine or a runner's allow-list refused the action.
    #[error("not allowed: {0}")]
    NotAllowed(String),
    /// A Rego policy failed to load or evaluate.
    #[error("policy error: {0}")]
    Policy(String),
    /// A runner failed to run a step.
    #[error("runner {runner} failed: {message}")]
    Runner {
        /// The runner.
        runner: String,
        /// What happened.
        message: String,
    },
    /// A step took too long.
    #[error("step timed out after {millis} ms")]
    Timeout {
        /// The limit.
        millis: u64,
    },
    /// A `git` command failed.
    #[error("git {args} failed: {message}")]
    Git {
        /// The git arguments.
        args: String,
        /// Its stderr.
        message: String,
    },
    /// The audit log does not verify.
    #[error("audit log does not verify: {0}")]
    Audit(String),
    /// Reading or writing a file failed.
    #[error("i/o error on {path}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An adapter from faultline-core failed.
    #[error(transparent)]
    Core(#[from] faultline_core::CoreError),
}

impl RemediateError {
    pub(crate) fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<RemediateError> for faultline_core::CoreError {
    fn from(e: RemediateError) -> Self {
        match e {
            RemediateError::Core(c) => c,
            RemediateError::NotAllowed(m) => faultline_core::CoreError::NotAllowed(m),
            RemediateError::Timeout { millis } => faultline_core::CoreError::Timeout {
                what: "step".into(),
                millis,
            },
            other => faultline_core::CoreError::Adapter {
                adapter: "remediate".into(),
                message: other.to_string(),
            },
        }
    }
}

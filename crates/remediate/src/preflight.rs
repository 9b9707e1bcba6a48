//! Preflight: everything that must hold before a plan may be approved.
//!
//! 1. every step's dry-run form runs through the [`Runner`] and must succeed;
//! 2. every policy ([`PolicyEngine`]: the built-in rules, Rego via the `rego` module behind the `rego` feature) must allow
//!    the plan, with readable reasons when it does not;
//! 3. the SLO error-budget gate: with the budget exhausted, only plans at most as risky as
//!    `max_risk_when_budget_exhausted` (rollbacks, pauses) pass (Beyer et al., *Site
//!    Reliability Engineering*, 2016, ch. 3: an exhausted budget freezes risky changes);
//! 4. drift: the live state the plan assumed still holds (each [`DriftCheck`] probes it with a
//!    read-only command);
//! 5. the plan's risk must not exceed `max_risk`.

use faultline_core::ports::{Clock, PolicyDecision, PolicyEngine, RunMode, Runner};
use faultline_core::{Execution, FixPlan, Step};
use serde::{Deserialize, Serialize};

use crate::RemediateError;

/// Preflight limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreflightConfig {
    /// Plans riskier than this fail preflight (in [0, 1]).
    pub max_risk: f64,
    /// When the error budget is exhausted, only plans at most this risky pass.
    pub max_risk_when_budget_exhausted: f64,
}

impl Default for PreflightConfig {
    fn default() -> Self {
        Self {
            max_risk: 0.9,
            max_risk_when_budget_exhausted: 0.35,
        }
    }
}

impl PreflightConfig {
    /// Checks the limits are in [0, 1].
    pub fn validate(&self) -> Result<(), RemediateError> {
        for (n, v) in [
            ("max_risk", self.max_risk),
            (
                "max_risk_when_budget_exhausted",
                self.max_risk_when_budget_exhausted,
            ),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(RemediateError::Config(format!("{n} = {v} is outside [0, 1]")));
            }
        }
        Ok(())
    }
}

/// An SLO's error budget over its window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBudget {
    /// SLO target as a fraction (0.999).
    pub slo_target: f64,
    /// Events in the SLO window.
    pub total_events: u64,
    /// Bad events in the window.
    pub bad_events: u64,
}

impl ErrorBudget {
    /// Share of the budget left: 1 = untouched, 0 = exhausted, negative = overspent.
    ///
    /// ```
    /// use faultline_remediate::preflight::ErrorBudget;
    /// let b = ErrorBudget { slo_target: 0.99, total_events: 10_000, bad_events: 50 };
    /// assert!((b.remaining() - 0.5).abs() < 1e-9);
    /// ```
    pub fn remaining(&self) -> f64 {
        let allowed = self.total_events as f64 * (1.0 - self.slo_target);
        if allowed <= 0.0 {
            return if self.bad_events == 0 {
                1.0
            } else {
                f64::NEG_INFINITY
            };
        }
        1.0 - self.bad_events as f64 / allowed
    }
}

/// A live-state assumption: `probe` (a read-only command, run in dry-run mode) must print
/// `expect_contains`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftCheck {
    /// What is assumed (`checkout runs 2.32.0`).
    pub name: String,
    /// Read-only command.
    pub probe: String,
    /// Text its output must contain.
    pub expect_contains: String,
}

/// The outcome of one drift check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftResult {
    /// The check's name.
    pub name: String,
    /// `Some(true)` holds, `Some(false)` drifted, `None` not checkable with this runner.
    pub holds: Option<bool>,
    /// Probe output (truncated).
    pub output: String,
}

/// Everything preflight found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreflightReport {
    /// One dry run per step.
    pub dry_runs: Vec<Execution>,
    /// The combined policy decision.
    pub policy: PolicyDecision,
    /// Budget remaining, when a budget was given.
    pub budget_remaining: Option<f64>,
    /// Drift checks.
    pub drift: Vec<DriftResult>,
    /// The plan's risk.
    pub risk: f64,
    /// Whether the plan may go on to approval.
    pub passed: bool,
    /// Every reason it may not (empty when passed).
    pub reasons: Vec<String>,
}

/// Preflight checks for plans.
pub struct Preflight {
    config: PreflightConfig,
    policies: Vec<Box<dyn PolicyEngine>>,
    budget: Option<ErrorBudget>,
    drift: Vec<DriftCheck>,
}

impl std::fmt::Debug for Preflight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preflight")
            .field("config", &self.config)
            .field("policies", &self.policies.len())
            .field("budget", &self.budget)
            .field("drift", &self.drift)
            .finish()
    }
}

impl Default for Preflight {
    fn default() -> Self {
        Self {
            config: PreflightConfig::default(),
            policies: Self::default_policies(),
            budget: None,
            drift: vec![],
        }
    }
}

/// Tools the default catalog's scripts use.
pub const DEFAULT_TOOLS: &[&str] = &[
    "kubectl",
    "helm",
    "terraform",
    "ansible-playbook",
    "psql",
    "curl",
    "echo",
    "git",
    "gitops",
];

impl Preflight {
    /// The policies of [`Preflight::default`]: the built-in rules allowing [`DEFAULT_TOOLS`].
    pub fn default_policies() -> Vec<Box<dyn PolicyEngine>> {
        vec![Box::new(faultline_core::ports::BuiltinPolicy {
            allowed_tools: DEFAULT_TOOLS.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        })]
    }
    /// Preflight with `config`, no policies, no budget, no drift checks.
    pub fn try_new(config: PreflightConfig) -> Result<Self, RemediateError> {
        config.validate()?;
        Ok(Self {
            config,
            policies: vec![],
            budget: None,
            drift: vec![],
        })
    }
    /// Adds a policy (all must allow).
    pub fn with_policy(mut self, p: Box<dyn PolicyEngine>) -> Self {
        self.policies.push(p);
        self
    }
    /// Sets the error budget of the affected SLO.
    pub fn with_budget(mut self, b: ErrorBudget) -> Self {
        self.budget = Some(b);
        self
    }
    /// Adds a drift check.
    pub fn with_drift_check(mut self, d: DriftCheck) -> Self {
        self.drift.push(d);
        self
    }

    /// Evaluates the policies only (synchronous, the hot part).
    pub fn evaluate_policies(&self, plan: &FixPlan) -> PolicyDecision {
        let mut reasons = Vec::new();
        for p in &self.policies {
            let d = p.evaluate(plan);
            if !d.allowed {
                if d.reasons.is_empty() {
                    reasons.push("denied by policy (no reason given)".to_owned());
                }
                reasons.extend(d.reasons);
            }
        }
        PolicyDecision {
            allowed: reasons.is_empty(),
            reasons,
        }
    }

    /// Runs every check; never fails, the report says what did not pass.
    pub async fn run(&self, plan: &FixPlan, runner: &dyn Runner, clock: &dyn Clock) -> PreflightReport {
        let mut reasons = Vec::new();
        let mut dry_runs = Vec::with_capacity(plan.steps.len());
        for (i, step) in plan.steps.iter().enumerate() {
            let started = clock.now();
            let (status, output) = match runner.run(step, RunMode::DryRun).await {
                Ok(o) => (o.status, o.output),
                Err(e) => (-1, e.to_string()),
            };
            if status != 0 {
                reasons.push(format!(
                    "dry run of step {} ({}) failed with status {status}: {}",
                    i + 1,
                    step.action,
                    truncate(&output, 200)
                ));
            }
            dry_runs.push(Execution {
                plan: plan.id.clone(),
                step: i,
                runner: runner.name().to_owned(),
                dry_run: true,
                status,
                output,
                started,
                finished: clock.now(),
            });
        }
        let policy = self.evaluate_policies(plan);
        reasons.extend(policy.reasons.iter().map(|r| format!("policy: {r}")));
        let budget_remaining = self.budget.map(|b| b.remaining());
        if let Some(rem) = budget_remaining {
            if rem <= 0.0 && plan.risk > self.config.max_risk_when_budget_exhausted {
                reasons.push(format!(
                    "error budget exhausted ({:.0}% left): only plans with risk <= {:.2} may run, this one has {:.2}",
                    (rem.max(-9.99)) * 100.0,
                    self.config.max_risk_when_budget_exhausted,
                    plan.risk
                ));
            }
        }
        let mut drift = Vec::new();
        for d in &self.drift {
            let r = if runner.name() == "dry-run" {
                DriftResult {
                    name: d.name.clone(),
                    holds: None,
                    output: "not checkable with the dry-run runner".into(),
                }
            } else {
                let probe = Step {
                    action: "drift-probe".into(),
                    target: d.name.clone(),
                    script: d.probe.clone(),
                    dry_run: d.probe.clone(),
                    rollback: String::new(),
                };
                match runner.run(&probe, RunMode::DryRun).await {
                    Ok(o) => DriftResult {
                        name: d.name.clone(),
                        holds: Some(o.status == 0 && o.output.contains(&d.expect_contains)),
                        output: truncate(&o.output, 500),
                    },
                    Err(e) => DriftResult {
                        name: d.name.clone(),
                        holds: Some(false),
                        output: e.to_string(),
                    },
                }
            };
            if r.holds == Some(false) {
                reasons.push(format!(
                    "drift: '{}' no longer holds (expected output containing {:?})",
                    d.name, d.expect_contains
                ));
            }
            drift.push(r);
        }
        if plan.risk.is_nan() || plan.risk > self.config.max_risk {
            reasons.push(format!(
                "risk {:.2} exceeds the limit {:.2}",
                plan.risk, self.config.max_risk
            ));
        }
        PreflightReport {
            dry_runs,
            policy,
            budget_remaining,
            drift,
            risk: plan.risk,
            passed: reasons.is_empty(),
            reasons,
        }
    }
}

/// A Rego module: its name (for error messages) and source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegoModule {
    /// Name shown in errors (usually the file name).
    pub name: String,
    /// Rego source in package `faultline` with a `deny` rule.
    pub source: String,
}

/// Which policies preflight evaluates, as data, so that a preflight can be recorded, its
/// policy identified by [`PolicySpec::digest`] and the same checks repeated at approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicySpec {
    /// Evaluate the built-in rules ([`Preflight::default_policies`]).
    pub builtin: bool,
    /// Rego modules evaluated together (feature `rego`); empty: no Rego policy.
    pub rego: Vec<RegoModule>,
    /// The Rego `data` document (host settings such as `{"faultline": {"allowed_namespaces": […]}}`).
    pub rego_data: serde_json::Value,
}

impl Default for PolicySpec {
    fn default() -> Self {
        Self {
            builtin: true,
            rego: vec![],
            rego_data: serde_json::Value::Object(Default::default()),
        }
    }
}

/// SHA-256 (hex) of a value's canonical JSON (serde_json maps are sorted).
fn json_digest<T: Serialize>(v: &T) -> String {
    use sha2::{Digest, Sha256};
    let text = serde_json::to_string(v).unwrap_or_default();
    crate::audit::hex(&Sha256::digest(text.as_bytes()))
}

impl PolicySpec {
    /// The built-in rules only.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// The built-in rules plus the Rego `modules` with `data`.
    pub fn with_rego(modules: Vec<RegoModule>, data: serde_json::Value) -> Self {
        Self {
            builtin: true,
            rego: modules,
            rego_data: data,
        }
    }

    /// SHA-256 (hex) of the spec's canonical JSON: the same policy has the same digest.
    ///
    /// ```
    /// use faultline_remediate::preflight::PolicySpec;
    /// assert_eq!(PolicySpec::builtin().digest(), PolicySpec::default().digest());
    /// assert_ne!(PolicySpec::builtin().digest(), PolicySpec { builtin: false, ..Default::default() }.digest());
    /// ```
    pub fn digest(&self) -> String {
        json_digest(self)
    }

    /// The policy engines. Fails when a Rego module does not compile, when Rego modules are
    /// given to a build without the `rego` feature, or when the spec has no policy at all.
    pub fn engines(&self) -> Result<Vec<Box<dyn PolicyEngine>>, RemediateError> {
        let mut out = if self.builtin {
            Preflight::default_policies()
        } else {
            vec![]
        };
        if !self.rego.is_empty() {
            out.push(rego_engine(&self.rego, &self.rego_data)?);
        }
        if out.is_empty() {
            return Err(RemediateError::Config(
                "the policy spec has neither the built-in rules nor a Rego module".into(),
            ));
        }
        Ok(out)
    }
}

#[cfg(feature = "rego")]
fn rego_engine(
    modules: &[RegoModule],
    data: &serde_json::Value,
) -> Result<Box<dyn PolicyEngine>, RemediateError> {
    let m: Vec<(&str, &str)> = modules
        .iter()
        .map(|m| (m.name.as_str(), m.source.as_str()))
        .collect();
    Ok(Box::new(crate::rego::RegoPolicy::new(&m, data.clone())?))
}

#[cfg(not(feature = "rego"))]
fn rego_engine(
    modules: &[RegoModule],
    _data: &serde_json::Value,
) -> Result<Box<dyn PolicyEngine>, RemediateError> {
    let names: Vec<&str> = modules.iter().map(|m| m.name.as_str()).collect();
    Err(RemediateError::Config(format!(
        "Rego policy {}: this faultline was built without Rego support (cargo feature `rego`); \
         the built-in rules apply without a Rego policy",
        names.join(", ")
    )))
}

/// Everything preflight checks, as data: limits, policies, the error budget and drift checks.
/// Recorded with each preflight so approval repeats exactly the same checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PreflightSpec {
    /// Risk limits.
    pub config: PreflightConfig,
    /// The policies.
    pub policy: PolicySpec,
    /// The error budget of the affected SLO, when known.
    pub budget: Option<ErrorBudget>,
    /// Live-state assumptions to probe.
    pub drift: Vec<DriftCheck>,
}

impl PreflightSpec {
    /// SHA-256 (hex) of the spec's canonical JSON.
    pub fn digest(&self) -> String {
        json_digest(self)
    }

    /// The [`Preflight`] this spec describes (validated).
    ///
    /// ```
    /// use faultline_remediate::preflight::{ErrorBudget, PreflightSpec};
    /// let spec = PreflightSpec {
    ///     budget: Some(ErrorBudget { slo_target: 0.999, total_events: 1_000_000, bad_events: 2_000 }),
    ///     ..Default::default()
    /// };
    /// let preflight = spec.build().unwrap();
    /// # let _ = preflight;
    /// ```
    pub fn build(&self) -> Result<Preflight, RemediateError> {
        if let Some(b) = &self.budget {
            if !(b.slo_target > 0.0 && b.slo_target < 1.0) {
                return Err(RemediateError::InvalidValue {
                    field: "budget.slo_target".into(),
                    value: b.slo_target.to_string(),
                    reason: "an SLO target is a fraction strictly between 0 and 1".into(),
                });
            }
            if b.bad_events > b.total_events {
                return Err(RemediateError::InvalidValue {
                    field: "budget.bad_events".into(),
                    value: b.bad_events.to_string(),
                    reason: format!("more than total_events ({})", b.total_events),
                });
            }
        }
        for d in &self.drift {
            if d.name.trim().is_empty() || d.probe.trim().is_empty() {
                return Err(RemediateError::InvalidValue {
                    field: "drift".into(),
                    value: format!("{d:?}"),
                    reason: "a drift check needs a name and a probe command".into(),
                });
            }
        }
        let mut pf = Preflight::try_new(self.config.clone())?;
        for p in self.policy.engines()? {
            pf = pf.with_policy(p);
        }
        if let Some(b) = self.budget {
            pf = pf.with_budget(b);
        }
        for d in &self.drift {
            pf = pf.with_drift_check(d.clone());
        }
        Ok(pf)
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

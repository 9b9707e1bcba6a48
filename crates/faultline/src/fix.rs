//! The remediation flow as an in-memory API: **plan → preflight → approve → execute →
//! verify**, every step appended to a signed, hash-chained audit log.
//!
//! Values in, values out: a [`Fixer`] holds the audit sink, the clock and the notifier; its
//! methods take plans, specs and records (all serde types, so the Python, Node and server
//! bindings pass them as JSON) and return records. Files are an explicit convenience
//! ([`Fixer::with_file_audit`], [`read_json`], [`write_key_pair`], …), used by the CLI.
//!
//! The approval typestate of [`faultline_remediate::approval`] stays the guarantee: an
//! execution goes through `Plan<Approved>`, which only a person's signed approval bound to
//! the plan's content ([`Authority::Signed`]) or an explicit non-production policy
//! ([`Authority::Auto`], never production) can produce.
//!
//! ```
//! use std::sync::Arc;
//! use faultline::core::PlanState;
//! use faultline::core::ports::DryRunRunner;
//! use faultline::fix::{self, Authority, Catalog, Fixer, PlanContext, PreflightSpec, RunnerSpec};
//! use faultline::remediate::audit::SignedMemorySink;
//! use faultline::remediate::canary::CanaryConfig;
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! # rt.block_on(async {
//! // A report whose top hypothesis is a bad deploy of `checkout` (any IncidentReport will do).
//! let (report, _) = faultline::remediate::testing::deploy_report("checkout", 0.9);
//!
//! let audit_key = fix::SigningKey::from_bytes(&[7; 32]); // use fix::generate_key() for real
//! let log = Arc::new(SignedMemorySink::new(audit_key.clone(), Arc::new(faultline::core::ports::SystemClock)));
//! let fixer = Fixer::new(log.clone());
//!
//! // 1. plan for the top hypothesis
//! let plan = fixer.plan(&report, &Catalog::default_catalog(), &PlanContext::default()).await?;
//! assert_eq!(plan.steps[0].action, "kubectl_rollout_undo");
//!
//! // 2. preflight: dry run, policy, error budget, drift, risk
//! let spec = PreflightSpec::default();
//! let pre = fixer.preflight(&plan, &spec, &DryRunRunner).await?;
//! assert!(pre.passed(), "{:?}", pre.report.reasons);
//!
//! // 3. a person approves (production needs a person); the approval is signed
//! let alice = fix::SigningKey::from_bytes(&[1; 32]);
//! let signed = fixer.approve(&plan, &pre, "alice", "rollback is safe", &alice, &DryRunRunner).await?;
//!
//! // 4. execute through a runner, under that approval
//! let authority = Authority::Signed { approval: signed, key: alice.verifying_key() };
//! let run = fixer.execute(&plan, Some(&authority), &RunnerSpec::DryRun).await?;
//! assert_eq!(run.state, PlanState::Executing);
//!
//! // 5. verify: the canary judge compares windows; a failure rolls back and notifies
//! let samples = |offset: f64| (0..30).map(|i| 100.0 + (i % 7) as f64 + offset).collect::<Vec<_>>();
//! let baseline = fix::Window::from([("latency_ms".to_string(), samples(0.0))]);
//! let canary = fix::Window::from([("latency_ms".to_string(), samples(0.5))]); // within tolerance
//! let metrics = fix::comparisons(&baseline, &canary, &fix::CanarySpec::default())?;
//! let verdict = fixer.verify(&plan, &run, Some(&alice.verifying_key()), &metrics, &CanaryConfig::default()).await?;
//! assert_eq!(verdict.state, PlanState::Verified);
//!
//! // 6. the audit log verifies (chain, signatures, signed head)
//! let n = fix::verify_audit(&fixer.audit_records().await?, &audit_key.verifying_key(), Some(&log.head()?))?;
//! assert_eq!(n, 5); // planned, preflight, approved, execute, verify
//! # Ok::<(), faultline::Error>(())
//! # }).unwrap();
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use faultline_core::ports::{AuditSink, Clock, DryRunRunner, LogNotifier, Notifier, Runner, SystemClock};
use faultline_core::{
    AuditRecord, Execution, FixPlan, Hypothesis, IncidentReport, PlanId, PlanState, Verdict,
};
use faultline_remediate::approval::{plan_digest, state::Approved, Plan};
use faultline_remediate::audit::{AuditHead, FileAuditSink};
use faultline_remediate::canary::CanaryJudge;
use faultline_remediate::gitops::GitOpsRunner;
use faultline_remediate::RemediateError;
use serde::{Deserialize, Serialize};

use crate::Error;

pub use faultline_remediate::approval::{AutoApprove, SignedApproval};
pub use faultline_remediate::audit::{SigningKey, VerifyingKey};
pub use faultline_remediate::canary::{
    CanaryConfig, MetricComparison, MetricDirection, MetricKind, MetricResult,
};
pub use faultline_remediate::http::HttpRunnerConfig;
pub use faultline_remediate::preflight::{
    DriftCheck, ErrorBudget, PolicySpec, PreflightConfig, PreflightReport, PreflightSpec, RegoModule,
};
pub use faultline_remediate::shell::ShellConfig;
pub use faultline_remediate::{Catalog, PlanContext};

/// Samples per metric of one window (`metric → values`, one value per sample).
pub type Window = BTreeMap<String, Vec<f64>>;

fn refuse(msg: impl Into<String>) -> Error {
    Error::Remediate(RemediateError::NotAllowed(msg.into()))
}

/// The record of one preflight: which plan content it checked, with which checks (the spec
/// and its digests, so that approval can repeat exactly the same checks) and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreflightRecord {
    /// The plan.
    pub plan: PlanId,
    /// [`plan_digest`] of the plan content checked.
    pub plan_digest: String,
    /// The checks that ran.
    pub spec: PreflightSpec,
    /// [`PreflightSpec::digest`] of `spec`.
    pub spec_digest: String,
    /// [`PolicySpec::digest`] of `spec.policy`.
    pub policy_digest: String,
    /// The runner the dry runs and drift probes went through.
    pub runner: String,
    /// What preflight found.
    pub report: PreflightReport,
}

impl PreflightRecord {
    /// Whether the plan may go on to approval.
    pub fn passed(&self) -> bool {
        self.report.passed
    }
}

/// What allows an execution.
#[derive(Debug, Clone)]
pub enum Authority {
    /// A person's approval from [`Fixer::approve`], checked against the approver's public key.
    Signed {
        /// The signed approval.
        approval: SignedApproval,
        /// The approver's public key.
        key: VerifyingKey,
    },
    /// An explicit auto-approval policy (never for a production environment). The plan is
    /// preflighted again with `preflight` first.
    Auto {
        /// The policy.
        policy: AutoApprove,
        /// The checks the plan must pass.
        preflight: PreflightSpec,
    },
}

impl Authority {
    /// Auto-approval for `environment` alone (refused if it is a production environment),
    /// with the checks of `preflight`.
    pub fn auto_for(environment: &str, preflight: PreflightSpec) -> Self {
        Self::Auto {
            policy: AutoApprove {
                enabled: true,
                environments: vec![environment.to_owned()],
                ..Default::default()
            },
            preflight,
        }
    }
}

/// Which runner executes steps, as data (recorded with the execution so that `verify` can
/// roll back through the same runner). Hosts with their own [`Runner`] use
/// [`Fixer::execute_with`] / [`Fixer::verify_with`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RunnerSpec {
    /// Prints what would run.
    DryRun,
    /// Local processes, allow-listed programs, no shell.
    Shell {
        /// Settings.
        #[serde(default)]
        config: ShellConfig,
    },
    /// Commits `gitops set` steps to the branch `faultline/<plan id>` of a local repository.
    Gitops {
        /// The repository.
        repo: PathBuf,
        /// Branch or commit the plan's branch forks from.
        #[serde(default = "default_base")]
        base: String,
    },
    /// Sends HTTP steps as requests (cargo feature `http`).
    Http {
        /// Settings.
        #[serde(default)]
        config: HttpRunnerConfig,
    },
}

fn default_base() -> String {
    "HEAD".into()
}

impl RunnerSpec {
    /// The runner's name as it appears in executions (`dry-run`, `shell`, `gitops`, `http`).
    pub fn name(&self) -> &'static str {
        match self {
            RunnerSpec::DryRun => "dry-run",
            RunnerSpec::Shell { .. } => "shell",
            RunnerSpec::Gitops { .. } => "gitops",
            RunnerSpec::Http { .. } => "http",
        }
    }

    /// Builds the runner for `plan` (validating its settings).
    ///
    /// ```
    /// use faultline::fix::RunnerSpec;
    /// # let (report, h) = faultline::remediate::testing::deploy_report("checkout", 0.9);
    /// # let plan = faultline::fix::Catalog::default_catalog().plan(&report, &h, &Default::default()).unwrap().unwrap();
    /// let runner = RunnerSpec::DryRun.build(&plan)?;
    /// assert_eq!(runner.name(), "dry-run");
    /// assert!(RunnerSpec::Gitops { repo: "/nonexistent".into(), base: "HEAD".into() }.build(&plan).is_err());
    /// # Ok::<(), faultline::Error>(())
    /// ```
    pub fn build(&self, plan: &FixPlan) -> Result<Box<dyn Runner>, Error> {
        use faultline_remediate::shell::ShellRunner;
        Ok(match self {
            RunnerSpec::DryRun => Box::new(DryRunRunner),
            RunnerSpec::Shell { config } => Box::new(ShellRunner::try_new(config.clone())?),
            RunnerSpec::Gitops { repo, base } => {
                if !repo.join(".git").exists() && !repo.join("HEAD").exists() {
                    return Err(Error::Input(format!(
                        "{} is not a git repository",
                        repo.display()
                    )));
                }
                Box::new(GitOpsRunner::for_plan(repo, base, plan))
            }
            RunnerSpec::Http { config } => http_runner(config)?,
        })
    }
}

#[cfg(feature = "http")]
fn http_runner(config: &HttpRunnerConfig) -> Result<Box<dyn Runner>, Error> {
    Ok(Box::new(faultline_remediate::http_runner::HttpRunner::try_new(
        config.clone(),
    )?))
}

#[cfg(not(feature = "http"))]
fn http_runner(_config: &HttpRunnerConfig) -> Result<Box<dyn Runner>, Error> {
    Err(Error::Config(
        "the HTTP runner needs faultline built with the cargo feature `http`".into(),
    ))
}

/// What an execution leaves for verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionRecord {
    /// The plan.
    pub plan: PlanId,
    /// [`plan_digest`] of the plan content that ran.
    pub plan_digest: String,
    /// `executing` (every step ran), `failed` (a step failed; the completed ones were rolled
    /// back), later `verified` or `rolled_back` (set by the caller from [`VerifyRecord::state`]).
    pub state: PlanState,
    /// The runner, when it was given as a [`RunnerSpec`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<RunnerSpec>,
    /// The runner's name.
    pub runner_name: String,
    /// The GitOps branch, for the gitops runner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The signed approval it ran under (absent when auto-approved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<SignedApproval>,
    /// The auto-approval policy and checks it ran under (absent when a person approved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto: Option<(AutoApprove, PreflightSpec)>,
    /// Who approved (`policy:auto-approve` for auto-approval).
    pub approver: String,
    /// Every step and rollback that ran.
    pub executions: Vec<Execution>,
    /// Why the execution failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// The outcome of [`Fixer::verify`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRecord {
    /// The plan.
    pub plan: PlanId,
    /// `verified` or `rolled_back`.
    pub state: PlanState,
    /// The canary verdict.
    pub verdict: Verdict,
    /// Per-metric judgements.
    pub metrics: Vec<MetricResult>,
    /// The rollbacks that ran (empty unless the verdict failed).
    pub rollbacks: Vec<Execution>,
}

/// How window metrics are judged: which are critical, which are event counts, which change
/// is bad.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CanarySpec {
    /// Metrics whose failure fails the canary.
    pub critical: Vec<String>,
    /// Event-count metrics, also judged by a Poisson rate test.
    pub count: Vec<String>,
    /// Which change is bad, per metric (default: increase).
    pub directions: BTreeMap<String, MetricDirection>,
}

/// Pairs two windows into the judge's comparisons (every metric in either window); a metric
/// named in `spec` but in neither window is an error.
///
/// ```
/// use faultline::fix::{comparisons, CanarySpec, MetricKind, Window};
/// let base = Window::from([("errors".to_string(), vec![0.0; 20])]);
/// let can = Window::from([("errors".to_string(), vec![1.0; 20])]);
/// let spec = CanarySpec { count: vec!["errors".into()], critical: vec!["errors".into()], ..Default::default() };
/// let m = comparisons(&base, &can, &spec)?;
/// assert_eq!(m[0].kind, MetricKind::Count);
/// assert!(comparisons(&base, &can, &CanarySpec { critical: vec!["cpu".into()], ..Default::default() }).is_err());
/// # Ok::<(), faultline::Error>(())
/// ```
pub fn comparisons(
    baseline: &Window,
    canary: &Window,
    spec: &CanarySpec,
) -> Result<Vec<MetricComparison>, Error> {
    let names: BTreeSet<&String> = baseline.keys().chain(canary.keys()).collect();
    for n in spec
        .critical
        .iter()
        .chain(&spec.count)
        .chain(spec.directions.keys())
    {
        if !names.contains(n) {
            return Err(Error::Input(format!("metric {n:?} is in neither window")));
        }
    }
    Ok(names
        .into_iter()
        .map(|n| MetricComparison {
            name: n.clone(),
            baseline: baseline.get(n).cloned().unwrap_or_default(),
            canary: canary.get(n).cloned().unwrap_or_default(),
            direction: spec
                .directions
                .get(n)
                .copied()
                .unwrap_or(MetricDirection::Increase),
            critical: spec.critical.contains(n),
            kind: if spec.count.contains(n) {
                MetricKind::Count
            } else {
                MetricKind::Continuous
            },
        })
        .collect())
}

/// Parses a window from CSV rows `metric,value` (header optional, `#` comments, one row per
/// sample); errors name `source`, the line and the value.
///
/// ```
/// let w = faultline::fix::parse_window_csv("metric,value\nlatency_ms,120\nlatency_ms,130\n", "after.csv")?;
/// assert_eq!(w["latency_ms"], vec![120.0, 130.0]);
/// let err = faultline::fix::parse_window_csv("latency_ms,120\nlatency_ms,abc\n", "after.csv").unwrap_err();
/// assert!(err.to_string().contains("after.csv line 2"));
/// # Ok::<(), faultline::Error>(())
/// ```
pub fn parse_window_csv(text: &str, source: &str) -> Result<Window, Error> {
    let mut out = Window::new();
    let mut first = true;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (m, v) = line.split_once(',').ok_or_else(|| {
            Error::Input(format!(
                "{source} line {}: expected `metric,value`, got {line:?}",
                i + 1
            ))
        })?;
        let (m, v) = (m.trim(), v.trim());
        let is_first = std::mem::replace(&mut first, false);
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && !m.is_empty() => out.entry(m.to_owned()).or_default().push(x),
            // A header row (`metric,value`) is skipped, only as the first row.
            _ if is_first && v.parse::<f64>().is_err() => {}
            _ => {
                return Err(Error::Input(format!(
                    "{source} line {}, field value: {v:?} is not a finite number",
                    i + 1
                )))
            }
        }
    }
    if out.is_empty() {
        return Err(Error::Input(format!("{source}: no samples")));
    }
    Ok(out)
}

/// The remediation flow over one audit log.
///
/// Its methods are async: run them on a tokio runtime with I/O and time enabled
/// (`enable_all`) when the shell, GitOps or HTTP runner is used.
///
/// Every method appends what it did to the log: `planned`, `preflight` (with `passed`, the
/// reasons and the spec/policy digests), `approved`, `execute` / `execute_refused`, `verify`.
#[derive(Clone)]
pub struct Fixer {
    audit: Arc<dyn AuditSink>,
    clock: Arc<dyn Clock>,
    notifier: Arc<dyn Notifier>,
}

impl std::fmt::Debug for Fixer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixer").finish_non_exhaustive()
    }
}

impl Fixer {
    /// A fixer appending to `audit`, with the system clock and the log notifier.
    pub fn new(audit: Arc<dyn AuditSink>) -> Self {
        Self {
            audit,
            clock: Arc::new(SystemClock),
            notifier: Arc::new(LogNotifier),
        }
    }

    /// A fixer appending to the signed JSONL log at `path` (created if absent; an existing log
    /// must verify with `key` before anything is appended).
    pub fn with_file_audit(path: impl Into<PathBuf>, key: SigningKey) -> Result<Self, Error> {
        let sink = FileAuditSink::open(path, key, Arc::new(SystemClock))?;
        Ok(Self::new(Arc::new(sink)))
    }

    /// Uses `clock` for approvals and executions.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `notifier` for rollback notifications.
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = notifier;
        self
    }

    /// Appends a host event to the audit log.
    pub async fn append(&self, payload: serde_json::Value) -> Result<AuditRecord, Error> {
        Ok(self.audit.append(payload).await?)
    }

    /// Every record of the audit log, in order.
    pub async fn audit_records(&self) -> Result<Vec<AuditRecord>, Error> {
        Ok(self.audit.records().await?)
    }

    /// Plans a fix for the report's top hypothesis with `catalog` (the first matching rule).
    /// The environment is `ctx.environment`, else the incident's, else production.
    pub async fn plan(
        &self,
        report: &IncidentReport,
        catalog: &Catalog,
        ctx: &PlanContext,
    ) -> Result<FixPlan, Error> {
        let top = report
            .hypotheses
            .first()
            .ok_or_else(|| Error::Input("the report has no hypothesis to fix".into()))?;
        self.plan_for(report, top, catalog, ctx).await
    }

    /// Plans a fix for `hypothesis` of `report`.
    pub async fn plan_for(
        &self,
        report: &IncidentReport,
        hypothesis: &Hypothesis,
        catalog: &Catalog,
        ctx: &PlanContext,
    ) -> Result<FixPlan, Error> {
        let fix = catalog.plan(report, hypothesis, ctx)?.ok_or_else(|| {
            Error::Input(format!(
                "no catalog rule matches the hypothesis ({}: {})",
                hypothesis.service.as_str(),
                hypothesis.statement
            ))
        })?;
        let draft = Plan::new(fix);
        let mut ev = draft.audit_event("planned");
        ev["hypothesis"] = serde_json::json!({ "id": hypothesis.id, "service": hypothesis.service,
            "statement": hypothesis.statement, "confidence": hypothesis.confidence });
        ev["steps"] = serde_json::to_value(&draft.fix_plan().steps).unwrap_or_default();
        self.audit.append(ev).await?;
        Ok(draft.into_fix_plan())
    }

    /// Runs the checks of `spec` (dry run of every step through `runner`, policies, error
    /// budget, drift, risk). A plan that fails a check is not an error: read
    /// [`PreflightRecord::passed`] and the report's reasons. Errors are for a spec that cannot
    /// be built (a Rego module that does not compile, a budget with bad_events > total) and
    /// for the audit log.
    pub async fn preflight(
        &self,
        plan: &FixPlan,
        spec: &PreflightSpec,
        runner: &dyn Runner,
    ) -> Result<PreflightRecord, Error> {
        let checks = spec.build()?;
        let draft = Plan::new(plan.clone());
        let (mut ev, report) = match draft.preflight(&checks, runner, self.clock.as_ref()).await {
            Ok(p) => (p.audit_event("preflight"), p.preflight_report().clone()),
            Err(failed) => (failed.plan.audit_event("preflight"), failed.report),
        };
        let record = PreflightRecord {
            plan: plan.id.clone(),
            plan_digest: plan_digest(plan),
            spec_digest: spec.digest(),
            policy_digest: spec.policy.digest(),
            spec: spec.clone(),
            runner: runner.name().to_owned(),
            report,
        };
        ev["state"] = serde_json::to_value(if record.passed() {
            PlanState::Preflighted
        } else {
            PlanState::Draft
        })
        .unwrap_or_default();
        ev["passed"] = record.passed().into();
        ev["reasons"] = serde_json::to_value(&record.report.reasons).unwrap_or_default();
        ev["risk"] = record.report.risk.into();
        ev["budget_remaining"] = serde_json::to_value(record.report.budget_remaining).unwrap_or_default();
        ev["drift"] = serde_json::to_value(&record.report.drift).unwrap_or_default();
        ev["spec_digest"] = record.spec_digest.clone().into();
        ev["policy_digest"] = record.policy_digest.clone().into();
        ev["runner"] = record.runner.clone().into();
        self.audit.append(ev).await?;
        Ok(record)
    }

    /// Approves `plan` as `approver` and signs the approval with `key`.
    ///
    /// Refused (`NotAllowed`) unless `preflight` passed for exactly this plan content, the
    /// audit log holds that passing preflight with the same checks (spec digest), and the same
    /// checks — the same policy, budget, drift probes and limits — still pass now, run again
    /// through `runner`.
    pub async fn approve(
        &self,
        plan: &FixPlan,
        preflight: &PreflightRecord,
        approver: &str,
        comment: &str,
        key: &SigningKey,
        runner: &dyn Runner,
    ) -> Result<SignedApproval, Error> {
        let digest = plan_digest(plan);
        if preflight.plan != plan.id || preflight.plan_digest != digest {
            return Err(refuse(format!(
                "the preflight record is for another plan or the plan changed since (plan {})",
                plan.id
            )));
        }
        if preflight.spec.digest() != preflight.spec_digest
            || preflight.spec.policy.digest() != preflight.policy_digest
        {
            return Err(refuse(
                "the preflight record's checks do not match its digests (edited record)",
            ));
        }
        if !preflight.passed() {
            return Err(refuse(format!(
                "plan {} did not pass preflight: {}",
                plan.id,
                preflight.report.reasons.join("; ")
            )));
        }
        let records = self.audit.records().await?;
        let logged = records.iter().any(|r| {
            r.payload["event"] == "preflight"
                && r.payload["passed"] == true
                && r.payload["digest"] == digest.as_str()
                && r.payload["spec_digest"] == preflight.spec_digest.as_str()
        });
        if !logged {
            return Err(refuse(format!(
                "plan {} has no passing preflight with these checks (spec {}) in the audit log: run preflight first",
                plan.id,
                short(&preflight.spec_digest)
            )));
        }
        // The typestate needs a preflighted plan: the same checks run again, so an approval is
        // only ever signed for a plan that passes them at approval time.
        let checks = preflight.spec.build()?;
        let pre = Plan::new(plan.clone())
            .preflight(&checks, runner, self.clock.as_ref())
            .await
            .map_err(|f| {
                refuse(format!(
                    "preflight no longer passes: {}",
                    f.report.reasons.join("; ")
                ))
            })?;
        let approved = pre
            .approve(approver, self.clock.as_ref(), comment)
            .map_err(|_| Error::Input("the approver must name a person".into()))?;
        let signed = approved.signed_approval(key);
        let mut ev = approved.audit_event("approved");
        ev["approver"] = approved.approval().approver.clone().into();
        ev["approver_key"] = faultline_remediate::audit::verifying_key_hex(&key.verifying_key()).into();
        ev["comment"] = comment.into();
        ev["spec_digest"] = preflight.spec_digest.clone().into();
        ev["policy_digest"] = preflight.policy_digest.clone().into();
        self.audit.append(ev).await?;
        Ok(signed)
    }

    /// The approved plan under `authority`, or why not.
    async fn approved(&self, plan: &FixPlan, authority: Option<&Authority>) -> Result<Plan<Approved>, Error> {
        let id = &plan.id;
        match authority {
            Some(Authority::Signed { approval, key }) => {
                Plan::from_signed_approval(plan.clone(), approval, key)
                    .map_err(|e| refuse(format!("refusing to execute plan {id}: {e}")))
            }
            Some(Authority::Auto { policy, preflight }) => {
                if let Some(why) = policy.refusal(plan) {
                    return Err(refuse(format!(
                        "refusing to execute plan {id} without a signed approval: {why}"
                    )));
                }
                let pre = Plan::new(plan.clone())
                    .preflight(&preflight.build()?, &DryRunRunner, self.clock.as_ref())
                    .await
                    .map_err(|f| {
                        refuse(format!(
                            "refusing to execute plan {id}: preflight fails: {}",
                            f.report.reasons.join("; ")
                        ))
                    })?;
                pre.auto_approve(policy, self.clock.as_ref())
                    .map_err(|(_, why)| refuse(format!("refusing to execute plan {id}: {why}")))
            }
            None => Err(refuse(format!(
                "refusing to execute plan {id} for environment '{}' without a signed approval",
                plan.environment
            ))),
        }
    }

    /// Executes `plan` under `authority` through the runner `runner` describes. A refused
    /// execution is an error (`NotAllowed`, logged as `execute_refused`); a failing step is
    /// not: the record's state is `failed`, its `failure` says why, and the completed steps
    /// were rolled back.
    pub async fn execute(
        &self,
        plan: &FixPlan,
        authority: Option<&Authority>,
        runner: &RunnerSpec,
    ) -> Result<ExecutionRecord, Error> {
        let built = runner.build(plan)?;
        let mut rec = self.execute_with(plan, authority, built.as_ref()).await?;
        if let RunnerSpec::Gitops { .. } = runner {
            rec.branch = Some(format!("faultline/{}", plan.id));
        }
        rec.runner = Some(runner.clone());
        Ok(rec)
    }

    /// [`execute`](Self::execute) through any [`Runner`] (the record then names the runner
    /// but cannot rebuild it: verify with [`verify_with`](Self::verify_with)).
    pub async fn execute_with(
        &self,
        plan: &FixPlan,
        authority: Option<&Authority>,
        runner: &dyn Runner,
    ) -> Result<ExecutionRecord, Error> {
        let digest = plan_digest(plan);
        let approved = match self.approved(plan, authority).await {
            Ok(p) => p,
            Err(e) => {
                let ev = serde_json::json!({ "event": "execute_refused", "plan": plan.id,
                    "environment": plan.environment, "digest": digest, "reason": e.to_string() });
                self.audit.append(ev).await?;
                return Err(e);
            }
        };
        let (approval, auto) = match authority {
            Some(Authority::Signed { approval, .. }) => (Some(approval.clone()), None),
            Some(Authority::Auto { policy, preflight }) => (None, Some((policy.clone(), preflight.clone()))),
            None => (None, None),
        };
        let mut ev = approved.audit_event("execute");
        let approver = approved.approval().approver.clone();
        ev["approver"] = approver.clone().into();
        ev["runner"] = runner.name().into();
        let (state, executions, failure) = match approved.execute(runner, self.clock.as_ref()).await {
            Ok(done) => (done.fix_plan().state, done.executions().to_vec(), None),
            Err(failed) => (
                failed.fix_plan().state,
                failed.executions().to_vec(),
                Some(failed.reason().to_owned()),
            ),
        };
        ev["state"] = serde_json::to_value(state).unwrap_or_default();
        ev["executions"] = serde_json::to_value(&executions).unwrap_or_default();
        self.audit.append(ev).await?;
        Ok(ExecutionRecord {
            plan: plan.id.clone(),
            plan_digest: digest,
            state,
            runner: None,
            runner_name: runner.name().to_owned(),
            branch: None,
            approval,
            auto,
            approver,
            executions,
            failure,
        })
    }

    /// Judges `metrics` with the canary judge and applies the verdict to the executed plan:
    /// a `fail` verdict rolls every step back through the runner of `record` and notifies.
    /// `key` is the approver's public key (needed when the plan ran under a signed approval).
    /// The returned state is `verified` or `rolled_back`; store it in the record.
    pub async fn verify(
        &self,
        plan: &FixPlan,
        record: &ExecutionRecord,
        key: Option<&VerifyingKey>,
        metrics: &[MetricComparison],
        canary: &CanaryConfig,
    ) -> Result<VerifyRecord, Error> {
        let spec = record.runner.as_ref().ok_or_else(|| {
            Error::Input(format!(
                "the execution of plan {} used a host runner ({}): verify with verify_with",
                record.plan, record.runner_name
            ))
        })?;
        let runner = spec.build(plan)?;
        self.verify_with(plan, record, key, metrics, canary, runner.as_ref())
            .await
    }

    /// [`verify`](Self::verify) rolling back through `runner`.
    pub async fn verify_with(
        &self,
        plan: &FixPlan,
        record: &ExecutionRecord,
        key: Option<&VerifyingKey>,
        metrics: &[MetricComparison],
        canary: &CanaryConfig,
        runner: &dyn Runner,
    ) -> Result<VerifyRecord, Error> {
        if record.plan != plan.id || record.plan_digest != plan_digest(plan) {
            return Err(Error::Input(format!(
                "the execution record is for another plan (or plan {} changed)",
                plan.id
            )));
        }
        // A verified plan may be judged again (a later window); a failed or rolled-back one not.
        if !matches!(record.state, PlanState::Executing | PlanState::Verified) {
            let state = serde_json::to_value(record.state).unwrap_or_default();
            return Err(Error::Input(format!(
                "plan {} is {state}, not executed: nothing to verify",
                plan.id
            )));
        }
        let judge = CanaryJudge::try_new(canary.clone())?;
        let authority = match (&record.approval, &record.auto) {
            (Some(approval), _) => {
                let key = key.ok_or_else(|| {
                    Error::Input("the approver's public key is required to verify a signed execution".into())
                })?;
                Authority::Signed {
                    approval: approval.clone(),
                    key: *key,
                }
            }
            (None, Some((policy, preflight))) => Authority::Auto {
                policy: policy.clone(),
                preflight: preflight.clone(),
            },
            (None, None) => return Err(refuse("the execution record carries no approval")),
        };
        let executed = self
            .approved(plan, Some(&authority))
            .await?
            .resume_executed(record.executions.clone());
        let (verdict, results) = judge.judge(&plan.id, metrics);
        let (state, rollbacks) = match executed
            .verify(
                verdict.clone(),
                runner,
                self.notifier.as_ref(),
                self.clock.as_ref(),
            )
            .await
        {
            Ok(v) => (v.fix_plan().state, vec![]),
            Err(rb) => (rb.fix_plan().state, rb.rollbacks().to_vec()),
        };
        self.audit
            .append(
                serde_json::json!({ "event": "verify", "plan": plan.id, "digest": record.plan_digest,
                "state": state, "verdict": verdict, "rollbacks": rollbacks }),
            )
            .await?;
        Ok(VerifyRecord {
            plan: plan.id.clone(),
            state,
            verdict,
            metrics: results,
            rollbacks,
        })
    }
}

fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}

/// Verifies audit records: hash chain, every record's signature and, when given, the signed
/// head (which detects truncation). Returns the record count; the error names the first bad
/// record.
pub fn verify_audit(
    records: &[AuditRecord],
    key: &VerifyingKey,
    head: Option<&AuditHead>,
) -> Result<u64, Error> {
    faultline_remediate::audit::verify_records(records, key, head)?;
    Ok(records.len() as u64)
}

/// Verifies a JSONL audit log and its signed head (`FILE.head`); returns the record count.
pub fn verify_audit_file(path: &Path, key: &VerifyingKey) -> Result<u64, Error> {
    Ok(faultline_remediate::audit::verify_file(path, key)?)
}

/// A new ed25519 key from the operating system's randomness.
pub fn generate_key() -> Result<SigningKey, Error> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)
        .map_err(|e| Error::Remediate(RemediateError::Config(format!("no randomness: {e}"))))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Hex of a secret key's 32-byte seed.
pub fn signing_key_hex(key: &SigningKey) -> String {
    key.to_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a hex secret key (32-byte seed).
pub fn signing_key_from_hex(s: &str) -> Result<SigningKey, Error> {
    Ok(faultline_remediate::audit::signing_key_from_hex(s)?)
}

/// Parses a hex public key.
pub fn verifying_key_from_hex(s: &str) -> Result<VerifyingKey, Error> {
    Ok(faultline_remediate::audit::verifying_key_from_hex(s)?)
}

/// Hex of a public key.
pub fn verifying_key_hex(key: &VerifyingKey) -> String {
    faultline_remediate::audit::verifying_key_hex(key)
}

fn read_text(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::Input(format!("cannot read {}: {e}", path.display())))
}

/// Reads a hex secret key file.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, Error> {
    signing_key_from_hex(read_text(path)?.trim())
        .map_err(|e| Error::Input(format!("{}: not a secret key: {}", path.display(), e.chain())))
}

/// Reads a hex public key file.
pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, Error> {
    verifying_key_from_hex(read_text(path)?.trim())
        .map_err(|e| Error::Input(format!("{}: not a public key: {}", path.display(), e.chain())))
}

/// Reads a JSON file into `T` (a plan, a record, a spec); errors name the file and `what`.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, Error> {
    serde_json::from_str(&read_text(path)?)
        .map_err(|e| Error::Input(format!("{}: not {what}: {e}", path.display())))
}

/// Reads a YAML or JSON file (a [`PreflightSpec`], a [`CanarySpec`], …) into `T`; errors name
/// the file and `what`.
pub fn read_config<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, Error> {
    serde_norway::from_str(&read_text(path)?)
        .map_err(|e| Error::Input(format!("{}: not {what}: {e}", path.display())))
}

/// Writes `value` as pretty JSON with a final newline.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Input(format!("cannot encode {}: {e}", path.display())))?;
    std::fs::write(path, format!("{text}\n"))
        .map_err(|e| Error::Input(format!("cannot write {}: {e}", path.display())))
}

/// The files of a key pair written by [`write_key_pair`].
#[derive(Debug)]
pub struct KeyPairFiles {
    /// `PREFIX.key` (hex seed, mode 0600 on Unix).
    pub secret: PathBuf,
    /// `PREFIX.pub` (hex).
    pub public: PathBuf,
    /// The key.
    pub key: SigningKey,
}

/// Generates a key pair and writes `PREFIX.key` and `PREFIX.pub`; refuses to replace existing
/// files unless `force`.
pub fn write_key_pair(prefix: &Path, force: bool) -> Result<KeyPairFiles, Error> {
    let with = |ext: &str| {
        let mut p = prefix.as_os_str().to_owned();
        p.push(ext);
        PathBuf::from(p)
    };
    let (secret, public) = (with(".key"), with(".pub"));
    if !force && (secret.exists() || public.exists()) {
        return Err(Error::Input(format!(
            "{} already exists (use --force to replace it)",
            secret.display()
        )));
    }
    let key = generate_key()?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let werr = |p: &Path, e: std::io::Error| Error::Input(format!("cannot write {}: {e}", p.display()));
    let mut f = opts.open(&secret).map_err(|e| werr(&secret, e))?;
    writeln!(f, "{}", signing_key_hex(&key)).map_err(|e| werr(&secret, e))?;
    std::fs::write(&public, format!("{}\n", verifying_key_hex(&key.verifying_key())))
        .map_err(|e| werr(&public, e))?;
    Ok(KeyPairFiles { secret, public, key })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use faultline_core::ports::ManualClock;
    use faultline_remediate::audit::SignedMemorySink;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn setup(env: &str) -> (Fixer, FixPlan) {
        let (mut report, _) = faultline_remediate::testing::deploy_report("checkout", 0.9);
        report.incident.environment = Some(env.into());
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::default());
        let sink = Arc::new(SignedMemorySink::new(
            SigningKey::from_bytes(&[9; 32]),
            clock.clone(),
        ));
        let fixer = Fixer::new(sink).with_clock(clock);
        let plan = rt()
            .block_on(fixer.plan(&report, &Catalog::default_catalog(), &PlanContext::default()))
            .unwrap();
        (fixer, plan)
    }

    #[test]
    fn approval_needs_the_logged_preflight_with_the_same_checks() {
        let (fixer, plan) = setup("production");
        let key = SigningKey::from_bytes(&[1; 32]);
        rt().block_on(async {
            let pre = fixer
                .preflight(&plan, &PreflightSpec::default(), &DryRunRunner)
                .await
                .unwrap();
            assert!(pre.passed());
            // A record claiming looser checks than those logged is refused.
            let mut edited = pre.clone();
            edited.spec.config.max_risk = 1.0;
            edited.spec_digest = edited.spec.digest();
            let err = fixer
                .approve(&plan, &edited, "alice", "", &key, &DryRunRunner)
                .await
                .unwrap_err();
            assert!(err.chain().contains("no passing preflight"), "{}", err.chain());
            // A record whose spec does not match its digest is refused.
            let mut forged = pre.clone();
            forged.spec.policy.builtin = false;
            let err = fixer
                .approve(&plan, &forged, "alice", "", &key, &DryRunRunner)
                .await
                .unwrap_err();
            assert!(err.chain().contains("edited"), "{}", err.chain());
            let signed = fixer
                .approve(&plan, &pre, "alice", "ok", &key, &DryRunRunner)
                .await
                .unwrap();
            assert_eq!(signed.approval.approver, "alice");
        });
    }

    #[test]
    fn exhausted_budget_fails_preflight_of_a_risky_plan_and_blocks_approval() {
        let (fixer, mut plan) = setup("production");
        plan.risk = 0.6;
        let spec = PreflightSpec {
            budget: Some(ErrorBudget {
                slo_target: 0.999,
                total_events: 100_000,
                bad_events: 500,
            }),
            ..Default::default()
        };
        rt().block_on(async {
            let pre = fixer.preflight(&plan, &spec, &DryRunRunner).await.unwrap();
            assert!(!pre.passed());
            assert!(pre
                .report
                .reasons
                .iter()
                .any(|r| r.contains("error budget exhausted")));
            let key = SigningKey::from_bytes(&[1; 32]);
            let err = fixer
                .approve(&plan, &pre, "alice", "", &key, &DryRunRunner)
                .await
                .unwrap_err();
            assert!(err.chain().contains("did not pass preflight"), "{}", err.chain());
        });
    }

    #[test]
    fn production_plan_never_auto_approves_and_refusal_is_logged() {
        let (fixer, plan) = setup("production");
        rt().block_on(async {
            let auth = Authority::auto_for("production", PreflightSpec::default());
            let err = fixer
                .execute(&plan, Some(&auth), &RunnerSpec::DryRun)
                .await
                .unwrap_err();
            assert!(err.chain().contains("production environment"), "{}", err.chain());
            let err = fixer.execute(&plan, None, &RunnerSpec::DryRun).await.unwrap_err();
            assert!(err.chain().contains("without a signed approval"));
            let events: Vec<String> = fixer
                .audit_records()
                .await
                .unwrap()
                .iter()
                .map(|r| r.payload["event"].as_str().unwrap_or("").to_owned())
                .collect();
            assert_eq!(events, ["planned", "execute_refused", "execute_refused"]);
        });
    }

    #[test]
    fn staging_auto_approves_executes_and_a_failed_canary_rolls_back() {
        let (fixer, plan) = setup("staging");
        rt().block_on(async {
            let auth = Authority::auto_for("staging", PreflightSpec::default());
            let rec = fixer
                .execute(&plan, Some(&auth), &RunnerSpec::DryRun)
                .await
                .unwrap();
            assert_eq!(rec.state, PlanState::Executing);
            assert_eq!(rec.approver, "policy:auto-approve");
            // Round trip through JSON, as the bindings do.
            let rec: ExecutionRecord = serde_json::from_str(&serde_json::to_string(&rec).unwrap()).unwrap();
            let base = Window::from([("errors".to_string(), vec![0.0; 30])]);
            let can = Window::from([("errors".to_string(), [0.0, 0.0, 3.0].repeat(10))]);
            let spec = CanarySpec {
                critical: vec!["errors".into()],
                count: vec!["errors".into()],
                ..Default::default()
            };
            let m = comparisons(&base, &can, &spec).unwrap();
            let v = fixer
                .verify(&plan, &rec, None, &m, &CanaryConfig::default())
                .await
                .unwrap();
            assert_eq!(v.state, PlanState::RolledBack);
            assert_eq!(v.rollbacks.len(), plan.steps.len());
        });
    }

    #[test]
    fn drift_probes_run_through_the_shell_runner_and_drift_fails_preflight() {
        let (fixer, mut plan) = setup("staging");
        for s in &mut plan.steps {
            s.script = "echo apply".into();
            s.dry_run = "echo check".into();
        }
        let check = |expect: &str| DriftCheck {
            name: "checkout runs 2.32.0".into(),
            probe: "echo checkout 2.32.0".into(),
            expect_contains: expect.into(),
        };
        let shell = RunnerSpec::Shell {
            config: ShellConfig::default(),
        }
        .build(&plan)
        .unwrap();
        rt().block_on(async {
            let holds = PreflightSpec {
                drift: vec![check("2.32.0")],
                ..Default::default()
            };
            let pre = fixer.preflight(&plan, &holds, shell.as_ref()).await.unwrap();
            assert!(pre.passed(), "{:?}", pre.report.reasons);
            assert_eq!(pre.report.drift[0].holds, Some(true));
            let drifted = PreflightSpec {
                drift: vec![check("2.33.0")],
                ..Default::default()
            };
            let pre = fixer.preflight(&plan, &drifted, shell.as_ref()).await.unwrap();
            assert!(!pre.passed());
            assert_eq!(pre.report.drift[0].holds, Some(false));
            assert!(pre.report.reasons.iter().any(|r| r.starts_with("drift:")));
        });
    }

    #[test]
    fn window_csv_header_only_on_the_first_row() {
        assert!(parse_window_csv("metric,value\nlat,1\nlat,x\n", "w.csv")
            .unwrap_err()
            .to_string()
            .contains("w.csv line 3"));
        assert!(parse_window_csv("metric,value\n", "w.csv").is_err());
    }
}

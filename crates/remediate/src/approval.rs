//! The approval state machine as a typestate.
//!
//! `Plan<Draft>` → [`preflight`](Plan::preflight) → `Plan<Preflighted>` →
//! [`approve`](Plan::approve) / [`auto_approve`](Plan::auto_approve) → `Plan<Approved>` →
//! [`execute`](Plan::execute) → `Plan<Executed>` (or `Plan<Failed>`, its completed steps rolled
//! back) → [`verify`](Plan::verify) → `Plan<Verified>` or `Plan<RolledBack>`;
//! [`reject`](Plan::reject) leads to `Plan<Rejected>`.
//!
//! `execute` exists only on `Plan<Approved>`, whose constructors are `approve` (a named human),
//! `auto_approve` (an explicit [`AutoApprove`] policy, never for a production environment) and
//! [`from_signed_approval`](Plan::from_signed_approval) (an approval signed earlier, for
//! processes that approve and execute separately). So executing an unapproved plan does not
//! compile:
//!
//! The whole path, with the dry-run runner:
//!
//! ```
//! use faultline_core::ports::{DryRunRunner, LogNotifier, ManualClock};
//! use faultline_core::{PlanState, Verdict, VerdictOutcome};
//! use faultline_remediate::approval::Plan;
//! use faultline_remediate::preflight::Preflight;
//! let (report, h) = faultline_remediate::testing::deploy_report("checkout", 0.9);
//! let fix = faultline_remediate::Catalog::default_catalog().plan(&report, &h, &Default::default()).unwrap().unwrap();
//! let clock = ManualClock::default();
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! rt.block_on(async {
//!     let pre = Plan::new(fix).preflight(&Preflight::default(), &DryRunRunner, &clock).await.unwrap();
//!     let approved = pre.approve("alice", &clock, "go").map_err(|_| "refused").unwrap();
//!     let executed = approved.execute(&DryRunRunner, &clock).await.map_err(|_| "failed").unwrap();
//!     let verdict = Verdict { plan: executed.fix_plan().id.clone(), outcome: VerdictOutcome::Pass, score: 1.0, reasons: vec![] };
//!     let verified = executed.verify(verdict, &DryRunRunner, &LogNotifier, &clock).await.map_err(|_| "rolled back").unwrap();
//!     assert_eq!(verified.fix_plan().state, PlanState::Verified);
//! });
//! ```
//!
//! Executing a draft does not compile:
//!
//! ```compile_fail
//! # use faultline_remediate::approval::Plan;
//! # async fn f(runner: &dyn faultline_core::ports::Runner, clock: &dyn faultline_core::ports::Clock) {
//! # let (report, h) = faultline_remediate::testing::deploy_report("checkout", 0.9);
//! # let fix = faultline_remediate::Catalog::default_catalog().plan(&report, &h, &Default::default()).unwrap().unwrap();
//! let draft = Plan::new(fix);
//! draft.execute(runner, clock).await; // error: no method `execute` on `Plan<Draft>`
//! # }
//! ```

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use faultline_core::ports::{Clock, Notification, Notifier, RunMode, Runner};
use faultline_core::{Approval, Execution, FixPlan, PlanState, Step, Verdict, VerdictOutcome};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::preflight::{Preflight, PreflightReport};
use crate::RemediateError;

/// The states. Their fields are private: only the transitions create them.
pub mod state {
    use faultline_core::{Approval, Execution, Verdict};

    /// Generated, not checked.
    #[derive(Debug, Clone)]
    pub struct Draft;
    /// Dry run, policy, budget, drift and risk passed.
    #[derive(Debug, Clone)]
    pub struct Preflighted {
        pub(crate) report: crate::preflight::PreflightReport,
    }
    /// Approved by a person or an explicit non-production policy.
    #[derive(Debug, Clone)]
    pub struct Approved {
        pub(crate) approval: Approval,
    }
    /// Refused.
    #[derive(Debug, Clone)]
    pub struct Rejected {
        pub(crate) approval: Approval,
    }
    /// Every step ran.
    #[derive(Debug, Clone)]
    pub struct Executed {
        pub(crate) approval: Approval,
        pub(crate) executions: Vec<Execution>,
    }
    /// A step failed; the completed steps were rolled back.
    #[derive(Debug, Clone)]
    pub struct Failed {
        pub(crate) executions: Vec<Execution>,
        pub(crate) reason: String,
    }
    /// The canary judge did not fail it.
    #[derive(Debug, Clone)]
    pub struct Verified {
        pub(crate) verdict: Verdict,
    }
    /// The canary judge failed it and it was rolled back.
    #[derive(Debug, Clone)]
    pub struct RolledBack {
        pub(crate) verdict: Verdict,
        pub(crate) rollbacks: Vec<Execution>,
    }
}

use state::*;

/// A fix plan in state `S`.
#[derive(Debug, Clone)]
pub struct Plan<S> {
    plan: FixPlan,
    state: S,
}

impl<S> Plan<S> {
    /// The plan's data (read-only: a plan cannot change after it was checked).
    pub fn fix_plan(&self) -> &FixPlan {
        &self.plan
    }
    /// The plan's data, giving up the state.
    pub fn into_fix_plan(self) -> FixPlan {
        self.plan
    }
    fn to<T>(mut self, state: T, ps: PlanState) -> Plan<T> {
        self.plan.state = ps;
        Plan {
            plan: self.plan,
            state,
        }
    }
    /// A JSON record of the plan's current state for the audit log.
    pub fn audit_event(&self, event: &str) -> serde_json::Value {
        serde_json::json!({
            "event": event, "plan": self.plan.id, "incident": self.plan.incident,
            "environment": self.plan.environment, "state": self.plan.state, "risk": self.plan.risk,
            "digest": plan_digest(&self.plan),
        })
    }
}

/// Why preflight refused a plan; the plan is handed back as a draft.
#[derive(Debug)]
pub struct PreflightFailed {
    /// The plan.
    pub plan: Plan<Draft>,
    /// What failed.
    pub report: PreflightReport,
}

impl Plan<Draft> {
    /// A draft. The plan's state field is reset to `Draft`.
    pub fn new(mut plan: FixPlan) -> Self {
        plan.state = PlanState::Draft;
        Self { plan, state: Draft }
    }
    /// Runs preflight (dry run through `runner`, policy, error budget, drift, risk).
    pub async fn preflight(
        self,
        preflight: &Preflight,
        runner: &dyn Runner,
        clock: &dyn Clock,
    ) -> Result<Plan<Preflighted>, Box<PreflightFailed>> {
        let report = preflight.run(&self.plan, runner, clock).await;
        if report.passed {
            Ok(self.to(Preflighted { report }, PlanState::Preflighted))
        } else {
            Err(Box::new(PreflightFailed { plan: self, report }))
        }
    }
}

/// The explicit policy under which non-production plans approve themselves. Off by default;
/// production environments are never auto-approved, whatever the lists say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutoApprove {
    /// Whether auto-approval is on at all.
    pub enabled: bool,
    /// Environments that may auto-approve (`staging`, `dev`).
    pub environments: Vec<String>,
    /// Plans riskier than this need a person.
    pub max_risk: f64,
    /// Environments that are production (never auto-approved).
    pub production_environments: Vec<String>,
}

impl Default for AutoApprove {
    fn default() -> Self {
        Self {
            enabled: false,
            environments: vec![],
            max_risk: 0.5,
            production_environments: vec!["prod".into(), "production".into()],
        }
    }
}

impl AutoApprove {
    /// Why `plan` may not auto-approve, or `None` when it may.
    pub fn refusal(&self, plan: &FixPlan) -> Option<String> {
        let env = &plan.environment;
        if !self.enabled {
            return Some("auto-approval is disabled".into());
        }
        if self
            .production_environments
            .iter()
            .any(|p| p.eq_ignore_ascii_case(env))
        {
            return Some(format!(
                "'{env}' is a production environment: a person must approve"
            ));
        }
        if !self.environments.iter().any(|e| e.eq_ignore_ascii_case(env)) {
            return Some(format!("'{env}' is not listed for auto-approval"));
        }
        if plan.risk.is_nan() || plan.risk > self.max_risk {
            return Some(format!(
                "risk {:.2} exceeds the auto-approval limit {:.2}",
                plan.risk, self.max_risk
            ));
        }
        None
    }
}

impl Plan<Preflighted> {
    /// The preflight report.
    pub fn preflight_report(&self) -> &PreflightReport {
        &self.state.report
    }
    /// Approval by a named person; an empty approver hands the plan back.
    #[allow(clippy::result_large_err)] // the plan is handed back by value on refusal
    pub fn approve(self, approver: &str, clock: &dyn Clock, comment: &str) -> Result<Plan<Approved>, Self> {
        if approver.trim().is_empty() {
            return Err(self);
        }
        let approval = Approval {
            plan: self.plan.id.clone(),
            approver: approver.trim().to_owned(),
            approved: true,
            at: clock.now(),
            comment: comment.to_owned(),
        };
        Ok(self.to(Approved { approval }, PlanState::Approved))
    }
    /// Approval by policy; refused (the plan handed back with the reason) for production and
    /// for anything the policy does not explicitly allow.
    #[allow(clippy::result_large_err)] // the plan is handed back by value on refusal
    pub fn auto_approve(
        self,
        policy: &AutoApprove,
        clock: &dyn Clock,
    ) -> Result<Plan<Approved>, (Self, String)> {
        if let Some(why) = policy.refusal(&self.plan) {
            return Err((self, why));
        }
        let approval = Approval {
            plan: self.plan.id.clone(),
            approver: "policy:auto-approve".into(),
            approved: true,
            at: clock.now(),
            comment: format!(
                "auto-approved for non-production environment '{}'",
                self.plan.environment
            ),
        };
        Ok(self.to(Approved { approval }, PlanState::Approved))
    }
    /// Refusal.
    pub fn reject(self, approver: &str, clock: &dyn Clock, comment: &str) -> Plan<Rejected> {
        let approval = Approval {
            plan: self.plan.id.clone(),
            approver: approver.to_owned(),
            approved: false,
            at: clock.now(),
            comment: comment.to_owned(),
        };
        self.to(Rejected { approval }, PlanState::Rejected)
    }
}

impl Plan<Rejected> {
    /// Who refused, when and why.
    pub fn approval(&self) -> &Approval {
        &self.state.approval
    }
}

/// SHA-256 (hex) of a plan's content, its state excluded; approvals are bound to it.
pub fn plan_digest(plan: &FixPlan) -> String {
    let mut p = plan.clone();
    p.state = PlanState::Draft;
    let text = serde_json::to_string(&p).unwrap_or_default();
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An approval signed with ed25519, bound to the plan's content digest, so that approval and
/// execution can happen in different processes (`faultline approve`, `faultline execute`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedApproval {
    /// The approval.
    pub approval: Approval,
    /// [`plan_digest`] of the approved plan.
    pub plan_digest: String,
    /// Hex signature over the approval JSON and the digest.
    pub signature: String,
}

fn approval_message(a: &Approval, digest: &str) -> Vec<u8> {
    let mut m = serde_json::to_vec(a).unwrap_or_default();
    m.push(0);
    m.extend_from_slice(digest.as_bytes());
    m
}

impl Plan<Approved> {
    /// The approval.
    pub fn approval(&self) -> &Approval {
        &self.state.approval
    }
    /// The approval, signed for use in another process.
    pub fn signed_approval(&self, key: &SigningKey) -> SignedApproval {
        let digest = plan_digest(&self.plan);
        let sig = key.sign(&approval_message(&self.state.approval, &digest));
        SignedApproval {
            approval: self.state.approval.clone(),
            plan_digest: digest,
            signature: crate::audit::hex(&sig.to_bytes()),
        }
    }
    /// Re-creates an approved plan from a signed approval; fails unless the signature
    /// verifies with `key`, the approval says approved, names the plan and binds its exact
    /// content.
    pub fn from_signed_approval(
        plan: FixPlan,
        signed: &SignedApproval,
        key: &VerifyingKey,
    ) -> Result<Self, RemediateError> {
        let refuse = |m: &str| Err(RemediateError::NotAllowed(format!("approval not valid: {m}")));
        if !signed.approval.approved || signed.approval.approver.trim().is_empty() {
            return refuse("not an approval");
        }
        if signed.approval.plan != plan.id {
            return refuse("it approves another plan");
        }
        let digest = plan_digest(&plan);
        if digest != signed.plan_digest {
            return refuse("the plan changed after it was approved");
        }
        let sig = crate::audit::parse_signature(&signed.signature)
            .map_err(|_| RemediateError::NotAllowed("approval not valid: malformed signature".into()))?;
        if key
            .verify(&approval_message(&signed.approval, &digest), &sig)
            .is_err()
        {
            return refuse("bad signature");
        }
        let mut plan = plan;
        plan.state = PlanState::Approved;
        Ok(Self {
            plan,
            state: Approved {
                approval: signed.approval.clone(),
            },
        })
    }

    /// The executed plan, from executions an earlier [`execute`](Plan::execute) of this same
    /// approved plan recorded (for processes that execute and verify separately). It needs
    /// the approval, so it adds no way to run an unapproved plan's steps or rollbacks.
    pub fn resume_executed(self, executions: Vec<Execution>) -> Plan<Executed> {
        let approval = self.state.approval.clone();
        self.to(Executed { approval, executions }, PlanState::Executing)
    }

    /// Runs every step in order through `runner`. On the first failure the completed steps
    /// are rolled back in reverse order and the plan is `Failed`.
    #[allow(clippy::result_large_err)] // the plan is handed back by value on failure
    pub async fn execute(
        self,
        runner: &dyn Runner,
        clock: &dyn Clock,
    ) -> Result<Plan<Executed>, Plan<Failed>> {
        let mut executions = Vec::new();
        for (i, step) in self.plan.steps.iter().enumerate() {
            let ex = run_step(&self.plan, i, step, RunMode::Execute, runner, clock).await;
            let ok = ex.status == 0;
            executions.push(ex);
            if !ok {
                let rollbacks = rollback(&self.plan, i, runner, clock).await;
                executions.extend(rollbacks);
                let reason = format!("step {} ({}) failed", i + 1, step.action);
                return Err(self.to(Failed { executions, reason }, PlanState::Failed));
            }
        }
        let approval = self.state.approval.clone();
        Ok(self.to(Executed { approval, executions }, PlanState::Executing))
    }
}

async fn run_step(
    plan: &FixPlan,
    index: usize,
    step: &Step,
    mode: RunMode,
    runner: &dyn Runner,
    clock: &dyn Clock,
) -> Execution {
    let started = clock.now();
    let (status, output) = match runner.run(step, mode).await {
        Ok(o) => (o.status, o.output),
        Err(e) => (-1, e.to_string()),
    };
    Execution {
        plan: plan.id.clone(),
        step: index,
        runner: runner.name().to_owned(),
        dry_run: mode == RunMode::DryRun,
        status,
        output,
        started,
        finished: clock.now(),
    }
}

/// Runs the rollbacks of steps `0..upto` in reverse order.
async fn rollback(plan: &FixPlan, upto: usize, runner: &dyn Runner, clock: &dyn Clock) -> Vec<Execution> {
    let mut out = Vec::new();
    for i in (0..upto).rev() {
        let s = &plan.steps[i];
        let rb = Step {
            action: format!("rollback:{}", s.action),
            target: s.target.clone(),
            script: s.rollback.clone(),
            dry_run: s.rollback.clone(),
            rollback: String::new(),
        };
        out.push(run_step(plan, i, &rb, RunMode::Execute, runner, clock).await);
    }
    out
}

impl Plan<Failed> {
    /// The executions, including rollbacks.
    pub fn executions(&self) -> &[Execution] {
        &self.state.executions
    }
    /// What failed.
    pub fn reason(&self) -> &str {
        &self.state.reason
    }
}

impl Plan<Executed> {
    /// The executions.
    pub fn executions(&self) -> &[Execution] {
        &self.state.executions
    }
    /// The approval it ran under.
    pub fn approval(&self) -> &Approval {
        &self.state.approval
    }
    /// Applies the canary judge's verdict: `Fail` rolls every step back (reverse order) and
    /// notifies; anything else verifies the plan.
    #[allow(clippy::result_large_err)] // the plan is handed back by value on rollback
    pub async fn verify(
        self,
        verdict: Verdict,
        runner: &dyn Runner,
        notifier: &dyn Notifier,
        clock: &dyn Clock,
    ) -> Result<Plan<Verified>, Plan<RolledBack>> {
        if verdict.outcome == VerdictOutcome::Fail {
            let rollbacks = rollback(&self.plan, self.plan.steps.len(), runner, clock).await;
            let n = Notification {
                title: format!("fix {} failed verification and was rolled back", self.plan.id),
                body: verdict.reasons.join("\n"),
                severity: "critical".into(),
                incident: Some(self.plan.incident.0.clone()),
            };
            if let Err(e) = notifier.notify(&n).await {
                tracing::warn!(error = %e, "rollback notification failed");
            }
            return Err(self.to(RolledBack { verdict, rollbacks }, PlanState::RolledBack));
        }
        Ok(self.to(Verified { verdict }, PlanState::Verified))
    }
}

impl Plan<Verified> {
    /// The verdict.
    pub fn verdict(&self) -> &Verdict {
        &self.state.verdict
    }
}

impl Plan<RolledBack> {
    /// The verdict.
    pub fn verdict(&self) -> &Verdict {
        &self.state.verdict
    }
    /// The rollback executions.
    pub fn rollbacks(&self) -> &[Execution] {
        &self.state.rollbacks
    }
}

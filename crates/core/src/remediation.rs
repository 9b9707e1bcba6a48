//! Remediation data: fix plans, their steps, approval state, executions, verdicts and audit
//! records. The behaviour lives in `faultline-remediate`.

use serde::{Deserialize, Serialize};

use crate::{HypothesisId, IncidentId, PlanId, ServiceId, Timestamp};

/// What a step does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Action name from the catalog (`rollback_deploy`, `restart`, `scale_out`, …).
    pub action: String,
    /// What it acts on (`deployment/checkout` in namespace `shop`, …).
    pub target: String,
    /// The command or request that performs it.
    pub script: String,
    /// The same, in a form that changes nothing (`--dry-run=server`, `terraform plan`).
    pub dry_run: String,
    /// How to undo it.
    pub rollback: String,
}

/// Where a plan is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PlanState {
    /// Generated, not checked.
    #[default]
    Draft,
    /// Dry-run and policy passed.
    Preflighted,
    /// A human (or explicit non-production policy) approved it.
    Approved,
    /// Refused.
    Rejected,
    /// Running.
    Executing,
    /// Ran, and the canary judge passed it.
    Verified,
    /// Ran, failed verification, rolled back.
    RolledBack,
    /// Could not run.
    Failed,
}

/// A plan to fix the cause named by one hypothesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixPlan {
    /// Content-derived id.
    pub id: PlanId,
    /// The incident.
    pub incident: IncidentId,
    /// The hypothesis it addresses.
    pub hypothesis: HypothesisId,
    /// The service it acts on.
    pub service: ServiceId,
    /// Target environment (`prod`, `staging`, …).
    pub environment: String,
    /// Why this plan (the catalog rule that matched).
    pub rationale: String,
    /// Steps, in order.
    pub steps: Vec<Step>,
    /// Risk score in [0, 1].
    pub risk: f64,
    /// Life-cycle state.
    pub state: PlanState,
}

/// Who approved or rejected a plan, when and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// The plan.
    pub plan: PlanId,
    /// Who decided.
    pub approver: String,
    /// Approved (true) or rejected.
    pub approved: bool,
    /// When.
    pub at: Timestamp,
    /// Why.
    #[serde(default)]
    pub comment: String,
}

/// The outcome of running one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// The plan.
    pub plan: PlanId,
    /// Index of the step.
    pub step: usize,
    /// Runner name.
    pub runner: String,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// Exit status or HTTP status (0 = success for shells).
    pub status: i32,
    /// Captured output (truncated by the runner).
    pub output: String,
    /// Start.
    pub started: Timestamp,
    /// End.
    pub finished: Timestamp,
}

/// The canary judge's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictOutcome {
    /// The fix worked.
    Pass,
    /// Mixed.
    Marginal,
    /// Worse or unchanged: roll back.
    Fail,
    /// Not enough data.
    Inconclusive,
}

/// A verification verdict with reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The plan.
    pub plan: PlanId,
    /// Outcome.
    pub outcome: VerdictOutcome,
    /// Score in [0, 1] (share of metrics that passed).
    pub score: f64,
    /// One reason per metric judged.
    pub reasons: Vec<String>,
}

/// One record of the signed, hash-chained audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the log, from 0.
    pub seq: u64,
    /// When it was appended.
    pub at: Timestamp,
    /// Hash of the previous record (hex), or the empty string for the first.
    pub prev_hash: String,
    /// What happened.
    pub payload: serde_json::Value,
    /// Hash of this record's seq, time, prev_hash and payload (hex).
    pub hash: String,
    /// Signature over `hash` (hex), empty when the sink does not sign.
    #[serde(default)]
    pub signature: String,
}

use serde::{Deserialize, Serialize};

use crate::FixPlan;

/// The policy's answer for a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDecision {
    /// Whether the plan may proceed.
    pub allowed: bool,
    /// Human-readable reasons for each denial (empty when allowed).
    pub reasons: Vec<String>,
}

/// Allows or denies plans. The Rego engine (regorus) lives in `faultline-remediate`.
pub trait PolicyEngine: Send + Sync {
    /// Evaluates a plan.
    fn evaluate(&self, plan: &FixPlan) -> PolicyDecision;
}

/// Built-in rules: no step may delete anything in a production environment, steps may only
/// use allow-listed tools, and a plan may not exceed a step budget.
///
/// ```
/// use faultline_core::ports::{BuiltinPolicy, PolicyEngine};
/// let p = BuiltinPolicy::default();
/// assert!(p.allowed_tools.contains(&"kubectl".to_string()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuiltinPolicy {
    /// Environments treated as production (`prod`, `production`).
    pub production_environments: Vec<String>,
    /// First words a step's script may start with.
    pub allowed_tools: Vec<String>,
    /// Maximum number of steps.
    pub max_steps: usize,
}

impl Default for BuiltinPolicy {
    fn default() -> Self {
        Self {
            production_environments: vec!["prod".into(), "production".into()],
            allowed_tools: [
                "kubectl",
                "helm",
                "terraform",
                "ansible-playbook",
                "psql",
                "curl",
                "echo",
                "git",
            ]
            .map(String::from)
            .to_vec(),
            max_steps: 20,
        }
    }
}

impl PolicyEngine for BuiltinPolicy {
    fn evaluate(&self, plan: &FixPlan) -> PolicyDecision {
        let prod = self
            .production_environments
            .iter()
            .any(|e| e.eq_ignore_ascii_case(&plan.environment));
        let mut reasons = Vec::new();
        if plan.steps.len() > self.max_steps {
            reasons.push(format!(
                "plan has {} steps, more than the limit of {}",
                plan.steps.len(),
                self.max_steps
            ));
        }
        for (i, step) in plan.steps.iter().enumerate() {
            let tool = step.script.split_whitespace().next().unwrap_or("");
            if !self.allowed_tools.iter().any(|t| t == tool) {
                reasons.push(format!(
                    "step {} ({}) uses '{tool}', which is not an allowed tool",
                    i + 1,
                    step.action
                ));
            }
            let deletes = step
                .script
                .split_whitespace()
                .any(|w| matches!(w, "delete" | "destroy" | "drop" | "DROP" | "rm"));
            if prod && deletes {
                reasons.push(format!(
                    "step {} ({}) deletes in production environment '{}'",
                    i + 1,
                    step.action,
                    plan.environment
                ));
            }
        }
        PolicyDecision {
            allowed: reasons.is_empty(),
            reasons,
        }
    }
}

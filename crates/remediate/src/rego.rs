//! Rego policies through `regorus` (feature `rego`).
//!
//! A policy is a Rego module in package `faultline` whose `deny` rule collects readable
//! reasons (a set or array of strings). Its input is the plan plus per-step facts:
//!
//! ```json
//! {"plan": {…FixPlan…}, "production": true, "now": {"hour_utc": 14, "weekday": 2},
//!  "steps": [{"index": 0, "action": "kubectl_scale", "tool": "kubectl", "words": ["kubectl", …],
//!             "namespace": "shop", "script": "…"}]}
//! ```
//!
//! `data` holds host settings (`data.faultline.allowed_namespaces`, …). Evaluation errors deny
//! (fail closed). [`DEFAULT_POLICY`] denies deletes in production, namespaces outside an
//! allow-list (when one is set), production changes outside the change window, and
//! unknown tools.

use std::sync::Arc;

use faultline_core::ports::{Clock, PolicyDecision, PolicyEngine, SystemClock};
use faultline_core::FixPlan;

use crate::quote::{split, Arg};
use crate::RemediateError;

/// The shipped policy.
pub const DEFAULT_POLICY: &str = include_str!("default_policy.rego");

/// A Rego policy engine.
#[derive(Clone)]
pub struct RegoPolicy {
    engine: regorus::Engine,
    clock: Arc<dyn Clock>,
    production_environments: Vec<String>,
}

impl std::fmt::Debug for RegoPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegoPolicy").finish_non_exhaustive()
    }
}

impl RegoPolicy {
    /// Loads `modules` (name, Rego source) and `data` (JSON).
    pub fn new(modules: &[(&str, &str)], data: serde_json::Value) -> Result<Self, RemediateError> {
        let mut engine = regorus::Engine::new();
        for (name, src) in modules {
            engine
                .add_policy((*name).to_owned(), (*src).to_owned())
                .map_err(|e| RemediateError::Policy(format!("{name}: {e}")))?;
        }
        let data = regorus::Value::from_json_str(&data.to_string())
            .map_err(|e| RemediateError::Policy(e.to_string()))?;
        engine
            .add_data(data)
            .map_err(|e| RemediateError::Policy(e.to_string()))?;
        let mut p = Self {
            engine,
            clock: Arc::new(SystemClock),
            production_environments: vec!["prod".into(), "production".into()],
        };
        // Compile now so a broken module fails here, not at the first plan.
        p.engine
            .eval_rule("data.faultline.deny".to_owned())
            .map_err(|e| RemediateError::Policy(e.to_string()))?;
        p.engine.set_input(regorus::Value::new_object());
        Ok(p)
    }

    /// The default policy with `data` settings (`allowed_namespaces`, `change_window`).
    pub fn default_policy(data: serde_json::Value) -> Result<Self, RemediateError> {
        Self::new(
            &[("default_policy.rego", DEFAULT_POLICY)],
            serde_json::json!({ "faultline": data }),
        )
    }

    /// Uses `clock` for `input.now`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The input document for `plan`.
    pub fn input(&self, plan: &FixPlan) -> serde_json::Value {
        let steps: Vec<serde_json::Value> = plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let words: Vec<String> = split(&s.script)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| match a {
                        Arg::Lit(w) => w,
                        Arg::Env(n) => format!("${n}"),
                    })
                    .collect();
                let namespace = words
                    .iter()
                    .position(|w| w == "-n" || w == "--namespace")
                    .and_then(|p| words.get(p + 1))
                    .cloned()
                    .unwrap_or_default();
                serde_json::json!({ "index": i, "action": s.action, "tool": words.first().cloned().unwrap_or_default(),
                    "words": words, "namespace": namespace, "script": s.script, "target": s.target })
            })
            .collect();
        let secs = self.clock.now().0.div_euclid(1_000_000_000);
        let hour = secs.div_euclid(3600).rem_euclid(24);
        // 1970-01-01 was a Thursday; weekday 0 = Sunday.
        let weekday = (secs.div_euclid(86_400) + 4).rem_euclid(7);
        serde_json::json!({
            "plan": plan,
            "production": self.production_environments.iter().any(|p| p.eq_ignore_ascii_case(&plan.environment)),
            "now": { "hour_utc": hour, "weekday": weekday },
            "steps": steps,
        })
    }

    /// Evaluates `plan`, returning the deny reasons (sorted).
    pub fn deny_reasons(&self, plan: &FixPlan) -> Result<Vec<String>, RemediateError> {
        let mut engine = self.engine.clone();
        let input = regorus::Value::from_json_str(&self.input(plan).to_string())
            .map_err(|e| RemediateError::Policy(e.to_string()))?;
        engine.set_input(input);
        let v = engine
            .eval_rule("data.faultline.deny".to_owned())
            .map_err(|e| RemediateError::Policy(e.to_string()))?;
        let mut out = Vec::new();
        let mut push = |x: &regorus::Value| match x.as_string() {
            Ok(s) => out.push(s.to_string()),
            Err(_) => out.push(x.to_string()),
        };
        if let Ok(set) = v.as_set() {
            set.iter().for_each(&mut push);
        } else if let Ok(arr) = v.as_array() {
            arr.iter().for_each(&mut push);
        } else if v != regorus::Value::Undefined {
            return Err(RemediateError::Policy(
                "data.faultline.deny is not a set or array".into(),
            ));
        }
        out.sort();
        Ok(out)
    }
}

impl PolicyEngine for RegoPolicy {
    fn evaluate(&self, plan: &FixPlan) -> PolicyDecision {
        match self.deny_reasons(plan) {
            Ok(reasons) => PolicyDecision {
                allowed: reasons.is_empty(),
                reasons,
            },
            Err(e) => PolicyDecision {
                allowed: false,
                reasons: vec![format!("policy evaluation failed: {e}")],
            },
        }
    }
}

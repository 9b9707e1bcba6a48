//! The fix catalog: YAML rules that match a hypothesis (cause kind, service, labels,
//! environment, minimum confidence, …) and produce actions whose parameters are minijinja
//! templates over the incident, the hypothesis, its evidence and the [`PlanContext`].
//!
//! ```yaml
//! rules:
//!   - name: rollback-recent-deploy
//!     match: { cause: [change], change_kind: [deploy], min_confidence: 0.5 }
//!     actions:
//!       - kind: kubectl_rollout_undo
//!         params: { deployment: "{{ service }}", namespace: "{{ namespace }}" }
//! ```
//!
//! Template variables: `service`, `namespace`, `environment`, `incident_id`, `version`,
//! `change_kind`, `metric`, `confidence`, `labels` (map), `params` (host map), `incident`,
//! `hypothesis`, `evidence` (supporting items: kind, service, summary, score). Undefined
//! variables are errors (strict mode), so a typo cannot produce an empty argument. In `shell`
//! actions every `{{ value }}` is shell-quoted automatically; elsewhere values become single
//! arguments and are quoted by the script generators.

use std::collections::BTreeMap;

use faultline_core::{Cause, FixPlan, Hypothesis, IncidentReport, PlanId, PlanState};
use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};

use crate::actions::{generate, ActionKind, RenderedAction};
use crate::RemediateError;

/// The default catalog shipped with the crate.
pub const DEFAULT_CATALOG_YAML: &str = include_str!("default_catalog.yaml");

/// Where and for whom a plan is made; supplied by the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanContext {
    /// Target environment; empty means the incident's, and when that is absent too, the
    /// first production environment (the safe assumption).
    pub environment: String,
    /// Kubernetes namespace (or equivalent) the services run in.
    pub namespace: String,
    /// Labels describing the target (`runtime: jvm`, `platform: k8s`); rules match on them
    /// together with the labels of the hypothesis's metric.
    pub labels: BTreeMap<String, String>,
    /// Free host variables for templates (`helm_chart`, `gitops_file`, `itsm_url`, …).
    pub params: BTreeMap<String, String>,
    /// Environments treated as production (case-insensitive).
    pub production_environments: Vec<String>,
}

impl Default for PlanContext {
    fn default() -> Self {
        Self {
            environment: String::new(),
            namespace: "default".into(),
            labels: BTreeMap::new(),
            params: BTreeMap::new(),
            production_environments: vec!["prod".into(), "production".into()],
        }
    }
}

impl PlanContext {
    /// Whether `env` is a production environment.
    pub fn is_production(&self, env: &str) -> bool {
        self.production_environments
            .iter()
            .any(|p| p.eq_ignore_ascii_case(env))
    }
}

/// What a rule matches on; every field is optional (empty = any).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleMatch {
    /// Cause kinds (`change`, `resource`, `code`, `dependency`, `unknown`).
    pub cause: Vec<String>,
    /// Change kinds for `change` causes (`deploy`, `config`, `feature_flag`, …).
    pub change_kind: Vec<String>,
    /// Service name globs (`*` wildcard).
    pub services: Vec<String>,
    /// Metric name globs for `resource` causes.
    pub metrics: Vec<String>,
    /// Case-insensitive substrings of the hypothesis statement or error template; any one.
    pub text_contains: Vec<String>,
    /// Label globs that must all hold (context labels and the metric's labels).
    pub labels: BTreeMap<String, String>,
    /// Environments (case-insensitive).
    pub environments: Vec<String>,
    /// Minimum hypothesis confidence in [0, 1].
    pub min_confidence: f64,
    /// Host parameters ([`PlanContext::params`]) that must be set for the rule to apply
    /// (a feature-flag revert needs to know which flag).
    pub params: Vec<String>,
}

/// One action of a rule, its parameters as templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// What to do.
    pub kind: ActionKind,
    /// Scalar parameters (templates).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Settings to apply (templates): `--set`, `-var`, extra vars, HTTP variables.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// The settings' previous values (templates), for rollbacks.
    #[serde(default)]
    pub previous: BTreeMap<String, String>,
}

/// A catalog rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name.
    pub name: String,
    /// What it does, for humans (becomes the plan's rationale).
    #[serde(default)]
    pub description: String,
    /// When it applies.
    #[serde(rename = "match", default)]
    pub when: RuleMatch,
    /// What it does, in order.
    pub actions: Vec<ActionSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    version: Option<u32>,
    rules: Vec<Rule>,
}

/// A loaded, validated catalog.
pub struct Catalog {
    rules: Vec<Rule>,
    env: Environment<'static>,
    shell_env: Environment<'static>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("rules", &self.rules.len())
            .finish()
    }
}

/// `*` glob match (any run of characters), case-sensitive.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(at) => rest = &rest[at + p.len()..],
                None => return false,
            }
        }
    }
    true
}

/// The `k8s` template filter: turns a service name into a valid Kubernetes object name
/// (lowercase; runs of other characters become `-`; trimmed to 63 characters), so that
/// `Cart_Service` plans against `cart-service` instead of failing.
pub fn k8s_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let t: String = out.trim_matches('-').chars().take(63).collect();
    let t = t.trim_end_matches('-').to_owned();
    if t.is_empty() {
        "unnamed".into()
    } else {
        t
    }
}

fn k8s_filter(v: String) -> String {
    k8s_name(&v)
}

fn environments() -> (Environment<'static>, Environment<'static>) {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("shquote", crate::quote::shquote_filter);
    env.add_filter("k8s", k8s_filter);
    let mut shell = env.clone();
    // In shell templates every interpolated value is quoted unless it is already safe (the
    // output of `shquote`).
    shell.set_formatter(|out, _state, value| {
        if value.is_safe() {
            out.write_str(value.as_str().unwrap_or_default())?;
        } else if let Some(s) = value.as_str() {
            out.write_str(&crate::quote::shell_quote(s))?;
        } else {
            out.write_str(&crate::quote::shell_quote(&value.to_string()))?;
        }
        Ok(())
    });
    (env, shell)
}

impl Catalog {
    /// The shipped rules ([`DEFAULT_CATALOG_YAML`]).
    ///
    /// ```
    /// let c = faultline_remediate::Catalog::default_catalog();
    /// assert!(c.rules().iter().any(|r| r.name == "rollback-recent-deploy"));
    /// ```
    pub fn default_catalog() -> Self {
        Self::from_yaml(DEFAULT_CATALOG_YAML).expect("the embedded default catalog is valid (tested)")
    }

    /// Loads and validates a catalog: YAML shape, unique rule names, known action kinds,
    /// required parameters present, templates compile.
    pub fn from_yaml(text: &str) -> Result<Self, RemediateError> {
        let file: CatalogFile =
            serde_norway::from_str(text).map_err(|e| RemediateError::Catalog(e.to_string()))?;
        if let Some(v) = file.version {
            if v != 1 {
                return Err(RemediateError::Catalog(format!(
                    "unsupported catalog version {v}"
                )));
            }
        }
        Self::from_rules(file.rules)
    }

    /// A catalog from rules built in code (validated like YAML).
    pub fn from_rules(rules: Vec<Rule>) -> Result<Self, RemediateError> {
        let (env, shell_env) = environments();
        let mut names = std::collections::BTreeSet::new();
        for r in &rules {
            if r.name.trim().is_empty() {
                return Err(RemediateError::Catalog("a rule has an empty name".into()));
            }
            if !names.insert(r.name.clone()) {
                return Err(RemediateError::Catalog(format!(
                    "duplicate rule name '{}'",
                    r.name
                )));
            }
            if r.actions.is_empty() {
                return Err(RemediateError::Catalog(format!(
                    "rule '{}' has no actions",
                    r.name
                )));
            }
            if !(0.0..=1.0).contains(&r.when.min_confidence) {
                return Err(RemediateError::Catalog(format!(
                    "rule '{}': min_confidence {} is outside [0, 1]",
                    r.name, r.when.min_confidence
                )));
            }
            for a in &r.actions {
                for p in a.kind.required_params() {
                    if !a.params.contains_key(*p) {
                        return Err(RemediateError::Catalog(format!(
                            "rule '{}': action {} lacks parameter '{p}'",
                            r.name,
                            a.kind.name()
                        )));
                    }
                }
                let e = if a.kind == ActionKind::Shell {
                    &shell_env
                } else {
                    &env
                };
                for (field, t) in a.params.iter().chain(&a.values).chain(&a.previous) {
                    e.template_from_str(t).map_err(|err| RemediateError::Template {
                        rule: r.name.clone(),
                        action: a.kind.name().into(),
                        field: field.clone(),
                        message: err.to_string(),
                    })?;
                }
            }
        }
        Ok(Self {
            rules,
            env,
            shell_env,
        })
    }

    /// The rules, in priority order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first rule that matches `hypothesis` in the resolved environment.
    pub fn matching_rule(
        &self,
        hypothesis: &Hypothesis,
        environment: &str,
        ctx: &PlanContext,
    ) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| rule_matches(&r.when, hypothesis, environment, ctx))
    }

    /// Plan for one hypothesis of a report: the first matching rule (cause kind, service,
    /// labels, environment, min confidence) becomes a [`FixPlan`] in state `Draft` with a
    /// content-derived id, one step per action (script, dry run, rollback) and a risk score.
    /// `None` when no rule matches.
    ///
    /// ```
    /// use faultline_remediate::{Catalog, PlanContext};
    /// # let (report, hyp) = faultline_remediate::testing::deploy_report("checkout", 0.8);
    /// let ctx = PlanContext { namespace: "shop".into(), ..Default::default() };
    /// let plan = Catalog::default_catalog().plan(&report, &hyp, &ctx).unwrap().unwrap();
    /// assert_eq!(plan.steps[0].script, "kubectl rollout undo deployment/checkout -n shop");
    /// ```
    pub fn plan(
        &self,
        report: &IncidentReport,
        hypothesis: &Hypothesis,
        ctx: &PlanContext,
    ) -> Result<Option<FixPlan>, RemediateError> {
        let environment = resolve_environment(report, ctx);
        let Some(rule) = self.matching_rule(hypothesis, &environment, ctx) else {
            return Ok(None);
        };
        let vars = template_vars(report, hypothesis, ctx, &environment);
        let mut steps = Vec::with_capacity(rule.actions.len());
        for a in &rule.actions {
            let env = if a.kind == ActionKind::Shell {
                &self.shell_env
            } else {
                &self.env
            };
            let render = |m: &BTreeMap<String, String>| -> Result<BTreeMap<String, String>, RemediateError> {
                m.iter()
                    .map(|(k, t)| {
                        env.render_str(t, &vars).map(|v| (k.clone(), v)).map_err(|err| {
                            RemediateError::Template {
                                rule: rule.name.clone(),
                                action: a.kind.name().into(),
                                field: k.clone(),
                                message: err.to_string(),
                            }
                        })
                    })
                    .collect()
            };
            let rendered = RenderedAction {
                params: render(&a.params)?,
                values: render(&a.values)?,
                previous: render(&a.previous)?,
            };
            steps.push(generate(a.kind, &rendered)?);
        }
        let kinds: Vec<ActionKind> = rule.actions.iter().map(|a| a.kind).collect();
        let risk = crate::risk::plan_risk(&kinds, ctx.is_production(&environment), hypothesis.confidence);
        let mut id_parts: Vec<&str> = vec![
            report.incident.id.0.as_str(),
            hypothesis.id.as_str(),
            rule.name.as_str(),
            environment.as_str(),
        ];
        for s in &steps {
            id_parts.extend([s.script.as_str(), s.dry_run.as_str(), s.rollback.as_str()]);
        }
        Ok(Some(FixPlan {
            id: PlanId::derive(&id_parts),
            incident: report.incident.id.clone(),
            hypothesis: hypothesis.id.clone(),
            service: hypothesis.service.clone(),
            environment,
            rationale: if rule.description.is_empty() {
                format!("catalog rule {}", rule.name)
            } else {
                format!("{} (catalog rule {})", rule.description, rule.name)
            },
            steps,
            risk,
            state: PlanState::Draft,
        }))
    }
}

/// The plan's environment: the context's, else the incident's, else the first production
/// environment.
pub fn resolve_environment(report: &IncidentReport, ctx: &PlanContext) -> String {
    if !ctx.environment.trim().is_empty() {
        return ctx.environment.trim().to_owned();
    }
    if let Some(e) = report
        .incident
        .environment
        .as_deref()
        .filter(|e| !e.trim().is_empty())
    {
        return e.trim().to_owned();
    }
    ctx.production_environments
        .first()
        .cloned()
        .unwrap_or_else(|| "prod".into())
}

fn rule_matches(m: &RuleMatch, h: &Hypothesis, environment: &str, ctx: &PlanContext) -> bool {
    if !h.confidence.is_finite() || h.confidence < m.min_confidence {
        return false;
    }
    if !m.cause.is_empty() && !m.cause.iter().any(|c| c == h.cause.kind_name()) {
        return false;
    }
    if !m.change_kind.is_empty() {
        match &h.cause {
            Cause::Change { change_kind, .. } if m.change_kind.iter().any(|k| k == change_kind) => {}
            _ => return false,
        }
    }
    if !m.services.is_empty() && !m.services.iter().any(|g| glob(g, h.service.as_str())) {
        return false;
    }
    if !m.metrics.is_empty() {
        match &h.cause {
            Cause::Resource { metric } if m.metrics.iter().any(|g| glob(g, &metric.metric)) => {}
            _ => return false,
        }
    }
    if !m.text_contains.is_empty() {
        let mut hay = h.statement.to_lowercase();
        if let Cause::Code { text, .. } = &h.cause {
            hay.push('\n');
            hay.push_str(&text.to_lowercase());
        }
        if !m.text_contains.iter().any(|t| hay.contains(&t.to_lowercase())) {
            return false;
        }
    }
    if !m
        .params
        .iter()
        .all(|p| ctx.params.get(p).is_some_and(|v| !v.trim().is_empty()))
    {
        return false;
    }
    if !m.environments.is_empty() && !m.environments.iter().any(|e| e.eq_ignore_ascii_case(environment)) {
        return false;
    }
    for (k, g) in &m.labels {
        let metric_label = match &h.cause {
            Cause::Resource { metric } => metric.labels.get(k),
            _ => None,
        };
        let v = ctx.labels.get(k).map(String::as_str).or(metric_label);
        if !v.is_some_and(|v| glob(g, v)) {
            return false;
        }
    }
    true
}

fn template_vars(
    report: &IncidentReport,
    h: &Hypothesis,
    ctx: &PlanContext,
    environment: &str,
) -> serde_json::Value {
    let (version, change_kind, metric, template_text, dependency) = match &h.cause {
        Cause::Change {
            version, change_kind, ..
        } => (
            version.clone().unwrap_or_default(),
            change_kind.clone(),
            String::new(),
            String::new(),
            String::new(),
        ),
        Cause::Resource { metric } => (
            String::new(),
            String::new(),
            metric.metric.clone(),
            String::new(),
            String::new(),
        ),
        Cause::Code { text, .. } => (
            String::new(),
            String::new(),
            String::new(),
            text.clone(),
            String::new(),
        ),
        Cause::Dependency { service } => (
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            service.to_string(),
        ),
        Cause::Unknown => Default::default(),
    };
    let mut labels = ctx.labels.clone();
    if let Cause::Resource { metric } = &h.cause {
        for (k, v) in metric.labels.iter() {
            labels.entry(k.to_owned()).or_insert_with(|| v.to_owned());
        }
    }
    let evidence: Vec<serde_json::Value> = h
        .support
        .iter()
        .filter_map(|id| report.evidence(id))
        .map(|e| {
            serde_json::json!({ "id": e.id, "kind": e.kind, "service": e.service, "summary": e.summary, "score": e.score })
        })
        .collect();
    serde_json::json!({
        "service": h.service.as_str(),
        "namespace": ctx.namespace,
        "environment": environment,
        "incident_id": report.incident.id.0,
        "incident": { "id": report.incident.id.0, "title": report.incident.title,
            "onset": report.incident.onset.to_string(), "severity": report.incident.severity },
        "hypothesis": { "id": h.id.as_str(), "statement": h.statement, "confidence": h.confidence,
            "rank": h.rank, "cause": h.cause.kind_name() },
        "confidence": format!("{:.2}", h.confidence),
        "version": version,
        "change_kind": change_kind,
        "metric": metric,
        "template": template_text,
        "dependency": dependency,
        "labels": labels,
        "params": ctx.params,
        "evidence": evidence,
        "blast_radius": report.blast_radius.services.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{deploy_report, report_with};
    use faultline_core::{Labels, SeriesKey, ServiceId};

    #[test]
    fn k8s_filter_makes_valid_names() {
        assert_eq!(k8s_name("Cart_Service"), "cart-service");
        assert_eq!(k8s_name("--a..b--"), "a-b");
        assert_eq!(k8s_name("日本"), "unnamed");
        assert_eq!(k8s_name(&"x".repeat(100)).len(), 63);
        let (report, h) = crate::testing::deploy_report("Cart_Service", 0.9);
        let p = Catalog::default_catalog()
            .plan(&report, &h, &PlanContext::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            p.steps[0].script,
            "kubectl rollout undo deployment/cart-service -n default"
        );
    }

    #[test]
    fn glob_matches() {
        assert!(glob("*", "x"));
        assert!(glob("jvm_*", "jvm_heap_used"));
        assert!(glob("*heap*", "jvm_heap_used"));
        assert!(!glob("*heap", "jvm_heap_used"));
        assert!(glob("a*b*c", "abxxc"));
        assert!(!glob("a", "ab"));
    }

    #[test]
    fn default_catalog_loads_and_covers_the_issue_actions() {
        let c = Catalog::default_catalog();
        let kinds: std::collections::BTreeSet<&str> = c
            .rules()
            .iter()
            .flat_map(|r| r.actions.iter().map(|a| a.kind.name()))
            .collect();
        for k in [
            "kubectl_rollout_undo",
            "kubectl_rollout_pause",
            "kubectl_rollout_restart",
            "kubectl_scale",
            "gitops_set",
            "kubectl_patch",
            "kubectl_set_env",
            "sql_index",
            "ansible_playbook",
            "servicenow_incident",
        ] {
            assert!(kinds.contains(k), "default catalog lacks {k}");
        }
    }

    #[test]
    fn deploy_hypothesis_plans_rollback_with_content_id() {
        let (report, h) = deploy_report("checkout", 0.8);
        let ctx = PlanContext {
            namespace: "shop".into(),
            environment: "prod".into(),
            ..Default::default()
        };
        let c = Catalog::default_catalog();
        let p = c.plan(&report, &h, &ctx).unwrap().unwrap();
        assert_eq!(p.state, PlanState::Draft);
        assert_eq!(p.environment, "prod");
        assert!(p.rationale.contains("rollback-recent-deploy"));
        assert!(p
            .steps
            .iter()
            .all(|s| !s.dry_run.is_empty() && !s.rollback.is_empty()));
        assert!(p.risk > 0.0 && p.risk <= 1.0);
        let again = c.plan(&report, &h, &ctx).unwrap().unwrap();
        assert_eq!(p.id, again.id);
        let staging = PlanContext {
            environment: "staging".into(),
            ..ctx
        };
        let s = c.plan(&report, &h, &staging).unwrap().unwrap();
        assert_ne!(s.id, p.id);
        assert!(s.risk < p.risk, "non-production is less risky");
    }

    #[test]
    fn min_confidence_and_environment_filter() {
        let yaml = r#"
rules:
  - name: only-staging
    match: { cause: [change], environments: [staging], min_confidence: 0.9 }
    actions:
      - kind: kubectl_rollout_restart
        params: { deployment: "{{ service }}", namespace: "{{ namespace }}" }
"#;
        let c = Catalog::from_yaml(yaml).unwrap();
        let (report, h) = deploy_report("checkout", 0.95);
        let prod = PlanContext {
            environment: "prod".into(),
            ..Default::default()
        };
        assert!(c.plan(&report, &h, &prod).unwrap().is_none());
        let staging = PlanContext {
            environment: "staging".into(),
            ..Default::default()
        };
        assert!(c.plan(&report, &h, &staging).unwrap().is_some());
        let (report, h) = deploy_report("checkout", 0.5);
        assert!(c.plan(&report, &h, &staging).unwrap().is_none());
    }

    #[test]
    fn resource_rules_match_metric_and_labels() {
        let mut h_metric = SeriesKey::new(ServiceId::new("payments"), "jvm_heap_used_bytes");
        h_metric.labels = Labels::from_pairs([("pod", "p-1")]);
        let (report, h) = report_with("payments", Cause::Resource { metric: h_metric }, 0.7);
        let ctx = PlanContext {
            namespace: "shop".into(),
            labels: [("runtime".to_string(), "jvm".to_string())].into(),
            ..Default::default()
        };
        let p = Catalog::default_catalog()
            .plan(&report, &h, &ctx)
            .unwrap()
            .unwrap();
        assert!(p.steps[0].script.contains("JAVA_TOOL_OPTIONS"), "{:?}", p.steps);
    }

    #[test]
    fn bad_catalogs_are_refused_with_reasons() {
        let missing = "rules:\n  - name: x\n    actions:\n      - kind: kubectl_scale\n        params: { deployment: a }\n";
        assert!(
            matches!(Catalog::from_yaml(missing), Err(RemediateError::Catalog(m)) if m.contains("lacks parameter"))
        );
        let unknown = "rules:\n  - name: x\n    actions:\n      - kind: format_disk\n";
        assert!(Catalog::from_yaml(unknown).is_err());
        let syntax = "rules:\n  - name: x\n    actions:\n      - kind: kubectl_rollout_pause\n        params: { deployment: '{{ service', namespace: a }\n";
        assert!(matches!(
            Catalog::from_yaml(syntax),
            Err(RemediateError::Template { .. })
        ));
        let dup = "rules:\n  - {name: x, actions: [{kind: kubectl_rollout_pause, params: {deployment: a, namespace: b}}]}\n  - {name: x, actions: [{kind: kubectl_rollout_pause, params: {deployment: a, namespace: b}}]}\n";
        assert!(Catalog::from_yaml(dup).is_err());
        assert!(Catalog::from_yaml("not: [valid").is_err());
    }

    #[test]
    fn undefined_template_variable_is_an_error_not_an_empty_argument() {
        let yaml = "rules:\n  - name: x\n    actions:\n      - kind: kubectl_rollout_pause\n        params: { deployment: '{{ servcie }}', namespace: a }\n";
        let c = Catalog::from_yaml(yaml).unwrap();
        let (report, h) = deploy_report("checkout", 0.8);
        assert!(matches!(
            c.plan(&report, &h, &PlanContext::default()),
            Err(RemediateError::Template { .. })
        ));
    }

    #[test]
    fn shell_templates_autoquote_hostile_values() {
        let yaml = r#"
rules:
  - name: custom
    actions:
      - kind: shell
        params:
          script: "echo restarting {{ service }} for {{ incident.title }}"
          dry_run: "echo would restart {{ service | shquote }}"
          rollback: "echo nothing"
"#;
        let c = Catalog::from_yaml(yaml).unwrap();
        let (mut report, h) = deploy_report("checkout", 0.8);
        report.incident.title = "x'; rm -rf / #".into();
        let p = c.plan(&report, &h, &PlanContext::default()).unwrap().unwrap();
        let argv = crate::quote::split(&p.steps[0].script).unwrap();
        assert_eq!(
            argv.last(),
            Some(&crate::quote::Arg::Lit("x'; rm -rf / #".into()))
        );
        assert_eq!(p.steps[0].dry_run, "echo would restart checkout");
    }

    #[test]
    fn unknown_environment_defaults_to_production() {
        let (mut report, h) = deploy_report("checkout", 0.8);
        report.incident.environment = None;
        assert_eq!(resolve_environment(&report, &PlanContext::default()), "prod");
        report.incident.environment = Some("staging".into());
        assert_eq!(resolve_environment(&report, &PlanContext::default()), "staging");
        let _ = h;
    }
}

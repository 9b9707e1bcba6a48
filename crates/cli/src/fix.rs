//! The remediation subcommands: `plan`, `preflight`, `approve`, `execute`, `verify`,
//! `audit verify` and `keygen`.
//!
//! Each command is one process, so the approval typestate of `faultline-remediate` is carried
//! across processes by files: the plan (a `FixPlan` JSON), a signed approval bound to the
//! plan's content digest, and an execution record. Every step is appended to a signed,
//! hash-chained JSONL audit log (`--audit`, default `faultline-audit.jsonl` beside the plan).
//! See docs/remediate.md.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use faultline::core::{FixPlan, PlanState};
use faultline::fix::{
    self, Authority, CanaryConfig, CanarySpec, DriftCheck, ErrorBudget, ExecutionRecord, Fixer,
    MetricDirection, PlanContext, PreflightRecord, PreflightSpec, RegoModule, RunnerSpec, ShellConfig,
    SignedApproval,
};
use faultline::remediate::{Catalog, RemediateError};
use faultline::{Error, Pipeline, PipelineConfig};

/// The remediation subcommands (flattened into the CLI's command list).
#[derive(Subcommand)]
pub enum FixCommand {
    /// Analyse a bundle and plan a fix for the top hypothesis.
    #[command(
        after_help = "Example:\n  faultline plan examples/incidents/checkout-deploy --out plan.json\n\n\
        Writes the FixPlan JSON (steps with script, dry_run and rollback). The environment is\n\
        --environment, else the incident's, else production (an unknown environment needs a person)."
    )]
    Plan(PlanArgs),
    /// Check a plan: dry run, policy, error budget, drift, risk.
    #[command(after_help = "Example:\n  faultline preflight plan.json\n  \
        faultline preflight plan.json --policy freeze.rego --budget 0.999,1000000,1200 \\\n    \
        --drift 'checkout runs 2.32.0,2.32.0,kubectl get deploy/checkout -o name' --runner shell\n\n\
        Prints the preflight report JSON, writes the preflight record (PLAN.preflight.json: the checks\n\
        and their digests, which `faultline approve` repeats) and marks the plan file preflighted.\n\
        Exit 2 when a check fails.")]
    Preflight(PreflightArgs),
    /// Approve a preflighted plan with a signed approval.
    #[command(after_help = "Example:\n  faultline keygen --out alice\n  \
        faultline approve plan.json --approver alice --key alice.key --out approval.json\n\n\
        The approval is signed with ed25519 and bound to the plan's content: editing the plan\n\
        afterwards invalidates it. The plan must have passed `faultline preflight` (audit log).")]
    Approve(ApproveArgs),
    /// Execute an approved plan through a runner.
    #[command(
        after_help = "Example:\n  faultline execute plan.json --approval approval.json --key alice.pub --runner dry-run\n  \
        faultline execute plan.json --approval approval.json --key alice.pub --runner gitops --repo ./deploy-repo\n\n\
        A plan without a valid signed approval is refused (exit 2); --auto-approve works only for\n\
        non-production environments. Writes PLAN.execution.json for `faultline verify`."
    )]
    Execute(ExecuteArgs),
    /// Judge the fix with a canary comparison; roll back on failure.
    #[command(
        after_help = "Example:\n  faultline verify plan.json --baseline before.csv --canary after.csv --key alice.pub --critical error_rate\n\n\
        Windows are CSV rows `metric,value` (header optional, one row per sample). Prints the verdict\n\
        JSON; a failing verdict rolls every step back through the runner that executed them and\n\
        notifies (log notifier). Exit 0 either way: read `state` (verified | rolled_back)."
    )]
    Verify(VerifyArgs),
    /// Audit log tools.
    #[command(
        after_help = "Example:\n  faultline audit verify faultline-audit.jsonl --key faultline-audit.jsonl.pub"
    )]
    Audit(AuditCmd),
    /// Make an ed25519 key pair (PREFIX.key secret, PREFIX.pub public; hex).
    #[command(
        after_help = "Example:\n  faultline keygen --out alice\n\nWrites alice.key (mode 0600) and alice.pub."
    )]
    Keygen(KeygenArgs),
}

/// Where the audit log goes and what signs it.
#[derive(Args)]
pub struct AuditArgs {
    /// Signed audit log (JSONL) to append to [default: faultline-audit.jsonl beside the plan].
    #[arg(long)]
    audit: Option<PathBuf>,
    /// Secret key (hex) signing the audit records [default: AUDIT.key, created with AUDIT.pub
    /// on first use].
    #[arg(long)]
    audit_key: Option<PathBuf>,
}

/// `faultline plan`.
#[derive(Args)]
pub struct PlanArgs {
    /// The incident bundle directory.
    bundle: PathBuf,
    /// Write the plan here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Target environment (default: the incident's, else production).
    #[arg(long)]
    environment: Option<String>,
    /// Fix catalog (YAML) instead of the shipped one.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Kubernetes namespace used in scripts.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Host variable for catalog templates (repeatable), e.g. --param flag_key=checkout.new_flow.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// Pipeline configuration (YAML or JSON).
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    audit: AuditArgs,
}

/// `faultline preflight`.
#[derive(Args)]
pub struct PreflightArgs {
    /// The plan JSON (from `faultline plan`).
    plan: PathBuf,
    /// All checks as one PreflightSpec file (YAML or JSON: config, policy, budget, drift); the
    /// flags below add to it.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Rego policy added to the built-in rules (repeatable; needs the `rego` feature).
    #[arg(long)]
    policy: Vec<PathBuf>,
    /// JSON file with the Rego `data` document (e.g. {"faultline": {"allowed_namespaces": ["shop"]}}).
    #[arg(long)]
    policy_data: Option<PathBuf>,
    /// Plans riskier than this fail (0–1) [default: 0.9, or the spec's].
    #[arg(long)]
    max_risk: Option<f64>,
    /// The affected SLO's error budget: SLO_TARGET,TOTAL_EVENTS,BAD_EVENTS (e.g. 0.999,1000000,1200).
    /// When exhausted only low-risk plans (rollbacks, pauses) pass.
    #[arg(long, value_name = "SLO,TOTAL,BAD")]
    budget: Option<String>,
    /// A drift check NAME,EXPECTED_TEXT,PROBE_COMMAND (repeatable): the read-only probe's
    /// output must contain the text (checked with --runner shell; not checkable with dry-run).
    #[arg(long, value_name = "NAME,EXPECT,PROBE")]
    drift: Vec<String>,
    /// Runner for the dry runs and drift probes.
    #[arg(long, value_enum, default_value = "dry-run")]
    runner: PreflightRunner,
    /// Write the preflight report here instead of stdout.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Where the preflight record goes [default: PLAN.preflight.json].
    #[arg(long)]
    record: Option<PathBuf>,
    #[command(flatten)]
    audit: AuditArgs,
}

/// Runners preflight may use (they only run dry-run forms and read-only probes).
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum PreflightRunner {
    /// Prints what would run; drift checks are reported as not checkable.
    DryRun,
    /// Runs the dry-run forms and probes as local allow-listed processes.
    Shell,
}

/// `faultline approve`.
#[derive(Args)]
pub struct ApproveArgs {
    /// The plan JSON.
    plan: PathBuf,
    /// Who approves.
    #[arg(long)]
    approver: String,
    /// The approver's secret key file (from `faultline keygen`).
    #[arg(long)]
    key: PathBuf,
    /// Why.
    #[arg(long, default_value = "")]
    comment: String,
    /// The preflight record [default: PLAN.preflight.json]; its checks run again.
    #[arg(long)]
    preflight: Option<PathBuf>,
    /// Where the signed approval goes [default: PLAN.approval.json].
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    audit: AuditArgs,
}

/// Which runner executes the steps.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum RunnerKind {
    /// Prints what would run (default).
    DryRun,
    /// Local processes, allow-listed programs, no shell.
    Shell,
    /// Commits `gitops set` steps to a branch of --repo.
    Gitops,
    /// Sends HTTP steps (AWX, Terraform Cloud, ITSM, Slack, PagerDuty) as requests.
    #[cfg(feature = "http")]
    Http,
}

/// Settings of the HTTP runner.
#[derive(Args, Clone, Default)]
pub struct HttpArgs {
    /// URL prefix HTTP steps may call (repeatable; none = any URL; https:// needs the `tls` feature).
    #[arg(long = "http-allow", value_name = "PREFIX")]
    http_allow: Vec<String>,
    /// Environment variable HTTP steps may use for credentials and placeholders (repeatable).
    #[arg(long = "http-env", value_name = "NAME")]
    http_env: Vec<String>,
    /// PEM file of a CA trusted for https:// (repeatable; replaces the Mozilla roots).
    #[arg(long = "http-ca", value_name = "PEM")]
    http_ca: Vec<PathBuf>,
}

/// `faultline execute`.
#[derive(Args)]
pub struct ExecuteArgs {
    /// The plan JSON.
    plan: PathBuf,
    /// The signed approval (from `faultline approve`).
    #[arg(long)]
    approval: Option<PathBuf>,
    /// The approver's public key file (PREFIX.pub).
    #[arg(long)]
    key: Option<PathBuf>,
    /// Approve by policy instead (non-production environments only); the plan must pass the
    /// checks of its preflight record (PLAN.preflight.json, else the defaults) again.
    #[arg(long)]
    auto_approve: bool,
    /// The runner.
    #[arg(long, value_enum, default_value = "dry-run")]
    runner: RunnerKind,
    /// Git repository for the gitops runner.
    #[arg(long)]
    repo: Option<PathBuf>,
    /// Branch or commit the gitops branch forks from.
    #[arg(long, default_value = "HEAD")]
    base: String,
    #[command(flatten)]
    http: HttpArgs,
    /// Where the execution record goes [default: PLAN.execution.json].
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    audit: AuditArgs,
}

/// `faultline verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The plan JSON.
    plan: PathBuf,
    /// Baseline (before / control) window: CSV `metric,value`.
    #[arg(long)]
    baseline: PathBuf,
    /// Canary (after / experiment) window: CSV `metric,value`.
    #[arg(long)]
    canary: PathBuf,
    /// The execution record [default: PLAN.execution.json].
    #[arg(long)]
    execution: Option<PathBuf>,
    /// The approver's public key (needed when the plan ran under a signed approval).
    #[arg(long)]
    key: Option<PathBuf>,
    /// A metric whose failure fails the canary (repeatable).
    #[arg(long = "critical", value_name = "METRIC")]
    critical: Vec<String>,
    /// An event-count metric, also judged by a Poisson rate test (repeatable).
    #[arg(long = "count", value_name = "METRIC")]
    count: Vec<String>,
    /// Which change of a metric is bad (repeatable); default: increase.
    #[arg(long = "direction", value_name = "METRIC=increase|decrease|either")]
    direction: Vec<String>,
    /// Write the verdict here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    audit: AuditArgs,
}

/// `faultline audit …`.
#[derive(Args)]
pub struct AuditCmd {
    #[command(subcommand)]
    command: AuditSub,
}

/// Audit subcommands.
#[derive(Subcommand)]
pub enum AuditSub {
    /// Verify a signed audit log: exit 0 with the record count, 2 naming the first bad record.
    #[command(
        after_help = "Example:\n  faultline audit verify faultline-audit.jsonl --key faultline-audit.jsonl.pub"
    )]
    Verify {
        /// The JSONL log (its signed head FILE.head must be beside it).
        file: PathBuf,
        /// The public key file (hex).
        #[arg(long)]
        key: PathBuf,
    },
    /// Make an ed25519 key pair (same as `faultline keygen`).
    Keygen(KeygenArgs),
}

/// `faultline keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// Path prefix: writes PREFIX.key and PREFIX.pub.
    #[arg(long)]
    out: PathBuf,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
}

/// Runs a remediation subcommand.
pub fn run(cmd: FixCommand) -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Remediate(RemediateError::Config(format!("cannot start the runtime: {e}"))))?;
    rt.block_on(async {
        match cmd {
            FixCommand::Plan(a) => plan(a).await,
            FixCommand::Preflight(a) => preflight(a).await,
            FixCommand::Approve(a) => approve(a).await,
            FixCommand::Execute(a) => execute(a).await,
            FixCommand::Verify(a) => verify(a).await,
            FixCommand::Audit(AuditCmd {
                command: AuditSub::Verify { file, key },
            }) => audit_verify(&file, &key),
            FixCommand::Audit(AuditCmd {
                command: AuditSub::Keygen(a),
            })
            | FixCommand::Keygen(a) => keygen(&a),
        }
    })
    .map_err(exit_class)
}

fn bad(msg: impl Into<String>) -> Error {
    Error::Input(msg.into())
}

/// Maps errors to the CLI's exit codes: whatever the user can fix (a refusal, a bad value, a
/// tampered log) is bad input (2); the environment failing (I/O, runner, timeout, git) is 1.
fn exit_class(e: Error) -> Error {
    match e {
        Error::Remediate(
            RemediateError::Io { .. }
            | RemediateError::Runner { .. }
            | RemediateError::Timeout { .. }
            | RemediateError::Git { .. },
        ) => e,
        Error::Remediate(RemediateError::Core(c)) => Error::Core(c),
        Error::Remediate(other) => Error::Input(other.to_string()),
        other => other,
    }
}

/// The error's own message, without the "bad input" prefix.
fn message(e: &Error) -> String {
    match e {
        Error::Input(m) => m.clone(),
        Error::Remediate(r) => r.to_string(),
        other => other.chain(),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn emit(out: Option<&Path>, text: &str) -> Result<(), Error> {
    match out {
        Some(p) => std::fs::write(p, format!("{text}\n"))
            .map_err(|e| bad(format!("cannot write {}: {e}", p.display()))),
        None => {
            let mut o = std::io::stdout().lock();
            writeln!(o, "{text}").map_err(|e| bad(format!("cannot write output: {e}")))
        }
    }
}

fn read_plan(path: &Path) -> Result<FixPlan, Error> {
    fix::read_json(path, "a fix plan")
}

/// `dir/name.json` → `dir/name.SUFFIX`.
fn sibling(plan: &Path, suffix: &str) -> PathBuf {
    let stem = plan
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan".into());
    plan.with_file_name(format!("{stem}.{suffix}"))
}

fn dir_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

impl AuditArgs {
    /// The fixer over the audit log (verifying what is already in it).
    fn open(&self, near: &Path) -> Result<Fixer, Error> {
        let path = self
            .audit
            .clone()
            .unwrap_or_else(|| dir_of(near).join("faultline-audit.jsonl"));
        let key = match &self.audit_key {
            Some(k) => fix::read_signing_key(k)?,
            None => {
                let mut p = path.as_os_str().to_owned();
                p.push(".key");
                let kp = PathBuf::from(p);
                if kp.exists() {
                    fix::read_signing_key(&kp)?
                } else {
                    let files = fix::write_key_pair(&path, false)?;
                    tracing::warn!(
                        secret = %files.secret.display(), public = %files.public.display(),
                        "created an audit signing key beside the log; keep the secret key elsewhere in production"
                    );
                    files.key
                }
            }
        };
        Fixer::with_file_audit(&path, key)
    }
}

fn parse_params(params: &[String]) -> Result<std::collections::BTreeMap<String, String>, Error> {
    params
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
            _ => Err(bad(format!("--param {p:?}: expected KEY=VALUE"))),
        })
        .collect()
}

async fn plan(a: PlanArgs) -> Result<(), Error> {
    let mut cfg = match &a.config {
        Some(p) => PipelineConfig::from_file(p)?,
        None => PipelineConfig::default(),
    };
    cfg.plan.enabled = false; // planned below, with this command's catalog and context
    let catalog = match &a.catalog {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| bad(format!("cannot read {}: {e}", p.display())))?;
            Catalog::from_yaml(&text).map_err(|e| bad(format!("{}: {e}", p.display())))?
        }
        None => Catalog::default_catalog(),
    };
    let b = faultline::bundle::read_bundle(&a.bundle)?;
    let report = Pipeline::builder()
        .config(cfg)
        .build()?
        .analyze(&b.incident, &b.signals)?;
    if report.hypotheses.is_empty() {
        return Err(bad(format!(
            "{}: the analysis found no hypothesis to fix",
            a.bundle.display()
        )));
    }
    let ctx = PlanContext {
        environment: a.environment.clone().unwrap_or_default(),
        namespace: a.namespace.clone(),
        params: parse_params(&a.params)?,
        ..Default::default()
    };
    let fixer = a.audit.open(a.out.as_deref().unwrap_or(Path::new("plan.json")))?;
    let fix = fixer.plan(&report, &catalog, &ctx).await?;
    emit(a.out.as_deref(), &to_json(&fix))
}

/// The checks of `faultline preflight`: the spec file, then the flags.
fn preflight_spec(a: &PreflightArgs) -> Result<PreflightSpec, Error> {
    let mut spec: PreflightSpec = match &a.spec {
        Some(p) => fix::read_config(p, "a preflight spec")?,
        None => PreflightSpec::default(),
    };
    if let Some(r) = a.max_risk {
        spec.config.max_risk = r;
    }
    for p in &a.policy {
        let source =
            std::fs::read_to_string(p).map_err(|e| bad(format!("cannot read {}: {e}", p.display())))?;
        spec.policy.rego.push(RegoModule {
            name: p.display().to_string(),
            source,
        });
    }
    if let Some(p) = &a.policy_data {
        spec.policy.rego_data = fix::read_json(p, "a JSON Rego data document")?;
    }
    if let Some(b) = &a.budget {
        let parts: Vec<&str> = b.split(',').map(str::trim).collect();
        let parsed = match parts.as_slice() {
            [t, n, bad_n] => match (t.parse::<f64>(), n.parse::<u64>(), bad_n.parse::<u64>()) {
                (Ok(slo_target), Ok(total_events), Ok(bad_events)) => Some(ErrorBudget {
                    slo_target,
                    total_events,
                    bad_events,
                }),
                _ => None,
            },
            _ => None,
        };
        spec.budget = Some(parsed.ok_or_else(|| {
            bad(format!(
                "--budget {b:?}: expected SLO_TARGET,TOTAL_EVENTS,BAD_EVENTS (e.g. 0.999,1000000,1200)"
            ))
        })?);
    }
    for d in &a.drift {
        let mut it = d.splitn(3, ',');
        match (it.next(), it.next(), it.next()) {
            (Some(name), Some(expect), Some(probe))
                if !name.trim().is_empty() && !probe.trim().is_empty() =>
            {
                spec.drift.push(DriftCheck {
                    name: name.trim().to_owned(),
                    expect_contains: expect.trim().to_owned(),
                    probe: probe.trim().to_owned(),
                })
            }
            _ => {
                return Err(bad(format!(
                    "--drift {d:?}: expected NAME,EXPECTED_TEXT,PROBE_COMMAND"
                )))
            }
        }
    }
    Ok(spec)
}

fn preflight_runner(name: &str) -> Result<RunnerSpec, Error> {
    match name {
        "dry-run" => Ok(RunnerSpec::DryRun),
        "shell" => Ok(RunnerSpec::Shell {
            config: ShellConfig::default(),
        }),
        other => Err(bad(format!("preflight runner {other:?} is not dry-run or shell"))),
    }
}

async fn preflight(a: PreflightArgs) -> Result<(), Error> {
    let mut fix = read_plan(&a.plan)?;
    let spec = preflight_spec(&a)?;
    let fixer = a.audit.open(&a.plan)?;
    let runner = preflight_runner(match a.runner {
        PreflightRunner::DryRun => "dry-run",
        PreflightRunner::Shell => "shell",
    })?
    .build(&fix)?;
    let record = fixer.preflight(&fix, &spec, runner.as_ref()).await?;
    emit(a.report.as_deref(), &to_json(&record.report))?;
    let record_path = a
        .record
        .clone()
        .unwrap_or_else(|| sibling(&a.plan, "preflight.json"));
    fix::write_json(&record_path, &record)?;
    if !record.passed() {
        return Err(bad(format!(
            "preflight refused plan {}: {}",
            fix.id,
            record.report.reasons.join("; ")
        )));
    }
    fix.state = PlanState::Preflighted;
    fix::write_json(&a.plan, &fix)
}

async fn approve(a: ApproveArgs) -> Result<(), Error> {
    let fix = read_plan(&a.plan)?;
    let key = fix::read_signing_key(&a.key)?;
    let fixer = a.audit.open(&a.plan)?;
    let record_path = a
        .preflight
        .clone()
        .unwrap_or_else(|| sibling(&a.plan, "preflight.json"));
    if !record_path.exists() {
        return Err(bad(format!(
            "plan {} has no passing preflight ({} is missing): run `faultline preflight {}` first",
            fix.id,
            record_path.display(),
            a.plan.display()
        )));
    }
    let record: PreflightRecord = fix::read_json(&record_path, "a preflight record")?;
    let runner = preflight_runner(&record.runner)?.build(&fix)?;
    let signed = fixer
        .approve(&fix, &record, &a.approver, &a.comment, &key, runner.as_ref())
        .await?;
    let out = a.out.clone().unwrap_or_else(|| sibling(&a.plan, "approval.json"));
    fix::write_json(&out, &signed)?;
    let mut e = std::io::stderr().lock();
    let _ = writeln!(
        e,
        "approved plan {} as {}; signed approval in {}",
        signed.approval.plan,
        signed.approval.approver,
        out.display()
    );
    Ok(())
}

fn runner_spec(a: &ExecuteArgs) -> Result<RunnerSpec, Error> {
    Ok(match a.runner {
        RunnerKind::DryRun => RunnerSpec::DryRun,
        RunnerKind::Shell => RunnerSpec::Shell {
            config: ShellConfig::default(),
        },
        RunnerKind::Gitops => RunnerSpec::Gitops {
            repo: a
                .repo
                .clone()
                .ok_or_else(|| bad("--runner gitops needs --repo DIR (a git repository)"))?,
            base: a.base.clone(),
        },
        #[cfg(feature = "http")]
        RunnerKind::Http => RunnerSpec::Http {
            config: fix::HttpRunnerConfig {
                allowed_url_prefixes: a.http.http_allow.clone(),
                env_passthrough: a.http.http_env.clone(),
                ca_certs_pem: a
                    .http
                    .http_ca
                    .iter()
                    .map(|p| {
                        std::fs::read_to_string(p)
                            .map_err(|e| bad(format!("cannot read {}: {e}", p.display())))
                    })
                    .collect::<Result<_, _>>()?,
                ..Default::default()
            },
        },
    })
}

async fn execute(a: ExecuteArgs) -> Result<(), Error> {
    let fix = read_plan(&a.plan)?;
    let fixer = a.audit.open(&a.plan)?;
    let spec = runner_spec(&a)?;
    spec.build(&fix)?; // bad runner settings are reported before anything is logged
    let authority = if let Some(p) = &a.approval {
        let approval: SignedApproval = fix::read_json(p, "a signed approval")?;
        let key = a
            .key
            .as_deref()
            .ok_or_else(|| bad("--key (the approver's public key) is required with --approval"))?;
        Some(Authority::Signed {
            approval,
            key: fix::read_verifying_key(key)?,
        })
    } else if a.auto_approve {
        let record_path = sibling(&a.plan, "preflight.json");
        let checks = if record_path.exists() {
            fix::read_json::<PreflightRecord>(&record_path, "a preflight record")?.spec
        } else {
            PreflightSpec::default()
        };
        Some(Authority::auto_for(&fix.environment, checks))
    } else {
        None
    };
    let record = match fixer.execute(&fix, authority.as_ref(), &spec).await {
        Ok(r) => r,
        Err(e) => {
            let production = PlanContext::default().is_production(&fix.environment);
            return Err(match (authority.is_none(), production) {
                (true, true) => bad(format!(
                    "{}: run `faultline approve` and pass --approval FILE --key APPROVER.pub",
                    message(&e)
                )),
                (true, false) => bad(format!(
                    "{}: run `faultline approve` and pass --approval FILE --key APPROVER.pub \
                     (or --auto-approve, non-production only)",
                    message(&e)
                )),
                _ => e,
            });
        }
    };
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| sibling(&a.plan, "execution.json"));
    fix::write_json(&out, &record)?;
    emit(None, &to_json(&record.executions))?;
    match &record.failure {
        None => Ok(()),
        Some(reason) => Err(Error::Remediate(RemediateError::Runner {
            runner: record.runner_name.clone(),
            message: format!(
                "{reason}; completed steps were rolled back (see {})",
                out.display()
            ),
        })),
    }
}

fn canary_spec(a: &VerifyArgs) -> Result<CanarySpec, Error> {
    let mut directions = std::collections::BTreeMap::new();
    for d in &a.direction {
        let (m, dir) = d
            .split_once('=')
            .ok_or_else(|| bad(format!("--direction {d:?}: expected METRIC=DIR")))?;
        let dir = match dir.trim() {
            "increase" => MetricDirection::Increase,
            "decrease" => MetricDirection::Decrease,
            "either" => MetricDirection::Either,
            other => {
                return Err(bad(format!(
                    "--direction {d:?}: {other:?} is not increase, decrease or either"
                )))
            }
        };
        directions.insert(m.trim().to_owned(), dir);
    }
    Ok(CanarySpec {
        critical: a.critical.clone(),
        count: a.count.clone(),
        directions,
    })
}

fn read_window(path: &Path) -> Result<fix::Window, Error> {
    let text =
        std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    fix::parse_window_csv(&text, &path.display().to_string())
}

async fn verify(a: VerifyArgs) -> Result<(), Error> {
    let fix = read_plan(&a.plan)?;
    let rec_path = a
        .execution
        .clone()
        .unwrap_or_else(|| sibling(&a.plan, "execution.json"));
    let mut record: ExecutionRecord = fix::read_json(&rec_path, "an execution record")?;
    let metrics = fix::comparisons(
        &read_window(&a.baseline)?,
        &read_window(&a.canary)?,
        &canary_spec(&a)?,
    )?;
    let key = a.key.as_deref().map(fix::read_verifying_key).transpose()?;
    if record.approval.is_some() && key.is_none() {
        return Err(bad(
            "--key (the approver's public key) is required: the plan ran under a signed approval",
        ));
    }
    let fixer = a.audit.open(&a.plan)?;
    let v = fixer
        .verify(&fix, &record, key.as_ref(), &metrics, &CanaryConfig::default())
        .await?;
    record.state = v.state;
    fix::write_json(&rec_path, &record)?;
    emit(a.out.as_deref(), &to_json(&v))
}

fn audit_verify(file: &Path, key: &Path) -> Result<(), Error> {
    let vk = fix::read_verifying_key(key)?;
    let n =
        fix::verify_audit_file(file, &vk).map_err(|e| bad(format!("{}: {}", file.display(), message(&e))))?;
    let mut o = std::io::stdout().lock();
    writeln!(o, "ok: {n} records verified in {}", file.display())
        .map_err(|e| bad(format!("cannot write output: {e}")))
}

fn keygen(a: &KeygenArgs) -> Result<(), Error> {
    let files = fix::write_key_pair(&a.out, a.force)?;
    let mut o = std::io::stdout().lock();
    writeln!(
        o,
        "secret key: {}\npublic key: {}",
        files.secret.display(),
        files.public.display()
    )
    .map_err(|e| bad(format!("cannot write output: {e}")))
}

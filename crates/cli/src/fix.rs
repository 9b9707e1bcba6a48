//! The remediation subcommands: `plan`, `preflight`, `approve`, `execute`, `verify`,
//! `audit verify` and `keygen`.
//!
//! Each command is one process, so the approval typestate of `faultline-remediate` is carried
//! across processes by files: the plan (a `FixPlan` JSON), a signed approval bound to the
//! plan's content digest, and an execution record. Every step is appended to a signed,
//! hash-chained JSONL audit log (`--audit`, default `faultline-audit.jsonl` beside the plan).
//! See docs/remediate.md.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use faultline::core::ports::{AuditSink, Clock, DryRunRunner, LogNotifier, Runner, SystemClock};
use faultline::core::{Execution, FixPlan, PlanId, PlanState};
use faultline::remediate::approval::{plan_digest, AutoApprove, Plan, SignedApproval};
use faultline::remediate::audit::{self, FileAuditSink, SigningKey, VerifyingKey};
use faultline::remediate::canary::{CanaryJudge, MetricComparison, MetricDirection, MetricKind};
use faultline::remediate::gitops::GitOpsRunner;
use faultline::remediate::preflight::{Preflight, PreflightConfig};
use faultline::remediate::shell::{ShellConfig, ShellRunner};
use faultline::remediate::{Catalog, PlanContext, RemediateError};
use faultline::{Error, Pipeline, PipelineConfig};
use serde::{Deserialize, Serialize};

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
    /// Check a plan: dry run, policy, error budget, risk.
    #[command(after_help = "Example:\n  faultline preflight plan.json\n\n\
        Prints the preflight report JSON and marks the plan file preflighted. Exit 2 when a check fails.")]
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
    /// Rego policy added to the built-in rules (needs the `rego` feature).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Plans riskier than this fail (0–1).
    #[arg(long, default_value_t = 0.9)]
    max_risk: f64,
    /// Write the preflight report here instead of stdout.
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    audit: AuditArgs,
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
    /// Where the signed approval goes [default: PLAN.approval.json].
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    audit: AuditArgs,
}

/// Which runner executes the steps.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunnerKind {
    /// Prints what would run (default).
    DryRun,
    /// Local processes, allow-listed programs, no shell.
    Shell,
    /// Commits `gitops set` steps to a branch of --repo.
    Gitops,
    /// Sends HTTP steps (AWX, Terraform Cloud, ITSM, Slack, PagerDuty) as requests (http:// only).
    #[cfg(feature = "http")]
    Http,
}

/// Settings of the HTTP runner.
#[derive(Args, Clone, Default, Serialize, Deserialize)]
pub struct HttpArgs {
    /// URL prefix HTTP steps may call (repeatable; none = any http:// URL).
    #[arg(long = "http-allow", value_name = "PREFIX")]
    #[serde(default)]
    http_allow: Vec<String>,
    /// Environment variable HTTP steps may use for credentials and placeholders (repeatable).
    #[arg(long = "http-env", value_name = "NAME")]
    #[serde(default)]
    http_env: Vec<String>,
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
    /// Approve by policy instead (non-production environments only).
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

/// What `execute` leaves for `verify`.
#[derive(Serialize, Deserialize)]
struct ExecutionRecord {
    plan: PlanId,
    plan_digest: String,
    state: PlanState,
    runner: RunnerKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    repo: Option<PathBuf>,
    base: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    branch: Option<String>,
    #[serde(default)]
    http: HttpArgs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    approval: Option<SignedApproval>,
    auto_approved: bool,
    executions: Vec<Execution>,
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
}

fn bad(msg: impl Into<String>) -> Error {
    Error::Input(msg.into())
}

/// Maps a remediation error to the CLI's exit codes: whatever the user can fix is bad input.
fn rem(e: RemediateError) -> Error {
    match e {
        RemediateError::Io { .. } | RemediateError::Runner { .. } | RemediateError::Timeout { .. } => {
            Error::Remediate(e)
        }
        RemediateError::Core(c) => Error::Core(c),
        other => Error::Input(other.to_string()),
    }
}

fn read_text(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))
}

fn write_text(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| bad(format!("cannot write {}: {e}", path.display())))
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn emit(out: Option<&Path>, text: &str) -> Result<(), Error> {
    match out {
        Some(p) => write_text(p, &format!("{text}\n")),
        None => {
            let mut o = std::io::stdout().lock();
            writeln!(o, "{text}").map_err(|e| bad(format!("cannot write output: {e}")))
        }
    }
}

fn read_plan(path: &Path) -> Result<FixPlan, Error> {
    serde_json::from_str(&read_text(path)?)
        .map_err(|e| bad(format!("{}: not a fix plan: {e}", path.display())))
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

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

fn read_hex_file(path: &Path) -> Result<String, Error> {
    Ok(read_text(path)?.trim().to_owned())
}

fn secret_key(path: &Path) -> Result<SigningKey, Error> {
    audit::signing_key_from_hex(&read_hex_file(path)?)
        .map_err(|e| bad(format!("{}: not a secret key: {e}", path.display())))
}

fn public_key(path: &Path) -> Result<VerifyingKey, Error> {
    audit::verifying_key_from_hex(&read_hex_file(path)?)
        .map_err(|e| bad(format!("{}: not a public key: {e}", path.display())))
}

fn new_key() -> Result<SigningKey, Error> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)
        .map_err(|e| Error::Remediate(RemediateError::Config(format!("no randomness: {e}"))))?;
    Ok(SigningKey::from_bytes(&seed))
}

fn write_key_pair(prefix: &Path, force: bool) -> Result<(PathBuf, PathBuf, SigningKey), Error> {
    let mut secret_path = prefix.as_os_str().to_owned();
    secret_path.push(".key");
    let mut public_path = prefix.as_os_str().to_owned();
    public_path.push(".pub");
    let (secret_path, public_path) = (PathBuf::from(secret_path), PathBuf::from(public_path));
    if !force && (secret_path.exists() || public_path.exists()) {
        return Err(bad(format!(
            "{} already exists (use --force to replace it)",
            secret_path.display()
        )));
    }
    let key = new_key()?;
    let secret_hex: String = key.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&secret_path)
        .map_err(|e| bad(format!("cannot write {}: {e}", secret_path.display())))?;
    writeln!(f, "{secret_hex}").map_err(|e| bad(format!("cannot write {}: {e}", secret_path.display())))?;
    write_text(
        &public_path,
        &format!("{}\n", audit::verifying_key_hex(&key.verifying_key())),
    )?;
    Ok((secret_path, public_path, key))
}

impl AuditArgs {
    /// Opens the audit log (verifying what is already in it).
    fn open(&self, near: &Path) -> Result<FileAuditSink, Error> {
        let path = self
            .audit
            .clone()
            .unwrap_or_else(|| dir_of(near).join("faultline-audit.jsonl"));
        let key = match &self.audit_key {
            Some(k) => secret_key(k)?,
            None => {
                let mut p = path.as_os_str().to_owned();
                p.push(".key");
                let kp = PathBuf::from(p);
                if kp.exists() {
                    secret_key(&kp)?
                } else {
                    let (s, pubk, key) = write_key_pair(&path, false)?;
                    tracing::warn!(
                        secret = %s.display(), public = %pubk.display(),
                        "created an audit signing key beside the log; keep the secret key elsewhere in production"
                    );
                    key
                }
            }
        };
        FileAuditSink::open(&path, key, clock()).map_err(rem)
    }
}

async fn append(sink: &FileAuditSink, payload: serde_json::Value) -> Result<(), Error> {
    sink.append(payload).await.map(|_| ()).map_err(Error::Core)
}

fn parse_params(params: &[String]) -> Result<BTreeMap<String, String>, Error> {
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
        Some(p) => Catalog::from_yaml(&read_text(p)?).map_err(|e| bad(format!("{}: {e}", p.display())))?,
        None => Catalog::default_catalog(),
    };
    let b = faultline::bundle::read_bundle(&a.bundle)?;
    let report = Pipeline::builder()
        .config(cfg)
        .build()?
        .analyze(&b.incident, &b.signals)?;
    let top = report.hypotheses.first().ok_or_else(|| {
        bad(format!(
            "{}: the analysis found no hypothesis to fix",
            a.bundle.display()
        ))
    })?;
    let ctx = PlanContext {
        environment: a.environment.clone().unwrap_or_default(),
        namespace: a.namespace.clone(),
        params: parse_params(&a.params)?,
        ..Default::default()
    };
    let fix = catalog.plan(&report, top, &ctx).map_err(rem)?.ok_or_else(|| {
        bad(format!(
            "no catalog rule matches the top hypothesis ({}: {})",
            top.service.as_str(),
            top.statement
        ))
    })?;
    let sink = a.audit.open(a.out.as_deref().unwrap_or(Path::new("plan.json")))?;
    let draft = Plan::new(fix);
    let mut ev = draft.audit_event("planned");
    ev["hypothesis"] = serde_json::json!({ "id": top.id, "service": top.service, "statement": top.statement,
        "confidence": top.confidence });
    ev["steps"] = serde_json::to_value(&draft.fix_plan().steps).unwrap_or_default();
    append(&sink, ev).await?;
    emit(a.out.as_deref(), &to_json(draft.fix_plan()))
}

fn preflight_checks(a_policy: Option<&Path>, max_risk: f64) -> Result<Preflight, Error> {
    let cfg = PreflightConfig {
        max_risk,
        ..Default::default()
    };
    cfg.validate().map_err(rem)?;
    let mut pf = Preflight::try_new(cfg).map_err(rem)?;
    // The built-in rules, as in Preflight::default.
    for p in Preflight::default_policies() {
        pf = pf.with_policy(p);
    }
    if let Some(path) = a_policy {
        pf = with_rego(pf, path)?;
    }
    Ok(pf)
}

#[cfg(feature = "rego")]
fn with_rego(pf: Preflight, path: &Path) -> Result<Preflight, Error> {
    let text = read_text(path)?;
    let name = path.display().to_string();
    let policy =
        faultline::remediate::rego::RegoPolicy::new(&[(name.as_str(), text.as_str())], serde_json::json!({}))
            .map_err(|e| bad(format!("{name}: {e}")))?;
    Ok(pf.with_policy(Box::new(policy)))
}

#[cfg(not(feature = "rego"))]
fn with_rego(_pf: Preflight, path: &Path) -> Result<Preflight, Error> {
    Err(bad(format!(
        "--policy {}: this faultline was built without Rego support (cargo feature `rego`); the built-in policy applies without --policy",
        path.display()
    )))
}

async fn preflight(a: PreflightArgs) -> Result<(), Error> {
    let fix = read_plan(&a.plan)?;
    let pf = preflight_checks(a.policy.as_deref(), a.max_risk)?;
    let sink = a.audit.open(&a.plan)?;
    let clock = clock();
    match Plan::new(fix).preflight(&pf, &DryRunRunner, clock.as_ref()).await {
        Ok(p) => {
            let mut ev = p.audit_event("preflight");
            ev["passed"] = true.into();
            ev["risk"] = p.preflight_report().risk.into();
            append(&sink, ev).await?;
            emit(a.report.as_deref(), &to_json(p.preflight_report()))?;
            write_text(&a.plan, &format!("{}\n", to_json(p.fix_plan())))
        }
        Err(failed) => {
            let mut ev = failed.plan.audit_event("preflight");
            ev["passed"] = false.into();
            ev["reasons"] = serde_json::to_value(&failed.report.reasons).unwrap_or_default();
            append(&sink, ev).await?;
            emit(a.report.as_deref(), &to_json(&failed.report))?;
            Err(bad(format!(
                "preflight refused plan {}: {}",
                failed.plan.fix_plan().id,
                failed.report.reasons.join("; ")
            )))
        }
    }
}

/// Whether the audit log holds a passing preflight of exactly this plan content.
async fn preflighted_in_log(sink: &FileAuditSink, digest: &str) -> Result<bool, Error> {
    let records = sink.records().await.map_err(Error::Core)?;
    Ok(records.iter().any(|r| {
        r.payload["event"] == "preflight" && r.payload["passed"] == true && r.payload["digest"] == digest
    }))
}

async fn approve(a: ApproveArgs) -> Result<(), Error> {
    let fix = read_plan(&a.plan)?;
    let key = secret_key(&a.key)?;
    let sink = a.audit.open(&a.plan)?;
    let digest = plan_digest(&fix);
    if !preflighted_in_log(&sink, &digest).await? {
        return Err(bad(format!(
            "plan {} has no passing preflight in the audit log {}: run `faultline preflight {}` first",
            fix.id,
            sink.path().display(),
            a.plan.display()
        )));
    }
    // The typestate needs a preflighted plan: the checks run again here, so an approval is
    // only ever signed for a plan that passes preflight at approval time.
    let clock = clock();
    let pre = Plan::new(fix)
        .preflight(
            &preflight_checks(None, PreflightConfig::default().max_risk)?,
            &DryRunRunner,
            clock.as_ref(),
        )
        .await
        .map_err(|f| {
            bad(format!(
                "preflight no longer passes: {}",
                f.report.reasons.join("; ")
            ))
        })?;
    let approved = pre
        .approve(&a.approver, clock.as_ref(), &a.comment)
        .map_err(|_| bad("--approver must name a person"))?;
    let signed = approved.signed_approval(&key);
    let mut ev = approved.audit_event("approved");
    ev["approver"] = approved.approval().approver.clone().into();
    ev["approver_key"] = audit::verifying_key_hex(&key.verifying_key()).into();
    ev["comment"] = a.comment.clone().into();
    append(&sink, ev).await?;
    let out = a.out.clone().unwrap_or_else(|| sibling(&a.plan, "approval.json"));
    write_text(&out, &format!("{}\n", to_json(&signed)))?;
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

/// An approved plan, from a signed approval or (non-production only) the auto-approve policy.
async fn approved_plan(
    fix: FixPlan,
    approval: Option<&SignedApproval>,
    key: Option<&Path>,
    auto: bool,
    clock: &dyn Clock,
) -> Result<Plan<faultline::remediate::approval::state::Approved>, Error> {
    let (id, env) = (fix.id.clone(), fix.environment.clone());
    if let Some(signed) = approval {
        let key = key.ok_or_else(|| bad("--key (the approver's public key) is required with an approval"))?;
        let vk = public_key(key)?;
        return Plan::from_signed_approval(fix, signed, &vk)
            .map_err(|e| bad(format!("refusing to execute plan {id}: {e}")));
    }
    if auto {
        let policy = AutoApprove {
            enabled: true,
            environments: vec![env.clone()],
            ..Default::default()
        };
        if let Some(why) = policy.refusal(&fix) {
            return Err(bad(format!(
                "refusing to execute plan {id} without a signed approval: {why}"
            )));
        }
        let pre = Plan::new(fix)
            .preflight(
                &preflight_checks(None, PreflightConfig::default().max_risk)?,
                &DryRunRunner,
                clock,
            )
            .await
            .map_err(|f| {
                bad(format!(
                    "refusing to execute plan {id}: preflight fails: {}",
                    f.report.reasons.join("; ")
                ))
            })?;
        return pre
            .auto_approve(&policy, clock)
            .map_err(|(_, why)| bad(format!("refusing to execute plan {id}: {why}")));
    }
    Err(bad(format!(
        "refusing to execute plan {id} for environment '{env}' without a signed approval: \
         run `faultline approve` and pass --approval FILE --key APPROVER.pub{}",
        if PlanContext::default().is_production(&env) {
            ""
        } else {
            " (or --auto-approve, non-production only)"
        }
    )))
}

fn make_runner(
    kind: RunnerKind,
    repo: Option<&Path>,
    base: &str,
    http: &HttpArgs,
    fix: &FixPlan,
) -> Result<Box<dyn Runner>, Error> {
    let _ = http;
    Ok(match kind {
        RunnerKind::DryRun => Box::new(DryRunRunner),
        RunnerKind::Shell => Box::new(ShellRunner::try_new(ShellConfig::default()).map_err(rem)?),
        RunnerKind::Gitops => {
            let repo = repo.ok_or_else(|| bad("--runner gitops needs --repo DIR (a git repository)"))?;
            if !repo.join(".git").exists() && !repo.join("HEAD").exists() {
                return Err(bad(format!("{} is not a git repository", repo.display())));
            }
            Box::new(GitOpsRunner::for_plan(repo, base, fix))
        }
        #[cfg(feature = "http")]
        RunnerKind::Http => {
            use faultline::remediate::http_runner::{HttpRunner, HttpRunnerConfig};
            let cfg = HttpRunnerConfig {
                allowed_url_prefixes: http.http_allow.clone(),
                env_passthrough: http.http_env.clone(),
                ..Default::default()
            };
            Box::new(HttpRunner::try_new(cfg).map_err(rem)?)
        }
    })
}

async fn execute(a: ExecuteArgs) -> Result<(), Error> {
    let fix = read_plan(&a.plan)?;
    let signed: Option<SignedApproval> = match &a.approval {
        Some(p) => Some(
            serde_json::from_str(&read_text(p)?)
                .map_err(|e| bad(format!("{}: not a signed approval: {e}", p.display())))?,
        ),
        None => None,
    };
    let sink = a.audit.open(&a.plan)?;
    let clock = clock();
    let digest = plan_digest(&fix);
    let runner = make_runner(a.runner, a.repo.as_deref(), &a.base, &a.http, &fix)?;
    let branch = (a.runner == RunnerKind::Gitops).then(|| format!("faultline/{}", fix.id));
    let approved = match approved_plan(
        fix.clone(),
        signed.as_ref(),
        a.key.as_deref(),
        a.auto_approve,
        clock.as_ref(),
    )
    .await
    {
        Ok(p) => p,
        Err(e) => {
            let ev = serde_json::json!({ "event": "execute_refused", "plan": fix.id, "environment": fix.environment,
                "digest": digest, "reason": e.to_string() });
            append(&sink, ev).await?;
            return Err(e);
        }
    };
    let mut record = ExecutionRecord {
        plan: fix.id.clone(),
        plan_digest: digest,
        state: PlanState::Approved,
        runner: a.runner,
        repo: a.repo.clone(),
        base: a.base.clone(),
        branch,
        http: a.http.clone(),
        approval: signed,
        auto_approved: a.auto_approve && a.approval.is_none(),
        executions: vec![],
    };
    let mut ev = approved.audit_event("execute");
    ev["approver"] = approved.approval().approver.clone().into();
    ev["runner"] = runner.name().into();
    let result = approved.execute(runner.as_ref(), clock.as_ref()).await;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| sibling(&a.plan, "execution.json"));
    let failure = match result {
        Ok(done) => {
            record.state = done.fix_plan().state;
            record.executions = done.executions().to_vec();
            None
        }
        Err(failed) => {
            record.state = failed.fix_plan().state;
            record.executions = failed.executions().to_vec();
            Some(failed.reason().to_owned())
        }
    };
    ev["state"] = serde_json::to_value(record.state).unwrap_or_default();
    ev["executions"] = serde_json::to_value(&record.executions).unwrap_or_default();
    append(&sink, ev).await?;
    write_text(&out, &format!("{}\n", to_json(&record)))?;
    emit(None, &to_json(&record.executions))?;
    match failure {
        None => Ok(()),
        Some(reason) => Err(Error::Remediate(RemediateError::Runner {
            runner: format!("{:?}", a.runner).to_lowercase(),
            message: format!(
                "{reason}; completed steps were rolled back (see {})",
                out.display()
            ),
        })),
    }
}

/// Reads a `metric,value` CSV (header optional, `#` comments) into samples per metric.
fn read_window(path: &Path) -> Result<BTreeMap<String, Vec<f64>>, Error> {
    let text = read_text(path)?;
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut first = true;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (m, v) = line.split_once(',').ok_or_else(|| {
            bad(format!(
                "{} line {}: expected `metric,value`, got {line:?}",
                path.display(),
                i + 1
            ))
        })?;
        let (m, v) = (m.trim(), v.trim());
        let is_first = std::mem::replace(&mut first, false);
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && !m.is_empty() => out.entry(m.to_owned()).or_default().push(x),
            _ if is_first => {} // a header
            _ => {
                return Err(bad(format!(
                    "{} line {}, field value: {v:?} is not a finite number",
                    path.display(),
                    i + 1
                )))
            }
        }
    }
    if out.is_empty() {
        return Err(bad(format!("{}: no samples", path.display())));
    }
    Ok(out)
}

fn comparisons(a: &VerifyArgs) -> Result<Vec<MetricComparison>, Error> {
    let base = read_window(&a.baseline)?;
    let can = read_window(&a.canary)?;
    let mut directions = BTreeMap::new();
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
    let names: std::collections::BTreeSet<&String> = base.keys().chain(can.keys()).collect();
    for n in a.critical.iter().chain(&a.count).chain(directions.keys()) {
        if !names.contains(n) {
            return Err(bad(format!("metric {n:?} is in neither window")));
        }
    }
    Ok(names
        .into_iter()
        .map(|n| MetricComparison {
            name: n.clone(),
            baseline: base.get(n).cloned().unwrap_or_default(),
            canary: can.get(n).cloned().unwrap_or_default(),
            direction: directions.get(n).copied().unwrap_or(MetricDirection::Increase),
            critical: a.critical.contains(n),
            kind: if a.count.contains(n) {
                MetricKind::Count
            } else {
                MetricKind::Continuous
            },
        })
        .collect())
}

async fn verify(a: VerifyArgs) -> Result<(), Error> {
    let fix = read_plan(&a.plan)?;
    let rec_path = a
        .execution
        .clone()
        .unwrap_or_else(|| sibling(&a.plan, "execution.json"));
    let record: ExecutionRecord = serde_json::from_str(&read_text(&rec_path)?)
        .map_err(|e| bad(format!("{}: not an execution record: {e}", rec_path.display())))?;
    if record.plan != fix.id || record.plan_digest != plan_digest(&fix) {
        return Err(bad(format!(
            "{} records another plan (or the plan changed)",
            rec_path.display()
        )));
    }
    // A verified plan may be judged again (a later window); a failed or rolled-back one may not.
    if !matches!(record.state, PlanState::Executing | PlanState::Verified) {
        let state = serde_json::to_value(record.state).unwrap_or_default();
        return Err(bad(format!(
            "plan {} is {state}, not executed: nothing to verify",
            fix.id
        )));
    }
    let metrics = comparisons(&a)?;
    let sink = a.audit.open(&a.plan)?;
    let clock = clock();
    let approved = approved_plan(
        fix.clone(),
        record.approval.as_ref(),
        a.key.as_deref(),
        record.auto_approved,
        clock.as_ref(),
    )
    .await?;
    let executed = approved.resume_executed(record.executions.clone());
    let (verdict, results) = CanaryJudge::default().judge(&fix.id, &metrics);
    let runner = make_runner(
        record.runner,
        record.repo.as_deref(),
        &record.base,
        &record.http,
        &fix,
    )?;
    let (state, rollbacks) = match executed
        .verify(verdict.clone(), runner.as_ref(), &LogNotifier, clock.as_ref())
        .await
    {
        Ok(v) => (v.fix_plan().state, vec![]),
        Err(rb) => (rb.fix_plan().state, rb.rollbacks().to_vec()),
    };
    let out = serde_json::json!({ "plan": fix.id, "state": state, "verdict": verdict, "metrics": results,
        "rollbacks": rollbacks });
    append(
        &sink,
        serde_json::json!({ "event": "verify", "plan": fix.id, "digest": record.plan_digest,
        "state": state, "verdict": verdict, "rollbacks": rollbacks }),
    )
    .await?;
    let record = ExecutionRecord { state, ..record };
    write_text(&rec_path, &format!("{}\n", to_json(&record)))?;
    emit(a.out.as_deref(), &to_json(&out))
}

fn audit_verify(file: &Path, key: &Path) -> Result<(), Error> {
    let vk = public_key(key)?;
    let n = audit::verify_file(file, &vk).map_err(|e| bad(format!("{}: {e}", file.display())))?;
    let mut o = std::io::stdout().lock();
    writeln!(o, "ok: {n} records verified in {}", file.display())
        .map_err(|e| bad(format!("cannot write output: {e}")))
}

fn keygen(a: &KeygenArgs) -> Result<(), Error> {
    let (s, p, _) = write_key_pair(&a.out, a.force)?;
    let mut o = std::io::stdout().lock();
    writeln!(o, "secret key: {}\npublic key: {}", s.display(), p.display())
        .map_err(|e| bad(format!("cannot write output: {e}")))
}

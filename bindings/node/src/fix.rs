//! The remediation flow of `faultline::fix` for JavaScript: a [`Fixer`] object holding a signed
//! audit log, whose methods take and return plain objects (plans, preflight records,
//! approvals, execution and verify records) and return promises. Runners are given as data
//! (`{kind: "dry-run"}`, `{kind: "shell", config}`, …) or as a JavaScript function; the
//! notifier may be a JavaScript function too.

use std::sync::Arc;

use faultline::core::ports::{AuditSink, DryRunRunner, Runner, SystemClock};
use faultline::core::{AuditRecord, FixPlan, IncidentReport};
use faultline::fix::{
    self as fx, Authority, CanaryConfig, CanarySpec, Catalog, ExecutionRecord, PlanContext, PreflightRecord,
    PreflightSpec, RunnerSpec, SignedApproval, SigningKey, Window,
};
use faultline::remediate::audit::SignedMemorySink;
use napi::bindgen_prelude::{Either, Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::adapters::{JsCallback, JsNotifier, JsRunner};
use crate::error::{Fallible, Family, JsFailure};
use crate::task::Json;

fn parse<T: DeserializeOwned>(v: Value, what: &str) -> Fallible<T> {
    serde_json::from_value(v).map_err(|e| JsFailure::input(format!("{what}: {e}")))
}

fn parse_or_default<T: DeserializeOwned + Default>(v: Option<Value>, what: &str) -> Fallible<T> {
    match v {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => parse(v, what),
    }
}

fn to_json<T: Serialize>(v: &T) -> Fallible<Value> {
    serde_json::to_value(v).map_err(|e| JsFailure::new(Family::Internal, e.to_string()))
}

fn signing_key(hex: &str, what: &str) -> Fallible<SigningKey> {
    fx::signing_key_from_hex(hex.trim())
        .map_err(|e| JsFailure::new(Family::Input, format!("{what}: {}", JsFailure::from(e).message())))
}

fn verifying_key(hex: &str, what: &str) -> Fallible<fx::VerifyingKey> {
    fx::verifying_key_from_hex(hex.trim())
        .map_err(|e| JsFailure::new(Family::Input, format!("{what}: {}", JsFailure::from(e).message())))
}

/// A runner as given by JavaScript: a `RunnerSpec` object or a function.
enum RunnerArg {
    Spec(RunnerSpec),
    Js(Arc<JsRunner>),
}

impl RunnerArg {
    fn from_js(env: &Env, r: Option<Either<JsCallback, Object<'_>>>) -> Fallible<Self> {
        match r {
            None => Ok(RunnerArg::Spec(RunnerSpec::DryRun)),
            Some(Either::A(f)) => Ok(RunnerArg::Js(Arc::new(JsRunner {
                f: Arc::new(f),
                name: "javascript".into(),
            }))),
            Some(Either::B(o)) => {
                let v: Value = env
                    .from_js_value(o)
                    .map_err(|e| JsFailure::input(format!("runner: {}", e.reason)))?;
                Ok(RunnerArg::Spec(parse(v, "runner")?))
            }
        }
    }

    fn build(&self, plan: &FixPlan) -> Fallible<Arc<dyn Runner>> {
        match self {
            RunnerArg::Spec(RunnerSpec::DryRun) => Ok(Arc::new(DryRunRunner)),
            RunnerArg::Spec(s) => Ok(Arc::from(s.build(plan)?)),
            RunnerArg::Js(r) => Ok(r.clone() as Arc<dyn Runner>),
        }
    }
}

/// Runs `fut` on napi's tokio runtime (JavaScript adapters can then be called while it
/// waits) and settles the promise with its JSON result or a typed error.
fn spawn<'e>(
    env: &'e Env,
    fut: impl std::future::Future<Output = Fallible<Value>> + Send + 'static,
) -> napi::Result<PromiseRaw<'e, Json>> {
    env.spawn_future_with_callback(async move { Ok(fut.await) }, |env, out: Fallible<Value>| {
        out.map(Json).map_err(|e| e.into_napi(env))
    })
}

/// Options of the `Fixer` constructor.
#[napi(object, object_to_js = false)]
pub struct FixerOptions {
    /// Secret key (64 hex digits) signing the audit records; a fresh key when omitted (its
    /// public half is `fixer.auditPublicKey`).
    pub audit_key: Option<String>,
    /// Append to this signed JSONL audit log (created if absent; an existing log must verify
    /// with the key first) instead of keeping the log in memory.
    pub audit_file: Option<String>,
    /// Told about rollbacks: `(notification) => void | Promise<void>`.
    #[napi(ts_type = "(notification: Notification) => void | Promise<void>")]
    pub notifier: Option<JsCallback>,
}

/// Options of `Fixer#plan`.
#[napi(object)]
pub struct PlanOptions {
    /// Target environment (default: the incident's, else production).
    pub environment: Option<String>,
    /// Kubernetes namespace used in scripts (default `default`).
    pub namespace: Option<String>,
    /// Host variables for catalog templates (`{ flag_key: "checkout.new_flow" }`).
    pub params: Option<std::collections::HashMap<String, String>>,
    /// A fix catalog (YAML text) instead of the shipped one.
    pub catalog: Option<String>,
}

/// How an execution is allowed (`Fixer#execute`).
#[napi(object)]
pub struct AuthorityInput {
    /// A signed approval from `Fixer#approve`…
    #[napi(ts_type = "object")]
    pub approval: Option<Value>,
    /// …with the approver's public key (hex).
    pub public_key: Option<String>,
    /// Or auto-approval for this (non-production) environment, re-running these preflight
    /// checks (`PreflightSpec`; defaults when omitted).
    pub auto_environment: Option<String>,
    /// The checks auto-approval re-runs.
    #[napi(ts_type = "object")]
    pub auto_preflight: Option<Value>,
}

/// What `Fixer#verify` judges.
#[napi(object)]
pub struct VerifyInput {
    /// The approver's public key (hex), needed when the plan ran under a signed approval.
    pub public_key: Option<String>,
    /// Samples per metric before the fix (`{ latency_ms: [...] }`).
    pub baseline: std::collections::HashMap<String, Vec<f64>>,
    /// Samples per metric after the fix.
    pub canary: std::collections::HashMap<String, Vec<f64>>,
    /// Which metrics are critical / counts / which direction is bad (`CanarySpec`).
    #[napi(
        ts_type = "{ critical?: string[]; count?: string[]; directions?: Record<string, 'increase' | 'decrease' | 'either'> }"
    )]
    pub spec: Option<Value>,
    /// Canary judge settings (`CanaryConfig`).
    #[napi(ts_type = "Record<string, unknown>")]
    pub judge: Option<Value>,
}

/// A key pair for approvals or the audit log (hex).
#[napi(object)]
pub struct KeyPair {
    /// Secret key: keep it private.
    pub secret_key: String,
    /// Public key: give it to whoever verifies.
    pub public_key: String,
}

/// A fresh ed25519 key pair (from the OS's randomness).
#[napi]
pub fn generate_key(env: Env) -> napi::Result<KeyPair> {
    let k = fx::generate_key().map_err(|e| JsFailure::from(e).into_napi(&env))?;
    Ok(KeyPair {
        secret_key: fx::signing_key_hex(&k),
        public_key: fx::verifying_key_hex(&k.verifying_key()),
    })
}

/// Audit records from JSONL text (exact) or from objects.
fn audit_records_of(v: Value) -> Fallible<Vec<AuditRecord>> {
    match v {
        Value::String(text) => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map_err(|e| JsFailure::input(format!("audit log line {}: {e}", i + 1)))
            })
            .collect(),
        other => parse(other, "audit records"),
    }
}

/// Verifies an audit log (chain, signatures) against the audit public key; with `head`
/// (`{count, last_hash}` kept elsewhere) a truncated log is detected too. Returns the number
/// of records; throws `ERR_FAULTLINE_REMEDIATE` naming the first bad record.
///
/// Pass the log as JSONL text (`fixer.auditLog()` or a log file's content): the hashes cover
/// the exact JSON of each payload, and JavaScript numbers do not keep the difference between
/// `0` and `0.0`, so records that went through JavaScript objects may not verify.
#[napi]
pub fn verify_audit(
    env: Env,
    #[napi(ts_arg_type = "string | AuditRecord[]")] records: Value,
    public_key: String,
    #[napi(ts_arg_type = "{ count: number; last_hash: string }")] head: Option<Value>,
) -> napi::Result<u32> {
    let run = || -> Fallible<u32> {
        let records = audit_records_of(records)?;
        let key = verifying_key(&public_key, "public key")?;
        let head: Option<faultline::remediate::audit::AuditHead> =
            head.map(|h| parse(h, "audit head")).transpose()?;
        let n = fx::verify_audit(&records, &key, head.as_ref())?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    };
    run().map_err(|e| e.into_napi(&env))
}

/// Verifies a signed JSONL audit log file (and its `.head` file when present).
#[napi]
pub fn verify_audit_file(env: Env, path: String, public_key: String) -> napi::Result<u32> {
    let run = || -> Fallible<u32> {
        let key = verifying_key(&public_key, "public key")?;
        let n = fx::verify_audit_file(std::path::Path::new(&path), &key)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    };
    run().map_err(|e| e.into_napi(&env))
}

/// The remediation flow — plan → preflight → approve → execute → verify — with every step
/// appended to a signed, hash-chained audit log. A production plan executes only under a
/// person's signed approval of its exact content.
///
/// ```js
/// const fixer = new Fixer()
/// const plan = await fixer.plan(report)
/// const pre = await fixer.preflight(plan)
/// const alice = generateKey()
/// const approval = await fixer.approve(plan, pre, { approver: 'alice', secretKey: alice.secretKey })
/// const run = await fixer.execute(plan, { approval, publicKey: alice.publicKey }, async ({ step, mode }) => ({ status: 0, output: 'ok' }))
/// ```
#[napi]
pub struct Fixer {
    inner: Arc<fx::Fixer>,
    memory: Option<Arc<SignedMemorySink>>,
    audit_public: String,
}

/// Who approves, for `Fixer#approve`.
#[napi(object)]
pub struct ApproveInput {
    /// The approver's name.
    pub approver: String,
    /// Why it is safe.
    pub comment: Option<String>,
    /// The approver's secret key (hex) signing the approval.
    pub secret_key: String,
}

#[napi]
impl Fixer {
    /// A fixer with an in-memory signed audit log (or `auditFile`), the system clock and the
    /// log notifier (or `notifier`).
    #[napi(constructor)]
    pub fn new(env: Env, options: Option<FixerOptions>) -> napi::Result<Self> {
        Self::build(options).map_err(|e| e.into_napi(&env))
    }

    fn build(options: Option<FixerOptions>) -> Fallible<Self> {
        let (key, file, notifier) = match options {
            Some(o) => (o.audit_key, o.audit_file, o.notifier),
            None => (None, None, None),
        };
        let key = match key {
            Some(k) => signing_key(&k, "auditKey")?,
            None => fx::generate_key()?,
        };
        let audit_public = fx::verifying_key_hex(&key.verifying_key());
        let (mut fixer, memory) = match file {
            Some(path) => (fx::Fixer::with_file_audit(path, key)?, None),
            None => {
                let sink = Arc::new(SignedMemorySink::new(key, Arc::new(SystemClock)));
                (fx::Fixer::new(sink.clone() as Arc<dyn AuditSink>), Some(sink))
            }
        };
        if let Some(n) = notifier {
            fixer = fixer.with_notifier(Arc::new(JsNotifier(Arc::new(n))));
        }
        Ok(Self {
            inner: Arc::new(fixer),
            memory,
            audit_public,
        })
    }

    /// The audit log's public key (hex), for `verifyAudit`.
    #[napi(getter)]
    pub fn audit_public_key(&self) -> String {
        self.audit_public.clone()
    }

    /// Plans a fix for the report's top hypothesis from the fix catalog.
    #[napi(ts_return_type = "Promise<FixPlan>")]
    pub fn plan<'e>(
        &self,
        env: &'e Env,
        #[napi(ts_arg_type = "IncidentReport")] report: Value,
        options: Option<PlanOptions>,
    ) -> napi::Result<PromiseRaw<'e, Json>> {
        let fixer = self.inner.clone();
        spawn(env, async move {
            let report: IncidentReport = parse(report, "report")?;
            let mut ctx = PlanContext::default();
            let mut catalog = Catalog::default_catalog();
            if let Some(o) = options {
                if let Some(e) = o.environment {
                    ctx.environment = e;
                }
                if let Some(n) = o.namespace {
                    ctx.namespace = n;
                }
                if let Some(p) = o.params {
                    ctx.params = p.into_iter().collect();
                }
                if let Some(c) = o.catalog {
                    catalog =
                        Catalog::from_yaml(&c).map_err(|e| JsFailure::from(faultline::Error::from(e)))?;
                }
            }
            to_json(&fixer.plan(&report, &catalog, &ctx).await?)
        })
    }

    /// Preflight: dry run of every step through `runner` (default: the dry-run runner),
    /// policy, error budget, drift, risk. A failing check is not an error: read `passed`
    /// and `report.reasons`.
    #[napi(ts_return_type = "Promise<PreflightRecord>")]
    pub fn preflight<'e>(
        &self,
        env: &'e Env,
        #[napi(ts_arg_type = "FixPlan")] plan: Value,
        #[napi(ts_arg_type = "object")] spec: Option<Value>,
        #[napi(ts_arg_type = "RunnerInput")] runner: Option<Either<JsCallback, Object<'_>>>,
    ) -> napi::Result<PromiseRaw<'e, Json>> {
        let fixer = self.inner.clone();
        let runner = RunnerArg::from_js(env, runner);
        spawn(env, async move {
            let runner = runner?;
            let plan: FixPlan = parse(plan, "plan")?;
            let spec: PreflightSpec = parse_or_default(spec, "preflight spec")?;
            let r = runner.build(&plan)?;
            let rec = fixer.preflight(&plan, &spec, r.as_ref()).await?;
            let mut v = to_json(&rec)?;
            if let Value::Object(o) = &mut v {
                o.insert("passed".into(), Value::Bool(rec.passed()));
            }
            Ok(v)
        })
    }

    /// Approves a preflighted plan and signs the approval with the approver's secret key.
    /// Rejects with `ERR_FAULTLINE_NOT_ALLOWED` unless the preflight passed for exactly this
    /// plan and the same checks still pass now.
    #[napi(ts_return_type = "Promise<SignedApproval>")]
    pub fn approve<'e>(
        &self,
        env: &'e Env,
        #[napi(ts_arg_type = "FixPlan")] plan: Value,
        #[napi(ts_arg_type = "PreflightRecord")] preflight: Value,
        who: ApproveInput,
        #[napi(ts_arg_type = "RunnerInput")] runner: Option<Either<JsCallback, Object<'_>>>,
    ) -> napi::Result<PromiseRaw<'e, Json>> {
        let fixer = self.inner.clone();
        let runner = RunnerArg::from_js(env, runner);
        spawn(env, async move {
            let runner = runner?;
            let plan: FixPlan = parse(plan, "plan")?;
            let mut pre = preflight;
            if let Value::Object(o) = &mut pre {
                o.remove("passed");
            }
            let pre: PreflightRecord = parse(pre, "preflight record")?;
            let key = signing_key(&who.secret_key, "secretKey")?;
            let r = runner.build(&plan)?;
            let comment = who.comment.unwrap_or_default();
            let signed = fixer
                .approve(&plan, &pre, &who.approver, &comment, &key, r.as_ref())
                .await?;
            to_json(&signed)
        })
    }

    /// Executes a plan under `authority` (a signed approval with the approver's public key,
    /// or auto-approval for a non-production environment) through `runner`. A refused
    /// execution rejects (`ERR_FAULTLINE_NOT_ALLOWED`); a failing step does not: the record's
    /// `state` is `failed` and the completed steps were rolled back.
    #[napi(ts_return_type = "Promise<ExecutionRecord>")]
    pub fn execute<'e>(
        &self,
        env: &'e Env,
        #[napi(ts_arg_type = "FixPlan")] plan: Value,
        authority: Option<AuthorityInput>,
        #[napi(ts_arg_type = "RunnerInput")] runner: Option<Either<JsCallback, Object<'_>>>,
    ) -> napi::Result<PromiseRaw<'e, Json>> {
        let fixer = self.inner.clone();
        let runner = RunnerArg::from_js(env, runner);
        spawn(env, async move {
            let runner = runner?;
            let plan: FixPlan = parse(plan, "plan")?;
            let authority = authority.map(authority_of).transpose()?;
            let rec = match &runner {
                RunnerArg::Spec(spec) => fixer.execute(&plan, authority.as_ref(), spec).await?,
                RunnerArg::Js(r) => fixer.execute_with(&plan, authority.as_ref(), r.as_ref()).await?,
            };
            to_json(&rec)
        })
    }

    /// Judges the fix with the canary judge (baseline vs canary windows); a failing verdict
    /// rolls every step back through the runner that executed them (pass the same JavaScript
    /// runner again when one was used) and notifies. Read `state`: `verified` or `rolled_back`.
    #[napi(ts_return_type = "Promise<VerifyRecord>")]
    pub fn verify<'e>(
        &self,
        env: &'e Env,
        #[napi(ts_arg_type = "FixPlan")] plan: Value,
        #[napi(ts_arg_type = "ExecutionRecord")] record: Value,
        input: VerifyInput,
        #[napi(ts_arg_type = "RunnerInput")] runner: Option<Either<JsCallback, Object<'_>>>,
    ) -> napi::Result<PromiseRaw<'e, Json>> {
        let fixer = self.inner.clone();
        let js_runner = runner.map(|r| RunnerArg::from_js(env, Some(r)));
        spawn(env, async move {
            let js_runner = js_runner.transpose()?;
            let plan: FixPlan = parse(plan, "plan")?;
            let record: ExecutionRecord = parse(record, "execution record")?;
            let key = input
                .public_key
                .as_deref()
                .map(|k| verifying_key(k, "publicKey"))
                .transpose()?;
            let spec: CanarySpec = parse_or_default(input.spec, "canary spec")?;
            let judge: CanaryConfig = parse_or_default(input.judge, "canary judge settings")?;
            let baseline: Window = input.baseline.into_iter().collect();
            let canary: Window = input.canary.into_iter().collect();
            let metrics = fx::comparisons(&baseline, &canary, &spec)?;
            let out = match js_runner {
                Some(r) => {
                    let runner = r.build(&plan)?;
                    fixer
                        .verify_with(&plan, &record, key.as_ref(), &metrics, &judge, runner.as_ref())
                        .await?
                }
                None => {
                    fixer
                        .verify(&plan, &record, key.as_ref(), &metrics, &judge)
                        .await?
                }
            };
            to_json(&out)
        })
    }

    /// Every record of the audit log, in order.
    #[napi(ts_return_type = "Promise<AuditRecord[]>")]
    pub fn audit_records<'e>(&self, env: &'e Env) -> napi::Result<PromiseRaw<'e, Json>> {
        let fixer = self.inner.clone();
        spawn(env, async move { to_json(&fixer.audit_records().await?) })
    }

    /// The audit log as JSONL text, one record per line, exactly as signed (for storage and
    /// `verifyAudit`).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn audit_log<'e>(&self, env: &'e Env) -> napi::Result<PromiseRaw<'e, Json>> {
        let fixer = self.inner.clone();
        spawn(env, async move {
            let mut out = String::new();
            for r in fixer.audit_records().await? {
                let line =
                    serde_json::to_string(&r).map_err(|e| JsFailure::new(Family::Internal, e.to_string()))?;
                out.push_str(&line);
                out.push('\n');
            }
            Ok(Value::String(out))
        })
    }

    /// The signed head (`{count, last_hash}`) of an in-memory audit log, for `verifyAudit`
    /// (`null` for a file log, whose head is the `.head` file beside it).
    #[napi(ts_return_type = "{ count: number; last_hash: string } | null")]
    pub fn audit_head(&self, env: Env) -> napi::Result<Option<Json>> {
        let Some(m) = &self.memory else {
            return Ok(None);
        };
        let h = m
            .head()
            .map_err(|e| JsFailure::from(faultline::Error::from(e)).into_napi(&env))?;
        to_json(&h).map(|v| Some(Json(v))).map_err(|e| e.into_napi(&env))
    }
}

fn authority_of(a: AuthorityInput) -> Fallible<Authority> {
    match (a.approval, a.auto_environment) {
        (Some(approval), None) => {
            let approval: SignedApproval = parse(approval, "authority.approval")?;
            let key = a
                .public_key
                .ok_or_else(|| JsFailure::input("authority.publicKey is required with an approval"))?;
            Ok(Authority::Signed {
                approval,
                key: verifying_key(&key, "authority.publicKey")?,
            })
        }
        (None, Some(env)) => {
            let preflight: PreflightSpec = parse_or_default(a.auto_preflight, "authority.autoPreflight")?;
            // The facade refuses auto-approval for production environments.
            Ok(Authority::auto_for(&env, preflight))
        }
        (Some(_), Some(_)) => Err(JsFailure::input(
            "authority: give either `approval` (with `publicKey`) or `autoEnvironment`, not both",
        )),
        (None, None) => Err(JsFailure::input(
            "authority: give `approval` (with `publicKey`) or `autoEnvironment`",
        )),
    }
}

//! Fix routes over `faultline::fix`: plan → preflight → approve → execute → verify, and
//! audit verification. The facade's state machine decides; the server stores what it returns
//! (one [`PlanRecord`] per plan) and appends every step to the signed audit log kept in the
//! store.
//!
//! Approvals are signed by the server's approval key on behalf of the authenticated approver
//! (the key's name is recorded). Nobody approves a production plan they planned themselves.
//! Execution goes only through the runners in `fix_runners` (default: `dry-run`): an HTTP
//! caller never gets a shell by default.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use faultline::core::ports::{next_record, AuditSink, DryRunRunner};
use faultline::core::{AuditRecord, FixPlan, IncidentId, PlanState, Timestamp};
use faultline::fix::{self, Authority, Catalog, Fixer, PlanContext, PreflightSpec, RunnerSpec, SigningKey};
use serde::{Deserialize, Serialize};

use super::Shared;
use crate::auth::Principal;
use crate::store::{PlanRecord, Store};
use crate::{Result, ServerError};

/// The audit log, kept in the store, hash-chained and signed with the server's audit key.
struct StoreAuditSink {
    store: Arc<dyn Store>,
    key: SigningKey,
    lock: tokio::sync::Mutex<()>,
}

fn core_err(e: ServerError) -> faultline::core::CoreError {
    faultline::core::CoreError::Adapter {
        adapter: "server store".into(),
        message: e.to_string(),
    }
}

#[async_trait]
impl AuditSink for StoreAuditSink {
    async fn append(&self, payload: serde_json::Value) -> faultline::core::Result<AuditRecord> {
        let _one_at_a_time = self.lock.lock().await;
        let records = self.store.audit().await.map_err(core_err)?;
        let now = Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as i64)
                .unwrap_or(0),
        );
        let mut rec = next_record(records.last(), now, payload);
        faultline::remediate::audit::sign_record(&mut rec, &self.key);
        self.store.append_audit(&rec).await.map_err(core_err)?;
        Ok(rec)
    }
    async fn records(&self) -> faultline::core::Result<Vec<AuditRecord>> {
        self.store.audit().await.map_err(core_err)
    }
}

/// The fixer and the server's keys.
pub(crate) struct FixState {
    fixer: Fixer,
    approval_key: SigningKey,
    audit_key: SigningKey,
    runners: Vec<String>,
}

impl std::fmt::Debug for FixState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixState")
            .field("runners", &self.runners)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct ServerKeys {
    audit: String,
    approval: String,
}

/// Reads the server's keys from `path`, or creates them (mode 0600).
fn load_keys(path: &Path) -> Result<(SigningKey, SigningKey)> {
    let io = |source| ServerError::Io {
        path: path.to_owned(),
        source,
    };
    let keys: ServerKeys = match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| ServerError::config(path.display().to_string(), e.to_string()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let gen = || fix::generate_key().map(|k| fix::signing_key_hex(&k));
            let keys = ServerKeys {
                audit: gen().map_err(|e| ServerError::Internal(e.chain()))?,
                approval: gen().map_err(|e| ServerError::Internal(e.chain()))?,
            };
            let text = serde_json::to_string(&keys).map_err(|e| ServerError::Internal(e.to_string()))?;
            write_private(path, text.as_bytes()).map_err(io)?;
            tracing::info!(path = %path.display(), "server signing keys created");
            keys
        }
        Err(e) => return Err(io(e)),
    };
    let parse = |hex: &str, field: &str| {
        fix::signing_key_from_hex(hex)
            .map_err(|e| ServerError::config(format!("{}: {field}", path.display()), e.chain()))
    };
    Ok((parse(&keys.audit, "audit")?, parse(&keys.approval, "approval")?))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

impl FixState {
    /// Appends a server event that is not a plan step (an incident resolution) to the audit log.
    pub(crate) async fn audit_event(&self, payload: serde_json::Value) -> Result<AuditRecord> {
        self.fixer.append(payload).await.map_err(fix_err)
    }

    /// The fix state over `store`, with keys from `keys_path` (created when absent).
    pub(crate) fn new(store: Arc<dyn Store>, keys_path: &Path, runners: Vec<String>) -> Result<Self> {
        let (audit_key, approval_key) = load_keys(keys_path)?;
        let sink = StoreAuditSink {
            store,
            key: audit_key.clone(),
            lock: tokio::sync::Mutex::new(()),
        };
        Ok(Self {
            fixer: Fixer::new(Arc::new(sink)),
            approval_key,
            audit_key,
            runners,
        })
    }
}

/// What the server keeps about a plan (the body of its [`PlanRecord`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    plan: FixPlan,
    created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    preflight: Option<fix::PreflightRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    approval: Option<fix::SignedApproval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    approved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    execution: Option<fix::ExecutionRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verify: Option<fix::VerifyRecord>,
}

fn state_name(s: PlanState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

async fn save(st: &Shared, s: &Stored) -> Result<()> {
    let body = serde_json::to_value(s).map_err(|e| ServerError::Internal(e.to_string()))?;
    st.store
        .put_plan(&PlanRecord {
            id: s.plan.id.0.clone(),
            incident: s.plan.incident.0.clone(),
            state: state_name(s.plan.state),
            body,
        })
        .await
}

async fn load(st: &Shared, id: &str) -> Result<Stored> {
    let rec = st.store.plan(id).await?.ok_or_else(|| ServerError::NotFound {
        kind: "plan",
        id: id.to_owned(),
    })?;
    serde_json::from_value(rec.body).map_err(|e| ServerError::store("plan", e))
}

fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| ServerError::BadRequest(format!("line {} column {}: {e}", e.line(), e.column())))
}

fn fix_err(e: faultline::Error) -> ServerError {
    match e {
        faultline::Error::Remediate(faultline::remediate::RemediateError::NotAllowed(m)) => {
            ServerError::Conflict(m)
        }
        other => other.into(),
    }
}

fn respond<T: Serialize>(status: StatusCode, r: Result<T>) -> Response {
    match r {
        Ok(v) => (status, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanRequest {
    incident: String,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

pub(crate) async fn plan(
    State(st): State<Shared>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Response {
    let run = async {
        let req: PlanRequest = body(&bytes)?;
        let report = st
            .store
            .report(&IncidentId(req.incident.clone()))
            .await?
            .ok_or_else(|| ServerError::NotFound {
                kind: "report (analyze the incident first)",
                id: req.incident.clone(),
            })?;
        let mut ctx = PlanContext::default();
        if let Some(e) = req.environment {
            ctx.environment = e;
        }
        if let Some(n) = req.namespace {
            ctx.namespace = n;
        }
        let plan = st
            .fix
            .fixer
            .plan(&report, &Catalog::default_catalog(), &ctx)
            .await
            .map_err(fix_err)?;
        let stored = Stored {
            plan,
            created_by: who.name.clone(),
            preflight: None,
            approval: None,
            approved_by: None,
            execution: None,
            verify: None,
        };
        save(&st, &stored).await?;
        st.live.plan_state(&stored.plan, None, &who.name);
        Ok(stored)
    };
    respond(StatusCode::CREATED, run.await)
}

pub(crate) async fn get(State(st): State<Shared>, UrlPath(id): UrlPath<String>) -> Response {
    respond(StatusCode::OK, load(&st, &id).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreflightRequest {
    plan: String,
    #[serde(default)]
    spec: Option<PreflightSpec>,
}

pub(crate) async fn preflight(
    State(st): State<Shared>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Response {
    let run = async {
        let req: PreflightRequest = body(&bytes)?;
        let mut s = load(&st, &req.plan).await?;
        let from = s.plan.state;
        let spec = req.spec.unwrap_or_default();
        let rec = st
            .fix
            .fixer
            .preflight(&s.plan, &spec, &DryRunRunner)
            .await
            .map_err(fix_err)?;
        s.plan.state = if rec.passed() {
            PlanState::Preflighted
        } else {
            PlanState::Draft
        };
        s.preflight = Some(rec);
        save(&st, &s).await?;
        st.live.plan_state(&s.plan, Some(from), &who.name);
        Ok(s)
    };
    respond(StatusCode::OK, run.await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveRequest {
    plan: String,
    #[serde(default = "yes")]
    approve: bool,
    #[serde(default)]
    comment: String,
}

fn yes() -> bool {
    true
}

pub(crate) async fn approve(
    State(st): State<Shared>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Response {
    let run = async {
        let req: ApproveRequest = body(&bytes)?;
        let mut s = load(&st, &req.plan).await?;
        let from = s.plan.state;
        let prod = PlanContext::default().is_production(&s.plan.environment);
        if prod && s.created_by == who.name {
            return Err(ServerError::Conflict(format!(
                "{} planned {} for production and may not approve it too",
                who.name, s.plan.id.0
            )));
        }
        if !req.approve {
            st.fix
                .fixer
                .append(serde_json::json!({"event": "rejected", "plan": s.plan.id, "approver": who.name, "comment": req.comment}))
                .await
                .map_err(fix_err)?;
            s.plan.state = PlanState::Rejected;
            save(&st, &s).await?;
            st.live.plan_state(&s.plan, Some(from), &who.name);
            return Ok(s);
        }
        let pre = s
            .preflight
            .clone()
            .ok_or_else(|| ServerError::Conflict(format!("plan {} has not been preflighted", s.plan.id.0)))?;
        let signed = st
            .fix
            .fixer
            .approve(
                &s.plan,
                &pre,
                &who.name,
                &req.comment,
                &st.fix.approval_key,
                &DryRunRunner,
            )
            .await
            .map_err(fix_err)?;
        s.plan.state = PlanState::Approved;
        s.approval = Some(signed);
        s.approved_by = Some(who.name.clone());
        save(&st, &s).await?;
        st.live.plan_state(&s.plan, Some(from), &who.name);
        Ok(s)
    };
    respond(StatusCode::OK, run.await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecuteRequest {
    plan: String,
    #[serde(default)]
    runner: Option<RunnerSpec>,
}

pub(crate) async fn execute(
    State(st): State<Shared>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Response {
    let run = async {
        let req: ExecuteRequest = body(&bytes)?;
        let mut s = load(&st, &req.plan).await?;
        let from = s.plan.state;
        let runner = req.runner.unwrap_or(RunnerSpec::DryRun);
        if !st.fix.runners.iter().any(|r| r == runner.name()) {
            return Err(ServerError::BadRequest(format!(
                "runner {} is not enabled on this server (fix_runners: {:?})",
                runner.name(),
                st.fix.runners
            )));
        }
        let authority = s.approval.clone().map(|approval| Authority::Signed {
            approval,
            key: st.fix.approval_key.verifying_key(),
        });
        let rec = st
            .fix
            .fixer
            .execute(&s.plan, authority.as_ref(), &runner)
            .await
            .map_err(fix_err)?;
        s.plan.state = rec.state;
        s.execution = Some(rec);
        save(&st, &s).await?;
        st.live.plan_state(&s.plan, Some(from), &who.name);
        Ok(s)
    };
    respond(StatusCode::OK, run.await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    plan: String,
    baseline: fix::Window,
    canary: fix::Window,
    #[serde(default)]
    spec: fix::CanarySpec,
}

pub(crate) async fn verify(
    State(st): State<Shared>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Response {
    let run = async {
        let req: VerifyRequest = body(&bytes)?;
        let mut s = load(&st, &req.plan).await?;
        let from = s.plan.state;
        let exec = s
            .execution
            .clone()
            .ok_or_else(|| ServerError::Conflict(format!("plan {} has not been executed", s.plan.id.0)))?;
        let metrics = fix::comparisons(&req.baseline, &req.canary, &req.spec).map_err(fix_err)?;
        let key = st.fix.approval_key.verifying_key();
        let rec = st
            .fix
            .fixer
            .verify(
                &s.plan,
                &exec,
                Some(&key),
                &metrics,
                &fix::CanaryConfig::default(),
            )
            .await
            .map_err(fix_err)?;
        s.plan.state = rec.state;
        if let Some(e) = s.execution.as_mut() {
            e.state = rec.state;
        }
        s.verify = Some(rec);
        save(&st, &s).await?;
        st.live.plan_state(&s.plan, Some(from), &who.name);
        Ok(s)
    };
    respond(StatusCode::OK, run.await)
}

pub(crate) async fn audit_verify(State(st): State<Shared>) -> Response {
    let run = async {
        let records = st.store.audit().await?;
        let key = st.fix.audit_key.verifying_key();
        Ok(match fix::verify_audit(&records, &key, None) {
            Ok(n) => serde_json::json!({"ok": true, "records": n, "key": fix::verifying_key_hex(&key)}),
            Err(e) => serde_json::json!({"ok": false, "records": records.len(), "error": e.chain()}),
        })
    };
    respond(StatusCode::OK, run.await)
}

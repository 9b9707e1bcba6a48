//! The HTTP API: one table of routes ([`ROUTES`]) from which both the axum router and the
//! OpenAPI document are built, plus the middleware every request passes through.
//!
//! Request path, outermost first: request id + access log + counters → body size limit →
//! (CORS, only when configured) → authentication, role and rate limit → Idempotency-Key →
//! the route's handler, a thin layer over the store and the `faultline` facade.

mod dora;
mod fix;
mod incidents;
mod ingest;
mod middleware;
pub(crate) mod openapi;
mod ops;
mod resolve;
mod room;
mod stream;

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::MethodRouter;
use axum::Router;

use crate::auth::{Action, Auth};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::ServerConfig;

/// Everything a handler can reach.
pub(crate) struct AppState {
    pub store: Arc<dyn Store>,
    pub pipeline: Arc<faultline::Pipeline>,
    pub auth: Auth,
    pub metrics: Metrics,
    pub config: ServerConfig,
    pub limits: faultline_ingest::Limits,
    /// False before preload finishes and once shutdown starts (`/readyz` answers 503).
    pub ready: AtomicBool,
    pub request_seq: AtomicU64,
    pub fix: fix::FixState,
    /// Set once at start (it needs the shared state itself).
    pub online: std::sync::OnceLock<crate::online::Online>,
    /// Live events for `/v1/stream`.
    pub live: crate::live::LiveHub,
}

pub(crate) type Shared = Arc<AppState>;

pub(crate) use fix::FixState;
pub(crate) use incidents::analyze_incident;
pub(crate) use middleware::now_secs;

/// One route: method, path (axum/OpenAPI `{param}` syntax), what it needs, how it is
/// documented, and its handler.
pub(crate) struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    /// None: public (health, readiness, metrics, the OpenAPI document).
    pub action: Option<Action>,
    pub summary: &'static str,
    pub tag: &'static str,
    /// Documented request body media types (empty: no body).
    pub request: &'static [&'static str],
    /// Documented success status.
    pub ok: u16,
    pub handler: fn() -> MethodRouter<Shared>,
}

const JSON: &[&str] = &["application/json"];
const INGEST_ANY: &[&str] = &["application/json", "application/x-protobuf", "text/plain"];

/// Every route of the server.
pub(crate) const ROUTES: &[RouteSpec] = &[
    RouteSpec { method: "GET", path: "/healthz", action: None, summary: "Liveness: the process answers.", tag: "operations", request: &[], ok: 200, handler: || axum::routing::get(ops::healthz) },
    RouteSpec { method: "GET", path: "/readyz", action: None, summary: "Readiness: the store answers and the server is not shutting down.", tag: "operations", request: &[], ok: 200, handler: || axum::routing::get(ops::readyz) },
    RouteSpec { method: "GET", path: "/metrics", action: None, summary: "The server's own counters (Prometheus text format).", tag: "operations", request: &[], ok: 200, handler: || axum::routing::get(ops::metrics) },
    RouteSpec { method: "GET", path: "/v1/openapi.json", action: None, summary: "This document.", tag: "operations", request: &[], ok: 200, handler: || axum::routing::get(openapi::document) },
    RouteSpec { method: "GET", path: "/v1/stats", action: Some(Action::Read), summary: "What the store holds.", tag: "operations", request: &[], ok: 200, handler: || axum::routing::get(ops::stats) },
    RouteSpec { method: "POST", path: "/v1/signals/ingest", action: Some(Action::Write), summary: "faultline JSON batch of metrics, series, logs, events, spans and alerts; validated as a whole, committed in one transaction.", tag: "ingest", request: JSON, ok: 200, handler: || axum::routing::post(ingest::ingest) },
    RouteSpec { method: "POST", path: "/v1/events", action: Some(Action::Write), summary: "Deploy and change events: one object, an array, or JSON lines.", tag: "ingest", request: JSON, ok: 200, handler: || axum::routing::post(ingest::ingest) },
    RouteSpec { method: "POST", path: "/v1/otlp/v1/logs", action: Some(Action::Write), summary: "OTLP/HTTP logs (protobuf or JSON).", tag: "ingest", request: INGEST_ANY, ok: 200, handler: || axum::routing::post(ingest::ingest) },
    RouteSpec { method: "POST", path: "/v1/otlp/v1/metrics", action: Some(Action::Write), summary: "OTLP/HTTP metrics (protobuf or JSON).", tag: "ingest", request: INGEST_ANY, ok: 200, handler: || axum::routing::post(ingest::ingest) },
    RouteSpec { method: "POST", path: "/v1/otlp/v1/traces", action: Some(Action::Write), summary: "OTLP/HTTP traces (protobuf or JSON).", tag: "ingest", request: INGEST_ANY, ok: 200, handler: || axum::routing::post(ingest::ingest) },
    RouteSpec { method: "POST", path: "/api/v1/write", action: Some(Action::Write), summary: "Prometheus remote-write 1.0 (snappy protobuf).", tag: "ingest", request: &["application/x-protobuf"], ok: 200, handler: || axum::routing::post(ingest::ingest) },
    RouteSpec { method: "POST", path: "/v1/ingest/{format}", action: Some(Action::Write), summary: "Any format by name: alertmanager, grafana, telegraf, sentry, kubernetes, prometheus-text (text/plain), or a faultline_ingest format name.", tag: "ingest", request: INGEST_ANY, ok: 200, handler: || axum::routing::post(ingest::ingest) },
    RouteSpec { method: "GET", path: "/v1/incidents", action: Some(Action::Read), summary: "Every incident, newest onset first.", tag: "incidents", request: &[], ok: 200, handler: || axum::routing::get(incidents::list) },
    RouteSpec { method: "POST", path: "/v1/incidents/open", action: Some(Action::Write), summary: "Opens an incident {id?, title?, onset, window?, environment?, services?, severity?}.", tag: "incidents", request: JSON, ok: 201, handler: || axum::routing::post(incidents::open) },
    RouteSpec { method: "GET", path: "/v1/incidents/{id}", action: Some(Action::Read), summary: "An incident and, once analysed, its ranked hypotheses.", tag: "incidents", request: &[], ok: 200, handler: || axum::routing::get(incidents::get) },
    RouteSpec { method: "POST", path: "/v1/incidents/{id}/analyze", action: Some(Action::Write), summary: "Runs the pipeline over the stored signals of the incident's window (or {window}); stores and returns the report.", tag: "incidents", request: JSON, ok: 200, handler: || axum::routing::post(incidents::analyze) },
    RouteSpec { method: "GET", path: "/v1/incidents/{id}/evidence", action: Some(Action::Read), summary: "The hypotheses and every evidence item they cite.", tag: "incidents", request: &[], ok: 200, handler: || axum::routing::get(incidents::evidence) },
    RouteSpec { method: "GET", path: "/v1/incidents/{id}/report", action: Some(Action::Read), summary: "The latest report, ?format=json (default) or md.", tag: "incidents", request: &[], ok: 200, handler: || axum::routing::get(incidents::report) },
    RouteSpec { method: "POST", path: "/v1/fix/plan", action: Some(Action::Operate), summary: "Plans a fix for an analysed incident's top hypothesis {incident}.", tag: "fix", request: JSON, ok: 201, handler: || axum::routing::post(fix::plan) },
    RouteSpec { method: "GET", path: "/v1/fix/plans/{id}", action: Some(Action::Read), summary: "A fix plan and its state.", tag: "fix", request: &[], ok: 200, handler: || axum::routing::get(fix::get) },
    RouteSpec { method: "POST", path: "/v1/fix/preflight", action: Some(Action::Operate), summary: "Dry run and policy checks of a plan {plan}.", tag: "fix", request: JSON, ok: 200, handler: || axum::routing::post(fix::preflight) },
    RouteSpec { method: "POST", path: "/v1/fix/approve", action: Some(Action::Approve), summary: "Approves or rejects a preflighted plan {plan, approve, comment?}; nobody approves their own production plan.", tag: "fix", request: JSON, ok: 200, handler: || axum::routing::post(fix::approve) },
    RouteSpec { method: "POST", path: "/v1/fix/execute", action: Some(Action::Operate), summary: "Runs an approved plan {plan, runner}.", tag: "fix", request: JSON, ok: 200, handler: || axum::routing::post(fix::execute) },
    RouteSpec { method: "POST", path: "/v1/fix/verify", action: Some(Action::Operate), summary: "Canary judgement of an executed plan {plan, baseline, canary}.", tag: "fix", request: JSON, ok: 200, handler: || axum::routing::post(fix::verify) },
    RouteSpec { method: "GET", path: "/v1/audit/verify", action: Some(Action::Read), summary: "Checks the hash chain and signatures of the audit log.", tag: "fix", request: &[], ok: 200, handler: || axum::routing::get(fix::audit_verify) },
    RouteSpec { method: "GET", path: "/v1/stream", action: Some(Action::Read), summary: "Live events as Server-Sent Events: anomaly, incident.opened, incident.analyzed, incident.resolved, plan.state (?types=, Last-Event-ID resume; ?access_token= for EventSource).", tag: "live", request: &[], ok: 200, handler: || axum::routing::get(stream::stream) },
    RouteSpec { method: "GET", path: "/v1/metrics/dora", action: Some(Action::Read), summary: "DORA metrics over ?window=30d (7d, 24h, 90d; ?service=, ?environment=, ?horizon=24h): deployment frequency, lead time, change failure rate, time to restore, with bands.", tag: "reports", request: &[], ok: 200, handler: || axum::routing::get(dora::dora) },
    RouteSpec { method: "POST", path: "/v1/incidents/{id}/resolve", action: Some(Action::Write), summary: "Resolves an incident {resolved_at?, comment?}; the time goes to the audit log (time to restore).", tag: "incidents", request: JSON, ok: 200, handler: || axum::routing::post(resolve::resolve) },
    RouteSpec { method: "GET", path: "/", action: None, summary: "Redirects to the incident room.", tag: "room", request: &[], ok: 303, handler: || axum::routing::get(room::root) },
    RouteSpec { method: "GET", path: "/room", action: None, summary: "The incident room (HTML page; asks for an API key when the API needs one).", tag: "room", request: &[], ok: 200, handler: || axum::routing::get(room::index) },
    RouteSpec { method: "GET", path: "/room/app.js", action: None, summary: "The incident room's script.", tag: "room", request: &[], ok: 200, handler: || axum::routing::get(room::script) },
    RouteSpec { method: "GET", path: "/room/app.css", action: None, summary: "The incident room's stylesheet.", tag: "room", request: &[], ok: 200, handler: || axum::routing::get(room::style) },
    RouteSpec { method: "GET", path: "/v1/room/session", action: Some(Action::Read), summary: "The caller (name, role) and the fix runners this server offers.", tag: "room", request: &[], ok: 200, handler: || axum::routing::get(room::session) },
    RouteSpec { method: "GET", path: "/v1/room/incidents", action: Some(Action::Read), summary: "Every incident with its top hypothesis and proposed plan id.", tag: "room", request: &[], ok: 200, handler: || axum::routing::get(room::incidents) },
    RouteSpec { method: "GET", path: "/v1/room/incidents/{id}/series", action: Some(Action::Read), summary: "The anomalous series of the latest report, min/max-reduced for charts (?max=, ?points=).", tag: "room", request: &[], ok: 200, handler: || axum::routing::get(room::series) },
];

/// The router with every route and middleware.
pub(crate) fn router(state: Shared) -> Router {
    let mut r: Router<Shared> = Router::new();
    for spec in ROUTES {
        r = r.route(spec.path, (spec.handler)());
    }
    let max_body = state.config.max_body_bytes;
    let cors = !state.config.cors_allow_origins.is_empty();
    let mut r = r
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::idempotency,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::authenticate,
        ))
        .fallback(middleware::not_found)
        .layer(DefaultBodyLimit::max(max_body));
    if cors {
        r = r.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::cors,
        ));
    }
    r.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        middleware::request_context,
    ))
    .with_state(state)
}

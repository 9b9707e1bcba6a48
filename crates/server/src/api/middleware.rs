//! Middleware: request context (id, access log, counters), CORS, authentication and rate
//! limits, Idempotency-Key.

use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::{to_bytes, Body};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::{Shared, ROUTES};
use crate::auth::{Denied, Principal};
use crate::problem::Problem;
use crate::store::IdempotencyRecord;

/// An `Idempotency-Key` the handler may store itself, inside its own transaction (ingest).
#[derive(Debug, Clone)]
pub(crate) struct IdempotencyContext {
    pub principal: String,
    pub key: String,
    pub route: String,
    pub request_hash: String,
}

impl IdempotencyContext {
    /// The record to store with a response.
    pub fn record(&self, status: u16, body: String) -> IdempotencyRecord {
        IdempotencyRecord {
            principal: self.principal.clone(),
            key: self.key.clone(),
            route: self.route.clone(),
            request_hash: self.request_hash.clone(),
            status,
            body,
            created_secs: now_secs(),
        }
    }
}

/// Marks a response whose idempotency record the handler already stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdempotencyStored;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn client_request_id(h: &HeaderMap) -> Option<String> {
    let v = h.get(&X_REQUEST_ID)?.to_str().ok()?;
    (!v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| v.to_owned())
}

/// Assigns the request id, counts, and logs one line per request (method, route, status,
/// latency; never headers or bodies, which may carry secrets).
pub(crate) async fn request_context(State(st): State<Shared>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = client_request_id(req.headers()).unwrap_or_else(|| {
        let n = st.request_seq.fetch_add(1, Ordering::Relaxed);
        format!("{:x}-{n:x}", now_secs())
    });
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().chars().take(200).collect());
    st.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let mut resp = next.run(req).await;
    st.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    let status = resp.status().as_u16();
    st.metrics.response(status);
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(X_REQUEST_ID, v);
    }
    let principal = resp.extensions().get::<Principal>().map(|p| p.name.clone());
    tracing::info!(
        request_id = %id,
        method = %method,
        route = %route,
        status,
        latency_ms = started.elapsed().as_secs_f64() * 1e3,
        principal = principal.as_deref().unwrap_or("-"),
        "request"
    );
    resp
}

/// CORS for the configured origins only (the layer is absent when none are configured).
pub(crate) async fn cors(State(st): State<Shared>, req: Request, next: Next) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| st.config.cors_allow_origins.iter().any(|a| a == o || a == "*"))
        .map(str::to_owned);
    let preflight = req.method() == Method::OPTIONS;
    let mut resp = if preflight && origin.is_some() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    if let Some(o) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::VARY, HeaderValue::from_static("origin"));
        if preflight {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(
                    "authorization, content-type, idempotency-key, x-api-key, x-request-id",
                ),
            );
        }
    }
    resp
}

fn credential(h: &HeaderMap) -> Option<&str> {
    if let Some(v) = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
            return Some(v[7..].trim());
        }
    }
    h.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

fn stream_token(uri: &axum::http::Uri) -> Option<String> {
    let q = axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(uri).ok()?;
    q.0.get("access_token").map(|t| t.trim().to_owned())
}

/// Resolves the caller, applies the rate limit and the route's role requirement.
pub(crate) async fn authenticate(State(st): State<Shared>, mut req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let spec = path.as_deref().and_then(|p| {
        ROUTES
            .iter()
            .find(|r| r.path == p && r.method == req.method().as_str())
    });
    let Some(action) = spec.and_then(|s| s.action) else {
        return next.run(req).await; // public route
    };
    // Browsers' EventSource cannot set headers: the stream alone takes `?access_token=`.
    let query_token = (path.as_deref() == Some("/v1/stream"))
        .then(|| stream_token(req.uri()))
        .flatten();
    let cred = credential(req.headers()).or(query_token.as_deref());
    match st.auth.check(cred, action, now_secs()) {
        Ok(p) => {
            req.extensions_mut().insert(p.clone());
            let mut resp = next.run(req).await;
            resp.extensions_mut().insert(p);
            resp
        }
        Err(d) => {
            if matches!(d, Denied::RateLimited(_)) {
                st.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
            }
            let mut resp = Problem::from_denied(&d).into_response();
            if matches!(d, Denied::Unauthenticated(_)) {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            resp
        }
    }
}

fn replay(rec: &IdempotencyRecord) -> Response {
    let status = StatusCode::from_u16(rec.status).unwrap_or(StatusCode::OK);
    let mut r = (status, rec.body.clone()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    r
}

/// Replays the stored response of a POST whose `Idempotency-Key` was seen before (same caller,
/// same route, same body); refuses the key with another request; stores 2xx responses.
pub(crate) async fn idempotency(State(st): State<Shared>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(&IDEMPOTENCY_KEY) else {
        return next.run(req).await;
    };
    let key = match raw.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => k.to_owned(),
        _ => {
            return Problem::new(
                400,
                "bad idempotency key",
                "Idempotency-Key must be 1-255 visible ASCII characters",
            )
            .into_response()
        }
    };
    let principal = req
        .extensions()
        .get::<Principal>()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| "anonymous".into());
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, st.config.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return Problem::new(
                413,
                "body too large",
                format!("body exceeds the limit of {} bytes", st.config.max_body_bytes),
            )
            .into_response()
        }
    };
    let route = format!("{} {}", parts.method, parts.uri.path());
    let mut h = Sha256::new();
    h.update(route.as_bytes());
    h.update([0]);
    h.update(parts.uri.query().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(
        parts
            .headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes())
            .unwrap_or(b""),
    );
    h.update([0]);
    h.update(&bytes);
    let request_hash: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    match st.store.idempotency(&principal, &key).await {
        Ok(Some(rec)) if rec.request_hash == request_hash => {
            st.metrics.idempotent_replays.fetch_add(1, Ordering::Relaxed);
            return replay(&rec);
        }
        Ok(Some(_)) => {
            return Problem::new(
                422,
                "idempotency key reused",
                "this Idempotency-Key was already used with a different request",
            )
            .into_response()
        }
        Ok(None) => {}
        Err(e) => return e.into_response(),
    }
    let ctx = IdempotencyContext {
        principal,
        key,
        route,
        request_hash,
    };
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(ctx.clone());
    let resp = next.run(req).await;
    if resp.extensions().get::<IdempotencyStored>().is_some() || !resp.status().is_success() {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return crate::ServerError::Internal(format!("response body: {e}")).into_response(),
    };
    let rec = ctx.record(
        parts.status.as_u16(),
        String::from_utf8_lossy(&bytes).into_owned(),
    );
    if let Err(e) = st.store.put_idempotency(&rec).await {
        tracing::warn!(error = %e, "idempotency record not stored");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// 404 as a problem document.
pub(crate) async fn not_found(req: Request) -> Response {
    let path: String = req.uri().path().chars().take(200).collect();
    Problem::new(404, "not found", format!("no route for {} {path}", req.method())).into_response()
}

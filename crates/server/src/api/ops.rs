//! Operations routes: liveness, readiness, the server's own metrics, store statistics.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::Shared;

pub(crate) async fn healthz() -> &'static str {
    "ok"
}

pub(crate) async fn readyz(State(st): State<Shared>) -> Response {
    if !st.ready.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response();
    }
    match st.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: store does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
        }
    }
}

pub(crate) async fn metrics(State(st): State<Shared>) -> Response {
    let mut text = st.metrics.render();
    st.live.render_metrics(&mut text);
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

pub(crate) async fn stats(State(st): State<Shared>) -> Response {
    match st.store.stats().await {
        Ok(s) => Json(s).into_response(),
        Err(e) => e.into_response(),
    }
}

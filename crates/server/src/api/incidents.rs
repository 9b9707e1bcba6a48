//! Incident routes: open, list, get, analyze (the facade's `Pipeline` over the stored signals
//! of the window), evidence, report.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use faultline::core::{Incident, IncidentId, IncidentStatus, ServiceId, TimeWindow, Timestamp};
use serde::Deserialize;

use super::Shared;
use crate::{Result, ServerError};

/// Default window when opening an incident without one: this long before the onset …
pub(crate) const DEFAULT_LOOKBACK_SECS: i64 = 3600;
/// … and this long after it.
pub(crate) const DEFAULT_LOOKAHEAD_SECS: i64 = 900;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenRequest {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    title: String,
    onset: Timestamp,
    #[serde(default)]
    window: Option<TimeWindow>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    severity: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyzeRequest {
    #[serde(default)]
    window: Option<TimeWindow>,
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| ServerError::BadRequest(format!("{what}: line {} column {}: {e}", e.line(), e.column())))
}

fn check_window(w: &TimeWindow, field: &str) -> Result<()> {
    if w.end < w.start {
        return Err(ServerError::BadRequest(format!(
            "{field}: ends ({}) before it starts ({})",
            w.end, w.start
        )));
    }
    Ok(())
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

pub(crate) async fn open(State(st): State<Shared>, body: Bytes) -> Response {
    match open_inner(&st, &body).await {
        Ok(inc) => (StatusCode::CREATED, Json(inc)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn open_inner(st: &Shared, body: &[u8]) -> Result<Incident> {
    let req: OpenRequest = json_body(body, "incident")?;
    let window = req.window.unwrap_or(TimeWindow {
        start: req
            .onset
            .sub(faultline::core::DurationNs::from_secs(DEFAULT_LOOKBACK_SECS)),
        end: req
            .onset
            .add(faultline::core::DurationNs::from_secs(DEFAULT_LOOKAHEAD_SECS)),
    });
    check_window(&window, "window")?;
    let id = match req.id {
        Some(id) if valid_id(&id) => IncidentId(id),
        Some(id) => {
            return Err(ServerError::BadRequest(format!(
                "id: {:?} must be 1-128 characters of [A-Za-z0-9-_.:]",
                id.chars().take(140).collect::<String>()
            )))
        }
        None => {
            let mut h = faultline::core::id::StableHasher::new();
            h.write_str(&req.title);
            h.write_i64(req.onset.0);
            IncidentId(format!("inc-{:016x}", h.finish()))
        }
    };
    if st.store.incident(&id).await?.is_some() {
        return Err(ServerError::Conflict(format!("incident {} already exists", id.0)));
    }
    let incident = Incident {
        id,
        title: req.title,
        onset: req.onset,
        window,
        environment: req.environment,
        services: req.services.iter().map(ServiceId::new).collect(),
        severity: req.severity,
        status: IncidentStatus::Open,
    };
    st.store.put_incident(&incident).await?;
    tracing::info!(incident = %incident.id.0, "incident opened");
    st.live.incident_opened(&incident, false);
    Ok(incident)
}

pub(crate) async fn list(State(st): State<Shared>) -> Response {
    match st.store.incidents().await {
        Ok(v) => Json(serde_json::json!({ "incidents": v })).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn load(st: &Shared, id: &str) -> Result<Incident> {
    st.store
        .incident(&IncidentId(id.to_owned()))
        .await?
        .ok_or_else(|| ServerError::NotFound {
            kind: "incident",
            id: id.to_owned(),
        })
}

async fn load_report(st: &Shared, id: &str) -> Result<faultline::core::IncidentReport> {
    load(st, id).await?;
    st.store
        .report(&IncidentId(id.to_owned()))
        .await?
        .ok_or_else(|| ServerError::NotFound {
            kind: "report (analyze the incident first)",
            id: id.to_owned(),
        })
}

pub(crate) async fn get(State(st): State<Shared>, Path(id): Path<String>) -> Response {
    let run = async {
        let incident = load(&st, &id).await?;
        let report = st.store.report(&incident.id).await?;
        Ok::<_, ServerError>(serde_json::json!({
            "incident": incident,
            "analyzed": report.is_some(),
            "narrative": report.as_ref().map(|r| r.narrative.clone()),
            "hypotheses": report.as_ref().map(|r| r.hypotheses.clone()).unwrap_or_default(),
        }))
    };
    match run.await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Runs the pipeline over the stored signals of `incident`'s window and stores the report.
pub(crate) async fn analyze_incident(
    st: &Shared,
    mut incident: Incident,
    window: Option<TimeWindow>,
) -> Result<faultline::core::IncidentReport> {
    if let Some(w) = window {
        check_window(&w, "window")?;
        incident.window = w;
        st.store.put_incident(&incident).await?;
    }
    let t = Instant::now();
    let signals = st.store.signals(incident.window).await?;
    let pipeline = Arc::clone(&st.pipeline);
    let report = tokio::task::spawn_blocking(move || pipeline.analyze(&incident, &signals))
        .await
        .map_err(|e| ServerError::Internal(format!("analysis task: {e}")))??;
    st.store.put_report(&report).await?;
    st.live
        .incident_analyzed(&report, t.elapsed().as_secs_f64() * 1e3);
    st.metrics
        .analyses
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    st.metrics.analysis_micros.fetch_add(
        t.elapsed().as_micros() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    Ok(report)
}

pub(crate) async fn analyze(State(st): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let run = async {
        let req: AnalyzeRequest = if body.iter().all(u8::is_ascii_whitespace) {
            AnalyzeRequest::default()
        } else {
            json_body(&body, "analyze request")?
        };
        let incident = load(&st, &id).await?;
        analyze_incident(&st, incident, req.window).await
    };
    match run.await {
        Ok(r) => Json(r).into_response(),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn evidence(State(st): State<Shared>, Path(id): Path<String>) -> Response {
    match load_report(&st, &id).await {
        Ok(r) => Json(serde_json::json!({
            "incident": r.incident.id,
            "hypotheses": r.hypotheses,
            "evidence": r.evidence,
        }))
        .into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReportQuery {
    #[serde(default)]
    format: Option<String>,
}

pub(crate) async fn report(
    State(st): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Response {
    let r = match load_report(&st, &id).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let (body, ct) = match q.format.as_deref().unwrap_or("json") {
        "json" => (faultline::render::to_json(&r), "application/json"),
        "md" | "markdown" => (faultline::render::to_markdown(&r), "text/markdown; charset=utf-8"),
        "html" => {
            // The page charts the anomalous series of the report's window from the store.
            let signals = match st.store.signals(r.incident.window).await {
                Ok(s) => s,
                Err(e) => return e.into_response(),
            };
            (
                faultline::html::to_html(&r, Some(&signals)),
                "text/html; charset=utf-8",
            )
        }
        other => {
            return ServerError::BadRequest(format!(
                "format: {:?} is not one of json, md, html",
                other.chars().take(40).collect::<String>()
            ))
            .into_response()
        }
    };
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    resp
}

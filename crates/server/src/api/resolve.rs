//! `POST /v1/incidents/{id}/resolve {resolved_at?, comment?}`: marks an incident resolved.
//!
//! The incident's status becomes `resolved` (through `Store::put_incident`). The data model's
//! `Incident` has no resolution time, so the time, the caller and the comment go to the signed
//! audit log as an `incident.resolved` record; time to restore (`GET /v1/metrics/dora`) reads
//! it from there. A live `incident.resolved` event is published.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use faultline::core::{IncidentId, IncidentStatus, Timestamp};
use serde::Deserialize;

use super::Shared;
use crate::auth::Principal;
use crate::live::EventType;
use crate::ServerError;

/// The `event` of the audit record a resolution appends.
pub(crate) const RESOLVED_EVENT: &str = "incident.resolved";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveRequest {
    #[serde(default)]
    resolved_at: Option<Timestamp>,
    #[serde(default)]
    comment: String,
}

pub(crate) async fn resolve(
    State(st): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let run = async {
        let req: ResolveRequest = if body.iter().all(u8::is_ascii_whitespace) {
            ResolveRequest::default()
        } else {
            serde_json::from_slice(&body).map_err(|e| {
                ServerError::BadRequest(format!(
                    "resolve request: line {} column {}: {e}",
                    e.line(),
                    e.column()
                ))
            })?
        };
        let mut incident =
            st.store
                .incident(&IncidentId(id.clone()))
                .await?
                .ok_or_else(|| ServerError::NotFound {
                    kind: "incident",
                    id: id.clone(),
                })?;
        if incident.status == IncidentStatus::Resolved {
            return Err(ServerError::Conflict(format!(
                "incident {id} is already resolved"
            )));
        }
        let now = Timestamp::from_secs(super::now_secs());
        let at = req.resolved_at.unwrap_or(now);
        if at < incident.onset {
            return Err(ServerError::BadRequest(format!(
                "resolved_at: {at} is before the incident's onset {}",
                incident.onset
            )));
        }
        if at > now {
            return Err(ServerError::BadRequest(format!(
                "resolved_at: {at} is in the future"
            )));
        }
        let comment: String = req.comment.chars().take(2000).collect();
        st.fix
            .audit_event(serde_json::json!({
                "event": RESOLVED_EVENT,
                "incident": incident.id,
                "resolved_at": at,
                "by": who.name,
                "comment": comment,
            }))
            .await?;
        incident.status = IncidentStatus::Resolved;
        st.store.put_incident(&incident).await?;
        tracing::info!(incident = %incident.id.0, by = %who.name, "incident resolved");
        let answer = serde_json::json!({
            "incident": incident,
            "resolved_at": at,
            "time_to_restore_secs": at.since(incident.onset).as_secs_f64(),
            "by": who.name,
        });
        st.live.publish(EventType::IncidentResolved, &answer);
        Ok::<_, ServerError>(answer)
    };
    match run.await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

//! RFC 9457 Problem Details (`application/problem+json`): every error response of the server.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::Denied;
use crate::ServerError;

/// A problem document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// URI naming the kind of problem (`about:blank` or a `urn:faultline:problem:*`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Short constant summary of the kind.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// This occurrence, in words.
    pub detail: String,
    /// JSON pointer (`/logs/3/ts`) or `line N` of the offending record, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// The request id, to find the request in the server's logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Seconds to wait before retrying (429).
    #[serde(skip)]
    pub retry_after_secs: Option<u64>,
}

impl Problem {
    /// A problem with a status, a title and a detail.
    pub fn new(status: u16, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:faultline:problem:{}", title.replace(' ', "-")),
            title: title.to_owned(),
            status,
            detail: detail.into(),
            pointer: None,
            request_id: None,
            retry_after_secs: None,
        }
    }

    /// From a parser's refusal of a batch: names the record and field.
    pub fn from_ingest(e: &faultline_ingest::IngestError) -> Self {
        let (title, detail, pointer) = e.problem();
        let mut p = Problem::new(e.status(), title, detail);
        p.pointer = pointer;
        p
    }

    /// From an authentication or authorization refusal.
    pub fn from_denied(d: &Denied) -> Self {
        match d {
            Denied::Unauthenticated(why) => Problem::new(401, "unauthenticated", *why),
            Denied::Forbidden { role, action } => Problem::new(
                403,
                "forbidden",
                format!("role {} may not {action:?} here", role.name()),
            ),
            Denied::RateLimited(secs) => {
                let mut p = Problem::new(
                    429,
                    "rate limited",
                    format!("too many requests; retry in {secs} s"),
                );
                p.retry_after_secs = Some(*secs);
                p
            }
        }
    }
}

impl From<&ServerError> for Problem {
    fn from(e: &ServerError) -> Self {
        match e {
            ServerError::BadRequest(m) => Problem::new(400, "bad request", m.clone()),
            ServerError::NotFound { .. } => Problem::new(404, "not found", e.to_string()),
            ServerError::Conflict(m) => Problem::new(409, "conflict", m.clone()),
            ServerError::Config { .. } => Problem::new(500, "server misconfigured", e.to_string()),
            // Internal details go to the log (with the request id), not to the client.
            ServerError::Store { .. }
            | ServerError::Io { .. }
            | ServerError::Internal(_)
            | ServerError::Faultline(_) => {
                tracing::error!(error = %e, "request failed");
                Problem::new(
                    500,
                    "internal error",
                    "the server failed; see its log for this request id",
                )
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut r = (status, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.retry_after_secs {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        r
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        Problem::from(&self).into_response()
    }
}

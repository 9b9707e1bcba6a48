//! Ingest routes: the body is parsed by `faultline-ingest` (format from the path and
//! `Content-Type`), validated as a whole, and committed in one transaction with its
//! Idempotency-Key. A 2xx is sent only after the commit.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use faultline_ingest::{Format, IngestError};

use super::middleware::{IdempotencyContext, IdempotencyStored};
use super::Shared;
use crate::problem::Problem;
use crate::store::IngestOutcome;
use crate::ServerError;

/// Bodies up to this size are parsed on the async worker; larger ones on the blocking pool.
const INLINE_PARSE_BYTES: usize = 64 << 10;

fn gunzip(body: &[u8], max: usize) -> Result<Vec<u8>, IngestError> {
    let mut out = Vec::new();
    let mut dec = flate2::read::GzDecoder::new(body).take(max as u64 + 1);
    dec.read_to_end(&mut out).map_err(|e| IngestError::Malformed {
        format: Format::Batch,
        at: "Content-Encoding: gzip".into(),
        message: e.to_string(),
    })?;
    if out.len() > max {
        return Err(IngestError::BodyTooLarge {
            bytes: out.len(),
            max,
        });
    }
    Ok(out)
}

fn parse_request(
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    limits: &faultline_ingest::Limits,
) -> Result<faultline_ingest::Batch, IngestError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let format = Format::from_content_type(uri.path(), content_type)?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("identity") | Some("") => faultline_ingest::parse(format, body, limits),
        Some("gzip") | Some("x-gzip") => {
            let plain = gunzip(body, limits.max_decoded_bytes)?;
            faultline_ingest::parse(format, &plain, limits)
        }
        Some(other) => Err(IngestError::UnsupportedMediaType {
            content_type: format!("Content-Encoding: {other}"),
        }),
    }
}

/// Every ingest route.
pub(crate) async fn ingest(
    State(st): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    idem: Option<Extension<IdempotencyContext>>,
    body: Bytes,
) -> Response {
    let parsed = if body.len() <= INLINE_PARSE_BYTES {
        parse_request(&uri, &headers, &body, &st.limits)
    } else {
        let st2 = Arc::clone(&st);
        match tokio::task::spawn_blocking(move || parse_request(&uri, &headers, &body, &st2.limits)).await {
            Ok(r) => r,
            Err(e) => return ServerError::Internal(format!("parse task: {e}")).into_response(),
        }
    };
    let batch = match parsed {
        Ok(b) => b,
        Err(e) => {
            st.metrics
                .ingest_rejected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Problem::from_ingest(&e).into_response();
        }
    };
    let set = batch.into_signal_set();
    let online = st.online.get().filter(|_| st.config.online.enabled);
    let series_for_detection = if online.is_some() {
        set.series.clone()
    } else {
        Vec::new()
    };
    let logs_for_detection = online.map(|o| o.log_lines(&set.logs)).unwrap_or_default();
    let counts = crate::store::IngestCounts::of(&set);
    let body = serde_json::json!({ "accepted": counts }).to_string();
    let record = idem.map(|Extension(ctx)| ctx.record(200, body.clone()));
    let t = Instant::now();
    match st.store.ingest(set, record).await {
        Ok(IngestOutcome::Written(c)) => {
            st.metrics.ingested(&c, t.elapsed().as_micros() as u64);
            if let Some(o) = online {
                o.submit(&st, series_for_detection);
                o.submit_logs(&st, logs_for_detection);
            }
            let mut r = (StatusCode::OK, body).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r.extensions_mut().insert(IdempotencyStored);
            r
        }
        Ok(IngestOutcome::Replayed(rec)) => {
            // A concurrent request with the same key committed first.
            let mut r = (
                StatusCode::from_u16(rec.status).unwrap_or(StatusCode::OK),
                rec.body,
            )
                .into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            r.extensions_mut().insert(IdempotencyStored);
            r
        }
        Err(e) => e.into_response(),
    }
}

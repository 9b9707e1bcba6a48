//! The incident room: a static web page (HTML, one script, one stylesheet, committed under
//! `crates/server/static/` and embedded in the binary) over the JSON API, plus the few
//! read-only routes the page needs that the API does not already have.
//!
//! The static routes are public; the page asks for an API key when the API answers 401. Every
//! static response carries a strict Content-Security-Policy (this origin only, no inline
//! script or style), `X-Content-Type-Options: nosniff`, no framing, and an ETag with
//! `Cache-Control: no-cache`, so a browser revalidates and an upgraded server is never shown
//! with a stale script.
//!
//! Page-support routes (role viewer or above):
//! - `GET /v1/room/session`: who the caller is and which fix runners this server offers;
//! - `GET /v1/room/incidents`: every incident with its top hypothesis (one call for the list);
//! - `GET /v1/room/incidents/{id}/series`: the anomalous series of the latest report, read
//!   from the store over the incident's window and reduced per bucket to min and max (Jugel et
//!   al., 2014, "M4") so that a spike survives however many points a series has.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use faultline::core::{Anomaly, EvidenceRef, IncidentId, Series, SeriesKey, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::Shared;
use crate::auth::Principal;
use crate::ServerError;

/// Where the page lives.
pub(crate) const ROOM_PATH: &str = "/room";

const INDEX_HTML: &str = include_str!("../../static/index.html");
const APP_JS: &str = include_str!("../../static/app.js");
const APP_CSS: &str = include_str!("../../static/app.css");

/// This origin only; no inline script or style, no plugins, no framing, no form posts elsewhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Series charted at most by `/series` (`?max=` may ask for fewer or more, up to this).
const MAX_SERIES: usize = 50;
/// Default number of charted series.
const DEFAULT_SERIES: usize = 12;
/// Points per chart after reduction (`?points=`, clamped to 16..=5000).
const DEFAULT_POINTS: usize = 400;

struct Asset {
    body: &'static str,
    content_type: &'static str,
    etag: OnceLock<String>,
}

static INDEX: Asset = Asset {
    body: INDEX_HTML,
    content_type: "text/html; charset=utf-8",
    etag: OnceLock::new(),
};
static SCRIPT: Asset = Asset {
    body: APP_JS,
    content_type: "text/javascript; charset=utf-8",
    etag: OnceLock::new(),
};
static STYLE: Asset = Asset {
    body: APP_CSS,
    content_type: "text/css; charset=utf-8",
    etag: OnceLock::new(),
};

impl Asset {
    fn etag(&self) -> &str {
        self.etag.get_or_init(|| {
            let d = Sha256::digest(self.body.as_bytes());
            let hex: String = d.iter().take(12).map(|b| format!("{b:02x}")).collect();
            format!("\"{hex}\"")
        })
    }

    fn respond(&self, req: &HeaderMap) -> Response {
        let etag = self.etag();
        let fresh = req
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
        let mut resp = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            self.body.into_response()
        };
        let h = resp.headers_mut();
        if !fresh {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        }
        if let Ok(v) = HeaderValue::from_str(etag) {
            h.insert(header::ETAG, v);
        }
        security_headers(h);
        resp
    }
}

fn security_headers(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

/// `GET /`: to the room.
pub(crate) async fn root() -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    resp.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(ROOM_PATH));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// `GET /room`.
pub(crate) async fn index(headers: HeaderMap) -> Response {
    INDEX.respond(&headers)
}

/// `GET /room/app.js`.
pub(crate) async fn script(headers: HeaderMap) -> Response {
    SCRIPT.respond(&headers)
}

/// `GET /room/app.css`.
pub(crate) async fn style(headers: HeaderMap) -> Response {
    STYLE.respond(&headers)
}

/// `GET /v1/room/session`: the caller and what this server offers the fix wizard.
pub(crate) async fn session(State(st): State<Shared>, who: Option<Extension<Principal>>) -> Response {
    let principal = who.map(|Extension(p)| json!({"name": p.name, "role": p.role.name()}));
    Json(json!({
        "principal": principal,
        "runners": st.config.fix_runners,
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

/// `GET /v1/room/incidents`: every incident (newest onset first, as the store lists them) with
/// whether it was analysed, its top hypothesis and the id of the plan its report proposes.
pub(crate) async fn incidents(State(st): State<Shared>) -> Response {
    let run = async {
        let mut out = Vec::new();
        for inc in st.store.incidents().await? {
            let report = st.store.report(&inc.id).await?;
            let top = report.as_ref().and_then(|r| r.hypotheses.first()).map(|h| {
                json!({
                    "service": h.service,
                    "statement": h.statement,
                    "confidence": h.confidence,
                })
            });
            out.push(json!({
                "incident": inc,
                "analyzed": report.is_some(),
                "top": top,
                "hypotheses": report.as_ref().map_or(0, |r| r.hypotheses.len()),
                "anomalies": report.as_ref().map_or(0, |r| r.anomalies.len()),
                "plan": report.as_ref().and_then(|r| r.plan.as_ref()).map(|p| p.id.0.clone()),
            }));
        }
        Ok::<_, ServerError>(json!({ "incidents": out }))
    };
    match run.await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Query of `/series`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct SeriesQuery {
    /// Series charted at most.
    max: Option<usize>,
    /// Points per chart after reduction.
    points: Option<usize>,
}

/// `GET /v1/room/incidents/{id}/series`: `{incident, window, onset, series: [{key, points:
/// [[t_ms, value|null]…], anomalies: [id…], total_points}], omitted}` — the series with an
/// anomaly (strongest first), then those cited by series evidence.
pub(crate) async fn series(
    State(st): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<SeriesQuery>,
) -> Response {
    let run = async {
        let iid = IncidentId(id.clone());
        let incident = st
            .store
            .incident(&iid)
            .await?
            .ok_or_else(|| ServerError::NotFound {
                kind: "incident",
                id: id.clone(),
            })?;
        let report = st
            .store
            .report(&iid)
            .await?
            .ok_or_else(|| ServerError::NotFound {
                kind: "report (analyze the incident first)",
                id: id.clone(),
            })?;
        let max = q.max.unwrap_or(DEFAULT_SERIES).min(MAX_SERIES);
        let points = q.points.unwrap_or(DEFAULT_POINTS).clamp(16, 5000);
        let keys = charted_keys(&report.anomalies, &report.evidence);
        let omitted = keys.len().saturating_sub(max);
        let signals = st.store.signals(report.incident.window).await?;
        let by_key: BTreeMap<&SeriesKey, &Series> = signals.series.iter().map(|s| (&s.key, s)).collect();
        let series: Vec<Value> = keys
            .iter()
            .take(max)
            .map(|(key, anomalies)| {
                let (pts, total) = by_key
                    .get(key)
                    .map(|s| (reduce(&s.timestamps, &s.values, points), s.values.len()))
                    .unwrap_or_default();
                json!({
                    "key": key,
                    "points": pts,
                    "total_points": total,
                    "anomalies": anomalies,
                })
            })
            .collect();
        Ok::<_, ServerError>(json!({
            "incident": incident.id,
            "onset": incident.onset,
            "window": report.incident.window,
            "series": series,
            "omitted": omitted,
        }))
    };
    match run.await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Series keys to chart with their anomaly ids: anomalous series first, strongest anomaly
/// first (ties by key), then series cited by evidence that have no anomaly.
fn charted_keys<'a>(
    anomalies: &'a [Anomaly],
    evidence: &'a [faultline::core::Evidence],
) -> Vec<(&'a SeriesKey, Vec<&'a str>)> {
    let mut by_key: BTreeMap<&SeriesKey, (f64, Vec<&str>)> = BTreeMap::new();
    for a in anomalies {
        let e = by_key.entry(&a.series).or_insert((0.0, Vec::new()));
        if a.score.is_finite() {
            e.0 = e.0.max(a.score);
        }
        e.1.push(a.id.0.as_str());
    }
    let mut out: Vec<(&SeriesKey, f64, Vec<&str>)> =
        by_key.into_iter().map(|(k, (s, v))| (k, s, v)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut out: Vec<(&SeriesKey, Vec<&str>)> = out.into_iter().map(|(k, _, v)| (k, v)).collect();
    for e in evidence {
        if let EvidenceRef::Series { key, .. } = &e.reference {
            if !out.iter().any(|(k, _)| *k == key) {
                out.push((key, Vec::new()));
            }
        }
    }
    out
}

/// Reduces a series to about `target` points: per time bucket, the minimum and the maximum in
/// time order; a bucket holding only non-finite values becomes one `null` (a gap in the line).
fn reduce(ts: &[Timestamp], vs: &[f64], target: usize) -> Vec<(i64, Option<f64>)> {
    let n = ts.len().min(vs.len());
    let ms = |t: Timestamp| t.0.div_euclid(1_000_000);
    let val = |v: f64| v.is_finite().then_some(v);
    if n <= target {
        return (0..n).map(|i| (ms(ts[i]), val(vs[i]))).collect();
    }
    let buckets = (target / 2).max(1);
    let mut out = Vec::with_capacity(buckets * 2);
    for b in 0..buckets {
        let lo = b * n / buckets;
        let hi = ((b + 1) * n / buckets).min(n);
        if lo >= hi {
            continue;
        }
        let mut min: Option<usize> = None;
        let mut max: Option<usize> = None;
        for i in lo..hi {
            if !vs[i].is_finite() {
                continue;
            }
            if min.is_none_or(|m| vs[i] < vs[m]) {
                min = Some(i);
            }
            if max.is_none_or(|m| vs[i] > vs[m]) {
                max = Some(i);
            }
        }
        match (min, max) {
            (Some(a), Some(b)) if a == b => out.push((ms(ts[a]), Some(vs[a]))),
            (Some(a), Some(b)) => {
                let (first, second) = if a < b { (a, b) } else { (b, a) };
                out.push((ms(ts[first]), Some(vs[first])));
                out.push((ms(ts[second]), Some(vs[second])));
            }
            _ => out.push((ms(ts[lo]), None)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduction_keeps_extremes_in_time_order_and_marks_gaps() {
        let ts: Vec<Timestamp> = (0..1000).map(|i| Timestamp(i * 1_000_000_000)).collect();
        let mut vs: Vec<f64> = (0..1000).map(|i| (i % 7) as f64).collect();
        vs[500] = 1e6;
        vs[10..20].fill(f64::NAN);
        let out = reduce(&ts, &vs, 200);
        assert!(out.len() <= 200, "{}", out.len());
        assert!(
            out.iter().any(|&(t, v)| t == 500_000 && v == Some(1e6)),
            "the spike survives"
        );
        assert!(out.windows(2).all(|w| w[0].0 <= w[1].0), "time order");
        let short = reduce(&ts[..10], &vs[..10], 200);
        assert_eq!(short.len(), 10, "short series pass through");
        let gaps = reduce(&ts[..40], &vs[..40], 16);
        assert!(
            gaps.iter().any(|&(_, v)| v.is_none()),
            "an all-NaN bucket is a gap"
        );
    }

    #[test]
    fn assets_carry_their_content_types_and_stable_etags() {
        assert!(INDEX.body.contains("app.js") && INDEX.body.contains("app.css"));
        assert_eq!(INDEX.etag(), INDEX.etag());
        assert_ne!(INDEX.etag(), SCRIPT.etag());
        assert!(SCRIPT.content_type.starts_with("text/javascript"));
        assert!(STYLE.content_type.starts_with("text/css"));
    }

    #[test]
    fn the_page_needs_no_inline_script_or_style_and_nothing_remote() {
        for (name, body) in [
            ("index.html", INDEX_HTML),
            ("app.js", APP_JS),
            ("app.css", APP_CSS),
        ] {
            // The SVG namespace is a name, not a load.
            let rest = body.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !rest.contains("http://") && !rest.contains("https://"),
                "{name} loads nothing remote"
            );
            assert!(
                !rest.contains("//cdn") && !rest.contains("@import"),
                "{name} loads nothing remote"
            );
        }
        assert!(!INDEX_HTML.contains("<script>"), "no inline script (CSP)");
        assert!(!INDEX_HTML.contains("style="), "no inline style (CSP)");
        assert!(!INDEX_HTML.contains("<style"), "no inline style (CSP)");
    }
}

//! Alertmanager webhook payloads (`version: "4"`) and Grafana-managed alert webhooks, which
//! share the skeleton (Prometheus docs, `<webhook_config>`; Grafana docs, "webhook notifier").
//!
//! Each element of `alerts[]` becomes one [`Alert`]. Decisions:
//! - `endsAt` is kept only for resolved alerts: firing alerts carry Go's zero time
//!   (`0001-01-01T00:00:00Z`) or an estimated future end, neither of which is an end.
//! - `fingerprint` is kept as sent; when absent it is derived from the labels (FNV-1a via the
//!   core's stable hasher, as the bundle reader does), so firing and resolved forms match.
//! - `generatorURL` and Grafana's `dashboardURL`, `panelURL`, `silenceURL` and `values` are
//!   kept as annotations (`generator_url`, `dashboard_url`, `panel_url`, `silence_url`,
//!   `value.A`, …); an annotation already set by the sender wins.
//! - The group's `commonLabels` are not merged: every alert already carries its full labels.

use std::collections::BTreeMap;

use faultline_core::id::StableHasher;
use faultline_core::{Alert, AlertStatus, Labels, Timestamp};
use serde::Deserialize;

use crate::batch::Builder;
use crate::{json, Batch, Format, IngestError, Limits};

const F: Format = Format::Alertmanager;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Webhook {
    alerts: Vec<WireAlert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAlert {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: String,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default, rename = "dashboardURL")]
    dashboard_url: Option<String>,
    #[serde(default, rename = "panelURL")]
    panel_url: Option<String>,
    #[serde(default, rename = "silenceURL")]
    silence_url: Option<String>,
    #[serde(default)]
    values: Option<BTreeMap<String, serde_json::Value>>,
}

/// The fingerprint of an alert that was sent without one: 16 hex digits of a stable hash of
/// its labels (the same derivation as the bundle reader's).
pub fn fingerprint(labels: &Labels) -> String {
    format!("{:016x}", StableHasher::hash_str(&labels.to_string()))
}

/// Parses an Alertmanager (or Grafana) webhook body.
pub(crate) fn parse(body: &[u8], limits: &Limits) -> Result<Batch, IngestError> {
    let hook: Webhook = json::decode(F, body)?;
    let mut b = Builder::new(F, limits);
    for (i, w) in hook.alerts.into_iter().enumerate() {
        let at = || format!("/alerts/{i}");
        let status = match w.status.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("firing") | Some("alerting") => AlertStatus::Firing,
            Some("resolved") | Some("ok") | Some("normal") => AlertStatus::Resolved,
            Some(_) => {
                return Err(IngestError::invalid(
                    F,
                    at(),
                    "status",
                    w.status.as_deref().unwrap_or_default(),
                    "expected \"firing\" or \"resolved\"",
                ))
            }
        };
        let starts_at = go_time(&w.starts_at)
            .map_err(|r| IngestError::invalid(F, at(), "startsAt", &w.starts_at, r))?
            .ok_or_else(|| IngestError::invalid(F, at(), "startsAt", &w.starts_at, "zero time"))?;
        let ends_at = match (&w.ends_at, status) {
            (Some(t), AlertStatus::Resolved) => {
                go_time(t).map_err(|r| IngestError::invalid(F, at(), "endsAt", t, r))?
            }
            _ => None,
        };
        let labels = Labels::from(w.labels);
        let mut annotations = w.annotations;
        let mut extra = |k: &str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                annotations.entry(k.to_owned()).or_insert(v);
            }
        };
        extra("generator_url", w.generator_url);
        extra("dashboard_url", w.dashboard_url);
        extra("panel_url", w.panel_url);
        extra("silence_url", w.silence_url);
        for (k, v) in w.values.unwrap_or_default() {
            let text = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            extra(&format!("value.{k}"), Some(text));
        }
        let fingerprint = match w.fingerprint.filter(|f| !f.is_empty()) {
            Some(f) => f,
            None => fingerprint(&labels),
        };
        let alert = Alert {
            starts_at,
            ends_at,
            status,
            labels,
            annotations: Labels::from(annotations),
            fingerprint,
        };
        b.alert(alert, &at)?;
    }
    Ok(b.finish())
}

/// An RFC 3339 time as Go writes it; Go's zero time (year 1) is `None`.
fn go_time(text: &str) -> Result<Option<Timestamp>, String> {
    if text.is_empty() || text.starts_with("0001-01-01") {
        return Ok(None);
    }
    Timestamp::parse(text).map(Some).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_zero_time_is_no_time() {
        assert_eq!(go_time("0001-01-01T00:00:00Z"), Ok(None));
        assert!(go_time("2024-05-14T10:32:30.512Z").unwrap().is_some());
        assert!(go_time("soon").is_err());
    }

    #[test]
    fn bad_start_names_alert_and_field() {
        let body = br#"{"alerts":[{"labels":{"a":"b"},"startsAt":"2024-05-14T10:00:00Z"},{"labels":{},"startsAt":"noon"}]}"#;
        let e = parse(body, &Limits::default()).unwrap_err();
        let (_, detail, pointer) = e.problem();
        assert_eq!(pointer.as_deref(), Some("/alerts/1/startsAt"));
        assert!(detail.contains("noon"));
    }
}

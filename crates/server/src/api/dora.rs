//! `GET /v1/metrics/dora`: the four DORA software-delivery metrics over a window, computed
//! from the stored change events and incidents by one pure function, [`compute`].
//!
//! - **Deployment frequency**: change events of kind `deploy` in the window, and per day.
//! - **Lead time for changes**: deploy time minus commit time, for every deploy event that
//!   carries one. Read from the event's attributes (every member of a `POST /v1/events` object
//!   besides `timestamp`, `service`, `kind`, `version`, `description` is one): a `commits`
//!   array (GitHub push-webhook shape, each commit's `timestamp`, `time` or `committed_at`),
//!   else the first of [`COMMIT_TIME_ATTRIBUTES`]. RFC 3339 text or epoch seconds/ms.
//!   Median and p90 (nearest rank); null with a reason when no deploy carries a commit time.
//! - **Change failure rate**: the share of the window's deploys that caused an incident. An
//!   incident is pinned on a deploy (1) by its analysis, when the top-ranked hypothesis is a
//!   `deploy` change of that service at that time; otherwise (2), when the top hypothesis is
//!   not a change at all or the incident was not analysed, by the *horizon rule*: the latest
//!   deploy of one of the incident's services at most `horizon` (default 24 h) before its
//!   onset. A top hypothesis naming another kind of change (config, flag) pins it on no deploy.
//!   Each incident fails at most one deploy.
//! - **Time to restore**: onset to resolution (`POST /v1/incidents/{id}/resolve`, recorded in
//!   the audit log) of the incidents whose onset is in the window; median and p90.
//!
//! Each metric carries its performance band, with the thresholds of the DORA *Accelerate State
//! of DevOps Report 2023* (Google Cloud / DORA, 2023), whose clusters are, for elite / high /
//! medium / low: deploys on demand / daily to weekly / weekly to monthly / monthly or less;
//! lead time < 1 day / 1 day–1 week / 1 week–1 month / longer; change failure rate 5 % /
//! 10 % / 15 % / 64 %; recovery < 1 hour / < 1 day / 1 day–1 week / longer. The report's
//! ranges leave gaps and overlaps; [`band_frequency`], [`band_lead_time`], [`band_failure_rate`]
//! and [`band_restore`] close them as documented on each.
//!
//! Filters: `service=` keeps deploys of that service and incidents listing it;
//! `environment=` keeps deploys whose `environment` / `env` / `deployment.environment`
//! attribute equals it (deploys without one are left out) and incidents of that environment.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use faultline::core::{
    Cause, ChangeEvent, ChangeKind, Incident, IncidentStatus, ServiceId, TimeWindow, Timestamp,
};
use serde::{Deserialize, Serialize};

use super::Shared;
use crate::{Result, ServerError};

/// Event attributes read, in this order, as the commit (or change creation) time of a deploy.
pub(crate) const COMMIT_TIME_ATTRIBUTES: [&str; 5] = [
    "commit_time",
    "commit_timestamp",
    "committed_at",
    "commit_created_at",
    "change_created_at",
];
/// Event attributes read, in this order, as a deploy's environment.
pub(crate) const ENVIRONMENT_ATTRIBUTES: [&str; 4] = [
    "environment",
    "env",
    "deployment.environment",
    "deployment.environment.name",
];

const SOURCE: &str = "DORA, Accelerate State of DevOps Report 2023 (performance clusters)";
const DAY_SECS: f64 = 86_400.0;

/// A DORA performance band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Band {
    Elite,
    High,
    Medium,
    Low,
}

/// Deploys per day: elite at least daily (the report: on demand, several a day), high at least
/// weekly, medium at least monthly (30 days), low below.
pub(crate) fn band_frequency(per_day: f64) -> Band {
    if per_day >= 1.0 {
        Band::Elite
    } else if per_day >= 1.0 / 7.0 {
        Band::High
    } else if per_day >= 1.0 / 30.0 {
        Band::Medium
    } else {
        Band::Low
    }
}

/// Median lead time: elite under a day, high up to a week, medium up to 30 days, low beyond.
pub(crate) fn band_lead_time(secs: f64) -> Band {
    if secs < DAY_SECS {
        Band::Elite
    } else if secs <= 7.0 * DAY_SECS {
        Band::High
    } else if secs <= 30.0 * DAY_SECS {
        Band::Medium
    } else {
        Band::Low
    }
}

/// Change failure rate (0–1): the clusters' values 5 %, 10 %, 15 % read as upper bounds.
pub(crate) fn band_failure_rate(rate: f64) -> Band {
    if rate <= 0.05 {
        Band::Elite
    } else if rate <= 0.10 {
        Band::High
    } else if rate <= 0.15 {
        Band::Medium
    } else {
        Band::Low
    }
}

/// Median time to restore: elite under an hour, high under a day, medium up to a week, low
/// beyond.
pub(crate) fn band_restore(secs: f64) -> Band {
    if secs < 3600.0 {
        Band::Elite
    } else if secs < DAY_SECS {
        Band::High
    } else if secs <= 7.0 * DAY_SECS {
        Band::Medium
    } else {
        Band::Low
    }
}

/// What the analysis of an incident blames.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Blame {
    /// Not analysed, or the top hypothesis is not a change.
    Unattributed,
    /// The top hypothesis is a change of `service` at `ts`; `deploy` says if it is a deploy.
    Change {
        service: ServiceId,
        ts: Timestamp,
        deploy: bool,
    },
}

/// An incident with what the server knows about its end and its cause.
#[derive(Debug, Clone)]
pub(crate) struct IncidentFacts {
    pub incident: Incident,
    /// When it was resolved (from the audit log).
    pub resolved_at: Option<Timestamp>,
    pub blame: Blame,
}

/// The query of [`compute`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DoraQuery {
    pub window_secs: i64,
    pub horizon_secs: i64,
    pub service: Option<String>,
    pub environment: Option<String>,
}

/// Median (mean of the middle two for an even count) and p90 (nearest rank) of `v`.
fn summarize(v: &mut [f64]) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    let rank = ((0.9 * n as f64).ceil() as usize).clamp(1, n);
    Some((median, v[rank - 1]))
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Frequency {
    pub deploys: u64,
    pub per_day: f64,
    pub band: Band,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct LeadTime {
    /// Changes (commits) measured.
    pub changes: u64,
    /// Deploys in the window that carried a commit time.
    pub deploys_with_commit_time: u64,
    /// Commit times after their deploy, or unreadable, left out.
    pub ignored: u64,
    /// Median lead time, seconds (null when nothing was measured).
    pub median_secs: Option<f64>,
    /// 90th percentile (nearest rank), seconds.
    pub p90_secs: Option<f64>,
    pub band: Option<Band>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub attributes_read: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct FailureRate {
    pub deploys: u64,
    pub failed: u64,
    pub rate: Option<f64>,
    pub band: Option<Band>,
    /// Failed deploys pinned by an incident's analysis.
    pub by_analysis: u64,
    /// Failed deploys pinned by the horizon rule.
    pub by_horizon: u64,
    pub horizon_secs: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Restore {
    /// Incidents with onset in the window that were resolved (with a recorded time).
    pub resolved: u64,
    /// Incidents with onset in the window still open.
    pub unresolved: u64,
    /// Marked resolved without a recorded resolution time (left out).
    pub resolved_without_time: u64,
    /// Median time to restore, seconds (null when no incident was resolved).
    pub median_secs: Option<f64>,
    /// 90th percentile (nearest rank), seconds.
    pub p90_secs: Option<f64>,
    pub band: Option<Band>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The answer of `GET /v1/metrics/dora`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Dora {
    pub window: TimeWindow,
    pub window_days: f64,
    pub service: Option<String>,
    pub environment: Option<String>,
    pub deployment_frequency: Frequency,
    pub lead_time_for_changes: LeadTime,
    pub change_failure_rate: FailureRate,
    pub time_to_restore: Restore,
    pub bands_source: &'static str,
}

fn attr_time(v: &serde_json::Value) -> Option<Timestamp> {
    match v {
        serde_json::Value::String(s) => Timestamp::parse(s).ok(),
        serde_json::Value::Number(n) => n.as_f64().and_then(|f| Timestamp::from_epoch_number(f).ok()),
        _ => None,
    }
}

fn environment_of(e: &ChangeEvent) -> Option<&str> {
    ENVIRONMENT_ATTRIBUTES
        .iter()
        .find_map(|k| e.attributes.get(*k).and_then(|v| v.as_str()))
}

/// Commit times of a deploy: `Some(times)` when it carries any (readable or not: unreadable
/// ones are `None` entries), `None` when it carries none.
fn commit_times(e: &ChangeEvent) -> Option<Vec<Option<Timestamp>>> {
    if let Some(serde_json::Value::Array(commits)) = e.attributes.get("commits") {
        let times: Vec<Option<Timestamp>> = commits
            .iter()
            .map(|c| {
                ["timestamp", "time", "committed_at"]
                    .iter()
                    .find_map(|k| c.get(*k))
                    .and_then(attr_time)
            })
            .collect();
        if !times.is_empty() {
            return Some(times);
        }
    }
    COMMIT_TIME_ATTRIBUTES
        .iter()
        .find_map(|k| e.attributes.get(*k))
        .map(|v| vec![attr_time(v)])
}

/// The four metrics over `(now - window, now]` (pure: same input, same answer).
pub(crate) fn compute(
    events: &[ChangeEvent],
    incidents: &[IncidentFacts],
    q: &DoraQuery,
    now: Timestamp,
) -> Dora {
    let start = now.sub(faultline::core::DurationNs::from_secs(q.window_secs));
    let in_window = |t: Timestamp| t > start && t <= now;
    let days = q.window_secs as f64 / DAY_SECS;
    let service_ok = |s: &ServiceId| q.service.as_deref().is_none_or(|want| s.as_str() == want);
    // Every deploy in scope (also before the window: the horizon rule may pin on them).
    let mut deploys: Vec<&ChangeEvent> = events
        .iter()
        .filter(|e| e.kind == ChangeKind::Deploy && e.ts <= now && service_ok(&e.service))
        .filter(|e| {
            q.environment
                .as_deref()
                .is_none_or(|want| environment_of(e) == Some(want))
        })
        .collect();
    deploys.sort_by_key(|e| (e.ts, e.service.as_str().to_owned()));
    let window_deploys: Vec<usize> = (0..deploys.len()).filter(|&i| in_window(deploys[i].ts)).collect();
    let n_deploys = window_deploys.len() as u64;

    let per_day = if days > 0.0 { n_deploys as f64 / days } else { 0.0 };
    let deployment_frequency = Frequency {
        deploys: n_deploys,
        per_day,
        band: band_frequency(per_day),
    };

    // Lead time.
    let (mut lead, mut with_commit, mut ignored) = (Vec::new(), 0u64, 0u64);
    for &i in &window_deploys {
        let Some(times) = commit_times(deploys[i]) else {
            continue;
        };
        with_commit += 1;
        for t in times {
            match t {
                Some(t) if t <= deploys[i].ts => lead.push(deploys[i].ts.since(t).as_secs_f64()),
                _ => ignored += 1,
            }
        }
    }
    let lead_summary = summarize(&mut lead);
    let lead_time_for_changes = LeadTime {
        changes: lead.len() as u64,
        deploys_with_commit_time: with_commit,
        ignored,
        band: lead_summary.map(|s| band_lead_time(s.0)),
        reason: lead_summary.is_none().then(|| {
            if n_deploys == 0 {
                "no deploy in the window".to_owned()
            } else if with_commit == 0 {
                format!(
                    "no deploy event in the window carries a commit time (a commits array or one of {})",
                    COMMIT_TIME_ATTRIBUTES.join(", ")
                )
            } else {
                "no readable commit time at or before its deploy".to_owned()
            }
        }),
        median_secs: lead_summary.map(|s| s.0),
        p90_secs: lead_summary.map(|s| s.1),
        attributes_read: {
            let mut a = vec!["commits[].timestamp"];
            a.extend(COMMIT_TIME_ATTRIBUTES);
            a
        },
    };

    // Change failure rate: which deploys (indices into `deploys`) an incident pins.
    let incident_ok = |inc: &Incident| {
        q.service
            .as_deref()
            .is_none_or(|want| inc.services.iter().any(|s| s.as_str() == want))
            && q.environment
                .as_deref()
                .is_none_or(|want| inc.environment.as_deref() == Some(want))
    };
    let horizon = faultline::core::DurationNs::from_secs(q.horizon_secs);
    let mut failed: HashMap<usize, bool> = HashMap::new(); // deploy index -> by analysis
    for f in incidents.iter().filter(|f| f.incident.onset <= now) {
        match &f.blame {
            Blame::Change {
                service,
                ts,
                deploy: true,
            } => {
                // Within a second: report times and event times are the same value, rounding aside.
                if let Some(i) = deploys
                    .iter()
                    .position(|d| d.service == *service && d.ts.since(*ts).0.abs() <= 1_000_000_000)
                {
                    failed.insert(i, true);
                }
            }
            Blame::Change { deploy: false, .. } => {}
            Blame::Unattributed => {
                if !incident_ok(&f.incident) {
                    continue;
                }
                let onset = f.incident.onset;
                let pinned = deploys.iter().rposition(|d| {
                    d.ts <= onset && onset.since(d.ts) <= horizon && f.incident.services.contains(&d.service)
                });
                if let Some(i) = pinned {
                    failed.entry(i).or_insert(false);
                }
            }
        }
    }
    let failed_in_window: Vec<bool> = window_deploys
        .iter()
        .filter_map(|i| failed.get(i).copied())
        .collect();
    let by_analysis = failed_in_window.iter().filter(|&&a| a).count() as u64;
    let n_failed = failed_in_window.len() as u64;
    let rate = (n_deploys > 0).then(|| n_failed as f64 / n_deploys as f64);
    let change_failure_rate = FailureRate {
        deploys: n_deploys,
        failed: n_failed,
        rate,
        band: rate.map(band_failure_rate),
        by_analysis,
        by_horizon: n_failed - by_analysis,
        horizon_secs: q.horizon_secs,
        reason: rate.is_none().then(|| "no deploy in the window".to_owned()),
    };

    // Time to restore.
    let (mut restore, mut unresolved, mut no_time) = (Vec::new(), 0u64, 0u64);
    for f in incidents
        .iter()
        .filter(|f| in_window(f.incident.onset) && incident_ok(&f.incident))
    {
        match (f.resolved_at, f.incident.status) {
            (Some(r), _) if r >= f.incident.onset && r <= now => {
                restore.push(r.since(f.incident.onset).as_secs_f64())
            }
            (_, IncidentStatus::Resolved) => no_time += 1,
            _ => unresolved += 1,
        }
    }
    let restore_summary = summarize(&mut restore);
    let time_to_restore = Restore {
        resolved: restore.len() as u64,
        unresolved,
        resolved_without_time: no_time,
        band: restore_summary.map(|s| band_restore(s.0)),
        reason: restore_summary.is_none().then(|| {
            if unresolved + no_time == 0 {
                "no incident with onset in the window".to_owned()
            } else {
                "no incident with onset in the window was resolved (POST /v1/incidents/{id}/resolve)"
                    .to_owned()
            }
        }),
        median_secs: restore_summary.map(|s| s.0),
        p90_secs: restore_summary.map(|s| s.1),
    };

    Dora {
        window: TimeWindow { start, end: now },
        window_days: days,
        service: q.service.clone(),
        environment: q.environment.clone(),
        deployment_frequency,
        lead_time_for_changes,
        change_failure_rate,
        time_to_restore,
        bands_source: SOURCE,
    }
}

/// `30d`, `24h`, `90m`, `3600s`, `2w` → seconds.
pub(crate) fn parse_span(field: &str, text: &str) -> Result<i64> {
    let t = text.trim();
    let bad = || {
        ServerError::BadRequest(format!(
            "{field}: {:?} is not a span like 30d, 7d, 24h or 90m",
            t.chars().take(40).collect::<String>()
        ))
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let n: i64 = t[..split].parse().map_err(|_| bad())?;
    let unit = match &t[split..] {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    let secs = n.checked_mul(unit).ok_or_else(bad)?;
    if secs <= 0 {
        return Err(bad());
    }
    Ok(secs)
}

/// Longest window (and horizon) accepted: about a year.
const MAX_SPAN_SECS: i64 = 366 * 86_400;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DoraParams {
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    horizon: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    environment: Option<String>,
}

impl DoraParams {
    fn query(&self) -> Result<DoraQuery> {
        let window_secs = parse_span("window", self.window.as_deref().unwrap_or("30d"))?;
        let horizon_secs = parse_span("horizon", self.horizon.as_deref().unwrap_or("24h"))?;
        for (f, v) in [("window", window_secs), ("horizon", horizon_secs)] {
            if v > MAX_SPAN_SECS {
                return Err(ServerError::BadRequest(format!("{f}: longer than 366 days")));
            }
        }
        let nonempty = |s: &Option<String>| s.as_ref().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        Ok(DoraQuery {
            window_secs,
            horizon_secs,
            service: nonempty(&self.service),
            environment: nonempty(&self.environment),
        })
    }
}

/// The resolution time of every incident resolved through the API (the latest record wins).
pub(crate) fn resolutions(records: &[faultline::core::AuditRecord]) -> HashMap<String, Timestamp> {
    let mut out = HashMap::new();
    for r in records {
        let p = &r.payload;
        if p.get("event").and_then(|e| e.as_str()) != Some(super::resolve::RESOLVED_EVENT) {
            continue;
        }
        let (Some(id), Some(at)) = (
            p.get("incident").and_then(|v| v.as_str()),
            p.get("resolved_at").and_then(attr_time),
        ) else {
            continue;
        };
        out.insert(id.to_owned(), at);
    }
    out
}

fn blame_of(report: Option<&faultline::core::IncidentReport>) -> Blame {
    let top = report.and_then(|r| r.hypotheses.iter().min_by_key(|h| h.rank));
    match top.map(|h| (&h.service, &h.cause)) {
        Some((service, Cause::Change { change_kind, ts, .. })) => Blame::Change {
            service: service.clone(),
            ts: *ts,
            deploy: ChangeKind::parse(change_kind) == ChangeKind::Deploy,
        },
        _ => Blame::Unattributed,
    }
}

async fn gather(st: &Shared, q: &DoraQuery, now: Timestamp) -> Result<Dora> {
    let from = now.sub(faultline::core::DurationNs::from_secs(
        q.window_secs + q.horizon_secs,
    ));
    // The Store has no events-only query: this reads the window's signals and keeps the
    // change events.
    let events = st
        .store
        .signals(TimeWindow {
            start: from,
            end: now,
        })
        .await?
        .events;
    let resolved = resolutions(&st.store.audit().await?);
    let mut facts = Vec::new();
    for incident in st.store.incidents().await? {
        if incident.onset < from || incident.onset > now {
            continue;
        }
        let report = st.store.report(&incident.id).await?;
        facts.push(IncidentFacts {
            resolved_at: resolved.get(&incident.id.0).copied(),
            blame: blame_of(report.as_ref()),
            incident,
        });
    }
    Ok(compute(&events, &facts, q, now))
}

pub(crate) async fn dora(State(st): State<Shared>, Query(p): Query<DoraParams>) -> Response {
    let run = async {
        let q = p.query()?;
        gather(&st, &q, Timestamp::from_secs(super::now_secs())).await
    };
    match run.await {
        Ok(d) => Json(d).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline::core::IncidentId;

    const NOW: i64 = 1_700_000_000;
    const H: i64 = 3600;
    const D: i64 = 86_400;

    fn deploy(service: &str, at: i64, attrs: serde_json::Value) -> ChangeEvent {
        ChangeEvent {
            ts: Timestamp::from_secs(at),
            service: ServiceId::new(service),
            kind: ChangeKind::Deploy,
            version: None,
            description: None,
            attributes: attrs
                .as_object()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            source: None,
        }
    }

    fn incident(id: &str, service: &str, onset: i64, resolved: Option<i64>, blame: Blame) -> IncidentFacts {
        let onset = Timestamp::from_secs(onset);
        IncidentFacts {
            incident: Incident {
                id: IncidentId(id.into()),
                title: String::new(),
                onset,
                window: TimeWindow {
                    start: onset,
                    end: onset,
                },
                environment: Some("prod".into()),
                services: vec![ServiceId::new(service)],
                severity: None,
                status: if resolved.is_some() {
                    IncidentStatus::Resolved
                } else {
                    IncidentStatus::Open
                },
            },
            resolved_at: resolved.map(Timestamp::from_secs),
            blame,
        }
    }

    fn q(window_secs: i64) -> DoraQuery {
        DoraQuery {
            window_secs,
            horizon_secs: D,
            service: None,
            environment: None,
        }
    }

    #[test]
    fn hand_computed_history() {
        // 7-day window. Deploys: api at -6d (commit 2h earlier), -4d (commit 30h earlier),
        // -2d (commits 1h and 3h earlier), web at -3d (no commit time). One deploy outside.
        let events = vec![
            deploy(
                "api",
                NOW - 9 * D,
                serde_json::json!({"commit_time": NOW - 9 * D - H}),
            ),
            deploy(
                "api",
                NOW - 6 * D,
                serde_json::json!({"commit_time": NOW - 6 * D - 2 * H}),
            ),
            deploy(
                "api",
                NOW - 4 * D,
                serde_json::json!({"committed_at": (NOW - 4 * D - 30 * H).to_string()}),
            ),
            deploy(
                "api",
                NOW - 2 * D,
                serde_json::json!({"commits": [{"timestamp": NOW - 2 * D - H}, {"timestamp": NOW - 2 * D - 3 * H}]}),
            ),
            deploy("web", NOW - 3 * D, serde_json::json!({})),
        ];
        let incidents = vec![
            // Horizon rule: api incident 5 h after the -4d deploy (resolved after 30 min).
            incident(
                "a",
                "api",
                NOW - 4 * D + 5 * H,
                Some(NOW - 4 * D + 5 * H + 1800),
                Blame::Unattributed,
            ),
            // Analysis blames the -6d deploy although the onset is 3 days later (resolved after 2 h).
            incident(
                "b",
                "api",
                NOW - 3 * D,
                Some(NOW - 3 * D + 2 * H),
                Blame::Change {
                    service: ServiceId::new("api"),
                    ts: Timestamp::from_secs(NOW - 6 * D),
                    deploy: true,
                },
            ),
            // Blamed on a config change: pins no deploy (still open).
            incident(
                "c",
                "web",
                NOW - 3 * D + H,
                None,
                Blame::Change {
                    service: ServiceId::new("web"),
                    ts: Timestamp::from_secs(NOW - 3 * D + 1),
                    deploy: false,
                },
            ),
            // 25 h after web's deploy: outside the horizon, pins nothing (resolved after 6 h).
            incident(
                "d",
                "web",
                NOW - 2 * D + H,
                Some(NOW - 2 * D + 7 * H),
                Blame::Unattributed,
            ),
        ];
        let d = compute(&events, &incidents, &q(7 * D), Timestamp::from_secs(NOW));
        assert_eq!(d.deployment_frequency.deploys, 4);
        assert!((d.deployment_frequency.per_day - 4.0 / 7.0).abs() < 1e-12);
        assert_eq!(d.deployment_frequency.band, Band::High);
        // Lead times: 2h, 30h, 1h, 3h → median (2h+3h)/2 = 2.5h, p90 = rank ceil(3.6)=4 → 30h.
        let l = &d.lead_time_for_changes;
        assert_eq!((l.changes, l.deploys_with_commit_time, l.ignored), (4, 3, 0));
        assert_eq!(
            (l.median_secs, l.p90_secs),
            (Some(2.5 * H as f64), Some(30.0 * H as f64))
        );
        assert_eq!(l.band, Some(Band::Elite));
        // Failures: -4d (horizon, incident a) and -6d (analysis, incident b) → 2 of 4.
        let c = &d.change_failure_rate;
        assert_eq!((c.failed, c.by_analysis, c.by_horizon), (2, 1, 1));
        assert_eq!(c.rate, Some(0.5));
        assert_eq!(c.band, Some(Band::Low));
        // Restore: a 30 min, b 2 h, d 6 h → median 2 h, p90 rank ceil(2.7) = 3 → 6 h; c open.
        let r = &d.time_to_restore;
        assert_eq!((r.resolved, r.unresolved), (3, 1));
        assert_eq!((r.median_secs, r.p90_secs), (Some(7200.0), Some(6.0 * H as f64)));
        assert_eq!(r.band, Some(Band::High));
    }

    #[test]
    fn each_incident_pins_only_the_latest_deploy_before_it() {
        let events = vec![
            deploy("api", NOW - 10 * H, serde_json::json!({})),
            deploy("api", NOW - 5 * H, serde_json::json!({})),
            deploy("api", NOW - 4 * H, serde_json::json!({})),
        ];
        let incidents = vec![incident("x", "api", NOW - 3 * H, None, Blame::Unattributed)];
        let d = compute(&events, &incidents, &q(D), Timestamp::from_secs(NOW));
        assert_eq!(
            (d.change_failure_rate.deploys, d.change_failure_rate.failed),
            (3, 1)
        );
        assert_eq!(d.lead_time_for_changes.median_secs, None);
        assert!(d
            .lead_time_for_changes
            .reason
            .as_deref()
            .unwrap()
            .contains("commit_time"));
    }

    #[test]
    fn empty_history_gives_nulls_with_reasons() {
        let d = compute(&[], &[], &q(30 * D), Timestamp::from_secs(NOW));
        assert_eq!(d.deployment_frequency.band, Band::Low);
        assert_eq!(d.change_failure_rate.rate, None);
        assert!(d.change_failure_rate.reason.is_some());
        assert!(d.time_to_restore.median_secs.is_none() && d.time_to_restore.reason.is_some());
        let v = serde_json::to_value(&d).unwrap();
        assert!(v["lead_time_for_changes"]["median_secs"].is_null());
        assert!(v["lead_time_for_changes"]["reason"]
            .as_str()
            .unwrap()
            .contains("no deploy"));
    }

    #[test]
    fn filters_select_service_and_environment() {
        let events = vec![
            deploy("api", NOW - H, serde_json::json!({"environment": "prod"})),
            deploy("api", NOW - 2 * H, serde_json::json!({"env": "staging"})),
            deploy("web", NOW - 3 * H, serde_json::json!({"environment": "prod"})),
            deploy("web", NOW - 4 * H, serde_json::json!({})),
        ];
        let mut qq = q(D);
        qq.environment = Some("prod".into());
        assert_eq!(
            compute(&events, &[], &qq, Timestamp::from_secs(NOW))
                .deployment_frequency
                .deploys,
            2
        );
        qq.service = Some("api".into());
        assert_eq!(
            compute(&events, &[], &qq, Timestamp::from_secs(NOW))
                .deployment_frequency
                .deploys,
            1
        );
        let mut qs = q(D);
        qs.service = Some("web".into());
        assert_eq!(
            compute(&events, &[], &qs, Timestamp::from_secs(NOW))
                .deployment_frequency
                .deploys,
            2
        );
    }

    #[test]
    fn bands_follow_the_2023_thresholds() {
        assert_eq!(band_frequency(3.0), Band::Elite);
        assert_eq!(band_frequency(1.0 / 7.0), Band::High);
        assert_eq!(band_frequency(0.05), Band::Medium);
        assert_eq!(band_frequency(0.01), Band::Low);
        assert_eq!(band_lead_time(23.0 * 3600.0), Band::Elite);
        assert_eq!(band_lead_time(40.0 * DAY_SECS), Band::Low);
        assert_eq!(band_failure_rate(0.05), Band::Elite);
        assert_eq!(band_failure_rate(0.12), Band::Medium);
        assert_eq!(band_restore(59.0 * 60.0), Band::Elite);
        assert_eq!(band_restore(8.0 * DAY_SECS), Band::Low);
    }

    #[test]
    fn spans_parse_and_refuse() {
        assert_eq!(parse_span("window", "30d").unwrap(), 30 * D);
        assert_eq!(parse_span("window", "24h").unwrap(), D);
        assert_eq!(parse_span("window", "2w").unwrap(), 14 * D);
        for bad in ["", "d", "30", "30y", "-3d", "0d", "99999999999999999999d"] {
            let e = parse_span("window", bad).unwrap_err().to_string();
            assert!(e.contains("window"), "{bad}: {e}");
        }
    }

    #[test]
    fn resolutions_read_the_audit_payloads() {
        let rec = |payload: serde_json::Value| faultline::core::AuditRecord {
            seq: 0,
            at: Timestamp(0),
            prev_hash: String::new(),
            payload,
            hash: String::new(),
            signature: String::new(),
        };
        let m = resolutions(&[
            rec(
                serde_json::json!({"event": "incident.resolved", "incident": "a", "resolved_at": "2024-05-14T10:30:12Z"}),
            ),
            rec(serde_json::json!({"event": "rejected", "plan": "p"})),
        ]);
        assert_eq!(m.len(), 1);
        assert_eq!(m["a"], Timestamp::from_secs(1_715_682_612));
    }
}

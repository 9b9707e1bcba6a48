//! `events.jsonl` (change events from the story) and `alerts.jsonl` (Alertmanager-like
//! alerts from rules evaluated on the noise-free state, plus benign unrelated alerts).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::fmt_ts;
use super::scenario::Story;
use super::world::{World, DB, FRONTEND};

#[derive(Serialize)]
struct EventLine<'a> {
    timestamp: &'a str,
    service: &'a str,
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_version: Option<&'a str>,
}

/// Renders the story's change events in time order.
pub(crate) fn render_events(world: &World, story: &Story) -> String {
    let mut out = String::new();
    let mut ts = String::new();
    for e in &story.events {
        ts.clear();
        fmt_ts(&mut ts, (world.start_secs + e.at_secs) * 1_000_000_000, 0);
        let line = EventLine {
            timestamp: &ts,
            service: &world.services[e.service].name,
            kind: e.kind,
            version: e.version.as_deref(),
            description: &e.description,
            previous_version: e.previous_version.as_deref(),
        };
        if let Ok(text) = serde_json::to_string(&line) {
            let _ = writeln!(out, "{text}");
        }
    }
    out
}

#[derive(Serialize)]
struct AlertLine<'a> {
    starts_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ends_at: Option<String>,
    status: &'static str,
    labels: &'a BTreeMap<&'static str, String>,
    annotations: BTreeMap<&'static str, String>,
    fingerprint: String,
}

struct AlertSpec {
    starts_ns: i64,
    ends_ns: Option<i64>,
    labels: BTreeMap<&'static str, String>,
    summary: String,
    description: String,
}

/// A rule: alert name, severity, hold time, and the condition on (service, step).
struct Rule {
    name: &'static str,
    severity: &'static str,
    for_secs: i64,
    summary: &'static str,
}

const RULES: [Rule; 3] = [
    Rule {
        name: "HighErrorRate",
        severity: "critical",
        for_secs: 120,
        summary: "error rate above 5%",
    },
    Rule {
        name: "HighLatencyP95",
        severity: "warning",
        for_secs: 120,
        summary: "p95 latency above SLO",
    },
    Rule {
        name: "ContainerMemoryHigh",
        severity: "warning",
        for_secs: 60,
        summary: "memory above 90% of limit",
    },
];

fn holds(world: &World, rule: usize, s: usize, i: usize) -> bool {
    let svc = &world.services[s];
    match rule {
        0 => world.error_rate(s, i) >= 0.05,
        1 => {
            let base = svc.base_latency_ms;
            world.latency_ms(s, i) >= (2.0 * base).max(base + 100.0)
        }
        _ => svc.base_memory_mb + world.effects[s].memory_add_mb[i] >= 0.9 * svc.memory_limit_mb,
    }
}

/// Evaluates the rules on every service (fired after holding `for_secs`, resolved when the
/// condition clears) and adds the benign alerts.
pub(crate) fn render_alerts(world: &World, duration_secs: i64) -> String {
    let sec = 1_000_000_000i64;
    let start_ns = world.start_secs * sec;
    let mut alerts: Vec<AlertSpec> = Vec::new();
    for s in 0..world.services.len() {
        for (r, rule) in RULES.iter().enumerate() {
            let mut run_start: Option<usize> = None;
            let mut fired: Option<i64> = None;
            for i in 0..=world.steps {
                let on = i < world.steps && holds(world, r, s, i);
                if on {
                    let first = *run_start.get_or_insert(i);
                    let held = world.offset(i) - world.offset(first);
                    if fired.is_none() && held >= rule.for_secs {
                        fired = Some(start_ns + world.offset(i) * sec + 10 * sec);
                    }
                    continue;
                }
                if let Some(f) = fired.take() {
                    let ends = (i < world.steps).then(|| start_ns + world.offset(i) * sec + 10 * sec);
                    alerts.push(rule_alert(world, rule, s, f, ends));
                }
                run_start = None;
            }
        }
    }
    // Benign: a disk warning on db long before the incident, resolved; and a certificate
    // notice on frontend that has been firing for days.
    let d = duration_secs;
    alerts.push(AlertSpec {
        starts_ns: start_ns + d * sec / 20,
        ends_ns: Some(start_ns + d * sec / 8),
        labels: labels("DiskSpaceLow", &world.services[DB].name, "warning"),
        summary: "disk usage above 85% on db data volume".into(),
        description: "pg_wal volume at 86% used; autovacuum reclaimed space".into(),
    });
    alerts.push(AlertSpec {
        starts_ns: start_ns - 3 * 86_400 * sec,
        ends_ns: None,
        labels: labels("CertificateExpiringSoon", &world.services[FRONTEND].name, "info"),
        summary: "TLS certificate expires in less than 30 days".into(),
        description: "certificate for www.shop.example expires in 21 days".into(),
    });
    alerts.sort_by(|a, b| (a.starts_ns, &a.labels).cmp(&(b.starts_ns, &b.labels)));

    let mut out = String::new();
    for a in &alerts {
        let mut starts = String::new();
        fmt_ts(&mut starts, a.starts_ns, 0);
        let ends_at = a.ends_ns.map(|e| {
            let mut s = String::new();
            fmt_ts(&mut s, e, 0);
            s
        });
        let line = AlertLine {
            starts_at: starts,
            status: if ends_at.is_some() { "resolved" } else { "firing" },
            ends_at,
            labels: &a.labels,
            annotations: BTreeMap::from([
                ("summary", a.summary.clone()),
                ("description", a.description.clone()),
            ]),
            fingerprint: fingerprint(&a.labels),
        };
        if let Ok(text) = serde_json::to_string(&line) {
            let _ = writeln!(out, "{text}");
        }
    }
    out
}

fn labels(name: &str, service: &str, severity: &str) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("alertname", name.to_string()),
        ("namespace", "shop".to_string()),
        ("service", service.to_string()),
        ("severity", severity.to_string()),
    ])
}

fn rule_alert(world: &World, rule: &Rule, s: usize, starts_ns: i64, ends_ns: Option<i64>) -> AlertSpec {
    let name = &world.services[s].name;
    AlertSpec {
        starts_ns,
        ends_ns,
        labels: labels(rule.name, name, rule.severity),
        summary: format!("{name}: {}", rule.summary),
        description: format!("{} on {name} for more than {}s", rule.summary, rule.for_secs),
    }
}

/// FNV-1a over the sorted labels, as 16 hex digits (Alertmanager uses a label hash too).
fn fingerprint(labels: &BTreeMap<&'static str, String>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in labels {
        for b in k.bytes().chain([0xff]).chain(v.bytes()).chain([0xfe]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

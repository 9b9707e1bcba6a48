//! Alert grouping with Alertmanager-like semantics: deduplicate by fingerprint, group by
//! label values and time, suppress groups that an upstream incident explains.
//!
//! - Dedup: alerts with the same fingerprint are one alert (the earliest start wins).
//! - Grouping: alerts with equal values of `alert_group_by` labels and the same service form a
//!   group; a new group opens when the next alert starts more than `alert_group_interval_secs`
//!   after the previous one (Alertmanager's `group_interval`).
//! - Suppression: a group on a service that (transitively) calls the service of another group
//!   overlapping it in time is marked `suppressed_by` that group: the caller's alerts are
//!   symptoms of the dependency's failure, like an Alertmanager inhibit rule derived from the
//!   topology.

use std::collections::BTreeMap;

use faultline_core::{Alert, AlertGroup, AlertGroupId, Labels, Timestamp};

use crate::graph::Adjacency;
use crate::RcaConfig;

/// Groups alerts; see the module documentation. Output is sorted by start, then id.
pub fn group_alerts(alerts: &[Alert], adj: &Adjacency, cfg: &RcaConfig) -> Vec<AlertGroup> {
    let mut dedup: BTreeMap<&str, &Alert> = BTreeMap::new();
    for a in alerts {
        let e = dedup.entry(a.fingerprint.as_str()).or_insert(a);
        if a.starts_at < e.starts_at {
            *e = a;
        }
    }
    let mut keyed: BTreeMap<Labels, Vec<&Alert>> = BTreeMap::new();
    for a in dedup.into_values() {
        let mut key = Labels::new();
        for name in &cfg.alert_group_by {
            if let Some(v) = a.labels.get(name) {
                key.insert(name, v);
            }
        }
        if let Some(s) = a.service() {
            key.insert("service", s.as_str());
        }
        keyed.entry(key).or_default().push(a);
    }
    let interval = faultline_core::DurationNs::from_secs(cfg.alert_group_interval_secs as i64);
    let mut groups: Vec<AlertGroup> = Vec::new();
    for (key, mut members) in keyed {
        members.sort_by(|a, b| {
            a.starts_at
                .cmp(&b.starts_at)
                .then_with(|| a.fingerprint.cmp(&b.fingerprint))
        });
        let mut cur: Vec<&Alert> = Vec::new();
        let flush = |cur: &mut Vec<&Alert>, groups: &mut Vec<AlertGroup>| {
            if let (Some(f), Some(l)) = (cur.first(), cur.last()) {
                let start: Timestamp = f.starts_at;
                let id = AlertGroupId::derive(&[&key.to_string(), &start.0.to_string()]);
                groups.push(AlertGroup {
                    id,
                    key: key.clone(),
                    fingerprints: cur.iter().map(|a| a.fingerprint.clone()).collect(),
                    start,
                    end: l.starts_at,
                    suppressed_by: None,
                });
            }
            cur.clear();
        };
        for a in members {
            if cur
                .last()
                .is_some_and(|l| a.starts_at.since(l.starts_at) > interval)
            {
                flush(&mut cur, &mut groups);
            }
            cur.push(a);
        }
        flush(&mut cur, &mut groups);
    }
    groups.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.id.cmp(&b.id)));
    suppress(&mut groups, adj, interval);
    groups
}

fn suppress(groups: &mut [AlertGroup], adj: &Adjacency, slack: faultline_core::DurationNs) {
    let svc: Vec<Option<usize>> = groups
        .iter()
        .map(|g| {
            g.key
                .get("service")
                .and_then(|s| adj.index.get(&faultline_core::ServiceId::new(s)).copied())
        })
        .collect();
    let ups: BTreeMap<usize, Vec<usize>> = svc.iter().flatten().map(|&i| (i, adj.upstream(i))).collect();
    let mut decided: Vec<Option<faultline_core::AlertGroupId>> = vec![None; groups.len()];
    for (g, dg) in decided.iter_mut().enumerate() {
        let Some(sg) = svc[g] else { continue };
        for h in 0..groups.len() {
            let Some(sh) = svc[h] else { continue };
            if h == g || sh == sg {
                continue;
            }
            // g's service calls h's service (and not the other way round, for cycles).
            let g_calls_h = ups.get(&sh).is_some_and(|u| u.binary_search(&sg).is_ok());
            let h_calls_g = ups.get(&sg).is_some_and(|u| u.binary_search(&sh).is_ok());
            let overlap =
                groups[h].start <= groups[g].end.add(slack) && groups[g].start <= groups[h].end.add(slack);
            if g_calls_h && !h_calls_g && overlap {
                *dg = Some(groups[h].id.clone());
                break;
            }
        }
    }
    for (g, d) in groups.iter_mut().zip(decided) {
        g.suppressed_by = d;
    }
}

/// Compression of the alert stream: `1 − notifications / alerts`, where notifications are the
/// groups not suppressed and alerts are counted before deduplication. 0 without alerts.
pub fn compression(groups: &[AlertGroup], alerts: usize) -> f64 {
    if alerts == 0 {
        return 0.0;
    }
    let shown = groups.iter().filter(|g| g.suppressed_by.is_none()).count();
    1.0 - shown as f64 / alerts as f64
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use faultline_core::{AlertStatus, Topology};

    fn alert(name: &str, svc: &str, t: i64, fp: &str) -> Alert {
        Alert {
            starts_at: Timestamp::from_secs(t),
            ends_at: None,
            status: AlertStatus::Firing,
            labels: Labels::from_pairs([("alertname", name), ("service", svc)]),
            annotations: Labels::new(),
            fingerprint: fp.into(),
        }
    }

    #[test]
    fn dedup_group_and_suppress_upstream() {
        let mut t = Topology::default();
        t.add_edge("web", "db", None);
        let adj = Adjacency::new(vec![], &t);
        let alerts = vec![
            alert("HighLatency", "web", 100, "w1"),
            alert("HighLatency", "web", 100, "w1"), // duplicate
            alert("HighLatency", "web", 160, "w2"),
            alert("HighLatency", "web", 5000, "w3"), // later: own group
            alert("DbDown", "db", 90, "d1"),
        ];
        let g = group_alerts(&alerts, &adj, &RcaConfig::default());
        assert_eq!(g.len(), 3);
        let db = g.iter().find(|x| x.key.get("service") == Some("db")).unwrap();
        let web = g.iter().find(|x| x.fingerprints == vec!["w1", "w2"]).unwrap();
        assert_eq!(web.suppressed_by.as_ref(), Some(&db.id));
        assert!(db.suppressed_by.is_none());
        // 5 alerts → 2 notifications (db, late web).
        assert!((compression(&g, alerts.len()) - 0.6).abs() < 1e-12);
    }
}

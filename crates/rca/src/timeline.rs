//! The incident's timeline: changes, first anomalies, new templates, first errors, alerts and
//! the onset, in time order.

use faultline_core::{TemplateSignalKind, TimelineEntry};

use crate::Analysis;

/// Builds the timeline, sorted by time, then kind, then service.
pub(crate) fn build(a: &Analysis<'_>, groups: &[faultline_core::AlertGroup]) -> Vec<TimelineEntry> {
    let inc = a.input.incident;
    let mut out = vec![TimelineEntry {
        ts: inc.onset,
        service: None,
        kind: "onset".into(),
        summary: format!(
            "incident onset: {}",
            if inc.title.is_empty() {
                inc.id.0.as_str()
            } else {
                &inc.title
            }
        ),
    }];
    for (c, lik) in &a.changes {
        out.push(TimelineEntry {
            ts: c.event.ts,
            service: Some(c.event.service.clone()),
            kind: "change".into(),
            summary: format!(
                "{:?} of {}{} (change-impact likelihood {lik:.2})",
                c.event.kind,
                c.event.service,
                c.event
                    .version
                    .as_deref()
                    .map(|v| format!(" to {v}"))
                    .unwrap_or_default()
            ),
        });
    }
    // The first detector anomaly per service.
    let mut first: std::collections::BTreeMap<&faultline_core::ServiceId, &faultline_core::Anomaly> =
        Default::default();
    for an in a.input.anomalies {
        if !inc.window.contains(an.start) {
            continue;
        }
        let e = first.entry(&an.series.service).or_insert(an);
        if (an.start, &an.id) < (e.start, &e.id) {
            *e = an;
        }
    }
    for (svc, an) in first {
        out.push(TimelineEntry {
            ts: an.start,
            service: Some(svc.clone()),
            kind: "anomaly".into(),
            summary: format!("first anomaly on {} (score {:.2})", an.series, an.score),
        });
    }
    // Peaks of the strongest metric shifts among the top candidates.
    for &i in a.ranking.iter().take(a.cfg.top_n) {
        if let Some(sh) = a.shifts[i].first().filter(|s| s.score >= 3.0) {
            out.push(TimelineEntry {
                ts: sh.peak,
                service: Some(a.adj.services[i].clone()),
                kind: "metric_shift".into(),
                summary: format!("{} peaks at robust z {:.1}", sh.key, sh.up_z.max(sh.down_z)),
            });
        }
        if let Some(t) = a.errors[i].first_post {
            out.push(TimelineEntry {
                ts: t,
                service: Some(a.adj.services[i].clone()),
                kind: "errors".into(),
                summary: format!("first error log record of {} after onset", a.adj.services[i]),
            });
        }
    }
    for s in a.input.template_signals {
        if matches!(s.kind, TemplateSignalKind::New) && inc.window.contains(s.start) {
            out.push(TimelineEntry {
                ts: s.start,
                service: Some(s.service.clone()),
                kind: "new_template".into(),
                summary: format!(
                    "new log template {} in {} ({} records)",
                    s.template, s.service, s.count
                ),
            });
        }
    }
    for g in groups {
        out.push(TimelineEntry {
            ts: g.start,
            service: g.key.get("service").map(faultline_core::ServiceId::new),
            kind: "alert".into(),
            summary: format!(
                "alert group {} fires ({} alerts){}",
                g.key,
                g.fingerprints.len(),
                if g.suppressed_by.is_some() {
                    ", explained by a dependency's alerts"
                } else {
                    ""
                }
            ),
        });
    }
    out.sort_by(|x, y| {
        x.ts.cmp(&y.ts)
            .then_with(|| x.kind.cmp(&y.kind))
            .then_with(|| x.service.cmp(&y.service))
    });
    out
}

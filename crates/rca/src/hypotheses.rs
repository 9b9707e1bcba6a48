//! Evidence and hypotheses: every claim points at evidence, every hypothesis has support.

use std::collections::BTreeSet;

use faultline_core::{
    Cause, Evidence, EvidenceId, EvidenceKind, EvidenceRef, Hypothesis, HypothesisId, NonEmpty, SeriesKey,
    ServiceId, TemplateId,
};

use crate::Analysis;

/// Collects evidence once per id, in insertion order.
#[derive(Debug, Default)]
pub(crate) struct EvidenceBook {
    pub(crate) items: Vec<Evidence>,
    seen: BTreeSet<EvidenceId>,
}

impl EvidenceBook {
    fn add(&mut self, e: Evidence) -> EvidenceId {
        let id = e.id.clone();
        if self.seen.insert(id.clone()) {
            self.items.push(e);
        }
        id
    }
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// Change-impact likelihood from which a change is named the cause of a service's anomaly,
/// whatever its other evidence.
const CHANGE_CAUSE_MIN_LIKELIHOOD: f64 = 0.5;

/// Support (for) and counter (against) evidence of a service being the root cause, and the
/// cause the strongest support names.
pub(crate) fn evidence_for(
    a: &Analysis<'_>,
    i: usize,
    book: &mut EvidenceBook,
) -> (Vec<EvidenceId>, Vec<EvidenceId>, Cause) {
    let svc = &a.adj.services[i];
    let sc = &a.scores[i];
    let onset = a.input.incident.onset;
    let end = a.input.incident.window.end;
    let mut support: Vec<(f64, EvidenceId, Option<Cause>)> = Vec::new();
    let mut counter = Vec::new();

    // Changes.
    for (c, lik) in a.changes.iter().filter(|(c, _)| c.service == i) {
        let e = c.event;
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let when = if c.lead_secs >= 0.0 { "before" } else { "after" };
        let summary = format!(
            "{kind} of {svc}{} {} s {when} onset (change-impact likelihood {:.2})",
            e.version
                .as_deref()
                .map(|v| format!(" to {v}"))
                .unwrap_or_default(),
            c.lead_secs.abs().round(),
            lik
        );
        let id = book.add(Evidence::new(
            EvidenceKind::Change,
            svc.clone(),
            summary,
            *lik,
            EvidenceRef::Change {
                ts: e.ts,
                kind: kind.clone(),
                version: e.version.clone(),
                source: e.source.clone(),
            },
        ));
        let cause = Cause::Change {
            change_kind: kind,
            ts: e.ts,
            version: e.version.clone(),
        };
        support.push((*lik * 2.0, id, Some(cause)));
    }

    // Metric shifts (own robust statistics).
    for sh in a.shifts[i].iter().take(3).filter(|s| s.score >= 1.0) {
        let dir = if sh.observed >= sh.baseline {
            "rose"
        } else {
            "fell"
        };
        let summary = format!(
            "{} {dir} from median {} to {} after onset (robust z {:.1}{})",
            sh.key,
            fmt_num(sh.baseline),
            fmt_num(sh.observed),
            sh.up_z.max(sh.down_z),
            if sh.residual {
                ", not explained by its dependencies"
            } else {
                ""
            }
        );
        let id = book.add(Evidence::new(
            EvidenceKind::MetricShift,
            svc.clone(),
            summary,
            crate::stats::saturate(sh.score, a.cfg.metric_half_z),
            EvidenceRef::Series {
                key: sh.key.clone(),
                start: onset,
                end,
                anomaly: None,
            },
        ));
        support.push((
            sc.metric * a.cfg.metric_weight,
            id,
            Some(Cause::Resource {
                metric: sh.key.clone(),
            }),
        ));
    }
    // Detector anomalies.
    let mut anoms: Vec<&faultline_core::Anomaly> = a
        .input
        .anomalies
        .iter()
        .filter(|x| &x.series.service == svc)
        .collect();
    anoms.sort_by(|x, y| y.score.total_cmp(&x.score).then_with(|| x.id.cmp(&y.id)));
    for an in anoms.into_iter().take(3) {
        let summary = format!(
            "{} anomaly on {} at {}: observed {} vs expected {} (score {:.2}, {})",
            serde_json::to_value(&an.kind)
                .ok()
                .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_owned)))
                .unwrap_or_else(|| "metric".into()),
            an.series,
            an.peak,
            fmt_num(an.observed),
            fmt_num(an.expected.value),
            an.score,
            an.detector
        );
        let id = book.add(Evidence::new(
            EvidenceKind::MetricAnomaly,
            svc.clone(),
            summary,
            an.score,
            EvidenceRef::Series {
                key: an.series.clone(),
                start: an.start,
                end: an.end,
                anomaly: Some(an.id.clone()),
            },
        ));
        support.push((
            an.score * a.cfg.metric_weight,
            id,
            Some(Cause::Resource {
                metric: an.series.clone(),
            }),
        ));
    }

    // Errors.
    let er = &a.errors[i];
    let code_cause = |tid: TemplateId, text: String| Cause::Code { template: tid, text };
    if let Some((tid, text, new, count)) = &er.top_template {
        let kind = if *new {
            EvidenceKind::NewLogTemplate
        } else {
            EvidenceKind::LogSpike
        };
        let summary = format!(
            "{} error template in {svc}'s logs: \"{}\" ({count} records)",
            if *new { "new" } else { "spiking" },
            text.chars().take(160).collect::<String>()
        );
        let exemplars = a
            .input
            .templates
            .iter()
            .find(|t| &t.id == tid)
            .map(|t| t.exemplars.iter().take(3).cloned().collect())
            .unwrap_or_default();
        let id = book.add(Evidence::new(
            kind,
            svc.clone(),
            summary,
            sc.error,
            EvidenceRef::Template {
                template: tid.clone(),
                exemplars,
            },
        ));
        support.push((
            sc.error * a.cfg.error_weight,
            id,
            Some(code_cause(tid.clone(), text.clone())),
        ));
    }
    if er.post > 0 && er.log_strength > 0.0 {
        let (msg, _) = er.top_message.clone().unwrap_or_default();
        let tid = TemplateId::derive(&[svc.as_str(), &msg]);
        let summary = format!(
            "{} error log records in {svc} after onset ({:.1}/min vs {:.1}/min before), most often \"{}\"",
            er.post,
            er.post_per_min,
            er.pre_per_min,
            msg.chars().take(120).collect::<String>()
        );
        let id = book.add(Evidence::new(
            EvidenceKind::LogSpike,
            svc.clone(),
            summary,
            sc.error,
            EvidenceRef::Template {
                template: tid.clone(),
                exemplars: er.exemplars.clone(),
            },
        ));
        support.push((
            sc.error * a.cfg.error_weight * 0.99,
            id,
            Some(code_cause(tid, msg)),
        ));
    }
    let tr = &a.traces[i];
    if tr.origins_post > 0 {
        let summary = format!(
            "{} spans of {svc} failed after onset without a failing callee ({} before): errors start here",
            tr.origins_post, tr.origins_pre
        );
        let id = book.add(Evidence::new(
            EvidenceKind::Trace,
            svc.clone(),
            summary,
            sc.error,
            EvidenceRef::Spans {
                span_ids: tr.error_span_ids.clone(),
            },
        ));
        let tid = TemplateId::derive(&[svc.as_str(), "error-span"]);
        support.push((
            sc.error * a.cfg.error_weight * 0.98,
            id,
            Some(code_cause(tid, format!("error spans originating in {svc}"))),
        ));
    }
    // Latency.
    if tr.self_time_ratio > 0.05 {
        let summary = format!(
            "{svc}'s own span time (excluding callees) grew from median {:.1} ms to {:.1} ms (+{:.0} %)",
            tr.self_time_ms.0,
            tr.self_time_ms.1,
            tr.self_time_ratio * 100.0
        );
        let id = book.add(Evidence::new(
            EvidenceKind::Trace,
            svc.clone(),
            summary,
            crate::stats::saturate(tr.self_time_ratio, a.cfg.latency_half_ratio),
            EvidenceRef::Spans { span_ids: vec![] },
        ));
        let key = SeriesKey::new(svc.clone(), "span_self_time_ms");
        support.push((
            sc.latency * a.cfg.latency_weight,
            id,
            Some(Cause::Resource { metric: key }),
        ));
    }
    if let Some((caller, callee, r)) = tr.top_gap {
        let (cs, ce) = (&a.adj.services[caller], &a.adj.services[callee]);
        let summary = format!(
            "network time on calls {cs} → {ce} (caller span minus callee span) grew by {:.0} %",
            r * 100.0
        );
        let id = book.add(Evidence::new(
            EvidenceKind::Trace,
            svc.clone(),
            summary,
            crate::stats::saturate(r, a.cfg.latency_half_ratio),
            EvidenceRef::Spans {
                span_ids: tr.gap_span_ids.clone(),
            },
        ));
        let key = SeriesKey::new(svc.clone(), "span_network_gap_ms");
        support.push((
            sc.latency * a.cfg.latency_weight * 0.99,
            id,
            Some(Cause::Resource { metric: key }),
        ));
    }

    // Topology: healthy dependencies support a fault originating here; an anomalous one
    // argues against it.
    let my = sc.anomaly.max(1e-12);
    for &c in &a.adj.callees[i] {
        let cs = &a.adj.services[c];
        let ca = a.scores[c].anomaly;
        if ca >= 0.5 * my {
            let id = book.add(Evidence::new(
                EvidenceKind::Topology,
                svc.clone(),
                format!(
                    "{svc} depends on {cs}, which is anomalous too (score {:.2} vs {:.2}): {svc}'s symptoms may be inherited",
                    ca, sc.anomaly
                ),
                (ca / my).min(1.0),
                EvidenceRef::Edge {
                    source: svc.clone(),
                    target: cs.clone(),
                },
            ));
            counter.push(id);
        } else if a.has_signals[c] {
            let id = book.add(Evidence::new(
                EvidenceKind::Healthy,
                svc.clone(),
                format!(
                    "{svc}'s dependency {cs} shows no comparable anomaly (score {:.2} vs {:.2})",
                    ca, sc.anomaly
                ),
                1.0 - ca / my,
                EvidenceRef::Edge {
                    source: svc.clone(),
                    target: cs.clone(),
                },
            ));
            // Only a supporting detail: it never carries a hypothesis on its own.
            support.push((0.0, id, None));
        }
    }
    // Stronger first; the cause is the strongest item's.
    let mut order: Vec<usize> = (0..support.len()).collect();
    order.sort_by(|&x, &y| support[y].0.total_cmp(&support[x].0).then(x.cmp(&y)));
    // A likely change explains the service's other symptoms (its errors and shifts are what
    // the change broke), so it is the cause whenever it is likely enough; otherwise the
    // strongest item names it.
    let likely_change = support.iter().find_map(|(w, _, c)| {
        c.clone()
            .filter(|c| matches!(c, Cause::Change { .. }) && *w >= 2.0 * CHANGE_CAUSE_MIN_LIKELIHOOD)
    });
    let cause = likely_change.unwrap_or_else(|| {
        order
            .iter()
            .find_map(|&k| support[k].2.clone().filter(|_| support[k].0 > 0.0))
            .unwrap_or(Cause::Unknown)
    });
    let cause = match (sc.explained_by, &cause) {
        // Fully explained by a dependency that ranks above: say so.
        (Some(c), Cause::Resource { .. } | Cause::Unknown)
            if sc.explained >= 1.0 && a.scores[c].root > sc.root =>
        {
            Cause::Dependency {
                service: a.adj.services[c].clone(),
            }
        }
        _ => cause,
    };
    let has_real = order.iter().any(|&k| support[k].0 > 0.0);
    let ids = if has_real {
        order.into_iter().map(|k| support[k].1.clone()).collect()
    } else {
        Vec::new()
    };
    (ids, counter, cause)
}

fn describe(cause: &Cause) -> String {
    match cause {
        Cause::Change {
            change_kind, version, ..
        } => format!(
            "a {change_kind}{} shortly before the onset",
            version.as_deref().map(|v| format!(" ({v})")).unwrap_or_default()
        ),
        Cause::Resource { metric } => format!("a shift in {}", metric.metric),
        Cause::Code { text, .. } => format!(
            "a code-level fault (errors such as \"{}\")",
            text.chars().take(80).collect::<String>()
        ),
        Cause::Dependency { service } => format!("its dependency {service}"),
        Cause::Unknown => "an anomaly of unidentified cause".into(),
    }
}

/// Builds the ranked hypotheses and the evidence they refer to.
pub(crate) fn build(a: &Analysis<'_>) -> (Vec<Hypothesis>, Vec<Evidence>) {
    let mut book = EvidenceBook::default();
    let mut hyps: Vec<Hypothesis> = Vec::new();
    let top_n = a.cfg.top_n;
    let total: f64 = a.ranking.iter().take(top_n).map(|&i| a.scores[i].root).sum();
    let mut top: Option<usize> = None;
    for &i in &a.ranking {
        if hyps.len() >= top_n {
            break;
        }
        let (support, counter, cause) = evidence_for(a, i, &mut book);
        let Some(support) = NonEmpty::from_vec(support) else {
            continue;
        };
        let svc: &ServiceId = &a.adj.services[i];
        let rank = hyps.len() as u32 + 1;
        let why_not = top.map(|t| why_not(a, i, t));
        let statement = if rank == 1 {
            format!("{svc} is the most likely root cause: {}", describe(&cause))
        } else {
            format!("{svc} may be the root cause: {}", describe(&cause))
        };
        hyps.push(Hypothesis {
            id: HypothesisId::derive(&[a.input.incident.id.0.as_str(), svc.as_str(), cause.kind_name()]),
            rank,
            service: svc.clone(),
            cause,
            statement,
            confidence: if total > 0.0 {
                (a.scores[i].root / total).clamp(0.0, 1.0)
            } else {
                0.0
            },
            support,
            counter,
            why_not,
        });
        top.get_or_insert(i);
    }
    // Keep only evidence that some hypothesis refers to.
    let used: BTreeSet<&EvidenceId> = hyps
        .iter()
        .flat_map(|h| h.support.iter().chain(&h.counter))
        .collect();
    let evidence = book
        .items
        .iter()
        .filter(|e| used.contains(&e.id))
        .cloned()
        .collect();
    (hyps, evidence)
}

fn why_not(a: &Analysis<'_>, i: usize, top: usize) -> String {
    let (s, t) = (&a.scores[i], &a.scores[top]);
    let (sn, tn) = (&a.adj.services[i], &a.adj.services[top]);
    let reason = if let (Some(c), true) = (s.explained_by, s.explained >= 0.5) {
        format!(
            "its dependency {} is {} anomalous, so its symptoms are more likely inherited",
            a.adj.services[c],
            if s.explained >= 1.0 { "at least as" } else { "also" }
        )
    } else if a.adj.upstream(top).binary_search(&i).is_ok() {
        format!("it calls {tn} (directly or not), where the anomaly is stronger")
    } else {
        let mut parts = Vec::new();
        for (name, x, y) in [
            ("metrics", s.metric, t.metric),
            ("errors", s.error, t.error),
            ("latency", s.latency, t.latency),
        ] {
            if y > x + 0.05 {
                parts.push(format!("{name} {x:.2} vs {y:.2}"));
            }
        }
        if parts.is_empty() {
            "its combined evidence is weaker".to_owned()
        } else {
            format!("its signals are weaker ({})", parts.join(", "))
        }
    };
    format!(
        "why not {sn}? it scores {:.2} against {:.2} for {tn}: {reason}",
        s.root, t.root
    )
}

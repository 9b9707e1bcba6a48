//! Rendering reports: JSON (the versioned protocol) and Markdown (for humans).

use std::fmt::Write as _;

use faultline_core::{Cause, IncidentReport};

/// The report as pretty JSON (the `faultline analyze --format json` protocol).
pub fn to_json(report: &IncidentReport) -> String {
    // Serialising plain data with string keys cannot fail.
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// One line naming a cause, for reports; with `markdown`, code text is quoted with backticks.
pub(crate) fn cause_text(c: &Cause, markdown: bool) -> String {
    match c {
        Cause::Change {
            change_kind,
            version,
            ts,
        } => match version {
            Some(v) => format!("{change_kind} of version {v} at {ts}"),
            None => format!("{change_kind} at {ts}"),
        },
        Cause::Resource { metric } => format!("resource: {}", metric.metric),
        Cause::Code { text, .. } if markdown => format!("code fault: `{}`", text.replace('`', "'")),
        Cause::Code { text, .. } => format!("code fault: {text}"),
        Cause::Dependency { service } => format!("failing dependency {service}"),
        Cause::Unknown => "anomalous, cause not identified".into(),
    }
}

/// The report as Markdown: headline, top hypothesis with its evidence, "why not" for the
/// runners-up, blast radius, timeline, and the fix plan.
///
/// ```
/// # use faultline_core::*;
/// # let report = IncidentReport { version: 1, incident: Incident { id: IncidentId("inc-1".into()), title: "Checkout errors".into(), onset: Timestamp(0), window: TimeWindow { start: Timestamp(0), end: Timestamp(1) }, environment: None, services: vec![], severity: None, status: IncidentStatus::Open }, narrative: String::new(), hypotheses: vec![], evidence: vec![], anomalies: vec![], templates: vec![], template_signals: vec![], alert_groups: vec![], blast_radius: BlastRadius::default(), timeline: vec![], plan: None, timings: Default::default() };
/// let md = faultline::render::to_markdown(&report);
/// assert!(md.starts_with("# Incident inc-1: Checkout errors"));
/// ```
pub fn to_markdown(r: &IncidentReport) -> String {
    let mut s = String::new();
    let inc = &r.incident;
    let _ = writeln!(
        s,
        "# Incident {}{}",
        inc.id,
        if inc.title.is_empty() {
            String::new()
        } else {
            format!(": {}", inc.title)
        }
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Onset {} · window {} – {}{}",
        inc.onset,
        inc.window.start,
        inc.window.end,
        inc.environment
            .as_deref()
            .map(|e| format!(" · environment {e}"))
            .unwrap_or_default()
    );
    let _ = writeln!(s);
    if !r.narrative.is_empty() {
        let _ = writeln!(s, "{}", r.narrative);
        let _ = writeln!(s);
    }
    match r.hypotheses.first() {
        None => {
            let _ = writeln!(
                s,
                "## No hypothesis\n\nNothing anomalous enough to rank a root cause.\n"
            );
        }
        Some(top) => {
            let _ = writeln!(
                s,
                "## Most likely: {} — {}\n",
                top.service,
                cause_text(&top.cause, true)
            );
            let _ = writeln!(
                s,
                "{} (confidence {:.0}%)\n",
                top.statement,
                top.confidence * 100.0
            );
            let _ = writeln!(s, "Evidence:\n");
            for id in &top.support {
                if let Some(e) = r.evidence(id) {
                    let _ = writeln!(
                        s,
                        "- **{}** {} (score {:.2}, `{}`)",
                        kind_name(e),
                        e.summary,
                        e.score,
                        e.id
                    );
                }
            }
            if !top.counter.is_empty() {
                let _ = writeln!(s, "\nAgainst:\n");
                for id in &top.counter {
                    if let Some(e) = r.evidence(id) {
                        let _ = writeln!(s, "- {} (`{}`)", e.summary, e.id);
                    }
                }
            }
            let _ = writeln!(s);
        }
    }
    if r.hypotheses.len() > 1 {
        let _ = writeln!(s, "## Why not the others?\n");
        for h in r.hypotheses.iter().skip(1) {
            let _ = writeln!(
                s,
                "{}. **{}** ({:.0}%, {}): {}",
                h.rank,
                h.service,
                h.confidence * 100.0,
                cause_text(&h.cause, true),
                h.why_not.as_deref().unwrap_or(&h.statement)
            );
        }
        let _ = writeln!(s);
    }
    if !r.blast_radius.services.is_empty() {
        let names: Vec<&str> = r.blast_radius.services.iter().map(|x| x.as_str()).collect();
        let _ = writeln!(s, "## Blast radius\n\n{}\n", names.join(", "));
    }
    if !r.timeline.is_empty() {
        let _ = writeln!(s, "## Timeline\n");
        for t in &r.timeline {
            let svc = t.service.as_ref().map(|x| format!(" [{x}]")).unwrap_or_default();
            let _ = writeln!(s, "- {} {}{}: {}", t.ts, t.kind, svc, t.summary);
        }
        let _ = writeln!(s);
    }
    if let Some(p) = &r.plan {
        let _ = writeln!(
            s,
            "## Fix plan ({}, risk {:.2}, {:?})\n\n{}\n",
            p.environment, p.risk, p.state, p.rationale
        );
        for (i, st) in p.steps.iter().enumerate() {
            let _ = writeln!(
                s,
                "{}. {} on {}\n   ```\n   {}\n   ```\n   dry run: `{}` · rollback: `{}`",
                i + 1,
                st.action,
                st.target,
                st.script,
                st.dry_run,
                st.rollback
            );
        }
        let _ = writeln!(s);
    }
    s
}

fn kind_name(e: &faultline_core::Evidence) -> String {
    serde_json::to_value(e.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

//! Error channel from logs: error-record rates before and after the onset per service, and
//! the new or spiking error templates the cluster stage found.
//!
//! Code-level faults (a thrown exception, a wrong return value) rarely move resource
//! metrics; they show as error lines and error templates in the faulty service's logs
//! (Yu et al., "Nezha", ESEC/FSE 2023, §2).
//!
//! Rates are per *observed* minute ([`crate::stats::observed_minutes`]) and scored by their
//! excess over the baseline rate ([`crate::stats::rate_excess`]): a service that always logs
//! errors at this rate is no suspect.

use std::collections::BTreeMap;

use faultline_core::{
    Incident, LogRecord, LogTemplate, Severity, TemplateId, TemplateSignal, TemplateSignalKind,
};

use crate::graph::Adjacency;

/// Error-log facts about one service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceErrors {
    /// Error records before the onset.
    pub pre: u64,
    /// Error records at or after the onset.
    pub post: u64,
    /// Error records per minute before the onset.
    pub pre_per_min: f64,
    /// Error records per minute after the onset.
    pub post_per_min: f64,
    /// Strength from the raw records (records per minute, weighted by novelty).
    pub log_strength: f64,
    /// Strength from template signals (records per minute).
    pub template_strength: f64,
    /// The most frequent error message shape after the onset (digits masked), with its count.
    pub top_message: Option<(String, u64)>,
    /// A few raw error lines after the onset.
    pub exemplars: Vec<String>,
    /// The strongest error template signal: id, text, whether it is new, its count.
    pub top_template: Option<(TemplateId, String, bool, u64)>,
    /// First error record after the onset.
    pub first_post: Option<faultline_core::Timestamp>,
}

impl ServiceErrors {
    /// The channel strength: the larger of the raw and template views (they see the same
    /// records, so they are not added).
    pub fn strength(&self) -> f64 {
        self.log_strength.max(self.template_strength)
    }
}

/// Whether a record counts as an error: ERROR/FATAL, or a level-less line naming an exception.
pub fn is_error_record(r: &LogRecord) -> bool {
    r.severity.is_error() || (r.severity == Severity::Unspecified && r.body.contains("Exception"))
}

/// Masks digits and hex-like runs so that messages differing only in values group together.
pub fn mask_message(body: &str) -> String {
    let mut out = String::with_capacity(body.len().min(160));
    let mut in_var = false;
    for word in body.split_inclusive(|c: char| c.is_whitespace() || ",;:=()[]{}\"'".contains(c)) {
        let is_var = word.chars().any(|c| c.is_ascii_digit());
        if is_var {
            if !in_var {
                out.push_str("<*>");
                if let Some(last) = word.chars().last().filter(|c| !c.is_alphanumeric()) {
                    out.push(last);
                }
            }
        } else {
            out.push_str(word);
        }
        in_var = is_var;
        if out.len() > 160 {
            break;
        }
    }
    out
}

fn minutes(a: faultline_core::Timestamp, b: faultline_core::Timestamp) -> f64 {
    (b.since(a).as_secs_f64() / 60.0).max(0.5)
}

/// Error facts per service index of `adj`.
pub fn service_errors(
    logs: &[LogRecord],
    templates: &[LogTemplate],
    signals: &[TemplateSignal],
    incident: &Incident,
    adj: &Adjacency,
) -> Vec<ServiceErrors> {
    let n = adj.services.len();
    let mut out = vec![ServiceErrors::default(); n];
    let in_window = |t| incident.window.contains(t);
    // Per service and message shape: error records before and after the onset.
    let mut shapes: Vec<BTreeMap<String, (u64, u64)>> = vec![BTreeMap::new(); n];
    if logs.iter().any(|r| in_window(r.ts)) {
        let (pre_min, post_min) = crate::stats::observed_minutes(
            logs.iter().map(|r| r.ts).filter(|&t| in_window(t)),
            incident.onset,
        );
        for r in logs {
            if !in_window(r.ts) || !is_error_record(r) {
                continue;
            }
            let Some(&i) = adj.index.get(&r.service) else {
                continue;
            };
            let e = &mut out[i];
            let shape = shapes[i].entry(mask_message(&r.body)).or_insert((0, 0));
            if r.ts < incident.onset {
                e.pre += 1;
                shape.0 += 1;
            } else {
                e.post += 1;
                shape.1 += 1;
                e.first_post = Some(e.first_post.map_or(r.ts, |t| t.min(r.ts)));
                if e.exemplars.len() < 3 {
                    e.exemplars.push(r.body.chars().take(300).collect());
                }
            }
        }
        for (e, sh) in out.iter_mut().zip(&shapes) {
            e.pre_per_min = e.pre as f64 / pre_min;
            e.post_per_min = e.post as f64 / post_min;
            // Per shape: one error that stopped and another that started are a change even
            // when the service's total rate is flat (a fault re-injected minutes apart).
            e.log_strength = sh
                .values()
                .map(|&(p, q)| crate::stats::count_excess_per_min(p, q, pre_min, post_min))
                .sum();
            e.top_message = sh
                .iter()
                .filter(|(_, c)| c.1 > 0)
                .max_by(|x, y| x.1 .1.cmp(&y.1 .1).then_with(|| y.0.cmp(x.0)))
                .map(|(m, c)| (m.clone(), c.1));
        }
    }
    let text_of: BTreeMap<&TemplateId, &str> = templates.iter().map(|t| (&t.id, t.text.as_str())).collect();
    let mut best: Vec<f64> = vec![0.0; n];
    for s in signals {
        let Some(&i) = adj.index.get(&s.service) else {
            continue;
        };
        if s.end < incident.window.start || s.start > incident.window.end {
            continue;
        }
        let mins = minutes(s.start, s.end);
        let share = s.error_share.clamp(0.0, 1.0);
        let (v, new) = match &s.kind {
            TemplateSignalKind::New => (s.count as f64 / mins * share, true),
            TemplateSignalKind::RateShift {
                baseline_per_min,
                current_per_min,
            } => ((current_per_min - baseline_per_min).max(0.0) * share, false),
        };
        if !v.is_finite() || v <= 0.0 {
            continue;
        }
        out[i].template_strength += v;
        if v > best[i] {
            best[i] = v;
            let text = text_of
                .get(&s.template)
                .map_or_else(|| s.template.to_string(), |t| (*t).to_owned());
            out[i].top_template = Some((s.template.clone(), text, new, s.count));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn masking_groups_values() {
        assert_eq!(
            mask_message("order 123 failed after 45ms"),
            mask_message("order 9 failed after 7ms")
        );
        assert!(mask_message("user=17 not found").contains("not found"));
    }
}

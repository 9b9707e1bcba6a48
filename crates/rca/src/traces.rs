//! Trace channel: error-origin spans, per-service self time, and caller → callee gaps.
//!
//! - An *error origin* is an error span none of whose descendants failed: the deepest failing
//!   call, where the error was raised rather than passed on (the idea behind trace-based
//!   localisation such as TraceRCA, Li et al., IWQoS 2021).
//! - *Self time* is a span's duration minus its children's: a saturated CPU slows the
//!   service's own work, not its dependencies'.
//! - The *gap* of a caller → callee edge is the caller's span duration minus the callee's
//!   child span: network time. A network delay on a service widens the gaps on its edges, so
//!   it is attributed to the callee in full and to the caller at half weight.

use std::collections::BTreeMap;

use faultline_core::{Incident, Span, SpanStatus, Timestamp};

use crate::graph::{parent_of, span_index, Adjacency};
use crate::stats::{quantile_sorted, sorted_finite};

/// Trace facts about one service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceTraces {
    /// Error-origin spans before the onset.
    pub origins_pre: u64,
    /// Error-origin spans at or after the onset.
    pub origins_post: u64,
    /// Error-origin strength (per minute, weighted by novelty).
    pub error_strength: f64,
    /// Some error-origin span ids after the onset (`trace/span`).
    pub error_span_ids: Vec<String>,
    /// Relative increase of self time (median + p90).
    pub self_time_ratio: f64,
    /// Median self time before / after, in ms.
    pub self_time_ms: (f64, f64),
    /// Gap strength over incident edges.
    pub gap_ratio: f64,
    /// The edge with the largest gap increase touching this service: (caller, callee, ratio).
    pub top_gap: Option<(usize, usize, f64)>,
    /// Some span ids on that edge after the onset.
    pub gap_span_ids: Vec<String>,
}

impl ServiceTraces {
    /// The latency strength: the larger of self-time and gap increases.
    pub fn latency_strength(&self) -> f64 {
        self.self_time_ratio.max(self.gap_ratio)
    }
}

/// Relative increase of the q-quantile, `(after − before) / (before + floor_ms)`: the floor
/// keeps sub-millisecond jitter from reading as a large relative change.
fn ratio_shift(pre: &[f64], post: &[f64], q: f64, floor_ms: f64) -> f64 {
    let (a, b) = (
        sorted_finite(pre.iter().copied()),
        sorted_finite(post.iter().copied()),
    );
    match (quantile_sorted(&a, q), quantile_sorted(&b, q)) {
        (Some(x), Some(y)) => ((y - x) / (x + floor_ms)).max(0.0),
        _ => 0.0,
    }
}

/// Gaps of one caller → callee edge: before, after, some span ids after.
type EdgeGaps = (Vec<f64>, Vec<f64>, Vec<String>);

const MIN_SELF_SAMPLES: usize = 5;
const MIN_GAP_SAMPLES: usize = 3;
/// Floor of the self-time ratio's denominator: a service's own work is milliseconds of CPU.
const SELF_FLOOR_MS: f64 = 5.0;
/// Floor of the gap ratio's denominator.
const GAP_FLOOR_MS: f64 = 1.0;

/// Trace facts per service index of `adj`.
pub fn service_traces(spans: &[Span], incident: &Incident, adj: &Adjacency) -> Vec<ServiceTraces> {
    let n = adj.services.len();
    let mut out = vec![ServiceTraces::default(); n];
    if spans.is_empty() {
        return out;
    }
    let index = span_index(spans);
    let in_window = |t: Timestamp| incident.window.contains(t);
    let svc = |s: &Span| adj.index.get(&s.service).copied();

    // Error origins: mark every ancestor of an error span as "has an error below".
    let mut err_below = vec![false; spans.len()];
    for s in spans.iter().filter(|s| s.status == SpanStatus::Error) {
        let mut cur = s;
        for _ in 0..256 {
            let Some(pid) = cur.parent_span_id.as_deref() else {
                break;
            };
            let Some(&pi) = index.get(&(cur.trace_id.as_str(), pid)) else {
                break;
            };
            if err_below[pi] {
                break;
            }
            err_below[pi] = true;
            cur = &spans[pi];
        }
    }
    let ms = |d: faultline_core::DurationNs| d.0 as f64 / 1e6;
    let mut child_sum = vec![0.0f64; spans.len()];
    for s in spans {
        if let Some(p) = s
            .parent_span_id
            .as_deref()
            .and_then(|pid| index.get(&(s.trace_id.as_str(), pid)))
        {
            child_sum[*p] += ms(s.duration);
        }
    }
    let (mut first, mut last) = (Timestamp::MAX, Timestamp::MIN);
    let mut self_pre: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut self_post: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut gaps: BTreeMap<(usize, usize), EdgeGaps> = BTreeMap::new();
    for (k, s) in spans.iter().enumerate() {
        if !in_window(s.start) {
            continue;
        }
        first = first.min(s.start);
        last = last.max(s.start);
        let Some(i) = svc(s) else { continue };
        let post = s.start >= incident.onset;
        let self_ms = (ms(s.duration) - child_sum[k]).max(0.0);
        if post {
            self_post[i].push(self_ms);
        } else {
            self_pre[i].push(self_ms);
        }
        if s.status == SpanStatus::Error && !err_below[k] {
            if post {
                out[i].origins_post += 1;
                if out[i].error_span_ids.len() < 5 {
                    out[i]
                        .error_span_ids
                        .push(format!("{}/{}", s.trace_id, s.span_id));
                }
            } else {
                out[i].origins_pre += 1;
            }
        }
        if let Some(p) = parent_of(&index, spans, s) {
            if let Some(pi) = svc(p).filter(|&pi| pi != i) {
                let gap = (ms(p.duration) - ms(s.duration)).max(0.0);
                let e = gaps.entry((pi, i)).or_default();
                if post {
                    e.1.push(gap);
                    if e.2.len() < 5 {
                        e.2.push(format!("{}/{}", s.trace_id, s.span_id));
                    }
                } else {
                    e.0.push(gap);
                }
            }
        }
    }
    if first > last {
        return out;
    }
    let (pre_min, post_min) = crate::stats::observed_minutes(
        spans.iter().map(|s| s.start).filter(|&t| in_window(t)),
        incident.onset,
    );
    for (i, t) in out.iter_mut().enumerate() {
        let (a, b) = (t.origins_pre as f64 / pre_min, t.origins_post as f64 / post_min);
        t.error_strength = crate::stats::rate_excess(a, b);
        if self_pre[i].len() >= MIN_SELF_SAMPLES && self_post[i].len() >= MIN_SELF_SAMPLES {
            t.self_time_ratio = ratio_shift(&self_pre[i], &self_post[i], 0.5, SELF_FLOOR_MS)
                + ratio_shift(&self_pre[i], &self_post[i], 0.9, SELF_FLOOR_MS);
            t.self_time_ms = (
                crate::stats::median(self_pre[i].iter().copied()).unwrap_or(0.0),
                crate::stats::median(self_post[i].iter().copied()).unwrap_or(0.0),
            );
        }
    }
    for (&(caller, callee), (pre, post, ids)) in &gaps {
        if pre.len() < MIN_GAP_SAMPLES || post.len() < MIN_GAP_SAMPLES {
            continue;
        }
        let r = ratio_shift(pre, post, 0.5, GAP_FLOOR_MS);
        if r <= 0.0 {
            continue;
        }
        for (who, w) in [(callee, 1.0), (caller, 0.5)] {
            out[who].gap_ratio += w * r;
            if out[who].top_gap.is_none_or(|g| r > g.2) {
                out[who].top_gap = Some((caller, callee, r));
                out[who].gap_span_ids = ids.clone();
            }
        }
    }
    out
}

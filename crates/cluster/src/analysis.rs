//! Per-template statistics and novelty signals of an incident window.
//!
//! Records are mined with one [`TemplateMiner`] (first line of each body: stack frames vary
//! too much to template). For each template and service the records are split at `onset`:
//! - **New**: none before onset, some after — score `(0.5 + 0.5·error_share)·(1 − e^(−n/2))`;
//! - **RateShift**: the count after onset against the count expected from the rate before,
//!   scored as a Poisson z-value with the variance floored at 1 (`(n − λ)/√max(λ, 1)`), kept
//!   when `z ≥ min_rate_shift_z` and the rate at least `min_rate_ratio` times the baseline;
//!   score `(1 − e^(−z/min_rate_shift_z))`, scaled by `0.5 + 0.5·error_share`.

use std::collections::BTreeMap;

use faultline_core::{
    LogRecord, LogTemplate, ServiceId, Severity, TemplateId, TemplateSignal, TemplateSignalKind, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::{ClusterError, ClusterId, MinerConfig, TemplateMiner};

/// Configuration of [`analyze_logs`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogAnalysisConfig {
    /// The miner.
    pub miner: MinerConfig,
    /// Example lines kept per template.
    pub max_exemplars: usize,
    /// Smallest Poisson z-value of a rate shift that is reported.
    pub min_rate_shift_z: f64,
    /// Smallest ratio of rate after onset to rate before for a rate shift.
    pub min_rate_ratio: f64,
    /// Smallest window (either side of onset) used for rates, in seconds.
    pub min_window_secs: f64,
}

impl Default for LogAnalysisConfig {
    fn default() -> Self {
        Self {
            miner: MinerConfig::default(),
            max_exemplars: 3,
            min_rate_shift_z: 3.0,
            min_rate_ratio: 2.0,
            min_window_secs: 60.0,
        }
    }
}

impl LogAnalysisConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), ClusterError> {
        self.miner.validate()?;
        if !(self.min_rate_shift_z.is_finite() && self.min_rate_shift_z > 0.0) {
            return Err(ClusterError::invalid(
                "min_rate_shift_z",
                self.min_rate_shift_z,
                "must be > 0",
            ));
        }
        if !(self.min_rate_ratio.is_finite() && self.min_rate_ratio >= 1.0) {
            return Err(ClusterError::invalid(
                "min_rate_ratio",
                self.min_rate_ratio,
                "must be >= 1",
            ));
        }
        if !(self.min_window_secs.is_finite() && self.min_window_secs > 0.0) {
            return Err(ClusterError::invalid(
                "min_window_secs",
                self.min_window_secs,
                "must be > 0",
            ));
        }
        Ok(())
    }
}

/// Result of [`analyze_logs`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogAnalysis {
    /// Templates, most frequent first (ties by id).
    pub templates: Vec<LogTemplate>,
    /// New and rate-shifted templates per service, highest score first.
    pub signals: Vec<TemplateSignal>,
    /// Per input record, the id of its template.
    pub assignments: Vec<TemplateId>,
}

#[derive(Default)]
struct Side {
    before: u64,
    after: u64,
    after_errors: u64,
    last_after: Option<Timestamp>,
}

/// Mines the records of an incident window and derives per-template statistics and signals:
/// templates (LogTemplate with count, first/last seen, severity mix, up to 3 exemplars,
/// services) and TemplateSignals per service: New (template first appears at/after `onset` for
/// that service — or was absent from the baseline) and RateShift (rate after onset vs before,
/// with a robust score), both carrying an error share. Also returns, per input record, the
/// template id it was assigned.
///
/// ```
/// use faultline_cluster::{analyze_logs, LogAnalysisConfig};
/// use faultline_core::{LogRecord, ServiceId, Severity, TemplateSignalKind, Timestamp};
/// let rec = |s: i64, sev, body: &str| LogRecord {
///     ts: Timestamp::from_secs(s), service: ServiceId::new("cart"), severity: sev, body: body.into(),
///     attributes: Default::default(), trace_id: None, span_id: None, source: None };
/// let mut recs: Vec<LogRecord> = (0..50).map(|i| rec(i * 10, Severity::Info, &format!("GET /cart/{i} 200"))).collect();
/// recs.push(rec(600, Severity::Error, "redis: connection pool timeout after 3000 ms"));
/// recs.push(rec(610, Severity::Error, "redis: connection pool timeout after 2900 ms"));
/// let a = analyze_logs(&recs, Timestamp::from_secs(600), &LogAnalysisConfig::default()).unwrap();
/// assert_eq!(a.assignments.len(), recs.len());
/// let s = &a.signals[0];
/// assert!(matches!(s.kind, TemplateSignalKind::New));
/// assert_eq!((s.count, s.error_share), (2, 1.0));
/// ```
pub fn analyze_logs(
    records: &[LogRecord],
    onset: Timestamp,
    cfg: &LogAnalysisConfig,
) -> Result<LogAnalysis, ClusterError> {
    cfg.validate()?;
    let mut miner = TemplateMiner::new(cfg.miner.clone())?;
    let ids: Vec<ClusterId> = records
        .iter()
        .map(|r| miner.add(r.body.lines().next().unwrap_or("")))
        .collect();
    let mut text_of: BTreeMap<u32, (TemplateId, String)> = BTreeMap::new();
    let assignments: Vec<TemplateId> = ids
        .iter()
        .map(|&id| {
            let root = miner.resolve(id);
            text_of
                .entry(root.0)
                .or_insert_with(|| {
                    let t = miner.template(root).unwrap_or_default();
                    (TemplateId::derive(&[&t]), t)
                })
                .0
                .clone()
        })
        .collect();
    let mut templates: BTreeMap<TemplateId, LogTemplate> = BTreeMap::new();
    let mut sides: BTreeMap<(TemplateId, ServiceId), Side> = BTreeMap::new();
    let (mut t_min, mut t_max) = (onset, onset);
    for (r, tid) in records.iter().zip(&assignments) {
        t_min = t_min.min(r.ts);
        t_max = t_max.max(r.ts);
        let t = templates.entry(tid.clone()).or_insert_with(|| {
            let text = text_of
                .values()
                .find(|(id, _)| id == tid)
                .map(|(_, t)| t.clone())
                .unwrap_or_default();
            LogTemplate {
                id: tid.clone(),
                tokens: text.split_ascii_whitespace().map(str::to_string).collect(),
                text,
                count: 0,
                first_seen: r.ts,
                last_seen: r.ts,
                severity_mix: BTreeMap::new(),
                exemplars: Vec::new(),
                services: Vec::new(),
            }
        });
        t.count += 1;
        t.first_seen = t.first_seen.min(r.ts);
        t.last_seen = t.last_seen.max(r.ts);
        *t.severity_mix.entry(r.severity).or_insert(0) += 1;
        let first = r.body.lines().next().unwrap_or("");
        if t.exemplars.len() < cfg.max_exemplars && !t.exemplars.iter().any(|e| e == first) {
            t.exemplars.push(first.to_string());
        }
        if !t.services.contains(&r.service) {
            t.services.push(r.service.clone());
        }
        let s = sides.entry((tid.clone(), r.service.clone())).or_default();
        if r.ts < onset {
            s.before += 1;
        } else {
            s.after += 1;
            if r.severity >= Severity::Error {
                s.after_errors += 1;
            }
            s.last_after = Some(s.last_after.map_or(r.ts, |x| x.max(r.ts)));
        }
    }
    let before_min = (onset.since(t_min).0 as f64 / 1e9).max(cfg.min_window_secs) / 60.0;
    let after_min = (t_max.since(onset).0 as f64 / 1e9).max(cfg.min_window_secs) / 60.0;
    let mut signals = Vec::new();
    for ((tid, service), s) in sides {
        if s.after == 0 {
            continue;
        }
        let error_share = s.after_errors as f64 / s.after as f64;
        let weight = 0.5 + 0.5 * error_share;
        let end = s.last_after.unwrap_or(onset);
        let kind_score = if s.before == 0 {
            Some((
                TemplateSignalKind::New,
                weight * (1.0 - (-(s.after as f64) / 2.0).exp()),
            ))
        } else {
            let base_rate = s.before as f64 / before_min;
            let cur_rate = s.after as f64 / after_min;
            let expected = base_rate * after_min;
            let z = (s.after as f64 - expected) / expected.max(1.0).sqrt();
            (z >= cfg.min_rate_shift_z && cur_rate >= cfg.min_rate_ratio * base_rate).then(|| {
                (
                    TemplateSignalKind::RateShift {
                        baseline_per_min: base_rate,
                        current_per_min: cur_rate,
                    },
                    weight * (1.0 - (-z / cfg.min_rate_shift_z).exp()),
                )
            })
        };
        if let Some((kind, score)) = kind_score {
            signals.push(TemplateSignal {
                template: tid,
                service,
                kind,
                start: onset,
                end,
                count: s.after,
                error_share,
                score: score.clamp(0.0, 1.0),
            });
        }
    }
    signals.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.service.cmp(&b.service))
            .then_with(|| a.template.cmp(&b.template))
    });
    let mut templates: Vec<LogTemplate> = templates.into_values().collect();
    for t in &mut templates {
        t.services.sort();
    }
    templates.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.id.cmp(&b.id)));
    Ok(LogAnalysis {
        templates,
        signals,
        assignments,
    })
}

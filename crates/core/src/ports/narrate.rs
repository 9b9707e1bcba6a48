use std::fmt::Write as _;

use async_trait::async_trait;

use crate::{IncidentReport, Result};

/// Turns a report into prose. The LLM narrator (in `faultline-rca`) implements this too and
/// falls back to [`TemplateNarrator`].
#[async_trait]
pub trait Narrator: Send + Sync {
    /// A short paragraph describing the report's findings.
    async fn narrate(&self, report: &IncidentReport) -> Result<String>;
}

/// Deterministic narration from fixed sentence templates: the same report always gives the
/// same text.
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateNarrator;

impl TemplateNarrator {
    /// The narrative, synchronously.
    pub fn render(report: &IncidentReport) -> String {
        let mut s = String::new();
        let Some(top) = report.hypotheses.first() else {
            let _ = write!(
                s,
                "No root cause could be ranked for {}: {} anomalies and {} log signals were found, none with enough evidence.",
                report.incident.id,
                report.anomalies.len(),
                report.template_signals.len()
            );
            return s;
        };
        let _ = write!(
            s,
            "Most likely cause: {} (confidence {:.0}%). {}",
            top.service,
            top.confidence * 100.0,
            top.statement
        );
        let support: Vec<&str> = top
            .support
            .iter()
            .filter_map(|id| report.evidence(id))
            .take(3)
            .map(|e| e.summary.as_str())
            .collect();
        if !support.is_empty() {
            let _ = write!(s, " Evidence: {}.", support.join("; "));
        }
        if let Some(second) = report.hypotheses.get(1) {
            let _ = write!(
                s,
                " Runner-up: {} ({:.0}%){}",
                second.service,
                second.confidence * 100.0,
                second
                    .why_not
                    .as_deref()
                    .map(|w| format!(": {w}"))
                    .unwrap_or_default()
            );
            if !s.ends_with('.') {
                s.push('.');
            }
        }
        if report.blast_radius.services.len() > 1 {
            let _ = write!(
                s,
                " Affected: {}.",
                report
                    .blast_radius
                    .services
                    .iter()
                    .map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        s
    }
}

#[async_trait]
impl Narrator for TemplateNarrator {
    async fn narrate(&self, report: &IncidentReport) -> Result<String> {
        Ok(Self::render(report))
    }
}

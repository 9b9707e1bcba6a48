//! [`LlmNarrator`]: ask a model to explain the report, check the answer, fall back to the
//! template narrator on anything short of a clean answer.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use faultline_core::ports::{ChatRequest, LlmClient, Narrator, TemplateNarrator};
use faultline_core::{IncidentReport, ServiceId};
use serde::{Deserialize, Serialize};

use super::check::{check_answer, narration_schema, Allowed, AnswerLimits, NarrationAnswer, Rejection};
use super::prompt::{build_messages, PromptLimits};
use crate::RcaError;

/// Configuration of [`LlmNarrator`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmNarratorConfig {
    /// Upper bound on one model call, in milliseconds (default 20 000); passed to the client
    /// and enforced by the narrator as well.
    pub timeout_ms: u64,
    /// Sampling temperature (default 0.2).
    pub temperature: f32,
    /// Most bytes of a raw answer (default 16 384).
    pub max_answer_bytes: usize,
    /// Most characters of the summary (default 1200).
    pub max_summary_chars: usize,
    /// Most characters of one hypothesis explanation (default 800).
    pub max_explanation_chars: usize,
    /// Most hypotheses described in the prompt (default 5).
    pub max_prompt_hypotheses: usize,
    /// Most evidence summaries per hypothesis in the prompt (default 5).
    pub max_prompt_evidence: usize,
    /// Most timeline entries in the prompt (default 20).
    pub max_prompt_timeline: usize,
}

impl Default for LlmNarratorConfig {
    fn default() -> Self {
        let a = AnswerLimits::default();
        let p = PromptLimits::default();
        Self {
            timeout_ms: 20_000,
            temperature: 0.2,
            max_answer_bytes: a.max_answer_bytes,
            max_summary_chars: a.max_summary_chars,
            max_explanation_chars: a.max_explanation_chars,
            max_prompt_hypotheses: p.max_hypotheses,
            max_prompt_evidence: p.max_evidence_per_hypothesis,
            max_prompt_timeline: p.max_timeline_entries,
        }
    }
}

impl LlmNarratorConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), RcaError> {
        let bad = |field, value: String, reason| Err(RcaError::InvalidConfig { field, value, reason });
        if self.timeout_ms == 0 {
            return bad("timeout_ms", "0".into(), "must be > 0");
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            return bad("temperature", self.temperature.to_string(), "must be in [0, 2]");
        }
        for (field, v) in [
            ("max_answer_bytes", self.max_answer_bytes),
            ("max_summary_chars", self.max_summary_chars),
            ("max_explanation_chars", self.max_explanation_chars),
            ("max_prompt_hypotheses", self.max_prompt_hypotheses),
        ] {
            if v == 0 {
                return bad(field, "0".into(), "must be > 0");
            }
        }
        Ok(())
    }

    fn answer_limits(&self) -> AnswerLimits {
        AnswerLimits {
            max_answer_bytes: self.max_answer_bytes,
            max_summary_chars: self.max_summary_chars,
            max_explanation_chars: self.max_explanation_chars,
        }
    }

    fn prompt_limits(&self) -> PromptLimits {
        PromptLimits {
            max_hypotheses: self.max_prompt_hypotheses,
            max_evidence_per_hypothesis: self.max_prompt_evidence,
            max_timeline_entries: self.max_prompt_timeline,
            ..PromptLimits::default()
        }
    }
}

/// Where a narrative came from.
#[derive(Debug, Clone, PartialEq)]
pub enum NarrationSource {
    /// The model's answer, checked.
    Llm(NarrationAnswer),
    /// The template narrator, because the model's answer was not used.
    Fallback(FallbackReason),
}

/// Why the model's answer was not used.
#[derive(Debug, Clone, PartialEq)]
pub enum FallbackReason {
    /// The report has no hypothesis to explain; the model was not asked.
    NothingToExplain,
    /// The call did not finish within `timeout_ms`.
    Timeout {
        /// The limit, in milliseconds.
        millis: u64,
    },
    /// The client failed (transport, HTTP status, unreadable response).
    Client(String),
    /// The answer failed a check.
    Rejected(Rejection),
}

impl std::fmt::Display for FallbackReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NothingToExplain => write!(f, "no hypothesis to explain"),
            Self::Timeout { millis } => write!(f, "model call timed out after {millis} ms"),
            Self::Client(m) => write!(f, "model call failed: {m}"),
            Self::Rejected(r) => write!(f, "answer rejected: {r}"),
        }
    }
}

/// A narrative and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Narration {
    /// The text.
    pub text: String,
    /// Its source.
    pub source: NarrationSource,
}

/// A [`Narrator`] that lets an LLM rephrase and explain the report, checks the answer (see
/// [`check_answer`]) and falls back to [`TemplateNarrator`] on a timeout, a client error or a
/// rejected answer, logging the reason at `warn`. It never fails.
///
/// ```
/// use std::sync::Arc;
/// use faultline_core::ports::{ChatRequest, LlmClient};
/// use faultline_rca::narrate::{LlmNarrator, LlmNarratorConfig};
///
/// struct Offline;
/// #[async_trait::async_trait]
/// impl LlmClient for Offline {
///     async fn complete(&self, _: &ChatRequest) -> faultline_core::Result<String> {
///         Err(faultline_core::CoreError::Adapter { adapter: "offline".into(), message: "no network".into() })
///     }
/// }
/// let narrator = LlmNarrator::try_new(Arc::new(Offline), LlmNarratorConfig::default()).unwrap();
/// # let _ = narrator;
/// ```
#[derive(Clone)]
pub struct LlmNarrator {
    client: Arc<dyn LlmClient>,
    config: LlmNarratorConfig,
    known_services: Vec<ServiceId>,
}

impl std::fmt::Debug for LlmNarrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmNarrator")
            .field("config", &self.config)
            .field("known_services", &self.known_services.len())
            .finish_non_exhaustive()
    }
}

impl LlmNarrator {
    /// A narrator over `client` with `config` (validated).
    pub fn try_new(client: Arc<dyn LlmClient>, config: LlmNarratorConfig) -> Result<Self, RcaError> {
        config.validate()?;
        Ok(Self {
            client,
            config,
            known_services: Vec::new(),
        })
    }

    /// Every service the host knows of (e.g. the whole topology): an answer naming one that
    /// the report does not contain is rejected even when it does not look like a service name.
    pub fn with_known_services(mut self, services: impl IntoIterator<Item = ServiceId>) -> Self {
        self.known_services = services.into_iter().collect();
        self
    }

    /// The request sent to the model for `report`.
    pub fn request(&self, report: &IncidentReport) -> ChatRequest {
        ChatRequest {
            messages: build_messages(report, &self.config.prompt_limits()),
            json_schema: Some(narration_schema()),
            temperature: self.config.temperature,
            timeout_ms: self.config.timeout_ms,
        }
    }

    /// The narrative for `report` and where it came from.
    pub async fn narrate_with_source(&self, report: &IncidentReport) -> Narration {
        let source = match self.ask(report).await {
            Ok(answer) => NarrationSource::Llm(answer),
            Err(reason) => {
                if reason != FallbackReason::NothingToExplain {
                    tracing::warn!(incident = %report.incident.id, %reason, "llm narration fell back to the template");
                }
                NarrationSource::Fallback(reason)
            }
        };
        let text = match &source {
            NarrationSource::Llm(answer) => render(report, answer),
            NarrationSource::Fallback(_) => TemplateNarrator::render(report),
        };
        Narration { text, source }
    }

    async fn ask(&self, report: &IncidentReport) -> Result<NarrationAnswer, FallbackReason> {
        if report.hypotheses.is_empty() {
            return Err(FallbackReason::NothingToExplain);
        }
        let request = self.request(report);
        let millis = self.config.timeout_ms;
        let raw = tokio::time::timeout(Duration::from_millis(millis), self.client.complete(&request))
            .await
            .map_err(|_| FallbackReason::Timeout { millis })?
            .map_err(|e| match e {
                faultline_core::CoreError::Timeout { millis, .. } => FallbackReason::Timeout { millis },
                other => FallbackReason::Client(other.to_string()),
            })?;
        let mut allowed = Allowed::from_report(report);
        allowed.known_services = self
            .known_services
            .iter()
            .map(|s| s.as_str().to_lowercase())
            .collect();
        check_answer(&raw, &allowed, &self.config.answer_limits()).map_err(FallbackReason::Rejected)
    }
}

/// The summary, then one line per hypothesis in rank order: the model's explanation, or the
/// analysis's own statement where the model gave none. Service, rank and confidence always
/// come from the report, never from the model.
fn render(report: &IncidentReport, answer: &NarrationAnswer) -> String {
    let mut s = answer.summary.trim().to_owned();
    for h in &report.hypotheses {
        let explained = answer
            .hypotheses
            .iter()
            .find(|e| e.id.trim().eq_ignore_ascii_case(h.id.as_str()))
            .map(|e| e.explanation.trim())
            .filter(|e| !e.is_empty());
        let _ = write!(
            s,
            "\n{}. {} ({:.0}%): {}",
            h.rank,
            h.service,
            h.confidence * 100.0,
            explained.unwrap_or(&h.statement)
        );
    }
    s
}

#[async_trait]
impl Narrator for LlmNarrator {
    async fn narrate(&self, report: &IncidentReport) -> faultline_core::Result<String> {
        Ok(self.narrate_with_source(report).await.text)
    }
}

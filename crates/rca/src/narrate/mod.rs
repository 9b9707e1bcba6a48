//! Narration with a language model, kept honest.
//!
//! [`LlmNarrator`] asks a chat model (any [`LlmClient`](faultline_core::ports::LlmClient); the
//! HTTP adapter [`OpenAiCompatClient`] needs the `llm` feature) to rephrase and explain a
//! report, as JSON of a fixed schema ([`narration_schema`]). The model may reword; it may not
//! add a hypothesis, a service, an evidence item or a link, nor put a different root cause
//! first. [`check_answer`] enforces that on every answer; a rejected answer, a timeout or a
//! client error falls back to the deterministic
//! [`TemplateNarrator`](faultline_core::ports::TemplateNarrator), and the reason is logged at
//! `warn`. The checks are always compiled; only the HTTP client is behind the feature. See
//! `docs/llm-narration.md`.
//!
//! The narrator enforces its timeout with `tokio::time`, so it must run on a tokio runtime
//! with the time driver enabled.

mod check;
mod narrator;
#[cfg(feature = "llm")]
mod openai;
mod prompt;

pub use check::{
    check_answer, narration_schema, Allowed, AnswerLimits, HypothesisExplanation, NarrationAnswer, Rejection,
};
pub use narrator::{FallbackReason, LlmNarrator, LlmNarratorConfig, Narration, NarrationSource};
#[cfg(feature = "llm")]
pub use openai::{OpenAiCompatClient, OpenAiCompatConfig};
pub use prompt::{build_messages, findings, PromptLimits};

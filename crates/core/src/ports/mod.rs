//! Adapter traits (ports) through which hosts plug in storage, LLMs, runners, policy,
//! notification, audit and time — each with a local default that needs no setup.
//!
//! | trait | default |
//! |---|---|
//! | [`SignalSource`] | [`StaticSource`] (signals already in memory); the bundle reader lives in the facade |
//! | [`SignalStore`] | [`InMemorySignalStore`] |
//! | [`IncidentStore`] | [`InMemoryIncidentStore`], [`FileIncidentStore`] |
//! | [`LlmClient`] | none; the OpenAI-compatible adapter is in `faultline-rca` behind a feature |
//! | [`Narrator`] | [`TemplateNarrator`] |
//! | [`Embedder`] | [`HashedNgramEmbedder`] |
//! | [`Runner`] | [`DryRunRunner`] |
//! | [`PolicyEngine`] | [`BuiltinPolicy`] |
//! | [`Notifier`] | [`LogNotifier`] |
//! | [`AuditSink`] | [`InMemoryAuditSink`] |
//! | [`Clock`] | [`SystemClock`], [`ManualClock`] |

mod audit;
mod clock;
mod embed;
mod llm;
mod narrate;
mod notify;
mod policy;
mod runner;
mod signals;
mod store;

pub use audit::{next_record, verify_chain, AuditSink, ChainError, InMemoryAuditSink};
pub use clock::{Clock, ManualClock, SystemClock};
pub use embed::{cosine, Embedder, HashedNgramEmbedder};
pub use llm::{ChatMessage, ChatRequest, LlmClient};
pub use narrate::{Narrator, TemplateNarrator};
pub use notify::{LogNotifier, Notification, Notifier};
pub use policy::{BuiltinPolicy, PolicyDecision, PolicyEngine};
pub use runner::{DryRunRunner, RunMode, RunOutput, Runner};
pub use signals::{InMemorySignalStore, SignalSource, SignalStore, StaticSource};
pub use store::{FileIncidentStore, InMemoryIncidentStore, IncidentStore};

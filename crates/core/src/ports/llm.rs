use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Result;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// Text.
    pub content: String,
}

/// A chat-completion request that asks for JSON matching a schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// Conversation.
    pub messages: Vec<ChatMessage>,
    /// JSON schema the answer must follow, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<serde_json::Value>,
    /// Sampling temperature.
    #[serde(default)]
    pub temperature: f32,
    /// Upper bound on the time the call may take, in milliseconds.
    pub timeout_ms: u64,
}

/// A chat-completion model. faultline only lets it rephrase and explain what the analysis
/// found; its answers are checked before use.
#[async_trait]
pub trait LlmClient: Send + Sync {
    /// The model's answer (text; JSON when a schema was given).
    async fn complete(&self, request: &ChatRequest) -> Result<String>;
}

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Result;

/// A message for humans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Short title.
    pub title: String,
    /// Body text (Markdown).
    pub body: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// Incident id, if about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
}

/// Tells humans (chat, paging, e-mail).
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends one notification.
    async fn notify(&self, n: &Notification) -> Result<()>;
}

/// Writes notifications to the `tracing` log.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn notify(&self, n: &Notification) -> Result<()> {
        tracing::info!(title = %n.title, severity = %n.severity, incident = ?n.incident, "notification");
        Ok(())
    }
}

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Result, Step};

/// Whether a step really runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// Run the step's dry-run form.
    DryRun,
    /// Run it for real.
    Execute,
}

/// What running a step produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutput {
    /// 0 for success (HTTP runners map 2xx to 0).
    pub status: i32,
    /// Captured output.
    pub output: String,
}

/// Runs plan steps (shell, GitOps, HTTP). Approval is enforced before a runner is reached.
#[async_trait]
pub trait Runner: Send + Sync {
    /// Short name (`dry-run`, `shell`, `gitops`, `http`).
    fn name(&self) -> &str;
    /// Runs one step.
    async fn run(&self, step: &Step, mode: RunMode) -> Result<RunOutput>;
}

/// The default runner: never changes anything, reports what it would have run.
#[derive(Debug, Clone, Copy, Default)]
pub struct DryRunRunner;

#[async_trait]
impl Runner for DryRunRunner {
    fn name(&self) -> &str {
        "dry-run"
    }
    async fn run(&self, step: &Step, mode: RunMode) -> Result<RunOutput> {
        let script = match mode {
            RunMode::DryRun => &step.dry_run,
            RunMode::Execute => &step.script,
        };
        Ok(RunOutput {
            status: 0,
            output: format!("[dry-run] would run: {script}"),
        })
    }
}

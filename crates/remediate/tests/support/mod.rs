//! Shared helpers for the integration tests.
#![allow(clippy::unwrap_used)]
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use async_trait::async_trait;
use faultline_core::ports::{Notification, Notifier, RunMode, RunOutput, Runner};
use faultline_core::Step;

/// Runs git in `dir`, panicking on failure (test setup only).
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

/// A repository with `flags/payments.yaml` committed on `main`.
pub fn repo_with_flags(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(dir.join("flags")).unwrap();
    std::fs::write(
        dir.join("flags/payments.yaml"),
        "# payments flags\nacquirer_pool_size: 4\nretries: 3\n",
    )
    .unwrap();
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "initial"]);
}

/// A runner that records what it was asked to run; fails steps whose script contains
/// `fail_on`.
#[derive(Default)]
pub struct RecordingRunner {
    /// Scripts run, with their mode.
    pub calls: Mutex<Vec<(String, RunMode)>>,
    /// Scripts containing this fail.
    pub fail_on: Option<String>,
}

#[async_trait]
impl Runner for RecordingRunner {
    fn name(&self) -> &str {
        "recording"
    }
    async fn run(&self, step: &Step, mode: RunMode) -> faultline_core::Result<RunOutput> {
        let script = if mode == RunMode::DryRun {
            &step.dry_run
        } else {
            &step.script
        };
        self.calls.lock().unwrap().push((script.clone(), mode));
        let fail = self.fail_on.as_ref().is_some_and(|f| script.contains(f.as_str()));
        Ok(RunOutput {
            status: i32::from(fail),
            output: format!("ran {script}"),
        })
    }
}

impl RecordingRunner {
    /// Scripts run in execute mode.
    pub fn executed(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, m)| *m == RunMode::Execute)
            .map(|(s, _)| s.clone())
            .collect()
    }
}

/// A notifier that remembers notifications.
#[derive(Default)]
pub struct RecordingNotifier(pub Mutex<Vec<Notification>>);

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn notify(&self, n: &Notification) -> faultline_core::Result<()> {
        self.0.lock().unwrap().push(n.clone());
        Ok(())
    }
}

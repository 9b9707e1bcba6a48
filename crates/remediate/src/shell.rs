//! The local shell runner: runs a step's command as argv, never through a shell.
//!
//! The script is split with [`crate::quote::split`] (which refuses unquoted `;`, `|`, `&&`,
//! `$(…)`, redirections, …), the program must be on the allow-list (bare names only, looked up
//! on `PATH`), `"$NAME"` arguments are filled only from allow-listed environment variables, the
//! child gets a clean environment (`PATH`, `HOME` and the allow-listed variables), output is
//! captured and truncated, and the child is killed when the timeout passes.

use std::path::PathBuf;
use std::process::Stdio;

use async_trait::async_trait;
use faultline_core::ports::{RunMode, RunOutput, Runner};
use faultline_core::Step;
use serde::{Deserialize, Serialize};

use crate::quote::{split, Arg};
use crate::RemediateError;

/// Shell runner settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShellConfig {
    /// Programs that may run (bare names, no paths).
    pub allowed_programs: Vec<String>,
    /// Per-step time limit.
    pub timeout_ms: u64,
    /// Output kept per step (stdout then stderr), in bytes.
    pub max_output_bytes: usize,
    /// Environment variables that `"$NAME"` arguments may reference and the child inherits.
    pub env_passthrough: Vec<String>,
    /// Working directory (the current one when absent).
    pub working_dir: Option<PathBuf>,
}

impl Default for ShellConfig {
    fn default() -> Self {
        Self {
            allowed_programs: [
                "kubectl",
                "helm",
                "terraform",
                "ansible-playbook",
                "psql",
                "curl",
                "echo",
            ]
            .map(String::from)
            .to_vec(),
            timeout_ms: 120_000,
            max_output_bytes: 64 * 1024,
            env_passthrough: vec![],
            working_dir: None,
        }
    }
}

/// Runs steps as local processes.
#[derive(Debug, Clone, Default)]
pub struct ShellRunner {
    config: ShellConfig,
}

impl ShellRunner {
    /// A runner with `config` (validated).
    pub fn try_new(config: ShellConfig) -> Result<Self, RemediateError> {
        if config.timeout_ms == 0 {
            return Err(RemediateError::Config("shell timeout_ms must be > 0".into()));
        }
        if let Some(p) = config
            .allowed_programs
            .iter()
            .find(|p| p.is_empty() || p.contains('/'))
        {
            return Err(RemediateError::Config(format!(
                "allowed program {p:?} must be a bare name"
            )));
        }
        Ok(Self { config })
    }

    /// The argv the runner would execute for `script`, after every check.
    pub fn argv(&self, script: &str) -> Result<Vec<String>, RemediateError> {
        let words = split(script)?;
        let mut out = Vec::with_capacity(words.len());
        for (i, w) in words.into_iter().enumerate() {
            match w {
                Arg::Lit(s) => out.push(s),
                Arg::Env(name) if i > 0 && self.config.env_passthrough.contains(&name) => {
                    out.push(std::env::var(&name).map_err(|_| {
                        RemediateError::NotAllowed(format!("environment variable {name} is not set"))
                    })?);
                }
                Arg::Env(name) => {
                    return Err(RemediateError::NotAllowed(format!(
                        "environment variable {name} is not in the pass-through list"
                    )))
                }
            }
        }
        let Some(program) = out.first() else {
            return Err(RemediateError::NotAllowed("empty command".into()));
        };
        if !self.config.allowed_programs.iter().any(|p| p == program) {
            return Err(RemediateError::NotAllowed(format!(
                "program '{program}' is not allow-listed"
            )));
        }
        Ok(out)
    }

    async fn run_argv(&self, argv: &[String]) -> Result<RunOutput, RemediateError> {
        let mut cmd = tokio::process::Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for v in ["PATH", "HOME"]
            .iter()
            .copied()
            .chain(self.config.env_passthrough.iter().map(String::as_str))
        {
            if let Ok(val) = std::env::var(v) {
                cmd.env(v, val);
            }
        }
        if let Some(d) = &self.config.working_dir {
            cmd.current_dir(d);
        }
        let child = cmd.spawn().map_err(|e| RemediateError::Runner {
            runner: "shell".into(),
            message: format!("cannot start {}: {e}", argv[0]),
        })?;
        let limit = std::time::Duration::from_millis(self.config.timeout_ms);
        let out = match tokio::time::timeout(limit, child.wait_with_output()).await {
            Ok(r) => r.map_err(|e| RemediateError::Runner {
                runner: "shell".into(),
                message: e.to_string(),
            })?,
            // Dropping the future drops the child, which kill_on_drop kills.
            Err(_) => {
                return Err(RemediateError::Timeout {
                    millis: self.config.timeout_ms,
                })
            }
        };
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        if text.len() > self.config.max_output_bytes {
            let mut end = self.config.max_output_bytes;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push_str("\n[output truncated]");
        }
        Ok(RunOutput {
            status: out.status.code().unwrap_or(-1),
            output: text,
        })
    }
}

#[async_trait]
impl Runner for ShellRunner {
    fn name(&self) -> &str {
        "shell"
    }
    async fn run(&self, step: &Step, mode: RunMode) -> faultline_core::Result<RunOutput> {
        let script = match mode {
            RunMode::DryRun => &step.dry_run,
            RunMode::Execute => &step.script,
        };
        let argv = self.argv(script)?;
        Ok(self.run_argv(&argv).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(script: &str) -> Step {
        Step {
            action: "t".into(),
            target: "t".into(),
            script: script.into(),
            dry_run: format!("echo dry {script}"),
            rollback: "echo undo".into(),
        }
    }

    fn runner(programs: &[&str]) -> ShellRunner {
        ShellRunner::try_new(ShellConfig {
            allowed_programs: programs.iter().map(|s| (*s).to_owned()).collect(),
            timeout_ms: 2_000,
            ..Default::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn runs_allow_listed_programs_and_captures_output() {
        let r = runner(&["echo"]);
        let out = r.run(&step("echo hello 'a b'"), RunMode::Execute).await.unwrap();
        assert_eq!(out.status, 0);
        assert_eq!(out.output, "hello a b\n");
        let dry = r.run(&step("x"), RunMode::DryRun).await.unwrap();
        assert_eq!(dry.output, "dry x\n");
    }

    #[tokio::test]
    async fn templated_injection_is_an_argument_not_a_command() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("pwned");
        let evil = format!("x; touch {}", marker.display());
        let script = crate::quote::join(&["echo".into(), Arg::Lit(evil.clone())]);
        let out = runner(&["echo"])
            .run(&step(&script), RunMode::Execute)
            .await
            .unwrap();
        assert_eq!(out.output.trim_end(), evil);
        assert!(!marker.exists());
        // A hand-written chain is refused before anything runs.
        let chained = format!("echo hi; touch {}", marker.display());
        assert!(runner(&["echo", "touch"])
            .run(&step(&chained), RunMode::Execute)
            .await
            .is_err());
        assert!(!marker.exists());
    }

    #[tokio::test]
    async fn refuses_unlisted_programs_and_paths() {
        let r = runner(&["echo"]);
        assert!(r.run(&step("touch /tmp/x"), RunMode::Execute).await.is_err());
        assert!(r.run(&step("/bin/echo hi"), RunMode::Execute).await.is_err());
        assert!(ShellRunner::try_new(ShellConfig {
            allowed_programs: vec!["/bin/sh".into()],
            ..Default::default()
        })
        .is_err());
        assert!(
            r.run(&step("echo \"$HOME\""), RunMode::Execute).await.is_err(),
            "env not passed through"
        );
    }

    #[tokio::test]
    async fn non_zero_exit_is_reported_and_timeout_kills() {
        let r = runner(&["false", "sleep"]);
        assert_ne!(r.run(&step("false"), RunMode::Execute).await.unwrap().status, 0);
        let slow = ShellRunner::try_new(ShellConfig {
            allowed_programs: vec!["sleep".into()],
            timeout_ms: 100,
            ..Default::default()
        })
        .unwrap();
        let t = std::time::Instant::now();
        let e = slow.run(&step("sleep 5"), RunMode::Execute).await.unwrap_err();
        assert!(matches!(e, faultline_core::CoreError::Timeout { .. }), "{e}");
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }

    #[tokio::test]
    async fn output_is_truncated() {
        let r = ShellRunner::try_new(ShellConfig {
            allowed_programs: vec!["echo".into()],
            max_output_bytes: 8,
            ..Default::default()
        })
        .unwrap();
        let out = r
            .run(&step("echo 0123456789abcdef"), RunMode::Execute)
            .await
            .unwrap();
        assert!(out.output.starts_with("01234567") && out.output.contains("truncated"));
    }
}

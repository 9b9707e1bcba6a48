//! The GitOps runner: turns `gitops set FILE KEY VALUE` steps into commits on a branch of a
//! local git repository (the host pushes it and opens the pull request).
//!
//! It uses git plumbing (`hash-object`, a temporary index, `write-tree`, `commit-tree`,
//! `update-ref`) so the repository's working tree, index and checked-out branch are never
//! touched. Each commit message names the incident, the plan and the rollback. Keys are
//! dotted YAML paths (`payments.acquirer_pool_size`) edited line by line, which keeps comments
//! and formatting.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use async_trait::async_trait;
use faultline_core::ports::{RunMode, RunOutput, Runner};
use faultline_core::{FixPlan, Step};
use tokio::io::AsyncWriteExt;

use crate::quote::{split, Arg};
use crate::RemediateError;

/// Writes plan steps as commits to a branch.
#[derive(Debug, Clone)]
pub struct GitOpsRunner {
    repo: PathBuf,
    base: String,
    branch: String,
    incident: String,
    plan: String,
    lock: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// Sets `key` (dotted path) to `value` in YAML `text`, keeping everything else. Returns the
/// new text and the old value (if the key existed).
pub fn set_yaml_key(text: &str, key: &str, value: &str) -> Result<(String, Option<String>), RemediateError> {
    let path: Vec<&str> = key.split('.').collect();
    if path.iter().any(|p| p.is_empty()) {
        return Err(RemediateError::InvalidValue {
            field: "key".into(),
            value: key.into(),
            reason: "empty path segment".into(),
        });
    }
    let rendered = yaml_scalar(value);
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for line in lines.iter_mut() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('-') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let Some((k, rest)) = trimmed.split_once(':') else {
            continue;
        };
        let k = k.trim().trim_matches('"').trim_matches('\'').to_owned();
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, k));
        let matches = stack.len() == path.len() && stack.iter().zip(&path).all(|((_, a), b)| a == b);
        if matches {
            let old = rest.trim();
            if old.is_empty() {
                return Err(RemediateError::InvalidValue {
                    field: "key".into(),
                    value: key.into(),
                    reason: "is a mapping, not a scalar".into(),
                });
            }
            let old_value = old.split(" #").next().unwrap_or(old).trim().to_owned();
            *line = format!(
                "{}{}: {}",
                &line[..indent],
                stack.last().map(|(_, k)| k.as_str()).unwrap_or(""),
                rendered
            );
            let mut out = lines.join("\n");
            if text.ends_with('\n') {
                out.push('\n');
            }
            return Ok((out, Some(old_value)));
        }
    }
    if path.len() == 1 {
        let mut out = text.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("{key}: {rendered}\n"));
        return Ok((out, None));
    }
    Err(RemediateError::InvalidValue {
        field: "key".into(),
        value: key.into(),
        reason: "not found in the file".into(),
    })
}

fn yaml_scalar(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !v.starts_with('-');
    if plain {
        v.to_owned()
    } else {
        // A JSON string is a valid YAML double-quoted scalar.
        serde_json::Value::String(v.to_owned()).to_string()
    }
}

impl GitOpsRunner {
    /// A runner committing to `faultline/<plan id>` forked from `base` for `plan`.
    pub fn for_plan(repo: impl Into<PathBuf>, base: &str, plan: &FixPlan) -> Self {
        Self {
            repo: repo.into(),
            base: base.to_owned(),
            branch: format!("faultline/{}", plan.id),
            incident: plan.incident.0.clone(),
            plan: plan.id.0.clone(),
            lock: Default::default(),
        }
    }

    /// The branch it commits to.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    async fn git(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, &Path)],
    ) -> Result<String, RemediateError> {
        let mut cmd = tokio::process::Command::new("git");
        cmd.arg("-C")
            .arg(&self.repo)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("GIT_AUTHOR_NAME", "faultline")
            .env("GIT_AUTHOR_EMAIL", "faultline@localhost")
            .env("GIT_COMMITTER_NAME", "faultline")
            .env("GIT_COMMITTER_EMAIL", "faultline@localhost")
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let fail = |m: String| RemediateError::Git {
            args: args.join(" "),
            message: m,
        };
        let mut child = cmd.spawn().map_err(|e| fail(e.to_string()))?;
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(data).await.map_err(|e| fail(e.to_string()))?;
        }
        let out = child.wait_with_output().await.map_err(|e| fail(e.to_string()))?;
        if !out.status.success() {
            return Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .trim_end_matches('\n')
            .to_owned())
    }

    fn parse(step: &Step, script: &str) -> Result<(String, String, String, String), RemediateError> {
        let words: Vec<String> = split(script)?
            .into_iter()
            .map(|a| match a {
                Arg::Lit(s) => Ok(s),
                Arg::Env(_) => Err(RemediateError::NotAllowed(
                    "gitops steps take no environment references".into(),
                )),
            })
            .collect::<Result<_, _>>()?;
        match words.as_slice() {
            [tool, verb, file, key, value] if tool == "gitops" && (verb == "set" || verb == "diff") => {
                let file = crate::actions::repo_path("file", file)?;
                Ok((verb.clone(), file, key.clone(), value.clone()))
            }
            _ => Err(RemediateError::NotAllowed(format!(
                "the gitops runner only runs 'gitops set|diff FILE KEY VALUE' steps, not {:?} ({})",
                script, step.action
            ))),
        }
    }

    async fn apply(&self, step: &Step, mode: RunMode) -> Result<RunOutput, RemediateError> {
        let script = if mode == RunMode::DryRun {
            &step.dry_run
        } else {
            &step.script
        };
        let (verb, file, key, value) = Self::parse(step, script)?;
        let _guard = self.lock.lock().await;
        let branch_ref = format!("refs/heads/{}", self.branch);
        let parent = match self
            .git(&["rev-parse", "--verify", "-q", &branch_ref], None, &[])
            .await
        {
            Ok(sha) if !sha.is_empty() => sha,
            _ => {
                self.git(
                    &["rev-parse", "--verify", &format!("{}^{{commit}}", self.base)],
                    None,
                    &[],
                )
                .await?
            }
        };
        let old_text = self
            .git(&["show", &format!("{parent}:{file}")], None, &[])
            .await
            .unwrap_or_default();
        let (new_text, old_value) = set_yaml_key(&old_text, &key, &value)?;
        let diff = format!(
            "--- a/{file}\n+++ b/{file}\n-{key}: {}\n+{key}: {}\n",
            old_value.as_deref().unwrap_or("(absent)"),
            yaml_scalar(&value)
        );
        if mode == RunMode::DryRun || verb == "diff" {
            return Ok(RunOutput {
                status: 0,
                output: diff,
            });
        }
        let blob = self
            .git(&["hash-object", "-w", "--stdin"], Some(new_text.as_bytes()), &[])
            .await?;
        let tmp = tempfile_path(&self.repo);
        let index_env = [("GIT_INDEX_FILE", tmp.as_path())];
        let result = async {
            self.git(&["read-tree", &parent], None, &index_env).await?;
            self.git(&["update-index", "--add", "--cacheinfo", &format!("100644,{blob},{file}")], None, &index_env)
                .await?;
            let tree = self.git(&["write-tree"], None, &index_env).await?;
            let msg = format!(
                "faultline: {} {}\n\nSet {key} to {value} in {file}.\n\nIncident: {}\nPlan: {}\nRollback: {}\n",
                step.action, step.target, self.incident, self.plan, step.rollback
            );
            let commit = self.git(&["commit-tree", &tree, "-p", &parent, "-F", "-"], Some(msg.as_bytes()), &[]).await?;
            self.git(&["update-ref", &branch_ref, &commit], None, &[]).await?;
            Ok::<_, RemediateError>(commit)
        }
        .await;
        let _ = std::fs::remove_file(&tmp);
        let commit = result?;
        Ok(RunOutput {
            status: 0,
            output: format!("committed {commit} on {}\n{diff}", self.branch),
        })
    }
}

fn tempfile_path(repo: &Path) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let _ = repo;
    std::env::temp_dir().join(format!("faultline-index-{}-{nanos}", std::process::id()))
}

#[async_trait]
impl Runner for GitOpsRunner {
    fn name(&self) -> &str {
        "gitops"
    }
    async fn run(&self, step: &Step, mode: RunMode) -> faultline_core::Result<RunOutput> {
        Ok(self.apply(step, mode).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_edits_keep_the_rest() {
        let text = "# flags\npayments:\n  acquirer_pool_size: 4 # was 16\n  retries: 3\ncart:\n  acquirer_pool_size: 8\n";
        let (out, old) = set_yaml_key(text, "payments.acquirer_pool_size", "16").unwrap();
        assert_eq!(old.as_deref(), Some("4"));
        assert_eq!(
            out,
            "# flags\npayments:\n  acquirer_pool_size: 16\n  retries: 3\ncart:\n  acquirer_pool_size: 8\n"
        );
        let (out, old) = set_yaml_key("a: 1\n", "b", "x y").unwrap();
        assert_eq!((out.as_str(), old), ("a: 1\nb: \"x y\"\n", None));
        assert!(set_yaml_key(text, "payments.missing", "1").is_err());
        assert!(
            set_yaml_key(text, "payments", "1").is_err(),
            "a mapping is not replaced"
        );
        let (out, _) = set_yaml_key("k: v\n", "k", "a\"b\nc: d").unwrap();
        assert_eq!(out, "k: \"a\\\"b\\nc: d\"\n", "values cannot inject keys");
    }
}

//! The HTTP runner (feature `http`): runs the HTTP steps of a plan (AWX, Terraform Cloud,
//! ServiceNow, Jira, Slack, PagerDuty — see [`crate::http`]) as requests instead of `curl`
//! processes.
//!
//! A step's script is the `curl` line made by [`HttpRequest::to_curl`]; the runner parses it
//! back with [`HttpRequest::from_curl`] (anything else is refused), fills credentials and
//! `{{env:NAME}}` body placeholders only from allow-listed variables, checks the URL against
//! an allow-list of prefixes, and sends the request with `ureq` 3 (blocking, on tokio's
//! blocking pool) under a time limit. `echo` steps (notifications without an undo) succeed
//! without a request. A 2xx answer is status 0; any other answer's HTTP status is the step's
//! status, its body the output.
//!
//! `https://` needs the cargo feature `tls`: rustls with the ring provider (no OpenSSL),
//! server certificates checked against the Mozilla roots (webpki-roots) or, when
//! `ca_certs_pem` is set, only against those roots (an internal CA). Without the feature,
//! `https://` URLs are refused with a clear error and hosts route them through a local
//! gateway or sidecar.
//!
//! ```no_run
//! use faultline_remediate::http_runner::{HttpRunner, HttpRunnerConfig};
//! let runner = HttpRunner::try_new(HttpRunnerConfig {
//!     allowed_url_prefixes: vec!["https://awx.example.com/api/v2/".into()],
//!     env_passthrough: vec!["AWX_TOKEN".into()],
//!     ..Default::default()
//! }).unwrap();
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use async_trait::async_trait;
use faultline_core::ports::{RunMode, RunOutput, Runner};
use faultline_core::Step;
use serde_json::Value;

pub use crate::http::HttpRunnerConfig;
use crate::http::{HttpAuth, HttpRequest};
use crate::quote::{split, Arg};
use crate::RemediateError;

/// Runs HTTP steps as requests.
#[derive(Clone)]
pub struct HttpRunner {
    config: HttpRunnerConfig,
    vars: BTreeMap<String, String>,
    agent: ureq::Agent,
}

impl std::fmt::Debug for HttpRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The variables are secrets: only their names are shown.
        f.debug_struct("HttpRunner")
            .field("config", &self.config)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl HttpRunner {
    /// A runner with `config` (validated).
    pub fn try_new(config: HttpRunnerConfig) -> Result<Self, RemediateError> {
        if config.timeout_ms == 0 {
            return Err(RemediateError::Config("http timeout_ms must be > 0".into()));
        }
        let schemes: &[&str] = if cfg!(feature = "tls") {
            &["http://", "https://"]
        } else {
            &["http://"]
        };
        if let Some(p) = config
            .allowed_url_prefixes
            .iter()
            .find(|p| !schemes.iter().any(|s| p.starts_with(s)))
        {
            return Err(RemediateError::Config(format!(
                "allowed URL prefix {p:?} must start with {}",
                if cfg!(feature = "tls") {
                    "http:// or https://"
                } else {
                    "http:// (this runner is built without TLS: cargo feature `tls`)"
                }
            )));
        }
        let builder = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(config.timeout_ms)))
            .http_status_as_error(false)
            .max_redirects(0);
        let agent = tls(builder, &config.ca_certs_pem)?.build().into();
        Ok(Self {
            config,
            vars: BTreeMap::new(),
            agent,
        })
    }

    /// Provides a variable's value directly (from a secret store) instead of the process
    /// environment; it must still be in `env_passthrough`.
    pub fn with_var(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    fn var(&self, name: &str) -> Result<String, RemediateError> {
        if !self.config.env_passthrough.iter().any(|n| n == name) {
            return Err(RemediateError::NotAllowed(format!(
                "environment variable {name} is not in the pass-through list"
            )));
        }
        match self.vars.get(name) {
            Some(v) => Ok(v.clone()),
            None => std::env::var(name)
                .map_err(|_| RemediateError::NotAllowed(format!("environment variable {name} is not set"))),
        }
    }

    /// Replaces `{{env:NAME}}` in every string of `v`.
    fn fill(&self, v: &mut Value) -> Result<(), RemediateError> {
        match v {
            Value::String(s) => {
                // Scans on past each substituted value, so a value is never expanded again.
                let mut pos = 0;
                while let Some(off) = s[pos..].find("{{env:") {
                    let start = pos + off;
                    let Some(len) = s[start..].find("}}") else { break };
                    let value = self.var(&s[start + 6..start + len])?;
                    s.replace_range(start..start + len + 2, &value);
                    pos = start + value.len();
                }
            }
            Value::Array(a) => a.iter_mut().try_for_each(|x| self.fill(x))?,
            Value::Object(o) => o.values_mut().try_for_each(|x| self.fill(x))?,
            _ => {}
        }
        Ok(())
    }

    /// The request the runner would send for `script` (secrets filled in) after every check;
    /// `None` for an `echo` step.
    fn prepare(&self, script: &str) -> Result<Option<Prepared>, RemediateError> {
        let words = split(script)?;
        if words.first() == Some(&Arg::Lit("echo".into())) {
            return Ok(None);
        }
        let r = HttpRequest::from_curl(script)?;
        if !cfg!(feature = "tls") && r.url.starts_with("https://") {
            return Err(RemediateError::NotAllowed(format!(
                "{}: this runner is built without TLS (cargo feature `tls`); route https through a local http gateway",
                r.url
            )));
        }
        if !self.config.allowed_url_prefixes.is_empty()
            && !self
                .config
                .allowed_url_prefixes
                .iter()
                .any(|p| r.url.starts_with(p.as_str()))
        {
            return Err(RemediateError::NotAllowed(format!(
                "URL {} is not allow-listed",
                r.url
            )));
        }
        let auth = match &r.auth {
            HttpAuth::None => None,
            HttpAuth::Bearer(e) => Some(format!("Bearer {}", self.var(e)?)),
            HttpAuth::Basic(e) => Some(format!("Basic {}", base64(self.var(e)?.as_bytes()))),
        };
        let body = match r.body {
            Some(mut b) => {
                self.fill(&mut b)?;
                Some(b.to_string())
            }
            None => None,
        };
        Ok(Some(Prepared {
            method: r.method,
            url: r.url,
            content_type: r.content_type,
            auth,
            body,
        }))
    }

    fn send(&self, p: Prepared) -> Result<RunOutput, RemediateError> {
        let fail = |m: String| RemediateError::Runner {
            runner: "http".into(),
            message: m,
        };
        let mut b = ureq::http::Request::builder()
            .method(p.method.as_str())
            .uri(p.url.as_str());
        if let Some(a) = &p.auth {
            b = b.header("Authorization", a.as_str());
        }
        let has_body = p.body.is_some();
        if has_body {
            b = b.header("Content-Type", p.content_type.as_str());
        }
        let req = b
            .body(p.body.unwrap_or_default().into_bytes())
            .map_err(|e| fail(e.to_string()))?;
        let resp = self.agent.run(req).map_err(|e| match e {
            ureq::Error::Timeout(_) => RemediateError::Timeout {
                millis: self.config.timeout_ms,
            },
            other => fail(format!("{} {}: {other}", p.method, p.url)),
        })?;
        let code = resp.status().as_u16();
        let mut buf = Vec::new();
        resp.into_body()
            .into_reader()
            .take(self.config.max_output_bytes as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| fail(format!("reading the response: {e}")))?;
        let truncated = buf.len() > self.config.max_output_bytes;
        buf.truncate(self.config.max_output_bytes);
        let mut output = format!("HTTP {code}\n{}", String::from_utf8_lossy(&buf));
        if truncated {
            output.push_str("\n[output truncated]");
        }
        Ok(RunOutput {
            status: if (200..300).contains(&code) {
                0
            } else {
                i32::from(code)
            },
            output,
        })
    }
}

#[cfg(feature = "tls")]
fn tls(
    builder: ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
    ca_certs_pem: &[String],
) -> Result<ureq::config::ConfigBuilder<ureq::typestate::AgentScope>, RemediateError> {
    use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
    let tls = TlsConfig::builder().provider(TlsProvider::Rustls);
    if ca_certs_pem.is_empty() {
        return Ok(builder.tls_config(tls.root_certs(RootCerts::WebPki).build()));
    }
    let mut roots = Vec::new();
    for (i, pem) in ca_certs_pem.iter().enumerate() {
        let bad = |m: String| RemediateError::InvalidValue {
            field: format!("ca_certs_pem[{i}]"),
            value: pem.chars().take(40).collect(),
            reason: m,
        };
        let before = roots.len();
        for item in ureq::tls::parse_pem(pem.as_bytes()) {
            match item.map_err(|e| bad(e.to_string()))? {
                ureq::tls::PemItem::Certificate(c) => roots.push(Certificate::to_owned(&c)),
                _ => return Err(bad("only certificates belong here, not keys".into())),
            }
        }
        if roots.len() == before {
            return Err(bad("no PEM certificate found".into()));
        }
    }
    Ok(builder.tls_config(tls.root_certs(RootCerts::new_with_certs(&roots)).build()))
}

#[cfg(not(feature = "tls"))]
fn tls(
    builder: ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
    ca_certs_pem: &[String],
) -> Result<ureq::config::ConfigBuilder<ureq::typestate::AgentScope>, RemediateError> {
    if !ca_certs_pem.is_empty() {
        return Err(RemediateError::Config(
            "ca_certs_pem needs the HTTP runner built with TLS (cargo feature `tls`)".into(),
        ));
    }
    Ok(builder)
}

struct Prepared {
    method: String,
    url: String,
    content_type: String,
    auth: Option<String>,
    body: Option<String>,
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[async_trait]
impl Runner for HttpRunner {
    fn name(&self) -> &str {
        "http"
    }
    async fn run(&self, step: &Step, mode: RunMode) -> faultline_core::Result<RunOutput> {
        let script = match mode {
            RunMode::DryRun => &step.dry_run,
            RunMode::Execute => &step.script,
        };
        let Some(prepared) = self.prepare(script)? else {
            let text: Vec<String> = split(script)?
                .into_iter()
                .skip(1)
                .map(|a| match a {
                    Arg::Lit(s) => s,
                    Arg::Env(e) => format!("${e}"),
                })
                .collect();
            return Ok(RunOutput {
                status: 0,
                output: text.join(" "),
            });
        };
        let this = self.clone();
        let out = tokio::task::spawn_blocking(move || this.send(prepared))
            .await
            .map_err(|e| RemediateError::Runner {
                runner: "http".into(),
                message: e.to_string(),
            })??;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn config_is_validated() {
        assert!(HttpRunner::try_new(HttpRunnerConfig {
            timeout_ms: 0,
            ..Default::default()
        })
        .is_err());
        let tls = HttpRunnerConfig {
            allowed_url_prefixes: vec!["https://x.test/".into()],
            ..Default::default()
        };
        assert_eq!(HttpRunner::try_new(tls).is_ok(), cfg!(feature = "tls"));
        let other = HttpRunnerConfig {
            allowed_url_prefixes: vec!["ftp://x.test/".into()],
            ..Default::default()
        };
        assert!(HttpRunner::try_new(other).is_err());
        let key_not_cert = HttpRunnerConfig {
            ca_certs_pem: vec![
                "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n".into(),
            ],
            ..Default::default()
        };
        assert!(HttpRunner::try_new(key_not_cert).is_err());
    }
}

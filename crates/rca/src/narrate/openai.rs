//! [`OpenAiCompatClient`]: an [`LlmClient`] for OpenAI-compatible chat-completion endpoints
//! (OpenAI, Ollama, vLLM, llama.cpp server).
//!
//! It POSTs `{base_url}/v1/chat/completions` with `model`, `messages`, `temperature` and, when
//! the request has a schema, `response_format: {"type": "json_schema", "json_schema": {"name",
//! "schema", "strict": true}}`, and returns `choices[0].message.content`. The HTTP client is
//! `ureq` 3 run on tokio's blocking pool. `https://` goes through rustls with the *ring*
//! provider (no OpenSSL); servers are verified against the Mozilla roots (webpki-roots), or
//! against the CA certificates of `ca_certs_pem` when given (a private CA). `http://` stays
//! allowed for local model servers (Ollama, vLLM, llama.cpp on loopback).

use std::time::Duration;

use async_trait::async_trait;
use faultline_core::ports::{ChatRequest, LlmClient};
use faultline_core::CoreError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::RcaError;

const ADAPTER: &str = "openai-compat";

/// Configuration of [`OpenAiCompatClient`]. Holds no secret: the API key comes from the
/// environment variable named by `api_key_env` or from [`OpenAiCompatClient::with_api_key`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OpenAiCompatConfig {
    /// Server address, `https://host[:port]` or `http://host:port` (default
    /// `http://127.0.0.1:11434`, Ollama's); a trailing `/v1` is accepted.
    pub base_url: String,
    /// Model name (default `llama3.1`).
    pub model: String,
    /// Name of the environment variable holding a bearer API key, if any (default none).
    pub api_key_env: Option<String>,
    /// Name of the schema in `response_format` (default `faultline_narration`).
    pub schema_name: String,
    /// Most bytes of a response body read (default 1 MiB).
    pub max_response_bytes: u64,
    /// PEM CA certificates to trust for `https://` instead of the Mozilla roots (default none:
    /// the public roots).
    pub ca_certs_pem: Vec<String>,
}

impl Default for OpenAiCompatConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:11434".into(),
            model: "llama3.1".into(),
            api_key_env: None,
            schema_name: "faultline_narration".into(),
            max_response_bytes: 1 << 20,
            ca_certs_pem: Vec::new(),
        }
    }
}

/// Chat completion over HTTP against an OpenAI-compatible server. `Debug` never shows the
/// API key.
///
/// ```
/// use faultline_rca::narrate::{OpenAiCompatClient, OpenAiCompatConfig};
/// let cfg = OpenAiCompatConfig { base_url: "http://127.0.0.1:8000/v1".into(), model: "qwen2.5".into(), ..Default::default() };
/// let client = OpenAiCompatClient::try_new(cfg).unwrap().with_api_key("sk-secret");
/// assert_eq!(client.endpoint(), "http://127.0.0.1:8000/v1/chat/completions");
/// assert!(!format!("{client:?}").contains("sk-secret"));
/// ```
#[derive(Clone)]
pub struct OpenAiCompatClient {
    config: OpenAiCompatConfig,
    endpoint: String,
    api_key: Option<String>,
    agent: ureq::Agent,
}

impl std::fmt::Debug for OpenAiCompatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiCompatClient")
            .field("config", &self.config)
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl OpenAiCompatClient {
    /// A client for `config` (validated; reads the key from `api_key_env` when set).
    pub fn try_new(config: OpenAiCompatConfig) -> Result<Self, RcaError> {
        let base = config.base_url.trim_end_matches('/');
        let scheme_len = if base.starts_with("https://") {
            "https://".len()
        } else if base.starts_with("http://") {
            "http://".len()
        } else {
            0
        };
        if scheme_len == 0 || base.len() <= scheme_len {
            return Err(RcaError::InvalidConfig {
                field: "base_url",
                value: config.base_url.clone(),
                reason: "must be an https:// or http:// URL",
            });
        }
        if config.model.trim().is_empty() {
            return Err(RcaError::InvalidConfig {
                field: "model",
                value: config.model.clone(),
                reason: "must not be empty",
            });
        }
        if config.max_response_bytes == 0 {
            return Err(RcaError::InvalidConfig {
                field: "max_response_bytes",
                value: "0".into(),
                reason: "must be > 0",
            });
        }
        let api_key = match &config.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| RcaError::InvalidConfig {
                field: "api_key_env",
                value: var.clone(),
                reason: "environment variable is not set",
            })?),
            None => None,
        };
        let endpoint = match base.strip_suffix("/v1") {
            Some(b) => format!("{b}/v1/chat/completions"),
            None => format!("{base}/v1/chat/completions"),
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(tls_config(&config.ca_certs_pem)?)
            .build()
            .into();
        Ok(Self {
            config,
            endpoint,
            api_key,
            agent,
        })
    }

    /// Uses `key` as the bearer API key (e.g. from a secret store).
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The JSON body sent for `request`.
    pub fn body(&self, request: &ChatRequest) -> Value {
        let mut body = json!({
            "model": self.config.model,
            "messages": request.messages,
            "temperature": request.temperature,
            "stream": false,
        });
        if let Some(schema) = &request.json_schema {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": self.config.schema_name, "schema": schema, "strict": true},
            });
        }
        body
    }

    fn send(&self, body: Vec<u8>, timeout_ms: u64) -> Result<String, CoreError> {
        let fail = |message: String| CoreError::Adapter {
            adapter: ADAPTER.into(),
            message,
        };
        let mut b = ureq::http::Request::builder()
            .method("POST")
            .uri(self.endpoint.as_str())
            .header("Content-Type", "application/json")
            .header("Accept", "application/json");
        if let Some(key) = &self.api_key {
            b = b.header("Authorization", format!("Bearer {key}"));
        }
        let req = b
            .body(body)
            .map_err(|e| fail(format!("building the request: {e}")))?;
        let req = self
            .agent
            .configure_request(req)
            .timeout_global(Some(Duration::from_millis(timeout_ms)))
            .build();
        let resp = self.agent.run(req).map_err(|e| match e {
            ureq::Error::Timeout(_) => CoreError::Timeout {
                what: format!("POST {}", self.endpoint),
                millis: timeout_ms,
            },
            other => fail(format!("POST {}: {other}", self.endpoint)),
        })?;
        let status = resp.status().as_u16();
        let text = resp
            .into_body()
            .with_config()
            .limit(self.config.max_response_bytes)
            .read_to_string()
            .map_err(|e| match e {
                ureq::Error::Timeout(_) => CoreError::Timeout {
                    what: format!("reading {}", self.endpoint),
                    millis: timeout_ms,
                },
                other => fail(format!("reading the response: {other}")),
            })?;
        if !(200..300).contains(&status) {
            let head: String = text.chars().take(200).collect();
            return Err(fail(format!("HTTP {status}: {head}")));
        }
        content(&text).map_err(fail)
    }
}

/// rustls (ring provider) trusting `ca_certs_pem`, or the Mozilla roots when it is empty.
fn tls_config(ca_certs_pem: &[String]) -> Result<ureq::tls::TlsConfig, RcaError> {
    use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};
    let tls = TlsConfig::builder().provider(TlsProvider::Rustls);
    if ca_certs_pem.is_empty() {
        return Ok(tls.root_certs(RootCerts::WebPki).build());
    }
    let bad = |reason| RcaError::InvalidConfig {
        field: "ca_certs_pem",
        value: String::new(),
        reason,
    };
    let mut roots = Vec::new();
    for pem in ca_certs_pem {
        let before = roots.len();
        for item in ureq::tls::parse_pem(pem.as_bytes()) {
            match item.map_err(|_| bad("not valid PEM"))? {
                PemItem::Certificate(c) => roots.push(Certificate::to_owned(&c)),
                _ => return Err(bad("holds something other than certificates (a key?)")),
            }
        }
        if roots.len() == before {
            return Err(bad("no PEM certificate found"));
        }
    }
    Ok(tls.root_certs(RootCerts::new_with_certs(&roots)).build())
}

/// `choices[0].message.content` of a chat-completion response.
fn content(text: &str) -> Result<String, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("response is not JSON: {e}"))?;
    v.pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "response has no choices[0].message.content string".into())
}

#[async_trait]
impl LlmClient for OpenAiCompatClient {
    async fn complete(&self, request: &ChatRequest) -> faultline_core::Result<String> {
        let body = serde_json::to_vec(&self.body(request)).map_err(|e| CoreError::Adapter {
            adapter: ADAPTER.into(),
            message: format!("encoding the request: {e}"),
        })?;
        let this = self.clone();
        let timeout_ms = request.timeout_ms.max(1);
        tokio::task::spawn_blocking(move || this.send(body, timeout_ms))
            .await
            .map_err(|e| CoreError::Adapter {
                adapter: ADAPTER.into(),
                message: format!("request task failed: {e}"),
            })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_validated_and_endpoint_normalised() {
        let mk = |url: &str| {
            OpenAiCompatClient::try_new(OpenAiCompatConfig {
                base_url: url.into(),
                ..Default::default()
            })
        };
        assert!(mk("ftp://h").is_err());
        assert!(mk("http://").is_err());
        assert!(mk("https://").is_err());
        assert_eq!(
            mk("https://api.openai.com").unwrap().endpoint(),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            mk("http://h:1/").unwrap().endpoint(),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            mk("http://h:1/v1/").unwrap().endpoint(),
            "http://h:1/v1/chat/completions"
        );
    }

    #[test]
    fn ca_certificates_must_be_pem_certificates() {
        let mk = |pem: &str| {
            OpenAiCompatClient::try_new(OpenAiCompatConfig {
                base_url: "https://h".into(),
                ca_certs_pem: vec![pem.into()],
                ..Default::default()
            })
        };
        assert!(mk("not pem").is_err());
        assert!(mk("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err());
    }

    #[test]
    fn content_is_read_from_the_first_choice() {
        let ok = r#"{"choices":[{"message":{"role":"assistant","content":"{\"a\":1}"}}]}"#;
        assert_eq!(content(ok).unwrap(), "{\"a\":1}");
        assert!(content(r#"{"choices":[]}"#).is_err());
        assert!(content("not json").is_err());
    }
}

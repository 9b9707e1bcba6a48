//! [`PipelineConfig`]: one serde document (YAML or JSON) configuring every stage. Every field
//! has a default, so an empty document is a valid configuration.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{DetectStageConfig, Error, Result};

/// Fix planning settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanConfig {
    /// Whether to plan a fix for the top hypothesis.
    pub enabled: bool,
    /// Environment to plan for when the incident names none.
    pub default_environment: String,
    /// Kubernetes namespace used in generated scripts.
    pub namespace: String,
}

impl Default for PlanConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            default_environment: "staging".into(),
            namespace: "default".into(),
        }
    }
}

/// An OpenAI-compatible chat endpoint that narrates reports (`narration.llm`). The API key is
/// never part of the configuration: it is read from the environment variable `api_key_env`
/// names, and never logged.
///
/// ```
/// let cfg = faultline::PipelineConfig::from_yaml(
///     "narration:\n  llm:\n    base_url: https://api.openai.com\n    model: gpt-4o-mini\n    api_key_env: OPENAI_API_KEY\n",
/// );
/// // Built with the `llm` feature the section is accepted; without it, refused by name.
/// #[cfg(feature = "llm")]
/// assert_eq!(cfg.unwrap().narration.llm.unwrap().timeout_ms, 20_000);
/// #[cfg(not(feature = "llm"))]
/// assert!(cfg.unwrap_err().to_string().contains("feature `llm`"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmNarrationConfig {
    /// Server address, `https://host` or `http://host:port`; a trailing `/v1` is accepted
    /// (default `http://127.0.0.1:11434`, a local Ollama).
    pub base_url: String,
    /// Model name (default `llama3.1`).
    pub model: String,
    /// Name of the environment variable that holds the bearer API key (default none: no key).
    pub api_key_env: Option<String>,
    /// Upper bound on the model call, in milliseconds (default 20 000); on timeout the
    /// template narrative is kept.
    pub timeout_ms: u64,
    /// Sampling temperature (default 0.2).
    pub temperature: f32,
    /// PEM CA certificates trusted for `https://` instead of the public (Mozilla) roots, for a
    /// server behind a private CA (default none).
    pub ca_certs_pem: Vec<String>,
}

impl Default for LlmNarrationConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:11434".into(),
            model: "llama3.1".into(),
            api_key_env: None,
            timeout_ms: 20_000,
            temperature: 0.2,
            ca_certs_pem: Vec::new(),
        }
    }
}

/// How the report's narrative is written.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NarrationConfig {
    /// Let a language model rephrase and explain the report (checked against the evidence;
    /// any failure keeps the deterministic template narrative). Default none: the template
    /// narrator only. Needs the cargo feature `llm`.
    pub llm: Option<LlmNarrationConfig>,
}

/// Configuration of the whole pipeline.
///
/// ```
/// let cfg = faultline::PipelineConfig::from_yaml("rca: {}\nplan:\n  enabled: false\n").unwrap();
/// assert!(!cfg.plan.enabled);
/// assert_eq!(faultline::PipelineConfig::from_json("{}").unwrap(), faultline::PipelineConfig::default());
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// Metric anomaly detection: the detector (`method`, default the segment detector) and
    /// the series derived for it (`red`, `counters`). See [`DetectStageConfig`].
    pub detect: DetectStageConfig,
    /// Log mining and template signals.
    pub logs: faultline_cluster::LogAnalysisConfig,
    /// Root-cause analysis.
    pub rca: faultline_rca::RcaConfig,
    /// Fix planning.
    pub plan: PlanConfig,
    /// Narration of the report.
    pub narration: NarrationConfig,
}

impl PipelineConfig {
    /// Parses YAML (JSON is YAML too) and validates it. Unknown keys are errors.
    pub fn from_yaml(text: &str) -> Result<Self> {
        let v: serde_json::Value = serde_norway::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        Self::from_value(v)
    }
    /// Parses JSON and validates it. Unknown keys are errors.
    pub fn from_json(text: &str) -> Result<Self> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        Self::from_value(v)
    }
    /// Reads a configuration from a JSON value (an empty document or `null` is the default).
    /// Unknown keys are errors, at any depth: a misspelt setting must not be silently ignored.
    pub fn from_value(v: serde_json::Value) -> Result<Self> {
        let v = if v.is_null() {
            serde_json::Value::Object(Default::default())
        } else {
            v
        };
        let cfg: Self = serde_json::from_value(v.clone()).map_err(|e| Error::Config(e.to_string()))?;
        // Every field serialises, so a key of the input that the parsed value does not carry
        // was not recognised by any stage's configuration.
        let known = serde_json::to_value(&cfg).map_err(|e| Error::Config(e.to_string()))?;
        let mut unknown = Vec::new();
        unknown_keys(&v, &known, "", &mut unknown);
        if let Some(first) = unknown.first() {
            return Err(Error::Config(format!("unknown setting `{first}`")));
        }
        cfg.validate()?;
        Ok(cfg)
    }
    /// Reads a `.json`, `.yaml` or `.yml` file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        let r = if path.extension().is_some_and(|e| e == "json") {
            Self::from_json(&text)
        } else {
            Self::from_yaml(&text)
        };
        r.map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }
    /// Checks every stage's settings.
    pub fn validate(&self) -> Result<()> {
        self.detect
            .validate()
            .map_err(|e| Error::Config(format!("detect: {e}")))?;
        self.logs
            .validate()
            .map_err(|e| Error::Config(format!("logs: {e}")))?;
        self.rca
            .validate()
            .map_err(|e| Error::Config(format!("rca: {e}")))?;
        if let Some(llm) = &self.narration.llm {
            llm.validate()?;
        }
        Ok(())
    }
}

impl LlmNarrationConfig {
    fn validate(&self) -> Result<()> {
        let bad = |field: &str, why: &str| Err(Error::Config(format!("narration.llm.{field}: {why}")));
        let url = self.base_url.trim();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .unwrap_or("");
        if rest.trim_matches('/').is_empty() {
            return bad("base_url", "must be an https:// or http:// URL with a host");
        }
        if self.model.trim().is_empty() {
            return bad("model", "must not be empty");
        }
        if self.timeout_ms == 0 {
            return bad("timeout_ms", "must be > 0");
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            return bad("temperature", "must be in [0, 2]");
        }
        if self.api_key_env.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return bad("api_key_env", "must name an environment variable");
        }
        if !cfg!(feature = "llm") {
            return bad(
                "",
                "this build has no LLM client (cargo feature `llm` of faultline)",
            );
        }
        Ok(())
    }
}

fn unknown_keys(input: &serde_json::Value, known: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    if let (serde_json::Value::Object(i), serde_json::Value::Object(k)) = (input, known) {
        for (key, value) in i {
            let p = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            match k.get(key) {
                Some(kv) => unknown_keys(value, kv, &p, out),
                None => out.push(p),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_settings_are_rejected_with_their_path() {
        let e = PipelineConfig::from_yaml("rca:\n  no_such_setting: 1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad configuration: unknown setting `rca.no_such_setting`"
        );
        assert!(PipelineConfig::from_json(r#"{"plan": {"enabled": false, "colour": "red"}}"#).is_err());
        assert!(PipelineConfig::from_yaml("").is_ok());
        assert!(PipelineConfig::from_yaml("plan:\n  namespace: shop\n").is_ok());
    }

    #[test]
    fn llm_narration_is_configured_by_name_of_the_key_variable() {
        let cfg = PipelineConfig::from_yaml(
            "narration:\n  llm:\n    base_url: https://example.com/v1\n    model: m\n    api_key_env: K\n    timeout_ms: 500\n",
        );
        if cfg!(feature = "llm") {
            let llm = cfg.unwrap().narration.llm.unwrap();
            assert_eq!((llm.timeout_ms, llm.api_key_env.as_deref()), (500, Some("K")));
        } else {
            assert!(cfg.unwrap_err().to_string().contains("feature `llm`"));
        }
        assert!(PipelineConfig::from_yaml("narration:\n  llm:\n    api_key: sk-x\n").is_err());
        assert!(PipelineConfig::from_yaml("narration:\n  llm:\n    base_url: ftp://x\n").is_err());
        assert!(PipelineConfig::from_yaml("narration:\n  llm:\n    timeout_ms: 0\n").is_err());
        assert_eq!(PipelineConfig::default().narration.llm, None);
    }

    #[test]
    fn default_config_round_trips_through_yaml() {
        let d = PipelineConfig::default();
        let yaml = serde_norway::to_string(&d).unwrap();
        assert_eq!(PipelineConfig::from_yaml(&yaml).unwrap(), d);
    }
}

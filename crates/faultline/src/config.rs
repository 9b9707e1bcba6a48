//! [`PipelineConfig`]: one serde document (YAML or JSON) configuring every stage. Every field
//! has a default, so an empty document is a valid configuration.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

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
    /// Metric anomaly detection.
    pub detect: faultline_detect::DetectConfig,
    /// Log mining and template signals.
    pub logs: faultline_cluster::LogAnalysisConfig,
    /// Root-cause analysis.
    pub rca: faultline_rca::RcaConfig,
    /// Fix planning.
    pub plan: PlanConfig,
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
    fn default_config_round_trips_through_yaml() {
        let d = PipelineConfig::default();
        let yaml = serde_norway::to_string(&d).unwrap();
        assert_eq!(PipelineConfig::from_yaml(&yaml).unwrap(), d);
    }
}

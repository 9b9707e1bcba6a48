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
        Self { enabled: true, default_environment: "staging".into(), namespace: "default".into() }
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
    /// Parses YAML (JSON is YAML too) and validates it.
    pub fn from_yaml(text: &str) -> Result<Self> {
        let cfg: Self = serde_norway::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }
    /// Parses JSON and validates it.
    pub fn from_json(text: &str) -> Result<Self> {
        let cfg: Self = serde_json::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }
    /// Reads a `.json`, `.yaml` or `.yml` file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        let r = if path.extension().is_some_and(|e| e == "json") { Self::from_json(&text) } else { Self::from_yaml(&text) };
        r.map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }
    /// Checks every stage's settings.
    pub fn validate(&self) -> Result<()> {
        self.detect.validate().map_err(|e| Error::Config(format!("detect: {e}")))?;
        self.logs.validate().map_err(|e| Error::Config(format!("logs: {e}")))?;
        self.rca.validate().map_err(|e| Error::Config(format!("rca: {e}")))?;
        Ok(())
    }
}

//! # faultline
//!
//! Incident analysis as a library: from an incident's metrics, logs, traces, change events,
//! alerts and topology to a ranked, evidenced explanation and a fix plan.
//!
//! This facade composes the stage crates — [`detect`] (metric anomalies), [`cluster`] (log
//! templates), [`rca`] (correlation and hypotheses), [`remediate`] (fix plans) — into one
//! [`Pipeline`] configured by a [`PipelineConfig`], reads incident bundles ([`bundle`]),
//! renders reports ([`render`]) and implements the CLI's line protocols ([`protocol`]).
//!
//! ```
//! use faultline::{bundle, render, synth, Pipeline};
//!
//! // A generated incident: checkout deploys a bad version; its callers inherit the errors.
//! let generated = synth::generate(synth::Scenario::DeployRegression, &synth::SynthConfig::default());
//! let dir = std::env::temp_dir().join(format!("faultline-lib-doc-{}", std::process::id()));
//! generated.write_to(&dir)?;
//!
//! let b = bundle::read_bundle(&dir)?;
//! let pipeline = Pipeline::builder().build()?;
//! let report = pipeline.analyze(&b.incident, &b.signals)?;
//!
//! let top = &report.hypotheses[0];
//! assert_eq!(top.service.as_str(), "checkout");
//! assert!(!top.support.is_empty()); // every hypothesis carries evidence
//! println!("{}", render::to_markdown(&report));
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Main types: [`Pipeline`] / [`PipelineBuilder`], [`PipelineConfig`], [`bundle::Bundle`],
//! [`Error`], and from `faultline-core` the data model ([`core`]).

pub mod bundle;
mod config;
mod derive;
mod detect_config;
mod error;
pub mod fix;
pub mod html;
mod pipeline;
pub mod protocol;
pub mod render;
pub mod synth;

pub use config::{LlmNarrationConfig, NarrationConfig, PipelineConfig, PlanConfig};
pub use detect_config::{CounterRateConfig, DetectStageConfig, RedSeriesConfig, UseSeriesConfig};
pub use error::{Error, Result};
pub use pipeline::{Pipeline, PipelineBuilder, Stage};

/// Log record parsing and template mining (`faultline-cluster`).
pub use faultline_cluster as cluster;
/// The data model and adapter traits (`faultline-core`).
pub use faultline_core as core;
/// Metric anomaly detection and forecasting (`faultline-detect`).
pub use faultline_detect as detect;
/// Root-cause analysis (`faultline-rca`).
pub use faultline_rca as rca;
/// Fix plans, approval, runners, audit and verification (`faultline-remediate`).
pub use faultline_remediate as remediate;

/// The README's Rust example, compiled and run as a doctest.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

//! [`Pipeline`]: load window → derive RED series and counter rates → detect → mine logs →
//! correlate and hypothesize (with alert grouping) → narrate → plan, producing a versioned
//! [`IncidentReport`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use faultline_core::ports::{Narrator, SignalSource, TemplateNarrator};
use faultline_core::{Anomaly, Incident, IncidentReport, LogTemplate, Series, SignalSet, REPORT_VERSION};
use faultline_detect::DetectError;

use crate::{PipelineConfig, Result};

/// A pipeline stage, as reported to a progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Loading signals from the source.
    Load,
    /// Metric anomaly detection.
    Detect,
    /// Log template mining.
    Mine,
    /// Correlation and hypothesis ranking.
    Rca,
    /// Narration.
    Narrate,
    /// Fix planning.
    Plan,
}

impl Stage {
    /// Lower-case name, as used in the report's `timings`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Load => "load",
            Stage::Detect => "detect",
            Stage::Mine => "mine",
            Stage::Rca => "rca",
            Stage::Narrate => "narrate",
            Stage::Plan => "plan",
        }
    }
}

type Progress = Arc<dyn Fn(Stage) + Send + Sync>;

type SharedDetector = Arc<dyn faultline_detect::Detector + Send + Sync>;

/// Builds a [`Pipeline`].
#[derive(Default)]
pub struct PipelineBuilder {
    config: PipelineConfig,
    narrator: Option<Arc<dyn Narrator>>,
    catalog: Option<faultline_remediate::Catalog>,
    progress: Option<Progress>,
    detector: Option<SharedDetector>,
}

impl PipelineBuilder {
    /// Uses this configuration (default: [`PipelineConfig::default`]).
    pub fn config(mut self, config: PipelineConfig) -> Self {
        self.config = config;
        self
    }
    /// Narrates with this adapter instead of the deterministic template narrator (used by
    /// [`Pipeline::run`]; on failure the template narrative is kept).
    pub fn narrator(mut self, narrator: Arc<dyn Narrator>) -> Self {
        self.narrator = Some(narrator);
        self
    }
    /// Plans fixes from this catalog instead of the shipped one.
    pub fn catalog(mut self, catalog: faultline_remediate::Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }
    /// Detects metric anomalies with this detector instead of the configured one (the
    /// `detect` section is then unused: the bundle's series are passed as they are, without
    /// derived RED series or counter rates): a host plugs its own method (or a Python/Node
    /// object) into [`Pipeline::analyze`]. The pipeline keeps the anomalies that overlap the
    /// incident's window, as for the built-in detector. A series the detector refuses as
    /// [`faultline_detect::DetectError::TooShort`] or
    /// [`faultline_detect::DetectError::NonFinite`] is skipped; any other error of the
    /// detector fails the analysis with [`crate::Error::Detect`] (a host's detector failing is
    /// not a property of one series).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use faultline::core::{Anomaly, Series};
    /// use faultline::detect::{Detector, DetectError};
    /// use faultline::Pipeline;
    ///
    /// /// Finds nothing, ever.
    /// struct Quiet;
    /// impl Detector for Quiet {
    ///     fn name(&self) -> &'static str { "quiet" }
    ///     fn detect(&self, _: &Series) -> Result<Vec<Anomaly>, DetectError> { Ok(vec![]) }
    /// }
    /// let pipeline = Pipeline::builder().detector(Arc::new(Quiet)).build().unwrap();
    /// assert!(pipeline.has_detector());
    /// ```
    pub fn detector(mut self, detector: Arc<dyn faultline_detect::Detector + Send + Sync>) -> Self {
        self.detector = Some(detector);
        self
    }
    /// Calls `f` as each stage starts.
    pub fn on_progress(mut self, f: impl Fn(Stage) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }
    /// Validates the configuration and builds the pipeline. With `narration.llm` configured
    /// (and no narrator given), the LLM narrator is built here: a missing API key variable is
    /// a configuration error.
    pub fn build(self) -> Result<Pipeline> {
        self.config.validate()?;
        let builtin: SharedDetector = Arc::from(
            self.config
                .detect
                .detector
                .build()
                .map_err(|e| crate::Error::Config(format!("detect: {e}")))?,
        );
        let narrator = match (self.narrator, &self.config.narration.llm) {
            (Some(n), _) => Some(n),
            (None, Some(llm)) => Some(llm_narrator(llm)?),
            (None, None) => None,
        };
        Ok(Pipeline {
            config: self.config,
            narrator,
            catalog: self
                .catalog
                .unwrap_or_else(faultline_remediate::Catalog::default_catalog),
            progress: self.progress,
            detector: self.detector,
            builtin,
        })
    }
}

/// The analysis pipeline. Cheap to share (`&self` methods); reusable across incidents.
///
/// ```
/// use faultline::{Pipeline, synth};
/// let bundle = synth::generate(synth::Scenario::DeployRegression, &synth::SynthConfig::default());
/// let dir = std::env::temp_dir().join(format!("faultline-doc-{}", std::process::id()));
/// bundle.write_to(&dir).unwrap();
/// let b = faultline::bundle::read_bundle(&dir).unwrap();
/// let report = Pipeline::builder().build().unwrap().analyze(&b.incident, &b.signals).unwrap();
/// assert_eq!(report.hypotheses[0].service.as_str(), bundle.truth.service);
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub struct Pipeline {
    config: PipelineConfig,
    narrator: Option<Arc<dyn Narrator>>,
    catalog: faultline_remediate::Catalog,
    progress: Option<Progress>,
    detector: Option<SharedDetector>,
    /// The configured detector (`detect` section), built once.
    builtin: SharedDetector,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Most templates kept in a report besides those with signals.
const MAX_REPORT_TEMPLATES: usize = 30;

impl Pipeline {
    /// A builder with default configuration and adapters.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// The configuration in use.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    fn stage(&self, s: Stage) {
        if let Some(p) = &self.progress {
            p(s);
        }
    }

    /// Loads the incident's window from `source`, analyses it and narrates the result with the
    /// configured narrator.
    pub async fn run(&self, incident: &Incident, source: &dyn SignalSource) -> Result<IncidentReport> {
        self.stage(Stage::Load);
        let t0 = Instant::now();
        let signals = source.signals(incident.window).await?;
        let load_ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut report = self.analyze(incident, &signals)?;
        report.timings.insert(Stage::Load.name().into(), load_ms);
        self.narrate(&mut report).await;
        Ok(report)
    }

    /// Whether a host detector replaces the configured one ([`PipelineBuilder::detector`]).
    pub fn has_detector(&self) -> bool {
        self.detector.is_some()
    }

    /// Whether a narrator other than the template one is configured (an adapter given to the
    /// builder, or `narration.llm`).
    pub fn has_narrator(&self) -> bool {
        self.narrator.is_some()
    }

    /// Replaces the report's template narrative with the configured narrator's, when there is
    /// one; on failure the template narrative stays. Records the `narrate` timing. The LLM
    /// narrator needs a tokio runtime with the time driver.
    pub async fn narrate(&self, report: &mut IncidentReport) {
        let Some(n) = &self.narrator else {
            return;
        };
        self.stage(Stage::Narrate);
        let t = Instant::now();
        match n.narrate(report).await {
            Ok(text) => report.narrative = text,
            Err(e) => tracing::warn!(error = %e, "narrator failed; keeping the template narrative"),
        }
        report
            .timings
            .insert(Stage::Narrate.name().into(), t.elapsed().as_secs_f64() * 1e3);
    }

    /// Analyses signals already in memory (synchronous, CPU-bound, deterministic apart from
    /// `timings`). The narrative comes from the template narrator.
    pub fn analyze(&self, incident: &Incident, signals: &SignalSet) -> Result<IncidentReport> {
        let _span = tracing::info_span!("analyze", incident = %incident.id).entered();
        let mut timings = BTreeMap::new();
        let total = Instant::now();

        self.stage(Stage::Detect);
        let t = Instant::now();
        let anomalies = self.detect(incident, signals)?;
        timings.insert(Stage::Detect.name().into(), t.elapsed().as_secs_f64() * 1e3);
        tracing::debug!(anomalies = anomalies.len(), "detect done");

        self.stage(Stage::Mine);
        let t = Instant::now();
        let logs = faultline_cluster::analyze_logs(&signals.logs, incident.onset, &self.config.logs)?;
        timings.insert(Stage::Mine.name().into(), t.elapsed().as_secs_f64() * 1e3);
        tracing::debug!(
            templates = logs.templates.len(),
            signals = logs.signals.len(),
            "mine done"
        );

        self.stage(Stage::Rca);
        let t = Instant::now();
        let input = faultline_rca::RcaInput {
            incident,
            signals,
            anomalies: &anomalies,
            templates: &logs.templates,
            template_signals: &logs.signals,
        };
        let rca = faultline_rca::analyze(&input, &self.config.rca)?;
        timings.insert(Stage::Rca.name().into(), t.elapsed().as_secs_f64() * 1e3);

        let templates = report_templates(&logs.templates, &logs.signals);
        let mut report = IncidentReport {
            version: REPORT_VERSION,
            incident: incident.clone(),
            narrative: String::new(),
            hypotheses: rca.hypotheses,
            evidence: rca.evidence,
            anomalies,
            templates,
            template_signals: logs.signals,
            alert_groups: rca.alert_groups,
            blast_radius: rca.blast_radius,
            timeline: rca.timeline,
            plan: None,
            timings: BTreeMap::new(),
        };
        report.narrative = TemplateNarrator::render(&report);

        if self.config.plan.enabled {
            self.stage(Stage::Plan);
            let t = Instant::now();
            if let Some(top) = report.hypotheses.first() {
                let ctx = faultline_remediate::PlanContext {
                    environment: incident
                        .environment
                        .clone()
                        .unwrap_or_else(|| self.config.plan.default_environment.clone()),
                    namespace: self.config.plan.namespace.clone(),
                    ..Default::default()
                };
                report.plan = self.catalog.plan(&report, top, &ctx)?;
            }
            timings.insert(Stage::Plan.name().into(), t.elapsed().as_secs_f64() * 1e3);
        }
        timings.insert("total".into(), total.elapsed().as_secs_f64() * 1e3);
        report.timings = timings;
        Ok(report)
    }

    /// Runs detection: the host detector on the bundle's series as they are, or the configured
    /// detector on the bundle's series and the derived ones ([`crate::derive`]).
    fn detect(&self, incident: &Incident, signals: &SignalSet) -> Result<Vec<Anomaly>> {
        let mut out = Vec::new();
        let mut keep = |s: &Series, found: std::result::Result<Vec<Anomaly>, DetectError>| match found {
            Ok(found) => out.extend(
                found
                    .into_iter()
                    .filter(|a| a.end >= incident.window.start && a.start <= incident.window.end),
            ),
            // One bad series (too short, constant) must not sink the analysis.
            Err(e) => tracing::debug!(series = %s.key, error = %e, "series skipped by detection"),
        };
        match &self.detector {
            Some(d) => {
                for s in &signals.series {
                    let found = match d.detect(s) {
                        Err(e @ (DetectError::TooShort { .. } | DetectError::NonFinite { .. })) => Err(e),
                        Err(e) => return Err(e.into()),
                        ok => ok,
                    };
                    keep(s, found);
                }
            }
            None => {
                let uses = &self.config.detect.use_series;
                for s in crate::derive::detection_series(incident, signals, &self.config.detect) {
                    keep(&s, self.builtin.detect(&s));
                    if let Some(a) = crate::derive::predict(&s, uses) {
                        keep(&s, Ok(vec![a]));
                    }
                }
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }
}

#[cfg(feature = "llm")]
fn llm_narrator(c: &crate::LlmNarrationConfig) -> Result<Arc<dyn Narrator>> {
    use faultline_rca::narrate::{LlmNarrator, LlmNarratorConfig, OpenAiCompatClient, OpenAiCompatConfig};
    let err = |e: faultline_rca::RcaError| crate::Error::Config(format!("narration.llm: {e}"));
    let client = OpenAiCompatClient::try_new(OpenAiCompatConfig {
        base_url: c.base_url.clone(),
        model: c.model.clone(),
        api_key_env: c.api_key_env.clone(),
        ca_certs_pem: c.ca_certs_pem.clone(),
        ..Default::default()
    })
    .map_err(err)?;
    let narrator = LlmNarrator::try_new(
        Arc::new(client),
        LlmNarratorConfig {
            timeout_ms: c.timeout_ms,
            temperature: c.temperature,
            ..Default::default()
        },
    )
    .map_err(err)?;
    Ok(Arc::new(narrator))
}

#[cfg(not(feature = "llm"))]
fn llm_narrator(_: &crate::LlmNarrationConfig) -> Result<Arc<dyn Narrator>> {
    Err(crate::Error::Config(
        "narration.llm: this build has no LLM client (cargo feature `llm` of faultline)".into(),
    ))
}

/// Templates with a signal, then the most frequent error templates, capped.
fn report_templates(all: &[LogTemplate], signals: &[faultline_core::TemplateSignal]) -> Vec<LogTemplate> {
    let with_signal: BTreeSet<&faultline_core::TemplateId> = signals.iter().map(|s| &s.template).collect();
    let mut keep: Vec<&LogTemplate> = all.iter().filter(|t| with_signal.contains(&t.id)).collect();
    let mut errors: Vec<&LogTemplate> = all
        .iter()
        .filter(|t| !with_signal.contains(&t.id) && t.error_count() > 0)
        .collect();
    errors.sort_by(|a, b| {
        b.error_count()
            .cmp(&a.error_count())
            .then_with(|| a.id.cmp(&b.id))
    });
    keep.extend(
        errors
            .into_iter()
            .take(MAX_REPORT_TEMPLATES.saturating_sub(keep.len()).max(5)),
    );
    keep.into_iter().cloned().collect()
}

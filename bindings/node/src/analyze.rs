//! Incident analysis: a bundle directory ([`analyze_bundle`]) or signals in memory
//! ([`analyze`]) to an `IncidentReport`, on the thread pool; optionally narrated by a
//! JavaScript LLM client. Also report rendering, configuration checking and example bundles.

use std::sync::Arc;

use faultline::bundle::Bundle;
use faultline::core::ports::StaticSource;
use faultline::core::IncidentReport;
use faultline::rca::narrate::{LlmNarrator, LlmNarratorConfig};
use faultline::{Pipeline, PipelineConfig};
use napi::bindgen_prelude::{AsyncTask, Either, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use serde_json::Value;

use crate::adapters::{JsCallback, JsLlmClient};
use crate::config::{pipeline, strict};
use crate::error::{Fallible, Family, JsFailure};
use crate::records::bundle_from_records;
use crate::task::{json, Job, Json};

/// Options of `analyze` and `analyzeBundle`.
#[napi(object, object_to_js = false)]
pub struct AnalyzeOptions {
    /// Pipeline configuration (mirrors `PipelineConfig`; unknown keys are errors).
    #[napi(ts_type = "PipelineConfig")]
    pub config: Option<Value>,
    /// An LLM client narrating the report: `(request: ChatRequest) => string | Promise<string>`.
    /// Its answer is checked (it may reword, not add causes); on rejection, error or timeout
    /// the deterministic narrative is kept.
    #[napi(ts_type = "(request: ChatRequest) => string | Promise<string>")]
    pub llm: Option<JsCallback>,
    /// Settings of the LLM narrator (`timeout_ms`, `temperature`, limits).
    #[napi(ts_type = "Record<string, unknown>")]
    pub narration: Option<Value>,
}

struct Prepared {
    config: Option<Value>,
    llm: Option<JsCallback>,
    narration: Option<Value>,
}

fn prepared(o: Option<AnalyzeOptions>) -> Prepared {
    match o {
        Some(o) => Prepared {
            config: o.config,
            llm: o.llm,
            narration: o.narration,
        },
        None => Prepared {
            config: None,
            llm: None,
            narration: None,
        },
    }
}

fn report_value(r: &IncidentReport) -> Fallible<Value> {
    serde_json::to_value(r).map_err(|e| JsFailure::new(Family::Internal, format!("report: {e}")))
}

fn run_sync(bundle: Bundle, config: PipelineConfig) -> Fallible<Value> {
    let p = Pipeline::builder().config(config).build()?;
    let report = p.analyze(&bundle.incident, &bundle.signals)?;
    report_value(&report)
}

async fn run_narrated(
    bundle: Bundle,
    config: PipelineConfig,
    llm: JsCallback,
    narration: LlmNarratorConfig,
) -> Fallible<Value> {
    let narrator = LlmNarrator::try_new(Arc::new(JsLlmClient(Arc::new(llm))), narration)
        .map_err(|e| JsFailure::from_std(Family::Config, &e))?
        .with_known_services(bundle.signals.services());
    let p = Pipeline::builder()
        .config(config)
        .narrator(Arc::new(narrator))
        .build()?;
    let source = StaticSource(bundle.signals);
    let report = p.run(&bundle.incident, &source).await?;
    report_value(&report)
}

/// A promise of a report: on the thread pool, or on the async runtime when an LLM narrates.
type Analysis<'e> = Either<AsyncTask<Job<Value, Json>>, PromiseRaw<'e, Json>>;

fn start<'e>(
    env: &'e Env,
    load: impl FnOnce() -> Fallible<Bundle> + Send + 'static,
    o: Prepared,
) -> napi::Result<Analysis<'e>> {
    let Prepared {
        config,
        llm,
        narration,
    } = o;
    match llm {
        None => Ok(Either::A(Job::spawn(
            move || run_sync(load()?, pipeline(config)?),
            json,
        ))),
        Some(llm) => {
            let fut = async move {
                let out = async {
                    let config = pipeline(config)?;
                    let narration: LlmNarratorConfig = strict(narration, "narration")?;
                    let bundle = tokio::task::spawn_blocking(load)
                        .await
                        .map_err(|e| JsFailure::new(Family::Internal, e.to_string()))??;
                    run_narrated(bundle, config, llm, narration).await
                }
                .await;
                Ok(out)
            };
            let p = env.spawn_future_with_callback(fut, |env, out: Fallible<Value>| {
                out.map(Json).map_err(|e| e.into_napi(env))
            })?;
            Ok(Either::B(p))
        }
    }
}

/// Analyses the incident bundle directory `dir` (`incident.json` plus any of `metrics.csv`,
/// `logs.jsonl`, `logs/<service>.log`, `events.jsonl`, `traces.jsonl`, `alerts.jsonl`,
/// `topology.csv`, each optionally gzipped) on the thread pool and resolves to the report.
/// Rejects with `ERR_FAULTLINE_BUNDLE` naming file, line, field and value when the bundle is
/// malformed, `ERR_FAULTLINE_CONFIG` for a bad configuration.
///
/// ```js
/// const report = await analyzeBundle('examples/incidents/checkout-deploy')
/// console.log(report.hypotheses[0].service) // "checkout"
/// ```
#[napi(ts_return_type = "Promise<IncidentReport>")]
pub fn analyze_bundle<'e>(
    env: &'e Env,
    dir: String,
    options: Option<AnalyzeOptions>,
) -> napi::Result<Analysis<'e>> {
    start(
        env,
        move || faultline::bundle::read_bundle(&dir).map_err(|e| JsFailure::from(faultline::Error::from(e))),
        prepared(options),
    )
}

/// Analyses signals held in memory: `{incident, metrics?, logs?, events?, traces?, alerts?,
/// topology?}`, each an array of records shaped like the lines of the bundle file of the same
/// name (see `SignalsInput`). Resolves to the report; errors name the array, index, field and
/// value (`logs[2]: field \`timestamp\` has invalid value …`).
#[napi(ts_return_type = "Promise<IncidentReport>")]
pub fn analyze<'e>(
    env: &'e Env,
    #[napi(ts_arg_type = "SignalsInput")] signals: Value,
    options: Option<AnalyzeOptions>,
) -> napi::Result<Analysis<'e>> {
    start(env, move || bundle_from_records(signals), prepared(options))
}

/// The report as Markdown: headline, top hypothesis with its evidence, "why not" for the
/// runner-ups, timeline and blast radius (what `faultline analyze --format md` prints).
#[napi]
pub fn render_markdown(
    env: Env,
    #[napi(ts_arg_type = "IncidentReport")] report: Value,
) -> napi::Result<String> {
    let r: IncidentReport = serde_json::from_value(report)
        .map_err(|e| JsFailure::input(format!("not an incident report: {e}")).into_napi(&env))?;
    Ok(faultline::render::to_markdown(&r))
}

/// Checks a configuration object and returns it complete, with every default filled in.
/// Throws `ERR_FAULTLINE_CONFIG` naming the first unknown or invalid setting.
#[napi(ts_return_type = "PipelineConfig")]
pub fn parse_config(
    env: Env,
    #[napi(ts_arg_type = "PipelineConfig")] config: Option<Value>,
) -> napi::Result<Value> {
    let c = pipeline(config).map_err(|e| e.into_napi(&env))?;
    serde_json::to_value(c).map_err(|e| JsFailure::new(Family::Internal, e.to_string()).into_napi(&env))
}

/// Writes a generated example incident bundle to `dir` (created if needed): scenario
/// `"deploy-regression"` (checkout deploys a bad version; the default) or `"memory-leak"`
/// (session-cache leaks memory). Deterministic for a given `seed`. Returns the root-cause
/// service the scenario planted, for tests and demos.
#[napi]
pub fn write_example_incident(
    env: Env,
    dir: String,
    scenario: Option<String>,
    seed: Option<u32>,
) -> napi::Result<String> {
    use faultline::synth::{generate, Scenario, SynthConfig};
    let name = scenario.unwrap_or_else(|| "deploy-regression".into());
    let Some(s) = Scenario::ALL.into_iter().find(|s| s.name() == name) else {
        let known: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
        return Err(JsFailure::input(format!(
            "unknown scenario {name:?} (expected one of {})",
            known.join(", ")
        ))
        .into_napi(&env));
    };
    let mut cfg = SynthConfig::default();
    if let Some(seed) = seed {
        cfg.seed = u64::from(seed);
    }
    let b = generate(s, &cfg);
    b.write_to(std::path::Path::new(&dir))
        .map_err(|e| JsFailure::new(Family::Io, format!("{dir}: {e}")).into_napi(&env))?;
    Ok(b.truth.service.to_string())
}

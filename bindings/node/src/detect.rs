//! Metric anomaly detection: causal stream scores over a series of values ([`detect`],
//! [`detect_sync`], [`StreamDetector`]) and batch detection of anomaly episodes in one
//! timestamped series ([`detect_anomalies`]).

use faultline::core::{Labels, Series, SeriesKey, Timestamp};
use faultline::detect::StreamConfig;
use napi::bindgen_prelude::{AsyncTask, Either, Float64Array};
use napi::Env;
use napi_derive::napi;
use serde_json::Value;

use crate::config::{kind_of, strict};
use crate::error::{Fallible, JsFailure};
use crate::task::{json, Job, Json};

/// Values from a `Float64Array` or an array of numbers (copied once).
pub(crate) fn values_of(v: Either<Float64Array, Vec<f64>>) -> Vec<f64> {
    match v {
        Either::A(a) => a.to_vec(),
        Either::B(v) => v,
    }
}

/// Infinite values are refused (NaN is a missing sample and is allowed).
fn check_values(values: &[f64], what: &str) -> Fallible<()> {
    match values.iter().position(|v| v.is_infinite()) {
        Some(i) => Err(JsFailure::input(format!(
            "{what}[{i}] is {}: values must be finite numbers (NaN marks a missing sample)",
            js_number(values[i])
        ))),
        None => Ok(()),
    }
}

/// A number as JavaScript prints it (`Infinity`, `-Infinity`, `NaN`).
fn js_number(v: f64) -> String {
    if v == f64::INFINITY {
        "Infinity".into()
    } else if v == f64::NEG_INFINITY {
        "-Infinity".into()
    } else {
        v.to_string()
    }
}

fn stream_config(config: Option<Value>) -> Fallible<StreamConfig> {
    let cfg: StreamConfig = strict(config, "stream")?;
    cfg.validate()
        .map_err(|e| JsFailure::config(format!("stream: {e}")))?;
    Ok(cfg)
}

fn score(values: Vec<f64>, config: Option<Value>) -> Fallible<Vec<f64>> {
    check_values(&values, "values")?;
    let cfg = stream_config(config)?;
    let mut d = faultline::detect::StreamDetector::try_new(cfg)
        .map_err(|e| JsFailure::from_std(crate::error::Family::Config, &e))?;
    Ok(values
        .iter()
        .map(|&v| {
            let s = d.update(v);
            if s.is_finite() {
                s.clamp(0.0, 1.0)
            } else {
                0.0
            }
        })
        .collect())
}

fn to_f64_array(_: &Env, v: Vec<f64>) -> napi::Result<Float64Array> {
    Ok(Float64Array::new(v))
}

/// Causal anomaly scores in [0, 1], one per value (score i uses values 0..=i only), as
/// `faultline detect` computes them. Samples are taken as equally spaced; `NaN` marks a
/// missing one. `config` mirrors the stream detector's settings (`StreamConfig`). Runs on the
/// thread pool; rejects with `ERR_FAULTLINE_INPUT` on infinite values and
/// `ERR_FAULTLINE_CONFIG` on unknown or out-of-range settings.
///
/// ```js
/// const scores = await detect(Float64Array.from(latencies))
/// ```
#[napi(ts_return_type = "Promise<Float64Array>")]
pub fn detect(
    values: Either<Float64Array, Vec<f64>>,
    #[napi(ts_arg_type = "StreamConfig")] config: Option<Value>,
) -> AsyncTask<Job<Vec<f64>, Float64Array>> {
    let values = values_of(values);
    Job::spawn(move || score(values, config), to_f64_array)
}

/// [`detect`] on the calling thread, for short series (a few thousand values take well
/// under a millisecond).
#[napi]
pub fn detect_sync(
    env: Env,
    values: Either<Float64Array, Vec<f64>>,
    #[napi(ts_arg_type = "StreamConfig")] config: Option<Value>,
) -> napi::Result<Float64Array> {
    score(values_of(values), config)
        .map(Float64Array::new)
        .map_err(|e| e.into_napi(&env))
}

/// One timestamped metric series, for `detectAnomalies`.
#[napi(object)]
pub struct SeriesInput {
    /// The service that emits it.
    pub service: String,
    /// Metric name (`latency_p95_ms`, `error_rate`).
    pub metric: String,
    /// Sample times: epoch numbers (seconds or milliseconds, told apart by magnitude) or
    /// RFC 3339 strings; one per value, ascending.
    #[napi(ts_type = "Array<number | string>")]
    pub timestamps: Value,
    /// Sample values (`NaN` = missing).
    pub values: Either<Float64Array, Vec<f64>>,
    /// Extra labels (`{ route: "/api/checkout" }`).
    pub labels: Option<std::collections::HashMap<String, String>>,
}

fn timestamps_of(v: &Value) -> Fallible<Vec<Timestamp>> {
    let Value::Array(items) = v else {
        return Err(JsFailure::input(format!(
            "series.timestamps: expected an array, got {}",
            kind_of(v)
        )));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, t)| {
            match t {
                Value::Number(n) => n
                    .as_f64()
                    .ok_or_else(|| "not a number".to_string())
                    .and_then(|x| Timestamp::from_epoch_number(x).map_err(|e| e.to_string())),
                Value::String(s) => Timestamp::parse(s).map_err(|e| e.to_string()),
                other => Err(format!("expected a number or a string, got {}", kind_of(other))),
            }
            .map_err(|reason| {
                JsFailure::input(format!("series.timestamps[{i}] has invalid value {t}: {reason}"))
            })
        })
        .collect()
}

/// A [`SeriesInput`] with its values copied out of JavaScript, checked off the JS thread.
struct RawSeries {
    service: String,
    metric: String,
    timestamps: Value,
    values: Vec<f64>,
    labels: Option<std::collections::HashMap<String, String>>,
}

fn prepare(input: RawSeries) -> Fallible<Series> {
    let timestamps = timestamps_of(&input.timestamps)?;
    check_values(&input.values, "series.values")?;
    let mut key = SeriesKey::new(input.service.as_str(), input.metric.as_str());
    if let Some(l) = input.labels {
        key.labels = Labels::from_pairs(l.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    Series::new(key, timestamps, input.values)
        .map_err(|e| JsFailure::from_std(crate::error::Family::Input, &e))
}

fn anomalies(raw: RawSeries, config: Option<Value>) -> Fallible<Value> {
    let series = prepare(raw)?;
    // The section is checked as the pipeline checks it (unknown keys at any depth, the chosen
    // detector validated); the derived RED series and counter rates are the pipeline's.
    let cfg = crate::config::pipeline(Some(
        serde_json::json!({ "detect": config.unwrap_or(Value::Null) }),
    ))?;
    let detector = cfg
        .detect
        .detector
        .build()
        .map_err(|e| JsFailure::from_std(crate::error::Family::Config, &e))?;
    let found = detector
        .detect(&series)
        .map_err(|e| JsFailure::from_std(crate::error::Family::Detect, &e))?;
    serde_json::to_value(found).map_err(|e| JsFailure::new(crate::error::Family::Internal, e.to_string()))
}

/// Anomaly episodes (level shifts, trends, outliers) in one series, as the pipeline's detect
/// stage finds them; `config` mirrors `PipelineConfig.detect`: `method` picks the detector
/// (`segment` by default; `robust_z`, `rolling_z`, `sh_esd`, `seasonal_z`, `iqr`, `variance`,
/// `multi_res`) and the other keys are its settings. Runs on the thread pool; rejects with
/// `ERR_FAULTLINE_CONFIG` on unknown or out-of-range settings.
#[napi(ts_return_type = "Promise<Anomaly[]>")]
pub fn detect_anomalies(
    series: SeriesInput,
    #[napi(ts_arg_type = "DetectConfig")] config: Option<Value>,
) -> AsyncTask<Job<Value, Json>> {
    let raw = RawSeries {
        service: series.service,
        metric: series.metric,
        timestamps: series.timestamps,
        values: values_of(series.values),
        labels: series.labels,
    };
    Job::spawn(move || anomalies(raw, config), json)
}

/// Causal scores one sample at a time, with bounded state (about 50 KB): for metrics that
/// arrive as a stream. Scores match `detect` on the same values.
#[napi]
pub struct StreamDetector {
    inner: faultline::detect::StreamDetector,
    seen: u32,
}

#[napi]
impl StreamDetector {
    /// A detector with the given `StreamConfig` settings (defaults when omitted).
    #[napi(constructor)]
    pub fn new(env: Env, #[napi(ts_arg_type = "StreamConfig")] config: Option<Value>) -> napi::Result<Self> {
        let cfg = stream_config(config).map_err(|e| e.into_napi(&env))?;
        let inner = faultline::detect::StreamDetector::try_new(cfg)
            .map_err(|e| JsFailure::from_std(crate::error::Family::Config, &e).into_napi(&env))?;
        Ok(Self { inner, seen: 0 })
    }

    /// Scores the next value (`NaN` = missing); returns its score in [0, 1].
    #[napi]
    pub fn update(&mut self, env: Env, value: f64) -> napi::Result<f64> {
        if value.is_infinite() {
            return Err(JsFailure::input(format!(
                "value {} at sample {} is not finite",
                js_number(value),
                self.seen
            ))
            .into_napi(&env));
        }
        self.seen = self.seen.saturating_add(1);
        let s = self.inner.update(value);
        Ok(if s.is_finite() { s.clamp(0.0, 1.0) } else { 0.0 })
    }

    /// Scores a batch of values in order; returns one score per value.
    #[napi]
    pub fn update_many(
        &mut self,
        env: Env,
        values: Either<Float64Array, Vec<f64>>,
    ) -> napi::Result<Float64Array> {
        let values = values_of(values);
        check_values(&values, "values").map_err(|e| e.into_napi(&env))?;
        let out: Vec<f64> = values
            .iter()
            .map(|&v| {
                let s = self.inner.update(v);
                if s.is_finite() {
                    s.clamp(0.0, 1.0)
                } else {
                    0.0
                }
            })
            .collect();
        self.seen = self.seen.saturating_add(values.len() as u32);
        Ok(Float64Array::new(out))
    }

    /// How many samples were scored.
    #[napi(getter)]
    pub fn count(&self) -> u32 {
        self.seen
    }
}

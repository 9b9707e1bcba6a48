//! Plain JavaScript objects to validated configuration structs.
//!
//! The whole-pipeline configuration goes through [`faultline::PipelineConfig::from_value`]; the
//! stage configurations used on their own (stream scoring, mining) get the same rule here:
//! unknown keys are errors at any depth, because a misspelt setting must not be silently ignored.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Fallible, JsFailure};

/// The pipeline configuration from an optional object (`undefined` / `null` = defaults).
pub(crate) fn pipeline(v: Option<Value>) -> Fallible<faultline::PipelineConfig> {
    faultline::PipelineConfig::from_value(v.unwrap_or(Value::Null)).map_err(JsFailure::from)
}

/// A stage configuration `T` from an optional object, with unknown keys refused and named by
/// their path under `what` (e.g. `miner.max_tokenz`).
pub(crate) fn strict<T>(v: Option<Value>, what: &str) -> Fallible<T>
where
    T: DeserializeOwned + Serialize + Default,
{
    let v = match v {
        None | Some(Value::Null) => return Ok(T::default()),
        Some(v @ Value::Object(_)) => v,
        Some(other) => {
            return Err(JsFailure::config(format!(
                "{what}: expected an object, got {}",
                kind_of(&other)
            )))
        }
    };
    let cfg: T = serde_json::from_value(v.clone()).map_err(|e| JsFailure::config(format!("{what}: {e}")))?;
    let known = serde_json::to_value(&cfg).map_err(|e| JsFailure::config(format!("{what}: {e}")))?;
    if let Some(path) = first_unknown_key(&v, &known, what) {
        return Err(JsFailure::config(format!("unknown setting `{path}`")));
    }
    Ok(cfg)
}

fn first_unknown_key(input: &Value, known: &Value, path: &str) -> Option<String> {
    let (Value::Object(i), Value::Object(k)) = (input, known) else {
        return None;
    };
    for (key, value) in i {
        let p = format!("{path}.{key}");
        match k.get(key) {
            Some(kv) => {
                if let Some(found) = first_unknown_key(value, kv, &p) {
                    return Some(found);
                }
            }
            None => return Some(p),
        }
    }
    None
}

/// `a number`, `a string`, … for messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

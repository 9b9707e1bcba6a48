//! JavaScript functions as faultline adapters: a function (sync or `async`) acting as
//! [`LlmClient`], [`Runner`] or [`Notifier`]. They are called on the JavaScript thread through
//! napi threadsafe functions while the Rust side awaits their result on a worker thread; a
//! returned promise is awaited, a throw or rejection becomes [`CoreError::Adapter`].

use std::sync::Arc;

use async_trait::async_trait;
use faultline::core::ports::{ChatRequest, LlmClient, Notification, Notifier, RunMode, RunOutput, Runner};
use faultline::core::{CoreError, Step};
use napi::bindgen_prelude::{FromNapiValue, Promise, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{JsValue, Status};
use serde_json::Value;

/// A JavaScript function taking one JSON-like argument; its return value is inspected on the
/// JavaScript thread (a promise or a plain value). Weak: holding one (e.g. a `Fixer`'s
/// notifier) does not keep the process alive; a pending operation does, through its promise.
pub type JsCallback = ThreadsafeFunction<Value, Unknown<'static>, Value, Status, false, true>;

enum Returned {
    Ready(Value),
    Pending(Promise<Value>),
}

/// Calls `f` with `arg` and awaits its (possibly asynchronous) result.
async fn call(f: &JsCallback, adapter: &str, arg: Value) -> Result<Value, CoreError> {
    let fail = |message: String| CoreError::Adapter {
        adapter: adapter.to_owned(),
        message,
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<Result<Returned, String>>();
    let status = f.call_with_return_value(arg, ThreadsafeFunctionCallMode::NonBlocking, move |ret, _env| {
        let out = match ret {
            Err(e) => Err(e.reason.clone()),
            Ok(u) => match u.is_promise() {
                Ok(true) => Promise::<Value>::from_unknown(u)
                    .map(Returned::Pending)
                    .map_err(|e| e.reason.clone()),
                _ => Value::from_unknown(u)
                    .map(Returned::Ready)
                    .map_err(|e| format!("returned a value that is not JSON-like: {}", e.reason)),
            },
        };
        let _ = tx.send(out);
        Ok(())
    });
    if status != Status::Ok {
        return Err(fail(format!("could not call the JavaScript function ({status})")));
    }
    let returned = rx
        .await
        .map_err(|_| fail("the JavaScript function was never called (the environment is closing)".into()))?
        .map_err(&fail)?;
    match returned {
        Returned::Ready(v) => Ok(v),
        Returned::Pending(p) => p.await.map_err(|e| fail(e.reason.clone())),
    }
}

fn js_name(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A JavaScript `(request) => string | Promise<string>` as the LLM client of the narrator.
pub struct JsLlmClient(pub Arc<JsCallback>);

#[async_trait]
impl LlmClient for JsLlmClient {
    async fn complete(&self, request: &ChatRequest) -> faultline::core::Result<String> {
        let arg = serde_json::to_value(request).map_err(|e| CoreError::Internal(e.to_string()))?;
        match call(&self.0, "javascript llm", arg).await? {
            Value::String(s) => Ok(s),
            // An object answer is what a JSON-schema request asks for: pass it on as text.
            v @ Value::Object(_) => Ok(v.to_string()),
            other => Err(CoreError::Adapter {
                adapter: "javascript llm".into(),
                message: format!("expected a string answer, got {}", js_name(&other)),
            }),
        }
    }
}

/// A JavaScript `({step, mode}) => {status, output} | Promise<…>` as a step runner.
pub struct JsRunner {
    /// The function.
    pub f: Arc<JsCallback>,
    /// The name recorded in executions.
    pub name: String,
}

#[async_trait]
impl Runner for JsRunner {
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self, step: &Step, mode: RunMode) -> faultline::core::Result<RunOutput> {
        let arg = serde_json::json!({ "step": step, "mode": mode });
        let v = call(&self.f, &self.name, arg).await?;
        let bad = |what: &str| CoreError::Adapter {
            adapter: self.name.clone(),
            message: format!("runner result {what}; expected {{status: number, output: string}}, got {v}"),
        };
        let Value::Object(o) = &v else {
            return Err(bad("is not an object"));
        };
        let status = o
            .get("status")
            .and_then(Value::as_i64)
            .and_then(|s| i32::try_from(s).ok())
            .ok_or_else(|| bad("has no integer `status`"))?;
        let output = match o.get("output") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        Ok(RunOutput { status, output })
    }
}

/// A JavaScript `(notification) => void | Promise<void>` as the notifier.
pub struct JsNotifier(pub Arc<JsCallback>);

#[async_trait]
impl Notifier for JsNotifier {
    async fn notify(&self, n: &Notification) -> faultline::core::Result<()> {
        let arg = serde_json::to_value(n).map_err(|e| CoreError::Internal(e.to_string()))?;
        call(&self.0, "javascript notifier", arg).await.map(|_| ())
    }
}

//! [`Job`]: CPU-bound work run on libuv's thread pool (napi `AsyncTask`), so that the
//! JavaScript thread keeps serving its event loop; the promise settles with the converted
//! result or rejects with a typed error (see [`crate::error`]).

use napi::bindgen_prelude::{AsyncTask, ToNapiValue, TypeName};
use napi::{Env, Task};

use crate::error::{Fallible, JsFailure};

type Work<T> = Box<dyn FnOnce() -> Fallible<T> + Send>;
type Convert<T, V> = fn(&Env, T) -> napi::Result<V>;

/// One unit of work for the thread pool and the conversion of its result on the JS thread.
pub struct Job<T: Send + 'static, V> {
    work: Option<Work<T>>,
    failure: Option<JsFailure>,
    convert: Convert<T, V>,
}

impl<T: Send + 'static, V: ToNapiValue + TypeName> Job<T, V> {
    /// A task running `work` off the JavaScript thread and converting its output with `convert`.
    pub(crate) fn spawn(
        work: impl FnOnce() -> Fallible<T> + Send + 'static,
        convert: Convert<T, V>,
    ) -> AsyncTask<Self> {
        AsyncTask::new(Self {
            work: Some(Box::new(work)),
            failure: None,
            convert,
        })
    }
}

impl<T: Send + 'static, V: ToNapiValue + TypeName> Task for Job<T, V> {
    type Output = T;
    type JsValue = V;

    fn compute(&mut self) -> napi::Result<T> {
        let Some(work) = self.work.take() else {
            return Err(napi::Error::from_reason("faultline task ran twice"));
        };
        work().map_err(|e| {
            let reason = e.message();
            self.failure = Some(e);
            napi::Error::from_reason(reason)
        })
    }

    fn resolve(&mut self, env: Env, output: T) -> napi::Result<V> {
        (self.convert)(&env, output)
    }

    fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<V> {
        match self.failure.take() {
            Some(f) => Err(f.into_napi(&env)),
            None => Err(err),
        }
    }
}

/// A JSON value handed to JavaScript as a plain object, array or scalar (serde conversion);
/// typed as `any` unless a `ts_return_type` says better.
pub struct Json(pub serde_json::Value);

impl TypeName for Json {
    fn type_name() -> &'static str {
        "any"
    }
    fn value_type() -> napi::ValueType {
        napi::ValueType::Object
    }
}

impl ToNapiValue for Json {
    // `ToNapiValue` is an unsafe trait method by napi's design (raw env and value handles);
    // this delegates to napi's own conversion of `serde_json::Value` and adds no unsafe logic.
    #[allow(unsafe_code)]
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> napi::Result<napi::sys::napi_value> {
        // SAFETY: same contract as the caller's: `env` is the live environment of this call.
        unsafe { serde_json::Value::to_napi_value(env, val.0) }
    }
}

/// Converts a JSON result for JavaScript.
pub(crate) fn json(_: &Env, v: serde_json::Value) -> napi::Result<Json> {
    Ok(Json(v))
}

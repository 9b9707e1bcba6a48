//! Node bindings of faultline (`@faultline/node`), built with napi-rs.
//!
//! Every operation goes through the facade crate `faultline`:
//! - [`detect`] / [`detect::StreamDetector`] / [`detect::detect_anomalies`]: metric scores and
//!   anomaly episodes;
//! - [`mine`] / [`mine::Miner`]: log template mining, batch or incremental;
//! - [`analyze`]: incident bundles and in-memory signals to a report;
//! - [`fix`]: plan → preflight → approve → execute → verify, and audit verification;
//! - [`adapters`]: JavaScript functions as LLM client, runner and notifier.
//!
//! Long work runs on libuv's thread pool ([`task::Job`], napi `AsyncTask`) or napi's tokio
//! runtime (when JavaScript adapters take part), so the event loop keeps serving. Errors reach
//! JavaScript as `Error`s with a `code` and `name` per family and the Rust cause chain
//! ([`error`]). The TypeScript declarations (`index.d.ts`) are generated from the doc comments
//! here by `napi build`.

pub mod adapters;
pub mod analyze;
mod config;
pub mod detect;
mod error;
pub mod fix;
pub mod lines;
pub mod mine;
mod records;
pub mod task;

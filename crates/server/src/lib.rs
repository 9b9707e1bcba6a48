//! # faultline-server
//!
//! The reference server behind `faultline serve`: signals in over HTTP (every format
//! `faultline-ingest` reads), incidents analysed by the [`faultline`] facade, fix plans through
//! the library's state machine, everything kept in an embedded [`store`] (one SQLite file)
//! without setting up a database.
//!
//! Every route is a thin layer over the facade; nothing analytical lives here. Routes, roles
//! and the wire contract are in `docs/server.md` and in the OpenAPI document the server serves
//! at `/v1/openapi.json`.
//!
//! ```no_run
//! # async fn run() -> Result<(), faultline_server::ServerError> {
//! let config = faultline_server::ServerConfig {
//!     database_path: "/var/lib/faultline/faultline.db".into(),
//!     preload_dir: Some("examples/incidents".into()),
//!     ..Default::default()
//! };
//! faultline_server::serve(config).await // until Ctrl-C / SIGTERM
//! # }
//! ```
//!
//! Main items: [`serve`] / [`Server`] / [`ServerConfig`] (run the server), [`store::Store`]
//! (the storage adapter) and [`store::SqliteStore`] (its embedded default), [`auth`] (keys,
//! roles, rate limits), [`ServerError`].

mod api;
pub mod auth;
mod config;
mod error;
mod live;
mod metrics;
mod online;
mod online_logs;
mod problem;
mod server;
pub mod store;

pub use config::{LogFormat, ServerConfig};
pub use error::{Result, ServerError};
pub use online::OnlineConfig;
pub use online_logs::LogsConfig;
pub use problem::Problem;
pub use server::{init_logging, serve, shutdown_signal, Server};

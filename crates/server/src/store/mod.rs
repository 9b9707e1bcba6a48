//! The [`Store`] adapter: where the server keeps signals, incidents, reports, fix plans, the
//! audit log and idempotency keys.
//!
//! The embedded default is [`SqliteStore`] (one SQLite file in WAL mode, migrations applied at
//! open). Metric points are stored columnar — one row per chunk of up to
//! [`MAX_CHUNK_POINTS`] points of one series, timestamps delta-encoded — and so are log
//! records and spans (one row per chunk of records of one service and batch), so ingest costs
//! one row per series or service per batch rather than one per point.
//!
//! A batch is written in one transaction together with its idempotency key: after a crash
//! either the whole batch and its key are there, or neither is. Every implementation must pass
//! [`suite::run_all`], the conformance suite written against the trait.
//!
//! With the cargo feature `postgres`, [`PostgresStore`] keeps the same tables in a PostgreSQL
//! database; [`open`] picks the store a [`ServerConfig`] asks for (`database_url` set:
//! PostgreSQL, else the SQLite file at `database_path`).

mod codec;
mod database_url;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;
pub mod suite;

use async_trait::async_trait;
use faultline::core::{AuditRecord, Incident, IncidentId, IncidentReport, SignalSet, TimeWindow};
use serde::{Deserialize, Serialize};

pub use database_url::DatabaseUrl;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore};
pub use sqlite::{SqliteOptions, SqliteStore};

use std::sync::Arc;

use crate::{Result, ServerConfig};

/// Checks a PostgreSQL connection string without connecting (error names `database_url`).
#[cfg(feature = "postgres")]
pub(crate) fn postgres_url_check(url: &DatabaseUrl) -> Result<()> {
    postgres::parse_url(url, "database_url").map(|_| ())
}

/// Checks a PostgreSQL schema name.
#[cfg(feature = "postgres")]
pub(crate) fn postgres_schema_check(schema: &str) -> Result<()> {
    postgres::validate_schema(schema)
}

/// Opens the store `config` asks for: [`PostgresStore`] when `database_url` is set (feature
/// `postgres`; without it the setting is refused by [`ServerConfig::validate`]), else
/// [`SqliteStore`] at `database_path`.
pub async fn open(config: &ServerConfig) -> Result<Arc<dyn Store>> {
    #[cfg(feature = "postgres")]
    if let Some(url) = &config.database_url {
        let options = PostgresOptions {
            max_connections: config.database_max_connections,
            schema: config.database_schema.clone(),
            ..Default::default()
        };
        return Ok(Arc::new(PostgresStore::connect(url, &options).await?));
    }
    #[cfg(not(feature = "postgres"))]
    if config.database_url.is_some() {
        return Err(crate::config::no_postgres());
    }
    let store = SqliteStore::open_with(
        &config.database_path,
        &SqliteOptions {
            synchronous_full: config.database_sync_full,
        },
    )?;
    Ok(Arc::new(store))
}

/// Most points of one series in one stored chunk.
pub const MAX_CHUNK_POINTS: usize = 8192;
/// Most log records or spans in one stored chunk.
pub const MAX_CHUNK_RECORDS: usize = 4096;

/// What was written by one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IngestCounts {
    /// Metric points.
    pub points: u64,
    /// Distinct series touched.
    pub series: u64,
    /// Log records.
    pub logs: u64,
    /// Change events.
    pub events: u64,
    /// Spans.
    pub spans: u64,
    /// Alerts (new or updated).
    pub alerts: u64,
    /// Topology edges.
    pub edges: u64,
}

impl IngestCounts {
    /// The counts of a batch.
    pub fn of(batch: &SignalSet) -> Self {
        let mut keys: Vec<&faultline::core::SeriesKey> = batch.series.iter().map(|s| &s.key).collect();
        keys.sort();
        keys.dedup();
        Self {
            points: batch.series.iter().map(|s| s.len() as u64).sum(),
            series: keys.len() as u64,
            logs: batch.logs.len() as u64,
            events: batch.events.len() as u64,
            spans: batch.spans.len() as u64,
            alerts: batch.alerts.len() as u64,
            edges: batch.topology.len() as u64,
        }
    }
    /// Adds another batch's counts.
    pub fn add(&mut self, o: &IngestCounts) {
        self.points += o.points;
        self.series += o.series;
        self.logs += o.logs;
        self.events += o.events;
        self.spans += o.spans;
        self.alerts += o.alerts;
        self.edges += o.edges;
    }
}

/// A stored response to a request that carried an `Idempotency-Key`, replayed when the same
/// client sends the same key again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Who sent it (API key name; `anonymous` when auth is off).
    pub principal: String,
    /// The client's key.
    pub key: String,
    /// Method and path the key was used on.
    pub route: String,
    /// Hash of the request body (hex), to refuse the same key with another body.
    pub request_hash: String,
    /// HTTP status of the stored response.
    pub status: u16,
    /// Body of the stored response.
    pub body: String,
    /// When it was stored, seconds since the epoch.
    pub created_secs: i64,
}

/// Result of [`Store::ingest`].
#[derive(Debug, Clone, PartialEq)]
pub enum IngestOutcome {
    /// The batch was committed.
    Written(IngestCounts),
    /// The idempotency key was already used: nothing was written; here is the first response.
    Replayed(IdempotencyRecord),
}

/// A stored fix plan: its id, incident, state and the facade's JSON for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRecord {
    /// Plan id.
    pub id: String,
    /// Incident id.
    pub incident: String,
    /// Life-cycle state (`draft`, `preflighted`, `approved`, …).
    pub state: String,
    /// The plan and everything the server keeps about it (approvals, executions).
    pub body: serde_json::Value,
}

/// How much the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StoreStats {
    /// Stored series.
    pub series: u64,
    /// Stored metric points.
    pub points: u64,
    /// Stored log records.
    pub logs: u64,
    /// Stored change events.
    pub events: u64,
    /// Stored spans.
    pub spans: u64,
    /// Stored alerts.
    pub alerts: u64,
    /// Stored incidents.
    pub incidents: u64,
}

/// Persistence for the server. Object-safe; every method is one transaction.
///
/// Implementations: [`SqliteStore`] (embedded default) and `PostgresStore` (feature
/// `postgres`); both pass the same [`suite`].
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Writes a whole batch atomically. With `idempotency`, the record is stored in the same
    /// transaction; if its (principal, key) is already stored, nothing is written and the
    /// stored record is returned.
    async fn ingest(&self, batch: SignalSet, idempotency: Option<IdempotencyRecord>)
        -> Result<IngestOutcome>;
    /// Every signal inside `window` (series restricted to their points inside it; logs and
    /// events in time order).
    async fn signals(&self, window: TimeWindow) -> Result<SignalSet>;
    /// Counts of what is stored.
    async fn stats(&self) -> Result<StoreStats>;

    /// Saves (or replaces) an incident.
    async fn put_incident(&self, incident: &Incident) -> Result<()>;
    /// An incident by id.
    async fn incident(&self, id: &IncidentId) -> Result<Option<Incident>>;
    /// Every incident, newest onset first.
    async fn incidents(&self) -> Result<Vec<Incident>>;
    /// Saves (or replaces) an incident's latest report.
    async fn put_report(&self, report: &IncidentReport) -> Result<()>;
    /// The latest report of an incident.
    async fn report(&self, id: &IncidentId) -> Result<Option<IncidentReport>>;

    /// Saves (or replaces) a fix plan.
    async fn put_plan(&self, plan: &PlanRecord) -> Result<()>;
    /// A fix plan by id.
    async fn plan(&self, id: &str) -> Result<Option<PlanRecord>>;
    /// Appends an audit record; its `seq` must be the next one (the count of stored records).
    async fn append_audit(&self, record: &AuditRecord) -> Result<()>;
    /// Every audit record, by `seq`.
    async fn audit(&self) -> Result<Vec<AuditRecord>>;

    /// The stored response for (principal, key), if any.
    async fn idempotency(&self, principal: &str, key: &str) -> Result<Option<IdempotencyRecord>>;
    /// Stores a response for its (principal, key); returns false (and keeps the old one) when
    /// the key is already stored.
    async fn put_idempotency(&self, record: &IdempotencyRecord) -> Result<bool>;
    /// Deletes idempotency records created before `before_secs`; returns how many.
    async fn purge_idempotency(&self, before_secs: i64) -> Result<u64>;

    /// Whether the store answers (for `/readyz`).
    async fn ping(&self) -> Result<()>;
}

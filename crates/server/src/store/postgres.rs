//! [`PostgresStore`]: the server's store in PostgreSQL (feature `postgres`).
//!
//! The same semantics as [`super::SqliteStore`], which the conformance [`super::suite`] checks
//! on both: every call is one transaction; a batch and its idempotency key commit together;
//! metric points are stored columnar — one row per chunk of at most
//! [`MAX_CHUNK_POINTS`](super::MAX_CHUNK_POINTS) points of one series, encoded by the same
//! codec (delta + zig-zag varint timestamps, raw f64 values) into `bytea` columns — and log
//! records and spans as JSON chunks of at most [`MAX_CHUNK_RECORDS`](super::MAX_CHUNK_RECORDS)
//! records of one service. A batch is a handful of statements whatever its size: every table
//! gets one `INSERT … SELECT FROM unnest($1, $2, …)` with array parameters.
//!
//! Client: `tokio-postgres` with a small bounded pool of its own (a semaphore and a stack of
//! idle connections, each with its own prepared-statement cache); no TLS (`NoTls`): use it on
//! loopback, a Unix socket or a private network with `sslmode=disable` (a URL that requires TLS
//! is refused when the store opens).
//!
//! Concurrency (several servers may share one database): an idempotency key is inserted
//! first in the batch's transaction with `ON CONFLICT DO NOTHING`, so of two concurrent
//! batches with the same key exactly one commits and the other replays its answer; new series
//! keys are inserted in sorted order (no deadlock between batches); audit appends lock the
//! audit table; migrations run under an advisory lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use faultline::core::{
    Alert, AuditRecord, ChangeEvent, Incident, IncidentId, IncidentReport, LogRecord, SeriesKey, SignalSet,
    Span, TimeWindow,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, GenericClient, IsolationLevel, NoTls, Statement};

use super::codec;
use super::{
    DatabaseUrl, IdempotencyRecord, IngestCounts, IngestOutcome, PlanRecord, Store, StoreStats,
    MAX_CHUNK_POINTS, MAX_CHUNK_RECORDS,
};
use crate::{Result, ServerError};

/// Schema migrations, applied in order in one transaction; table `faultline_schema` holds how
/// many ran.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema (the SQLite schema, with PostgreSQL types).
    "CREATE TABLE series (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key TEXT NOT NULL UNIQUE
    );
    CREATE TABLE series_chunks (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        series_id BIGINT NOT NULL REFERENCES series(id),
        t_min BIGINT NOT NULL,
        t_max BIGINT NOT NULL,
        n INTEGER NOT NULL,
        ts BYTEA NOT NULL,
        vals BYTEA NOT NULL
    );
    CREATE INDEX series_chunks_t_max ON series_chunks(t_max);
    CREATE TABLE record_chunks (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind TEXT NOT NULL,
        service TEXT NOT NULL,
        t_min BIGINT NOT NULL,
        t_max BIGINT NOT NULL,
        n INTEGER NOT NULL,
        body BYTEA NOT NULL
    );
    CREATE INDEX record_chunks_kind_t_max ON record_chunks(kind, t_max);
    CREATE TABLE events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ts BIGINT NOT NULL,
        service TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX events_ts ON events(ts);
    CREATE TABLE alerts (
        fingerprint TEXT NOT NULL,
        starts_at BIGINT NOT NULL,
        ends_at BIGINT,
        body TEXT NOT NULL,
        PRIMARY KEY (fingerprint, starts_at)
    );
    CREATE TABLE topology (
        source TEXT NOT NULL,
        target TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (source, target, kind)
    );
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        onset BIGINT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE reports (
        incident_id TEXT PRIMARY KEY,
        body TEXT NOT NULL
    );
    CREATE TABLE plans (
        id TEXT PRIMARY KEY,
        incident_id TEXT NOT NULL,
        state TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE audit (
        seq BIGINT PRIMARY KEY,
        body TEXT NOT NULL
    );
    CREATE TABLE idempotency (
        principal TEXT NOT NULL,
        key TEXT NOT NULL,
        route TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_secs BIGINT NOT NULL,
        PRIMARY KEY (principal, key)
    );
    CREATE INDEX idempotency_created ON idempotency(created_secs);",
];

/// Key of the advisory lock that serialises migrations of servers starting together.
const MIGRATION_LOCK: i64 = 0x6661_756c_746c_696e; // "faultlin"

/// Options of the PostgreSQL store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Most open connections (at least 1).
    pub max_connections: usize,
    /// How long connecting, or waiting for a free connection, may take, seconds.
    pub connect_timeout_secs: u64,
    /// Schema holding the tables (created if missing); `None` uses the connection's
    /// `search_path` (`public` by default). Lets several servers, or tests, share a database.
    pub schema: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            connect_timeout_secs: 10,
            schema: None,
        }
    }
}

/// Checks that `schema` is a plain lower-case SQL identifier (it is interpolated, quoted, into
/// `SET search_path`).
pub(crate) fn validate_schema(schema: &str) -> Result<()> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ServerError::config(
            "database_schema",
            format!("expected a lower-case identifier ([a-z_][a-z0-9_]*, at most 63 bytes), got {schema:?}"),
        ))
    }
}

/// Parses a connection string into a client configuration, refusing what this build cannot do.
/// Errors name `field` and never contain the password.
pub(crate) fn parse_url(url: &DatabaseUrl, field: &str) -> Result<Config> {
    let cfg: Config = url.expose().parse().map_err(|e: tokio_postgres::Error| {
        // The parser's own messages name an option (`invalid value for option \`port\``), but
        // one of them quotes a character of the input: keep only the safe ones.
        let detail = std::error::Error::source(&e)
            .map(|s| s.to_string())
            .filter(|m| m.starts_with("invalid value for option") || m.starts_with("unknown option"))
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        ServerError::config(
            field,
            format!(
                "not a PostgreSQL connection string{detail}: expected postgres://user:password@host:port/dbname?sslmode=disable or key=value pairs"
            ),
        )
    })?;
    if cfg.get_ssl_mode() == SslMode::Require {
        return Err(ServerError::config(
            field,
            "sslmode=require: this build connects without TLS; use sslmode=disable on loopback, a Unix socket or a private network",
        ));
    }
    if cfg.get_hosts().is_empty() {
        return Err(ServerError::config(field, "no host in the connection string"));
    }
    Ok(cfg)
}

/// `postgres://user@host:port/dbname`, for logs: no password, no options.
fn describe(cfg: &Config) -> String {
    let hosts: Vec<String> = cfg
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                Host::Tcp(h) => h.clone(),
                #[cfg(unix)]
                Host::Unix(p) => p.display().to_string(),
            };
            match cfg.get_ports().get(i).or(cfg.get_ports().first()) {
                Some(p) => format!("{host}:{p}"),
                None => host,
            }
        })
        .collect();
    format!(
        "postgres://{}{}/{}",
        cfg.get_user().map(|u| format!("{u}@")).unwrap_or_default(),
        hosts.join(","),
        cfg.get_dbname().unwrap_or("")
    )
}

/// One pooled connection and the statements prepared on it.
struct Conn {
    client: Client,
    stmts: HashMap<&'static str, Statement>,
}

struct Inner {
    config: Config,
    target: String,
    schema: Option<String>,
    wait: Duration,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Conn>>,
    /// Series key → row id, only for committed rows.
    series_ids: Mutex<HashMap<String, i64>>,
}

/// A connection taken from the pool; goes back on drop unless it broke.
struct Pooled {
    conn: Option<Conn>,
    inner: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl Pooled {
    fn parts(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a pooled connection is present until drop")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            // An unfinished transaction was told to roll back when it was dropped; that
            // message is queued before anything the next user sends, so the connection is clean.
            if !c.client.is_closed() {
                if let Ok(mut idle) = self.inner.idle.lock() {
                    idle.push(c);
                }
            }
        }
    }
}

/// The server's store in a PostgreSQL database (feature `postgres`).
///
/// ```no_run
/// # async fn run() -> faultline_server::Result<()> {
/// use faultline_server::store::{DatabaseUrl, PostgresOptions, PostgresStore, Store};
/// let url = DatabaseUrl::new("postgres://faultline:secret@127.0.0.1:5432/faultline?sslmode=disable");
/// let store = PostgresStore::connect(&url, &PostgresOptions::default()).await?;
/// store.ping().await?;
/// println!("{} points stored", store.stats().await?.points);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.inner.target)
            .field("schema", &self.inner.schema)
            .finish()
    }
}

fn pg_err(op: &'static str) -> impl Fn(tokio_postgres::Error) -> ServerError {
    move |e| ServerError::store(op, pg_message(&e))
}

/// The server's message (severity, text, SQLSTATE) or the client's error with its cause.
fn pg_message(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        );
    }
    match std::error::Error::source(e) {
        Some(s) => format!("{e}: {s}"),
        None => e.to_string(),
    }
}

fn json_err(op: &'static str) -> impl Fn(serde_json::Error) -> ServerError {
    move |e| ServerError::store(op, format!("stored JSON: {e}"))
}

fn poisoned() -> ServerError {
    ServerError::Internal("store lock poisoned by a panicking thread".into())
}

/// A statement prepared once per connection.
async fn stmt<C: GenericClient + Sync>(
    cache: &mut HashMap<&'static str, Statement>,
    client: &C,
    sql: &'static str,
) -> std::result::Result<Statement, tokio_postgres::Error> {
    if let Some(s) = cache.get(sql) {
        return Ok(s.clone());
    }
    let s = client.prepare(sql).await?;
    cache.insert(sql, s.clone());
    Ok(s)
}

impl PostgresStore {
    /// Runs one prepared statement outside a transaction (a single statement is atomic).
    async fn exec(&self, op: &'static str, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let e = pg_err(op);
        let mut pooled = self.conn().await?;
        let Conn { client, stmts } = pooled.parts();
        let st = stmt(stmts, client, sql).await.map_err(&e)?;
        client.execute(&st, params).await.map_err(&e)
    }

    /// Rows of one query whose first column is a stored JSON body, decoded.
    async fn json_rows<T: serde::de::DeserializeOwned>(
        &self,
        op: &'static str,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<T>> {
        let e = pg_err(op);
        let mut pooled = self.conn().await?;
        let Conn { client, stmts } = pooled.parts();
        let st = stmt(stmts, client, sql).await.map_err(&e)?;
        client
            .query(&st, params)
            .await
            .map_err(&e)?
            .iter()
            .map(|r| serde_json::from_str(r.try_get::<_, &str>(0).map_err(&e)?).map_err(json_err(op)))
            .collect()
    }
    /// Connects to the database at `url`, creates the schema if asked, and applies pending
    /// migrations. Logs the target without its password.
    pub async fn connect(url: &DatabaseUrl, options: &PostgresOptions) -> Result<Self> {
        let mut config = parse_url(url, "database_url")?;
        if let Some(s) = &options.schema {
            validate_schema(s)?;
        }
        let wait = Duration::from_secs(options.connect_timeout_secs.max(1));
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(wait);
        }
        if config.get_application_name().is_none() {
            config.application_name("faultline-server");
        }
        let target = describe(&config);
        let store = Self {
            inner: Arc::new(Inner {
                config,
                target,
                schema: options.schema.clone(),
                wait,
                permits: Arc::new(Semaphore::new(options.max_connections.max(1))),
                idle: Mutex::new(Vec::new()),
                series_ids: Mutex::new(HashMap::new()),
            }),
        };
        store.migrate().await?;
        tracing::info!(target = %store.inner.target, schema = ?store.inner.schema, "postgres store opened");
        Ok(store)
    }

    /// Where the store connects (`postgres://user@host:port/dbname`, no password).
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    async fn open_conn(&self) -> Result<Conn> {
        let inner = &self.inner;
        let (client, connection) =
            inner.config.connect(NoTls).await.map_err(|e| {
                ServerError::store("connect", format!("{}: {}", inner.target, pg_message(&e)))
            })?;
        let target = inner.target.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(target = %target, error = %pg_message(&e), "postgres connection closed");
            }
        });
        if let Some(schema) = &inner.schema {
            // Validated as a plain identifier at connect.
            client
                .batch_execute(&format!("SET search_path TO \"{schema}\""))
                .await
                .map_err(pg_err("connect"))?;
        }
        Ok(Conn {
            client,
            stmts: HashMap::new(),
        })
    }

    /// A connection from the pool (at most `max_connections` are out at once).
    async fn conn(&self) -> Result<Pooled> {
        let permit = tokio::time::timeout(self.inner.wait, self.inner.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                ServerError::store(
                    "connect",
                    format!(
                        "no free connection to {} within {:?}",
                        self.inner.target, self.inner.wait
                    ),
                )
            })?
            .map_err(|_| ServerError::Internal("connection pool closed".into()))?;
        loop {
            let idle = self.inner.idle.lock().map_err(|_| poisoned())?.pop();
            match idle {
                Some(c) if !c.client.is_closed() => {
                    return Ok(Pooled {
                        conn: Some(c),
                        inner: self.inner.clone(),
                        _permit: permit,
                    })
                }
                Some(_) => continue, // broken: drop it and look again
                None => break,
            }
        }
        let c = self.open_conn().await?;
        Ok(Pooled {
            conn: Some(c),
            inner: self.inner.clone(),
            _permit: permit,
        })
    }

    async fn migrate(&self) -> Result<()> {
        let e = pg_err("migrate");
        let mut pooled = self.conn().await?;
        let c = pooled.parts();
        if let Some(schema) = &self.inner.schema {
            c.client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .await
                .map_err(&e)?;
        }
        let tx = c.client.transaction().await.map_err(&e)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(&e)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS faultline_schema (version INTEGER NOT NULL)")
            .await
            .map_err(&e)?;
        let version: i32 = match tx
            .query_opt("SELECT version FROM faultline_schema", &[])
            .await
            .map_err(&e)?
        {
            Some(row) => row.try_get(0).map_err(&e)?,
            None => {
                tx.execute("INSERT INTO faultline_schema (version) VALUES (0)", &[])
                    .await
                    .map_err(&e)?;
                0
            }
        };
        let known = MIGRATIONS.len() as i32;
        if version > known {
            return Err(ServerError::store(
                "migrate",
                format!("database schema version {version} is newer than this server's {known}"),
            ));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.batch_execute(sql).await.map_err(&e)?;
            tx.execute("UPDATE faultline_schema SET version = $1", &[&(i as i32 + 1)])
                .await
                .map_err(&e)?;
            tracing::info!(version = i + 1, "store migration applied");
        }
        tx.commit().await.map_err(&e)?;
        Ok(())
    }
}

fn series_key_text(key: &SeriesKey) -> Result<String> {
    serde_json::to_string(key).map_err(|e| ServerError::Internal(format!("series key to JSON: {e}")))
}

const INS_IDEM: &str =
    "INSERT INTO idempotency (principal, key, route, request_hash, status, body, created_secs)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (principal, key) DO NOTHING";
const GET_IDEM: &str = "SELECT route, request_hash, status, body, created_secs FROM idempotency
     WHERE principal = $1 AND key = $2";
const INS_SERIES: &str =
    "INSERT INTO series (key) SELECT k FROM unnest($1::text[]) AS k ORDER BY k ON CONFLICT (key) DO NOTHING";
const GET_SERIES: &str = "SELECT key, id FROM series WHERE key = ANY($1::text[])";
const INS_CHUNKS: &str = "INSERT INTO series_chunks (series_id, t_min, t_max, n, ts, vals)
     SELECT s, a, b, n, t, v FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int4[], $5::bytea[], $6::bytea[])
     WITH ORDINALITY AS u(s, a, b, n, t, v, o) ORDER BY o";
const INS_RECORDS: &str = "INSERT INTO record_chunks (kind, service, t_min, t_max, n, body)
     SELECT $1, s, a, b, n, body FROM unnest($2::text[], $3::int8[], $4::int8[], $5::int4[], $6::bytea[])
     WITH ORDINALITY AS u(s, a, b, n, body, o) ORDER BY o";
const INS_EVENTS: &str = "INSERT INTO events (ts, service, body)
     SELECT t, s, b FROM unnest($1::int8[], $2::text[], $3::text[]) WITH ORDINALITY AS u(t, s, b, o) ORDER BY o";
const INS_ALERTS: &str = "INSERT INTO alerts (fingerprint, starts_at, ends_at, body)
     SELECT f, s, e, b FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[]) AS u(f, s, e, b)
     ON CONFLICT (fingerprint, starts_at) DO UPDATE SET ends_at = excluded.ends_at, body = excluded.body";
const INS_EDGES: &str = "INSERT INTO topology (source, target, kind)
     SELECT s, t, k FROM unnest($1::text[], $2::text[], $3::text[]) AS u(s, t, k) ON CONFLICT DO NOTHING";

fn idempotency_from_row(principal: &str, key: &str, r: &tokio_postgres::Row) -> Result<IdempotencyRecord> {
    let e = pg_err("idempotency");
    let status: i32 = r.try_get(2).map_err(&e)?;
    Ok(IdempotencyRecord {
        principal: principal.to_owned(),
        key: key.to_owned(),
        route: r.try_get(0).map_err(&e)?,
        request_hash: r.try_get(1).map_err(&e)?,
        status: u16::try_from(status).map_err(|_| {
            ServerError::store(
                "idempotency",
                format!("stored status {status} is not an HTTP status"),
            )
        })?,
        body: r.try_get(3).map_err(&e)?,
        created_secs: r.try_get(4).map_err(&e)?,
    })
}

async fn get_idempotency<C: GenericClient + Sync>(
    stmts: &mut HashMap<&'static str, Statement>,
    c: &C,
    principal: &str,
    key: &str,
) -> Result<Option<IdempotencyRecord>> {
    let e = pg_err("idempotency");
    let st = stmt(stmts, c, GET_IDEM).await.map_err(&e)?;
    let row = c.query_opt(&st, &[&principal, &key]).await.map_err(&e)?;
    row.map(|r| idempotency_from_row(principal, key, &r)).transpose()
}

async fn insert_idempotency<C: GenericClient + Sync>(
    stmts: &mut HashMap<&'static str, Statement>,
    c: &C,
    rec: &IdempotencyRecord,
) -> Result<bool> {
    let e = pg_err("idempotency");
    let st = stmt(stmts, c, INS_IDEM).await.map_err(&e)?;
    let n = c
        .execute(
            &st,
            &[
                &rec.principal,
                &rec.key,
                &rec.route,
                &rec.request_hash,
                &i32::from(rec.status),
                &rec.body,
                &rec.created_secs,
            ],
        )
        .await
        .map_err(&e)?;
    Ok(n == 1)
}

/// Columns of one table's rows, built in memory and sent as arrays.
#[derive(Default)]
struct ChunkCols {
    ids: Vec<i64>,
    t_min: Vec<i64>,
    t_max: Vec<i64>,
    n: Vec<i32>,
    ts: Vec<Vec<u8>>,
    vals: Vec<Vec<u8>>,
}

/// Record chunks (logs or spans) of one kind, grouped by service.
#[derive(Default)]
struct RecordCols {
    service: Vec<String>,
    t_min: Vec<i64>,
    t_max: Vec<i64>,
    n: Vec<i32>,
    body: Vec<Vec<u8>>,
}

fn record_cols<T: serde::Serialize>(records: &[T], key: impl Fn(&T) -> (&str, i64)) -> Result<RecordCols> {
    let mut out = RecordCols::default();
    let mut by_service: BTreeMap<&str, Vec<&T>> = BTreeMap::new();
    for r in records {
        by_service.entry(key(r).0).or_default().push(r);
    }
    for (service, rs) in by_service {
        for chunk in rs.chunks(MAX_CHUNK_RECORDS) {
            out.service.push(service.to_owned());
            out.t_min.push(chunk.iter().map(|r| key(r).1).min().unwrap_or(0));
            out.t_max.push(chunk.iter().map(|r| key(r).1).max().unwrap_or(0));
            out.n.push(chunk.len() as i32);
            out.body
                .push(serde_json::to_vec(chunk).map_err(json_err("ingest"))?);
        }
    }
    Ok(out)
}

impl PostgresStore {
    /// Writes everything of `batch` inside `tx`; returns the series ids it created or looked up.
    async fn write_batch(
        &self,
        stmts: &mut HashMap<&'static str, Statement>,
        tx: &tokio_postgres::Transaction<'_>,
        batch: &SignalSet,
    ) -> Result<Vec<(String, i64)>> {
        let e = pg_err("ingest");
        // Series ids: the cache for committed keys, one insert + one select for the rest.
        let mut keys: Vec<String> = Vec::with_capacity(batch.series.len());
        for s in batch.series.iter().filter(|s| !s.is_empty()) {
            keys.push(series_key_text(&s.key)?);
        }
        let mut ids: HashMap<String, i64> = HashMap::with_capacity(keys.len());
        let mut missing: Vec<String> = Vec::new();
        {
            let cache = self.inner.series_ids.lock().map_err(|_| poisoned())?;
            for k in &keys {
                match cache.get(k) {
                    Some(&id) => {
                        ids.insert(k.clone(), id);
                    }
                    None => missing.push(k.clone()),
                }
            }
        }
        missing.sort();
        missing.dedup();
        let mut fresh = Vec::new();
        if !missing.is_empty() {
            let st = stmt(stmts, tx, INS_SERIES).await.map_err(&e)?;
            tx.execute(&st, &[&missing]).await.map_err(&e)?;
            let st = stmt(stmts, tx, GET_SERIES).await.map_err(&e)?;
            for row in tx.query(&st, &[&missing]).await.map_err(&e)? {
                let (k, id): (String, i64) = (row.try_get(0).map_err(&e)?, row.try_get(1).map_err(&e)?);
                ids.insert(k.clone(), id);
                fresh.push((k, id));
            }
        }

        let mut cols = ChunkCols::default();
        let mut raw_ts: Vec<i64> = Vec::new();
        for (s, key) in batch.series.iter().filter(|s| !s.is_empty()).zip(&keys) {
            let id = *ids
                .get(key)
                .ok_or_else(|| ServerError::Internal(format!("series {key} has no id after insert")))?;
            for (ts, vals) in s
                .timestamps
                .chunks(MAX_CHUNK_POINTS)
                .zip(s.values.chunks(MAX_CHUNK_POINTS))
            {
                raw_ts.clear();
                raw_ts.extend(ts.iter().map(|t| t.0));
                let mut tb = Vec::with_capacity(8 + raw_ts.len() * 2);
                let mut vb = Vec::with_capacity(vals.len() * 8);
                codec::encode_ts(&raw_ts, &mut tb);
                codec::encode_values(vals, &mut vb);
                cols.ids.push(id);
                cols.t_min.push(raw_ts.iter().copied().min().unwrap_or(0));
                cols.t_max.push(raw_ts.iter().copied().max().unwrap_or(0));
                cols.n.push(raw_ts.len() as i32);
                cols.ts.push(tb);
                cols.vals.push(vb);
            }
        }
        if !cols.ids.is_empty() {
            let st = stmt(stmts, tx, INS_CHUNKS).await.map_err(&e)?;
            tx.execute(
                &st,
                &[&cols.ids, &cols.t_min, &cols.t_max, &cols.n, &cols.ts, &cols.vals],
            )
            .await
            .map_err(&e)?;
        }

        for (kind, rc) in [
            (
                "log",
                record_cols(&batch.logs, |l: &LogRecord| (l.service.as_str(), l.ts.0))?,
            ),
            (
                "span",
                record_cols(&batch.spans, |s: &Span| (s.service.as_str(), s.start.0))?,
            ),
        ] {
            if rc.service.is_empty() {
                continue;
            }
            let st = stmt(stmts, tx, INS_RECORDS).await.map_err(&e)?;
            tx.execute(&st, &[&kind, &rc.service, &rc.t_min, &rc.t_max, &rc.n, &rc.body])
                .await
                .map_err(&e)?;
        }

        if !batch.events.is_empty() {
            let mut ts = Vec::with_capacity(batch.events.len());
            let mut service = Vec::with_capacity(batch.events.len());
            let mut body = Vec::with_capacity(batch.events.len());
            for ev in &batch.events {
                ts.push(ev.ts.0);
                service.push(ev.service.as_str());
                body.push(serde_json::to_string(ev).map_err(json_err("ingest"))?);
            }
            let st = stmt(stmts, tx, INS_EVENTS).await.map_err(&e)?;
            tx.execute(&st, &[&ts, &service, &body]).await.map_err(&e)?;
        }

        if !batch.alerts.is_empty() {
            // One row per (fingerprint, start), the last one of the batch winning (as a
            // statement per alert would): `ON CONFLICT DO UPDATE` refuses to touch a row twice.
            let mut last: BTreeMap<(&str, i64), &Alert> = BTreeMap::new();
            for a in &batch.alerts {
                last.insert((a.fingerprint.as_str(), a.starts_at.0), a);
            }
            let mut fp = Vec::with_capacity(last.len());
            let mut starts = Vec::with_capacity(last.len());
            let mut ends: Vec<Option<i64>> = Vec::with_capacity(last.len());
            let mut body = Vec::with_capacity(last.len());
            for ((f, s), a) in last {
                fp.push(f);
                starts.push(s);
                ends.push(a.ends_at.map(|t| t.0));
                body.push(serde_json::to_string(a).map_err(json_err("ingest"))?);
            }
            let st = stmt(stmts, tx, INS_ALERTS).await.map_err(&e)?;
            tx.execute(&st, &[&fp, &starts, &ends, &body]).await.map_err(&e)?;
        }

        if !batch.topology.is_empty() {
            let mut src = Vec::new();
            let mut dst = Vec::new();
            let mut kind = Vec::new();
            for edge in batch.topology.edges() {
                src.push(edge.source.as_str());
                dst.push(edge.target.as_str());
                kind.push(edge.kind.as_deref().unwrap_or(""));
            }
            let st = stmt(stmts, tx, INS_EDGES).await.map_err(&e)?;
            tx.execute(&st, &[&src, &dst, &kind]).await.map_err(&e)?;
        }
        Ok(fresh)
    }
}

async fn read_signals(
    stmts: &mut HashMap<&'static str, Statement>,
    tx: &tokio_postgres::Transaction<'_>,
    w: TimeWindow,
) -> Result<SignalSet> {
    let e = pg_err("signals");
    let (start, end) = (w.start.0, w.end.0);
    let mut out = SignalSet::default();

    let st = stmt(
        stmts,
        tx,
        "SELECT c.series_id, s.key, c.n, c.ts, c.vals FROM series_chunks c JOIN series s ON s.id = c.series_id
         WHERE c.t_max >= $1 AND c.t_min <= $2 ORDER BY c.id",
    )
    .await
    .map_err(&e)?;
    let mut series = codec::SeriesAssembler::default();
    for r in tx.query(&st, &[&start, &end]).await.map_err(&e)? {
        let id: i64 = r.try_get(0).map_err(&e)?;
        let n = usize::try_from(r.try_get::<_, i32>(2).map_err(&e)?).unwrap_or(0);
        series.add_chunk(
            id,
            || r.try_get::<_, String>(1).map_err(&e),
            n,
            r.try_get::<_, &[u8]>(3).map_err(&e)?,
            r.try_get::<_, &[u8]>(4).map_err(&e)?,
            start,
            end,
        )?;
    }
    out.series = series.finish()?;

    out.logs = read_record_chunks::<LogRecord>(stmts, tx, "log", start, end, |l| l.ts.0).await?;
    out.logs.sort_by_key(|l| l.ts);
    out.spans = read_record_chunks::<Span>(stmts, tx, "span", start, end, |s| s.start.0).await?;
    out.spans.sort_by_key(|s| s.start);

    let st = stmt(
        stmts,
        tx,
        "SELECT body FROM events WHERE ts >= $1 AND ts <= $2 ORDER BY ts, id",
    )
    .await
    .map_err(&e)?;
    for r in tx.query(&st, &[&start, &end]).await.map_err(&e)? {
        let ev: ChangeEvent =
            serde_json::from_str(r.try_get::<_, &str>(0).map_err(&e)?).map_err(json_err("signals"))?;
        out.events.push(ev);
    }
    let st = stmt(
        stmts,
        tx,
        "SELECT body FROM alerts WHERE starts_at <= $2 AND (ends_at IS NULL OR ends_at >= $1)
         ORDER BY starts_at, fingerprint",
    )
    .await
    .map_err(&e)?;
    for r in tx.query(&st, &[&start, &end]).await.map_err(&e)? {
        let a: Alert =
            serde_json::from_str(r.try_get::<_, &str>(0).map_err(&e)?).map_err(json_err("signals"))?;
        out.alerts.push(a);
    }
    let st = stmt(
        stmts,
        tx,
        "SELECT source, target, kind FROM topology ORDER BY source, target, kind",
    )
    .await
    .map_err(&e)?;
    for r in tx.query(&st, &[]).await.map_err(&e)? {
        let s: &str = r.try_get(0).map_err(&e)?;
        let t: &str = r.try_get(1).map_err(&e)?;
        let k: String = r.try_get(2).map_err(&e)?;
        out.topology
            .add_edge(s, t, if k.is_empty() { None } else { Some(k) });
    }
    Ok(out)
}

async fn read_record_chunks<T: serde::de::DeserializeOwned>(
    stmts: &mut HashMap<&'static str, Statement>,
    tx: &tokio_postgres::Transaction<'_>,
    kind: &str,
    start: i64,
    end: i64,
    ts: impl Fn(&T) -> i64,
) -> Result<Vec<T>> {
    let e = pg_err("signals");
    let st = stmt(
        stmts,
        tx,
        "SELECT body FROM record_chunks WHERE kind = $1 AND t_max >= $2 AND t_min <= $3 ORDER BY id",
    )
    .await
    .map_err(&e)?;
    let mut out = Vec::new();
    for r in tx.query(&st, &[&kind, &start, &end]).await.map_err(&e)? {
        let recs: Vec<T> =
            serde_json::from_slice(r.try_get::<_, &[u8]>(0).map_err(&e)?).map_err(json_err("signals"))?;
        out.extend(recs.into_iter().filter(|r| {
            let t = ts(r);
            t >= start && t <= end
        }));
    }
    Ok(out)
}

fn non_negative(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[async_trait]
impl Store for PostgresStore {
    async fn ingest(
        &self,
        batch: SignalSet,
        idempotency: Option<IdempotencyRecord>,
    ) -> Result<IngestOutcome> {
        let e = pg_err("ingest");
        let counts = IngestCounts::of(&batch);
        let mut pooled = self.conn().await?;
        let Conn { client, stmts } = pooled.parts();
        let tx = client.transaction().await.map_err(&e)?;
        if let Some(rec) = &idempotency {
            // The key first: a concurrent batch with the same key makes this insert wait for
            // it, then do nothing; that batch's record is then visible (read committed).
            if !insert_idempotency(stmts, &tx, rec).await? {
                let found = get_idempotency(stmts, &tx, &rec.principal, &rec.key).await?;
                drop(tx);
                return match found {
                    Some(found) => Ok(IngestOutcome::Replayed(found)),
                    None => Err(ServerError::Conflict(format!(
                        "idempotency key {:?} was being purged; retry",
                        rec.key
                    ))),
                };
            }
        }
        let fresh = self.write_batch(stmts, &tx, &batch).await?;
        tx.commit().await.map_err(&e)?;
        // Only committed ids enter the cache: a rolled-back batch leaves no stale ids.
        if !fresh.is_empty() {
            self.inner
                .series_ids
                .lock()
                .map_err(|_| poisoned())?
                .extend(fresh);
        }
        Ok(IngestOutcome::Written(counts))
    }

    async fn signals(&self, window: TimeWindow) -> Result<SignalSet> {
        let e = pg_err("signals");
        let mut pooled = self.conn().await?;
        let Conn { client, stmts } = pooled.parts();
        // One snapshot for every table of the answer.
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(&e)?;
        let out = read_signals(stmts, &tx, window).await?;
        tx.commit().await.map_err(&e)?;
        Ok(out)
    }

    async fn stats(&self) -> Result<StoreStats> {
        let e = pg_err("stats");
        let mut pooled = self.conn().await?;
        let Conn { client, stmts } = pooled.parts();
        let st = stmt(
            stmts,
            client,
            "SELECT (SELECT COUNT(*) FROM series),
                    (SELECT COALESCE(SUM(n), 0)::int8 FROM series_chunks),
                    (SELECT COALESCE(SUM(n), 0)::int8 FROM record_chunks WHERE kind = 'log'),
                    (SELECT COUNT(*) FROM events),
                    (SELECT COALESCE(SUM(n), 0)::int8 FROM record_chunks WHERE kind = 'span'),
                    (SELECT COUNT(*) FROM alerts),
                    (SELECT COUNT(*) FROM incidents)",
        )
        .await
        .map_err(&e)?;
        let r = client.query_one(&st, &[]).await.map_err(&e)?;
        let g = |i: usize| r.try_get::<_, i64>(i).map(non_negative).map_err(&e);
        Ok(StoreStats {
            series: g(0)?,
            points: g(1)?,
            logs: g(2)?,
            events: g(3)?,
            spans: g(4)?,
            alerts: g(5)?,
            incidents: g(6)?,
        })
    }

    async fn put_incident(&self, incident: &Incident) -> Result<()> {
        let body = serde_json::to_string(incident).map_err(json_err("put_incident"))?;
        self.exec(
            "put_incident",
            "INSERT INTO incidents (id, onset, body) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET onset = excluded.onset, body = excluded.body",
            &[&incident.id.0, &incident.onset.0, &body],
        )
        .await?;
        Ok(())
    }

    async fn incident(&self, id: &IncidentId) -> Result<Option<Incident>> {
        let rows = self
            .json_rows("incident", "SELECT body FROM incidents WHERE id = $1", &[&id.0])
            .await?;
        Ok(rows.into_iter().next())
    }

    async fn incidents(&self) -> Result<Vec<Incident>> {
        self.json_rows(
            "incidents",
            "SELECT body FROM incidents ORDER BY onset DESC, id",
            &[],
        )
        .await
    }

    async fn put_report(&self, report: &IncidentReport) -> Result<()> {
        let body = serde_json::to_string(report).map_err(json_err("put_report"))?;
        self.exec(
            "put_report",
            "INSERT INTO reports (incident_id, body) VALUES ($1, $2)
             ON CONFLICT (incident_id) DO UPDATE SET body = excluded.body",
            &[&report.incident.id.0, &body],
        )
        .await?;
        Ok(())
    }

    async fn report(&self, id: &IncidentId) -> Result<Option<IncidentReport>> {
        let rows = self
            .json_rows(
                "report",
                "SELECT body FROM reports WHERE incident_id = $1",
                &[&id.0],
            )
            .await?;
        Ok(rows.into_iter().next())
    }

    async fn put_plan(&self, plan: &PlanRecord) -> Result<()> {
        let body = serde_json::to_string(&plan.body).map_err(json_err("put_plan"))?;
        self.exec(
            "put_plan",
            "INSERT INTO plans (id, incident_id, state, body) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET incident_id = excluded.incident_id,
             state = excluded.state, body = excluded.body",
            &[&plan.id, &plan.incident, &plan.state, &body],
        )
        .await?;
        Ok(())
    }

    async fn plan(&self, id: &str) -> Result<Option<PlanRecord>> {
        let e = pg_err("plan");
        let mut pooled = self.conn().await?;
        let Conn { client, stmts } = pooled.parts();
        let st = stmt(
            stmts,
            client,
            "SELECT incident_id, state, body FROM plans WHERE id = $1",
        )
        .await
        .map_err(&e)?;
        let row = client.query_opt(&st, &[&id]).await.map_err(&e)?;
        row.map(|r| {
            Ok(PlanRecord {
                id: id.to_owned(),
                incident: r.try_get(0).map_err(&e)?,
                state: r.try_get(1).map_err(&e)?,
                body: serde_json::from_str(r.try_get::<_, &str>(2).map_err(&e)?).map_err(json_err("plan"))?,
            })
        })
        .transpose()
    }

    async fn append_audit(&self, record: &AuditRecord) -> Result<()> {
        let e = pg_err("append_audit");
        let body = serde_json::to_string(record).map_err(json_err("append_audit"))?;
        let seq = record.seq;
        let mut pooled = self.conn().await?;
        let Conn { client, .. } = pooled.parts();
        let tx = client.transaction().await.map_err(&e)?;
        // Appenders queue here, so "the next seq" is the count of committed records.
        tx.batch_execute("LOCK TABLE audit IN EXCLUSIVE MODE")
            .await
            .map_err(&e)?;
        let next: i64 = tx
            .query_one("SELECT COUNT(*) FROM audit", &[])
            .await
            .map_err(&e)?
            .try_get(0)
            .map_err(&e)?;
        if u64::try_from(next).ok() != Some(seq) {
            return Err(ServerError::Conflict(format!(
                "audit record seq {seq} is not the next one ({next})"
            )));
        }
        tx.execute("INSERT INTO audit (seq, body) VALUES ($1, $2)", &[&next, &body])
            .await
            .map_err(|x| {
                if x.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                    ServerError::Conflict(format!("audit record seq {seq} already stored"))
                } else {
                    e(x)
                }
            })?;
        tx.commit().await.map_err(&e)
    }

    async fn audit(&self) -> Result<Vec<AuditRecord>> {
        self.json_rows("audit", "SELECT body FROM audit ORDER BY seq", &[])
            .await
    }

    async fn idempotency(&self, principal: &str, key: &str) -> Result<Option<IdempotencyRecord>> {
        let mut pooled = self.conn().await?;
        let Conn { client, stmts } = pooled.parts();
        get_idempotency(stmts, &*client, principal, key).await
    }

    async fn put_idempotency(&self, record: &IdempotencyRecord) -> Result<bool> {
        let mut pooled = self.conn().await?;
        let Conn { client, stmts } = pooled.parts();
        insert_idempotency(stmts, &*client, record).await
    }

    async fn purge_idempotency(&self, before_secs: i64) -> Result<u64> {
        let e = pg_err("purge_idempotency");
        let mut pooled = self.conn().await?;
        let Conn { client, .. } = pooled.parts();
        client
            .execute("DELETE FROM idempotency WHERE created_secs < $1", &[&before_secs])
            .await
            .map_err(&e)
    }

    async fn ping(&self) -> Result<()> {
        let e = pg_err("ping");
        let mut pooled = self.conn().await?;
        let Conn { client, .. } = pooled.parts();
        client.simple_query("SELECT 1").await.map_err(&e)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_describe_without_password() {
        let cfg = parse_url(
            &DatabaseUrl::new("postgres://app:hunter2@127.0.0.1:5433/fl?sslmode=disable"),
            "database_url",
        )
        .unwrap();
        let d = describe(&cfg);
        assert_eq!(d, "postgres://app@127.0.0.1:5433/fl");
        assert!(!d.contains("hunter2"));
    }

    #[test]
    fn tls_required_and_garbage_are_config_errors_without_the_secret() {
        let e = parse_url(
            &DatabaseUrl::new("postgres://app:hunter2@db/fl?sslmode=require"),
            "database_url",
        )
        .unwrap_err();
        assert!(matches!(e, ServerError::Config { .. }), "{e}");
        assert!(e.to_string().contains("sslmode"), "{e}");
        for bad in [
            "postgres://app:hunter2@db:notaport/fl",
            "mysql://app:hunter2@db/fl",
            "password=hunter2 port=x",
        ] {
            let e = parse_url(&DatabaseUrl::new(bad), "database_url").unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains("database_url"), "{msg}");
            assert!(!msg.contains("hunter2"), "{msg}");
        }
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        validate_schema("faultline_ci_1").unwrap();
        for bad in ["", "Public", "a-b", "x\"; DROP TABLE audit; --", "1abc"] {
            assert!(validate_schema(bad).is_err(), "{bad}");
        }
    }
}

//! [`SqliteStore`]: the embedded default store — one SQLite file in WAL mode.
//!
//! One writer connection (SQLite allows one writer at a time anyway) behind a mutex, and a
//! small pool of reader connections, which WAL lets read while the writer writes. Every call
//! runs on tokio's blocking pool. `synchronous = NORMAL` in WAL mode keeps every committed
//! transaction across a process crash (kill -9); only an operating-system crash or power loss
//! may lose the last commits, which [`SqliteOptions::synchronous_full`] closes at a cost.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use faultline::core::{
    Alert, AuditRecord, ChangeEvent, Incident, IncidentId, IncidentReport, LogRecord, SeriesKey, SignalSet,
    Span, TimeWindow,
};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};

use super::codec;
use super::{
    IdempotencyRecord, IngestCounts, IngestOutcome, PlanRecord, Store, StoreStats, MAX_CHUNK_POINTS,
    MAX_CHUNK_RECORDS,
};
use crate::{Result, ServerError};

/// Schema migrations, applied in order; `PRAGMA user_version` holds how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    "CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL
    );
    CREATE TABLE series_chunks (
        series_id INTEGER NOT NULL REFERENCES series(id),
        t_min INTEGER NOT NULL,
        t_max INTEGER NOT NULL,
        n INTEGER NOT NULL,
        ts BLOB NOT NULL,
        vals BLOB NOT NULL
    );
    CREATE INDEX series_chunks_t_max ON series_chunks(t_max);
    CREATE TABLE record_chunks (
        kind TEXT NOT NULL,
        service TEXT NOT NULL,
        t_min INTEGER NOT NULL,
        t_max INTEGER NOT NULL,
        n INTEGER NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX record_chunks_kind_t_max ON record_chunks(kind, t_max);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        service TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX events_ts ON events(ts);
    CREATE TABLE alerts (
        fingerprint TEXT NOT NULL,
        starts_at INTEGER NOT NULL,
        ends_at INTEGER,
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
        onset INTEGER NOT NULL,
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
        seq INTEGER PRIMARY KEY,
        body TEXT NOT NULL
    );
    CREATE TABLE idempotency (
        principal TEXT NOT NULL,
        key TEXT NOT NULL,
        route TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_secs INTEGER NOT NULL,
        PRIMARY KEY (principal, key)
    );",
];

/// Options of the embedded store.
#[derive(Debug, Clone, Default)]
pub struct SqliteOptions {
    /// `synchronous = FULL` (fsync on every commit: survives power loss, slower) instead of
    /// `NORMAL` (survives a process crash).
    pub synchronous_full: bool,
}

struct Writer {
    conn: Connection,
    /// Series key → row id, only for committed rows.
    series_ids: HashMap<String, i64>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Writer>,
    readers: Mutex<Vec<Connection>>,
}

/// The embedded store: one SQLite file (plus its `-wal` and `-shm` files) in WAL mode.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use faultline_server::store::{SqliteStore, Store};
/// let dir = tempfile::tempdir().unwrap();
/// let store = SqliteStore::open(dir.path().join("faultline.db")).unwrap();
/// assert_eq!(store.stats().await.unwrap().points, 0);
/// # });
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

fn db_err(op: &'static str) -> impl Fn(rusqlite::Error) -> ServerError {
    move |e| ServerError::store(op, e)
}

fn json_err(op: &'static str) -> impl Fn(serde_json::Error) -> ServerError {
    move |e| ServerError::store(op, format!("stored JSON: {e}"))
}

fn poisoned() -> ServerError {
    ServerError::Internal("store lock poisoned by a panicking thread".into())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &SqliteOptions::default())
    }

    /// [`SqliteStore::open`] with options.
    pub fn open_with(path: impl AsRef<Path>, options: &SqliteOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| ServerError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let mut conn = Connection::open(&path).map_err(db_err("open"))?;
        let sync = if options.synchronous_full {
            "FULL"
        } else {
            "NORMAL"
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;"
        ))
        .map_err(db_err("open"))?;
        migrate(&mut conn)?;
        let mut series_ids = HashMap::new();
        {
            let mut st = conn
                .prepare("SELECT key, id FROM series")
                .map_err(db_err("open"))?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(db_err("open"))?;
            for row in rows {
                let (k, id) = row.map_err(db_err("open"))?;
                series_ids.insert(k, id);
            }
        }
        tracing::info!(path = %path.display(), series = series_ids.len(), "store opened");
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(Writer { conn, series_ids }),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Writer) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut w = inner.writer.lock().map_err(|_| poisoned())?;
            f(&mut w)
        })
        .await
        .map_err(|e| ServerError::Internal(format!("store task failed: {e}")))?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().map_err(|_| poisoned())?.pop();
            let conn = match pooled {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .map_err(db_err("open reader"))?;
                    c.execute_batch("PRAGMA busy_timeout = 5000;")
                        .map_err(db_err("open reader"))?;
                    c
                }
            };
            let out = f(&conn);
            let mut pool = inner.readers.lock().map_err(|_| poisoned())?;
            if pool.len() < 4 {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(|e| ServerError::Internal(format!("store task failed: {e}")))?
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db_err("migrate"))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(ServerError::store(
            "migrate",
            format!("database schema version {version} is newer than this server's {known}"),
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction().map_err(db_err("migrate"))?;
        tx.execute_batch(sql).map_err(db_err("migrate"))?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
            .map_err(db_err("migrate"))?;
        tx.commit().map_err(db_err("migrate"))?;
        tracing::info!(version = i + 1, "store migration applied");
    }
    Ok(())
}

fn series_key_text(key: &SeriesKey) -> Result<String> {
    serde_json::to_string(key).map_err(|e| ServerError::Internal(format!("series key to JSON: {e}")))
}

fn write_batch(
    tx: &Transaction<'_>,
    batch: &SignalSet,
    cache: &HashMap<String, i64>,
    new_ids: &mut Vec<(String, i64)>,
) -> Result<()> {
    let e = db_err("ingest");
    {
        let mut ins_series = tx
            .prepare_cached("INSERT INTO series (key, body) VALUES (?1, ?1)")
            .map_err(&e)?;
        let mut ins_chunk = tx
            .prepare_cached(
                "INSERT INTO series_chunks (series_id, t_min, t_max, n, ts, vals) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(&e)?;
        let mut ts_buf = Vec::new();
        let mut val_buf = Vec::new();
        let mut raw_ts: Vec<i64> = Vec::new();
        for s in &batch.series {
            if s.is_empty() {
                continue;
            }
            let key = series_key_text(&s.key)?;
            let id = match cache.get(&key) {
                Some(&id) => id,
                None => match new_ids.iter().find(|(k, _)| *k == key) {
                    Some(&(_, id)) => id,
                    None => {
                        ins_series.execute(params![key]).map_err(&e)?;
                        let id = tx.last_insert_rowid();
                        new_ids.push((key, id));
                        id
                    }
                },
            };
            for (ts, vals) in s
                .timestamps
                .chunks(MAX_CHUNK_POINTS)
                .zip(s.values.chunks(MAX_CHUNK_POINTS))
            {
                raw_ts.clear();
                raw_ts.extend(ts.iter().map(|t| t.0));
                let t_min = raw_ts.iter().copied().min().unwrap_or(0);
                let t_max = raw_ts.iter().copied().max().unwrap_or(0);
                ts_buf.clear();
                val_buf.clear();
                codec::encode_ts(&raw_ts, &mut ts_buf);
                codec::encode_values(vals, &mut val_buf);
                ins_chunk
                    .execute(params![id, t_min, t_max, raw_ts.len() as i64, ts_buf, val_buf])
                    .map_err(&e)?;
            }
        }
    }
    write_record_chunks(tx, "log", &batch.logs, |l| (l.service.as_str(), l.ts.0))?;
    write_record_chunks(tx, "span", &batch.spans, |s| (s.service.as_str(), s.start.0))?;
    {
        let mut ins = tx
            .prepare_cached("INSERT INTO events (ts, service, body) VALUES (?1, ?2, ?3)")
            .map_err(&e)?;
        for ev in &batch.events {
            let body = serde_json::to_string(ev).map_err(json_err("ingest"))?;
            ins.execute(params![ev.ts.0, ev.service.as_str(), body])
                .map_err(&e)?;
        }
        let mut ins = tx
            .prepare_cached(
                "INSERT INTO alerts (fingerprint, starts_at, ends_at, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (fingerprint, starts_at) DO UPDATE SET ends_at = excluded.ends_at, body = excluded.body",
            )
            .map_err(&e)?;
        for a in &batch.alerts {
            let body = serde_json::to_string(a).map_err(json_err("ingest"))?;
            ins.execute(params![
                a.fingerprint,
                a.starts_at.0,
                a.ends_at.map(|t| t.0),
                body
            ])
            .map_err(&e)?;
        }
        let mut ins = tx
            .prepare_cached("INSERT OR IGNORE INTO topology (source, target, kind) VALUES (?1, ?2, ?3)")
            .map_err(&e)?;
        for edge in batch.topology.edges() {
            ins.execute(params![
                edge.source.as_str(),
                edge.target.as_str(),
                edge.kind.as_deref().unwrap_or("")
            ])
            .map_err(&e)?;
        }
    }
    Ok(())
}

/// Writes records grouped by service into chunks of at most [`MAX_CHUNK_RECORDS`].
fn write_record_chunks<T: serde::Serialize>(
    tx: &Transaction<'_>,
    kind: &str,
    records: &[T],
    key: impl Fn(&T) -> (&str, i64),
) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let mut by_service: BTreeMap<&str, Vec<&T>> = BTreeMap::new();
    for r in records {
        by_service.entry(key(r).0).or_default().push(r);
    }
    let mut ins = tx
        .prepare_cached("INSERT INTO record_chunks (kind, service, t_min, t_max, n, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .map_err(db_err("ingest"))?;
    for (service, rs) in by_service {
        for chunk in rs.chunks(MAX_CHUNK_RECORDS) {
            let t_min = chunk.iter().map(|r| key(r).1).min().unwrap_or(0);
            let t_max = chunk.iter().map(|r| key(r).1).max().unwrap_or(0);
            let body = serde_json::to_vec(chunk).map_err(json_err("ingest"))?;
            ins.execute(params![kind, service, t_min, t_max, chunk.len() as i64, body])
                .map_err(db_err("ingest"))?;
        }
    }
    Ok(())
}

fn get_idempotency(conn: &Connection, principal: &str, key: &str) -> Result<Option<IdempotencyRecord>> {
    conn.prepare_cached(
        "SELECT route, request_hash, status, body, created_secs FROM idempotency WHERE principal = ?1 AND key = ?2",
    )
    .map_err(db_err("idempotency"))?
    .query_row(params![principal, key], |r| {
        Ok(IdempotencyRecord {
            principal: principal.to_owned(),
            key: key.to_owned(),
            route: r.get(0)?,
            request_hash: r.get(1)?,
            status: r.get(2)?,
            body: r.get(3)?,
            created_secs: r.get(4)?,
        })
    })
    .optional()
    .map_err(db_err("idempotency"))
}

fn insert_idempotency(conn: &Connection, rec: &IdempotencyRecord) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO idempotency (principal, key, route, request_hash, status, body, created_secs)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(db_err("idempotency"))?
        .execute(params![
            rec.principal,
            rec.key,
            rec.route,
            rec.request_hash,
            rec.status,
            rec.body,
            rec.created_secs
        ])
        .map_err(db_err("idempotency"))?;
    Ok(n == 1)
}

fn read_signals(conn: &Connection, w: TimeWindow) -> Result<SignalSet> {
    let e = db_err("signals");
    let (start, end) = (w.start.0, w.end.0);
    let mut out = SignalSet::default();

    // Series: decode overlapping chunks, keep points inside the window.
    let mut series = codec::SeriesAssembler::default();
    {
        let mut st = conn
            .prepare_cached(
                "SELECT c.series_id, s.body, c.n, c.ts, c.vals FROM series_chunks c JOIN series s ON s.id = c.series_id
                 WHERE c.t_max >= ?1 AND c.t_min <= ?2 ORDER BY c.rowid",
            )
            .map_err(&e)?;
        let mut rows = st.query(params![start, end]).map_err(&e)?;
        fn blob<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> Result<&'r [u8]> {
            r.get_ref(i)
                .map_err(db_err("signals"))?
                .as_blob()
                .map_err(|x| ServerError::store("signals", x))
        }
        while let Some(r) = rows.next().map_err(&e)? {
            let id: i64 = r.get(0).map_err(&e)?;
            let n = usize::try_from(r.get::<_, i64>(2).map_err(&e)?).unwrap_or(0);
            let key = || r.get::<_, String>(1).map_err(&e);
            series.add_chunk(id, key, n, blob(r, 3)?, blob(r, 4)?, start, end)?;
        }
    }
    out.series = series.finish()?;

    out.logs = read_record_chunks::<LogRecord>(conn, "log", start, end, |l| l.ts.0)?;
    out.logs.sort_by_key(|l| l.ts);
    out.spans = read_record_chunks::<Span>(conn, "span", start, end, |s| s.start.0)?;
    out.spans.sort_by_key(|s| s.start);

    let mut st = conn
        .prepare_cached("SELECT body FROM events WHERE ts >= ?1 AND ts <= ?2 ORDER BY ts, id")
        .map_err(&e)?;
    let rows = st
        .query_map(params![start, end], |r| r.get::<_, String>(0))
        .map_err(&e)?;
    for body in rows {
        let ev: ChangeEvent = serde_json::from_str(&body.map_err(&e)?).map_err(json_err("signals"))?;
        out.events.push(ev);
    }
    let mut st = conn
        .prepare_cached(
            "SELECT body FROM alerts WHERE starts_at <= ?2 AND (ends_at IS NULL OR ends_at >= ?1)
             ORDER BY starts_at, fingerprint",
        )
        .map_err(&e)?;
    let rows = st
        .query_map(params![start, end], |r| r.get::<_, String>(0))
        .map_err(&e)?;
    for body in rows {
        let a: Alert = serde_json::from_str(&body.map_err(&e)?).map_err(json_err("signals"))?;
        out.alerts.push(a);
    }
    let mut st = conn
        .prepare_cached("SELECT source, target, kind FROM topology ORDER BY source, target, kind")
        .map_err(&e)?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(&e)?;
    for row in rows {
        let (s, t, k) = row.map_err(&e)?;
        out.topology
            .add_edge(s.as_str(), t.as_str(), if k.is_empty() { None } else { Some(k) });
    }
    Ok(out)
}

fn read_record_chunks<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    kind: &str,
    start: i64,
    end: i64,
    ts: impl Fn(&T) -> i64,
) -> Result<Vec<T>> {
    let e = db_err("signals");
    let mut st = conn
        .prepare_cached(
            "SELECT body FROM record_chunks WHERE kind = ?1 AND t_max >= ?2 AND t_min <= ?3 ORDER BY rowid",
        )
        .map_err(&e)?;
    let mut rows = st.query(params![kind, start, end]).map_err(&e)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(&e)? {
        let body = r
            .get_ref(0)
            .map_err(&e)?
            .as_blob()
            .map_err(|x| ServerError::store("signals", x))?;
        let recs: Vec<T> = serde_json::from_slice(body).map_err(json_err("signals"))?;
        out.extend(recs.into_iter().filter(|r| {
            let t = ts(r);
            t >= start && t <= end
        }));
    }
    Ok(out)
}

fn count(conn: &Connection, sql: &str) -> Result<u64> {
    let n: i64 = conn.query_row(sql, [], |r| r.get(0)).map_err(db_err("stats"))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[async_trait]
impl Store for SqliteStore {
    async fn ingest(
        &self,
        batch: SignalSet,
        idempotency: Option<IdempotencyRecord>,
    ) -> Result<IngestOutcome> {
        self.write(move |w| {
            let counts = IngestCounts::of(&batch);
            let tx = w.conn.transaction().map_err(db_err("ingest"))?;
            if let Some(rec) = &idempotency {
                if let Some(found) = get_idempotency(&tx, &rec.principal, &rec.key)? {
                    return Ok(IngestOutcome::Replayed(found));
                }
            }
            let mut new_ids = Vec::new();
            write_batch(&tx, &batch, &w.series_ids, &mut new_ids)?;
            if let Some(rec) = &idempotency {
                insert_idempotency(&tx, rec)?;
            }
            tx.commit().map_err(db_err("ingest"))?;
            // Only committed ids enter the cache: a rolled-back batch leaves no stale ids.
            w.series_ids.extend(new_ids);
            Ok(IngestOutcome::Written(counts))
        })
        .await
    }

    async fn signals(&self, window: TimeWindow) -> Result<SignalSet> {
        self.read(move |c| read_signals(c, window)).await
    }

    async fn stats(&self) -> Result<StoreStats> {
        self.read(|c| {
            Ok(StoreStats {
                series: count(c, "SELECT COUNT(*) FROM series")?,
                points: count(c, "SELECT COALESCE(SUM(n), 0) FROM series_chunks")?,
                logs: count(
                    c,
                    "SELECT COALESCE(SUM(n), 0) FROM record_chunks WHERE kind = 'log'",
                )?,
                events: count(c, "SELECT COUNT(*) FROM events")?,
                spans: count(
                    c,
                    "SELECT COALESCE(SUM(n), 0) FROM record_chunks WHERE kind = 'span'",
                )?,
                alerts: count(c, "SELECT COUNT(*) FROM alerts")?,
                incidents: count(c, "SELECT COUNT(*) FROM incidents")?,
            })
        })
        .await
    }

    async fn put_incident(&self, incident: &Incident) -> Result<()> {
        let body = serde_json::to_string(incident).map_err(json_err("put_incident"))?;
        let (id, onset) = (incident.id.0.clone(), incident.onset.0);
        self.write(move |w| {
            w.conn
                .execute(
                    "INSERT INTO incidents (id, onset, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET onset = excluded.onset, body = excluded.body",
                    params![id, onset, body],
                )
                .map_err(db_err("put_incident"))?;
            Ok(())
        })
        .await
    }

    async fn incident(&self, id: &IncidentId) -> Result<Option<Incident>> {
        let id = id.0.clone();
        self.read(move |c| {
            let body: Option<String> = c
                .query_row("SELECT body FROM incidents WHERE id = ?1", params![id], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(db_err("incident"))?;
            body.map(|b| serde_json::from_str(&b).map_err(json_err("incident")))
                .transpose()
        })
        .await
    }

    async fn incidents(&self) -> Result<Vec<Incident>> {
        self.read(|c| {
            let mut st = c
                .prepare("SELECT body FROM incidents ORDER BY onset DESC, id")
                .map_err(db_err("incidents"))?;
            let rows = st
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(db_err("incidents"))?;
            let mut out = Vec::new();
            for b in rows {
                out.push(
                    serde_json::from_str(&b.map_err(db_err("incidents"))?).map_err(json_err("incidents"))?,
                );
            }
            Ok(out)
        })
        .await
    }

    async fn put_report(&self, report: &IncidentReport) -> Result<()> {
        let body = serde_json::to_string(report).map_err(json_err("put_report"))?;
        let id = report.incident.id.0.clone();
        self.write(move |w| {
            w.conn
                .execute(
                    "INSERT INTO reports (incident_id, body) VALUES (?1, ?2)
                     ON CONFLICT (incident_id) DO UPDATE SET body = excluded.body",
                    params![id, body],
                )
                .map_err(db_err("put_report"))?;
            Ok(())
        })
        .await
    }

    async fn report(&self, id: &IncidentId) -> Result<Option<IncidentReport>> {
        let id = id.0.clone();
        self.read(move |c| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM reports WHERE incident_id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err("report"))?;
            body.map(|b| serde_json::from_str(&b).map_err(json_err("report")))
                .transpose()
        })
        .await
    }

    async fn put_plan(&self, plan: &PlanRecord) -> Result<()> {
        let body = serde_json::to_string(&plan.body).map_err(json_err("put_plan"))?;
        let (id, incident, state) = (plan.id.clone(), plan.incident.clone(), plan.state.clone());
        self.write(move |w| {
            w.conn
                .execute(
                    "INSERT INTO plans (id, incident_id, state, body) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (id) DO UPDATE SET incident_id = excluded.incident_id,
                     state = excluded.state, body = excluded.body",
                    params![id, incident, state, body],
                )
                .map_err(db_err("put_plan"))?;
            Ok(())
        })
        .await
    }

    async fn plan(&self, id: &str) -> Result<Option<PlanRecord>> {
        let id = id.to_owned();
        self.read(move |c| {
            let row: Option<(String, String, String)> = c
                .query_row(
                    "SELECT incident_id, state, body FROM plans WHERE id = ?1",
                    params![id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(db_err("plan"))?;
            row.map(|(incident, state, body)| {
                Ok(PlanRecord {
                    id: id.clone(),
                    incident,
                    state,
                    body: serde_json::from_str(&body).map_err(json_err("plan"))?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn append_audit(&self, record: &AuditRecord) -> Result<()> {
        let body = serde_json::to_string(record).map_err(json_err("append_audit"))?;
        let seq = record.seq;
        self.write(move |w| {
            let tx = w.conn.transaction().map_err(db_err("append_audit"))?;
            let next: i64 = tx
                .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
                .map_err(db_err("append_audit"))?;
            if u64::try_from(next).ok() != Some(seq) {
                return Err(ServerError::Conflict(format!(
                    "audit record seq {seq} is not the next one ({next})"
                )));
            }
            tx.execute(
                "INSERT INTO audit (seq, body) VALUES (?1, ?2)",
                params![next, body],
            )
            .map_err(db_err("append_audit"))?;
            tx.commit().map_err(db_err("append_audit"))
        })
        .await
    }

    async fn audit(&self) -> Result<Vec<AuditRecord>> {
        self.read(|c| {
            let mut st = c
                .prepare("SELECT body FROM audit ORDER BY seq")
                .map_err(db_err("audit"))?;
            let rows = st
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(db_err("audit"))?;
            let mut out = Vec::new();
            for b in rows {
                out.push(serde_json::from_str(&b.map_err(db_err("audit"))?).map_err(json_err("audit"))?);
            }
            Ok(out)
        })
        .await
    }

    async fn idempotency(&self, principal: &str, key: &str) -> Result<Option<IdempotencyRecord>> {
        let (p, k) = (principal.to_owned(), key.to_owned());
        self.read(move |c| get_idempotency(c, &p, &k)).await
    }

    async fn put_idempotency(&self, record: &IdempotencyRecord) -> Result<bool> {
        let rec = record.clone();
        self.write(move |w| insert_idempotency(&w.conn, &rec)).await
    }

    async fn purge_idempotency(&self, before_secs: i64) -> Result<u64> {
        self.write(move |w| {
            let n = w
                .conn
                .execute(
                    "DELETE FROM idempotency WHERE created_secs < ?1",
                    params![before_secs],
                )
                .map_err(db_err("purge_idempotency"))?;
            Ok(n as u64)
        })
        .await
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c| {
            c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map_err(db_err("ping"))?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn conformance_suite_passes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        rt().block_on(async {
            let store = SqliteStore::open(&path).unwrap();
            super::super::suite::run_all(&store).await;
        });
    }

    #[test]
    fn data_survives_reopen_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        rt().block_on(async {
            let store = SqliteStore::open(&path).unwrap();
            store
                .ingest(super::super::suite::sample_batch(0, 100), None)
                .await
                .unwrap();
            drop(store);
            let store = SqliteStore::open(&path).unwrap();
            assert_eq!(store.stats().await.unwrap().points, 200);
            // The cached series ids are reloaded: a new batch reuses the stored series.
            store
                .ingest(super::super::suite::sample_batch(100, 100), None)
                .await
                .unwrap();
            assert_eq!(store.stats().await.unwrap().series, 2);
        });
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("PRAGMA user_version = 99").unwrap();
        }
        let e = SqliteStore::open(&path).unwrap_err();
        assert!(e.to_string().contains("newer"), "{e}");
    }
}

//! The PostgreSQL store against a real server: the conformance suite the SQLite store passes,
//! migrations, concurrent idempotent batches, secrets kept out of logs, and the HTTP API on it.
//!
//! Needs `FAULTLINE_TEST_DATABASE_URL`, so every test is `#[ignore]`d in a plain `cargo test`
//! (listed as ignored, never counted as passed); `scripts/test-postgres.sh` starts a throwaway
//! cluster, sets the variable and runs them with `--include-ignored`. Run without the variable,
//! they fail saying so. Each test works in a schema of its own, dropped at the end, so they run
//! in parallel on one database.

#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use faultline_server::store::{suite, DatabaseUrl, IngestOutcome, PostgresOptions, PostgresStore, Store};

const VAR: &str = "FAULTLINE_TEST_DATABASE_URL";

/// The test database; fails the test with the reason when the variable is unset.
fn database_url(test: &str) -> DatabaseUrl {
    match std::env::var(VAR) {
        Ok(v) if !v.trim().is_empty() => DatabaseUrl::new(v),
        _ => panic!(
            "{test}: {VAR} is not set (scripts/test-postgres.sh starts a throwaway PostgreSQL and sets it)"
        ),
    }
}

/// A schema name of this test and process.
fn schema(test: &str) -> String {
    format!("ft_{test}_{}", std::process::id())
}

async fn admin(url: &DatabaseUrl) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

async fn drop_schema(url: &DatabaseUrl, schema: &str) {
    admin(url)
        .await
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

async fn fresh_store(url: &DatabaseUrl, schema: &str) -> PostgresStore {
    drop_schema(url, schema).await;
    PostgresStore::connect(
        url,
        &PostgresOptions {
            schema: Some(schema.to_owned()),
            max_connections: 4,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test-postgres.sh"]
async fn conformance_suite_passes_on_postgresql() {
    let url = database_url("conformance_suite_passes_on_postgresql");
    let sch = schema("suite");
    let store = fresh_store(&url, &sch).await;
    suite::run_all(&store).await;
    drop(store);
    drop_schema(&url, &sch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test-postgres.sh"]
async fn data_survives_reconnect_and_migrations_run_once() {
    let url = database_url("data_survives_reconnect_and_migrations_run_once");
    let sch = schema("reopen");
    let opts = PostgresOptions {
        schema: Some(sch.clone()),
        ..Default::default()
    };
    let store = fresh_store(&url, &sch).await;
    store.ingest(suite::sample_batch(0, 100), None).await.unwrap();
    drop(store);
    let store = PostgresStore::connect(&url, &opts).await.unwrap();
    assert_eq!(store.stats().await.unwrap().points, 200);
    // A new batch of the same series (not in this connection's cache) reuses the stored rows.
    store.ingest(suite::sample_batch(100, 100), None).await.unwrap();
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.series, stats.points), (2, 400));
    let v: i32 = admin(&url)
        .await
        .query_one(&format!("SELECT version FROM \"{sch}\".faultline_schema"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 1);
    drop(store);
    drop_schema(&url, &sch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test-postgres.sh"]
async fn a_newer_schema_is_refused() {
    let url = database_url("a_newer_schema_is_refused");
    let sch = schema("newer");
    drop(fresh_store(&url, &sch).await);
    admin(&url)
        .await
        .batch_execute(&format!("UPDATE \"{sch}\".faultline_schema SET version = 99"))
        .await
        .unwrap();
    let e = PostgresStore::connect(
        &url,
        &PostgresOptions {
            schema: Some(sch.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("newer"), "{e}");
    drop_schema(&url, &sch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test-postgres.sh"]
async fn concurrent_batches_with_one_idempotency_key_commit_once() {
    let url = database_url("concurrent_batches_with_one_idempotency_key_commit_once");
    let sch = schema("race");
    let store = Arc::new(fresh_store(&url, &sch).await);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let rec = faultline_server::store::IdempotencyRecord {
                principal: "ci".into(),
                key: "same-key".into(),
                route: "POST /v1/signals/ingest".into(),
                request_hash: "h".into(),
                status: 200,
                body: format!("{{\"writer\":{i}}}"),
                created_secs: 1,
            };
            store.ingest(suite::sample_batch(0, 50), Some(rec)).await.unwrap()
        }));
    }
    let mut written = 0;
    let mut replayed_bodies = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            IngestOutcome::Written(_) => written += 1,
            IngestOutcome::Replayed(r) => replayed_bodies.push(r.body),
        }
    }
    assert_eq!(written, 1, "exactly one of the concurrent batches commits");
    let stored = store.idempotency("ci", "same-key").await.unwrap().unwrap().body;
    assert!(
        replayed_bodies.iter().all(|b| *b == stored),
        "every other caller replays the winner's answer"
    );
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.points, stats.series), (100, 2), "the batch is stored once");
    drop_schema(&url, &sch).await;
}

/// Collects what a `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test-postgres.sh"]
fn the_password_never_reaches_logs_or_errors() {
    let url = database_url("the_password_never_reaches_logs_or_errors");
    let cfg: tokio_postgres::Config = url.expose().parse().unwrap();
    let Some(password) = cfg
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
    else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED the_password_never_reaches_logs_or_errors: the test URL has no password"
        );
        return;
    };
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    // Global, not scoped: with one scoped dispatcher, `tracing` caches a call site's interest
    // from whichever thread reaches it first, so a store line first logged by a parallel test
    // would never reach a scoped subscriber. Global also captures the other tests' lines, which
    // carry the same password.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");
    let sch = schema("secret");
    {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let store = fresh_store(&url, &sch).await;
                store.ping().await.unwrap();
                assert!(!format!("{store:?}").contains(&password));
                assert!(!store.target().contains(&password));
                // A wrong password: the error names the target, not either password.
                let wrong = url.expose().replacen(&password, "not-the-password", 1);
                let e = PostgresStore::connect(&DatabaseUrl::new(wrong), &PostgresOptions::default())
                    .await
                    .unwrap_err()
                    .to_string();
                assert!(!e.contains(&password) && !e.contains("not-the-password"), "{e}");
                tracing::error!(error = %e, "connect failed as expected");
                drop(store);
                drop_schema(&url, &sch).await;
            });
    }
    let logs = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("postgres store opened"), "{logs}");
    assert!(!logs.contains(&password), "{logs}");
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test-postgres.sh"]
fn the_http_api_runs_on_postgresql() {
    use common::{batch_json, get, post_json, request, TestServer};
    let url = database_url("the_http_api_runs_on_postgresql");
    let sch = schema("api");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(drop_schema(&url, &sch));
    {
        let url2 = url.clone();
        let sch2 = sch.clone();
        let s = TestServer::start(move |c, _| {
            c.database_url = Some(url2);
            c.database_schema = Some(sch2);
        });
        assert_eq!(get(s.addr, "/readyz").status, 200);
        let r = post_json(s.addr, "/v1/signals/ingest", &batch_json("latency_ms", 0, 50));
        assert_eq!(r.status, 200, "{}", r.text());
        let stats = get(s.addr, "/v1/stats").json();
        assert_eq!(
            (stats["points"].as_u64(), stats["logs"].as_u64()),
            (Some(50), Some(50))
        );

        // A bad record refuses the whole batch.
        let bad = r#"{"metrics":[{"ts":"2024-05-14T10:30:00Z","service":"a","metric":"m","value":1}],
                      "logs":[{"ts":"yesterday","service":"a","body":"x"}]}"#;
        assert_eq!(post_json(s.addr, "/v1/signals/ingest", bad).status, 422);
        assert_eq!(get(s.addr, "/v1/stats").json()["points"], 50);

        // The same Idempotency-Key replays the first answer and writes nothing.
        let body = batch_json("errors", 100, 10);
        let send = || {
            request(
                s.addr,
                "POST",
                "/v1/signals/ingest",
                &[("Content-Type", "application/json"), ("Idempotency-Key", "pg-1")],
                body.as_bytes(),
            )
            .unwrap()
        };
        let (a, b) = (send(), send());
        assert_eq!((a.status, b.status), (200, 200), "{} / {}", a.text(), b.text());
        assert_eq!(a.text(), b.text());
        assert_eq!(get(s.addr, "/v1/stats").json()["points"], 60);
    }
    // The data is in PostgreSQL: a second server on the same schema sees it.
    {
        let url2 = url.clone();
        let sch2 = sch.clone();
        let s = TestServer::start(move |c, _| {
            c.database_url = Some(url2);
            c.database_schema = Some(sch2);
        });
        assert_eq!(get(s.addr, "/v1/stats").json()["points"], 60);
    }
    rt.block_on(drop_schema(&url, &sch));
}

/// A batch of `series` series × `points` points from second `from`, plus `logs` log lines.
fn bulk_batch(from: i64, series: usize, points: usize, logs: usize) -> faultline::core::SignalSet {
    use faultline::core::{LogRecord, Series, SeriesKey, Severity, SignalSet, Timestamp};
    let t0 = 1_700_000_000 + from;
    let times: Vec<Timestamp> = (0..points as i64).map(|i| Timestamp::from_secs(t0 + i)).collect();
    let mut b = SignalSet::default();
    for s in 0..series {
        let values = (0..points).map(|i| (i % 97) as f64 + s as f64).collect();
        b.series
            .push(Series::new(SeriesKey::new("bulk", format!("m{s}")), times.clone(), values).unwrap());
    }
    for i in 0..logs {
        b.logs.push(LogRecord {
            ts: Timestamp::from_secs(t0 + (i % points.max(1)) as i64),
            service: format!("svc{}", i % 4).as_str().into(),
            severity: Severity::Info,
            body: format!("GET /api/items/{i} 200 in {} ms", i % 50),
            attributes: Default::default(),
            trace_id: None,
            span_id: None,
            source: None,
        });
    }
    b
}

/// Direct `Store::ingest` throughput of PostgreSQL beside SQLite, same batches, one run
/// (printed past the harness's capture; asserts only that everything was stored).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test-postgres.sh"]
async fn ingest_throughput_side_by_side_with_sqlite() {
    let url = database_url("ingest_throughput_side_by_side_with_sqlite");
    let sch = schema("bench");
    let pg = fresh_store(&url, &sch).await;
    let dir = tempfile::tempdir().unwrap();
    let lite = faultline_server::store::SqliteStore::open(dir.path().join("bench.db")).unwrap();
    let (batches, series, points, logs) = (10usize, 50usize, 2000usize, 10_000usize);
    let mut lines = Vec::new();
    for (name, store) in [("sqlite", &lite as &dyn Store), ("postgres", &pg as &dyn Store)] {
        let t = std::time::Instant::now();
        for k in 0..batches {
            store
                .ingest(bulk_batch((k * points) as i64, series, points, logs), None)
                .await
                .unwrap();
        }
        let secs = t.elapsed().as_secs_f64();
        let stats = store.stats().await.unwrap();
        assert_eq!(stats.points, (batches * series * points) as u64, "{name}");
        assert_eq!(stats.logs, (batches * logs) as u64, "{name}");
        let t = std::time::Instant::now();
        let all = store
            .signals(faultline::core::TimeWindow {
                start: faultline::core::Timestamp::from_secs(1_700_000_000),
                end: faultline::core::Timestamp::from_secs(1_700_000_000 + (batches * points) as i64),
            })
            .await
            .unwrap();
        let read_secs = t.elapsed().as_secs_f64();
        assert_eq!(all.series.len(), series, "{name}");
        lines.push(format!(
            "{name}: ingest {batches} batches of {} points + {logs} log lines in {secs:.2} s = {:.0} points/s + {:.0} lines/s; read all back in {read_secs:.2} s",
            series * points,
            (batches * series * points) as f64 / secs,
            (batches * logs) as f64 / secs,
        ));
    }
    let _ = writeln!(std::io::stderr(), "BENCH {}", lines.join("\nBENCH "));
    drop(pg);
    drop_schema(&url, &sch).await;
}

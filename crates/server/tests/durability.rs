//! Kill -9 during ingest, restart: every batch that got a 2xx is there exactly once, and no
//! batch is half-written.
//!
//! The server runs in a child process: this test binary re-executed with
//! `FT_CHILD_SERVER_DB` set runs [`child_server`] instead of a test.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{batch_json, request};
use faultline::core::{TimeWindow, Timestamp};
use faultline_server::store::{SqliteStore, Store};
use faultline_server::{LogFormat, Server, ServerConfig};

const POINTS_PER_BATCH: usize = 200;

/// Entry point of the child process (a no-op when run as an ordinary test).
#[test]
fn child_server() {
    let (Ok(db), Ok(addr_file)) = (
        std::env::var("FT_CHILD_SERVER_DB"),
        std::env::var("FT_CHILD_SERVER_ADDR"),
    ) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let server = Server::bind(ServerConfig {
            listen_addr: "127.0.0.1:0".into(),
            database_path: db.into(),
            log_format: LogFormat::None,
            anonymous_rate_per_sec: 1e9,
            ..Default::default()
        })
        .await
        .unwrap();
        let tmp = format!("{addr_file}.tmp");
        std::fs::write(&tmp, server.local_addr().to_string()).unwrap();
        std::fs::rename(&tmp, &addr_file).unwrap();
        server.run_until(std::future::pending()).await.unwrap();
    });
}

// The child is returned to the caller, which kills and waits for it.
#[allow(clippy::zombie_processes)]
fn spawn_child(db: &Path, addr_file: &Path) -> (Child, SocketAddr) {
    let _ = std::fs::remove_file(addr_file);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child_server", "--exact", "--nocapture", "--test-threads=1"])
        .env("FT_CHILD_SERVER_DB", db)
        .env("FT_CHILD_SERVER_ADDR", addr_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let addr = std::fs::read_to_string(addr_file)
            .ok()
            .and_then(|t| t.trim().parse().ok());
        if let Some(addr) = addr {
            return (child, addr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child server did not start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn send(addr: SocketAddr, i: usize) -> bool {
    let body = batch_json(&format!("batch_{i:05}"), 0, POINTS_PER_BATCH);
    let key = format!("durability-{i:05}");
    matches!(
        request(addr, "POST", "/v1/signals/ingest", &[("Content-Type", "application/json"), ("Idempotency-Key", &key)], body.as_bytes()),
        Ok(r) if r.status == 200
    )
}

#[test]
fn kill_9_during_ingest_loses_no_acknowledged_batch_and_duplicates_none() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("faultline.db");
    let addr_file = dir.path().join("addr");
    let (mut child, addr) = spawn_child(&db, &addr_file);

    // Two writers ingest distinct batches until the child dies under them.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..2usize {
        let (acked, stop) = (acked.clone(), stop.clone());
        writers.push(std::thread::spawn(move || {
            let mut i = w;
            while !stop.load(Ordering::SeqCst) && i < 100_000 {
                if send(addr, i) {
                    acked.lock().unwrap().push(i);
                }
                i += 2;
            }
            i
        }));
    }
    let started = Instant::now();
    while acked.lock().unwrap().len() < 40 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    let attempted: Vec<usize> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 40,
        "only {} batches acknowledged before the kill",
        acked.len()
    );

    // Restart on the same file: the server opens it (WAL recovery) and answers.
    let (mut child, addr) = spawn_child(&db, &addr_file);
    // Resending acknowledged batches with their keys is replayed, not stored twice.
    for &i in acked.iter().take(5) {
        assert!(send(addr, i), "resend of batch {i} must succeed");
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let signals = rt.block_on(async {
        let store = SqliteStore::open(&db).unwrap();
        store
            .signals(TimeWindow {
                start: Timestamp::MIN,
                end: Timestamp::MAX,
            })
            .await
            .unwrap()
    });
    let mut per_batch = std::collections::BTreeMap::new();
    for s in &signals.series {
        *per_batch.entry(s.key.metric.clone()).or_insert(0usize) += s.len();
    }
    for &i in &acked {
        let n = per_batch.get(&format!("batch_{i:05}")).copied().unwrap_or(0);
        assert_eq!(
            n, POINTS_PER_BATCH,
            "acknowledged batch {i} must be stored exactly once"
        );
    }
    for (metric, n) in &per_batch {
        assert_eq!(*n, POINTS_PER_BATCH, "{metric} is half-written or duplicated");
    }
    let logs_per_batch = signals.logs.len() / per_batch.len().max(1);
    assert_eq!(logs_per_batch, POINTS_PER_BATCH);
    assert!(attempted.iter().all(|&a| a > 0));
}

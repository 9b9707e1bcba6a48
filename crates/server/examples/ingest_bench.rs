//! Ingest load generator over loopback into the embedded store.
//!
//! ```sh
//! cargo run --release -p faultline-server --example ingest_bench -- [SECONDS_PER_PHASE]
//! ```
//!
//! Phases (each bounded by SECONDS_PER_PHASE, default 5, and by a batch count):
//! 1. baseline: `SqliteStore::ingest` called directly (no HTTP, no parsing);
//! 2. logs over HTTP: faultline JSON batches of 10,000 log lines;
//! 3. metrics over HTTP, columnar `series` form: 50 series × 2,000 points a batch;
//! 4. metrics over HTTP, per-point `metrics` form: 20,000 points a batch;
//! 5. (run first over HTTP) ingest → incident latency: per probe service, 300 steady points,
//!    then a spike batch; the time from sending the spike until online detection's incident
//!    is listed.
//!
//! Two client threads on loopback, one request per connection. Prints one line per phase.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline::core::{LogRecord, Series, SeriesKey, Severity, SignalSet, Timestamp};
use faultline_server::store::{SqliteStore, Store};
use faultline_server::{LogFormat, Server, ServerConfig};

const T0_NS: i64 = 1_700_000_000_000_000_000;
const MAX_BATCHES: u64 = 2_000;

fn post(addr: SocketAddr, path: &str, body: &[u8]) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    std::str::from_utf8(&out[..12.min(out.len())])
        .ok()
        .and_then(|l| l.get(9..12))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn log_batch(seq: usize, n: usize) -> String {
    let mut s = String::with_capacity(n * 120);
    s.push_str("{\"logs\":[");
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let ts = T0_NS + (seq * n + i) as i64 * 1_000_000;
        s.push_str(&format!(
            "{{\"ts\":{ts},\"service\":\"svc-{}\",\"severity\":\"INFO\",\"body\":\"request {i} served in {} ms user=u{}\"}}",
            i % 8,
            i % 97,
            i % 1000
        ));
    }
    s.push_str("]}");
    s
}

fn series_batch(seq: usize, nseries: usize, npoints: usize) -> String {
    let mut s = String::with_capacity(nseries * npoints * 24);
    s.push_str("{\"series\":[");
    for k in 0..nseries {
        if k > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "{{\"key\":{{\"service\":\"svc-{}\",\"metric\":\"m{k}\"}},\"timestamps\":[",
            k % 8
        ));
        for i in 0..npoints {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&(T0_NS + (seq * npoints + i) as i64 * 1_000_000_000).to_string());
        }
        s.push_str("],\"values\":[");
        for i in 0..npoints {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!("{}.5", (i * 7 + k) % 1000));
        }
        s.push_str("]}");
    }
    s.push_str("]}");
    s
}

fn point_batch(seq: usize, n: usize) -> String {
    let mut s = String::with_capacity(n * 90);
    s.push_str("{\"metrics\":[");
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let ts = T0_NS + (seq * n + i / 50) as i64 * 1_000_000_000;
        s.push_str(&format!(
            "{{\"ts\":{ts},\"service\":\"svc-{}\",\"metric\":\"m{}\",\"value\":{}.25}}",
            i % 8,
            i % 50,
            i % 1000
        ));
    }
    s.push_str("]}");
    s
}

/// Runs `clients` threads posting pre-built bodies round-robin; returns (units/s, batches, secs).
fn http_phase(
    addr: SocketAddr,
    path: &str,
    bodies: &[String],
    units_per_batch: u64,
    secs: f64,
) -> (f64, u64, f64) {
    let bodies = Arc::new(bodies.to_vec());
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut threads = Vec::new();
    for c in 0..2 {
        let (bodies, done, failed, path) = (bodies.clone(), done.clone(), failed.clone(), path.to_owned());
        threads.push(std::thread::spawn(move || {
            let mut i = c;
            while start.elapsed().as_secs_f64() < secs && done.load(Ordering::Relaxed) < MAX_BATCHES {
                if post(addr, &path, bodies[i % bodies.len()].as_bytes()) == 200 {
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                i += 2;
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    let el = start.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    assert_eq!(failed.load(Ordering::Relaxed), 0, "some batches failed");
    (n as f64 * units_per_batch as f64 / el, n, el)
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5.0);
    let dir = std::env::temp_dir().join(format!("faultline-ingest-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // 1. Baseline: the store alone.
    let store = SqliteStore::open(dir.join("baseline.db")).unwrap();
    let (mut logs_n, mut points_n) = (0u64, 0u64);
    let start = Instant::now();
    let mut seq = 0;
    while start.elapsed().as_secs_f64() < secs && seq < MAX_BATCHES as usize {
        let mut b = SignalSet::default();
        for k in 0..50 {
            let ts = (0..2000)
                .map(|i| Timestamp(T0_NS + (seq * 2000 + i) as i64 * 1_000_000_000))
                .collect();
            let vals = (0..2000).map(|i| ((i * 7 + k) % 1000) as f64).collect();
            b.series.push(
                Series::new(
                    SeriesKey::new(format!("svc-{}", k % 8).as_str(), format!("m{k}")),
                    ts,
                    vals,
                )
                .unwrap(),
            );
        }
        for i in 0..10_000 {
            b.logs.push(LogRecord {
                ts: Timestamp(T0_NS + (seq * 10_000 + i) as i64 * 1_000_000),
                service: format!("svc-{}", i % 8).as_str().into(),
                severity: Severity::Info,
                body: format!("request {i} served in {} ms user=u{}", i % 97, i % 1000),
                attributes: Default::default(),
                trace_id: None,
                span_id: None,
                source: None,
            });
        }
        points_n += 100_000;
        logs_n += 10_000;
        rt.block_on(store.ingest(b, None)).unwrap();
        seq += 1;
    }
    let el = start.elapsed().as_secs_f64();
    println!(
        "baseline store-only: {:.0} metric points/s + {:.0} log lines/s together ({seq} batches of 100k points + 10k lines, {el:.2} s)",
        points_n as f64 / el,
        logs_n as f64 / el
    );
    drop(store);

    // 2-4. Over HTTP.
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let db = dir.join("http.db");
    let server_thread = std::thread::spawn(move || {
        rt.block_on(async move {
            let server = Server::bind(ServerConfig {
                listen_addr: "127.0.0.1:0".into(),
                database_path: db,
                log_format: LogFormat::None,
                anonymous_rate_per_sec: 1e9,
                max_body_bytes: 64 << 20,
                ..Default::default()
            })
            .await
            .unwrap();
            addr_tx.send(server.local_addr()).unwrap();
            server
                .run_until(async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                })
                .await
                .unwrap();
        })
    });
    let addr = addr_rx.recv().unwrap();
    let mut lat = Vec::new();
    for rep in 0..20 {
        let svc = format!("probe-{rep}");
        let point = |i: i64, v: f64| {
            format!(
                "{{\"ts\":{},\"service\":\"{svc}\",\"metric\":\"latency_ms\",\"value\":{v}}}",
                T0_NS + i * 10_000_000_000
            )
        };
        let steady: Vec<String> = (0..300)
            .map(|i| point(i, 100.0 + ((i * 37) % 11) as f64))
            .collect();
        assert_eq!(
            post(
                addr,
                "/v1/signals/ingest",
                format!("{{\"metrics\":[{}]}}", steady.join(",")).as_bytes()
            ),
            200
        );
        let spike: Vec<String> = (300..306).map(|i| point(i, 5000.0)).collect();
        let body = format!("{{\"metrics\":[{}]}}", spike.join(","));
        let t = Instant::now();
        assert_eq!(post(addr, "/v1/signals/ingest", body.as_bytes()), 200);
        let needle = format!("\"auto-{svc}-");
        while t.elapsed() < Duration::from_secs(5) {
            if get(addr, "/v1/incidents").contains(&needle) {
                lat.push(t.elapsed().as_secs_f64() * 1e3);
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "ingest->incident latency (online detection, before the bulk phases, no detection backlog): {} of 20 spikes detected, p50 {:.1} ms, p95 {:.1} ms",
        lat.len(),
        pct(0.5),
        pct(0.95)
    );
    let logs: Vec<String> = (0..8).map(|s| log_batch(s, 10_000)).collect();
    let (r, n, el) = http_phase(addr, "/v1/signals/ingest", &logs, 10_000, secs);
    println!(
        "http logs: {r:.0} log lines/s ({n} batches of 10,000 lines, {el:.2} s, {} KiB/batch)",
        logs[0].len() >> 10
    );
    let series: Vec<String> = (0..8).map(|s| series_batch(s, 50, 2000)).collect();
    let (r, n, el) = http_phase(addr, "/v1/signals/ingest", &series, 100_000, secs);
    println!("http metrics (series form): {r:.0} points/s ({n} batches of 50 x 2,000 points, {el:.2} s, {} KiB/batch)", series[0].len() >> 10);
    let points: Vec<String> = (0..8).map(|s| point_batch(s, 20_000)).collect();
    let (r, n, el) = http_phase(addr, "/v1/signals/ingest", &points, 20_000, secs);
    println!(
        "http metrics (point form): {r:.0} points/s ({n} batches of 20,000 points, {el:.2} s, {} KiB/batch)",
        points[0].len() >> 10
    );
    let metrics = get(addr, "/metrics");
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("faultline_online_") || l.starts_with("faultline_auto_"))
    {
        println!("  {line}");
    }
    drop(server_thread); // the server thread ends with the process
    let _ = std::fs::remove_dir_all(&dir);
}

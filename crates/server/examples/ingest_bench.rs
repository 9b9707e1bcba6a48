//! Ingest load generator over loopback into the embedded store.
//!
//! ```sh
//! cargo run --release -p faultline-server --example ingest_bench -- [SECONDS_PER_PHASE] [PHASE...]
//! ```
//!
//! Phases (each bounded by SECONDS_PER_PHASE, default 5, and by a batch count; all of them
//! when none is named):
//! - `parse`: `faultline_ingest::parse` alone, in process, one thread, on the same bodies as
//!   the HTTP phases (points/s and lines/s of parsing only);
//! - `baseline`: `SqliteStore::ingest` called directly (no HTTP, no parsing);
//! - `latency`: ingest → incident latency on an idle server: per probe service, 300 steady
//!   points, then a spike batch; the time from sending the spike until online detection's
//!   incident is listed;
//! - `logs`: logs over HTTP, faultline JSON batches of 10,000 log lines;
//! - `series`: metrics over HTTP, columnar `series` form, 50 series × 2,000 points a batch;
//! - `points`: metrics over HTTP, per-point `metrics` form, 20,000 points a batch;
//! - `loaded`: the latency probe again while the server takes 200k log lines/min and up to
//!   1M metric points/s (columnar batches of 50 × 2,000 points, paced) from two other threads;
//! - `logprobe`: ingest → incident latency of online log mining while the server takes 200k
//!   steady log lines/min from another thread: per probe service, 600 info lines over 60 s of
//!   log time (warm-up), then one ERROR line of a never-seen template; the time from sending
//!   it until its incident is listed.
//!
//! `FAULTLINE_BENCH_LOG_MINING=off` turns online log mining off (for a side-by-side run).
//!
//! Two client threads on loopback, one request per connection. Prints one line per phase.
//! Metric values are seeded pseudo-random noise, so online detection has nothing to find in
//! the bulk data: every incident comes from a probe's spike. Probes sit a day before the bulk
//! data so that their incidents' analyses stay small.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline::core::{LogRecord, Series, SeriesKey, Severity, SignalSet, Timestamp};
use faultline_ingest::{Format, Limits};
use faultline_server::store::{SqliteStore, Store};
use faultline_server::{LogFormat, Server, ServerConfig};

const T0_NS: i64 = 1_700_000_000_000_000_000;
/// Probes sit a day before the bulk data.
const PROBE_T0_NS: i64 = T0_NS - 86_400 * 1_000_000_000;
const MAX_BATCHES: u64 = 2_000;

/// Seeded noise in [0, 1000): nothing for a detector to find.
fn noise(seq: usize, k: usize, i: usize) -> f64 {
    let mut z = (seq as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((k as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add((i as u64).wrapping_mul(0x94D0_49BB_1331_11EB));
    z ^= z >> 31;
    z = z.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    z ^= z >> 29;
    (z % 1_000_000) as f64 / 1000.0
}

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
            s.push_str(&noise(seq, k, i).to_string());
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
            "{{\"ts\":{ts},\"service\":\"svc-{}\",\"metric\":\"m{}\",\"value\":{}}}",
            i % 8,
            i % 50,
            noise(seq, i % 50, i / 50)
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

/// Parses `bodies` round-robin for `secs` on this thread; returns (units/s, bodies parsed).
fn parse_phase(bodies: &[String], units_per_batch: u64, secs: f64) -> (f64, u64) {
    let limits = Limits::default();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < secs && n < MAX_BATCHES {
        let b = faultline_ingest::parse(
            Format::Batch,
            bodies[n as usize % bodies.len()].as_bytes(),
            &limits,
        )
        .unwrap();
        assert_eq!(b.counts().records() as u64, units_per_batch);
        n += 1;
    }
    (
        n as f64 * units_per_batch as f64 / start.elapsed().as_secs_f64(),
        n,
    )
}

/// Spikes one probe service after 300 steady points; returns the milliseconds from sending
/// the spike until its incident is listed (None: not within 5 s).
fn probe(addr: SocketAddr, svc: &str) -> Option<f64> {
    let point = |i: i64, v: f64| {
        format!(
            "{{\"ts\":{},\"service\":\"{svc}\",\"metric\":\"latency_ms\",\"value\":{v}}}",
            PROBE_T0_NS + i * 10_000_000_000
        )
    };
    let steady: Vec<String> = (0..300)
        .map(|i| point(i, 100.0 + ((i * 37) % 11) as f64))
        .collect();
    let body = format!("{{\"metrics\":[{}]}}", steady.join(","));
    assert_eq!(post(addr, "/v1/signals/ingest", body.as_bytes()), 200);
    let spike: Vec<String> = (300..306).map(|i| point(i, 5000.0)).collect();
    let body = format!("{{\"metrics\":[{}]}}", spike.join(","));
    time_to_incident(addr, svc, body.as_bytes())
}

/// Posts `body` (the batch that should open an incident) and returns the milliseconds until
/// an automatic incident of `svc` is listed; `None` after 5 s.
fn time_to_incident(addr: SocketAddr, svc: &str, body: &[u8]) -> Option<f64> {
    let t = Instant::now();
    assert_eq!(post(addr, "/v1/signals/ingest", body), 200);
    let needle = format!("\"auto-{svc}-");
    while t.elapsed() < Duration::from_secs(5) {
        if get(addr, "/v1/incidents").contains(&needle) {
            return Some(t.elapsed().as_secs_f64() * 1e3);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

fn latency_line(label: &str, mut lat: Vec<f64>, probes: usize) {
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "{label}: {} of {probes} spikes detected within 5 s, p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        lat.len(),
        pct(0.5),
        pct(0.95),
        lat.last().copied().unwrap_or(f64::NAN)
    );
}

fn baseline(dir: &std::path::Path, rt: &tokio::runtime::Runtime, secs: f64) {
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
            let vals = (0..2000).map(|i| noise(seq, k, i)).collect();
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
}

/// Warms a probe service with 600 info lines over 60 s, then sends one ERROR line of a new
/// template; returns the milliseconds from sending it until its incident is listed (None: not
/// within 5 s).
fn log_probe(addr: SocketAddr, svc: &str) -> Option<f64> {
    let line = |i: i64, sev: &str, body: String| {
        format!(
            "{{\"ts\":{},\"service\":\"{svc}\",\"severity\":\"{sev}\",\"body\":\"{body}\"}}",
            PROBE_T0_NS + i * 100_000_000
        )
    };
    let warm: Vec<String> = (0..600)
        .map(|i| {
            let body = match i % 3 {
                0 => format!("request {i} served in {} ms", i % 97),
                1 => format!("cache hit for key user-{}", i % 13),
                _ => format!("connection from 10.0.0.{} accepted", i % 200),
            };
            line(i, "INFO", body)
        })
        .collect();
    let body = format!("{{\"logs\":[{}]}}", warm.join(","));
    assert_eq!(post(addr, "/v1/signals/ingest", body.as_bytes()), 200);
    std::thread::sleep(Duration::from_millis(200));
    let body = format!(
        "{{\"logs\":[{}]}}",
        line(601, "ERROR", "storage driver returned EIO on /dev/sdb7".into())
    );
    time_to_incident(addr, svc, body.as_bytes())
}

/// Background load for `secs`: 200k log lines/min (batches of 1,000 every 0.3 s) on one thread,
/// metric batches of 100k points paced to at most 1M points/s on another (when `metrics`);
/// returns the points and lines sent.
/// What [`probes_under_load`] measured.
struct LoadedProbes {
    /// Seconds the load ran while probing (plus its 1 s head start).
    elapsed: f64,
    /// Metric points and log lines the load sent.
    points: u64,
    lines: u64,
    /// Latencies (ms) of the probes that completed, and how many were sent.
    latencies: Vec<f64>,
    probes: usize,
}

/// Runs `probe(i)` every 200 ms (at most `max_probes` times, for at most `secs` seconds) while
/// [`background_load`] runs for the probing time plus `load_extra_secs` (metrics too when
/// `metrics`), then stops the load.
fn probes_under_load(
    addr: SocketAddr,
    secs: f64,
    load_extra_secs: f64,
    metrics: bool,
    max_probes: usize,
    mut probe: impl FnMut(usize) -> Option<f64>,
) -> LoadedProbes {
    let stop = Arc::new(AtomicBool::new(false));
    let load_secs = if secs.is_finite() { secs } else { 0.0 } + load_extra_secs;
    let load = {
        let stop = stop.clone();
        std::thread::spawn(move || background_load(addr, load_secs, stop, metrics))
    };
    std::thread::sleep(Duration::from_secs(1));
    let start = Instant::now();
    let mut latencies = Vec::new();
    let mut probes = 0;
    while start.elapsed().as_secs_f64() < secs && probes < max_probes {
        if let Some(ms) = probe(probes) {
            latencies.push(ms);
        }
        probes += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64() + 1.0;
    let (points, lines) = load.join().unwrap();
    LoadedProbes {
        elapsed,
        points,
        lines,
        latencies,
        probes,
    }
}

fn background_load(addr: SocketAddr, secs: f64, stop: Arc<AtomicBool>, metrics: bool) -> (u64, u64) {
    let logs: Vec<String> = (0..8).map(|s| log_batch(100 + s, 1_000)).collect();
    let series: Vec<String> = (0..8).map(|s| series_batch(100 + s, 50, 2000)).collect();
    let start = Instant::now();
    let log_thread = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) && start.elapsed().as_secs_f64() < secs {
                assert_eq!(
                    post(addr, "/v1/signals/ingest", logs[n as usize % 8].as_bytes()),
                    200
                );
                n += 1;
                let due = Duration::from_millis(300 * n);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            n * 1_000
        })
    };
    let mut sent = 0u64;
    while !metrics && !stop.load(Ordering::Relaxed) && start.elapsed().as_secs_f64() < secs {
        std::thread::sleep(Duration::from_millis(20));
    }
    while metrics && !stop.load(Ordering::Relaxed) && start.elapsed().as_secs_f64() < secs {
        assert_eq!(
            post(addr, "/v1/signals/ingest", series[sent as usize % 8].as_bytes()),
            200
        );
        sent += 1;
        let due = Duration::from_millis(100 * sent);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    (sent * 100_000, log_thread.join().unwrap())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5.0);
    let phases: Vec<String> = args.collect();
    let on = |p: &str| phases.is_empty() || phases.iter().any(|q| q == p);
    let dir = std::env::temp_dir().join(format!("faultline-ingest-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let logs: Vec<String> = (0..8).map(|s| log_batch(s, 10_000)).collect();
    let series: Vec<String> = (0..8).map(|s| series_batch(s, 50, 2000)).collect();
    let points: Vec<String> = (0..8).map(|s| point_batch(s, 20_000)).collect();

    if on("parse") {
        let (l, _) = parse_phase(&logs, 10_000, secs);
        let (s, _) = parse_phase(&series, 100_000, secs);
        let (p, _) = parse_phase(&points, 20_000, secs);
        println!(
            "parse only (one thread): logs {l:.0} lines/s, series form {s:.0} points/s, point form {p:.0} points/s"
        );
    }
    if on("baseline") {
        baseline(&dir, &rt, secs);
    }
    let http: Vec<&str> = ["latency", "logs", "series", "points", "loaded", "logprobe"]
        .into_iter()
        .filter(|p| on(p))
        .collect();
    if http.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }

    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let db = dir.join("http.db");
    let mut online = faultline_server::OnlineConfig::default();
    online.logs.enabled = std::env::var("FAULTLINE_BENCH_LOG_MINING").map_or(true, |v| v != "off");
    let server_thread = std::thread::spawn(move || {
        rt.block_on(async move {
            let server = Server::bind(ServerConfig {
                listen_addr: "127.0.0.1:0".into(),
                database_path: db,
                log_format: LogFormat::None,
                anonymous_rate_per_sec: 1e9,
                max_body_bytes: 64 << 20,
                online,
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
    if on("latency") {
        let lat: Vec<f64> = (0..20)
            .filter_map(|rep| probe(addr, &format!("probe-{rep}")))
            .collect();
        latency_line(
            "ingest->incident latency (online detection, idle server)",
            lat,
            20,
        );
    }
    if on("logs") {
        let (r, n, el) = http_phase(addr, "/v1/signals/ingest", &logs, 10_000, secs);
        println!(
            "http logs: {r:.0} log lines/s ({n} batches of 10,000 lines, {el:.2} s, {} KiB/batch)",
            logs[0].len() >> 10
        );
    }
    if on("series") {
        let (r, n, el) = http_phase(addr, "/v1/signals/ingest", &series, 100_000, secs);
        println!("http metrics (series form): {r:.0} points/s ({n} batches of 50 x 2,000 points, {el:.2} s, {} KiB/batch)", series[0].len() >> 10);
    }
    if on("points") {
        let (r, n, el) = http_phase(addr, "/v1/signals/ingest", &points, 20_000, secs);
        println!(
            "http metrics (point form): {r:.0} points/s ({n} batches of 20,000 points, {el:.2} s, {} KiB/batch)",
            points[0].len() >> 10
        );
    }
    if on("loaded") {
        let secs = secs.max(10.0);
        let run = probes_under_load(addr, secs, 5.0, true, 40, |i| probe(addr, &format!("loaded-{i}")));
        let (el, pts, lines, lat, probes) = (run.elapsed, run.points, run.lines, run.latencies, run.probes);
        latency_line(
            &format!(
                "ingest->incident latency under load ({:.0} points/s + {:.0} log lines/min sent, {el:.1} s)",
                pts as f64 / el,
                lines as f64 / el * 60.0
            ),
            lat,
            probes,
        );
    }
    if on("logprobe") {
        let secs = secs.max(10.0);
        // No time limit: all 20 probes, with load running long enough for them.
        let run = probes_under_load(addr, f64::INFINITY, secs + 30.0, false, 20, |i| {
            log_probe(addr, &format!("logprobe-{i}"))
        });
        let (el, lines, lat, probes) = (run.elapsed, run.lines, run.latencies, run.probes);
        latency_line(
            &format!(
                "ingest->incident latency of a new error log template ({:.0} log lines/min sent, {el:.1} s)",
                lines as f64 / el * 60.0
            ),
            lat,
            probes,
        );
    }
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

//! Points per CPU-second of the online detectors and `StreamDetector`, measured with the
//! process's own CPU time (`/proc/self/stat`, Linux), so that a loaded machine does not
//! deflate the numbers the way wall-clock benches do. Use `cargo bench` for wall time.
//!
//! `cargo run --release -p faultline-detect --example throughput`
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::hint::black_box;

use faultline_detect::{
    MultiRes, MultiResConfig, OnlineDetector, RobustZ, RobustZConfig, RollingZ, RollingZConfig, SeasonalZ,
    SeasonalZConfig, StreamConfig, StreamDetector,
};

#[path = "../tests/support/noise.rs"]
mod noise;

/// User + system CPU seconds of this process (0 when /proc is unavailable).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the full line: 11 and 12 after ')'.
    (ticks(11) + ticks(12)) / 100.0
}

fn series(n: usize) -> Vec<f64> {
    let e = noise::noise(0x2545_F491_4F6C_DD1D, n);
    (0..n)
        .map(|i| {
            let e = e[i];
            let t = i as f64;
            100.0
                + 20.0 * (t * std::f64::consts::TAU / 288.0).sin()
                + 5.0 * e
                + if i % 997 == 0 { 80.0 } else { 0.0 }
        })
        .collect()
}

fn measure(name: &str, data: &[f64], min_cpu_s: f64, mut run: impl FnMut(&[f64]) -> f64) {
    // THROUGHPUT_ONLY=substring runs only the matching measurements (for profiling).
    if let Some(only) = std::env::var_os("THROUGHPUT_ONLY") {
        if !name.contains(only.to_string_lossy().as_ref()) {
            return;
        }
    }
    let start = cpu_seconds();
    let mut points = 0usize;
    let mut acc = 0.0;
    while cpu_seconds() - start < min_cpu_s {
        acc += run(data);
        points += data.len();
    }
    let cpu = cpu_seconds() - start;
    black_box(acc);
    println!(
        "{name:<28} {:>10.2} M points per CPU-second ({points} points, {cpu:.2} s CPU)",
        points as f64 / cpu / 1e6
    );
}

fn main() {
    let data = series(1_000_000);
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    measure("rolling_z (window 1000)", &data, secs, |d| {
        let mut z = RollingZ::try_new(RollingZConfig::default()).expect("valid default");
        d.iter().map(|&v| z.update(v)).sum()
    });
    for w in [32usize, 64, 256, 1024] {
        for r in [1usize, 16] {
            measure(&format!("robust_z (window {w}, refresh {r})"), &data, secs, |d| {
                let cfg = RobustZConfig {
                    window_samples: w,
                    refresh_samples: r,
                    ..Default::default()
                };
                let mut z = RobustZ::try_new(cfg).expect("valid config");
                d.iter().map(|&v| z.update(v)).sum()
            });
        }
    }
    if std::env::var_os("THROUGHPUT_BASE").is_some() {
        measure("robust_z (no refresh)", &data, secs, |d| {
            let cfg = RobustZConfig {
                refresh_samples: 1 << 30,
                ..Default::default()
            };
            let mut z = RobustZ::try_new(cfg).expect("valid config");
            d.iter().map(|&v| z.update(v)).sum()
        });
    }
    measure("multi_res (1, 6, 72)", &data, secs, |d| {
        let mut z = MultiRes::try_new(MultiResConfig::default()).expect("valid default");
        d.iter().map(|&v| z.update(v)).sum()
    });
    measure("seasonal_z (period 288)", &data, secs, |d| {
        let mut z = SeasonalZ::try_new(SeasonalZConfig::default()).expect("valid default");
        d.iter().map(|&v| z.update(v)).sum()
    });
    let mut sd = StreamDetector::try_new(StreamConfig::default()).expect("valid default");
    let mut rz = RobustZ::try_new(RobustZConfig::default()).expect("valid default");
    let mut sz = SeasonalZ::try_new(SeasonalZConfig::default()).expect("valid default");
    for &v in &data[..50_000] {
        sd.update(v);
        rz.update(v);
        sz.update(v);
    }
    println!(
        "state bytes per series: StreamDetector {}, RobustZ (window 64) {}, SeasonalZ (period 288) {}",
        sd.state_bytes(),
        rz.state_bytes(),
        sz.state_bytes()
    );
    let short = &data[..50_000];
    measure("StreamDetector (default)", short, secs, |d| {
        let mut z = StreamDetector::try_new(StreamConfig::default()).expect("valid default");
        d.iter().map(|&v| z.update(v)).sum()
    });
}

//! One timed run each of faultline's STL and the `stlrs` crate (f64) on the same seeded series
//! with the same settings (statsmodels' non-robust defaults written out), with the largest
//! component difference relative to the series' standard deviation. Wall and process CPU
//! seconds (`/proc/self/stat`) are printed, since the development machine is shared.
//!
//! `cargo run --release -p faultline-detect --example stl_vs_stlrs -- 100000 1440`
#![allow(clippy::print_stdout)]

use std::time::Instant;

use faultline_detect::{stl, StlParams};

#[path = "../tests/support/stl_pair.rs"]
mod stl_pair;
use stl_pair::{bench_series, stlrs_stl};

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let arg = |i: usize, d: usize| std::env::args().nth(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (n, period) = (arg(1, 100_000), arg(2, 1440));
    let y = bench_series(n, period);
    let p = StlParams::new(period);
    let (w0, c0) = (Instant::now(), cpu_seconds());
    let ours = stl(&y, &p).expect("valid input");
    let (w1, c1) = (w0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    let (w0, c0) = (Instant::now(), cpu_seconds());
    let theirs = stlrs_stl(&y, &p);
    let (w2, c2) = (w0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    let mean = y.iter().sum::<f64>() / n as f64;
    let sd = (y.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64).sqrt();
    let worst = [
        (&ours.trend, theirs.trend()),
        (&ours.seasonal, theirs.seasonal()),
        (&ours.remainder, theirs.remainder()),
    ]
    .iter()
    .map(|(a, b)| {
        a.iter()
            .zip(b.iter())
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    })
    .fold(0.0, f64::max);
    println!(
        "n {n} period {period} (trend {}, low_pass {})",
        p.trend_len(),
        p.low_pass_len()
    );
    println!("faultline stl: {w1:.3} s wall, {c1:.2} s CPU");
    println!("stlrs 0.4:     {w2:.3} s wall, {c2:.2} s CPU");
    println!(
        "ratio (stlrs / faultline): {:.1}x wall, {:.1}x CPU; worst component difference {:.1e} of the series' std",
        w2 / w1,
        c2 / c1.max(0.01),
        worst / sd
    );
}

//! One timed run each of faultline's STL and the `stlrs` crate (f64) on the same seeded series
//! with the same settings (statsmodels' non-robust defaults written out), with the largest
//! component difference relative to the series' standard deviation. Wall and process CPU
//! seconds (`/proc/self/stat`) are printed, since the development machine is shared.
//!
//! `cargo run --release -p faultline-detect --example stl_vs_stlrs -- 100000 1440`
#![allow(clippy::print_stdout)]

use std::time::Instant;

use faultline_detect::{stl, StlParams};

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn bench_series(n: usize, period: usize) -> Vec<f64> {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let e = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let ph = (i % period) as f64 / period as f64 * std::f64::consts::TAU;
            1000.0
                + 0.01 * i as f64
                + 200.0 * ph.sin()
                + 60.0 * (2.0 * ph).cos()
                + 20.0 * e
                + if i % 977 == 0 { 300.0 } else { 0.0 }
                + if i > n * 7 / 10 { 150.0 } else { 0.0 }
        })
        .collect()
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
    let theirs = stlrs::params()
        .seasonal_length(p.seasonal)
        .trend_length(p.trend_len())
        .low_pass_length(p.low_pass_len())
        .seasonal_degree(1)
        .trend_degree(1)
        .low_pass_degree(1)
        .seasonal_jump(1)
        .trend_jump(1)
        .low_pass_jump(1)
        .inner_loops(p.inner_iter)
        .outer_loops(p.outer_iter)
        .robust(false)
        .fit(&y, period)
        .expect("valid input");
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

//! STL side by side with the `stlrs` crate (f64), same input and the same settings
//! (statsmodels' non-robust defaults written out: seasonal 7, default trend and low-pass
//! lengths, degrees 1, jumps 1, 5 inner and 0 outer passes).
//!
//! `cargo bench -p faultline-detect --bench stl`; `STL_BENCH_N` and `STL_BENCH_PERIOD` change
//! the series (default 28,800 points, period 288: the 100k / 1440 case of
//! `../shared/eval/stl_speed.py` takes stlrs ~25 s per run).

#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use faultline_detect::{stl, StlParams};

/// Seeded series: trend, two-harmonic season, noise, spikes, a level shift.
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

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn stl_vs_stlrs(c: &mut Criterion) {
    let (n, period) = (env("STL_BENCH_N", 28_800), env("STL_BENCH_PERIOD", 288));
    let y = bench_series(n, period);
    let p = StlParams::new(period);
    let mut g = c.benchmark_group("stl_vs_stlrs");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    let id = format!("n{n}_p{period}");
    g.bench_with_input(BenchmarkId::new("faultline", &id), &y, |b, y| {
        b.iter(|| black_box(stl(y, &p).expect("valid input")))
    });
    g.bench_with_input(BenchmarkId::new("stlrs", &id), &y, |b, y| {
        b.iter(|| {
            black_box(
                stlrs::params()
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
                    .fit(y, period)
                    .expect("valid input"),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, stl_vs_stlrs);
criterion_main!(benches);

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

#[path = "../tests/support/stl_pair.rs"]
mod stl_pair;
use stl_pair::{bench_series, stlrs_stl};

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
        b.iter(|| black_box(stlrs_stl(y, &p)))
    });
    g.finish();
}

criterion_group!(benches, stl_vs_stlrs);
criterion_main!(benches);

//! Throughput of the online detectors and of STL (points per second).
//!
//! `cargo bench -p faultline-detect --bench online`

#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use faultline_detect::{
    stl, MultiRes, MultiResConfig, OnlineDetector, RobustZ, RobustZConfig, RollingZ, RollingZConfig,
    SeasonalZ, SeasonalZConfig, StlParams, StreamConfig, StreamDetector,
};

#[path = "../tests/support/noise.rs"]
mod noise;

/// Seeded noisy daily-ish series with a few spikes.
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

fn online(c: &mut Criterion) {
    let data = series(100_000);
    let mut g = c.benchmark_group("online");
    g.throughput(Throughput::Elements(data.len() as u64));
    g.bench_function("rolling_z_w1000", |b| {
        b.iter(|| {
            let mut d = RollingZ::try_new(RollingZConfig::default()).expect("valid default");
            let mut acc = 0.0;
            for &v in &data {
                acc += d.update(v);
            }
            black_box(acc)
        })
    });
    // Side by side: the exact incremental baseline (default, refresh 1) and the previous
    // default (sorted blocks merged every 16 samples).
    for window in [32usize, 64, 256, 1024] {
        for (label, refresh) in [("robust_z_exact", 1usize), ("robust_z_refresh16", 16)] {
            g.bench_with_input(BenchmarkId::new(label, window), &window, |b, &w| {
                b.iter(|| {
                    let cfg = RobustZConfig {
                        window_samples: w,
                        refresh_samples: refresh,
                        ..Default::default()
                    };
                    let mut d = RobustZ::try_new(cfg).expect("valid config");
                    let mut acc = 0.0;
                    for &v in &data {
                        acc += d.update(v);
                    }
                    black_box(acc)
                })
            });
        }
    }
    g.bench_function("multi_res_1_6_72", |b| {
        b.iter(|| {
            let mut d = MultiRes::try_new(MultiResConfig::default()).expect("valid default");
            let mut acc = 0.0;
            for &v in &data {
                acc += d.update(v);
            }
            black_box(acc)
        })
    });
    g.bench_function("seasonal_z_p288", |b| {
        b.iter(|| {
            let mut d = SeasonalZ::try_new(SeasonalZConfig::default()).expect("valid default");
            let mut acc = 0.0;
            for &v in &data {
                acc += d.update(v);
            }
            black_box(acc)
        })
    });
    g.finish();

    let short = series(20_000);
    let mut g = c.benchmark_group("stream");
    g.sample_size(10);
    g.throughput(Throughput::Elements(short.len() as u64));
    g.bench_function("score_stream_default", |b| {
        b.iter(|| {
            let mut d = StreamDetector::try_new(StreamConfig::default()).expect("valid default");
            let mut acc = 0.0;
            for &v in &short {
                acc += d.update(v);
            }
            black_box(acc)
        })
    });
    g.finish();

    let long = series(28_800);
    let mut g = c.benchmark_group("stl");
    g.sample_size(10);
    g.throughput(Throughput::Elements(long.len() as u64));
    g.bench_function("stl_period_288_n_28800", |b| {
        b.iter(|| black_box(stl(&long, &StlParams::new(288)).expect("valid input")))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = online
}
criterion_main!(benches);

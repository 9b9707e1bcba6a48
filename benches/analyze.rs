//! End-to-end speed of `read_bundle` + `Pipeline::analyze` on generated incidents:
//! 20 services × 1 h of 15 s metrics (10 per service) + 100k log lines (target < 300 ms), and
//! 1000 services (target < 5 s). Run: `cargo bench -p faultline-benches --bench analyze`.

#![allow(missing_docs)] // criterion_group! generates an undocumented public function

use criterion::{criterion_group, criterion_main, Criterion};
use faultline::synth::{generate, Scenario, SynthConfig};
use faultline::{bundle, Pipeline};

fn bench_case(c: &mut Criterion, name: &str, services: usize, samples: usize) {
    let cfg = SynthConfig {
        services,
        metrics_per_service: 10,
        log_lines: 100_000,
        duration_secs: 3600,
        step_secs: 15,
        ..SynthConfig::default()
    };
    let generated = generate(Scenario::DeployRegression, &cfg);
    let dir = std::env::temp_dir().join(format!("faultline-bench-{name}-{}", std::process::id()));
    generated.write_to(&dir).expect("write bundle");
    let pipeline = Pipeline::builder().build().expect("default pipeline");

    let mut g = c.benchmark_group(name);
    g.sample_size(samples);
    g.bench_function("read_bundle+analyze", |b| {
        b.iter(|| {
            let bd = bundle::read_bundle(&dir).expect("bundle reads");
            pipeline.analyze(&bd.incident, &bd.signals).expect("analysis")
        })
    });
    g.bench_function("read_bundle", |b| {
        b.iter(|| bundle::read_bundle(&dir).expect("bundle reads"))
    });
    let bd = bundle::read_bundle(&dir).expect("bundle reads");
    g.bench_function("analyze", |b| {
        b.iter(|| pipeline.analyze(&bd.incident, &bd.signals).expect("analysis"))
    });
    g.finish();
    std::fs::remove_dir_all(&dir).ok();
}

fn analyze(c: &mut Criterion) {
    bench_case(c, "20-services", 20, 10);
    bench_case(c, "1000-services", 1000, 10);
}

criterion_group!(benches, analyze);
criterion_main!(benches);

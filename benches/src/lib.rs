//! Criterion benchmarks across crates; see `analyze.rs` (`cargo bench -p faultline-benches`).

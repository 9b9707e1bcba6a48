//! The Rust side of `bench/bench.py`: the same facade calls on the same data, timed in one
//! process. Reads the files bench.py writes (`values.f64`: little-endian f64, `lines.txt`: one
//! message per line) and prints one `rust <name> <best ms>` line per measurement.
//!
//! `cargo run --release -p faultline-python --example bench_native -- DIR REPEATS`

#![allow(clippy::print_stdout)] // a benchmark program: its output is the result

use std::time::Instant;

use faultline::cluster::{ClusterId, MinerConfig, TemplateMiner};
use faultline::core::{Series, SeriesKey, Timestamp};
use faultline::detect::{detect_series, score_stream, DetectConfig, StreamConfig};

fn best_ms(repeats: usize, mut f: impl FnMut()) -> f64 {
    (0..repeats)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: bench_native DIR [REPEATS]")?);
    let repeats: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(5);

    let bytes = std::fs::read(dir.join("values.f64"))?;
    let values: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8")))
        .collect();
    let ts: Vec<Timestamp> = (0..values.len() as i64).map(Timestamp::from_secs).collect();
    let text = std::fs::read_to_string(dir.join("lines.txt"))?;
    let lines: Vec<&str> = text.lines().collect();

    let cfg = StreamConfig::default();
    let ms = best_ms(repeats, || {
        std::hint::black_box(score_stream(&ts, &values, &cfg));
    });
    println!("rust score {ms:.3}");

    let series = Series::new(SeriesKey::new("series", "value"), ts.clone(), values.clone())?;
    let dcfg = DetectConfig::default();
    let ms = best_ms(repeats, || {
        std::hint::black_box(detect_series(&series, &dcfg).expect("valid config"));
    });
    println!("rust detect {ms:.3}");

    let mcfg = MinerConfig::default();
    let ms = best_ms(repeats, || {
        let mut miner = TemplateMiner::new(mcfg.clone()).expect("valid config");
        let ids: Vec<u32> = lines.iter().map(|l| miner.add(l).0).collect();
        let resolved: Vec<u32> = ids.iter().map(|&i| miner.resolve(ClusterId(i)).0).collect();
        std::hint::black_box(resolved);
    });
    println!("rust mine {ms:.3}");
    Ok(())
}

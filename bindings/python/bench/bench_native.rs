//! The Rust side of `bench/bench.py`: the same facade calls on the same data, in a process
//! that bench.py keeps running so that the two sides alternate call by call (a load swing on
//! the shared machine then hits both sides of a pair alike).
//!
//! Reads the files bench.py writes (`values.f64`: little-endian f64, `lines.txt`: one message
//! per line), prints `ready`, then for every line on stdin naming a measurement (`score`,
//! `detect`, `mine`) runs it once and prints the elapsed milliseconds.
//!
//! `cargo run --release -p faultline-python --example bench_native -- DIR`

#![allow(clippy::print_stdout)] // a benchmark program: its output is the result

use std::io::{BufRead, Write};
use std::time::Instant;

use faultline::cluster::{ClusterId, MinerConfig, TemplateMiner};
use faultline::core::{Series, SeriesKey, Timestamp};
use faultline::detect::{detect_series, score_stream, DetectConfig, StreamConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: bench_native DIR")?);
    let bytes = std::fs::read(dir.join("values.f64"))?;
    let values: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8")))
        .collect();
    let ts: Vec<Timestamp> = (0..values.len() as i64).map(Timestamp::from_secs).collect();
    let text = std::fs::read_to_string(dir.join("lines.txt"))?;
    let lines: Vec<&str> = text.lines().collect();
    let series = Series::new(SeriesKey::new("series", "value"), ts.clone(), values.clone())?;
    let (scfg, dcfg, mcfg) = (
        StreamConfig::default(),
        DetectConfig::default(),
        MinerConfig::default(),
    );

    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    for cmd in std::io::stdin().lock().lines() {
        let cmd = cmd?;
        let t = Instant::now();
        match cmd.trim() {
            "score" => {
                std::hint::black_box(score_stream(&ts, &values, &scfg));
            }
            "detect" => {
                std::hint::black_box(detect_series(&series, &dcfg)?);
            }
            "mine" => {
                let mut miner = TemplateMiner::new(mcfg.clone())?;
                let ids: Vec<u32> = lines.iter().map(|l| miner.add(l).0).collect();
                let resolved: Vec<u32> = ids.iter().map(|&i| miner.resolve(ClusterId(i)).0).collect();
                std::hint::black_box(resolved);
            }
            other => return Err(format!("unknown measurement {other:?}").into()),
        }
        writeln!(out, "{:.3}", t.elapsed().as_secs_f64() * 1e3)?;
        out.flush()?;
    }
    Ok(())
}

//! Reads CSV `timestamp,value` on stdin and writes `timestamp,value,anomaly_score` on stdout,
//! scored with [`faultline_detect::score_stream`] and the default configuration.
//!
//! `cargo run --release -p faultline-detect --example detect_csv < series.csv`
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, BufRead, BufWriter, Write};

use faultline_core::Timestamp;
use faultline_detect::{score_stream, StreamConfig};

fn main() {
    if let Err(e) = run() {
        eprintln!("detect_csv: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let stdin = io::stdin();
    let mut raw: Vec<(String, String)> = Vec::new();
    let mut ts = Vec::new();
    let mut values = Vec::new();
    for (no, line) in stdin.lock().lines().enumerate() {
        let line = line.map_err(|e| e.to_string())?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let (t, v) = line
            .split_once(',')
            .ok_or(format!("line {}: expected timestamp,value", no + 1))?;
        if no == 0 && v.trim().parse::<f64>().is_err() {
            continue; // header
        }
        let value = v.trim().parse::<f64>().unwrap_or(f64::NAN);
        let stamp = Timestamp::parse(t).map_err(|e| format!("line {}: timestamp {t:?}: {e}", no + 1))?;
        ts.push(stamp);
        values.push(value);
        raw.push((t.to_string(), v.trim().to_string()));
    }
    // DETECT_CONFIG may hold a JSON StreamConfig (missing fields take their defaults).
    let cfg: StreamConfig = match std::env::var("DETECT_CONFIG") {
        Ok(j) => serde_json::from_str(&j).map_err(|e| format!("DETECT_CONFIG: {e}"))?,
        Err(_) => StreamConfig::default(),
    };
    let scores = score_stream(&ts, &values, &cfg);
    let out = io::stdout();
    let mut w = BufWriter::new(out.lock());
    let io = |e: io::Error| e.to_string();
    writeln!(w, "timestamp,value,anomaly_score").map_err(io)?;
    for ((t, v), s) in raw.iter().zip(&scores) {
        writeln!(w, "{t},{v},{s}").map_err(io)?;
    }
    w.flush().map_err(io)
}

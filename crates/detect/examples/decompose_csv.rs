//! Reads CSV `timestamp,value` (stdin, or the file named after `--period P`) and writes
//! `timestamp,trend,seasonal,remainder` with [`faultline_detect::stl`] and statsmodels'
//! defaults for the period (the protocol of `faultline decompose`).
//!
//! `cargo run --release -p faultline-detect --example decompose_csv -- --period 1440 series.csv`
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, BufRead, BufWriter, Read, Write};

use faultline_detect::{stl, StlParams};

fn main() {
    if let Err(e) = run() {
        eprintln!("decompose_csv: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut period = None;
    let mut file = None;
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--period" {
            period = args.get(i + 1).and_then(|p| p.parse::<usize>().ok());
            i += 2;
        } else {
            file = Some(args[i].clone());
            i += 1;
        }
    }
    let period = period.ok_or("--period P is required")?;
    let mut text = String::new();
    match file.as_deref() {
        None | Some("-") => io::stdin().read_to_string(&mut text).map(|_| ()),
        Some(f) => std::fs::File::open(f).and_then(|mut h| h.read_to_string(&mut text).map(|_| ())),
    }
    .map_err(|e| e.to_string())?;
    let mut stamps = Vec::new();
    let mut values = Vec::new();
    for (no, line) in text.as_bytes().lines().enumerate() {
        let line = line.map_err(|e| e.to_string())?;
        let Some((t, v)) = line.split_once(',') else {
            continue;
        };
        match v.trim().parse::<f64>() {
            Ok(x) => {
                stamps.push(t.to_string());
                values.push(x);
            }
            Err(_) if no == 0 => {}
            Err(_) => return Err(format!("line {}: value {v:?} is not a number", no + 1)),
        }
    }
    let d = stl(&values, &StlParams::new(period)).map_err(|e| e.to_string())?;
    let out = io::stdout();
    let mut w = BufWriter::new(out.lock());
    let io = |e: io::Error| e.to_string();
    writeln!(w, "timestamp,trend,seasonal,remainder").map_err(io)?;
    for (i, t) in stamps.iter().enumerate() {
        writeln!(w, "{t},{},{},{}", d.trend[i], d.seasonal[i], d.remainder[i]).map_err(io)?;
    }
    w.flush().map_err(io)
}

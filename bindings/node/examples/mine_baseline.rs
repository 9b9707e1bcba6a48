//! The Rust side of `bench/mine.mjs`: mines the lines of a file with the same facade calls
//! as the Node addon's `mine` (a fresh `TemplateMiner`, `add` per line, `resolve` per line,
//! one template per cluster) and prints, as JSON, the wall time and the CPU time of each
//! mining run in milliseconds (CPU time from `/proc/thread-self/schedstat` on Linux, `null`
//! elsewhere). Reading the file is not timed.
//!
//! `cargo run --release -p faultline-node --example mine_baseline -- LINES_FILE [REPEATS]`

use std::io::{BufRead, Write};
use std::time::Instant;

use faultline::cluster::{ClusterId, MinerConfig, TemplateMiner};

fn mine(lines: &[String]) -> Result<(usize, usize), faultline::cluster::ClusterError> {
    let mut miner = TemplateMiner::new(MinerConfig::default())?;
    let mut ids: Vec<u32> = Vec::with_capacity(lines.len());
    for l in lines {
        ids.push(miner.add(l).0);
    }
    for id in &mut ids {
        *id = miner.resolve(ClusterId(*id)).0;
    }
    let mut templates = vec![String::new(); miner.id_bound() as usize];
    for id in miner.cluster_ids() {
        if let Some(slot) = templates.get_mut(id.0 as usize) {
            *slot = miner.template(id).unwrap_or_default();
        }
    }
    Ok((ids.len(), miner.len()))
}

/// Nanoseconds this thread has spent on a CPU (Linux), if known.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn list(xs: &[f64]) -> String {
    let v: Vec<String> = xs.iter().map(|x| format!("{x:.1}")).collect();
    format!("[{}]", v.join(", "))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: mine_baseline LINES_FILE [REPEATS]")?;
    let repeats: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(3);
    let file = std::io::BufReader::new(std::fs::File::open(&path)?);
    let lines: Vec<String> = file.lines().collect::<Result<_, _>>()?;
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    let mut clusters = 0;
    for _ in 0..repeats.max(1) {
        let c = thread_cpu_ns();
        let t = Instant::now();
        let (_, n) = mine(&lines)?;
        wall.push(t.elapsed().as_secs_f64() * 1e3);
        if let (Some(a), Some(b)) = (c, thread_cpu_ns()) {
            cpu.push(b.saturating_sub(a) as f64 / 1e6);
        }
        clusters = n;
    }
    let cpu = if cpu.len() == wall.len() {
        list(&cpu)
    } else {
        "null".to_string()
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{{\"lines\": {}, \"clusters\": {clusters}, \"wall_ms\": {}, \"cpu_ms\": {cpu}}}",
        lines.len(),
        list(&wall)
    )?;
    Ok(())
}

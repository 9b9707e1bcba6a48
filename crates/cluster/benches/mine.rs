//! `TemplateMiner` side by side with the `logdrain` crate (Drain with its built-in masks) on
//! a seeded synthetic stream: 40 templates whose variables are numbers, addresses, hex ids,
//! UUIDs, paths, durations, words from a 500-word vocabulary and number lists of varying
//! length. Prints the cluster count of both miners next to the number of true templates.
//!
//!     cargo bench -p faultline-cluster --bench mine
//!
//! `MINE_BENCH_DUMP=FILE` also writes the input lines to `FILE`.

#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn
#![allow(clippy::print_stdout)] // the bench reports the cluster counts of both miners

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use faultline_cluster::{MinerConfig, TemplateMiner};

/// xorshift64* (deterministic, no dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Templates; `{i}` integer, `{ip}` IPv4, `{hex}` hex id, `{uuid}`, `{path}` path with an
/// id, `{ms}` duration, `{w}` a word variable, `{list}` 1–6 integers.
const TEMPLATES: &[&str] = &[
    "Accepted password for {w} from {ip} port {i} ssh2",
    "Failed password for invalid user {w} from {ip} port {i} ssh2",
    "Received disconnect from {ip}: 11: Bye Bye [preauth]",
    "pam_unix(sshd:session): session opened for user {w} by (uid={i})",
    "Connection closed by {ip} [preauth]",
    "{ip} \"GET {path} HTTP/1.1\" status: {i} len: {i} time: {ms}",
    "[instance: {uuid}] Terminating instance",
    "[instance: {uuid}] Instance spawned successfully.",
    "[instance: {uuid}] Took {ms} seconds to build instance.",
    "Creating event network-vif-plugged:{uuid} for instance {uuid}",
    "Receiving block blk_{i} src: /{ip}:{i} dest: /{ip}:{i}",
    "PacketResponder {i} for block blk_{i} terminating",
    "Deleting block blk_{i} file /data/dfs/{w}/current/blk_{i}",
    "BLOCK* NameSystem.allocateBlock: /user/{w}/part-{i}. blk_{i}",
    "Task {w} attempt_{i}_{i}_m_{i}_{i} finished in {ms} ms",
    "Container container_{i}_{i}_01_{i} transitioned from NEW to ALLOCATED",
    "Container container_{i}_{i}_01_{i} transitioned from ALLOCATED to RUNNING",
    "Starting job {w} with {i} workers on node-{i}",
    "job {w} completed in {ms} ms with status {w}",
    "cache miss for key {hex} in shard {i}",
    "evicted {i} entries from cache {w} ({i} bytes)",
    "instruction cache parity error corrected",
    "generating core.{i}",
    "ciod: failed to read message prefix on control stream (CioStream socket to {ip}:{i}",
    "Fan speeds ( {list} )",
    "Temperature ({i}) exceeds warning threshold on node-{i}",
    "kernel: eth0: link up, {i}Mbps, full-duplex, lpa {hex}",
    "session {hex} expired after {ms} ms idle",
    "GC pause (G1 Evacuation Pause) {i}M->{i}M({i}M) {ms}ms",
    "user {w} changed password",
    "user {w} logged out",
    "VM Started (Lifecycle Event)",
    "VM Paused (Lifecycle Event)",
    "VM Resumed (Lifecycle Event)",
    "acquire lock={hex}, flags={hex}, tag=\"{w}\", name={w}, ws=null, uid={i}, pid={i}",
    "release lock={hex}, flg={hex}, tag=\"{w}\", name={w}, ws=null, uid={i}, pid={i}",
    "setLightsOn(true)",
    "setLightsOn(false)",
    "Scheduled snapshot period at {i} second(s).",
    "Error: connection to {ip}:{i} refused after {i} retries",
];

fn word(rng: &mut Rng) -> String {
    // A 500-word vocabulary of pronounceable lower-case words.
    let k = rng.below(500);
    let sy = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zen", "pa", "qui"];
    let mut s = String::new();
    let mut x = k + 7;
    for _ in 0..3 {
        s.push_str(sy[(x % 10) as usize]);
        x /= 10;
    }
    s
}

fn fill(t: &str, rng: &mut Rng) -> String {
    let mut out = String::with_capacity(t.len() + 32);
    let mut rest = t;
    while let Some(a) = rest.find('{') {
        out.push_str(&rest[..a]);
        let b = a + rest[a..].find('}').expect("closed placeholder");
        match &rest[a + 1..b] {
            "i" => out.push_str(&rng.below(100_000).to_string()),
            "ip" => out.push_str(&format!(
                "10.{}.{}.{}",
                rng.below(256),
                rng.below(256),
                rng.below(256)
            )),
            "hex" => out.push_str(&format!("{:x}", rng.next() >> 16)),
            "uuid" => {
                let (a, b) = (rng.next(), rng.next());
                out.push_str(&format!(
                    "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                    a >> 32,
                    (a >> 16) & 0xffff,
                    a & 0xffff,
                    b >> 48,
                    b & 0xffff_ffff_ffff
                ));
            }
            "path" => out.push_str(&format!("/v2/{:x}/servers/detail", rng.next())),
            "ms" => out.push_str(&format!("{}.{}", rng.below(1000), rng.below(1000))),
            "w" => out.push_str(&word(rng)),
            "list" => {
                let n = 1 + rng.below(6);
                let v: Vec<String> = (0..n).map(|_| rng.below(9000).to_string()).collect();
                out.push_str(&v.join(" "));
            }
            other => out.push_str(other),
        }
        rest = &rest[b + 1..];
    }
    out.push_str(rest);
    out
}

fn stream(n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed | 1);
    (0..n)
        .map(|_| {
            // Skewed template frequencies, as in real logs.
            let a = rng.below(TEMPLATES.len() as u64);
            let b = rng.below(TEMPLATES.len() as u64);
            fill(TEMPLATES[a.min(b) as usize], &mut rng)
        })
        .collect()
}

fn faultline_run(lines: &[String]) -> usize {
    let mut m = TemplateMiner::new(MinerConfig::default()).expect("default config is valid");
    for l in lines {
        black_box(m.add(l));
    }
    m.len()
}

fn logdrain_run(lines: &[String]) -> usize {
    use logdrain::builtin_masks::*;
    let m = logdrain::MinerBuilder::new()
        .masks([uuid(), ipv4(), hex32()])
        .build()
        .expect("valid options");
    for l in lines {
        black_box(m.add(l));
    }
    m.len()
}

fn bench(c: &mut Criterion) {
    let lines = stream(200_000, 20_240_917);
    if let Some(path) = std::env::var_os("MINE_BENCH_DUMP") {
        // The input, for running other miners on it (one line per record).
        std::fs::write(path, lines.join("\n") + "\n").expect("writable dump path");
    }
    println!(
        "clusters on {} lines of {} templates: faultline {}, logdrain {}",
        lines.len(),
        TEMPLATES.len(),
        faultline_run(&lines),
        logdrain_run(&lines)
    );
    let mut g = c.benchmark_group("mine_200k");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.sample_size(10);
    g.bench_function("faultline_TemplateMiner", |b| b.iter(|| faultline_run(&lines)));
    g.bench_function("logdrain_Miner_masks", |b| b.iter(|| logdrain_run(&lines)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

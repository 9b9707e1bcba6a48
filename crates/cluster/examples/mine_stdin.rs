//! `faultline mine` protocol on stdin/stdout (DESIGN.md §6), for the Loghub and throughput
//! harnesses: one record per input line; one `{"cluster": id, "template": "..."}` per input
//! line, in order, each carrying the *final* template of its cluster. `--raw` strips headers
//! with `split_header` first.
//!
//!     cargo run --release -p faultline-cluster --example mine_stdin -- [--raw] [FILE|-] < in > out

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};

use faultline_cluster::{split_header, ClusterId, MinerConfig, TemplateMiner};

fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn main() -> io::Result<()> {
    let mut raw = false;
    let mut file: Option<String> = None;
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--raw" => raw = true,
            "-" => file = None,
            "-h" | "--help" => {
                let _ = writeln!(io::stderr(), "usage: mine_stdin [--raw] [FILE|-]");
                return Ok(());
            }
            f => file = Some(f.to_string()),
        }
    }
    let input: Box<dyn Read> = match file {
        Some(f) => Box::new(std::fs::File::open(f)?),
        None => Box::new(io::stdin().lock()),
    };
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut miner = TemplateMiner::new(MinerConfig::default()).map_err(io::Error::other)?;
    let mut ids: Vec<u32> = Vec::new();
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        // Validation is much faster than the lossy decoder; fall back only on bad bytes.
        let line = match std::str::from_utf8(&buf) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(&buf),
        };
        let msg = if raw { split_header(&line).message } else { &line };
        ids.push(miner.add(msg).0);
    }
    if std::env::var_os("MINE_STATS").is_some() {
        let _ = writeln!(io::stderr(), "ids {} live {}", miner.id_bound(), miner.len());
    }
    // Each cluster's final template, rendered once as the JSON tail of its output lines.
    let rendered: Vec<Vec<u8>> = (0..miner.id_bound())
        .map(|c| {
            let c = miner.resolve(ClusterId(c)).0;
            let mut v = Vec::new();
            v.extend_from_slice(format!("{{\"cluster\":{c},\"template\":").as_bytes());
            write_json_str(&mut v, &miner.template(ClusterId(c)).unwrap_or_default());
            v.extend_from_slice(b"}\n");
            v
        })
        .collect();
    let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    for id in ids {
        if let Some(r) = rendered.get(id as usize) {
            out.write_all(r)?;
        }
    }
    out.flush()
}

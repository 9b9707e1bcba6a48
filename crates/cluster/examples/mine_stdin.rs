//! `faultline mine` protocol on stdin/stdout (DESIGN.md §6), for the Loghub and throughput
//! harnesses: one record per input line; one `{"cluster": id, "template": "..."}` per input
//! line, in order, each carrying the *final* template of its cluster. `--raw` strips headers
//! with `split_header` first.
//!
//!     cargo run --release -p faultline-cluster --example mine_stdin -- [--raw] [FILE|-] < in > out

use std::io::{self, BufWriter, Read, Write};

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
    let mut reader = input;
    let mut miner = TemplateMiner::new(MinerConfig::default()).map_err(io::Error::other)?;
    let mut ids: Vec<u32> = Vec::new();
    // Lines are cut from a large buffer in place (no per-line copy).
    let mut buf = vec![0u8; 1 << 20];
    let (mut start, mut filled) = (0usize, 0usize);
    let mut eof = false;
    while !eof || start < filled {
        if !eof {
            if start > 0 {
                buf.copy_within(start..filled, 0);
                filled -= start;
                start = 0;
            }
            if filled == buf.len() {
                // A line longer than the buffer: grow it.
                buf.resize(buf.len() * 2, 0);
            }
            let n = reader.read(&mut buf[filled..])?;
            eof = n == 0;
            filled += n;
        }
        loop {
            let rest = &buf[start..filled];
            let (line, next) = match memchr::memchr(b'\n', rest) {
                Some(i) => (&rest[..i], start + i + 1),
                None if eof && !rest.is_empty() => (rest, filled),
                None => break,
            };
            let mut line = line;
            while let [head @ .., b'\r'] = line {
                line = head;
            }
            // Validation is much faster than the lossy decoder; fall back only on bad bytes.
            let text = match std::str::from_utf8(line) {
                Ok(s) => std::borrow::Cow::Borrowed(s),
                Err(_) => String::from_utf8_lossy(line),
            };
            let msg = if raw { split_header(&text).message } else { &text };
            ids.push(miner.add(msg).0);
            start = next;
        }
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

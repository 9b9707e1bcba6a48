//! The line protocols of `faultline detect`, `faultline mine` and `faultline decompose`
//! (DESIGN.md §6), as library functions over readers and writers so that the CLI, the
//! bindings and the tests share one implementation.

use std::io::{BufRead, Read, Write};

use faultline_core::Timestamp;

use crate::{Error, Result};

fn io_err(e: std::io::Error) -> Error {
    Error::Core(faultline_core::CoreError::Io {
        path: "<stream>".into(),
        source: e,
    })
}

/// Rows of a `timestamp,value` CSV: the timestamp text as written, the parsed time and the value.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TimeValueRows {
    /// Timestamp column, verbatim (echoed on output).
    pub timestamp_text: Vec<String>,
    /// Parsed timestamps.
    pub timestamps: Vec<Timestamp>,
    /// Values (NaN where empty).
    pub values: Vec<f64>,
}

/// Reads a `timestamp,value` CSV (a header row is recognised and skipped; other columns are
/// ignored). Empty or `nan` values are read as NaN; anything else malformed is an
/// [`Error::Input`] naming `name`, the line, the field and the value.
pub fn read_time_values(input: impl BufRead, name: &str) -> Result<TimeValueRows> {
    let mut rows = TimeValueRows::default();
    for (i, line) in input.lines().enumerate() {
        let line_no = i + 1;
        let line = line.map_err(|e| Error::Input(format!("{name}:{line_no}: cannot read line: {e}")))?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.splitn(3, ',');
        let ts_text = fields.next().unwrap_or("").trim().trim_matches('"');
        let v_text = fields.next().map(|v| v.trim().trim_matches('"'));
        if rows.timestamps.is_empty() && line_no == 1 && Timestamp::parse(ts_text).is_err() {
            continue; // header
        }
        let ts = Timestamp::parse(ts_text).map_err(|e| {
            Error::Input(format!(
                "{name}:{line_no}: field `timestamp` has invalid value {ts_text:?}: {e}"
            ))
        })?;
        let Some(v_text) = v_text else {
            return Err(Error::Input(format!(
                "{name}:{line_no}: field `value` is missing"
            )));
        };
        let value = match v_text {
            "" | "nan" | "NaN" | "null" | "NA" => f64::NAN,
            t => t.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                Error::Input(format!(
                    "{name}:{line_no}: field `value` has invalid value {t:?}: not a finite number"
                ))
            })?,
        };
        rows.timestamp_text.push(ts_text.to_owned());
        rows.timestamps.push(ts);
        rows.values.push(value);
    }
    Ok(rows)
}

/// `faultline detect`: reads `timestamp,value` rows and writes `timestamp,value,anomaly_score`,
/// one row per input row, scores in [0, 1], causal (row i's score uses rows ≤ i only).
///
/// ```
/// let input = "timestamp,value\n1,10\n2,10\n3,11\n4,10\n5,90\n";
/// let mut out = Vec::new();
/// faultline::protocol::detect_csv(input.as_bytes(), &mut out, "stdin", &Default::default()).unwrap();
/// let text = String::from_utf8(out).unwrap();
/// assert_eq!(text.lines().count(), 6);
/// assert!(text.starts_with("timestamp,value,anomaly_score\n1,10,"));
/// ```
pub fn detect_csv(
    input: impl BufRead,
    mut out: impl Write,
    name: &str,
    cfg: &faultline_detect::StreamConfig,
) -> Result<()> {
    let rows = read_time_values(input, name)?;
    let scores = faultline_detect::score_stream(&rows.timestamps, &rows.values, cfg);
    writeln!(out, "timestamp,value,anomaly_score").map_err(io_err)?;
    let mut vbuf = String::with_capacity(32);
    for ((t, v), s) in rows.timestamp_text.iter().zip(&rows.values).zip(&scores) {
        vbuf.clear();
        write_float(&mut vbuf, *v);
        let s = if s.is_finite() { s.clamp(0.0, 1.0) } else { 0.0 };
        writeln!(out, "{t},{vbuf},{s}").map_err(io_err)?;
    }
    out.flush().map_err(io_err)
}

fn write_float(buf: &mut String, v: f64) {
    use std::fmt::Write as _;
    if v.is_nan() {
        return; // empty field: missing value
    }
    let _ = write!(buf, "{v}");
}

/// `faultline decompose`: reads `timestamp,value` rows, writes
/// `timestamp,trend,seasonal,remainder` (STL).
pub fn decompose_csv(
    input: impl BufRead,
    mut out: impl Write,
    name: &str,
    params: &faultline_detect::StlParams,
) -> Result<()> {
    let rows = read_time_values(input, name)?;
    let d = faultline_detect::stl(&rows.values, params)?;
    let mut w = std::io::BufWriter::new(&mut out);
    writeln!(w, "timestamp,trend,seasonal,remainder").map_err(io_err)?;
    for (i, t) in rows.timestamp_text.iter().enumerate() {
        writeln!(w, "{t},{:?},{:?},{:?}", d.trend[i], d.seasonal[i], d.remainder[i]).map_err(io_err)?;
    }
    w.flush().map_err(io_err)
}

/// `faultline mine`: one record per input line; writes one JSON object per input line, in
/// order: `{"cluster": id, "template": "text with <*>"}`. Templates are those learned from the
/// whole input (so every line of a cluster shows the same, final template). With `raw`, header
/// fields (timestamp, level, component, pid) are stripped first. Invalid UTF-8 is replaced,
/// never an error; `\r\n` line ends are accepted.
///
/// Lines are cut in place from a large read buffer (grown only for a line longer than it),
/// and each cluster's output line is rendered once, with JSON escaping written directly
/// ([`write_json_str`]), so the per-line cost is the miner's plus one copy.
///
/// ```
/// let input = "user alice logged in from 10.0.0.1\nuser bob logged in from 10.0.0.2\n\
///              user carol logged in from 10.0.0.3\nuser dave logged in from 10.0.0.4\n\
///              user erin logged in from 10.0.0.5\n";
/// let mut out = Vec::new();
/// faultline::protocol::mine_lines(input.as_bytes(), &mut out, false, &Default::default()).unwrap();
/// let text = String::from_utf8(out).unwrap();
/// let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
/// assert_eq!(first["template"], "user <*> logged in from <*>");
/// ```
pub fn mine_lines(
    mut input: impl Read,
    mut out: impl Write,
    raw: bool,
    cfg: &faultline_cluster::MinerConfig,
) -> Result<()> {
    use faultline_cluster::{ClusterId, TemplateMiner};
    let mut miner = TemplateMiner::new(cfg.clone())?;
    let mut ids: Vec<u32> = Vec::new();
    for_each_line(&mut input, |line| {
        let msg = if raw {
            faultline_cluster::split_header(line).message
        } else {
            line
        };
        ids.push(miner.add(msg).0);
    })
    .map_err(io_err)?;
    // Clusters merge as the miner learns: every id prints its surviving cluster, whose output
    // line is rendered once into `arena` (`spans[root]` is its byte range there).
    let bound = miner.id_bound() as usize;
    let mut roots: Vec<u32> = Vec::with_capacity(bound);
    for id in 0..bound as u32 {
        roots.push(miner.resolve(ClusterId(id)).0);
    }
    let mut spans: Vec<(u32, u32)> = vec![(0, 0); bound];
    let mut arena: Vec<u8> = Vec::new();
    let mut buf: Vec<u8> = Vec::with_capacity(OUT_CHUNK + 4096);
    for id in ids {
        let Some(&root) = roots.get(id as usize) else {
            continue; // unreachable: ids come from this miner
        };
        let r = root as usize;
        if spans[r].1 == 0 {
            let a = arena.len();
            arena.extend_from_slice(b"{\"cluster\":");
            write_u32(&mut arena, root);
            arena.extend_from_slice(b",\"template\":");
            write_json_str(&mut arena, &miner.template(ClusterId(root)).unwrap_or_default());
            arena.extend_from_slice(b"}\n");
            spans[r] = (a as u32, arena.len() as u32);
            if arena.len() > u32::MAX as usize / 2 {
                // Pathological: far too many huge templates to keep; render this one only.
                buf.extend_from_slice(&arena[a..]);
                arena.truncate(a);
                spans[r] = (0, 0);
                flush_if_full(&mut buf, &mut out)?;
                continue;
            }
        }
        let (a, b) = spans[r];
        buf.extend_from_slice(&arena[a as usize..b as usize]);
        flush_if_full(&mut buf, &mut out)?;
    }
    out.write_all(&buf).map_err(io_err)?;
    out.flush().map_err(io_err)
}

/// Output is handed to the writer in chunks of about this many bytes.
const OUT_CHUNK: usize = 1 << 20;
/// Initial size of the read buffer of [`for_each_line`].
const READ_CHUNK: usize = 1 << 20;

fn flush_if_full(buf: &mut Vec<u8>, out: &mut impl Write) -> Result<()> {
    if buf.len() >= OUT_CHUNK {
        out.write_all(buf).map_err(io_err)?;
        buf.clear();
    }
    Ok(())
}

/// Calls `f` with every line of `input` (without its `\n` or `\r\n`; a last line without a
/// newline included; invalid UTF-8 replaced by U+FFFD), cut in place from one read buffer.
/// UTF-8 is validated once per buffer of whole lines, not per line.
fn for_each_line(input: &mut impl Read, mut f: impl FnMut(&str)) -> std::io::Result<()> {
    let mut buf = vec![0u8; READ_CHUNK];
    let (mut start, mut filled) = (0usize, 0usize);
    loop {
        if start > 0 {
            buf.copy_within(start..filled, 0);
            filled -= start;
            start = 0;
        }
        if filled == buf.len() {
            // One line longer than the buffer: grow it.
            buf.resize(buf.len() * 2, 0);
        }
        let n = match input.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let eof = n == 0;
        // Only the new bytes can hold a newline.
        let last_nl = buf[filled..filled + n]
            .iter()
            .rposition(|&b| b == b'\n')
            .map(|i| filled + i);
        filled += n;
        let end = match last_nl {
            Some(i) => i + 1,
            None if eof => filled,
            None => continue,
        };
        let whole = &buf[start..end];
        let whole = whole.strip_suffix(b"\n").unwrap_or(whole);
        if start < end {
            match std::str::from_utf8(whole) {
                Ok(text) => text.split('\n').for_each(|l| f(trim_cr(l))),
                Err(_) => {
                    for l in whole.split(|&b| b == b'\n') {
                        f(trim_cr(&String::from_utf8_lossy(l)));
                    }
                }
            }
        }
        start = end;
        if eof {
            return Ok(());
        }
    }
}

fn trim_cr(line: &str) -> &str {
    line.trim_end_matches('\r')
}

fn write_u32(out: &mut Vec<u8>, mut v: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Escape of each byte in a JSON string: 0 none, else the letter of a two-byte escape, or
/// `u` for `\u00XX` (the escapes `serde_json` writes).
const JSON_ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b'u';
        b += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Appends `s` to `out` as a JSON string literal, quotes included, escaped byte for byte as
/// `serde_json` does (`\"`, `\\`, `\b \f \n \r \t`, other control characters as `\u00XX`;
/// everything else, non-ASCII included, verbatim).
///
/// ```
/// let mut out = Vec::new();
/// faultline::protocol::write_json_str(&mut out, "a \"b\"\n\u{1}");
/// assert_eq!(out, br#""a \"b\"\n\u0001""#);
/// ```
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let e = JSON_ESCAPE[b as usize];
        if e == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        if e == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', e]);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mine(input: &[u8]) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        mine_lines(input, &mut out, false, &Default::default()).expect("mining never fails on bytes");
        let text = String::from_utf8(out).expect("output is UTF-8");
        text.lines()
            .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
            .collect()
    }

    /// A reader that hands out at most `step` bytes per call (line ends fall across reads).
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn lines_of(input: &[u8], step: usize) -> Vec<Vec<u8>> {
        let mut got = Vec::new();
        for_each_line(&mut Trickle { data: input, step }, |l| {
            got.push(l.as_bytes().to_vec())
        })
        .expect("no io error");
        got
    }

    #[test]
    fn one_output_line_per_input_line_with_crlf_and_no_final_newline() {
        let out = mine(b"disk full on sda1\r\n\r\ndisk full on sdb2\nlast line");
        assert_eq!(out.len(), 4);
        assert_eq!(out[1]["template"], "");
        assert_eq!(out[3]["template"], "last line");
        assert!(out.iter().all(|o| o["cluster"].is_u64()));
    }

    #[test]
    fn invalid_utf8_and_quotes_come_out_as_valid_json() {
        let out = mine(b"bad \xff\xfe bytes\nsaid \"hi\" \\ to\ttab \x01\n");
        assert_eq!(out.len(), 2);
        assert_eq!(out[0]["template"], "bad \u{fffd}\u{fffd} bytes");
        // A tab separates tokens like a space.
        assert_eq!(out[1]["template"], "said \"hi\" \\ to tab \u{1}");
    }

    #[test]
    fn merged_clusters_print_their_final_template_on_every_line() {
        let mut input = String::new();
        for u in ["alice", "bob", "carol", "dave", "erin"] {
            input.push_str(&format!("user {u} logged in from 10.0.0.1\n"));
        }
        let out = mine(input.as_bytes());
        assert!(out.iter().all(|o| o == &out[0]));
        assert_eq!(out[0]["template"], "user <*> logged in from <*>");
    }

    #[test]
    fn lines_longer_than_the_read_buffer_are_whole() {
        let long = vec![b'x'; READ_CHUNK * 2 + 17];
        let mut input = long.clone();
        input.extend_from_slice(b"\nshort\n");
        let got = lines_of(&input, usize::MAX);
        assert_eq!(got, vec![long, b"short".to_vec()]);
    }

    proptest! {
        #[test]
        fn json_strings_match_serde_json(s in any::<String>()) {
            let mut out = Vec::new();
            write_json_str(&mut out, &s);
            let want = serde_json::to_string(&s).expect("strings serialise");
            prop_assert_eq!(std::str::from_utf8(&out).expect("utf-8"), want.as_str());
            let back: String = serde_json::from_slice(&out).expect("round trip");
            prop_assert_eq!(back, s);
        }

        #[test]
        fn control_heavy_strings_match_serde_json(s in "[\\x00-\\x1f\"\\\\a\u{7f}\u{e9}]{0,40}") {
            let mut out = Vec::new();
            write_json_str(&mut out, &s);
            prop_assert_eq!(out, serde_json::to_vec(&s).expect("strings serialise"));
        }

        #[test]
        fn lines_are_cut_as_str_lines_at_any_read_size(
            lines in proptest::collection::vec("[a-z \\r]{0,12}", 0..20),
            step in 1usize..50,
            final_newline in any::<bool>(),
        ) {
            let mut input = lines.join("\n");
            if final_newline && !input.is_empty() {
                input.push('\n');
            }
            let got = lines_of(input.as_bytes(), step);
            let want: Vec<Vec<u8>> = input
                .split_terminator('\n')
                .map(|l| l.trim_end_matches('\r').as_bytes().to_vec())
                .collect();
            // `split_terminator` drops one empty last piece, as a reader of lines does.
            prop_assert_eq!(got, want);
        }

        #[test]
        fn u32_digits_match_display(v in any::<u32>()) {
            let mut out = Vec::new();
            write_u32(&mut out, v);
            prop_assert_eq!(out, v.to_string().into_bytes());
        }
    }
}

//! The line protocols of `faultline detect`, `faultline mine` and `faultline decompose`
//! (DESIGN.md §6), as library functions over readers and writers so that the CLI, the
//! bindings and the tests share one implementation.

use std::io::{BufRead, Write};

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
/// never an error.
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
    mut input: impl BufRead,
    out: impl Write,
    raw: bool,
    cfg: &faultline_cluster::MinerConfig,
) -> Result<()> {
    let mut miner = faultline_cluster::TemplateMiner::new(cfg.clone())?;
    let mut ids: Vec<u32> = Vec::new();
    let mut buf = Vec::with_capacity(512);
    loop {
        buf.clear();
        let n = input.read_until(b'\n', &mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(&buf),
        };
        let msg = if raw {
            faultline_cluster::split_header(&text).message
        } else {
            &text
        };
        ids.push(miner.add(msg).0);
    }
    let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut cache: Vec<Option<String>> = Vec::new();
    for id in ids {
        // Clusters merge as the miner learns; print the surviving cluster of each line.
        let id = miner.resolve(faultline_cluster::ClusterId(id)).0;
        let slot = id as usize;
        if cache.len() <= slot {
            cache.resize(slot + 1, None);
        }
        if cache[slot].is_none() {
            let t = miner
                .template(faultline_cluster::ClusterId(id))
                .unwrap_or_default();
            let line = serde_json::json!({ "cluster": id, "template": t }).to_string();
            cache[slot] = Some(line);
        }
        if let Some(line) = &cache[slot] {
            w.write_all(line.as_bytes()).map_err(io_err)?;
            w.write_all(b"\n").map_err(io_err)?;
        }
    }
    w.flush().map_err(io_err)
}

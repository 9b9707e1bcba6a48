//! Reading raw text logs into records, with multi-line records joined.
//!
//! A line opens a new record when it starts with a recognised header time
//! ([`crate::split_header`]), is a JSON object or a logfmt line starting with `key=` (fields
//! read by [`crate::parse_structured`]; error and stack texts become the `error` / `stack`
//! attributes), or is the first line of a crash report that runtimes print without a header (`panic:`, `fatal error:`, `Exception in thread`,
//! `node:internal/…`, `Unhandled exception.`). Every other line — indented stack frames
//! (Java `at`, .NET `   at`, Node `    at`, Python `  File`, Go tab-indented frames), `Caused
//! by:`, `... N more`, `Traceback`, Python exception lines, Ruby `from`/`file.rb:12:in`, PHP
//! `#0 …` and `Stack trace:`, Go `goroutine N [...]:`, blank lines — continues the current
//! record and is appended to its body after a `\n`.

use std::collections::BTreeMap;

use faultline_core::{LogRecord, ServiceId, Severity, SourceRef, Timestamp};

use crate::header::{split_header, timestamp_len};

/// Cap on the lines joined into one record (a runaway trace becomes several records).
const MAX_LINES_PER_RECORD: usize = 2_000;
/// Cap on the bytes of one record's body.
const MAX_BODY_BYTES: usize = 256 * 1024;

fn crash_start(line: &str) -> bool {
    const STARTS: [&str; 7] = [
        "panic: ",
        "fatal error: ",
        "Exception in thread ",
        "node:internal/",
        "Unhandled exception.",
        "Unhandled Exception:",
        "PHP Fatal error:",
    ];
    STARTS.iter().any(|s| line.starts_with(s))
}

fn month_num(m: &str) -> Option<u32> {
    const M: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let l = m.get(..3)?.to_ascii_lowercase();
    M.iter().position(|x| *x == l).map(|i| i as u32 + 1)
}

fn year_of(ts: Timestamp) -> i64 {
    // Good enough for filling in a missing year: days / 365.2425.
    1970 + (ts.as_secs().div_euclid(86_400) as f64 / 365.2425).floor() as i64
}

/// Reads the time of a header timestamp text (as found by [`split_header`]); the year of
/// `default_ts` fills in formats without one (syslog, Android). Times without a zone are UTC.
pub fn parse_header_time(text: &str, default_ts: Timestamp) -> Option<Timestamp> {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && matches!(b[4], b'-' | b'/' | b'.') {
        let date = format!("{}-{}-{}", &t[..4], &t[5..7], &t[8..10]);
        let rest = &t[10..];
        if rest.is_empty() {
            return Timestamp::parse(&date).ok();
        }
        let rest = rest[1..].replace(',', ".");
        let rest = rest.trim();
        let (time, zone) = match rest
            .find([' ', 'Z', 'z', '+'])
            .or_else(|| rest.rfind('-').filter(|&i| i > 5))
        {
            Some(i) => (&rest[..i], rest[i..].trim()),
            None => (rest, ""),
        };
        let zone = match zone {
            "" | "UTC" | "GMT" | "Z" | "z" => "Z".to_string(),
            z => z.to_string(),
        };
        return Timestamp::parse(&format!("{date}T{time}{zone}")).ok();
    }
    if let Some(m) = t
        .get(3..6)
        .and_then(month_num)
        .filter(|_| b.get(2) == Some(&b'-'))
    {
        // DD-Mon-YYYY HH:MM:SS
        let (d, y, time) = (t.get(..2)?, t.get(7..11)?, t.get(12..20)?);
        return Timestamp::parse(&format!("{y}-{m:02}-{d}T{time}Z")).ok();
    }
    if let Some(m) = month_num(t).filter(|_| b.get(3) == Some(&b' ')) {
        let mut parts = t[4..].split_ascii_whitespace();
        let d: u32 = parts.next()?.parse().ok()?;
        let time = parts.next()?;
        return Timestamp::parse(&format!("{}-{m:02}-{d:02}T{time}Z", year_of(default_ts))).ok();
    }
    if b.len() >= 6 && b[2] == b'-' && b[5] == b' ' {
        return Timestamp::parse(&format!("{}-{}T{}Z", year_of(default_ts), &t[..5], t.get(6..)?)).ok();
    }
    if b.len() == 13 && b[6] == b' ' {
        let s = format!(
            "20{}-{}-{}T{}:{}:{}Z",
            &t[0..2],
            &t[2..4],
            &t[4..6],
            &t[7..9],
            &t[9..11],
            &t[11..13]
        );
        return Timestamp::parse(&s).ok();
    }
    Timestamp::parse(t).ok()
}

struct Builder<'a> {
    service: &'a ServiceId,
    file: &'a str,
    out: Vec<LogRecord>,
    cur: Option<(LogRecord, usize)>,
}

impl Builder<'_> {
    fn flush(&mut self) {
        if let Some((r, _)) = self.cur.take() {
            self.out.push(r);
        }
    }
    fn start(&mut self, rec: LogRecord) {
        self.flush();
        self.cur = Some((rec, 1));
    }
    fn new_record(&self, ts: Timestamp, severity: Severity, body: &str, line_no: usize) -> LogRecord {
        LogRecord {
            ts,
            service: self.service.clone(),
            severity,
            body: body.to_string(),
            attributes: BTreeMap::new(),
            trace_id: None,
            span_id: None,
            source: Some(SourceRef {
                file: self.file.to_string(),
                line: line_no as u64,
            }),
        }
    }
}

/// A record from a JSON or logfmt line ([`crate::parse_structured`]): the message is the
/// body; error and stack texts go to the `error` / `stack` attributes.
fn structured_record(b: &Builder<'_>, line: &str, line_no: usize, last_ts: Timestamp) -> Option<LogRecord> {
    let f = crate::parse_structured(line)?;
    let mut rec = b.new_record(f.timestamp.unwrap_or(last_ts), f.severity, &f.message, line_no);
    rec.trace_id = f.trace_id;
    rec.span_id = f.span_id;
    rec.attributes = f.attributes;
    if let Some(e) = f.error {
        rec.attributes.insert("error".into(), e.into());
    }
    if let Some(st) = f.stack {
        rec.attributes.insert("stack".into(), st.into());
    }
    Some(rec)
}

/// Reads a raw text log (one service's file) into records, joining multi-line records (stack
/// traces of Java, Python, Go, Node, .NET, Ruby, PHP) into the record they belong to.
/// Lines without a parseable timestamp inherit the previous record's time; `default_ts` is
/// used before any timestamp was seen. `file` goes into `LogRecord.source`.
///
/// ```
/// use faultline_cluster::parse_text_log;
/// use faultline_core::{ServiceId, Severity, Timestamp};
/// let text = "2024-05-14 10:32:07.412 ERROR [main] c.e.OrderService - Order failed\n\
///             java.net.SocketTimeoutException: Read timed out\n\
///             \tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:278)\n\
///             2024-05-14 10:32:08.000 INFO  [main] c.e.OrderService - Retrying\n";
/// let recs = parse_text_log(text, &ServiceId::new("checkout"), "logs/checkout.log", Timestamp(0));
/// assert_eq!(recs.len(), 2);
/// assert_eq!(recs[0].severity, Severity::Error);
/// assert!(recs[0].body.starts_with("Order failed\njava.net.SocketTimeoutException"));
/// assert_eq!(recs[1].source.as_ref().unwrap().line, 4);
/// ```
pub fn parse_text_log(text: &str, service: &ServiceId, file: &str, default_ts: Timestamp) -> Vec<LogRecord> {
    let mut b = Builder {
        service,
        file,
        out: Vec::new(),
        cur: None,
    };
    let mut last_ts = default_ts;
    for (idx, raw_line) in text.split('\n').enumerate() {
        let line_no = idx + 1;
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        let trimmed = line.trim_start();
        let indented = trimmed.len() != line.len();
        let structured = !indented
            && ((trimmed.starts_with('{') && trimmed.trim_end().ends_with('}'))
                || trimmed
                    .split_ascii_whitespace()
                    .next()
                    .is_some_and(|t| t.contains('=')));
        if structured {
            if let Some(rec) = structured_record(&b, trimmed.trim_end(), line_no, last_ts) {
                last_ts = rec.ts;
                b.start(rec);
                continue;
            }
        }
        if !indented {
            let h = split_header(line);
            let lead = {
                let lb = line.as_bytes();
                let off = if lb.first() == Some(&b'[') { 1 } else { 0 };
                timestamp_len(&lb[off..]) > 0 || (lb.len() > 4 && lb[1] == b',' && lb[3] == b'[')
            };
            if let (true, Some(ts_text)) = (lead, h.timestamp) {
                let ts = parse_header_time(ts_text, last_ts).unwrap_or(last_ts);
                last_ts = ts;
                let mut rec = b.new_record(ts, h.level.unwrap_or_default(), h.message, line_no);
                if let Some(c) = h.component {
                    rec.attributes.insert("component".into(), c.into());
                }
                if let Some(p) = h.pid {
                    rec.attributes.insert("pid".into(), p.into());
                }
                b.start(rec);
                continue;
            }
            if crash_start(line) || b.cur.is_none() && !line.is_empty() {
                let sev = if crash_start(line) {
                    Severity::Fatal
                } else {
                    Severity::Unspecified
                };
                let rec = b.new_record(last_ts, sev, line, line_no);
                b.start(rec);
                continue;
            }
        }
        // Continuation line.
        match b.cur.as_mut() {
            Some((rec, n)) if *n < MAX_LINES_PER_RECORD && rec.body.len() + line.len() < MAX_BODY_BYTES => {
                rec.body.push('\n');
                rec.body.push_str(line);
                *n += 1;
            }
            Some(_) if !line.trim().is_empty() => {
                let rec = b.new_record(last_ts, Severity::Unspecified, line, line_no);
                b.start(rec);
            }
            _ => {}
        }
    }
    b.flush();
    // Trailing blank lines are not part of a record's text.
    for r in &mut b.out {
        let t = r.body.trim_end_matches(['\n', ' ', '\t']).len();
        r.body.truncate(t);
    }
    b.out
}

//! Header recognition for raw text log lines.
//!
//! [`split_header`] cuts a line into timestamp, level, component (logger) and pid and the
//! message, for the header layouts of common loggers without per-source configuration:
//! ISO 8601 / RFC 3339 times (with `T` or space, `,` or `.` fractions, `Z`, offsets, ` UTC`),
//! syslog (`Jun 14 15:16:01`), `14-May-2024 10:32:01`, Android (`03-17 16:13:38.811`), compact
//! (`081109 203615`), epoch seconds or milliseconds, bracketed times (`[2024-…]`); levels as
//! words or bracketed codes (`INFO`, `[WRN]`, `warn:`, `W,`); thread/component brackets;
//! `logger -`, `component:` and `name[pid]:`; and prefixes of code-like fields that end with
//! a level word (`- 1117838570 2005.06.03 R02-M1 RAS KERNEL INFO …`).
//!
//! It is a heuristic: a line that has neither a recognised time nor a level keeps its whole
//! text as the message.

use faultline_core::Severity;

/// Header fields and message of one raw text line; all slices borrow the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawHeader<'a> {
    /// Timestamp text as written.
    pub timestamp: Option<&'a str>,
    /// Level, when one was recognised.
    pub level: Option<Severity>,
    /// Component, logger or thread name.
    pub component: Option<&'a str>,
    /// Process id.
    pub pid: Option<&'a str>,
    /// The message after the header (the whole line when no header was recognised).
    pub message: &'a str,
}

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];

fn month_of(b: &[u8]) -> Option<u32> {
    if b.len() < 3 {
        return None;
    }
    let l = [
        b[0].to_ascii_lowercase(),
        b[1].to_ascii_lowercase(),
        b[2].to_ascii_lowercase(),
    ];
    MONTHS.iter().position(|m| **m == l).map(|i| i as u32 + 1)
}

fn digits_at(b: &[u8], at: usize, n: usize) -> bool {
    b.get(at..at + n)
        .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
}

/// Length of `HH:MM(:SS)?([.,]frac)?` at `at`, or 0.
fn time_len(b: &[u8], at: usize) -> usize {
    if !(digits_at(b, at, 2) && b.get(at + 2) == Some(&b':') && digits_at(b, at + 3, 2)) {
        return 0;
    }
    let mut i = at + 5;
    if b.get(i) == Some(&b':') && digits_at(b, i + 1, 2) {
        i += 3;
    }
    if matches!(b.get(i), Some(b'.' | b',')) && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    i - at
}

/// Length of a zone suffix at `at`: `Z`, `+hh:mm`, `+hhmm`, ` +hh:mm`, ` UTC`.
fn zone_len(b: &[u8], at: usize) -> usize {
    match b.get(at) {
        Some(b'Z' | b'z') => 1,
        Some(b'+' | b'-') if digits_at(b, at + 1, 2) => {
            if b.get(at + 3) == Some(&b':') && digits_at(b, at + 4, 2) {
                6
            } else if digits_at(b, at + 3, 2) {
                5
            } else {
                3
            }
        }
        Some(b' ') => {
            let z = zone_len(b, at + 1);
            if z > 1 {
                z + 1
            } else if b.get(at + 1..at + 4) == Some(b"UTC") || b.get(at + 1..at + 4) == Some(b"GMT") {
                4
            } else {
                0
            }
        }
        _ => 0,
    }
}

/// Length of a timestamp at the start of `b`, or 0.
pub(crate) fn timestamp_len(b: &[u8]) -> usize {
    // YYYY-MM-DD / YYYY/MM/DD / YYYY.MM.DD, then optional time and zone.
    if digits_at(b, 0, 4) && matches!(b.get(4), Some(b'-' | b'/' | b'.')) {
        let sep = b[4];
        if digits_at(b, 5, 2) && b.get(7) == Some(&sep) && digits_at(b, 8, 2) {
            let mut i = 10;
            if matches!(b.get(i), Some(b'T' | b' ' | b'-' | b'_')) {
                let t = time_len(b, i + 1);
                if t > 0 {
                    i += 1 + t;
                    i += zone_len(b, i);
                } else if b.get(i) == Some(&b'-') && digits_at(b, i + 1, 2) && b.get(i + 3) == Some(&b'.') {
                    // 2005-06-03-15.42.50.675872 (BGL style)
                    i += 1;
                    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'.') {
                        i += 1;
                    }
                }
            }
            return i;
        }
    }
    // DD-Mon-YYYY HH:MM:SS
    if digits_at(b, 0, 2)
        && b.get(2) == Some(&b'-')
        && month_of(&b[3.min(b.len())..]).is_some()
        && b.get(6) == Some(&b'-')
        && digits_at(b, 7, 4)
        && b.get(11) == Some(&b' ')
    {
        {
            let t = time_len(b, 12);
            if t > 0 {
                return 12 + t + zone_len(b, 12 + t);
            }
        }
    }
    // Mon DD HH:MM:SS (syslog)
    if month_of(b).is_some() && b.get(3) == Some(&b' ') {
        let mut i = 4;
        if b.get(i) == Some(&b' ') {
            i += 1;
        }
        let d0 = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) && i - d0 < 2 {
            i += 1;
        }
        if i > d0 && b.get(i) == Some(&b' ') {
            let t = time_len(b, i + 1);
            if t > 0 {
                return i + 1 + t;
            }
        }
    }
    // MM-DD HH:MM:SS.mmm (Android)
    if digits_at(b, 0, 2) && b.get(2) == Some(&b'-') && digits_at(b, 3, 2) && b.get(5) == Some(&b' ') {
        let t = time_len(b, 6);
        if t > 0 {
            return 6 + t;
        }
    }
    // YYMMDD HHMMSS
    if digits_at(b, 0, 6) && b.get(6) == Some(&b' ') && digits_at(b, 7, 6) && !digits_at(b, 13, 1) {
        return 13;
    }
    // Epoch seconds (10 digits) or milliseconds (13 digits), optional fraction.
    let mut n = 0;
    while b.get(n).is_some_and(u8::is_ascii_digit) {
        n += 1;
    }
    if n == 10 || n == 13 {
        let mut i = n;
        if b.get(i) == Some(&b'.') {
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        if b.get(i).is_none_or(|c| c.is_ascii_whitespace()) {
            return i;
        }
    }
    0
}

/// A level word (`INFO`, `warning`, `[ERR]`, `info:`); single letters only when `short` is
/// allowed. Returns the level and whether the token ended with `:`.
fn level_of(tok: &str, short: bool) -> Option<(Severity, bool)> {
    let colon = tok.ends_with(':');
    let t = tok
        .trim_end_matches([':', ','])
        .trim_start_matches('[')
        .trim_end_matches(']');
    if t.is_empty() || (t.len() < 3 && !short) || t.len() > 11 {
        return None;
    }
    if t.len() < 3 && !(t.len() == 1 && t.as_bytes()[0].is_ascii_uppercase()) {
        return None;
    }
    if t.bytes().any(|c| c.is_ascii_digit()) {
        return None;
    }
    match Severity::parse(t) {
        Severity::Unspecified => None,
        s => Some((s, colon)),
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

fn token_end(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// End of a `[...]` group starting at `i` (index after `]`), bracket depth aware, or None.
fn bracket_end(b: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, &c) in b.iter().enumerate().skip(i) {
        match c {
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k + 1);
                }
            }
            _ => {}
        }
        if k - i > 200 {
            return None;
        }
    }
    None
}

fn code_like(tok: &str) -> bool {
    tok == "-"
        || tok.bytes().any(|c| c.is_ascii_digit())
        || (tok.len() >= 2 && tok.bytes().all(|c| c.is_ascii_uppercase() || c == b'_'))
}

/// A dotted logger name at `i` (`nova.compute.manager`, `org.example.Foo`: at least two
/// dots, starting with a letter) and the bracketed request context that may follow it
/// (`[req-… - - -]`): the name and where the message starts.
fn dotted_logger(line: &str, i: usize) -> Option<(&str, usize)> {
    let b = line.as_bytes();
    let e = token_end(b, i);
    let tok = line.get(i..e)?;
    let ok = tok.bytes().filter(|&c| c == b'.').count() >= 2
        && tok.bytes().next().is_some_and(|c| c.is_ascii_alphabetic())
        && !tok.ends_with('.')
        && tok
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'$'));
    if !ok {
        return None;
    }
    let mut j = skip_ws(b, e);
    if b.get(j) == Some(&b'[') {
        if let Some(k) = bracket_end(b, j) {
            j = skip_ws(b, k);
        }
    }
    Some((tok, j))
}

/// Splits a raw text line into header fields (timestamp text, level, component/logger, pid)
/// and the message, recognising common header layouts without per-source configuration.
///
/// ```
/// use faultline_cluster::split_header;
/// use faultline_core::Severity;
/// let h = split_header("2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.MRAppMaster: Created MRAppMaster");
/// assert_eq!(h.timestamp, Some("2015-10-18 18:01:47,978"));
/// assert_eq!(h.level, Some(Severity::Info));
/// assert_eq!(h.component, Some("org.apache.hadoop.MRAppMaster"));
/// assert_eq!(h.message, "Created MRAppMaster");
/// let h = split_header("Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186");
/// assert_eq!((h.component, h.pid), (Some("sshd"), Some("24200")));
/// assert_eq!(h.message, "Invalid user webmaster from 173.234.31.186");
/// ```
pub fn split_header(line: &str) -> RawHeader<'_> {
    let line = line.trim_end_matches(['\r', '\n']);
    let b = line.as_bytes();
    let mut h = RawHeader {
        timestamp: None,
        level: None,
        component: None,
        pid: None,
        message: line,
    };
    let mut i = skip_ws(b, 0);
    // Ruby Logger: `I, [2024-…T… #12]  INFO -- : msg`.
    if b.len() > i + 3 && b[i].is_ascii_uppercase() && b[i + 1] == b',' && b[i + 2] == b' ' {
        if let Some((s, _)) = level_of(&line[i..i + 1], true) {
            h.level = Some(s);
            i = skip_ws(b, i + 2);
        }
    }
    // Timestamp, bare or in brackets.
    if b.get(i) == Some(&b'[') {
        let n = timestamp_len(&b[i + 1..]);
        if n > 0 {
            if let Some(end) = bracket_end(b, i) {
                h.timestamp = Some(&line[i + 1..i + 1 + n]);
                // `#12` pid inside the bracket (Ruby).
                let inner = line[i + 1 + n..end - 1].trim();
                if let Some(p) = inner.strip_prefix('#') {
                    h.pid = Some(p);
                }
                i = end;
            }
        }
    } else {
        let n = timestamp_len(&b[i..]);
        if n > 0 {
            h.timestamp = Some(&line[i..i + n]);
            i += n;
            if b.get(i) == Some(&b',') {
                i += 1;
            }
        }
    }
    if h.timestamp.is_none() && h.level.is_none() {
        // A prefix of code-like fields ending in a level word (BGL-style).
        let mut k = i;
        for _ in 0..12 {
            k = skip_ws(b, k);
            let e = token_end(b, k);
            if e == k {
                break;
            }
            let tok = &line[k..e];
            if let Some((s, _)) = level_of(tok, false) {
                if tok.bytes().all(|c| !c.is_ascii_lowercase()) && k > 0 {
                    h.level = Some(s);
                    h.message = line[e..].trim_start();
                    if let Some((name, at)) = dotted_logger(line, skip_ws(b, e)) {
                        h.component = Some(name);
                        h.message = &line[at.min(line.len())..];
                    }
                    return h;
                }
            }
            if !code_like(tok) {
                break;
            }
            k = e;
        }
        return h;
    }
    let mut fields = 0;
    let mut msg_start = i;
    let mut level_word = false;
    while fields < 8 {
        i = skip_ws(b, i);
        msg_start = i;
        if i >= b.len() {
            break;
        }
        let e = token_end(b, i);
        let tok = &line[i..e];
        fields += 1;
        if !level_word {
            if let Some((s, colon)) = level_of(tok, h.timestamp.is_some()) {
                h.level = Some(s);
                level_word = true;
                i = e;
                msg_start = skip_ws(b, i);
                if colon {
                    break;
                }
                // Windows CBS style: a component followed by a run of spaces.
                let j = skip_ws(b, i);
                let je = token_end(b, j);
                if je < b.len()
                    && (b[je..].starts_with(b"  ") || b[je] == b'\t')
                    && !line[j..je].ends_with(':')
                {
                    h.component = Some(&line[j..je]);
                    i = je;
                    msg_start = skip_ws(b, i);
                    break;
                }
                continue;
            }
        }
        // A short upper-case tag before a level word (`PHP Warning:`).
        if !level_word && (2..=5).contains(&tok.len()) && tok.bytes().all(|c| c.is_ascii_uppercase()) {
            let j = skip_ws(b, e);
            if level_of(&line[j..token_end(b, j)], false).is_some() {
                i = e;
                continue;
            }
        }
        if b[i] == b'[' {
            match bracket_end(b, i) {
                Some(end) if end == e || b.get(end).is_none_or(|c| c.is_ascii_whitespace()) => {
                    let inner = &line[i + 1..end - 1];
                    if h.component.is_none() && !inner.contains(' ') && h.level.is_none() {
                        h.component = Some(inner);
                    }
                    i = end;
                    continue;
                }
                _ => break,
            }
        }
        if tok.bytes().all(|c| c.is_ascii_digit()) {
            if h.pid.is_none() {
                h.pid = Some(tok);
            }
            i = e;
            continue;
        }
        if tok == "--" {
            i = e;
            continue;
        }
        if tok == ":" {
            i = e;
            msg_start = skip_ws(b, i);
            break;
        }
        // `logger - message`
        if b[e..].starts_with(b" - ") && tok.len() > 1 {
            h.component = Some(tok);
            msg_start = skip_ws(b, e + 2);
            break;
        }
        // `component:` or `name[pid]:` or `name(pam)[pid]:`
        if let Some(t) = tok.strip_suffix(':') {
            if !t.is_empty() {
                let (name, pid) = match (t.find('['), t.ends_with(']')) {
                    (Some(p), true) => (&t[..p], Some(&t[p + 1..t.len() - 1])),
                    _ => (t, None),
                };
                h.component = Some(name);
                if pid.is_some() {
                    h.pid = pid;
                }
                msg_start = skip_ws(b, e);
                break;
            }
        }
        // A host or node name before a `name[pid]:` (syslog): allow one plain token.
        if h.timestamp.is_some() && h.level.is_none() && fields <= 2 {
            let j = skip_ws(b, e);
            let je = token_end(b, j);
            if line[j..je].ends_with(':') && je > j + 1 {
                i = e;
                continue;
            }
        }
        // A dotted logger name after the level (`INFO nova.compute.manager [req-… - -] msg`,
        // `%level %logger %msg`), with the bracketed request context that may follow it.
        if h.level.is_some() && h.component.is_none() {
            if let Some((name, at)) = dotted_logger(line, i) {
                h.component = Some(name);
                msg_start = at;
            }
        }
        break;
    }
    h.message = &line[msg_start.min(line.len())..];
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::type_complexity)]
    fn recognises_common_layouts() {
        let cases: &[(&str, Option<&str>, Option<Severity>, Option<&str>, &str)] = &[
            (
                "2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server [req-38 113d 54fa - - -] 10.11.10.1 \"GET /v2 HTTP/1.1\" status: 200",
                Some("2017-05-16 00:00:00.008"),
                Some(Severity::Info),
                Some("nova.osapi_compute.wsgi.server"),
                "10.11.10.1 \"GET /v2 HTTP/1.1\" status: 200",
            ),
            (
                "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.metadata.wsgi.server [-] 10.11.21.122 \"GET /openstack HTTP/1.1\"",
                None,
                Some(Severity::Info),
                Some("nova.metadata.wsgi.server"),
                "10.11.21.122 \"GET /openstack HTTP/1.1\"",
            ),
            (
                "2024-05-14 10:31:58.117 INFO  [http-nio-8080-exec-3] c.e.checkout.web.CheckoutController - Checkout started cartId=c-4411",
                Some("2024-05-14 10:31:58.117"),
                Some(Severity::Info),
                Some("c.e.checkout.web.CheckoutController"),
                "Checkout started cartId=c-4411",
            ),
            (
                "2024-05-14 10:32:00,014 WARNING [payments.gateway] acquirer latency above SLO",
                Some("2024-05-14 10:32:00,014"),
                Some(Severity::Warn),
                None,
                "acquirer latency above SLO",
            ),
            (
                "2024-05-14T10:31:52.004Z\tINFO\tcmd/cart/main.go:48\tstarting cart service",
                Some("2024-05-14T10:31:52.004Z"),
                Some(Severity::Info),
                Some("cmd/cart/main.go:48"),
                "starting cart service",
            ),
            (
                "2024-05-14T10:31:58.102Z [frontend] info: GET /cart/c-4411 200 41ms",
                Some("2024-05-14T10:31:58.102Z"),
                Some(Severity::Info),
                Some("frontend"),
                "GET /cart/c-4411 200 41ms",
            ),
            (
                "2024-05-14 10:32:04.515 +00:00 [WRN] Acquirer call exceeded 1500 ms",
                Some("2024-05-14 10:32:04.515 +00:00"),
                Some(Severity::Warn),
                None,
                "Acquirer call exceeded 1500 ms",
            ),
            (
                "I, [2024-05-14T10:32:07.702001 #12]  INFO -- : [7f3a9c2e] Processing by OrdersController#create",
                Some("2024-05-14T10:32:07.702001"),
                Some(Severity::Info),
                None,
                "[7f3a9c2e] Processing by OrdersController#create",
            ),
            (
                "[14-May-2024 10:32:01 UTC] PHP Warning:  Undefined array key",
                Some("14-May-2024 10:32:01 UTC"),
                Some(Severity::Warn),
                None,
                "Undefined array key",
            ),
            (
                "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogsopening app",
                Some("03-17 16:13:38.811"),
                Some(Severity::Debug),
                Some("WindowManager"),
                "printFreezingDisplayLogsopening app",
            ),
            (
                "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction cache parity error corrected",
                None,
                Some(Severity::Info),
                None,
                "instruction cache parity error corrected",
            ),
            (
                "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1",
                Some("2016-09-28 04:30:30"),
                Some(Severity::Info),
                Some("CBS"),
                "Loaded Servicing Stack v6.1",
            ),
            ("just a message", None, None, None, "just a message"),
        ];
        for (line, ts, lvl, comp, msg) in cases {
            let h = split_header(line);
            assert_eq!(h.timestamp, *ts, "{line}");
            assert_eq!(h.level, *lvl, "{line}");
            if comp.is_some() {
                assert_eq!(h.component, *comp, "{line}");
            }
            assert_eq!(h.message, *msg, "{line}");
        }
    }
}

//! Prometheus text exposition format 0.0.4 (Prometheus docs, "Exposition formats") and
//! remote-write 1.0 (`WriteRequest`, snappy block compression; Prometheus "Remote-Write
//! Specification").
//!
//! Every sample is one point of the series `{service, metric name, labels}`. The service is
//! the first of the [`SERVICE_LABELS`](crate::SERVICE_LABELS) present (that label is removed
//! from the key), else [`Context::default_service`](crate::Context), else `unknown`.
//! Samples without a timestamp (text format) are stamped [`Context::received_at`](crate::Context).
//! `# HELP` / `# TYPE` lines are read past: histogram and summary samples already carry their
//! `_bucket` / `_sum` / `_count` / `quantile` names and labels. OpenMetrics bodies read too
//! (`# EOF`, timestamps in seconds, exemplars skipped). Native histograms in
//! remote-write are not read (only float samples).

use std::borrow::Cow;

use faultline_core::{Labels, SeriesKey, ServiceId, Timestamp};
use rustc_hash::FxHashMap;

use crate::batch::{Builder, SERVICE_LABELS, UNKNOWN_SERVICE};
use crate::{Batch, Context, Format, IngestError, Limits};

const TEXT: Format = Format::PrometheusText;
const RW: Format = Format::PrometheusRemoteWrite;

/// Parses a text exposition body.
pub(crate) fn parse_text(body: &[u8], limits: &Limits, ctx: &Context) -> Result<Batch, IngestError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let line = body[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        IngestError::malformed(TEXT, format!("line {line}"), "not UTF-8")
    })?;
    let mut b = Builder::new(TEXT, limits);
    // Same series text (name + label block) → series index, without rebuilding the key.
    let mut seen: FxHashMap<&str, usize> = FxHashMap::default();
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line).trim_start();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if comment.trim() == "EOF" {
                break;
            }
            continue;
        }
        let at = || format!("line {}", n + 1);
        let sample = sample(line, limits).map_err(|(field, value, reason)| {
            if field.is_empty() {
                IngestError::malformed(TEXT, at(), format!("{reason}: {}", crate::error::truncate(value)))
            } else {
                IngestError::invalid(TEXT, at(), field, value, reason)
            }
        })?;
        let ts = sample.ts.unwrap_or(ctx.received_at);
        let idx = match seen.get(sample.series_text) {
            Some(&i) => i,
            None => {
                let key = series_key(sample.name, sample.labels, ctx);
                let i = b.series(key, &at)?;
                seen.insert(sample.series_text, i);
                i
            }
        };
        b.push_point(idx, ts, sample.value, at)?;
    }
    Ok(b.finish())
}

/// A series key from a metric name and its labels (service label taken out).
pub(crate) fn series_key<K: AsRef<str>, V: AsRef<str>>(
    name: &str,
    mut labels: Vec<(K, V)>,
    ctx: &Context,
) -> SeriesKey {
    let mut service = None;
    for want in SERVICE_LABELS {
        if let Some(i) = labels
            .iter()
            .position(|(k, v)| k.as_ref() == want && !v.as_ref().is_empty())
        {
            service = Some(ServiceId::new(labels.swap_remove(i).1));
            break;
        }
    }
    let service = service
        .or_else(|| ctx.default_service.clone())
        .unwrap_or_else(|| ServiceId::new(UNKNOWN_SERVICE));
    SeriesKey {
        service,
        metric: name.to_owned(),
        labels: Labels::from_pairs(labels),
    }
}

struct TextSample<'a> {
    series_text: &'a str,
    name: &'a str,
    labels: Vec<(&'a str, Cow<'a, str>)>,
    value: f64,
    ts: Option<Timestamp>,
}

/// `(field, offending text, reason)`; an empty field means a syntax error.
type SampleError<'a> = (&'static str, &'a str, &'static str);

fn sample<'a>(line: &'a str, limits: &Limits) -> Result<TextSample<'a>, SampleError<'a>> {
    let b = line.as_bytes();
    let name_end = b
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_' || c == b':'))
        .unwrap_or(b.len());
    let name = &line[..name_end];
    if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
        return Err(("", line, "expected a metric name"));
    }
    let mut i = name_end;
    let mut labels = Vec::new();
    if b.get(i) == Some(&b'{') {
        i += 1;
        loop {
            i = skip_ws(b, i);
            match b.get(i) {
                Some(b'}') => {
                    i += 1;
                    break;
                }
                None => return Err(("", line, "unterminated label set")),
                _ => {}
            }
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let lname = &line[start..i];
            if lname.is_empty() || lname.as_bytes()[0].is_ascii_digit() {
                return Err(("", &line[start..], "expected a label name"));
            }
            i = skip_ws(b, i);
            if b.get(i) != Some(&b'=') {
                return Err(("", &line[start..], "expected `=` after label name"));
            }
            i = skip_ws(b, i + 1);
            if b.get(i) != Some(&b'"') {
                return Err(("", &line[start..], "expected a quoted label value"));
            }
            i += 1;
            let vstart = i;
            let mut escaped = false;
            loop {
                match b.get(i) {
                    None => return Err(("", &line[start..], "unterminated label value")),
                    Some(b'\\') => {
                        escaped = true;
                        i += 2;
                    }
                    Some(b'"') => break,
                    Some(_) => i += 1,
                }
            }
            if i > b.len() {
                return Err(("", &line[start..], "unterminated label value"));
            }
            let raw = &line[vstart..i];
            i += 1;
            let value = if escaped {
                Cow::Owned(unescape(raw))
            } else {
                Cow::Borrowed(raw)
            };
            if labels.iter().any(|(k, _)| *k == lname) {
                return Err(("labels", lname, "duplicate label name"));
            }
            if labels.len() >= limits.max_labels {
                return Err(("labels", lname, "too many labels"));
            }
            if value.len() > limits.max_label_bytes || lname.len() > limits.max_label_bytes {
                return Err(("labels", lname, "label longer than the limit"));
            }
            labels.push((lname, value));
            i = skip_ws(b, i);
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => {}
                _ => return Err(("", &line[i.min(line.len())..], "expected `,` or `}` in label set")),
            }
        }
    }
    let series_text = &line[..i];
    let rest = line[i..].trim();
    // An OpenMetrics exemplar (` # {trace_id="..."} 1.0`) follows the sample: not read.
    let rest = match rest.find(" # ") {
        Some(cut) => &rest[..cut],
        None => rest,
    };
    let mut parts = rest.split_ascii_whitespace();
    let vtext = parts.next().ok_or(("", line, "missing value"))?;
    let value = parse_value(vtext).ok_or(("value", vtext, "not a number"))?;
    let ts = match parts.next() {
        None => None,
        Some(t) => Some(sample_time(t).ok_or(("timestamp", t, "not a timestamp"))?),
    };
    if let Some(extra) = parts.next() {
        return Err(("", extra, "unexpected text after the timestamp"));
    }
    Ok(TextSample {
        series_text,
        name,
        labels,
        value,
        ts,
    })
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

/// `\\`, `\"` and `\n` as the exposition format defines; any other escape is kept as written.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A sample timestamp: integer milliseconds (exposition 0.0.4) or seconds with a fraction
/// (OpenMetrics). An integer's unit is inferred from its magnitude, so OpenMetrics' whole
/// seconds read right too (milliseconds before 1973 would not: none are sent).
fn sample_time(t: &str) -> Option<Timestamp> {
    if let Ok(i) = t.parse::<i64>() {
        let nanos = if i.unsigned_abs() < 100_000_000_000 {
            i.checked_mul(1_000_000_000)
        } else {
            i.checked_mul(1_000_000)
        };
        return nanos.map(Timestamp);
    }
    let secs: f64 = t.parse().ok()?;
    if !secs.is_finite() || secs.abs() > 9.2e9 {
        return None;
    }
    Some(Timestamp::from_secs_f64(secs))
}

/// A sample value: Go's float syntax as Prometheus writes it (`1.5e+09`, `NaN`, `+Inf`).
fn parse_value(t: &str) -> Option<f64> {
    match t {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => t.parse().ok(),
    }
}

// ------------------------------------------------------------------ remote-write

/// `prometheus.WriteRequest` (remote-write 1.0): only the fields faultline reads.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series with their samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// One series of a [`WriteRequest`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Labels, including `__name__`.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Float samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// A label of a [`TimeSeries`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    /// Name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// A float sample of a [`TimeSeries`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// Parses a snappy-compressed remote-write body.
pub(crate) fn parse_remote_write(body: &[u8], limits: &Limits, ctx: &Context) -> Result<Batch, IngestError> {
    use prost::Message;
    let len = snap::raw::decompress_len(body)
        .map_err(|e| IngestError::malformed(RW, "byte 0", format!("snappy: {e}")))?;
    if len > limits.max_decoded_bytes {
        return Err(IngestError::BodyTooLarge {
            bytes: len,
            max: limits.max_decoded_bytes,
        });
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| IngestError::malformed(RW, "byte 0", format!("snappy: {e}")))?;
    let (_, samples) = crate::otlp::count_remote_write(&raw)
        .map_err(|e| IngestError::malformed(RW, format!("decoded byte {}", e.offset), e.message))?;
    if samples > limits.max_records {
        return Err(IngestError::TooManyRecords {
            format: RW,
            at: "/timeseries".into(),
            max: limits.max_records,
        });
    }
    let req =
        WriteRequest::decode(raw.as_slice()).map_err(|e| IngestError::malformed(RW, "/", e.to_string()))?;
    let mut b = Builder::new(RW, limits);
    for (si, ts) in req.timeseries.into_iter().enumerate() {
        let at = || format!("/timeseries/{si}");
        let mut name = None;
        let mut labels = Vec::with_capacity(ts.labels.len());
        for l in ts.labels {
            if l.name == "__name__" {
                name = Some(l.value);
            } else {
                labels.push((l.name, l.value));
            }
        }
        let name = name
            .ok_or_else(|| IngestError::invalid(RW, at(), "labels.__name__", "", "series without a name"))?;
        let key = series_key(&name, labels, ctx);
        let idx = b.series(key, &at)?;
        for (pi, s) in ts.samples.iter().enumerate() {
            let ns = s.timestamp.checked_mul(1_000_000).ok_or_else(|| {
                IngestError::invalid(
                    RW,
                    format!("{}/samples/{pi}", at()),
                    "timestamp",
                    &s.timestamp.to_string(),
                    "out of range",
                )
            })?;
            b.push_point(idx, Timestamp(ns), s.value, || format!("{}/samples/{pi}", at()))?;
        }
    }
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            received_at: Timestamp::from_secs(1_715_682_780),
            default_service: None,
        }
    }

    #[test]
    fn sample_lines_with_escapes_and_timestamps() {
        let l = Limits::default();
        let s = sample(r#"m{a="x\"y\\z\n",b="2",} 1.5e+09 1715682780000"#, &l).unwrap();
        assert_eq!(s.name, "m");
        assert_eq!(s.labels[0].1, "x\"y\\z\n");
        assert_eq!(s.value, 1.5e9);
        assert_eq!(s.ts, Some(Timestamp::from_secs(1_715_682_780)));
        assert!(sample("m NaN", &l).unwrap().value.is_nan());
        assert_eq!(sample("m +Inf", &l).unwrap().value, f64::INFINITY);
        assert!(sample("m{a=\"1\"", &l).is_err());
        assert!(sample("m{a=\"1\",a=\"2\"} 1", &l).is_err());
        assert!(sample("m one", &l).is_err());
        assert!(sample("m 1 2 3", &l).is_err());
        // OpenMetrics: seconds with a fraction, and an exemplar after the sample.
        let om = sample(
            r#"m_total{a="1"} 17 1715682780.5 # {trace_id="0af7"} 1.0 1715682780.1"#,
            &l,
        )
        .unwrap();
        assert_eq!(om.value, 17.0);
        assert_eq!(om.ts, Some(Timestamp(1_715_682_780_500_000_000)));
        assert_eq!(
            sample("m 1 1715682780", &l).unwrap().ts,
            Some(Timestamp::from_secs(1_715_682_780))
        );
    }

    #[test]
    fn bad_value_names_line_and_field() {
        let e = parse_text(
            b"# TYPE m gauge\nm 1\nm{a=\"b\"} lots\n",
            &Limits::default(),
            &ctx(),
        )
        .unwrap_err();
        let (_, detail, pointer) = e.problem();
        assert_eq!(pointer.as_deref(), Some("line 3"));
        assert!(detail.contains("lots") && detail.contains("value"), "{detail}");
    }

    #[test]
    fn repeated_series_share_one_key() {
        let b = parse_text(
            b"m{service=\"a\"} 1 1000\nm{service=\"a\"} 2 2000\n",
            &Limits::default(),
            &ctx(),
        )
        .unwrap();
        assert_eq!(b.series.len(), 1);
        assert_eq!(b.series[0].values, vec![1.0, 2.0]);
        assert_eq!(b.series[0].key.service.as_str(), "a");
        assert!(b.series[0].key.labels.is_empty());
    }
}

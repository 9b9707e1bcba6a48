//! OTLP/HTTP logs, metrics and traces, in both encodings (OpenTelemetry specification, "OTLP",
//! v1.x: binary protobuf and the "JSON Protobuf Encoding").
//!
//! Both encodings decode into the same message structs ([`messages`]); one conversion turns
//! them into a [`Batch`]. Record locations are JSON pointers over the lowerCamelCase field
//! names (`/resourceLogs/0/scopeLogs/1/logRecords/4`) for either encoding.
//!
//! Mapping (see `docs/ingest.md` for the why):
//! - service: resource attribute `service.name`, else `unknown`;
//! - resource attributes `service.instance.id`, `k8s.pod.name`, `host.name` become series
//!   labels / record attributes, so that the points of two instances never interleave;
//! - gauge and sum points keep their value (cumulative sums are not differenced here);
//!   histograms give `NAME_count`, `NAME_sum` (and `NAME_min`, `NAME_max` when sent) and
//!   cumulative `NAME_bucket{le=...}` series as Prometheus does; summaries give `NAME_count`,
//!   `NAME_sum` and `NAME{quantile=...}`; exponential histograms give count, sum, min, max;
//! - a point flagged "no recorded value" (flags bit 0) is NaN.

pub mod messages;
mod wire;
pub(crate) use wire::count_remote_write;

use std::collections::BTreeMap;

use faultline_core::{
    DurationNs, Labels, LogRecord, SeriesKey, ServiceId, Severity, Span, SpanStatus, Timestamp,
};
use prost::Message;
use rustc_hash::FxHashMap;
use serde_json::Value as Json;

use crate::batch::{Builder, UNKNOWN_SERVICE};
use crate::{json, Batch, Encoding, Format, IngestError, Limits};
use messages::any_value::Value as Any;
use messages::*;

/// Resource attributes that identify an instance and are kept on every series and record.
pub const INSTANCE_ATTRIBUTES: [&str; 3] = ["service.instance.id", "k8s.pod.name", "host.name"];

fn decode<T: Message + Default + serde::de::DeserializeOwned>(
    format: Format,
    enc: Encoding,
    body: &[u8],
    limits: &Limits,
    count: fn(&[u8]) -> Result<usize, wire::WireError>,
) -> Result<T, IngestError> {
    match enc {
        Encoding::Json => json::decode(format, body),
        Encoding::Protobuf => {
            // Count records on the wire first so that a hostile body cannot make the decoder
            // allocate millions of empty messages past the record limit.
            let n = count(body)
                .map_err(|e| IngestError::malformed(format, format!("byte {}", e.offset), e.message))?;
            if n > limits.max_records {
                return Err(IngestError::TooManyRecords {
                    format,
                    at: "/".into(),
                    max: limits.max_records,
                });
            }
            T::decode(body).map_err(|e| IngestError::malformed(format, "/", e.to_string()))
        }
    }
}

/// Parses an OTLP `ExportLogsServiceRequest`.
pub(crate) fn parse_logs(enc: Encoding, body: &[u8], limits: &Limits) -> Result<Batch, IngestError> {
    let format = Format::OtlpLogs(enc);
    let req: ExportLogsServiceRequest = decode(format, enc, body, limits, wire::count_logs)?;
    let mut b = Builder::new(format, limits);
    b.reserve_logs(
        req.resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .map(|s| s.log_records.len())
            .sum(),
    );
    for (ri, rl) in req.resource_logs.into_iter().enumerate() {
        let res = ResourceInfo::of(rl.resource.as_ref());
        for (si, sl) in rl.scope_logs.into_iter().enumerate() {
            for (li, r) in sl.log_records.into_iter().enumerate() {
                let at = || format!("/resourceLogs/{ri}/scopeLogs/{si}/logRecords/{li}");
                let nanos = if r.time_unix_nano != 0 {
                    r.time_unix_nano
                } else {
                    r.observed_time_unix_nano
                };
                let ts = time(format, &at, "timeUnixNano", nanos)?;
                let severity = match u8::try_from(r.severity_number) {
                    Ok(n @ 1..=24) => Severity::from_number(n),
                    _ => Severity::parse(&r.severity_text),
                };
                let mut attributes = BTreeMap::new();
                res.copy_instance(&mut attributes);
                let body = match r.body.and_then(|v| v.value) {
                    None => String::new(),
                    Some(Any::StringValue(s)) => s,
                    Some(Any::KvlistValue(kv)) => kvlist_body(kv, &mut attributes),
                    Some(other) => json_text(any_json(other)),
                };
                for kv in r.attributes {
                    attributes.insert(kv.key, value_json(kv.value));
                }
                if !r.event_name.is_empty() {
                    attributes.insert("event.name".into(), Json::String(r.event_name));
                }
                let rec = LogRecord {
                    ts,
                    service: res.service.clone(),
                    severity,
                    body,
                    attributes,
                    trace_id: hex_id(&r.trace_id),
                    span_id: hex_id(&r.span_id),
                    source: None,
                };
                b.log(rec, &at)?;
            }
        }
    }
    Ok(b.finish())
}

/// A structured body: its `message` / `msg` member is the text, the rest become
/// `body.NAME` attributes; without such a member the whole map is the text, as JSON.
fn kvlist_body(mut kv: KeyValueList, attributes: &mut BTreeMap<String, Json>) -> String {
    let text_at = kv.values.iter().position(|e| {
        matches!(
            (e.key.as_str(), e.value.as_ref().and_then(|v| v.value.as_ref())),
            ("message" | "msg", Some(Any::StringValue(_)))
        )
    });
    match text_at {
        Some(i) => {
            let text = match kv.values.remove(i).value.and_then(|v| v.value) {
                Some(Any::StringValue(s)) => s,
                _ => String::new(),
            };
            for e in kv.values {
                attributes.insert(format!("body.{}", e.key), value_json(e.value));
            }
            text
        }
        None => json_text(any_json(Any::KvlistValue(kv))),
    }
}

/// Parses an OTLP `ExportTraceServiceRequest`.
pub(crate) fn parse_traces(enc: Encoding, body: &[u8], limits: &Limits) -> Result<Batch, IngestError> {
    let format = Format::OtlpTraces(enc);
    let req: ExportTraceServiceRequest = decode(format, enc, body, limits, wire::count_spans)?;
    let mut b = Builder::new(format, limits);
    b.reserve_spans(
        req.resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum(),
    );
    for (ri, rs) in req.resource_spans.into_iter().enumerate() {
        let res = ResourceInfo::of(rs.resource.as_ref());
        for (si, ss) in rs.scope_spans.into_iter().enumerate() {
            for (pi, s) in ss.spans.into_iter().enumerate() {
                let at = || format!("/resourceSpans/{ri}/scopeSpans/{si}/spans/{pi}");
                let start = time(format, &at, "startTimeUnixNano", s.start_time_unix_nano)?;
                let end = time(format, &at, "endTimeUnixNano", s.end_time_unix_nano)?;
                if end < start {
                    return Err(IngestError::invalid(
                        format,
                        at(),
                        "endTimeUnixNano",
                        &s.end_time_unix_nano.to_string(),
                        "ends before it starts",
                    ));
                }
                let trace_id = hex_id(&s.trace_id).ok_or_else(|| {
                    IngestError::invalid(format, at(), "traceId", "", "missing or all-zero trace id")
                })?;
                let span_id = hex_id(&s.span_id).ok_or_else(|| {
                    IngestError::invalid(format, at(), "spanId", "", "missing or all-zero span id")
                })?;
                let mut attributes = BTreeMap::new();
                res.copy_instance(&mut attributes);
                for kv in s.attributes {
                    attributes.insert(kv.key, value_json(kv.value));
                }
                if let Some(kind) = span_kind(s.kind) {
                    attributes.insert("span.kind".into(), Json::String(kind.into()));
                }
                let status_code = s.status.as_ref().map(|st| st.code);
                if let Some(msg) = s.status.map(|st| st.message).filter(|m| !m.is_empty()) {
                    attributes.insert("status.message".into(), Json::String(msg));
                }
                // The first recorded exception is the evidence RCA wants; keep its attributes.
                if let Some(ev) = s.events.into_iter().find(|e| e.name == "exception") {
                    for kv in ev.attributes {
                        attributes.entry(kv.key).or_insert_with(|| value_json(kv.value));
                    }
                }
                let span = Span {
                    trace_id,
                    span_id,
                    parent_span_id: hex_id(&s.parent_span_id),
                    service: res.service.clone(),
                    operation: s.name,
                    start,
                    duration: DurationNs(end.0 - start.0),
                    status: if status_code == Some(2) {
                        SpanStatus::Error
                    } else {
                        SpanStatus::Ok
                    },
                    attributes,
                };
                b.span(span, &at)?;
            }
        }
    }
    Ok(b.finish())
}

fn span_kind(kind: i32) -> Option<&'static str> {
    Some(match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => return None,
    })
}

/// Parses an OTLP `ExportMetricsServiceRequest`.
pub(crate) fn parse_metrics(enc: Encoding, body: &[u8], limits: &Limits) -> Result<Batch, IngestError> {
    let format = Format::OtlpMetrics(enc);
    let req: ExportMetricsServiceRequest = decode(format, enc, body, limits, wire::count_points)?;
    let mut b = Builder::new(format, limits);
    for (ri, rm) in req.resource_metrics.iter().enumerate() {
        let res = ResourceInfo::of(rm.resource.as_ref());
        for (si, sm) in rm.scope_metrics.iter().enumerate() {
            for (mi, m) in sm.metrics.iter().enumerate() {
                let base = || format!("/resourceMetrics/{ri}/scopeMetrics/{si}/metrics/{mi}");
                if m.name.is_empty() {
                    return Err(IngestError::invalid(
                        format,
                        base(),
                        "name",
                        "",
                        "empty metric name",
                    ));
                }
                let mut sink = PointSink {
                    b: &mut b,
                    res: &res,
                    name: &m.name,
                    format,
                };
                use messages::metric::Data;
                match &m.data {
                    None => {}
                    Some(Data::Gauge(g)) => sink.numbers(&g.data_points, &|| format!("{}/gauge", base()))?,
                    Some(Data::Sum(s)) => sink.numbers(&s.data_points, &|| format!("{}/sum", base()))?,
                    Some(Data::Histogram(h)) => {
                        for (pi, p) in h.data_points.iter().enumerate() {
                            let at = || format!("{}/histogram/dataPoints/{pi}", base());
                            sink.histogram(p, &at)?;
                        }
                    }
                    Some(Data::ExponentialHistogram(h)) => {
                        for (pi, p) in h.data_points.iter().enumerate() {
                            let at = || format!("{}/exponentialHistogram/dataPoints/{pi}", base());
                            let (ts, labels) = sink.prepare(&p.attributes, p.time_unix_nano, &at)?;
                            let missing = p.flags & 1 == 1;
                            sink.emit("_count", &labels, None, ts, p.count as f64, missing, &at)?;
                            for (suffix, v) in [("_sum", p.sum), ("_min", p.min), ("_max", p.max)] {
                                if let Some(v) = v {
                                    sink.emit(suffix, &labels, None, ts, v, missing, &at)?;
                                }
                            }
                        }
                    }
                    Some(Data::Summary(s)) => {
                        for (pi, p) in s.data_points.iter().enumerate() {
                            let at = || format!("{}/summary/dataPoints/{pi}", base());
                            let (ts, labels) = sink.prepare(&p.attributes, p.time_unix_nano, &at)?;
                            let missing = p.flags & 1 == 1;
                            sink.emit("_count", &labels, None, ts, p.count as f64, missing, &at)?;
                            sink.emit("_sum", &labels, None, ts, p.sum, missing, &at)?;
                            for q in &p.quantile_values {
                                let ql = ("quantile", fmt_f64(q.quantile));
                                sink.emit("", &labels, Some(ql), ts, q.value, missing, &at)?;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(b.finish())
}

struct PointSink<'a, 'l> {
    b: &'a mut Builder<'l>,
    res: &'a ResourceInfo,
    name: &'a str,
    format: Format,
}

impl PointSink<'_, '_> {
    fn numbers(&mut self, points: &[NumberDataPoint], base: &dyn Fn() -> String) -> Result<(), IngestError> {
        use messages::number_data_point::Value;
        // Points of one metric with equal attributes are one series: resolve each attribute
        // set once (hash, then compare with the first point that had it) instead of building
        // a key per point. Buckets are capped so that crafted collisions stay linear.
        let mut cache: FxHashMap<u64, Vec<(usize, usize)>> = FxHashMap::default();
        for (pi, p) in points.iter().enumerate() {
            let at = || format!("{}/dataPoints/{pi}", base());
            let h = hash_attributes(&p.attributes);
            let hit = cache
                .get(&h)
                .and_then(|c| {
                    c.iter()
                        .find(|(first, _)| points[*first].attributes == p.attributes)
                })
                .map(|&(_, idx)| idx);
            let (ts, idx) = match hit {
                Some(idx) => (time(self.format, &at, "timeUnixNano", p.time_unix_nano)?, idx),
                None => {
                    let (ts, labels) = self.prepare(&p.attributes, p.time_unix_nano, &at)?;
                    let idx = self.b.series(self.key("", &labels, None), &at)?;
                    let bucket = cache.entry(h).or_default();
                    if bucket.len() < 8 {
                        bucket.push((pi, idx));
                    }
                    (ts, idx)
                }
            };
            let v = match p.value {
                _ if p.flags & 1 == 1 => f64::NAN,
                Some(Value::AsDouble(d)) => d,
                Some(Value::AsInt(i)) => i as f64,
                None => f64::NAN,
            };
            self.b.push_point(idx, ts, v, at)?;
        }
        Ok(())
    }

    fn histogram(&mut self, p: &HistogramDataPoint, at: &dyn Fn() -> String) -> Result<(), IngestError> {
        let (ts, labels) = self.prepare(&p.attributes, p.time_unix_nano, at)?;
        let missing = p.flags & 1 == 1;
        if !p.bucket_counts.is_empty() && p.bucket_counts.len() != p.explicit_bounds.len() + 1 {
            return Err(IngestError::invalid(
                self.format,
                at(),
                "bucketCounts",
                &p.bucket_counts.len().to_string(),
                format!(
                    "expected {} buckets for {} bounds",
                    p.explicit_bounds.len() + 1,
                    p.explicit_bounds.len()
                ),
            ));
        }
        self.emit("_count", &labels, None, ts, p.count as f64, missing, at)?;
        for (suffix, v) in [("_sum", p.sum), ("_min", p.min), ("_max", p.max)] {
            if let Some(v) = v {
                self.emit(suffix, &labels, None, ts, v, missing, at)?;
            }
        }
        let mut cumulative = 0u64;
        for (i, c) in p.bucket_counts.iter().enumerate() {
            cumulative = cumulative.saturating_add(*c);
            let le = p
                .explicit_bounds
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| fmt_f64(*b));
            self.emit(
                "_bucket",
                &labels,
                Some(("le", le)),
                ts,
                cumulative as f64,
                missing,
                at,
            )?;
        }
        Ok(())
    }

    /// The point's time and its labels (instance labels + attributes, service removed).
    fn prepare(
        &self,
        attributes: &[KeyValue],
        nanos: u64,
        at: &dyn Fn() -> String,
    ) -> Result<(Timestamp, Labels), IngestError> {
        let ts = time(self.format, at, "timeUnixNano", nanos)?;
        if attributes.len() + self.res.instance.len() > self.b.limits().max_labels {
            return Err(IngestError::invalid(
                self.format,
                at(),
                "attributes",
                &attributes.len().to_string(),
                format!("more than {} labels", self.b.limits().max_labels),
            ));
        }
        let mut labels = self.res.instance.clone();
        for kv in attributes {
            labels.insert(&kv.key, &value_text(kv.value.as_ref()));
        }
        Ok((ts, labels))
    }

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        suffix: &str,
        labels: &Labels,
        extra: Option<(&str, String)>,
        ts: Timestamp,
        value: f64,
        missing: bool,
        at: &dyn Fn() -> String,
    ) -> Result<(), IngestError> {
        let key = self.key(suffix, labels, extra);
        let v = if missing { f64::NAN } else { value };
        self.b.point(key, ts, v, at)
    }

    fn key(&self, suffix: &str, labels: &Labels, extra: Option<(&str, String)>) -> SeriesKey {
        let mut labels = labels.clone();
        if let Some((k, v)) = extra {
            labels.insert(k, &v);
        }
        SeriesKey {
            service: self.res.service.clone(),
            metric: format!("{}{suffix}", self.name),
            labels,
        }
    }
}

/// What a resource says about every record under it.
struct ResourceInfo {
    service: ServiceId,
    instance: Labels,
}

impl ResourceInfo {
    fn of(resource: Option<&Resource>) -> Self {
        let attrs = resource.map(|r| r.attributes.as_slice()).unwrap_or_default();
        let text = |name: &str| {
            attrs
                .iter()
                .find(|kv| kv.key == name)
                .map(|kv| value_text(kv.value.as_ref()))
                .filter(|s| !s.is_empty())
        };
        let service = ServiceId::new(text("service.name").as_deref().unwrap_or(UNKNOWN_SERVICE));
        let mut instance = Labels::new();
        for name in INSTANCE_ATTRIBUTES {
            if let Some(v) = text(name) {
                instance.insert(name, &v);
            }
        }
        Self { service, instance }
    }

    fn copy_instance(&self, attributes: &mut BTreeMap<String, Json>) {
        for (k, v) in self.instance.iter() {
            attributes.insert(k.to_owned(), Json::String(v.to_owned()));
        }
    }
}

fn time(format: Format, at: &dyn Fn() -> String, field: &str, nanos: u64) -> Result<Timestamp, IngestError> {
    if nanos == 0 {
        return Err(IngestError::invalid(
            format,
            at(),
            field,
            "0",
            "missing timestamp",
        ));
    }
    i64::try_from(nanos)
        .map(Timestamp)
        .map_err(|_| IngestError::invalid(format, at(), field, &nanos.to_string(), "after year 2262"))
}

/// A hash of an attribute list (keys and values, in order).
fn hash_attributes(attrs: &[KeyValue]) -> u64 {
    use std::hash::Hasher;
    fn value(v: Option<&AnyValue>, h: &mut rustc_hash::FxHasher) {
        match v.and_then(|v| v.value.as_ref()) {
            None => h.write_u8(0),
            Some(Any::StringValue(s)) => {
                h.write_u8(1);
                h.write(s.as_bytes());
            }
            Some(Any::BoolValue(b)) => h.write_u8(2 + u8::from(*b)),
            Some(Any::IntValue(i)) => h.write_i64(*i),
            Some(Any::DoubleValue(d)) => h.write_u64(d.to_bits()),
            Some(Any::ArrayValue(a)) => {
                h.write_usize(a.values.len());
                for v in &a.values {
                    value(Some(v), h);
                }
            }
            Some(Any::KvlistValue(kv)) => {
                h.write_usize(kv.values.len());
                for e in &kv.values {
                    h.write(e.key.as_bytes());
                    value(e.value.as_ref(), h);
                }
            }
            Some(Any::BytesValue(b)) => h.write(b),
        }
    }
    let mut h = rustc_hash::FxHasher::default();
    for kv in attrs {
        h.write(kv.key.as_bytes());
        h.write_u8(0xff);
        value(kv.value.as_ref(), &mut h);
    }
    h.finish()
}

/// Lower-case hex of an id; `None` when empty or all zeros (OTLP's "no id").
fn hex_id(bytes: &[u8]) -> Option<String> {
    if bytes.iter().all(|&b| b == 0) {
        return None;
    }
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    Some(s)
}

fn value_json(v: Option<AnyValue>) -> Json {
    v.and_then(|v| v.value).map_or(Json::Null, any_json)
}

fn any_json(v: Any) -> Json {
    match v {
        Any::StringValue(s) => Json::String(s),
        Any::BoolValue(b) => Json::Bool(b),
        Any::IntValue(i) => Json::from(i),
        Any::DoubleValue(d) => {
            serde_json::Number::from_f64(d).map_or_else(|| Json::String(fmt_f64(d)), Json::Number)
        }
        Any::ArrayValue(a) => Json::Array(a.values.into_iter().map(|v| value_json(Some(v))).collect()),
        Any::KvlistValue(kv) => Json::Object(
            kv.values
                .into_iter()
                .map(|e| (e.key, value_json(e.value)))
                .collect(),
        ),
        Any::BytesValue(b) => Json::String(hex_id(&b).unwrap_or_else(|| "00".repeat(b.len()))),
    }
}

/// The text of a value as a label: strings as they are, everything else as JSON.
fn value_text(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(Any::StringValue(s)) => s.clone(),
        Some(other) => json_text(any_json(other.clone())),
    }
}

fn json_text(v: Json) -> String {
    match v {
        Json::String(s) => s,
        other => other.to_string(),
    }
}

/// A float as Prometheus writes `le` / `quantile` values (`0.5`, `1`, `+Inf`).
pub(crate) fn fmt_f64(v: f64) -> String {
    if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lower_hex_and_zero_is_none() {
        assert_eq!(hex_id(&[0x0a, 0xf7]).as_deref(), Some("0af7"));
        assert_eq!(hex_id(&[0, 0]), None);
        assert_eq!(hex_id(&[]), None);
    }

    #[test]
    fn protobuf_round_trip_of_a_log_record() {
        let req = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![KeyValue {
                        key: "service.name".into(),
                        value: Some(AnyValue {
                            value: Some(Any::StringValue("cart".into())),
                        }),
                    }],
                }),
                scope_logs: vec![ScopeLogs {
                    scope: None,
                    log_records: vec![messages::LogRecord {
                        time_unix_nano: 1_715_682_727_412_000_000,
                        severity_number: 17,
                        body: Some(AnyValue {
                            value: Some(Any::StringValue("redis: nil".into())),
                        }),
                        trace_id: vec![1; 16],
                        ..Default::default()
                    }],
                }],
            }],
        };
        let body = req.encode_to_vec();
        let b = parse_logs(Encoding::Protobuf, &body, &Limits::default()).unwrap();
        assert_eq!(b.logs.len(), 1);
        assert_eq!(b.logs[0].service.as_str(), "cart");
        assert_eq!(b.logs[0].severity, Severity::Error);
        assert_eq!(
            b.logs[0].trace_id.as_deref(),
            Some("01010101010101010101010101010101")
        );
    }
}

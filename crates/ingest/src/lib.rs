//! # faultline-ingest
//!
//! Parsers of the wire formats observability tools speak into faultline's signals: one entry
//! point, [`parse`], turns a request body of a given [`Format`] into a [`Batch`] (metric points
//! grouped per series, log records, spans, change events, alerts) or an [`IngestError`] that
//! names the offending record, field and value and maps onto an RFC 9457 problem document.
//!
//! Formats: faultline's JSON batch, OTLP/HTTP logs, metrics and traces (JSON and protobuf),
//! Prometheus text exposition and remote-write, Alertmanager / Grafana webhooks, Telegraf
//! JSON, Sentry webhooks, Kubernetes events and deploy/change events. See `docs/ingest.md` for
//! each format's mapping and the decisions behind it.
//!
//! Bodies are validated as a whole (the first bad record refuses the batch) and bounded by
//! [`Limits`]: hostile input never panics, and memory is bounded by the limits (records are
//! counted on the wire before a protobuf decoder allocates them).
//!
//! ```
//! use faultline_ingest::{parse, Format, Limits};
//!
//! let body = br#"{"metrics": [{"ts": "2024-05-14T10:30:00Z", "service": "checkout",
//!                              "metric": "latency_p99_ms", "value": 6020.0}],
//!                "logs": [{"ts": "2024-05-14T10:30:01Z", "service": "checkout",
//!                          "severity": "ERROR", "body": "payment timed out"}]}"#;
//! let batch = parse(Format::Batch, body, &Limits::default()).unwrap();
//! let counts = batch.counts();
//! assert_eq!((counts.series, counts.points, counts.logs), (1, 1, 1));
//! ```
//!
//! Main types: [`Format`] (with [`Format::from_content_type`]), [`Limits`], [`Batch`] /
//! [`Counts`], [`IngestError`].

pub mod alertmanager;
mod batch;
mod change_events;
mod error;
mod faultline_batch;
mod format;
mod json;
mod kubernetes;
mod limits;
pub mod otlp;
pub mod prometheus;
mod sentry;
mod telegraf;

pub use batch::{Batch, Counts, SERVICE_LABELS, UNKNOWN_SERVICE};
pub use error::{IngestError, MAX_QUOTED_BYTES};
pub use format::{Encoding, Format, UnknownFormat};
pub use limits::{InvalidLimits, Limits};

/// Parses one request body of `format` into a [`Batch`], validating it as a whole.
///
/// The body is the payload as sent, except for HTTP `Content-Encoding` (gzip), which the
/// transport removes; remote-write's snappy block compression is part of its format and is
/// handled here.
///
/// ```
/// use faultline_ingest::{parse, Format, Limits};
/// let body = br#"{"version":"4","status":"firing","alerts":[{"status":"firing",
///   "labels":{"alertname":"CheckoutLatencyHigh","service":"checkout"},
///   "annotations":{"summary":"p99 above 1.5s"},
///   "startsAt":"2024-05-14T10:32:30.512Z","endsAt":"0001-01-01T00:00:00Z"}]}"#;
/// let batch = parse(Format::Alertmanager, body, &Limits::default()).unwrap();
/// assert_eq!(batch.alerts[0].service().unwrap().as_str(), "checkout");
/// assert_eq!(batch.alerts[0].ends_at, None);
/// ```
pub fn parse(format: Format, body: &[u8], limits: &Limits) -> Result<Batch, IngestError> {
    parse_with(format, body, limits, &Context::now())
}

/// Facts about a request that a body may leave out: when it was received (the time of samples
/// without a timestamp) and which service sent it (for series that name none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Time given to records that carry none (Prometheus text samples, Telegraf metrics).
    pub received_at: faultline_core::Timestamp,
    /// Service of series and records that name none (e.g. from a push route's `job`).
    pub default_service: Option<faultline_core::ServiceId>,
}

impl Context {
    /// Received now (the system clock), no default service.
    pub fn now() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        Self {
            received_at: faultline_core::Timestamp(nanos),
            default_service: None,
        }
    }
}

/// [`parse`] with an explicit [`Context`]: deterministic, as the clock is not read.
///
/// ```
/// use faultline_core::{ServiceId, Timestamp};
/// use faultline_ingest::{parse_with, Context, Format, Limits};
/// let ctx = Context { received_at: Timestamp::from_secs(1_715_682_780), default_service: Some(ServiceId::new("redis")) };
/// let body = b"# TYPE redis_connected_clients gauge\nredis_connected_clients{instance=\"redis-0:9121\"} 9830\n";
/// let batch = parse_with(Format::PrometheusText, body, &Limits::default(), &ctx).unwrap();
/// assert_eq!(batch.series[0].key.service.as_str(), "redis");
/// assert_eq!(batch.series[0].timestamps[0], ctx.received_at);
/// ```
pub fn parse_with(format: Format, body: &[u8], limits: &Limits, ctx: &Context) -> Result<Batch, IngestError> {
    if body.len() > limits.max_body_bytes {
        return Err(IngestError::BodyTooLarge {
            bytes: body.len(),
            max: limits.max_body_bytes,
        });
    }
    match format {
        Format::Batch => faultline_batch::parse(body, limits),
        Format::Alertmanager => alertmanager::parse(body, limits),
        Format::OtlpLogs(enc) => otlp::parse_logs(enc, body, limits),
        Format::OtlpMetrics(enc) => otlp::parse_metrics(enc, body, limits),
        Format::OtlpTraces(enc) => otlp::parse_traces(enc, body, limits),
        Format::PrometheusText => prometheus::parse_text(body, limits, ctx),
        Format::PrometheusRemoteWrite => prometheus::parse_remote_write(body, limits, ctx),
        Format::Telegraf => telegraf::parse(body, limits, ctx),
        Format::Sentry => sentry::parse(body, limits),
        Format::KubernetesEvents => kubernetes::parse(body, limits),
        Format::ChangeEvents => change_events::parse(body, limits),
    }
}

//! [`Format`]: which wire format a body is in, from a name or from a request's path and
//! content type.

use std::fmt;
use std::str::FromStr;

use crate::IngestError;

/// How an OTLP body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// The OTLP JSON mapping (`application/json`).
    Json,
    /// Binary protobuf (`application/x-protobuf`).
    Protobuf,
}

/// A wire format this crate parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// faultline's own JSON batch (`POST /v1/signals/ingest`): `metrics` points, `series`,
    /// `logs`, `events`, `spans`, `alerts` in the core types' serde shapes.
    Batch,
    /// OTLP/HTTP `ExportLogsServiceRequest` (`/v1/logs`).
    OtlpLogs(Encoding),
    /// OTLP/HTTP `ExportMetricsServiceRequest` (`/v1/metrics`).
    OtlpMetrics(Encoding),
    /// OTLP/HTTP `ExportTraceServiceRequest` (`/v1/traces`).
    OtlpTraces(Encoding),
    /// Prometheus text exposition format 0.0.4.
    PrometheusText,
    /// Prometheus remote-write 1.0: snappy-compressed protobuf `WriteRequest`.
    PrometheusRemoteWrite,
    /// Alertmanager webhook (version 4), and Grafana's webhook built on it.
    Alertmanager,
    /// Telegraf `json` serializer output (one metric or the batch form `{"metrics": [...]}`).
    Telegraf,
    /// Sentry integration-platform webhook (issue alert / event alert).
    Sentry,
    /// Kubernetes `v1 Event`s (a `List`, one event, or a watch stream), or Pods whose
    /// container statuses say `OOMKilled`.
    KubernetesEvents,
    /// Deploy / change events (`POST /v1/events`): one object, an array, or JSON lines.
    ChangeEvents,
}

const NAMES: &[(&str, Format)] = &[
    ("batch", Format::Batch),
    ("otlp-logs-json", Format::OtlpLogs(Encoding::Json)),
    ("otlp-logs-protobuf", Format::OtlpLogs(Encoding::Protobuf)),
    ("otlp-metrics-json", Format::OtlpMetrics(Encoding::Json)),
    ("otlp-metrics-protobuf", Format::OtlpMetrics(Encoding::Protobuf)),
    ("otlp-traces-json", Format::OtlpTraces(Encoding::Json)),
    ("otlp-traces-protobuf", Format::OtlpTraces(Encoding::Protobuf)),
    ("prometheus-text", Format::PrometheusText),
    ("prometheus-remote-write", Format::PrometheusRemoteWrite),
    ("alertmanager", Format::Alertmanager),
    ("telegraf", Format::Telegraf),
    ("sentry", Format::Sentry),
    ("kubernetes-events", Format::KubernetesEvents),
    ("change-events", Format::ChangeEvents),
];

impl Format {
    /// Every format, in a fixed order.
    pub fn all() -> impl Iterator<Item = Format> {
        NAMES.iter().map(|(_, f)| *f)
    }

    /// The stable name (`otlp-logs-protobuf`, `alertmanager`), as read by [`FromStr`].
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map(|(n, _)| *n)
            .expect("every format has a name in NAMES")
    }

    /// The format of a request from its path and `Content-Type`.
    ///
    /// | path ends with | content type | format |
    /// |---|---|---|
    /// | `/v1/logs`, `/v1/metrics`, `/v1/traces` | `application/json` or `application/x-protobuf` | OTLP |
    /// | `/api/v1/write`, `/v1/write` | `application/x-protobuf` | Prometheus remote-write |
    /// | any | `text/plain` (`version=0.0.4`), `application/openmetrics-text` | Prometheus text |
    /// | `/v1/signals/ingest` | JSON | [`Format::Batch`] |
    /// | `/v1/events` | JSON | [`Format::ChangeEvents`] |
    /// | `/alertmanager`, `/grafana`, `/telegraf`, `/sentry`, `/kubernetes` | JSON | that format |
    /// | a [`Format::name`] (`/v1/ingest/prometheus-remote-write`) | any | that format |
    ///
    /// ```
    /// use faultline_ingest::{Encoding, Format};
    /// assert_eq!(
    ///     Format::from_content_type("/v1/logs", "application/x-protobuf").unwrap(),
    ///     Format::OtlpLogs(Encoding::Protobuf)
    /// );
    /// assert_eq!(
    ///     Format::from_content_type("/v1/ingest/alertmanager", "application/json; charset=utf-8").unwrap(),
    ///     Format::Alertmanager
    /// );
    /// assert!(Format::from_content_type("/v1/logs", "image/png").is_err());
    /// ```
    pub fn from_content_type(path: &str, content_type: &str) -> Result<Format, IngestError> {
        let unsupported = || IngestError::UnsupportedMediaType {
            content_type: crate::error::truncate(content_type),
        };
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let is_json = mime == "application/json" || mime.ends_with("+json") || mime == "application/x-ndjson";
        let is_proto = matches!(
            mime.as_str(),
            "application/x-protobuf" | "application/protobuf" | "application/vnd.google.protobuf"
        );
        let is_text = mime == "text/plain" || mime == "application/openmetrics-text";
        let path = path.split('?').next().unwrap_or_default().trim_end_matches('/');
        let last = path.rsplit('/').next().unwrap_or_default();
        let encoding = if is_json {
            Some(Encoding::Json)
        } else if is_proto {
            Some(Encoding::Protobuf)
        } else {
            None
        };
        if path.ends_with("/v1/logs") || path.ends_with("/v1/metrics") || path.ends_with("/v1/traces") {
            let enc = encoding.ok_or_else(unsupported)?;
            return Ok(match last {
                "logs" => Format::OtlpLogs(enc),
                "metrics" => Format::OtlpMetrics(enc),
                _ => Format::OtlpTraces(enc),
            });
        }
        // A format named by the path's last segment (`/v1/ingest/prometheus-remote-write`).
        if let Ok(named) = last.parse::<Format>() {
            return Ok(named);
        }
        if path.ends_with("/write") && is_proto {
            return Ok(Format::PrometheusRemoteWrite);
        }
        if is_text {
            return Ok(Format::PrometheusText);
        }
        if !is_json {
            return Err(unsupported());
        }
        if path.ends_with("/v1/signals/ingest") {
            return Ok(Format::Batch);
        }
        if path.ends_with("/v1/events") {
            return Ok(Format::ChangeEvents);
        }
        match last {
            "grafana" => Ok(Format::Alertmanager),
            "kubernetes" | "k8s" => Ok(Format::KubernetesEvents),
            other => other.parse().map_err(|_| unsupported()),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of [`Format::name`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ingest format {0:?}")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, f)| *f)
            .ok_or_else(|| UnknownFormat(crate::error::truncate(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Format::all() {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
        }
        assert!("nope".parse::<Format>().is_err());
    }

    #[test]
    fn routes_and_content_types() {
        let ct = |p, c| Format::from_content_type(p, c).ok();
        assert_eq!(
            ct("/v1/metrics", "application/json"),
            Some(Format::OtlpMetrics(Encoding::Json))
        );
        assert_eq!(
            ct("/otlp/v1/traces/", "application/x-protobuf"),
            Some(Format::OtlpTraces(Encoding::Protobuf))
        );
        assert_eq!(
            ct("/api/v1/write", "application/x-protobuf"),
            Some(Format::PrometheusRemoteWrite)
        );
        assert_eq!(
            ct("/metrics/job/x", "text/plain; version=0.0.4"),
            Some(Format::PrometheusText)
        );
        assert_eq!(ct("/v1/signals/ingest", "application/json"), Some(Format::Batch));
        assert_eq!(ct("/v1/events", "application/json"), Some(Format::ChangeEvents));
        assert_eq!(ct("/v1/ingest/sentry", "application/json"), Some(Format::Sentry));
        assert_eq!(
            ct("/v1/ingest/sentry", "text/html"),
            Some(Format::Sentry),
            "a name in the path wins"
        );
        assert_eq!(ct("/v1/ingest/unknown", "application/json"), None);
        assert_eq!(
            ct("/v1/ingest/prometheus-remote-write", "application/x-protobuf"),
            Some(Format::PrometheusRemoteWrite)
        );
        assert_eq!(
            ct("/v1/ingest/otlp-logs-protobuf", "application/octet-stream"),
            Some(Format::OtlpLogs(Encoding::Protobuf))
        );
    }
}

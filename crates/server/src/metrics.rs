//! The server's own counters, exposed in the Prometheus text format at `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters and gauges of the server (not of the monitored systems).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests by status class: 2xx, 3xx, 4xx, 5xx.
    pub responses: [AtomicU64; 4],
    /// Requests being served now.
    pub in_flight: AtomicU64,
    /// Batches committed.
    pub ingest_batches: AtomicU64,
    /// Batches refused (parse or validation).
    pub ingest_rejected: AtomicU64,
    /// Metric points committed.
    pub ingest_points: AtomicU64,
    /// Log records committed.
    pub ingest_logs: AtomicU64,
    /// Spans committed.
    pub ingest_spans: AtomicU64,
    /// Events and alerts committed.
    pub ingest_events: AtomicU64,
    /// Responses replayed for a reused Idempotency-Key.
    pub idempotent_replays: AtomicU64,
    /// Requests refused by the rate limiter.
    pub rate_limited: AtomicU64,
    /// Analyses run.
    pub analyses: AtomicU64,
    /// Total analysis time, microseconds.
    pub analysis_micros: AtomicU64,
    /// Total time spent committing batches, microseconds.
    pub ingest_commit_micros: AtomicU64,
    /// Points waiting for online detection.
    pub online_queue: AtomicU64,
    /// Points scored by online detection.
    pub online_points: AtomicU64,
    /// Series batches in which a point crossed the threshold.
    pub online_anomalies: AtomicU64,
    /// Points shed by online detection (queue over its bounds, series beyond `max_series`);
    /// never by storage.
    pub online_dropped: AtomicU64,
    /// Incidents opened by online detection.
    pub auto_incidents: AtomicU64,
    /// Log lines waiting for online mining.
    pub online_log_queue: AtomicU64,
    /// Log lines mined online.
    pub online_log_lines: AtomicU64,
    /// Log lines not mined (queue over its bound, services beyond `max_services`); never by
    /// storage.
    pub online_log_shed: AtomicU64,
    /// New error templates and error-template spikes found online.
    pub online_log_anomalies: AtomicU64,
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    /// Counts a response.
    pub fn response(&self, status: u16) {
        let i = match status {
            200..=299 => 0,
            300..=399 => 1,
            400..=499 => 2,
            _ => 3,
        };
        add(&self.responses[i], 1);
    }

    /// Counts a committed batch.
    pub fn ingested(&self, c: &crate::store::IngestCounts, commit_micros: u64) {
        add(&self.ingest_batches, 1);
        add(&self.ingest_points, c.points);
        add(&self.ingest_logs, c.logs);
        add(&self.ingest_spans, c.spans);
        add(&self.ingest_events, c.events + c.alerts);
        add(&self.ingest_commit_micros, commit_micros);
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut s = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter(
            "faultline_ingest_batches_total",
            "Batches committed to the store.",
            g(&self.ingest_batches),
        );
        counter(
            "faultline_ingest_rejected_total",
            "Batches refused as invalid.",
            g(&self.ingest_rejected),
        );
        counter(
            "faultline_ingest_points_total",
            "Metric points committed.",
            g(&self.ingest_points),
        );
        counter(
            "faultline_ingest_logs_total",
            "Log records committed.",
            g(&self.ingest_logs),
        );
        counter(
            "faultline_ingest_spans_total",
            "Spans committed.",
            g(&self.ingest_spans),
        );
        counter(
            "faultline_ingest_events_total",
            "Change events and alerts committed.",
            g(&self.ingest_events),
        );
        counter(
            "faultline_idempotent_replays_total",
            "Responses replayed for a reused Idempotency-Key.",
            g(&self.idempotent_replays),
        );
        counter(
            "faultline_rate_limited_total",
            "Requests refused by the rate limiter.",
            g(&self.rate_limited),
        );
        counter(
            "faultline_analyses_total",
            "Incident analyses run.",
            g(&self.analyses),
        );
        counter(
            "faultline_online_points_total",
            "Points scored by online detection.",
            g(&self.online_points),
        );
        counter(
            "faultline_online_anomalies_total",
            "Series batches with a point over the threshold.",
            g(&self.online_anomalies),
        );
        counter(
            "faultline_online_shed_points_total",
            "Points not scored by online detection (queue over its bounds, series beyond max_series); all are stored.",
            g(&self.online_dropped),
        );
        counter(
            "faultline_online_log_lines_total",
            "Log lines mined by online log mining.",
            g(&self.online_log_lines),
        );
        counter(
            "faultline_online_log_shed_lines_total",
            "Log lines not mined online (queue over its bound, services beyond max_services); all are stored.",
            g(&self.online_log_shed),
        );
        counter(
            "faultline_online_log_anomalies_total",
            "New error templates and error-template spikes found by online log mining.",
            g(&self.online_log_anomalies),
        );
        counter(
            "faultline_auto_incidents_total",
            "Incidents opened by online detection.",
            g(&self.auto_incidents),
        );
        let _ = writeln!(
            s,
            "# HELP faultline_analysis_seconds_total Time spent analysing incidents.\n# TYPE faultline_analysis_seconds_total counter\nfaultline_analysis_seconds_total {}",
            g(&self.analysis_micros) as f64 / 1e6
        );
        let _ = writeln!(
            s,
            "# HELP faultline_ingest_commit_seconds_total Time spent committing batches.\n# TYPE faultline_ingest_commit_seconds_total counter\nfaultline_ingest_commit_seconds_total {}",
            g(&self.ingest_commit_micros) as f64 / 1e6
        );
        let _ = writeln!(s, "# HELP faultline_http_responses_total Responses by status class.\n# TYPE faultline_http_responses_total counter");
        for (i, class) in ["2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
            let _ = writeln!(
                s,
                "faultline_http_responses_total{{class=\"{class}\"}} {}",
                g(&self.responses[i])
            );
        }
        let _ = writeln!(
            s,
            "# HELP faultline_online_queue_points Points waiting for online detection.\n# TYPE faultline_online_queue_points gauge\nfaultline_online_queue_points {}",
            g(&self.online_queue)
        );
        let _ = writeln!(
            s,
            "# HELP faultline_online_log_queue_lines Log lines waiting for online mining.\n# TYPE faultline_online_log_queue_lines gauge\nfaultline_online_log_queue_lines {}",
            g(&self.online_log_queue)
        );
        let _ = writeln!(
            s,
            "# HELP faultline_http_in_flight Requests being served.\n# TYPE faultline_http_in_flight gauge\nfaultline_http_in_flight {}",
            g(&self.in_flight)
        );
        s
    }
}

//! The live hub behind `GET /v1/stream`: what the server does, as it happens, fanned out to
//! every connected client.
//!
//! Publishers (online detection, the incident and fix routes) call [`LiveHub::publish`] with a
//! [`EventType`] and a JSON payload. Every event gets the next id of a counter that starts at
//! the server's start time in microseconds since the epoch, so ids only grow, also across
//! restarts. The hub keeps the last [`RING_EVENTS`] events in a ring (for `Last-Event-ID`
//! resume) and sends each to a `tokio::sync::broadcast` channel of [`CHANNEL_EVENTS`] slots
//! that every client reads at its own pace: a client that falls more than that many events
//! behind is told how many it skipped (a `lagged` event) and continues with the newest.
//!
//! Publishing never blocks and never fails the caller: with no client connected an event only
//! enters the ring.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::{broadcast, watch};

/// Events kept for `Last-Event-ID` resume.
pub(crate) const RING_EVENTS: usize = 1024;
/// Events a client may fall behind before it skips (and gets a `lagged` event).
pub(crate) const CHANNEL_EVENTS: usize = 256;

/// The kinds of live events (the SSE `event:` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum EventType {
    /// Online detection scored a point over the threshold.
    Anomaly,
    /// An incident was opened (by a caller or by online detection).
    IncidentOpened,
    /// An incident was analysed (its report stored).
    IncidentAnalyzed,
    /// An incident was resolved.
    IncidentResolved,
    /// A fix plan changed state.
    PlanState,
}

impl EventType {
    /// Every type, for validating filters.
    pub(crate) const ALL: [EventType; 5] = [
        EventType::Anomaly,
        EventType::IncidentOpened,
        EventType::IncidentAnalyzed,
        EventType::IncidentResolved,
        EventType::PlanState,
    ];

    /// The wire name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            EventType::Anomaly => "anomaly",
            EventType::IncidentOpened => "incident.opened",
            EventType::IncidentAnalyzed => "incident.analyzed",
            EventType::IncidentResolved => "incident.resolved",
            EventType::PlanState => "plan.state",
        }
    }
}

/// One published event.
#[derive(Debug)]
pub(crate) struct LiveEvent {
    /// Monotonically increasing id (the SSE `id:` field).
    pub id: u64,
    /// Its type.
    pub kind: EventType,
    /// Compact JSON (one line).
    pub data: String,
}

/// Where a resuming client stands relative to the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gap {
    /// Nothing was missed (or no resume was asked for).
    None,
    /// This many events were evicted from the ring before the client came back.
    Skipped(u64),
    /// The resume point predates this server process: how much was missed is unknown.
    Unknown,
}

/// What a new client starts with.
pub(crate) struct Subscription {
    /// Events after the client's `Last-Event-ID` still in the ring, oldest first.
    pub backlog: Vec<Arc<LiveEvent>>,
    /// Whether events between its `Last-Event-ID` and the backlog were lost.
    pub gap: Gap,
    /// The live channel, subscribed atomically with taking the backlog (no event is both
    /// replayed and received, none falls between the two).
    pub rx: broadcast::Receiver<Arc<LiveEvent>>,
    /// Becomes true when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// Counts the client until dropped.
    pub guard: ClientGuard,
}

struct Ring {
    next_id: u64,
    events: VecDeque<Arc<LiveEvent>>,
}

struct Inner {
    first_id: u64,
    ring: Mutex<Ring>,
    tx: broadcast::Sender<Arc<LiveEvent>>,
    shutdown: watch::Sender<bool>,
    clients: AtomicU64,
    connections: AtomicU64,
    published: AtomicU64,
    sent: AtomicU64,
    lagged: AtomicU64,
}

/// The hub; cheap to clone (one shared inner).
#[derive(Clone)]
pub(crate) struct LiveHub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHub")
            .field("clients", &self.inner.clients.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Decrements the connected-clients gauge when the client's stream is dropped.
pub(crate) struct ClientGuard(Arc<Inner>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ClientGuard {
    /// Counts one event written to this client.
    pub(crate) fn sent(&self) {
        self.0.sent.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts one `lagged` notice written to this client.
    pub(crate) fn lagged(&self) {
        self.0.lagged.fetch_add(1, Ordering::Relaxed);
    }
}

impl Default for LiveHub {
    fn default() -> Self {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(1);
        Self::starting_at(micros.max(1))
    }
}

impl LiveHub {
    /// A hub whose first event gets id `first_id` (at least 1).
    pub(crate) fn starting_at(first_id: u64) -> Self {
        let (tx, _) = broadcast::channel(CHANNEL_EVENTS);
        let (shutdown, _) = watch::channel(false);
        Self {
            inner: Arc::new(Inner {
                first_id: first_id.max(1),
                ring: Mutex::new(Ring {
                    next_id: first_id.max(1),
                    events: VecDeque::with_capacity(RING_EVENTS),
                }),
                tx,
                shutdown,
                clients: AtomicU64::new(0),
                connections: AtomicU64::new(0),
                published: AtomicU64::new(0),
                sent: AtomicU64::new(0),
                lagged: AtomicU64::new(0),
            }),
        }
    }

    /// Publishes an event; returns its id. Never blocks on clients.
    pub(crate) fn publish(&self, kind: EventType, payload: &impl Serialize) -> u64 {
        let data = match serde_json::to_string(payload) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(event = kind.name(), error = %e, "live event not serialisable; dropped");
                return 0;
            }
        };
        let mut ring = self.inner.ring.lock().unwrap_or_else(|p| p.into_inner());
        let ev = Arc::new(LiveEvent {
            id: ring.next_id,
            kind,
            data,
        });
        ring.next_id += 1;
        if ring.events.len() == RING_EVENTS {
            ring.events.pop_front();
        }
        ring.events.push_back(ev.clone());
        // Sent under the ring lock so that channel order is id order; an error only means
        // that no client is connected.
        let _ = self.inner.tx.send(ev.clone());
        drop(ring);
        self.inner.published.fetch_add(1, Ordering::Relaxed);
        ev.id
    }

    /// A new client, resuming after `last_event_id` when given.
    pub(crate) fn subscribe(&self, last_event_id: Option<u64>) -> Subscription {
        let ring = self.inner.ring.lock().unwrap_or_else(|p| p.into_inner());
        let rx = self.inner.tx.subscribe();
        let (backlog, gap) = match last_event_id {
            None => (Vec::new(), Gap::None),
            Some(last) => {
                let backlog: Vec<_> = ring.events.iter().filter(|e| e.id > last).cloned().collect();
                let oldest = ring.events.front().map_or(ring.next_id, |e| e.id);
                let gap = if last.saturating_add(1) >= oldest || last >= ring.next_id {
                    Gap::None
                } else if last.saturating_add(1) < self.inner.first_id {
                    Gap::Unknown
                } else {
                    Gap::Skipped(oldest - last - 1)
                };
                (backlog, gap)
            }
        };
        drop(ring);
        self.inner.clients.fetch_add(1, Ordering::Relaxed);
        self.inner.connections.fetch_add(1, Ordering::Relaxed);
        Subscription {
            backlog,
            gap,
            rx,
            shutdown: self.inner.shutdown.subscribe(),
            guard: ClientGuard(self.inner.clone()),
        }
    }

    /// Ends every client's stream (graceful shutdown must not wait for them).
    pub(crate) fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
    }

    /// The hub's counters in the Prometheus text format, appended to `/metrics`.
    pub(crate) fn render_metrics(&self, out: &mut String) {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let i = &self.inner;
        let _ = writeln!(
            out,
            "# HELP faultline_stream_clients Clients connected to /v1/stream.\n# TYPE faultline_stream_clients gauge\nfaultline_stream_clients {}",
            g(&i.clients)
        );
        for (name, help, v) in [
            (
                "faultline_stream_connections_total",
                "Connections made to /v1/stream.",
                g(&i.connections),
            ),
            (
                "faultline_stream_events_published_total",
                "Live events published.",
                g(&i.published),
            ),
            (
                "faultline_stream_events_sent_total",
                "Live events written to stream clients (one per client).",
                g(&i.sent),
            ),
            (
                "faultline_stream_lagged_total",
                "Lagged notices sent to stream clients that fell behind.",
                g(&i.lagged),
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        }
    }

    /// Publishes an online-detection anomaly: the point of `series` at `index` scored
    /// `score` against the detector's `expected` value. The direction compares the point with
    /// it; without one (a detector still warming up), with the median of up to 30 points
    /// before it in the same batch.
    pub(crate) fn anomaly(
        &self,
        series: &faultline::core::Series,
        index: usize,
        score: f64,
        expected: Option<f64>,
    ) {
        let (Some(&time), Some(&value)) = (series.timestamps.get(index), series.values.get(index)) else {
            return;
        };
        let reference = expected.filter(|e| e.is_finite()).or_else(|| {
            let before = &series.values[index.saturating_sub(30)..index];
            let mut sorted: Vec<f64> = before.iter().copied().filter(|v| v.is_finite()).collect();
            sorted.sort_by(f64::total_cmp);
            sorted.get(sorted.len() / 2).copied()
        });
        let direction = reference.map(|r| faultline::core::Direction::of(value - r));
        self.publish(
            EventType::Anomaly,
            &serde_json::json!({
                "series": series.key.to_string(),
                "service": series.key.service.as_str(),
                "metric": series.key.metric,
                "time": time,
                "value": value,
                "expected": expected.filter(|e| e.is_finite()),
                "score": score,
                "severity": faultline::core::AnomalySeverity::from_score(score),
                "direction": direction,
            }),
        );
    }

    /// Publishes an opened incident.
    pub(crate) fn incident_opened(&self, incident: &faultline::core::Incident, automatic: bool) {
        self.publish(
            EventType::IncidentOpened,
            &serde_json::json!({"incident": incident, "automatic": automatic}),
        );
    }

    /// Publishes a stored analysis: the incident, how many hypotheses, and the top one.
    pub(crate) fn incident_analyzed(&self, report: &faultline::core::IncidentReport, elapsed_ms: f64) {
        let top = report.hypotheses.iter().min_by_key(|h| h.rank).map(|h| {
            serde_json::json!({
                "service": h.service.as_str(),
                "cause": h.cause.kind_name(),
                "statement": h.statement,
                "confidence": h.confidence,
            })
        });
        self.publish(
            EventType::IncidentAnalyzed,
            &serde_json::json!({
                "incident": report.incident.id,
                "title": report.incident.title,
                "hypotheses": report.hypotheses.len(),
                "anomalies": report.anomalies.len(),
                "top": top,
                "analysis_ms": elapsed_ms,
            }),
        );
    }

    /// Publishes a fix plan's state change (`from` is None for a new plan).
    pub(crate) fn plan_state(
        &self,
        plan: &faultline::core::FixPlan,
        from: Option<faultline::core::PlanState>,
        who: &str,
    ) {
        if from == Some(plan.state) {
            return;
        }
        self.publish(
            EventType::PlanState,
            &serde_json::json!({
                "plan": plan.id,
                "incident": plan.incident,
                "from": from,
                "to": plan.state,
                "by": who,
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[Arc<LiveEvent>]) -> Vec<u64> {
        v.iter().map(|e| e.id).collect()
    }

    #[test]
    fn ids_increase_and_clients_receive_in_order() {
        let hub = LiveHub::starting_at(100);
        let mut sub = hub.subscribe(None);
        let a = hub.publish(EventType::Anomaly, &serde_json::json!({"n": 1}));
        let b = hub.publish(EventType::PlanState, &serde_json::json!({"n": 2}));
        assert_eq!((a, b), (100, 101));
        assert_eq!(sub.rx.try_recv().unwrap().id, 100);
        let ev = sub.rx.try_recv().unwrap();
        assert_eq!(
            (ev.id, ev.kind, ev.data.as_str()),
            (101, EventType::PlanState, r#"{"n":2}"#)
        );
    }

    #[test]
    fn resume_replays_the_ring_after_the_last_id() {
        let hub = LiveHub::starting_at(1);
        for n in 0..5 {
            hub.publish(EventType::Anomaly, &n);
        }
        let sub = hub.subscribe(Some(3));
        assert_eq!(ids(&sub.backlog), vec![4, 5]);
        assert_eq!(sub.gap, Gap::None);
        assert!(hub.subscribe(Some(5)).backlog.is_empty());
        assert_eq!(hub.subscribe(Some(0)).backlog.len(), 5);
    }

    #[test]
    fn resume_past_the_ring_reports_the_evicted_count() {
        let hub = LiveHub::starting_at(1);
        for n in 0..(RING_EVENTS + 10) {
            hub.publish(EventType::Anomaly, &n);
        }
        // Ids 1..=10 were evicted; a client that saw id 4 missed 5..=10.
        let sub = hub.subscribe(Some(4));
        assert_eq!(sub.gap, Gap::Skipped(6));
        assert_eq!(sub.backlog.len(), RING_EVENTS);
        assert_eq!(sub.backlog[0].id, 11);
    }

    #[test]
    fn resume_from_an_earlier_process_is_unknown_gap() {
        let hub = LiveHub::starting_at(1_000);
        hub.publish(EventType::Anomaly, &1);
        let sub = hub.subscribe(Some(10));
        assert_eq!(sub.gap, Gap::Unknown);
        assert_eq!(ids(&sub.backlog), vec![1_000]);
    }

    #[test]
    fn slow_receiver_lags_and_continues() {
        let hub = LiveHub::starting_at(1);
        let mut sub = hub.subscribe(None);
        for n in 0..(CHANNEL_EVENTS + 5) {
            hub.publish(EventType::Anomaly, &n);
        }
        assert!(matches!(
            sub.rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(5))
        ));
        assert_eq!(sub.rx.try_recv().unwrap().id, 6);
    }

    #[test]
    fn clients_gauge_follows_guards() {
        let hub = LiveHub::starting_at(1);
        let a = hub.subscribe(None);
        let b = hub.subscribe(None);
        let mut m = String::new();
        hub.render_metrics(&mut m);
        assert!(m.contains("faultline_stream_clients 2"), "{m}");
        drop((a, b));
        let mut m = String::new();
        hub.render_metrics(&mut m);
        assert!(m.contains("faultline_stream_clients 0"), "{m}");
        assert!(m.contains("faultline_stream_connections_total 2"), "{m}");
    }

    #[test]
    fn anomaly_direction_compares_with_the_expected_value_else_the_preceding_median() {
        use faultline::core::{Series, SeriesKey};
        let hub = LiveHub::starting_at(1);
        let mut sub = hub.subscribe(None);
        let key = SeriesKey::new("checkout", "latency_ms");
        let ts: Vec<_> = (0..5).map(faultline::core::Timestamp::from_secs).collect();
        let s = Series::new(key, ts, vec![10.0, 11.0, 9.0, 10.0, 2.0]).unwrap();
        hub.anomaly(&s, 4, 0.97, None);
        let v: serde_json::Value = serde_json::from_str(&sub.rx.try_recv().unwrap().data).unwrap();
        assert_eq!(v["direction"], "down");
        assert_eq!(v["severity"], "critical");
        assert_eq!(v["service"], "checkout");
        assert!(v["expected"].is_null());
        // The detector's own expectation wins over the batch's median.
        hub.anomaly(&s, 4, 0.97, Some(1.5));
        let v: serde_json::Value = serde_json::from_str(&sub.rx.try_recv().unwrap().data).unwrap();
        assert_eq!(v["direction"], "up");
        assert_eq!(v["expected"], 1.5);
    }
}

//! Online detection on ingested metric streams, and automatic incident opening.
//!
//! After a batch is committed, its series are handed to one detection thread through a
//! bounded queue that **coalesces per series**: points of a series waiting for detection are
//! appended to that series' pending slice, so the thread scores each series' whole slice at
//! once (one detector lookup per series per round, a tight loop over the values) instead of
//! one batch at a time. Each round takes everything pending, so a point waits at most one
//! round plus its own scoring.
//!
//! The detector is exact and causal, one per series (at most `max_series`): by default
//! [`RobustZ`] (rolling median/MAD z-score over the last `window_samples` values, exact at
//! every sample — the detect crate's fastest exact online detector), or the NAB-tuned
//! [`StreamDetector`] (`detector.kind = "stream"`, ~40× slower per point).
//!
//! **Queue policy (load shedding).** Storage never loses accepted data: a batch is committed
//! before its series are queued, and the queue only ever drops work of *detection*. When a
//! series has more than `queue_points_per_series` points waiting, its oldest waiting points are
//! shed; when all series together have more than `queue_points` waiting, the incoming slice's
//! oldest points are shed (down to nothing when the rest of the queue fills it); a new series
//! beyond `max_series` is not scored. Newest data wins because an incident is about now. Shed
//! points are counted in `faultline_online_shed_points_total`; the detectors simply continue
//! with the next points they see. Points waiting are the gauge `faultline_online_queue_points`.
//!
//! When a point scores at least `score_threshold`, the server opens an incident for the
//! series' service — unless one was opened for that service within `cooldown_secs` — and
//! analyses it over the stored signals, on the async runtime. The cooldown is shared with
//! online log mining ([`crate::online_logs`], settings under `online.logs`), which runs on a
//! second thread and opens incidents through the same path.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};

use faultline::core::{
    DurationNs, Incident, IncidentId, IncidentStatus, Series, SeriesKey, ServiceId, TimeWindow, Timestamp,
};
use faultline::detect::{OnlineDetector, RobustZ, RobustZConfig, StreamConfig, StreamDetector};
use serde::{Deserialize, Serialize};

use crate::api::Shared;
use crate::online_logs::{LogLine, LogQueue, LogsConfig};
use crate::{Result, ServerError};

/// Settings of online detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnlineConfig {
    /// Whether ingested series are scored as they arrive.
    pub enabled: bool,
    /// Score in [0, 1] at which a point opens an incident.
    pub score_threshold: f64,
    /// Most series tracked (new series beyond it are not scored).
    pub max_series: usize,
    /// No second automatic incident for a service within this many seconds of the last.
    pub cooldown_secs: i64,
    /// Points waiting for detection over all series before incoming points are shed.
    pub queue_points: usize,
    /// Points of one series waiting for detection before its oldest are shed.
    pub queue_points_per_series: usize,
    /// Seconds of data before the anomaly in the automatic incident's window.
    pub lookback_secs: i64,
    /// The detector run on each series.
    pub detector: OnlineDetectorConfig,
    /// Online log mining (new error templates, error-template spikes).
    pub logs: LogsConfig,
}

impl Default for OnlineConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            score_threshold: 0.5,
            max_series: 5_000,
            cooldown_secs: 1800,
            queue_points: 1_000_000,
            queue_points_per_series: 65_536,
            lookback_secs: 3600,
            detector: OnlineDetectorConfig::default(),
            logs: LogsConfig::default(),
        }
    }
}

/// Which detector scores each series online (`kind` selects it; the other fields are that
/// detector's settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OnlineDetectorConfig {
    /// Exact rolling robust z-score ([`RobustZ`]); the default, with a 64-sample window, 5
    /// robust standard deviations scoring 0.5, and no score before 32 samples (a median and
    /// MAD of fewer samples are too unsteady: on uniform noise, a 10-sample cold start opened
    /// incidents).
    RobustZ(RobustZConfig),
    /// The NAB-tuned streaming detector behind `faultline detect` ([`StreamDetector`]).
    Stream(StreamConfig),
}

impl Default for OnlineDetectorConfig {
    fn default() -> Self {
        Self::RobustZ(RobustZConfig {
            threshold_sigma: 5.0,
            cold_start_samples: 32,
            ..RobustZConfig::default()
        })
    }
}

impl OnlineConfig {
    /// Checks the settings once.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.score_threshold) {
            return Err(ServerError::config("online.score_threshold", "must be in [0, 1]"));
        }
        if self.queue_points == 0 {
            return Err(ServerError::config("online.queue_points", "must be at least 1"));
        }
        if self.queue_points_per_series == 0 {
            return Err(ServerError::config(
                "online.queue_points_per_series",
                "must be at least 1",
            ));
        }
        self.logs.validate()?;
        match &self.detector {
            OnlineDetectorConfig::RobustZ(c) => c.validate(),
            OnlineDetectorConfig::Stream(c) => c.validate(),
        }
        .map_err(|e| ServerError::config("online.detector", e.to_string()))
    }
}

/// One series' detector.
enum Detector {
    Robust(Box<RobustZ>),
    Stream(Box<StreamDetector>),
}

impl Detector {
    fn new(cfg: &OnlineDetectorConfig) -> Option<Self> {
        match cfg {
            OnlineDetectorConfig::RobustZ(c) => RobustZ::try_new(c.clone())
                .ok()
                .map(|d| Self::Robust(Box::new(d))),
            OnlineDetectorConfig::Stream(c) => StreamDetector::try_new(c.clone())
                .ok()
                .map(|d| Self::Stream(Box::new(d))),
        }
    }

    /// Scores a whole slice; returns the index and score of its highest point at or above
    /// `threshold` (the first of equal ones), with the value the detector expected there.
    fn score(&mut self, values: &[f64], threshold: f64) -> Option<Fired> {
        fn run<D>(
            d: &mut D,
            values: &[f64],
            threshold: f64,
            update: impl Fn(&mut D, f64) -> f64,
            expected: impl Fn(&D) -> Option<f64>,
        ) -> Option<Fired> {
            let mut fired: Option<Fired> = None;
            for (i, &v) in values.iter().enumerate() {
                let score = update(d, v);
                if score >= threshold && fired.is_none_or(|f| score > f.score) {
                    fired = Some(Fired {
                        index: i,
                        score,
                        expected: expected(d),
                    });
                }
            }
            fired
        }
        match self {
            Self::Robust(d) => run(&mut **d, values, threshold, |d, v| d.update(v), |d| d.expected()),
            Self::Stream(d) => run(&mut **d, values, threshold, |d, v| d.update(v), |d| d.expected()),
        }
    }
}

/// The highest-scoring point of a slice that crossed the threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Fired {
    index: usize,
    score: f64,
    /// What the detector expected at that point (its baseline), when it had one.
    expected: Option<f64>,
}

/// Series waiting for detection, coalesced per key, in order of first arrival.
#[derive(Default)]
struct Pending {
    slices: Vec<Series>,
    index: HashMap<SeriesKey, usize>,
    points: usize,
    closed: bool,
}

struct Queue {
    pending: Mutex<Pending>,
    ready: Condvar,
    per_series: usize,
    total: usize,
    max_series: usize,
}

impl Queue {
    /// Adds committed series; returns how many points were shed (of these or of those
    /// already waiting).
    fn push(&self, series: Vec<Series>) -> usize {
        let Ok(mut p) = self.pending.lock() else {
            return series.iter().map(Series::len).sum();
        };
        let mut shed = 0;
        for s in series {
            let n = s.len();
            if n == 0 {
                continue;
            }
            let at = match p.index.get(&s.key) {
                Some(&i) => {
                    let slot = &mut p.slices[i];
                    slot.timestamps.extend_from_slice(&s.timestamps);
                    slot.values.extend_from_slice(&s.values);
                    i
                }
                None if p.slices.len() >= self.max_series => {
                    shed += n;
                    continue;
                }
                None => {
                    let i = p.slices.len();
                    p.index.insert(s.key.clone(), i);
                    p.slices.push(s);
                    i
                }
            };
            p.points += n;
            let over_series = p.slices[at].len().saturating_sub(self.per_series);
            let over_total = p.points.saturating_sub(self.total);
            let cut = over_series.max(over_total).min(p.slices[at].len());
            if cut > 0 {
                let slot = &mut p.slices[at];
                slot.timestamps.drain(..cut);
                slot.values.drain(..cut);
                p.points -= cut;
                shed += cut;
            }
        }
        drop(p);
        self.ready.notify_one();
        shed
    }

    /// Waits for work; takes everything pending (None once closed and drained).
    fn take(&self) -> Option<Vec<Series>> {
        let mut p = self.pending.lock().ok()?;
        while p.slices.is_empty() && !p.closed {
            p = self.ready.wait(p).ok()?;
        }
        if p.slices.is_empty() {
            return None;
        }
        p.index.clear();
        p.points = 0;
        Some(std::mem::take(&mut p.slices))
    }

    fn close(&self) {
        if let Ok(mut p) = self.pending.lock() {
            p.closed = true;
        }
        self.ready.notify_all();
    }
}

/// The detection queue's sending side.
pub(crate) struct Online {
    queue: Option<Arc<Queue>>,
    logs: Option<Arc<LogQueue>>,
}

/// Opens automatic incidents with a per-service cooldown shared by the metric and log
/// threads.
#[derive(Clone)]
pub(crate) struct Trigger {
    last_opened: Arc<Mutex<HashMap<ServiceId, Timestamp>>>,
    handle: tokio::runtime::Handle,
    cooldown_secs: i64,
    lookback_secs: i64,
}

impl Trigger {
    /// Opens (and analyses, on the runtime) an incident for `service` at `at` unless one was
    /// opened for it within the cooldown; returns whether it did.
    pub(crate) fn fire(&self, st: &Shared, service: ServiceId, at: Timestamp, title: String) -> bool {
        {
            let mut last = self.last_opened.lock().unwrap_or_else(|p| p.into_inner());
            let cooled = last.get(&service).is_none_or(|prev| {
                at.0.saturating_sub(prev.0) > self.cooldown_secs.saturating_mul(1_000_000_000)
            });
            if !cooled {
                return false;
            }
            last.insert(service.clone(), at);
        }
        let (st2, lookback) = (st.clone(), self.lookback_secs);
        self.handle.spawn(async move {
            if let Err(e) = open_automatic(&st2, &service, title, at, lookback).await {
                tracing::warn!(service = %service.as_str(), error = %e, "automatic incident not opened");
            }
        });
        true
    }
}

impl std::fmt::Debug for Online {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Online")
            .field("enabled", &self.queue.is_some())
            .field("logs", &self.logs.is_some())
            .finish()
    }
}

impl Drop for Online {
    fn drop(&mut self) {
        if let Some(q) = &self.queue {
            q.close();
        }
        if let Some(q) = &self.logs {
            q.close();
        }
    }
}

impl Online {
    /// Disabled detection.
    pub(crate) fn disabled() -> Self {
        Self {
            queue: None,
            logs: None,
        }
    }

    /// Starts the detection thread; it ends when the state (and so this queue) is dropped.
    pub(crate) fn start(state: &Shared, cfg: OnlineConfig) -> Result<Self> {
        if !cfg.enabled {
            return Ok(Self::disabled());
        }
        let queue = Arc::new(Queue {
            pending: Mutex::new(Pending::default()),
            ready: Condvar::new(),
            per_series: cfg.queue_points_per_series,
            total: cfg.queue_points,
            max_series: cfg.max_series,
        });
        let rx = Arc::clone(&queue);
        let weak = Arc::downgrade(state);
        let trigger = Trigger {
            last_opened: Arc::default(),
            handle: tokio::runtime::Handle::current(),
            cooldown_secs: cfg.cooldown_secs,
            lookback_secs: cfg.lookback_secs,
        };
        let logs = if cfg.logs.enabled {
            Some(crate::online_logs::start(
                state,
                cfg.logs.clone(),
                trigger.clone(),
            )?)
        } else {
            None
        };
        std::thread::Builder::new()
            .name("faultline-online".into())
            .spawn(move || {
                let mut detectors: HashMap<SeriesKey, Detector> = HashMap::new();
                while let Some(round) = rx.take() {
                    let Some(st) = weak.upgrade() else { break };
                    let waiting: usize = round.iter().map(Series::len).sum();
                    st.metrics
                        .online_queue
                        .fetch_sub(waiting as u64, Ordering::Relaxed);
                    for s in round {
                        if !detectors.contains_key(&s.key) {
                            if detectors.len() >= cfg.max_series {
                                st.metrics
                                    .online_dropped
                                    .fetch_add(s.len() as u64, Ordering::Relaxed);
                                continue;
                            }
                            match Detector::new(&cfg.detector) {
                                Some(d) => {
                                    detectors.insert(s.key.clone(), d);
                                }
                                None => continue,
                            }
                        }
                        let Some(det) = detectors.get_mut(&s.key) else {
                            continue;
                        };
                        let fired = det.score(&s.values, cfg.score_threshold);
                        st.metrics
                            .online_points
                            .fetch_add(s.len() as u64, Ordering::Relaxed);
                        let Some(Fired {
                            index,
                            score,
                            expected,
                        }) = fired
                        else {
                            continue;
                        };
                        let at = s.timestamps[index];
                        st.metrics.online_anomalies.fetch_add(1, Ordering::Relaxed);
                        st.live.anomaly(&s, index, score, expected);
                        let title = format!("{} anomalous (score {score:.2})", s.key);
                        trigger.fire(&st, s.key.service.clone(), at, title);
                    }
                }
            })
            .map_err(|source| ServerError::Io {
                path: "faultline-online thread".into(),
                source,
            })?;
        Ok(Self {
            queue: Some(queue),
            logs,
        })
    }

    /// The lines of a batch's log records that online log mining needs (empty when it is
    /// off); taken before the batch moves into the store.
    pub(crate) fn log_lines(&self, logs: &[faultline::core::LogRecord]) -> Vec<LogLine> {
        if self.logs.is_none() {
            return Vec::new();
        }
        logs.iter().map(LogLine::of).collect()
    }

    /// Queues a committed batch's log lines for mining; never blocks ingest beyond a short
    /// lock.
    pub(crate) fn submit_logs(&self, state: &Shared, lines: Vec<LogLine>) {
        if let Some(q) = &self.logs {
            crate::online_logs::submit(q, state, lines);
        }
    }

    /// Queues a committed batch's series; never blocks ingest beyond a short lock.
    pub(crate) fn submit(&self, state: &Shared, series: Vec<Series>) {
        let Some(q) = &self.queue else { return };
        if series.is_empty() {
            return;
        }
        // The gauge rises before the points become visible to the thread, which lowers it by
        // what it takes; shed points are taken back here.
        let n: usize = series.iter().map(Series::len).sum();
        state.metrics.online_queue.fetch_add(n as u64, Ordering::Relaxed);
        let shed = q.push(series);
        if shed > 0 {
            state
                .metrics
                .online_queue
                .fetch_sub(shed as u64, Ordering::Relaxed);
            state
                .metrics
                .online_dropped
                .fetch_add(shed as u64, Ordering::Relaxed);
        }
    }
}

async fn open_automatic(
    st: &Shared,
    service: &ServiceId,
    title: String,
    at: Timestamp,
    lookback_secs: i64,
) -> Result<()> {
    let id = IncidentId(format!("auto-{}-{}", sanitize(service.as_str()), at.as_secs()));
    if st.store.incident(&id).await?.is_some() {
        return Ok(());
    }
    let incident = Incident {
        id,
        title,
        onset: at,
        window: TimeWindow {
            start: at.sub(DurationNs::from_secs(lookback_secs)),
            end: at.add(DurationNs::from_secs(lookback_secs / 4)),
        },
        environment: None,
        services: vec![service.clone()],
        severity: None,
        status: IncidentStatus::Open,
    };
    st.store.put_incident(&incident).await?;
    st.metrics.auto_incidents.fetch_add(1, Ordering::Relaxed);
    st.live.incident_opened(&incident, true);
    tracing::info!(incident = %incident.id.0, title = %incident.title, "incident opened by online detection");
    crate::api::analyze_incident(st, incident, None).await?;
    Ok(())
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn series(metric: &str, from: i64, n: usize) -> Series {
        Series {
            key: SeriesKey::new("svc", metric),
            timestamps: (0..n as i64).map(|i| Timestamp(from + i)).collect(),
            values: (0..n).map(|i| i as f64).collect(),
        }
    }

    fn queue(per_series: usize, total: usize, max_series: usize) -> Queue {
        Queue {
            pending: Mutex::new(Pending::default()),
            ready: Condvar::new(),
            per_series,
            total,
            max_series,
        }
    }

    #[test]
    fn batches_of_one_series_coalesce_into_one_slice_in_arrival_order() {
        let q = queue(100, 1000, 10);
        assert_eq!(q.push(vec![series("a", 0, 3), series("b", 0, 2)]), 0);
        assert_eq!(q.push(vec![series("a", 3, 2)]), 0);
        let round = q.take().unwrap();
        assert_eq!(round.len(), 2);
        assert_eq!(round[0].key.metric, "a");
        assert_eq!(round[0].timestamps, (0..5).map(Timestamp).collect::<Vec<_>>());
        assert_eq!(round[1].len(), 2);
        assert_eq!(q.pending.lock().unwrap().points, 0);
    }

    #[test]
    fn over_its_cap_a_series_sheds_its_oldest_points() {
        let q = queue(4, 1000, 10);
        assert_eq!(q.push(vec![series("a", 0, 3)]), 0);
        assert_eq!(q.push(vec![series("a", 3, 3)]), 2);
        let round = q.take().unwrap();
        assert_eq!(round[0].timestamps, (2..6).map(Timestamp).collect::<Vec<_>>());
    }

    #[test]
    fn over_the_total_the_incoming_slice_sheds_and_new_series_beyond_the_cap_are_skipped() {
        let q = queue(100, 5, 2);
        assert_eq!(q.push(vec![series("a", 0, 4)]), 0);
        assert_eq!(q.push(vec![series("b", 0, 3)]), 2);
        assert_eq!(
            q.push(vec![series("c", 0, 3)]),
            3,
            "a third series is beyond max_series"
        );
        let round = q.take().unwrap();
        assert_eq!(round.iter().map(Series::len).collect::<Vec<_>>(), vec![4, 1]);
        assert_eq!(
            round[1].timestamps,
            vec![Timestamp(2)],
            "the newest point is kept"
        );
    }

    #[test]
    fn a_closed_queue_ends_the_thread_after_draining() {
        let q = queue(100, 100, 10);
        q.push(vec![series("a", 0, 1)]);
        q.close();
        assert!(q.take().is_some());
        assert!(q.take().is_none());
    }

    #[test]
    fn the_detector_is_chosen_by_kind_and_robust_z_scores_a_spike_in_one_slice() {
        let cfg: OnlineConfig = serde_json::from_str(r#"{"detector": {"kind": "stream"}}"#).unwrap();
        assert!(matches!(cfg.detector, OnlineDetectorConfig::Stream(_)));
        cfg.validate().unwrap();
        let bad: OnlineConfig =
            serde_json::from_str(r#"{"detector": {"kind": "robust_z", "window_samples": 1}}"#).unwrap();
        assert!(bad.validate().is_err());
        let mut d = Detector::new(&OnlineConfig::default().detector).unwrap();
        let mut values: Vec<f64> = (0..300).map(|i| 100.0 + ((i * 37) % 11) as f64).collect();
        assert_eq!(d.score(&values, 0.5), None, "steady data opens nothing");
        values.clear();
        values.extend([104.0, 5000.0, 5000.0, 103.0]);
        let Fired {
            index,
            score,
            expected,
        } = d.score(&values, 0.5).unwrap();
        assert_eq!(index, 1);
        assert!(score > 0.9);
        // The window median of the steady values (and the 104 before the spike).
        let e = expected.unwrap();
        assert!((100.0..=110.0).contains(&e), "{e}");
    }
}

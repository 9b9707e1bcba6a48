//! Online detection on ingested metric streams, and automatic incident opening.
//!
//! After a batch is committed, its series are queued (bounded; a full queue drops the batch
//! from detection, never from storage, and counts it) to one detection thread that keeps a
//! `faultline::detect::StreamDetector` per series (causal, bounded state; at most
//! `max_series` series). When a point scores at least `score_threshold`, the server opens an
//! incident for the series' service — unless one was opened for that service within
//! `cooldown_secs` — and analyses it over the stored signals, on the async runtime.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;

use faultline::core::{
    DurationNs, Incident, IncidentId, IncidentStatus, Series, SeriesKey, TimeWindow, Timestamp,
};
use faultline::detect::{StreamConfig, StreamDetector};
use serde::{Deserialize, Serialize};

use crate::api::Shared;
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
    /// Batches waiting for detection before new ones are skipped.
    pub queue_batches: usize,
    /// Seconds of data before the anomaly in the automatic incident's window.
    pub lookback_secs: i64,
    /// The streaming detector's settings.
    pub stream: StreamConfig,
}

impl Default for OnlineConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            score_threshold: 0.5,
            max_series: 5_000,
            cooldown_secs: 1800,
            queue_batches: 256,
            lookback_secs: 3600,
            stream: StreamConfig::default(),
        }
    }
}

impl OnlineConfig {
    /// Checks the settings once.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.score_threshold) {
            return Err(ServerError::config("online.score_threshold", "must be in [0, 1]"));
        }
        if self.queue_batches == 0 {
            return Err(ServerError::config("online.queue_batches", "must be at least 1"));
        }
        self.stream
            .validate()
            .map_err(|e| ServerError::config("online.stream", e.to_string()))
    }
}

/// The detection queue's sending side.
pub(crate) struct Online {
    tx: Option<SyncSender<Vec<Series>>>,
}

impl std::fmt::Debug for Online {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Online")
            .field("enabled", &self.tx.is_some())
            .finish()
    }
}

impl Online {
    /// Disabled detection.
    pub(crate) fn disabled() -> Self {
        Self { tx: None }
    }

    /// Starts the detection thread; it ends when the state (and so the sender) is dropped.
    pub(crate) fn start(state: &Shared, cfg: OnlineConfig) -> Result<Self> {
        if !cfg.enabled {
            return Ok(Self::disabled());
        }
        let (tx, rx) = sync_channel::<Vec<Series>>(cfg.queue_batches);
        let weak = Arc::downgrade(state);
        let handle = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("faultline-online".into())
            .spawn(move || {
                let mut detectors: HashMap<SeriesKey, StreamDetector> = HashMap::new();
                let mut last_opened: HashMap<String, Timestamp> = HashMap::new();
                while let Ok(series) = rx.recv() {
                    let Some(st) = weak.upgrade() else { break };
                    st.metrics.online_queue.fetch_sub(1, Ordering::Relaxed);
                    for s in series {
                        if !detectors.contains_key(&s.key) {
                            if detectors.len() >= cfg.max_series {
                                continue;
                            }
                            match StreamDetector::try_new(cfg.stream.clone()) {
                                Ok(d) => {
                                    detectors.insert(s.key.clone(), d);
                                }
                                Err(_) => continue,
                            }
                        }
                        let Some(det) = detectors.get_mut(&s.key) else {
                            continue;
                        };
                        let mut fired: Option<(Timestamp, f64)> = None;
                        for (&t, &v) in s.timestamps.iter().zip(&s.values) {
                            let score = det.update(v);
                            if score >= cfg.score_threshold && fired.is_none_or(|(_, best)| score > best) {
                                fired = Some((t, score));
                            }
                        }
                        st.metrics
                            .online_points
                            .fetch_add(s.len() as u64, Ordering::Relaxed);
                        let Some((at, score)) = fired else { continue };
                        st.metrics.online_anomalies.fetch_add(1, Ordering::Relaxed);
                        if let Some(i) = s.timestamps.iter().position(|&t| t == at) {
                            st.live.anomaly(&s, i, score);
                        }
                        let service = s.key.service.as_str().to_owned();
                        let cooled = last_opened.get(&service).is_none_or(|prev| {
                            at.0.saturating_sub(prev.0) > cfg.cooldown_secs.saturating_mul(1_000_000_000)
                        });
                        if !cooled {
                            continue;
                        }
                        last_opened.insert(service, at);
                        let (st2, key, lookback) = (st.clone(), s.key.clone(), cfg.lookback_secs);
                        handle.spawn(async move {
                            if let Err(e) = open_automatic(&st2, &key, at, score, lookback).await {
                                tracing::warn!(series = %key, error = %e, "automatic incident not opened");
                            }
                        });
                    }
                }
            })
            .map_err(|source| ServerError::Io {
                path: "faultline-online thread".into(),
                source,
            })?;
        Ok(Self { tx: Some(tx) })
    }

    /// Queues a committed batch's series; never blocks ingest.
    pub(crate) fn submit(&self, state: &Shared, series: Vec<Series>) {
        let Some(tx) = &self.tx else { return };
        if series.is_empty() {
            return;
        }
        state.metrics.online_queue.fetch_add(1, Ordering::Relaxed);
        match tx.try_send(series) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                state.metrics.online_queue.fetch_sub(1, Ordering::Relaxed);
                state.metrics.online_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

async fn open_automatic(
    st: &Shared,
    key: &SeriesKey,
    at: Timestamp,
    score: f64,
    lookback_secs: i64,
) -> Result<()> {
    let id = IncidentId(format!(
        "auto-{}-{}",
        sanitize(key.service.as_str()),
        at.as_secs()
    ));
    if st.store.incident(&id).await?.is_some() {
        return Ok(());
    }
    let incident = Incident {
        id,
        title: format!("{key} anomalous (score {score:.2})"),
        onset: at,
        window: TimeWindow {
            start: at.sub(DurationNs::from_secs(lookback_secs)),
            end: at.add(DurationNs::from_secs(lookback_secs / 4)),
        },
        environment: None,
        services: vec![key.service.clone()],
        severity: None,
        status: IncidentStatus::Open,
    };
    st.store.put_incident(&incident).await?;
    st.metrics.auto_incidents.fetch_add(1, Ordering::Relaxed);
    st.live.incident_opened(&incident, true);
    tracing::info!(incident = %incident.id.0, series = %key, score, "incident opened by online detection");
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

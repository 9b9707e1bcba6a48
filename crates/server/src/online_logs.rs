//! Online log mining on ingested log records, and automatic incidents from it.
//!
//! After a batch is committed, its log records (time, service, whether the level is
//! ERROR/FATAL, message) are queued for a **second detection thread** (`faultline-online-logs`),
//! so template mining never delays metric scoring (and vice versa); the queue holds at most
//! `queue_lines` lines and sheds the **oldest waiting** lines beyond it (counted in
//! `faultline_online_log_shed_lines_total`; storage never drops anything).
//!
//! **State per service.** Each service has its own [`TemplateMiner`] (capped by
//! `miner.max_clusters`) and its own [`TemplateRates`]: a template is "new" relative to the
//! service's own history, a spike relative to the service's own baseline, and one noisy
//! service cannot evict another's templates. At most `max_services` services are tracked;
//! lines of further services are not mined (counted as shed).
//!
//! **Firing.** A service is *warm* once it has `warmup_lines` lines and `warmup_secs` seconds
//! of log time since its first line (a cold miner makes every template new). Once warm:
//! - the first line of a **new error template** (a cluster the miner created for an
//!   ERROR/FATAL line) fires at once, so the latency is that of one queue round;
//! - a **rate spike** of an error template (a cluster that has had an ERROR/FATAL line) in a
//!   closed window of `rates.window_secs`, against its own baseline (Poisson z, see
//!   [`TemplateRates`]), fires when the window closes. Miner merges are folded in with
//!   [`TemplateRates::remap`] once per service per round.
//!
//! Firing publishes an `anomaly` event on the live stream carrying a `template` field, and
//! opens an incident for the service through the same path (and the same per-service
//! cooldown) as metric anomalies.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};

use faultline::cluster::{ClusterId, MinerConfig, RateConfig, RateEventKind, TemplateMiner, TemplateRates};
use faultline::core::{LogRecord, ServiceId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::api::Shared;
use crate::live::EventType;
use crate::online::Trigger;
use crate::{Result, ServerError};

/// Settings of online log mining (`online.logs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogsConfig {
    /// Whether ingested log records are mined as they arrive.
    pub enabled: bool,
    /// Lines a service must have before its templates can fire.
    pub warmup_lines: u64,
    /// Seconds of log time since a service's first line before its templates can fire.
    pub warmup_secs: i64,
    /// Whether a new error template fires (at its first line).
    pub new_error_template: bool,
    /// Whether a rate spike of an error template fires (when its window closes).
    pub error_spike: bool,
    /// Services tracked at most (lines of further services are not mined).
    pub max_services: usize,
    /// Lines waiting for mining over all services before the oldest are shed.
    pub queue_lines: usize,
    /// The miner of each service (`max_clusters` caps its templates).
    pub miner: MinerConfig,
    /// Per-template window rates of each service (spike thresholds, window, template cap).
    pub rates: RateConfig,
}

impl Default for LogsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            warmup_lines: 500,
            warmup_secs: 30,
            new_error_template: true,
            error_spike: true,
            max_services: 1_000,
            queue_lines: 200_000,
            miner: MinerConfig {
                max_clusters: 2_000,
                max_cache_entries: 1 << 10,
                ..MinerConfig::default()
            },
            rates: RateConfig {
                window_secs: 10.0,
                max_templates: 2_000,
                ..RateConfig::default()
            },
        }
    }
}

impl LogsConfig {
    /// Checks the settings once.
    pub fn validate(&self) -> Result<()> {
        if self.warmup_secs < 0 {
            return Err(ServerError::config("online.logs.warmup_secs", "must be >= 0"));
        }
        if self.max_services == 0 {
            return Err(ServerError::config(
                "online.logs.max_services",
                "must be at least 1",
            ));
        }
        if self.queue_lines == 0 {
            return Err(ServerError::config(
                "online.logs.queue_lines",
                "must be at least 1",
            ));
        }
        self.miner
            .validate()
            .map_err(|e| ServerError::config("online.logs.miner", e.to_string()))?;
        self.rates
            .validate()
            .map_err(|e| ServerError::config("online.logs.rates", e.to_string()))
    }
}

/// One log line waiting for mining.
#[derive(Debug, Clone)]
pub(crate) struct LogLine {
    ts: Timestamp,
    service: ServiceId,
    error: bool,
    body: String,
}

impl LogLine {
    /// The parts of a record mining needs.
    pub(crate) fn of(r: &LogRecord) -> Self {
        Self {
            ts: r.ts,
            service: r.service.clone(),
            error: r.severity.is_error(),
            body: r.body.clone(),
        }
    }
}

#[derive(Default)]
struct Pending {
    lines: VecDeque<LogLine>,
    closed: bool,
}

/// Bounded queue of lines; the oldest waiting lines are shed beyond `cap`.
pub(crate) struct LogQueue {
    pending: Mutex<Pending>,
    ready: Condvar,
    cap: usize,
}

impl LogQueue {
    fn new(cap: usize) -> Self {
        Self {
            pending: Mutex::new(Pending::default()),
            ready: Condvar::new(),
            cap,
        }
    }

    /// Adds lines; returns how many were shed.
    fn push(&self, lines: Vec<LogLine>) -> usize {
        let Ok(mut p) = self.pending.lock() else {
            return lines.len();
        };
        p.lines.extend(lines);
        let over = p.lines.len().saturating_sub(self.cap);
        p.lines.drain(..over);
        drop(p);
        self.ready.notify_one();
        over
    }

    /// Waits for work; takes everything pending (None once closed and drained).
    fn take(&self) -> Option<VecDeque<LogLine>> {
        let mut p = self.pending.lock().ok()?;
        while p.lines.is_empty() && !p.closed {
            p = self.ready.wait(p).ok()?;
        }
        if p.lines.is_empty() {
            return None;
        }
        Some(std::mem::take(&mut p.lines))
    }

    pub(crate) fn close(&self) {
        if let Ok(mut p) = self.pending.lock() {
            p.closed = true;
        }
        self.ready.notify_all();
    }
}

/// What made a service's logs fire.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogFiring {
    /// `new_template` or `template_spike`.
    pub kind: &'static str,
    pub cluster: ClusterId,
    pub template: String,
    pub at: Timestamp,
    /// Lines in the window (1 for a new template).
    pub count: u64,
    pub score: f64,
}

/// One service's miner, rates and warm-up.
struct ServiceLogs {
    miner: TemplateMiner,
    rates: TemplateRates,
    /// Resolved ids of clusters that have had an ERROR/FATAL line.
    error_clusters: HashSet<u32>,
    lines: u64,
    first: Timestamp,
}

/// Per-service mining state of the log thread (kept apart from the thread to be testable).
pub(crate) struct LogMining {
    cfg: LogsConfig,
    services: HashMap<ServiceId, ServiceLogs>,
}

impl LogMining {
    pub(crate) fn new(cfg: LogsConfig) -> Self {
        Self {
            cfg,
            services: HashMap::new(),
        }
    }

    /// Mines one round of lines; returns the firings and how many lines were skipped
    /// (services beyond `max_services`).
    pub(crate) fn mine(
        &mut self,
        lines: impl IntoIterator<Item = LogLine>,
    ) -> (Vec<(ServiceId, LogFiring)>, u64) {
        let mut fired = Vec::new();
        let mut skipped = 0;
        let mut touched: HashSet<ServiceId> = HashSet::new();
        let min_z = self.cfg.rates.min_spike_z;
        for line in lines {
            if !self.services.contains_key(&line.service) {
                if self.services.len() >= self.cfg.max_services {
                    skipped += 1;
                    continue;
                }
                let (Ok(miner), Ok(rates)) = (
                    TemplateMiner::new(self.cfg.miner.clone()),
                    TemplateRates::try_new(self.cfg.rates.clone()),
                ) else {
                    skipped += 1;
                    continue;
                };
                self.services.insert(
                    line.service.clone(),
                    ServiceLogs {
                        miner,
                        rates,
                        error_clusters: HashSet::new(),
                        lines: 0,
                        first: line.ts,
                    },
                );
            }
            let Some(s) = self.services.get_mut(&line.service) else {
                continue;
            };
            s.lines += 1;
            let warm = s.lines > self.cfg.warmup_lines
                && line.ts.0.saturating_sub(s.first.0) >= self.cfg.warmup_secs.saturating_mul(1_000_000_000);
            let bound = s.miner.id_bound();
            let id = s.miner.add(&line.body);
            let id = s.miner.resolve(id);
            let created = id.0 >= bound;
            if line.error {
                s.error_clusters.insert(id.0);
            }
            if created && line.error && warm && self.cfg.new_error_template {
                fired.push((
                    line.service.clone(),
                    LogFiring {
                        kind: "new_template",
                        cluster: id,
                        template: s.miner.template(id).unwrap_or_default(),
                        at: line.ts,
                        count: 1,
                        score: 1.0,
                    },
                ));
            }
            for ev in s.rates.observe(line.ts, id) {
                let cluster = s.miner.resolve(ev.cluster);
                if ev.kind != RateEventKind::Spike
                    || !warm
                    || !self.cfg.error_spike
                    || !s.error_clusters.contains(&cluster.0)
                {
                    continue;
                }
                fired.push((
                    line.service.clone(),
                    LogFiring {
                        kind: "template_spike",
                        cluster,
                        template: s.miner.template(cluster).unwrap_or_default(),
                        at: line.ts,
                        count: ev.count,
                        score: (ev.z / (ev.z + min_z)).clamp(0.0, 1.0),
                    },
                ));
            }
            if created {
                touched.insert(line.service);
            }
        }
        // Merges only happen when the miner learns something; fold them into the rates then.
        for svc in touched {
            if let Some(s) = self.services.get_mut(&svc) {
                s.rates.remap(&s.miner);
                let merged: Vec<u32> = s
                    .error_clusters
                    .iter()
                    .copied()
                    .filter(|&c| s.miner.resolve(ClusterId(c)).0 != c)
                    .collect();
                for c in merged {
                    s.error_clusters.remove(&c);
                    s.error_clusters.insert(s.miner.resolve(ClusterId(c)).0);
                }
            }
        }
        (fired, skipped)
    }

    /// Services tracked.
    #[cfg(test)]
    pub(crate) fn services(&self) -> usize {
        self.services.len()
    }
}

/// Starts the log thread; it ends when the queue is closed or the state dropped.
pub(crate) fn start(state: &Shared, cfg: LogsConfig, trigger: Trigger) -> Result<Arc<LogQueue>> {
    let queue = Arc::new(LogQueue::new(cfg.queue_lines));
    let rx = Arc::clone(&queue);
    let weak = Arc::downgrade(state);
    std::thread::Builder::new()
        .name("faultline-online-logs".into())
        .spawn(move || {
            let mut mining = LogMining::new(cfg);
            while let Some(round) = rx.take() {
                let Some(st) = weak.upgrade() else { break };
                let n = round.len() as u64;
                st.metrics.online_log_queue.fetch_sub(n, Ordering::Relaxed);
                let (fired, skipped) = mining.mine(round);
                st.metrics
                    .online_log_lines
                    .fetch_add(n - skipped, Ordering::Relaxed);
                st.metrics.online_log_shed.fetch_add(skipped, Ordering::Relaxed);
                for (service, f) in fired {
                    st.metrics.online_log_anomalies.fetch_add(1, Ordering::Relaxed);
                    st.live.publish(
                        EventType::Anomaly,
                        &serde_json::json!({
                            "series": format!("{} log template {}", service.as_str(), f.cluster.0),
                            "service": service.as_str(),
                            "metric": "log_template",
                            "kind": f.kind,
                            "template": f.template,
                            "cluster": f.cluster.0,
                            "time": f.at,
                            "value": f.count,
                            "score": f.score,
                            "severity": faultline::core::AnomalySeverity::from_score(f.score),
                            "direction": "up",
                        }),
                    );
                    let title = match f.kind {
                        "new_template" => {
                            format!("{}: new error log template: {}", service.as_str(), f.template)
                        }
                        _ => format!(
                            "{}: error log template spiking ({} lines): {}",
                            service.as_str(),
                            f.count,
                            f.template
                        ),
                    };
                    trigger.fire(&st, service, f.at, title);
                }
            }
        })
        .map_err(|source| ServerError::Io {
            path: "faultline-online-logs thread".into(),
            source,
        })?;
    Ok(queue)
}

/// Queues a committed batch's lines.
pub(crate) fn submit(q: &LogQueue, state: &Shared, lines: Vec<LogLine>) {
    if lines.is_empty() {
        return;
    }
    state
        .metrics
        .online_log_queue
        .fetch_add(lines.len() as u64, Ordering::Relaxed);
    let shed = q.push(lines);
    if shed > 0 {
        state
            .metrics
            .online_log_queue
            .fetch_sub(shed as u64, Ordering::Relaxed);
        state
            .metrics
            .online_log_shed
            .fetch_add(shed as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn line(svc: &str, secs: f64, error: bool, body: &str) -> LogLine {
        LogLine {
            ts: Timestamp::from_secs_f64(secs),
            service: ServiceId::from(svc),
            error,
            body: body.to_owned(),
        }
    }

    fn cfg() -> LogsConfig {
        LogsConfig {
            warmup_lines: 50,
            warmup_secs: 5,
            ..LogsConfig::default()
        }
    }

    fn steady(svc: &str, from: usize, n: usize) -> Vec<LogLine> {
        (from..from + n)
            .map(|i| {
                let body = match i % 3 {
                    0 => format!("request {i} served in {} ms", i % 97),
                    1 => format!("cache hit for key user-{}", i % 13),
                    _ => format!("connection from 10.0.0.{} accepted", i % 200),
                };
                line(svc, i as f64 * 0.1, false, &body)
            })
            .collect()
    }

    #[test]
    fn steady_info_lines_fire_nothing() {
        let mut m = LogMining::new(cfg());
        let (fired, skipped) = m.mine(steady("api", 0, 3000));
        assert!(fired.is_empty(), "{fired:?}");
        assert_eq!(skipped, 0);
    }

    #[test]
    fn a_new_error_template_fires_after_warm_up_only() {
        let mut m = LogMining::new(cfg());
        let (fired, _) = m.mine(vec![line("api", 0.0, true, "disk quota exceeded on volume 3")]);
        assert!(fired.is_empty(), "cold miner does not fire");
        m.mine(steady("api", 1, 600));
        let (fired, _) = m.mine(vec![
            line("api", 61.0, true, "payment gateway refused token 4411"),
            line("api", 61.1, false, "request 5 served in 3 ms"),
        ]);
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(fired[0].0.as_str(), "api");
        assert_eq!(fired[0].1.kind, "new_template");
        assert!(fired[0].1.template.contains("payment gateway refused"));
        let (again, _) = m.mine(vec![line(
            "api",
            61.2,
            false,
            "payment gateway refused token 4411",
        )]);
        assert!(again.is_empty(), "a known template does not fire again");
    }

    /// 300 s of steady lines with one known error template at one line per 10 s window, then
    /// 200 more lines of it (error or not) in one window, then a line in the next window; the
    /// template is first seen during warm-up.
    fn spike_run(error: bool) -> Vec<(ServiceId, LogFiring)> {
        let mut m = LogMining::new(cfg());
        let mut lines = steady("api", 0, 3000);
        for w in 0..30 {
            lines.push(line(
                "api",
                w as f64 * 10.0 + 2.5,
                error,
                "retrying upstream call to ledger",
            ));
        }
        lines.sort_by_key(|l| l.ts);
        let (fired, _) = m.mine(lines);
        assert!(fired.is_empty(), "{fired:?}");
        let burst: Vec<LogLine> = (0..200)
            .map(|i| {
                line(
                    "api",
                    301.0 + i as f64 * 0.01,
                    error,
                    "retrying upstream call to ledger",
                )
            })
            .chain([line("api", 311.0, false, "cache hit for key user-1")])
            .collect();
        m.mine(burst).0
    }

    #[test]
    fn an_error_template_spike_fires_when_its_window_closes() {
        let fired = spike_run(true);
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(fired[0].1.kind, "template_spike");
        assert_eq!(fired[0].1.count, 200);
        assert!(fired[0].1.score > 0.5);
    }

    #[test]
    fn an_info_template_spike_does_not_fire() {
        assert!(spike_run(false).is_empty());
    }

    #[test]
    fn a_new_info_template_does_not_fire() {
        let mut m = LogMining::new(cfg());
        m.mine(steady("api", 0, 600));
        let (fired, _) = m.mine(vec![line("api", 61.0, false, "feature flag checkout-v2 enabled")]);
        assert!(fired.is_empty());
    }

    #[test]
    fn services_beyond_the_cap_are_skipped_and_state_stays_bounded() {
        let mut m = LogMining::new(LogsConfig {
            max_services: 10,
            ..cfg()
        });
        let lines: Vec<LogLine> = (0..1000)
            .map(|i| line(&format!("svc-{i}"), 1.0, true, "boom"))
            .collect();
        let (_, skipped) = m.mine(lines);
        assert_eq!(m.services(), 10);
        assert_eq!(skipped, 990);
    }

    #[test]
    fn the_queue_sheds_its_oldest_lines() {
        let q = LogQueue::new(3);
        assert_eq!(q.push(steady("a", 0, 2)), 0);
        assert_eq!(q.push(steady("a", 2, 3)), 2);
        let round = q.take().unwrap();
        assert_eq!(round.len(), 3);
        assert_eq!(round[0].ts, Timestamp::from_secs_f64(0.2));
        q.close();
        assert!(q.take().is_none());
    }

    #[test]
    fn config_is_validated() {
        let c: crate::OnlineConfig =
            serde_json::from_str(r#"{"logs": {"enabled": true, "warmup_lines": 10}}"#).unwrap();
        c.validate().unwrap();
        assert!(serde_json::from_str::<crate::OnlineConfig>(r#"{"logs": {"bogus": 1}}"#).is_err());
        let bad = LogsConfig {
            queue_lines: 0,
            ..LogsConfig::default()
        };
        assert!(bad.validate().is_err());
    }
}

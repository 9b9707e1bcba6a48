//! Per-window template rates over a stream: new templates and rate spikes as they happen.
//!
//! [`analyze_logs`](crate::analyze_logs) compares one window before an incident onset with
//! one after it. [`TemplateRates`] is the streaming counterpart: lines (time, cluster id) are
//! counted in fixed windows of `window_secs`; when a window closes, every template seen in it
//! is compared with its own baseline, an exponentially weighted mean of its earlier window
//! counts (weight `baseline_alpha` on the newest window; windows without lines count as 0):
//! - **New**: the template had never been seen and the stream is past `warmup_windows`
//!   (during warm-up every template is new, so none is reported);
//! - **Spike**: the window count `n` against the baseline `λ` as a Poisson z-value with the
//!   variance floored at 1, `z = (n − λ)/√max(λ, 1)` (the same statistic as the onset
//!   comparison of `analyze_logs`), reported when `z ≥ min_spike_z` and `n ≥ min_spike_ratio·λ`.
//!
//! Ids are resolved through miner merges by [`TemplateRates::remap`]: the states of ids that
//! now stand for another cluster are folded into it (counts and baselines add). Memory is
//! bounded by `max_templates` (the template with the smallest baseline is dropped to make
//! room; it is new again if it comes back).

use std::collections::BTreeMap;

use faultline_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{ClusterError, ClusterId, TemplateMiner};

/// Configuration of [`TemplateRates`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateConfig {
    /// Window length, in seconds (> 0).
    pub window_secs: f64,
    /// Weight of the newest window in a template's baseline, in (0, 1].
    pub baseline_alpha: f64,
    /// Windows after the first line during which no template is reported new.
    pub warmup_windows: u32,
    /// Smallest Poisson z-value of a spike (> 0).
    pub min_spike_z: f64,
    /// Smallest ratio of a spike's window count to its baseline (>= 1).
    pub min_spike_ratio: f64,
    /// Templates tracked at most (>= 1).
    pub max_templates: usize,
}

impl Default for RateConfig {
    fn default() -> Self {
        Self {
            window_secs: 60.0,
            baseline_alpha: 0.1,
            warmup_windows: 5,
            min_spike_z: 4.0,
            min_spike_ratio: 3.0,
            max_templates: 100_000,
        }
    }
}

impl RateConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), ClusterError> {
        if !(self.window_secs.is_finite() && self.window_secs > 0.0) {
            return Err(ClusterError::invalid(
                "window_secs",
                self.window_secs,
                "must be > 0",
            ));
        }
        if !(self.baseline_alpha > 0.0 && self.baseline_alpha <= 1.0) {
            return Err(ClusterError::invalid(
                "baseline_alpha",
                self.baseline_alpha,
                "must be in (0, 1]",
            ));
        }
        if !(self.min_spike_z.is_finite() && self.min_spike_z > 0.0) {
            return Err(ClusterError::invalid(
                "min_spike_z",
                self.min_spike_z,
                "must be > 0",
            ));
        }
        if !(self.min_spike_ratio.is_finite() && self.min_spike_ratio >= 1.0) {
            return Err(ClusterError::invalid(
                "min_spike_ratio",
                self.min_spike_ratio,
                "must be >= 1",
            ));
        }
        if self.max_templates < 1 {
            return Err(ClusterError::invalid(
                "max_templates",
                self.max_templates,
                "must be >= 1",
            ));
        }
        Ok(())
    }
}

/// What a [`RateEvent`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateEventKind {
    /// First window with this template (after warm-up).
    New,
    /// The window count is far above the template's baseline.
    Spike,
}

/// A new template or a rate spike in one closed window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateEvent {
    /// New or spike.
    pub kind: RateEventKind,
    /// The cluster (as observed, or as remapped).
    pub cluster: ClusterId,
    /// Start of the window.
    pub window_start: Timestamp,
    /// Lines of the template in the window.
    pub count: u64,
    /// The template's baseline (expected lines per window) before this window.
    pub baseline: f64,
    /// Poisson z-value of the count against the baseline.
    pub z: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct State {
    baseline: f64,
    /// Lines in the open window.
    current: u64,
    /// Index of the last window folded into `baseline`.
    folded: i64,
    /// Seen in a closed window.
    known: bool,
}

/// Streaming per-window template rates with new-template and spike detection.
///
/// ```
/// use faultline_cluster::{ClusterId, RateConfig, RateEventKind, TemplateRates};
/// use faultline_core::Timestamp;
/// let mut r = TemplateRates::try_new(RateConfig { window_secs: 10.0, ..Default::default() }).unwrap();
/// let mut events = Vec::new();
/// for s in 0..600 {
///     // One line per second of template 0; template 1 bursts in minute 8.
///     events.extend(r.observe(Timestamp::from_secs_f64(s as f64), ClusterId(0)));
///     if (480..490).contains(&s) {
///         for _ in 0..5 {
///             events.extend(r.observe(Timestamp::from_secs_f64(s as f64), ClusterId(1)));
///         }
///     }
/// }
/// events.extend(r.finish());
/// assert_eq!(events.len(), 1);
/// assert_eq!((events[0].kind, events[0].cluster, events[0].count), (RateEventKind::New, ClusterId(1), 50));
/// ```
#[derive(Debug, Clone)]
pub struct TemplateRates {
    cfg: RateConfig,
    window_nanos: i64,
    /// Index of the open window (`None` before the first line).
    open: Option<i64>,
    /// Index of the first window.
    first: i64,
    states: BTreeMap<u32, State>,
}

impl TemplateRates {
    /// Rates with a validated configuration.
    pub fn try_new(cfg: RateConfig) -> Result<Self, ClusterError> {
        cfg.validate()?;
        let window_nanos = ((cfg.window_secs * 1e9).round() as i64).max(1);
        Ok(Self {
            cfg,
            window_nanos,
            open: None,
            first: 0,
            states: BTreeMap::new(),
        })
    }

    /// Counts one line of cluster `id` at `ts`; returns the events of the windows this line
    /// closed (lines are expected in time order; a line older than the open window counts
    /// in the open window).
    pub fn observe(&mut self, ts: Timestamp, id: ClusterId) -> Vec<RateEvent> {
        let w = ts.0.div_euclid(self.window_nanos);
        let mut events = Vec::new();
        match self.open {
            None => {
                self.open = Some(w);
                self.first = w;
            }
            Some(o) if w > o => {
                events = self.close();
                self.open = Some(w);
            }
            Some(_) => {}
        }
        if !self.states.contains_key(&id.0) && self.states.len() >= self.cfg.max_templates {
            self.drop_smallest();
        }
        let open = self.open.unwrap_or(w);
        let st = self.states.entry(id.0).or_insert(State {
            folded: open.saturating_sub(1),
            ..State::default()
        });
        st.current += 1;
        events
    }

    /// Closes the open window and returns its events (call at the end of a stream).
    pub fn finish(&mut self) -> Vec<RateEvent> {
        let events = self.close();
        if let Some(o) = self.open.as_mut() {
            *o = o.saturating_add(1);
        }
        events
    }

    /// Folds the states of ids merged by the miner into the clusters they now stand for.
    pub fn remap(&mut self, miner: &TemplateMiner) {
        let moved: Vec<(u32, u32)> = self
            .states
            .keys()
            .map(|&id| (id, miner.resolve(ClusterId(id)).0))
            .filter(|(a, b)| a != b)
            .collect();
        for (from, to) in moved {
            let Some(s) = self.states.remove(&from) else {
                continue;
            };
            let t = self.states.entry(to).or_insert(State {
                folded: s.folded,
                ..State::default()
            });
            t.baseline += s.baseline;
            t.current += s.current;
            t.known |= s.known;
            t.folded = t.folded.max(s.folded);
        }
    }

    /// Expected lines per window of cluster `id` (its baseline), if tracked.
    pub fn baseline(&self, id: ClusterId) -> Option<f64> {
        self.states.get(&id.0).map(|s| s.baseline)
    }

    fn close(&mut self) -> Vec<RateEvent> {
        let Some(open) = self.open else {
            return Vec::new();
        };
        let alpha = self.cfg.baseline_alpha;
        let warm = open.saturating_sub(self.first) >= i64::from(self.cfg.warmup_windows);
        let start = Timestamp(open.saturating_mul(self.window_nanos));
        let mut events = Vec::new();
        for (&id, st) in self.states.iter_mut() {
            // Windows without lines since the last fold decay the baseline.
            let gap = open.saturating_sub(1).saturating_sub(st.folded).clamp(0, 1 << 20) as i32;
            let lambda = st.baseline * (1.0 - alpha).powi(gap);
            let n = st.current;
            if n > 0 {
                let z = (n as f64 - lambda) / lambda.max(1.0).sqrt();
                if !st.known {
                    if warm {
                        events.push(RateEvent {
                            kind: RateEventKind::New,
                            cluster: ClusterId(id),
                            window_start: start,
                            count: n,
                            baseline: lambda,
                            z,
                        });
                    }
                } else if z >= self.cfg.min_spike_z && n as f64 >= self.cfg.min_spike_ratio * lambda {
                    events.push(RateEvent {
                        kind: RateEventKind::Spike,
                        cluster: ClusterId(id),
                        window_start: start,
                        count: n,
                        baseline: lambda,
                        z,
                    });
                }
                st.known = true;
            }
            // The first window of a template sets its baseline; later ones move it.
            st.baseline = if st.known && lambda == 0.0 && st.baseline == 0.0 {
                n as f64
            } else {
                (1.0 - alpha) * lambda + alpha * n as f64
            };
            st.current = 0;
            st.folded = open;
        }
        events.sort_by(|a, b| b.z.total_cmp(&a.z).then(a.cluster.cmp(&b.cluster)));
        events
    }

    fn drop_smallest(&mut self) {
        let victim = self
            .states
            .iter()
            .min_by(|a, b| {
                (a.1.baseline + a.1.current as f64).total_cmp(&(b.1.baseline + b.1.current as f64))
            })
            .map(|(&id, _)| id);
        if let Some(id) = victim {
            self.states.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(window_secs: f64) -> TemplateRates {
        TemplateRates::try_new(RateConfig {
            window_secs,
            ..RateConfig::default()
        })
        .expect("valid config")
    }

    fn at(s: f64) -> Timestamp {
        Timestamp::from_secs_f64(s)
    }

    #[test]
    fn a_burst_of_a_known_template_is_a_spike() {
        let mut r = rates(10.0);
        let mut ev = Vec::new();
        for s in 0..300 {
            ev.extend(r.observe(at(s as f64), ClusterId(3)));
            if (200..210).contains(&s) {
                for _ in 0..9 {
                    ev.extend(r.observe(at(s as f64), ClusterId(3)));
                }
            }
        }
        ev.extend(r.finish());
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0].kind, RateEventKind::Spike);
        assert_eq!(ev[0].count, 100);
        assert_eq!(ev[0].window_start, at(200.0));
        assert!((ev[0].baseline - 10.0).abs() < 1e-9);
    }

    #[test]
    fn steady_and_warm_up_templates_raise_nothing() {
        let mut r = rates(1.0);
        let mut ev = Vec::new();
        for s in 0..100 {
            ev.extend(r.observe(at(s as f64), ClusterId(s % 4)));
        }
        ev.extend(r.finish());
        assert!(ev.is_empty(), "{ev:?}");
    }

    #[test]
    fn merged_ids_fold_into_their_cluster() {
        let mut m = TemplateMiner::new(crate::MinerConfig::default()).expect("valid");
        let mut r = rates(1.0);
        let a = m.add("user alice logged in");
        r.observe(at(0.0), a);
        let mut last = a;
        for u in ["bob", "carol", "dave", "erin"] {
            last = m.add(&format!("user {u} logged in"));
            r.observe(at(0.5), last);
        }
        r.remap(&m);
        r.finish();
        let root = m.resolve(a);
        assert_eq!(root, m.resolve(last));
        assert_eq!(r.baseline(root), Some(5.0));
        assert_eq!(r.states.len(), 1);
    }

    #[test]
    fn bad_config_names_the_field() {
        let e = TemplateRates::try_new(RateConfig {
            window_secs: 0.0,
            ..RateConfig::default()
        })
        .expect_err("zero window");
        assert!(e.to_string().contains("window_secs"));
    }

    #[test]
    fn tracked_templates_are_capped() {
        let mut r = TemplateRates::try_new(RateConfig {
            max_templates: 8,
            ..RateConfig::default()
        })
        .expect("valid");
        for i in 0..1000 {
            r.observe(at(f64::from(i)), ClusterId(i as u32));
        }
        assert!(r.states.len() <= 8);
    }
}

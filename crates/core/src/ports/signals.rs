use std::sync::RwLock;

use async_trait::async_trait;

use crate::{CoreError, Result, SignalSet, TimeWindow};

/// Pulls the signals of a time window from wherever the host keeps them.
#[async_trait]
pub trait SignalSource: Send + Sync {
    /// Every signal inside `window` (events may reach a little before it, so changes that
    /// preceded the onset are seen).
    async fn signals(&self, window: TimeWindow) -> Result<SignalSet>;
}

/// Appends and queries signals.
#[async_trait]
pub trait SignalStore: Send + Sync {
    /// Adds signals (series with the same key are merged).
    async fn append(&self, signals: SignalSet) -> Result<()>;
    /// Signals inside `window`.
    async fn query(&self, window: TimeWindow) -> Result<SignalSet>;
}

/// A source over signals already in memory.
#[derive(Debug, Clone, Default)]
pub struct StaticSource(pub SignalSet);

#[async_trait]
impl SignalSource for StaticSource {
    async fn signals(&self, window: TimeWindow) -> Result<SignalSet> {
        Ok(slice_window(&self.0, window))
    }
}

/// The signals of `set` that fall inside `window`; topology is kept whole.
pub(crate) fn slice_window(set: &SignalSet, w: TimeWindow) -> SignalSet {
    SignalSet {
        series: set
            .series
            .iter()
            .filter_map(|s| {
                let (a, b) = (s.index_at(w.start), s.timestamps.partition_point(|&t| t <= w.end));
                (a < b).then(|| crate::Series {
                    key: s.key.clone(),
                    timestamps: s.timestamps[a..b].to_vec(),
                    values: s.values[a..b].to_vec(),
                })
            })
            .collect(),
        logs: set.logs.iter().filter(|l| w.contains(l.ts)).cloned().collect(),
        events: set.events.iter().filter(|e| w.contains(e.ts)).cloned().collect(),
        spans: set
            .spans
            .iter()
            .filter(|s| w.contains(s.start))
            .cloned()
            .collect(),
        alerts: set
            .alerts
            .iter()
            .filter(|a| a.starts_at <= w.end && a.ends_at.is_none_or(|e| e >= w.start))
            .cloned()
            .collect(),
        topology: set.topology.clone(),
    }
}

/// In-memory, columnar signal store.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use faultline_core::ports::{InMemorySignalStore, SignalStore};
/// use faultline_core::{Series, SeriesKey, SignalSet, TimeWindow, Timestamp};
/// let store = InMemorySignalStore::default();
/// let s = Series::new(SeriesKey::new("api", "cpu"), vec![Timestamp(1), Timestamp(5)], vec![0.1, 0.9]).unwrap();
/// store.append(SignalSet { series: vec![s], ..Default::default() }).await.unwrap();
/// let got = store.query(TimeWindow { start: Timestamp(2), end: Timestamp(9) }).await.unwrap();
/// assert_eq!(got.series[0].values, vec![0.9]);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct InMemorySignalStore {
    inner: RwLock<SignalSet>,
}

#[async_trait]
impl SignalStore for InMemorySignalStore {
    async fn append(&self, signals: SignalSet) -> Result<()> {
        let mut g = self
            .inner
            .write()
            .map_err(|_| CoreError::Internal("signal store lock poisoned".into()))?;
        for s in signals.series {
            match g.series.iter_mut().find(|x| x.key == s.key) {
                Some(x) => {
                    x.timestamps.extend(s.timestamps);
                    x.values.extend(s.values);
                    x.sort_by_time();
                }
                None => g.series.push(s),
            }
        }
        g.logs.extend(signals.logs);
        g.logs.sort_by_key(|l| l.ts);
        g.events.extend(signals.events);
        g.events.sort_by_key(|e| e.ts);
        g.spans.extend(signals.spans);
        g.alerts.extend(signals.alerts);
        g.topology.merge(&signals.topology);
        Ok(())
    }
    async fn query(&self, window: TimeWindow) -> Result<SignalSet> {
        let g = self
            .inner
            .read()
            .map_err(|_| CoreError::Internal("signal store lock poisoned".into()))?;
        Ok(slice_window(&g, window))
    }
}

#[async_trait]
impl SignalSource for InMemorySignalStore {
    async fn signals(&self, window: TimeWindow) -> Result<SignalSet> {
        self.query(window).await
    }
}

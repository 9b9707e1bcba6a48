use std::sync::atomic::{AtomicI64, Ordering};

use crate::{DurationNs, Timestamp};

/// Tells the time. Injected so that tests and replays control it.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to.
///
/// ```
/// use faultline_core::ports::{Clock, ManualClock};
/// use faultline_core::{DurationNs, Timestamp};
/// let c = ManualClock::new(Timestamp::from_secs(100));
/// c.advance(DurationNs::from_secs(5));
/// assert_eq!(c.now(), Timestamp::from_secs(105));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `t`.
    pub fn new(t: Timestamp) -> Self {
        Self(AtomicI64::new(t.0))
    }
    /// Sets the time.
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }
    /// Moves the time forward by `d`.
    pub fn advance(&self, d: DurationNs) {
        self.0.fetch_add(d.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

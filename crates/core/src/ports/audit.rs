use std::sync::Mutex;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::ports::Clock;
use crate::{AuditRecord, CoreError, Result, Timestamp};

/// An append-only log of what was planned, approved, executed and verified.
#[async_trait]
pub trait AuditSink: Send + Sync {
    /// Appends a record for `payload` and returns it (with its seq, hashes, signature).
    async fn append(&self, payload: serde_json::Value) -> Result<AuditRecord>;
    /// Every record, in order.
    async fn records(&self) -> Result<Vec<AuditRecord>>;
}

/// The hash of a record: SHA-256 over its seq, time, previous hash and canonical payload.
pub(crate) fn record_hash(seq: u64, at: Timestamp, prev_hash: &str, payload: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    h.update(seq.to_le_bytes());
    h.update(at.0.to_le_bytes());
    h.update(prev_hash.as_bytes());
    h.update([0]);
    // serde_json's Map is a BTreeMap (no preserve_order feature), so this is canonical.
    h.update(payload.to_string().as_bytes());
    let d = h.finalize();
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds the next record of a chain whose last record is `last`.
pub fn next_record(last: Option<&AuditRecord>, at: Timestamp, payload: serde_json::Value) -> AuditRecord {
    let seq = last.map_or(0, |r| r.seq + 1);
    let prev_hash = last.map(|r| r.hash.clone()).unwrap_or_default();
    let hash = record_hash(seq, at, &prev_hash, &payload);
    AuditRecord {
        seq,
        at,
        prev_hash,
        payload,
        hash,
        signature: String::new(),
    }
}

/// Why an audit chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// A record's seq is not its position (deletion, insertion or reordering).
    #[error("record at position {position} has seq {seq}")]
    OutOfSequence {
        /// Position in the list.
        position: usize,
        /// The seq it carries.
        seq: u64,
    },
    /// A record does not link to its predecessor.
    #[error("record {seq} does not link to the previous record's hash")]
    BrokenLink {
        /// The record.
        seq: u64,
    },
    /// A record's content does not match its hash (it was edited).
    #[error("record {seq} was modified: its hash does not match its content")]
    Tampered {
        /// The record.
        seq: u64,
    },
}

/// Checks that `records` form an unbroken, unmodified hash chain starting at seq 0.
/// (Truncation at the end is detected by comparing the last hash with one kept elsewhere; the
/// signing sink in `faultline-remediate` does that.)
///
/// ```
/// use faultline_core::ports::{verify_chain, next_record};
/// use faultline_core::Timestamp;
/// let a = next_record(None, Timestamp(1), serde_json::json!({"op": "plan"}));
/// let mut b = next_record(Some(&a), Timestamp(2), serde_json::json!({"op": "approve"}));
/// assert!(verify_chain(&[a.clone(), b.clone()]).is_ok());
/// b.payload = serde_json::json!({"op": "execute"});
/// assert!(verify_chain(&[a, b]).is_err());
/// ```
pub fn verify_chain(records: &[AuditRecord]) -> Result<(), ChainError> {
    let mut prev = "";
    for (i, r) in records.iter().enumerate() {
        if r.seq != i as u64 {
            return Err(ChainError::OutOfSequence {
                position: i,
                seq: r.seq,
            });
        }
        if r.prev_hash != prev {
            return Err(ChainError::BrokenLink { seq: r.seq });
        }
        if record_hash(r.seq, r.at, &r.prev_hash, &r.payload) != r.hash {
            return Err(ChainError::Tampered { seq: r.seq });
        }
        prev = &r.hash;
    }
    Ok(())
}

/// A hash-chained audit log in memory (unsigned; signing is added by `faultline-remediate`).
pub struct InMemoryAuditSink {
    records: Mutex<Vec<AuditRecord>>,
    clock: Box<dyn Clock>,
}

impl std::fmt::Debug for InMemoryAuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryAuditSink").finish_non_exhaustive()
    }
}

impl Default for InMemoryAuditSink {
    fn default() -> Self {
        Self::new(Box::new(crate::ports::SystemClock))
    }
}

impl InMemoryAuditSink {
    /// A sink stamping records with `clock`.
    pub fn new(clock: Box<dyn Clock>) -> Self {
        Self {
            records: Mutex::new(Vec::new()),
            clock,
        }
    }
}

#[async_trait]
impl AuditSink for InMemoryAuditSink {
    async fn append(&self, payload: serde_json::Value) -> Result<AuditRecord> {
        let mut g = self
            .records
            .lock()
            .map_err(|_| CoreError::Internal("audit lock poisoned".into()))?;
        let r = next_record(g.last(), self.clock.now(), payload);
        g.push(r.clone());
        Ok(r)
    }
    async fn records(&self) -> Result<Vec<AuditRecord>> {
        Ok(self
            .records
            .lock()
            .map_err(|_| CoreError::Internal("audit lock poisoned".into()))?
            .clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain(n: usize) -> Vec<AuditRecord> {
        let mut v: Vec<AuditRecord> = Vec::new();
        for i in 0..n {
            let r = next_record(v.last(), Timestamp(i as i64), json!({ "i": i }));
            v.push(r);
        }
        v
    }

    #[test]
    fn detects_edit_delete_reorder() {
        let c = chain(4);
        assert!(verify_chain(&c).is_ok());
        let mut edited = c.clone();
        edited[2].payload = json!({ "i": 99 });
        assert_eq!(verify_chain(&edited), Err(ChainError::Tampered { seq: 2 }));
        let mut deleted = c.clone();
        deleted.remove(1);
        assert!(matches!(
            verify_chain(&deleted),
            Err(ChainError::OutOfSequence { position: 1, .. })
        ));
        let mut swapped = c.clone();
        swapped.swap(1, 2);
        assert!(verify_chain(&swapped).is_err());
        let mut relinked = c;
        relinked[1].at = Timestamp(77);
        assert_eq!(verify_chain(&relinked), Err(ChainError::Tampered { seq: 1 }));
    }
}

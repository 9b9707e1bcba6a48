//! The signed audit log: core's SHA-256 hash chain ([`next_record`], [`verify_chain`]) with
//! every record's hash signed by ed25519 (RFC 8032), and a signed *head* (record count and
//! last hash) kept beside the log so that truncation is detected too.
//!
//! Verification ([`verify_records`], [`verify_file`]) detects an edited record (hash
//! mismatch), a deleted, inserted or reordered record (sequence or link mismatch), a forged
//! record (bad signature) and a truncated log (fewer records than the signed head says, or a
//! different last hash). [`FileAuditSink`] appends one JSON line per record and `fsync`s the log
//! and the head on every append.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ed25519_dalek::{Signature, Signer, Verifier};
use faultline_core::ports::{next_record, verify_chain, AuditSink, Clock};
use faultline_core::{AuditRecord, CoreError};
use serde::{Deserialize, Serialize};

use crate::RemediateError;

/// The ed25519 key types (from `ed25519-dalek` 2), re-exported so hosts need not depend on it.
pub use ed25519_dalek::{SigningKey, VerifyingKey};

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub(crate) fn parse_signature(s: &str) -> Result<Signature, RemediateError> {
    let b = unhex(s).ok_or_else(|| RemediateError::Audit("signature is not hex".into()))?;
    let arr: [u8; 64] = b
        .try_into()
        .map_err(|_| RemediateError::Audit("signature is not 64 bytes".into()))?;
    Ok(Signature::from_bytes(&arr))
}

/// Parses a hex ed25519 public key.
pub fn verifying_key_from_hex(s: &str) -> Result<VerifyingKey, RemediateError> {
    let b = unhex(s.trim()).ok_or_else(|| RemediateError::Audit("public key is not hex".into()))?;
    let arr: [u8; 32] = b
        .try_into()
        .map_err(|_| RemediateError::Audit("public key is not 32 bytes".into()))?;
    VerifyingKey::from_bytes(&arr).map_err(|e| RemediateError::Audit(format!("bad public key: {e}")))
}

/// Parses a hex ed25519 secret seed (32 bytes).
pub fn signing_key_from_hex(s: &str) -> Result<SigningKey, RemediateError> {
    let b = unhex(s.trim()).ok_or_else(|| RemediateError::Audit("secret key is not hex".into()))?;
    let arr: [u8; 32] = b
        .try_into()
        .map_err(|_| RemediateError::Audit("secret key is not 32 bytes".into()))?;
    Ok(SigningKey::from_bytes(&arr))
}

/// Hex encoding of a public key.
pub fn verifying_key_hex(k: &VerifyingKey) -> String {
    hex(k.as_bytes())
}

/// Signs a record's hash in place.
pub fn sign_record(r: &mut AuditRecord, key: &SigningKey) {
    r.signature = hex(&key.sign(r.hash.as_bytes()).to_bytes());
}

/// The signed summary of a log: how many records and the last hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    /// Number of records.
    pub count: u64,
    /// Hash of the last record (empty for an empty log).
    pub last_hash: String,
    /// Signature over `count` and `last_hash`.
    pub signature: String,
}

fn head_message(count: u64, last_hash: &str) -> Vec<u8> {
    let mut m = b"faultline-audit-head\0".to_vec();
    m.extend_from_slice(&count.to_le_bytes());
    m.extend_from_slice(last_hash.as_bytes());
    m
}

impl AuditHead {
    /// The signed head of `records`.
    pub fn sign(records: &[AuditRecord], key: &SigningKey) -> Self {
        let count = records.len() as u64;
        let last_hash = records.last().map(|r| r.hash.clone()).unwrap_or_default();
        let signature = hex(&key.sign(&head_message(count, &last_hash)).to_bytes());
        Self {
            count,
            last_hash,
            signature,
        }
    }
}

/// Verifies chain, signatures and (when given) the signed head.
pub fn verify_records(
    records: &[AuditRecord],
    key: &VerifyingKey,
    head: Option<&AuditHead>,
) -> Result<(), RemediateError> {
    verify_chain(records).map_err(|e| RemediateError::Audit(e.to_string()))?;
    for r in records {
        let sig = parse_signature(&r.signature)
            .map_err(|_| RemediateError::Audit(format!("record {} has no valid signature", r.seq)))?;
        key.verify(r.hash.as_bytes(), &sig)
            .map_err(|_| RemediateError::Audit(format!("record {} signature does not verify", r.seq)))?;
    }
    if let Some(h) = head {
        let sig = parse_signature(&h.signature)?;
        key.verify(&head_message(h.count, &h.last_hash), &sig)
            .map_err(|_| RemediateError::Audit("the head signature does not verify".into()))?;
        let last = records.last().map(|r| r.hash.as_str()).unwrap_or("");
        if h.count != records.len() as u64 {
            return Err(RemediateError::Audit(format!(
                "log has {} records but its signed head says {} (truncated or extended)",
                records.len(),
                h.count
            )));
        }
        if h.last_hash != last {
            return Err(RemediateError::Audit(
                "the last record is not the one the signed head names".into(),
            ));
        }
    }
    Ok(())
}

/// The head file beside a log: `audit.jsonl` → `audit.jsonl.head`.
pub fn head_path(log: &Path) -> PathBuf {
    let mut p = log.as_os_str().to_owned();
    p.push(".head");
    PathBuf::from(p)
}

/// Reads a JSONL log (no verification).
pub fn read_log(path: &Path) -> Result<Vec<AuditRecord>, RemediateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(RemediateError::io(path, e)),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(RemediateError::Audit(format!(
            "{}: last line is incomplete (torn write or truncation)",
            path.display()
        )));
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| RemediateError::Audit(format!("{} line {}: {e}", path.display(), i + 1)))
        })
        .collect()
}

/// Verifies a JSONL log and its head file; returns the number of records.
pub fn verify_file(path: &Path, key: &VerifyingKey) -> Result<u64, RemediateError> {
    let records = read_log(path)?;
    let hp = head_path(path);
    let head: AuditHead = match std::fs::read_to_string(&hp) {
        Ok(t) => {
            serde_json::from_str(&t).map_err(|e| RemediateError::Audit(format!("{}: {e}", hp.display())))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RemediateError::Audit(format!(
                "{} is missing: completeness cannot be verified",
                hp.display()
            )))
        }
        Err(e) => return Err(RemediateError::io(hp, e)),
    };
    verify_records(&records, key, Some(&head))?;
    Ok(records.len() as u64)
}

/// A signed, hash-chained audit log in memory.
pub struct SignedMemorySink {
    key: SigningKey,
    clock: Arc<dyn Clock>,
    records: Mutex<Vec<AuditRecord>>,
}

impl std::fmt::Debug for SignedMemorySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedMemorySink").finish_non_exhaustive()
    }
}

impl SignedMemorySink {
    /// An empty log signed with `key`.
    pub fn new(key: SigningKey, clock: Arc<dyn Clock>) -> Self {
        Self {
            key,
            clock,
            records: Mutex::new(Vec::new()),
        }
    }
    /// The signed head of the current log.
    pub fn head(&self) -> Result<AuditHead, RemediateError> {
        let g = self
            .records
            .lock()
            .map_err(|_| RemediateError::Audit("lock poisoned".into()))?;
        Ok(AuditHead::sign(&g, &self.key))
    }
}

#[async_trait]
impl AuditSink for SignedMemorySink {
    async fn append(&self, payload: serde_json::Value) -> faultline_core::Result<AuditRecord> {
        let mut g = self
            .records
            .lock()
            .map_err(|_| CoreError::Internal("audit lock poisoned".into()))?;
        let mut r = next_record(g.last(), self.clock.now(), payload);
        sign_record(&mut r, &self.key);
        g.push(r.clone());
        Ok(r)
    }
    async fn records(&self) -> faultline_core::Result<Vec<AuditRecord>> {
        Ok(self
            .records
            .lock()
            .map_err(|_| CoreError::Internal("audit lock poisoned".into()))?
            .clone())
    }
}

/// A signed audit log in a JSONL file, `fsync`ed on every append, with its signed head in
/// `PATH.head` (replaced atomically).
pub struct FileAuditSink {
    path: PathBuf,
    key: SigningKey,
    clock: Arc<dyn Clock>,
    state: Mutex<(Option<AuditRecord>, u64)>,
}

impl std::fmt::Debug for FileAuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileAuditSink")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FileAuditSink {
    /// Opens (or creates) the log at `path`. An existing log must verify with `key`'s public
    /// half before anything is appended to it.
    pub fn open(
        path: impl Into<PathBuf>,
        key: SigningKey,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, RemediateError> {
        let path = path.into();
        let records = read_log(&path)?;
        if !records.is_empty() {
            verify_file(&path, &key.verifying_key())?;
        }
        let n = records.len() as u64;
        Ok(Self {
            path,
            key,
            clock,
            state: Mutex::new((records.into_iter().last(), n)),
        })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append_sync(&self, payload: serde_json::Value) -> Result<AuditRecord, RemediateError> {
        let mut g = self
            .state
            .lock()
            .map_err(|_| RemediateError::Audit("lock poisoned".into()))?;
        let mut r = next_record(g.0.as_ref(), self.clock.now(), payload);
        sign_record(&mut r, &self.key);
        let mut line = serde_json::to_string(&r).map_err(|e| RemediateError::Audit(e.to_string()))?;
        line.push('\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| RemediateError::io(&self.path, e))?;
        f.write_all(line.as_bytes())
            .map_err(|e| RemediateError::io(&self.path, e))?;
        f.sync_all().map_err(|e| RemediateError::io(&self.path, e))?;
        let count = g.1 + 1;
        let head = AuditHead {
            count,
            last_hash: r.hash.clone(),
            signature: hex(&self.key.sign(&head_message(count, &r.hash)).to_bytes()),
        };
        let hp = head_path(&self.path);
        let tmp = {
            let mut t = hp.as_os_str().to_owned();
            t.push(".tmp");
            PathBuf::from(t)
        };
        let text = serde_json::to_string(&head).map_err(|e| RemediateError::Audit(e.to_string()))?;
        {
            let mut hf = std::fs::File::create(&tmp).map_err(|e| RemediateError::io(&tmp, e))?;
            hf.write_all(text.as_bytes())
                .map_err(|e| RemediateError::io(&tmp, e))?;
            hf.sync_all().map_err(|e| RemediateError::io(&tmp, e))?;
        }
        std::fs::rename(&tmp, &hp).map_err(|e| RemediateError::io(&hp, e))?;
        *g = (Some(r.clone()), count);
        Ok(r)
    }
}

#[async_trait]
impl AuditSink for FileAuditSink {
    async fn append(&self, payload: serde_json::Value) -> faultline_core::Result<AuditRecord> {
        Ok(self.append_sync(payload)?)
    }
    async fn records(&self) -> faultline_core::Result<Vec<AuditRecord>> {
        Ok(read_log(&self.path)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_core::ports::ManualClock;
    use faultline_core::Timestamp;
    use serde_json::json;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn signed_chain(n: usize) -> Vec<AuditRecord> {
        let mut v: Vec<AuditRecord> = Vec::new();
        for i in 0..n {
            let mut r = next_record(v.last(), Timestamp(i as i64), json!({ "i": i }));
            sign_record(&mut r, &key());
            v.push(r);
        }
        v
    }

    #[test]
    fn detects_edit_deletion_reorder_truncation_and_forgery() {
        let c = signed_chain(5);
        let vk = key().verifying_key();
        let head = AuditHead::sign(&c, &key());
        assert!(verify_records(&c, &vk, Some(&head)).is_ok());

        let mut edited = c.clone();
        edited[2].payload = json!({ "i": 99 });
        assert!(verify_records(&edited, &vk, Some(&head)).is_err());

        let mut deleted = c.clone();
        deleted.remove(1);
        assert!(verify_records(&deleted, &vk, Some(&head)).is_err());

        let mut reordered = c.clone();
        reordered.swap(2, 3);
        assert!(verify_records(&reordered, &vk, Some(&head)).is_err());

        let truncated = &c[..3];
        assert!(
            verify_records(truncated, &vk, None).is_ok(),
            "a prefix is a valid chain on its own"
        );
        let err = verify_records(truncated, &vk, Some(&head)).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");

        // Someone without the key rebuilds the whole chain after an edit: hashes agree, the
        // signatures do not.
        let mut forged: Vec<AuditRecord> = Vec::new();
        for (i, r) in c.iter().enumerate() {
            let payload = if i == 1 {
                json!({ "i": "forged" })
            } else {
                r.payload.clone()
            };
            let mut f = next_record(forged.last(), r.at, payload);
            sign_record(&mut f, &SigningKey::from_bytes(&[9u8; 32]));
            forged.push(f);
        }
        assert!(verify_records(&forged, &vk, None).is_err());
    }

    #[tokio::test]
    async fn records_with_floats_verify_after_a_round_trip_through_the_file() {
        // Hashes cover the JSON values; a float that re-parsed one ulp off (serde_json without
        // `float_roundtrip`) made untouched records look edited.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let sink = FileAuditSink::open(&path, key(), Arc::new(ManualClock::default())).unwrap();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let floats: Vec<f64> = (0..2000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        sink.append(json!({ "risk": 0.363321272179248, "floats": floats }))
            .await
            .unwrap();
        assert_eq!(verify_file(&path, &key().verifying_key()).unwrap(), 1);
    }

    #[tokio::test]
    async fn file_sink_round_trips_and_detects_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let clock = Arc::new(ManualClock::new(Timestamp::from_secs(100)));
        let sink = FileAuditSink::open(&path, key(), clock.clone()).unwrap();
        for i in 0..4 {
            sink.append(json!({ "event": "step", "i": i })).await.unwrap();
        }
        let vk = key().verifying_key();
        assert_eq!(verify_file(&path, &vk).unwrap(), 4);
        // Reopen and continue the chain.
        let sink = FileAuditSink::open(&path, key(), clock).unwrap();
        sink.append(json!({ "event": "verdict" })).await.unwrap();
        assert_eq!(verify_file(&path, &vk).unwrap(), 5);

        let original = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = original.lines().collect();
        // Edit.
        std::fs::write(&path, original.replace("\"verdict\"", "\"verdikt\"")).unwrap();
        assert!(verify_file(&path, &vk).is_err());
        // Delete a line.
        let without: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 2)
            .map(|(_, l)| *l)
            .collect();
        std::fs::write(&path, without.join("\n") + "\n").unwrap();
        assert!(verify_file(&path, &vk).is_err());
        // Reorder.
        let mut swapped = lines.clone();
        swapped.swap(0, 1);
        std::fs::write(&path, swapped.join("\n") + "\n").unwrap();
        assert!(verify_file(&path, &vk).is_err());
        // Truncate the tail (a valid prefix).
        std::fs::write(&path, lines[..3].join("\n") + "\n").unwrap();
        assert!(verify_file(&path, &vk)
            .unwrap_err()
            .to_string()
            .contains("truncated"));
        // Torn last line.
        std::fs::write(&path, &original[..original.len() - 10]).unwrap();
        assert!(verify_file(&path, &vk).is_err());
        // Restored: verifies again.
        std::fs::write(&path, &original).unwrap();
        assert_eq!(verify_file(&path, &vk).unwrap(), 5);
        // Wrong key.
        assert!(verify_file(&path, &SigningKey::from_bytes(&[1u8; 32]).verifying_key()).is_err());
        // Appending to a tampered log is refused.
        std::fs::write(&path, lines[..3].join("\n") + "\n").unwrap();
        assert!(FileAuditSink::open(&path, key(), Arc::new(ManualClock::default())).is_err());
    }
}

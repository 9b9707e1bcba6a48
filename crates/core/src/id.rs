//! Content-derived identifiers.
//!
//! Reports are reproducible: the same input and configuration give the same report, so ids are
//! derived from content with a stable hash (FNV-1a, 64 bit), never from random numbers or
//! addresses. [`StableHasher`] is that hash; every id newtype prints as a short prefix and 16
//! hex digits (`ev-3f9a…`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// FNV-1a 64-bit hasher whose output is stable across runs, platforms and Rust versions
/// (unlike `std`'s `DefaultHasher`).
///
/// ```
/// use faultline_core::id::StableHasher;
/// let mut h = StableHasher::new();
/// h.write_str("checkout");
/// assert_eq!(h.finish(), StableHasher::hash_str("checkout"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl StableHasher {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// A fresh hasher.
    pub const fn new() -> Self {
        Self(Self::OFFSET)
    }
    /// Feeds bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }
    /// Feeds a string followed by a separator, so that `("ab","c")` and `("a","bc")` differ.
    pub fn write_str(&mut self, s: &str) {
        self.write(s.as_bytes());
        self.write(&[0xff]);
    }
    /// Feeds an integer.
    pub fn write_i64(&mut self, v: i64) {
        self.write(&v.to_le_bytes());
    }
    /// The hash so far.
    pub const fn finish(&self) -> u64 {
        self.0
    }
    /// Hash of one string.
    pub fn hash_str(s: &str) -> u64 {
        let mut h = Self::new();
        h.write_str(s);
        h.finish()
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id whose digits are `hash`.
            pub fn from_hash(hash: u64) -> Self {
                Self(format!(concat!($prefix, "-{:016x}"), hash))
            }
            /// The id derived from the given parts of its content.
            pub fn derive(parts: &[&str]) -> Self {
                let mut h = StableHasher::new();
                for p in parts {
                    h.write_str(p);
                }
                Self::from_hash(h.finish())
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// Identifies an [`Evidence`](crate::Evidence) item within a report.
    EvidenceId,
    "ev"
);
id_type!(
    /// Identifies a [`Hypothesis`](crate::Hypothesis).
    HypothesisId,
    "hyp"
);
id_type!(
    /// Identifies an [`Anomaly`](crate::Anomaly).
    AnomalyId,
    "an"
);
id_type!(
    /// Identifies a [`LogTemplate`](crate::LogTemplate).
    TemplateId,
    "tpl"
);
id_type!(
    /// Identifies a [`FixPlan`](crate::FixPlan).
    PlanId,
    "plan"
);
id_type!(
    /// Identifies an [`AlertGroup`](crate::AlertGroup).
    AlertGroupId,
    "ag"
);

/// Identifies an incident. Chosen by the host (or taken from `incident.json`), so free text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct IncidentId(pub String);

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_separated() {
        // Pinned value: a change of hash would silently change every report id.
        assert_eq!(StableHasher::new().finish(), 0xcbf2_9ce4_8422_2325);
        assert_ne!(EvidenceId::derive(&["ab", "c"]), EvidenceId::derive(&["a", "bc"]));
        assert_eq!(EvidenceId::derive(&["x"]), EvidenceId::derive(&["x"]));
        assert!(EvidenceId::derive(&["x"]).as_str().starts_with("ev-"));
    }
}

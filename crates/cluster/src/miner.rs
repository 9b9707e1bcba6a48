//! The online template miner.
//!
//! A fixed-depth parse tree in the spirit of Drain (Pinjia He, Jieming Zhu, Zibin Zheng,
//! Michael R. Lyu, "Drain: An Online Log Parsing Approach with Fixed Depth Tree", ICWS 2017):
//! lines are routed by token count and first token to a leaf, and joined to the most similar
//! cluster of that leaf when the share of equal tokens reaches `similarity_threshold`; the
//! template keeps the tokens its members agree on and turns the others into `<*>`.
//!
//! Differences from Drain:
//! - variables are masked before routing with one generic rule ([`crate::masking`]), so the
//!   routing keys and similarity see `<*>` instead of numbers and ids;
//! - tokens are hashed once (no `String` per token); a cache from the hash of the masked
//!   token sequence to its cluster answers repeated shapes without a tree search;
//! - memory is bounded: at most `max_tokens` tokens per line, `max_clusters` clusters
//!   (beyond that a line joins its best candidate whatever the similarity), a bounded cache.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use crate::masking::{hash_bytes, hash_combine, mask_token, TokenKind, WILDCARD};
use crate::ClusterError;

/// Identifies a cluster of one [`TemplateMiner`]; dense (0, 1, 2, …) and stable for the
/// miner's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClusterId(pub u32);

/// Configuration of the [`TemplateMiner`]. One configuration serves every log source; the
/// defaults are the values measured on Loghub (see `docs/cluster.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MinerConfig {
    /// Share of a template's positions a line must match to join it, in (0, 1].
    pub similarity_threshold: f64,
    /// Tokens of a line beyond this are folded into one trailing `<*>`.
    pub max_tokens: usize,
    /// Cap on clusters; at the cap a line joins its best candidate in the tree.
    pub max_clusters: usize,
    /// Cap on clusters examined per tree leaf (keeps the search bounded on hostile input).
    pub max_leaf_candidates: usize,
    /// Entries of the masked-shape cache before it is cleared.
    pub max_cache_entries: usize,
}

impl Default for MinerConfig {
    fn default() -> Self {
        Self {
            similarity_threshold: 0.5,
            max_tokens: 200,
            max_clusters: 200_000,
            max_leaf_candidates: 256,
            max_cache_entries: 1 << 20,
        }
    }
}

impl MinerConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), ClusterError> {
        if !(self.similarity_threshold > 0.0 && self.similarity_threshold <= 1.0) {
            return Err(ClusterError::invalid(
                "similarity_threshold",
                self.similarity_threshold,
                "must be in (0, 1]",
            ));
        }
        if self.max_tokens < 1 {
            return Err(ClusterError::invalid("max_tokens", self.max_tokens, "must be at least 1"));
        }
        if self.max_clusters < 1 || self.max_clusters > u32::MAX as usize - 1 {
            return Err(ClusterError::invalid("max_clusters", self.max_clusters, "must be in [1, 2^32 - 2]"));
        }
        if self.max_leaf_candidates < 1 {
            return Err(ClusterError::invalid(
                "max_leaf_candidates",
                self.max_leaf_candidates,
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// Identity hasher for keys that are already good 64-bit hashes.
#[derive(Default, Clone, Copy)]
pub(crate) struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = hash_combine(self.0, u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = hash_combine(self.0, v);
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<PreHashed>>;

/// Hash of the wildcard token.
fn wild_hash() -> u64 {
    hash_bytes(WILDCARD.as_bytes())
}

#[derive(Debug, Clone)]
struct Cluster {
    /// Token hashes of the template; `wild` for variables.
    hashes: Vec<u64>,
    /// Token texts of the template.
    texts: Vec<Box<str>>,
    count: u64,
}

/// One token of the current line: a range of the miner's scratch buffer.
#[derive(Debug, Clone, Copy)]
struct LineToken {
    start: u32,
    end: u32,
    hash: u64,
}

/// Online template miner (fixed-depth parse tree in the spirit of Drain, He et al. 2017) with
/// variable masking that needs no per-dataset regexes.
///
/// ```
/// use faultline_cluster::{MinerConfig, TemplateMiner};
/// let mut m = TemplateMiner::new(MinerConfig::default()).unwrap();
/// let a = m.add("Accepted password for alice from 10.0.0.7 port 51122 ssh2");
/// let b = m.add("Accepted password for bob from 10.0.0.9 port 40022 ssh2");
/// assert_eq!(a, b);
/// assert_eq!(m.template(a).unwrap(), "Accepted password for <*> from <*> port <*> <*>");
/// ```
#[derive(Debug, Clone)]
pub struct TemplateMiner {
    cfg: MinerConfig,
    clusters: Vec<Cluster>,
    /// (token count, first token hash or wild) → clusters.
    leaves: FastMap<u64, Vec<u32>>,
    /// Hash of the masked token sequence → cluster.
    cache: FastMap<u64, u32>,
    wild: u64,
    scratch: Vec<u8>,
    line: Vec<LineToken>,
}

impl TemplateMiner {
    /// A miner with the given (validated) configuration.
    pub fn new(cfg: MinerConfig) -> Result<Self, ClusterError> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            clusters: Vec::new(),
            leaves: FastMap::default(),
            cache: FastMap::default(),
            wild: wild_hash(),
            scratch: Vec::with_capacity(1024),
            line: Vec::with_capacity(64),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MinerConfig {
        &self.cfg
    }

    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    /// Whether no line was added yet.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// Lines that joined a cluster.
    pub fn count(&self, id: ClusterId) -> Option<u64> {
        self.clusters.get(id.0 as usize).map(|c| c.count)
    }

    /// Current template text of a cluster, variables as `<*>`.
    pub fn template(&self, id: ClusterId) -> Option<String> {
        let c = self.clusters.get(id.0 as usize)?;
        let mut s = String::with_capacity(c.texts.iter().map(|t| t.len() + 1).sum());
        for (i, t) in c.texts.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(t);
        }
        Some(s)
    }

    /// Tokenises and masks `message` into `self.line` / `self.scratch`; returns the shape hash.
    fn tokenize(&mut self, message: &str) -> u64 {
        self.scratch.clear();
        self.line.clear();
        let mut shape = 0x51_7cc1_b727_220a_u64;
        let max = self.cfg.max_tokens;
        let mut iter = message.split_ascii_whitespace();
        for tok in iter.by_ref() {
            if self.line.len() + 1 == max {
                // Fold this and any further tokens into one variable.
                let start = self.scratch.len() as u32;
                self.scratch.extend_from_slice(WILDCARD.as_bytes());
                self.line.push(LineToken {
                    start,
                    end: self.scratch.len() as u32,
                    hash: self.wild,
                });
                shape = hash_combine(shape, self.wild);
                let _ = tok;
                break;
            }
            let start = self.scratch.len();
            let kind = mask_token(tok.as_bytes(), &mut self.scratch);
            let hash = if kind == TokenKind::Wild {
                self.wild
            } else {
                hash_bytes(&self.scratch[start..])
            };
            self.line.push(LineToken {
                start: start as u32,
                end: self.scratch.len() as u32,
                hash,
            });
            shape = hash_combine(shape, hash);
        }
        hash_combine(shape, self.line.len() as u64)
    }

    fn leaf_key(&self) -> u64 {
        let first = self.line.first().map_or(0, |t| t.hash);
        hash_combine(hash_combine(0x2545_f491_4f6c_dd1d, self.line.len() as u64), first)
    }

    /// Similarity of the current line to a cluster: share of positions where they agree.
    fn similarity(&self, c: &Cluster) -> f64 {
        let n = self.line.len();
        if n == 0 {
            return 1.0;
        }
        let eq = c
            .hashes
            .iter()
            .zip(&self.line)
            .filter(|(h, t)| **h == t.hash)
            .count();
        eq as f64 / n as f64
    }

    fn token_text(&self, t: &LineToken) -> &str {
        // Masking cuts only at ASCII bytes, so every range is valid UTF-8 of the input.
        std::str::from_utf8(&self.scratch[t.start as usize..t.end as usize]).unwrap_or(WILDCARD)
    }

    /// Adds one message (no header) and returns its cluster id (stable for the run).
    pub fn add(&mut self, message: &str) -> ClusterId {
        let shape = self.tokenize(message);
        if let Some(&id) = self.cache.get(&shape) {
            if let Some(c) = self.clusters.get_mut(id as usize) {
                c.count += 1;
                return ClusterId(id);
            }
        }
        let key = self.leaf_key();
        let mut best: Option<(u32, f64)> = None;
        if let Some(cands) = self.leaves.get(&key) {
            for &cid in cands.iter().rev().take(self.cfg.max_leaf_candidates) {
                let Some(c) = self.clusters.get(cid as usize) else { continue };
                let s = self.similarity(c);
                if best.is_none_or(|(_, b)| s > b) {
                    best = Some((cid, s));
                }
            }
        }
        let at_cap = self.clusters.len() >= self.cfg.max_clusters;
        let id = match best {
            Some((cid, s)) if s >= self.cfg.similarity_threshold || at_cap => {
                self.join(cid);
                cid
            }
            _ if at_cap => self.join_overflow(),
            _ => self.create(key),
        };
        if self.cache.len() >= self.cfg.max_cache_entries {
            self.cache.clear();
        }
        self.cache.insert(shape, id);
        ClusterId(id)
    }

    fn join(&mut self, cid: u32) {
        let wild = self.wild;
        let Some(c) = self.clusters.get_mut(cid as usize) else { return };
        c.count += 1;
        for (i, t) in self.line.iter().enumerate() {
            if let (Some(h), Some(txt)) = (c.hashes.get_mut(i), c.texts.get_mut(i)) {
                if *h != t.hash && *h != wild {
                    *h = wild;
                    *txt = WILDCARD.into();
                }
            }
        }
    }

    /// At the cluster cap with no candidate: the last cluster absorbs the line.
    fn join_overflow(&mut self) -> u32 {
        let last = self.clusters.len().saturating_sub(1) as u32;
        if let Some(c) = self.clusters.get_mut(last as usize) {
            c.count += 1;
            if c.hashes.len() != self.line.len() {
                c.hashes = vec![self.wild];
                c.texts = vec![WILDCARD.into()];
            }
        }
        last
    }

    fn create(&mut self, key: u64) -> u32 {
        let id = self.clusters.len() as u32;
        let hashes = self.line.iter().map(|t| t.hash).collect();
        let texts = self.line.iter().map(|t| Box::<str>::from(self.token_text(t))).collect();
        self.clusters.push(Cluster {
            hashes,
            texts,
            count: 1,
        });
        self.leaves.entry(key).or_default().push(id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn miner() -> TemplateMiner {
        TemplateMiner::new(MinerConfig::default()).expect("default config is valid")
    }

    #[test]
    fn same_shape_joins_and_template_generalises() {
        let mut m = miner();
        let a = m.add("session opened for user root by (uid=0)");
        let b = m.add("session opened for user alice by (uid=1000)");
        assert_eq!(a, b);
        assert_eq!(m.template(a).as_deref(), Some("session opened for user <*> by (uid=<*>)"));
        assert_eq!(m.count(a), Some(2));
    }

    #[test]
    fn different_messages_get_different_clusters() {
        let mut m = miner();
        let a = m.add("Connection closed by 1.2.3.4");
        let b = m.add("Received disconnect from 1.2.3.4: 11: Bye Bye");
        assert_ne!(a, b);
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn empty_and_whitespace_lines_are_one_cluster() {
        let mut m = miner();
        let a = m.add("");
        let b = m.add("   \t ");
        assert_eq!(a, b);
        assert_eq!(m.template(a).as_deref(), Some(""));
    }

    #[test]
    fn long_lines_are_capped() {
        let mut m = TemplateMiner::new(MinerConfig {
            max_tokens: 4,
            ..MinerConfig::default()
        })
        .expect("valid");
        let id = m.add("a b c d e f g h");
        assert_eq!(m.template(id).as_deref(), Some("a b c <*>"));
    }

    #[test]
    fn cluster_cap_holds() {
        let mut m = TemplateMiner::new(MinerConfig {
            max_clusters: 3,
            ..MinerConfig::default()
        })
        .expect("valid");
        for w in ["alpha", "beta", "gamma", "delta", "eps", "zeta"] {
            m.add(w);
            m.add(&format!("{w} one two three"));
        }
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn invalid_config_is_rejected() {
        let e = TemplateMiner::new(MinerConfig {
            similarity_threshold: 1.5,
            ..MinerConfig::default()
        })
        .expect_err("out of range");
        assert!(e.to_string().contains("similarity_threshold"));
    }
}

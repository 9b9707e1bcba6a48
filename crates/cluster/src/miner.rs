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
    /// Distinct values a word position must show (among clusters otherwise equal) before it
    /// is taken for a variable and those clusters merge; fewer values are kept as distinct
    /// templates (`VM Started` / `VM Paused`).
    pub merge_min_variants: usize,
    /// The same, when one of the clusters has a masked variable at that position (a word
    /// where other lines had a number is likely a variable).
    pub masked_merge_min_variants: usize,
}

impl Default for MinerConfig {
    fn default() -> Self {
        Self {
            similarity_threshold: 0.5,
            max_tokens: 200,
            max_clusters: 200_000,
            max_leaf_candidates: 256,
            max_cache_entries: 1 << 20,
            merge_min_variants: 4,
            masked_merge_min_variants: 2,
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
            return Err(ClusterError::invalid(
                "max_tokens",
                self.max_tokens,
                "must be at least 1",
            ));
        }
        if self.max_clusters < 1 || self.max_clusters > u32::MAX as usize - 1 {
            return Err(ClusterError::invalid(
                "max_clusters",
                self.max_clusters,
                "must be in [1, 2^32 - 2]",
            ));
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

/// Template hash of a position learned to be variable (matches any token). Masked variables
/// keep the hash of `<*>` and match only masked tokens, so a word where another line had a
/// number is evidence for, not proof of, a variable.
const LEARNED: u64 = u64::MAX - 0x5eed;

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
    /// The cluster this one was merged into (itself while alive).
    parent: u32,
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
/// let mut id = m.add("Accepted password for alice from 10.0.0.7 port 51122 ssh2");
/// for user in ["bob", "carol", "dave", "erin", "frank"] {
///     id = m.add(&format!("Accepted password for {user} from 10.0.0.9 port 40022 ssh2"));
/// }
/// assert_eq!(m.resolve(ClusterIdFirst), id);
/// # use faultline_cluster::ClusterId; const ClusterIdFirst: ClusterId = ClusterId(0);
/// assert_eq!(m.template(id).unwrap(), "Accepted password for <*> from <*> port <*> ssh2");
/// ```
#[derive(Debug, Clone)]
pub struct TemplateMiner {
    cfg: MinerConfig,
    clusters: Vec<Cluster>,
    live: usize,
    /// token count → live clusters.
    leaves: FastMap<u64, Vec<u32>>,
    /// Hash of the masked token sequence → cluster.
    cache: FastMap<u64, u32>,
    wild: u64,
    scratch: Vec<u8>,
    line: Vec<LineToken>,
}

/// How the current line relates to a cluster's template.
enum Diff {
    /// Matches (differences only where the template has variables); number of constants.
    Match(usize),
    /// Differs at one or two constant positions.
    Near([u32; 2], u8),
    /// Differs more.
    Far(usize),
}

impl TemplateMiner {
    /// A miner with the given (validated) configuration.
    pub fn new(cfg: MinerConfig) -> Result<Self, ClusterError> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            clusters: Vec::new(),
            live: 0,
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

    /// Number of clusters (merged ones count once).
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no line was added yet.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Upper bound (exclusive) of the ids handed out so far, merged ones included.
    pub fn id_bound(&self) -> u32 {
        self.clusters.len() as u32
    }

    /// The cluster an id now stands for: ids handed out earlier may have been merged into
    /// another cluster as the miner learned that a position is variable.
    pub fn resolve(&self, id: ClusterId) -> ClusterId {
        let mut i = id.0;
        // Parents always have smaller ids, so this terminates.
        while let Some(c) = self.clusters.get(i as usize) {
            if c.parent == i {
                break;
            }
            i = c.parent;
        }
        ClusterId(i)
    }

    /// Lines that joined a cluster (after resolving merges).
    pub fn count(&self, id: ClusterId) -> Option<u64> {
        self.clusters.get(self.resolve(id).0 as usize).map(|c| c.count)
    }

    /// Current template text of a cluster (after resolving merges), variables as `<*>`.
    pub fn template(&self, id: ClusterId) -> Option<String> {
        let c = self.clusters.get(self.resolve(id).0 as usize)?;
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
        for tok in message.split_ascii_whitespace() {
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
        self.line.len() as u64
    }

    fn diff(&self, c: &Cluster) -> Diff {
        let mut pos = [0u32; 2];
        let mut nd = 0usize;
        let mut consts = 0usize;
        for (i, (h, t)) in c.hashes.iter().zip(&self.line).enumerate() {
            if *h == LEARNED {
                continue;
            }
            if *h == t.hash {
                consts += 1;
            } else {
                if nd < 2 {
                    pos[nd] = i as u32;
                }
                nd += 1;
            }
        }
        match nd {
            0 => Diff::Match(consts),
            1 | 2 => Diff::Near(pos, nd as u8),
            _ => Diff::Far(nd),
        }
    }

    fn token_text(&self, t: &LineToken) -> &str {
        // Masking cuts only at ASCII bytes, so every range is valid UTF-8 of the input.
        std::str::from_utf8(&self.scratch[t.start as usize..t.end as usize]).unwrap_or(WILDCARD)
    }

    /// Adds one message (no header) and returns its cluster id (stable for the run; see
    /// [`TemplateMiner::resolve`] for ids merged later).
    pub fn add(&mut self, message: &str) -> ClusterId {
        let shape = self.tokenize(message);
        if let Some(&id) = self.cache.get(&shape) {
            let root = self.resolve(ClusterId(id)).0;
            if let Some(c) = self.clusters.get_mut(root as usize) {
                c.count += 1;
                return ClusterId(root);
            }
        }
        let id = self.place();
        if self.cache.len() >= self.cfg.max_cache_entries {
            self.cache.clear();
        }
        self.cache.insert(shape, id);
        ClusterId(id)
    }

    /// Finds or creates the cluster of the current line (cache miss path).
    fn place(&mut self) -> u32 {
        let key = self.leaf_key();
        let mut best_match: Option<(u32, usize)> = None;
        let mut best_any: Option<(u32, usize)> = None;
        // Near clusters: (cluster, positions, count of positions).
        let mut near: Vec<(u32, [u32; 2], u8)> = Vec::new();
        if let Some(cands) = self.leaves.get(&key) {
            for &cid in cands.iter().rev().take(self.cfg.max_leaf_candidates) {
                let Some(c) = self.clusters.get(cid as usize) else {
                    continue;
                };
                match self.diff(c) {
                    Diff::Match(k) => {
                        if best_match.is_none_or(|(_, b)| k > b) {
                            best_match = Some((cid, k));
                        }
                    }
                    Diff::Near(p, n) => {
                        near.push((cid, p, n));
                        if best_any.is_none_or(|(_, b)| (n as usize) < b) {
                            best_any = Some((cid, n as usize));
                        }
                    }
                    Diff::Far(n) => {
                        if best_any.is_none_or(|(_, b)| n < b) {
                            best_any = Some((cid, n));
                        }
                    }
                }
            }
        }
        if let Some((cid, _)) = best_match {
            if let Some(c) = self.clusters.get_mut(cid as usize) {
                c.count += 1;
            }
            return cid;
        }
        if self.live >= self.cfg.max_clusters {
            return match best_any {
                Some((cid, _)) => {
                    self.generalise(cid);
                    cid
                }
                None => self.join_overflow(),
            };
        }
        let id = self.create(key);
        self.merge_family(id, key, &near);
        let root = self.resolve(ClusterId(id)).0;
        self.absorb_subsumed(root, key);
        root
    }

    /// Merges the new cluster `id` with near clusters that differ from it at the same one or
    /// two positions, when there are enough of them to call those positions variable.
    fn merge_family(&mut self, id: u32, key: u64, near: &[(u32, [u32; 2], u8)]) {
        let need = self.cfg.merge_min_variants.saturating_sub(1).max(1);
        // Group near clusters by their differing positions; pick the largest qualifying group,
        // preferring single-position groups.
        let mut best: Option<([u32; 2], u8, usize)> = None;
        for &(_, p, n) in near {
            let size = near
                .iter()
                .filter(|&&(_, q, m)| m == n && q[..n as usize] == p[..n as usize])
                .count();
            // A word where another line of the family had a masked variable is strong
            // evidence: one such pair suffices.
            let masked = n == 1
                && near.iter().map(|&(c, _, _)| c).chain([id]).any(|c| {
                    near.iter()
                        .any(|&(x, q, m)| (x == c || c == id) && m == 1 && q[0] == p[0])
                        && self
                            .clusters
                            .get(c as usize)
                            .and_then(|c| c.texts.get(p[0] as usize))
                            .is_some_and(|t| t.contains(WILDCARD))
                });
            let need_n = if masked {
                self.cfg.masked_merge_min_variants.saturating_sub(1).max(1)
            } else if n == 1 {
                need
            } else {
                need + need / 2
            };
            if size >= need_n && best.is_none_or(|(_, bn, bs)| (n, usize::MAX - size) < (bn, usize::MAX - bs))
            {
                best = Some((p, n, size));
            }
        }
        let Some((p, n, _)) = best else { return };
        // A template needs a constant part: never turn every remaining constant into `<*>`.
        let consts_left = self.clusters.get(id as usize).map_or(0, |c| {
            c.hashes
                .iter()
                .enumerate()
                .filter(|&(i, h)| *h != self.wild && *h != LEARNED && !p[..n as usize].contains(&(i as u32)))
                .count()
        });
        if consts_left == 0 {
            return;
        }
        let members: Vec<u32> = near
            .iter()
            .filter(|&&(_, q, m)| m == n && q[..n as usize] == p[..n as usize])
            .map(|&(c, _, _)| c)
            .collect();
        let root = members.iter().copied().chain([id]).min().unwrap_or(id);
        // Template text of each variable position: keep a shared `key=` prefix.
        for &pos in &p[..n as usize] {
            let pos = pos as usize;
            let prefix = {
                let texts = members
                    .iter()
                    .chain([&id])
                    .filter_map(|&c| self.clusters.get(c as usize).and_then(|c| c.texts.get(pos)));
                common_key_prefix(texts)
            };
            let text: Box<str> = format!("{prefix}{WILDCARD}").into();
            if let Some(c) = self.clusters.get_mut(root as usize) {
                if let (Some(h), Some(t)) = (c.hashes.get_mut(pos), c.texts.get_mut(pos)) {
                    *h = LEARNED;
                    *t = text;
                }
            }
        }
        let mut absorbed = 0u64;
        for &m in members.iter().chain([&id]) {
            if m == root {
                continue;
            }
            if let Some(c) = self.clusters.get_mut(m as usize) {
                absorbed += c.count;
                c.parent = root;
                c.hashes = Vec::new();
                c.texts = Vec::new();
                self.live -= 1;
            }
        }
        if let Some(c) = self.clusters.get_mut(root as usize) {
            c.count += absorbed;
        }
        if let Some(leaf) = self.leaves.get_mut(&key) {
            let clusters = &self.clusters;
            leaf.retain(|&c| clusters.get(c as usize).is_some_and(|x| x.parent == c));
        }
    }

    /// Merges into `root` the clusters of its leaf that its template already covers (they
    /// differ only where `root` has variables): a word seen where another line had a masked
    /// variable is taken for a variable too.
    fn absorb_subsumed(&mut self, root: u32, key: u64) {
        let Some(r) = self.clusters.get(root as usize) else {
            return;
        };
        let consts = r
            .hashes
            .iter()
            .filter(|h| **h != self.wild && **h != LEARNED)
            .count();
        if consts == 0 {
            return;
        }
        let Some(leaf) = self.leaves.get(&key) else { return };
        let mut absorbed: Vec<u32> = Vec::new();
        for &cid in leaf.iter().rev().take(self.cfg.max_leaf_candidates) {
            if cid == root {
                continue;
            }
            let Some(c) = self.clusters.get(cid as usize) else {
                continue;
            };
            let mut covered = true;
            let mut diffs = 0;
            for (rh, ch) in r.hashes.iter().zip(&c.hashes) {
                if rh == ch {
                    continue;
                }
                if *rh == LEARNED {
                    diffs += 1;
                } else {
                    covered = false;
                    break;
                }
            }
            if covered && diffs <= consts {
                absorbed.push(cid);
            }
        }
        if absorbed.is_empty() {
            return;
        }
        let new_root = absorbed.iter().copied().chain([root]).min().unwrap_or(root);
        if new_root != root {
            // Keep the smallest id as the survivor; it takes the covering template.
            if let Some(r) = self.clusters.get(root as usize) {
                let (h, t) = (r.hashes.clone(), r.texts.clone());
                if let Some(n) = self.clusters.get_mut(new_root as usize) {
                    n.hashes = h;
                    n.texts = t;
                }
            }
        }
        let mut total = 0u64;
        for m in absorbed.into_iter().chain([root]) {
            if m == new_root {
                continue;
            }
            if let Some(c) = self.clusters.get_mut(m as usize) {
                total += c.count;
                c.parent = new_root;
                c.hashes = Vec::new();
                c.texts = Vec::new();
                self.live -= 1;
            }
        }
        if let Some(c) = self.clusters.get_mut(new_root as usize) {
            c.count += total;
        }
        if let Some(leaf) = self.leaves.get_mut(&key) {
            let clusters = &self.clusters;
            leaf.retain(|&c| clusters.get(c as usize).is_some_and(|x| x.parent == c));
        }
    }

    /// Drain-style join at the cluster cap: differing positions become variables.
    fn generalise(&mut self, cid: u32) {
        let Some(c) = self.clusters.get_mut(cid as usize) else {
            return;
        };
        c.count += 1;
        for (i, t) in self.line.iter().enumerate() {
            if let (Some(h), Some(txt)) = (c.hashes.get_mut(i), c.texts.get_mut(i)) {
                if *h != t.hash && *h != LEARNED {
                    *h = LEARNED;
                    *txt = WILDCARD.into();
                }
            }
        }
    }

    /// At the cluster cap with no candidate: the last live cluster absorbs the line.
    fn join_overflow(&mut self) -> u32 {
        let last = self
            .resolve(ClusterId(self.clusters.len().saturating_sub(1) as u32))
            .0;
        if let Some(c) = self.clusters.get_mut(last as usize) {
            c.count += 1;
            if c.hashes.len() != self.line.len() {
                c.hashes = vec![LEARNED];
                c.texts = vec![WILDCARD.into()];
            }
        }
        last
    }

    fn create(&mut self, key: u64) -> u32 {
        let id = self.clusters.len() as u32;
        let hashes = self.line.iter().map(|t| t.hash).collect();
        let texts = self
            .line
            .iter()
            .map(|t| Box::<str>::from(self.token_text(t)))
            .collect();
        self.clusters.push(Cluster {
            hashes,
            texts,
            count: 1,
            parent: id,
        });
        self.live += 1;
        self.leaves.entry(key).or_default().push(id);
        id
    }
}

/// The `key=` / `key:` prefix shared by all texts (empty if none).
fn common_key_prefix<'a>(mut texts: impl Iterator<Item = &'a Box<str>>) -> String {
    let Some(first) = texts.next() else {
        return String::new();
    };
    let Some(cut) = first.find(['=', ':']) else {
        return String::new();
    };
    let prefix = &first[..=cut];
    if prefix.len() < 2 {
        return String::new();
    }
    if texts.all(|t| t.starts_with(prefix)) {
        prefix.to_string()
    } else {
        String::new()
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
        for u in ["alice", "bob", "carol"] {
            m.add(&format!("session opened for user {u} by (uid=1000)"));
        }
        let b = m.add("session opened for user dave by (uid=7)");
        assert_eq!(m.resolve(a), b);
        assert_eq!(
            m.template(a).as_deref(),
            Some("session opened for user <*> by (uid=<*>)")
        );
        assert_eq!(m.count(a), Some(5));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn few_word_variants_stay_distinct_templates() {
        let mut m = miner();
        let a = m.add("VM Started (Lifecycle Event)");
        let b = m.add("VM Paused (Lifecycle Event)");
        let c = m.add("VM Resumed (Lifecycle Event)");
        assert!(a != b && b != c && a != c);
        assert_eq!(m.template(b).as_deref(), Some("VM Paused (Lifecycle Event)"));
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

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

use crate::masking::{hash_bytes, hash_combine, mask_classified, TokenKind, CLASS, WILDCARD};
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
    /// Share of a line's constant tokens a merge must keep as constants, in (0, 1].
    pub similarity_threshold: f64,
    /// Tokens of a line beyond this are folded into one trailing `<*>`.
    pub max_tokens: usize,
    /// Cap on live clusters; at the cap the rarest of a sample of clusters is evicted to make
    /// room (its ids then have no template).
    pub max_clusters: usize,
    /// Cap on clusters examined per tree leaf (keeps the search bounded on hostile input).
    pub max_leaf_candidates: usize,
    /// Slots of the direct-mapped masked-shape cache (rounded up to a power of two; 16 bytes
    /// each), in [1, 2^24].
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
            max_leaf_candidates: 4096,
            max_cache_entries: 1 << 14,
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
        if !(1..=1 << 24).contains(&self.max_cache_entries) {
            return Err(ClusterError::invalid(
                "max_cache_entries",
                self.max_cache_entries,
                "must be in [1, 2^24]",
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
    fn write_u32(&mut self, v: u32) {
        self.0 = hash_combine(self.0, u64::from(v));
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<PreHashed>>;

/// Template hash of a position learned to be variable (matches any token). Masked variables
/// keep the hash of `<*>` and match only masked tokens, so a word where another line had a
/// number is evidence for, not proof of, a variable.
const LEARNED: u64 = u64::MAX - 0x5eed;
/// Seed of the marker of a keyed variable (`interactive=<*>`: any value after that key).
const KEYED: u64 = 0x6b65_7965_645f_7661;
/// Slots of the constant-token memo (power of two).
const CONST_MEMO_SLOTS: usize = 1 << 12;
/// Longest message read (bytes); the rest is ignored.
const MAX_MESSAGE_BYTES: usize = 1 << 30;
/// Near clusters considered per new cluster (the closest ones).
const MAX_NEAR: usize = 64;
/// Clusters remembered per first token as candidates of a tail merge (the newest ones).
const MAX_BY_FIRST: usize = 64;
/// Rare siblings a word-run merge needs, as a multiple of `merge_min_variants`.
const RARE_MIN_FACTOR: usize = 2;
/// Seed of shape and template hashes.
const SHAPE_SEED: u64 = 0x51_7cc1_b727_220a;

/// Hash of the wildcard token.
fn wild_hash() -> u64 {
    hash_bytes(WILDCARD.as_bytes())
}

/// How a template position matches a line token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    /// The token itself (masked variables included: `<*>` matches only masked tokens).
    Const,
    /// A learned variable: any token.
    Learned,
    /// A learned variable behind a key (`interactive=<*>`, `setLightsOn(<*>)`): any token
    /// with the same key and closing punctuation.
    Keyed,
    /// The last position of a template whose variable spans the rest of the line (one or
    /// more tokens): a list of varying length after a fixed prefix.
    Tail,
}

/// The key of a `key=value`, `key:value`, `name(value)` or `name[value]` token: byte length
/// of the key (delimiter included) and of the closing suffix, when the value is non-empty.
fn token_key(t: &[u8]) -> Option<(usize, usize)> {
    let i = t.iter().position(|&b| matches!(b, b'=' | b':' | b'(' | b'['))?;
    if i == 0 {
        return None;
    }
    let mut end = t.len();
    while end > i + 1 && matches!(t[end - 1], b')' | b']' | b'}' | b',' | b';' | b'.' | b'"' | b'\'') {
        end -= 1;
    }
    if end <= i + 1 {
        return None;
    }
    Some((i + 1, t.len() - end))
}

/// Hash of a token's key (`None` when the token has none).
fn key_hash(t: &[u8]) -> Option<u64> {
    let (k, s) = token_key(t)?;
    Some(hash_combine(
        hash_combine(KEYED, hash_bytes(&t[..k])),
        hash_bytes(&t[t.len() - s..]),
    ))
}

#[derive(Debug, Clone)]
struct Cluster {
    /// Per position: the token hash (`Const`), `LEARNED`, or the key hash (`Keyed`).
    hashes: Vec<u64>,
    slots: Vec<Slot>,
    /// Token texts of the template.
    texts: Vec<Box<str>>,
    /// Per position: every line that made the template had a plain integer there (a list of
    /// numbers prints one `<*>` per number; other adjacent variables print as one).
    numeric: Vec<bool>,
    count: u64,
    /// The cluster this one was merged into (itself while alive).
    parent: u32,
    /// Evicted at the cluster cap (no template any more).
    evicted: bool,
}

impl Cluster {
    fn live(&self, id: u32) -> bool {
        self.parent == id && !self.evicted
    }

    /// Whether the last position spans the rest of a line (kept out of the leaves).
    fn is_tail(&self) -> bool {
        self.slots.last() == Some(&Slot::Tail)
    }

    /// Positions that are not constants, as a mask description.
    fn mask(&self) -> Vec<(u16, Slot)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| **s != Slot::Const)
            .map(|(i, s)| (i as u16, *s))
            .collect()
    }

    /// Hash of the template (the shape hash of the lines it was made from when it has no
    /// learned positions).
    fn key(&self) -> u64 {
        let h = self.hashes.iter().fold(SHAPE_SEED, |h, &x| hash_combine(h, x));
        hash_combine(h, self.hashes.len() as u64)
    }
}

/// One token of the current line: a range of the miner's scratch buffer.
#[derive(Debug, Clone, Copy)]
struct LineToken {
    start: u32,
    end: u32,
    hash: u64,
    /// Masking found a variable part (`<*>`, `uid=<*>`).
    masked: bool,
    /// The raw token is a plain integer.
    digits: bool,
    /// Shape hash of the tokens before this one (so a layout's key is hashed from its first
    /// variable position on).
    before: u64,
}

/// A live cluster in its leaf, with a 64-bit signature of its constant positions (a
/// one-hash Bloom filter of (position, token)) to skip far clusters without touching them.
#[derive(Debug, Clone, Copy)]
struct LeafEntry {
    id: u32,
    sig: u64,
    /// Constant positions of the template.
    consts: u16,
    /// Constant positions whose signature bit collided with another's.
    deficit: u16,
}

/// Signature bit of token hash `h` at position `pos`.
#[inline]
fn sig_bit(pos: usize, h: u64) -> u64 {
    1u64 << ((h ^ (pos as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_mul(0xff51_afd7_ed55_8ccd) >> 58)
}

impl LeafEntry {
    fn of(id: u32, c: &Cluster) -> Self {
        let mut sig = 0u64;
        let mut consts = 0u16;
        for (i, ((h, s), t)) in c.hashes.iter().zip(&c.slots).zip(&c.texts).enumerate() {
            if *s == Slot::Const && !t.contains(WILDCARD) {
                sig |= sig_bit(i, *h);
                consts += 1;
            }
        }
        Self {
            id,
            sig,
            consts,
            deficit: consts.saturating_sub(sig.count_ones() as u16),
        }
    }
}

/// Non-constant positions of a template and how they match.
type Layout = Box<[(u16, Slot)]>;

/// The clusters of one token count, and the distinct variable layouts of their templates.
#[derive(Debug, Clone, Default)]
struct Leaf {
    clusters: Vec<LeafEntry>,
    /// (non-constant positions, number of live templates with that layout); fewest
    /// variables first.
    masks: Vec<(Layout, u32)>,
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
    /// token count → leaf.
    leaves: FastMap<u32, Leaf>,
    /// Template hash → live cluster.
    index: FastMap<u64, u32>,
    /// Hash of the masked token sequence → cluster.
    /// Direct-mapped: slot `shape & (len - 1)` holds (shape, cluster); small enough to
    /// stay in the CPU cache.
    cache: Vec<(u64, u32)>,
    wild: u64,
    scratch: Vec<u8>,
    line: Vec<LineToken>,
    /// Direct-mapped memo of hashes of punctuated digit-free tokens that masked to
    /// themselves.
    const_memo: Vec<u64>,
    /// Next id the eviction clock looks at.
    clock: u32,
    /// First token hash → the newest clusters starting with it (candidates of a tail merge).
    by_first: FastMap<u64, Vec<u32>>,
    /// First token hash → live clusters whose last position spans the rest of a line.
    tails: FastMap<u64, Vec<u32>>,
}

/// A near cluster: its id and the positions where it differs from the new line.
struct Near {
    id: u32,
    diff: Vec<u16>,
}

impl TemplateMiner {
    /// A miner with the given (validated) configuration.
    pub fn new(cfg: MinerConfig) -> Result<Self, ClusterError> {
        cfg.validate()?;
        let cache_len = cfg.max_cache_entries.next_power_of_two();
        Ok(Self {
            cfg,
            clusters: Vec::new(),
            live: 0,
            leaves: FastMap::default(),
            index: FastMap::default(),
            cache: vec![(0, u32::MAX); cache_len],
            wild: wild_hash(),
            scratch: Vec::with_capacity(1024),
            line: Vec::with_capacity(64),
            const_memo: vec![0; CONST_MEMO_SLOTS],
            clock: 0,
            by_first: FastMap::default(),
            tails: FastMap::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MinerConfig {
        &self.cfg
    }

    /// Number of live clusters (merged ones count once, evicted ones not at all).
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

    /// Current template text of a cluster (after resolving merges), variables as `<*>`;
    /// `None` for an unknown id or a cluster evicted at the cap.
    pub fn template(&self, id: ClusterId) -> Option<String> {
        let c = self.clusters.get(self.resolve(id).0 as usize)?;
        if c.evicted {
            return None;
        }
        let mut s = String::with_capacity(c.texts.iter().map(|t| t.len() + 1).sum());
        for (i, (t, joined)) in render(c).into_iter().enumerate() {
            if joined {
                // `…<*>` + `<*>…` print as one variable.
                s.truncate(s.len() - WILDCARD.len());
                s.push_str(&t);
                continue;
            }
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&t);
        }
        Some(s)
    }

    /// Ids of the live clusters, ascending.
    pub fn cluster_ids(&self) -> impl Iterator<Item = ClusterId> + '_ {
        self.clusters
            .iter()
            .enumerate()
            .filter(|(i, c)| c.live(*i as u32))
            .map(|(i, _)| ClusterId(i as u32))
    }

    /// Tokenises and masks `message` into `self.line` / `self.scratch`; returns the shape hash.
    fn tokenize(&mut self, message: &str) -> u64 {
        // Token ranges are u32: longer messages are cut (at a character boundary).
        let mut cut = message.len().min(MAX_MESSAGE_BYTES);
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        let bytes = &message.as_bytes()[..cut];
        self.line.clear();
        // The message is copied once; constant tokens are ranges of that copy and masked
        // tokens are appended after it.
        self.scratch.clear();
        self.scratch.extend_from_slice(bytes);
        let mut shape = SHAPE_SEED;
        let max = self.cfg.max_tokens;
        let n = bytes.len();
        let mut i = 0;
        loop {
            while i < n && CLASS[bytes[i] as usize] & 16 != 0 {
                i += 1;
            }
            if i == n {
                break;
            }
            if self.line.len() + 1 == max {
                // Fold this and any further tokens into one variable.
                let start = self.scratch.len() as u32;
                self.scratch.extend_from_slice(WILDCARD.as_bytes());
                self.line.push(LineToken {
                    start,
                    end: self.scratch.len() as u32,
                    hash: self.wild,
                    masked: true,
                    digits: false,
                    before: shape,
                });
                shape = hash_combine(shape, self.wild);
                break;
            }
            // One pass finds the token's end and its byte classes.
            let s = i;
            let (mut any, mut all) = (0u8, 0xffu8);
            while i < n {
                let c = CLASS[bytes[i] as usize];
                if c & 16 != 0 {
                    break;
                }
                any |= c;
                all &= c;
                i += 1;
            }
            let tok = &bytes[s..i];
            let at = self.scratch.len();
            // Punctuated words without digits (`status:`, `(Lifecycle`, `failure;`) are
            // mostly a fixed vocabulary: remember the ones that stay constant.
            let memo = (any & 3 == 2).then(|| {
                let h = hash_bytes(tok);
                (h, (h as usize) & (CONST_MEMO_SLOTS - 1))
            });
            let kind = match memo {
                Some((h, slot)) if self.const_memo.get(slot) == Some(&h) => TokenKind::Const,
                _ => mask_classified::<false>(tok, any, all, &mut self.scratch),
            };
            let (start, end, hash) = match kind {
                TokenKind::Const => {
                    let h = match memo {
                        Some((h, slot)) => {
                            if let Some(m) = self.const_memo.get_mut(slot) {
                                *m = h;
                            }
                            h
                        }
                        None => hash_bytes(tok),
                    };
                    (s, i, h)
                }
                TokenKind::Wild => (at, self.scratch.len(), self.wild),
                TokenKind::Mixed => (at, self.scratch.len(), hash_bytes(&self.scratch[at..])),
            };
            self.line.push(LineToken {
                start: start as u32,
                end: end as u32,
                hash,
                masked: kind != TokenKind::Const,
                digits: kind == TokenKind::Wild && all & 1 != 0,
                before: shape,
            });
            shape = hash_combine(shape, hash);
        }
        hash_combine(shape, self.line.len() as u64)
    }

    fn tok_bytes(&self, t: &LineToken) -> &[u8] {
        &self.scratch[t.start as usize..t.end as usize]
    }

    fn token_text(&self, t: &LineToken) -> &str {
        // Masking cuts only at ASCII bytes, so every range is valid UTF-8 of the input.
        std::str::from_utf8(self.tok_bytes(t)).unwrap_or(WILDCARD)
    }

    /// Whether line token `i` matches template position `(slot, hash)`.
    fn token_matches(&self, i: usize, slot: Slot, hash: u64) -> bool {
        let Some(t) = self.line.get(i) else { return false };
        match slot {
            Slot::Const => t.hash == hash,
            Slot::Learned | Slot::Tail => true,
            Slot::Keyed => key_hash(self.tok_bytes(t)) == Some(hash),
        }
    }

    /// Hash of the current line read through a variable layout (as a template key).
    fn masked_key(&self, mask: &[(u16, Slot)]) -> Option<u64> {
        let from = mask.first().map_or(self.line.len(), |&(p, _)| p as usize);
        let mut h = self.line.get(from).map_or(SHAPE_SEED, |t| t.before);
        if from >= self.line.len() {
            // No variable position: the shape hash itself.
            h = self.line.iter().fold(SHAPE_SEED, |h, t| hash_combine(h, t.hash));
        }
        let mut m = mask.iter().peekable();
        for (i, t) in self.line.iter().enumerate().skip(from) {
            let x = match m.peek() {
                Some(&&(p, slot)) if p as usize == i => {
                    m.next();
                    match slot {
                        Slot::Const => t.hash,
                        Slot::Learned | Slot::Tail => LEARNED,
                        Slot::Keyed => key_hash(self.tok_bytes(t))?,
                    }
                }
                _ => t.hash,
            };
            h = hash_combine(h, x);
        }
        Some(hash_combine(h, self.line.len() as u64))
    }

    /// Adds one message (no header) and returns its cluster id (stable for the run; see
    /// [`TemplateMiner::resolve`] for ids merged later).
    pub fn add(&mut self, message: &str) -> ClusterId {
        let shape = self.tokenize(message);
        let slot = (shape as usize) & (self.cache.len() - 1);
        if let Some(&(s, id)) = self.cache.get(slot).filter(|(s, _)| *s == shape) {
            let _ = s;
            let root = self.resolve(ClusterId(id)).0;
            if let Some(c) = self.clusters.get_mut(root as usize) {
                if !c.evicted {
                    c.count += 1;
                    return ClusterId(root);
                }
            }
        }
        let id = self.place();
        if let Some(e) = self.cache.get_mut(slot) {
            *e = (shape, id);
        }
        ClusterId(id)
    }

    /// Finds or creates the cluster of the current line (cache miss path).
    fn place(&mut self) -> u32 {
        let len = self.line.len() as u32;
        if let Some(id) = self.lookup(len).or_else(|| self.lookup_tail()) {
            if let Some(c) = self.clusters.get_mut(id as usize) {
                c.count += 1;
            }
            return id;
        }
        if self.live >= self.cfg.max_clusters {
            self.evict_rarest();
        }
        let id = self.create();
        let near = self.near_clusters(id);
        let root = self.merge_family(id, &near);
        let root = self.absorb_subsumed(root);
        if root == id && self.clusters.get(id as usize).is_some_and(|c| c.count == 1) {
            let root = self.merge_tail(id);
            if root == id {
                return self.merge_rare(id);
            }
            return root;
        }
        root
    }

    /// Merges the new singleton cluster `id` with other singleton clusters of its token count
    /// and first token when together they show one template whose variables are runs of
    /// words: at least [`RARE_MIN_FACTOR`] × `merge_min_variants` singletons (the line's
    /// included) agree with the line on a set `T` of positions (at least two plain words, the
    /// first token among them; a position is in `T` when at least three quarters of the
    /// candidates agree there), and every position outside `T` is near-unique across them
    /// (at least `merge_min_variants` distinct values, none held by more than half). This is
    /// positional cardinality over rare siblings, after the "longest common pattern" of
    /// Brain (Yu et al., 2023): constants are what many rare lines share position by
    /// position, variables what almost never repeats. Clusters with repeated lines never
    /// take part, so constant alternatives (`VM Started` / `VM Paused`), which repeat, stay
    /// apart. Bounded work: the candidates are the newest [`MAX_BY_FIRST`] clusters of the
    /// first token. Returns the survivor.
    fn merge_rare(&mut self, id: u32) -> u32 {
        let len = self.line.len();
        let Some(first) = self.line.first().filter(|t| !t.masked).map(|t| t.hash) else {
            return id;
        };
        let Some(cands) = self.by_first.get(&first) else {
            return id;
        };
        let min_group = self.cfg.merge_min_variants.max(2) * RARE_MIN_FACTOR;
        // Singleton same-length candidates and, per candidate, which positions equal the line.
        let mut group: Vec<(u32, Vec<bool>)> = Vec::new();
        for &cid in cands {
            let Some(c) = self.clusters.get(cid as usize) else {
                continue;
            };
            if cid == id || !c.live(cid) || c.count != 1 || c.slots.len() != len {
                continue;
            }
            if c.slots.iter().any(|s| *s != Slot::Const) {
                continue;
            }
            let eq: Vec<bool> = (0..len).map(|i| c.hashes[i] == self.line[i].hash).collect();
            let plain_eq = (0..len).filter(|&i| eq[i] && !self.line[i].masked).count();
            if plain_eq >= 2 {
                group.push((cid, eq));
            }
        }
        let mut fixed = vec![false; len];
        for _round in 0..3 {
            if group.len() + 1 < min_group {
                return id;
            }
            // T: positions where three quarters of the group agree with the line.
            for (p, f) in fixed.iter_mut().enumerate() {
                let agree = group.iter().filter(|(_, eq)| eq[p]).count();
                *f = 4 * agree >= 3 * group.len();
            }
            let before = group.len();
            group.retain(|(_, eq)| (0..len).all(|p| !fixed[p] || eq[p]));
            if group.len() == before {
                break;
            }
        }
        if group.len() + 1 < min_group || !fixed.first().copied().unwrap_or(false) {
            return id;
        }
        let plain_fixed = (0..len).filter(|&p| fixed[p] && !self.line[p].masked).count();
        if plain_fixed < 2 || fixed.iter().all(|&f| f) {
            return id;
        }
        // Every other position is near-unique across the group.
        let n = group.len() + 1;
        for p in (0..len).filter(|&p| !fixed[p]) {
            let mut counts: Vec<(u64, usize)> = Vec::new();
            let values = group
                .iter()
                .filter_map(|(cid, _)| self.clusters.get(*cid as usize).map(|c| c.hashes[p]))
                .chain([self.line[p].hash]);
            for v in values {
                match counts.iter_mut().find(|(h, _)| *h == v) {
                    Some(e) => e.1 += 1,
                    None => counts.push((v, 1)),
                }
            }
            let top = counts.iter().map(|e| e.1).max().unwrap_or(0);
            if counts.len() < self.cfg.merge_min_variants.max(2) || 2 * top > n {
                return id;
            }
        }
        let ids: Vec<u32> = group.iter().map(|(cid, _)| *cid).chain([id]).collect();
        let vars: Vec<(usize, Slot, u64, Box<str>)> = (0..len)
            .filter(|&p| !fixed[p])
            .map(|p| (p, Slot::Learned, LEARNED, self.var_text(&ids, p, Slot::Learned)))
            .collect();
        let root = self.union(&ids, &vars);
        self.absorb_subsumed(root)
    }

    /// A live tail cluster (fixed prefix, then a variable spanning the rest) matching the
    /// current line.
    fn lookup_tail(&self) -> Option<u32> {
        let first = self.line.first()?;
        let ids = self.tails.get(&first.hash)?;
        ids.iter().copied().find(|&id| {
            self.clusters.get(id as usize).is_some_and(|c| {
                c.live(id)
                    && c.is_tail()
                    && self.line.len() >= c.slots.len()
                    && (0..c.slots.len() - 1).all(|i| self.token_matches(i, c.slots[i], c.hashes[i]))
            })
        })
    }

    /// Merges the new singleton cluster `id` with clusters of other token counts that share
    /// its first `P` tokens, when their lengths show a list of varying length after that
    /// prefix: at least `merge_min_variants` clusters (the line's included) of at least three
    /// distinct token counts, `P >= 2`. The survivor's template is the prefix and one
    /// variable spanning the rest (`Slot::Tail`). Returns the survivor.
    fn merge_tail(&mut self, id: u32) -> u32 {
        let len = self.line.len();
        let Some(first) = self.line.first().filter(|t| !t.masked).map(|t| t.hash) else {
            return id;
        };
        // Bounded lookup work per line: at most `MAX_BY_FIRST` tail templates per first token.
        if self.tails.get(&first).is_some_and(|v| v.len() >= MAX_BY_FIRST) {
            return id;
        }
        let Some(cands) = self.by_first.get(&first) else {
            return id;
        };
        // (shared prefix, token count, id) of every live candidate.
        let mut found: Vec<(usize, usize, u32)> = Vec::new();
        for &cid in cands {
            let Some(c) = self.clusters.get(cid as usize) else {
                continue;
            };
            if cid == id || !c.live(cid) || c.is_tail() {
                continue;
            }
            let n = c.slots.len();
            let p = (0..n.min(len))
                .take_while(|&i| self.token_matches(i, c.slots[i], c.hashes[i]))
                .count();
            if p >= 2 {
                found.push((p, n, cid));
            }
        }
        let min_members = self.cfg.merge_min_variants.max(2);
        let mut prefixes: Vec<usize> = found.iter().map(|f| f.0).collect();
        prefixes.sort_unstable_by(|a, b| b.cmp(a));
        prefixes.dedup();
        let plain = self.line.iter().filter(|t| !t.masked).count();
        for p in prefixes {
            if p >= len {
                continue;
            }
            // The prefix keeps most of the line's words (`similarity_threshold`, as a merge
            // does): a header of masked fields (`- <*> <*> … RAS KERNEL INFO …`) is no list.
            let kept = self.line[..p].iter().filter(|t| !t.masked).count();
            if kept == 0 || (kept as f64) < self.cfg.similarity_threshold * plain as f64 {
                continue;
            }
            // A list of values: every tail is mostly masked tokens (ids, numbers, frames), so
            // constant continuations (`Error loading …` / `Error creating …`) stay apart.
            let listy = |texts: &mut dyn Iterator<Item = bool>| {
                let (mut n, mut masked) = (0usize, 0usize);
                for m in texts {
                    n += 1;
                    masked += usize::from(m);
                }
                n >= 2 && 3 * masked >= 2 * n
            };
            if !listy(&mut self.line[p..].iter().map(|t| t.masked)) {
                continue;
            }
            let group: Vec<(usize, u32)> = found
                .iter()
                .filter(|f| {
                    f.0 >= p
                        && f.1 > p
                        && self
                            .clusters
                            .get(f.2 as usize)
                            .is_some_and(|c| listy(&mut c.texts[p..].iter().map(|t| t.contains(WILDCARD))))
                })
                .map(|f| (f.1, f.2))
                .collect();
            let mut lens: Vec<usize> = group.iter().map(|g| g.0).chain([len]).collect();
            lens.sort_unstable();
            lens.dedup();
            if group.len() + 1 >= min_members && lens.len() >= 3 {
                let ids: Vec<u32> = group.iter().map(|g| g.1).chain([id]).collect();
                return self.union_tail(&ids, p);
            }
        }
        id
    }

    /// Merges clusters `ids` (the new line's last) into the smallest, whose template becomes
    /// the first `prefix` positions of the line's template (widened by the members'
    /// variables) and a [`Slot::Tail`] variable.
    fn union_tail(&mut self, ids: &[u32], prefix: usize) -> u32 {
        let Some(&root) = ids.iter().min() else { return 0 };
        let base = ids.last().copied().unwrap_or(root);
        let Some(b) = self.clusters.get(base as usize) else {
            return root;
        };
        let mut hashes: Vec<u64> = b.hashes.iter().take(prefix).copied().collect();
        let mut slots: Vec<Slot> = b.slots.iter().take(prefix).copied().collect();
        let mut texts: Vec<Box<str>> = b.texts.iter().take(prefix).cloned().collect();
        let mut numeric: Vec<bool> = b.numeric.iter().take(prefix).copied().collect();
        numeric.resize(prefix, false);
        for &m in ids {
            let Some(c) = self.clusters.get(m as usize) else {
                continue;
            };
            for p in 0..prefix.min(c.slots.len()) {
                numeric[p] &= c.numeric.get(p) == Some(&true);
                if c.slots[p] != Slot::Const && slots[p] == Slot::Const {
                    slots[p] = c.slots[p];
                    hashes[p] = c.hashes[p];
                    texts[p] = c.texts[p].clone();
                }
            }
        }
        hashes.push(LEARNED);
        slots.push(Slot::Tail);
        texts.push(WILDCARD.into());
        numeric.push(false);
        let mut absorbed = 0u64;
        let mut lens: Vec<u32> = Vec::new();
        for &m in ids {
            self.unindex(m);
            if let Some(c) = self.clusters.get_mut(m as usize) {
                lens.push(c.hashes.len() as u32);
                if m != root {
                    absorbed += c.count;
                    c.parent = root;
                    c.hashes = Vec::new();
                    c.slots = Vec::new();
                    c.texts = Vec::new();
                    c.numeric = Vec::new();
                    self.live -= 1;
                }
            }
        }
        let first = hashes.first().copied().unwrap_or(LEARNED);
        if let Some(c) = self.clusters.get_mut(root as usize) {
            c.count += absorbed;
            c.hashes = hashes;
            c.slots = slots;
            c.texts = texts;
            c.numeric = numeric;
        }
        // The survivor leaves its leaf: tail clusters are found by their first token.
        lens.sort_unstable();
        lens.dedup();
        for len in lens {
            if let Some(leaf) = self.leaves.get_mut(&len) {
                let clusters = &self.clusters;
                leaf.clusters.retain(|e| {
                    clusters
                        .get(e.id as usize)
                        .is_some_and(|x| x.live(e.id) && !x.is_tail())
                });
            }
        }
        self.add_tail(first, root);
        root
    }

    /// Registers live tail cluster `id` under its first token hash.
    fn add_tail(&mut self, first: u64, id: u32) {
        let clusters = &self.clusters;
        let v = self.tails.entry(first).or_default();
        v.retain(|&t| clusters.get(t as usize).is_some_and(|c| c.live(t) && c.is_tail()));
        if !v.contains(&id) {
            v.push(id);
        }
    }

    /// A live cluster whose template matches the current line.
    fn lookup(&self, len: u32) -> Option<u32> {
        let leaf = self.leaves.get(&len)?;
        for (mask, _) in &leaf.masks {
            let Some(key) = self.masked_key(mask) else {
                continue;
            };
            if let Some(&id) = self.index.get(&key) {
                let c = self.clusters.get(id as usize)?;
                if c.live(id)
                    && c.hashes.len() == self.line.len()
                    && (0..c.hashes.len()).all(|i| self.token_matches(i, c.slots[i], c.hashes[i]))
                {
                    return Some(id);
                }
            }
        }
        None
    }

    /// Live clusters of the leaf of `id` that differ from it at few positions.
    fn near_clusters(&self, id: u32) -> Vec<Near> {
        let len = self.line.len();
        let max_diff = (len / 2).max(1);
        let mut out = Vec::new();
        let Some(leaf) = self.leaves.get(&(len as u32)) else {
            return out;
        };
        let line_sig = self
            .line
            .iter()
            .enumerate()
            .fold(0u64, |s, (i, t)| s | sig_bit(i, t.hash));
        // (hard differences, rank by recency, range in `pool`) of every near cluster.
        let mut found: Vec<(usize, usize, u32, usize, usize)> = Vec::new();
        let mut pool: Vec<u16> = Vec::new();
        for (rank, e) in leaf
            .clusters
            .iter()
            .rev()
            .take(self.cfg.max_leaf_candidates)
            .enumerate()
        {
            let cid = e.id;
            // Matching constants are at most the shared signature bits plus collisions.
            let most = (line_sig & e.sig).count_ones() as usize + e.deficit as usize;
            if cid == id || (e.consts as usize).saturating_sub(most) > max_diff {
                continue;
            }
            let Some(c) = self.clusters.get(cid as usize) else {
                continue;
            };
            let start = pool.len();
            let mut hard = 0;
            for i in 0..len {
                if !self.token_matches(i, c.slots[i], c.hashes[i]) {
                    pool.push(i as u16);
                    // Two masked tokens (`a.b:<*>` / `c.d:<*>`) differ softly: both already
                    // carry a variable.
                    if !(self.line[i].masked && c.texts[i].contains(WILDCARD)) {
                        hard += 1;
                        if hard > max_diff {
                            break;
                        }
                    }
                }
            }
            if pool.len() > start && hard <= max_diff {
                found.push((hard, rank, cid, start, pool.len()));
            } else {
                pool.truncate(start);
            }
        }
        // The closest (then most recent) ones are evidence enough; the cap bounds the merge.
        if found.len() > MAX_NEAR {
            found.select_nth_unstable(MAX_NEAR);
            found.truncate(MAX_NEAR);
            found.sort_unstable_by_key(|f| f.1);
        }
        out.extend(found.into_iter().map(|(_, _, id, a, b)| Near {
            id,
            diff: pool[a..b].to_vec(),
        }));
        out
    }

    /// Merges the new cluster `id` with near clusters whose differences all fall on
    /// positions that show enough distinct values among them to be called variable.
    fn merge_family(&mut self, id: u32, near: &[Near]) -> u32 {
        if near.is_empty() {
            return id;
        }
        let len = self.line.len();
        // Per position: the line token's key (a keyed position only admits members with the
        // same key) and whether it is masked.
        let line_keys: Vec<Option<u64>> = self.line.iter().map(|t| key_hash(self.tok_bytes(t))).collect();
        let mut members: Vec<&Near> = near.iter().collect();
        let mut vars: Vec<Option<Slot>> = vec![None; len];
        for _round in 0..4 {
            // Distinct values per position among the line and the members that differ there.
            let mut values: Vec<Vec<u64>> = vec![Vec::new(); len];
            let mut keyed: Vec<usize> = vec![0; len];
            let mut learned = vec![false; len];
            let mut masked = vec![false; len];
            for (i, t) in self.line.iter().enumerate() {
                values[i].push(t.hash);
                masked[i] = self.tok_bytes(t).windows(3).any(|w| w == b"<*>");
            }
            for n in &members {
                let Some(c) = self.clusters.get(n.id as usize) else {
                    continue;
                };
                for (p, s) in c.slots.iter().enumerate() {
                    if *s == Slot::Learned || (*s == Slot::Keyed && line_keys[p] == Some(c.hashes[p])) {
                        learned[p] = true;
                    }
                }
                for &p in &n.diff {
                    let p = p as usize;
                    let v = &mut values[p];
                    if v.len() < 64 && !v.contains(&c.hashes[p]) {
                        v.push(c.hashes[p]);
                        if line_keys[p].is_some()
                            && c.texts.get(p).and_then(|t| key_hash(t.as_bytes())) == line_keys[p]
                        {
                            keyed[p] += 1;
                        }
                    }
                    masked[p] |= c.texts.get(p).is_some_and(|t| t.contains(WILDCARD));
                }
            }
            let min_plain = self.cfg.merge_min_variants.max(2);
            let min_masked = self.cfg.masked_merge_min_variants.max(2);
            for p in 0..len {
                let need = if masked[p] { min_masked } else { min_plain };
                // Same key and closing text on every value: a keyed variable; else a plain one
                // (needs the evidence of all values).
                vars[p] = if line_keys[p].is_some() && keyed[p] + 1 >= need {
                    Some(Slot::Keyed)
                } else if values[p].len() >= need || learned[p] {
                    Some(Slot::Learned)
                } else {
                    None
                };
            }
            let before = members.len();
            members.retain(|n| {
                let Some(c) = self.clusters.get(n.id as usize) else {
                    return false;
                };
                n.diff.iter().all(|&p| {
                    let p = p as usize;
                    match vars[p] {
                        None => false,
                        Some(Slot::Keyed) => {
                            c.texts.get(p).and_then(|t| key_hash(t.as_bytes())) == line_keys[p]
                        }
                        Some(_) => true,
                    }
                })
            });
            // Keep most of the line's constants: admit the closest members first, each only
            // while the variables it needs leave `similarity_threshold` of the constants
            // (never none), so a far member does not veto the merge of near ones.
            let plain = self.line.iter().filter(|t| !t.masked).count();
            let need = ((self.cfg.similarity_threshold * plain as f64).ceil() as usize).max(1);
            // A line without plain words (`ready=qdye,policy=<*>`) keeps the keys of its keyed
            // variables as its constants.
            let key_kept = if plain == 0 {
                (0..len).filter(|&p| vars[p] == Some(Slot::Keyed)).count()
            } else {
                0
            };
            let hard = |n: &Near| n.diff.iter().filter(|&&p| !self.line[p as usize].masked).count();
            members.sort_by_key(|n| (hard(n), n.id));
            let mut used = vec![false; len];
            let mut kept = plain + key_kept;
            members.retain(|n| {
                let Some(c) = self.clusters.get(n.id as usize) else {
                    return false;
                };
                // A member's learned positions stay learned (even where the line has a key).
                let learned = c.slots.iter().enumerate().filter(|(_, s)| **s == Slot::Learned);
                let mut extra: Vec<usize> = n
                    .diff
                    .iter()
                    .map(|&p| p as usize)
                    .filter(|&p| vars[p] != Some(Slot::Keyed))
                    .chain(learned.map(|(p, _)| p))
                    .filter(|&p| !used[p] && !self.line[p].masked)
                    .collect();
                extra.sort_unstable();
                extra.dedup();
                if kept >= need + extra.len() {
                    kept -= extra.len();
                    for p in extra {
                        used[p] = true;
                    }
                    true
                } else {
                    false
                }
            });
            if members.len() == before {
                break;
            }
        }
        if members.is_empty() {
            return id;
        }
        // Only the positions where some member differs become variables.
        let mut used = vec![false; len];
        for n in &members {
            for &p in &n.diff {
                used[p as usize] = true;
            }
        }
        // A template keeps most of its constants: never fewer than `similarity_threshold` of
        // the line's constant words, never none.
        for n in &members {
            if let Some(c) = self.clusters.get(n.id as usize) {
                for (p, s) in c.slots.iter().enumerate() {
                    if *s == Slot::Learned {
                        used[p] = true;
                        vars[p] = Some(Slot::Learned);
                    }
                }
            }
        }
        let consts = self.line.iter().filter(|t| !t.masked).count();
        let kept = (0..len)
            .filter(|&p| {
                let keyed = used[p] && vars[p] == Some(Slot::Keyed);
                if self.line[p].masked {
                    consts == 0 && keyed
                } else {
                    !used[p] || keyed
                }
            })
            .count();
        if kept == 0 || (kept as f64) < self.cfg.similarity_threshold * consts as f64 {
            return id;
        }
        let ids: Vec<u32> = members.iter().map(|n| n.id).chain([id]).collect();
        let mut new_vars: Vec<(usize, Slot, u64, Box<str>)> = Vec::new();
        for p in (0..len).filter(|&p| used[p]) {
            let slot = vars[p].unwrap_or(Slot::Learned);
            let text = self.var_text(&ids, p, slot);
            let hash = match slot {
                Slot::Keyed => self
                    .line
                    .get(p)
                    .and_then(|t| key_hash(self.tok_bytes(t)))
                    .unwrap_or(LEARNED),
                _ => LEARNED,
            };
            new_vars.push((p, slot, hash, text));
        }
        self.union(&ids, &new_vars)
    }

    /// Template text of a new variable at `pos` over clusters `ids`: `key<*>suffix` for a
    /// keyed position, else a shared `key=` prefix (if any) and `<*>`.
    fn var_text(&self, ids: &[u32], pos: usize, slot: Slot) -> Box<str> {
        let texts = || {
            ids.iter()
                .filter_map(|&c| self.clusters.get(c as usize).and_then(|c| c.texts.get(pos)))
        };
        if slot == Slot::Keyed {
            if let Some(t) = self.line.get(pos).map(|t| self.token_text(t)) {
                if let Some((k, s)) = token_key(t.as_bytes()) {
                    // A list of fields (`ready=a,policy=<*>`) keeps the tail its values share
                    // from the first field separator on.
                    let tail = shared_field_tail(texts().map(|x| &x[..]).chain([t]), k);
                    let end = if tail.len() > s { tail } else { &t[t.len() - s..] };
                    return format!("{}{WILDCARD}{}", &t[..k], end).into();
                }
            }
        }
        let (pre, suf) = common_decoration(texts());
        format!("{pre}{WILDCARD}{suf}").into()
    }

    /// Merges clusters `ids` into the smallest; `vars` become variables of its template (and
    /// the members' own variables are kept). Returns the survivor.
    fn union(&mut self, ids: &[u32], vars: &[(usize, Slot, u64, Box<str>)]) -> u32 {
        let Some(&root) = ids.iter().min() else { return 0 };
        // The survivor takes the template of the new line's cluster (the last id) widened
        // by every member's variables.
        let base = ids.last().copied().unwrap_or(root);
        let Some(b) = self.clusters.get(base as usize) else {
            return root;
        };
        let (mut hashes, mut slots, mut texts) = (b.hashes.clone(), b.slots.clone(), b.texts.clone());
        let mut numeric = b.numeric.clone();
        numeric.resize(slots.len(), false);
        for &m in ids {
            let Some(c) = self.clusters.get(m as usize) else {
                continue;
            };
            for (n, &cn) in numeric.iter_mut().zip(&c.numeric) {
                *n &= cn;
            }
            for p in 0..slots.len().min(c.slots.len()) {
                if c.slots[p] != Slot::Const && slots[p] == Slot::Const {
                    slots[p] = c.slots[p];
                    hashes[p] = c.hashes[p];
                    texts[p] = c.texts[p].clone();
                }
            }
        }
        for (p, slot, hash, text) in vars {
            if let (Some(s), Some(h), Some(t)) = (slots.get_mut(*p), hashes.get_mut(*p), texts.get_mut(*p)) {
                if *s == Slot::Const || *slot == Slot::Learned {
                    *s = *slot;
                    *h = *hash;
                    *t = text.clone();
                }
            }
        }
        let mut absorbed = 0u64;
        for &m in ids {
            self.unindex(m);
            if m != root {
                if let Some(c) = self.clusters.get_mut(m as usize) {
                    absorbed += c.count;
                    c.parent = root;
                    c.hashes = Vec::new();
                    c.slots = Vec::new();
                    c.texts = Vec::new();
                    c.numeric = Vec::new();
                    self.live -= 1;
                }
            }
        }
        if let Some(c) = self.clusters.get_mut(root as usize) {
            c.count += absorbed;
            c.hashes = hashes;
            c.slots = slots;
            c.texts = texts;
            c.numeric = numeric;
        }
        let len = self.clusters.get(root as usize).map_or(0, |c| c.hashes.len()) as u32;
        if let Some(leaf) = self.leaves.get_mut(&len) {
            let clusters = &self.clusters;
            leaf.clusters
                .retain(|e| clusters.get(e.id as usize).is_some_and(|x| x.live(e.id)));
            for e in leaf.clusters.iter_mut().filter(|e| e.id == root) {
                if let Some(c) = clusters.get(root as usize) {
                    *e = LeafEntry::of(root, c);
                }
            }
        }
        self.reindex(root)
    }

    /// Removes a cluster's template from the index and its leaf's layouts.
    fn unindex(&mut self, id: u32) {
        let Some(c) = self.clusters.get(id as usize) else {
            return;
        };
        if !c.live(id) || c.is_tail() {
            return;
        }
        let key = c.key();
        if self.index.get(&key) == Some(&id) {
            self.index.remove(&key);
        }
        let mask = c.mask();
        if let Some(leaf) = self.leaves.get_mut(&(c.hashes.len() as u32)) {
            if let Some(i) = leaf.masks.iter().position(|(m, _)| **m == *mask) {
                leaf.masks[i].1 -= 1;
                if leaf.masks[i].1 == 0 {
                    leaf.masks.remove(i);
                }
            }
        }
    }

    /// Adds a live cluster's template to the index; a live cluster with the same template
    /// is merged into it. Returns the survivor.
    fn reindex(&mut self, id: u32) -> u32 {
        let Some(c) = self.clusters.get(id as usize) else {
            return id;
        };
        let key = c.key();
        if let Some(&other) = self.index.get(&key) {
            if other != id && self.clusters.get(other as usize).is_some_and(|o| o.live(other)) {
                return self.union(&[other, id], &[]);
            }
        }
        let mask = c.mask();
        let len = c.hashes.len() as u32;
        self.index.insert(key, id);
        let leaf = self.leaves.entry(len).or_default();
        match leaf.masks.iter().position(|(m, _)| **m == *mask) {
            Some(i) => leaf.masks[i].1 += 1,
            None => {
                let at = leaf.masks.partition_point(|(m, _)| m.len() <= mask.len());
                leaf.masks.insert(at, (mask.into_boxed_slice(), 1));
            }
        }
        id
    }

    /// Merges into `root` the clusters of its leaf that its template covers.
    fn absorb_subsumed(&mut self, root: u32) -> u32 {
        let Some(r) = self.clusters.get(root as usize) else {
            return root;
        };
        if !r.slots.iter().any(|s| *s != Slot::Const) {
            return root;
        }
        let len = r.hashes.len() as u32;
        let Some(leaf) = self.leaves.get(&len) else {
            return root;
        };
        let mut ids: Vec<u32> = Vec::new();
        for cid in leaf
            .clusters
            .iter()
            .rev()
            .take(self.cfg.max_leaf_candidates)
            .map(|e| e.id)
        {
            if cid == root {
                continue;
            }
            let Some(c) = self.clusters.get(cid as usize) else {
                continue;
            };
            let covered = (0..r.hashes.len()).all(|p| match r.slots[p] {
                Slot::Const => c.slots[p] == Slot::Const && c.hashes[p] == r.hashes[p],
                Slot::Learned | Slot::Tail => true,
                Slot::Keyed => {
                    c.slots[p] == Slot::Keyed && c.hashes[p] == r.hashes[p]
                        || c.slots[p] == Slot::Const && key_hash(c.texts[p].as_bytes()) == Some(r.hashes[p])
                }
            });
            if covered {
                ids.push(cid);
            }
        }
        if ids.is_empty() {
            return root;
        }
        // The covering template is the survivor's: pass it as the base (last id).
        ids.push(root);
        self.union(&ids, &[])
    }

    /// At the cluster cap: evicts the cluster with the fewest lines among a sample of the
    /// next live clusters on a clock (sampled LFU; bounded work per eviction).
    fn evict_rarest(&mut self) {
        let n = self.clusters.len() as u32;
        if n == 0 {
            return;
        }
        let mut best: Option<(u32, u64)> = None;
        let mut seen = 0;
        for _ in 0..n {
            let i = self.clock % n;
            self.clock = (self.clock + 1) % n;
            let Some(c) = self.clusters.get(i as usize) else {
                continue;
            };
            if !c.live(i) {
                continue;
            }
            if best.is_none_or(|(_, b)| c.count < b) {
                best = Some((i, c.count));
            }
            seen += 1;
            if seen >= 16 {
                break;
            }
        }
        let Some((victim, _)) = best else { return };
        self.unindex(victim);
        if let Some(c) = self.clusters.get_mut(victim as usize) {
            let len = c.hashes.len() as u32;
            c.evicted = true;
            c.hashes = Vec::new();
            c.slots = Vec::new();
            c.texts = Vec::new();
            c.numeric = Vec::new();
            self.live -= 1;
            if let Some(leaf) = self.leaves.get_mut(&len) {
                leaf.clusters.retain(|e| e.id != victim);
            }
        }
    }

    fn create(&mut self) -> u32 {
        let id = self.clusters.len() as u32;
        let hashes = self.line.iter().map(|t| t.hash).collect();
        let texts = self
            .line
            .iter()
            .map(|t| Box::<str>::from(self.token_text(t)))
            .collect();
        self.clusters.push(Cluster {
            hashes,
            slots: vec![Slot::Const; self.line.len()],
            texts,
            numeric: self.line.iter().map(|t| t.digits).collect(),
            count: 1,
            parent: id,
            evicted: false,
        });
        self.live += 1;
        if let Some(c) = self.clusters.last() {
            let e = LeafEntry::of(id, c);
            self.leaves
                .entry(self.line.len() as u32)
                .or_default()
                .clusters
                .push(e);
        }
        if let Some(t) = self.line.first().filter(|t| !t.masked) {
            self.note_first(t.hash, id);
        }
        self.reindex(id)
    }

    /// Remembers cluster `id` under its first token hash (the newest [`MAX_BY_FIRST`]).
    fn note_first(&mut self, first: u64, id: u32) {
        let clusters = &self.clusters;
        let v = self.by_first.entry(first).or_default();
        if v.len() >= MAX_BY_FIRST {
            v.retain(|&c| clusters.get(c as usize).is_some_and(|x| x.live(c)));
            if v.len() >= MAX_BY_FIRST {
                v.remove(0);
            }
        }
        v.push(id);
    }
}

/// One cluster in a [`MinerSnapshot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotCluster {
    /// The cluster this one was merged into (its own id while alive; always ≤ its id).
    pub parent: u32,
    /// Lines that joined it.
    pub count: u64,
    /// Evicted at the cluster cap.
    pub evicted: bool,
    /// Template tokens (empty when merged or evicted).
    pub tokens: Vec<String>,
    /// How each token matches (same length as `tokens`).
    pub slots: Vec<Slot>,
    /// Per token: only plain integers were seen there (lists of numbers print one `<*>`
    /// per number); empty means none.
    #[serde(default)]
    pub numeric: Vec<bool>,
}

/// Serialisable state of a [`TemplateMiner`] (configuration and clusters; ids are kept, the
/// shape cache is rebuilt on use).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinerSnapshot {
    /// The miner's configuration.
    pub config: MinerConfig,
    /// Clusters by id.
    pub clusters: Vec<SnapshotCluster>,
}

impl TemplateMiner {
    /// The miner's state, for [`TemplateMiner::restore`] (serde-serialisable).
    pub fn snapshot(&self) -> MinerSnapshot {
        MinerSnapshot {
            config: self.cfg.clone(),
            clusters: self
                .clusters
                .iter()
                .map(|c| SnapshotCluster {
                    parent: c.parent,
                    count: c.count,
                    evicted: c.evicted,
                    tokens: c.texts.iter().map(|t| t.to_string()).collect(),
                    slots: c.slots.clone(),
                    numeric: c.numeric.clone(),
                })
                .collect(),
        }
    }

    /// A miner that continues from a snapshot: same ids, templates and counts.
    ///
    /// ```
    /// use faultline_cluster::{MinerConfig, TemplateMiner};
    /// let mut m = TemplateMiner::new(MinerConfig::default()).unwrap();
    /// let id = m.add("job 1234 finished in 35 ms");
    /// let json = serde_json::to_string(&m.snapshot()).unwrap();
    /// let mut r = TemplateMiner::restore(serde_json::from_str(&json).unwrap()).unwrap();
    /// assert_eq!(r.add("job 987 finished in 2 ms"), id);
    /// ```
    pub fn restore(snapshot: MinerSnapshot) -> Result<Self, ClusterError> {
        let mut m = Self::new(snapshot.config)?;
        if snapshot.clusters.len() >= u32::MAX as usize {
            return Err(ClusterError::InvalidSnapshot("too many clusters".into()));
        }
        for (i, c) in snapshot.clusters.into_iter().enumerate() {
            let id = i as u32;
            if c.parent > id {
                return Err(ClusterError::InvalidSnapshot(format!(
                    "cluster {id} has parent {}",
                    c.parent
                )));
            }
            if c.tokens.len() != c.slots.len() || c.tokens.len() > m.cfg.max_tokens {
                return Err(ClusterError::InvalidSnapshot(format!(
                    "cluster {id}: bad token count"
                )));
            }
            let live = c.parent == id && !c.evicted;
            let mut hashes = Vec::with_capacity(c.tokens.len());
            for (t, s) in c.tokens.iter().zip(&c.slots) {
                hashes.push(match s {
                    Slot::Const if t == WILDCARD => m.wild,
                    Slot::Const => hash_bytes(t.as_bytes()),
                    Slot::Learned | Slot::Tail => LEARNED,
                    Slot::Keyed => key_hash(t.as_bytes()).ok_or_else(|| {
                        ClusterError::InvalidSnapshot(format!("cluster {id}: keyed token without key"))
                    })?,
                });
            }
            let mut numeric = c.numeric;
            numeric.resize(c.slots.len(), false);
            m.clusters.push(Cluster {
                hashes,
                numeric,
                slots: c.slots,
                texts: c.tokens.into_iter().map(String::into_boxed_str).collect(),
                count: c.count,
                parent: c.parent,
                evicted: c.evicted,
            });
            if live {
                m.live += 1;
                let Some(c) = m.clusters.last() else { continue };
                let first = (c.slots.first() == Some(&Slot::Const)
                    && c.texts.first().is_some_and(|t| !t.contains(WILDCARD)))
                .then(|| c.hashes[0]);
                if c.slots.iter().rev().skip(1).any(|s| *s == Slot::Tail) {
                    return Err(ClusterError::InvalidSnapshot(format!(
                        "cluster {id}: a tail slot before the last token"
                    )));
                }
                if c.is_tail() {
                    match first {
                        Some(f) if c.slots.len() >= 2 => m.add_tail(f, id),
                        _ => {
                            return Err(ClusterError::InvalidSnapshot(format!(
                                "cluster {id}: a tail template needs a constant first token"
                            )))
                        }
                    }
                    continue;
                }
                let e = LeafEntry::of(id, c);
                m.leaves
                    .entry(c.hashes.len() as u32)
                    .or_default()
                    .clusters
                    .push(e);
                if let Some(f) = first {
                    m.note_first(f, id);
                }
                m.reindex(id);
            }
        }
        Ok(m)
    }

    /// The variable values of `message` under the template of cluster `id` (one per `<*>`
    /// of [`TemplateMiner::template`], in order — adjacent variables that print as one `<*>`
    /// give one value, their tokens joined by a space; the key and decoration of `key=<*>`
    /// are not part of the value). `None` when
    /// the id is unknown or evicted, or the message has another token count.
    ///
    /// ```
    /// use faultline_cluster::{MinerConfig, TemplateMiner};
    /// let mut m = TemplateMiner::new(MinerConfig::default()).unwrap();
    /// let line = "Failed password for root from 10.0.0.1 port 22 (uid=0)";
    /// let id = m.add(line);
    /// assert_eq!(m.parameters(id, line).unwrap(), ["root", "10.0.0.1", "22", "0"]);
    /// ```
    pub fn parameters(&self, id: ClusterId, message: &str) -> Option<Vec<String>> {
        let c = self.clusters.get(self.resolve(id).0 as usize)?;
        if c.evicted {
            return None;
        }
        let n = c.texts.len();
        // A tail template's last variable takes the rest of the line.
        let cap = if c.is_tail() { n } else { self.cfg.max_tokens };
        let mut toks: Vec<&str> = Vec::with_capacity(n);
        let mut rest = message.trim_start_matches(|ch: char| ch.is_ascii_whitespace());
        while !rest.is_empty() {
            if toks.len() + 1 == cap {
                toks.push(rest.trim_end_matches(|ch: char| ch.is_ascii_whitespace()));
                break;
            }
            let end = rest
                .find(|ch: char| ch.is_ascii_whitespace())
                .unwrap_or(rest.len());
            toks.push(&rest[..end]);
            rest = rest[end..].trim_start_matches(|ch: char| ch.is_ascii_whitespace());
        }
        if toks.len() != n {
            return None;
        }
        let mut out: Vec<String> = Vec::new();
        for ((t, joined), tok) in render(c).into_iter().zip(toks) {
            let parts: Vec<&str> = t.split(WILDCARD).collect();
            if parts.len() < 2 {
                continue;
            }
            // One value per `<*>` of the token (a token such as `id=<*>,id=<*>` has two); a
            // token that does not fit its literals gives itself for the first and empty
            // values for the others.
            let values = fill_wildcards(tok, &parts).unwrap_or_else(|| {
                let mut v = vec![tok];
                v.resize(parts.len() - 1, "");
                v
            });
            for (k, v) in values.into_iter().enumerate() {
                match out.last_mut() {
                    Some(last) if joined && k == 0 => {
                        last.push(' ');
                        last.push_str(v);
                    }
                    _ => out.push(v.to_string()),
                }
            }
        }
        Some(out)
    }
}

/// The values of the wildcards of a template token split at its wildcards into `parts`
/// (literal text before, between and after them), matched against `tok`: the first and last
/// literals anchor both ends, the ones between are taken leftmost. `None` when `tok` does not
/// fit.
fn fill_wildcards<'a>(tok: &'a str, parts: &[&str]) -> Option<Vec<&'a str>> {
    let (first, rest) = parts.split_first()?;
    let (last, between) = rest.split_last()?;
    let body = tok.strip_prefix(first)?.strip_suffix(last)?;
    let mut values = Vec::with_capacity(rest.len());
    let mut body = body;
    for lit in between {
        let at = body.find(lit)?;
        values.push(&body[..at]);
        body = &body[at + lit.len()..];
    }
    values.push(body);
    Some(values)
}

/// The longest prefix of `a` that `b` shares (whole characters only).
fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let mut n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    // `é` / `è` share a first byte, not a character.
    while !a.is_char_boundary(n) {
        n -= 1;
    }
    &a[..n]
}

/// The longest suffix of `a` that `b` shares (whole characters only).
fn common_suffix<'a>(a: &'a str, b: &str) -> &'a str {
    let n = a
        .bytes()
        .rev()
        .zip(b.bytes().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mut at = a.len() - n;
    // `é` / `©` share a last byte, not a character.
    while !a.is_char_boundary(at) {
        at += 1;
    }
    &a[at..]
}

/// The longest suffix all `texts` share that starts at a field separator (`,`, `;`, `&`,
/// `|`) after byte `skip` of each; empty when there is none.
fn shared_field_tail<'a>(texts: impl Iterator<Item = &'a str>, skip: usize) -> &'a str {
    let tail = texts
        .map(|t| t.get(skip..).unwrap_or(""))
        .reduce(common_suffix)
        .unwrap_or("");
    match tail.find([',', ';', '&', '|']) {
        Some(i) => &tail[i..],
        None => "",
    }
}

/// The decoration every text shares around its value: the prefix up to the last `=`, `:`,
/// opening bracket or quote before the value, and the closing punctuation after it
/// (`(<*>)`, `rhost=<*>`, `<*>,`).
fn common_decoration<'a>(texts: impl Iterator<Item = &'a Box<str>>) -> (String, String) {
    let mut head: Option<&str> = None;
    let mut tail: Option<&str> = None;
    for t in texts {
        let h = t.find(WILDCARD).map_or(&t[..], |i| &t[..i]);
        let tl = t.rfind(WILDCARD).map_or(&t[..], |i| &t[i + WILDCARD.len()..]);
        head = Some(head.map_or(h, |p| common_prefix(p, h)));
        tail = Some(tail.map_or(tl, |p| common_suffix(p, tl)));
    }
    let head = head.unwrap_or("");
    let tail = tail.unwrap_or("");
    let pre = head
        .rfind(['=', ':', '(', '[', '{', '"', '\''])
        .map_or("", |i| &head[..=i]);
    let keep = tail
        .bytes()
        .rev()
        .take_while(|b| matches!(b, b')' | b']' | b'}' | b',' | b';' | b'"' | b'\'' | b'.' | b':'))
        .count();
    let suf = &tail[tail.len() - keep..];
    (pre.to_string(), suf.to_string())
}

/// A template's tokens as printed (account names as `<*>`), each with whether it continues
/// the variable of the previous token: adjacent variables (`…<*>` then `<*>…`) print as one
/// `<*>` — a date, a request line — unless both positions only ever held plain integers (a
/// list of numbers keeps one `<*>` per number).
fn render(c: &Cluster) -> Vec<(std::borrow::Cow<'_, str>, bool)> {
    let mut out: Vec<(std::borrow::Cow<'_, str>, bool)> = Vec::with_capacity(c.texts.len());
    for (i, t) in c.texts.iter().enumerate() {
        let text: std::borrow::Cow<'_, str> = match c.slots.get(i) {
            Some(Slot::Const) => {
                crate::masking::display_token(t).map_or(std::borrow::Cow::Borrowed(&t[..]), Into::into)
            }
            _ => std::borrow::Cow::Borrowed(&t[..]),
        };
        let joined = i > 0
            && text.starts_with(WILDCARD)
            && out.last().is_some_and(|(p, _)| p.ends_with(WILDCARD))
            && !(c.numeric.get(i) == Some(&true) && c.numeric.get(i - 1) == Some(&true));
        out.push((text, joined));
    }
    out
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

    #[test]
    fn adjacent_variables_print_as_one_but_number_lists_do_not() {
        let mut m = miner();
        let a = m.add("connection from 10.0.0.1 at Fri Jun 17 07:07:00 2005");
        assert_eq!(m.template(a).as_deref(), Some("connection from <*> at <*>"));
        assert_eq!(
            m.parameters(a, "connection from 10.0.0.1 at Fri Jun 17 07:07:00 2005")
                .expect("same shape"),
            ["10.0.0.1", "Fri Jun 17 07:07:00 2005"]
        );
        let b = m.add("Fan speeds ( 3552 3534 3375 **** 3515 3479 )");
        assert_eq!(
            m.template(b).as_deref(),
            Some("Fan speeds ( <*> <*> <*> **** <*> <*> )")
        );
        let c = m.add(r#"10.1.1.1 "GET /v2/54fadb/servers/detail HTTP/1.1" status: 200"#);
        assert_eq!(m.template(c).as_deref(), Some(r#"<*> "GET <*>" status: <*>"#));
    }

    #[test]
    fn account_names_print_as_variables_but_group_as_words() {
        let mut m = miner();
        let a = m.add("authentication failure; rhost=10.0.0.1 user=root");
        let b = m.add("authentication failure; rhost=10.0.0.2 user=guest");
        assert_ne!(m.resolve(a), m.resolve(b));
        assert_eq!(
            m.template(a).as_deref(),
            Some("authentication failure; rhost=<*> user=<*>")
        );
        assert_eq!(
            m.template(b).as_deref(),
            Some("authentication failure; rhost=<*> user=guest")
        );
    }

    #[test]
    fn learned_variables_keep_their_shared_decoration() {
        let mut m = miner();
        let mut id = m.add("connect to (alpha.example.com) done");
        for h in ["beta.example.org", "gamma.example.net", "delta.local", "eps.lan"] {
            id = m.add(&format!("connect to ({h}) done"));
        }
        assert_eq!(m.template(id).as_deref(), Some("connect to (<*>) done"));
    }

    #[test]
    fn masked_tokens_differ_softly_so_stack_lists_merge() {
        let mut m = miner();
        let mut ids = Vec::new();
        for i in 0..6 {
            let frames: Vec<String> = (0..8)
                .map(|k| format!("pkg{i}x.Cls{k}y.m:{}", 100 + i * 7 + k))
                .collect();
            ids.push(m.add(&format!("Destroying surface called by {}", frames.join(" "))));
        }
        let last = m.resolve(ids[5]);
        assert!(ids.iter().all(|&i| m.resolve(i) == last));
        assert_eq!(
            m.template(last).as_deref(),
            Some("Destroying surface called by <*>")
        );
    }

    #[test]
    fn a_field_list_without_plain_words_merges_on_its_key() {
        let mut m = miner();
        let mut ids = Vec::new();
        for (w, n) in [("qdye", 4), ("pzqa", 17), ("vwhf", 921), ("nago", 6)] {
            ids.push(m.add(&format!("ready={w},policy={n},wakefulness={}", n * 3)));
        }
        let last = m.resolve(ids[3]);
        assert!(ids.iter().all(|&i| m.resolve(i) == last));
        assert_eq!(m.template(last).as_deref(), Some("ready=<*>,policy=<*>"));
        // Another key stays apart.
        let other = m.add("state=idle,policy=3");
        assert_ne!(m.resolve(other), last);
    }

    #[test]
    fn lists_of_varying_length_merge_into_a_tail_variable() {
        let mut m = miner();
        let mut ids = Vec::new();
        for n in 1..=6u32 {
            for k in 0..3u32 {
                let list: Vec<String> = (0..n).map(|i| (3000 + 17 * i + k).to_string()).collect();
                ids.push(m.add(&format!("Fan speeds ( {} )", list.join(" "))));
            }
        }
        let root = m.resolve(ids[17]);
        assert!(ids[9..].iter().all(|&i| m.resolve(i) == root));
        assert_eq!(m.template(root).as_deref(), Some("Fan speeds ( <*>"));
        assert_eq!(
            m.parameters(root, "Fan speeds ( 1 2 3 4 5 )")
                .expect("tail matches"),
            ["1 2 3 4 5 )"]
        );
        // A new length joins without a new cluster; the snapshot keeps the tail.
        let live = m.len();
        assert_eq!(m.add("Fan speeds ( 1 2 3 4 5 6 7 8 )"), root);
        assert_eq!(m.len(), live);
        let mut r = TemplateMiner::restore(m.snapshot()).expect("valid snapshot");
        assert_eq!(r.add("Fan speeds ( 9 8 7 6 5 4 3 2 1 )"), root);
        // Constant continuations of one prefix stay apart.
        let a = m.add("Error loading program image from disk");
        let b = m.add("Error creating node map from file");
        let c = m.add("Error reading the configuration");
        let d = m.add("Error opening a socket to the controller");
        assert!(a != b && b != c && c != d);
    }

    #[test]
    fn a_far_cluster_does_not_veto_the_merge_of_near_ones() {
        let mut m = miner();
        // Clusters with a learned last word and another first word are near the new lines
        // at the first position only; admitting them would leave no constant.
        for w in ["cancelPeek:", "stopScan", "getTasks:"] {
            for v in ["aa", "bb", "cc", "dd", "ee"] {
                m.add(&format!("{w} {v}"));
            }
        }
        let mut id = m.add("makeInvisible: visible=tusrq");
        for v in ["hvrtz", "jaovm", "gmumi", "fwtaf", "zgicy"] {
            id = m.add(&format!("makeInvisible: visible={v}"));
        }
        assert_eq!(m.template(id).as_deref(), Some("makeInvisible: visible=<*>"));
        assert_eq!(m.count(id), Some(6));
    }

    #[test]
    fn rare_siblings_need_two_shared_words_and_near_unique_variables() {
        // Only the first word is shared: no template to keep, nothing merges.
        let mut m = miner();
        let words = [
            "qa", "wb", "ec", "rd", "tf", "yg", "uh", "ij", "ok", "pl", "as", "sd",
        ];
        for (i, w) in words.iter().enumerate() {
            m.add(&format!(
                "probe {w} {} {}",
                words[(i + 3) % 12],
                words[(i + 7) % 12]
            ));
        }
        assert_eq!(m.len(), 12);
        // Two shared words and near-unique values elsewhere: one template once there is
        // evidence (twice `merge_min_variants` singletons).
        let mut m = miner();
        let mut last = ClusterId(0);
        for (i, w) in words.iter().enumerate() {
            last = m.add(&format!(
                "probe {w} done {} {}",
                words[(i + 3) % 12],
                words[(i + 7) % 12]
            ));
        }
        assert_eq!(m.len(), 1);
        assert_eq!(m.template(last).as_deref(), Some("probe <*> done <*>"));
        assert_eq!(m.count(last), Some(12));
    }

    #[test]
    fn common_affixes_stop_at_character_boundaries() {
        assert_eq!(common_prefix("abé", "abè"), "ab");
        assert_eq!(common_suffix("xé", "y©"), "");
        assert_eq!(common_suffix("a=<*>)", "bb=<*>)"), "=<*>)");
        assert_eq!(common_prefix("rhost=1", "rhost=2"), "rhost=");
        let (pre, suf) = common_decoration([Box::<str>::from("é<*>é"), "è<*>©".into()].iter());
        assert_eq!((pre.as_str(), suf.as_str()), ("", ""));
        assert_eq!(shared_field_tail(["k=aé,x=1", "k=bè,x=1"].into_iter(), 2), ",x=1");
    }
}

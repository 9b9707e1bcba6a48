//! Semantic variants: groups of templates that an [`Embedder`] finds near-synonymous
//! (`connection timed out` / `connection timeout`), for hosts that want to report them as
//! one signal. The miner itself never merges on meaning; this is a read-only view.
//!
//! Candidate pairs come from random-hyperplane locality-sensitive hashing (Charikar, STOC
//! 2002, "Similarity estimation techniques from rounding algorithms"): 64 sign bits per
//! vector, cut into 8 bands of 8 bits; templates sharing a band are compared by cosine, and
//! pairs at or above the threshold are joined (single linkage). Deterministic: the
//! hyperplanes come from a fixed seed.

use faultline_core::ports::{cosine, Embedder};
use serde::{Deserialize, Serialize};

use crate::{ClusterError, ClusterId, TemplateMiner};

/// Settings of [`semantic_groups`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SemanticConfig {
    /// Cosine similarity at which two templates count as variants, in (0, 1].
    pub min_cosine: f64,
    /// Templates compared per LSH bucket (larger buckets are cut; bounds the work).
    pub max_bucket: usize,
}

impl Default for SemanticConfig {
    fn default() -> Self {
        Self {
            min_cosine: 0.8,
            max_bucket: 64,
        }
    }
}

impl SemanticConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), ClusterError> {
        if !(self.min_cosine > 0.0 && self.min_cosine <= 1.0) {
            return Err(ClusterError::invalid(
                "min_cosine",
                self.min_cosine,
                "must be in (0, 1]",
            ));
        }
        if self.max_bucket < 2 {
            return Err(ClusterError::invalid(
                "max_bucket",
                self.max_bucket,
                "must be at least 2",
            ));
        }
        Ok(())
    }
}

/// Groups (two or more members, ids ascending; groups ordered by their first id) of live
/// clusters of `miner` whose templates `embedder` places within `min_cosine` of each other,
/// transitively.
///
/// ```
/// use faultline_cluster::{semantic_groups, MinerConfig, SemanticConfig, TemplateMiner};
/// use faultline_core::ports::HashedNgramEmbedder;
/// let mut m = TemplateMiner::new(MinerConfig::default()).unwrap();
/// let a = m.add("upstream connection timed out after 30 s");
/// let b = m.add("upstream connection timeout after 30 s");
/// let c = m.add("disk quota exceeded for volume data");
/// let groups = semantic_groups(&m, &HashedNgramEmbedder::default(), &SemanticConfig::default()).unwrap();
/// assert_eq!(groups, vec![vec![a, b]]);
/// assert!(!groups.iter().flatten().any(|&x| x == c));
/// ```
pub fn semantic_groups(
    miner: &TemplateMiner,
    embedder: &dyn Embedder,
    cfg: &SemanticConfig,
) -> Result<Vec<Vec<ClusterId>>, ClusterError> {
    cfg.validate()?;
    let ids: Vec<ClusterId> = miner.cluster_ids().collect();
    let vecs: Vec<Vec<f32>> = ids
        .iter()
        .map(|&id| embedder.embed(&miner.template(id).unwrap_or_default()))
        .collect();
    let dim = embedder.dim();
    // 64 hyperplanes from a fixed xorshift stream, entries in {-1, +1}.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let planes: Vec<Vec<f32>> = (0..64)
        .map(|_| {
            (0..dim)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    if state & 1 == 0 {
                        1.0
                    } else {
                        -1.0
                    }
                })
                .collect()
        })
        .collect();
    let sigs: Vec<u64> = vecs
        .iter()
        .map(|v| {
            planes.iter().enumerate().fold(0u64, |s, (k, p)| {
                let dot: f32 = p.iter().zip(v).map(|(a, b)| a * b).sum();
                if dot >= 0.0 {
                    s | 1 << k
                } else {
                    s
                }
            })
        })
        .collect();
    let mut parent: Vec<usize> = (0..ids.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for band in 0..8 {
        let mut buckets: std::collections::BTreeMap<u64, Vec<usize>> = std::collections::BTreeMap::new();
        for (i, s) in sigs.iter().enumerate() {
            let members = buckets.entry((s >> (band * 8)) & 0xff).or_default();
            if members.len() < cfg.max_bucket {
                members.push(i);
            }
        }
        for members in buckets.values() {
            for (x, &i) in members.iter().enumerate() {
                for &j in &members[x + 1..] {
                    let zero = vecs[i].iter().all(|v| *v == 0.0) || vecs[j].iter().all(|v| *v == 0.0);
                    if !zero && f64::from(cosine(&vecs[i], &vecs[j])) >= cfg.min_cosine {
                        let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                        if ri != rj {
                            parent[ri.max(rj)] = ri.min(rj);
                        }
                    }
                }
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<ClusterId>> = std::collections::BTreeMap::new();
    for (i, &id) in ids.iter().enumerate() {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(id);
    }
    Ok(groups.into_values().filter(|g| g.len() > 1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MinerConfig;
    use faultline_core::ports::HashedNgramEmbedder;

    #[test]
    fn spelling_variants_group_and_unrelated_templates_do_not() {
        let mut m = TemplateMiner::new(MinerConfig::default()).expect("valid");
        let a = m.add("payment gateway connection timed out");
        let b = m.add("payment gateway connection timeout");
        let c = m.add("user profile cache warmed");
        let d = m.add("user profile cache warming");
        m.add("kernel panic not syncing");
        let g = semantic_groups(&m, &HashedNgramEmbedder::default(), &SemanticConfig::default())
            .expect("valid config");
        assert_eq!(g, vec![vec![a, b], vec![c, d]]);
    }

    #[test]
    fn bad_threshold_is_rejected() {
        let m = TemplateMiner::new(MinerConfig::default()).expect("valid");
        let cfg = SemanticConfig {
            min_cosine: 0.0,
            ..SemanticConfig::default()
        };
        assert!(semantic_groups(&m, &HashedNgramEmbedder::default(), &cfg).is_err());
    }
}

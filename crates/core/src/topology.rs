//! The service graph: directed edges caller → callee.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::ServiceId;

/// One edge: `source` calls or depends on `target`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Edge {
    /// The caller.
    pub source: ServiceId,
    /// The callee / dependency.
    pub target: ServiceId,
    /// Optional kind (`http`, `grpc`, `db`, `queue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A directed service graph. Edges are kept unique and sorted, so equal graphs compare equal
/// and iterate in the same order.
///
/// ```
/// use faultline_core::Topology;
/// let mut t = Topology::default();
/// t.add_edge("frontend", "checkout", None);
/// t.add_edge("checkout", "payments", None);
/// assert_eq!(t.callees(&"checkout".into()), vec!["payments".into()]);
/// assert_eq!(t.upstream(&"payments".into()).len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Topology {
    edges: BTreeSet<Edge>,
}

impl Topology {
    /// Adds an edge `source → target` (self-loops are ignored).
    pub fn add_edge(
        &mut self,
        source: impl Into<ServiceId>,
        target: impl Into<ServiceId>,
        kind: Option<String>,
    ) {
        let (source, target) = (source.into(), target.into());
        if source != target {
            self.edges.insert(Edge { source, target, kind });
        }
    }
    /// Merges the edges of another graph.
    pub fn merge(&mut self, other: &Topology) {
        self.edges.extend(other.edges.iter().cloned());
    }
    /// All edges, sorted.
    pub fn edges(&self) -> impl Iterator<Item = &Edge> {
        self.edges.iter()
    }
    /// Whether the graph has no edges.
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }
    /// Number of edges.
    pub fn len(&self) -> usize {
        self.edges.len()
    }
    /// Every service on an edge, sorted.
    pub fn services(&self) -> Vec<ServiceId> {
        let set: BTreeSet<&ServiceId> = self.edges.iter().flat_map(|e| [&e.source, &e.target]).collect();
        set.into_iter().cloned().collect()
    }
    /// Services that `s` calls (its dependencies), sorted, unique.
    pub fn callees(&self, s: &ServiceId) -> Vec<ServiceId> {
        let set: BTreeSet<&ServiceId> = self
            .edges
            .iter()
            .filter(|e| &e.source == s)
            .map(|e| &e.target)
            .collect();
        set.into_iter().cloned().collect()
    }
    /// Services that call `s`, sorted, unique.
    pub fn callers(&self, s: &ServiceId) -> Vec<ServiceId> {
        let set: BTreeSet<&ServiceId> = self
            .edges
            .iter()
            .filter(|e| &e.target == s)
            .map(|e| &e.source)
            .collect();
        set.into_iter().cloned().collect()
    }
    /// Every service that reaches `s` through calls (transitive callers), sorted; excludes `s`.
    pub fn upstream(&self, s: &ServiceId) -> Vec<ServiceId> {
        self.reach(s, true)
    }
    /// Every service `s` reaches through calls (transitive dependencies), sorted; excludes `s`.
    pub fn downstream(&self, s: &ServiceId) -> Vec<ServiceId> {
        self.reach(s, false)
    }
    /// Adjacency lists in one direction: caller → callees (`reverse = false`) or callee →
    /// callers (`reverse = true`).
    pub fn adjacency(&self, reverse: bool) -> BTreeMap<&ServiceId, Vec<&ServiceId>> {
        let mut m: BTreeMap<&ServiceId, Vec<&ServiceId>> = BTreeMap::new();
        for e in &self.edges {
            let (a, b) = if reverse {
                (&e.target, &e.source)
            } else {
                (&e.source, &e.target)
            };
            let v = m.entry(a).or_default();
            if v.last() != Some(&b) {
                v.push(b);
            }
        }
        m
    }
    fn reach(&self, s: &ServiceId, reverse: bool) -> Vec<ServiceId> {
        let adj = self.adjacency(reverse);
        let mut seen: BTreeSet<&ServiceId> = BTreeSet::new();
        let mut queue: VecDeque<&ServiceId> = VecDeque::from([s]);
        while let Some(n) = queue.pop_front() {
            for &m in adj.get(n).into_iter().flatten() {
                if m != s && seen.insert(m) {
                    queue.push_back(m);
                }
            }
        }
        seen.into_iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_handles_cycles() {
        let mut t = Topology::default();
        t.add_edge("a", "b", None);
        t.add_edge("b", "c", None);
        t.add_edge("c", "a", None);
        t.add_edge("a", "a", None);
        assert_eq!(t.len(), 3);
        assert_eq!(t.downstream(&"a".into()), vec!["b".into(), "c".into()]);
        assert_eq!(t.upstream(&"a".into()), vec!["b".into(), "c".into()]);
    }
}

//! The service graph the analysis reasons over: the host's topology plus caller → callee
//! edges derived from spans (a parent span's service calls its child span's service).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use faultline_core::{ServiceId, Span, Topology};

/// Topology merged with span-derived edges.
///
/// ```
/// use faultline_core::{Topology, Span, SpanStatus, DurationNs, Timestamp};
/// use faultline_rca::graph::build_topology;
/// let span = |id: &str, parent: Option<&str>, svc: &str| Span {
///     trace_id: "t".into(), span_id: id.into(), parent_span_id: parent.map(Into::into),
///     service: svc.into(), operation: "op".into(), start: Timestamp(0),
///     duration: DurationNs(1), status: SpanStatus::Ok, attributes: Default::default(),
/// };
/// let g = build_topology(&Topology::default(), &[span("a", None, "web"), span("b", Some("a"), "db")]);
/// assert_eq!(g.callees(&"web".into()), vec!["db".into()]);
/// ```
pub fn build_topology(host: &Topology, spans: &[Span]) -> Topology {
    let mut t = host.clone();
    let index = span_index(spans);
    let mut seen: BTreeSet<(&ServiceId, &ServiceId)> = BTreeSet::new();
    for s in spans {
        if let Some(p) = parent_of(&index, spans, s) {
            if p.service != s.service && seen.insert((&p.service, &s.service)) {
                t.add_edge(p.service.clone(), s.service.clone(), Some("trace".to_owned()));
            }
        }
    }
    t
}

/// Index of spans by (trace id, span id).
pub(crate) fn span_index(spans: &[Span]) -> HashMap<(&str, &str), usize> {
    spans
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.trace_id.as_str(), s.span_id.as_str()), i))
        .collect()
}

/// The parent of a span, if it is present.
pub(crate) fn parent_of<'a>(
    index: &HashMap<(&str, &str), usize>,
    spans: &'a [Span],
    s: &Span,
) -> Option<&'a Span> {
    let pid = s.parent_span_id.as_deref()?;
    index.get(&(s.trace_id.as_str(), pid)).map(|&i| &spans[i])
}

/// Adjacency of a topology over dense indices, for the scoring loops.
#[derive(Debug, Clone, Default)]
pub struct Adjacency {
    /// Services, sorted.
    pub services: Vec<ServiceId>,
    /// Index of each service.
    pub index: BTreeMap<ServiceId, usize>,
    /// `callees[i]`: indices of the services `i` calls.
    pub callees: Vec<Vec<usize>>,
    /// `callers[i]`: indices of the services calling `i`.
    pub callers: Vec<Vec<usize>>,
}

impl Adjacency {
    /// Adjacency over `services` (sorted, unique) and the topology's edges; edges naming other
    /// services add them.
    pub fn new(mut services: Vec<ServiceId>, topo: &Topology) -> Self {
        services.extend(topo.services());
        services.sort();
        services.dedup();
        let index: BTreeMap<ServiceId, usize> =
            services.iter().enumerate().map(|(i, s)| (s.clone(), i)).collect();
        let n = services.len();
        let mut callees = vec![Vec::new(); n];
        let mut callers = vec![Vec::new(); n];
        for e in topo.edges() {
            if let (Some(&a), Some(&b)) = (index.get(&e.source), index.get(&e.target)) {
                callees[a].push(b);
                callers[b].push(a);
            }
        }
        for v in callees.iter_mut().chain(callers.iter_mut()) {
            v.sort_unstable();
            v.dedup();
        }
        Self {
            services,
            index,
            callees,
            callers,
        }
    }
    /// Transitive callers of `i` (excluding `i`), sorted.
    pub fn upstream(&self, i: usize) -> Vec<usize> {
        let mut seen = vec![false; self.services.len()];
        let mut stack = vec![i];
        let mut out = Vec::new();
        while let Some(n) = stack.pop() {
            for &m in &self.callers[n] {
                if m != i && !seen[m] {
                    seen[m] = true;
                    out.push(m);
                    stack.push(m);
                }
            }
        }
        out.sort_unstable();
        out
    }
    /// Degree centrality in [0, 1]: share of the other services a service is adjacent to.
    pub fn centrality(&self, i: usize) -> f64 {
        let n = self.services.len();
        if n < 2 {
            return 0.0;
        }
        let mut adj: Vec<usize> = self.callees[i].iter().chain(&self.callers[i]).copied().collect();
        adj.sort_unstable();
        adj.dedup();
        adj.len() as f64 / (n - 1) as f64
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn upstream_and_centrality() {
        let mut t = Topology::default();
        t.add_edge("web", "api", None);
        t.add_edge("api", "db", None);
        t.add_edge("db", "web", None); // cycle must terminate
        let a = Adjacency::new(vec!["lonely".into()], &t);
        let db = a.index[&ServiceId::new("db")];
        let ups: Vec<&str> = a.upstream(db).iter().map(|&i| a.services[i].as_str()).collect();
        assert_eq!(ups, vec!["api", "web"]);
        let lonely = a.index[&ServiceId::new("lonely")];
        assert_eq!(a.centrality(lonely), 0.0);
        assert!(a.centrality(db) > 0.0);
    }
}

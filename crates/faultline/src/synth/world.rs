//! The simulated system: services with their baselines, the call graph (the shop's core
//! services plus, at scale, a layered random DAG around them), and the per-step effects a
//! scenario injects, propagated from callees to callers.

use super::rng::Rng;

/// What a service is in the story; extras are the anonymous services of the scale mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Frontend,
    Checkout,
    Payments,
    Inventory,
    Catalog,
    Recommendations,
    Db,
    SessionCache,
    Extra,
}

/// One service and its noise-free baseline.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub name: String,
    pub role: Role,
    pub base_rps: f64,
    pub base_latency_ms: f64,
    pub base_error: f64,
    pub base_cpu: f64,
    pub base_memory_mb: f64,
    pub memory_limit_mb: f64,
    pub version: String,
    pub pod: String,
}

/// A call edge: `caller` sends `weight` (0..1) of its requests to `callee`.
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    pub caller: usize,
    pub callee: usize,
    pub kind: &'static str,
    pub weight: f64,
}

/// Per-step effects on one service. The first group is injected by the scenario, the second
/// is derived by [`World::propagate`].
#[derive(Debug, Clone)]
pub(crate) struct Effects {
    /// Multiplier on the service's own latency.
    pub latency_mult: Vec<f64>,
    /// Error fraction added by the service's own fault.
    pub error_own: Vec<f64>,
    /// Fraction of calls to this service that time out (or are refused) at its callers.
    pub timeout_frac: Vec<f64>,
    /// Multiplier on request rate.
    pub rps_mult: Vec<f64>,
    /// Added CPU utilisation (fraction of a core).
    pub cpu_add: Vec<f64>,
    /// Added resident memory in MB (negative after a restart).
    pub memory_add_mb: Vec<f64>,
    /// Garbage-collection / eviction pressure in [0, 1].
    pub gc_level: Vec<f64>,
    /// The service is restarting (refusing connections).
    pub down: Vec<bool>,
    /// Error fraction inherited from callees.
    pub error_up: Vec<f64>,
    /// Latency in ms inherited from callees.
    pub latency_add_ms: Vec<f64>,
    /// The callee contributing most inherited errors, if any.
    pub culprit: Option<usize>,
}

impl Effects {
    fn neutral(n: usize) -> Self {
        Self {
            latency_mult: vec![1.0; n],
            error_own: vec![0.0; n],
            timeout_frac: vec![0.0; n],
            rps_mult: vec![1.0; n],
            cpu_add: vec![0.0; n],
            memory_add_mb: vec![0.0; n],
            gc_level: vec![0.0; n],
            down: vec![false; n],
            error_up: vec![0.0; n],
            latency_add_ms: vec![0.0; n],
            culprit: None,
        }
    }
}

/// The whole simulated system over the generated time range.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub services: Vec<Service>,
    pub edges: Vec<Edge>,
    /// Edge indices by caller.
    pub out_edges: Vec<Vec<usize>>,
    /// Edge indices by callee.
    pub in_edges: Vec<Vec<usize>>,
    /// Services ordered callees first (a reverse topological order).
    pub order: Vec<usize>,
    pub effects: Vec<Effects>,
    /// Start of the range, epoch seconds.
    pub start_secs: i64,
    pub step_secs: i64,
    pub steps: usize,
}

/// Indices of the core services (always present, in this order).
pub(crate) const FRONTEND: usize = 0;
pub(crate) const CHECKOUT: usize = 1;
pub(crate) const PAYMENTS: usize = 2;
pub(crate) const INVENTORY: usize = 3;
pub(crate) const CATALOG: usize = 4;
pub(crate) const RECOMMENDATIONS: usize = 5;
pub(crate) const DB: usize = 6;
pub(crate) const SESSION_CACHE: usize = 7;
/// Number of core services.
pub(crate) const CORE: usize = 8;

struct CoreSpec {
    name: &'static str,
    role: Role,
    rps: f64,
    latency_ms: f64,
    error: f64,
    cpu: f64,
    memory_mb: f64,
    limit_mb: f64,
    version: &'static str,
}

const CORE_SPECS: [CoreSpec; CORE] = [
    CoreSpec {
        name: "frontend",
        role: Role::Frontend,
        rps: 220.0,
        latency_ms: 120.0,
        error: 0.002,
        cpu: 0.35,
        memory_mb: 420.0,
        limit_mb: 1024.0,
        version: "5.2.0",
    },
    CoreSpec {
        name: "checkout",
        role: Role::Checkout,
        rps: 45.0,
        latency_ms: 180.0,
        error: 0.003,
        cpu: 0.30,
        memory_mb: 760.0,
        limit_mb: 2048.0,
        version: "2.4.0",
    },
    CoreSpec {
        name: "payments",
        role: Role::Payments,
        rps: 27.0,
        latency_ms: 240.0,
        error: 0.002,
        cpu: 0.20,
        memory_mb: 380.0,
        limit_mb: 1024.0,
        version: "3.1.7",
    },
    CoreSpec {
        name: "inventory",
        role: Role::Inventory,
        rps: 41.0,
        latency_ms: 45.0,
        error: 0.001,
        cpu: 0.25,
        memory_mb: 300.0,
        limit_mb: 512.0,
        version: "1.14.2",
    },
    CoreSpec {
        name: "catalog",
        role: Role::Catalog,
        rps: 190.0,
        latency_ms: 60.0,
        error: 0.001,
        cpu: 0.40,
        memory_mb: 520.0,
        limit_mb: 1024.0,
        version: "3.11.4",
    },
    CoreSpec {
        name: "recommendations",
        role: Role::Recommendations,
        rps: 130.0,
        latency_ms: 90.0,
        error: 0.002,
        cpu: 0.45,
        memory_mb: 900.0,
        limit_mb: 2048.0,
        version: "1.7.9",
    },
    CoreSpec {
        name: "db",
        role: Role::Db,
        rps: 620.0,
        latency_ms: 8.0,
        error: 0.0005,
        cpu: 0.50,
        memory_mb: 3800.0,
        limit_mb: 8192.0,
        version: "15.4",
    },
    CoreSpec {
        name: "session-cache",
        role: Role::SessionCache,
        rps: 520.0,
        latency_ms: 3.0,
        error: 0.0002,
        cpu: 0.15,
        memory_mb: 610.0,
        limit_mb: 2048.0,
        version: "1.9.3",
    },
];

/// (caller, callee, kind, weight): the shop's call graph.
const CORE_EDGES: [(usize, usize, &str, f64); 11] = [
    (FRONTEND, SESSION_CACHE, "redis", 0.9),
    (FRONTEND, CHECKOUT, "http", 0.2),
    (FRONTEND, CATALOG, "http", 0.7),
    (FRONTEND, RECOMMENDATIONS, "grpc", 0.55),
    (CHECKOUT, SESSION_CACHE, "redis", 0.8),
    (CHECKOUT, INVENTORY, "grpc", 0.9),
    (CHECKOUT, PAYMENTS, "grpc", 0.6),
    (CATALOG, DB, "sql", 0.9),
    (INVENTORY, DB, "sql", 0.8),
    (RECOMMENDATIONS, CATALOG, "grpc", 0.5),
    (PAYMENTS, DB, "sql", 0.3),
];

const PREFIXES: [&str; 24] = [
    "auth", "billing", "search", "ads", "email", "notify", "profile", "review", "tax", "fraud", "promo",
    "label", "media", "geo", "quote", "audit", "report", "export", "loyalty", "wishlist", "pricing",
    "ledger", "courier", "returns",
];
const SUFFIXES: [&str; 8] = [
    "api", "svc", "worker", "gateway", "store", "indexer", "sync", "proxy",
];

/// A unique, plausible name for the `i`-th extra service.
fn extra_name(i: usize) -> String {
    let p = PREFIXES.len();
    let s = SUFFIXES.len();
    let base = format!("{}-{}", PREFIXES[i % p], SUFFIXES[(i / p) % s]);
    if i < p * s {
        base
    } else {
        format!("{base}-{}", i / (p * s))
    }
}

fn pod_name(name: &str, rng: &mut Rng) -> String {
    const ALNUM: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut suffix = String::with_capacity(5);
    for _ in 0..5 {
        suffix.push(ALNUM[rng.below(ALNUM.len())] as char);
    }
    format!("{name}-{}-{suffix}", rng.hex(9))
}

impl World {
    /// Builds the services and the call graph: the core shop, then `total - CORE` extras in
    /// layers, each calling one to three services of the next layer; the deepest layer calls
    /// the shop's shared backends (db, session-cache, catalog, inventory).
    pub(crate) fn build(total: usize, start_secs: i64, step_secs: i64, steps: usize, rng: &mut Rng) -> Self {
        let total = total.max(CORE);
        let mut services = Vec::with_capacity(total);
        for spec in &CORE_SPECS {
            services.push(Service {
                name: spec.name.to_string(),
                role: spec.role,
                base_rps: spec.rps,
                base_latency_ms: spec.latency_ms,
                base_error: spec.error,
                base_cpu: spec.cpu,
                base_memory_mb: spec.memory_mb,
                memory_limit_mb: spec.limit_mb,
                version: spec.version.to_string(),
                pod: pod_name(spec.name, rng),
            });
        }
        let mut edges: Vec<Edge> = CORE_EDGES
            .iter()
            .map(|&(caller, callee, kind, weight)| Edge {
                caller,
                callee,
                kind,
                weight,
            })
            .collect();

        let extras = total - CORE;
        let layers = if extras == 0 {
            0
        } else {
            (usize::BITS - extras.leading_zeros()).clamp(1, 6) as usize
        };
        let layer_of = |k: usize| k * layers / extras.max(1);
        let mut layer_members: Vec<Vec<usize>> = vec![Vec::new(); layers];
        for k in 0..extras {
            let name = extra_name(k);
            let latency = rng.uniform(10.0, 250.0);
            let memory = rng.uniform(150.0, 1500.0);
            services.push(Service {
                pod: pod_name(&name, rng),
                name,
                role: Role::Extra,
                base_rps: rng.uniform(5.0, 300.0),
                base_latency_ms: latency,
                base_error: rng.uniform(0.0002, 0.003),
                base_cpu: rng.uniform(0.05, 0.6),
                base_memory_mb: memory,
                memory_limit_mb: (memory * 2.0 / 256.0).ceil() * 256.0,
                version: format!("{}.{}.{}", rng.int(0, 4), rng.int(0, 30), rng.int(0, 12)),
            });
            layer_members[layer_of(k)].push(CORE + k);
        }
        const BACKENDS: [(usize, &str); 4] = [
            (DB, "sql"),
            (SESSION_CACHE, "redis"),
            (CATALOG, "grpc"),
            (INVENTORY, "grpc"),
        ];
        for layer in 0..layers {
            for &s in &layer_members[layer] {
                if layer + 1 < layers && !layer_members[layer + 1].is_empty() {
                    let next = &layer_members[layer + 1];
                    let calls = 1 + rng.below(3);
                    let mut chosen: Vec<usize> = Vec::with_capacity(calls);
                    for _ in 0..calls {
                        let c = *rng.pick(next);
                        if !chosen.contains(&c) {
                            chosen.push(c);
                        }
                    }
                    for c in chosen {
                        let kind = if rng.chance(0.5) { "grpc" } else { "http" };
                        edges.push(Edge {
                            caller: s,
                            callee: c,
                            kind,
                            weight: rng.uniform(0.2, 0.9),
                        });
                    }
                }
                let p_backend = if layer + 1 == layers { 0.7 } else { 0.1 };
                if rng.chance(p_backend) {
                    let &(c, kind) = rng.pick(&BACKENDS);
                    edges.push(Edge {
                        caller: s,
                        callee: c,
                        kind,
                        weight: rng.uniform(0.2, 0.9),
                    });
                }
            }
        }

        let mut out_edges = vec![Vec::new(); total];
        let mut in_edges = vec![Vec::new(); total];
        for (i, e) in edges.iter().enumerate() {
            out_edges[e.caller].push(i);
            in_edges[e.callee].push(i);
        }
        // Callees first: core backends up to the frontend, then extras from the deepest layer.
        let mut order = vec![
            DB,
            SESSION_CACHE,
            PAYMENTS,
            INVENTORY,
            CATALOG,
            RECOMMENDATIONS,
            CHECKOUT,
            FRONTEND,
        ];
        for members in layer_members.iter().rev() {
            order.extend(members.iter().copied());
        }
        let effects = (0..total).map(|_| Effects::neutral(steps)).collect();
        Self {
            services,
            edges,
            out_edges,
            in_edges,
            order,
            effects,
            start_secs,
            step_secs,
            steps,
        }
    }

    /// Seconds since the start of step `i`.
    pub(crate) fn offset(&self, i: usize) -> i64 {
        i as i64 * self.step_secs
    }

    /// The step containing `offset_secs` (clamped into range).
    pub(crate) fn step_at(&self, offset_secs: f64) -> usize {
        let i = (offset_secs / self.step_secs as f64).floor();
        if i <= 0.0 {
            0
        } else {
            (i as usize).min(self.steps.saturating_sub(1))
        }
    }

    /// Derives inherited errors and latency, callees first, and each service's culprit callee.
    pub(crate) fn propagate(&mut self) {
        for oi in 0..self.order.len() {
            let s = self.order[oi];
            let mut best: Option<(usize, f64)> = None;
            let mut err_up = vec![0.0; self.steps];
            let mut lat_up = vec![0.0; self.steps];
            for &ei in &self.out_edges[s] {
                let e = &self.edges[ei];
                let c = &self.effects[e.callee];
                let base_lat = self.services[e.callee].base_latency_ms;
                let mut total = 0.0;
                for i in 0..self.steps {
                    let failing = c.error_own[i] + 0.8 * c.error_up[i] + c.timeout_frac[i];
                    err_up[i] += e.weight * failing;
                    total += e.weight * failing;
                    let excess = base_lat * (c.latency_mult[i] - 1.0) + c.latency_add_ms[i];
                    lat_up[i] += 0.8 * e.weight * excess;
                }
                if total > 1e-9 && best.is_none_or(|(_, b)| total > b) {
                    best = Some((e.callee, total));
                }
            }
            let fx = &mut self.effects[s];
            for (dst, v) in fx.error_up.iter_mut().zip(err_up) {
                *dst = v.min(0.95);
            }
            fx.latency_add_ms = lat_up;
            fx.culprit = best.map(|(c, _)| c);
        }
    }

    /// Noise-free error fraction of service `s` at step `i`.
    pub(crate) fn error_rate(&self, s: usize, i: usize) -> f64 {
        let fx = &self.effects[s];
        (self.services[s].base_error + fx.error_own[i] + fx.error_up[i]).min(1.0)
    }

    /// Noise-free p95 latency of service `s` at step `i`, in ms.
    pub(crate) fn latency_ms(&self, s: usize, i: usize) -> f64 {
        let fx = &self.effects[s];
        self.services[s].base_latency_ms * fx.latency_mult[i] + fx.latency_add_ms[i]
    }

    /// Noise-free request rate of service `s` at step `i`.
    pub(crate) fn rps(&self, s: usize, i: usize) -> f64 {
        self.services[s].base_rps * self.effects[s].rps_mult[i]
    }
}

/// `0` before `t0`, `1` after `t0 + width`, a smoothstep in between.
pub(crate) fn ramp(t: f64, t0: f64, width: f64) -> f64 {
    if width <= 0.0 {
        return if t >= t0 { 1.0 } else { 0.0 };
    }
    let x = ((t - t0) / width).clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_names_are_unique_and_avoid_core_names() {
        let mut names: Vec<String> = (0..2000).map(extra_name).collect();
        names.extend(CORE_SPECS.iter().map(|s| s.name.to_string()));
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn order_puts_callees_before_callers_at_scale() {
        let mut rng = Rng::new(3, 0);
        let w = World::build(1000, 0, 15, 4, &mut rng);
        assert_eq!(w.services.len(), 1000);
        assert_eq!(w.order.len(), 1000);
        let mut pos = vec![0; 1000];
        for (p, &s) in w.order.iter().enumerate() {
            pos[s] = p;
        }
        for e in &w.edges {
            assert!(pos[e.callee] < pos[e.caller], "{} -> {}", e.caller, e.callee);
        }
    }

    #[test]
    fn errors_propagate_to_callers_only() {
        let mut rng = Rng::new(3, 0);
        let mut w = World::build(CORE, 0, 15, 2, &mut rng);
        w.effects[CHECKOUT].error_own = vec![0.0, 0.4];
        w.propagate();
        assert!(w.effects[FRONTEND].error_up[1] > 0.05);
        assert_eq!(w.effects[FRONTEND].culprit, Some(CHECKOUT));
        assert_eq!(w.effects[PAYMENTS].error_up[1], 0.0);
        assert_eq!(w.effects[FRONTEND].error_up[0], 0.0);
    }
}

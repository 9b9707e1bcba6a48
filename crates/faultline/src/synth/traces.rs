//! `traces.jsonl`: request traces walked down the call graph from an entry service. Each
//! callee is called with its edge's probability; a span fails on its own fault, on a callee's
//! error or on a callee timeout (the callee's own span then is slow but `ok`, as in real
//! client-side timeouts), and a faulty span stops calling further callees — so the faulty
//! service's dependencies see fewer calls, as in the metrics. A tail sampler keeps every trace
//! with an error and a quarter of the others.

use serde::Serialize;

use super::fmt_ts;
use super::rng::Rng;
use super::world::{Role, World};

const MAX_DEPTH: usize = 5;
const MAX_SPANS: usize = 24;
/// Callers give up on a callee after this long.
const CLIENT_TIMEOUT_MS: f64 = 100.0;

#[derive(Serialize)]
struct SpanLine<'a> {
    trace_id: &'a str,
    span_id: &'a str,
    parent_span_id: Option<&'a str>,
    service: &'a str,
    operation: &'a str,
    start: &'a str,
    duration_ms: f64,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<Attrs>,
}

#[derive(Serialize)]
struct Attrs {
    #[serde(rename = "error.type")]
    error_type: &'static str,
}

struct SpanRec {
    span_id: String,
    parent: Option<usize>,
    service: usize,
    operation: String,
    start_ns: i64,
    duration_ns: i64,
    error: Option<&'static str>,
}

struct Walk<'w> {
    world: &'w World,
    fault: usize,
    fault_error: &'static str,
    spans: Vec<SpanRec>,
}

/// Share of error-free traces kept by the (tail-based) sampler; traces with an error are
/// always kept, as production tail samplers do.
const KEEP_OK: f64 = 0.25;

/// Generates `count` candidate traces spread uniformly over the range and keeps those the
/// tail sampler keeps.
pub(crate) fn render(
    world: &World,
    fault: usize,
    fault_error: &'static str,
    count: usize,
    rng: &mut Rng,
) -> String {
    let entries: Vec<usize> = (0..world.services.len())
        .filter(|&s| world.in_edges[s].is_empty())
        .collect();
    let weights: Vec<f64> = entries.iter().map(|&s| world.services[s].base_rps).collect();
    let total_weight: f64 = weights.iter().sum();
    let range_ns = world.steps as i64 * world.step_secs * 1_000_000_000;
    let start_ns = world.start_secs * 1_000_000_000;
    let mut starts: Vec<i64> = (0..count)
        .map(|_| start_ns + (rng.f64() * range_ns as f64) as i64)
        .collect();
    starts.sort_unstable();

    let mut out: Vec<u8> = Vec::with_capacity(count * 2 * 230);
    let mut walk = Walk {
        world,
        fault,
        fault_error,
        spans: Vec::with_capacity(MAX_SPANS),
    };
    let mut ts = String::with_capacity(40);
    for t0 in starts {
        let mut u = rng.f64() * total_weight;
        let mut root = entries.first().copied().unwrap_or(0);
        for (k, &w) in weights.iter().enumerate() {
            if u < w {
                root = entries[k];
                break;
            }
            u -= w;
        }
        let trace_id = rng.hex(32);
        walk.spans.clear();
        let (_, failed) = walk.span(root, None, t0, 0, rng);
        let any_error = failed || walk.spans.iter().any(|sp| sp.error.is_some());
        if !any_error && !rng.chance(KEEP_OK) {
            continue;
        }
        for sp in &walk.spans {
            ts.clear();
            fmt_ts(&mut ts, sp.start_ns, 6);
            let line = SpanLine {
                trace_id: &trace_id,
                span_id: &sp.span_id,
                parent_span_id: sp.parent.map(|p| walk.spans[p].span_id.as_str()),
                service: &world.services[sp.service].name,
                operation: &sp.operation,
                start: &ts,
                duration_ms: (sp.duration_ns as f64 / 1000.0).round() / 1000.0,
                status: if sp.error.is_some() { "error" } else { "ok" },
                attributes: sp.error.map(|error_type| Attrs { error_type }),
            };
            if serde_json::to_writer(&mut out, &line).is_ok() {
                out.push(b'\n');
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

impl Walk<'_> {
    /// Emits the span of `s` starting at `start_ns` and its subtree; returns (end, failed).
    fn span(
        &mut self,
        s: usize,
        parent: Option<usize>,
        start_ns: i64,
        depth: usize,
        rng: &mut Rng,
    ) -> (i64, bool) {
        let world = self.world;
        let i = world.step_at((start_ns / 1_000_000_000 - world.start_secs) as f64);
        let idx = self.spans.len();
        self.spans.push(SpanRec {
            span_id: rng.hex(16),
            parent,
            service: s,
            operation: operation(world, s, rng),
            start_ns,
            duration_ns: 0,
            error: None,
        });
        let fx = &world.effects[s];
        let base_err = world.services[s].base_error;
        let own_fault = rng.chance(base_err + fx.error_own[i]);
        let injected =
            own_fault && s == self.fault && rng.f64() * (base_err + fx.error_own[i]) < fx.error_own[i];
        let mut cursor = start_ns + ms_to_ns(rng.uniform(0.05, 0.8));
        let mut error: Option<&'static str> = None;
        let mut called_checkout = false;
        if depth < MAX_DEPTH {
            for &ei in &world.out_edges[s] {
                let e = &world.edges[ei];
                // A request that fails in its own code still did its cache lookup first.
                if own_fault && e.kind != "redis" {
                    continue;
                }
                if self.spans.len() >= MAX_SPANS || !rng.chance(e.weight) {
                    continue;
                }
                let c = e.callee;
                called_checkout |= world.services[c].role == Role::Checkout;
                let cfx = &world.effects[c];
                if rng.chance(cfx.timeout_frac[i]) {
                    if cfx.down[i] {
                        cursor += ms_to_ns(rng.uniform(0.5, 3.0));
                        error = Some("connection_refused");
                    } else {
                        // The callee finishes eventually, long after the caller gave up.
                        let slow = ms_to_ns(CLIENT_TIMEOUT_MS * rng.uniform(1.05, 3.0));
                        self.spans.push(SpanRec {
                            span_id: rng.hex(16),
                            parent: Some(idx),
                            service: c,
                            operation: operation(world, c, rng),
                            start_ns: cursor,
                            duration_ns: slow,
                            error: None,
                        });
                        cursor += ms_to_ns(CLIENT_TIMEOUT_MS);
                        error = Some("timeout");
                    }
                    break;
                }
                let (end, failed) = self.span(c, Some(idx), cursor, depth + 1, rng);
                cursor = end + ms_to_ns(rng.uniform(0.05, 0.5));
                if failed && rng.chance(0.95) {
                    error = Some("upstream_error");
                    break;
                }
            }
        }
        if own_fault {
            error = Some(if injected { self.fault_error } else { "internal" });
        }
        let self_ms = world.services[s].base_latency_ms * fx.latency_mult[i] * 0.35 * rng.uniform(0.4, 1.2);
        let end = cursor + ms_to_ns(self_ms);
        let sp = &mut self.spans[idx];
        if world.services[s].role == Role::Frontend {
            // The page a user hits decides whether checkout is called.
            if called_checkout {
                sp.operation = "POST /api/checkout".into();
            }
        }
        sp.duration_ns = end - start_ns;
        sp.error = error;
        (end, error.is_some())
    }
}

fn ms_to_ns(ms: f64) -> i64 {
    (ms * 1e6) as i64
}

fn operation(world: &World, s: usize, rng: &mut Rng) -> String {
    let ops: &[&str] = match world.services[s].role {
        Role::Frontend => &["GET /", "GET /product/{id}", "POST /api/cart"],
        Role::Checkout => &["CheckoutService/PlaceOrder"],
        Role::Payments => &["PaymentService/Charge"],
        Role::Inventory => &["InventoryService/Reserve", "InventoryService/GetStock"],
        Role::Catalog => &["CatalogService/ListProducts", "CatalogService/GetProduct"],
        Role::Recommendations => &["RecommendationService/List"],
        Role::Db => &["SELECT products", "UPDATE stock", "SELECT orders"],
        Role::SessionCache => &["GET", "SET"],
        Role::Extra => return format!("{}/Handle", world.services[s].name),
    };
    (*rng.pick(ops)).to_string()
}

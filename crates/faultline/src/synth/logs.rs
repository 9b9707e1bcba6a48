//! Logs: `logs.jsonl` for most services and a raw logback-style `logs/checkout.log` (with
//! multi-line Java stack traces) for the Java service.
//!
//! Record times are drawn from a per-(service, step) intensity that grows with traffic and
//! errors; each record's template depends on the service's state at that moment: its own
//! fault, errors inherited from its culprit callee, GC pressure, benign warnings or routine
//! info lines.

use std::fmt::Write as _;

use serde::Serialize;

use super::rng::Rng;
use super::scenario::Story;
use super::world::{Role, World, CHECKOUT, FRONTEND, PAYMENTS, SESSION_CACHE};
use super::{fmt_ts, Scenario};

/// The service that writes raw text logs instead of JSON lines.
pub(crate) const RAW_SERVICE: usize = CHECKOUT;

const NPE_TRACE: &str = "java.lang.NullPointerException: Cannot invoke \"java.math.BigDecimal.multiply(java.math.BigDecimal)\" because \"discount\" is null
\tat com.shop.checkout.pricing.PriceCalculator.apply(PriceCalculator.java:87)
\tat com.shop.checkout.pricing.PricingPipeline.price(PricingPipeline.java:54)
\tat com.shop.checkout.CheckoutService.placeOrder(CheckoutService.java:142)
\tat com.shop.checkout.api.CheckoutController.checkout(CheckoutController.java:61)
\tat jdk.internal.reflect.GeneratedMethodAccessor212.invoke(Unknown Source)
\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)
\t... 48 common frames omitted";

const BENIGN_WARNINGS: [&str; 6] = [
    "slow health check: /healthz took {ms}ms",
    "retrying connection to metrics-agent:8125 (attempt {n})",
    "deprecated header X-Client-Version sent by client {id}",
    "TLS certificate for {svc}.shop.internal expires in 21 days",
    "config reload skipped: no changes detected",
    "rate limiter bucket for client {id} nearly empty",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn lower(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
    fn upper(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

struct Rec {
    ts_ns: i64,
    seq: u32,
    service: usize,
    level: Level,
    message: String,
    logger: &'static str,
    stack: Option<&'static str>,
    source: Option<&'static str>,
}

#[derive(Serialize)]
struct JsonLine<'a> {
    timestamp: &'a str,
    service: &'a str,
    level: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'static str>,
}

/// Rendered log files: `logs.jsonl` and the raw `logs/<service>.log`.
pub(crate) struct LogFiles {
    pub jsonl: String,
    pub raw_path: String,
    pub raw: String,
}

/// Generates about `count` sampled records plus the story's one-off lines.
pub(crate) fn render(world: &World, story: &Story, count: usize, rng: &mut Rng) -> LogFiles {
    let mut recs = sample(world, story, count, rng);
    one_offs(world, story, rng, &mut recs);
    let end_ns = (world.start_secs + world.offset(world.steps)) * 1_000_000_000;
    recs.retain(|r| r.ts_ns < end_ns);
    // (ts, seq) is unique, so an unstable sort is deterministic.
    recs.sort_unstable_by_key(|r| (r.ts_ns, r.seq));

    let mut jsonl: Vec<u8> = Vec::with_capacity(recs.len() * 120);
    let mut raw = String::with_capacity(recs.len() * 20);
    let mut ts = String::with_capacity(32);
    for r in &recs {
        ts.clear();
        fmt_ts(&mut ts, r.ts_ns, 3);
        let svc = &world.services[r.service];
        if r.service == RAW_SERVICE {
            let thread = 1 + (r.seq % 12);
            let _ = writeln!(
                raw,
                "{ts} {:<5} [http-nio-8080-exec-{thread}] {} - {}",
                r.level.upper(),
                r.logger,
                r.message
            );
            if let Some(stack) = r.stack {
                raw.push_str(stack);
                raw.push('\n');
            }
        } else {
            let line = JsonLine {
                timestamp: &ts,
                service: &svc.name,
                level: r.level.lower(),
                message: &r.message,
                source: r.source,
            };
            // Serialising plain strings into memory cannot fail.
            if serde_json::to_writer(&mut jsonl, &line).is_ok() {
                jsonl.push(b'\n');
            }
        }
    }
    let jsonl =
        String::from_utf8(jsonl).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    LogFiles {
        jsonl,
        raw_path: format!("logs/{}.log", world.services[RAW_SERVICE].name),
        raw,
    }
}

/// Draws record times from the (service, step) intensity and picks each record's template.
fn sample(world: &World, story: &Story, count: usize, rng: &mut Rng) -> Vec<Rec> {
    let n = world.steps;
    let mut cumulative = Vec::with_capacity(world.services.len() * n);
    let mut total = 0.0;
    for s in 0..world.services.len() {
        let volume = world.services[s].base_rps.sqrt();
        for i in 0..n {
            let fx = &world.effects[s];
            total += volume * fx.rps_mult[i] * (1.0 + 6.0 * world.error_rate(s, i) + 2.0 * fx.gc_level[i]);
            cumulative.push(total);
        }
    }
    let step_ns = world.step_secs * 1_000_000_000;
    let start_ns = world.start_secs * 1_000_000_000;
    let mut recs = Vec::with_capacity(count + 64);
    for k in 0..count {
        let u = rng.f64() * total;
        let cell = cumulative.partition_point(|&c| c <= u).min(cumulative.len() - 1);
        let (s, i) = (cell / n, cell % n);
        let ts_ns = start_ns + i as i64 * step_ns + (rng.f64() * step_ns as f64) as i64;
        let (level, message, logger, stack) = pick_template(world, story, s, i, rng);
        recs.push(Rec {
            ts_ns,
            seq: k as u32,
            service: s,
            level,
            message,
            logger,
            stack,
            source: None,
        });
    }
    recs
}

type Template = (Level, String, &'static str, Option<&'static str>);

fn pick_template(world: &World, story: &Story, s: usize, i: usize, rng: &mut Rng) -> Template {
    let fx = &world.effects[s];
    let e = world.error_rate(s, i);
    let p_err = 6.0 * e / (1.0 + 6.0 * e);
    let p_gc = if s == story.fault && story.scenario == Scenario::MemoryLeak {
        0.5 * fx.gc_level[i]
    } else {
        0.0
    };
    let u = rng.f64();
    if u < p_err {
        let v = rng.f64() * e;
        if v < fx.error_own[i] && s == story.fault {
            return fault_error(world, story, s, i, rng);
        }
        if v < fx.error_own[i] + fx.error_up[i] {
            if let Some(c) = fx.culprit {
                return upstream_error(world, s, c, i, rng);
            }
        }
        return baseline_error(world, s, rng);
    }
    if u < p_err + p_gc {
        return gc_warning(world, s, i, rng);
    }
    if u < p_err + p_gc + 0.03 {
        return benign_warning(world, s, rng);
    }
    info(world, s, i, rng)
}

fn fault_error(world: &World, story: &Story, s: usize, i: usize, rng: &mut Rng) -> Template {
    match story.scenario {
        Scenario::DeployRegression => {
            let cart = rng.int(10_000, 99_999);
            if rng.chance(0.75) {
                (
                    Level::Error,
                    format!("NullPointerException in PriceCalculator.apply for cart {cart}"),
                    "c.s.checkout.pricing.PriceCalculator",
                    Some(NPE_TRACE),
                )
            } else {
                (
                    Level::Error,
                    format!(
                        "order {} failed: could not price cart {cart}",
                        rng.int(100_000, 999_999)
                    ),
                    "c.s.checkout.CheckoutService",
                    None,
                )
            }
        }
        Scenario::MemoryLeak => {
            let used = world.services[s].base_memory_mb + world.effects[s].memory_add_mb[i];
            (
                Level::Error,
                format!(
                    "OOM command not allowed when used memory > 'maxmemory' (used_memory={:.0}MB)",
                    used
                ),
                "",
                None,
            )
        }
    }
}

/// What a caller sees when calling `c`: the path or command it calls.
fn call_op(world: &World, c: usize, rng: &mut Rng) -> String {
    match world.services[c].role {
        Role::Checkout => "POST /api/checkout".into(),
        Role::SessionCache => format!("GET session:{}", rng.hex(8)),
        Role::Catalog => format!("GET /api/products/{}", rng.int(1000, 9999)),
        Role::Recommendations => "RecommendationService/List".into(),
        Role::Payments => "PaymentService/Charge".into(),
        Role::Inventory => "InventoryService/Reserve".into(),
        Role::Db => "query".into(),
        Role::Frontend | Role::Extra => format!("{}/Handle", world.services[c].name),
    }
}

fn upstream_error(world: &World, s: usize, c: usize, i: usize, rng: &mut Rng) -> Template {
    let callee = &world.services[c];
    let cfx = &world.effects[c];
    let op = call_op(world, c, rng);
    let logger = if s == RAW_SERVICE {
        "c.s.checkout.clients.UpstreamClient"
    } else {
        ""
    };
    let message = if cfx.down[i] {
        format!("connection refused calling {} ({op})", callee.name)
    } else if cfx.timeout_frac[i] > cfx.error_own[i] + cfx.error_up[i] {
        format!("timeout after 100ms calling {} ({op})", callee.name)
    } else if s == FRONTEND {
        format!(
            "upstream {} returned 500 for {op} (request_id={})",
            callee.name,
            rng.hex(12)
        )
    } else {
        format!("call to {} failed with status 500 ({op})", callee.name)
    };
    (Level::Error, message, logger, None)
}

fn baseline_error(world: &World, s: usize, rng: &mut Rng) -> Template {
    let id = rng.int(100_000, 999_999);
    let (message, logger) = match world.services[s].role {
        Role::Frontend => (
            format!(
                "client closed request before response: GET /product/{}",
                id % 10_000
            ),
            "",
        ),
        Role::Checkout => (
            format!("order {id} failed: payment declined (code 51)"),
            "c.s.checkout.CheckoutService",
        ),
        Role::Payments => (
            format!("charge {id} declined by payment-gateway: insufficient_funds"),
            "",
        ),
        Role::Inventory => (
            format!("reservation {id} failed: sku SKU-{} out of stock", id % 5000),
            "",
        ),
        Role::Catalog => (
            format!(
                "query for product {} failed: connection reset by peer",
                id % 10_000
            ),
            "",
        ),
        Role::Recommendations => (
            format!("model inference failed for user u{id}: falling back to popular items"),
            "",
        ),
        Role::Db => (
            format!("deadlock detected while updating stock for sku SKU-{}", id % 5000),
            "",
        ),
        Role::SessionCache => (
            format!(
                "client 10.4.{}.{} closed connection during write",
                id % 255,
                id % 97
            ),
            "",
        ),
        Role::Extra => (
            format!(
                "request {}/Handle failed: connection reset by peer",
                world.services[s].name
            ),
            "",
        ),
    };
    (Level::Error, message, logger, None)
}

fn gc_warning(world: &World, s: usize, i: usize, rng: &mut Rng) -> Template {
    let svc = &world.services[s];
    let fx = &world.effects[s];
    let used = svc.base_memory_mb + fx.memory_add_mb[i];
    let g = fx.gc_level[i];
    let pick = if used > 0.8 * svc.memory_limit_mb {
        rng.below(3)
    } else {
        rng.below(2)
    };
    let message = match pick {
        0 => format!(
            "GC pause of {:.0}ms (heap {:.0}MB of {:.0}MB)",
            (20.0 + 280.0 * g * g) * rng.uniform(0.7, 1.3),
            used,
            svc.memory_limit_mb
        ),
        1 => {
            let m = rng.int(2000, 6000);
            format!(
                "eviction run freed only {} of {m} candidate keys: sessions pinned by open connections",
                ((1.0 - g) * m as f64 * 0.1) as u64
            )
        }
        _ => format!(
            "memory usage at {:.0}% of limit",
            100.0 * used / svc.memory_limit_mb
        ),
    };
    (Level::Warn, message, "", None)
}

fn benign_warning(world: &World, s: usize, rng: &mut Rng) -> Template {
    // Each service has its own one or two habitual warnings.
    let k = if rng.chance(0.7) {
        s % BENIGN_WARNINGS.len()
    } else {
        (s * 7 + 3) % BENIGN_WARNINGS.len()
    };
    let message = BENIGN_WARNINGS[k]
        .replace("{ms}", &rng.int(800, 2500).to_string())
        .replace("{n}", &rng.int(1, 5).to_string())
        .replace("{id}", &format!("c-{}", rng.hex(6)))
        .replace("{svc}", &world.services[s].name);
    let logger = if s == RAW_SERVICE {
        "c.s.checkout.infra.Housekeeping"
    } else {
        ""
    };
    (Level::Warn, message, logger, None)
}

fn info(world: &World, s: usize, i: usize, rng: &mut Rng) -> Template {
    let ms = world.latency_ms(s, i) * rng.uniform(0.25, 0.9);
    let id = rng.int(100_000, 999_999);
    let svc = &world.services[s];
    let (message, logger) = match svc.role {
        Role::Frontend => (
            match rng.below(4) {
                0 => format!("GET /product/{} 200 {ms:.0}ms", id % 10_000),
                1 => format!("GET / 200 {ms:.0}ms"),
                2 => format!("POST /api/cart 200 {ms:.0}ms"),
                _ => format!("GET /api/recommendations 200 {ms:.0}ms"),
            },
            "",
        ),
        Role::Checkout => match rng.below(3) {
            0 => (
                format!(
                    "order {id} placed for user u{}: {} items, total {:.2} USD",
                    id % 7919,
                    rng.int(1, 6),
                    rng.uniform(9.0, 400.0)
                ),
                "c.s.checkout.CheckoutService",
            ),
            1 => (
                format!(
                    "cart {} priced: {} items, discount {}%",
                    rng.int(10_000, 99_999),
                    rng.int(1, 6),
                    rng.int(0, 20)
                ),
                "c.s.checkout.pricing.PriceCalculator",
            ),
            _ => (
                format!("reserving inventory for order {id}"),
                "c.s.checkout.CheckoutService",
            ),
        },
        Role::Payments => (
            if rng.chance(0.9) {
                format!(
                    "charge {id} authorized: amount {:.2} USD via payment-gateway",
                    rng.uniform(9.0, 400.0)
                )
            } else {
                format!("refund {id} settled")
            },
            "",
        ),
        Role::Inventory => (
            if rng.chance(0.7) {
                format!(
                    "reserved {} units of sku SKU-{} for order {id}",
                    rng.int(1, 4),
                    id % 5000
                )
            } else {
                format!("stock level for sku SKU-{} is {}", id % 5000, rng.int(0, 500))
            },
            "",
        ),
        Role::Catalog => (
            if rng.chance(0.5) {
                format!(
                    "served product list page {} ({} items) in {ms:.0}ms",
                    rng.int(1, 40),
                    rng.int(10, 48)
                )
            } else {
                format!("cache hit for product {}", id % 10_000)
            },
            "",
        ),
        Role::Recommendations => (
            format!(
                "computed {} recommendations for user u{} in {ms:.0}ms",
                rng.int(4, 12),
                id % 7919
            ),
            "",
        ),
        Role::Db => (
            match rng.below(3) {
                0 => format!("duration: {ms:.3} ms  statement: SELECT * FROM products WHERE id = $1"),
                1 => {
                    format!("duration: {ms:.3} ms  statement: UPDATE stock SET qty = qty - $1 WHERE sku = $2")
                }
                _ => format!("checkpoint complete: wrote {} buffers", rng.int(50, 900)),
            },
            "",
        ),
        Role::SessionCache => (
            match rng.below(5) {
                0 | 1 => format!("GET session:{} hit", rng.hex(8)),
                2 | 3 => format!("SET session:{} ttl=1800", rng.hex(8)),
                _ => {
                    let g = world.effects[s].gc_level[i];
                    format!(
                        "eviction run freed {} keys in {:.0}ms",
                        ((1.0 - g) * rng.int(200, 600) as f64) as u64,
                        ms
                    )
                }
            },
            "",
        ),
        Role::Extra => (
            if rng.chance(0.6) {
                format!("handled {}/Handle in {ms:.0}ms", svc.name)
            } else {
                format!("processed batch of {} items", rng.int(1, 500))
            },
            "",
        ),
    };
    (Level::Info, message, logger, None)
}

/// Lines tied to story moments: pod starts on deploys, the flag flip, the OOM kill.
fn one_offs(world: &World, story: &Story, rng: &mut Rng, recs: &mut Vec<Rec>) {
    let base = world.start_secs * 1_000_000_000;
    let mut seq = recs.len() as u32;
    let mut push = |recs: &mut Vec<Rec>,
                    at_ms: i64,
                    service: usize,
                    level: Level,
                    message: String,
                    logger: &'static str,
                    source: Option<&'static str>| {
        recs.push(Rec {
            ts_ns: base + at_ms * 1_000_000,
            seq,
            service,
            level,
            message,
            logger,
            stack: None,
            source,
        });
        seq += 1;
    };
    if let Some(deploy) = story.deploy_secs {
        let svc = &world.services[story.fault];
        for pod in 0..3i64 {
            let t = (deploy + 25 * pod) * 1000 + rng.int(0, 900) as i64;
            let boot = rng.int(7000, 9900) as i64;
            // The replica's pod name: the service's pod name with its last letter varied.
            let pod_name = format!("{}{pod}", &svc.pod[..svc.pod.len().saturating_sub(1)]);
            push(
                recs,
                t,
                story.fault,
                Level::Info,
                format!(
                    "Starting CheckoutApplication v{} using Java 17.0.9 with PID 1 on {pod_name}",
                    svc.version
                ),
                "c.s.checkout.CheckoutApplication",
                None,
            );
            push(
                recs,
                t + boot - 600,
                story.fault,
                Level::Info,
                "Tomcat started on port 8080 (http) with context path ''".into(),
                "o.s.b.w.embedded.tomcat.TomcatWebServer",
                None,
            );
            push(
                recs,
                t + boot,
                story.fault,
                Level::Info,
                format!(
                    "Started CheckoutApplication in {:.3} seconds (process running for {:.3})",
                    boot as f64 / 1000.0,
                    boot as f64 / 1000.0 + 0.8
                ),
                "c.s.checkout.CheckoutApplication",
                None,
            );
            push(
                recs,
                t + boot + 15_000,
                story.fault,
                Level::Info,
                "Commencing graceful shutdown of previous replica. Waiting for active requests to complete"
                    .into(),
                "o.s.b.w.embedded.tomcat.GracefulShutdown",
                None,
            );
        }
    }
    let (at, s) = story.benign_deploy;
    for pod in 0..2i64 {
        let t = (at + 30 * pod) * 1000 + rng.int(0, 900) as i64;
        push(
            recs,
            t,
            s,
            Level::Info,
            format!(
                "starting {} {}",
                world.services[s].name, world.services[s].version
            ),
            "",
            None,
        );
        push(
            recs,
            t + rng.int(1500, 4000) as i64,
            s,
            Level::Info,
            format!("loaded model popular-items-2024w19 in {}ms", rng.int(800, 2400)),
            "",
            None,
        );
    }
    let (at, s) = story.benign_flag;
    push(
        recs,
        at * 1000 + 200,
        s,
        Level::Info,
        "feature flag new-homepage-banner updated: enabled=true rollout=10%".into(),
        "",
        None,
    );
    for e in &story.events {
        if e.kind == "config" && e.service == PAYMENTS {
            push(
                recs,
                e.at_secs * 1000 + 500,
                e.service,
                Level::Info,
                format!(
                    "reloaded TLS client certificate for payment-gateway (serial {})",
                    rng.hex(16)
                ),
                "",
                None,
            );
        }
    }
    if let Some(leak) = story.leak_secs {
        // Innocuous-looking at the time: the first clients that keep their sessions pinned.
        push(
            recs,
            leak * 1000 + 300,
            SESSION_CACHE,
            Level::Info,
            "client mobile-app/5.3.0 enabled session keepalive (keys pinned while connected)".into(),
            "",
            None,
        );
    }
    if let Some(oom) = story.oom_secs {
        let svc = &world.services[SESSION_CACHE];
        let t = oom * 1000;
        push(
            recs,
            t,
            SESSION_CACHE,
            Level::Error,
            format!(
                "container session-cache in pod {} OOMKilled: memory limit {:.0}Mi exceeded (exit code 137)",
                svc.pod, svc.memory_limit_mb
            ),
            "",
            Some("kubelet"),
        );
        let up = (oom + story.restart_secs) * 1000;
        push(
            recs,
            up - 4000,
            SESSION_CACHE,
            Level::Info,
            format!(
                "session-cache {} starting (maxmemory {:.0}mb)",
                svc.version, svc.memory_limit_mb
            ),
            "",
            None,
        );
        push(
            recs,
            up - 1500,
            SESSION_CACHE,
            Level::Info,
            format!("loaded 0 keys from snapshot in {}ms", rng.int(5, 40)),
            "",
            None,
        );
        push(
            recs,
            up,
            SESSION_CACHE,
            Level::Info,
            "ready to accept connections on port 6379".into(),
            "",
            None,
        );
    }
}

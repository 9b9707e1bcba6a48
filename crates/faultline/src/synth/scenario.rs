//! The stories: when things happen in each scenario, which effects they inject into the
//! [`World`], which change events they leave behind, and the answer ([`Truth`]).

use super::rng::Rng;
use super::world::{
    ramp, World, CATALOG, CHECKOUT, DB, FRONTEND, INVENTORY, PAYMENTS, RECOMMENDATIONS, SESSION_CACHE,
};
use super::{Scenario, Truth};

/// A change event to emit (offsets in seconds from the start of the range).
#[derive(Debug, Clone)]
pub(crate) struct EventSpec {
    pub at_secs: i64,
    pub service: usize,
    pub kind: &'static str,
    pub version: Option<String>,
    pub previous_version: Option<String>,
    pub description: String,
}

/// The timeline of one generated incident.
#[derive(Debug, Clone)]
pub(crate) struct Story {
    pub scenario: Scenario,
    /// The faulty service.
    pub fault: usize,
    /// When the user-visible symptoms start (offset seconds): incident.json's onset.
    pub onset_secs: i64,
    /// The faulty deploy (DeployRegression).
    pub deploy_secs: Option<i64>,
    /// When memory starts leaking (MemoryLeak).
    pub leak_secs: Option<i64>,
    /// When the leaking container is OOM-killed (MemoryLeak).
    pub oom_secs: Option<i64>,
    /// How long a restart takes, seconds.
    pub restart_secs: i64,
    /// The benign deploy long before onset: (offset, service).
    pub benign_deploy: (i64, usize),
    /// The benign feature-flag change: (offset, service).
    pub benign_flag: (i64, usize),
    pub events: Vec<EventSpec>,
    pub truth: Truth,
    pub title: String,
}

/// Injects the scenario into `world` (then propagates) and returns its story.
pub(crate) fn apply(scenario: Scenario, world: &mut World, duration_secs: i64, rng: &mut Rng) -> Story {
    let d = duration_secs as f64;
    let at = |frac: f64| (d * frac).round() as i64;
    let benign_deploy = (at(rng.uniform(0.1, 0.16)), RECOMMENDATIONS);
    let benign_flag = (at(rng.uniform(0.3, 0.4)), FRONTEND);
    let mut story = match scenario {
        Scenario::DeployRegression => deploy_regression(world, d, rng, benign_deploy, benign_flag),
        Scenario::MemoryLeak => memory_leak(world, d, rng, benign_deploy, benign_flag),
    };
    benign_noise(world, &mut story, d, rng);
    story.events.retain(|e| (0..duration_secs).contains(&e.at_secs));
    story.events.sort_by_key(|e| (e.at_secs, e.service));
    world.propagate();
    story
}

fn deploy_regression(
    world: &mut World,
    d: f64,
    rng: &mut Rng,
    benign_deploy: (i64, usize),
    benign_flag: (i64, usize),
) -> Story {
    let onset = (d * rng.uniform(0.58, 0.64)).round() as i64;
    let deploy = onset - 150 + rng.int(0, 20) as i64;
    let old = world.services[CHECKOUT].version.clone();
    world.services[CHECKOUT].version = "2.4.1".into();
    let base_mem = world.services[CHECKOUT].base_memory_mb;
    let err_peak = rng.uniform(0.36, 0.44);
    for i in 0..world.steps {
        let t = world.offset(i) as f64;
        let r = ramp(t, onset as f64, 120.0);
        let fx = &mut world.effects[CHECKOUT];
        fx.error_own[i] = err_peak * r;
        fx.latency_mult[i] = 1.0 + 2.1 * r;
        fx.cpu_add[i] = 0.12 * r;
        if t >= deploy as f64 {
            // Fresh pods start small and warm up over ten minutes.
            fx.memory_add_mb[i] = -0.35 * base_mem * (1.0 - ramp(t, deploy as f64, 600.0));
        }
        // The exception is thrown while pricing, after the session lookup but before
        // inventory and payments are called: their traffic drops.
        let drop = err_peak * r;
        world.effects[PAYMENTS].rps_mult[i] = 1.0 - drop;
        world.effects[INVENTORY].rps_mult[i] = 1.0 - 0.85 * drop;
        world.effects[PAYMENTS].cpu_add[i] = -0.06 * r;
        // Users retry failed checkouts.
        world.effects[CHECKOUT].rps_mult[i] = 1.0 + 0.15 * r;
    }
    Story {
        scenario: Scenario::DeployRegression,
        fault: CHECKOUT,
        onset_secs: onset,
        deploy_secs: Some(deploy),
        leak_secs: None,
        oom_secs: None,
        restart_secs: 30,
        benign_deploy,
        benign_flag,
        events: vec![EventSpec {
            at_secs: deploy,
            service: CHECKOUT,
            kind: "deploy",
            version: Some("2.4.1".into()),
            previous_version: Some(old.clone()),
            description: format!(
                "rolling update of checkout {old} -> 2.4.1 (image registry.shop.internal/checkout:2.4.1, 3 replicas)"
            ),
        }],
        truth: Truth {
            service: "checkout".into(),
            cause_kind: "change".into(),
            description: "checkout deploy 2.4.1 introduced a NullPointerException in PriceCalculator.apply: \
                          checkout returns 500 for ~40% of orders and frontend inherits the errors"
                .into(),
        },
        title: "Elevated 5xx rate and latency on frontend".into(),
    }
}

fn memory_leak(
    world: &mut World,
    d: f64,
    rng: &mut Rng,
    benign_deploy: (i64, usize),
    benign_flag: (i64, usize),
) -> Story {
    let leak = (d * rng.uniform(0.18, 0.22)).round() as i64;
    let oom = (d * rng.uniform(0.79, 0.82)).round() as i64;
    let restart = 30;
    let span = (oom - leak).max(1) as f64;
    // Callers start timing out when the leak reaches 80 % of its way to the limit.
    let onset = leak + (0.8 * span).round() as i64;
    let svc = &world.services[SESSION_CACHE];
    let (base_mem, limit) = (svc.base_memory_mb, svc.memory_limit_mb);
    for i in 0..world.steps {
        let t = world.offset(i) as f64;
        let (level, down) = if t < leak as f64 {
            (0.0, false)
        } else if t < oom as f64 {
            ((t - leak as f64) / span, false)
        } else if t < (oom + restart) as f64 {
            (0.0, true)
        } else {
            // The leak is in the code: it starts again after the restart.
            ((t - (oom + restart) as f64) / span, false)
        };
        let fx = &mut world.effects[SESSION_CACHE];
        fx.memory_add_mb[i] = if down {
            -0.6 * base_mem
        } else {
            (0.975 * limit - base_mem) * level
        };
        fx.gc_level[i] = ((level - 0.4) / 0.6).clamp(0.0, 1.0);
        fx.cpu_add[i] = 0.55 * fx.gc_level[i] * fx.gc_level[i];
        let late = (level - 0.7).max(0.0);
        fx.latency_mult[i] = 1.0 + 400.0 * late * late;
        fx.timeout_frac[i] = if down { 0.9 } else { (level - 0.8).clamp(0.0, 0.2) };
        fx.error_own[i] = 0.03 * ((level - 0.95) / 0.05).clamp(0.0, 1.0);
        fx.down[i] = down;
        if down {
            fx.rps_mult[i] = 0.1;
        }
    }
    // The on-call's autoscaler reacts to checkout's latency a few minutes after onset.
    let scale_at = onset + 240 + rng.int(0, 30) as i64;
    Story {
        scenario: Scenario::MemoryLeak,
        fault: SESSION_CACHE,
        onset_secs: onset,
        deploy_secs: None,
        leak_secs: Some(leak),
        oom_secs: Some(oom),
        restart_secs: restart,
        benign_deploy,
        benign_flag,
        events: vec![
            EventSpec {
                at_secs: oom,
                service: SESSION_CACHE,
                kind: "restart",
                version: None,
                previous_version: None,
                description: format!(
                    "container session-cache OOMKilled (exit code 137, limit {limit:.0}Mi); restarted by kubelet"
                ),
            },
            EventSpec {
                at_secs: scale_at,
                service: CHECKOUT,
                kind: "scale",
                version: None,
                previous_version: None,
                description: "horizontal pod autoscaler scaled checkout from 3 to 5 replicas (p95 latency)".into(),
            },
        ],
        truth: Truth {
            service: "session-cache".into(),
            cause_kind: "resource".into(),
            description: "session-cache leaks memory (sessions pinned, evictions ineffective): GC pauses make \
                          it slow until callers time out, then it is OOM-killed and restarted"
                .into(),
        },
        title: "Request timeouts on frontend and checkout".into(),
    }
}

/// Unrelated, benign activity shared by all scenarios: an early deploy, a feature flag, a
/// config rotation, a transient latency blip and a background batch job.
fn benign_noise(world: &mut World, story: &mut Story, d: f64, rng: &mut Rng) {
    let (deploy_at, dsvc) = story.benign_deploy;
    let old = world.services[dsvc].version.clone();
    let new = "1.8.0".to_string();
    world.services[dsvc].version = new.clone();
    let base_mem = world.services[dsvc].base_memory_mb;
    let blip_at = d * rng.uniform(0.24, 0.28);
    let blip_len = 180.0;
    for i in 0..world.steps {
        let t = world.offset(i) as f64;
        if t >= deploy_at as f64 {
            let fx = &mut world.effects[dsvc];
            fx.memory_add_mb[i] += -0.4 * base_mem * (1.0 - ramp(t, deploy_at as f64, 480.0));
            let warm = 1.0 - ramp(t, deploy_at as f64 + 30.0, 90.0);
            fx.cpu_add[i] += 0.25 * warm;
        }
        // A catalog cache refresh: latency up for three minutes, no errors.
        if t >= blip_at && t < blip_at + blip_len {
            world.effects[CATALOG].latency_mult[i] *= 2.2;
        }
        // The nightly-style vacuum runs on db the whole time: slightly higher CPU.
        world.effects[DB].cpu_add[i] += 0.05;
    }
    story.events.push(EventSpec {
        at_secs: deploy_at,
        service: dsvc,
        kind: "deploy",
        version: Some(new.clone()),
        previous_version: Some(old.clone()),
        description: format!(
            "rolling update of {} {old} -> {new} (image registry.shop.internal/{}:{new}, 2 replicas)",
            world.services[dsvc].name, world.services[dsvc].name
        ),
    });
    let (flag_at, fsvc) = story.benign_flag;
    story.events.push(EventSpec {
        at_secs: flag_at,
        service: fsvc,
        kind: "feature_flag",
        version: None,
        previous_version: None,
        description: "feature flag new-homepage-banner enabled for 10% of users".into(),
    });
    story.events.push(EventSpec {
        at_secs: (d * rng.uniform(0.45, 0.5)).round() as i64,
        service: PAYMENTS,
        kind: "config",
        version: None,
        previous_version: None,
        description: "rotated TLS client certificate for payment-gateway (no code change)".into(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(steps: usize) -> (World, Rng) {
        let mut rng = Rng::new(1, 0);
        let w = World::build(8, 0, 15, steps, &mut rng);
        (w, rng)
    }

    #[test]
    fn deploy_precedes_onset_and_frontend_inherits_errors() {
        let (mut w, mut rng) = world(240);
        let s = apply(Scenario::DeployRegression, &mut w, 3600, &mut rng);
        let deploy = s.deploy_secs.unwrap_or_default();
        assert!(deploy < s.onset_secs && s.onset_secs - deploy <= 150);
        let late = w.steps - 1;
        assert!(w.error_rate(CHECKOUT, late) > 0.3);
        assert!(w.error_rate(FRONTEND, late) > 0.05);
        assert!(w.error_rate(PAYMENTS, late) < 0.01);
        assert!(w.rps(PAYMENTS, late) < 0.7 * w.services[PAYMENTS].base_rps);
        assert!(w.error_rate(FRONTEND, 10) < 0.01);
    }

    #[test]
    fn leak_starts_before_onset_and_ooms_after() {
        let (mut w, mut rng) = world(240);
        let s = apply(Scenario::MemoryLeak, &mut w, 3600, &mut rng);
        let (leak, oom) = (s.leak_secs.unwrap_or_default(), s.oom_secs.unwrap_or_default());
        assert!(leak < s.onset_secs && s.onset_secs < oom);
        let before = w.step_at(s.onset_secs as f64 - 120.0);
        let after = w.step_at(s.onset_secs as f64 + 120.0);
        assert!(w.error_rate(FRONTEND, before) < 0.01);
        assert!(w.error_rate(FRONTEND, after) > 0.05);
        let peak = w.step_at(oom as f64 - 15.0);
        let mem = w.services[SESSION_CACHE].base_memory_mb + w.effects[SESSION_CACHE].memory_add_mb[peak];
        assert!(mem > 0.9 * w.services[SESSION_CACHE].memory_limit_mb);
    }
}

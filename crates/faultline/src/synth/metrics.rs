//! `metrics.csv`: one row per (timestamp, service, metric), time-major like a scrape dump,
//! timestamps in epoch seconds. Baselines are flat (no daily cycle) with AR(1) wander, white
//! noise, binomial sampling noise on error rates and rare benign spikes on latency.

use std::fmt::Write as _;

use super::rng::Rng;
use super::world::World;

/// The metrics every service has, in order; more come from [`EXTRA_METRICS`], then
/// `custom_metric_<k>`.
pub(crate) const REQUIRED_METRICS: [&str; 5] = ["latency_p95_ms", "error_rate", "rps", "cpu", "memory_mb"];
const EXTRA_METRICS: [&str; 5] = [
    "latency_p50_ms",
    "gc_pause_ms",
    "threads",
    "open_connections",
    "disk_used_pct",
];

/// Names of the `count` metrics per service (at least the required five).
pub(crate) fn metric_names(count: usize) -> Vec<String> {
    let mut names: Vec<String> = REQUIRED_METRICS.iter().map(|s| s.to_string()).collect();
    for k in REQUIRED_METRICS.len()..count.max(REQUIRED_METRICS.len()) {
        match EXTRA_METRICS.get(k - REQUIRED_METRICS.len()) {
            Some(name) => names.push((*name).to_string()),
            None => names.push(format!(
                "custom_metric_{}",
                k - REQUIRED_METRICS.len() - EXTRA_METRICS.len() + 1
            )),
        }
    }
    names
}

/// A mean-reverting AR(1) wander: `x ← φ x + σ ε`.
struct Ar1 {
    x: f64,
    phi: f64,
    sigma: f64,
}

impl Ar1 {
    fn new(phi: f64, sigma: f64, rng: &mut Rng) -> Self {
        let sd = sigma / (1.0 - phi * phi).sqrt();
        Self {
            x: sd * rng.normal(),
            phi,
            sigma,
        }
    }
    fn next(&mut self, rng: &mut Rng) -> f64 {
        self.x = self.phi * self.x + self.sigma * rng.normal();
        self.x
    }
}

/// Generates the values of every (service, metric) series, then writes them time-major.
pub(crate) fn render(world: &World, metrics_per_service: usize, rng: &mut Rng) -> String {
    let names = metric_names(metrics_per_service);
    let n = world.steps;
    let mut series: Vec<(usize, usize, Vec<f64>)> = Vec::with_capacity(world.services.len() * names.len());
    for s in 0..world.services.len() {
        let values = service_series(world, s, names.len(), rng);
        for (m, v) in values.into_iter().enumerate() {
            series.push((s, m, v));
        }
    }
    let mut out = String::with_capacity(series.len() * n * 40 + 64);
    out.push_str("timestamp,service,metric,value\n");
    for i in 0..n {
        let ts = world.start_secs + world.offset(i);
        for (s, m, values) in &series {
            let decimals = match *m {
                1 => 5,
                3 => 3,
                _ => 1,
            };
            let _ = writeln!(
                out,
                "{ts},{},{},{:.*}",
                world.services[*s].name, names[*m], decimals, values[i]
            );
        }
    }
    out
}

/// The `count` metric series of service `s`, in [`metric_names`] order.
fn service_series(world: &World, s: usize, count: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
    let svc = &world.services[s];
    let fx = &world.effects[s];
    let n = world.steps;
    let mut out: Vec<Vec<f64>> = (0..count).map(|_| Vec::with_capacity(n)).collect();
    let mut rps_ar = Ar1::new(0.9, 0.015, rng);
    let mut lat_ar = Ar1::new(0.85, 0.025, rng);
    let mut cpu_ar = Ar1::new(0.9, 0.01, rng);
    let mut mem_ar = Ar1::new(0.97, 0.004 * svc.base_memory_mb, rng);
    let mut extra_ar: Vec<Ar1> = (5..count).map(|_| Ar1::new(0.95, 0.02, rng)).collect();
    let threads = 40.0 + rng.below(160) as f64;
    let disk = rng.uniform(35.0, 70.0);
    let custom_base: Vec<f64> = (5..count).map(|_| rng.uniform(10.0, 1000.0)).collect();
    for i in 0..n {
        let rps = (world.rps(s, i) * (1.0 + rps_ar.next(rng) + 0.02 * rng.normal())).max(0.0);
        let spike = if rng.chance(0.004) {
            rng.uniform(1.8, 3.0)
        } else {
            1.0
        };
        let lat_clean = world.latency_ms(s, i) * (1.0 + lat_ar.next(rng) + 0.06 * rng.normal());
        let latency = (lat_clean * spike).max(0.1 * svc.base_latency_ms);
        let p = world.error_rate(s, i);
        let requests = (rps * world.step_secs as f64).max(1.0);
        let err = (p + rng.normal() * (p * (1.0 - p) / requests).sqrt()).clamp(0.0, 1.0);
        let load = if svc.base_rps > 0.0 {
            rps / svc.base_rps
        } else {
            1.0
        };
        let cpu =
            (svc.base_cpu * (0.7 + 0.3 * load) + fx.cpu_add[i] + cpu_ar.next(rng) + 0.01 * rng.normal())
                .clamp(0.005, 1.0);
        let memory = (svc.base_memory_mb + fx.memory_add_mb[i] + mem_ar.next(rng)).max(16.0);
        out[0].push(latency);
        out[1].push(err);
        out[2].push(rps);
        out[3].push(cpu);
        out[4].push(memory);
        for k in 5..count {
            let wander = extra_ar[k - 5].next(rng);
            let v = match k {
                5 => lat_clean * rng.uniform(0.4, 0.5),
                6 => (4.0 + 260.0 * fx.gc_level[i] * fx.gc_level[i]) * (1.0 + 0.1 * rng.normal()).max(0.2),
                7 => (threads * (1.0 + 0.2 * wander)).round(),
                8 => (rps * 0.3 * (1.0 + wander)).round().max(0.0),
                9 => disk + 0.5 * i as f64 / n as f64 + 0.05 * rng.normal(),
                _ => custom_base[k - 5] * (1.0 + wander + 0.03 * rng.normal()),
            };
            out[k].push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_cover_required_then_extras() {
        assert_eq!(metric_names(0).len(), 5);
        let names = metric_names(12);
        assert_eq!(names.len(), 12);
        assert_eq!(names[5], "latency_p50_ms");
        assert_eq!(names[11], "custom_metric_2");
    }
}

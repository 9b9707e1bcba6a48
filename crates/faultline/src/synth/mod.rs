//! Seeded synthetic incidents: complete, realistic incident bundles (see the bundle format in
//! `docs/` / DESIGN §6) with a known answer, for tests, benchmarks and the bundled examples.
//!
//! [`generate`] simulates a small shop (`frontend → checkout → payments`, `checkout →
//! inventory`, `frontend → catalog → db`, a `session-cache`, …) — or, at scale, up to thousands
//! of services in a layered random DAG around it — and injects one [`Scenario`]. Every signal
//! tells the same story: metrics (noisy flat baselines, AR(1) wander, rare benign spikes),
//! logs (routine templates, habitual unrelated warnings, the fault's new templates, callers'
//! upstream errors), traces, change events (including a benign deploy long before onset and
//! other distractors), alerts and the topology. The answer is returned as [`Truth`] and never
//! written into the bundle.
//!
//! Output is a pure function of ([`Scenario`], [`SynthConfig`]): the PRNG is seeded
//! (xoshiro256**) and uses no platform maths, so files are byte-identical everywhere.
//!
//! ```
//! use faultline::synth::{generate, Scenario, SynthConfig};
//!
//! let bundle = generate(Scenario::DeployRegression, &SynthConfig::default());
//! assert_eq!(bundle.truth.service, "checkout");
//! assert!(bundle.files["metrics.csv"].starts_with("timestamp,service,metric,value\n"));
//! assert!(!bundle.files["incident.json"].contains("checkout"));
//! # let dir = std::env::temp_dir().join(format!("faultline-synth-doc-{}", std::process::id()));
//! bundle.write_to(&dir)?;
//! assert!(dir.join("logs/checkout.log").is_file());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Component, Path};

use faultline_core::Timestamp;
use serde::{Deserialize, Serialize};

mod events;
mod logs;
mod metrics;
mod rng;
mod scenario;
mod traces;
mod world;

#[cfg(test)]
mod checks;

/// A generated bundle: file name (relative, e.g. `"metrics.csv"`, `"logs/checkout.log"`) →
/// contents, plus the injected answer, which is kept out of the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// Relative file path → file contents.
    pub files: BTreeMap<String, String>,
    /// The injected answer.
    pub truth: Truth,
}

/// The injected root cause (never part of the bundle's files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    /// The faulty service.
    pub service: String,
    /// `"change"`, `"resource"` or `"code"`.
    pub cause_kind: String,
    /// One sentence describing the fault.
    pub description: String,
}

/// The incident stories the generator can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// `checkout` deploys 2.4.1 a couple of minutes before onset; a NullPointerException in
    /// its pricing code makes ~40 % of orders fail. `frontend` inherits the 5xx; `payments`
    /// and `inventory` stay healthy but see less traffic. Answer: checkout, change.
    DeployRegression,
    /// `session-cache` leaks memory from well before onset: GC pressure and eviction warnings
    /// grow, latency rises late, callers (`frontend`, `checkout`) start timing out (the onset),
    /// then the container is OOM-killed and restarted. No deploy. Answer: session-cache, resource.
    MemoryLeak,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 2] = [Scenario::DeployRegression, Scenario::MemoryLeak];

    /// The kebab-case name (`"deploy-regression"`, `"memory-leak"`).
    pub fn name(self) -> &'static str {
        match self {
            Scenario::DeployRegression => "deploy-regression",
            Scenario::MemoryLeak => "memory-leak",
        }
    }

    /// Seconds from [`SynthConfig::start`] to the start of this scenario's range: one day per
    /// position in [`Scenario::ALL`] (deploy-regression 0, memory-leak 86,400). Bundles of
    /// different scenarios generated with the same settings therefore never overlap in time,
    /// so a store holding several of them (the server preloads every example) keeps each
    /// incident's window to its own signals. Whole days keep every time of day unchanged.
    pub fn start_offset_secs(self) -> i64 {
        match self {
            Scenario::DeployRegression => 0,
            Scenario::MemoryLeak => 86_400,
        }
    }
}

/// The bundled examples: directory name under `examples/incidents/` → scenario, generated
/// with [`SynthConfig::default`].
pub const EXAMPLES: [(&str, Scenario); 2] = [
    ("checkout-deploy", Scenario::DeployRegression),
    ("cache-memory-leak", Scenario::MemoryLeak),
];

/// Generator settings. Out-of-range values are clamped rather than rejected (see each field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SynthConfig {
    /// PRNG seed: same seed and settings ⇒ byte-identical bundle.
    pub seed: u64,
    /// Number of services, including the shop's 8 core services (smaller values mean 8).
    pub services: usize,
    /// Length of the generated range in seconds (at least 600).
    pub duration_secs: i64,
    /// Metric sampling step in seconds (at least 1).
    pub step_secs: i64,
    /// Metrics per service (at least the 5 required: latency_p95_ms, error_rate, rps, cpu,
    /// memory_mb; then latency_p50_ms, gc_pause_ms, threads, open_connections, disk_used_pct,
    /// `custom_metric_<k>`).
    pub metrics_per_service: usize,
    /// Sampled log records (a few story lines are added; stack-trace lines are not counted).
    /// Traces are derived from it: `log_lines / 8` candidate traces (between 20 and 20000), of
    /// which a tail sampler keeps those with errors and a quarter of the others.
    pub log_lines: usize,
    /// Start of the range (truncated to whole seconds), shifted per scenario by
    /// [`Scenario::start_offset_secs`].
    pub start: Timestamp,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            services: 8,
            duration_secs: 3600,
            step_secs: 15,
            metrics_per_service: 5,
            log_lines: 1800,
            start: Timestamp::from_secs(1_715_680_800), // 2024-05-14T10:00:00Z
        }
    }
}

impl SynthConfig {
    /// The settings with every field clamped into its documented range.
    fn normalized(&self) -> Self {
        let step_secs = self.step_secs.clamp(1, 86_400);
        Self {
            seed: self.seed,
            services: self.services.max(world::CORE),
            duration_secs: self.duration_secs.max(600).max(10 * step_secs),
            step_secs,
            metrics_per_service: self.metrics_per_service.max(metrics::REQUIRED_METRICS.len()),
            log_lines: self.log_lines,
            start: Timestamp::from_secs(self.start.as_secs()),
        }
    }
}

impl Bundle {
    /// Writes every file under `dir` (creating directories as needed). File names must be
    /// relative paths without `..`; others are refused with `InvalidInput`.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        for (name, contents) in &self.files {
            let rel = Path::new(name);
            if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("bundle file name {name:?} is not a plain relative path"),
                ));
            }
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, contents)?;
        }
        Ok(())
    }

    /// Total size of the files in bytes.
    pub fn total_bytes(&self) -> usize {
        self.files.values().map(String::len).sum()
    }
}

/// Generates the bundle of `scenario` under `cfg`.
pub fn generate(scenario: Scenario, cfg: &SynthConfig) -> Bundle {
    let mut cfg = cfg.normalized();
    cfg.start = Timestamp::from_secs(cfg.start.as_secs().saturating_add(scenario.start_offset_secs()));
    let start_secs = cfg.start.as_secs();
    let steps = ((cfg.duration_secs + cfg.step_secs - 1) / cfg.step_secs) as usize;
    // Independent streams: changing one output's volume never shifts another's numbers.
    let salt = (scenario as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let stream = |k: u64| rng::Rng::new(cfg.seed ^ salt, k);
    let mut w = world::World::build(cfg.services, start_secs, cfg.step_secs, steps, &mut stream(1));
    let story = scenario::apply(scenario, &mut w, cfg.duration_secs, &mut stream(2));

    let mut files = BTreeMap::new();
    files.insert("incident.json".to_string(), incident_json(&cfg, scenario, &story));
    files.insert("topology.csv".to_string(), topology_csv(&w));
    files.insert(
        "metrics.csv".to_string(),
        metrics::render(&w, cfg.metrics_per_service, &mut stream(3)),
    );
    let logs = logs::render(&w, &story, cfg.log_lines, &mut stream(4));
    files.insert("logs.jsonl".to_string(), logs.jsonl);
    files.insert(logs.raw_path, logs.raw);
    let fault_error = match scenario {
        Scenario::DeployRegression => "java.lang.NullPointerException",
        Scenario::MemoryLeak => "oom_command_not_allowed",
    };
    let n_traces = (cfg.log_lines / 8).clamp(20, 20_000);
    files.insert(
        "traces.jsonl".to_string(),
        traces::render(&w, story.fault, fault_error, n_traces, &mut stream(5)),
    );
    files.insert("events.jsonl".to_string(), events::render_events(&w, &story));
    files.insert(
        "alerts.jsonl".to_string(),
        events::render_alerts(&w, cfg.duration_secs),
    );
    Bundle {
        files,
        truth: story.truth,
    }
}

#[derive(Serialize)]
struct IncidentJson<'a> {
    id: String,
    title: &'a str,
    onset: String,
    window: WindowJson,
    environment: &'static str,
}

#[derive(Serialize)]
struct WindowJson {
    start: String,
    end: String,
}

fn incident_json(cfg: &SynthConfig, scenario: Scenario, story: &scenario::Story) -> String {
    let start = cfg.start.as_secs();
    let ts = |secs: i64| Timestamp::from_secs(secs).to_string();
    let mut sm = cfg.seed ^ (scenario as u64 + 1).wrapping_mul(0x9E37_79B9);
    let id = format!("INC-{}", 1000 + rng::splitmix64(&mut sm) % 9000);
    let doc = IncidentJson {
        id,
        title: &story.title,
        onset: ts(start + story.onset_secs),
        window: WindowJson {
            start: ts(start),
            end: ts(start + cfg.duration_secs),
        },
        environment: "production",
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn topology_csv(w: &world::World) -> String {
    let mut out = String::from("source,target,kind\n");
    for e in &w.edges {
        let _ = writeln!(
            out,
            "{},{},{}",
            w.services[e.caller].name, w.services[e.callee].name, e.kind
        );
    }
    out
}

/// Appends `ns` (nanoseconds since the epoch) as RFC 3339 UTC with exactly `digits` (0–9)
/// fractional digits. Hot (once per log line and span), hence the hand-rolled digits.
pub(crate) fn fmt_ts(out: &mut String, ns: i64, digits: usize) {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    if !(0..=9999).contains(&y) {
        let whole = Timestamp::from_secs(secs).to_string();
        out.push_str(whole.trim_end_matches('Z'));
    } else {
        push_padded(out, y as u64, 4);
        out.push('-');
        push_padded(out, m as u64, 2);
        out.push('-');
        push_padded(out, d as u64, 2);
        out.push('T');
        push_padded(out, (sod / 3600) as u64, 2);
        out.push(':');
        push_padded(out, (sod / 60 % 60) as u64, 2);
        out.push(':');
        push_padded(out, (sod % 60) as u64, 2);
    }
    if digits > 0 {
        let digits = digits.min(9);
        out.push('.');
        push_padded(out, (frac / 10i64.pow(9 - digits as u32)) as u64, digits);
    }
    out.push('Z');
}

fn push_padded(out: &mut String, v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    let mut v = v;
    while v > 0 && i > 0 {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let start = (buf.len() - width.min(buf.len())).min(i);
    for &b in &buf[start..] {
        out.push(b as char);
    }
}

/// (year, month, day) of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SynthConfig {
        SynthConfig {
            log_lines: 800,
            ..SynthConfig::default()
        }
    }

    #[test]
    fn same_seed_gives_identical_files_and_different_seed_differs() {
        for scenario in Scenario::ALL {
            let a = generate(scenario, &small());
            let b = generate(scenario, &small());
            assert_eq!(a, b);
            let c = generate(scenario, &SynthConfig { seed: 8, ..small() });
            assert_eq!(
                a.files.keys().collect::<Vec<_>>(),
                c.files.keys().collect::<Vec<_>>()
            );
            for name in ["metrics.csv", "logs.jsonl", "traces.jsonl"] {
                assert_ne!(a.files[name], c.files[name], "{scenario:?} {name}");
            }
            assert_eq!(a.truth, c.truth);
        }
    }

    #[test]
    fn every_file_parses_as_its_format() {
        for scenario in Scenario::ALL {
            let b = generate(scenario, &SynthConfig::default());
            checks::check_bundle(&b);
        }
    }

    #[test]
    fn truth_is_not_in_incident_json() {
        for scenario in Scenario::ALL {
            let b = generate(scenario, &SynthConfig::default());
            let incident = &b.files["incident.json"];
            assert!(!incident.contains(&b.truth.service), "{incident}");
            assert!(!incident.contains(&b.truth.description));
            assert!(!incident.contains("2.4.1") && !incident.contains("leak") && !incident.contains("OOM"));
        }
    }

    #[test]
    fn default_bundles_stay_well_under_one_megabyte() {
        for scenario in Scenario::ALL {
            let b = generate(scenario, &SynthConfig::default());
            assert!(
                b.total_bytes() < 800_000,
                "{scenario:?}: {} bytes",
                b.total_bytes()
            );
            assert!(
                b.total_bytes() > 200_000,
                "{scenario:?}: {} bytes",
                b.total_bytes()
            );
        }
    }

    #[test]
    fn timestamps_format_with_fixed_fraction() {
        let mut s = String::new();
        fmt_ts(&mut s, 1_715_680_800_012_345_678, 3);
        assert_eq!(s, "2024-05-14T10:00:00.012Z");
        s.clear();
        fmt_ts(&mut s, 1_715_680_800_012_345_678, 0);
        assert_eq!(s, "2024-05-14T10:00:00Z");
        s.clear();
        fmt_ts(&mut s, 1_715_680_800_012_345_678, 6);
        assert_eq!(s, "2024-05-14T10:00:00.012345Z");
        // Agrees with the core formatter across leap days and centuries.
        for secs in [
            0i64,
            951_782_400,
            951_868_799,
            4_107_542_400,
            1_709_251_199,
            9_000_000_000,
        ] {
            s.clear();
            fmt_ts(&mut s, secs * 1_000_000_000, 0);
            assert_eq!(s, Timestamp::from_secs(secs).to_string());
        }
    }

    #[test]
    fn config_is_clamped_not_rejected() {
        let cfg = SynthConfig {
            services: 0,
            duration_secs: -5,
            step_secs: 0,
            metrics_per_service: 0,
            log_lines: 0,
            ..SynthConfig::default()
        };
        let b = generate(Scenario::MemoryLeak, &cfg);
        checks::check_bundle(&b);
    }

    #[test]
    fn write_to_creates_directories_and_refuses_escaping_names() {
        let dir = std::env::temp_dir().join(format!("faultline-synth-{}", std::process::id()));
        let b = generate(Scenario::DeployRegression, &small());
        b.write_to(&dir).expect("temp dir is writable");
        for (name, contents) in &b.files {
            let on_disk = std::fs::read_to_string(dir.join(name)).expect("file was written");
            assert_eq!(&on_disk, contents);
        }
        let mut bad = b.clone();
        bad.files.insert("../escape.txt".into(), String::new());
        assert!(bad.write_to(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn scale_mode_handles_a_thousand_services_and_many_log_lines() {
        let cfg = SynthConfig {
            services: 1000,
            duration_secs: 900,
            log_lines: 100_000,
            ..SynthConfig::default()
        };
        let t = std::time::Instant::now();
        let b = generate(Scenario::DeployRegression, &cfg);
        let elapsed = t.elapsed();
        // Generous: the test profile is barely optimised and the machine is shared.
        assert!(elapsed.as_secs_f64() < 20.0, "took {elapsed:?}");
        let topo_services: std::collections::BTreeSet<&str> = b.files["topology.csv"]
            .lines()
            .skip(1)
            .flat_map(|l| l.split(',').take(2))
            .collect();
        assert!(
            topo_services.len() > 900,
            "{} services in topology",
            topo_services.len()
        );
        let records = b.files["logs.jsonl"].lines().count()
            + b.files["logs/checkout.log"]
                .lines()
                .filter(|l| l.starts_with("20"))
                .count();
        assert!(records >= 100_000);
        checks::check_bundle(&b);
    }
}

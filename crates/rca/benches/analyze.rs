//! `analyze` on generated incidents (issue 8's speed targets, end to end < 300 ms for 20
//! services and < 5 s for 1000, of which the RCA stage is a part):
//! - 20 services × 1 h of 15 s metrics (10 series per service), 100k log lines already mined
//!   (templates and template signals given), 2,000 three-span traces;
//! - the same per service for 1000 services.
//!
//! Inputs come from a seeded generator: a layered call graph, noisy series with a level shift
//! on one service at the onset, log lines from a few dozen templates with an error burst on
//! the faulty service.
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use faultline_core::*;
use faultline_rca::{analyze, RcaConfig, RcaInput};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() % 1_000_000) as f64 / 1_000_000.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct Case {
    incident: Incident,
    signals: SignalSet,
    templates: Vec<LogTemplate>,
    template_signals: Vec<TemplateSignal>,
}

const HOUR_SECS: i64 = 3600;
const STEP_SECS: i64 = 15;
const METRICS: [&str; 10] = [
    "cpu_usage_pct",
    "memory_usage_mib",
    "server_latency_p90_s",
    "server_latency_p99_s",
    "client_latency_p90_s",
    "workload_ops",
    "success_rate_pct",
    "network_receive_bytes",
    "network_transmit_bytes",
    "syscall_read",
];

fn case(services: usize, log_lines: usize, traces: usize, seed: u64) -> Case {
    let mut rng = Rng(seed | 1);
    let name = |i: usize| format!("svc-{i:04}");
    let onset = Timestamp::from_secs(HOUR_SECS - 15 * 60);
    let faulty = services / 2;
    let mut signals = SignalSet::default();
    // Layered graph: every service but the first calls one to three services further down.
    for i in 0..services {
        for _ in 0..1 + rng.below(3) {
            let j = i + 1 + rng.below(services.saturating_sub(i + 1).clamp(1, 8));
            if j < services {
                signals
                    .topology
                    .add_edge(name(i).as_str(), name(j).as_str(), None);
            }
        }
    }
    let ts: Vec<Timestamp> = (0..HOUR_SECS / STEP_SECS)
        .map(|k| Timestamp::from_secs(k * STEP_SECS))
        .collect();
    for i in 0..services {
        for (m, metric) in METRICS.iter().enumerate() {
            let level = 10.0 + m as f64;
            let vs: Vec<f64> = ts
                .iter()
                .map(|&t| {
                    let shift = if i == faulty && t >= onset && m < 3 {
                        8.0
                    } else {
                        0.0
                    };
                    level + rng.unit() + shift
                })
                .collect();
            signals
                .series
                .push(Series::new(SeriesKey::new(name(i).as_str(), *metric), ts.clone(), vs).unwrap());
        }
    }
    // Logs: 40 templates, 10 of them errors; the faulty service bursts one error after onset.
    let texts: Vec<String> = (0..40)
        .map(|k| format!("handler {k} finished request <*> in <*> ms"))
        .collect();
    let mut templates: Vec<LogTemplate> = texts
        .iter()
        .enumerate()
        .map(|(k, t)| LogTemplate {
            id: TemplateId::derive(&[t]),
            text: t.clone(),
            tokens: t.split(' ').map(str::to_owned).collect(),
            count: 0,
            first_seen: Timestamp::from_secs(0),
            last_seen: Timestamp::from_secs(HOUR_SECS),
            severity_mix: [(if k < 10 { Severity::Error } else { Severity::Info }, 1)]
                .into_iter()
                .collect(),
            exemplars: vec![t.replace("<*>", "7")],
            services: vec![],
        })
        .collect();
    for k in 0..log_lines {
        let t = Timestamp::from_secs((k as i64 * HOUR_SECS) / log_lines as i64);
        let burst = t >= onset && k % 50 == 0;
        let svc = if burst { faulty } else { rng.below(services) };
        let tpl = if burst { 0 } else { 10 + rng.below(30) };
        templates[tpl].count += 1;
        signals.logs.push(LogRecord {
            ts: t,
            service: ServiceId::new(name(svc)),
            severity: if burst { Severity::Error } else { Severity::Info },
            body: format!("handler {tpl} finished request {k} in {} ms", rng.below(100)),
            attributes: Default::default(),
            trace_id: None,
            span_id: None,
            source: None,
        });
    }
    let template_signals = vec![TemplateSignal {
        template: templates[0].id.clone(),
        service: ServiceId::new(name(faulty)),
        kind: TemplateSignalKind::New,
        start: onset,
        end: Timestamp::from_secs(HOUR_SECS),
        count: templates[0].count,
        error_share: 1.0,
        score: 0.9,
    }];
    // Traces: root → child → grandchild along graph edges.
    for k in 0..traces {
        let start = Timestamp::from_secs((k as i64 * HOUR_SECS) / traces as i64);
        let a = rng.below(services);
        let b = (a + 1 + rng.below(4)).min(services - 1);
        let c = (b + 1 + rng.below(4)).min(services - 1);
        let slow = if start >= onset && c == faulty { 50 } else { 0 };
        for (d, (svc, dur)) in [(a, 30 + slow), (b, 20 + slow), (c, 10 + slow)]
            .into_iter()
            .enumerate()
        {
            signals.spans.push(Span {
                trace_id: format!("t{k}"),
                span_id: format!("s{d}"),
                parent_span_id: (d > 0).then(|| format!("s{}", d - 1)),
                service: ServiceId::new(name(svc)),
                operation: "call".into(),
                start,
                duration: DurationNs::from_millis(dur + rng.below(5) as i64),
                status: SpanStatus::Ok,
                attributes: Default::default(),
            });
        }
    }
    let incident = Incident {
        id: IncidentId("bench".into()),
        title: "generated".into(),
        onset,
        window: TimeWindow {
            start: Timestamp::from_secs(0),
            end: Timestamp::from_secs(HOUR_SECS),
        },
        environment: None,
        services: vec![],
        severity: None,
        status: IncidentStatus::Open,
    };
    Case {
        incident,
        signals,
        templates,
        template_signals,
    }
}

fn bench(c: &mut Criterion) {
    let cfg = RcaConfig::default();
    let mut g = c.benchmark_group("analyze");
    g.sample_size(10);
    for services in [20usize, 1000] {
        let k = case(services, 100_000, 2_000, 42);
        let input = RcaInput {
            incident: &k.incident,
            signals: &k.signals,
            anomalies: &[],
            templates: &k.templates,
            template_signals: &k.template_signals,
        };
        // The generator's fault must be found, or the bench measures the wrong thing.
        let out = analyze(&input, &cfg).unwrap();
        assert_eq!(
            out.hypotheses[0].service.as_str(),
            format!("svc-{:04}", services / 2),
            "{:?}",
            &out.service_scores[..3]
        );
        g.bench_with_input(BenchmarkId::new("services", services), &input, |b, input| {
            b.iter(|| analyze(input, &cfg).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

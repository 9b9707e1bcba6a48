//! A tiny measuring tool: reads an incident bundle directory with a quick loader (not the
//! facade's bundle reader), runs [`faultline_rca::analyze`] without detection or log mining,
//! and prints `{"hypotheses":[{"rank":1,"service":"..."}, ...]}`.
//!
//! `cargo run --release -p faultline-rca --example rca_bundle -- path/to/bundle [--full]
//! [--report REPORT.json]`: with `--report`, the anomalies, templates and template signals
//! of a saved `faultline analyze --format json` report are fed in as well, so the RCA stage
//! can be iterated on without rebuilding the whole pipeline.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use faultline_core::*;
use faultline_rca::{analyze, RcaConfig, RcaInput};
use serde_json::Value;

fn open(dir: &Path, name: &str) -> Option<Box<dyn Read>> {
    let p = dir.join(name);
    if p.exists() {
        return Some(Box::new(File::open(p).ok()?));
    }
    let gz: PathBuf = dir.join(format!("{name}.gz"));
    if gz.exists() {
        return Some(Box::new(flate2::read::GzDecoder::new(File::open(gz).ok()?)));
    }
    None
}

fn ts(v: &Value) -> Option<Timestamp> {
    match v {
        Value::String(s) => Timestamp::parse(s).ok(),
        Value::Number(n) => Timestamp::from_epoch_number(n.as_f64()?).ok(),
        _ => None,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).expect("usage: rca_bundle BUNDLE [--full]"));
    let full = args.iter().any(|a| a == "--full");
    let mut s = String::new();
    open(&dir, "incident.json")
        .expect("incident.json")
        .read_to_string(&mut s)
        .unwrap();
    let j: Value = serde_json::from_str(&s).unwrap();
    let onset = ts(&j["onset"]).expect("onset");
    let window = TimeWindow {
        start: ts(&j["window"]["start"]).unwrap_or(Timestamp::MIN),
        end: ts(&j["window"]["end"]).unwrap_or(Timestamp::MAX),
    };
    let incident = Incident {
        id: IncidentId(j["id"].as_str().unwrap_or("incident").to_owned()),
        title: j["title"].as_str().unwrap_or("").to_owned(),
        onset,
        window,
        environment: None,
        services: vec![],
        severity: None,
        status: IncidentStatus::Open,
    };
    let mut signals = SignalSet::default();
    if let Some(r) = open(&dir, "metrics.csv") {
        let mut rd = csv::Reader::from_reader(r);
        let headers = rd.headers().unwrap().clone();
        let mut acc: BTreeMap<SeriesKey, (Vec<Timestamp>, Vec<f64>)> = BTreeMap::new();
        for rec in rd.records() {
            let rec = rec.unwrap();
            let (Some(t), Some(v)) = (Timestamp::parse(&rec[0]).ok(), rec[3].parse::<f64>().ok()) else {
                continue;
            };
            let mut key = SeriesKey::new(&rec[1], &rec[2]);
            for k in 4..rec.len() {
                key.labels.insert(&headers[k], &rec[k]);
            }
            let e = acc.entry(key).or_default();
            e.0.push(t);
            e.1.push(v);
        }
        for (k, (t, v)) in acc {
            signals.series.push(Series::new(k, t, v).unwrap());
        }
    }
    if let Some(r) = open(&dir, "topology.csv") {
        let mut rd = csv::ReaderBuilder::new().flexible(true).from_reader(r);
        for rec in rd.records().flatten() {
            if rec.len() >= 2 {
                signals
                    .topology
                    .add_edge(&rec[0], &rec[1], rec.get(2).map(str::to_owned));
            }
        }
    }
    let lines = |name: &str| -> Vec<Value> {
        open(&dir, name)
            .map(|r| {
                BufReader::new(r)
                    .lines()
                    .map_while(Result::ok)
                    .filter_map(|l| serde_json::from_str(&l).ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    for v in lines("traces.jsonl") {
        let (Some(start), Some(svc)) = (ts(&v["start"]), v["service"].as_str()) else {
            continue;
        };
        signals.spans.push(Span {
            trace_id: v["trace_id"].as_str().unwrap_or("").to_owned(),
            span_id: v["span_id"].as_str().unwrap_or("").to_owned(),
            parent_span_id: v["parent_span_id"].as_str().map(str::to_owned),
            service: ServiceId::new(svc),
            operation: v["operation"].as_str().unwrap_or("").to_owned(),
            start,
            duration: DurationNs::from_secs_f64(v["duration_ms"].as_f64().unwrap_or(0.0) / 1000.0),
            status: if v["status"].as_str() == Some("error") {
                SpanStatus::Error
            } else {
                SpanStatus::Ok
            },
            attributes: Default::default(),
        });
    }
    for v in lines("logs.jsonl") {
        let (Some(t), Some(svc)) = (ts(&v["timestamp"]), v["service"].as_str()) else {
            continue;
        };
        signals.logs.push(LogRecord {
            ts: t,
            service: ServiceId::new(svc),
            severity: Severity::parse(v["level"].as_str().unwrap_or("")),
            body: v["message"].as_str().unwrap_or("").to_owned(),
            attributes: Default::default(),
            trace_id: v["trace_id"].as_str().map(str::to_owned),
            span_id: v["span_id"].as_str().map(str::to_owned),
            source: None,
        });
    }
    for v in lines("events.jsonl") {
        let (Some(t), Some(svc)) = (ts(&v["timestamp"]), v["service"].as_str()) else {
            continue;
        };
        signals.events.push(ChangeEvent {
            ts: t,
            service: ServiceId::new(svc),
            kind: ChangeKind::parse(v["kind"].as_str().unwrap_or("")),
            version: v["version"].as_str().map(str::to_owned),
            description: v["description"].as_str().map(str::to_owned),
            attributes: Default::default(),
            source: None,
        });
    }
    signals.logs.sort_by_key(|l| l.ts);
    let (mut anomalies, mut templates, mut template_signals) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(p) = args
        .iter()
        .position(|a| a == "--report")
        .and_then(|i| args.get(i + 1))
    {
        let r: Value = serde_json::from_reader(File::open(p).unwrap()).unwrap();
        anomalies = serde_json::from_value::<Vec<Anomaly>>(r["anomalies"].clone()).unwrap();
        templates = serde_json::from_value::<Vec<LogTemplate>>(r["templates"].clone()).unwrap();
        template_signals =
            serde_json::from_value::<Vec<TemplateSignal>>(r["template_signals"].clone()).unwrap();
    }
    let input = RcaInput {
        incident: &incident,
        signals: &signals,
        anomalies: &anomalies,
        templates: &templates,
        template_signals: &template_signals,
    };
    // RCA_CONFIG: an RcaConfig as JSON (fields default), for parameter studies.
    let cfg: RcaConfig = std::env::var("RCA_CONFIG")
        .ok()
        .map_or_else(RcaConfig::default, |j| serde_json::from_str(&j).unwrap());
    let out = analyze(&input, &cfg).unwrap();
    if full {
        for (s, sc) in &out.service_scores {
            eprintln!(
                "{s:32} root {:.3} anom {:.3} m {:.2} e {:.2} l {:.2} expl {:.2} raw {:.1} {:.2} {:.2}",
                sc.root,
                sc.anomaly,
                sc.metric,
                sc.error,
                sc.latency,
                sc.explained,
                sc.raw[0],
                sc.raw[1],
                sc.raw[2]
            );
        }
        for h in &out.hypotheses {
            eprintln!(
                "#{} {} — {}\n   why_not: {:?}",
                h.rank, h.service, h.statement, h.why_not
            );
            for id in h.support.iter().chain(&h.counter) {
                if let Some(e) = out.evidence.iter().find(|e| &e.id == id) {
                    eprintln!("     [{:?} {:.2}] {}", e.kind, e.score, e.summary);
                }
            }
        }
    }
    let hyps: Vec<Value> = out
        .hypotheses
        .iter()
        .map(|h| serde_json::json!({"rank": h.rank, "service": h.service, "confidence": h.confidence, "cause": h.cause.kind_name()}))
        .collect();
    println!("{}", serde_json::json!({ "hypotheses": hyps }));
}

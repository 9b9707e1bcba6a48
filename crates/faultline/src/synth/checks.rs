//! Test-only format checks of generated bundles (independent of the facade's bundle reader),
//! and tests that each scenario's story is visible in the signals.

use faultline_core::Timestamp;
use serde_json::Value;

use super::Bundle;

fn ts(text: &str, what: &str) -> Timestamp {
    match Timestamp::parse(text) {
        Ok(t) => t,
        Err(e) => panic!("{what}: bad timestamp {text:?}: {e}"),
    }
}

fn json_ts(v: &Value, key: &str, what: &str) -> Timestamp {
    match v.get(key).and_then(Value::as_str) {
        Some(s) => ts(s, what),
        None => panic!("{what}: {key} is not a string in {v}"),
    }
}

/// Parses every line of a JSONL file as an object holding `required` keys.
pub(crate) fn jsonl(text: &str, file: &str, required: &[&str]) -> Vec<Value> {
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{file}:{}: {e}", n + 1));
            assert!(v.is_object(), "{file}:{}: not an object", n + 1);
            for k in required {
                assert!(v.get(k).is_some(), "{file}:{}: missing {k}", n + 1);
            }
            v
        })
        .collect()
}

/// Asserts every file of `b` is well-formed and inside the incident window.
pub(crate) fn check_bundle(b: &Bundle) {
    let incident: Value = serde_json::from_str(&b.files["incident.json"]).expect("incident.json is JSON");
    assert!(incident["id"].is_string());
    let onset = json_ts(&incident, "onset", "incident.json");
    let start = json_ts(&incident["window"], "start", "incident.json window");
    let end = json_ts(&incident["window"], "end", "incident.json window");
    assert!(start < onset && onset < end);
    let inside = |t: Timestamp, what: &str| assert!(start <= t && t <= end, "{what}: {t} outside window");

    let metrics = &b.files["metrics.csv"];
    let mut lines = metrics.lines();
    assert_eq!(lines.next(), Some("timestamp,service,metric,value"));
    let mut rows = 0;
    for (n, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 4, "metrics.csv:{}: {line}", n + 2);
        let secs: i64 = f[0]
            .parse()
            .unwrap_or_else(|_| panic!("metrics.csv:{}: epoch seconds", n + 2));
        inside(Timestamp::from_secs(secs), "metrics.csv");
        assert!(!f[1].is_empty() && !f[2].is_empty());
        let v: f64 = f[3]
            .parse()
            .unwrap_or_else(|_| panic!("metrics.csv:{}: value {}", n + 2, f[3]));
        assert!(v.is_finite() && v >= 0.0, "metrics.csv:{}: {v}", n + 2);
        rows += 1;
    }
    assert!(rows > 0);

    let mut last = Timestamp::MIN;
    for v in jsonl(
        &b.files["logs.jsonl"],
        "logs.jsonl",
        &["timestamp", "service", "level", "message"],
    ) {
        let t = json_ts(&v, "timestamp", "logs.jsonl");
        inside(t, "logs.jsonl");
        assert!(t >= last, "logs.jsonl out of order at {t}");
        last = t;
    }
    let raw_name = b
        .files
        .keys()
        .find(|k| k.starts_with("logs/"))
        .expect("a raw log file");
    let mut last = Timestamp::MIN;
    for (n, line) in b.files[raw_name].lines().enumerate() {
        if line.starts_with('\t') || line.starts_with("java.") {
            continue; // stack-trace continuation
        }
        let (head, rest) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("{raw_name}:{}: {line}", n + 1));
        let t = ts(head, raw_name);
        inside(t, raw_name);
        assert!(t >= last, "{raw_name} out of order at line {}", n + 1);
        last = t;
        let level = rest.split_whitespace().next().unwrap_or_default();
        assert!(
            ["INFO", "WARN", "ERROR"].contains(&level),
            "{raw_name}:{}: level {level}",
            n + 1
        );
        assert!(rest.contains(" - "), "{raw_name}:{}: no message separator", n + 1);
    }

    for v in jsonl(
        &b.files["events.jsonl"],
        "events.jsonl",
        &["timestamp", "service", "kind", "description"],
    ) {
        inside(json_ts(&v, "timestamp", "events.jsonl"), "events.jsonl");
    }
    let span_keys = [
        "trace_id",
        "span_id",
        "parent_span_id",
        "service",
        "operation",
        "start",
        "duration_ms",
        "status",
    ];
    for v in jsonl(&b.files["traces.jsonl"], "traces.jsonl", &span_keys) {
        json_ts(&v, "start", "traces.jsonl");
        assert!(v["duration_ms"].as_f64().is_some_and(|d| d >= 0.0));
        assert!(matches!(v["status"].as_str(), Some("ok" | "error")));
        assert!(v["parent_span_id"].is_null() || v["parent_span_id"].is_string());
    }
    for v in jsonl(
        &b.files["alerts.jsonl"],
        "alerts.jsonl",
        &["starts_at", "status", "labels", "annotations"],
    ) {
        json_ts(&v, "starts_at", "alerts.jsonl");
        assert!(v["labels"]["alertname"].is_string() && v["labels"]["service"].is_string());
        let status = v["status"].as_str();
        assert!(matches!(status, Some("firing" | "resolved")));
        assert_eq!(status == Some("resolved"), v.get("ends_at").is_some());
    }

    let topo = &b.files["topology.csv"];
    let mut lines = topo.lines();
    assert_eq!(lines.next(), Some("source,target,kind"));
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 3, "topology.csv: {line}");
        assert_ne!(f[0], f[1]);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{generate, Scenario, SynthConfig};
    use super::*;

    fn onset(b: &Bundle) -> Timestamp {
        let incident: Value = serde_json::from_str(&b.files["incident.json"]).expect("json");
        json_ts(&incident, "onset", "incident.json")
    }

    fn raw_records(text: &str) -> Vec<(Timestamp, &str)> {
        text.lines()
            .filter(|l| l.starts_with("20"))
            .filter_map(|l| l.split_once(' ').map(|(t, rest)| (ts(t, "raw"), rest)))
            .collect()
    }

    fn fired(b: &Bundle) -> Vec<(String, String)> {
        jsonl(&b.files["alerts.jsonl"], "alerts", &[])
            .iter()
            .filter(|a| a["labels"]["severity"] != "info" && json_ts(a, "starts_at", "a") >= onset(b))
            .map(|a| {
                let s = |k: &str| a["labels"][k].as_str().unwrap_or_default().to_string();
                (s("service"), s("alertname"))
            })
            .collect()
    }

    #[test]
    fn deploy_regression_story_is_consistent() {
        let b = generate(Scenario::DeployRegression, &SynthConfig::default());
        let onset = onset(&b);
        let events = jsonl(&b.files["events.jsonl"], "events", &[]);
        let deploy = events
            .iter()
            .find(|e| e["service"] == "checkout" && e["kind"] == "deploy")
            .expect("checkout deploy event");
        assert_eq!(deploy["version"], "2.4.1");
        let deploy_at = json_ts(deploy, "timestamp", "event");
        assert!(deploy_at < onset && onset.since(deploy_at).as_secs_f64() <= 150.0);
        // A benign deploy of another service, long before.
        assert!(events.iter().any(|e| e["kind"] == "deploy"
            && e["service"] != "checkout"
            && onset.since(json_ts(e, "timestamp", "e")).as_secs_f64() > 900.0));

        // New error template only after the deploy, with a stack trace.
        let raw = &b.files["logs/checkout.log"];
        let npe: Vec<Timestamp> = raw_records(raw)
            .into_iter()
            .filter(|(_, r)| r.contains("NullPointerException in PriceCalculator.apply"))
            .map(|(t, _)| t)
            .collect();
        assert!(npe.len() > 20, "{} NPE lines", npe.len());
        assert!(npe.iter().all(|&t| t >= deploy_at));
        assert!(raw.contains("\tat com.shop.checkout.pricing.PriceCalculator.apply(PriceCalculator.java:87)"));

        // frontend only gains "upstream checkout returned 500"; payments has no new errors.
        let logs = jsonl(&b.files["logs.jsonl"], "logs", &[]);
        let upstream = logs.iter().filter(|l| {
            l["service"] == "frontend"
                && l["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("upstream checkout returned 500"))
        });
        assert!(upstream.clone().count() > 10);
        assert!(upstream.clone().all(|l| json_ts(l, "timestamp", "l") >= onset));
        assert!(!logs
            .iter()
            .any(|l| l["service"] == "payments"
                && l["message"].as_str().is_some_and(|m| m.contains("checkout"))));

        // Error spans concentrate in checkout after onset.
        let spans = jsonl(&b.files["traces.jsonl"], "traces", &[]);
        let npe_spans = spans
            .iter()
            .filter(|s| s["attributes"]["error.type"] == "java.lang.NullPointerException");
        assert!(npe_spans.clone().count() > 3);
        assert!(npe_spans
            .clone()
            .all(|s| s["service"] == "checkout" && json_ts(s, "start", "s") >= deploy_at));

        let fired = fired(&b);
        assert!(
            fired.contains(&("frontend".into(), "HighErrorRate".into())),
            "{fired:?}"
        );
        assert!(
            fired.contains(&("checkout".into(), "HighErrorRate".into())),
            "{fired:?}"
        );
        assert!(
            fired.iter().all(|(s, _)| s == "frontend" || s == "checkout"),
            "{fired:?}"
        );
    }

    #[test]
    fn memory_leak_story_is_consistent() {
        let b = generate(Scenario::MemoryLeak, &SynthConfig::default());
        let onset = onset(&b);
        let events = jsonl(&b.files["events.jsonl"], "events", &[]);
        assert!(!events
            .iter()
            .any(|e| e["service"] == "session-cache" && e["kind"] == "deploy"));
        let restart = events
            .iter()
            .find(|e| e["service"] == "session-cache" && e["kind"] == "restart")
            .expect("restart event");
        let restart_at = json_ts(restart, "timestamp", "event");
        assert!(restart_at > onset);

        // Memory climbs from well before onset to near the limit just before the restart.
        let mem: Vec<(i64, f64)> = b.files["metrics.csv"]
            .lines()
            .filter(|l| l.contains(",session-cache,memory_mb,"))
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                Some((f[0].parse().ok()?, f[3].parse().ok()?))
            })
            .collect();
        let at = |secs: i64| {
            mem.iter()
                .rev()
                .find(|(t, _)| *t <= secs)
                .map(|m| m.1)
                .unwrap_or_default()
        };
        let (first, onset_s, restart_s) = (mem[0].0, onset.as_secs(), restart_at.as_secs());
        assert!(at(first + 300) < 800.0);
        assert!(
            at(onset_s - 600) > at(first + 300) + 400.0,
            "leak starts well before onset"
        );
        assert!(at(restart_s - 15) > 1800.0);
        assert!(at(restart_s + 120) < 800.0);

        let logs = jsonl(&b.files["logs.jsonl"], "logs", &[]);
        let gc = logs.iter().filter(|l| {
            l["service"] == "session-cache"
                && l["message"].as_str().is_some_and(|m| m.starts_with("GC pause"))
        });
        assert!(gc.clone().count() > 10);
        assert!(logs
            .iter()
            .any(|l| l["message"].as_str().is_some_and(|m| m.contains("OOMKilled"))));
        let timeouts = logs.iter().filter(|l| {
            l["service"] == "frontend"
                && l["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("timeout after"))
        });
        assert!(timeouts.clone().count() > 5);
        assert!(timeouts.clone().all(|l| json_ts(l, "timestamp", "l") >= onset));
        let raw_timeouts = raw_records(&b.files["logs/checkout.log"])
            .into_iter()
            .filter(|(_, r)| r.contains("timeout after 100ms calling session-cache"))
            .count();
        assert!(raw_timeouts > 3);

        let fired = fired(&b);
        assert!(
            fired.contains(&("frontend".into(), "HighErrorRate".into())),
            "{fired:?}"
        );
        assert!(
            fired.contains(&("session-cache".into(), "ContainerMemoryHigh".into())),
            "{fired:?}"
        );
    }
}

#![no_main]
use libfuzzer_sys::fuzz_target;

// The input is split at 0xff bytes into the bundle's files, in a fixed order.
const FILES: [&str; 7] = ["incident.json", "metrics.csv", "logs.jsonl", "events.jsonl", "traces.jsonl", "alerts.jsonl", "topology.csv"];

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    for (name, part) in FILES.iter().zip(data.split(|b| *b == 0xff)) {
        if std::fs::write(dir.path().join(name), part).is_err() {
            return;
        }
    }
    let _ = faultline::bundle::read_bundle(dir.path());
});

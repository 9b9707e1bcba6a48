//! Every example incident, preloaded together into one store as `faultline serve` does, is
//! analysed over its own window only and ranks its own injected cause first.

#![allow(clippy::unwrap_used)]

mod common;

use common::{get, TestServer};
use faultline::synth::{generate, SynthConfig, EXAMPLES};

#[test]
fn each_preloaded_example_ranks_its_own_root_cause_first() {
    let cfg = SynthConfig::default();
    let s = TestServer::start(|c, dir| {
        let bundles = dir.join("incidents");
        for (name, scenario) in EXAMPLES {
            generate(scenario, &cfg).write_to(&bundles.join(name)).unwrap();
        }
        c.preload_dir = Some(bundles);
    });
    let list = get(s.addr, "/v1/incidents").json();
    let incidents = list["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), EXAMPLES.len());
    let mut windows = Vec::new();
    for (name, scenario) in EXAMPLES {
        let bundle = generate(scenario, &cfg);
        let meta: serde_json::Value = serde_json::from_str(&bundle.files["incident.json"]).unwrap();
        let id = meta["id"].as_str().unwrap();
        let inc = get(s.addr, &format!("/v1/incidents/{id}")).json();
        assert_eq!(inc["analyzed"], true, "{name}");
        assert_eq!(
            inc["hypotheses"][0]["service"], bundle.truth.service,
            "{name}: the preloaded incident must rank its own cause first"
        );
        windows.push((
            meta["window"]["start"].as_str().unwrap().to_owned(),
            meta["window"]["end"].as_str().unwrap().to_owned(),
        ));
    }
    windows.sort();
    for pair in windows.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "example windows overlap: {pair:?}");
    }
}

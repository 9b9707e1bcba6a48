//! The bundled example incidents: the injected cause ranks first with supporting evidence, and
//! the reports are snapshot-tested (ids, times and timings redacted).
#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::path::PathBuf;

use faultline::synth::{self, Scenario, SynthConfig};
use faultline::{bundle, render, Pipeline};

fn examples_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
        .join("../../examples/incidents")
}

fn check(name: &str, scenario: Scenario) {
    let truth = synth::generate(scenario, &SynthConfig::default()).truth;
    let b = bundle::read_bundle(examples_dir().join(name)).expect("example bundle reads");
    let report = Pipeline::builder()
        .build()
        .unwrap()
        .analyze(&b.incident, &b.signals)
        .unwrap();

    let top = report.hypotheses.first().expect("a hypothesis");
    assert_eq!(
        top.service.as_str(),
        truth.service,
        "{name}: injected cause must rank first"
    );
    assert_eq!(top.rank, 1);
    assert!(top.confidence > 0.0 && top.confidence <= 1.0);
    for id in top.support.iter().chain(&top.counter) {
        assert!(
            report.evidence(id).is_some(),
            "{name}: evidence {id} referenced but missing"
        );
    }
    let md = render::to_markdown(&report);
    assert!(md.contains(&format!("## Most likely: {}", truth.service)), "{md}");

    let view = serde_json::json!({
        "hypotheses": report.hypotheses,
        "evidence": report.evidence,
        "blast_radius": report.blast_radius,
        "plan": report.plan,
    });
    insta::with_settings!({ snapshot_suffix => name.to_owned(), prepend_module_to_snapshot => false }, {
        insta::assert_json_snapshot!("report", view, {
            ".hypotheses[].id" => "[id]",
            ".hypotheses[].support[]" => "[evidence-id]",
            ".hypotheses[].counter[]" => "[evidence-id]",
            ".evidence[].id" => "[evidence-id]",
            ".plan.id" => "[id]",
            ".plan.hypothesis" => "[id]",
            ".**.ts" => "[time]",
            ".**.start" => "[time]",
            ".**.end" => "[time]",
        });
    });
}

#[test]
fn checkout_deploy_ranks_checkout_first() {
    check("checkout-deploy", Scenario::DeployRegression);
}

#[test]
fn cache_memory_leak_ranks_the_cache_first() {
    check("cache-memory-leak", Scenario::MemoryLeak);
}

#[test]
fn reports_are_reproducible() {
    let b = bundle::read_bundle(examples_dir().join("checkout-deploy")).unwrap();
    let p = Pipeline::builder().build().unwrap();
    let mut a = p.analyze(&b.incident, &b.signals).unwrap();
    let mut c = p.analyze(&b.incident, &b.signals).unwrap();
    a.timings.clear();
    c.timings.clear();
    assert_eq!(render::to_json(&a), render::to_json(&c));
}

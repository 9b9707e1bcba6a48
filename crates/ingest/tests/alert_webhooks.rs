//! Alertmanager and Grafana webhook fixtures parse into the alerts they describe.

use faultline_core::AlertStatus;
use faultline_ingest::{parse, Format, IngestError, Limits};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")
    ))
    .expect("fixture exists")
}

#[test]
fn firing_group_yields_five_firing_alerts_with_services() {
    let b = parse(
        Format::Alertmanager,
        &fixture("alertmanager_firing.json"),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(b.counts().alerts, 5);
    let mut services: Vec<String> = b
        .alerts
        .iter()
        .map(|a| a.service().unwrap().to_string())
        .collect();
    services.sort();
    assert_eq!(services, ["cart", "checkout", "frontend", "payments", "redis"]);
    assert!(b
        .alerts
        .iter()
        .all(|a| a.status == AlertStatus::Firing && a.ends_at.is_none()));
    let checkout = &b.alerts[0];
    assert_eq!(checkout.fingerprint, "8acebc912d7b6f68");
    assert_eq!(checkout.starts_at.to_string(), "2024-05-14T10:32:30.512Z");
    assert_eq!(
        checkout.annotations.get("summary"),
        Some("checkout p99 latency above 1.5s")
    );
    assert!(checkout
        .annotations
        .get("generator_url")
        .unwrap()
        .starts_with("http://prometheus"));
}

#[test]
fn partially_resolved_group_keeps_fingerprints_and_sets_ends() {
    let firing = parse(
        Format::Alertmanager,
        &fixture("alertmanager_firing.json"),
        &Limits::default(),
    )
    .unwrap();
    let partial = parse(
        Format::Alertmanager,
        &fixture("alertmanager_partially_resolved.json"),
        &Limits::default(),
    )
    .unwrap();
    let resolved: Vec<_> = partial
        .alerts
        .iter()
        .filter(|a| a.status == AlertStatus::Resolved)
        .collect();
    assert_eq!(resolved.len(), 2);
    for a in &resolved {
        let end = a.ends_at.expect("resolved alerts have an end");
        assert!(end > a.starts_at);
        assert!(firing.alerts.iter().any(|f| f.fingerprint == a.fingerprint));
    }
    let all = parse(
        Format::Alertmanager,
        &fixture("alertmanager_resolved.json"),
        &Limits::default(),
    )
    .unwrap();
    assert!(all
        .alerts
        .iter()
        .all(|a| a.status == AlertStatus::Resolved && a.ends_at.is_some()));
}

#[test]
fn grafana_webhook_keeps_values_and_links_as_annotations() {
    let b = parse(
        Format::Alertmanager,
        &fixture("grafana_firing.json"),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(b.alerts.len(), 1);
    let a = &b.alerts[0];
    assert_eq!(a.labels.get("grafana_folder"), Some("Shop"));
    assert_eq!(a.annotations.get("value.A"), Some("6.021"));
    assert!(a.annotations.get("panel_url").unwrap().contains("viewPanel=4"));
}

#[test]
fn too_many_labels_is_refused_naming_the_alert() {
    let limits = Limits {
        max_labels: 3,
        ..Limits::default()
    };
    let e = parse(
        Format::Alertmanager,
        &fixture("alertmanager_firing.json"),
        &limits,
    )
    .unwrap_err();
    match e {
        IngestError::InvalidField { at, field, .. } => {
            assert_eq!((at.as_str(), field.as_str()), ("/alerts/0", "labels"))
        }
        other => panic!("{other:?}"),
    }
}

//! `PipelineBuilder::detector` plugs a host's detector into `Pipeline::analyze`: it is called
//! once per series instead of the configured one, its anomalies (clipped to the incident's
//! window) are the report's, series it refuses as too short are skipped, and its other errors
//! fail the analysis.
#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use faultline::bundle::{read_bundle, Bundle};
use faultline::core::{
    Anomaly, AnomalyId, AnomalyKind, AnomalySeverity, Direction, Expected, Series, Timestamp,
};
use faultline::detect::{DetectError, Detector};
use faultline::synth::{generate, Scenario, SynthConfig};
use faultline::{Error, Pipeline};

fn bundle() -> Bundle {
    let dir = tempfile::tempdir().unwrap();
    generate(Scenario::DeployRegression, &SynthConfig::default())
        .write_to(dir.path())
        .unwrap();
    read_bundle(dir.path()).unwrap()
}

/// Flags one episode at `at` on every series of `service`; counts its calls.
struct Marker {
    service: String,
    at: Timestamp,
    calls: AtomicUsize,
    seen: Mutex<Vec<String>>,
}

impl Marker {
    fn new(service: &str, at: Timestamp) -> Self {
        Self {
            service: service.into(),
            at,
            calls: AtomicUsize::new(0),
            seen: Mutex::new(vec![]),
        }
    }
}

fn anomaly(series: &Series, at: Timestamp, detector: &str) -> Anomaly {
    Anomaly {
        id: AnomalyId::derive(&[&series.key.to_string(), &at.0.to_string(), detector]),
        series: series.key.clone(),
        start: at,
        end: at,
        peak: at,
        observed: 1.0,
        expected: Expected {
            value: 0.0,
            lower: 0.0,
            upper: 0.0,
        },
        score: 0.9,
        severity: AnomalySeverity::from_score(0.9),
        direction: Direction::Up,
        kind: AnomalyKind::Point,
        detector: detector.into(),
    }
}

impl Detector for Marker {
    fn name(&self) -> &'static str {
        "marker"
    }
    fn detect(&self, series: &Series) -> Result<Vec<Anomaly>, DetectError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push(series.key.to_string());
        if series.key.service.as_str() != self.service {
            return Ok(vec![]);
        }
        Ok(vec![anomaly(series, self.at, "marker")])
    }
}

#[test]
fn host_detector_replaces_the_configured_one_on_every_series() {
    let b = bundle();
    let decoy = b
        .signals
        .series
        .iter()
        .map(|s| s.key.service.to_string())
        .find(|s| s != "checkout")
        .unwrap();
    let marker = Arc::new(Marker::new(&decoy, b.incident.onset));
    let p = Pipeline::builder().detector(marker.clone()).build().unwrap();
    assert!(p.has_detector());
    let report = p.analyze(&b.incident, &b.signals).unwrap();

    assert_eq!(marker.calls.load(Ordering::SeqCst), b.signals.series.len());
    let expected: Vec<String> = b.signals.series.iter().map(|s| s.key.to_string()).collect();
    assert_eq!(*marker.seen.lock().unwrap(), expected);
    let n_decoy = b
        .signals
        .series
        .iter()
        .filter(|s| s.key.service.as_str() == decoy)
        .count();
    assert!(n_decoy > 0);
    assert_eq!(report.anomalies.len(), n_decoy);
    assert!(report
        .anomalies
        .iter()
        .all(|a| a.detector == "marker" && a.series.service.as_str() == decoy));

    // The built-in detector finds different anomalies on the same data.
    let plain = Pipeline::builder().build().unwrap();
    assert!(!plain.has_detector());
    let base = plain.analyze(&b.incident, &b.signals).unwrap();
    assert!(base.anomalies.iter().all(|a| a.detector != "marker"));
}

#[test]
fn host_anomalies_outside_the_window_are_dropped() {
    let b = bundle();
    let service = b.signals.series[0].key.service.to_string();
    let before = Timestamp(b.incident.window.start.0 - 3_600_000_000_000);
    let p = Pipeline::builder()
        .detector(Arc::new(Marker::new(&service, before)))
        .build()
        .unwrap();
    let report = p.analyze(&b.incident, &b.signals).unwrap();
    assert!(report.anomalies.is_empty(), "{:?}", report.anomalies);
}

/// Refuses the first `short` series as too short, then fails with `err` (if any).
struct Refuser {
    short: usize,
    calls: AtomicUsize,
    fail: bool,
}

impl Detector for Refuser {
    fn name(&self) -> &'static str {
        "refuser"
    }
    fn detect(&self, series: &Series) -> Result<Vec<Anomaly>, DetectError> {
        let i = self.calls.fetch_add(1, Ordering::SeqCst);
        if i < self.short {
            return Err(DetectError::TooShort { needed: 10, got: 1 });
        }
        if self.fail {
            return Err(DetectError::InvalidConfig {
                field: "detector",
                reason: "host model is not loaded".into(),
            });
        }
        Ok(vec![anomaly(
            series,
            series.timestamps[series.len() / 2],
            "refuser",
        )])
    }
}

#[test]
fn too_short_series_are_skipped_and_other_host_errors_fail_the_analysis() {
    let b = bundle();
    let n = b.signals.series.len();
    assert!(n > 2);

    let ok = Refuser {
        short: 2,
        calls: AtomicUsize::new(0),
        fail: false,
    };
    let report = Pipeline::builder()
        .detector(Arc::new(ok))
        .build()
        .unwrap()
        .analyze(&b.incident, &b.signals)
        .unwrap();
    assert!(report.anomalies.iter().all(|a| a.detector == "refuser"));
    let keys: Vec<String> = report.anomalies.iter().map(|a| a.series.to_string()).collect();
    for s in &b.signals.series[..2] {
        assert!(!keys.contains(&s.key.to_string()), "{} was refused", s.key);
    }

    let failing = Refuser {
        short: 1,
        calls: AtomicUsize::new(0),
        fail: true,
    };
    let err = Pipeline::builder()
        .detector(Arc::new(failing))
        .build()
        .unwrap()
        .analyze(&b.incident, &b.signals)
        .unwrap_err();
    assert!(
        matches!(err, Error::Detect(DetectError::InvalidConfig { .. })),
        "{err:?}"
    );
    assert!(
        err.chain().contains("host model is not loaded"),
        "{}",
        err.chain()
    );
}

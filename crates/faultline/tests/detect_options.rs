//! The `detect` section of the pipeline configuration: `method` chooses the detector (an
//! object without it keeps meaning the segment detector's settings), unknown keys are refused
//! by name at any depth, and RED series derived from spans turn a latency jump seen only in
//! traces into an anomaly of the right service that reaches the report's evidence.
#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use faultline::core::{
    DurationNs, EvidenceKind, EvidenceRef, Incident, Series, SeriesKey, ServiceId, SignalSet, Span,
    SpanStatus, TimeWindow, Timestamp,
};
use faultline::detect::{DetectConfig, DetectorConfig};
use faultline::{Pipeline, PipelineConfig};

/// Deterministic noise in [-1, 1) (a 64-bit LCG), so the tests need no RNG dependency.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

const T0: i64 = 1_700_000_000;

fn incident(secs: i64, onset_secs: i64) -> Incident {
    Incident::new(
        "detect-options",
        "test",
        Timestamp::from_secs(T0 + onset_secs),
        TimeWindow {
            start: Timestamp::from_secs(T0),
            end: Timestamp::from_secs(T0 + secs),
        },
    )
}

fn analyze(yaml: &str, incident: &Incident, signals: &SignalSet) -> faultline::core::IncidentReport {
    let cfg = PipelineConfig::from_yaml(yaml).unwrap();
    Pipeline::builder()
        .config(cfg)
        .build()
        .unwrap()
        .analyze(incident, signals)
        .unwrap()
}

/// 300 samples a minute apart around 100 ± 1, one lone spike to 112 at sample 120 and a
/// sustained step to 115 from sample 220 on.
fn spike_then_shift() -> SignalSet {
    let mut noise = Noise(7);
    let values: Vec<f64> = (0..300)
        .map(|i| {
            let base = if i >= 220 { 115.0 } else { 100.0 };
            base + noise.next() + if i == 120 { 12.0 } else { 0.0 }
        })
        .collect();
    let ts = (0..300).map(|i| Timestamp::from_secs(T0 + 60 * i)).collect();
    let mut signals = SignalSet::default();
    signals
        .series
        .push(Series::new(SeriesKey::new("api", "latency_ms"), ts, values).unwrap());
    signals
}

fn covers(a: &faultline::core::Anomaly, sample: i64) -> bool {
    let t = Timestamp::from_secs(T0 + 60 * sample);
    a.start <= t && t <= a.end
}

#[test]
fn multi_res_in_yaml_ignores_a_lone_noisy_point_that_robust_z_reports() {
    let signals = spike_then_shift();
    let inc = incident(300 * 60, 220 * 60);

    let robust = analyze("detect:\n  method: robust_z\n", &inc, &signals);
    assert!(robust.anomalies.iter().all(|a| a.detector == "robust_z"));
    assert!(
        robust.anomalies.iter().any(|a| covers(a, 120)),
        "robust_z must flag the spike: {:#?}",
        robust.anomalies
    );

    let multi = analyze("detect:\n  method: multi_res\n", &inc, &signals);
    assert!(multi.anomalies.iter().all(|a| a.detector == "multi_resolution"));
    assert!(
        !multi.anomalies.iter().any(|a| covers(a, 120)),
        "multi_res must not flag a lone point: {:#?}",
        multi.anomalies
    );
    assert!(
        multi.anomalies.iter().any(|a| covers(a, 230)),
        "multi_res must flag the sustained shift: {:#?}",
        multi.anomalies
    );
}

#[test]
fn legacy_detect_section_without_method_keeps_its_segment_settings() {
    let section = "min_samples: 20\npoint_threshold_sigma: 7.5\nvariance:\n  max_changepoints: 3\n";
    // What the section meant before `method` existed: `DetectConfig` itself.
    let before: DetectConfig = serde_norway::from_str(section).unwrap();
    let yaml = format!(
        "detect:\n{}",
        section.lines().map(|l| format!("  {l}\n")).collect::<String>()
    );
    let cfg = PipelineConfig::from_yaml(&yaml).unwrap();
    assert_eq!(cfg.detect.detector, DetectorConfig::Segment(before.clone()));
    assert_eq!(cfg.detect.red, Default::default());

    // The same with an explicit method, its alias, and as JSON.
    let tagged = PipelineConfig::from_yaml(&format!("{yaml}  method: segment\n")).unwrap();
    let alias = PipelineConfig::from_yaml(&format!("{yaml}  method: level_shift\n")).unwrap();
    let json = PipelineConfig::from_value(serde_json::json!({ "detect": before })).unwrap();
    assert_eq!(tagged, cfg);
    assert_eq!(alias, cfg);
    assert_eq!(json, cfg);

    // A whole default section in the old format is the default configuration.
    let old_default = serde_json::json!({ "detect": DetectConfig::default() });
    assert_eq!(
        PipelineConfig::from_value(old_default).unwrap(),
        PipelineConfig::default()
    );
}

#[test]
fn configuration_round_trips_with_every_method() {
    for yaml in [
        "detect:\n  method: multi_res\n  resolutions_samples: [1, 5, 30]\n  min_agree: 2\n",
        "detect:\n  method: robust_z\n  window_samples: 32\n  red:\n    bucket_secs: 30\n",
        "detect:\n  method: sh_esd\n  alpha: 0.01\n  counters:\n    enabled: false\n",
        "detect:\n  method: iqr\n",
        "detect:\n  method: rolling_z\n",
        "detect:\n  method: variance\n",
        "detect:\n  point_threshold_sigma: 9\n",
    ] {
        let cfg = PipelineConfig::from_yaml(yaml).unwrap();
        let as_yaml = serde_norway::to_string(&cfg).unwrap();
        assert_eq!(PipelineConfig::from_yaml(&as_yaml).unwrap(), cfg, "{yaml}");
        let as_json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(PipelineConfig::from_json(&as_json).unwrap(), cfg, "{yaml}");
    }
}

#[test]
fn unknown_keys_inside_a_tagged_detector_are_rejected_by_name() {
    for (yaml, key) in [
        // A detector whose settings deny unknown fields themselves …
        (
            "detect:\n  method: multi_res\n  resolution_samples: [1, 5]\n",
            "resolution_samples",
        ),
        // … and ones that rely on the pipeline's check of every key.
        ("detect:\n  method: robust_z\n  window: 32\n", "detect.window"),
        (
            "detect:\n  method: rolling_z\n  threshold: 3\n",
            "detect.threshold",
        ),
        // A setting of another method is unknown to this one.
        (
            "detect:\n  method: robust_z\n  changepoint_threshold: 4\n",
            "detect.changepoint_threshold",
        ),
        ("detect:\n  point_threshold: 3\n", "detect.point_threshold"),
        ("detect:\n  red:\n    bucket: 30\n", "bucket"),
        ("detect:\n  counters:\n    suffix: [_count]\n", "suffix"),
    ] {
        let e = PipelineConfig::from_yaml(yaml).unwrap_err().to_string();
        assert!(e.contains(key), "{yaml}: {e}");
    }
    let e = PipelineConfig::from_yaml("detect:\n  method: multires\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("multires") && e.contains("multi_res"), "{e}");
    // Values are validated for the chosen method.
    let e = PipelineConfig::from_yaml("detect:\n  method: multi_res\n  resolutions_samples: []\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("resolutions_samples"), "{e}");
    let e = PipelineConfig::from_yaml("detect:\n  red:\n    metrics: [latency]\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("red.metrics") && e.contains("latency"), "{e}");
}

/// One hour of traffic, 30 requests a minute: web calls checkout, checkout's own time jumps
/// from ~40 ms to ~400 ms at minute 40. No metrics at all.
fn traces_only() -> SignalSet {
    let mut noise = Noise(11);
    let mut signals = SignalSet::default();
    for i in 0..1800i64 {
        let start = T0 + 2 * i;
        let slow = start >= T0 + 40 * 60;
        let checkout_ms = if slow { 400.0 } else { 40.0 } * (1.0 + 0.1 * noise.next());
        let web_own_ms = 10.0 * (1.0 + 0.1 * noise.next());
        let span = |id: &str, parent: Option<&str>, svc: &str, ms: f64| Span {
            trace_id: format!("t{i}"),
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            service: ServiceId::new(svc),
            operation: "POST /checkout".into(),
            start: Timestamp::from_secs(start),
            duration: DurationNs::from_millis(ms as i64),
            status: SpanStatus::Ok,
            attributes: Default::default(),
        };
        signals
            .spans
            .push(span("w", None, "web", web_own_ms + checkout_ms));
        signals.spans.push(span("c", Some("w"), "checkout", checkout_ms));
    }
    signals
}

#[test]
fn trace_only_latency_jump_is_an_anomaly_of_the_service_and_rca_evidence() {
    let signals = traces_only();
    let inc = incident(3600, 40 * 60);
    let report = analyze("", &inc, &signals);

    let key = SeriesKey::new("checkout", "span_duration_p95_ms");
    let jump = report
        .anomalies
        .iter()
        .find(|a| a.series == key)
        .unwrap_or_else(|| panic!("no anomaly on {key}: {:#?}", report.anomalies));
    assert!(jump.observed > 300.0 && jump.expected.value < 60.0, "{jump:#?}");
    assert!(jump.start >= Timestamp::from_secs(T0 + 39 * 60), "{jump:#?}");
    // Request rate did not change: no anomaly there.
    assert!(
        !report
            .anomalies
            .iter()
            .any(|a| a.series.metric == "span_request_rate"),
        "{:#?}",
        report.anomalies
    );

    let evidence = report
        .evidence
        .iter()
        .find(|e| {
            e.kind == EvidenceKind::MetricAnomaly
                && matches!(&e.reference, EvidenceRef::Series { key: k, .. } if *k == key)
        })
        .unwrap_or_else(|| panic!("no evidence on {key}: {:#?}", report.evidence));
    assert_eq!(evidence.service.as_str(), "checkout");
    assert!(
        evidence.summary.contains("checkout/span_duration_p95_ms"),
        "{}",
        evidence.summary
    );
    let checkout = report
        .hypotheses
        .iter()
        .find(|h| h.service.as_str() == "checkout")
        .unwrap();
    assert!(checkout.support.iter().any(|id| *id == evidence.id));
    assert_eq!(report.hypotheses[0].service.as_str(), "checkout");

    // Turned off, the derived series and their anomalies are gone.
    let off = analyze("detect:\n  red:\n    enabled: false\n", &inc, &signals);
    assert!(off
        .anomalies
        .iter()
        .all(|a| !a.series.metric.starts_with("span_")));
}

/// Prometheus-style request counters of `payments` scraped every 15 s for an hour: ~50
/// requests a second, 0.5 % of them 5xx until minute 40 and 20 % after; a latency histogram
/// whose requests move from the 0.1 s bucket to the 1 s bucket at the same time. `web` calls it
/// with steady counters.
fn request_metrics_only() -> SignalSet {
    let mut noise = Noise(13);
    let mut signals = SignalSet::default();
    let scrapes = 240i64;
    let ts: Vec<Timestamp> = (0..scrapes).map(|i| Timestamp::from_secs(T0 + 15 * i)).collect();
    let labelled = |svc: &str, metric: &str, labels: &[(&str, &str)], values: Vec<f64>| {
        let key = SeriesKey {
            labels: faultline::core::Labels::from_pairs(labels.iter().copied()),
            ..SeriesKey::new(svc, metric)
        };
        Series::new(key, ts.clone(), values).unwrap()
    };
    let (mut ok, mut err, mut fast, mut slow, mut web) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut c_ok, mut c_err, mut c_fast, mut c_slow, mut c_web) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for i in 0..scrapes {
        let bad = i >= 160;
        let n = (750.0 * (1.0 + 0.05 * noise.next())).round();
        let e = (n * if bad { 0.2 } else { 0.005 }).round();
        c_ok += n - e;
        c_err += e;
        let f = if bad { (n * 0.1).round() } else { (n * 0.9).round() };
        c_fast += f;
        c_slow += n;
        c_web += (400.0 * (1.0 + 0.05 * noise.next())).round();
        ok.push(c_ok);
        err.push(c_err);
        fast.push(c_fast);
        slow.push(c_slow);
        web.push(c_web);
    }
    let hist = "http_request_duration_seconds_bucket";
    signals.series = vec![
        labelled("payments", "http_requests_total", &[("status", "200")], ok),
        labelled("payments", "http_requests_total", &[("status", "500")], err),
        labelled("payments", hist, &[("le", "0.1")], fast),
        labelled("payments", hist, &[("le", "1")], slow.clone()),
        labelled("payments", hist, &[("le", "+Inf")], slow),
        labelled("web", "http_requests_total", &[("status", "200")], web),
    ];
    signals
}

#[test]
fn request_metrics_give_red_series_whose_jumps_are_anomalies_of_the_service() {
    let signals = request_metrics_only();
    let inc = incident(3600, 40 * 60);
    let report = analyze("", &inc, &signals);
    let anomaly = |metric: &str| {
        report
            .anomalies
            .iter()
            .find(|a| a.series == SeriesKey::new("payments", metric))
            .unwrap_or_else(|| panic!("no anomaly on payments/{metric}: {:#?}", report.anomalies))
    };
    let ratio = anomaly("red_error_ratio");
    assert!(ratio.observed > 0.15 && ratio.expected.value < 0.02, "{ratio:#?}");
    assert!(ratio.start >= Timestamp::from_secs(T0 + 39 * 60), "{ratio:#?}");
    let p50 = anomaly("red_duration_p50_ms");
    assert!(p50.observed > 100.0 && p50.expected.value <= 100.0, "{p50:#?}");
    // Steady traffic: no RED anomaly for web, and none on payments' request rate.
    assert!(
        !report.anomalies.iter().any(|a| a.series.service.as_str() == "web"
            && a.series.metric.starts_with("red_")
            || a.series.metric == "red_request_rate"),
        "{:#?}",
        report.anomalies
    );
    assert_eq!(report.hypotheses[0].service.as_str(), "payments");

    // `from_metrics: false` derives nothing from them.
    let off = analyze("detect:\n  red:\n    from_metrics: false\n", &inc, &signals);
    assert!(off.anomalies.iter().all(|a| !a.series.metric.starts_with("red_")));
}

/// Two hours of one-minute samples: `db` disk usage climbing 0.1 % a minute from 50 %, and
/// three `api` pods' CPU, two flat at 30 % and one climbing 0.3 % a minute from 40 %.
fn filling_resources() -> SignalSet {
    let mut noise = Noise(17);
    let ts: Vec<Timestamp> = (0..120).map(|i| Timestamp::from_secs(T0 + 60 * i)).collect();
    let mut series = |svc: &str, metric: &str, pod: Option<&str>, f: &dyn Fn(f64) -> f64| {
        let key = SeriesKey {
            labels: faultline::core::Labels::from_pairs(pod.map(|p| ("pod", p))),
            ..SeriesKey::new(svc, metric)
        };
        let values = (0..120).map(|i| f(f64::from(i)) + 0.2 * noise.next()).collect();
        Series::new(key, ts.clone(), values).unwrap()
    };
    SignalSet {
        series: vec![
            series("db", "disk_used_pct", None, &|i| 50.0 + 0.1 * i),
            series("api", "cpu_usage_percent", Some("a"), &|_| 30.0),
            series("api", "cpu_usage_percent", Some("b"), &|_| 30.0),
            series("api", "cpu_usage_percent", Some("c"), &|i| 40.0 + 0.3 * i),
            series("api", "orders_per_second", None, &|i| 10.0 + 0.1 * i),
        ],
        ..SignalSet::default()
    }
}

#[test]
fn utilisation_forecasts_become_predictive_anomalies_with_their_eta() {
    let signals = filling_resources();
    let inc = incident(7200, 3600);
    let report = analyze("detect:\n  use:\n    predict: true\n", &inc, &signals);
    let last = T0 + 60 * 119;
    let eta_of = |key: &SeriesKey| {
        report
            .anomalies
            .iter()
            .find_map(|a| match (&a.kind, a.series == *key) {
                (faultline::core::AnomalyKind::Predictive { eta, threshold }, true) => {
                    Some((*eta, *threshold))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no predictive anomaly on {key}: {:#?}", report.anomalies))
    };
    // Disk: 61.9 % now, 90 % after another 281 minutes (inside 4 × the 2 h seen).
    let (eta, threshold) = eta_of(&SeriesKey::new("db", "disk_used_pct"));
    assert_eq!(threshold, 90.0);
    let minutes = (eta.as_secs() - last) / 60;
    assert!((250..=310).contains(&minutes), "disk full in {minutes} min");
    // CPU: the busiest pod reaches 90 % in about 47 minutes; the service-level USE series
    // (the maximum over pods, as a fraction) says so.
    let (eta, threshold) = eta_of(&SeriesKey::new("api", "use_utilization_cpu_usage_percent"));
    assert_eq!(threshold, 0.9);
    let minutes = (eta.as_secs() - last) / 60;
    assert!((35..=60).contains(&minutes), "CPU at 90 % in {minutes} min");
    // Nothing predicted for flat pods or for a metric without a capacity.
    let predictive =
        |a: &&faultline::core::Anomaly| matches!(a.kind, faultline::core::AnomalyKind::Predictive { .. });
    assert!(report.anomalies.iter().filter(predictive).all(|a| {
        a.series.metric != "orders_per_second" && a.series.labels.get("pod").is_none_or(|p| p == "c")
    }));

    // Off by default.
    let off = analyze("", &inc, &signals);
    assert!(!off.anomalies.iter().any(|a| predictive(&a)));
}

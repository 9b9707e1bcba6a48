//! The conformance suite every [`Store`] implementation must pass, written once against the
//! trait. An implementation's tests call [`run_all`] on a fresh, empty store:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use faultline_server::store::{suite, SqliteStore};
//! let dir = tempfile::tempdir().unwrap();
//! let store = SqliteStore::open(dir.path().join("suite.db")).unwrap();
//! suite::run_all(&store).await;
//! # });
//! ```
//!
//! Failures panic with a message naming the check (this module is test support).

#![allow(clippy::unwrap_used)]

use faultline::core::{
    Alert, AlertStatus, AuditRecord, ChangeEvent, ChangeKind, DurationNs, Incident, IncidentId,
    IncidentReport, IncidentStatus, Labels, LogRecord, Series, SeriesKey, Severity, SignalSet, Span,
    SpanStatus, TimeWindow, Timestamp, REPORT_VERSION,
};

use super::{IdempotencyRecord, IngestOutcome, PlanRecord, Store, MAX_CHUNK_POINTS};

const T0: i64 = 1_700_000_000;

fn ts(sec: i64) -> Timestamp {
    Timestamp::from_secs(T0 + sec)
}

/// A batch with two series of `n` points each starting at second `from` (one point a second),
/// one log line and one span per point of the first series, one deploy event at `from`, one
/// alert and one topology edge.
pub fn sample_batch(from: i64, n: usize) -> SignalSet {
    let times: Vec<Timestamp> = (0..n as i64).map(|i| ts(from + i)).collect();
    let mut b = SignalSet::default();
    for (metric, scale) in [("latency_ms", 1.0), ("errors", 0.5)] {
        let mut key = SeriesKey::new("checkout", metric);
        key.labels = Labels::from_pairs([("pod", "a")]);
        let values = (0..n).map(|i| i as f64 * scale).collect();
        b.series.push(Series::new(key, times.clone(), values).unwrap());
    }
    for (i, t) in times.iter().enumerate() {
        b.logs.push(LogRecord {
            ts: *t,
            service: "checkout".into(),
            severity: if i % 10 == 0 {
                Severity::Error
            } else {
                Severity::Info
            },
            body: format!("request {i} done"),
            attributes: Default::default(),
            trace_id: None,
            span_id: None,
            source: None,
        });
        b.spans.push(Span {
            trace_id: format!("t{i}"),
            span_id: format!("s{i}"),
            parent_span_id: None,
            service: "checkout".into(),
            operation: "POST /pay".into(),
            start: *t,
            duration: DurationNs::from_millis(12),
            status: SpanStatus::Ok,
            attributes: Default::default(),
        });
    }
    b.events.push(ChangeEvent {
        ts: ts(from),
        service: "checkout".into(),
        kind: ChangeKind::Deploy,
        version: Some(format!("v{from}")),
        description: None,
        attributes: Default::default(),
        source: None,
    });
    b.alerts.push(Alert {
        starts_at: ts(from),
        ends_at: None,
        status: AlertStatus::Firing,
        labels: Labels::from_pairs([("alertname", "HighLatency"), ("service", "checkout")]),
        annotations: Labels::new(),
        fingerprint: format!("fp{from}"),
    });
    b.topology.add_edge("frontend", "checkout", None);
    b
}

fn window(a: i64, b: i64) -> TimeWindow {
    TimeWindow {
        start: ts(a),
        end: ts(b),
    }
}

fn incident(id: &str, onset: i64) -> Incident {
    Incident {
        environment: Some("prod".into()),
        services: vec!["checkout".into()],
        ..Incident::new(
            id,
            format!("incident {id}"),
            ts(onset),
            window(onset - 600, onset + 600),
        )
    }
}

fn idem(key: &str, body: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        principal: "ci".into(),
        key: key.into(),
        route: "POST /v1/signals/ingest".into(),
        request_hash: "h1".into(),
        status: 202,
        body: body.into(),
        created_secs: 1000,
    }
}

/// Runs every check on an empty store.
pub async fn run_all(store: &dyn Store) {
    signals_round_trip_inside_the_window(store).await;
    idempotent_ingest_writes_once(store).await;
    long_series_span_several_chunks(store).await;
    resent_alerts_update_in_place(store).await;
    incidents_reports_and_plans(store).await;
    audit_appends_in_sequence(store).await;
    idempotency_records(store).await;
    store.ping().await.unwrap();
}

async fn signals_round_trip_inside_the_window(store: &dyn Store) {
    let out = store.ingest(sample_batch(0, 60), None).await.unwrap();
    let IngestOutcome::Written(c) = out else {
        panic!("first ingest must write")
    };
    assert_eq!(
        (c.points, c.series, c.logs, c.spans, c.events, c.alerts),
        (120, 2, 60, 60, 1, 1)
    );
    let s = store.signals(window(10, 19)).await.unwrap();
    assert_eq!(s.series.len(), 2, "both series overlap the window");
    for series in &s.series {
        assert_eq!(series.len(), 10, "only points inside the window: {}", series.key);
        assert_eq!(series.timestamps[0], ts(10));
        assert_eq!(series.key.labels.get("pod"), Some("a"));
    }
    let lat = s.series.iter().find(|x| x.key.metric == "latency_ms").unwrap();
    assert_eq!(lat.values[0], 10.0);
    assert_eq!(s.logs.len(), 10);
    assert!(
        s.logs.windows(2).all(|w| w[0].ts <= w[1].ts),
        "logs in time order"
    );
    assert_eq!(s.logs[0].body, "request 10 done");
    assert_eq!(s.spans.len(), 10);
    assert!(s.events.is_empty(), "the deploy at 0 is outside [10, 19]");
    assert_eq!(
        s.alerts.len(),
        1,
        "the open alert from 0 is still firing in the window"
    );
    assert_eq!(s.topology.len(), 1);
    let all = store.signals(window(-100, 100)).await.unwrap();
    assert_eq!(all.events.len(), 1);
    assert_eq!(all.events[0].version.as_deref(), Some("v0"));
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.points, stats.logs, stats.series), (120, 60, 2));
}

async fn idempotent_ingest_writes_once(store: &dyn Store) {
    let before = store.stats().await.unwrap();
    let first = store
        .ingest(sample_batch(1000, 5), Some(idem("k-ingest", "{\"first\":true}")))
        .await
        .unwrap();
    assert!(matches!(first, IngestOutcome::Written(_)));
    let second = store
        .ingest(sample_batch(1000, 5), Some(idem("k-ingest", "{\"second\":true}")))
        .await
        .unwrap();
    match second {
        IngestOutcome::Replayed(r) => assert_eq!(r.body, "{\"first\":true}", "the first response is kept"),
        other => panic!("a reused key must replay, got {other:?}"),
    }
    let after = store.stats().await.unwrap();
    assert_eq!(after.points - before.points, 10, "the batch is stored once");
    let stored = store.idempotency("ci", "k-ingest").await.unwrap().unwrap();
    assert_eq!(stored.status, 202);
}

async fn long_series_span_several_chunks(store: &dyn Store) {
    let n = MAX_CHUNK_POINTS * 2 + 5;
    let key = SeriesKey::new("bulk", "cpu");
    let times = (0..n as i64)
        .map(|i| Timestamp::from_secs(T0 + 100_000 + i))
        .collect();
    let values = (0..n).map(|i| i as f64).collect();
    let mut b = SignalSet::default();
    b.series.push(Series::new(key, times, values).unwrap());
    store.ingest(b, None).await.unwrap();
    let s = store.signals(window(100_000, 100_000 + n as i64)).await.unwrap();
    let bulk = s
        .series
        .iter()
        .find(|x| x.key.service.as_str() == "bulk")
        .unwrap();
    assert_eq!(bulk.len(), n);
    assert!(
        bulk.values.iter().enumerate().all(|(i, &v)| v == i as f64),
        "values in order"
    );
}

async fn resent_alerts_update_in_place(store: &dyn Store) {
    let mut b = SignalSet::default();
    let mut a = sample_batch(5000, 1).alerts.remove(0);
    b.alerts.push(a.clone());
    store.ingest(b.clone(), None).await.unwrap();
    a.status = AlertStatus::Resolved;
    a.ends_at = Some(ts(5100));
    b.alerts = vec![a];
    store.ingest(b, None).await.unwrap();
    let s = store.signals(window(5000, 5050)).await.unwrap();
    let mine: Vec<&Alert> = s.alerts.iter().filter(|x| x.fingerprint == "fp5000").collect();
    assert_eq!(mine.len(), 1, "a resent alert is not duplicated");
    assert_eq!(mine[0].status, AlertStatus::Resolved);
    let later = store.signals(window(5200, 5300)).await.unwrap();
    assert!(
        later.alerts.iter().all(|x| x.fingerprint != "fp5000"),
        "resolved before the window"
    );
}

async fn incidents_reports_and_plans(store: &dyn Store) {
    assert!(store
        .incident(&IncidentId("nope".into()))
        .await
        .unwrap()
        .is_none());
    store.put_incident(&incident("inc-a", 100)).await.unwrap();
    store.put_incident(&incident("inc-b", 200)).await.unwrap();
    let mut a = incident("inc-a", 100);
    a.status = IncidentStatus::Resolved;
    store.put_incident(&a).await.unwrap();
    let list = store.incidents().await.unwrap();
    assert_eq!(
        list.iter().map(|i| i.id.0.as_str()).collect::<Vec<_>>(),
        ["inc-b", "inc-a"]
    );
    assert_eq!(list[1].status, IncidentStatus::Resolved, "put replaces");
    assert_eq!(store.stats().await.unwrap().incidents, 2);

    let report = IncidentReport {
        version: REPORT_VERSION,
        incident: a.clone(),
        narrative: "n".into(),
        hypotheses: vec![],
        evidence: vec![],
        anomalies: vec![],
        templates: vec![],
        template_signals: vec![],
        alert_groups: vec![],
        blast_radius: Default::default(),
        timeline: vec![],
        plan: None,
        timings: Default::default(),
    };
    assert!(store.report(&a.id).await.unwrap().is_none());
    store.put_report(&report).await.unwrap();
    let mut r2 = report.clone();
    r2.narrative = "second".into();
    store.put_report(&r2).await.unwrap();
    assert_eq!(store.report(&a.id).await.unwrap().unwrap().narrative, "second");

    let mut plan = PlanRecord {
        id: "plan-1".into(),
        incident: "inc-a".into(),
        state: "draft".into(),
        body: serde_json::json!({"steps": [1, 2]}),
    };
    store.put_plan(&plan).await.unwrap();
    plan.state = "approved".into();
    store.put_plan(&plan).await.unwrap();
    assert_eq!(store.plan("plan-1").await.unwrap().unwrap(), plan);
    assert!(store.plan("plan-2").await.unwrap().is_none());
}

async fn audit_appends_in_sequence(store: &dyn Store) {
    let rec = |seq| AuditRecord {
        seq,
        at: ts(seq as i64),
        prev_hash: String::new(),
        payload: serde_json::json!({"event": "preflight", "seq": seq}),
        hash: format!("h{seq}"),
        signature: String::new(),
    };
    store.append_audit(&rec(0)).await.unwrap();
    store.append_audit(&rec(1)).await.unwrap();
    assert!(
        store.append_audit(&rec(5)).await.is_err(),
        "a gap in seq is refused"
    );
    assert!(
        store.append_audit(&rec(1)).await.is_err(),
        "a repeated seq is refused"
    );
    let all = store.audit().await.unwrap();
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(all[1], rec(1));
}

async fn idempotency_records(store: &dyn Store) {
    let r = idem("k-plain", "{}");
    assert!(store.put_idempotency(&r).await.unwrap());
    let mut other = r.clone();
    other.body = "{\"x\":1}".into();
    assert!(!store.put_idempotency(&other).await.unwrap(), "first writer wins");
    assert_eq!(
        store.idempotency("ci", "k-plain").await.unwrap().unwrap().body,
        "{}"
    );
    assert!(
        store
            .idempotency("someone-else", "k-plain")
            .await
            .unwrap()
            .is_none(),
        "keys are per principal"
    );
    let mut fresh = idem("k-fresh", "{}");
    fresh.created_secs = 5000;
    store.put_idempotency(&fresh).await.unwrap();
    assert!(store.purge_idempotency(2000).await.unwrap() >= 1);
    assert!(store.idempotency("ci", "k-plain").await.unwrap().is_none());
    assert!(store.idempotency("ci", "k-fresh").await.unwrap().is_some());
}

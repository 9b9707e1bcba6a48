//! 10,000 malformed requests get 4xx answers and the server keeps serving.

#![allow(clippy::unwrap_used)]

mod common;

use common::{get, request, TestServer};

/// Method, path, headers, body.
type Case = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    Vec<u8>,
);

#[test]
fn ten_thousand_malformed_requests_get_4xx_and_the_server_keeps_serving() {
    let s = TestServer::start(|c, _| {
        c.max_body_bytes = 64 << 10;
        c.anonymous_rate_per_sec = 1e9;
    });
    let big = vec![b'['; 70 << 10];
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/v1/signals/ingest",
            vec![("Content-Type", "application/json")],
            b"{".to_vec(),
        ),
        (
            "POST",
            "/v1/signals/ingest",
            vec![("Content-Type", "application/json")],
            b"{\"metrics\":[{\"ts\":1}]}".to_vec(),
        ),
        (
            "POST",
            "/v1/signals/ingest",
            vec![("Content-Type", "application/json")],
            b"{\"bogus\":[]}".to_vec(),
        ),
        (
            "POST",
            "/v1/signals/ingest",
            vec![("Content-Type", "application/json")],
            vec![0xff, 0xfe, 0x00, 0x80],
        ),
        (
            "POST",
            "/v1/signals/ingest",
            vec![("Content-Type", "application/json")],
            big.clone(),
        ),
        (
            "POST",
            "/v1/signals/ingest",
            vec![("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
            b"not gzip".to_vec(),
        ),
        (
            "POST",
            "/v1/signals/ingest",
            vec![("Content-Type", "application/json"), ("Content-Encoding", "br")],
            b"{}".to_vec(),
        ),
        (
            "POST",
            "/v1/otlp/v1/logs",
            vec![("Content-Type", "application/x-protobuf")],
            vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
        ),
        (
            "POST",
            "/api/v1/write",
            vec![("Content-Type", "application/x-protobuf")],
            b"\xff\xff\xff".to_vec(),
        ),
        (
            "POST",
            "/v1/ingest/alertmanager",
            vec![("Content-Type", "application/json")],
            b"{\"alerts\":[{}]}".to_vec(),
        ),
        (
            "POST",
            "/v1/ingest/no-such-format",
            vec![("Content-Type", "application/json")],
            b"{}".to_vec(),
        ),
        (
            "POST",
            "/v1/events",
            vec![("Content-Type", "application/json")],
            b"[{\"service\":\"\"}]".to_vec(),
        ),
        (
            "POST",
            "/v1/incidents/open",
            vec![("Content-Type", "application/json")],
            b"{\"onset\":\"never\"}".to_vec(),
        ),
        (
            "POST",
            "/v1/incidents/x/analyze",
            vec![("Content-Type", "application/json")],
            b"{\"window\":1}".to_vec(),
        ),
        (
            "POST",
            "/v1/signals/ingest",
            vec![("Idempotency-Key", "")],
            b"{}".to_vec(),
        ),
        ("GET", "/v1/incidents/%ff%fe/report?format=%00", vec![], vec![]),
        ("GET", "/v1/nope", vec![], vec![]),
        ("DELETE", "/v1/incidents", vec![], vec![]),
    ];
    let mut non_4xx = Vec::new();
    for i in 0..10_000 {
        let (m, p, h, b) = &cases[i % cases.len()];
        let r = request(s.addr, m, p, h, b).unwrap_or_else(|e| panic!("request {i} ({m} {p}) failed: {e}"));
        if !(400..500).contains(&r.status) {
            non_4xx.push((i, r.status, *p, r.text()));
        }
    }
    assert!(
        non_4xx.is_empty(),
        "{} non-4xx answers, first: {:?}",
        non_4xx.len(),
        non_4xx.first()
    );
    assert_eq!(get(s.addr, "/healthz").status, 200);
    assert_eq!(get(s.addr, "/readyz").status, 200);
    let m = get(s.addr, "/metrics").text();
    assert!(
        m.contains("faultline_http_responses_total{class=\"5xx\"} 0"),
        "{m}"
    );
}

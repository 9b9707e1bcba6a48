//! `GET /v1/stream`: a raw SSE client sees the events of ingest (online detection), open,
//! analyze and every fix step, in id order; `?types=` filters; `Last-Event-ID` resumes;
//! `?access_token=` authenticates the stream (and only the stream); `/metrics` counts clients.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{get, post_json, request, TestServer};

/// One parsed server-sent event.
#[derive(Debug, Clone)]
struct Sse {
    id: Option<u64>,
    event: String,
    data: serde_json::Value,
}

/// A minimal SSE client over HTTP/1.1 (chunked bodies decoded as they arrive).
struct SseClient {
    s: TcpStream,
    raw: Vec<u8>,
    body: Vec<u8>,
    status: u16,
    chunked: bool,
}

impl SseClient {
    fn open(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Self {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        let mut c = Self {
            s,
            raw: Vec::new(),
            body: Vec::new(),
            status: 0,
            chunked: false,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(end) = c.raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&c.raw[..end]).to_string();
                c.status = head.split(' ').nth(1).unwrap().parse().unwrap();
                c.chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
                c.raw.drain(..end + 4);
                break;
            }
            assert!(Instant::now() < deadline, "no response head");
            c.read_some();
        }
        c
    }

    fn read_some(&mut self) -> bool {
        let mut buf = [0u8; 8192];
        match self.s.read(&mut buf) {
            Ok(0) => false,
            Ok(n) => {
                self.raw.extend_from_slice(&buf[..n]);
                true
            }
            Err(_) => false,
        }
    }

    fn decode(&mut self) {
        if !self.chunked {
            self.body.append(&mut self.raw);
            return;
        }
        while let Some(nl) = self.raw.windows(2).position(|w| w == b"\r\n") {
            let size =
                usize::from_str_radix(std::str::from_utf8(&self.raw[..nl]).unwrap().trim(), 16).unwrap();
            if self.raw.len() < nl + 2 + size + 2 {
                break;
            }
            self.body.extend_from_slice(&self.raw[nl + 2..nl + 2 + size]);
            self.raw.drain(..nl + 2 + size + 2);
        }
    }

    /// The next event (comments skipped), or None after `wait`.
    fn next(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = Instant::now() + wait;
        loop {
            self.decode();
            if let Some(end) = self.body.windows(2).position(|w| w == b"\n\n") {
                let block = String::from_utf8(self.body.drain(..end + 2).collect()).unwrap();
                let (mut id, mut event, mut data) = (None, String::from("message"), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().parse().unwrap());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some(Sse {
                    id,
                    event,
                    data: serde_json::from_str(&data).unwrap(),
                });
            }
            if Instant::now() >= deadline {
                return None;
            }
            self.read_some();
        }
    }

    /// Events until one satisfies `stop` (inclusive), failing after `wait`.
    fn until(&mut self, wait: Duration, stop: impl Fn(&Sse) -> bool) -> Vec<Sse> {
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        while Instant::now() < deadline {
            if let Some(e) = self.next(Duration::from_millis(500)) {
                let done = stop(&e);
                out.push(e);
                if done {
                    return out;
                }
            }
        }
        panic!("condition not met within {wait:?}; got {out:#?}");
    }
}

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn stream_carries_ingest_incident_and_fix_events_in_order() {
    // The preloaded (analysed) deploy-regression incident gets a fix plan below.
    let s = TestServer::start(common::preload_deploy_example);
    let preloaded_id = get(s.addr, "/v1/incidents").json()["incidents"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut all = SseClient::open(s.addr, "/v1/stream", &[]);
    assert_eq!(all.status, 200);
    let mut plans_only = SseClient::open(s.addr, "/v1/stream?types=plan.state", &[]);

    // Online detection: a steady series, then a spike → anomaly, then an automatic incident.
    let t0 = 1_700_000_000i64;
    let point = |i: i64, v: f64| serde_json::json!({"ts": (t0 + i * 10) * 1_000_000_000, "service": "payments", "metric": "latency_ms", "value": v});
    let steady: Vec<_> = (0..300)
        .map(|i| point(i, 100.0 + ((i * 37) % 11) as f64))
        .collect();
    // The spike is the first point of its batch: the event's direction and expected value
    // come from the online detector's own baseline, not from points around it.
    let spike: Vec<_> = (300..311)
        .map(|i| {
            point(
                i,
                if i == 300 {
                    5000.0
                } else {
                    100.0 + ((i * 37) % 11) as f64
                },
            )
        })
        .collect();
    for batch in [steady, spike] {
        let r = post_json(
            s.addr,
            "/v1/signals/ingest",
            &serde_json::json!({"metrics": batch}).to_string(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let got = all.until(WAIT, |e| e.event == "incident.analyzed");
    let anomaly = got
        .iter()
        .find(|e| e.event == "anomaly")
        .expect("an anomaly event");
    assert_eq!(anomaly.data["service"], "payments");
    assert_eq!(anomaly.data["direction"], "up");
    assert_eq!(anomaly.data["value"], 5000.0);
    let expected = anomaly.data["expected"]
        .as_f64()
        .expect("the detector's expected value");
    assert!((100.0..=110.0).contains(&expected), "{expected}");
    assert!(anomaly.data["score"].as_f64().unwrap() >= 0.5);
    let opened = got
        .iter()
        .find(|e| e.event == "incident.opened")
        .expect("incident.opened");
    assert_eq!(opened.data["automatic"], true);
    let auto_id = opened.data["incident"]["id"].as_str().unwrap().to_owned();
    assert_eq!(got.last().unwrap().data["incident"], auto_id.as_str());

    // Open and analyse by hand.
    let open = serde_json::json!({"id": "inc-live", "title": "by hand", "onset": (t0 + 3000) * 1_000_000_000i64, "services": ["payments"]});
    assert_eq!(
        post_json(s.addr, "/v1/incidents/open", &open.to_string()).status,
        201
    );
    let e = all.until(WAIT, |e| e.event == "incident.opened");
    assert_eq!(e.last().unwrap().data["incident"]["id"], "inc-live");
    assert_eq!(e.last().unwrap().data["automatic"], false);
    assert_eq!(
        post_json(s.addr, "/v1/incidents/inc-live/analyze", "").status,
        200
    );
    let e = all.until(WAIT, |e| e.event == "incident.analyzed");
    assert_eq!(e.last().unwrap().data["incident"], "inc-live");

    // Fix steps: plan (new → draft), preflight (draft → preflighted), then a rejection.
    let r = post_json(
        s.addr,
        "/v1/fix/plan",
        &serde_json::json!({"incident": preloaded_id, "environment": "staging"}).to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let plan = r.json()["plan"]["id"].as_str().unwrap().to_owned();
    let p = serde_json::json!({"plan": plan}).to_string();
    let r = post_json(s.addr, "/v1/fix/preflight", &p);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["plan"]["state"], "preflighted", "{}", r.text());
    let reject = serde_json::json!({"plan": plan, "approve": false}).to_string();
    assert_eq!(post_json(s.addr, "/v1/fix/approve", &reject).status, 200);
    let e: Vec<_> = (0..3)
        .map(|_| plans_only.next(WAIT).expect("a plan.state event"))
        .collect();
    assert!(
        e.iter().all(|e| e.event == "plan.state"
            && e.data["plan"] == plan.as_str()
            && e.data["by"] == "anonymous"),
        "the filter keeps plan.state only: {e:?}"
    );
    let steps: Vec<(String, String)> = e
        .iter()
        .map(|e| {
            (
                e.data["from"].as_str().unwrap_or("-").to_owned(),
                e.data["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("-", "draft"),
            ("draft", "preflighted"),
            ("preflighted", "rejected")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );

    // Ids grow strictly across everything seen.
    let ids: Vec<u64> = got.iter().filter_map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let metrics = get(s.addr, "/metrics").text();
    assert!(metrics.contains("faultline_stream_clients 2"), "{metrics}");
    let sent = metrics
        .lines()
        .find_map(|l| l.strip_prefix("faultline_stream_events_sent_total "))
        .unwrap();
    assert!(sent.parse::<u64>().unwrap() >= 5, "{metrics}");
}

#[test]
fn resume_replays_missed_events_and_an_old_id_gets_lagged() {
    let s = TestServer::start(common::preload_deploy_example);
    // Preload analysed one incident before anyone connected: it is in the ring.
    let mut first = SseClient::open(s.addr, "/v1/stream", &[("Last-Event-ID", "1")]);
    let lag = first.next(WAIT).unwrap();
    assert_eq!(lag.event, "lagged", "{lag:?}");
    assert!(lag.id.is_none());
    assert!(lag.data["skipped"].is_null());
    let analyzed = first.next(WAIT).unwrap();
    assert_eq!(analyzed.event, "incident.analyzed");
    let id0 = analyzed.id.unwrap();
    drop(first);

    for n in 0..3 {
        let open = serde_json::json!({"id": format!("r-{n}"), "onset": "2024-05-14T10:30:00Z"});
        assert_eq!(
            post_json(s.addr, "/v1/incidents/open", &open.to_string()).status,
            201
        );
    }
    // Reconnect after the analysis: exactly the three openings, in order, then live ones.
    let mut again = SseClient::open(s.addr, "/v1/stream", &[("Last-Event-ID", &id0.to_string())]);
    let ids: Vec<String> = (0..3)
        .map(|_| {
            again.next(WAIT).unwrap().data["incident"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["r-0", "r-1", "r-2"]);
    assert!(again.next(Duration::from_millis(500)).is_none());
    let open = serde_json::json!({"id": "r-3", "onset": "2024-05-14T10:30:00Z"});
    assert_eq!(
        post_json(s.addr, "/v1/incidents/open", &open.to_string()).status,
        201
    );
    assert_eq!(again.next(WAIT).unwrap().data["incident"]["id"], "r-3");
    // The query form of the resume point works too.
    let mut q = SseClient::open(
        s.addr,
        &format!("/v1/stream?last_event_id={id0}&types=incident.opened"),
        &[],
    );
    assert_eq!(q.next(WAIT).unwrap().data["incident"]["id"], "r-0");
}

#[test]
fn the_stream_takes_a_query_token_and_refuses_bad_requests() {
    let s = TestServer::start(|c, dir| {
        let keys = dir.join("keys.yaml");
        std::fs::write(
            &keys,
            "keys:\n  - {name: viewer, key: viewer-key-1, role: viewer}\n  - {name: ci, key: operator-key-1, role: operator}\n",
        )
        .unwrap();
        c.api_keys_file = Some(keys);
    });
    assert_eq!(SseClient::open(s.addr, "/v1/stream", &[]).status, 401);
    assert_eq!(
        SseClient::open(s.addr, "/v1/stream?access_token=nope-nope", &[]).status,
        401
    );
    let mut c = SseClient::open(s.addr, "/v1/stream?access_token=viewer-key-1", &[]);
    assert_eq!(c.status, 200);
    assert_eq!(
        SseClient::open(s.addr, "/v1/stream", &[("X-Api-Key", "viewer-key-1")]).status,
        200
    );
    // Only the stream reads the query token.
    assert_eq!(get(s.addr, "/v1/incidents?access_token=viewer-key-1").status, 401);
    let h = [
        ("X-Api-Key", "operator-key-1"),
        ("Content-Type", "application/json"),
    ];
    let open = br#"{"id": "k-1", "onset": "2024-05-14T10:30:00Z"}"#;
    assert_eq!(
        request(s.addr, "POST", "/v1/incidents/open", &h, open)
            .unwrap()
            .status,
        201
    );
    let e = c.next(WAIT).unwrap();
    assert_eq!(
        (e.event.as_str(), &e.data["incident"]["id"]),
        ("incident.opened", &serde_json::json!("k-1"))
    );
    // Bad filters and ids, and clients that do not accept an event stream.
    let v = [("X-Api-Key", "viewer-key-1")];
    assert_eq!(SseClient::open(s.addr, "/v1/stream?types=nope", &v).status, 400);
    assert_eq!(
        SseClient::open(
            s.addr,
            "/v1/stream",
            &[("X-Api-Key", "viewer-key-1"), ("Last-Event-ID", "x")]
        )
        .status,
        400
    );
    assert_eq!(request(s.addr, "GET", "/v1/stream", &v, b"").unwrap().status, 406);
}

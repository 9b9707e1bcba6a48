//! The incident room over HTTP: the page and its assets are public, typed and locked down by
//! CSP; the page-support routes need a key and return what the page draws (incident list with
//! top hypotheses, reduced series with their anomalies). The page itself is tested in headless
//! Chromium by scripts/test-browser.sh.

#![allow(clippy::unwrap_used)]

mod common;

use common::{get, request, TestServer};

fn with_example_and_keys() -> TestServer {
    TestServer::start(|c, dir| {
        common::preload_deploy_example(c, dir);
        common::api_keys(
            c,
            dir,
            "keys:\n  - {name: vera, key: viewer-key-01, role: viewer}\n",
        );
    })
}

fn get_key(s: &TestServer, path: &str, key: &str) -> common::Resp {
    request(
        s.addr,
        "GET",
        path,
        &[("Authorization", &format!("Bearer {key}"))],
        b"",
    )
    .unwrap()
}

#[test]
fn room_assets_are_public_typed_csp_locked_and_revalidated() {
    let s = with_example_and_keys();
    let root = get(s.addr, "/");
    assert_eq!(root.status, 303);
    assert_eq!(root.header("location"), Some("/room"));
    for (path, ty) in [
        ("/room", "text/html"),
        ("/room/app.js", "text/javascript"),
        ("/room/app.css", "text/css"),
    ] {
        let r = get(s.addr, path);
        assert_eq!(r.status, 200, "{path} is public even with keys configured");
        assert!(r.header("content-type").unwrap().starts_with(ty), "{path}");
        let csp = r.header("content-security-policy").unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        let etag = r.header("etag").unwrap().to_owned();
        let again = request(s.addr, "GET", path, &[("If-None-Match", &etag)], b"").unwrap();
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
    }
    assert!(get(s.addr, "/room").text().contains("/room/app.js"));
    // The document lists the room's routes (the OpenAPI test checks every route).
    let doc = get(s.addr, "/v1/openapi.json").json();
    assert!(doc["paths"]["/room"]["get"].is_object());
    assert!(doc["paths"]["/v1/room/incidents/{id}/series"]["get"].is_object());
}

#[test]
fn page_support_routes_need_a_key_and_return_what_the_page_draws() {
    let s = with_example_and_keys();
    assert_eq!(get(s.addr, "/v1/room/incidents").status, 401);
    assert_eq!(get_key(&s, "/v1/room/session", "wrong").status, 401);

    let who = get_key(&s, "/v1/room/session", "viewer-key-01").json();
    assert_eq!(who["principal"]["name"], "vera");
    assert_eq!(who["principal"]["role"], "viewer");
    assert_eq!(who["runners"], serde_json::json!(["dry-run"]));

    let list = get_key(&s, "/v1/room/incidents", "viewer-key-01").json();
    let items = list["incidents"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    let item = &items[0];
    assert_eq!(item["analyzed"], true, "preloaded incidents are analysed");
    assert_eq!(item["top"]["service"], "checkout", "{item}");
    assert!(item["top"]["confidence"].as_f64().unwrap() > 0.0);
    let id = item["incident"]["id"].as_str().unwrap();

    let r = get_key(
        &s,
        &format!("/v1/room/incidents/{id}/series?max=3&points=64"),
        "viewer-key-01",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let series = r.json();
    let list = series["series"].as_array().unwrap();
    assert!(!list.is_empty() && list.len() <= 3, "{}", list.len());
    let report = get_key(&s, &format!("/v1/incidents/{id}/report"), "viewer-key-01").json();
    let anomaly_ids: Vec<&str> = report["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    let mut drawn = 0;
    for s in list {
        let pts = s["points"].as_array().unwrap();
        assert!(pts.len() <= 64, "reduced to the asked size: {}", pts.len());
        assert!(
            pts.windows(2).all(|w| w[0][0].as_i64() <= w[1][0].as_i64()),
            "time order"
        );
        for a in s["anomalies"].as_array().unwrap() {
            assert!(anomaly_ids.contains(&a.as_str().unwrap()), "{a} is in the report");
        }
        drawn += usize::from(!pts.is_empty());
    }
    assert!(
        drawn >= 1,
        "at least one anomalous series is in the store: {series}"
    );
    assert!(
        !list[0]["anomalies"].as_array().unwrap().is_empty(),
        "strongest anomalous series first"
    );

    let missing = get_key(&s, "/v1/room/incidents/nope/series", "viewer-key-01");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("content-type"), Some("application/problem+json"));
}

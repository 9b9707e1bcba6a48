//! `faultline serve` with zero configuration: starts on the embedded store with the example
//! incidents preloaded, prints its URL, serves the API and the HTML report, stops on SIGTERM.
#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

/// One HTTP/1.1 GET on loopback; returns (status, body).
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_starts_with_zero_configuration_and_preloads_the_examples() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("FAULTLINE_LOG_FORMAT", "none")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let mut url = None;
    while stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = line.split("http://").nth(1) {
            url = rest.split('/').next().map(str::to_owned);
            break;
        }
        line.clear();
    }
    let addr = url.expect("the server prints its URL");

    assert_eq!(get(&addr, "/healthz").0, 200);
    let (status, body) = get(&addr, "/v1/incidents");
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ids: Vec<&str> = list["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), faultline::synth::EXAMPLES.len(), "{body}");
    let (status, page) = get(&addr, &format!("/v1/incidents/{}/report?format=html", ids[0]));
    assert_eq!(status, 200);
    assert!(
        page.contains("<svg"),
        "the HTML report charts the anomalous series"
    );
    assert!(
        dir.path().join("faultline.db").exists(),
        "the embedded store is a file in the working directory"
    );

    // SIGTERM is a graceful shutdown: exit status 0.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

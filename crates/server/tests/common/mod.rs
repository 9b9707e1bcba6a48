//! Test support: a plain HTTP/1.1 client over loopback TCP and an in-process server.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use faultline_server::{LogFormat, Server, ServerConfig};

/// A response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Sends one request (`Connection: close`) and reads the whole response.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad response"))
}

pub fn parse_response(raw: &[u8]) -> Option<Resp> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n")?;
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).ok()?.trim(), 16).ok()?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(rest.get(nl + 2..nl + 2 + n)?);
            rest = rest.get(nl + 4 + n..)?;
        }
        body = out;
    }
    Some(Resp {
        status,
        headers,
        body,
    })
}

pub fn get(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path, &[], b"").unwrap()
}

pub fn post_json(addr: SocketAddr, path: &str, body: &str) -> Resp {
    request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .unwrap()
}

/// A server running on its own runtime until dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn start(configure: impl FnOnce(&mut ServerConfig, &std::path::Path)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig {
            listen_addr: "127.0.0.1:0".into(),
            database_path: dir.path().join("faultline.db"),
            log_format: LogFormat::None,
            ..Default::default()
        };
        configure(&mut config, dir.path());
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let server = match Server::bind(config).await {
                    Ok(s) => s,
                    Err(e) => {
                        addr_tx.send(Err(e.to_string())).unwrap();
                        return;
                    }
                };
                addr_tx.send(Ok(server.local_addr())).unwrap();
                server
                    .run_until(async move {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap()
            .unwrap_or_else(|e| panic!("server did not start: {e}"));
        Self {
            addr,
            dir,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes the deploy-regression example bundle under `dir/incidents` and points the server's
/// preload there.
pub fn preload_deploy_example(c: &mut ServerConfig, dir: &std::path::Path) {
    let g = faultline::synth::generate(
        faultline::synth::Scenario::DeployRegression,
        &faultline::synth::SynthConfig::default(),
    );
    let bundles = dir.join("incidents");
    g.write_to(&bundles.join("deploy")).unwrap();
    c.preload_dir = Some(bundles);
}

/// Writes `keys_yaml` as the server's API keys file.
pub fn api_keys(c: &mut ServerConfig, dir: &std::path::Path, keys_yaml: &str) {
    let keys = dir.join("keys.yaml");
    std::fs::write(&keys, keys_yaml).unwrap();
    c.api_keys_file = Some(keys);
}

/// A faultline JSON batch with `n` points of metric `metric` from second `from`, and `n` log lines.
pub fn batch_json(metric: &str, from: i64, n: usize) -> String {
    let t0 = 1_700_000_000i64;
    let metrics: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({"ts": (t0 + from + i as i64) * 1_000_000_000, "service": "checkout", "metric": metric, "value": i as f64}))
        .collect();
    let logs: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({"ts": (t0 + from + i as i64) * 1_000_000_000, "service": "checkout", "severity": "INFO", "body": format!("{metric} line {i}")}))
        .collect();
    serde_json::json!({"metrics": metrics, "logs": logs}).to_string()
}

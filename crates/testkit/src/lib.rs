//! Test support shared by the workspace's tests; not published.
//!
//! [`serve`] starts a loopback HTTP/1.1 server on a free port that answers each connection with
//! the next canned [`Answer`] and hands every [`Request`] it read to the test through a channel
//! (before answering, so a test can see a request whose answer is delayed past a client
//! timeout). With the `tls` feature, [`serve_tls`] does the same over HTTPS with a self-signed
//! certificate made for the server, whose PEM the test may trust or not.
//!
//! ```
//! use std::io::{Read, Write};
//! let (base, seen) = faultline_testkit::serve(vec![faultline_testkit::Answer::ok(r#"{"ok":true}"#)]);
//! let mut s = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
//! s.write_all(b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi").unwrap();
//! let mut answer = String::new();
//! s.read_to_string(&mut answer).unwrap();
//! assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with(r#"{"ok":true}"#));
//! let req = seen.recv().unwrap();
//! assert_eq!((req.line.as_str(), req.body.as_str()), ("POST /hook HTTP/1.1", "hi"));
//! assert_eq!(req.header("content-length"), Some("2"));
//! ```

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

/// One request as the fake server read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The request line without its line end, e.g. `POST /v1/chat/completions HTTP/1.1`.
    pub line: String,
    /// Headers in order, names lower-cased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes, lossily decoded as UTF-8).
    pub body: String,
}

impl Request {
    /// The first header of that (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Request line, `name: value` header lines and body, as on the wire (CRLF line ends,
    /// lower-case header names).
    pub fn raw(&self) -> String {
        let mut s = format!("{}\r\n", self.line);
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s.push_str(&self.body);
        s
    }
}

/// A canned answer: status, JSON body, and how long to wait before sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body, sent as `application/json`.
    pub body: String,
    /// Wait before answering (after the request was handed to the test).
    pub delay: Duration,
}

impl Answer {
    /// 200 with this body, at once.
    pub fn ok(body: impl Into<String>) -> Self {
        Self::status(200, body)
    }

    /// This status and body, at once.
    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// The same answer sent after `delay`.
    pub fn after(self, delay: Duration) -> Self {
        Self { delay, ..self }
    }
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// Reads one HTTP/1.1 request (head and a `Content-Length` body).
pub fn read_request(reader: &mut impl BufRead) -> io::Result<Request> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            return Err(invalid("connection closed inside the request head".into()));
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| invalid(format!("header line without a colon: {h:?}")))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let mut req = Request {
        line: line.trim_end().to_owned(),
        headers,
        body: String::new(),
    };
    let len: usize = match req.header("content-length") {
        Some(v) => v.parse().map_err(|_| invalid(format!("content-length {v:?}")))?,
        None => 0,
    };
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    req.body = String::from_utf8_lossy(&body).into_owned();
    Ok(req)
}

/// Writes `answer` as an HTTP/1.1 response that closes the connection.
pub fn write_answer(w: &mut impl Write, answer: &Answer) -> io::Result<()> {
    write!(
        w,
        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        answer.status,
        answer.body.len(),
        answer.body
    )?;
    w.flush()
}

/// One exchange on an accepted stream: read the request, hand it to `seen`, wait, answer.
pub fn exchange<S: Read + Write>(
    stream: &mut S,
    answer: &Answer,
    seen: impl FnOnce(Request),
) -> io::Result<()> {
    let req = read_request(&mut BufReader::new(&mut *stream))?;
    seen(req);
    std::thread::sleep(answer.delay);
    write_answer(stream, answer)
}

fn bind() -> (TcpListener, String) {
    // A test without a loopback interface cannot run at all; failing loudly is right.
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port to listen on");
    let addr = listener.local_addr().expect("a bound listener has an address");
    (listener, addr.to_string())
}

/// Serves `answers.len()` connections on a loopback port, answering each with the next answer.
/// Returns the base URL (`http://127.0.0.1:port`) and the requests as they arrive.
pub fn serve(answers: Vec<Answer>) -> (String, mpsc::Receiver<Request>) {
    let (listener, addr) = bind();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for answer in answers {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let tx = tx.clone();
            let _ = exchange(&mut stream, &answer, move |r| {
                let _ = tx.send(r);
            });
        }
    });
    (format!("http://{addr}"), rx)
}

/// An HTTPS fake server: see [`serve_tls`].
#[cfg(feature = "tls")]
pub struct TlsServer {
    /// `https://127.0.0.1:port`.
    pub base: String,
    /// PEM of the self-signed certificate (for 127.0.0.1) the server presents.
    pub ca_pem: String,
    /// Per connection: the request, or `None` when the TLS handshake failed (the client did
    /// not trust the certificate, so it sent nothing).
    pub seen: mpsc::Receiver<Option<Request>>,
}

/// Like [`serve`] over HTTPS, with a certificate for 127.0.0.1 made for this server.
#[cfg(feature = "tls")]
pub fn serve_tls(answers: Vec<Answer>) -> TlsServer {
    use std::sync::Arc;
    // Certificate generation and rustls set-up with fixed, valid inputs do not fail.
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("a certificate");
    let ca_pem = ck.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        ck.key_pair.serialize_der(),
    ));
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default versions")
            .with_no_client_auth()
            .with_single_cert(vec![ck.cert.der().clone()], key)
            .expect("a fresh key pair matches its certificate");
    let config = Arc::new(config);
    let (listener, addr) = bind();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for answer in answers {
            let Ok((tcp, _)) = listener.accept() else {
                return;
            };
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                return;
            };
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            // Drive the handshake first: a client that rejects the certificate ends here.
            let handshake_ok = loop {
                if !tls.conn.is_handshaking() {
                    break true;
                }
                if tls.conn.complete_io(&mut tls.sock).is_err() {
                    break false;
                }
            };
            if !handshake_ok {
                let _ = tx.send(None);
                continue;
            }
            let tx2 = tx.clone();
            let _ = exchange(&mut tls, &answer, move |r| {
                let _ = tx2.send(Some(r));
            });
            tls.conn.send_close_notify();
            let _ = tls.conn.complete_io(&mut tls.sock);
        }
    });
    TlsServer {
        base: format!("https://{addr}"),
        ca_pem,
        seen: rx,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_head_or_bad_length_is_an_error_not_a_hang() {
        let mut r = io::Cursor::new(b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec());
        assert!(read_request(&mut r).is_err());
        let mut r = io::Cursor::new(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n".to_vec());
        assert!(read_request(&mut r)
            .unwrap_err()
            .to_string()
            .contains("content-length"));
    }

    #[test]
    fn raw_puts_the_head_and_body_back_together() {
        let mut r = io::Cursor::new(b"POST /a HTTP/1.1\r\nX-Key: V\r\nContent-Length: 3\r\n\r\nabc".to_vec());
        let req = read_request(&mut r).unwrap();
        assert_eq!(
            req.raw(),
            "POST /a HTTP/1.1\r\nx-key: V\r\ncontent-length: 3\r\n\r\nabc"
        );
    }
}

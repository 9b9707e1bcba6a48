//! RS256 JWTs over HTTP: a token signed by the configured key's private half is accepted with
//! its role; another key, algorithm confusion (HS256 keyed with the public key), `none`,
//! and expired tokens are refused.

#![allow(clippy::unwrap_used)]

mod common;

use common::{request, TestServer};
use faultline_server::auth::{b64url_encode, hmac_sha256, pem_decode};

/// The key pair fixtures (read at run time: a path baked in at compile time goes stale when
/// the build is reused from another checkout).
fn data() -> String {
    format!(
        "{}/tests/data/rs256",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign_rs256(private_pem_file: &str, header: &str, claims: &str) -> String {
    let pem = std::fs::read_to_string(format!("{}/{private_pem_file}", data())).unwrap();
    let (_, der) = pem_decode(&pem).unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
    let msg = format!(
        "{}.{}",
        b64url_encode(header.as_bytes()),
        b64url_encode(claims.as_bytes())
    );
    let mut sig = vec![0u8; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        msg.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{msg}.{}", b64url_encode(&sig))
}

fn claims(sub: &str, role: &str, exp: i64) -> String {
    serde_json::json!({"sub": sub, "role": role, "exp": exp, "iat": now()}).to_string()
}

fn server() -> TestServer {
    TestServer::start(|c, dir| {
        let keys = dir.join("keys.yaml");
        std::fs::write(
            &keys,
            format!(
                "keys:\n  - {{name: ci, key: operator-key-1, role: operator}}\njwt_hs256_secret: \"{}\"\njwt_rs256_public_key_file: {}/signer_public.pem\n",
                "s".repeat(40),
                data()
            ),
        )
        .unwrap();
        c.api_keys_file = Some(keys);
    })
}

fn call(s: &TestServer, token: &str, method: &str, path: &str, body: &str) -> u16 {
    let auth = format!("Bearer {token}");
    request(
        s.addr,
        method,
        path,
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .unwrap()
    .status
}

const RS: &str = r#"{"alg":"RS256","typ":"JWT"}"#;
const OPEN: &str = r#"{"id": "jwt-1", "onset": "2024-05-14T10:30:00Z"}"#;

#[test]
fn rs256_tokens_are_accepted_with_their_role() {
    let s = server();
    let viewer = sign_rs256("signer_private.pem", RS, &claims("vera", "viewer", now() + 600));
    assert_eq!(call(&s, &viewer, "GET", "/v1/incidents", ""), 200);
    assert_eq!(call(&s, &viewer, "POST", "/v1/incidents/open", OPEN), 403);
    let operator = sign_rs256("signer_private.pem", RS, &claims("otto", "operator", now() + 600));
    assert_eq!(call(&s, &operator, "POST", "/v1/incidents/open", OPEN), 201);
}

#[test]
fn wrong_key_confusion_none_and_expiry_are_refused() {
    let s = server();
    let c = claims("mallory", "admin", now() + 600);
    // Signed by another key.
    let other = sign_rs256("other_private.pem", RS, &c);
    assert_eq!(call(&s, &other, "GET", "/v1/incidents", ""), 401);
    // HS256 keyed with the server's RSA public key (algorithm confusion).
    let public = std::fs::read(format!("{}/signer_public.pem", data())).unwrap();
    let h = b64url_encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = b64url_encode(c.as_bytes());
    let mac = hmac_sha256(&public, format!("{h}.{body}").as_bytes());
    assert_eq!(
        call(
            &s,
            &format!("{h}.{body}.{}", b64url_encode(&mac)),
            "GET",
            "/v1/incidents",
            ""
        ),
        401
    );
    // alg none, without a signature.
    let none = format!("{}.{body}.", b64url_encode(br#"{"alg":"none"}"#));
    assert_eq!(call(&s, &none, "GET", "/v1/incidents", ""), 401);
    // Expired beyond the leeway; not valid yet.
    let old = sign_rs256("signer_private.pem", RS, &claims("vera", "viewer", now() - 120));
    assert_eq!(call(&s, &old, "GET", "/v1/incidents", ""), 401);
    let early = serde_json::json!({"sub": "vera", "role": "viewer", "exp": now() + 900, "nbf": now() + 600});
    let early = sign_rs256("signer_private.pem", RS, &early.to_string());
    assert_eq!(call(&s, &early, "GET", "/v1/incidents", ""), 401);
    // The API key still works beside JWTs.
    let r = request(
        s.addr,
        "GET",
        "/v1/incidents",
        &[("X-Api-Key", "operator-key-1")],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200);
}

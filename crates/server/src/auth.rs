//! Who is calling and what they may do: API keys (and HS256 JWTs) with roles, and per-caller
//! rate limits.
//!
//! Roles and what they allow:
//!
//! | role | read | ingest, open/analyze incidents | plan, preflight, execute, verify | approve |
//! |---|---|---|---|---|
//! | viewer | yes | | | |
//! | operator | yes | yes | yes | |
//! | approver | yes | | | yes |
//! | admin | yes | yes | yes | yes |
//!
//! Nobody approves a production plan they created themselves (checked by the fix routes).
//! Keys are kept only as SHA-256 digests in memory and never logged; [`Principal`] carries the
//! key's *name*.
//!
//! JWTs: `Authorization: Bearer <header.claims.signature>` signed HS256 with the keys file's
//! `jwt_hs256_secret`; claims `sub` (the principal), `role` and `exp` (seconds, required).
//! HMAC per RFC 2104, JWT per RFC 7519.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Result, ServerError};

/// A caller's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads incidents, reports, plans and metrics.
    Viewer,
    /// Ingests signals, opens and analyses incidents, plans and runs fixes.
    Operator,
    /// Approves or rejects plans (and reads).
    Approver,
    /// Everything.
    Admin,
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Any GET.
    Read,
    /// Ingest, open or analyse incidents.
    Write,
    /// Plan, preflight, execute, verify fixes.
    Operate,
    /// Approve or reject a plan.
    Approve,
}

impl Role {
    /// Whether this role may do `action`.
    pub fn allows(self, action: Action) -> bool {
        matches!(
            (self, action),
            (_, Action::Read)
                | (Role::Admin, _)
                | (Role::Operator, Action::Write | Action::Operate)
                | (Role::Approver, Action::Approve)
        )
    }
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The key's or token subject's name (never the secret).
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// One entry of the keys file.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// Name shown in logs and audit records.
    pub name: String,
    /// The key in clear (prefer `key_sha256`).
    #[serde(default)]
    pub key: Option<String>,
    /// Hex SHA-256 digest of the key.
    #[serde(default)]
    pub key_sha256: Option<String>,
    /// Role.
    pub role: Role,
    /// Sustained requests per second (default 100).
    #[serde(default)]
    pub rate_per_sec: Option<f64>,
    /// Burst size, requests (default 2 × rate, at least 10).
    #[serde(default)]
    pub burst: Option<f64>,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEntry")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The API keys file (YAML or JSON).
///
/// ```yaml
/// keys:
///   - {name: ci, key_sha256: "9f86d0…", role: operator, rate_per_sec: 200}
///   - {name: alice, key: "s3cret", role: approver}
/// jwt_hs256_secret: "a long random string"   # optional
/// ```
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysFile {
    /// API keys.
    pub keys: Vec<KeyEntry>,
    /// Secret for HS256 JWTs; none disables JWTs.
    pub jwt_hs256_secret: Option<String>,
}

impl std::fmt::Debug for KeysFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeysFile")
            .field("keys", &self.keys)
            .field(
                "jwt_hs256_secret",
                &self.jwt_hs256_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

struct Limit {
    rate: f64,
    burst: f64,
}

/// Resolves credentials to principals and enforces rate limits.
pub struct Auth {
    /// None: anonymous admin access (loopback only, enforced by config validation).
    keys: Option<HashMap<[u8; 32], (Principal, Limit)>>,
    jwt_secret: Option<Vec<u8>>,
    anonymous: Limit,
    /// Every token subject gets the default per-key limit.
    jwt_limit: Limit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("keys", &self.keys.as_ref().map(HashMap::len))
            .finish_non_exhaustive()
    }
}

/// Why a request was refused before reaching its route.
#[derive(Debug, Clone, PartialEq)]
pub enum Denied {
    /// No or bad credentials (401).
    Unauthenticated(&'static str),
    /// Not allowed for the role (403).
    Forbidden {
        /// The caller's role.
        role: Role,
        /// What the route needs.
        action: Action,
    },
    /// Over the rate limit (429); retry after this many seconds.
    RateLimited(u64),
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Hex SHA-256 of a key, as written in `key_sha256`.
pub fn key_digest_hex(key: &str) -> String {
    sha256(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Auth {
    /// Anonymous admin access with a rate limit (no keys configured).
    pub fn anonymous(rate_per_sec: f64) -> Self {
        Self {
            keys: None,
            jwt_secret: None,
            anonymous: Limit {
                rate: rate_per_sec,
                burst: (rate_per_sec * 2.0).max(10.0),
            },
            jwt_limit: Limit {
                rate: 100.0,
                burst: 200.0,
            },
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Access by the keys of a parsed keys file.
    pub fn from_keys(file: KeysFile) -> Result<Self> {
        let mut keys = HashMap::new();
        for (i, k) in file.keys.into_iter().enumerate() {
            let field = |f: &str| format!("keys[{i}].{f}");
            let digest = match (&k.key, &k.key_sha256) {
                (Some(key), None) if key.len() >= 8 => sha256(key.as_bytes()),
                (Some(_), None) => {
                    return Err(ServerError::config(field("key"), "shorter than 8 characters"))
                }
                (None, Some(h)) => parse_hex32(h)
                    .ok_or_else(|| ServerError::config(field("key_sha256"), "not 64 hex digits"))?,
                _ => {
                    return Err(ServerError::config(
                        field("key"),
                        "give exactly one of key and key_sha256",
                    ))
                }
            };
            let rate = k.rate_per_sec.unwrap_or(100.0);
            if !(rate > 0.0 && rate.is_finite()) {
                return Err(ServerError::config(
                    field("rate_per_sec"),
                    "must be a positive number",
                ));
            }
            let burst = k.burst.unwrap_or((rate * 2.0).max(10.0)).max(1.0);
            let principal = Principal {
                name: k.name.clone(),
                role: k.role,
            };
            if keys.insert(digest, (principal, Limit { rate, burst })).is_some() {
                return Err(ServerError::config(field("key"), "the same key is listed twice"));
            }
        }
        let jwt_secret = match file.jwt_hs256_secret {
            Some(s) if s.len() < 32 => {
                return Err(ServerError::config("jwt_hs256_secret", "shorter than 32 bytes"));
            }
            other => other.map(String::into_bytes),
        };
        Ok(Self {
            keys: Some(keys),
            jwt_secret,
            anonymous: Limit {
                rate: 1.0,
                burst: 1.0,
            },
            jwt_limit: Limit {
                rate: 100.0,
                burst: 200.0,
            },
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Reads a keys file (YAML or JSON).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| ServerError::Io {
            path: path.to_owned(),
            source,
        })?;
        let file: KeysFile = serde_norway::from_str(&text)
            .map_err(|e| ServerError::config(path.display().to_string(), e.to_string()))?;
        Self::from_keys(file)
    }

    /// Whether requests must carry credentials.
    pub fn required(&self) -> bool {
        self.keys.is_some()
    }

    /// The principal for a request's credential (`Authorization: Bearer …` or `X-Api-Key`),
    /// then its rate limit and the route's `action`.
    pub fn check(
        &self,
        credential: Option<&str>,
        action: Action,
        now_secs: i64,
    ) -> Result<Principal, Denied> {
        let (principal, limit) = match &self.keys {
            None => (
                Principal {
                    name: "anonymous".into(),
                    role: Role::Admin,
                },
                &self.anonymous,
            ),
            Some(keys) => {
                let cred = credential.ok_or(Denied::Unauthenticated("missing credentials"))?;
                if let Some((p, l)) = keys.get(&sha256(cred.as_bytes())) {
                    (p.clone(), l)
                } else if cred.matches('.').count() == 2 && self.jwt_secret.is_some() {
                    (self.verify_jwt(cred, now_secs)?, &self.jwt_limit)
                } else {
                    return Err(Denied::Unauthenticated("unknown API key"));
                }
            }
        };
        self.take_token(&principal.name, limit)?;
        if !principal.role.allows(action) {
            return Err(Denied::Forbidden {
                role: principal.role,
                action,
            });
        }
        Ok(principal)
    }

    fn take_token(&self, who: &str, limit: &Limit) -> Result<(), Denied> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let b = buckets.entry(who.to_owned()).or_insert(Bucket {
            tokens: limit.burst,
            last: now,
        });
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * limit.rate).min(limit.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - b.tokens) / limit.rate).ceil().max(1.0);
            Err(Denied::RateLimited(wait as u64))
        }
    }

    fn verify_jwt(&self, token: &str, now_secs: i64) -> Result<Principal, Denied> {
        let bad = Denied::Unauthenticated("invalid token");
        let secret = self.jwt_secret.as_deref().ok_or(bad.clone())?;
        let mut parts = token.split('.');
        let (h, c, s) = match (parts.next(), parts.next(), parts.next()) {
            (Some(h), Some(c), Some(s)) => (h, c, s),
            _ => return Err(bad),
        };
        let header: serde_json::Value =
            serde_json::from_slice(&b64url_decode(h).ok_or(bad.clone())?).map_err(|_| bad.clone())?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(Denied::Unauthenticated("token algorithm must be HS256"));
        }
        let sig = b64url_decode(s).ok_or(bad.clone())?;
        let expected = hmac_sha256(secret, format!("{h}.{c}").as_bytes());
        if !constant_time_eq(&sig, &expected) {
            return Err(bad);
        }
        #[derive(Deserialize)]
        struct Claims {
            sub: String,
            role: Role,
            exp: i64,
        }
        let claims: Claims =
            serde_json::from_slice(&b64url_decode(c).ok_or(bad.clone())?).map_err(|_| bad.clone())?;
        if claims.exp <= now_secs {
            return Err(Denied::Unauthenticated("token expired"));
        }
        Ok(Principal {
            name: claims.sub,
            role: claims.role,
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha256(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Base64url without padding (RFC 4648 §5), as JWTs use.
pub fn b64url_encode(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 3);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..=c.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=').as_bytes();
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for c in s.chunks(4) {
        let mut n = 0u32;
        for (i, &b) in c.iter().enumerate() {
            n |= val(b)? << (18 - 6 * i);
        }
        for i in 0..c.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Auth {
        Auth::from_keys(KeysFile {
            keys: vec![
                KeyEntry {
                    name: "ci".into(),
                    key: Some("operator-key-1".into()),
                    key_sha256: None,
                    role: Role::Operator,
                    rate_per_sec: Some(1.0),
                    burst: Some(3.0),
                },
                KeyEntry {
                    name: "alice".into(),
                    key: None,
                    key_sha256: Some(key_digest_hex("approver-key-1")),
                    role: Role::Approver,
                    rate_per_sec: None,
                    burst: None,
                },
            ],
            jwt_hs256_secret: Some("x".repeat(32)),
        })
        .unwrap()
    }

    #[test]
    fn roles_gate_actions() {
        let a = keys();
        assert_eq!(
            a.check(Some("operator-key-1"), Action::Write, 0).unwrap().name,
            "ci"
        );
        assert!(matches!(
            a.check(Some("operator-key-1"), Action::Approve, 0),
            Err(Denied::Forbidden { .. })
        ));
        assert!(a.check(Some("approver-key-1"), Action::Approve, 0).is_ok());
        assert!(matches!(
            a.check(Some("approver-key-1"), Action::Write, 0),
            Err(Denied::Forbidden { .. })
        ));
        assert!(matches!(
            a.check(None, Action::Read, 0),
            Err(Denied::Unauthenticated(_))
        ));
        assert!(matches!(
            a.check(Some("guess"), Action::Read, 0),
            Err(Denied::Unauthenticated(_))
        ));
    }

    #[test]
    fn rate_limit_refuses_past_the_burst() {
        let a = keys();
        for _ in 0..3 {
            a.check(Some("operator-key-1"), Action::Read, 0).unwrap();
        }
        assert!(
            matches!(a.check(Some("operator-key-1"), Action::Read, 0), Err(Denied::RateLimited(s)) if s >= 1)
        );
        // Another key has its own bucket.
        assert!(a.check(Some("approver-key-1"), Action::Read, 0).is_ok());
    }

    #[test]
    fn hs256_tokens_are_checked() {
        let a = keys();
        let mk = |claims: &str, secret: &[u8]| {
            let h = b64url_encode(br#"{"alg":"HS256","typ":"JWT"}"#);
            let c = b64url_encode(claims.as_bytes());
            let s = b64url_encode(&hmac_sha256(secret, format!("{h}.{c}").as_bytes()));
            format!("{h}.{c}.{s}")
        };
        let secret = "x".repeat(32);
        let ok = mk(r#"{"sub":"bob","role":"viewer","exp":2000}"#, secret.as_bytes());
        assert_eq!(a.check(Some(&ok), Action::Read, 1000).unwrap().name, "bob");
        assert!(matches!(
            a.check(Some(&ok), Action::Read, 3000),
            Err(Denied::Unauthenticated("token expired"))
        ));
        let forged = mk(
            r#"{"sub":"bob","role":"admin","exp":2000}"#,
            b"wrong-secret-wrong-secret-wrong!",
        );
        assert!(a.check(Some(&forged), Action::Read, 1000).is_err());
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn base64url_round_trips() {
        for n in 0..10 {
            let v: Vec<u8> = (0..n).map(|i| (i * 37 + 1) as u8).collect();
            assert_eq!(b64url_decode(&b64url_encode(&v)).unwrap(), v);
        }
    }

    #[test]
    fn bad_key_entries_name_their_field() {
        let e = Auth::from_keys(KeysFile {
            keys: vec![KeyEntry {
                name: "x".into(),
                key: Some("short".into()),
                key_sha256: None,
                role: Role::Viewer,
                rate_per_sec: None,
                burst: None,
            }],
            jwt_hs256_secret: None,
        })
        .unwrap_err();
        assert!(e.to_string().contains("keys[0].key"), "{e}");
        assert!(!format!("{:?}", KeysFile::default()).contains("secret\":"));
    }
}

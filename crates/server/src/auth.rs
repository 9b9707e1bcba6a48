//! Who is calling and what they may do: API keys (and HS256 / RS256 JWTs) with roles, and
//! per-caller rate limits.
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
//! `jwt_hs256_secret`, or RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3) with the
//! private key whose public half is `jwt_rs256_public_key_pem` / `jwt_rs256_public_key_file`
//! (SPKI `BEGIN PUBLIC KEY` or PKCS#1 `BEGIN RSA PUBLIC KEY` PEM, 2048–8192 bits). Claims `sub`
//! (the principal), `role`, `exp` (seconds, required) and `nbf` (optional), both checked with
//! `jwt_leeway_secs` of clock skew (default 30). The header's `alg` must name a configured
//! verifier exactly: `none` and every other algorithm are refused, an HS256 token is never
//! checked against the RSA key nor an RS256 token against the secret (no algorithm
//! confusion), and a header with `crit` extensions is refused (RFC 7515 §4.1.11). RSA
//! verification is ring's (public-key operation only). HMAC per RFC 2104, JWT per RFC 7519.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
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
/// jwt_rs256_public_key_file: idp-public.pem    # optional; or jwt_rs256_public_key_pem: inline
/// jwt_leeway_secs: 30                          # optional clock skew on exp / nbf
/// ```
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysFile {
    /// API keys.
    pub keys: Vec<KeyEntry>,
    /// Secret for HS256 JWTs; none disables HS256.
    pub jwt_hs256_secret: Option<String>,
    /// PEM public key (SPKI or PKCS#1 RSA) verifying RS256 JWTs, inline; none (and no
    /// `jwt_rs256_public_key_file`) disables RS256.
    pub jwt_rs256_public_key_pem: Option<String>,
    /// The same, read from a file (relative to the keys file's folder).
    pub jwt_rs256_public_key_file: Option<PathBuf>,
    /// Clock skew allowed on `exp` and `nbf`, seconds (default 30, at most 300).
    pub jwt_leeway_secs: Option<u64>,
}

impl std::fmt::Debug for KeysFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeysFile")
            .field("keys", &self.keys)
            .field(
                "jwt_hs256_secret",
                &self.jwt_hs256_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("jwt_rs256_public_key_file", &self.jwt_rs256_public_key_file)
            .field("jwt_leeway_secs", &self.jwt_leeway_secs)
            .finish_non_exhaustive()
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
    /// DER `RSAPublicKey` (PKCS#1) verifying RS256 tokens.
    jwt_rs256: Option<Vec<u8>>,
    jwt_leeway_secs: i64,
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
            jwt_rs256: None,
            jwt_leeway_secs: DEFAULT_LEEWAY_SECS,
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
        let jwt_rs256 = match (file.jwt_rs256_public_key_pem, file.jwt_rs256_public_key_file) {
            (Some(_), Some(_)) => {
                return Err(ServerError::config(
                    "jwt_rs256_public_key_pem",
                    "give either jwt_rs256_public_key_pem or jwt_rs256_public_key_file, not both",
                ))
            }
            (Some(pem), None) => Some(
                rsa_public_key_der(&pem)
                    .map_err(|reason| ServerError::config("jwt_rs256_public_key_pem", reason))?,
            ),
            (None, Some(path)) => {
                let pem = std::fs::read_to_string(&path).map_err(|source| ServerError::Io {
                    path: path.clone(),
                    source,
                })?;
                Some(rsa_public_key_der(&pem).map_err(|reason| {
                    ServerError::config(format!("jwt_rs256_public_key_file ({})", path.display()), reason)
                })?)
            }
            (None, None) => None,
        };
        let jwt_leeway_secs = match file.jwt_leeway_secs {
            Some(l) if l > MAX_LEEWAY_SECS => {
                return Err(ServerError::config(
                    "jwt_leeway_secs",
                    format!("{l} is more than {MAX_LEEWAY_SECS} seconds"),
                ))
            }
            Some(l) => l as i64,
            None => DEFAULT_LEEWAY_SECS,
        };
        Ok(Self {
            keys: Some(keys),
            jwt_secret,
            jwt_rs256,
            jwt_leeway_secs,
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
        let mut file: KeysFile = serde_norway::from_str(&text)
            .map_err(|e| ServerError::config(path.display().to_string(), e.to_string()))?;
        if let (Some(key), Some(dir)) = (&file.jwt_rs256_public_key_file, path.parent()) {
            if key.is_relative() {
                file.jwt_rs256_public_key_file = Some(dir.join(key));
            }
        }
        Self::from_keys(file).map_err(|e| match e {
            ServerError::Config { field, reason } => ServerError::Config {
                field: format!("{}: {field}", path.display()),
                reason,
            },
            other => other,
        })
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
                } else if cred.matches('.').count() == 2
                    && (self.jwt_secret.is_some() || self.jwt_rs256.is_some())
                {
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
        let mut parts = token.split('.');
        let (h, c, s) = match (parts.next(), parts.next(), parts.next()) {
            (Some(h), Some(c), Some(s)) => (h, c, s),
            _ => return Err(bad),
        };
        #[derive(Deserialize)]
        struct Header {
            alg: String,
            #[serde(default)]
            crit: Option<serde_json::Value>,
        }
        let header: Header =
            serde_json::from_slice(&b64url_decode(h).ok_or(bad.clone())?).map_err(|_| bad.clone())?;
        if header.crit.is_some() {
            return Err(Denied::Unauthenticated(
                "token header has unsupported crit extensions",
            ));
        }
        let sig = b64url_decode(s).ok_or(bad.clone())?;
        let signed = &token.as_bytes()[..h.len() + 1 + c.len()];
        // The algorithm picks the verifier, and only a configured one: no `none`, and neither
        // key is ever used for the other algorithm.
        match (header.alg.as_str(), &self.jwt_secret, &self.jwt_rs256) {
            ("HS256", Some(secret), _) => {
                if !constant_time_eq(&sig, &hmac_sha256(secret, signed)) {
                    return Err(bad);
                }
            }
            ("RS256", _, Some(der)) => {
                ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, der)
                    .verify(signed, &sig)
                    .map_err(|_| bad.clone())?;
            }
            ("HS256" | "RS256", _, _) => {
                return Err(Denied::Unauthenticated(
                    "token algorithm is not enabled on this server",
                ))
            }
            _ => return Err(Denied::Unauthenticated("token algorithm must be HS256 or RS256")),
        }
        #[derive(Deserialize)]
        struct Claims {
            sub: String,
            role: Role,
            exp: i64,
            #[serde(default)]
            nbf: Option<i64>,
        }
        let claims: Claims =
            serde_json::from_slice(&b64url_decode(c).ok_or(bad.clone())?).map_err(|_| bad.clone())?;
        if claims.exp.saturating_add(self.jwt_leeway_secs) <= now_secs {
            return Err(Denied::Unauthenticated("token expired"));
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf.saturating_sub(self.jwt_leeway_secs) > now_secs)
        {
            return Err(Denied::Unauthenticated("token not valid yet"));
        }
        Ok(Principal {
            name: claims.sub,
            role: claims.role,
        })
    }
}

/// Default clock skew allowed on `exp` and `nbf`, seconds.
const DEFAULT_LEEWAY_SECS: i64 = 30;
/// Largest `jwt_leeway_secs` accepted.
const MAX_LEEWAY_SECS: u64 = 300;

/// The label and DER bytes of the first PEM block of `text` (RFC 7468).
pub fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + 11..];
    let label_end = rest.find("-----")?;
    let label = &rest[..label_end];
    let body_and_end = &rest[label_end + 5..];
    let end = body_and_end.find(&format!("-----END {label}-----"))?;
    let body: String = body_and_end[..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    Some((label.to_owned(), b64_decode(&body, false)?))
}

/// One DER element: (tag, contents, what follows).
fn der_next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        rest = &rest[n..];
        len
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The DER `RSAPublicKey` (PKCS#1) of a PEM public key, checked to be 2048–8192 bits.
fn rsa_public_key_der(pem: &str) -> std::result::Result<Vec<u8>, String> {
    const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let (label, der) = pem_decode(pem).ok_or("not a PEM block (-----BEGIN PUBLIC KEY-----)")?;
    let pkcs1 = match label.as_str() {
        "RSA PUBLIC KEY" => der,
        "PUBLIC KEY" => {
            let bad = || "not an RSA SubjectPublicKeyInfo".to_owned();
            let (_, spki, _) = der_next(&der).filter(|t| t.0 == 0x30).ok_or_else(bad)?;
            let (_, alg, rest) = der_next(spki).filter(|t| t.0 == 0x30).ok_or_else(bad)?;
            let (_, oid, _) = der_next(alg).filter(|t| t.0 == 0x06).ok_or_else(bad)?;
            if oid != RSA_ENCRYPTION {
                return Err("the public key is not an RSA key (RS256 needs RSA)".into());
            }
            let (_, bits, _) = der_next(rest).filter(|t| t.0 == 0x03).ok_or_else(bad)?;
            match bits.split_first() {
                Some((0, key)) => key.to_vec(),
                _ => return Err(bad()),
            }
        }
        l if l.contains("PRIVATE KEY") => {
            return Err("this is a private key: give the public key (openssl pkey -pubout)".into())
        }
        "CERTIFICATE" => {
            return Err("this is a certificate: give its public key (openssl x509 -pubkey -noout)".into())
        }
        other => return Err(format!("unexpected PEM block {other:?}; expected PUBLIC KEY")),
    };
    let bad = || "not a PKCS#1 RSAPublicKey".to_owned();
    let (_, seq, _) = der_next(&pkcs1).filter(|t| t.0 == 0x30).ok_or_else(bad)?;
    let (_, n, rest) = der_next(seq).filter(|t| t.0 == 0x02).ok_or_else(bad)?;
    der_next(rest).filter(|t| t.0 == 0x02).ok_or_else(bad)?;
    let n = &n[n.iter().take_while(|&&b| b == 0).count()..];
    let bits = n.first().map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
    if !(2048..=8192).contains(&bits) {
        return Err(format!(
            "the RSA key has {bits} bits; RS256 here needs 2048 to 8192"
        ));
    }
    Ok(pkcs1)
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
    b64_decode(s, true)
}

/// Base64 (RFC 4648 §4, or §5 with `url`), padding optional.
fn b64_decode(s: &str, url: bool) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' if url => 62,
            b'_' if url => 63,
            b'+' if !url => 62,
            b'/' if !url => 63,
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

    const SIGNER_PRIVATE: &str = include_str!("../tests/data/rs256/signer_private.pem");
    const SIGNER_PUBLIC: &str = include_str!("../tests/data/rs256/signer_public.pem");
    const SIGNER_PUBLIC_PKCS1: &str = include_str!("../tests/data/rs256/signer_public_pkcs1.pem");
    const OTHER_PUBLIC: &str = include_str!("../tests/data/rs256/other_public.pem");

    /// A token with `header` and `claims`, signed RS256 with the test signer's private key.
    fn rs256(header: &str, claims: &str) -> String {
        let (_, der) = pem_decode(SIGNER_PRIVATE).unwrap();
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

    fn rs_only(public_pem: &str) -> Auth {
        Auth::from_keys(KeysFile {
            jwt_rs256_public_key_pem: Some(public_pem.into()),
            ..Default::default()
        })
        .unwrap()
    }

    const RS: &str = r#"{"alg":"RS256","typ":"JWT"}"#;

    #[test]
    fn rs256_tokens_verify_with_the_configured_key_only() {
        let claims = r#"{"sub":"carol","role":"operator","exp":2000}"#;
        let t = rs256(RS, claims);
        for pem in [SIGNER_PUBLIC, SIGNER_PUBLIC_PKCS1] {
            let p = rs_only(pem).check(Some(&t), Action::Write, 1000).unwrap();
            assert_eq!((p.name.as_str(), p.role), ("carol", Role::Operator));
        }
        assert!(matches!(
            rs_only(OTHER_PUBLIC).check(Some(&t), Action::Read, 1000),
            Err(Denied::Unauthenticated("invalid token"))
        ));
        // Tampered claims: the signature no longer matches.
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = b64url_encode(br#"{"sub":"carol","role":"admin","exp":2000}"#);
        parts[1] = &forged;
        assert!(rs_only(SIGNER_PUBLIC)
            .check(Some(&parts.join(".")), Action::Read, 1000)
            .is_err());
    }

    #[test]
    fn algorithm_confusion_and_none_are_refused() {
        let a = keys(); // HS256 secret and the RS256 key both configured
        let claims = r#"{"sub":"mallory","role":"admin","exp":2000}"#;
        let c = b64url_encode(claims.as_bytes());
        // HS256 "signed" with the RSA public key's PEM as the HMAC secret (the classic attack).
        let h = b64url_encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let sig = hmac_sha256(SIGNER_PUBLIC.as_bytes(), format!("{h}.{c}").as_bytes());
        let confused = format!("{h}.{c}.{}", b64url_encode(&sig));
        assert!(a.check(Some(&confused), Action::Read, 1000).is_err());
        // An RS256 header over an HMAC signature made with the shared secret.
        let h = b64url_encode(RS.as_bytes());
        let sig = hmac_sha256("x".repeat(32).as_bytes(), format!("{h}.{c}").as_bytes());
        assert!(a
            .check(
                Some(&format!("{h}.{c}.{}", b64url_encode(&sig))),
                Action::Read,
                1000
            )
            .is_err());
        for alg in ["none", "None", "RS512", "PS256", "ES256", "rs256"] {
            let h = b64url_encode(format!(r#"{{"alg":"{alg}"}}"#).as_bytes());
            assert!(
                matches!(
                    a.check(Some(&format!("{h}.{c}.")), Action::Read, 1000),
                    Err(Denied::Unauthenticated(_))
                ),
                "{alg}"
            );
        }
        // A valid RS256 token is refused where only HS256 is configured.
        let hs_only = Auth::from_keys(KeysFile {
            jwt_hs256_secret: Some("x".repeat(32)),
            ..Default::default()
        })
        .unwrap();
        let t = rs256(RS, claims);
        assert_eq!(
            hs_only.check(Some(&t), Action::Read, 1000),
            Err(Denied::Unauthenticated(
                "token algorithm is not enabled on this server"
            ))
        );
        // crit extensions are refused.
        let t = rs256(r#"{"alg":"RS256","crit":["exp"]}"#, claims);
        assert!(a.check(Some(&t), Action::Read, 1000).is_err());
    }

    #[test]
    fn exp_and_nbf_have_a_small_leeway() {
        let a = rs_only(SIGNER_PUBLIC);
        let t = rs256(RS, r#"{"sub":"d","role":"viewer","exp":1000,"nbf":900}"#);
        assert!(a.check(Some(&t), Action::Read, 1020).is_ok()); // 20 s past exp, leeway 30
        assert_eq!(
            a.check(Some(&t), Action::Read, 1030),
            Err(Denied::Unauthenticated("token expired"))
        );
        assert!(a.check(Some(&t), Action::Read, 880).is_ok()); // 20 s before nbf
        assert_eq!(
            a.check(Some(&t), Action::Read, 860),
            Err(Denied::Unauthenticated("token not valid yet"))
        );
        // No exp: refused.
        let t = rs256(RS, r#"{"sub":"d","role":"viewer"}"#);
        assert!(a.check(Some(&t), Action::Read, 0).is_err());
    }

    #[test]
    fn bad_rs256_keys_are_named() {
        let err = |pem: &str| {
            Auth::from_keys(KeysFile {
                jwt_rs256_public_key_pem: Some(pem.into()),
                ..Default::default()
            })
            .unwrap_err()
            .to_string()
        };
        assert!(
            err(SIGNER_PRIVATE).contains("private key"),
            "{}",
            err(SIGNER_PRIVATE)
        );
        assert!(err("hello").contains("jwt_rs256_public_key_pem"));
        let e = Auth::from_keys(KeysFile {
            jwt_rs256_public_key_pem: Some(SIGNER_PUBLIC.into()),
            jwt_rs256_public_key_file: Some("k.pem".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("not both"), "{e}");
        let e = Auth::from_keys(KeysFile {
            jwt_leeway_secs: Some(3600),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("jwt_leeway_secs"), "{e}");
    }

    #[test]
    fn keys_file_reads_the_public_key_file_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("idp.pem"), SIGNER_PUBLIC).unwrap();
        let path = dir.path().join("keys.yaml");
        std::fs::write(&path, "keys: []\njwt_rs256_public_key_file: idp.pem\n").unwrap();
        let a = Auth::from_file(&path).unwrap();
        let t = rs256(RS, r#"{"sub":"e","role":"viewer","exp":2000}"#);
        assert_eq!(a.check(Some(&t), Action::Read, 1000).unwrap().name, "e");
    }

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
            jwt_rs256_public_key_pem: Some(SIGNER_PUBLIC.into()),
            ..Default::default()
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
        // The standard alphabet is only for PEM.
        assert_eq!(b64_decode("+/8=", false).unwrap(), vec![0xfb, 0xff]);
        assert!(b64url_decode("+/8").is_none());
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
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("keys[0].key"), "{e}");
        assert!(!format!("{:?}", KeysFile::default()).contains("secret\":"));
    }
}

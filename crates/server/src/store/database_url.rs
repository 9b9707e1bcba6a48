//! [`DatabaseUrl`]: a PostgreSQL connection string whose password never reaches a log.

use serde::{Deserialize, Serialize};

/// A PostgreSQL connection string: a URL (`postgres://user:password@host:port/dbname?sslmode=disable`)
/// or libpq `key=value` pairs (`host=/run/pg dbname=faultline`).
///
/// It holds a secret, so `Debug` and `Display` print it with the password replaced by `***`;
/// only [`DatabaseUrl::expose`] gives the text back, for the one place that connects.
///
/// ```
/// use faultline_server::store::DatabaseUrl;
/// let url = DatabaseUrl::new("postgres://app:s3cret@127.0.0.1:5432/faultline");
/// assert_eq!(url.to_string(), "postgres://app:***@127.0.0.1:5432/faultline");
/// assert!(!format!("{url:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a connection string (not validated here; the store parses it).
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The connection string with its password, for connecting. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The connection string with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let s = self.0.as_str();
        if let Some(scheme_end) = s.find("://") {
            let rest = &s[scheme_end + 3..];
            // The authority ends at the first '/', '?' or '#' after the last '@' of the
            // userinfo; a password may itself contain '@', '/' or '?' when not percent-encoded,
            // so the userinfo is everything up to the last '@' before the path.
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let userinfo_end = rest.rfind('@').filter(|&at| at < authority_end).or_else(|| {
                // An unencoded '/' or '?' inside the password: fall back to the last '@'.
                rest.rfind('@')
            });
            let mut out = redact_query(&s[..scheme_end + 3]);
            match userinfo_end {
                Some(at) => {
                    let userinfo = &rest[..at];
                    match userinfo.find(':') {
                        Some(colon) => {
                            out.push_str(&userinfo[..colon]);
                            out.push_str(":***");
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push_str(&redact_query(&rest[at..]));
                }
                None => out.push_str(&redact_query(rest)),
            }
            out
        } else {
            redact_key_values(s)
        }
    }
}

/// Replaces the value of a `password=` query parameter.
fn redact_query(s: &str) -> String {
    let Some(q) = s.find('?') else {
        return s.to_owned();
    };
    let mut out = s[..=q].to_owned();
    for (i, pair) in s[q + 1..].split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => {
                out.push_str(k);
                out.push_str("=***");
            }
            _ => out.push_str(pair),
        }
    }
    out
}

/// Replaces the value of `password=…` in libpq `key=value` form (values may be quoted with
/// `'`, with `\'` and `\\` escapes).
fn redact_key_values(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // Copy whitespace.
        if b[i].is_ascii_whitespace() {
            out.push(b[i] as char);
            i += 1;
            continue;
        }
        // A key up to '=' (or whitespace).
        let key_start = i;
        while i < b.len() && b[i] != b'=' && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = &s[key_start..i];
        out.push_str(key);
        while i < b.len() && b[i].is_ascii_whitespace() {
            out.push(b[i] as char);
            i += 1;
        }
        if i < b.len() && b[i] == b'=' {
            out.push('=');
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                out.push(b[i] as char);
                i += 1;
            }
            let value_start = i;
            if i < b.len() && b[i] == b'\'' {
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
            } else {
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
            let i_clamped = i.min(b.len());
            if key.eq_ignore_ascii_case("password") {
                out.push_str("***");
            } else {
                out.push_str(&s[value_start..i_clamped]);
            }
            i = i_clamped;
        }
    }
    out
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_redacted_everywhere() {
        for (url, shown) in [
            ("postgres://u:pw@h:5432/db", "postgres://u:***@h:5432/db"),
            ("postgresql://u@h/db", "postgresql://u@h/db"),
            (
                "postgres://h/db?sslmode=disable",
                "postgres://h/db?sslmode=disable",
            ),
            (
                "postgres://u:p@ss/w?rd@h/db?password=x&sslmode=disable",
                "postgres://u:***@h/db?password=***&sslmode=disable",
            ),
            ("postgres://u:a%40b@h/db", "postgres://u:***@h/db"),
        ] {
            let u = DatabaseUrl::new(url);
            assert_eq!(u.redacted(), shown, "{url}");
            assert_eq!(u.expose(), url);
        }
    }

    #[test]
    fn key_value_passwords_are_redacted() {
        let u = DatabaseUrl::new("host=/tmp/pg password='a b\\'c' user=x dbname=d");
        assert_eq!(u.redacted(), "host=/tmp/pg password=*** user=x dbname=d");
        let u = DatabaseUrl::new("password = secret host=h");
        assert_eq!(u.redacted(), "password = *** host=h");
        assert!(!format!("{u:?}").contains("secret"));
    }

    #[test]
    fn serde_is_the_plain_string() {
        let u: DatabaseUrl = serde_json::from_str("\"postgres://u:p@h/d\"").unwrap();
        assert_eq!(serde_json::to_string(&u).unwrap(), "\"postgres://u:p@h/d\"");
    }
}

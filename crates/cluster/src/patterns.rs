//! Grok-style named patterns that type the parameters of a template.
//!
//! Masking ([`crate::masking`]) decides *where* the variables of a line are without any
//! pattern; this module says *what* a variable's value is (`IPV4`, `UUID`, `DURATION`, …), so
//! a host can index, aggregate or redact by type. A [`PatternSet`] holds named regular
//! expressions tried in order (user patterns first, then the built-in set); a pattern may
//! reference earlier ones as `%{NAME}`, as in Logstash grok. Each pattern must match a whole
//! value. Typing runs on parameters only (after mining), never in the miner's hot path.
//!
//! Built-in names, in the order tried: `UUID`, `TIMESTAMP_ISO8601`, `DATE`, `TIME`, `MAC`,
//! `IPV4_PORT`, `IPV4`, `IPV6`, `URL`, `EMAIL`, `DURATION`, `SIZE`, `INT`, `NUMBER`, `HEX`, `PATH`,
//! `BOOL`, `WORD`.

use serde::{Deserialize, Serialize};

use crate::{ClusterError, ClusterId, TemplateMiner};

/// The built-in patterns, in the order they are tried (most specific first).
pub const BUILTIN_PATTERNS: &[(&str, &str)] = &[
    (
        "UUID",
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    ),
    (
        "TIMESTAMP_ISO8601",
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?",
    ),
    (
        "DATE",
        r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4}",
    ),
    ("TIME", r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?"),
    ("MAC", r"(?:[0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}"),
    ("IPV4_PORT", r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]{1,5}"),
    ("IPV4", r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}"),
    ("IPV6", r"(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}"),
    ("URL", r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+"),
    ("EMAIL", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    (
        "DURATION",
        r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h|d))+|[0-9]+(?:\.[0-9]+)? ?(?:ms|sec|secs|seconds|minutes|hours)",
    ),
    ("SIZE", r"[0-9]+(?:\.[0-9]+)? ?(?:[kKMGTP]i?[bB]|[bB]|bytes)"),
    ("INT", r"[+-]?[0-9]+"),
    ("NUMBER", r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"),
    (
        "HEX",
        r"0[xX][0-9a-fA-F]+|[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*|[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*",
    ),
    ("PATH", r"(?:[A-Za-z]:)?(?:[/\\][^/\\\s]*)+"),
    ("BOOL", r"(?i:true|false|yes|no|on|off)"),
    ("WORD", r"\w+"),
];

/// A user pattern: a name and a regular expression (which may use `%{NAME}` of built-in
/// or earlier user patterns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedPattern {
    /// The type name reported for values it matches (`ORDER_ID`).
    pub name: String,
    /// The expression (`ord-%{INT}`), matched against a whole value.
    pub pattern: String,
}

/// Configuration of a [`PatternSet`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PatternConfig {
    /// User patterns, tried before the built-in ones, in order.
    pub patterns: Vec<NamedPattern>,
    /// Whether the built-in patterns are tried after the user ones.
    pub builtins: bool,
}

impl Default for PatternConfig {
    fn default() -> Self {
        Self {
            patterns: Vec::new(),
            builtins: true,
        }
    }
}

/// A value with its type (the name of the first pattern that matches all of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedValue {
    /// The parameter value.
    pub value: String,
    /// The pattern name, `None` when no pattern matches.
    pub kind: Option<String>,
}

/// Compiled named patterns, tried in order.
///
/// ```
/// use faultline_cluster::{NamedPattern, PatternConfig, PatternSet};
/// let set = PatternSet::try_new(&PatternConfig {
///     patterns: vec![NamedPattern { name: "ORDER".into(), pattern: "ord-%{INT}".into() }],
///     builtins: true,
/// })
/// .unwrap();
/// assert_eq!(set.type_of("ord-1234"), Some("ORDER"));
/// assert_eq!(set.type_of("10.0.0.1:8080"), Some("IPV4_PORT"));
/// assert_eq!(set.type_of("35ms"), Some("DURATION"));
/// assert_eq!(set.type_of("-- --"), None);
/// ```
#[derive(Debug, Clone)]
pub struct PatternSet {
    names: Vec<String>,
    regexes: Vec<regex::Regex>,
}

/// Longest expression after `%{NAME}` expansion (bytes): bounds hostile configurations.
const MAX_EXPANDED: usize = 1 << 16;

impl PatternSet {
    /// Compiles the patterns; an error names the pattern and what is wrong.
    pub fn try_new(cfg: &PatternConfig) -> Result<Self, ClusterError> {
        let mut defs: Vec<(String, String)> = Vec::new();
        let mut order: Vec<(String, String)> = Vec::new();
        // Built-ins are referable from user patterns even when they are not tried.
        for (n, p) in BUILTIN_PATTERNS {
            defs.push(((*n).to_string(), (*p).to_string()));
        }
        for u in &cfg.patterns {
            if u.name.is_empty() || !u.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(ClusterError::InvalidPattern {
                    name: u.name.clone(),
                    reason: "a name is letters, digits and `_`".into(),
                });
            }
            let expanded = expand(&u.name, &u.pattern, &defs)?;
            defs.push((u.name.clone(), expanded.clone()));
            order.push((u.name.clone(), expanded));
        }
        if cfg.builtins {
            for (n, p) in BUILTIN_PATTERNS {
                order.push(((*n).to_string(), (*p).to_string()));
            }
        }
        let mut names = Vec::with_capacity(order.len());
        let mut regexes = Vec::with_capacity(order.len());
        for (n, p) in order {
            let re = regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| ClusterError::InvalidPattern {
                name: n.clone(),
                reason: e.to_string(),
            })?;
            names.push(n);
            regexes.push(re);
        }
        Ok(Self { names, regexes })
    }

    /// The name of the first pattern matching all of `value`.
    pub fn type_of(&self, value: &str) -> Option<&str> {
        self.regexes
            .iter()
            .position(|r| r.is_match(value))
            .and_then(|i| self.names.get(i))
            .map(String::as_str)
    }

    /// The typed variable values of `message` under cluster `id` of `miner` (see
    /// [`TemplateMiner::parameters`]).
    ///
    /// ```
    /// use faultline_cluster::{MinerConfig, PatternConfig, PatternSet, TemplateMiner};
    /// let mut m = TemplateMiner::new(MinerConfig::default()).unwrap();
    /// let line = "Connection closed by 10.1.2.3 port 22 after 35ms";
    /// let id = m.add(line);
    /// let set = PatternSet::try_new(&PatternConfig::default()).unwrap();
    /// let kinds: Vec<_> = set.typed_parameters(&m, id, line).unwrap().into_iter().map(|v| v.kind).collect();
    /// assert_eq!(kinds, [Some("IPV4".into()), Some("INT".into()), Some("DURATION".into())]);
    /// ```
    pub fn typed_parameters(
        &self,
        miner: &TemplateMiner,
        id: ClusterId,
        message: &str,
    ) -> Option<Vec<TypedValue>> {
        let values = miner.parameters(id, message)?;
        Some(
            values
                .into_iter()
                .map(|value| TypedValue {
                    kind: self.type_of(&value).map(str::to_string),
                    value,
                })
                .collect(),
        )
    }
}

/// Replaces every `%{NAME}` of `pattern` by the (already expanded) definition of NAME.
fn expand(name: &str, pattern: &str, defs: &[(String, String)]) -> Result<String, ClusterError> {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(i) = rest.find("%{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find('}') else {
            return Err(ClusterError::InvalidPattern {
                name: name.to_string(),
                reason: "unclosed `%{`".into(),
            });
        };
        let reference = &after[..j];
        // `%{NAME:field}` (grok's capture name) types by NAME; the field name is not used.
        let target = reference.split(':').next().unwrap_or(reference);
        let Some((_, def)) = defs.iter().rev().find(|(n, _)| n == target) else {
            return Err(ClusterError::InvalidPattern {
                name: name.to_string(),
                reason: format!("unknown pattern `%{{{reference}}}`"),
            });
        };
        out.push_str("(?:");
        out.push_str(def);
        out.push(')');
        if out.len() > MAX_EXPANDED {
            return Err(ClusterError::InvalidPattern {
                name: name.to_string(),
                reason: "expands beyond 64 KiB".into(),
            });
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtins() -> PatternSet {
        PatternSet::try_new(&PatternConfig::default()).expect("built-ins compile")
    }

    #[test]
    fn builtin_types_of_common_values() {
        let s = builtins();
        for (v, k) in [
            ("1b4e28ba-2fa1-11d2-883f-0016cb6a5a10", "UUID"),
            ("10.0.0.1", "IPV4"),
            ("fe80::1ff:fe23:4567:890a", "IPV6"),
            ("00:1a:2b:3c:4d:5e", "MAC"),
            ("https://example.com/a?b=1", "URL"),
            ("ops@example.com", "EMAIL"),
            ("2024-09-17T10:00:00.123Z", "TIMESTAMP_ISO8601"),
            ("2016/9/27", "DATE"),
            ("07:07:00", "TIME"),
            ("1.5s", "DURATION"),
            ("512MB", "SIZE"),
            ("0x1f3a", "HEX"),
            ("-42", "INT"),
            ("3.25", "NUMBER"),
            ("/var/log/app.log", "PATH"),
            ("true", "BOOL"),
            ("alice", "WORD"),
        ] {
            assert_eq!(s.type_of(v), Some(k), "{v}");
        }
    }

    #[test]
    fn user_patterns_come_first_and_may_reference_others() {
        let s = PatternSet::try_new(&PatternConfig {
            patterns: vec![
                NamedPattern {
                    name: "TICKET".into(),
                    pattern: "[A-Z]+-%{INT:number}".into(),
                },
                NamedPattern {
                    name: "TICKETS".into(),
                    pattern: "%{TICKET}(,%{TICKET})*".into(),
                },
            ],
            builtins: false,
        })
        .expect("valid patterns");
        assert_eq!(s.type_of("OPS-17"), Some("TICKET"));
        assert_eq!(s.type_of("OPS-17,DB-3"), Some("TICKETS"));
        assert_eq!(s.type_of("17"), None, "built-ins are off");
    }

    #[test]
    fn bad_patterns_are_errors_that_name_them() {
        for (name, pattern) in [("BAD", "("), ("REF", "%{NOPE}"), ("OPEN", "%{INT"), ("", "x")] {
            let e = PatternSet::try_new(&PatternConfig {
                patterns: vec![NamedPattern {
                    name: name.into(),
                    pattern: pattern.into(),
                }],
                builtins: true,
            })
            .expect_err("invalid");
            assert!(
                matches!(&e, ClusterError::InvalidPattern { name: n, .. } if n == name),
                "{e}"
            );
        }
    }

    #[test]
    fn references_cannot_blow_up() {
        let mut patterns = vec![NamedPattern {
            name: "P0".into(),
            pattern: "a".into(),
        }];
        for i in 1..40 {
            patterns.push(NamedPattern {
                name: format!("P{i}"),
                pattern: format!("%{{P{}}}%{{P{}}}", i - 1, i - 1),
            });
        }
        let e = PatternSet::try_new(&PatternConfig {
            patterns,
            builtins: false,
        })
        .expect_err("exponential expansion is refused");
        assert!(e.to_string().contains("64 KiB"));
    }
}

//! Shell quoting and splitting.
//!
//! Every value that reaches a script is quoted here, and the local shell runner splits a
//! script back into argv with [`split`] instead of handing it to a shell, so a templated value
//! can never become a second command. Quoting uses POSIX single quotes (`'it'\''s'`), the only
//! form in which no character is special.

use crate::RemediateError;

/// Characters that never need quoting in a shell word.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | ',' | '+' | '@' | '%')
}

/// Quotes `s` as one POSIX shell word: unchanged when it only has safe characters, else
/// single-quoted with embedded single quotes written as `'\''`.
///
/// ```
/// use faultline_remediate::quote::shell_quote;
/// assert_eq!(shell_quote("checkout"), "checkout");
/// assert_eq!(shell_quote("a b; rm -rf /"), "'a b; rm -rf /'");
/// assert_eq!(shell_quote("it's"), r"'it'\''s'");
/// assert_eq!(shell_quote(""), "''");
/// ```
pub fn shell_quote(s: &str) -> String {
    // A leading '=' or '-' is harmless to the shell; only the program could care, and argv
    // order is fixed by the generators.
    if !s.is_empty() && s.chars().all(is_plain) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// One argument of a generated command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// A literal value, quoted when rendered.
    Lit(String),
    /// A reference to an environment variable (a secret such as a token), rendered as
    /// `"$NAME"` so the value never appears in the plan or the audit log.
    Env(String),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Lit(s.to_owned())
    }
}
impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Lit(s)
    }
}

/// Whether `name` is a valid environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Renders argv as one shell command line, every literal quoted.
///
/// ```
/// use faultline_remediate::quote::{join, Arg};
/// let line = join(&["kubectl".into(), "scale".into(), Arg::Lit("deploy/x; reboot".into())]);
/// assert_eq!(line, "kubectl scale 'deploy/x; reboot'");
/// ```
pub fn join(argv: &[Arg]) -> String {
    let mut out = String::new();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match a {
            Arg::Lit(s) => out.push_str(&shell_quote(s)),
            Arg::Env(n) if is_env_name(n) => {
                out.push_str("\"$");
                out.push_str(n);
                out.push('"');
            }
            // Not a valid name: keep it inert.
            Arg::Env(n) => out.push_str(&shell_quote(n)),
        }
    }
    out
}

/// Splits a command line into argv the way a POSIX shell would for the subset that
/// [`join`] produces: plain words, single quotes, double quotes (with `"$NAME"` /
/// `"${NAME}"` references) and backslash escapes. Unquoted shell operators (`;`, `|`, `&`,
/// `<`, `>`, `(`, `)`, `` ` ``, `$`, newlines, globs) are refused, so nothing can chain a
/// second command or redirect output.
///
/// ```
/// use faultline_remediate::quote::{split, Arg};
/// let argv = split(r#"kubectl scale 'deploy/x' --token "$TOKEN""#).unwrap();
/// assert_eq!(argv, vec![Arg::Lit("kubectl".into()), Arg::Lit("scale".into()),
///     Arg::Lit("deploy/x".into()), Arg::Lit("--token".into()), Arg::Env("TOKEN".into())]);
/// assert!(split("kubectl get pods; rm -rf /").is_err());
/// ```
pub fn split(line: &str) -> Result<Vec<Arg>, RemediateError> {
    let refuse = |c: char| RemediateError::NotAllowed(format!("unquoted shell operator {c:?} in script"));
    let mut out = Vec::new();
    let mut cur = String::new();
    // A word that is exactly one "$NAME" becomes Arg::Env; anything else is literal.
    let mut env_word: Option<String> = None;
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    push_word(&mut out, &mut cur, &mut env_word);
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                env_word = None;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err(RemediateError::NotAllowed("unterminated single quote".into())),
                    }
                }
            }
            '"' => {
                let fresh = !in_word;
                in_word = true;
                let mut lit = String::new();
                let mut var: Option<String> = None;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => lit.push(ch),
                            Some(ch) => {
                                lit.push('\\');
                                lit.push(ch);
                            }
                            None => {
                                return Err(RemediateError::NotAllowed("unterminated double quote".into()))
                            }
                        },
                        Some('$') => {
                            let braced = chars.peek() == Some(&'{');
                            if braced {
                                chars.next();
                            }
                            let mut name = String::new();
                            while let Some(&ch) = chars.peek() {
                                if ch.is_ascii_alphanumeric() || ch == '_' {
                                    name.push(ch);
                                    chars.next();
                                } else {
                                    break;
                                }
                            }
                            if braced && chars.next() != Some('}') {
                                return Err(RemediateError::NotAllowed("malformed ${NAME} reference".into()));
                            }
                            if !is_env_name(&name) || var.is_some() || !lit.is_empty() {
                                return Err(RemediateError::NotAllowed(
                                    "only a whole-word \"$NAME\" reference is allowed in double quotes"
                                        .into(),
                                ));
                            }
                            var = Some(name);
                        }
                        Some('`') => return Err(refuse('`')),
                        Some(ch) => {
                            if var.is_some() {
                                return Err(RemediateError::NotAllowed(
                                    "only a whole-word \"$NAME\" reference is allowed in double quotes"
                                        .into(),
                                ));
                            }
                            lit.push(ch)
                        }
                        None => return Err(RemediateError::NotAllowed("unterminated double quote".into())),
                    }
                }
                match var {
                    Some(name)
                        if fresh && cur.is_empty() && matches!(chars.peek(), None | Some(' ' | '\t')) =>
                    {
                        env_word = Some(name);
                    }
                    Some(_) => {
                        return Err(RemediateError::NotAllowed(
                            "a \"$NAME\" reference must be a whole word".into(),
                        ))
                    }
                    None => {
                        env_word = None;
                        cur.push_str(&lit);
                    }
                }
            }
            '\\' => {
                in_word = true;
                env_word = None;
                match chars.next() {
                    Some('\n') | None => return Err(RemediateError::NotAllowed("dangling backslash".into())),
                    Some(ch) => cur.push(ch),
                }
            }
            ';' | '|' | '&' | '<' | '>' | '(' | ')' | '`' | '$' | '\n' | '\r' | '*' | '?' | '[' | ']'
            | '{' | '}' | '~' | '#' | '!' => {
                // '#' '~' '!' '{' only matter at word starts in real shells; refusing them
                // everywhere unquoted is simpler and costs nothing because join quotes them.
                return Err(refuse(c));
            }
            other => {
                in_word = true;
                env_word = None;
                cur.push(other);
            }
        }
    }
    if in_word {
        push_word(&mut out, &mut cur, &mut env_word);
    }
    Ok(out)
}

fn push_word(out: &mut Vec<Arg>, cur: &mut String, env_word: &mut Option<String>) {
    match env_word.take() {
        Some(name) => out.push(Arg::Env(name)),
        None => out.push(Arg::Lit(std::mem::take(cur))),
    }
    cur.clear();
}

/// The `shquote` template filter: quotes a value as one shell word and marks it safe so the
/// auto-quoting formatter of script templates does not quote it twice.
pub(crate) fn shquote_filter(v: minijinja::Value) -> minijinja::Value {
    let s = if let Some(s) = v.as_str() {
        s.to_owned()
    } else {
        v.to_string()
    };
    minijinja::Value::from_safe_string(shell_quote(&s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOSTILE: &[&str] = &[
        "x; rm -rf /",
        "$(reboot)",
        "`reboot`",
        "a'b",
        "'; echo pwned; '",
        "a\nb",
        "${HOME}",
        "a && b",
        "a | b",
        "> /etc/passwd",
        "*",
        "~root",
        "#comment",
        "\\",
        "\"",
        "",
        " ",
        "-rf",
        "日本語",
    ];

    #[test]
    fn hostile_values_round_trip_as_single_words() {
        for h in HOSTILE {
            let line = join(&["echo".into(), Arg::Lit((*h).to_owned()), "end".into()]);
            let argv = split(&line).unwrap_or_else(|e| panic!("{h:?} -> {line:?}: {e}"));
            assert_eq!(argv.len(), 3, "{h:?} -> {line:?}");
            assert_eq!(argv[1], Arg::Lit((*h).to_owned()));
        }
    }

    #[test]
    fn unquoted_operators_are_refused() {
        for bad in [
            "kubectl get x; rm -rf /",
            "a | b",
            "a && b",
            "echo $(id)",
            "echo `id`",
            "echo $HOME",
            "a > f",
            "a\nb",
            "echo 'unterminated",
            "echo \"a$HOME\"",
        ] {
            assert!(split(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn env_refs_render_and_split() {
        let line = join(&["curl".into(), "-H".into(), Arg::Env("TOKEN".into())]);
        assert_eq!(line, "curl -H \"$TOKEN\"");
        assert_eq!(split(&line).unwrap()[2], Arg::Env("TOKEN".into()));
        assert_eq!(split("a \"${TOK}\"").unwrap()[1], Arg::Env("TOK".into()));
        // An invalid env name is kept inert as a literal.
        assert_eq!(join(&[Arg::Env("A B".into())]), "'A B'");
    }

    #[test]
    fn shquote_filter_quotes_hostile_values_in_templates() {
        let mut env = minijinja::Environment::new();
        env.add_filter("shquote", shquote_filter);
        for h in HOSTILE {
            let out = env
                .render_str("echo {{ v | shquote }}", minijinja::context! { v => h })
                .unwrap();
            let argv = split(&out).unwrap();
            assert_eq!(argv, vec![Arg::Lit("echo".into()), Arg::Lit((*h).to_owned())]);
        }
    }

    proptest! {
        #[test]
        fn join_then_split_is_identity(words in proptest::collection::vec(".*", 0..6)) {
            let argv: Vec<Arg> = words.iter().cloned().map(Arg::Lit).collect();
            prop_assert_eq!(split(&join(&argv)).unwrap(), argv);
        }

        #[test]
        fn quoted_word_is_one_word(s in "\\PC*") {
            let argv = split(&shell_quote(&s)).unwrap();
            prop_assert_eq!(argv, vec![Arg::Lit(s)]);
        }
    }
}

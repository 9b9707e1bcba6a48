//! Tokenisation and variable masking.
//!
//! A message is cut into tokens at whitespace. Each token is then cut into *pieces* at the
//! punctuation that separates fields in log text (`, ; : = | " ' [ ] ( ) { } . + @ # $ % & < >`
//! and `-` between words); a piece that contains a decimal digit is a variable and becomes
//! `<*>`. That single rule covers numbers, hex ids (`0x1f`, `de9231d`), IP addresses and ports,
//! UUIDs, dates and times, durations and sizes with units (`12ms`, `1.5GB`), versions and
//! identifiers with embedded counters (`blk_-1608`, `appattempt_1445_0020`), paths or URLs
//! that carry ids (`/v2/54fadb…/servers`) — without a list of per-dataset regular
//! expressions. `/` and `_` do not cut pieces, so an id-bearing path or identifier masks as a
//! whole. A `-` right before a digit and after a non-alphanumeric byte is a sign, not a cut
//! (`blk_-42` is one piece). Runs of variables joined by `.`, `:`, `@`, `#` or nothing collapse
//! into one `<*>`, so `10.0.0.1:8080` and `10.0.0.1` mask alike.
//!
//! Word-like variables (user names, host names) have no digit; the miner finds them from
//! position-wise variation instead ([`crate::miner`]).

/// The text of a variable.
pub const WILDCARD: &str = "<*>";

/// What masking made of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// No variable part.
    Const,
    /// Entirely a variable (`<*>`).
    Wild,
    /// Constant text with variable parts (`uid=<*>`).
    Mixed,
}

#[inline]
pub(crate) fn is_piece_delim(b: u8) -> bool {
    matches!(
        b,
        b',' | b';'
            | b':'
            | b'='
            | b'|'
            | b'"'
            | b'\''
            | b'['
            | b']'
            | b'('
            | b')'
            | b'{'
            | b'}'
            | b'.'
            | b'+'
            | b'@'
            | b'#'
            | b'$'
            | b'%'
            | b'&'
            | b'<'
            | b'>'
            | b'!'
            | b'?'
            | b'-'
    )
}

#[inline]
fn joins_variables(b: u8) -> bool {
    matches!(b, b'.' | b':' | b'@' | b'#' | b'-')
}

/// A `-` before a digit and after a non-alphanumeric byte (or at the start) is a sign.
#[inline]
fn is_sign(tok: &[u8], i: usize) -> bool {
    tok[i] == b'-'
        && tok.get(i + 1).is_some_and(u8::is_ascii_digit)
        && (i == 0 || !tok[i - 1].is_ascii_alphanumeric())
}

/// Masks one whitespace-free token, appending the masked text to `out`.
pub(crate) fn mask_token(tok: &[u8], out: &mut Vec<u8>) -> TokenKind {
    let start = out.len();
    // Fast path: no digit and too short for a digit-free hex id, nothing to mask.
    if tok.len() < 8 && !tok.iter().any(u8::is_ascii_digit) {
        out.extend_from_slice(tok);
        return TokenKind::Const;
    }
    let n = tok.len();
    let mut i = 0;
    let mut any_var = false;
    while i < n {
        let b = tok[i];
        if is_piece_delim(b) && !is_sign(tok, i) {
            out.push(b);
            i += 1;
            continue;
        }
        let p0 = i;
        let mut digit = false;
        i += 1;
        digit |= b.is_ascii_digit();
        while i < n && (!is_piece_delim(tok[i]) || is_sign(tok, i)) {
            digit |= tok[i].is_ascii_digit();
            i += 1;
        }
        let hex = tok[p0..i].iter().all(u8::is_ascii_hexdigit);
        // A hex piece is a variable when long (`ffffffff`) or when it continues a variable
        // after a `-` (the digit-free groups of a UUID).
        let after_var = out.len() >= start + 4 && out.ends_with(b"<*>-");
        if !digit && !(hex && (i - p0 >= 8 || after_var)) {
            out.extend_from_slice(&tok[p0..i]);
            continue;
        }
        any_var = true;
        let len = out.len() - start;
        let tail = &out[start..];
        if tail.ends_with(b"<*>") {
            continue;
        }
        if len >= 4 && tail[len - 4..len - 1] == *b"<*>" && joins_variables(tail[len - 1]) {
            out.pop();
            continue;
        }
        out.extend_from_slice(b"<*>");
    }
    if !any_var {
        TokenKind::Const
    } else if &out[start..] == b"<*>" {
        TokenKind::Wild
    } else {
        TokenKind::Mixed
    }
}

/// Fast 64-bit hash of a byte string (FxHash-style word mixing; not stable across versions,
/// used only within one process).
#[inline]
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let mut h: u64 = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(26) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rem = chunks.remainder();
    if !rem.is_empty() {
        let mut w = [0u8; 8];
        w[..rem.len()].copy_from_slice(rem);
        h = (h.rotate_left(26) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    // Final avalanche (murmur3 fmix64) so that low bits are usable for table indexing.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// Combines a running hash with the next element's hash (order-sensitive).
#[inline]
pub(crate) fn hash_combine(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Masks a whole message: tokens at whitespace, variables as `<*>`, joined by single spaces.
///
/// ```
/// use faultline_cluster::mask_message;
/// assert_eq!(mask_message("Invalid user bob from 173.234.31.186 port 4242"), "Invalid user bob from <*> port <*>");
/// assert_eq!(mask_message("uid=0 blk_-1608999687919862906 (HWID=1973)"), "uid=<*> <*> (HWID=<*>)");
/// ```
pub fn mask_message(message: &str) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(message.len());
    for tok in message.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(b' ');
        }
        mask_token(tok.as_bytes(), &mut out);
    }
    // Masking only replaces whole pieces delimited by ASCII bytes, so UTF-8 stays valid; the
    // lossy conversion is a no-op then.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> (String, TokenKind) {
        let mut v = Vec::new();
        let k = mask_token(s.as_bytes(), &mut v);
        (String::from_utf8(v).expect("ascii"), k)
    }

    #[test]
    fn masks_numbers_ids_addresses_and_units() {
        assert_eq!(m("12345"), ("<*>".into(), TokenKind::Wild));
        assert_eq!(m("10.0.0.1:8080"), ("<*>".into(), TokenKind::Wild));
        assert_eq!(m("[173.234.31.186]"), ("[<*>]".into(), TokenKind::Mixed));
        assert_eq!(m("blk_-1608999687919862906").0, "<*>");
        assert_eq!(m("appattempt_1445144423722_0020_000001").0, "<*>");
        assert_eq!(m("0x7fed806eb5d").0, "<*>");
        assert_eq!(m("12ms").0, "<*>");
        assert_eq!(m("1.5GB").0, "<*>");
        assert_eq!(m("uid=0").0, "uid=<*>");
        assert_eq!(m("c-4411").0, "c-<*>");
        assert_eq!(m("-42").0, "<*>");
        assert_eq!(m("550e8400-e29b-41d4-a716-446655440000").0, "<*>");
        assert_eq!(m("d96a117b-0193-4549-bdcc-63b917273d1d]").0, "<*>]");
        assert_eq!(m("mask=ffffffff").0, "mask=<*>");
        assert_eq!(m("/v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail").0, "<*>");
        assert_eq!(m("2016/9/27:20:30:31.455").0, "<*>");
    }

    #[test]
    fn words_stay_constant() {
        assert_eq!(m("failed"), ("failed".into(), TokenKind::Const));
        assert_eq!(m("/var/log/messages").0, "/var/log/messages");
        assert_eq!(m("héllo").0, "héllo");
    }

    #[test]
    fn hash_is_deterministic_and_length_aware() {
        assert_eq!(hash_bytes(b"abc"), hash_bytes(b"abc"));
        assert_ne!(hash_bytes(b"abc"), hash_bytes(b"abc\0"));
        assert_ne!(hash_bytes(b""), hash_bytes(b"\0"));
    }
}

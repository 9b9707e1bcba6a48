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
    CLASS[b as usize] & 2 != 0
}

/// The bytes that split a token into pieces (the single list behind [`CLASS`]'s bit 2).
const fn is_piece_delim_byte(b: u8) -> bool {
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

/// A `-` before a digit and after a non-alphanumeric byte (or at the start) is a sign.
#[inline]
fn is_sign(tok: &[u8], i: usize) -> bool {
    tok[i] == b'-'
        && tok.get(i + 1).is_some_and(u8::is_ascii_digit)
        && (i == 0 || !tok[i - 1].is_ascii_alphanumeric())
}

/// Month and weekday names (`Jun`, `Mon`, `Monday`) as written in dates.
fn is_calendar_word(tok: &[u8]) -> bool {
    match tok.len() {
        3 => matches!(
            tok,
            b"Jan"
                | b"Feb"
                | b"Mar"
                | b"Apr"
                | b"May"
                | b"Jun"
                | b"Jul"
                | b"Aug"
                | b"Sep"
                | b"Oct"
                | b"Nov"
                | b"Dec"
                | b"Mon"
                | b"Tue"
                | b"Wed"
                | b"Thu"
                | b"Fri"
                | b"Sat"
                | b"Sun"
        ),
        6..=9 => matches!(
            tok,
            b"Monday" | b"Tuesday" | b"Wednesday" | b"Thursday" | b"Friday" | b"Saturday" | b"Sunday"
        ),
        _ => false,
    }
}

/// Byte classes for the one-pass scan of a token: bit 1 = digit, bit 2 = piece delimiter,
/// bit 4 = hex digit, bit 8 = digit or number punctuation (`.` `:` `-` `/`), bit 16 = ASCII
/// whitespace (the token separators of `split_ascii_whitespace`).
pub(crate) static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_digit() {
            1 | 4 | 8
        } else if matches!(c, b'.' | b':' | b'-') {
            2 | 8
        } else if c == b'/' {
            8
        } else if matches!(c, b' ' | b'\t' | b'\n' | b'\x0C' | b'\r') {
            16
        } else if c.is_ascii_hexdigit() {
            4
        } else if is_piece_delim_byte(c) {
            2
        } else {
            0
        };
        b += 1;
    }
    t
};

/// Masks one whitespace-free token, appending the masked text to `out`.
///
/// A token with variables becomes `prefix<*>suffix`: the prefix runs to the last `=` before
/// the first variable piece (else the last `:`, else the last `-` that is not a sign, else the
/// last opening bracket or quote); the suffix is the trailing closing punctuation. So
/// `rhost=adsl-67.pacbell.net` and `rhost=10.0.0.1` mask alike (`rhost=<*>`), `(uid=0)` is
/// `(uid=<*>)`, `node-246` is `node-<*>` and `[10.0.0.1]:22,` is `[<*>]:22,` → `[<*>,`… (the
/// first variable decides).
#[inline]
pub(crate) fn mask_token(tok: &[u8], out: &mut Vec<u8>) -> TokenKind {
    let (any, all) = classify(tok);
    let kind = mask_classified::<false>(tok, any, all, out);
    if kind == TokenKind::Const {
        out.extend_from_slice(tok);
    }
    kind
}

/// OR and AND of the byte classes of a token.
#[inline]
pub(crate) fn classify(tok: &[u8]) -> (u8, u8) {
    let (mut any, mut all) = (0u8, 0xffu8);
    for &b in tok {
        let c = CLASS[b as usize];
        any |= c;
        all &= c;
    }
    (any, all)
}

/// The text a template prints for a constant token: account names become variables
/// (see [`is_account_name`]); `None` when the token prints as it is.
pub(crate) fn display_token(tok: &str) -> Option<String> {
    let b = tok.as_bytes();
    let hit = b.windows(4).any(|w| w.eq_ignore_ascii_case(b"root"))
        || b.windows(5).any(|w| w.eq_ignore_ascii_case(b"admin"));
    if !hit {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    let (any, all) = classify(b);
    if mask_classified::<true>(b, any, all, &mut out) == TokenKind::Const {
        return None;
    }
    match String::from_utf8(out) {
        Ok(s) if s != tok => Some(s),
        _ => None,
    }
}

/// Masks a token whose byte classes were OR-ed into `any` and AND-ed into `all`; appends the
/// masked text to `out` unless the token stays as it is ([`TokenKind::Const`]: nothing is
/// appended).
#[inline]
pub(crate) fn mask_classified<const ACCOUNTS: bool>(
    tok: &[u8],
    any: u8,
    all: u8,
    out: &mut Vec<u8>,
) -> TokenKind {
    // Fast path: a word without digits or delimiters (most tokens).
    if any & 3 == 0 && !(all & 4 != 0 && tok.len() >= 8) {
        if is_literal_variable(tok)
            || (ACCOUNTS && is_account_name(tok))
            || (tok.first().is_some_and(u8::is_ascii_uppercase) && is_calendar_word(tok))
        {
            out.extend_from_slice(b"<*>");
            return TokenKind::Wild;
        }
        return TokenKind::Const;
    }
    mask_slow::<ACCOUNTS>(tok, all, out)
}

fn mask_slow<const ACCOUNTS: bool>(tok: &[u8], all: u8, out: &mut Vec<u8>) -> TokenKind {
    // Numbers, addresses, times and dates (`200`, `10.0.0.1:80`, `07:07:00`, `2016/9/27`):
    // digits joined by number punctuation mask whole (what the general rule gives them).
    if all & 8 != 0
        && tok.first().is_some_and(u8::is_ascii_digit)
        && tok.last().is_some_and(u8::is_ascii_digit)
    {
        out.extend_from_slice(b"<*>");
        return TokenKind::Wild;
    }
    if is_calendar_word(tok) {
        out.extend_from_slice(b"<*>");
        return TokenKind::Wild;
    }
    let Some(first_var) = first_variable_offset(tok, ACCOUNTS) else {
        return TokenKind::Const;
    };
    let mut end = tok.len();
    while end > first_var
        && matches!(
            tok[end - 1],
            b')' | b']' | b'}' | b'>' | b',' | b';' | b'"' | b'\'' | b'.' | b':'
        )
    {
        end -= 1;
    }
    // `-` and `.` only end a prefix when one plain piece follows (`node-246`, `core.1234`,
    // but not `customer-187-141.example.com`).
    let head = &tok[..first_var];
    // One backward pass: the last `=`, the last `:`, the last opening bracket or quote.
    let (mut eq, mut colon, mut open) = (None, None, None);
    for (i, &b) in head.iter().enumerate().rev() {
        match b {
            b'=' if eq.is_none() => eq = Some(i + 1),
            b':' if colon.is_none() => colon = Some(i + 1),
            b'(' | b'[' | b'{' | b'<' | b'"' | b'\'' if open.is_none() => open = Some(i + 1),
            _ => {}
        }
        if eq.is_some() {
            break;
        }
    }
    // `-` and `.` only end a prefix when one plain piece follows (`node-246`, `core.1234`,
    // but not `customer-187-141.example.com`).
    let single = |i: usize| {
        !tok[i + 1..end]
            .iter()
            .enumerate()
            .any(|(k, &b)| is_piece_delim(b) && !is_sign(tok, i + 1 + k))
    };
    let pre = eq
        .or(colon)
        .or_else(|| {
            (0..head.len())
                .rev()
                .find(|&i| matches!(head[i], b'-' | b'.') && !is_sign(tok, i) && single(i))
                .map(|i| i + 1)
        })
        .or(open)
        .unwrap_or(0);
    // A quote or bracket opened right after the prefix and closed in the suffix decorates
    // the value: `tag="<*>"`, `name=(<*>)`.
    let closer = |b: u8| match b {
        b'"' => Some(b'"'),
        b'\'' => Some(b'\''),
        b'(' => Some(b')'),
        b'[' => Some(b']'),
        b'{' => Some(b'}'),
        _ => None,
    };
    let mut pre = if pre < first_var && end < tok.len() && closer(tok[pre]) == Some(tok[end]) {
        pre + 1
    } else {
        pre
    };
    // A structured value (`Rect(0,`, `<memory:10240,`): the variable starts inside the
    // constructor's bracket, after an inner `key:` / `key=` if any.
    if let Some(j) = tok[pre..first_var]
        .iter()
        .position(|&b| matches!(b, b'(' | b'[' | b'{' | b'<'))
    {
        if tok[pre..pre + j]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_')
        {
            pre += j + 1;
            let rest = &tok[pre..first_var];
            if let Some((&last, word)) = rest.split_last() {
                if matches!(last, b':' | b'=') && word.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    pre = first_var;
                }
            }
        }
    }
    out.extend_from_slice(&tok[..pre]);
    out.extend_from_slice(b"<*>");
    out.extend_from_slice(&tok[end..]);
    if pre == 0 && end == tok.len() {
        TokenKind::Wild
    } else {
        TokenKind::Mixed
    }
}

/// Byte offset of the first variable piece of a token, if any: a piece with a digit, a
/// boolean or null literal, or a hex piece that is long or follows a variable after `-`.
fn first_variable_offset(tok: &[u8], accounts: bool) -> Option<usize> {
    let n = tok.len();
    let variable = |p0: usize, i: usize, any: u8, all: u8| {
        let piece = &tok[p0..i];
        let digit = any & 1 != 0;
        let len = piece.len();
        (digit && !is_word_with_digit(piece))
            || (len >= 8 && all & 4 != 0)
            || (!digit
                && (3..=5).contains(&len)
                && (is_literal_variable(piece) || (accounts && is_account_name(piece))))
    };
    // One pass: a piece ends at a delimiter that is not a sign (`-` before a digit after a
    // non-alphanumeric byte).
    let (mut p0, mut any, mut all) = (0usize, 0u8, 0xffu8);
    for i in 0..n {
        let b = tok[i];
        let c = CLASS[b as usize];
        if c & 2 != 0 && !(b == b'-' && is_sign(tok, i)) {
            if i > p0 && variable(p0, i, any, all) {
                return Some(p0);
            }
            (p0, any, all) = (i + 1, 0, 0xff);
        } else {
            any |= c;
            all &= c;
        }
    }
    (n > p0 && variable(p0, n, any, all)).then_some(p0)
}

/// Names that end in one digit (`ssh2`, `eth0`, `utf8`): kept as words.
fn is_word_with_digit(piece: &[u8]) -> bool {
    let n = piece.len();
    n >= 3 && piece[n - 1].is_ascii_digit() && piece[..n - 1].iter().all(u8::is_ascii_lowercase)
}

/// Words that are values, not text: booleans and nulls.
fn is_literal_variable(piece: &[u8]) -> bool {
    matches!(
        piece,
        b"true" | b"false" | b"null" | b"True" | b"False" | b"NULL" | b"nil" | b"None"
    )
}

/// Default account names (`root`, `admin`): variables in the Loghub-2.0 template
/// post-processing (Jiang et al., ISSTA 2024), so templates *print* them as `<*>`; grouping
/// keeps them as words (`user=root` and `user=guest` are different templates until the
/// position shows enough values).
fn is_account_name(piece: &[u8]) -> bool {
    matches!(
        piece,
        b"root" | b"Root" | b"ROOT" | b"admin" | b"Admin" | b"ADMIN"
    )
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
        h = (h.rotate_left(26) ^ load_tail(rem)).wrapping_mul(K);
    }
    // Final avalanche (murmur3 fmix64) so that low bits are usable for table indexing.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// The 1–7 bytes of a hash remainder as one word, without a byte-wise copy (two overlapping
/// 4-byte loads, or three byte loads): a small `memcpy` into a zeroed word stalled the
/// multiply that follows (store-to-load forwarding). Injective for a given length.
#[inline]
fn load_tail(rem: &[u8]) -> u64 {
    let n = rem.len();
    match (rem.first_chunk::<4>(), rem.last_chunk::<4>()) {
        (Some(lo), Some(hi)) => {
            u64::from(u32::from_le_bytes(*lo)) | u64::from(u32::from_le_bytes(*hi)) << ((n - 4) * 8)
        }
        _ => match (rem.first(), rem.get(n / 2), rem.last()) {
            (Some(&a), Some(&b), Some(&c)) => u64::from(a) | u64::from(b) << 8 | u64::from(c) << 16,
            _ => 0,
        },
    }
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
        assert_eq!(m("rhost=adsl-67.pacbell.net").0, "rhost=<*>");
        assert_eq!(m("ws=null,").0, "ws=<*>,");
        assert_eq!(m("Rect(0,").0, "Rect(<*>,");
        assert_eq!(m("Surface(name=PopupWindow:4d9f0c8)").0, "Surface(name=<*>)");
        assert_eq!(m("-42").0, "<*>");
        assert_eq!(m("550e8400-e29b-41d4-a716-446655440000").0, "<*>");
        assert_eq!(m("d96a117b-0193-4549-bdcc-63b917273d1d]").0, "<*>]");
        assert_eq!(m("mask=ffffffff").0, "mask=<*>");
        assert_eq!(m("/v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail").0, "<*>");
        assert_eq!(m("2016/9/27:20:30:31.455").0, "<*>");
        // Structured values: the variable starts inside the constructor.
        assert_eq!(
            m("fullscreenStackBounds=Rect(0,").0,
            "fullscreenStackBounds=Rect(<*>,"
        );
        assert_eq!(m("headroom=<memory:10240,").0, "headroom=<memory:<*>,");
        assert_eq!(m("Surface(name=PopupWindow:4d9f0c8)").0, "Surface(name=<*>)");
    }

    #[test]
    fn account_names_display_as_variables() {
        assert_eq!(display_token("user=root").as_deref(), Some("user=<*>"));
        assert_eq!(display_token("ROOT").as_deref(), Some("<*>"));
        assert_eq!(display_token("rootfs"), None);
        assert_eq!(display_token("guest"), None);
    }

    #[test]
    fn class_table_matches_the_delimiter_list() {
        for b in 0..=255u8 {
            assert_eq!(is_piece_delim(b), is_piece_delim_byte(b), "{b}");
            assert_eq!(CLASS[b as usize] & 1 == 1, b.is_ascii_digit());
            assert_eq!(CLASS[b as usize] & 4 == 4, b.is_ascii_hexdigit());
            assert_eq!(
                CLASS[b as usize] & 8 == 8,
                b.is_ascii_digit() || b".:-/".contains(&b)
            );
        }
        assert_eq!(m("Monday").0, "<*>");
        assert_eq!(m("Jun").0, "<*>");
        assert_eq!(m("June,").0, "June,");
        assert_eq!(m("deadbeefcafe").0, "<*>");
        assert_eq!(m("null").0, "<*>");
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

//! A protobuf wire-format walker that counts records before anything is decoded, so the
//! record limit holds before the decoder allocates (an empty message costs 2 bytes on the
//! wire but a hundred or more in memory).

/// The body is not valid protobuf wire format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireError {
    pub(crate) offset: usize,
    pub(crate) message: &'static str,
}

/// Log records: `resource_logs(1) / scope_logs(2) / log_records(2)`.
pub(crate) fn count_logs(buf: &[u8]) -> Result<usize, WireError> {
    count(buf, 0, &[&[1], &[2], &[2]])
}

/// Spans: `resource_spans(1) / scope_spans(2) / spans(2)`.
pub(crate) fn count_spans(buf: &[u8]) -> Result<usize, WireError> {
    count(buf, 0, &[&[1], &[2], &[2]])
}

/// Data points: `resource_metrics(1) / scope_metrics(2) / metrics(2) / gauge(5) | sum(7) |
/// histogram(9) | exponential_histogram(10) | summary(11) / data_points(1)`.
pub(crate) fn count_points(buf: &[u8]) -> Result<usize, WireError> {
    count(buf, 0, &[&[1], &[2], &[2], &[5, 7, 9, 10, 11], &[1]])
}

/// Time series of a remote-write `WriteRequest`: `timeseries(1)`, and their samples
/// `timeseries(1) / samples(2)`.
pub(crate) fn count_remote_write(buf: &[u8]) -> Result<(usize, usize), WireError> {
    Ok((count(buf, 0, &[&[1]])?, count(buf, 0, &[&[1], &[2]])?))
}

/// Counts the length-delimited fields reached by following `path` (one set of field numbers
/// per level) from `buf`.
fn count(buf: &[u8], base: usize, path: &[&[u32]]) -> Result<usize, WireError> {
    let Some((here, rest)) = path.split_first() else {
        return Ok(0);
    };
    let mut n = 0usize;
    let mut i = 0usize;
    while i < buf.len() {
        let key = varint(buf, &mut i, base)?;
        let field = key >> 3;
        let wire_type = key & 7;
        if field == 0 {
            return Err(WireError {
                offset: base + i,
                message: "field number 0",
            });
        }
        match wire_type {
            0 => {
                varint(buf, &mut i, base)?;
            }
            1 => i = skip(buf, i, 8, base)?,
            5 => i = skip(buf, i, 4, base)?,
            2 => {
                let len = varint(buf, &mut i, base)?;
                let len = usize::try_from(len).map_err(|_| WireError {
                    offset: base + i,
                    message: "length out of range",
                })?;
                let start = i;
                i = skip(buf, i, len, base)?;
                if here.iter().any(|&f| u64::from(f) == field) {
                    n += if rest.is_empty() {
                        1
                    } else {
                        count(&buf[start..i], base + start, rest)?
                    };
                }
            }
            _ => {
                return Err(WireError {
                    offset: base + i,
                    message: "unsupported wire type",
                })
            }
        }
    }
    Ok(n)
}

fn skip(buf: &[u8], i: usize, n: usize, base: usize) -> Result<usize, WireError> {
    match i.checked_add(n) {
        Some(end) if end <= buf.len() => Ok(end),
        _ => Err(WireError {
            offset: base + i,
            message: "field runs past the end of its message",
        }),
    }
}

fn varint(buf: &[u8], i: &mut usize, base: usize) -> Result<u64, WireError> {
    let mut v = 0u64;
    for shift in (0..70).step_by(7) {
        let Some(&b) = buf.get(*i) else {
            return Err(WireError {
                offset: base + *i,
                message: "truncated varint",
            });
        };
        *i += 1;
        if shift == 63 && b > 1 {
            break;
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(WireError {
        offset: base + *i,
        message: "varint longer than 64 bits",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_nested_records_and_rejects_truncation() {
        // resource_logs { scope_logs { log_records {} log_records {} } }
        let inner = [0x12, 0x00, 0x12, 0x00];
        let scope = [&[0x12, inner.len() as u8][..], &inner].concat();
        let body = [&[0x0a, scope.len() as u8][..], &scope].concat();
        assert_eq!(count_logs(&body), Ok(2));
        assert!(count_logs(&body[..body.len() - 1]).is_err());
        assert!(count_logs(&[0x0a, 0xff]).is_err());
    }
}

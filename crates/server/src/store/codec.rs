//! Chunk encodings of the columnar tables.
//!
//! Timestamps: the first as 8 bytes little-endian, then each delta as a zig-zag LEB128
//! varint (regular scrapes cost one or two bytes a point instead of eight). Values: raw f64
//! little-endian (NaN kept bit-exact).

use crate::{Result, ServerError};

/// Encodes ascending (or not) timestamps in nanoseconds.
pub fn encode_ts(ts: &[i64], out: &mut Vec<u8>) {
    let mut prev = 0i64;
    for (i, &t) in ts.iter().enumerate() {
        if i == 0 {
            out.extend_from_slice(&t.to_le_bytes());
        } else {
            let d = t.wrapping_sub(prev);
            let mut z = ((d << 1) ^ (d >> 63)) as u64;
            loop {
                let b = (z & 0x7f) as u8;
                z >>= 7;
                if z == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
        }
        prev = t;
    }
}

fn corrupt(what: &str) -> ServerError {
    ServerError::store("decode", format!("corrupt chunk: {what}"))
}

/// Decodes `n` timestamps written by [`encode_ts`].
pub fn decode_ts(bytes: &[u8], n: usize, out: &mut Vec<i64>) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let first = bytes.get(..8).ok_or_else(|| corrupt("short timestamp column"))?;
    let mut prev = i64::from_le_bytes(first.try_into().map_err(|_| corrupt("timestamp head"))?);
    out.reserve(n);
    out.push(prev);
    let mut pos = 8;
    for _ in 1..n {
        let mut z = 0u64;
        let mut shift = 0u32;
        loop {
            let b = *bytes.get(pos).ok_or_else(|| corrupt("truncated varint"))?;
            pos += 1;
            if shift >= 64 {
                return Err(corrupt("varint too long"));
            }
            z |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let d = ((z >> 1) as i64) ^ -((z & 1) as i64);
        prev = prev.wrapping_add(d);
        out.push(prev);
    }
    if pos != bytes.len() {
        return Err(corrupt("trailing bytes after timestamps"));
    }
    Ok(())
}

/// Encodes values as raw little-endian f64.
pub fn encode_values(vals: &[f64], out: &mut Vec<u8>) {
    out.reserve(vals.len() * 8);
    for v in vals {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Decodes values written by [`encode_values`].
pub fn decode_values(bytes: &[u8], n: usize, out: &mut Vec<f64>) -> Result<()> {
    if bytes.len() != n * 8 {
        return Err(corrupt("value column length"));
    }
    out.reserve(n);
    out.extend(
        bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("chunks_exact yields 8 bytes"))),
    );
    Ok(())
}

/// Gathers decoded chunks of many series (in storage order) into whole series restricted to a
/// window; shared by the SQLite and PostgreSQL stores' `signals` reads.
#[derive(Debug, Default)]
pub struct SeriesAssembler {
    /// Series row id → (stored key JSON, timestamps, values).
    cols: std::collections::BTreeMap<i64, (String, Vec<i64>, Vec<f64>)>,
    ts: Vec<i64>,
    vals: Vec<f64>,
}

impl SeriesAssembler {
    /// Decodes one chunk of `n` points of series `id` and keeps the points inside
    /// `[start, end]`; `key` (the series' key JSON) is read only for the series' first chunk.
    #[allow(clippy::too_many_arguments)]
    pub fn add_chunk(
        &mut self,
        id: i64,
        key: impl FnOnce() -> Result<String>,
        n: usize,
        ts_bytes: &[u8],
        val_bytes: &[u8],
        start: i64,
        end: i64,
    ) -> Result<()> {
        self.ts.clear();
        self.vals.clear();
        decode_ts(ts_bytes, n, &mut self.ts)?;
        decode_values(val_bytes, n, &mut self.vals)?;
        let entry = match self.cols.entry(id) {
            std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => v.insert((key()?, Vec::new(), Vec::new())),
        };
        for (&t, &v) in self.ts.iter().zip(self.vals.iter()) {
            if t >= start && t <= end {
                entry.1.push(t);
                entry.2.push(v);
            }
        }
        Ok(())
    }

    /// The series with at least one point in the window, sorted by key.
    pub fn finish(self) -> Result<Vec<faultline::core::Series>> {
        use faultline::core::{Series, SeriesKey, Timestamp};
        let mut out = Vec::with_capacity(self.cols.len());
        for (_, (key, ts, vals)) in self.cols {
            if ts.is_empty() {
                continue;
            }
            let key: SeriesKey = serde_json::from_str(&key)
                .map_err(|e| ServerError::store("signals", format!("stored JSON: {e}")))?;
            let s = Series::new(key, ts.into_iter().map(Timestamp).collect(), vals)
                .map_err(|x| ServerError::store("signals", x))?;
            out.push(s);
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_including_negative_and_unsorted_deltas() {
        let ts = vec![
            1_700_000_000_000_000_000,
            1_700_000_015_000_000_000,
            1_700_000_010_000_000_000,
            i64::MIN,
            i64::MAX,
            0,
        ];
        let mut b = Vec::new();
        encode_ts(&ts, &mut b);
        let mut out = Vec::new();
        decode_ts(&b, ts.len(), &mut out).unwrap();
        assert_eq!(out, ts);
    }

    #[test]
    fn regular_scrapes_cost_few_bytes() {
        let ts: Vec<i64> = (0..1000)
            .map(|i| 1_700_000_000_000_000_000 + i * 15_000_000_000)
            .collect();
        let mut b = Vec::new();
        encode_ts(&ts, &mut b);
        assert!(b.len() < 8 + 999 * 6, "{}", b.len());
    }

    #[test]
    fn corrupt_chunks_are_errors_not_panics() {
        let mut out = Vec::new();
        assert!(decode_ts(&[1, 2, 3], 2, &mut out).is_err());
        assert!(decode_ts(&[0, 0, 0, 0, 0, 0, 0, 0, 0x80], 2, &mut out).is_err());
        assert!(decode_values(&[0; 7], 1, &mut Vec::new()).is_err());
    }

    #[test]
    fn values_round_trip_nan() {
        let v = vec![1.5, f64::NAN, -0.0];
        let mut b = Vec::new();
        encode_values(&v, &mut b);
        let mut out = Vec::new();
        decode_values(&b, 3, &mut out).unwrap();
        assert_eq!(out[0], 1.5);
        assert!(out[1].is_nan());
    }
}

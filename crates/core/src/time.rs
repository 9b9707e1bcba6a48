//! Time: [`Timestamp`] (nanoseconds since the Unix epoch, UTC, as OpenTelemetry) and
//! [`DurationNs`], with parsing of the textual forms found in exported signals.
//!
//! Accepted forms ([`Timestamp::parse`]):
//! - RFC 3339 / ISO 8601: `2024-05-14T10:30:12Z`, `2024-05-14 10:30:12.123+02:00`,
//!   `2024-05-14T10:30:12.123456789` (a zone-less time is read as UTC);
//! - epoch numbers, integer or fractional, whose unit is inferred from the magnitude:
//!   below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds.
//!   (1e11 s is the year 5138; 1e11 ms is 1973, so the ranges do not overlap in practice.)

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// A point in time: nanoseconds since 1970-01-01T00:00:00Z.
///
/// Serialised as an RFC 3339 string (`"2024-05-14T10:30:12.5Z"`); deserialised from such a
/// string or from an integer number of nanoseconds.
///
/// ```
/// use faultline_core::Timestamp;
/// let t = Timestamp::parse("2024-05-14T10:30:12Z").unwrap();
/// assert_eq!(t, Timestamp::from_secs(1_715_682_612));
/// assert_eq!(Timestamp::parse("1715682612000").unwrap(), t); // epoch milliseconds
/// assert_eq!(t.to_string(), "2024-05-14T10:30:12Z");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// A signed span of time in nanoseconds.
///
/// ```
/// use faultline_core::DurationNs;
/// assert_eq!(DurationNs::from_secs(90).as_secs_f64(), 90.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DurationNs(pub i64);

impl DurationNs {
    /// A duration of `secs` whole seconds.
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(NANOS_PER_SEC))
    }
    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms.saturating_mul(1_000_000))
    }
    /// A duration from fractional seconds (saturating; NaN is zero).
    pub fn from_secs_f64(secs: f64) -> Self {
        Self(f64_to_i64_saturating(secs * 1e9))
    }
    /// The duration in fractional seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

/// Why a text could not be read as a timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a timestamp (expected RFC 3339 or epoch seconds/milliseconds): {reason}")]
pub struct TimestampError {
    /// What was wrong with it.
    pub reason: &'static str,
}

impl Timestamp {
    /// The earliest representable time.
    pub const MIN: Timestamp = Timestamp(i64::MIN);
    /// The latest representable time.
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    /// From whole seconds since the epoch.
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(NANOS_PER_SEC))
    }
    /// From milliseconds since the epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms.saturating_mul(1_000_000))
    }
    /// From fractional seconds since the epoch (saturating; NaN is the epoch).
    pub fn from_secs_f64(secs: f64) -> Self {
        Self(f64_to_i64_saturating(secs * 1e9))
    }
    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }
    /// Fractional seconds since the epoch.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// Whole seconds since the epoch (floor).
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(NANOS_PER_SEC)
    }
    /// `self + d`, saturating.
    pub const fn add(self, d: DurationNs) -> Self {
        Self(self.0.saturating_add(d.0))
    }
    /// `self - d`, saturating.
    pub const fn sub(self, d: DurationNs) -> Self {
        Self(self.0.saturating_sub(d.0))
    }
    /// The signed duration `self - earlier`.
    pub const fn since(self, earlier: Timestamp) -> DurationNs {
        DurationNs(self.0.saturating_sub(earlier.0))
    }

    /// Parses RFC 3339 / ISO 8601 text or an epoch number (unit inferred from magnitude; see
    /// the module documentation).
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let s = text.trim();
        if s.is_empty() {
            return Err(TimestampError { reason: "empty" });
        }
        let first = s.as_bytes()[0];
        if s.len() >= 10 && s.as_bytes().get(4) == Some(&b'-') {
            return parse_rfc3339(s);
        }
        if first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.' {
            return parse_epoch(s);
        }
        Err(TimestampError {
            reason: "neither a date nor a number",
        })
    }

    /// Reads an epoch number whose unit is inferred from its magnitude.
    pub fn from_epoch_number(v: f64) -> Result<Self, TimestampError> {
        if !v.is_finite() {
            return Err(TimestampError {
                reason: "not a finite number",
            });
        }
        let a = v.abs();
        let nanos = if a < 1e11 {
            v * 1e9
        } else if a < 1e14 {
            v * 1e6
        } else if a < 1e17 {
            v * 1e3
        } else {
            v
        };
        if nanos.abs() >= 9.2e18 {
            return Err(TimestampError {
                reason: "out of range",
            });
        }
        Ok(Self(nanos.round() as i64))
    }
}

fn f64_to_i64_saturating(v: f64) -> i64 {
    if v.is_nan() {
        0
    } else {
        // `as` saturates for floats since Rust 1.45.
        v as i64
    }
}

fn parse_epoch(s: &str) -> Result<Timestamp, TimestampError> {
    // Integers are handled exactly so that nanosecond epochs keep their precision.
    if let Ok(i) = s.parse::<i64>() {
        let a = i.unsigned_abs();
        let nanos = if a < 100_000_000_000 {
            i.checked_mul(NANOS_PER_SEC)
        } else if a < 100_000_000_000_000 {
            i.checked_mul(1_000_000)
        } else if a < 100_000_000_000_000_000 {
            i.checked_mul(1_000)
        } else {
            Some(i)
        };
        return nanos.map(Timestamp).ok_or(TimestampError {
            reason: "out of range",
        });
    }
    let v: f64 = s.parse().map_err(|_| TimestampError {
        reason: "not a number",
    })?;
    Timestamp::from_epoch_number(v)
}

fn digits(b: &[u8], from: usize, n: usize) -> Option<i64> {
    let part = b.get(from..from + n)?;
    let mut v = 0i64;
    for &c in part {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn parse_rfc3339(s: &str) -> Result<Timestamp, TimestampError> {
    let bad = |reason| Err(TimestampError { reason });
    let b = s.as_bytes();
    let (Some(y), Some(mo), Some(d)) = (digits(b, 0, 4), digits(b, 5, 2), digits(b, 8, 2)) else {
        return bad("malformed date");
    };
    if b.get(7) != Some(&b'-') || !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return bad("malformed date");
    }
    let mut i = 10;
    let (mut hh, mut mm, mut ss, mut frac) = (0, 0, 0, 0i64);
    if i < b.len() && matches!(b[i], b'T' | b't' | b' ') {
        i += 1;
        let (Some(h), Some(m)) = (digits(b, i, 2), digits(b, i + 3, 2)) else {
            return bad("malformed time");
        };
        if b.get(i + 2) != Some(&b':') {
            return bad("malformed time");
        }
        hh = h;
        mm = m;
        i += 5;
        if b.get(i) == Some(&b':') {
            let Some(sec) = digits(b, i + 1, 2) else {
                return bad("malformed seconds");
            };
            ss = sec;
            i += 3;
        }
        if matches!(b.get(i), Some(b'.') | Some(b',')) {
            i += 1;
            let start = i;
            let mut scale = 100_000_000i64;
            while i < b.len() && b[i].is_ascii_digit() {
                frac += i64::from(b[i] - b'0') * scale;
                scale /= 10;
                i += 1;
            }
            if i == start {
                return bad("empty fraction");
            }
        }
        // 60 is allowed for leap seconds and folded into the next minute.
        if hh > 23 || mm > 59 || ss > 60 {
            return bad("time out of range");
        }
    }
    let mut offset_secs = 0i64;
    match b.get(i) {
        None => {}
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => i += 1,
        Some(&sign @ (b'+' | b'-')) => {
            let Some(oh) = digits(b, i + 1, 2) else {
                return bad("malformed offset");
            };
            let om = if b.get(i + 3) == Some(&b':') {
                digits(b, i + 4, 2)
            } else {
                digits(b, i + 3, 2)
            };
            let Some(om) = om else {
                return bad("malformed offset");
            };
            if oh > 23 || om > 59 {
                return bad("offset out of range");
            }
            offset_secs = (oh * 3600 + om * 60) * if sign == b'-' { -1 } else { 1 };
            i = if b.get(i + 3) == Some(&b':') { i + 6 } else { i + 5 };
        }
        Some(_) => return bad("unexpected text after time"),
    }
    if i != b.len() {
        return bad("unexpected text after time");
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss - offset_secs;
    secs.checked_mul(NANOS_PER_SEC)
        .and_then(|n| n.checked_add(frac))
        .map(Timestamp)
        .ok_or(TimestampError {
            reason: "out of range",
        })
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with as many fractional digits as needed (none for whole seconds).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(NANOS_PER_SEC);
        let nanos = self.0.rem_euclid(NANOS_PER_SEC);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )?;
        if nanos != 0 {
            let mut digits = format!("{nanos:09}");
            while digits.ends_with('0') {
                digits.pop();
            }
            write!(f, ".{digits}")?;
        }
        f.write_str("Z")
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp or integer nanoseconds since the epoch")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Timestamp, E> {
                i64::try_from(v)
                    .map(Timestamp)
                    .map_err(|_| E::custom("timestamp out of range"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc3339_forms_agree() {
        let base = Timestamp::from_secs(1_715_682_612);
        for s in [
            "2024-05-14T10:30:12Z",
            "2024-05-14 10:30:12",
            "2024-05-14T12:30:12+02:00",
            "2024-05-14T12:30:12+0200",
            "2024-05-14T05:30:12-05:00",
            "1715682612",
            "1715682612000",
            "1715682612000000",
            "1715682612000000000",
            "1715682612.0",
        ] {
            assert_eq!(Timestamp::parse(s), Ok(base), "{s}");
        }
        assert_eq!(
            Timestamp::parse("2024-05-14T10:30:12.123456789Z").map(|t| t.0 - base.0),
            Ok(123_456_789)
        );
        assert_eq!(
            Timestamp::parse("2024-05-14T10:30:12,5Z").map(|t| t.0 - base.0),
            Ok(500_000_000)
        );
    }

    #[test]
    fn malformed_text_is_an_error_not_a_panic() {
        for s in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-02-30",
            "2024-05-14T25:00:00Z",
            "2024-05-14T10:30:12Zjunk",
            "2024-05-14T10:30:12.Z",
            "2024-05-14T10",
            "1e400",
            "NaN",
            "9999999999999999999999",
        ] {
            assert!(Timestamp::parse(s).is_err(), "{s} should fail");
        }
    }

    #[test]
    fn display_trims_fraction() {
        assert_eq!(Timestamp(1_500_000_000).to_string(), "1970-01-01T00:00:01.5Z");
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn serde_round_trip_as_text() {
        let t = Timestamp(1_715_682_612_250_000_000);
        let j = serde_json::to_string(&t).unwrap();
        assert_eq!(j, "\"2024-05-14T10:30:12.25Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&j).unwrap(), t);
        assert_eq!(serde_json::from_str::<Timestamp>("42").unwrap(), Timestamp(42));
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(n in -9_000_000_000i64..9_000_000_000i64, frac in 0i64..1_000_000_000) {
            let t = Timestamp(n * NANOS_PER_SEC + frac);
            prop_assert_eq!(Timestamp::parse(&t.to_string()), Ok(t));
        }

        #[test]
        fn parse_never_panics(s in ".{0,40}") {
            let _ = Timestamp::parse(&s);
        }

        #[test]
        fn civil_round_trip(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}

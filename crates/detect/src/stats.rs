//! Robust statistics: medians, MAD, and the z → score map (the rolling sorted window lives in
//! [`crate::rolling`] and is re-exported here).

/// Consistency constant: `1.4826 * MAD` estimates the standard deviation of a normal sample.
pub const MAD_TO_SIGMA: f64 = 1.482_602_218_505_602;

/// Median of finite values (NaN-free input; reorders `buf`). `None` when empty.
pub fn median_in_place(buf: &mut [f64]) -> Option<f64> {
    let n = buf.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    let (_, &mut hi, _) = buf.select_nth_unstable_by(mid, f64::total_cmp);
    if n % 2 == 1 {
        Some(hi)
    } else {
        let lo = buf[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(0.5 * (lo + hi))
    }
}

/// Median and MAD (unscaled) of `values`; `None` when empty.
pub fn median_mad(values: &[f64]) -> Option<(f64, f64)> {
    let mut buf: Vec<f64> = values.to_vec();
    let med = median_in_place(&mut buf)?;
    for (b, v) in buf.iter_mut().zip(values) {
        *b = (v - med).abs();
    }
    let mad = median_in_place(&mut buf)?;
    Some((med, mad))
}

/// Maps a deviation in robust standard units to a score in [0, 1]: 0 at 0, 0.5 at `z_half`,
/// rising like `1 - 2^-(z / z_half)^2` (0.94 at twice `z_half`). NaN maps to 0.
#[inline]
pub fn score_from_z(z: f64, z_half: f64) -> f64 {
    let u = z.abs() / z_half;
    let u2 = u * u;
    if u2.is_nan() {
        return 0.0;
    }
    if u2 > 64.0 {
        // 1 - 2^-64 rounds to 1 in f64: skip the exp.
        return 1.0;
    }
    let s = 1.0 - (-std::f64::consts::LN_2 * u2).exp();
    if s.is_nan() {
        0.0
    } else {
        s.clamp(0.0, 1.0)
    }
}

/// [`score_from_z`] with `2^-t` from a polynomial instead of libm's `exp` (within 1e-10
/// relative; see `exp2_neg`): the online detectors spend a third of their time in `exp`
/// otherwise. Batch detection keeps the libm version, so its reports stay bit-for-bit stable.
#[inline]
pub fn score_from_z_fast(z: f64, z_half: f64) -> f64 {
    score_from_u_fast(z.abs() / z_half)
}

/// [`score_from_z_fast`] of a deviation already divided by the scale and `z_half`
/// (`u = |z| / z_half`, any sign; NaN scores 0): callers on the hot path fold both divisions
/// into one.
#[inline]
pub(crate) fn score_from_u_fast(u: f64) -> f64 {
    let u2 = u * u;
    if u2.is_nan() {
        return 0.0;
    }
    if u2 > 64.0 {
        return 1.0;
    }
    (1.0 - exp2_neg(u2)).clamp(0.0, 1.0)
}

/// `2^-t` for `t` in [0, 64], to about 1e-11 relative error and without a libm call: `t = i + f` with `i`
/// the nearest integer and `|f| <= 1/2`, `2^-i` from the exponent bits, `2^-f = e^y`
/// (`|y| <= 0.35`) by its Taylor polynomial of degree 9 (remainder < 1e-11), evaluated by
/// Estrin's scheme (a dependency chain of 5 multiply-adds instead of Horner's 9, which was the
/// online detectors' critical path).
#[inline]
fn exp2_neg(t: f64) -> f64 {
    // Nearest integer by truncation of t + 1/2 (t >= 0): a conversion, not a libm call.
    let i = (t + 0.5) as i64;
    let y = -(t - i as f64) * std::f64::consts::LN_2;
    let y2 = y * y;
    let y4 = y2 * y2;
    let y8 = y4 * y4;
    let p01 = 1.0 + y;
    let p23 = 0.5 + y * (1.0 / 6.0);
    let p45 = 1.0 / 24.0 + y * (1.0 / 120.0);
    let p67 = 1.0 / 720.0 + y * (1.0 / 5040.0);
    let p89 = 1.0 / 40_320.0 + y * (1.0 / 362_880.0);
    let p = (p01 + y2 * p23) + y4 * (p45 + y2 * p67) + y8 * p89;
    // 0 <= i <= 64: a normal power of two.
    let scale = f64::from_bits(((1023 - i) as u64) << 52);
    p * scale
}

/// The rolling sorted window, generic over `f64`/`f32` (defined in [`crate::rolling`]).
pub use crate::rolling::SortedWindow;

/// Median of an ascending slice (NaN when empty).
pub fn median_of_sorted(s: &[f64]) -> f64 {
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// Median absolute deviation from `center` (unscaled) of an ascending slice, in O(log n): the
/// deviations are two sorted sequences (below and above `center`), and the middle order
/// statistics of their union come from a binary search over how many each contributes. NaN
/// when empty.
pub fn mad_of_sorted(s: &[f64], center: f64) -> f64 {
    mad_of_sorted_by(s.len(), |i| s[i], center)
}

/// [`mad_of_sorted`] of the ascending sequence `at(0..n)`.
pub(crate) fn mad_of_sorted_by(n: usize, at: impl Fn(usize) -> f64, center: f64) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    // First index not below `center` (binary search on the accessor).
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if at(mid) < center {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let split = lo;
    let below = |i: usize| center - at(split - 1 - i);
    let above = |j: usize| at(split + j) - center;
    let (na, nb) = (split, n - split);
    if n % 2 == 1 {
        kth_of_two(n / 2, below, na, above, nb)
    } else {
        0.5 * (kth_of_two(n / 2 - 1, below, na, above, nb) + kth_of_two(n / 2, below, na, above, nb))
    }
}

/// The `k`-th smallest (0-based) element of the union of two ascending sequences given by
/// accessors and lengths (`k < na + nb`).
fn kth_of_two(k: usize, a: impl Fn(usize) -> f64, na: usize, b: impl Fn(usize) -> f64, nb: usize) -> f64 {
    // i = how many of the k + 1 smallest come from `a`; the predicate a(i) >= b(k - i) is
    // monotone in i.
    let mut lo = (k + 1).saturating_sub(nb);
    let mut hi = (k + 1).min(na);
    while lo < hi {
        let i = (lo + hi) / 2;
        let j = k + 1 - i;
        if a(i) < b(j - 1) {
            lo = i + 1;
        } else {
            hi = i;
        }
    }
    let j = k + 1 - lo;
    let x = if lo > 0 { a(lo - 1) } else { f64::NEG_INFINITY };
    let y = if j > 0 { b(j - 1) } else { f64::NEG_INFINITY };
    x.max(y)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp2_matches_libm() {
        for k in 0..=64_000 {
            let t = k as f64 / 1000.0;
            let want = (-t * std::f64::consts::LN_2).exp();
            let got = exp2_neg(t);
            assert!((got - want).abs() <= 1e-10 * want, "t {t}: {got} vs {want}");
        }
    }

    #[test]
    fn sorted_window_matches_naive_median_and_mad() {
        for cap in [5usize, 7, 8, 16, 33] {
            let mut w = SortedWindow::new(cap);
            let mut s = 99u64 + cap as u64;
            let mut all = Vec::new();
            for _ in 0..300 {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let v = ((s >> 33) % 1000) as f64 / 7.0;
                w.push(v);
                all.push(v);
                let tail = &all[all.len().saturating_sub(cap)..];
                let (m, mad) = median_mad(tail).unwrap();
                assert_eq!(w.median(), m);
                assert_eq!(w.mad(m), mad, "{tail:?}");
                // Off-centre queries too.
                let mut d: Vec<f64> = tail.iter().map(|x| (x - 50.0).abs()).collect();
                assert_eq!(w.mad(50.0), median_in_place(&mut d).unwrap());
            }
        }
        let mut w = SortedWindow::new(7);
        let mut s = 12345u64;
        let mut all = Vec::new();
        for _ in 0..200 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = ((s >> 33) % 50) as f64;
            w.push(v);
            all.push(v);
            let tail = &all[all.len().saturating_sub(7)..];
            let (m, mad) = median_mad(tail).unwrap();
            assert_eq!(w.median(), m);
            assert_eq!(w.mad(m), mad, "{tail:?}");
        }
        for cap in [1usize, 2, 4] {
            let mut w = SortedWindow::new(cap);
            for v in [3.0, 1.0, 2.0, 8.0, 8.0, 1.0] {
                w.push(v);
                let tail: Vec<f64> = w.sorted().to_vec();
                let (m, mad) = median_mad(&tail).unwrap();
                assert_eq!((w.median(), w.mad(m)), (m, mad));
            }
        }
    }

    #[test]
    fn score_map_is_monotone_and_bounded() {
        assert_eq!(score_from_z(0.0, 3.0), 0.0);
        assert!((score_from_z(3.0, 3.0) - 0.5).abs() < 1e-12);
        assert!(score_from_z(6.0, 3.0) > 0.9);
        assert_eq!(score_from_z(f64::INFINITY, 3.0), 1.0);
        assert_eq!(score_from_z(f64::NAN, 3.0), 0.0);
    }
}

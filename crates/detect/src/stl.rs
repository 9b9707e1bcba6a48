//! STL: Seasonal-Trend decomposition using LOESS.
//!
//! R. B. Cleveland, W. S. Cleveland, J. E. McRae and I. Terpenning, "STL: A Seasonal-Trend
//! Decomposition Procedure Based on Loess", Journal of Official Statistics 6(1), 1990.
//!
//! This implementation follows the numerics of the netlib Fortran code as ported by
//! statsmodels (`statsmodels.tsa.seasonal.STL`, jumps = 1): tricube weights on `|x - xs| / h`
//! with `h` the distance to the farthest point of a fixed-size window (shifted, not shrunk,
//! near the ends; widened by `(len - n) / 2` when the window is longer than the series),
//! weights 1 below `0.001 h` and 0 above `0.999 h`, a degree-1 correction skipped when the
//! weighted spread of `x` is below `0.001 (n - 1)`, cycle-subseries smoothed with one extra
//! point extrapolated at each end, a low-pass of moving averages (`period`, `period`, 3)
//! followed by LOESS, and bisquare robustness weights on `6 * median(|remainder|)`.
//!
//! Speed: with equally spaced points and no robustness weights, every interior point of a
//! LOESS pass (symmetric window of odd length `2m + 1`, `h = m`) uses the same normalised
//! tricube kernel, and the degree-1 correction vanishes because the window is symmetric. The
//! interior is therefore a fixed convolution, computed here in cache-sized blocks that the
//! compiler vectorises; only the `m` points at each end get the full local fit. Robust passes
//! (per-point weights) use the full local fit everywhere.

use crate::DetectError;

/// Settings of an STL decomposition, named as in statsmodels' `STL`.
///
/// ```
/// use faultline_detect::{stl, StlParams};
/// let y: Vec<f64> = (0..96).map(|i| (i as f64 * std::f64::consts::TAU / 12.0).sin() + 0.01 * i as f64).collect();
/// let d = stl(&y, &StlParams::new(12)).unwrap();
/// assert_eq!(d.trend.len(), 96);
/// assert!((d.trend[50] + d.seasonal[50] + d.remainder[50] - y[50]).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct StlParams {
    /// Number of samples in one season (at least 2).
    pub period: usize,
    /// Length of the cycle-subseries smoother (odd, at least 3).
    pub seasonal: usize,
    /// Length of the trend smoother (odd, greater than `period`); `None` = statsmodels' default,
    /// the smallest odd integer at least `1.5 period / (1 - 1.5 / seasonal)`.
    pub trend: Option<usize>,
    /// Length of the low-pass smoother (odd, greater than `period`); `None` = the smallest odd
    /// integer greater than `period`.
    pub low_pass: Option<usize>,
    /// LOESS degree of the seasonal smoother (0 or 1).
    pub seasonal_deg: u8,
    /// LOESS degree of the trend smoother (0 or 1).
    pub trend_deg: u8,
    /// LOESS degree of the low-pass smoother (0 or 1).
    pub low_pass_deg: u8,
    /// Whether to compute robustness weights between outer iterations.
    pub robust: bool,
    /// Passes of the inner loop (statsmodels: 5, or 2 when robust).
    pub inner_iter: usize,
    /// Passes of the outer (robustness) loop (statsmodels: 0, or 15 when robust).
    pub outer_iter: usize,
}

impl Default for StlParams {
    fn default() -> Self {
        Self::new(2)
    }
}

impl StlParams {
    /// statsmodels' defaults for a period: seasonal 7, default trend and low-pass lengths,
    /// degrees 1, not robust, 5 inner and 0 outer iterations.
    pub fn new(period: usize) -> Self {
        Self {
            period,
            seasonal: 7,
            trend: None,
            low_pass: None,
            seasonal_deg: 1,
            trend_deg: 1,
            low_pass_deg: 1,
            robust: false,
            inner_iter: 5,
            outer_iter: 0,
        }
    }

    /// statsmodels' robust defaults: as [`StlParams::new`] with `robust`, 2 inner and 15 outer
    /// iterations.
    pub fn robust(period: usize) -> Self {
        Self {
            robust: true,
            inner_iter: 2,
            outer_iter: 15,
            ..Self::new(period)
        }
    }

    /// The trend length in use (resolving the default).
    pub fn trend_len(&self) -> usize {
        self.trend.unwrap_or_else(|| {
            let s = self.seasonal.max(2) as f64;
            let t = (1.5 * self.period as f64 / (1.0 - 1.5 / s)).ceil() as usize;
            t + usize::from(t % 2 == 0)
        })
    }

    /// The low-pass length in use (resolving the default).
    pub fn low_pass_len(&self) -> usize {
        self.low_pass.unwrap_or_else(|| {
            let l = self.period + 1;
            l + usize::from(l % 2 == 0)
        })
    }

    /// Checks every field (the rules of statsmodels' `STL`).
    pub fn validate(&self) -> Result<(), DetectError> {
        if self.period < 2 {
            return Err(DetectError::config("period", "must be at least 2"));
        }
        if self.seasonal < 3 || self.seasonal % 2 == 0 {
            return Err(DetectError::config("seasonal", "must be an odd integer >= 3"));
        }
        let (t, l) = (self.trend_len(), self.low_pass_len());
        if t < 3 || t % 2 == 0 || t <= self.period {
            return Err(DetectError::config(
                "trend",
                "must be an odd integer >= 3 and > period",
            ));
        }
        if l < 3 || l % 2 == 0 || l <= self.period {
            return Err(DetectError::config(
                "low_pass",
                "must be an odd integer >= 3 and > period",
            ));
        }
        for (f, d) in [
            ("seasonal_deg", self.seasonal_deg),
            ("trend_deg", self.trend_deg),
            ("low_pass_deg", self.low_pass_deg),
        ] {
            if d > 1 {
                return Err(DetectError::config(f, "must be 0 or 1"));
            }
        }
        if self.inner_iter == 0 {
            return Err(DetectError::config("inner_iter", "must be at least 1"));
        }
        Ok(())
    }
}

/// The three components of an STL decomposition; `trend + seasonal + remainder` is the input.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Decomposition {
    /// Trend component.
    pub trend: Vec<f64>,
    /// Seasonal component.
    pub seasonal: Vec<f64>,
    /// What is left: `value - trend - seasonal`.
    pub remainder: Vec<f64>,
}

/// Decomposes `values` (equally spaced, all finite, at least two periods long) with STL.
///
/// Errors: [`DetectError::InvalidConfig`] for bad parameters, [`DetectError::TooShort`] for
/// fewer than `2 * period` values, [`DetectError::NonFinite`] for a NaN or infinite value
/// (interpolate gaps first).
pub fn stl(values: &[f64], params: &StlParams) -> Result<Decomposition, DetectError> {
    params.validate()?;
    let n = values.len();
    let np = params.period;
    if n < 2 * np {
        return Err(DetectError::TooShort {
            needed: 2 * np,
            got: n,
        });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(DetectError::NonFinite { index, value });
    }
    let mut st = Stl::new(values, params);
    st.fit();
    let remainder = values
        .iter()
        .zip(st.trend.iter().zip(&st.season))
        .map(|(y, (t, s))| y - s - t)
        .collect();
    Ok(Decomposition {
        trend: st.trend,
        seasonal: st.season,
        remainder,
    })
}

/// Working state of one fit (buffers reused across passes).
struct Stl<'a> {
    y: &'a [f64],
    p: &'a StlParams,
    nt: usize,
    nl: usize,
    trend: Vec<f64>,
    season: Vec<f64>,
    rw: Vec<f64>,
    use_rw: bool,
    /// Cycle-subseries smooths, `n + 2 period` long.
    c: Vec<f64>,
    w0: Vec<f64>,
    w1: Vec<f64>,
    w2: Vec<f64>,
    sub: Vec<f64>,
    sub_rw: Vec<f64>,
    sub_out: Vec<f64>,
    scratch: Vec<f64>,
}

impl<'a> Stl<'a> {
    fn new(y: &'a [f64], p: &'a StlParams) -> Self {
        let n = y.len();
        let np = p.period;
        let k = n / np + 3;
        Self {
            y,
            p,
            nt: p.trend_len(),
            nl: p.low_pass_len(),
            trend: vec![0.0; n],
            season: vec![0.0; n],
            rw: vec![1.0; n],
            use_rw: false,
            c: vec![0.0; n + 2 * np],
            w0: vec![0.0; n + 2 * np],
            w1: vec![0.0; n + 2 * np],
            w2: vec![0.0; n + 2 * np],
            sub: Vec::with_capacity(k),
            sub_rw: Vec::with_capacity(k),
            sub_out: vec![0.0; k],
            scratch: vec![0.0; n.max(p.trend_len()).max(p.low_pass_len()) + 2 * np],
        }
    }

    fn fit(&mut self) {
        let mut k = 0;
        loop {
            self.one_step();
            k += 1;
            if k > self.p.outer_iter {
                break;
            }
            self.robustness_weights();
            self.use_rw = true;
        }
    }

    fn one_step(&mut self) {
        let n = self.y.len();
        let np = self.p.period;
        for _ in 0..self.p.inner_iter {
            for i in 0..n {
                self.w0[i] = self.y[i] - self.trend[i];
            }
            self.cycle_subseries();
            // Low-pass filter of the cycle-subseries: MA(np), MA(np), MA(3), LOESS(nl).
            moving_average(&self.c, np, &mut self.w1);
            moving_average(&self.w1[..n + np + 1], np, &mut self.w2);
            moving_average(&self.w2[..n + 2], 3, &mut self.w1);
            loess(
                &self.w1[..n],
                self.nl,
                self.p.low_pass_deg,
                None,
                &mut self.w0[..n],
                &mut self.scratch,
            );
            for i in 0..n {
                self.season[i] = self.c[np + i] - self.w0[i];
                self.w1[i] = self.y[i] - self.season[i];
            }
            let rw = if self.use_rw { Some(&self.rw[..]) } else { None };
            loess(
                &self.w1[..n],
                self.nt,
                self.p.trend_deg,
                rw,
                &mut self.trend,
                &mut self.scratch,
            );
        }
    }

    /// Smooths each cycle-subseries of `w0` into `c`, one extra point at each end.
    fn cycle_subseries(&mut self) {
        let n = self.y.len();
        let np = self.p.period;
        let ns = self.p.seasonal;
        let deg = self.p.seasonal_deg;
        for j in 0..np {
            let k = (n - (j + 1)) / np + 1;
            self.sub.clear();
            self.sub.extend((0..k).map(|i| self.w0[i * np + j]));
            self.sub_rw.clear();
            if self.use_rw {
                self.sub_rw.extend((0..k).map(|i| self.rw[i * np + j]));
            }
            let rw = if self.use_rw { Some(&self.sub_rw[..]) } else { None };
            self.sub_out.resize(k + 2, 0.0);
            loess(
                &self.sub,
                ns,
                deg,
                rw,
                &mut self.sub_out[1..=k],
                &mut self.scratch,
            );
            let first = est(&self.sub, ns, deg, 0, rw, &mut self.scratch).unwrap_or(self.sub_out[1]);
            let last =
                est(&self.sub, ns, deg, k as i64 + 1, rw, &mut self.scratch).unwrap_or(self.sub_out[k]);
            self.sub_out[0] = first;
            self.sub_out[k + 1] = last;
            for (m, &v) in self.sub_out[..k + 2].iter().enumerate() {
                self.c[m * np + j] = v;
            }
        }
    }

    fn robustness_weights(&mut self) {
        let n = self.y.len();
        for i in 0..n {
            self.w0[i] = (self.y[i] - self.trend[i] - self.season[i]).abs();
        }
        let r = &mut self.w1[..n];
        r.copy_from_slice(&self.w0[..n]);
        let m0 = n / 2;
        let m1 = n - m0 - 1;
        r.select_nth_unstable_by(m0, f64::total_cmp);
        let a = r[m0];
        r.select_nth_unstable_by(m1, f64::total_cmp);
        let b = r[m1];
        let cmad = 3.0 * (a + b);
        if cmad == 0.0 {
            self.rw.fill(1.0);
            return;
        }
        let (c9, c1) = (0.999 * cmad, 0.001 * cmad);
        for i in 0..n {
            let r = self.w0[i];
            self.rw[i] = if r <= c1 {
                1.0
            } else if r <= c9 {
                let u = r / cmad;
                (1.0 - u * u).powi(2)
            } else {
                0.0
            };
        }
    }
}

/// Moving average of length `len` with a running sum (as the Fortran `stlma`):
/// `out[..x.len() - len + 1]`.
fn moving_average(x: &[f64], len: usize, out: &mut [f64]) {
    let newn = x.len() + 1 - len;
    let flen = len as f64;
    let mut v: f64 = x[..len].iter().sum();
    out[0] = v / flen;
    for j in 1..newn {
        v += x[len + j - 1] - x[j - 1];
        out[j] = v / flen;
    }
}

/// Tricube weight of distance `r` for half-width `h`, with the Fortran cut-offs.
#[inline]
fn tricube(r: f64, h: f64) -> f64 {
    if r <= 0.001 * h {
        1.0
    } else if r <= 0.999 * h {
        let u = r / h;
        let v = 1.0 - u * u * u;
        v * v * v
    } else {
        0.0
    }
}

/// LOESS estimate at position `xs` (1-based; may be 0 or `n + 1` for extrapolation) from the
/// window of `len` points nearest to it; `None` when all weights vanish. `w` is scratch space
/// of at least `min(len, n)` values.
pub(crate) fn est(y: &[f64], len: usize, deg: u8, xs: i64, rw: Option<&[f64]>, w: &mut [f64]) -> Option<f64> {
    let n = y.len() as i64;
    let len_i = len as i64;
    let (nleft, nright) = if len_i >= n {
        (1, n)
    } else {
        let xc = xs.clamp(1, n);
        let half = (len_i - 1) / 2;
        let left = (xc - half).clamp(1, n - len_i + 1);
        (left, left + len_i - 1)
    };
    let mut h = (xs - nleft).max(nright - xs) as f64;
    if len_i > n {
        h += ((len_i - n) / 2) as f64;
    }
    let range = (n - 1) as f64;
    let xsf = xs as f64;
    let cnt = (nright - nleft + 1) as usize;
    let w = &mut w[..cnt];
    let base = (nleft - 1) as usize;
    let mut a = 0.0;
    for (t, wj) in w.iter_mut().enumerate() {
        let j = nleft + t as i64;
        let mut v = tricube((j - xs).abs() as f64, h);
        if let Some(rw) = rw {
            v *= rw[base + t];
        }
        *wj = v;
        a += v;
    }
    if a <= 0.0 {
        return None;
    }
    for wj in w.iter_mut() {
        *wj /= a;
    }
    if h > 0.0 && deg > 0 {
        let mut a = 0.0;
        for (t, wj) in w.iter().enumerate() {
            a += wj * (nleft + t as i64) as f64;
        }
        let b = xsf - a;
        let mut c = 0.0;
        for (t, wj) in w.iter().enumerate() {
            let d = (nleft + t as i64) as f64 - a;
            c += wj * d * d;
        }
        if c.sqrt() > 0.001 * range {
            let b = b / c;
            for (t, wj) in w.iter_mut().enumerate() {
                *wj *= b * ((nleft + t as i64) as f64 - a) + 1.0;
            }
        }
    }
    Some(w.iter().zip(&y[base..base + cnt]).map(|(w, y)| w * y).sum())
}

/// LOESS smooth of `y` at every point into `out` (same length); `scratch` must hold at least
/// `min(len, n)` values. Without robustness weights the interior is a fixed convolution.
pub(crate) fn loess(
    y: &[f64],
    len: usize,
    deg: u8,
    rw: Option<&[f64]>,
    out: &mut [f64],
    scratch: &mut [f64],
) {
    let n = y.len();
    if n < 2 {
        out[..n].copy_from_slice(y);
        return;
    }
    let half = (len - 1) / 2;
    if rw.is_some() || len >= n || len % 2 == 0 || n < 2 * half + 1 {
        for i in 0..n {
            out[i] = est(y, len, deg, i as i64 + 1, rw, scratch).unwrap_or(y[i]);
        }
        return;
    }
    // Edges: the full local fit.
    for i in (0..half).chain(n - half..n) {
        out[i] = est(y, len, deg, i as i64 + 1, None, scratch).unwrap_or(y[i]);
    }
    // Interior: fixed normalised kernel (h = half, symmetric window).
    let kernel = &mut scratch[..len];
    let h = half as f64;
    let mut sum = 0.0;
    for (d, kd) in kernel.iter_mut().enumerate() {
        *kd = tricube((d as f64 - h).abs(), h);
        sum += *kd;
    }
    if sum <= 0.0 {
        out[half..n - half].copy_from_slice(&y[half..n - half]);
        return;
    }
    for kd in kernel.iter_mut() {
        *kd /= sum;
    }
    convolve_valid(y, kernel, &mut out[half..n - half]);
}

/// `out[i] = sum_d kernel[d] * y[i + d]` for every `i < out.len()`, for a symmetric kernel of
/// odd length (`kernel[d] == kernel[len - 1 - d]`): mirrored taps are added before the multiply,
/// halving the multiplications. Computed in blocks whose accumulators stay in L1.
fn convolve_valid(y: &[f64], kernel: &[f64], out: &mut [f64]) {
    const BLOCK: usize = 256;
    let len = kernel.len();
    let half = len / 2;
    let mut acc = [0.0f64; BLOCK];
    let mut start = 0;
    while start < out.len() {
        let b = BLOCK.min(out.len() - start);
        let acc = &mut acc[..b];
        let centre = &y[start + half..start + half + b];
        let kc = kernel[half];
        for (a, &v) in acc.iter_mut().zip(centre) {
            *a = kc * v;
        }
        for d in 0..half {
            let kd = kernel[d];
            if kd == 0.0 {
                continue;
            }
            let lo = &y[start + d..start + d + b];
            let hi = &y[start + len - 1 - d..start + len - 1 - d + b];
            for ((a, &l), &h) in acc.iter_mut().zip(lo).zip(hi) {
                *a += kd * (l + h);
            }
        }
        out[start..start + b].copy_from_slice(acc);
        start += b;
    }
}

#[cfg(test)]
#[path = "../tests/support/noise.rs"]
mod test_noise;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Straightforward STL: the full local fit at every point, no kernel shortcut.
    fn reference_stl(y: &[f64], p: &StlParams) -> (Vec<f64>, Vec<f64>) {
        let n = y.len();
        let np = p.period;
        let (nt, nl) = (p.trend_len(), p.low_pass_len());
        let mut trend = vec![0.0; n];
        let mut season = vec![0.0; n];
        let mut w = vec![0.0; 10 * n + 10];
        let ess = |x: &[f64], len: usize, deg: u8, w: &mut [f64]| -> Vec<f64> {
            (0..x.len())
                .map(|i| est(x, len, deg, i as i64 + 1, None, w).unwrap_or(x[i]))
                .collect()
        };
        let ma = |x: &[f64], len: usize| -> Vec<f64> {
            x.windows(len)
                .map(|s| s.iter().sum::<f64>() / len as f64)
                .collect()
        };
        for _ in 0..p.inner_iter {
            let detr: Vec<f64> = (0..n).map(|i| y[i] - trend[i]).collect();
            let mut c = vec![0.0; n + 2 * np];
            for j in 0..np {
                let sub: Vec<f64> = detr.iter().skip(j).step_by(np).copied().collect();
                let k = sub.len();
                let sm = ess(&sub, p.seasonal, p.seasonal_deg, &mut w);
                let first = est(&sub, p.seasonal, p.seasonal_deg, 0, None, &mut w).unwrap_or(sm[0]);
                let last =
                    est(&sub, p.seasonal, p.seasonal_deg, k as i64 + 1, None, &mut w).unwrap_or(sm[k - 1]);
                let full: Vec<f64> = std::iter::once(first)
                    .chain(sm)
                    .chain(std::iter::once(last))
                    .collect();
                for (m, v) in full.into_iter().enumerate() {
                    c[m * np + j] = v;
                }
            }
            let l = ess(&ma(&ma(&ma(&c, np), np), 3), nl, p.low_pass_deg, &mut w);
            for i in 0..n {
                season[i] = c[np + i] - l[i];
            }
            let des: Vec<f64> = (0..n).map(|i| y[i] - season[i]).collect();
            trend = ess(&des, nt, p.trend_deg, &mut w);
        }
        (trend, season)
    }

    use super::test_noise::noise;

    fn series(n: usize, period: usize, seed: u64) -> Vec<f64> {
        let e = noise(seed, n);
        (0..n)
            .map(|i| {
                let t = i as f64;
                100.0
                    + 0.05 * t
                    + 10.0 * (t * std::f64::consts::TAU / period as f64).sin()
                    + 2.0 * e[i]
                    + if i > n / 2 { 15.0 } else { 0.0 }
            })
            .collect()
    }

    #[test]
    fn fast_stl_matches_straightforward_reference() {
        for (n, period, seed) in [(240, 12, 1), (1000, 24, 2), (97, 7, 3), (3000, 144, 4)] {
            let y = series(n, period, seed);
            let p = StlParams::new(period);
            let d = stl(&y, &p).unwrap();
            let (t, s) = reference_stl(&y, &p);
            let sd = 10.0;
            for i in 0..n {
                assert!(
                    (d.trend[i] - t[i]).abs() < 1e-10 * sd,
                    "trend {n} {i}: {} vs {}",
                    d.trend[i],
                    t[i]
                );
                assert!((d.seasonal[i] - s[i]).abs() < 1e-10 * sd, "season {n} {i}");
                assert!((d.trend[i] + d.seasonal[i] + d.remainder[i] - y[i]).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn recovers_known_seasonal_and_trend() {
        let period = 24;
        let n = 24 * 20;
        let y: Vec<f64> = (0..n)
            .map(|i| 5.0 + 0.01 * i as f64 + 3.0 * (i as f64 * std::f64::consts::TAU / period as f64).sin())
            .collect();
        let d = stl(&y, &StlParams::new(period)).unwrap();
        for i in period * 3..n - period * 3 {
            let s = 3.0 * (i as f64 * std::f64::consts::TAU / period as f64).sin();
            assert!((d.seasonal[i] - s).abs() < 0.05, "{i}: {} vs {s}", d.seasonal[i]);
            assert!((d.trend[i] - (5.0 + 0.01 * i as f64)).abs() < 0.05);
        }
    }

    #[test]
    fn robust_mode_downweights_outliers() {
        let period = 12;
        let mut y = series(360, period, 9);
        y[100] += 500.0;
        let d = stl(&y, &StlParams::robust(period)).unwrap();
        assert!(
            d.remainder[100] > 400.0,
            "outlier stays in the remainder: {}",
            d.remainder[100]
        );
        let plain = stl(&y, &StlParams::new(period)).unwrap();
        assert!(d.remainder[100] > plain.remainder[100]);
    }

    #[test]
    fn bad_input_gives_typed_errors() {
        assert!(matches!(
            stl(&[1.0; 10], &StlParams::new(12)),
            Err(DetectError::TooShort { needed: 24, got: 10 })
        ));
        let mut y = vec![1.0; 48];
        y[3] = f64::NAN;
        assert!(matches!(
            stl(&y, &StlParams::new(12)),
            Err(DetectError::NonFinite { index: 3, .. })
        ));
        let p = StlParams {
            seasonal: 8,
            ..StlParams::new(12)
        };
        assert!(matches!(
            stl(&[1.0; 48], &p),
            Err(DetectError::InvalidConfig {
                field: "seasonal",
                ..
            })
        ));
        assert!(stl(&[1.0; 48], &StlParams::new(1)).is_err());
    }

    #[test]
    fn default_lengths_follow_statsmodels() {
        let p = StlParams::new(1440);
        assert_eq!(p.trend_len(), 2751);
        assert_eq!(p.low_pass_len(), 1441);
        assert_eq!(StlParams::new(12).trend_len(), 23);
        assert_eq!(StlParams::new(7).low_pass_len(), 9);
    }

    #[test]
    fn constant_series_decomposes_to_constant_trend() {
        let d = stl(&[4.0; 60], &StlParams::new(6)).unwrap();
        assert!(d.trend.iter().all(|t| (t - 4.0).abs() < 1e-12));
        assert!(d.seasonal.iter().all(|s| s.abs() < 1e-12));
    }
}

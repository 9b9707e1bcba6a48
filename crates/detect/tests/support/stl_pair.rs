//! Shared by the STL-vs-`stlrs` test, bench and example (each includes this file with
//! `#[path]`): the seeded input series and `stlrs` run with exactly our [`StlParams`].

use faultline_detect::StlParams;

#[path = "noise.rs"]
mod noise;

/// Seeded series: trend, two-harmonic season, noise, spikes, a level shift.
pub fn bench_series(n: usize, period: usize) -> Vec<f64> {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|i| {
            let e = noise::next(&mut s);
            let ph = (i % period) as f64 / period as f64 * std::f64::consts::TAU;
            1000.0
                + 0.01 * i as f64
                + 200.0 * ph.sin()
                + 60.0 * (2.0 * ph).cos()
                + 20.0 * e
                + if i % 977 == 0 { 300.0 } else { 0.0 }
                + if i > n * 7 / 10 { 150.0 } else { 0.0 }
        })
        .collect()
}

/// `stlrs` STL of `y` with `p`'s lengths, degrees and loops written out (jumps of 1, non-robust:
/// statsmodels' settings, which ours follow).
pub fn stlrs_stl(y: &[f64], p: &StlParams) -> stlrs::StlResult<f64> {
    stlrs::params()
        .seasonal_length(p.seasonal)
        .trend_length(p.trend_len())
        .low_pass_length(p.low_pass_len())
        .seasonal_degree(i32::from(p.seasonal_deg))
        .trend_degree(i32::from(p.trend_deg))
        .low_pass_degree(i32::from(p.low_pass_deg))
        .seasonal_jump(1)
        .trend_jump(1)
        .low_pass_jump(1)
        .inner_loops(p.inner_iter)
        .outer_loops(p.outer_iter)
        .robust(false)
        .fit(y, p.period)
        .expect("stlrs accepts the input")
}

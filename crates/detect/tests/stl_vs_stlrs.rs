//! Our STL and the `stlrs` crate (f64, statsmodels' non-robust settings written out) agree.

use faultline_detect::{stl, StlParams};

/// Seeded series: trend, two-harmonic season, noise, spikes, a level shift.
pub fn bench_series(n: usize, period: usize) -> Vec<f64> {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let e = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
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

#[test]
fn stl_matches_stlrs_with_the_same_settings() {
    for (n, period) in [(2000usize, 24usize), (1500, 7), (3000, 144)] {
        let y = bench_series(n, period);
        let p = StlParams::new(period);
        let ours = stl(&y, &p).expect("valid input");
        let theirs = stlrs::params()
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
            .fit(&y, period)
            .expect("stlrs accepts the input");
        let mean = y.iter().sum::<f64>() / n as f64;
        let sd = (y.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64).sqrt();
        for (name, a, b) in [
            ("trend", &ours.trend, theirs.trend()),
            ("seasonal", &ours.seasonal, theirs.seasonal()),
            ("remainder", &ours.remainder, theirs.remainder()),
        ] {
            let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            assert!(
                worst <= 1e-8 * sd,
                "n {n} period {period} {name}: worst {worst:e} (sd {sd})"
            );
        }
    }
}

#[test]
fn mstl_matches_stlrs_mstl() {
    use faultline_detect::{mstl, MstlParams};
    let (n, p1, p2) = (24 * 7 * 5, 24usize, 168usize);
    let y: Vec<f64> = bench_series(n, p1)
        .iter()
        .enumerate()
        .map(|(i, v)| v + 80.0 * ((i % p2) as f64 / p2 as f64 * std::f64::consts::TAU).cos())
        .collect();
    let ours = mstl(
        &y,
        &MstlParams {
            periods: vec![p1, p2],
            ..Default::default()
        },
    )
    .expect("valid input");
    let mut stl_params = stlrs::params();
    stl_params
        .seasonal_degree(1)
        .trend_degree(1)
        .low_pass_degree(1)
        .seasonal_jump(1)
        .trend_jump(1)
        .low_pass_jump(1)
        .inner_loops(5)
        .outer_loops(0)
        .robust(false);
    let theirs = stlrs::Mstl::params()
        .iterations(2)
        .stl_params(stl_params)
        .fit(&y, &[p1, p2])
        .expect("stlrs accepts the input");
    let mean = y.iter().sum::<f64>() / n as f64;
    let sd = (y.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64).sqrt();
    let worst = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(worst(&ours.trend, theirs.trend()) <= 1e-8 * sd);
    assert!(worst(&ours.remainder, theirs.remainder()) <= 1e-8 * sd);
    for k in 0..2 {
        assert!(
            worst(&ours.seasonal[k], &theirs.seasonal()[k]) <= 1e-8 * sd,
            "seasonal {k}"
        );
    }
}

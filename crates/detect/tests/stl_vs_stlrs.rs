//! Our STL and the `stlrs` crate (f64, statsmodels' non-robust settings written out) agree.

use faultline_detect::{stl, StlParams};

#[path = "support/stl_pair.rs"]
mod stl_pair;
use stl_pair::{bench_series, stlrs_stl};

#[test]
fn stl_matches_stlrs_with_the_same_settings() {
    for (n, period) in [(2000usize, 24usize), (1500, 7), (3000, 144)] {
        let y = bench_series(n, period);
        let p = StlParams::new(period);
        let ours = stl(&y, &p).expect("valid input");
        let theirs = stlrs_stl(&y, &p);
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

//! `OnlineDetector::expected`: the baseline each detector scored the last value against, and
//! the expected value and direction of the anomalies `OnlineBatch` builds from it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use faultline_core::{Direction, Series, SeriesKey, Timestamp};
use faultline_detect::{
    stats::median_mad, DetectorConfig, IqrConfig, IqrFence, MultiRes, MultiResConfig, OnlineDetector,
    RobustZ, RobustZConfig, RollingZ, RollingZConfig, SeasonalZ, SeasonalZConfig, StreamConfig,
    StreamDetector,
};

#[path = "support/noise.rs"]
mod support_noise;

/// Deterministic noise in [-0.5, 0.5).
fn noise(n: usize, seed: u64) -> Vec<f64> {
    support_noise::noise(seed, n)
}

#[test]
fn window_detectors_expect_the_statistic_of_the_values_before() {
    let xs: Vec<f64> = noise(300, 7).iter().map(|e| 50.0 + 4.0 * e).collect();
    let mut robust = RobustZ::try_new(RobustZConfig {
        window_samples: 40,
        ..Default::default()
    })
    .unwrap();
    let mut rolling = RollingZ::try_new(RollingZConfig {
        window_samples: 40,
        ..Default::default()
    })
    .unwrap();
    let mut iqr = IqrFence::try_new(IqrConfig {
        window_samples: 40,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(robust.expected(), None);
    assert_eq!(rolling.expected(), None);
    assert_eq!(iqr.expected(), None);
    for (t, &x) in xs.iter().enumerate() {
        robust.update(x);
        rolling.update(x);
        iqr.update(x);
        if t == 0 {
            continue;
        }
        let before = &xs[t.saturating_sub(40)..t];
        let (median, _) = median_mad(before).unwrap();
        let mean = before.iter().sum::<f64>() / before.len() as f64;
        assert_eq!(robust.expected(), Some(median), "sample {t}");
        assert_eq!(iqr.expected(), Some(median), "sample {t}");
        let got = rolling.expected().unwrap();
        assert!((got - mean).abs() < 1e-9, "sample {t}: {got} vs {mean}");
    }
    // Non-finite values are not scored: the expectation stays.
    let last = robust.expected();
    robust.update(f64::NAN);
    assert_eq!(robust.expected(), last);
    robust.reset();
    rolling.reset();
    iqr.reset();
    assert_eq!(
        (robust.expected(), rolling.expected(), iqr.expected()),
        (None, None, None)
    );
}

#[test]
fn seasonal_and_multi_resolution_detectors_expect_the_pattern_not_the_recent_median() {
    let period = 48;
    let pattern = |t: usize| 100.0 + 30.0 * (t as f64 * std::f64::consts::TAU / period as f64).sin();
    let xs: Vec<f64> = noise(period * 30, 11)
        .iter()
        .enumerate()
        .map(|(t, e)| pattern(t) + e)
        .collect();
    let mut seasonal = SeasonalZ::try_new(SeasonalZConfig {
        period_samples: period,
        ..Default::default()
    })
    .unwrap();
    let mut multi = MultiRes::try_new(MultiResConfig::default()).unwrap();
    let mut stream = StreamDetector::try_new(StreamConfig::default()).unwrap();
    for &x in &xs[..period - 1] {
        seasonal.update(x);
    }
    assert_eq!(seasonal.expected(), None, "no forecast during the first season");
    for &x in &xs[period - 1..] {
        seasonal.update(x);
        multi.update(x);
        stream.update(x);
    }
    // The seasonal forecast follows the pattern; the others expect a recent level.
    let t = xs.len();
    let next = pattern(t);
    seasonal.update(next);
    let e = seasonal.expected().unwrap();
    assert!((e - next).abs() < 2.0, "forecast {e} vs pattern {next}");
    multi.update(next);
    stream.update(next);
    for (name, e) in [("multi_res", multi.expected()), ("stream", stream.expected())] {
        let e = e.unwrap_or_else(|| panic!("{name} has an expected value"));
        assert!((60.0..140.0).contains(&e), "{name}: {e}");
    }
}

const MINUTE: i64 = 60_000_000_000;

fn series(values: Vec<f64>) -> Series {
    let n = values.len();
    Series::new(
        SeriesKey::new("api", "latency_ms"),
        (0..n as i64).map(|i| Timestamp(i * MINUTE)).collect(),
        values,
    )
    .unwrap()
}

#[test]
fn batch_anomalies_take_the_detectors_expectation_and_direction() {
    let period = 48;
    let pattern = |t: usize| 100.0 + 30.0 * (t as f64 * std::f64::consts::TAU / period as f64).sin();
    let mut values: Vec<f64> = noise(period * 20, 3)
        .iter()
        .enumerate()
        .map(|(t, e)| pattern(t) + e)
        .collect();
    // A dip at the crest: below the pattern, though above the recent median.
    let at = period * 18 + period / 4;
    values[at] = pattern(at) - 25.0;
    let cfg: DetectorConfig = serde_json::from_str(&format!(
        r#"{{"method": "seasonal_z", "period_samples": {period}}}"#
    ))
    .unwrap();
    let found = cfg.build().unwrap().detect(&series(values.clone())).unwrap();
    let a = found
        .iter()
        .find(|a| a.start == Timestamp(at as i64 * MINUTE))
        .expect("the dip is found");
    assert!((a.expected.value - pattern(at)).abs() < 3.0, "{:?}", a.expected);
    assert_eq!(a.direction, Direction::Down);
    let recent = median_mad(&values[at - 64..at]).unwrap().0;
    assert!(
        values[at] > recent,
        "the dip is above the recent median ({recent})"
    );

    // A spike on a flat series: robust z expects the window median.
    let mut flat: Vec<f64> = noise(400, 5).iter().map(|e| 20.0 + e).collect();
    flat[300] = 60.0;
    let found = DetectorConfig::RobustZ(RobustZConfig::default())
        .build()
        .unwrap()
        .detect(&series(flat.clone()))
        .unwrap();
    let a = found.iter().find(|a| a.start == Timestamp(300 * MINUTE)).unwrap();
    let (median, _) = median_mad(&flat[300 - 64..300]).unwrap();
    assert_eq!(a.expected.value, median);
    assert_eq!(a.direction, Direction::Up);
}

//! Invariants of every configured detector, S-H-ESD, IQR fences, the online detectors,
//! variance detection, MSTL and forecasting on arbitrary input (NaN, infinities, constants,
//! huge values, short series, irregular and repeated timestamps): a documented result or a
//! typed error, never a panic or a NaN score.

#![allow(clippy::unwrap_used)]

use faultline_core::{Series, SeriesKey, Timestamp};
use faultline_detect::{
    detect_variance, forecast, mstl, sh_esd, DetectError, DetectorConfig, ForecastConfig, IqrConfig,
    IqrFence, MstlParams, MultiRes, MultiResConfig, OnlineDetector, RobustZ, RobustZConfig, RollingZ,
    RollingZConfig, SeasonalZ, SeasonalZConfig, ShEsdConfig, VarianceConfig,
};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -1e3f64..1e3,
        1 => -1e150f64..1e150,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        2 => Just(5.0),
    ]
}

fn series(values: &[f64]) -> Series {
    let ts = (0..values.len() as i64)
        .map(|i| Timestamp::from_secs(60 * i))
        .collect();
    Series::new(SeriesKey::new("svc", "m"), ts, values.to_vec()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn batch_detectors_never_panic_and_scores_are_in_range(values in proptest::collection::vec(value(), 0..300),
                                                          period in prop_oneof![Just(None), (2usize..40).prop_map(Some)]) {
        let s = series(&values);
        let esd = sh_esd(&s, &ShEsdConfig { period_samples: period, ..Default::default() }).unwrap();
        let var = detect_variance(&s, &VarianceConfig::default()).unwrap();
        for a in esd.iter().chain(&var) {
            prop_assert!(a.score.is_finite() && (0.0..=1.0).contains(&a.score));
            prop_assert!(a.start <= a.end);
        }
        match forecast(&values, &ForecastConfig { period_samples: period, horizon_samples: 20, ..Default::default() }) {
            Ok(f) => {
                prop_assert_eq!(f.mean.len(), 20);
                prop_assert!(f.mean.iter().zip(&f.lower).all(|(m, l)| l <= m));
            }
            Err(DetectError::TooShort { .. }) | Err(DetectError::NonFinite { .. }) => {}
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        match mstl(&finite, &MstlParams { periods: vec![3, 7], ..Default::default() }) {
            Ok(d) => prop_assert_eq!(d.trend.len(), finite.len()),
            Err(DetectError::TooShort { .. }) => prop_assert!(finite.len() < 14),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }

    #[test]
    fn online_detectors_give_bounded_scores(values in proptest::collection::vec(value(), 0..400)) {
        let mut sz = SeasonalZ::try_new(SeasonalZConfig { period_samples: 7, ..Default::default() }).unwrap();
        let mut iq = IqrFence::try_new(IqrConfig::default()).unwrap();
        for &v in &values {
            for s in [sz.update(v), iq.update(v)] {
                prop_assert!(s.is_finite() && (0.0..=1.0).contains(&s), "{s} for {v}");
            }
        }
    }

    /// Every method of `DetectorConfig`, on irregular timestamps (gaps, repeated times,
    /// out-of-order input) and arbitrary values: anomalies with finite scores in [0, 1],
    /// finite observed and expected values and ordered times, or a typed error.
    #[test]
    fn every_configured_detector_handles_irregular_series(
        samples in proptest::collection::vec((0i64..4, value()), 0..260),
        shuffle in any::<bool>(),
    ) {
        let mut t = 0i64;
        let mut ts = Vec::new();
        let mut vs = Vec::new();
        for &(step, v) in &samples {
            // Steps of 0 (repeated time), 1, 2 or 3 minutes; every 50th sample a long gap.
            t += 60 * step + if ts.len() % 50 == 49 { 86_400 } else { 0 };
            ts.push(Timestamp::from_secs(t));
            vs.push(v);
        }
        if shuffle {
            ts.reverse();
            vs.reverse();
        }
        let s = Series::new(SeriesKey::new("svc", "m"), ts, vs).unwrap();
        for method in ["segment", "level_shift", "robust_z", "rolling_z", "sh_esd", "seasonal_z", "iqr", "variance", "multi_res"] {
            let cfg: DetectorConfig = serde_json::from_value(serde_json::json!({"method": method})).unwrap();
            match cfg.build().unwrap().detect(&s) {
                Ok(found) => {
                    for a in &found {
                        prop_assert!(a.score.is_finite() && (0.0..=1.0).contains(&a.score), "{method}: {a:?}");
                        prop_assert!(a.observed.is_finite(), "{method}: {a:?}");
                        prop_assert!(a.expected.value.is_finite(), "{method}: {a:?}");
                        prop_assert!(a.start <= a.peak && a.peak <= a.end, "{method}: {a:?}");
                    }
                }
                Err(DetectError::TooShort { .. } | DetectError::NonFinite { .. }) => {}
                Err(e) => prop_assert!(false, "{method}: unexpected error {e}"),
            }
        }
    }

    /// The online detectors' expected values are finite whenever they are given, and scores
    /// stay in [0, 1], whatever the input.
    #[test]
    fn online_expectations_are_finite(values in proptest::collection::vec(value(), 0..300)) {
        let mut detectors: Vec<Box<dyn OnlineDetector>> = vec![
            Box::new(RobustZ::try_new(RobustZConfig { window_samples: 16, ..Default::default() }).unwrap()),
            Box::new(RollingZ::try_new(RollingZConfig { window_samples: 16, ..Default::default() }).unwrap()),
            Box::new(SeasonalZ::try_new(SeasonalZConfig { period_samples: 5, ..Default::default() }).unwrap()),
            Box::new(IqrFence::try_new(IqrConfig { window_samples: 16, ..Default::default() }).unwrap()),
            Box::new(MultiRes::try_new(MultiResConfig::default()).unwrap()),
        ];
        for &v in &values {
            for d in &mut detectors {
                let score = d.update(v);
                prop_assert!(score.is_finite() && (0.0..=1.0).contains(&score), "{}: {score} for {v}", d.name());
                if let Some(e) = d.expected() {
                    prop_assert!(e.is_finite(), "{}: expected {e}", d.name());
                }
            }
        }
    }
}

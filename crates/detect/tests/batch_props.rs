//! Invariants of S-H-ESD, IQR fences, the seasonal online detector, variance detection,
//! MSTL and forecasting on arbitrary input (NaN, infinities, constants, huge values, short
//! series): a documented result or a typed error, never a panic or a NaN score.

#![allow(clippy::unwrap_used)]

use faultline_core::{Series, SeriesKey, Timestamp};
use faultline_detect::{
    detect_variance, forecast, mstl, sh_esd, DetectError, ForecastConfig, IqrConfig, IqrFence, MstlParams,
    OnlineDetector, SeasonalZ, SeasonalZConfig, ShEsdConfig, VarianceConfig,
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
}

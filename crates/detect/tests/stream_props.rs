//! Invariants of the streaming and online detectors on arbitrary input (NaN, infinities,
//! constants, huge values, gaps in timestamps).

#![allow(clippy::unwrap_used)]

use faultline_core::Timestamp;
use faultline_detect::{
    score_stream, stl, OnlineDetector, RobustZ, RobustZConfig, RollingZ, RollingZConfig, StlParams,
    StreamConfig,
};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -1e3f64..1e3,
        1 => -1e300f64..1e300,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        2 => Just(0.0),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn stream_scores_are_bounded_finite_and_causal(values in proptest::collection::vec(value(), 0..400),
                                                   cut in 0usize..400) {
        let ts: Vec<Timestamp> = (0..values.len() as i64).map(|i| Timestamp::from_secs(i * i)).collect();
        let cfg = StreamConfig::default();
        let full = score_stream(&ts, &values, &cfg);
        prop_assert_eq!(full.len(), values.len());
        for s in &full {
            prop_assert!(s.is_finite() && (0.0..=1.0).contains(s));
        }
        let cut = cut.min(values.len());
        let prefix = score_stream(&ts[..cut], &values[..cut], &cfg);
        prop_assert_eq!(&full[..cut], &prefix[..]);
    }

    #[test]
    fn online_scores_are_bounded(values in proptest::collection::vec(value(), 0..300)) {
        let mut a = RobustZ::try_new(RobustZConfig::default()).unwrap();
        let mut b = RollingZ::try_new(RollingZConfig { window_samples: 50, ..Default::default() }).unwrap();
        for v in values {
            for s in [a.update(v), b.update(v)] {
                prop_assert!(s.is_finite() && (0.0..=1.0).contains(&s));
            }
        }
    }

    #[test]
    fn stl_reconstructs_or_errors(values in proptest::collection::vec(-1e6f64..1e6, 0..200), period in 2usize..20) {
        match stl(&values, &StlParams::new(period)) {
            Ok(d) => {
                for (i, v) in values.iter().enumerate() {
                    let r = d.trend[i] + d.seasonal[i] + d.remainder[i];
                    prop_assert!((r - v).abs() <= 1e-6 * (1.0 + v.abs()));
                }
            }
            Err(e) => prop_assert!(values.len() < 2 * period, "{e}"),
        }
    }
}

#[test]
fn constant_stream_scores_zero_and_short_stream_is_fine() {
    let s = score_stream(&[], &[7.0; 1000], &StreamConfig::default());
    assert!(s.iter().all(|&x| x == 0.0));
    assert_eq!(
        score_stream(&[], &[], &StreamConfig::default()),
        Vec::<f64>::new()
    );
    assert_eq!(score_stream(&[], &[1.0], &StreamConfig::default()), vec![0.0]);
}

#[test]
fn spike_in_a_quiet_stream_scores_highest() {
    let mut values: Vec<f64> = (0..3000).map(|i| 50.0 + ((i * 7919) % 13) as f64).collect();
    values[2500] = 120.0;
    let s = score_stream(&[], &values, &StreamConfig::default());
    let (argmax, _) = s.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap();
    assert!((2500..2505).contains(&argmax), "{argmax}");
}

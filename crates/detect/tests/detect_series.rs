//! Behaviour of `detect_series` on seeded synthetic incident-window series (15 s samples, 1 h).

#![allow(clippy::unwrap_used)]

use faultline_core::{AnomalyKind, Direction, Series, SeriesKey, Timestamp};
use faultline_detect::{detect_series, DetectConfig};
use proptest::prelude::*;

/// Tiny seeded generator: xorshift64* uniforms and Box–Muller normals.
struct Gen(u64);

impl Gen {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

const N: usize = 240; // one hour at 15 s

fn series(metric: &str, values: Vec<f64>) -> Series {
    let ts = (0..values.len() as i64)
        .map(|i| Timestamp::from_secs(1_700_000_000 + 15 * i))
        .collect();
    Series::new(SeriesKey::new("checkout", metric), ts, values).unwrap()
}

fn at(i: usize) -> Timestamp {
    Timestamp::from_secs(1_700_000_000 + 15 * i as i64)
}

/// Latency around 120 ms with 8 % noise, shifted up by `factor` from `onset`.
fn latency(seed: u64, onset: usize, factor: f64) -> Vec<f64> {
    let mut g = Gen::new(seed);
    (0..N)
        .map(|i| {
            let base = if i >= onset { 120.0 * factor } else { 120.0 };
            base * (1.0 + 0.08 * g.normal())
        })
        .collect()
}

#[test]
fn latency_level_shift_is_one_episode_starting_at_onset() {
    for seed in 0..20 {
        let s = series("latency_p95_ms", latency(seed, 150, 2.5));
        let found = detect_series(&s, &DetectConfig::default()).unwrap();
        let shifts: Vec<_> = found.iter().filter(|a| a.kind != AnomalyKind::Point).collect();
        assert_eq!(shifts.len(), 1, "seed {seed}: {found:#?}");
        let a = shifts[0];
        assert_eq!(a.kind, AnomalyKind::LevelShift, "seed {seed}");
        assert_eq!(a.direction, Direction::Up);
        assert!(
            a.start >= at(148) && a.start <= at(152),
            "seed {seed}: start {}",
            a.start
        );
        assert_eq!(a.end, at(N - 1));
        assert!(a.score > 0.9, "seed {seed}: score {}", a.score);
        assert!(a.expected.value > 110.0 && a.expected.value < 130.0);
        assert!(a.expected.lower < a.expected.value && a.expected.value < a.expected.upper);
        assert!(a.observed > a.expected.upper);
    }
}

#[test]
fn error_rate_jump_from_near_zero_is_found() {
    let mut g = Gen::new(7);
    let v: Vec<f64> = (0..N)
        .map(|i| {
            let base = if i >= 100 { 0.08 } else { 0.002 };
            (base + 0.001 * g.normal()).max(0.0)
        })
        .collect();
    let found = detect_series(&series("http_5xx_rate", v), &DetectConfig::default()).unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].kind, AnomalyKind::LevelShift);
    assert_eq!(found[0].start, at(100));
    assert!(found[0].score > 0.99);
}

#[test]
fn memory_ramp_is_a_trend_found_near_its_start() {
    for seed in 0..10 {
        let mut g = Gen::new(100 + seed);
        let v: Vec<f64> = (0..N)
            .map(|i| {
                let ramp = if i >= 120 { 4.0 * (i - 120) as f64 } else { 0.0 };
                1000.0 + ramp + 5.0 * g.normal()
            })
            .collect();
        let found = detect_series(&series("memory_mb", v), &DetectConfig::default()).unwrap();
        let shifts: Vec<_> = found.iter().filter(|a| a.kind != AnomalyKind::Point).collect();
        assert_eq!(shifts.len(), 1, "seed {seed}: {found:#?}");
        assert_eq!(shifts[0].kind, AnomalyKind::Trend, "seed {seed}");
        assert_eq!(shifts[0].direction, Direction::Up);
        assert!(
            shifts[0].start <= at(150) && shifts[0].start >= at(110),
            "seed {seed}: {}",
            shifts[0].start
        );
    }
}

#[test]
fn pure_noise_raises_almost_no_alarms() {
    let mut total = 0;
    for seed in 0..50 {
        let mut g = Gen::new(1000 + seed);
        let v: Vec<f64> = (0..N).map(|_| 50.0 + 3.0 * g.normal()).collect();
        total += detect_series(&series("cpu", v), &DetectConfig::default())
            .unwrap()
            .len();
    }
    assert!(total <= 2, "{total} false alarms on 50 noise series");
}

#[test]
fn single_spike_is_one_point_anomaly() {
    let mut v = latency(3, N, 1.0);
    v[90] = 900.0;
    let found = detect_series(&series("latency_p95_ms", v), &DetectConfig::default()).unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].kind, AnomalyKind::Point);
    assert_eq!(
        (found[0].start, found[0].peak, found[0].end),
        (at(90), at(90), at(90))
    );
    assert_eq!(found[0].observed, 900.0);
}

#[test]
fn shift_then_recovery_ends_at_recovery() {
    let mut v = latency(11, N, 1.0);
    for x in &mut v[80..140] {
        *x *= 3.0;
    }
    let found = detect_series(&series("latency_p95_ms", v), &DetectConfig::default()).unwrap();
    let shifts: Vec<_> = found
        .iter()
        .filter(|a| a.kind == AnomalyKind::LevelShift)
        .collect();
    assert_eq!(shifts.len(), 1, "{found:#?}");
    assert_eq!(shifts[0].start, at(80));
    assert_eq!(shifts[0].end, at(139));
}

#[test]
fn downward_shift_has_down_direction() {
    let s = series("throughput_rps", latency(5, 160, 0.3));
    let found = detect_series(&s, &DetectConfig::default()).unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].direction, Direction::Down);
}

#[test]
fn nan_samples_are_skipped() {
    let mut v = latency(9, 150, 2.5);
    for i in (0..N).step_by(7) {
        v[i] = f64::NAN;
    }
    let found = detect_series(&series("latency_p95_ms", v), &DetectConfig::default()).unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].start >= at(148) && found[0].start <= at(152));
}

#[test]
fn short_constant_and_empty_series_give_nothing() {
    let cfg = DetectConfig::default();
    assert!(detect_series(&series("m", vec![1.0, 50.0, 1.0]), &cfg)
        .unwrap()
        .is_empty());
    assert!(detect_series(&series("m", vec![3.0; 300]), &cfg)
        .unwrap()
        .is_empty());
    assert!(detect_series(&series("m", vec![]), &cfg).unwrap().is_empty());
    assert!(detect_series(&series("m", vec![f64::NAN; 100]), &cfg)
        .unwrap()
        .is_empty());
}

#[test]
fn ids_are_content_derived_and_stable() {
    let s = series("latency_p95_ms", latency(1, 150, 2.5));
    let a = detect_series(&s, &DetectConfig::default()).unwrap();
    let b = detect_series(&s, &DetectConfig::default()).unwrap();
    assert_eq!(a, b);
    assert!(a[0].id.as_str().starts_with("an-"));
    let other = series("latency_p99_ms", latency(1, 150, 2.5));
    assert_ne!(
        detect_series(&other, &DetectConfig::default()).unwrap()[0].id,
        a[0].id
    );
}

proptest! {
    #[test]
    fn never_panics_and_keeps_invariants(values in proptest::collection::vec(
        prop_oneof![
            8 => -1e6f64..1e6,
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(0.0),
        ], 0..300)) {
        let s = series("m", values);
        let found = detect_series(&s, &DetectConfig::default()).unwrap();
        for a in found {
            prop_assert!(a.start <= a.peak && a.peak <= a.end);
            prop_assert!((0.0..=1.0).contains(&a.score));
            prop_assert!(a.observed.is_finite() && a.expected.value.is_finite());
        }
    }
}

#[test]
fn volatility_change_is_reported_only_when_enabled() {
    use faultline_detect::VarianceConfig;
    let mut s = 11u64;
    let v: Vec<f64> = (0..240)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let e = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            100.0 + if i < 160 { 2.0 } else { 12.0 } * e
        })
        .collect();
    let ts = (0..240).map(|i| Timestamp::from_secs(15 * i)).collect();
    let series = Series::new(SeriesKey::new("db", "latency_ms"), ts, v).unwrap();
    let off = detect_series(&series, &DetectConfig::default()).unwrap();
    assert!(off.iter().all(|a| a.kind != AnomalyKind::Variance));
    let cfg = DetectConfig {
        variance: Some(VarianceConfig::default()),
        ..Default::default()
    };
    let on = detect_series(&series, &cfg).unwrap();
    let var: Vec<_> = on.iter().filter(|a| a.kind == AnomalyKind::Variance).collect();
    assert_eq!(var.len(), 1, "{on:?}");
    assert!(var[0].observed > 3.0 * var[0].expected.value);
}

//! The canary judge against Kayenta's documented NetflixACAJudge semantics and its known
//! failure cases.
#![allow(clippy::unwrap_used)]

use faultline_core::{PlanId, VerdictOutcome};
use faultline_remediate::canary::{CanaryJudge, MetricClass, MetricComparison, MetricDirection, MetricKind};

/// Seeded normal samples (xorshift64* + Box-Muller).
fn normal(seed: u64, n: usize, mean: f64, sd: f64) -> Vec<f64> {
    let mut s = seed.max(1);
    let mut next = || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        (s.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let (u1, u2) = (next().max(1e-12), next());
            mean + sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect()
}

fn metric(name: &str, baseline: Vec<f64>, canary: Vec<f64>, direction: MetricDirection) -> MetricComparison {
    MetricComparison {
        name: name.into(),
        baseline,
        canary,
        direction,
        critical: false,
        kind: MetricKind::Continuous,
    }
}

fn plan() -> PlanId {
    PlanId::derive(&["canary-test"])
}

#[test]
fn identical_data_passes() {
    let b = normal(1, 60, 100.0, 10.0);
    let r = CanaryJudge::default().classify(&metric("latency", b.clone(), b, MetricDirection::Either));
    assert_eq!(r.class, MetricClass::Pass);
    assert!(r.reason.contains("identical"));
}

#[test]
fn clear_latency_increase_is_high_and_fails() {
    let m = metric(
        "latency",
        normal(2, 60, 100.0, 10.0),
        normal(3, 60, 150.0, 10.0),
        MetricDirection::Increase,
    );
    let judge = CanaryJudge::default();
    assert_eq!(judge.classify(&m).class, MetricClass::High);
    let (v, _) = judge.judge(&plan(), &[m]);
    assert_eq!(v.outcome, VerdictOutcome::Fail);
}

#[test]
fn direction_is_respected() {
    // Higher latency with direction "decrease" (only drops are bad) passes.
    let up = metric(
        "latency",
        normal(4, 60, 100.0, 10.0),
        normal(5, 60, 150.0, 10.0),
        MetricDirection::Decrease,
    );
    assert_eq!(CanaryJudge::default().classify(&up).class, MetricClass::Pass);
    // A throughput drop with direction "decrease" is Low.
    let down = metric(
        "rps",
        normal(6, 60, 1000.0, 30.0),
        normal(7, 60, 700.0, 30.0),
        MetricDirection::Decrease,
    );
    assert_eq!(CanaryJudge::default().classify(&down).class, MetricClass::Low);
    // ...and with "either" too.
    let either = MetricComparison {
        direction: MetricDirection::Either,
        ..down
    };
    assert_eq!(CanaryJudge::default().classify(&either).class, MetricClass::Low);
}

#[test]
fn noise_within_the_tolerance_band_passes() {
    // Same distribution, different draws.
    let m = metric(
        "cpu",
        normal(8, 60, 50.0, 5.0),
        normal(9, 60, 50.0, 5.0),
        MetricDirection::Either,
    );
    assert_eq!(CanaryJudge::default().classify(&m).class, MetricClass::Pass);
}

#[test]
fn constant_windows_with_a_real_step_are_judged_without_noise() {
    // Kayenta adds Gaussian noise to degenerate data; the pairwise interval handles it exactly.
    let m = metric("pool", vec![16.0; 20], vec![4.0; 20], MetricDirection::Decrease);
    assert_eq!(CanaryJudge::default().classify(&m).class, MetricClass::Low);
    let same = metric("pool", vec![16.0; 20], vec![16.0; 20], MetricDirection::Either);
    assert_eq!(CanaryJudge::default().classify(&same).class, MetricClass::Pass);
}

#[test]
fn critical_metric_vetoes_an_otherwise_good_canary() {
    let mut metrics: Vec<MetricComparison> = (0..9)
        .map(|i| {
            metric(
                &format!("m{i}"),
                normal(10 + i, 60, 10.0, 1.0),
                normal(100 + i, 60, 10.0, 1.0),
                MetricDirection::Either,
            )
        })
        .collect();
    let mut crit = metric(
        "errors",
        normal(20, 60, 1.0, 0.1),
        normal(21, 60, 3.0, 0.1),
        MetricDirection::Increase,
    );
    crit.critical = true;
    metrics.push(crit);
    let (v, results) = CanaryJudge::default().judge(&plan(), &metrics);
    assert_eq!(results.iter().filter(|r| r.class == MetricClass::Pass).count(), 9);
    assert_eq!(v.outcome, VerdictOutcome::Fail);
    assert_eq!(v.score, 0.0);
}

#[test]
fn score_thresholds_give_pass_marginal_fail() {
    let good = |i: u64| {
        metric(
            &format!("g{i}"),
            normal(30 + i, 60, 10.0, 1.0),
            normal(60 + i, 60, 10.0, 1.0),
            MetricDirection::Either,
        )
    };
    let bad = |i: u64| {
        metric(
            &format!("b{i}"),
            normal(90 + i, 60, 10.0, 1.0),
            normal(95 + i, 60, 20.0, 1.0),
            MetricDirection::Increase,
        )
    };
    let judge = CanaryJudge::default();
    let all_good: Vec<_> = (0..10).map(good).collect();
    assert_eq!(judge.judge(&plan(), &all_good).0.outcome, VerdictOutcome::Pass);
    // 9 of 10 pass: score 90, between marginal (75) and pass (95).
    let mut one_bad: Vec<_> = (0..9).map(good).collect();
    one_bad.push(bad(0));
    let (v, _) = judge.judge(&plan(), &one_bad);
    assert_eq!(v.outcome, VerdictOutcome::Marginal);
    assert!((v.score - 0.9).abs() < 1e-9);
    // 5 of 10: fail.
    let mut half: Vec<_> = (0..5).map(good).collect();
    half.extend((0..5).map(bad));
    assert_eq!(judge.judge(&plan(), &half).0.outcome, VerdictOutcome::Fail);
}

#[test]
fn kayenta_failure_case_sparse_errors_after_silent_baseline_fail() {
    let baseline = vec![0.0; 30];
    let mut canary = vec![0.0; 30];
    canary[5] = 1.0;
    canary[17] = 2.0;
    canary[26] = 1.0;
    // Mann-Whitney alone (continuous) passes it: the Hodges-Lehmann shift is 0.
    let as_continuous = metric(
        "http_5xx",
        baseline.clone(),
        canary.clone(),
        MetricDirection::Increase,
    );
    assert_eq!(
        CanaryJudge::default().classify(&as_continuous).class,
        MetricClass::Pass
    );
    // The rate test for counts fails it.
    let as_count = MetricComparison {
        kind: MetricKind::Count,
        ..as_continuous
    };
    let r = CanaryJudge::default().classify(&as_count);
    assert_eq!(r.class, MetricClass::High, "{}", r.reason);
    assert!(r.reason.contains("Poisson"));
    let (v, _) = CanaryJudge::default().judge(&plan(), &[as_count]);
    assert_eq!(v.outcome, VerdictOutcome::Fail);
}

#[test]
fn one_stray_error_or_a_steady_error_rate_is_not_a_failure() {
    let mut canary = vec![0.0; 30];
    canary[3] = 1.0;
    let stray = MetricComparison {
        kind: MetricKind::Count,
        ..metric("5xx", vec![0.0; 30], canary, MetricDirection::Increase)
    };
    assert_eq!(CanaryJudge::default().classify(&stray).class, MetricClass::Pass);
    let steady: Vec<f64> = (0..30).map(|i| f64::from(i % 3)).collect();
    let same_rate = MetricComparison {
        kind: MetricKind::Count,
        ..metric(
            "5xx",
            steady.clone(),
            steady.iter().rev().copied().collect(),
            MetricDirection::Increase,
        )
    };
    assert_eq!(
        CanaryJudge::default().classify(&same_rate).class,
        MetricClass::Pass
    );
}

#[test]
fn low_samples_are_inconclusive_not_pass() {
    let m = metric(
        "latency",
        vec![100.0, 101.0, 99.0],
        vec![500.0, 510.0],
        MetricDirection::Increase,
    );
    let judge = CanaryJudge::default();
    assert_eq!(judge.classify(&m).class, MetricClass::Inconclusive);
    assert_eq!(
        judge.judge(&plan(), std::slice::from_ref(&m)).0.outcome,
        VerdictOutcome::Inconclusive
    );
    // A critical metric without data makes the verdict inconclusive even if others pass.
    let mut crit = m;
    crit.critical = true;
    let ok = metric(
        "cpu",
        normal(40, 60, 10.0, 1.0),
        normal(41, 60, 10.0, 1.0),
        MetricDirection::Either,
    );
    assert_eq!(
        judge.judge(&plan(), &[ok, crit]).0.outcome,
        VerdictOutcome::Inconclusive
    );
}

#[test]
fn nan_values_are_removed_before_judging() {
    let mut b = normal(50, 40, 10.0, 1.0);
    b.push(f64::NAN);
    let mut c = normal(51, 40, 10.0, 1.0);
    c.push(f64::INFINITY);
    let r = CanaryJudge::default().classify(&metric("x", b, c, MetricDirection::Either));
    assert_eq!(r.class, MetricClass::Pass);
    assert!(r.estimate.is_finite());
}

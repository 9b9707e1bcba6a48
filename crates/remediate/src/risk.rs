//! Risk score of a plan in [0, 1].
//!
//! Each action kind has a base risk (its blast potential: a pause is nearly free, a schema
//! migration is not). Steps are treated as independent chances of harm, so the plan's raw risk
//! is `1 - Π(1 - rᵢ)`. Non-production environments halve it. Low confidence in the hypothesis
//! adds risk (acting on a wrong diagnosis is a risk of its own): the result is
//! `raw + (1 - raw) · 0.25 · (1 - confidence)`.

use crate::actions::ActionKind;

/// How much doubt in the diagnosis adds, at confidence 0.
pub const DOUBT_WEIGHT: f64 = 0.25;

/// The risk of a plan made of `kinds` in a (non-)production environment for a hypothesis of
/// the given confidence.
///
/// ```
/// use faultline_remediate::actions::ActionKind;
/// use faultline_remediate::risk::plan_risk;
/// let pause = plan_risk(&[ActionKind::KubectlRolloutPause], true, 1.0);
/// let sql = plan_risk(&[ActionKind::SqlMigration], true, 1.0);
/// assert!(pause < sql);
/// assert!(plan_risk(&[ActionKind::SqlMigration], false, 1.0) < sql);
/// ```
pub fn plan_risk(kinds: &[ActionKind], production: bool, confidence: f64) -> f64 {
    let safe: f64 = kinds.iter().map(|k| 1.0 - k.base_risk()).product();
    let mut raw = 1.0 - safe;
    if !production {
        raw *= 0.5;
    }
    let c = if confidence.is_finite() {
        confidence.clamp(0.0, 1.0)
    } else {
        0.0
    };
    (raw + (1.0 - raw) * DOUBT_WEIGHT * (1.0 - c)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_steps_and_less_confidence_mean_more_risk() {
        let one = plan_risk(&[ActionKind::KubectlRolloutUndo], true, 0.9);
        let two = plan_risk(
            &[ActionKind::KubectlRolloutUndo, ActionKind::KubectlScale],
            true,
            0.9,
        );
        assert!(two > one);
        assert!(plan_risk(&[ActionKind::KubectlRolloutUndo], true, 0.3) > one);
        assert!((0.0..=1.0).contains(&plan_risk(&[ActionKind::SqlMigration; 20], true, f64::NAN)));
    }
}

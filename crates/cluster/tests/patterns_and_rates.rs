//! Parameter typing and window rates accept arbitrary input without panicking, and tail
//! templates survive a snapshot.

#![allow(clippy::unwrap_used)]

use faultline_cluster::{
    ClusterId, MinerConfig, PatternConfig, PatternSet, RateConfig, RateEventKind, TemplateMiner,
    TemplateRates,
};
use faultline_core::Timestamp;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn typing_never_panics_and_follows_the_printed_template(
        lines in proptest::collection::vec("[a-z]{1,5}( [a-z0-9.:/-]{1,12}){0,6}", 1..20),
    ) {
        let set = PatternSet::try_new(&PatternConfig::default()).unwrap();
        let mut m = TemplateMiner::new(MinerConfig::default()).unwrap();
        let ids: Vec<_> = lines.iter().map(|l| m.add(l)).collect();
        for (l, id) in lines.iter().zip(ids) {
            let typed = set.typed_parameters(&m, id, l).unwrap();
            prop_assert_eq!(typed.len(), m.template(id).unwrap().matches("<*>").count());
            for v in typed {
                if let Some(k) = &v.kind {
                    prop_assert_eq!(set.type_of(&v.value), Some(k.as_str()));
                }
            }
        }
    }

    #[test]
    fn rates_at_extreme_times_never_panic(
        obs in proptest::collection::vec((prop_oneof![Just(i64::MIN), Just(i64::MAX), any::<i64>()], 0u32..4), 1..50),
    ) {
        let mut r = TemplateRates::try_new(RateConfig { window_secs: 1e-9, warmup_windows: 0, ..Default::default() }).unwrap();
        for (t, id) in obs {
            let _ = r.observe(Timestamp(t), ClusterId(id));
        }
        let _ = r.finish();
        let _ = r.finish();
    }

    #[test]
    fn rates_never_panic_and_stay_bounded(
        obs in proptest::collection::vec((any::<i64>(), 0u32..50), 1..300),
    ) {
        let mut r = TemplateRates::try_new(RateConfig { max_templates: 10, window_secs: 1.0, ..Default::default() }).unwrap();
        let mut events = Vec::new();
        for (t, id) in obs {
            events.extend(r.observe(Timestamp(t), ClusterId(id)));
        }
        events.extend(r.finish());
        for e in events {
            prop_assert!(e.count > 0);
            prop_assert!(e.z.is_finite());
            if e.kind == RateEventKind::Spike {
                prop_assert!(e.count as f64 >= 3.0 * e.baseline);
            }
        }
    }
}

#[test]
fn tail_templates_survive_a_snapshot_round_trip() {
    let mut m = TemplateMiner::new(MinerConfig::default()).unwrap();
    let mut ids = Vec::new();
    for n in 1..=8u32 {
        let list: Vec<String> = (0..n).map(|i| format!("0x{:04x}", 4096 + 31 * i + n)).collect();
        ids.push(m.add(&format!("dma descriptors pending: {}", list.join(" "))));
    }
    let root = m.resolve(ids[7]);
    assert_eq!(m.template(root).as_deref(), Some("dma descriptors pending: <*>"));
    let json = serde_json::to_string(&m.snapshot()).unwrap();
    let mut r = TemplateMiner::restore(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(r.template(root), m.template(root));
    let line = "dma descriptors pending: 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8 0x9 0xa";
    assert_eq!(r.add(line), m.add(line));
    assert_eq!(r.len(), m.len());
}

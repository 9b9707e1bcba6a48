//! Parsers and the miner accept arbitrary input without panicking, with bounded state.

#![allow(clippy::unwrap_used)]

use faultline_cluster::{
    mask_message, parse_structured, parse_text_log, split_header, MinerConfig, TemplateMiner,
};
use faultline_core::{ServiceId, Timestamp};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn miner_add_never_panics(lines in proptest::collection::vec(any::<String>(), 1..40)) {
        let mut m = TemplateMiner::new(MinerConfig { max_clusters: 8, ..MinerConfig::default() }).unwrap();
        for l in &lines {
            let id = m.add(l);
            prop_assert!(m.template(id).is_some());
            let _ = mask_message(l);
        }
        prop_assert!(m.len() <= 8);
    }

    #[test]
    fn parameters_match_the_printed_variables(
        lines in proptest::collection::vec(
            "(user|root|job|id=|x:|\\(|Rect\\(|[a-z]{1,6}|[0-9]{1,5}|10\\.0\\.[0-9]\\.[0-9]|0x[0-9a-f]{4}|true)([ ,)]{0,2}(user|root|job|id=|[a-z]{1,6}|[0-9]{1,5}|[0-9]{2}:[0-9]{2}|false)){0,8}",
            1..30,
        )
    ) {
        let mut m = TemplateMiner::new(MinerConfig::default()).unwrap();
        let ids: Vec<_> = lines.iter().map(|l| m.add(l)).collect();
        for (l, id) in lines.iter().zip(ids) {
            let t = m.template(id).unwrap();
            let p = m.parameters(id, l);
            // Every line still fits its (possibly widened) template: one value per `<*>`.
            prop_assert!(p.is_some(), "{l:?} under {t:?}");
            prop_assert_eq!(p.unwrap().len(), t.matches("<*>").count(), "{:?} under {:?}", l, t);
        }
    }

    #[test]
    fn parse_structured_never_panics(line in "[a-z_.@=\" \\\\{}:,0-9\\[\\]]{0,60}", any_line in any::<String>()) {
        let _ = parse_structured(&line);
        let _ = parse_structured(&any_line);
    }

    #[test]
    fn split_header_never_panics_and_message_is_a_suffix(line in any::<String>()) {
        let h = split_header(&line);
        prop_assert!(line.trim_end_matches(['\r', '\n']).ends_with(h.message));
    }

    #[test]
    fn split_header_on_log_like_text(line in "[0-9A-Za-z:\\-\\[\\] .,T+#]{0,80}") {
        let h = split_header(&line);
        prop_assert!(line.ends_with(h.message));
    }

    #[test]
    fn parse_text_log_never_panics(text in any::<String>()) {
        let recs = parse_text_log(&text, &ServiceId::new("s"), "f.log", Timestamp(0));
        for r in &recs {
            prop_assert!(r.source.as_ref().is_some_and(|s| s.line >= 1));
        }
    }
}

#[test]
fn long_lines_and_garbage_are_bounded() {
    let mut m = TemplateMiner::new(MinerConfig::default()).unwrap();
    let long = "word ".repeat(100_000) + &"x".repeat(1_000_000);
    let id = m.add(&long);
    let t = m.template(id).unwrap();
    assert_eq!(t.split(' ').count(), MinerConfig::default().max_tokens);
    let garbage: String = (0..200_000u32)
        .map(|i| char::from_u32((i * 7919) % 0xD7FF).unwrap_or('?'))
        .collect();
    m.add(&garbage);
    let recs = parse_text_log(&garbage, &ServiceId::new("s"), "f", Timestamp(0));
    assert!(!recs.is_empty());
    let _ = split_header(&garbage);
}

#[test]
fn a_million_distinct_lines_stay_under_the_cluster_cap() {
    let cfg = MinerConfig {
        max_clusters: 1_000,
        ..MinerConfig::default()
    };
    let mut m = TemplateMiner::new(cfg).unwrap();
    let words = [
        "alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta",
    ];
    for i in 0..200_000u64 {
        // distinct word sequences of varying length
        let n = 1 + (i % 7) as usize;
        let line: Vec<String> = (0..n)
            .map(|k| format!("{}{}", words[((i >> (3 * k)) & 7) as usize], "x".repeat(k)))
            .collect();
        m.add(&line.join(" "));
    }
    assert!(m.len() <= 1_000);
}

/// A token with two wildcards (`id=<*>,id=<*>`) gives one value per wildcard, an empty one
/// included (found by the proptest above).
#[test]
fn tokens_with_several_wildcards_give_one_value_each() {
    let mut m = TemplateMiner::new(MinerConfig::default()).unwrap();
    let lines = ["id=,id=0", "id=user,id=0", "id=root,id=17"];
    let ids: Vec<_> = lines.iter().map(|l| m.add(l)).collect();
    let t = m.template(ids[0]).unwrap();
    assert_eq!(t.matches("<*>").count(), 2, "{t}");
    let got: Vec<Vec<String>> = lines
        .iter()
        .zip(&ids)
        .map(|(l, &id)| m.parameters(id, l).unwrap())
        .collect();
    assert_eq!(got, [vec!["", "0"], vec!["user", "0"], vec!["root", "17"]]);
}

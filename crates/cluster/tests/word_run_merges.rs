//! Merging of rare same-shape clusters whose variables are runs of random words (the
//! positional-cardinality pass of the miner) and the invariant every merge keeps: no line and
//! no count is lost.

use faultline_cluster::{ClusterId, MinerConfig, TemplateMiner};
use proptest::prelude::*;

/// A deterministic generator of short random words (xorshift; no shared data).
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn word(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| (b'a' + (self.next() % 26) as u8) as char)
            .collect()
    }
    fn letter(&mut self) -> String {
        ((b'A' + (self.next() % 26) as u8) as char).to_string()
    }
}

fn miner() -> TemplateMiner {
    TemplateMiner::new(MinerConfig::default()).expect("default config is valid")
}

#[test]
fn runs_of_random_words_collapse_into_one_template() {
    let mut m = miner();
    let mut w = Words(0x9e37_79b9_7f4a_7c15);
    let mut ids = Vec::new();
    for _ in 0..40 {
        let wanted: Vec<String> = (0..6).map(|_| w.letter()).collect();
        let got: Vec<String> = (0..4).map(|_| w.letter()).collect();
        ids.push(m.add(&format!(
            "rts link training failed: wanted: {} got: {}",
            wanted.join(" "),
            got.join(" ")
        )));
    }
    let root = m.resolve(ids[39]);
    // The first lines wait for evidence; once merged, every later line joins the template.
    assert!(ids[8..].iter().all(|&i| m.resolve(i) == root));
    let t = m.template(root).expect("live");
    assert!(t.starts_with("rts link training failed: wanted: <*>"), "{t}");
    assert!(t.contains(" got: <*>"), "{t}");
    assert_eq!(m.count(root), Some(40));
}

#[test]
fn repeated_lines_never_join_a_word_run_merge() {
    // The same shapes as above, but every line is seen twice: the words repeat, so they are
    // constant alternatives, not a variable, and every cluster stays apart.
    let mut m = miner();
    let mut w = Words(0x9e37_79b9_7f4a_7c15);
    let mut ids = Vec::new();
    for _ in 0..20 {
        let wanted: Vec<String> = (0..6).map(|_| w.letter()).collect();
        let got: Vec<String> = (0..4).map(|_| w.letter()).collect();
        let line = format!(
            "rts link training failed: wanted: {} got: {}",
            wanted.join(" "),
            got.join(" ")
        );
        m.add(&line);
        ids.push(m.add(&line));
    }
    let mut roots: Vec<ClusterId> = ids.iter().map(|&i| m.resolve(i)).collect();
    roots.sort_unstable();
    roots.dedup();
    assert_eq!(roots.len(), 20);
    assert!(ids.iter().all(|&i| m.count(i) == Some(2)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever merges happen, every line is counted exactly once by a live cluster and every
    /// id handed out resolves to one.
    #[test]
    fn merging_never_loses_lines_or_counts(
        seed in 1u64..u64::MAX,
        shapes in proptest::collection::vec((0usize..3, 1usize..6), 20..200),
    ) {
        let mut m = miner();
        let mut w = Words(seed);
        let mut ids: Vec<ClusterId> = Vec::new();
        for (kind, n) in &shapes {
            let vars: Vec<String> = (0..*n)
                .map(|_| {
                    let len = 1 + (w.next() % 4) as usize;
                    w.word(len)
                })
                .collect();
            let line = match kind {
                0 => format!("alpha beta gamma {}", vars.join(" ")),
                1 => format!("alpha beta {} delta {}", vars.join(" "), w.word(3)),
                _ => format!("{} alpha {}", w.word(2), vars.join(" ")),
            };
            ids.push(m.add(&line));
        }
        let total: u64 = m.cluster_ids().filter_map(|id| m.count(id)).sum();
        prop_assert_eq!(total, shapes.len() as u64);
        for id in ids {
            let root = m.resolve(id);
            prop_assert!(m.template(root).is_some());
            prop_assert!(m.cluster_ids().any(|c| c == root));
        }
    }
}

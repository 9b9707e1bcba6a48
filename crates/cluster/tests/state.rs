//! Snapshot/restore, eviction at the cap, parameter extraction, and merging of templates
//! with several word-valued slots on a seeded synthetic stream.

#![allow(clippy::unwrap_used)]

use faultline_cluster::{ClusterId, MinerConfig, TemplateMiner};

/// Small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn word(&mut self) -> String {
        (0..4 + self.next() % 4)
            .map(|_| (b'a' + (self.next() % 26) as u8) as char)
            .collect()
    }
}

fn stream(n: usize, seed: u64) -> Vec<(usize, String)> {
    let mut r = Rng(seed);
    (0..n)
        .map(|_| match r.next() % 4 {
            0 => (
                0,
                format!(
                    "interceptKeyTq keycode={} interactive={} keyguardActive={} down {}",
                    r.next() % 90,
                    r.word(),
                    r.word(),
                    r.word()
                ),
            ),
            1 => (
                1,
                format!(
                    "Accepted password for {} from 10.{}.{}.{} port {} ssh2",
                    r.word(),
                    r.next() % 255,
                    r.next() % 255,
                    r.next() % 255,
                    r.next() % 65535
                ),
            ),
            2 => (2, format!("setLightsOn({})", r.word())),
            _ => (3, format!("session closed for user {}", r.word())),
        })
        .collect()
}

#[test]
fn word_slots_merge_into_one_template_each() {
    let mut m = TemplateMiner::new(MinerConfig::default()).unwrap();
    let lines = stream(5000, 7);
    let ids: Vec<ClusterId> = lines.iter().map(|(_, l)| m.add(l)).collect();
    // Each generator template ends as one cluster, except a handful of early stragglers.
    assert!(m.len() <= 12, "{} clusters", m.len());
    let mut t: Vec<String> = (0..4)
        .map(|k| {
            let i = lines.iter().rposition(|(g, _)| *g == k).unwrap();
            m.template(ids[i]).unwrap()
        })
        .collect();
    t.sort();
    assert_eq!(
        t,
        [
            "Accepted password for <*> from <*> port <*> ssh2",
            "interceptKeyTq keycode=<*> interactive=<*> keyguardActive=<*> down <*>",
            "session closed for user <*>",
            "setLightsOn(<*>)",
        ]
    );
}

#[test]
fn snapshot_roundtrip_keeps_ids_templates_and_counts() {
    let mut m = TemplateMiner::new(MinerConfig::default()).unwrap();
    let lines = stream(2000, 11);
    for (_, l) in &lines[..1000] {
        m.add(l);
    }
    let json = serde_json::to_string(&m.snapshot()).unwrap();
    let mut r = TemplateMiner::restore(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(r.len(), m.len());
    for id in m.cluster_ids() {
        assert_eq!(r.template(id), m.template(id));
        assert_eq!(r.count(id), m.count(id));
    }
    for (_, l) in &lines[1000..] {
        assert_eq!(m.add(l), r.add(l), "{l}");
    }
    assert_eq!(r.snapshot(), m.snapshot());
}

#[test]
fn restore_rejects_inconsistent_snapshots() {
    let mut m = TemplateMiner::new(MinerConfig::default()).unwrap();
    m.add("a b c");
    let mut s = m.snapshot();
    s.clusters[0].parent = 5;
    assert!(TemplateMiner::restore(s.clone()).is_err());
    s.clusters[0].parent = 0;
    s.clusters[0].tokens.pop();
    assert!(TemplateMiner::restore(s).is_err());
}

#[test]
fn eviction_keeps_the_frequent_clusters_under_the_cap() {
    let cap = 50;
    let mut m = TemplateMiner::new(MinerConfig {
        max_clusters: cap,
        ..MinerConfig::default()
    })
    .unwrap();
    let hot = m.add("heartbeat ok from scheduler");
    for _ in 0..100 {
        m.add("heartbeat ok from scheduler");
    }
    let mut r = Rng(3);
    for i in 0..5000 {
        // Distinct shapes that never merge (different token counts and words).
        let n = 1 + i % 7;
        let line: Vec<String> = (0..n).map(|_| r.word()).collect();
        m.add(&line.join(" "));
        assert!(m.len() <= cap);
    }
    assert_eq!(m.template(hot).as_deref(), Some("heartbeat ok from scheduler"));
    assert!(m.count(hot).unwrap() >= 101);
}

#[test]
fn parameters_are_the_variable_values() {
    let mut m = TemplateMiner::new(MinerConfig::default()).unwrap();
    let mut id = ClusterId(0);
    for u in ["ann", "bob", "cyd", "dan", "eve"] {
        id = m.add(&format!("session opened for user {u} by (uid=0)"));
    }
    assert_eq!(
        m.template(id).unwrap(),
        "session opened for user <*> by (uid=<*>)"
    );
    assert_eq!(
        m.parameters(id, "session opened for user zed by (uid=1000)")
            .unwrap(),
        ["zed", "1000"]
    );
    assert_eq!(m.parameters(id, "too short"), None);
}

//! Seeded noise shared by the detect crate's tests, benches and examples (each includes this
//! file with `#[path]`), so that generated inputs are reproducible everywhere.

/// `n` values in [-0.5, 0.5) from Marsaglia's xorshift64 (shifts 13, 7, 17) seeded with `seed`
/// (made odd, so never the all-zero state); the top 53 bits of each state are the fraction.
#[allow(dead_code)] // not every includer uses both functions
pub fn noise(seed: u64, n: usize) -> Vec<f64> {
    let mut s = seed | 1;
    (0..n).map(|_| next(&mut s)).collect()
}

/// One step of the generator behind [`noise`]: advances `s` and returns a value in [-0.5, 0.5).
#[allow(dead_code)]
pub fn next(s: &mut u64) -> f64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    (*s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

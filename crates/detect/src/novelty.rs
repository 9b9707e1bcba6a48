//! Subsequence novelty: distance from the latest window of values to its nearest neighbours
//! among earlier, non-overlapping windows (a causal "left" nearest-neighbour discord score, as
//! in KNN-CAD, Burnaev and Ishimtsev 2016, and matrix-profile discords, Yeh et al. 2016).
//!
//! Cost: the squared distance between the latest window and the window `lag` samples earlier
//! obeys `D_lag(n) = D_lag(n-1) + (x_n - x_{n-lag})² - (x_{n-w} - x_{n-lag-w})²`, so all
//! `history` distances are updated in O(history) per sample (a contiguous, vectorisable loop)
//! instead of O(history × window). The buffer starts with `history + 2 window` virtual zeros so
//! the recurrence holds from the first sample; windows touching the padding are never
//! candidates. Every [`EXACT_EVERY`] samples the distances are recomputed from scratch, so
//! rounding cannot drift. State: `history + 2 window + 256` values plus `history` distances.

/// Samples between exact recomputations of the rolling distances.
const EXACT_EVERY: usize = 1024;
/// Values appended before the buffer's front is dropped (one `memmove` of `pad` values per
/// this many samples; the buffer never holds more than `pad + TRIM_EVERY`).
const TRIM_EVERY: usize = 256;

/// Nearest-neighbour distance of the last `window` values among the last `history` samples.
#[derive(Debug, Clone)]
pub(crate) struct Novelty {
    window: usize,
    history: usize,
    k: usize,
    /// Values, preceded by `pad` zeros at the start; the front is dropped in bulk.
    buf: Vec<f64>,
    /// `dist[i]`: squared distance to the window `lag = window + history - 1 - i` samples
    /// earlier (so that the lags' partners form forward slices of `buf`).
    dist: Vec<f64>,
    /// Real values seen.
    count: usize,
    best: Vec<f64>,
    /// Scratch: `chunk_min[c]` is the smallest (by `<`) of `dist[c * CHUNK..(c + 1) * CHUNK]`.
    chunk_min: Vec<f64>,
    /// Scratch: the chunks with the `k` smallest minima (minimum, chunk index).
    seeds: Vec<(f64, usize)>,
}

impl Novelty {
    pub(crate) fn new(window: usize, history: usize, k: usize) -> Self {
        let window = window.max(1);
        let history = history.max(window + 1);
        let pad = history + 2 * window;
        Self {
            window,
            history,
            k: k.max(1),
            buf: {
                let mut b = Vec::with_capacity(pad + TRIM_EVERY + 1);
                b.resize(pad, 0.0);
                b
            },
            dist: vec![0.0; history],
            count: 0,
            best: Vec::with_capacity(k.max(1) + 1),
            chunk_min: vec![0.0; history.div_ceil(CHUNK)],
            seeds: Vec::with_capacity(k.max(1) + 1),
        }
    }

    /// Bytes of heap state.
    pub(crate) fn heap_bytes(&self) -> usize {
        (self.buf.capacity()
            + self.dist.capacity()
            + self.best.capacity()
            + self.chunk_min.capacity()
            + 2 * self.seeds.capacity())
            * 8
    }

    fn pad(&self) -> usize {
        self.history + 2 * self.window
    }

    /// Pushes `v` and returns the mean distance (root of the mean squared distance) to the `k`
    /// nearest earlier non-overlapping windows; `None` until `2 window + 1` values were seen.
    pub(crate) fn update(&mut self, v: f64) -> Option<f64> {
        let (w, h) = (self.window, self.history);
        let pad = self.pad();
        if self.buf.len() >= pad + TRIM_EVERY {
            self.buf.drain(..self.buf.len() - pad);
        }
        self.buf.push(v);
        self.count += 1;
        let n = self.buf.len() - 1;
        if self.count % EXACT_EVERY == 0 {
            // dist[i] pairs the window ending at n with the one ending at n - lag(i).
            for (i, d) in self.dist.iter_mut().enumerate() {
                let lag = w + h - 1 - i;
                *d = (0..w)
                    .map(|j| (self.buf[n - j] - self.buf[n - lag - j]).powi(2))
                    .sum();
            }
        } else {
            let (xn, xo) = (self.buf[n], self.buf[n - w]);
            // lag(i) = w + h - 1 - i: partners n - lag(i) = n - w - h + 1 + i (forward).
            let a = &self.buf[n + 1 - w - h..=n - w];
            let b = &self.buf[n + 1 - 2 * w - h..=n - 2 * w];
            for ((d, &x), &y) in self.dist.iter_mut().zip(a).zip(b) {
                let add = xn - x;
                let sub = xo - y;
                *d += add * add - sub * sub;
            }
        }
        // Lane-wise minima per chunk (a second pass over data still in L1: fused into the
        // update loop, the compiler no longer vectorises it).
        for (m, c) in self.chunk_min.iter_mut().zip(self.dist.chunks(CHUNK)) {
            *m = chunk_min(c);
        }
        if self.count < 2 * w + 1 {
            return None;
        }
        // Valid lags: w ..= min(count - w, w + h - 1) → indices i >= w + h - 1 - max_lag.
        let max_lag = (self.count - w).min(w + h - 1);
        let first = w + h - 1 - max_lag;
        let last = h - 1; // lag w
        self.select(first, last);
        (!self.best.is_empty()).then(|| (self.best.iter().sum::<f64>() / self.best.len() as f64).sqrt())
    }

    /// Fills `best` with the `k` smallest of `dist[first..=last]` in ascending order, NaN
    /// (overflow, |values| near 1e154) counting as infinitely far and negative rounding
    /// residue as 0. Exact, but reads only `k` chunks once the history is full: the `k` chunks
    /// with the smallest minima ("seeds") hold `k` distances at most `mu`, the largest seed
    /// minimum, so any other chunk (minimum at least `mu`, else it would be a seed) holds no
    /// distance below the `k`-th best and can at most tie with it, which leaves the sum
    /// unchanged. While the history fills, the first chunk is partial and its minimum may come
    /// from outside the range; every chunk is then read unless its minimum is not below the
    /// current `k`-th best.
    fn select(&mut self, first: usize, last: usize) {
        self.best.clear();
        let k = self.k;
        let (c0, c1) = (first / CHUNK, last / CHUNK);
        if first % CHUNK == 0 {
            self.seeds.clear();
            for c in c0..=c1 {
                insert_smallest(&mut self.seeds, k, (self.chunk_min[c], c), |s| s.0);
            }
            for i in 0..self.seeds.len() {
                self.visit(self.seeds[i].1, first, last);
            }
            return;
        }
        for c in c0..=c1 {
            let m = self.chunk_min[c];
            if self.best.len() == k && !below(m, self.best[k - 1]) {
                continue;
            }
            self.visit(c, first, last);
        }
    }

    /// Offers the distances of chunk `c` within `first..=last` to `best`.
    fn visit(&mut self, c: usize, first: usize, last: usize) {
        let k = self.k;
        let lo = (c * CHUNK).max(first);
        let hi = ((c + 1) * CHUNK).min(last + 1);
        for &d in &self.dist[lo..hi] {
            // Fast rejection on the raw value: once `best` is full, NaN (counting as +inf)
            // and anything not below the k-th best cannot enter.
            if self.best.len() == k && !below(d, self.best[k - 1]) {
                continue;
            }
            let d = if d.is_nan() { f64::INFINITY } else { d.max(0.0) };
            insert_smallest(&mut self.best, k, d, |&b| b);
        }
    }
}

/// `x < y`, false when either is NaN (so `!below(x, y)` means "not below", NaN included).
#[inline]
fn below(x: f64, y: f64) -> bool {
    x.partial_cmp(&y) == Some(std::cmp::Ordering::Less)
}

/// Keeps `v` (ascending by `key`, at most `k` long, `k >= 1`) the `k` smallest items offered:
/// `x` enters if there is room or its key is below the largest (ties keep the held item; `k`
/// is a handful, so a linear insertion beats a binary search). Keys are never NaN.
#[inline]
fn insert_smallest<T: Copy>(v: &mut Vec<T>, k: usize, x: T, key: impl Fn(&T) -> f64) {
    let kx = key(&x);
    if v.len() == k {
        if !below(kx, key(&v[k - 1])) {
            return;
        }
        v.pop();
    }
    let mut i = v.len();
    v.push(x);
    while i > 0 && key(&v[i - 1]) > kx {
        v[i] = v[i - 1];
        i -= 1;
    }
    v[i] = x;
}

/// Vector lanes of the chunk-minimum pass (two SSE2 or one AVX register of `f64`).
const LANES: usize = 4;
/// Distances per chunk of the selection (a multiple of [`LANES`]).
const CHUNK: usize = 32;

/// Smallest value of a slice by `<` (NaN never wins; a slice of only NaN gives `+inf`, which
/// is safe since NaN distances count as `+inf`); `+inf` when empty. Lane-wise first, so the
/// loop vectorises.
fn chunk_min(xs: &[f64]) -> f64 {
    let mut m = [f64::INFINITY; LANES];
    let mut quads = xs.chunks_exact(LANES);
    for q in &mut quads {
        for j in 0..LANES {
            m[j] = if q[j] < m[j] { q[j] } else { m[j] };
        }
    }
    for (j, &x) in quads.remainder().iter().enumerate() {
        m[j] = if x < m[j] { x } else { m[j] };
    }
    m.into_iter()
        .fold(f64::INFINITY, |a, x| if x < a { x } else { a })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Direct O(history × window) search, as the reference.
    fn naive(xs: &[f64], w: usize, h: usize, k: usize) -> Option<f64> {
        let n = xs.len();
        if n < 2 * w + 1 {
            return None;
        }
        let cur = &xs[n - w..];
        let mut d: Vec<f64> = (w..=(n - w).min(w + h - 1))
            .map(|lag| {
                let e = n - 1 - lag;
                cur.iter()
                    .zip(&xs[e + 1 - w..=e])
                    .map(|(a, b)| (a - b).powi(2))
                    .sum()
            })
            .collect();
        d.sort_by(f64::total_cmp);
        d.truncate(k);
        Some((d.iter().sum::<f64>() / d.len() as f64).sqrt())
    }

    #[test]
    fn rolling_distances_match_the_direct_search() {
        let mut s = 7u64;
        let xs: Vec<f64> = (0..3000)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                1000.0 + ((i % 37) as f64) * 3.0 + ((s >> 40) % 100) as f64 / 10.0
            })
            .collect();
        let (w, h, k) = (10, 300, 3);
        let mut nv = Novelty::new(w, h, k);
        for i in 0..xs.len() {
            let got = nv.update(xs[i]);
            let want = naive(&xs[..=i], w, h, k);
            match (got, want) {
                (Some(g), Some(e)) => assert!((g - e).abs() <= 1e-6 * e.max(1.0), "{i}: {g} vs {e}"),
                (None, None) => {}
                other => panic!("{i}: {other:?}"),
            }
        }
    }

    use proptest::prelude::*;

    proptest! {
        /// The chunk-pruned selection returns exactly (bit for bit) the mean of the k smallest
        /// of the same distances as a full sort, whatever the window, history and k (partial
        /// chunks, ties, fewer candidates than k while the history fills).
        #[test]
        fn pruned_selection_equals_a_full_sort_of_the_same_distances(
            w in 1usize..6,
            h in 1usize..90,
            k in 1usize..6,
            xs in proptest::collection::vec(prop_oneof![(0i32..4).prop_map(f64::from), -1e3f64..1e3], 1..400),
        ) {
            let mut nv = Novelty::new(w, h, k);
            let (w, h) = (nv.window, nv.history);
            for (i, &x) in xs.iter().enumerate() {
                let got = nv.update(x);
                let count = i + 1;
                if count < 2 * w + 1 {
                    prop_assert!(got.is_none());
                    continue;
                }
                let first = w + h - 1 - (count - w).min(w + h - 1);
                let mut d: Vec<f64> = nv.dist[first..h]
                    .iter()
                    .map(|&d| if d.is_nan() { f64::INFINITY } else { d.max(0.0) })
                    .collect();
                d.sort_by(f64::total_cmp);
                d.truncate(k);
                let want = (d.iter().sum::<f64>() / d.len() as f64).sqrt();
                prop_assert_eq!(got.map(f64::to_bits), Some(want.to_bits()), "@{}", i);
            }
        }
    }

    #[test]
    fn chunk_pruned_selection_matches_the_direct_search_with_ties() {
        // Few distinct values: many equal and zero distances; history not a multiple of the
        // chunk size, so the first and last chunks are partial while the history fills.
        for (w, h, k) in [(3, 37, 4), (5, 100, 1), (2, 16, 3), (4, 50, 7)] {
            let xs: Vec<f64> = (0..700u64)
                .map(|i| ((i * 2_654_435_761) % 7 % 3) as f64)
                .collect();
            let mut nv = Novelty::new(w, h, k);
            for i in 0..xs.len() {
                let got = nv.update(xs[i]);
                let want = naive(&xs[..=i], w, h, k);
                match (got, want) {
                    (Some(g), Some(e)) => assert!((g - e).abs() <= 1e-9, "{w} {h} {k} @{i}: {g} vs {e}"),
                    (None, None) => {}
                    other => panic!("{i}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn repeated_pattern_is_close_but_a_new_shape_is_far() {
        let mut nv = Novelty::new(8, 500, 1);
        let pattern = [0.0, 1.0, 3.0, 1.0, 0.0, -1.0, -3.0, -1.0];
        let mut last = None;
        for i in 0..400 {
            last = nv.update(pattern[i % 8] + 0.01 * ((i * 7) % 3) as f64);
        }
        assert!(last.unwrap() < 0.1);
        let mut peak: f64 = 0.0;
        for _ in 0..8 {
            peak = peak.max(nv.update(10.0).unwrap());
        }
        assert!(peak > 5.0, "{peak}");
    }
}

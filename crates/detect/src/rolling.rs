//! The one rolling sorted window of the crate: the last `capacity` values in arrival order and
//! in ascending order, updated per sample, with exact order statistics (median, MAD, quantiles,
//! ranks). Generic over the stored type: `f64` for baselines, `f32` where half the state
//! matters more than the last bits (the stream detector's calibration windows).
//!
//! An update locates the evicted and the new value in the sorted copy (branch-free halving down
//! to a block of 32 values, then a branch-free count of the block: no mispredicted branch
//! whatever the data) and shifts only the values between the two positions (one `memmove`,
//! `w / 3` values on average for stationary data, up to `w` on a trend).
//!
//! The median is read off the middle in O(1). The MAD — the `k`-th smallest `|x_i - m|` — uses
//! the fact that the `k` values nearest to `m` are contiguous in sorted order: with
//! `a(i) = m - s[i]` (non-increasing in `i`) and `b(i) = s[i + k - 1] - m` (non-decreasing),
//! the `k`-th smallest deviation is `min_i max(a(i), b(i))`, reached where `a - b` changes sign.
//! That crossing moves by only a few positions between consecutive samples (the median moves
//! by at most one rank and every value by at most one position; on a seasonal test series it
//! stays put or moves by one in 94% of samples), so it is located by a branch-free count of the
//! predicate over a few positions around its previous place, with a walk only when that range
//! does not bracket it: amortised O(1) per sample, and exact (both stop on the
//! monotone predicate `a(i) <= b(i)`, not on a heuristic). Even windows average the two middle
//! order statistics of values and deviations, as [`crate::stats::median_mad`] does. The MAD
//! about any other centre is available in O(log w) ([`SortedWindow::mad`]).
//!
//! State: two copies of the window (16 bytes per value in `f64`, 8 in `f32`) plus a few words.

use std::fmt::Debug;

/// Positions are located by halving down to a block of at most this many values, then
/// counting within it.
const COUNT_BLOCK: usize = 32;

/// Positions after (and one more before) the previous MAD crossing examined branch-free before
/// walking.
const CROSS_REACH: usize = 2;

/// A value type a [`SortedWindow`] can hold: `f64` or `f32` (finite values only; order
/// statistics are returned in `f64`).
pub trait WindowValue: Copy + PartialOrd + Debug + Default {
    /// Widens to `f64` (exact for both types).
    fn to_f64(self) -> f64;
    /// Narrows from `f64` (rounded to nearest for `f32`; beyond its range, infinity).
    fn from_f64(x: f64) -> Self;
}

impl WindowValue for f64 {
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn from_f64(x: f64) -> Self {
        x
    }
}

impl WindowValue for f32 {
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
}

/// Number of values of the ascending `s` below `x`: branch-free halving (conditional moves)
/// down to a block of at most [`COUNT_BLOCK`] values, then a branch-free count of the block
/// (vectorises). Cheaper than either a full count or a full binary search for windows of a few
/// dozen values and up, and free of mispredicted branches.
#[inline]
fn rank_below<T: WindowValue>(s: &[T], x: T) -> usize {
    let (mut base, mut len) = (0usize, s.len());
    let xf = x.to_f64();
    // Invariant: the answer lies in [base, base + len] (and base + len <= s.len()). The step
    // takes the comparison from the sign bit of `s[p] - x` (finite values: negative exactly
    // when `s[p] < x`, and distinct values never differ by zero), which the compiler cannot
    // turn back into an unpredictable branch as it does a `bool`.
    while len > COUNT_BLOCK {
        let half = len / 2;
        let below = ((s[base + half - 1].to_f64() - xf).to_bits() >> 63) as usize;
        base += below * half;
        len -= half;
    }
    base + s[base..base + len]
        .iter()
        .map(|&y| usize::from(y < x))
        .sum::<usize>()
}

/// The last `capacity` finite values, in arrival order and in ascending order.
#[derive(Debug, Clone)]
pub struct SortedWindow<T: WindowValue = f64> {
    ring: Vec<T>,
    head: usize,
    sorted: Vec<T>,
    capacity: usize,
    /// Tracked crossing position of the MAD block.
    cross: usize,
}

/// Rolling median and MAD of the last `capacity` values in `f64` (the name of the earlier,
/// `f64`-only window).
pub type RollingMedianMad = SortedWindow<f64>;

impl<T: WindowValue> SortedWindow<T> {
    /// An empty window of `capacity` values (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            ring: Vec::with_capacity(capacity),
            head: 0,
            sorted: Vec::with_capacity(capacity),
            capacity,
            cross: 0,
        }
    }

    /// Number of values held.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Whether `capacity` values are held.
    pub fn is_full(&self) -> bool {
        self.sorted.len() == self.capacity
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        self.ring.clear();
        self.sorted.clear();
        self.head = 0;
        self.cross = 0;
    }

    /// The held values in ascending order.
    pub fn sorted(&self) -> &[T] {
        &self.sorted
    }

    /// Bytes of heap state (both copies of the window).
    pub fn heap_bytes(&self) -> usize {
        (self.ring.capacity() + self.sorted.capacity()) * std::mem::size_of::<T>()
    }

    /// Adds a finite value, evicting the oldest when full.
    pub fn push(&mut self, v: T) {
        if self.ring.len() < self.capacity {
            self.ring.push(v);
            let at = self.sorted.partition_point(|&x| x < v);
            self.sorted.insert(at, v);
            return;
        }
        let old = std::mem::replace(&mut self.ring[self.head], v);
        self.head += 1;
        if self.head == self.capacity {
            self.head = 0;
        }
        let s = &mut self.sorted;
        // `old` is present at `i` (it was inserted and never removed).
        let (i, j) = (rank_below(s, old), rank_below(s, v));
        let i = i.min(s.len() - 1);
        if j > i {
            s.copy_within(i + 1..j, i);
            s[j - 1] = v;
        } else {
            s.copy_within(j..i, j + 1);
            s[j] = v;
        }
    }

    /// Number of held values strictly below `x`.
    pub fn count_below(&self, x: f64) -> usize {
        self.sorted.partition_point(|&v| v.to_f64() < x)
    }

    /// Smallest held value (NaN when empty).
    pub fn min(&self) -> f64 {
        self.sorted.first().map_or(f64::NAN, |v| v.to_f64())
    }

    /// Largest held value (NaN when empty).
    pub fn max(&self) -> f64 {
        self.sorted.last().map_or(f64::NAN, |v| v.to_f64())
    }

    /// Quantile `q` in [0, 1] of the held values, interpolated linearly between order
    /// statistics (Hyndman and Fan's type 7, the default of R and numpy); NaN when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        let n = self.sorted.len();
        if n == 0 {
            return f64::NAN;
        }
        let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        let (a, b) = (self.sorted[lo].to_f64(), self.sorted[hi].to_f64());
        a + (h - lo as f64) * (b - a)
    }

    /// Median of the held values (NaN when empty).
    pub fn median(&self) -> f64 {
        let s = &self.sorted;
        let n = s.len();
        if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            s[n / 2].to_f64()
        } else {
            0.5 * (s[n / 2 - 1].to_f64() + s[n / 2].to_f64())
        }
    }

    /// Median absolute deviation from any `center` (unscaled), in O(log w) (see
    /// [`crate::stats::mad_of_sorted`]); NaN when empty. [`SortedWindow::median_mad`] is
    /// cheaper for the MAD about the median.
    pub fn mad(&self, center: f64) -> f64 {
        let s = &self.sorted;
        crate::stats::mad_of_sorted_by(s.len(), |i| s[i].to_f64(), center)
    }

    /// The `k`-th and `k + 1`-th smallest (1-based, `1 <= k < n`; the second is `+inf` when
    /// `k == n`) deviations `|x - m|`, walking the tracked crossing from its previous
    /// position. The `k` values nearest to `m` are the block `s[c..c + k]`; every value outside
    /// it deviates at least as much (else it would be among the `k` nearest), so the `k + 1`-th
    /// is the nearer of the block's two outside neighbours.
    fn kth_deviations(&mut self, m: f64, k: usize) -> (f64, f64) {
        let s = &self.sorted[..];
        let n = s.len();
        let at = |i: usize| s[i].to_f64();
        // Values are finite: plain comparisons, not the NaN-aware `f64::max` / `min`.
        let max = |x: f64, y: f64| if x > y { x } else { y };
        let min = |x: f64, y: f64| if x < y { x } else { y };
        // Block starts i in 0..=n-k; pred(i) = a(i) <= b(i) is monotone (false..., true...).
        let last = n - k;
        let pred = |i: usize| m - at(i) <= at(i + k - 1) - m;
        let prev = self.cross.min(last);
        // The crossing moves by at most one position in nine samples of ten: count the
        // `false`s of the predicate over a few positions around the previous one without
        // branching (the predicate is monotone, so the count locates the crossing whenever the
        // range brackets it), and walk only when it does not. Mispredicted walk branches were
        // half the cost of the MAD.
        let lo = prev.saturating_sub(CROSS_REACH + 1);
        let hi = (prev + CROSS_REACH).min(last);
        let (lows, highs) = (&s[lo..=hi], &s[lo + k - 1..=hi + k - 1]);
        let falses: usize = lows
            .iter()
            .zip(highs)
            .map(|(&x, &y)| usize::from(m - x.to_f64() > y.to_f64() - m))
            .sum();
        let bracketed = (lo == 0 || !pred(lo)) && (hi == last || pred(hi));
        let mut c = (lo + falses).min(last);
        if !bracketed {
            c = prev;
            if pred(c) {
                while c > 0 && pred(c - 1) {
                    c -= 1;
                }
            } else {
                while c < last && !pred(c) {
                    c += 1;
                }
            }
        }
        self.cross = c;
        let g = |i: usize| max(m - at(i), at(i + k - 1) - m);
        // The optimum is at the crossing or just before it (a select, not a branch).
        let before = c.saturating_sub(1);
        let start = if g(before) < g(c) { before } else { c };
        let left = if start > 0 {
            m - at(start - 1)
        } else {
            f64::INFINITY
        };
        let right = if start + k < n {
            at(start + k) - m
        } else {
            f64::INFINITY
        };
        (g(start), min(left, right))
    }

    /// Median and MAD (unscaled) of the held values; NaN for both when empty. Amortised O(1)
    /// (tracked crossing, module doc).
    pub fn median_mad(&mut self) -> (f64, f64) {
        let n = self.sorted.len();
        if n == 0 {
            return (f64::NAN, f64::NAN);
        }
        let m = self.median();
        let mad = if n % 2 == 1 {
            self.kth_deviations(m, n / 2 + 1).0
        } else {
            let (lo, hi) = self.kth_deviations(m, n / 2);
            0.5 * (lo + hi)
        };
        (m, mad)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_a_direct_recomputation(
            w in 1usize..140,
            xs in proptest::collection::vec(prop_oneof![(-50i32..50).prop_map(f64::from), -1e6f64..1e6], 1..500),
        ) {
            let mut r = RollingMedianMad::new(w);
            for (t, &x) in xs.iter().enumerate() {
                r.push(x);
                let tail = &xs[(t + 1).saturating_sub(w)..=t];
                let (m, mad) = crate::stats::median_mad(tail).unwrap();
                let (gm, gmad) = r.median_mad();
                prop_assert_eq!(gm, m);
                prop_assert!((gmad - mad).abs() <= 1e-9 * (1.0 + mad.abs()), "{} vs {}", gmad, mad);
            }
        }

        /// Drifting series (the MAD crossing moves every sample, sometimes far) keep the
        /// sorted copy and the statistics exact.
        #[test]
        fn drifting_series_match_a_direct_recomputation(
            w in 2usize..200,
            steps in proptest::collection::vec(-3i32..6, 1..600),
            jump_every in 5usize..80,
        ) {
            let mut r = RollingMedianMad::new(w);
            let mut level = 0.0;
            let mut xs = Vec::new();
            for (t, &d) in steps.iter().enumerate() {
                level += f64::from(d) * 0.25;
                let x = if t % jump_every == 0 { level + 1e3 } else { level };
                xs.push(x);
                r.push(x);
                let mut tail = xs[(t + 1).saturating_sub(w)..=t].to_vec();
                let (m, mad) = crate::stats::median_mad(&tail).unwrap();
                prop_assert_eq!(r.median_mad(), (m, mad));
                tail.sort_by(f64::total_cmp);
                prop_assert_eq!(r.sorted(), &tail[..]);
            }
        }
    }

    #[test]
    fn f32_window_ranks_and_order_statistics_match_a_sorted_copy() {
        let mut w: SortedWindow<f32> = SortedWindow::new(50);
        let mut all = Vec::new();
        for i in 0..400u32 {
            let x = f64::from((i * 7919) % 113) / 3.0 + f64::from(i % 5) * 1e-9;
            w.push(x as f32);
            all.push(f64::from(x as f32));
            let mut tail: Vec<f64> = all[all.len().saturating_sub(50)..].to_vec();
            let (m, mad) = crate::stats::median_mad(&tail).unwrap();
            assert_eq!(w.median_mad(), (m, mad));
            tail.sort_by(f64::total_cmp);
            assert_eq!((w.min(), w.max()), (tail[0], tail[tail.len() - 1]));
            assert_eq!(w.count_below(20.0), tail.iter().filter(|&&v| v < 20.0).count());
            assert_eq!(w.mad(10.0), {
                let mut d: Vec<f64> = tail.iter().map(|v| (v - 10.0).abs()).collect();
                crate::stats::median_in_place(&mut d).unwrap()
            });
        }
    }

    #[test]
    fn constant_window_has_zero_mad() {
        let mut r = RollingMedianMad::new(10);
        for _ in 0..30 {
            r.push(3.0);
        }
        assert_eq!(r.median_mad(), (3.0, 0.0));
        assert!(RollingMedianMad::new(5).median_mad().0.is_nan());
    }
}

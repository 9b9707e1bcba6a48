//! The one rolling sorted window of the crate: the last `capacity` values in arrival order and
//! in ascending order, updated per sample, with exact order statistics (median, MAD, quantiles,
//! ranks). Generic over the stored type: `f64` for baselines, `f32` where half the state
//! matters more than the last bits (the stream detector's calibration windows).
//!
//! An update locates the evicted and the new value in the sorted copy (a branch-free counting
//! pass for short windows, binary searches for long ones) and shifts only the values between
//! the two positions (one `memmove`, `w / 3` values on average for stationary data).
//!
//! The median is read off the middle in O(1). The MAD — the `k`-th smallest `|x_i - m|` — uses
//! the fact that the `k` values nearest to `m` are contiguous in sorted order: with
//! `a(i) = m - s[i]` (non-increasing in `i`) and `b(i) = s[i + k - 1] - m` (non-decreasing),
//! the `k`-th smallest deviation is `min_i max(a(i), b(i))`, reached where `a - b` changes sign.
//! That crossing moves by only a few positions between consecutive samples (the median moves
//! by at most one rank and every value by at most one position), so it is tracked by a walk
//! from its previous position: amortised O(1) per sample, and exact (the walk stops on the
//! monotone predicate `a(i) <= b(i)`, not on a heuristic). Even windows average the two middle
//! order statistics of values and deviations, as [`crate::stats::median_mad`] does. The MAD
//! about any other centre is available in O(log w) ([`SortedWindow::mad`]).
//!
//! State: two copies of the window (16 bytes per value in `f64`, 8 in `f32`) plus a few words.

use std::fmt::Debug;

/// Windows up to this many values locate positions by a linear count, longer ones by binary
/// search.
const LINEAR_SEARCH_MAX: usize = 96;

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
        let (i, j) = if s.len() <= LINEAR_SEARCH_MAX {
            // Short windows: one branch-free counting pass (vectorises) beats two binary
            // searches.
            s.iter().fold((0usize, 0usize), |(i, j), &x| {
                (i + usize::from(x < old), j + usize::from(x < v))
            })
        } else {
            (s.partition_point(|&x| x < old), s.partition_point(|&x| x < v))
        };
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
        let s = &self.sorted;
        let n = s.len();
        let at = |i: usize| s[i].to_f64();
        // Block starts i in 0..=n-k; pred(i) = a(i) <= b(i) is monotone (false..., true...).
        let last = n - k;
        let pred = |i: usize| m - at(i) <= at(i + k - 1) - m;
        let mut c = self.cross.min(last);
        if pred(c) {
            while c > 0 && pred(c - 1) {
                c -= 1;
            }
        } else {
            while c < last && !pred(c) {
                c += 1;
            }
        }
        self.cross = c;
        let g = |i: usize| (m - at(i)).max(at(i + k - 1) - m);
        // The optimum is at the crossing or just before it.
        let start = if c > 0 && g(c - 1) < g(c) { c - 1 } else { c };
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
        (g(start), left.min(right))
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

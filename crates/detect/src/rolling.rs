//! Exact rolling median and MAD of the last `w` values, updated per sample.
//!
//! The window is kept twice: in arrival order (a ring) and in ascending order. An update
//! locates the evicted and the new value in the sorted copy (a branch-free counting pass for
//! short windows, binary searches for long ones) and shifts only the values between the two
//! positions (one `memmove`, `w / 3` values on average for stationary data).
//!
//! The median is read off the middle in O(1). The MAD — the `k`-th smallest `|x_i - m|` — uses
//! the fact that the `k` values nearest to `m` are contiguous in sorted order: with
//! `a(i) = m - s[i]` (non-increasing in `i`) and `b(i) = s[i + k - 1] - m` (non-decreasing),
//! the `k`-th smallest deviation is `min_i max(a(i), b(i))`, reached where `a - b` changes sign.
//! That crossing moves by only a few positions between consecutive samples (the median moves
//! by at most one rank and every value by at most one position), so it is tracked by a walk
//! from its previous position: amortised O(1) per sample, and exact (the walk stops on the
//! monotone predicate `a(i) <= b(i)`, not on a heuristic). Even windows average the two middle
//! order statistics of values and deviations, as [`crate::stats::median_mad`] does.
//!
//! State: 16 bytes per value of window plus a few words.

/// Windows up to this many values locate positions by a linear count, longer ones by binary
/// search.
const LINEAR_SEARCH_MAX: usize = 96;

/// Rolling median and MAD (unscaled) of the last `capacity` finite values.
#[derive(Debug, Clone)]
pub struct RollingMedianMad {
    ring: Vec<f64>,
    head: usize,
    sorted: Vec<f64>,
    capacity: usize,
    /// Tracked crossing position of the MAD block.
    cross: usize,
}

impl RollingMedianMad {
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
    pub fn sorted(&self) -> &[f64] {
        &self.sorted
    }

    /// Bytes of heap state (both copies of the window).
    pub fn heap_bytes(&self) -> usize {
        (self.ring.capacity() + self.sorted.capacity()) * std::mem::size_of::<f64>()
    }

    /// Adds a finite value, evicting the oldest when full.
    pub fn push(&mut self, v: f64) {
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
        self.sorted[lo] + (h - lo as f64) * (self.sorted[hi] - self.sorted[lo])
    }

    /// Median of the held values (NaN when empty).
    pub fn median(&self) -> f64 {
        crate::stats::median_of_sorted(&self.sorted)
    }

    /// The `k`-th and `k + 1`-th smallest (1-based, `1 <= k < n`; the second is `+inf` when
    /// `k == n`) deviations `|x - m|`, walking the tracked crossing from its previous
    /// position. The `k` values nearest to `m` are the block `s[c..c + k]`; every value outside
    /// it deviates at least as much (else it would be among the `k` nearest), so the `k + 1`-th
    /// is the nearer of the block's two outside neighbours.
    fn kth_deviations(&mut self, m: f64, k: usize) -> (f64, f64) {
        let s = &self.sorted;
        let n = s.len();
        // Block starts i in 0..=n-k; pred(i) = a(i) <= b(i) is monotone (false..., true...).
        let last = n - k;
        let pred = |i: usize| m - s[i] <= s[i + k - 1] - m;
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
        let g = |i: usize| (m - s[i]).max(s[i + k - 1] - m);
        // The optimum is at the crossing or just before it.
        let start = if c > 0 && g(c - 1) < g(c) { c - 1 } else { c };
        let left = if start > 0 {
            m - s[start - 1]
        } else {
            f64::INFINITY
        };
        let right = if start + k < n {
            s[start + k] - m
        } else {
            f64::INFINITY
        };
        (g(start), left.min(right))
    }

    /// Median and MAD (unscaled) of the held values; NaN for both when empty.
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
    fn constant_window_has_zero_mad() {
        let mut r = RollingMedianMad::new(10);
        for _ in 0..30 {
            r.push(3.0);
        }
        assert_eq!(r.median_mad(), (3.0, 0.0));
        assert!(RollingMedianMad::new(5).median_mad().0.is_nan());
    }
}

//! Subsequence novelty: distance from the latest window of values to its nearest neighbours
//! among earlier windows, relative to the largest such distance seen recently (a causal
//! "left" nearest-neighbour discord score, as in KNN-CAD, Burnaev and Ishimtsev 2016, and
//! matrix-profile discords, Yeh et al. 2016).
//!
//! A scale `stride > 1` compares windows of `stride`-sample means taken every `stride`
//! samples, so the same `window` covers a longer stretch (a day of a 30-minute series).

use crate::stats::SortedWindow;

/// Nearest-neighbour novelty of the last `window` (strided) values among the last `history`
/// samples.
#[derive(Debug, Clone)]
pub(crate) struct Novelty {
    window: usize,
    stride: usize,
    history: usize,
    k: usize,
    quantile: f64,
    cap_mult: f64,
    /// Rolling `stride`-means, contiguous; the front is dropped in bulk.
    means: Vec<f64>,
    raw: Vec<f64>,
    raw_sum: f64,
    past_nn: SortedWindow,
    best: Vec<f64>,
    cur: Vec<f64>,
}

impl Novelty {
    pub(crate) fn new(
        window: usize,
        stride: usize,
        history: usize,
        k: usize,
        calibration: usize,
        quantile: f64,
        cap_mult: f64,
    ) -> Self {
        let window = window.max(1);
        let stride = stride.max(1);
        let span = window * stride;
        let history = history.max(2 * span + 1);
        Self {
            window,
            stride,
            history,
            k: k.max(1),
            quantile,
            cap_mult,
            means: Vec::with_capacity(2 * (history + span)),
            raw: Vec::with_capacity(stride),
            raw_sum: 0.0,
            past_nn: SortedWindow::new(calibration.max(8)),
            best: Vec::with_capacity(k.max(1) + 1),
            cur: Vec::with_capacity(window),
        }
    }

    /// Pushes `v` and returns the novelty ratio of the window ending at it (0 until enough
    /// history): mean distance to the `k` nearest earlier non-overlapping windows divided by
    /// the configured quantile of that distance over recent samples.
    pub(crate) fn update(&mut self, v: f64) -> f64 {
        // Rolling mean over the last `stride` raw values.
        if self.raw.len() == self.stride {
            self.raw_sum -= self.raw.remove(0);
        }
        self.raw.push(v);
        self.raw_sum += v;
        if self.raw.len() < self.stride {
            return 0.0;
        }
        self.means.push(self.raw_sum / self.stride as f64);
        let span = self.window * self.stride;
        let keep = self.history + span;
        if self.means.len() >= 2 * keep {
            self.means.drain(..self.means.len() - keep);
        }
        let n = self.means.len();
        // Current window: means at n-1, n-1-stride, ... (oldest first).
        if n < 2 * span + 1 {
            return 0.0;
        }
        let first = n - 1 - (self.window - 1) * self.stride;
        self.cur.clear();
        self.cur
            .extend((0..self.window).map(|j| self.means[first + j * self.stride]));
        // Candidate windows end at `e` with e <= n - 1 - span (no overlap), start >= 0, and
        // lie within the history.
        let last_end = n - 1 - span;
        let first_end = ((self.window - 1) * self.stride).max(n.saturating_sub(keep));
        self.best.clear();
        let k = self.k;
        let mut worst = f64::INFINITY;
        for e in first_end..=last_end {
            let s0 = e - (self.window - 1) * self.stride;
            let mut d = 0.0;
            for (j, c) in self.cur.iter().enumerate() {
                let x = self.means[s0 + j * self.stride] - c;
                d += x * x;
            }
            if d < worst || self.best.len() < k {
                let at = self.best.partition_point(|&b| b < d);
                self.best.insert(at, d);
                self.best.truncate(k);
                if self.best.len() == k {
                    worst = self.best[k - 1];
                }
            }
        }
        if self.best.is_empty() {
            return 0.0;
        }
        let dist = (self.best.iter().sum::<f64>() / self.best.len() as f64).sqrt();
        let ratio = if self.past_nn.len() >= 8 {
            let typical = self.past_nn.normaliser(self.quantile, self.cap_mult);
            if typical > 0.0 {
                dist / typical
            } else if dist > 0.0 {
                1e6
            } else {
                0.0
            }
        } else {
            0.0
        };
        self.past_nn.push(dist);
        ratio
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn repeated_pattern_is_not_novel_but_a_new_shape_is() {
        let mut nv = Novelty::new(8, 1, 500, 1, 200, 1.0, 0.0);
        let pattern = [0.0, 1.0, 3.0, 1.0, 0.0, -1.0, -3.0, -1.0];
        let mut last = 0.0;
        for i in 0..400 {
            last = nv.update(pattern[i % 8] + 0.01 * ((i * 7) % 3) as f64);
        }
        assert!(last < 1.5, "{last}");
        let mut peak: f64 = 0.0;
        for _ in 0..8 {
            peak = peak.max(nv.update(10.0));
        }
        assert!(peak > 3.0, "{peak}");
    }

    #[test]
    fn strided_scale_sees_long_shapes() {
        let mut nv = Novelty::new(6, 4, 2000, 1, 500, 1.0, 0.0);
        let day = |i: usize| ((i % 48) as f64 / 48.0 * std::f64::consts::TAU).sin();
        for i in 0..1500 {
            nv.update(day(i));
        }
        let mut peak: f64 = 0.0;
        for i in 1500..1548 {
            peak = peak.max(nv.update(0.2 * day(i)));
        }
        assert!(peak > 1.0, "{peak}");
    }
}

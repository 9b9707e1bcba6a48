//! A tiny seeded PRNG and the few transcendental functions the generator needs, written with
//! IEEE basic operations only so that generated bundles are bit-identical on every platform.
//!
//! - xoshiro256** (Blackman & Vigna, 2018, "Scrambled linear pseudorandom number generators"),
//!   seeded through SplitMix64 (Steele, Lea & Flood, 2014) as its authors recommend;
//! - normals by the Box–Muller transform (Box & Muller, 1958), with `ln` and `cos`/`sin`
//!   computed by series here rather than by the platform's libm, whose last-bit results differ
//!   between systems (`sqrt` is correctly rounded by IEEE 754, so it is used as is).

/// SplitMix64 step: used to expand a seed into xoshiro state and to derive sub-streams.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** with a cached second Box–Muller normal.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
    spare_normal: Option<f64>,
}

impl Rng {
    /// A generator for `seed`, on the independent sub-stream `stream` (so that, say, the log
    /// generator drawing more numbers never shifts the metrics).
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut sm = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Self {
            s,
            spare_normal: None,
        }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// Uniform integer in `[0, n)`; `n == 0` yields 0.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift; the tiny bias is irrelevant for synthetic data.
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform integer in `[lo, hi]`.
    pub(crate) fn int(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below((hi - lo + 1) as usize) as u64
    }

    /// `true` with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A standard normal deviate (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        // 1 - u is in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.f64();
        let u2 = self.f64();
        let r = (-2.0 * ln(u1)).sqrt();
        let (s, c) = sin_cos_turns(u2);
        self.spare_normal = Some(r * s);
        r * c
    }

    /// `n` random hexadecimal digits.
    pub(crate) fn hex(&mut self, n: usize) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(n);
        let mut bits = 0u64;
        for i in 0..n {
            if i % 16 == 0 {
                bits = self.next_u64();
            }
            out.push(DIGITS[(bits & 15) as usize] as char);
            bits >>= 4;
        }
        out
    }
}

const LN_2: f64 = std::f64::consts::LN_2;
const TAU: f64 = std::f64::consts::TAU;

/// Natural logarithm of a positive finite `x`, from basic operations only.
pub(crate) fn ln(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return f64::NEG_INFINITY;
    }
    // x = m · 2^e with m in [1, 2); subnormals are scaled up first.
    let (mut x, mut e) = (x, 0i64);
    if x < f64::MIN_POSITIVE {
        x *= (1u64 << 54) as f64;
        e -= 54;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172: the series converges fast.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    while k < 40.0 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    2.0 * sum + e as f64 * LN_2
}

/// `(sin 2πu, cos 2πu)` for `u` in `[0, 1)`, by Taylor series after reduction to `[-π/4, π/4]`.
pub(crate) fn sin_cos_turns(u: f64) -> (f64, f64) {
    // Octant reduction: u = q/4 + r with r in [-1/8, 1/8].
    let q = (u * 4.0 + 0.5).floor();
    let r = (u - q * 0.25) * TAU;
    let r2 = r * r;
    let (mut sin, mut cos) = (0.0, 0.0);
    let (mut ts, mut tc) = (r, 1.0);
    for n in 0..10 {
        sin += ts;
        cos += tc;
        let k = (2 * n + 2) as f64;
        tc *= -r2 / (k * (k - 1.0));
        ts *= -r2 / ((k + 1.0) * k);
    }
    match (q as i64).rem_euclid(4) {
        0 => (sin, cos),
        1 => (cos, -sin),
        2 => (-sin, -cos),
        _ => (-cos, sin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_ln_matches_std_closely() {
        for &x in &[
            1e-300, 1e-10, 0.001, 0.3, 0.5, 0.999_999, 1.0, 1.5, 2.0, 7.25, 1e10, 1e300,
        ] {
            let (a, b): (f64, f64) = (ln(x), x.ln());
            assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                "ln({x}) = {a}, std {b}"
            );
        }
    }

    #[test]
    fn portable_sin_cos_match_std_closely() {
        for i in 0..1000 {
            let u = i as f64 / 1000.0;
            let (s, c) = sin_cos_turns(u);
            assert!((s - (u * TAU).sin()).abs() < 1e-12, "sin at {u}");
            assert!((c - (u * TAU).cos()).abs() < 1e-12, "cos at {u}");
        }
    }

    #[test]
    fn normals_have_unit_moments() {
        let mut rng = Rng::new(42, 0);
        let n = 200_000;
        let (mut sum, mut sq) = (0.0, 0.0);
        for _ in 0..n {
            let z = rng.normal();
            sum += z;
            sq += z * z;
        }
        let mean = sum / n as f64;
        let var = sq / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
    }

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7, 1);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7, 1);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7, 2);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut r = Rng::new(1, 0);
        assert!((0..1000).all(|_| r.below(3) < 3));
        assert_eq!(r.hex(32).len(), 32);
    }
}

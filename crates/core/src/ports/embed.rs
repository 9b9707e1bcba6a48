use crate::id::StableHasher;

/// Turns text into a vector, for grouping near-synonymous templates. Hosts plug in a real
/// sentence-embedding model; the default hashes character n-grams.
pub trait Embedder: Send + Sync {
    /// Length of the vectors.
    fn dim(&self) -> usize;
    /// The (L2-normalised) vector of `text`.
    fn embed(&self, text: &str) -> Vec<f32>;
}

/// Feature hashing of character trigrams of lower-cased words into `dim` buckets, signed
/// (Weinberger et al., 2009, "Feature Hashing for Large Scale Multitask Learning"), then
/// L2-normalised. Deterministic and dependency-free; good for spelling variants
/// (`timeout`/`timed out`), not for synonyms.
///
/// ```
/// use faultline_core::ports::{cosine, Embedder, HashedNgramEmbedder};
/// let e = HashedNgramEmbedder::default();
/// let a = e.embed("connection timed out");
/// let b = e.embed("connection timeout");
/// let c = e.embed("disk quota exceeded");
/// assert!(cosine(&a, &b) > cosine(&a, &c));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct HashedNgramEmbedder {
    dim: usize,
}

impl Default for HashedNgramEmbedder {
    fn default() -> Self {
        Self { dim: 256 }
    }
}

impl HashedNgramEmbedder {
    /// An embedder with `dim` buckets (at least 1).
    pub fn new(dim: usize) -> Self {
        Self { dim: dim.max(1) }
    }
}

impl Embedder for HashedNgramEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }
    fn embed(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0f32; self.dim];
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty() && w != &"<*>")
        {
            let padded: Vec<char> = std::iter::once('^')
                .chain(word.chars().flat_map(char::to_lowercase))
                .chain(std::iter::once('$'))
                .collect();
            for g in padded.windows(3.min(padded.len())) {
                let mut h = StableHasher::new();
                for c in g {
                    h.write(&u32::from(*c).to_le_bytes());
                }
                let x = h.finish();
                let bucket = (x % self.dim as u64) as usize;
                v[bucket] += if x >> 63 == 0 { 1.0 } else { -1.0 };
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }
}

/// Cosine similarity of two vectors (0 when either is zero or lengths differ).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

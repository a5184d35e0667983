//! Shared workloads for the benchmarks: a seeded PRNG, a Zipf sampler and precomputed key streams.
//!
//! Everything here is deterministic: the same seed gives the same stream on every machine, so
//! runs of different libraries (and different commits) see exactly the same keys.

/// The seed every benchmark stream starts from unless it says otherwise.
pub const DEFAULT_SEED: u64 = 0x5eed_cafe_f00d_d00d;

/// SplitMix64: a tiny, fast, seedable PRNG (Steele, Lea and Flood, 2014).
///
/// Good enough for workload generation; not for anything that needs cryptographic strength.
///
/// # Examples
///
/// ```
/// let mut a = benches::SplitMix64::new(7);
/// let mut b = benches::SplitMix64::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// Creates a generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// Returns the next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.state)
    }

    /// Returns a float uniform in `[0, 1)` with 53 random bits.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Returns an integer uniform in `[0, n)` (Lemire's multiply-shift; `n` must be non-zero).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// The SplitMix64 finalizer: a bijection on `u64` that spreads neighbouring inputs apart.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Maps a popularity rank to its key.
///
/// A fixed bijection, so ranks `0..n` give `n` distinct keys and hot keys land far apart in any
/// hash table or shard layout.
#[inline]
pub fn key_of_rank(rank: u64) -> u64 {
    mix64(rank ^ 0x0123_4567_89ab_cdef)
}

/// The value a read-through load produces for `key`; benchmarks check hits against it.
#[inline]
pub fn value_of_key(key: u64) -> u64 {
    key ^ 0xa5a5_a5a5_a5a5_a5a5
}

/// A Zipf sampler over ranks `0..n`: `P(rank = i) ∝ 1 / (i + 1)^s`.
///
/// Inverse CDF over an exact table of `n` cumulative probabilities, with a guide table that
/// jumps to the right neighbourhood, so a sample costs O(1) expected work.
///
/// # Examples
///
/// ```
/// use benches::{SplitMix64, Zipf, harmonic};
///
/// let zipf = Zipf::new(1000, 1.0);
/// let mut rng = SplitMix64::new(1);
/// let n = 200_000;
/// let top = (0..n).filter(|_| zipf.sample(&mut rng) == 0).count() as f64 / n as f64;
/// let expected = 1.0 / harmonic(1000, 1.0); // about 0.134
/// assert!((top - expected).abs() < 0.005, "rank 0 drawn {top}, expected {expected}");
/// assert!((zipf.probability(1) - expected / 2.0).abs() < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct Zipf {
    cdf: Vec<f64>,
    guide: Vec<u32>,
}

impl Zipf {
    /// Builds the tables for `n` ranks with exponent `s`; `n` is clamped to `1..=u32::MAX`.
    pub fn new(n: usize, s: f64) -> Self {
        let n = n.clamp(1, u32::MAX as usize);
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for i in 0..n {
            sum += 1.0 / ((i + 1) as f64).powf(s);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        if let Some(last) = cdf.last_mut() {
            *last = 1.0;
        }
        // guide[m] = first rank whose cdf reaches m / n_guide.
        let n_guide = n;
        let mut guide = Vec::with_capacity(n_guide);
        let mut rank = 0usize;
        for m in 0..n_guide {
            let u = m as f64 / n_guide as f64;
            while rank + 1 < n && cdf[rank] < u {
                rank += 1;
            }
            guide.push(rank as u32);
        }
        Self { cdf, guide }
    }

    /// The number of ranks.
    pub fn len(&self) -> usize {
        self.cdf.len()
    }

    /// Always false: a sampler has at least one rank.
    pub fn is_empty(&self) -> bool {
        self.cdf.is_empty()
    }

    /// The probability of `rank`.
    pub fn probability(&self, rank: usize) -> f64 {
        match rank {
            0 => self.cdf.first().copied().unwrap_or(0.0),
            r if r < self.cdf.len() => self.cdf[r] - self.cdf[r - 1],
            _ => 0.0,
        }
    }

    /// Draws one rank.
    #[inline]
    pub fn sample(&self, rng: &mut SplitMix64) -> usize {
        let u = rng.next_f64();
        let bucket = ((u * self.guide.len() as f64) as usize).min(self.guide.len() - 1);
        let mut rank = self.guide[bucket] as usize;
        let last = self.cdf.len() - 1;
        while rank < last && self.cdf[rank] <= u {
            rank += 1;
        }
        rank
    }
}

/// A precomputed stream of `len` keys whose ranks follow Zipf(`s`) over `universe` ranks.
pub fn zipf_key_stream(len: usize, universe: usize, s: f64, seed: u64) -> Vec<u64> {
    let zipf = Zipf::new(universe, s);
    let mut rng = SplitMix64::new(seed);
    (0..len)
        .map(|_| key_of_rank(zipf.sample(&mut rng) as u64))
        .collect()
}

/// A precomputed stream of `len` keys drawn uniformly from `keys` (which must be non-empty).
pub fn uniform_key_stream(len: usize, keys: &[u64], seed: u64) -> Vec<u64> {
    if keys.is_empty() {
        return Vec::new();
    }
    let mut rng = SplitMix64::new(seed);
    (0..len)
        .map(|_| keys[rng.below(keys.len() as u64) as usize])
        .collect()
}

/// The keys of ranks `0..n`.
pub fn keys_of_ranks(n: usize) -> Vec<u64> {
    (0..n as u64).map(key_of_rank).collect()
}

/// An endless sequence of string lengths uniform in `min..=max`.
#[derive(Debug, Clone)]
pub struct StringLengths {
    rng: SplitMix64,
    min: usize,
    span: u64,
}

impl StringLengths {
    /// Lengths uniform in `min..=max` (swapped if given the wrong way round).
    pub fn new(min: usize, max: usize, seed: u64) -> Self {
        let (min, max) = if min <= max { (min, max) } else { (max, min) };
        Self {
            rng: SplitMix64::new(seed),
            min,
            span: (max - min) as u64 + 1,
        }
    }
}

impl Iterator for StringLengths {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        Some(self.min + self.rng.below(self.span) as usize)
    }
}

/// A string of exactly `len` bytes (and capacity `len`), its content derived from `tag`.
pub fn make_string(len: usize, tag: u64) -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz012345";
    let mut bytes = Vec::with_capacity(len);
    let mut bits = mix64(tag);
    for i in 0..len {
        if i % 12 == 0 {
            bits = mix64(bits);
        }
        bytes.push(alphabet[(bits & 31) as usize]);
        bits >>= 5;
    }
    // Only ASCII bytes were pushed, so this never fails; the fallback keeps it unwrap-free.
    String::from_utf8(bytes).unwrap_or_default()
}

/// The harmonic number `H(n, s) = Σ_{i=1..n} 1 / i^s`.
pub fn harmonic(n: usize, s: f64) -> f64 {
    (1..=n).map(|i| 1.0 / (i as f64).powf(s)).sum()
}

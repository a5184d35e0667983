//! Integration tests of cache-core: concurrent stress, a model-based check of single-threaded
//! semantics, random operation sequences with panicking user code against a reference model
//! (`ops`), and thread schedules explored with shuttle (`shuttle`, with the `shuttle` feature).

#![allow(clippy::unwrap_used, reason = "tests fail loudly on purpose")]
mod model;
// Not in the shuttle build, which runs only `shuttle` (and compiles faster without it).
#[cfg(not(feature = "shuttle"))]
mod ops;
// Run alone: `cargo test -p cache-core --features shuttle --test it shuttle` (the other tests
// use real threads, which shuttle's primitives refuse).
#[cfg(feature = "shuttle")]
mod shuttle;
mod stress;

/// A small deterministic PRNG (splitmix64), so failures replay.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

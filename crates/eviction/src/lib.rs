//! Eviction policies behind [`cache_traits::EvictionPolicy`], trace readers and a simulator.
//!
//! Every policy works on slot ids, key hashes and weights, never on keys or values, so the same
//! code runs inside `cache-core` and in the trace simulator ([`sim`]), which reads the trace
//! formats in [`trace`].
//!
//! | policy | type | paper |
//! |---|---|---|
//! | clock-tinylfu (default) | [`ClockTinyLfu`] ([`DefaultPolicy`]) | W-TinyLFU (Einziger et al., ToS 2017) on CLOCK (Corbató, 1968), with an adaptive window: no list moves on hits |
//! | hybrid | [`Hybrid`] | W-TinyLFU with LRU segments and an adaptive window (Einziger et al., ToS 2017; Middleware 2018) |
//! | LRU | [`Lru`] | Mattson et al., 1970 |
//! | LFU with dynamic aging | [`Lfu`] | Arlitt et al., 2000 (LFU-DA) |
//! | S3-FIFO | [`S3Fifo`] | Yang et al., SOSP '23 |
//! | SIEVE | [`Sieve`] | Zhang et al., NSDI '24 |
//! | ARC | [`ArcPolicy`] | Megiddo and Modha, FAST '03 |
//!
//! Belady's offline optimum is [`sim::Belady`]. `docs/POLICIES.md` compares them on real traces.

mod arc;
mod clock_tinylfu;
mod ghost;
mod hash;
mod hybrid;
mod lfu;
mod list;
mod lru;
mod s3fifo;
mod sieve;
pub mod sim;
#[cfg(test)]
mod testing;
pub mod trace;

pub use arc::ArcPolicy;
pub use clock_tinylfu::ClockTinyLfu;
pub use hybrid::Hybrid;
pub use lfu::Lfu;
pub use lru::Lru;
pub use s3fifo::S3Fifo;
pub use sieve::Sieve;

/// The policy a cache should use unless it has a reason not to: [`ClockTinyLfu`].
///
/// It is within a point of the best published policy on 16 of the 17 rows of the trace suite
/// (scarab-recs: 1.3 short; [`Hybrid`] makes all 17), with a hit path that writes nothing for
/// recently used entries, one byte of state per slot and a sketch sized from the entries it
/// tracks: inside the cache it runs about as fast as a CLOCK cache, where [`Hybrid`]'s list
/// moves on every hit cost two thirds of the throughput.
///
/// # Examples
///
/// ```
/// use cache_traits::EvictionPolicy;
///
/// let policy = eviction::DefaultPolicy::default();
/// assert_eq!(policy.name(), "clock-tinylfu");
/// ```
pub type DefaultPolicy = ClockTinyLfu;

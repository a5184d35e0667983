//! Eviction policies behind [`cache_traits::EvictionPolicy`].
//!
//! Every policy works on slot ids, key hashes and weights, never on keys or values, so the same
//! code runs inside `cache-core` and in the trace simulator.

mod list;
mod lru;

pub use lru::Lru;

//! Eviction policies behind [`cache_traits::EvictionPolicy`], trace readers and a simulator.
//!
//! Every policy works on slot ids, key hashes and weights, never on keys or values, so the same
//! code runs inside `cache-core` and in the trace simulator ([`sim`]), which reads the trace
//! formats in [`trace`].

mod hash;
mod list;
mod lru;
pub mod sim;
pub mod trace;

pub use lru::Lru;

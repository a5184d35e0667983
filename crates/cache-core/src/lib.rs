//! The concurrent, sharded, byte-budgeted cache at the heart of query-cache.
//!
//! [`Cache`] is generic over its eviction policy (any [`cache_traits::EvictionPolicy`]; the
//! `eviction` crate has them) and is built with [`Cache::builder`]. It offers `get`, `insert`,
//! `remove`, `contains_key`, `invalidate_all`, `retain`, single-flight loads
//! ([`Cache::get_or_insert_with`], [`Cache::try_get_or_insert_with`]), time-to-live and
//! time-to-idle per cache and per entry, counters, an eviction listener, a run-time byte budget
//! ([`Cache::set_capacity`]), and the [`cache_traits::ManagedCache`] view for memory management.
//!
//! # Examples
//!
//! ```
//! use cache_core::Cache;
//! use eviction::Lru;
//!
//! let cache: Cache<u64, String, Lru> = Cache::builder().max_bytes(1 << 20).build().unwrap();
//! cache.insert(7, "seven".to_string());
//! assert_eq!(cache.get(&7).as_deref(), Some("seven"));
//! assert!(cache.weighted_size() >= cache.entry_overhead() + 5);
//! ```

mod builder;
mod cache;
mod load;
mod lock;
mod removals;
mod report;
mod shard;
mod slab;
mod sync;

pub use builder::{BuildError, CacheBuilder};
pub use cache::Cache;
pub use load::LoadError;

#[cfg(test)]
mod tests;

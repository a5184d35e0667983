//! Reclaiming memory: a background dropper for evicted values, and allocator purges.
//!
//! A cache that evicts a large value should not pay for freeing it inside `insert`, and the
//! memory it frees should go back to the operating system rather than sit in the allocator as
//! dirty pages for the ten seconds of jemalloc's default decay. [`Reclaimer`] does both:
//!
//! - it implements [`Reclaim`]: evicted items travel over a bounded queue to a background thread
//!   that drops them in batches (items lighter than 512 bytes by default, and any item when the
//!   queue is full, are dropped on the caller's thread; nothing is ever queued without bound or
//!   lost);
//! - after an eviction wave it runs jemalloc's `arena.4096.purge` (or `arena.4096.decay`, as
//!   [`wave_purge`](ReclaimerBuilder::wave_purge) says), and when [`Reclaim::release_memory`] is
//!   called `arena.4096.decay` (`arena.4096.purge` at [`PressureLevel::Critical`]),
//!   rate-limited on an injectable [`Clock`](cache_traits::Clock), and records resident bytes
//!   before and after each purge in [`ReclaimerStats`].
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `jemalloc` | on | purges and decay settings through jemalloc's `mallctl` (not on MSVC) |
//!
//! Without `jemalloc`, or when jemalloc is linked but is not the global allocator (its
//! `stats.allocated` does not move when the process allocates), purges are skipped and
//! [`ReclaimerStats::allocator`] says why.
//!
//! # Examples
//!
//! ```
//! use cache_traits::{PressureLevel, Reclaim};
//! use gc_coord::{PurgeKind, Reclaimer};
//! use std::sync::Arc;
//!
//! let reclaimer = Arc::new(
//!     Reclaimer::<(u64, Vec<u8>)>::builder()
//!         .purge_after_bytes(32 << 20)
//!         .wave_purge(PurgeKind::Decay)
//!         .build()?,
//! );
//! // Hand a clone to the cache as `Arc<dyn Reclaim<(u64, Vec<u8>)>>`.
//! let for_cache: Arc<dyn Reclaim<(u64, Vec<u8>)>> = reclaimer.clone();
//! for_cache.reclaim((1, vec![0; 1 << 20]), 1 << 20);
//! for_cache.release_memory(PressureLevel::High);
//! reclaimer.flush();
//! assert_eq!(reclaimer.stats().dropped(), 1);
//! # Ok::<(), gc_coord::BuildError>(())
//! ```

mod allocator;
mod config;
mod counters;
mod reclaimer;
mod report;
mod schedule;
mod stats;

#[doc(inline)]
pub use cache_traits::{PressureLevel, Reclaim};
pub use config::{BuildError, ReclaimerBuilder};
pub use reclaimer::Reclaimer;
pub use stats::{
    AllocatorSupport, PurgeKind, PurgeRecord, PurgeStats, PurgeTrigger, ReclaimerStats,
};

//! A profiler for one cache: latency by operation, entries, bytes, hits and churn by key
//! namespace, hot and heavy keys, and what loads really allocate against what the cache
//! charges for them.
//!
//! A [`Profiler`] is attached to a cache as its
//! [`CacheObserver`] and reports through
//! [`ReportSource`] (one section, `profile.<cache name>`) or as
//! data through [`Profiler::snapshot`].
//!
//! - **Sampling.** The cache counts reads and inserts down on a countdown per shard, under the
//!   shard's lock, and asks [`sample`](cache_traits::CacheObserver::sample) when it runs out; in the default
//!   [`Mode::Sampled`] `{ period: 256 }` about one read in 256 is reported and timed, and counts
//!   as 256 in the estimated hits and misses. [`Profiler::set_mode`] changes it at run time.
//! - **Namespaces.** A closure maps each key to a namespace (up to 64, then `"other"`);
//!   entries, bytes, evictions and churn per namespace are estimated from the entries the cache
//!   tracks (sampled inserts, and every heavy one, until they leave), hits and misses from
//!   sampled reads; all are exact in [`Mode::On`].
//! - **Keys.** Hot keys come from a space-saving table over sampled reads; heavy keys are the
//!   heaviest tracked entries with the sampled hits they earned since they were stored.
//! - **Allocations.** With a [`MemoryProbe`](cache_traits::MemoryProbe) that gives per-thread
//!   allocation counters, each load's net allocation is compared with what the cache charged
//!   (a weigher that under-counts is reported as `QC-PROFILE-WEIGHER-UNDERCOUNT`), and what
//!   dropping evicted values frees with what they were charged
//!   (`QC-PROFILE-EVICTION-RETAINED`).
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `backtraces` | off | one load in `backtrace_period` (64) captures a backtrace; loads and bytes are added up per call site (the first frame outside the cache, the profiler and std), table "Load call sites" |
//!
//! # Examples
//!
//! ```
//! use cache_traits::{CacheObserver, ManualClock, RemovalCause, ReportSource};
//! use profiler::{Mode, Profiler};
//! use std::sync::Arc;
//!
//! let clock = Arc::new(ManualClock::new());
//! let profiler = Profiler::<u64>::builder()
//!     .name("results")
//!     .namespace(|k| if k % 2 == 0 { "even" } else { "odd" })
//!     .mode(Mode::Sampled { period: 4 })
//!     .clock(clock.clone())
//!     .build()?;
//! for k in 0..10 {
//!     profiler.inserted(&k, 100, true);
//! }
//! profiler.removed(&3, 100, RemovalCause::Size);
//! clock.advance(std::time::Duration::from_secs(1));
//! let snap = profiler.snapshot();
//! let odd = snap.namespaces.iter().find(|n| n.name == "odd").unwrap();
//! assert_eq!((odd.entries, odd.bytes, odd.evictions), (4, 400, 1));
//! assert_eq!(odd.churn_in, 500.0);
//! assert_eq!(profiler.sections()[0].title, "Profile: results");
//! # Ok::<(), profiler::ProfilerError>(())
//! ```

mod config;
mod namespace;
mod profiler;
mod report;
mod snapshot;
mod topk;
mod tracked;

#[cfg(feature = "backtraces")]
mod callsite;
#[cfg(test)]
mod testing;

pub use crate::config::{Mode, ProfilerBuilder, ProfilerError};
pub use crate::profiler::Profiler;
pub use crate::snapshot::{
    HeavyKey, HotKey, HotspotKind, LoadSite, MemoryHotspot, NamespaceProfile, OpLatency,
    ProfileSnapshot,
};
#[doc(inline)]
pub use cache_traits::{CacheObserver, Operation, ReportSource};

//! query-cache: a memory-aware query cache for Rust.
//!
//! This facade wires the workspace's crates together behind one builder and re-exports a small,
//! curated API. Depend on it for the whole stack, or on the single crates to compose your own.
//!
//! | item | from | what it is |
//! |---|---|---|
//! | [`Cache`] | `cache-core` with [`DefaultPolicy`] | the concurrent byte-budgeted cache |
//! | [`CacheBuilder`], [`BuildError`], [`LoadError`] | `cache-core` | configuration and errors |
//! | [`DefaultPolicy`] | `eviction` | the policy that measured best on the trace suite |
//! | traits ([`EvictionPolicy`], [`Weigher`], [`HeapSize`], [`ManagedCache`], [`Clock`], …) | `cache-traits` | the boundary every crate codes against |
//! | [`Reclaimer`] (feature `gc-coord`) | `gc-coord` | drops evicted values on a background thread and returns freed pages to the OS |
//! | [`Probe`] (feature `memory-probe`) | `memory-probe` | jemalloc, process, cgroup and PSI memory figures |
//! | [`MemoryManager`] (feature `manager`) | here, with `pressure` and `sizing` | the background thread that keeps caches inside the memory limit |
//! | [`Profiler`] (feature `profiler`) | `profiler` | where one cache's time and memory go: latency, namespaces, hot and heavy keys, allocations |
//! | [`LeakDetector`] (feature `leak-detector`) | `leak-detector` | growth, spikes, retention and over-budget caches in the memory timeline |
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `full` | on | everything below |
//! | `gc-coord` | on (via `full`) | [`Reclaimer`], [`ReclaimerStats`], [`PurgeKind`] |
//! | `memory-probe` | on (via `full`) | [`Probe`], [`MemorySample`] readers |
//! | `manager` | on (via `full`) | [`MemoryManager`], [`pressure`] levels and [`sizing`] budgets |
//! | `reporter` | on (via `full`) | [`Reports`]: JSON, CSV, HTML, text and Prometheus reports with history; dashboards |
//! | `server` | on (via `full`) | the metrics endpoint in [`reporting`] (`/metrics`, `/report.json`, `/report.html`) |
//! | `profiler` | on (via `full`) | [`Profiler`] and the rest of [`profiling`]; attach one with `CacheBuilder::observer` |
//! | `leak-detector` | on (via `full`) | [`LeakDetector`] and the rest of [`leaks`]; with `manager`, fed on every tick ([`MemoryManagerBuilder::leak_detector`]) |
//!
//! # jemalloc
//!
//! The allocator figures and the page purges need jemalloc as the process's global allocator,
//! which only the application can choose:
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
//! ```
//!
//! Without it, [`Probe`] reports allocator figures as unknown (`None`) and falls back to the
//! resident set size, and [`Reclaimer`] still drops values off the hot path but skips purges,
//! saying so in its stats.
//!
//! # Examples
//!
//! ```
//! use query_cache::Cache;
//! use std::sync::Arc;
//!
//! // A cache of rendered pages with a 64 MiB budget in real heap bytes.
//! let pages: Cache<String, Arc<str>> = Cache::builder().max_bytes(64 << 20).build()?;
//! let page = pages
//!     .get_or_insert_with("/home".to_string(), || Arc::from("<html>…</html>"))
//!     .expect("no loader panicked");
//! assert_eq!(&*page, "<html>…</html>");
//! assert_eq!(pages.stats().misses, 1);
//! # Ok::<(), query_cache::BuildError>(())
//! ```

/// The eviction policy a [`Cache`] uses unless told otherwise.
pub type DefaultPolicy = eviction::DefaultPolicy;

/// The cache with the default policy and hasher. See [`cache_core::Cache`].
pub type Cache<K, V> = cache_core::Cache<K, V, DefaultPolicy>;

/// The builder of a [`Cache`]. See [`cache_core::CacheBuilder`].
pub type CacheBuilder<K, V> = cache_core::CacheBuilder<K, V, DefaultPolicy>;

#[doc(inline)]
pub use cache_core::{BuildError, LoadError};

#[doc(inline)]
pub use cache_traits::{
    CacheStats, Clock, EvictionPolicy, HeapSize, HeapWeigher, ManagedCache, ManualClock,
    RemovalCause, SystemClock, Weigher,
};

#[cfg(feature = "gc-coord")]
#[doc(inline)]
pub use gc_coord::{PurgeKind, Reclaimer, ReclaimerBuilder, ReclaimerStats};

#[cfg(feature = "memory-probe")]
#[doc(inline)]
pub use memory_probe::{Probe, ProbeBuilder};

#[doc(inline)]
pub use cache_traits::{
    CacheObserver, LimitSource, MemoryLimit, MemoryProbe, MemorySample, Operation, PressureLevel,
    Reclaim, ThreadAllocations, Utility,
};

#[cfg(feature = "manager")]
mod manager;

#[cfg(feature = "reporter")]
mod reports;

#[cfg(feature = "reporter")]
pub use reports::{Reports, Written, write_report};

#[cfg(feature = "reporter")]
#[doc(inline)]
pub use reporter::{History, HtmlOptions, Report, ReportKind};

#[doc(inline)]
pub use cache_traits::{Finding, Metric, ReportSource, Section, Severity};

/// Reports: renderers, history and (feature `server`) the metrics endpoint (the `reporter`
/// crate).
#[cfg(feature = "reporter")]
pub mod reporting {
    #[doc(inline)]
    pub use reporter::*;
}

#[cfg(feature = "manager")]
pub use manager::{
    CacheView, ManagerError, ManagerEvent, MemoryManager, MemoryManagerBuilder, MemoryView,
    Response, ResponseTrigger,
};

#[cfg(all(feature = "manager", feature = "leak-detector"))]
pub use manager::ProfileFigures;

#[cfg(feature = "manager")]
#[doc(inline)]
pub use sizing::{Bounds, SharedBudget};

#[cfg(feature = "profiler")]
#[doc(inline)]
pub use profiler::{Mode as ProfileMode, ProfileSnapshot, Profiler, ProfilerBuilder};

/// Cache profiles: latency histograms, namespaces, hot and heavy keys, allocations (the
/// `profiler` crate).
#[cfg(feature = "profiler")]
pub mod profiling {
    #[doc(inline)]
    pub use profiler::*;
}

#[cfg(feature = "leak-detector")]
#[doc(inline)]
pub use leak_detector::{Alert, AlertKind, LeakDetector};

/// Leak detection: the detector, its configuration, the CSV reader and the scenario suite (the
/// `leak-detector` crate).
#[cfg(feature = "leak-detector")]
pub mod leaks {
    #[doc(inline)]
    pub use leak_detector::*;
}

/// Pressure levels, thresholds and kernel notifications (the `pressure` crate).
#[cfg(feature = "manager")]
pub mod pressure {
    #[doc(inline)]
    pub use pressure::*;
}

/// Budgets from the memory limit, bounds and weights (the `sizing` crate).
#[cfg(feature = "manager")]
pub mod sizing {
    #[doc(inline)]
    pub use sizing::*;
}

/// Eviction policies, for caches that want another than [`DefaultPolicy`].
pub mod policies {
    #[doc(inline)]
    pub use eviction::*;
}

//! The trait boundary every query-cache crate depends on.
//!
//! Middle crates (`cache-core`, `eviction`, `memory-probe`, `gc-coord`, …) may not name each
//! other, so whatever two of them exchange is a trait or a small value type defined here:
//!
//! | item | implemented by | used by |
//! |---|---|---|
//! | [`EvictionPolicy`] | `eviction` | `cache-core`, the trace simulator |
//! | [`Weigher`], [`HeapSize`] | `cache-core`, users | `cache-core` |
//! | [`ManagedCache`] | `cache-core` | memory management, reports |
//! | [`Clock`] ([`SystemClock`], [`ManualClock`]) | here | everything time-based |
//! | [`Reclaim`] | `gc-coord` | `cache-core` |
//! | [`MemoryProbe`] → [`MemorySample`] → [`MemoryLimit`] | `memory-probe` | pressure, sizing, reports |
//! | [`PressureLevel`] | `pressure` | sizing, `gc-coord`, the facade's manager |
//! | [`Utility`] (through [`ManagedCache::utility`]) | caches, later the advisor | sizing |
//! | [`CacheObserver`] ([`ThreadAllocations`] through [`MemoryProbe::thread_allocations`]) | `profiler` | `cache-core` |
//! | [`ReportSource`] → [`Section`] ([`Metric`], [`Table`], [`TimeSeries`], [`Event`], [`Finding`]) | every component with something to tell | `reporter` |
//!
//! New trait methods get default bodies; public enums and config-like structs are
//! `#[non_exhaustive]`, so this crate can grow without breaking its implementors.

mod clock;
mod managed;
mod memory;
mod observe;
mod policy;
mod reclaim;
mod report;
mod stats;
mod weigh;

pub use clock::{Clock, ManualClock, SystemClock};
pub use managed::{ManagedCache, Utility};
pub use memory::{
    AllocatorStats, CgroupEvents, CgroupMemory, LimitSource, MemoryLimit, MemoryProbe,
    MemorySample, Psi, PsiLine,
};
pub use observe::{CacheObserver, Operation, Sample, ThreadAllocations};
pub use policy::EvictionPolicy;
pub use reclaim::{PressureLevel, Reclaim};
pub use report::{
    Cell, Event, Finding, Metric, MetricKind, ReportSource, Section, Severity, Table, TimeSeries,
    Unit,
};
pub use stats::{CacheStats, RemovalCause};
pub use weigh::{HeapSize, HeapWeigher, Weigher, alloc_size};

//! Cheap, honest memory figures: jemalloc, process, system, cgroup and PSI behind
//! [`MemoryProbe`](cache_traits::MemoryProbe).
//!
//! [`Probe`] opens the kernel files it needs once and re-reads them with `pread`; it resolves
//! jemalloc's MIBs once and advances the epoch once per sample. A figure the platform cannot
//! give is `None`, never a made-up zero: in particular allocator figures are `None` unless
//! jemalloc is the global allocator ([`jemalloc_is_global`]). [`Probe`]'s docs have a table of
//! where each figure comes from, on cgroup v1 and v2.
//! [`ThreadAllocations`] and [`AllocationScope`] measure what one thread allocates, for example
//! the net bytes a cache loader produced.
//!
//! The parsers are pure functions in [`parse`], usable on fixture text.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `jemalloc` | yes | allocator figures and per-thread counters through tikv-jemalloc-ctl (not on MSVC) |
//! | `sysinfo` | yes | process and host memory through sysinfo where `/proc` is absent |
//!
//! # Examples
//!
//! ```
//! use cache_traits::MemoryProbe;
//! let probe = memory_probe::Probe::new();
//! let s = probe.sample();
//! println!("rss {:?}, limit {:?}, allocated {:?}", s.process_rss, s.limit(), s.allocator.allocated);
//! ```

mod error;
mod heap_profile;
mod jemalloc;
pub mod parse;
mod probe;

pub use error::{BuildError, ParseError};
pub use heap_profile::{HeapProfileError, dump_heap_profile};
pub use jemalloc::{AllocationScope, ThreadAllocations, jemalloc_is_global};
pub use probe::cgroup::CgroupVersion;
pub use probe::{Probe, ProbeBuilder};

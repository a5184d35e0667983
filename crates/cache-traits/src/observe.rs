//! What a cache tells an observer (a profiler) about each operation, and the allocator's
//! per-thread counters an observer compares it with.

use crate::RemovalCause;

/// An operation whose latency a cache measured.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// A read that found a live entry.
    GetHit,
    /// A read that found nothing (or only an expired entry).
    GetMiss,
    /// An insert, from hashing and weighing the entry to its shard lock's release.
    Insert,
    /// A loader's run (`get_or_insert_with` and friends), the value's computation only; reported
    /// through [`CacheObserver::loaded`].
    Load,
}

impl Operation {
    /// Every operation, in declaration order.
    pub const ALL: &'static [Operation] = &[
        Operation::GetHit,
        Operation::GetMiss,
        Operation::Insert,
        Operation::Load,
    ];

    /// `get_hit`, `get_miss`, `insert` or `load`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::GetHit => "get_hit",
            Operation::GetMiss => "get_miss",
            Operation::Insert => "insert",
            Operation::Load => "load",
        }
    }
}

/// Receives a cache's operations as they happen: reads, inserts, loads and removals.
///
/// A cache keeps, for each shard, a countdown of the reads and inserts on it (from every
/// thread); when it runs out the cache asks [`sample`](Self::sample) whether to report the
/// operation under way and how many to let pass before asking again. Only a sampled read is
/// reported ([`read`](Self::read), and its [`latency`](Self::latency), timed from the moment
/// its shard is locked), so the other reads cost a decrement under a lock they take anyway.
///
/// Inserts are reported when sampled, and always for an entry weighing at least 1/64 of its
/// shard's budget ([`inserted`](Self::inserted) says which). A reported entry is *tracked*: its
/// removal is reported too ([`removed`](Self::removed)), whatever the cause, so the tracked
/// entries are a live sample of the cache from which an observer can estimate entries and bytes
/// per key group. Every load is reported ([`loaded`](Self::loaded)).
///
/// # Implementing
///
/// Every method has a default that does nothing. They run on the caller's thread and may run
/// concurrently from many threads: keep them short and never call the cache back. Three run
/// under the shard's lock, one operation in what `sample` lets pass: [`sample`](Self::sample)
/// itself, [`read`](Self::read) of a hit (the stored key is only borrowed there) and
/// [`inserted`](Self::inserted) of a sampled insert (told before the entry is stored); so does
/// [`removed`](Self::removed) of the entries still tracked when the cache is dropped. The
/// others run outside the cache's locks. A method that panics does not corrupt the
/// cache: the panic reaches the caller of the operation that reported it, as a panicking
/// eviction listener's does.
///
/// # Examples
///
/// ```
/// use cache_traits::CacheObserver;
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// use cache_traits::Sample;
///
/// /// Reports one read in four.
/// #[derive(Default)]
/// struct EveryFourth { sampled_hits: AtomicU64 }
/// impl CacheObserver<u64> for EveryFourth {
///     fn sample(&self) -> Sample { Sample::new(true, 3) }
///     fn read(&self, _key: Option<&u64>, hit: bool) {
///         if hit { self.sampled_hits.fetch_add(1, Ordering::Relaxed); }
///     }
/// }
/// // What a cache does on each read:
/// let (o, mut countdown) = (EveryFourth::default(), 0);
/// for k in 0..8 {
///     if countdown > 0 {
///         countdown -= 1;
///     } else {
///         let s = o.sample();
///         countdown = s.skip;
///         if s.report { o.read(Some(&k), true) }
///     }
/// }
/// assert_eq!(o.sampled_hits.load(Ordering::Relaxed), 2);
/// ```
pub trait CacheObserver<K: ?Sized>: Send + Sync {
    /// Whether to report (and time) the read or insert under way, and how many of the reads
    /// and inserts on its shard to let pass before asking again. Never sampling by default
    /// (asked again every 65,536 operations).
    fn sample(&self) -> Sample {
        Sample::NEVER
    }

    /// A sampled read: whether it hit, and the key where the cache has one. A hit passes the
    /// stored key (under the shard's lock); a miss of a lookup by a borrowed form of the key
    /// (`get(&str)` on a `String`-keyed cache) has no key to pass and gives `None`.
    fn read(&self, key: Option<&K>, hit: bool) {
        let _ = (key, hit);
    }

    /// The latency of a sampled read or insert in nanoseconds, from the cache's clock (a load's
    /// comes with [`loaded`](Self::loaded)).
    fn latency(&self, op: Operation, nanos: u64) {
        let _ = (op, nanos);
    }

    /// `key` is being stored, charged `weight` bytes, and is tracked from now on: a sampled
    /// insert or stored load (`always` false: one in what [`sample`](Self::sample) asked for), or
    /// one of an entry weighing at least 1/64 of its shard's budget (`always` true: every such
    /// entry is reported). A tracked value replaced is reported as removed with
    /// [`RemovalCause::Replaced`], an entry too heavy to keep as removed with
    /// [`RemovalCause::Size`].
    fn inserted(&self, key: &K, weight: u64, always: bool) {
        let _ = (key, weight, always);
    }

    /// A loader is about to run on this thread; the value returned comes back to
    /// [`loaded`](Self::loaded) (for example the thread's allocation counters, to measure what
    /// the loader allocated).
    fn load_started(&self) -> u64 {
        0
    }

    /// A loader for `key` ran for `nanos`; `weight` is what the cache charges for its value, or
    /// `None` when it failed. `started` is what [`load_started`](Self::load_started) returned on
    /// this thread.
    fn loaded(&self, key: &K, weight: Option<u64>, nanos: u64, started: u64) {
        let _ = (key, weight, nanos, started);
    }

    /// A tracked entry of `key` (one reported to [`inserted`](Self::inserted)), charged
    /// `weight` bytes, left the cache for `cause`. The value is about to be dropped on this
    /// thread or handed to a reclaimer; a value returned other than 0 comes back to
    /// [`dropped`](Self::dropped) when the cache drops it itself.
    fn removed(&self, key: &K, weight: u64, cause: RemovalCause) -> u64 {
        let _ = (key, weight, cause);
        0
    }

    /// The entry reported by [`removed`](Self::removed) (which returned `started`, not 0) was
    /// just dropped on this thread; `heap` is what the cache charged for its key and value,
    /// its own per-entry overhead (which stays with the cache) left out. Not called when
    /// `removed` returned 0, nor for values handed to a reclaimer, which drops them elsewhere.
    fn dropped(&self, heap: u64, started: u64) {
        let _ = (heap, started);
    }
}

/// An observer's answer to [`CacheObserver::sample`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Report (and time) the operation under way.
    pub report: bool,
    /// Reads and inserts on the shard to let pass before asking again.
    pub skip: u32,
}

impl Sample {
    /// Nothing reported; asked again after 65,536 operations (so a change of mode takes effect).
    pub const NEVER: Sample = Sample {
        report: false,
        skip: 1 << 16,
    };

    /// Report this operation or not, then let `skip` pass.
    pub const fn new(report: bool, skip: u32) -> Self {
        Self { report, skip }
    }
}

/// Cumulative bytes the calling thread has allocated and freed, from the allocator's
/// per-thread counters (jemalloc's `thread.allocated` and `thread.deallocated`).
///
/// Only differences between two readings on the same thread mean anything: the net bytes an
/// operation allocated are `Δallocated − Δdeallocated`.
///
/// # Examples
///
/// ```
/// use cache_traits::ThreadAllocations;
/// let before = ThreadAllocations::new(1000, 400);
/// let after = ThreadAllocations::new(5096, 500);
/// assert_eq!(after.net_since(before), 3996);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadAllocations {
    /// Bytes allocated by this thread since it started.
    pub allocated: u64,
    /// Bytes freed by this thread since it started.
    pub deallocated: u64,
}

impl ThreadAllocations {
    /// A reading of `allocated` and `deallocated` bytes.
    pub fn new(allocated: u64, deallocated: u64) -> Self {
        Self {
            allocated,
            deallocated,
        }
    }

    /// Net bytes allocated between `earlier` and this reading (negative when more was freed).
    pub fn net_since(self, earlier: ThreadAllocations) -> i64 {
        let allocated = self.allocated.wrapping_sub(earlier.allocated) as i64;
        let freed = self.deallocated.wrapping_sub(earlier.deallocated) as i64;
        allocated.wrapping_sub(freed)
    }

    /// Bytes freed between `earlier` and this reading.
    pub fn freed_since(self, earlier: ThreadAllocations) -> u64 {
        self.deallocated.wrapping_sub(earlier.deallocated)
    }
}

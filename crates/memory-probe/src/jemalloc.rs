//! jemalloc figures: global stats through cached MIBs, and this thread's allocation counters.
//!
//! Everything here reports `None` unless jemalloc is this process's global allocator: a linked
//! but unused jemalloc reports near-zero stats, which would be worse than no figure.

use cache_traits::AllocatorStats;

#[cfg(test)]
mod tests;

#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
mod imp {
    use std::cell::Cell;
    use std::fmt;
    use std::hint::black_box;
    use std::sync::OnceLock;

    use cache_traits::AllocatorStats;
    use tikv_jemalloc_ctl::{epoch, epoch_mib, stats, thread};

    /// Bytes the detection allocates; large enough to be its own jemalloc extent.
    const PROBE_BYTES: usize = 64 << 10;

    /// Whether jemalloc serves this process's allocations (detected once).
    pub(crate) fn is_global() -> bool {
        static GLOBAL: OnceLock<bool> = OnceLock::new();
        *GLOBAL.get_or_init(detect)
    }

    /// Allocates a probe buffer through the global allocator and checks that jemalloc's
    /// per-thread counter saw it.
    fn detect() -> bool {
        let Ok(Ok(counter)) = thread::allocatedp::mib().map(|mib| mib.read()) else {
            return false;
        };
        let before = counter.get();
        let buf: Vec<u8> = Vec::with_capacity(PROBE_BYTES);
        black_box(buf.as_ptr());
        let after = counter.get();
        drop(buf);
        after.wrapping_sub(before) >= PROBE_BYTES as u64
    }

    /// Cached MIBs for the global stats.
    #[derive(Clone, Copy)]
    pub(crate) struct Stats {
        epoch: epoch_mib,
        allocated: stats::allocated_mib,
        active: stats::active_mib,
        metadata: stats::metadata_mib,
        resident: stats::resident_mib,
        mapped: stats::mapped_mib,
        retained: stats::retained_mib,
    }

    impl fmt::Debug for Stats {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("jemalloc::Stats")
        }
    }

    impl Stats {
        /// Resolves the MIBs; `None` when jemalloc is not the global allocator.
        pub(crate) fn new() -> Option<Self> {
            if !is_global() {
                return None;
            }
            Some(Self {
                epoch: epoch::mib().ok()?,
                allocated: stats::allocated::mib().ok()?,
                active: stats::active::mib().ok()?,
                metadata: stats::metadata::mib().ok()?,
                resident: stats::resident::mib().ok()?,
                mapped: stats::mapped::mib().ok()?,
                retained: stats::retained::mib().ok()?,
            })
        }

        /// Advances the epoch once and reads every figure.
        pub(crate) fn read(&self) -> AllocatorStats {
            let mut s = AllocatorStats::default();
            if self.epoch.advance().is_err() {
                return s;
            }
            let bytes = |r: tikv_jemalloc_ctl::Result<usize>| r.ok().map(|v| v as u64);
            s.allocated = bytes(self.allocated.read());
            s.active = bytes(self.active.read());
            s.metadata = bytes(self.metadata.read());
            s.resident = bytes(self.resident.read());
            s.mapped = bytes(self.mapped.read());
            s.retained = bytes(self.retained.read());
            s
        }
    }

    /// Pointers to this thread's `thread.allocated` / `thread.deallocated` counters.
    #[derive(Clone, Copy)]
    pub(crate) struct Counters {
        allocated: thread::ThreadLocal<u64>,
        deallocated: thread::ThreadLocal<u64>,
    }

    thread_local! {
        static COUNTERS: Cell<Option<Option<Counters>>> = const { Cell::new(None) };
    }

    impl Counters {
        /// This thread's counters, looked up once per thread.
        pub(crate) fn current() -> Option<Self> {
            COUNTERS
                .try_with(|cell| {
                    if let Some(known) = cell.get() {
                        return known;
                    }
                    let found = Self::lookup();
                    cell.set(Some(found));
                    found
                })
                .ok()
                .flatten()
        }

        fn lookup() -> Option<Self> {
            if !is_global() {
                return None;
            }
            Some(Self {
                allocated: thread::allocatedp::mib().ok()?.read().ok()?,
                deallocated: thread::deallocatedp::mib().ok()?.read().ok()?,
            })
        }

        pub(crate) fn allocated(self) -> u64 {
            self.allocated.get()
        }

        pub(crate) fn deallocated(self) -> u64 {
            self.deallocated.get()
        }
    }
}

#[cfg(not(all(feature = "jemalloc", not(target_env = "msvc"))))]
mod imp {
    //! Without jemalloc: nothing to report.

    use std::marker::PhantomData;

    use cache_traits::AllocatorStats;

    pub(crate) fn is_global() -> bool {
        false
    }

    #[derive(Clone, Copy, Debug)]
    pub(crate) enum Stats {}

    impl Stats {
        pub(crate) fn new() -> Option<Self> {
            None
        }

        pub(crate) fn read(&self) -> AllocatorStats {
            match *self {}
        }
    }

    #[derive(Clone, Copy)]
    pub(crate) struct Counters {
        never: std::convert::Infallible,
        _not_send: PhantomData<*const u64>,
    }

    impl Counters {
        pub(crate) fn current() -> Option<Self> {
            None
        }

        pub(crate) fn allocated(self) -> u64 {
            match self.never {}
        }

        pub(crate) fn deallocated(self) -> u64 {
            match self.never {}
        }
    }
}

pub(crate) use imp::Stats;

/// Whether jemalloc is this process's global allocator, so that allocator figures mean something.
///
/// Detected once per process: a probe buffer is allocated and jemalloc's per-thread counter
/// must see it. Always `false` without the `jemalloc` feature.
///
/// # Examples
///
/// ```
/// // Doctests use the system allocator.
/// assert!(!memory_probe::jemalloc_is_global());
/// ```
pub fn jemalloc_is_global() -> bool {
    imp::is_global()
}

/// Reads the allocator figures now (advancing jemalloc's epoch), or all `None`.
pub(crate) fn read(stats: Option<&Stats>) -> AllocatorStats {
    stats.map(Stats::read).unwrap_or_default()
}

/// This thread's cumulative jemalloc counters (`thread.allocated`, `thread.deallocated`).
///
/// Reading them costs about a nanosecond (a load through a pointer jemalloc hands out once per
/// thread). The value is tied to its thread: it is neither `Send` nor `Sync`.
///
/// # Examples
///
/// ```
/// use memory_probe::ThreadAllocations;
/// // `None` here: doctests do not use jemalloc as the global allocator.
/// if let Some(t) = ThreadAllocations::current() {
///     let before = t.allocated();
///     let v = vec![0u8; 1 << 20];
///     assert!(t.allocated() - before >= 1 << 20);
///     drop(v);
/// }
/// ```
#[derive(Clone, Copy)]
pub struct ThreadAllocations {
    counters: imp::Counters,
}

impl std::fmt::Debug for ThreadAllocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadAllocations")
            .field("allocated", &self.allocated())
            .field("deallocated", &self.deallocated())
            .finish()
    }
}

impl ThreadAllocations {
    /// The calling thread's counters; `None` when jemalloc is not the global allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(memory_probe::ThreadAllocations::current().is_none()); // system allocator here
    /// ```
    pub fn current() -> Option<Self> {
        imp::Counters::current().map(|counters| Self { counters })
    }

    /// Bytes this thread has allocated since it started.
    ///
    /// # Examples
    ///
    /// ```
    /// if let Some(t) = memory_probe::ThreadAllocations::current() {
    ///     println!("{} bytes allocated so far", t.allocated());
    /// }
    /// ```
    pub fn allocated(&self) -> u64 {
        self.counters.allocated()
    }

    /// Bytes this thread has freed since it started (including memory other threads allocated).
    ///
    /// # Examples
    ///
    /// ```
    /// if let Some(t) = memory_probe::ThreadAllocations::current() {
    ///     println!("{} bytes freed so far", t.deallocated());
    /// }
    /// ```
    pub fn deallocated(&self) -> u64 {
        self.counters.deallocated()
    }

    /// Runs `f` and returns its result with the net bytes it allocated on this thread
    /// (`None` without jemalloc).
    ///
    /// # Examples
    ///
    /// ```
    /// let (v, net) = memory_probe::ThreadAllocations::measure(|| vec![1u8; 4096]);
    /// assert_eq!(v.len(), 4096);
    /// assert_eq!(net, None); // system allocator here; with jemalloc, Some(4096)
    /// ```
    pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Option<i64>) {
        let scope = AllocationScope::start();
        let result = f();
        (result, scope.map(|s| s.net_bytes()))
    }
}

/// A measurement of what this thread allocates and frees from [`start`](Self::start) on,
/// for example while a cache loader computes a value.
///
/// Starting one and reading it cost a few nanoseconds (no system call). Only this thread's
/// allocations count, so a scope stays on its thread: it is neither `Send` nor `Sync`.
///
/// # Examples
///
/// ```
/// use memory_probe::AllocationScope;
/// if let Some(scope) = AllocationScope::start() {
///     let kept = vec![0u8; 10_000];
///     assert!(scope.net_bytes() >= 10_000);
///     drop(kept);
/// }
/// ```
///
/// A scope cannot move to another thread:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(memory_probe::AllocationScope::start());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AllocationScope {
    thread: ThreadAllocations,
    allocated_at_start: u64,
    deallocated_at_start: u64,
}

impl AllocationScope {
    /// Starts measuring on the calling thread; `None` when jemalloc is not the global allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(memory_probe::AllocationScope::start().is_none()); // system allocator here
    /// ```
    pub fn start() -> Option<Self> {
        let thread = ThreadAllocations::current()?;
        Some(Self {
            thread,
            allocated_at_start: thread.allocated(),
            deallocated_at_start: thread.deallocated(),
        })
    }

    /// Bytes this thread allocated since the start.
    ///
    /// # Examples
    ///
    /// ```
    /// if let Some(scope) = memory_probe::AllocationScope::start() {
    ///     let _v = vec![0u8; 100];
    ///     assert!(scope.allocated_bytes() >= 100);
    /// }
    /// ```
    pub fn allocated_bytes(&self) -> u64 {
        self.thread
            .allocated()
            .wrapping_sub(self.allocated_at_start)
    }

    /// Bytes this thread freed since the start.
    ///
    /// # Examples
    ///
    /// ```
    /// if let Some(scope) = memory_probe::AllocationScope::start() {
    ///     drop(vec![0u8; 100]);
    ///     assert!(scope.deallocated_bytes() >= 100);
    /// }
    /// ```
    pub fn deallocated_bytes(&self) -> u64 {
        self.thread
            .deallocated()
            .wrapping_sub(self.deallocated_at_start)
    }

    /// Net bytes since the start: allocated minus freed (negative when more was freed).
    ///
    /// # Examples
    ///
    /// ```
    /// if let Some(scope) = memory_probe::AllocationScope::start() {
    ///     let kept = vec![0u8; 100];
    ///     drop(vec![0u8; 50]);
    ///     assert!(scope.net_bytes() >= 100);
    ///     drop(kept);
    /// }
    /// ```
    pub fn net_bytes(&self) -> i64 {
        (self.allocated_bytes() as i64).wrapping_sub(self.deallocated_bytes() as i64)
    }
}

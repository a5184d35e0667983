//! What a memory probe reports: one timestamped sample in which every figure may be unknown.

/// Allocator figures, as jemalloc reports them (bytes).
///
/// Every figure is `None` where the allocator cannot report it (jemalloc is not the global
/// allocator, or the platform lacks it).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocatorStats {
    /// Bytes handed to the application (`stats.allocated`).
    pub allocated: Option<u64>,
    /// Bytes in pages that hold live allocations (`stats.active`).
    pub active: Option<u64>,
    /// Allocator bookkeeping (`stats.metadata`).
    pub metadata: Option<u64>,
    /// Bytes in physically resident pages the allocator maps, dirty ones included (`stats.resident`).
    pub resident: Option<u64>,
    /// Bytes in active extents (`stats.mapped`).
    pub mapped: Option<u64>,
    /// Bytes in virtual memory kept for reuse, not returned to the OS (`stats.retained`).
    pub retained: Option<u64>,
}

impl AllocatorStats {
    /// Freed but not yet returned pages: `resident − active − metadata`.
    pub fn dirty(&self) -> Option<u64> {
        Some(self.resident?.saturating_sub(self.active? + self.metadata?))
    }

    /// Bytes lost to fragmentation inside active pages: `active − allocated`.
    pub fn fragmentation(&self) -> Option<u64> {
        Some(self.active?.saturating_sub(self.allocated?))
    }
}

/// Counters from cgroup v2 `memory.events`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CgroupEvents {
    /// Times usage went over `memory.high` and the group was throttled.
    pub high: u64,
    /// Times usage hit `memory.max`.
    pub max: u64,
    /// Times the OOM killer was invoked for the group.
    pub oom: u64,
    /// Processes the OOM killer killed in the group.
    pub oom_kill: u64,
}

/// The container's memory controller (cgroup v2, or v1 where v2 is absent).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CgroupMemory {
    /// Hard limit (`memory.max`); `None` when unlimited or unknown.
    pub max: Option<u64>,
    /// Throttling threshold (`memory.high`); `None` when unlimited or unknown.
    pub high: Option<u64>,
    /// Current usage (`memory.current`).
    pub current: Option<u64>,
    /// Event counters (`memory.events`).
    pub events: Option<CgroupEvents>,
}

/// One line of a pressure-stall file: the share of time tasks stalled on memory.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PsiLine {
    /// Percent of the last 10 seconds.
    pub avg10: f64,
    /// Percent of the last 60 seconds.
    pub avg60: f64,
    /// Percent of the last 300 seconds.
    pub avg300: f64,
    /// Total stall time in microseconds.
    pub total_us: u64,
}

/// Memory pressure-stall information (`/proc/pressure/memory` or a cgroup's `memory.pressure`).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Psi {
    /// Some tasks stalled.
    pub some: PsiLine,
    /// All non-idle tasks stalled at once; absent on older kernels.
    pub full: Option<PsiLine>,
}

/// One reading of the process's, the system's and the container's memory.
///
/// Every figure is an `Option`: no platform has every source, and an unknown figure is
/// reported as unknown rather than as zero.
///
/// # Examples
///
/// ```
/// use cache_traits::MemorySample;
/// let mut s = MemorySample::default();
/// s.system_total = Some(8 << 30);
/// s.cgroup.high = Some(2 << 30);
/// assert_eq!(s.limit(), Some(2 << 30));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MemorySample {
    /// When the sample was taken, in milliseconds since the Unix epoch.
    pub unix_millis: u64,
    /// Allocator figures.
    pub allocator: AllocatorStats,
    /// Resident set size of this process.
    pub process_rss: Option<u64>,
    /// Physical memory of the host.
    pub system_total: Option<u64>,
    /// Memory the host could hand out without swapping.
    pub system_available: Option<u64>,
    /// The container's memory controller.
    pub cgroup: CgroupMemory,
    /// Memory pressure stall information.
    pub psi: Option<Psi>,
}

impl MemorySample {
    /// The effective memory limit: the least of host memory, `memory.max` and `memory.high`.
    pub fn limit(&self) -> Option<u64> {
        [self.system_total, self.cgroup.max, self.cgroup.high]
            .into_iter()
            .flatten()
            .min()
    }
}

/// A source of [`MemorySample`]s.
///
/// # Implementing
///
/// `sample` is called on a management tick (about once a second), never on a cache's hit path;
/// it should still be cheap (tens of microseconds): keep files open, cache allocator lookups.
/// A figure that cannot be read is `None`; `sample` never panics.
///
/// # Examples
///
/// ```
/// use cache_traits::{MemoryProbe, MemorySample};
/// struct Fixed;
/// impl MemoryProbe for Fixed {
///     fn sample(&self) -> MemorySample {
///         let mut s = MemorySample::default();
///         s.process_rss = Some(42);
///         s
///     }
/// }
/// let probe: &dyn MemoryProbe = &Fixed;
/// assert_eq!(probe.sample().process_rss, Some(42));
/// ```
pub trait MemoryProbe: Send + Sync {
    /// Takes a sample now.
    fn sample(&self) -> MemorySample;
}

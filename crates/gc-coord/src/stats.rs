//! What a reclaimer reports: drop counters, the allocator it talks to, and its purge history.

use std::fmt;
use std::time::Duration;

use cache_traits::PressureLevel;

/// Whether purges reach an allocator that actually holds the process's memory.
///
/// # Examples
///
/// ```
/// use gc_coord::AllocatorSupport;
///
/// assert_eq!(AllocatorSupport::Unsupported.to_string(), "unsupported");
/// assert!(AllocatorSupport::Jemalloc.purges_work());
/// assert!(!AllocatorSupport::JemallocNotGlobal.purges_work());
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AllocatorSupport {
    /// jemalloc is the global allocator: purges return its dirty pages to the system.
    Jemalloc,
    /// jemalloc is linked but is not the global allocator (its `stats.allocated` did not move
    /// when the process allocated): purging it would return nothing, so purges are skipped.
    JemallocNotGlobal,
    /// Built without the `jemalloc` feature (or for a target jemalloc does not support):
    /// purges are no-ops.
    #[default]
    Unsupported,
}

impl AllocatorSupport {
    /// Whether a purge can return memory to the operating system.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gc_coord::AllocatorSupport::Jemalloc.purges_work());
    /// ```
    pub fn purges_work(self) -> bool {
        self == AllocatorSupport::Jemalloc
    }
}

impl fmt::Display for AllocatorSupport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AllocatorSupport::Jemalloc => "jemalloc",
            AllocatorSupport::JemallocNotGlobal => "jemalloc linked but not the global allocator",
            AllocatorSupport::Unsupported => "unsupported",
        })
    }
}

/// How hard a purge asks the allocator to give memory back.
///
/// # Examples
///
/// ```
/// use gc_coord::PurgeKind;
///
/// assert!(PurgeKind::Purge > PurgeKind::Decay);
/// assert_eq!(PurgeKind::Decay.mallctl_name(), "arena.4096.decay");
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PurgeKind {
    /// `arena.<all>.decay`: return the dirty pages whose decay time has passed (gentle; with a
    /// short `dirty_decay_ms` this returns nearly everything).
    #[default]
    Decay,
    /// `arena.<all>.purge`: return every unused dirty page now.
    Purge,
}

impl PurgeKind {
    /// The jemalloc control this kind calls, for all arenas at once (`MALLCTL_ARENAS_ALL` = 4096).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gc_coord::PurgeKind::Purge.mallctl_name(), "arena.4096.purge");
    /// ```
    pub fn mallctl_name(self) -> &'static str {
        match self {
            PurgeKind::Decay => "arena.4096.decay",
            PurgeKind::Purge => "arena.4096.purge",
        }
    }

    /// The kind a pressure level asks for: [`Purge`](Self::Purge) at
    /// [`PressureLevel::Critical`], [`Decay`](Self::Decay) below (the decay already returns
    /// what has aged past the decay time, without the cost of emptying every arena).
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::PressureLevel;
    /// use gc_coord::PurgeKind;
    ///
    /// assert_eq!(PurgeKind::for_level(PressureLevel::High), PurgeKind::Decay);
    /// assert_eq!(PurgeKind::for_level(PressureLevel::Critical), PurgeKind::Purge);
    /// ```
    pub fn for_level(level: PressureLevel) -> Self {
        if level >= PressureLevel::Critical {
            PurgeKind::Purge
        } else {
            PurgeKind::Decay
        }
    }
}

impl fmt::Display for PurgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PurgeKind::Decay => "decay",
            PurgeKind::Purge => "purge",
        })
    }
}

/// Why a purge ran.
///
/// # Examples
///
/// ```
/// use gc_coord::PurgeTrigger;
///
/// let t = PurgeTrigger::EvictionWave { freed_bytes: 1 << 20 };
/// assert_eq!(t.to_string(), "eviction wave of 1048576 bytes");
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PurgeTrigger {
    /// Evicted items weighing at least the configured threshold were dropped since the last purge.
    EvictionWave {
        /// Total weight of the items dropped since the previous purge.
        freed_bytes: u64,
    },
    /// [`Reclaim::release_memory`](cache_traits::Reclaim::release_memory) asked for it.
    Pressure(PressureLevel),
}

impl fmt::Display for PurgeTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PurgeTrigger::EvictionWave { freed_bytes } => {
                write!(f, "eviction wave of {freed_bytes} bytes")
            }
            PurgeTrigger::Pressure(level) => write!(f, "{level} memory pressure"),
        }
    }
}

/// One purge: what ran, why, how long it took and what it did to resident memory.
///
/// # Examples
///
/// ```
/// use gc_coord::{PurgeKind, PurgeRecord, PurgeTrigger};
/// use std::time::Duration;
///
/// let r = PurgeRecord {
///     kind: PurgeKind::Purge,
///     trigger: PurgeTrigger::EvictionWave { freed_bytes: 100 },
///     at_nanos: 0,
///     duration: Duration::from_micros(50),
///     resident_before: Some(300),
///     resident_after: Some(100),
///     error: None,
/// };
/// assert_eq!(r.returned_bytes(), Some(200));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurgeRecord {
    /// Which control ran.
    pub kind: PurgeKind,
    /// Why it ran.
    pub trigger: PurgeTrigger,
    /// When it started, on the reclaimer's clock.
    pub at_nanos: u64,
    /// How long the call took, on the reclaimer's clock.
    pub duration: Duration,
    /// jemalloc `stats.resident` just before (after an epoch advance), if it could be read.
    pub resident_before: Option<u64>,
    /// jemalloc `stats.resident` just after, if it could be read.
    pub resident_after: Option<u64>,
    /// Why the control failed, if it did.
    pub error: Option<String>,
}

impl PurgeRecord {
    /// Resident bytes the purge gave back (zero if resident grew meanwhile), when both figures
    /// are known.
    ///
    /// # Examples
    ///
    /// See [`PurgeRecord`].
    pub fn returned_bytes(&self) -> Option<u64> {
        Some(self.resident_before?.saturating_sub(self.resident_after?))
    }
}

/// Purge counters and the most recent purges.
///
/// # Examples
///
/// ```
/// let p = gc_coord::PurgeStats::default();
/// assert_eq!(p.completed, 0);
/// assert!(p.recent.is_empty());
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurgeStats {
    /// Purges whose control call succeeded.
    pub completed: u64,
    /// Purges whose control call failed (see the record's `error`).
    pub failed: u64,
    /// Purges that were due but skipped because no supported global allocator is present
    /// (see [`ReclaimerStats::allocator`]).
    pub skipped: u64,
    /// Times a due purge had to wait for the minimum interval since the previous one.
    pub rate_limited: u64,
    /// Sum of [`PurgeRecord::returned_bytes`] over every purge.
    pub returned_bytes: u64,
    /// Total time spent in purge calls.
    pub total_duration: Duration,
    /// Weight of the items dropped since the last purge (the eviction-wave counter).
    pub freed_since_last: u64,
    /// The most recent purges, oldest first (as many as the builder's `purge_history`).
    pub recent: Vec<PurgeRecord>,
}

/// A snapshot of a [`Reclaimer`](crate::Reclaimer)'s counters.
///
/// Counters are read one by one while the reclaimer runs, so they may disagree by a few items;
/// after [`flush`](crate::Reclaimer::flush) or [`shutdown`](crate::Reclaimer::shutdown)
/// `queued == dropped_background` holds exactly.
///
/// # Examples
///
/// ```
/// use cache_traits::Reclaim;
/// use gc_coord::Reclaimer;
///
/// let r: Reclaimer<Vec<u8>> = Reclaimer::builder().inline_below_bytes(0).build()?;
/// r.reclaim(vec![0; 1024], 1024);
/// r.flush();
/// let s = r.stats();
/// assert_eq!(s.dropped(), 1);
/// assert_eq!(s.dropped_bytes(), 1024);
/// # Ok::<(), gc_coord::BuildError>(())
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReclaimerStats {
    /// Items accepted into the background queue.
    pub queued: u64,
    /// Weight of the items accepted into the background queue.
    pub queued_bytes: u64,
    /// Items dropped by the background thread.
    pub dropped_background: u64,
    /// Weight of the items dropped by the background thread.
    pub dropped_background_bytes: u64,
    /// Items dropped on the caller's thread: lighter than `inline_below_bytes`, the queue was
    /// full, or the reclaimer was shut down.
    pub dropped_inline: u64,
    /// Weight of the items dropped on the caller's thread.
    pub dropped_inline_bytes: u64,
    /// Of `dropped_inline`, the items dropped inline because the queue was full.
    pub queue_full: u64,
    /// Drops that panicked (caught, counted, and the reclaimer went on).
    pub drop_panics: u64,
    /// Batches the background thread has processed.
    pub batches: u64,
    /// Items waiting in the queue when the snapshot was taken.
    pub queue_len: usize,
    /// Whether purges reach the process's allocator.
    pub allocator: AllocatorSupport,
    /// Purge counters and recent purges.
    pub purges: PurgeStats,
}

impl ReclaimerStats {
    /// Items dropped so far, on either thread.
    ///
    /// # Examples
    ///
    /// See [`ReclaimerStats`].
    pub fn dropped(&self) -> u64 {
        self.dropped_background + self.dropped_inline
    }

    /// Weight of the items dropped so far, on either thread.
    ///
    /// # Examples
    ///
    /// See [`ReclaimerStats`].
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped_background_bytes + self.dropped_inline_bytes
    }
}

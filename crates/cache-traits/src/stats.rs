//! Why entries leave a cache, and the counters a cache keeps.

use std::fmt;

/// Why an entry left the cache.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RemovalCause {
    /// The policy evicted it to keep the cache within its capacity.
    Size,
    /// Its time-to-live or time-to-idle ran out.
    Expired,
    /// The application removed it (`remove`, `invalidate_all`, `retain`).
    Explicit,
    /// An insert for the same key replaced its value.
    Replaced,
    /// Memory management evicted it to relieve memory pressure.
    Pressure,
}

/// The number of removal causes (the length of [`RemovalCause::ALL`]).
const N_CAUSES: usize = RemovalCause::ALL.len();

impl RemovalCause {
    /// Every cause, in the order of [`RemovalCause::index`].
    pub const ALL: &'static [RemovalCause] = &[
        RemovalCause::Size,
        RemovalCause::Expired,
        RemovalCause::Explicit,
        RemovalCause::Replaced,
        RemovalCause::Pressure,
    ];

    /// A dense index, `0..RemovalCause::ALL.len()`, for per-cause counters.
    pub const fn index(self) -> usize {
        match self {
            RemovalCause::Size => 0,
            RemovalCause::Expired => 1,
            RemovalCause::Explicit => 2,
            RemovalCause::Replaced => 3,
            RemovalCause::Pressure => 4,
        }
    }

    /// The lowercase name used in reports (`size`, `expired`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            RemovalCause::Size => "size",
            RemovalCause::Expired => "expired",
            RemovalCause::Explicit => "explicit",
            RemovalCause::Replaced => "replaced",
            RemovalCause::Pressure => "pressure",
        }
    }

    /// Whether the cache chose to remove the entry (size, expiry, pressure) rather than the user.
    pub const fn was_evicted(self) -> bool {
        matches!(
            self,
            RemovalCause::Size | RemovalCause::Expired | RemovalCause::Pressure
        )
    }
}

impl fmt::Display for RemovalCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A snapshot of a cache's counters since it was built.
///
/// Counters are kept per shard and summed when read, so a snapshot taken while other threads
/// work is a consistent sum of per-shard snapshots, not one instant.
///
/// # Examples
///
/// ```
/// use cache_traits::{CacheStats, RemovalCause};
/// let mut s = CacheStats::default();
/// s.hits = 3;
/// s.misses = 1;
/// s.record_removal(RemovalCause::Size, 64);
/// s.record_removal(RemovalCause::Size, 32);
/// assert_eq!(s.hit_ratio(), 0.75);
/// assert_eq!(s.removals(RemovalCause::Size), 2);
/// assert_eq!(s.removed_weight_of(RemovalCause::Size), 96);
/// ```
///
/// The per-cause counters are private, so that a new [`RemovalCause`] is not a breaking change:
///
/// ```compile_fail
/// let s = cache_traits::CacheStats::default();
/// let _ = s.removed[0];
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups that found a live entry.
    pub hits: u64,
    /// Lookups that found nothing (or only an expired entry).
    pub misses: u64,
    /// Inserts of a key that was absent.
    pub inserts: u64,
    /// Inserts that replaced the value of a present key.
    pub updates: u64,
    /// Entries removed, per [`RemovalCause::index`]: private, so that a new cause is not a
    /// breaking change (read with [`removals`](Self::removals)).
    removed: [u64; N_CAUSES],
    /// Weight removed, per [`RemovalCause::index`] (read with
    /// [`removed_weight_of`](Self::removed_weight_of)).
    removed_weight: [u64; N_CAUSES],
    /// Loader calls that produced a value.
    pub load_successes: u64,
    /// Loader calls that returned an error or panicked.
    pub load_failures: u64,
    /// Total time spent in loaders, in nanoseconds.
    pub load_nanos: u64,
}

impl CacheStats {
    /// Lookups: hits plus misses.
    pub fn gets(&self) -> u64 {
        self.hits + self.misses
    }

    /// Hits divided by lookups; 0 when there were none.
    pub fn hit_ratio(&self) -> f64 {
        match self.gets() {
            0 => 0.0,
            n => self.hits as f64 / n as f64,
        }
    }

    /// Counts one entry of `weight` removed for `cause`.
    #[inline]
    pub fn record_removal(&mut self, cause: RemovalCause, weight: u64) {
        self.removed[cause.index()] += 1;
        self.removed_weight[cause.index()] += weight;
    }

    /// Entries removed for `cause`.
    pub fn removals(&self, cause: RemovalCause) -> u64 {
        self.removed[cause.index()]
    }

    /// Weight removed for `cause`.
    pub fn removed_weight_of(&self, cause: RemovalCause) -> u64 {
        self.removed_weight[cause.index()]
    }

    /// Entries the cache evicted (size, expiry, pressure).
    pub fn evictions(&self) -> u64 {
        RemovalCause::ALL
            .iter()
            .filter(|c| c.was_evicted())
            .map(|c| self.removals(*c))
            .sum()
    }

    /// Adds another snapshot's counters to this one (used to sum shards).
    pub fn merge(&mut self, other: &CacheStats) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.inserts += other.inserts;
        self.updates += other.updates;
        for i in 0..N_CAUSES {
            self.removed[i] += other.removed[i];
            self.removed_weight[i] += other.removed_weight[i];
        }
        self.load_successes += other.load_successes;
        self.load_failures += other.load_failures;
        self.load_nanos += other.load_nanos;
    }
}

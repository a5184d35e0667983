//! The object-safe view of a cache that memory management works through.

use crate::{CacheStats, RemovalCause};

/// A cache as memory management sees it: sizes in bytes, a capacity that can change at run time,
/// and a way to give bytes back.
///
/// It is object-safe, so managers hold `Arc<dyn ManagedCache>` for caches of any key and value
/// types.
///
/// # Implementing
///
/// All methods take `&self` and may be called from a background thread while the cache serves
/// requests. [`set_capacity`](Self::set_capacity) must evict down to the new capacity before it
/// returns. [`evict_bytes`](Self::evict_bytes) evicts in policy order until at least `bytes` are
/// freed or the cache is empty.
///
/// # Examples
///
/// ```
/// use cache_traits::{CacheStats, ManagedCache, RemovalCause};
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// struct Fake { cap: AtomicU64, size: AtomicU64 }
/// impl ManagedCache for Fake {
///     fn name(&self) -> &str { "fake" }
///     fn stats(&self) -> CacheStats { CacheStats::default() }
///     fn weighted_size(&self) -> u64 { self.size.load(Ordering::Relaxed) }
///     fn entry_count(&self) -> u64 { 0 }
///     fn capacity(&self) -> u64 { self.cap.load(Ordering::Relaxed) }
///     fn set_capacity(&self, bytes: u64) {
///         self.cap.store(bytes, Ordering::Relaxed);
///         self.size.fetch_min(bytes, Ordering::Relaxed);
///     }
///     fn evict_bytes(&self, bytes: u64, _cause: RemovalCause) -> u64 {
///         let before = self.size.fetch_sub(bytes.min(self.weighted_size()), Ordering::Relaxed);
///         before - self.weighted_size()
///     }
/// }
///
/// let cache: Box<dyn ManagedCache> = Box::new(Fake { cap: 100.into(), size: 80.into() });
/// cache.set_capacity(50);
/// assert_eq!(cache.weighted_size(), 50);
/// assert_eq!(cache.evict_bytes(20, RemovalCause::Pressure), 20);
/// ```
pub trait ManagedCache: Send + Sync {
    /// The cache's name, for reports.
    fn name(&self) -> &str;

    /// Counters since the cache was built.
    fn stats(&self) -> CacheStats;

    /// Bytes currently charged to the cache (entries plus their overhead).
    fn weighted_size(&self) -> u64;

    /// Entries currently stored.
    fn entry_count(&self) -> u64;

    /// The byte budget.
    fn capacity(&self) -> u64;

    /// Changes the byte budget, evicting down to it before returning.
    fn set_capacity(&self, bytes: u64);

    /// Evicts entries in policy order until at least `bytes` are freed or nothing is left;
    /// returns the bytes freed.
    fn evict_bytes(&self, bytes: u64, cause: RemovalCause) -> u64;

    /// Housekeeping with bounded work, such as sweeping expired entries; returns entries removed.
    fn run_maintenance(&self) -> u64 {
        0
    }

    /// What a change of budget around the current capacity would earn or cost, where the cache
    /// (or an analysis wrapped around it) can tell; `None` by default.
    ///
    /// Sizing falls back to an estimate from [`stats`](Self::stats) when this is `None`.
    fn utility(&self) -> Option<Utility> {
        None
    }
}

/// The marginal utility of a cache's memory: hits per second gained for each MiB more budget,
/// and lost for each MiB less, around its current capacity.
///
/// With a miss-ratio curve both come from its slope on either side of the capacity; a cache
/// that only knows its own counters can give its average (hits per second per MiB held) for
/// both, an upper bound for caches with a skewed popularity.
///
/// # Examples
///
/// ```
/// use cache_traits::Utility;
/// let u = Utility::new(120.0, 300.0);
/// assert!(u.loss_per_mib > u.gain_per_mib, "the last MiB earns less than the ones before it");
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Utility {
    /// Hits per second one more MiB of budget would add.
    pub gain_per_mib: f64,
    /// Hits per second one MiB less budget would lose.
    pub loss_per_mib: f64,
}

impl Utility {
    /// A utility of `gain_per_mib` and `loss_per_mib` hits per second per MiB.
    pub fn new(gain_per_mib: f64, loss_per_mib: f64) -> Self {
        Self {
            gain_per_mib,
            loss_per_mib,
        }
    }
}

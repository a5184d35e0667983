//! Handing evicted values off the hot path, and memory-pressure levels.

use std::fmt;

/// How hard the process is pressed for memory.
///
/// Levels are ordered: `Normal < Elevated < High < Critical`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PressureLevel {
    /// Plenty of memory.
    #[default]
    Normal,
    /// Getting tight: stop growing, return freed memory promptly.
    Elevated,
    /// Short of memory: shrink and return memory now.
    High,
    /// About to be killed or throttled.
    Critical,
}

impl PressureLevel {
    /// Every level, from `Normal` to `Critical`.
    pub const ALL: &'static [PressureLevel] = &[
        PressureLevel::Normal,
        PressureLevel::Elevated,
        PressureLevel::High,
        PressureLevel::Critical,
    ];
}

impl fmt::Display for PressureLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PressureLevel::Normal => "normal",
            PressureLevel::Elevated => "elevated",
            PressureLevel::High => "high",
            PressureLevel::Critical => "critical",
        })
    }
}

/// Takes ownership of evicted items so they are dropped away from the caller's thread.
///
/// A cache calls [`reclaim`](Self::reclaim) after it has released its shard lock, with the item
/// and the weight the cache charged for it. Dropping a large value (a big `Vec`, a tree of
/// allocations) can take microseconds to milliseconds; a reclaimer moves that cost to a
/// background thread and can ask the allocator to return the freed pages.
///
/// # Implementing
///
/// `reclaim` must not block for long: when a background queue is full, drop the item inline.
/// It must never lose an item without dropping it.
///
/// # Examples
///
/// ```
/// use cache_traits::Reclaim;
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[derive(Default)]
/// struct Counting(AtomicU64);
/// impl<T> Reclaim<T> for Counting {
///     fn reclaim(&self, item: T, weight: u64) {
///         self.0.fetch_add(weight, Ordering::Relaxed);
///         drop(item);
///     }
/// }
///
/// let r = Counting::default();
/// r.reclaim(vec![0u8; 1024], 1024);
/// assert_eq!(r.0.load(Ordering::Relaxed), 1024);
/// ```
pub trait Reclaim<T>: Send + Sync {
    /// Takes an evicted item that the cache charged `weight` bytes for.
    fn reclaim(&self, item: T, weight: u64);

    /// Asks for freed memory to go back to the operating system, as hard as `level` says.
    fn release_memory(&self, level: PressureLevel) {
        let _ = level;
    }
}

//! The reclaimer's builder and the errors `build()` returns.

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use cache_traits::{Clock, SystemClock};

use crate::allocator::Settings;
use crate::reclaimer::Reclaimer;
use crate::stats::PurgeKind;

/// The batch size unless the queue is smaller.
const DEFAULT_BATCH_SIZE: usize = 64;

/// The default [`ReclaimerBuilder::inline_below_bytes`]; see there for the measurement.
pub(crate) const DEFAULT_INLINE_BELOW_BYTES: u64 = 512;

/// Why [`ReclaimerBuilder::build`] failed; each message says what to change.
///
/// # Examples
///
/// ```
/// use gc_coord::{BuildError, Reclaimer};
///
/// let err = Reclaimer::<Vec<u8>>::builder().capacity(0).build().unwrap_err();
/// assert!(matches!(err, BuildError::ZeroCapacity));
/// assert_eq!(
///     err.to_string(),
///     "reclaimer queue capacity is 0; set `capacity` to at least 1"
/// );
/// ```
#[non_exhaustive]
#[derive(Debug)]
pub enum BuildError {
    /// The queue capacity was 0.
    ZeroCapacity,
    /// The batch size was 0 or larger than the queue.
    BatchSize {
        /// The batch size asked for.
        batch_size: usize,
        /// The queue capacity.
        capacity: usize,
    },
    /// The eviction-wave purge threshold was 0 bytes.
    ZeroPurgeThreshold,
    /// A decay time was below -1.
    Decay {
        /// `dirty_decay_ms` or `muzzy_decay_ms`.
        setting: &'static str,
        /// The value asked for.
        value: i64,
    },
    /// The thread name contained a NUL byte.
    ThreadName,
    /// jemalloc refused an allocator setting.
    Allocator(String),
    /// The background thread could not be started.
    Spawn(io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroCapacity => {
                f.write_str("reclaimer queue capacity is 0; set `capacity` to at least 1")
            }
            BuildError::BatchSize {
                batch_size,
                capacity,
            } => write!(
                f,
                "batch size {batch_size} is outside 1..={capacity}; \
                 set `batch_size` between 1 and the queue `capacity`"
            ),
            BuildError::ZeroPurgeThreshold => f.write_str(
                "purge threshold is 0 bytes; set `purge_after_bytes` to at least 1 \
                 or turn purges off with `coordinate_allocator(false)`",
            ),
            BuildError::Decay { setting, value } => write!(
                f,
                "{setting} is {value}; set it to -1 (never return pages) \
                 or a number of milliseconds from 0 up"
            ),
            BuildError::ThreadName => {
                f.write_str("thread name contains a NUL byte; remove it from `thread_name`")
            }
            BuildError::Allocator(msg) => write!(
                f,
                "could not apply allocator settings ({msg}); \
                 remove the decay or background-thread settings from the builder"
            ),
            BuildError::Spawn(e) => write!(f, "could not start the reclaimer thread: {e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

/// Configures a [`Reclaimer`]; start with [`Reclaimer::builder`].
///
/// | setting | default | meaning |
/// |---|---|---|
/// | [`capacity`](Self::capacity) | 4096 | items the queue holds before drops happen inline |
/// | [`batch_size`](Self::batch_size) | 64 (at most the capacity) | items the thread drops between bookkeeping steps |
/// | [`inline_below_bytes`](Self::inline_below_bytes) | 512 (measured, see there) | lighter items are dropped on the caller's thread, heavier ones on the background thread |
/// | [`purge_after_bytes`](Self::purge_after_bytes) | 64 MiB | freed weight that makes a wave |
/// | [`wave_purge`](Self::wave_purge) | [`PurgeKind::Purge`] | what a wave runs (decay alone returns nothing for jemalloc's 10 s default decay time) |
/// | [`min_purge_interval`](Self::min_purge_interval) | 200 ms | rate limit between purges |
/// | [`purge_history`](Self::purge_history) | 16 | purge records kept in the stats |
/// | [`coordinate_allocator`](Self::coordinate_allocator) | on | purge at all |
/// | [`dirty_decay_ms`](Self::dirty_decay_ms), [`muzzy_decay_ms`](Self::muzzy_decay_ms), [`background_thread`](Self::background_thread) | jemalloc's | applied at `build()` |
///
/// # Examples
///
/// ```
/// use gc_coord::{PurgeKind, Reclaimer};
/// use std::time::Duration;
///
/// let reclaimer: Reclaimer<(u64, Vec<u8>)> = Reclaimer::builder()
///     .capacity(1024)
///     .batch_size(32)
///     .purge_after_bytes(32 << 20)
///     .wave_purge(PurgeKind::Purge)
///     .min_purge_interval(Duration::from_millis(500))
///     .build()?;
/// # Ok::<(), gc_coord::BuildError>(())
/// ```
pub struct ReclaimerBuilder<T> {
    pub(crate) capacity: usize,
    pub(crate) batch_size: Option<usize>,
    pub(crate) inline_below_bytes: u64,
    pub(crate) purge_after_bytes: u64,
    pub(crate) wave_purge: PurgeKind,
    pub(crate) min_purge_interval: Duration,
    pub(crate) purge_history: usize,
    pub(crate) coordinate_allocator: bool,
    pub(crate) settings: Settings,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) thread_name: String,
    _items: PhantomData<fn(T)>,
}

impl<T> fmt::Debug for ReclaimerBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReclaimerBuilder")
            .field("capacity", &self.capacity)
            .field("batch_size", &self.batch_size)
            .field("inline_below_bytes", &self.inline_below_bytes)
            .field("purge_after_bytes", &self.purge_after_bytes)
            .field("wave_purge", &self.wave_purge)
            .field("min_purge_interval", &self.min_purge_interval)
            .field("purge_history", &self.purge_history)
            .field("coordinate_allocator", &self.coordinate_allocator)
            .field("settings", &self.settings)
            .field("clock", &self.clock)
            .field("thread_name", &self.thread_name)
            .finish()
    }
}

impl<T> Default for ReclaimerBuilder<T> {
    fn default() -> Self {
        Self {
            capacity: 4096,
            batch_size: None,
            inline_below_bytes: DEFAULT_INLINE_BELOW_BYTES,
            purge_after_bytes: 64 << 20,
            wave_purge: PurgeKind::Purge,
            min_purge_interval: Duration::from_millis(200),
            purge_history: 16,
            coordinate_allocator: true,
            settings: Settings::default(),
            clock: Arc::new(SystemClock),
            thread_name: "gc-coord-reclaim".to_owned(),
            _items: PhantomData,
        }
    }
}

impl<T: Send + 'static> ReclaimerBuilder<T> {
    /// Items the queue holds; when it is full, [`reclaim`](cache_traits::Reclaim::reclaim)
    /// drops the item on the caller's thread instead of waiting or growing the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gc_coord::Reclaimer::<String>::builder().capacity(16).build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn capacity(mut self, items: usize) -> Self {
        self.capacity = items;
        self
    }

    /// Items the background thread takes from the queue before updating its counters and
    /// checking whether a purge is due; between 1 and the capacity. Default: 64, or the capacity
    /// if that is smaller.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gc_coord::Reclaimer::<String>::builder().batch_size(8).build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn batch_size(mut self, items: usize) -> Self {
        self.batch_size = Some(items);
        self
    }

    /// Items whose weight is below `bytes` are dropped on the caller's thread; the others go to
    /// the background thread (unless the queue is full). 0 sends everything to the thread,
    /// `u64::MAX` drops everything inline. Default: 512.
    ///
    /// What dropping a value costs follows the number of allocations it frees, which the weight
    /// (bytes) only stands in for: a 1 KiB query result of rows of strings is about 15 `free`
    /// calls, a 1 KiB `Vec<u8>` is one. Handing a value to the thread is one queue send whatever
    /// its shape. Measured with `cargo xtask bench reclaim sweep` (one request thread inserting
    /// into a full 32 MiB cache, so every insert evicts; jemalloc; median of 5 rounds on 2 cores
    /// shared with other jobs, rounds vary by 20 % or more; ns; a hand-over includes about 30 ns
    /// of timer):
    ///
    /// | evicted values (mean weight, allocations) | threshold | dropped | hand-over p50 / p99 | insert p50 / p99 | CPU per insert, request thread / process |
    /// |---|---|---|---|---|---|
    /// | query results of 1–20 rows (1019 B, 4–23) | 4096 | inline | 221 / 861 | 691 / 3026 | 2437 / 2441 |
    /// | | **512** | 85 % on the thread | 60 / 511 | 571 / 2024 | 2319 / 2710 |
    /// | | 0 | on the thread | 60 / 371 | 561 / 1963 | 2393 / 2887 |
    /// | query results of 100 rows (7379 B, 103) | `u64::MAX` | inline | 521 / 2374 | 2314 / 5871 | 15433 / 15509 |
    /// | | **512** | on the thread | 90 / 481 | 801 / 2825 | 13187 / 15798 |
    /// | `Vec<u8>` of 1000 bytes (1107 B, 1) | 4096 | inline | 40 / 90 | 290 / 952 | 510 / 512 |
    /// | | **512** | on the thread (98 %) | 50 / 251 | 311 / 942 | 561 / 657 |
    /// | `String` of up to 8 bytes (91 B, 1) | 0 | on the thread (99 %) | 50 / 200 | 531 / 1212 | 748 / 811 |
    /// | | **512** | inline | 40 / 61 | 471 / 1312 | 689 / 690 |
    ///
    /// For values of many allocations the thread pays: the hand-over is 3–6 times cheaper at p50
    /// and 1.7–5 times at p99, and inserts that evict have a third lower p99 (lower in every
    /// round). The request thread's CPU per request falls by less than the hand-over saves
    /// (within the noise for 1–20 rows, about 15 % for 100 rows): its next allocations no longer
    /// reuse the memory it freed. The process as a whole spends more CPU (11 % for 1–20 rows), on
    /// the background thread. For values of one allocation the thread only costs: set the
    /// threshold above their weight if that is what a cache holds. 512 sends every value heavy
    /// enough to hold many allocations to the thread and keeps light ones (a few words, a query
    /// result of a few rows) inline; 256 measured the same as 512 on the query results.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gc_coord::Reclaimer::<String>::builder().inline_below_bytes(0).build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn inline_below_bytes(mut self, bytes: u64) -> Self {
        self.inline_below_bytes = bytes;
        self
    }

    /// Once items weighing `bytes` in total have been dropped since the last purge, the
    /// background thread runs the [`wave_purge`](Self::wave_purge) control when the queue is
    /// drained (or at once when eight times as much is waiting); at least 1.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gc_coord::Reclaimer::<String>::builder().purge_after_bytes(1 << 20).build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn purge_after_bytes(mut self, bytes: u64) -> Self {
        self.purge_after_bytes = bytes;
        self
    }

    /// What an eviction wave runs: [`PurgeKind::Decay`] (jemalloc returns the pages its decay
    /// curve says are due) or [`PurgeKind::Purge`] (every unused dirty page, now).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_coord::{PurgeKind, Reclaimer};
    /// let r = Reclaimer::<String>::builder().wave_purge(PurgeKind::Purge).build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn wave_purge(mut self, kind: PurgeKind) -> Self {
        self.wave_purge = kind;
        self
    }

    /// The least time between two purges, read on the builder's [`clock`](Self::clock). A purge
    /// that falls due sooner waits (it is not dropped) and runs when the interval has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let r = gc_coord::Reclaimer::<String>::builder()
    ///     .min_purge_interval(Duration::from_secs(1))
    ///     .build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn min_purge_interval(mut self, interval: Duration) -> Self {
        self.min_purge_interval = interval;
        self
    }

    /// How many purge records [`ReclaimerStats`](crate::ReclaimerStats) keeps (the summary
    /// counters cover every purge regardless).
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gc_coord::Reclaimer::<String>::builder().purge_history(4).build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn purge_history(mut self, records: usize) -> Self {
        self.purge_history = records;
        self
    }

    /// Whether to talk to the allocator at all (wave purges, pressure requests, settings).
    /// Off, the reclaimer only drops items off the caller's thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gc_coord::Reclaimer::<String>::builder().coordinate_allocator(false).build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn coordinate_allocator(mut self, on: bool) -> Self {
        self.coordinate_allocator = on;
        self
    }

    /// Sets jemalloc's `dirty_decay_ms` at `build()`: on every existing arena
    /// (`arena.<i>.dirty_decay_ms`) and as the default for new ones (`arenas.dirty_decay_ms`).
    /// -1 never returns pages by decay, 0 returns them at once on free. Ignored unless jemalloc is
    /// the global allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gc_coord::Reclaimer::<String>::builder().dirty_decay_ms(1000).build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn dirty_decay_ms(mut self, ms: i64) -> Self {
        self.settings.dirty_decay_ms = Some(ms);
        self
    }

    /// Sets jemalloc's `muzzy_decay_ms` like [`dirty_decay_ms`](Self::dirty_decay_ms).
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gc_coord::Reclaimer::<String>::builder().muzzy_decay_ms(0).build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn muzzy_decay_ms(mut self, ms: i64) -> Self {
        self.settings.muzzy_decay_ms = Some(ms);
        self
    }

    /// Turns jemalloc's own background purging threads on or off at `build()` (the
    /// `background_thread` control). Ignored unless jemalloc is the global allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gc_coord::Reclaimer::<String>::builder().background_thread(true).build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn background_thread(mut self, on: bool) -> Self {
        self.settings.background_thread = Some(on);
        self
    }

    /// The clock the purge rate limit and purge durations are read on (default: the system
    /// clock); tests pass a [`ManualClock`](cache_traits::ManualClock).
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::ManualClock;
    /// use std::sync::Arc;
    /// let r = gc_coord::Reclaimer::<String>::builder()
    ///     .clock(Arc::new(ManualClock::new()))
    ///     .build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The background thread's name (default `gc-coord-reclaim`).
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gc_coord::Reclaimer::<String>::builder().thread_name("cache-dropper").build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// Checks the settings, applies the allocator settings and starts the background thread.
    ///
    /// # Errors
    ///
    /// [`BuildError`] when a setting is out of range, jemalloc refuses a setting, or the thread
    /// cannot be started.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gc_coord::Reclaimer::<Vec<u8>>::builder().build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn build(self) -> Result<Reclaimer<T>, BuildError> {
        self.validate()?;
        Reclaimer::start(self)
    }

    /// The batch size asked for, or the default for the capacity.
    pub(crate) fn effective_batch_size(&self) -> usize {
        self.batch_size
            .unwrap_or(self.capacity.min(DEFAULT_BATCH_SIZE))
    }

    fn validate(&self) -> Result<(), BuildError> {
        if self.capacity == 0 {
            return Err(BuildError::ZeroCapacity);
        }
        let batch_size = self.effective_batch_size();
        if batch_size == 0 || batch_size > self.capacity {
            return Err(BuildError::BatchSize {
                batch_size,
                capacity: self.capacity,
            });
        }
        if self.purge_after_bytes == 0 {
            return Err(BuildError::ZeroPurgeThreshold);
        }
        for (setting, value) in [
            ("dirty_decay_ms", self.settings.dirty_decay_ms),
            ("muzzy_decay_ms", self.settings.muzzy_decay_ms),
        ] {
            if let Some(value) = value.filter(|v| *v < -1) {
                return Err(BuildError::Decay { setting, value });
            }
        }
        if self.thread_name.contains('\0') {
            return Err(BuildError::ThreadName);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

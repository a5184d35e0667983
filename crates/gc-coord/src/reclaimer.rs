//! The reclaimer: a bounded queue to a background thread that drops evicted items in batches and
//! asks the allocator to return the freed pages.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::{self, JoinHandle, Thread};
use std::time::Duration;

use cache_traits::{Clock, PressureLevel, Reclaim};
use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};

use crate::allocator::Allocator;
use crate::config::{BuildError, ReclaimerBuilder};
use crate::counters::{Caller, CallerCounters};
use crate::schedule::{Decision, PurgeSchedule};
use crate::stats::ReclaimerStats;
use crate::stats::{AllocatorSupport, PurgeKind, PurgeRecord, PurgeStats, PurgeTrigger};

/// How long the background thread sleeps when it finds the queue empty right after work.
const MIN_IDLE_SLEEP: Duration = Duration::from_millis(1);

/// The longest it sleeps when idle: it doubles its sleep from [`MIN_IDLE_SLEEP`] up to this.
/// It never blocks on the queue, so a sender never pays for waking it (a system call); flush,
/// shutdown, pressure requests and a half-full queue wake it at once.
const MAX_IDLE_SLEEP: Duration = Duration::from_millis(64);

/// Drops evicted items on a background thread and returns freed memory to the system.
///
/// A cache hands it evicted items through [`Reclaim::reclaim`] (after releasing its locks). Items
/// lighter than [`inline_below_bytes`](ReclaimerBuilder::inline_below_bytes) (512 bytes by
/// default) are dropped at once, on the caller's thread, where freeing a few allocations costs
/// less than a queue send; heavier ones go over a bounded queue to a background thread, which
/// drops them in batches, so the cache's `get` and `insert` do not pay for freeing a large value.
/// When the queue is full the item is dropped on the caller's thread: the queue never grows
/// without bound and no item is ever lost. A drop that panics is caught and counted. The thread
/// polls the queue (sleeping 1 ms after work, backing off to 64 ms when idle) instead of blocking
/// on it, so that handing over an item never costs the cache a system call to wake it.
///
/// After an eviction wave (items weighing
/// [`purge_after_bytes`](ReclaimerBuilder::purge_after_bytes) dropped since the last purge) or on
/// [`Reclaim::release_memory`], the background thread asks jemalloc to return dirty pages: a wave
/// runs [`wave_purge`](ReclaimerBuilder::wave_purge) (`arena.4096.purge` by default), a request
/// `arena.4096.decay`, or `arena.4096.purge` at [`PressureLevel::Critical`], at most once per
/// [`min_purge_interval`](ReclaimerBuilder::min_purge_interval). Each purge is recorded with the
/// resident bytes before and after; see [`ReclaimerStats::purges`].
///
/// Dropping the reclaimer (or calling [`shutdown`](Self::shutdown)) drops everything still queued
/// and joins the thread. Share it with a cache as `Arc<Reclaimer<T>>` (coerced to
/// `Arc<dyn Reclaim<T>>`); it shuts down when the last `Arc` goes.
///
/// # Examples
///
/// ```
/// use cache_traits::{PressureLevel, Reclaim};
/// use gc_coord::Reclaimer;
/// use std::sync::Arc;
///
/// let reclaimer = Arc::new(
///     Reclaimer::<(u64, Vec<u8>)>::builder()
///         .capacity(1024)
///         .purge_after_bytes(64 << 20)
///         .build()?,
/// );
/// let for_cache: Arc<dyn Reclaim<(u64, Vec<u8>)>> = reclaimer.clone();
///
/// for key in 0..100 {
///     for_cache.reclaim((key, vec![0u8; 1 << 20]), 1 << 20);
/// }
/// for_cache.release_memory(PressureLevel::High);
/// reclaimer.flush();
///
/// let stats = reclaimer.stats();
/// assert_eq!(stats.dropped(), 100);
/// assert_eq!(stats.dropped_bytes(), 100 << 20);
/// # Ok::<(), gc_coord::BuildError>(())
/// ```
pub struct Reclaimer<T: Send + 'static> {
    /// The queue's sending side; `None` once shut down.
    tx: RwLock<Option<Sender<Msg<T>>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    /// The background thread, to wake it.
    pub(crate) thread: Thread,
    shared: Arc<Shared>,
    inline_below_bytes: u64,
    /// Queue length at which a sender wakes the background thread.
    wake_at: usize,
    coordinate_allocator: bool,
}

/// What travels over the queue.
enum Msg<T> {
    /// An item and the weight the cache charged for it.
    Item(T, u64),
    /// Answer once everything queued before has been dropped and a due purge has run.
    Flush(Sender<()>),
}

/// State the handle and the background thread both see.
#[derive(Debug)]
struct Shared {
    caller: CallerCounters,
    dropped_background: AtomicU64,
    dropped_background_bytes: AtomicU64,
    drop_panics: AtomicU64,
    batches: AtomicU64,
    freed_since_purge: AtomicU64,
    /// The strongest pressure level asked for and not yet seen by the thread (see `level_code`).
    requested: AtomicU8,
    purge_log: Mutex<PurgeLog>,
    allocator: Allocator,
    clock: Arc<dyn Clock>,
}

/// Purge counters and the most recent records.
#[derive(Debug, Default)]
struct PurgeLog {
    stats: PurgeStats,
    recent: VecDeque<PurgeRecord>,
    history: usize,
}

impl<T: Send + 'static> Reclaimer<T> {
    /// A builder with the defaults listed on [`ReclaimerBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// let r: gc_coord::Reclaimer<String> = gc_coord::Reclaimer::builder().build()?;
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn builder() -> ReclaimerBuilder<T> {
        ReclaimerBuilder::default()
    }

    pub(crate) fn start(config: ReclaimerBuilder<T>) -> Result<Self, BuildError> {
        let allocator = Allocator::detect();
        if config.coordinate_allocator {
            allocator
                .configure(&config.settings)
                .map_err(BuildError::Allocator)?;
        }
        let shared = Arc::new(Shared {
            caller: CallerCounters::default(),
            dropped_background: AtomicU64::new(0),
            dropped_background_bytes: AtomicU64::new(0),
            drop_panics: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            freed_since_purge: AtomicU64::new(0),
            requested: AtomicU8::new(0),
            purge_log: Mutex::new(PurgeLog {
                history: config.purge_history,
                ..PurgeLog::default()
            }),
            allocator,
            clock: config.clock.clone(),
        });
        let (tx, rx) = crossbeam_channel::bounded(config.capacity);
        let worker = Worker {
            rx,
            shared: Arc::clone(&shared),
            schedule: PurgeSchedule::new(
                config.purge_after_bytes,
                u64::try_from(config.min_purge_interval.as_nanos()).unwrap_or(u64::MAX),
                config.wave_purge,
            ),
            batch_size: config.effective_batch_size(),
            capacity: config.capacity,
            coordinate_allocator: config.coordinate_allocator,
            inline_bytes_seen: 0,
            items_since_request: 0,
        };
        let handle = thread::Builder::new()
            .name(config.thread_name)
            .spawn(move || worker.run())
            .map_err(BuildError::Spawn)?;
        Ok(Self {
            tx: RwLock::new(Some(tx)),
            thread: handle.thread().clone(),
            worker: Mutex::new(Some(handle)),
            wake_at: config.capacity.div_ceil(2),
            shared,
            inline_below_bytes: config.inline_below_bytes,
            coordinate_allocator: config.coordinate_allocator,
        })
    }

    /// A snapshot of the counters and the recent purges.
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::Reclaim;
    /// let r = gc_coord::Reclaimer::<String>::builder().build()?;
    /// r.reclaim("small".to_owned(), 5);
    /// assert_eq!(r.stats().dropped_inline, 1);
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn stats(&self) -> ReclaimerStats {
        let s = &self.shared;
        let dropped_background = s.dropped_background.load(Ordering::Relaxed);
        let dropped_background_bytes = s.dropped_background_bytes.load(Ordering::Relaxed);
        let mut purges = {
            let log = s.purge_log.lock().unwrap_or_else(PoisonError::into_inner);
            let mut purges = log.stats.clone();
            purges.recent = log.recent.iter().cloned().collect();
            purges
        };
        purges.freed_since_last = s.freed_since_purge.load(Ordering::Relaxed);
        ReclaimerStats {
            queued: s.caller.sum(Caller::Queued),
            queued_bytes: s.caller.sum(Caller::QueuedBytes),
            dropped_background,
            dropped_background_bytes,
            dropped_inline: s.caller.sum(Caller::Inline),
            dropped_inline_bytes: s.caller.sum(Caller::InlineBytes),
            queue_full: s.caller.sum(Caller::QueueFull),
            drop_panics: s.drop_panics.load(Ordering::Relaxed),
            batches: s.batches.load(Ordering::Relaxed),
            queue_len: self.read_tx().as_ref().map_or(0, Sender::len),
            allocator: s.allocator.support(),
            purges,
        }
    }

    /// Items lighter than this many bytes are dropped on the caller's thread, the others on the
    /// background thread; see [`ReclaimerBuilder::inline_below_bytes`].
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gc_coord::Reclaimer::<String>::builder().build()?;
    /// assert_eq!(r.inline_below_bytes(), 512);
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn inline_below_bytes(&self) -> u64 {
        self.inline_below_bytes
    }

    /// Whether purges reach the process's allocator (jemalloc as the global allocator).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_coord::AllocatorSupport;
    /// let r = gc_coord::Reclaimer::<String>::builder().build()?;
    /// // Doctests run on the system allocator.
    /// assert_ne!(r.allocator(), AllocatorSupport::Jemalloc);
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn allocator(&self) -> AllocatorSupport {
        self.shared.allocator.support()
    }

    /// Blocks until every item queued before the call has been dropped and any purge that was
    /// due (and allowed by the rate limit) has run. Returns at once after shutdown.
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::Reclaim;
    /// let r = gc_coord::Reclaimer::<Vec<u8>>::builder().inline_below_bytes(0).build()?;
    /// r.reclaim(vec![1, 2, 3], 3);
    /// r.flush();
    /// assert_eq!(r.stats().dropped_background, 1);
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn flush(&self) {
        let (ack_tx, ack_rx) = crossbeam_channel::bounded(1);
        {
            let tx = self.read_tx();
            let Some(tx) = tx.as_ref() else {
                return;
            };
            // Wake it first in case the queue is full and the send has to wait.
            self.thread.unpark();
            if tx.send(Msg::Flush(ack_tx)).is_err() {
                return;
            }
        }
        self.thread.unpark();
        // An error means the thread is gone, and with it anything left to wait for.
        let _ = ack_rx.recv();
    }

    /// Stops accepting items (later ones are dropped inline), drops everything still queued and
    /// joins the background thread. Dropping the last handle does the same; calling it twice is
    /// harmless.
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::Reclaim;
    /// let r = gc_coord::Reclaimer::<Vec<u8>>::builder().inline_below_bytes(0).build()?;
    /// r.reclaim(vec![0; 4096], 4096);
    /// r.shutdown();
    /// assert_eq!(r.stats().dropped(), 1);
    /// r.reclaim(vec![0; 4096], 4096); // dropped inline now
    /// assert_eq!(r.stats().dropped_inline, 1);
    /// # Ok::<(), gc_coord::BuildError>(())
    /// ```
    pub fn shutdown(&self) {
        // Dropping the only sender lets the thread drain the queue, see the disconnect and exit.
        drop(
            self.tx
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        self.thread.unpark();
        let handle = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            // An item's drop could hold the last handle; the thread cannot join itself.
            if handle.thread().id() != thread::current().id() {
                let _ = handle.join();
            }
        }
    }

    fn read_tx(&self) -> std::sync::RwLockReadGuard<'_, Option<Sender<Msg<T>>>> {
        self.tx.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops `item` here, counting it (and a panic, if its drop panics).
    fn drop_inline(&self, item: T, weight: u64, queue_full: bool) {
        if !drop_guarded(item) {
            self.shared.drop_panics.fetch_add(1, Ordering::Relaxed);
        }
        let caller = &self.shared.caller;
        caller.add_two(Caller::Inline, 1, Some((Caller::InlineBytes, weight)));
        if queue_full {
            caller.add(Caller::QueueFull, 1);
        }
    }
}

impl<T: Send + 'static> Reclaim<T> for Reclaimer<T> {
    fn reclaim(&self, item: T, weight: u64) {
        if weight < self.inline_below_bytes {
            self.drop_inline(item, weight, false);
            return;
        }
        let tx = self.read_tx();
        let Some(sender) = tx.as_ref() else {
            drop(tx);
            self.drop_inline(item, weight, false);
            return;
        };
        match sender.try_send(Msg::Item(item, weight)) {
            Ok(()) => {
                // The thread polls; wake it early only when the queue fills up faster.
                if sender.len() >= self.wake_at {
                    self.thread.unpark();
                }
                drop(tx);
                self.shared
                    .caller
                    .add_two(Caller::Queued, 1, Some((Caller::QueuedBytes, weight)));
            }
            Err(err) => {
                drop(tx);
                let full = matches!(err, TrySendError::Full(_));
                if let Msg::Item(item, weight) = err.into_inner() {
                    self.drop_inline(item, weight, full);
                }
            }
        }
    }

    fn release_memory(&self, level: PressureLevel) {
        if !self.coordinate_allocator {
            return;
        }
        self.shared
            .requested
            .fetch_max(level_code(level), Ordering::AcqRel);
        self.thread.unpark();
    }
}

impl<T: Send + 'static> Drop for Reclaimer<T> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl<T: Send + 'static> fmt::Debug for Reclaimer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reclaimer")
            .field("inline_below_bytes", &self.inline_below_bytes)
            .field("coordinate_allocator", &self.coordinate_allocator)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Drops `item`, catching a panic; true if the drop completed normally.
#[inline]
fn drop_guarded<T>(item: T) -> bool {
    panic::catch_unwind(AssertUnwindSafe(move || drop(item))).is_ok()
}

/// A pressure level as a non-zero byte ordered like the levels; 0 means no request.
fn level_code(level: PressureLevel) -> u8 {
    match level {
        PressureLevel::Normal => 1,
        PressureLevel::Elevated => 2,
        PressureLevel::High => 3,
        PressureLevel::Critical => 4,
        // A level added later is at least "high" if it was worth adding.
        _ => 3,
    }
}

fn level_from_code(code: u8) -> Option<PressureLevel> {
    match code {
        0 => None,
        1 => Some(PressureLevel::Normal),
        2 => Some(PressureLevel::Elevated),
        3 => Some(PressureLevel::High),
        _ => Some(PressureLevel::Critical),
    }
}

/// The background thread's state.
struct Worker<T> {
    rx: Receiver<Msg<T>>,
    shared: Arc<Shared>,
    schedule: PurgeSchedule,
    batch_size: usize,
    capacity: usize,
    coordinate_allocator: bool,
    /// The inline-dropped weight already fed to the schedule.
    inline_bytes_seen: u64,
    /// Items dropped since the current pressure request was picked up.
    items_since_request: usize,
}

/// What one batch did.
#[derive(Default)]
struct Tally {
    messages: usize,
    items: u64,
    bytes: u64,
    panics: u64,
}

impl<T> Worker<T> {
    fn run(mut self) {
        // How long a rate-limited purge still has to wait.
        let mut wait: Option<Duration> = None;
        let mut idle_sleep = MIN_IDLE_SLEEP;
        let mut acks = Vec::new();
        loop {
            let first = match self.rx.try_recv() {
                Ok(msg) => {
                    idle_sleep = MIN_IDLE_SLEEP;
                    Some(msg)
                }
                // Every sender is gone and the queue is empty: everything has been dropped.
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    // Parking rather than blocking on the queue keeps senders free of wake-up
                    // system calls; `unpark` (flush, shutdown, pressure) cuts the sleep short.
                    thread::park_timeout(wait.map_or(idle_sleep, |w| w.min(idle_sleep)));
                    idle_sleep = (idle_sleep * 2).min(MAX_IDLE_SLEEP);
                    None
                }
            };
            let mut tally = Tally::default();
            if let Some(msg) = first {
                self.handle(msg, &mut tally, &mut acks);
            }
            // A flush is answered promptly rather than after a full batch.
            while tally.messages < self.batch_size && acks.is_empty() {
                match self.rx.try_recv() {
                    Ok(msg) => self.handle(msg, &mut tally, &mut acks),
                    Err(_) => break,
                }
            }
            self.record(&tally);
            wait = self.maybe_purge(!acks.is_empty());
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
        }
    }

    fn handle(&mut self, msg: Msg<T>, tally: &mut Tally, acks: &mut Vec<Sender<()>>) {
        tally.messages += 1;
        match msg {
            Msg::Item(item, weight) => {
                if !drop_guarded(item) {
                    tally.panics += 1;
                }
                tally.items += 1;
                tally.bytes = tally.bytes.saturating_add(weight);
            }
            Msg::Flush(ack) => acks.push(ack),
        }
    }

    fn record(&mut self, tally: &Tally) {
        let s = &self.shared;
        if tally.items > 0 {
            s.dropped_background
                .fetch_add(tally.items, Ordering::Relaxed);
            s.dropped_background_bytes
                .fetch_add(tally.bytes, Ordering::Relaxed);
            s.batches.fetch_add(1, Ordering::Relaxed);
        }
        if tally.panics > 0 {
            s.drop_panics.fetch_add(tally.panics, Ordering::Relaxed);
        }
        self.items_since_request = self
            .items_since_request
            .saturating_add(usize::try_from(tally.items).unwrap_or(usize::MAX));
        let inline_bytes = s.caller.sum(Caller::InlineBytes);
        let inline_new = inline_bytes.wrapping_sub(self.inline_bytes_seen);
        self.inline_bytes_seen = inline_bytes;
        self.schedule
            .note_freed(tally.bytes.saturating_add(inline_new));
        s.freed_since_purge
            .store(self.schedule.freed(), Ordering::Relaxed);
    }

    /// Runs a purge if one is due and allowed; returns how long to wait for a held-back one.
    fn maybe_purge(&mut self, flushing: bool) -> Option<Duration> {
        if !self.coordinate_allocator {
            return None;
        }
        if let Some(level) = level_from_code(self.shared.requested.swap(0, Ordering::AcqRel)) {
            if !self.schedule.has_request() {
                self.items_since_request = 0;
            }
            self.schedule.request(level);
        }
        // Purge at the end of a wave, once the items it evicted have been dropped: when the queue
        // is drained, when everything queued before a pressure request has been dropped, or when
        // so much is waiting that the wave is clearly large.
        let eligible = flushing
            || self.rx.is_empty()
            || self.schedule.wave_over(8)
            || (self.schedule.has_request() && self.items_since_request >= self.capacity);
        if !eligible {
            return None;
        }
        match self.schedule.decide(self.shared.clock.now_nanos()) {
            Decision::Idle => None,
            Decision::Wait { wait_nanos, newly } => {
                if newly {
                    self.log().stats.rate_limited += 1;
                }
                Some(Duration::from_nanos(wait_nanos))
            }
            Decision::Run(kind, trigger) => {
                self.purge(kind, trigger);
                self.schedule.ran(self.shared.clock.now_nanos());
                self.shared.freed_since_purge.store(0, Ordering::Relaxed);
                None
            }
        }
    }

    fn purge(&self, kind: PurgeKind, trigger: PurgeTrigger) {
        let s = &self.shared;
        if !s.allocator.support().purges_work() {
            self.log().stats.skipped += 1;
            return;
        }
        let resident_before = s.allocator.resident();
        let at_nanos = s.clock.now_nanos();
        let result = s.allocator.purge(kind);
        let duration = Duration::from_nanos(s.clock.now_nanos().saturating_sub(at_nanos));
        let resident_after = s.allocator.resident();
        let record = PurgeRecord {
            kind,
            trigger,
            at_nanos,
            duration,
            resident_before,
            resident_after,
            error: result.err(),
        };
        let mut log = self.log();
        if record.error.is_some() {
            log.stats.failed += 1;
        } else {
            log.stats.completed += 1;
        }
        log.stats.returned_bytes += record.returned_bytes().unwrap_or(0);
        log.stats.total_duration += duration;
        if log.history > 0 {
            if log.recent.len() == log.history {
                log.recent.pop_front();
            }
            log.recent.push_back(record);
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, PurgeLog> {
        self.shared
            .purge_log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;

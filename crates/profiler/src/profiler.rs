//! The profiler: what it keeps, and how it records a cache's operations.

use std::cell::Cell;
use std::fmt::{self, Debug};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cache_traits::{CacheObserver, Clock, MemoryProbe, Operation, RemovalCause, Sample};
use histogram::{AtomicHistogram, Config};

use crate::config::{Mode, ProfilerBuilder, ProfilerError};
use crate::namespace::{N_SLOTS, Namespaces};
use crate::topk::SpaceSaving;
use crate::tracked::{Tracked, TrackedEntry, entry_label};

#[cfg(test)]
mod tests;

/// The namespace of sampled misses that came without a key (a lookup by a borrowed form).
pub(crate) const UNKNOWN_NAMESPACE: &str = "unknown";

/// Maps a key to its namespace.
pub(crate) type NamespaceFn<K> = Box<dyn Fn(&K) -> &'static str + Send + Sync>;

/// Buckets of the per-operation latency histograms: 1/32 relative error up to 2^40 ns (18 min).
pub(crate) const OP_HISTOGRAM: Config = match Config::new(5, 40) {
    Ok(c) => c,
    Err(_) => panic!("invalid histogram configuration"),
};

/// Buckets of the per-namespace load histograms: 1/16 relative error, about 600 buckets.
pub(crate) const LOAD_HISTOGRAM: Config = match Config::new(4, 40) {
    Ok(c) => c,
    Err(_) => panic!("invalid histogram configuration"),
};

/// The largest value the histograms hold; longer latencies are recorded as this.
const MAX_NANOS: u64 = (1 << 40) - 1;

/// Records `nanos` (clamped to the histograms' range).
#[inline]
pub(crate) fn record(h: &AtomicHistogram, nanos: u64) {
    let _ = h.increment(nanos.min(MAX_NANOS));
}

/// Operations an `Off` profiler lets pass before the cache asks it again.
const OFF_RECHECK: u32 = 1024;

/// One sampled read in this many feeds the hot-key table.
const HOT_EVERY: u32 = 4;

thread_local! {
    /// Sampled reads left before this thread next feeds the hot-key table.
    static HOT_FEED: Cell<u32> = const { Cell::new(0) };
    /// The period in force at this thread's last sample.
    static SAMPLED_PERIOD: Cell<u32> = const { Cell::new(0) };
    /// This thread's generator of gaps between samples (0: not seeded yet).
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A random gap with mean `period`: uniform in `1..=2·period−1`.
fn next_gap(period: u32) -> u32 {
    if period <= 1 {
        return 1;
    }
    let r = RNG.with(|rng| {
        let mut x = rng.get();
        if x == 0 {
            // Seed from the thread-local's address: distinct per live thread.
            x = (rng as *const Cell<u64> as u64) | 1;
        }
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rng.set(x);
        x
    });
    let span = 2 * u64::from(period) - 1;
    // Beyond u32 only for periods above 2^31; those fall back to the period itself.
    u32::try_from(1 + r % span).unwrap_or(period)
}

/// A 64-bit hash of a key with a fixed seed, so that one key always hashes alike: a
/// multiply-rotate hash (FxHash's), far cheaper than SipHash on the sampled path and good
/// enough to tell a few hundred tracked keys apart.
pub(crate) fn hash_key<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut h = KeyHasher(0);
    key.hash(&mut h);
    // A final mix, so that keys differing in their low bits differ in every bit.
    let x = h.0 ^ (h.0 >> 31);
    x.wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (x >> 29)
}

/// FxHash's word step.
struct KeyHasher(u64);

impl KeyHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }

    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }
}

/// `format!("{key:?}")`, the label of a key in the key tables.
fn label<K: Debug + ?Sized>(key: &K) -> String {
    format!("{key:?}")
}

/// Takes a lock, recovering from poisoning (the tables change only after anything that can
/// panic has run, so a poisoned table is still consistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Churn figures as of the previous snapshot.
pub(crate) struct ChurnState {
    pub(crate) at_nanos: u64,
    pub(crate) inserted: [u64; N_SLOTS],
    pub(crate) removed: [u64; N_SLOTS],
    /// The rates last computed (kept when no time has passed).
    pub(crate) rates: [(f64, f64); N_SLOTS],
}

/// Profiles one cache: latency by operation, entries, bytes, hits and churn by namespace, hot
/// and heavy keys, and what loads really allocate against what the cache charged.
///
/// Hand it to the cache as its `Arc<dyn CacheObserver<K>>`; it is a
/// [`ReportSource`](cache_traits::ReportSource) giving one section, `profile.<name>`, and
/// [`snapshot`](Self::snapshot) gives the same figures as data.
///
/// # Cost
///
/// The cache keeps the sampling countdown, one per shard: an unsampled read or insert never
/// reaches the profiler. Sampled reads take the hot-key table's lock; sampled and heavy
/// inserts, and the removals of those entries, take the tracked entries' lock and format the
/// key with `Debug`. A sampled hit and a sampled insert are reported under the cache's shard
/// lock, which is then held a little longer, one operation in `period`. Nothing else is
/// reported but loads. Latencies are timed from the moment the shard is locked.
///
/// # Estimates
///
/// Entries, bytes, inserts, evictions and churn per namespace are estimated from the tracked
/// entries, each standing for as many entries as the sampling period (heavy entries, which the
/// cache always reports, for one): unbiased, with a relative error of about `1/√n` for `n`
/// tracked entries of a namespace. With [`Mode::On`] they are exact. Hits and misses are
/// sampled reads times the period.
pub struct Profiler<K: ?Sized> {
    pub(crate) name: String,
    pub(crate) period: AtomicU32,
    namespace_of: Option<NamespaceFn<K>>,
    pub(crate) namespaces: Namespaces,
    probe: Option<Arc<dyn MemoryProbe>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) top_keys: usize,
    pub(crate) get_hit: AtomicHistogram,
    pub(crate) get_miss: AtomicHistogram,
    pub(crate) insert: AtomicHistogram,
    pub(crate) load: AtomicHistogram,
    pub(crate) hot: Mutex<SpaceSaving>,
    /// The entries the cache tracks for this profiler (sampled and heavy inserts, until they
    /// leave): a live sample of the cache.
    pub(crate) tracked: Mutex<Tracked>,
    pub(crate) freed_charged: AtomicU64,
    pub(crate) freed_seen: AtomicU64,
    pub(crate) churn: Mutex<ChurnState>,
    #[cfg(feature = "backtraces")]
    pub(crate) sites: crate::callsite::CallSites,
}

impl<K: ?Sized> Debug for Profiler<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profiler")
            .field("name", &self.name)
            .field("mode", &self.mode())
            .finish_non_exhaustive()
    }
}

impl<K: ?Sized> Profiler<K> {
    /// A builder with the defaults: name `"cache"`, every key in namespace `"default"`,
    /// [`Mode::Sampled`] `{ period: 256 }`, no probe, the system clock, 10 top keys.
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::{CacheObserver, ReportSource};
    /// use profiler::{Mode, Operation, Profiler};
    /// use std::sync::Arc;
    ///
    /// let profiler = Profiler::<String>::builder()
    ///     .name("results")
    ///     .namespace(|k: &String| if k.starts_with("user:") { "users" } else { "default" })
    ///     .mode(Mode::On)
    ///     .build()?;
    /// // Hand a clone to the cache; here we play the cache.
    /// let observer: Arc<dyn CacheObserver<String>> = profiler.clone();
    /// let key = "user:1".to_string();
    /// observer.inserted(&key, 512, true);
    /// if observer.sample().report {
    ///     observer.read(Some(&key), true);
    ///     observer.latency(Operation::GetHit, 800);
    /// }
    /// let snap = profiler.snapshot();
    /// let users = snap.namespaces.iter().find(|n| n.name == "users").unwrap();
    /// assert_eq!((users.entries, users.bytes, users.est_hits), (1, 512, 1));
    /// assert_eq!(profiler.sections()[0].id, "profile.results");
    /// # Ok::<(), profiler::ProfilerError>(())
    /// ```
    pub fn builder() -> ProfilerBuilder<K> {
        ProfilerBuilder::default()
    }

    pub(crate) fn new(b: ProfilerBuilder<K>) -> Self {
        let now = b.clock.now_nanos();
        let mapped = b.namespace.is_some();
        Self {
            name: b.name,
            period: AtomicU32::new(b.mode.period()),
            namespace_of: b.namespace,
            namespaces: {
                let namespaces = Namespaces::new();
                // Without a mapping every key is in "default", slot 0 (see `slot_of`).
                if !mapped {
                    namespaces.index("default");
                }
                namespaces
            },
            probe: b.probe,
            clock: b.clock,
            top_keys: b.top_keys,
            get_hit: AtomicHistogram::with_config(&OP_HISTOGRAM),
            get_miss: AtomicHistogram::with_config(&OP_HISTOGRAM),
            insert: AtomicHistogram::with_config(&OP_HISTOGRAM),
            load: AtomicHistogram::with_config(&OP_HISTOGRAM),
            hot: Mutex::new(SpaceSaving::new(b.top_keys.saturating_mul(8))),
            tracked: Mutex::new(Tracked::new()),
            freed_charged: AtomicU64::new(0),
            freed_seen: AtomicU64::new(0),
            churn: Mutex::new(ChurnState {
                at_nanos: now,
                inserted: [0; N_SLOTS],
                removed: [0; N_SLOTS],
                rates: [(0.0, 0.0); N_SLOTS],
            }),
            #[cfg(feature = "backtraces")]
            sites: crate::callsite::CallSites::new(b.backtrace_period),
        }
    }

    /// What the leak detector needs, cheaply (no sorting, the churn baseline untouched): how
    /// many bytes loads allocate for each byte the cache charges (once 16 loads were measured),
    /// and, in [`Mode::On`] only, the bytes of entries no read has hit since they were stored.
    ///
    /// A cache's real bytes are about its charged bytes times the first.
    pub fn memory_estimates(&self) -> (Option<f64>, Option<u64>) {
        let (mut loads, mut charged, mut allocated) = (0u64, 0u64, 0u64);
        for slot in self.namespaces.in_use() {
            let c = self.namespaces.slot(slot);
            loads = loads.saturating_add(c.measured_loads.load(Ordering::Relaxed));
            charged = charged.saturating_add(c.measured_charged.load(Ordering::Relaxed));
            allocated = allocated.saturating_add(c.measured_allocated.load(Ordering::Relaxed));
        }
        let ratio = (loads >= crate::snapshot::MIN_MEASURED_LOADS && charged > 0)
            .then(|| allocated as f64 / charged as f64);
        let unread =
            (self.period.load(Ordering::Relaxed) == 1).then(|| lock(&self.tracked).unread_bytes());
        (ratio, unread)
    }

    /// The cache's name, as given to [`ProfilerBuilder::name`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sampling mode now.
    pub fn mode(&self) -> Mode {
        Mode::from_period(self.period.load(Ordering::Relaxed))
    }

    /// Changes the sampling mode; takes effect on each of the cache's shards when it next asks
    /// (at the end of the gap in force; an `Off` profiler is asked every 1024 operations).
    ///
    /// # Errors
    ///
    /// [`ProfilerError::ZeroSamplingPeriod`] for `Mode::Sampled { period: 0 }` (the mode is
    /// left as it was).
    pub fn set_mode(&self, mode: Mode) -> Result<(), ProfilerError> {
        let period = mode.check()?;
        self.period.store(period, Ordering::Relaxed);
        Ok(())
    }

    #[inline]
    fn is_off(&self) -> bool {
        self.period.load(Ordering::Relaxed) == 0
    }

    /// The namespace slot of `key` (runs the user's mapping: may panic).
    #[inline]
    fn slot_of(&self, key: &K) -> usize {
        match &self.namespace_of {
            Some(f) => self.namespaces.index(f(key)),
            None => 0,
        }
    }

    /// The thread's allocation counters, when a probe gives them.
    #[inline]
    fn allocations(&self) -> Option<cache_traits::ThreadAllocations> {
        self.probe.as_ref()?.thread_allocations()
    }
}

impl<K: Hash + Debug + ?Sized> CacheObserver<K> for Profiler<K> {
    #[inline]
    fn sample(&self) -> Sample {
        let period = self.period.load(Ordering::Relaxed);
        if period == 0 {
            // Off: asked again after a while, so that turning it on takes effect.
            return Sample::new(false, OFF_RECHECK);
        }
        SAMPLED_PERIOD.with(|p| p.set(period));
        Sample::new(true, next_gap(period) - 1)
    }

    fn read(&self, key: Option<&K>, hit: bool) {
        let current = self.period.load(Ordering::Relaxed);
        if current == 0 {
            return;
        }
        let sampled = SAMPLED_PERIOD.with(Cell::get);
        let period = u64::from(if sampled == 0 { current } else { sampled });
        let Some(key) = key else {
            // A miss by a borrowed form of the key: no namespace to give it.
            let slot = self.namespaces.index(UNKNOWN_NAMESPACE);
            self.namespaces.slot(slot).read(hit, period);
            return;
        };
        // User code first (the mapping, Hash), before any state changes.
        let slot = self.slot_of(key);
        let hash = hash_key(key);
        self.namespaces.slot(slot).read(hit, period);
        // When sampling, the hot-key table hears of one sampled read in HOT_EVERY (its
        // replacements scan the table), counted for as many reads; with every read on, of all.
        let every = if period == 1 { 1 } else { HOT_EVERY };
        let feed_hot = HOT_FEED.with(|n| {
            let left = n.get().min(every - 1);
            n.set(if left == 0 { every - 1 } else { left - 1 });
            left == 0
        });
        if feed_hot {
            let by = period.saturating_mul(u64::from(every));
            lock(&self.hot).record(hash, slot, by, || label(key));
        }
        if hit {
            lock(&self.tracked).hit(hash);
        }
    }

    fn latency(&self, op: Operation, nanos: u64) {
        if self.is_off() {
            return;
        }
        let h = match op {
            Operation::GetHit => &self.get_hit,
            Operation::GetMiss => &self.get_miss,
            Operation::Insert => &self.insert,
            Operation::Load => &self.load,
            _ => return,
        };
        record(h, nanos);
    }

    fn inserted(&self, key: &K, weight: u64, always: bool) {
        if self.is_off() {
            return;
        }
        let scale = if always {
            1
        } else {
            let sampled = SAMPLED_PERIOD.with(Cell::get);
            u64::from(sampled.max(1))
        };
        // User code (the mapping, `Hash`, `Debug`) runs before anything changes.
        let entry = TrackedEntry {
            namespace: self.slot_of(key),
            label: entry_label(label(key)),
            weight,
            scale,
            hits: 0,
        };
        let hash = hash_key(key);
        lock(&self.tracked).insert(hash, entry);
    }

    fn load_started(&self) -> u64 {
        if self.is_off() {
            return 0;
        }
        #[cfg(feature = "backtraces")]
        self.sites
            .load_started(self as *const Self as *const () as usize);
        self.allocations()
            .map_or(0, |a| a.allocated.wrapping_sub(a.deallocated))
    }

    fn loaded(&self, key: &K, weight: Option<u64>, nanos: u64, started: u64) {
        if self.is_off() {
            return;
        }
        let slot = self.slot_of(key);
        // `started` is 0 when no reading was taken (no probe, or profiling was off).
        let allocated = match (started, self.allocations()) {
            (0, _) | (_, None) => None,
            (_, Some(now)) => {
                let net = now
                    .allocated
                    .wrapping_sub(now.deallocated)
                    .wrapping_sub(started);
                Some(u64::try_from(net as i64).unwrap_or(0))
            }
        };
        record(&self.load, nanos);
        self.namespaces.slot(slot).loaded(weight, nanos, allocated);
        #[cfg(feature = "backtraces")]
        self.sites
            .loaded(self as *const Self as *const () as usize, weight, allocated);
    }

    fn removed(&self, key: &K, weight: u64, cause: RemovalCause) -> u64 {
        // Also when off: a tracked entry stays counted until it leaves.
        let hash = hash_key(key);
        lock(&self.tracked).remove(hash, weight, cause);
        if self.is_off() {
            return 0;
        }
        self.allocations().map_or(0, |a| a.deallocated)
    }

    fn dropped(&self, heap: u64, started: u64) {
        if started == 0 || self.is_off() {
            return;
        }
        if let Some(now) = self.allocations() {
            self.freed_charged.fetch_add(heap, Ordering::Relaxed);
            self.freed_seen
                .fetch_add(now.deallocated.wrapping_sub(started), Ordering::Relaxed);
        }
    }
}

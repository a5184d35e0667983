//! `Cache`: the sharded, byte-budgeted concurrent cache.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_traits::{
    CacheObserver, CacheStats, Clock, EvictionPolicy, HeapSize, HeapWeigher, ManagedCache,
    Operation, Reclaim, RemovalCause, Sample, Weigher,
};
use hashbrown::DefaultHashBuilder;

use crate::builder::{BuildError, CacheBuilder, MAX_SHARDS};
use crate::load::{Flight, LoadError, Outcome};
use crate::lock::{ShardGuard, ShardLock};
use crate::removals::Removals;
use crate::shard::{Entry, Expiry, Fault, Lookup, Shard};

/// The eviction listener's type.
pub(crate) type Listener<K, V> = Arc<dyn Fn(&K, &V, RemovalCause) + Send + Sync>;

/// Hash-table bytes charged per entry: a 4-byte slot id and a 1-byte control tag, at the
/// table's average load between growths.
const TABLE_BYTES_PER_ENTRY: usize = 8;

/// Slots a maintenance call examines per shard for expired entries.
const SWEEP_BUDGET_PER_SHARD: usize = 256;

/// A shard's lock on its own cache line, so that two shards never share one.
#[repr(align(128))]
struct Padded<T>(T);

type ShardCell<K, V, P> = Padded<ShardLock<Shard<K, V, P>>>;

/// A concurrent cache with a budget in real bytes.
///
/// Keys hash to one of several shards; each shard is a hash table of slot ids over a slab of
/// entries, an eviction policy `P` (from the `eviction` crate, or your own
/// [`EvictionPolicy`]), and counters, under one mutex. A hit takes that one lock, makes no
/// allocation, no system call and no dynamic call (unless the entry can expire, when it reads
/// the clock).
///
/// **Values are handed out by clone.** `get` returns `V`, cloned under the shard lock, so no
/// reference or guard outlives the lock and a slow reader never blocks writers. Cheap clones are
/// the point: store `Arc<T>` (or `Bytes`, `Arc<str>`) for anything larger than a few words, as
/// with moka and quick_cache.
///
/// **The budget is real bytes.** Each entry is charged its weigher's heap bytes plus
/// [`entry_overhead`](Self::entry_overhead): the slot holding key and value inline, its hash-table
/// bucket, and the policy's per-slot state.
///
/// **Removed entries leave the lock first.** Evicted, expired, replaced and removed entries are
/// collected under the lock and handed to the eviction listener and then dropped (or given to a
/// [`Reclaim`]er) after the lock is released.
///
/// # Examples
///
/// ```
/// use cache_core::Cache;
/// use eviction::Lru;
///
/// let cache: Cache<String, u64, Lru> = Cache::builder().max_entries(2).shards(1).build().unwrap();
/// cache.insert("a".into(), 1);
/// cache.insert("b".into(), 2);
/// assert_eq!(cache.get("a"), Some(1)); // "a" is now more recent than "b"
/// cache.insert("c".into(), 3); // evicts "b"
/// assert_eq!(cache.get("b"), None);
/// assert_eq!(cache.stats().hits, 1);
///
/// let v = cache.get_or_insert_with("d".into(), || 4).unwrap();
/// assert_eq!(v, 4);
/// ```
pub struct Cache<K, V, P, S = DefaultHashBuilder> {
    shards: Box<[ShardCell<K, V, P>]>,
    /// Shards minus one: the shard is `(hash >> 32) & shard_mask`.
    shard_mask: u64,
    hasher: S,
    weigher: Box<dyn Weigher<K, V>>,
    clock: Arc<dyn Clock>,
    listener: Option<Listener<K, V>>,
    reclaimer: Option<Arc<dyn Reclaim<(K, V)>>>,
    observer: Option<Arc<dyn CacheObserver<K>>>,
    name: String,
    overhead: u64,
    capacity: AtomicU64,
    /// An entry at least this heavy (1/64 of a shard's budget) is always tracked for the
    /// observer (never without one); kept beside `capacity` so an insert reads it without a
    /// division.
    heavy_weight: AtomicU64,
    /// Held by `set_capacity` from its first shard to its last, so that two concurrent calls
    /// cannot leave the shards with a mix of both budgets.
    resizing: ShardLock<()>,
    max_entries: u64,
    ttl: Option<u64>,
    tti: Option<u64>,
}

impl<K, V, P> Cache<K, V, P>
where
    K: HeapSize + 'static,
    V: HeapSize + 'static,
    P: EvictionPolicy + Default + 'static,
{
    /// A builder whose weigher counts the heap bytes of key and value ([`HeapWeigher`]).
    pub fn builder() -> CacheBuilder<K, V, P> {
        CacheBuilder::new(Box::new(HeapWeigher))
    }
}

impl<K, V, P: EvictionPolicy + Default + 'static> Cache<K, V, P> {
    /// A builder with the given weigher, for key or value types without [`HeapSize`].
    pub fn builder_with_weigher(weigher: impl Weigher<K, V> + 'static) -> CacheBuilder<K, V, P> {
        CacheBuilder::new(Box::new(weigher))
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The weight from which an entry is always tracked for an observer: 1/64 of a shard's budget
/// (`u64::MAX`, never, without an observer).
fn heavy_weight(observed: bool, max_bytes: u64, shards: usize) -> u64 {
    if observed {
        max_bytes / shards.max(1) as u64 / 64
    } else {
        u64::MAX
    }
}

/// Splits `total` into `n` near-equal parts; the first `total % n` get one more.
fn share(total: u64, n: usize, i: usize) -> u64 {
    let n = n as u64;
    total / n + u64::from((i as u64) < total % n)
}

impl<K, V, P: EvictionPolicy, S: BuildHasher> Cache<K, V, P, S> {
    pub(crate) fn from_builder(b: CacheBuilder<K, V, P, S>) -> Result<Self, BuildError> {
        if b.max_bytes.is_none() && b.max_entries.is_none() {
            return Err(BuildError::NoBound);
        }
        if b.max_bytes == Some(0) {
            return Err(BuildError::ZeroBound("max_bytes"));
        }
        if b.max_entries == Some(0) {
            return Err(BuildError::ZeroBound("max_entries"));
        }
        if b.time_to_live == Some(Duration::ZERO) {
            return Err(BuildError::ZeroDuration("time_to_live"));
        }
        if b.time_to_idle == Some(Duration::ZERO) {
            return Err(BuildError::ZeroDuration("time_to_idle"));
        }
        let max_bytes = b.max_bytes.unwrap_or(u64::MAX);
        let max_entries = b.max_entries.unwrap_or(u64::MAX);
        let expiring = b.time_to_live.is_some() || b.time_to_idle.is_some();
        let probe = (b.policy)();
        let overhead = (size_of::<Entry<K, V>>()
            + TABLE_BYTES_PER_ENTRY
            + probe.bytes_per_slot()
            + if expiring { size_of::<Expiry>() } else { 0 }) as u64;
        let n_shards = match b.shards {
            Some(n) if n == 0 || !n.is_power_of_two() || n > MAX_SHARDS => {
                return Err(BuildError::BadShards(n));
            }
            Some(n) if n as u64 > max_entries => {
                return Err(BuildError::MoreShardsThanEntries {
                    shards: n,
                    max_entries,
                });
            }
            Some(n) => n,
            None => default_shards(max_bytes, max_entries),
        };
        if max_bytes / (n_shards as u64) < overhead {
            return Err(BuildError::BudgetTooSmall {
                max_bytes,
                needed: overhead * n_shards as u64,
            });
        }
        let mut first = Some(probe);
        let unit_weights = b.max_bytes.is_none();
        let shards = (0..n_shards)
            .map(|i| {
                let policy = first.take().unwrap_or_else(|| (b.policy)());
                let shard = Shard::new(
                    policy,
                    share(max_bytes, n_shards, i),
                    share(max_entries, n_shards, i),
                    unit_weights,
                );
                Padded(ShardLock::new(shard))
            })
            .collect();
        let heavy = heavy_weight(b.observer.is_some(), max_bytes, n_shards);
        Ok(Self {
            shards,
            shard_mask: n_shards as u64 - 1,
            hasher: b.hasher,
            weigher: b.weigher,
            clock: b.clock,
            listener: b.listener,
            reclaimer: b.reclaimer,
            observer: b.observer,
            name: b.name,
            overhead,
            capacity: AtomicU64::new(max_bytes),
            heavy_weight: AtomicU64::new(heavy),
            resizing: ShardLock::new(()),
            max_entries,
            ttl: b.time_to_live.map(nanos),
            tti: b.time_to_idle.map(nanos),
        })
    }
}

/// Shards for a cache of this size: eight per core, rounded to a power of two, but few enough
/// that each shard keeps at least 64 entries or 64 KiB (fewer, larger shards evict more wisely).
///
/// Measured on two cores (`cargo xtask bench`, against quick_cache in the same run): 16 shards
/// instead of 8 took all-hit at two threads from 0.92x to 1.15x and read-through at two threads
/// from 1.0x to 1.2x, with one thread unchanged; 32 shards gained more at two threads (1.37x)
/// but lost 3 % at one. (Before the shard index moved off the hash's top bits, more shards
/// also shrank the table's tag, and 32 shards ran at half the speed of 8.)
fn default_shards(max_bytes: u64, max_entries: u64) -> usize {
    let cores = std::thread::available_parallelism().map_or(4, usize::from);
    let wanted = (cores * 8).next_power_of_two().min(256) as u64;
    let by_entries = (max_entries / 64).max(1);
    let by_bytes = (max_bytes / (64 << 10)).max(1);
    let n = wanted.min(by_entries).min(by_bytes);
    // Round down to a power of two.
    1usize << (63 - n.leading_zeros())
}

impl<K, V, P, S> Cache<K, V, P, S>
where
    K: Hash + Eq,
    P: EvictionPolicy,
    S: BuildHasher,
{
    #[inline]
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn lock(&self, hash: u64) -> ShardGuard<'_, Shard<K, V, P>> {
        // Bits 32 and up pick the shard. The table inside uses the low bits for the bucket and
        // the top seven for its tag, so neither loses entropy to the shard choice: when the top
        // bits picked the shard (3 of them with 8 shards), every key of a shard shared them,
        // the tag had 16 values instead of 128, and a lookup compared about one key too many.
        let idx = ((hash >> 32) & self.shard_mask) as usize;
        lock_shard(&self.shards[idx].0)
    }

    /// The value for `key`, cloned, if present and not expired.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cache_core::Cache;
    /// let cache: Cache<String, u64, eviction::Lru> = Cache::builder().max_entries(10).build().unwrap();
    /// cache.insert("a".to_string(), 1);
    /// assert_eq!(cache.get("a"), Some(1)); // borrowed forms of the key work
    /// assert_eq!(cache.get("b"), None);
    /// assert_eq!((cache.stats().hits, cache.stats().misses), (1, 1));
    /// ```
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        let hash = self.hash(key);
        let mut shard = self.lock(hash);
        if self.tick(&mut shard) {
            return self.get_sampled(shard, hash, key);
        }
        match shard.lookup(hash, key, &self.clock) {
            Lookup::Hit(v) => Some(v),
            Lookup::Miss => None,
            Lookup::Expired(idx) => {
                self.remove_expired(shard, idx);
                None
            }
        }
    }

    /// A `get` the observer sampled: timed from here (the shard locked), and reported with the
    /// stored key on a hit.
    #[cold]
    #[inline(never)]
    fn get_sampled<Q>(
        &self,
        mut shard: ShardGuard<'_, Shard<K, V, P>>,
        hash: u64,
        key: &Q,
    ) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        let Some(observer) = self.observer.as_deref() else {
            unreachable!("only an observer samples");
        };
        let started = self.clock.now_nanos();
        let found = shard.lookup(hash, key, &self.clock);
        // The latency ends before the report, so it leaves out the observer's own time.
        let elapsed = self.clock.now_nanos().saturating_sub(started);
        let (found, reported) = match found {
            Lookup::Hit(v) => {
                // The stored key is only borrowed under the lock: report the hit there.
                let stored = shard.stored_key(hash, key);
                let reported = catch_unwind(AssertUnwindSafe(|| observer.read(stored, true)));
                drop(shard);
                (Some(v), reported)
            }
            Lookup::Miss => {
                drop(shard);
                (
                    None,
                    catch_unwind(AssertUnwindSafe(|| observer.read(None, false))),
                )
            }
            Lookup::Expired(idx) => {
                self.remove_expired(shard, idx);
                (
                    None,
                    catch_unwind(AssertUnwindSafe(|| observer.read(None, false))),
                )
            }
        };
        let op = if found.is_some() {
            Operation::GetHit
        } else {
            Operation::GetMiss
        };
        observer.latency(op, elapsed);
        if let Err(payload) = reported {
            resume_unwind(payload);
        }
        found
    }

    /// The rest of a `get` that found `idx` expired: removes it and counts the miss.
    #[cold]
    #[inline(never)]
    fn remove_expired(&self, mut shard: ShardGuard<'_, Shard<K, V, P>>, idx: u32) {
        let mut out = Removals::new();
        shard.remove_slot(idx, RemovalCause::Expired, &mut out);
        shard.n_misses += 1;
        drop(shard);
        self.dispatch(out);
    }

    /// Whether `key` is present and not expired; does not count as a read.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cache_core::Cache;
    /// let cache: Cache<u64, u64, eviction::Lru> = Cache::builder().max_entries(10).build().unwrap();
    /// cache.insert(1, 1);
    /// assert!(cache.contains_key(&1));
    /// assert_eq!(cache.stats().hits, 0);
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        self.lock(hash).contains(hash, key, &*self.clock)
    }

    /// Inserts or replaces the value for `key`, with the cache's time-to-live and time-to-idle.
    ///
    /// An entry heavier than a shard's share of the budget, or than `u32::MAX` weight units
    /// (4 GiB when weights are bytes), is not stored (the listener sees it evicted with
    /// [`RemovalCause::Size`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # use cache_core::Cache;
    /// use cache_traits::RemovalCause;
    /// let cache: Cache<u64, Vec<u8>, eviction::Lru> =
    ///     Cache::builder().max_bytes(64 << 10).shards(1).build().unwrap();
    /// cache.insert(1, vec![0; 1000]);
    /// cache.insert(2, vec![0; 100_000]); // heavier than the whole budget: not stored
    /// assert!(cache.contains_key(&1) && !cache.contains_key(&2));
    /// assert_eq!(cache.stats().removals(RemovalCause::Size), 1);
    /// ```
    #[inline]
    pub fn insert(&self, key: K, value: V) {
        let expiry = self.expiry(self.ttl, self.tti);
        self.insert_with_expiry(key, value, expiry);
    }

    /// Inserts or replaces the value for `key` with its own time-to-live, which overrides the
    /// cache's (the cache's time-to-idle still applies).
    ///
    /// # Examples
    ///
    /// ```
    /// # use cache_core::Cache;
    /// use cache_traits::ManualClock;
    /// use std::{sync::Arc, time::Duration};
    /// let clock = Arc::new(ManualClock::new());
    /// let cache: Cache<u64, u64, eviction::Lru> =
    ///     Cache::builder().max_entries(10).clock(clock.clone()).build().unwrap();
    /// cache.insert_with_ttl(1, 1, Duration::from_secs(5));
    /// clock.advance(Duration::from_secs(5));
    /// assert_eq!(cache.get(&1), None);
    /// ```
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) {
        let expiry = self.expiry(Some(nanos(ttl)), self.tti);
        self.insert_with_expiry(key, value, expiry);
    }

    /// Inserts or replaces the value for `key` with its own time-to-live and time-to-idle
    /// (`None` for no such limit), overriding the cache's.
    pub fn insert_with_expiry_policy(
        &self,
        key: K,
        value: V,
        ttl: Option<Duration>,
        tti: Option<Duration>,
    ) {
        let expiry = self.expiry(ttl.map(nanos), tti.map(nanos));
        self.insert_with_expiry(key, value, expiry);
    }

    #[inline]
    fn expiry(&self, ttl: Option<u64>, tti: Option<u64>) -> Expiry {
        if ttl.is_none() && tti.is_none() {
            Expiry::NEVER
        } else {
            Expiry::starting(self.clock.now_nanos(), ttl, tti)
        }
    }

    fn weigh(&self, key: &K, value: &V, expiry: &Expiry) -> u64 {
        let mut weight = self.overhead.saturating_add(self.weigher.weigh(key, value));
        // Caches without a default expiry charge the expiry slot to entries that carry one.
        if *expiry != Expiry::NEVER && self.ttl.is_none() && self.tti.is_none() {
            weight += size_of::<Expiry>() as u64;
        }
        weight
    }

    fn insert_with_expiry(&self, key: K, value: V, expiry: Expiry) {
        let weight = self.weigh(&key, &value, &expiry);
        let hash = self.hash(&key);
        let heavy = weight >= self.heavy_weight.load(Ordering::Relaxed)
            && self.tell_inserted(&key, weight, true);
        let mut out = Removals::new();
        let (sampled, fault, lost) = {
            let mut shard = self.lock(hash);
            let sampled = self.tick_insert(&mut shard, &key, weight, heavy);
            let lost = shard.insert(
                hash,
                key,
                value,
                weight,
                expiry,
                sampled.tracked,
                &self.hasher,
                &mut out,
            );
            (sampled, shard.take_fault(), lost)
        };
        if sampled.started.is_some() || sampled.panic.is_some() || lost.is_some() {
            return self.finish_sampled_insert(sampled, weight, lost, out, fault);
        }
        if !out.is_empty() {
            self.dispatch(out);
        }
        if let Some(fault) = fault {
            raise(fault);
        }
    }

    /// The rest of an insert the observer sampled, or whose observer or key panicked: the
    /// removals go out and the latency is reported before any panic resumes, so that a
    /// panicking observer or clock loses no report of a tracked entry.
    #[cold]
    #[inline(never)]
    fn finish_sampled_insert(
        &self,
        sampled: SampledInsert,
        weight: u64,
        lost: Option<K>,
        out: Removals<K, V>,
        fault: Option<Fault>,
    ) {
        let mut panic = sampled.panic;
        let ended = sampled.started.map(|started| {
            catch_unwind(AssertUnwindSafe(|| {
                self.clock.now_nanos().saturating_sub(started)
            }))
        });
        if let Some(key) = lost {
            self.tell_lost(&key, weight);
        }
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| self.dispatch(out))) {
            panic.get_or_insert(payload);
        }
        if let (Some(observer), Some(ended)) = (&self.observer, ended) {
            let reported = ended.and_then(|elapsed| {
                catch_unwind(AssertUnwindSafe(|| {
                    observer.latency(Operation::Insert, elapsed);
                }))
            });
            if let Err(payload) = reported {
                panic.get_or_insert(payload);
            }
        }
        if let Some(fault) = fault {
            raise(fault);
        }
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
    }

    /// Tells the observer that a tracked insert was lost to a panic of the key's `Eq` or `Hash`
    /// before it was stored (the fault that follows is what reaches the caller).
    #[cold]
    #[inline(never)]
    fn tell_lost(&self, key: &K, weight: u64) {
        if let Some(observer) = &self.observer {
            let _ = catch_unwind(AssertUnwindSafe(|| {
                observer.removed(key, weight, RemovalCause::Explicit)
            }));
        }
    }

    /// Tells the observer of an insert it tracks from now on: a heavy one (`always`: 1/64 of a
    /// shard's budget or more, told before the shard is locked) or one it sampled (told under
    /// the shard's lock, before the entry is stored). Returns `true`: the entry is tracked.
    #[cold]
    #[inline(never)]
    fn tell_inserted(&self, key: &K, weight: u64, always: bool) -> bool {
        if let Some(observer) = &self.observer {
            observer.inserted(key, weight, always);
        }
        true
    }

    /// [`tick`](Self::tick) for an insert of `key` (told to the observer already when `heavy`),
    /// under the shard's lock: when sampled, its start time, and the observer is told of it.
    /// A panic of the observer or the clock here is caught and handed back, so that the insert
    /// is still stored (tracked if the observer was told of it) and every report still made.
    #[inline(always)]
    fn tick_insert(
        &self,
        shard: &mut Shard<K, V, P>,
        key: &K,
        weight: u64,
        heavy: bool,
    ) -> SampledInsert {
        shard.sample_countdown = shard.sample_countdown.wrapping_sub(1);
        if shard.sample_countdown != 0 {
            return SampledInsert {
                started: None,
                tracked: heavy,
                panic: None,
            };
        }
        self.sample_insert(shard, key, weight, heavy)
    }

    #[cold]
    #[inline(never)]
    fn sample_insert(
        &self,
        shard: &mut Shard<K, V, P>,
        key: &K,
        weight: u64,
        heavy: bool,
    ) -> SampledInsert {
        let asked = catch_unwind(AssertUnwindSafe(|| {
            if !self.ask_observer(shard) {
                return (None, heavy);
            }
            let started = self.clock.now_nanos();
            (
                Some(started),
                heavy || self.tell_inserted(key, weight, false),
            )
        }));
        match asked {
            Ok((started, tracked)) => SampledInsert {
                started,
                tracked,
                panic: None,
            },
            Err(payload) => SampledInsert {
                started: None,
                tracked: heavy,
                panic: Some(payload),
            },
        }
    }

    /// Counts a read or insert down on its shard's countdown (under the shard's lock), asking
    /// the observer whether to sample it when the countdown runs out: two instructions on the
    /// hot path, observed or not.
    #[inline(always)]
    fn tick(&self, shard: &mut Shard<K, V, P>) -> bool {
        shard.sample_countdown = shard.sample_countdown.wrapping_sub(1);
        shard.sample_countdown == 0 && self.ask_observer(shard)
    }

    /// Asks the observer whether to sample the operation under way, and sets the shard's
    /// countdown to what it lets pass (without an observer: 2^32 operations, then again).
    ///
    /// A shard's first gap starts halfway, unreported, so that the shards do not all report
    /// their first operation.
    #[cold]
    #[inline(never)]
    fn ask_observer(&self, shard: &mut Shard<K, V, P>) -> bool {
        let Some(observer) = &self.observer else {
            shard.sample_countdown = u32::MAX;
            return false;
        };
        // In case `sample` panics: asked again after the default gap.
        shard.sample_countdown = Sample::NEVER.skip;
        let sample = observer.sample();
        if !std::mem::replace(&mut shard.sampling_started, true) && sample.skip > 0 {
            shard.sample_countdown = sample.skip / 2 + 1;
            return false;
        }
        shard.sample_countdown = sample.skip.saturating_add(1);
        sample.report
    }

    /// Removes `key`, returning its value if it was present and not expired.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cache_core::Cache;
    /// let cache: Cache<u64, u64, eviction::Lru> = Cache::builder().max_entries(10).build().unwrap();
    /// cache.insert(1, 10);
    /// assert_eq!(cache.remove(&1), Some(10));
    /// assert_eq!(cache.remove(&1), None);
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let mut out = Removals::new();
        let cancelled = self.lock(hash).remove(hash, key, &*self.clock, &mut out);
        drop(cancelled);
        let removal = out.into_iter().next()?;
        if removal.cause != RemovalCause::Explicit {
            // An expired entry leaves like an evicted one: listened to, told, dropped or
            // reclaimed.
            let mut expired = Removals::new();
            expired.push(removal);
            self.dispatch(expired);
            return None;
        }
        if let Some(observer) = &self.observer
            && removal.observed
        {
            observer.removed(&removal.key, removal.weight, removal.cause);
        }
        if let Some(listener) = &self.listener {
            listener(&removal.key, &removal.value, removal.cause);
        }
        Some(removal.value)
    }

    /// Removes every entry. Loads in flight when it runs still return their values to their
    /// callers, but do not store them.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cache_core::Cache;
    /// let cache: Cache<u64, u64, eviction::Lru> = Cache::builder().max_entries(10).build().unwrap();
    /// (0..5).for_each(|k| cache.insert(k, k));
    /// cache.invalidate_all();
    /// assert_eq!((cache.entry_count(), cache.weighted_size()), (0, 0));
    /// ```
    pub fn invalidate_all(&self) {
        let mut cancelled = Vec::new();
        self.each_shard(|_, shard, out| {
            cancelled = shard.clear(RemovalCause::Explicit, out);
        });
        drop(cancelled);
    }

    /// Keeps only the entries for which `keep` returns true.
    ///
    /// `keep` runs under each shard's lock: keep it short, and do not call the cache from it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cache_core::Cache;
    /// let cache: Cache<u64, u64, eviction::Lru> = Cache::builder().max_entries(10).build().unwrap();
    /// (0..6).for_each(|k| cache.insert(k, k));
    /// cache.retain(|k, _| k % 2 == 0);
    /// assert_eq!(cache.entry_count(), 3);
    /// ```
    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.each_shard(|_, shard, out| shard.retain(&mut keep, out));
    }

    /// Runs `op` on each shard under its lock, handing out each shard's removals after its
    /// lock is released. A listener, reclaimer or `Drop` that panics does not stop the walk:
    /// every shard gets `op`, then the first panic resumes. A panic of `op` itself (user code
    /// such as `retain`'s predicate) stops the walk once that shard's removals are out.
    fn each_shard(&self, mut op: impl FnMut(usize, &mut Shard<K, V, P>, &mut Removals<K, V>)) {
        let mut fault = None;
        for (i, cell) in self.shards.iter().enumerate() {
            let mut out = Removals::new();
            let stopped = {
                let mut shard = lock_shard(&cell.0);
                let done = catch_unwind(AssertUnwindSafe(|| op(i, &mut shard, &mut out)));
                fault = fault.or(shard.take_fault());
                done.err()
            };
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| self.dispatch(out))) {
                fault = fault.or(Some(Fault::Panic(payload)));
            }
            if let Some(payload) = stopped {
                resume_unwind(payload);
            }
        }
        if let Some(fault) = fault {
            raise(fault);
        }
    }

    /// The value for `key`, loading it with `init` when absent.
    ///
    /// Concurrent callers for the same absent key run one loader; the others wait for its value.
    ///
    /// # Errors
    ///
    /// [`LoadError::LoaderPanicked`] when this caller waited on another caller whose loader
    /// panicked. The cache stays usable, and calling again runs a fresh load.
    ///
    /// # Panics
    ///
    /// When `init` panics, the panic propagates to this caller, after waiters have been told.
    pub fn get_or_insert_with(&self, key: K, init: impl FnOnce() -> V) -> Result<V, LoadError>
    where
        K: Clone,
        V: Clone,
    {
        self.try_get_or_insert_with(key, || Ok(init()))
    }

    /// The value for `key`, loading it with the fallible `init` when absent.
    ///
    /// Concurrent callers for the same absent key run one loader; the others wait. Errors are
    /// not cached: when the loader fails, its caller gets the error and each waiter retries with
    /// its own loader.
    ///
    /// # Errors
    ///
    /// [`LoadError::Failed`] with this caller's loader's error, or
    /// [`LoadError::LoaderPanicked`] as for [`get_or_insert_with`](Self::get_or_insert_with).
    ///
    /// # Panics
    ///
    /// When `init` panics, the panic propagates to this caller, after waiters have been told.
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_core::{Cache, LoadError};
    /// let cache: Cache<u64, u64, eviction::Lru> = Cache::builder().max_entries(10).build().unwrap();
    /// let r = cache.try_get_or_insert_with(1, || Err::<u64, _>("db down"));
    /// assert_eq!(r, Err(LoadError::Failed("db down")));
    /// assert_eq!(cache.try_get_or_insert_with(1, || Ok::<_, &str>(7)), Ok(7));
    /// assert_eq!(cache.get(&1), Some(7));
    /// ```
    pub fn try_get_or_insert_with<E>(
        &self,
        key: K,
        init: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, LoadError<E>>
    where
        K: Clone,
        V: Clone,
    {
        let mut sampled = None;
        let hash = self.hash(&key);
        let mut init = Some(init);
        let mut first_probe = true;
        loop {
            let mut out = Removals::new();
            let step = {
                let mut shard = self.lock(hash);
                if first_probe && self.tick(&mut shard) {
                    sampled = Some(self.clock.now_nanos());
                }
                if let Some(v) = shard.get(hash, &key, &*self.clock, &mut out) {
                    Step::Hit(v)
                } else {
                    if std::mem::take(&mut first_probe) {
                        shard.n_misses += 1;
                    }
                    match shard.flight(hash, &key) {
                        Some(flight) => Step::Wait(flight),
                        None => {
                            let flight = Arc::new(Flight::new());
                            shard.start_flight(
                                hash,
                                key.clone(),
                                Arc::clone(&flight),
                                &self.hasher,
                            );
                            Step::Lead(flight)
                        }
                    }
                }
            };
            // The first lookup's read, when sampled: a leader reports it once its guard is armed
            // (the clock is user code too).
            let read_started = sampled.take();
            if let (Some(observer), Some(started)) = (&self.observer, read_started)
                && !matches!(step, Step::Lead(_))
            {
                let elapsed = self.clock.now_nanos().saturating_sub(started);
                report_read(&**observer, &key, matches!(step, Step::Hit(_)), elapsed);
            }
            // A leader hands its lookup's removals out once its guard is armed (see `lead`).
            let out = if matches!(step, Step::Lead(_)) {
                out
            } else {
                if !out.is_empty() {
                    self.dispatch(out);
                }
                Removals::new()
            };
            match step {
                Step::Hit(v) => return Ok(v),
                Step::Wait(flight) => match flight.wait() {
                    Outcome::Loaded(v) => return Ok(v),
                    Outcome::Panicked => return Err(LoadError::LoaderPanicked),
                    Outcome::Failed | Outcome::Running => continue,
                },
                Step::Lead(flight) => {
                    let Some(init) = init.take() else {
                        return Err(LoadError::LoaderPanicked);
                    };
                    return self.lead(hash, key, flight, init, out, read_started);
                }
            }
        }
    }

    /// Runs the loader for a flight this caller leads, and publishes its outcome.
    ///
    /// The guard stays armed until the outcome is published, so that user code panicking at
    /// any step (the loader, the weigher, `Clone`, the key's `Hash` in the table) still wakes
    /// the waiters. A removal of the key (or of every entry) while the loader runs cancels the
    /// flight: the value goes to this caller and the waiters, but is not stored.
    fn lead<E>(
        &self,
        hash: u64,
        key: K,
        flight: Arc<Flight<V>>,
        init: impl FnOnce() -> Result<V, E>,
        earlier: Removals<K, V>,
        missed: Option<u64>,
    ) -> Result<V, LoadError<E>>
    where
        K: Clone,
        V: Clone,
    {
        let mut guard = LeadGuard {
            cache: self,
            hash,
            flight: &flight,
            armed: true,
        };
        // Removals from the lookup (an expired entry under this key) go out with the guard
        // armed; a listener or `Drop` that panics there does not stop the load: its panic
        // resumes once the outcome is published.
        let mut earlier_panic = if earlier.is_empty() {
            None
        } else {
            catch_unwind(AssertUnwindSafe(|| self.dispatch(earlier))).err()
        };
        let observer = self.observer.as_deref();
        if let (Some(observer), Some(started)) = (observer, missed) {
            let reported = catch_unwind(AssertUnwindSafe(|| {
                let elapsed = self.clock.now_nanos().saturating_sub(started);
                report_read(observer, &key, false, elapsed);
            }));
            earlier_panic = earlier_panic.or(reported.err());
        }
        let load_started = observer.map_or(0, |o| o.load_started());
        let started = self.clock.now_nanos();
        let result = init();
        let elapsed = self.clock.now_nanos().saturating_sub(started);
        match result {
            Ok(value) => {
                let expiry = self.expiry(self.ttl, self.tti);
                let weight = self.weigh(&key, &value, &expiry);
                // The observer reads the loader's allocations now, before the value is cloned
                // for the waiters and the shard. A stored load is an insert: tracked when heavy
                // or sampled, and told before it is stored (a removal cannot overtake it). A
                // panic here reaches this caller, and the waiters are told by the armed guard.
                if let Some(o) = observer {
                    o.loaded(&key, Some(weight), elapsed, load_started);
                }
                let heavy = weight >= self.heavy_weight.load(Ordering::Relaxed)
                    && self.tell_inserted(&key, weight, true);
                let for_waiters = value.clone();
                let stored = value.clone();
                let mut out = Removals::new();
                // `unstored`: the value, when the flight was cancelled; and the key of a tracked
                // value that was not stored.
                let (registered, unstored, fault) = {
                    let mut shard = self.lock(hash);
                    let registered = shard.end_flight(hash, &flight);
                    shard.stats.load_successes += 1;
                    shard.stats.load_nanos += elapsed;
                    let unstored = if registered.is_some() {
                        // A panicking observer leaves the load stored (tracked if heavy); its
                        // panic resumes at the end.
                        let sampled = self.tick_insert(&mut shard, &key, weight, heavy);
                        earlier_panic = earlier_panic.take().or(sampled.panic);
                        let lost = shard.insert(
                            hash,
                            key,
                            stored,
                            weight,
                            expiry,
                            sampled.tracked,
                            &self.hasher,
                            &mut out,
                        );
                        (None, lost)
                    } else {
                        (Some(stored), heavy.then_some(key))
                    };
                    (registered, unstored, shard.take_fault())
                };
                guard.armed = false;
                flight.finish(Outcome::Loaded(for_waiters));
                // A tracked value that was not stored (its key was removed while it loaded, or
                // its `Eq` or `Hash` panicked) leaves at once.
                let (unstored, gone) = unstored;
                if let (Some(observer), Some(key)) = (observer, &gone) {
                    let reported = catch_unwind(AssertUnwindSafe(|| {
                        observer.removed(key, weight, RemovalCause::Explicit);
                    }));
                    earlier_panic = earlier_panic.or(reported.err());
                }
                drop((registered, unstored, gone));
                let dispatched = catch_unwind(AssertUnwindSafe(|| self.dispatch(out)));
                if let Some(payload) = earlier_panic.or(dispatched.err()) {
                    resume_unwind(payload);
                }
                if let Some(fault) = fault {
                    raise(fault);
                }
                Ok(value)
            }
            Err(e) => {
                let registered = {
                    let mut shard = self.lock(hash);
                    shard.stats.load_failures += 1;
                    shard.stats.load_nanos += elapsed;
                    shard.end_flight(hash, &flight)
                };
                guard.armed = false;
                flight.finish(Outcome::Failed);
                drop(registered);
                if let Some(observer) = observer {
                    let reported = catch_unwind(AssertUnwindSafe(|| {
                        observer.loaded(&key, None, elapsed, load_started);
                    }));
                    earlier_panic = earlier_panic.or(reported.err());
                }
                if let Some(payload) = earlier_panic {
                    resume_unwind(payload);
                }
                Err(LoadError::Failed(e))
            }
        }
    }

    /// Hands removed entries to the listener, then to the reclaimer or the drop.
    ///
    /// A listener that panics still sees every removal; the first panic resumes afterwards.
    #[inline]
    fn dispatch(&self, out: Removals<K, V>) {
        if self.listener.is_none() && self.reclaimer.is_none() {
            match &self.observer {
                Some(observer) if out.any_observed() => {
                    dispatch_observed(&**observer, out, self.overhead);
                }
                // Nothing to tell: the removals drop here, after the lock was released.
                _ => drop(out),
            }
            return;
        }
        self.dispatch_slow(out);
    }

    ///
    /// A listener, reclaimer or `Drop` that panics does not stop the others: every removal is
    /// still delivered and dropped, then the first panic resumes.
    #[inline(never)]
    fn dispatch_slow(&self, out: Removals<K, V>) {
        let mut panic = None;
        for r in out {
            if let Some(listener) = &self.listener {
                let called = catch_unwind(AssertUnwindSafe(|| listener(&r.key, &r.value, r.cause)));
                if let Err(payload) = called {
                    panic.get_or_insert(payload);
                }
            }
            // Told after the listener, so the allocator's reading covers only the drop.
            let mut dropping = None;
            if let Some(observer) = &self.observer
                && r.observed
            {
                match catch_unwind(AssertUnwindSafe(|| {
                    observer.removed(&r.key, r.weight, r.cause)
                })) {
                    Ok(started) => dropping = Some((&**observer, started)),
                    Err(payload) => {
                        panic.get_or_insert(payload);
                    }
                }
            }
            let weight = r.weight;
            let released = catch_unwind(AssertUnwindSafe(|| match &self.reclaimer {
                Some(reclaimer) => reclaimer.reclaim((r.key, r.value), r.weight),
                None => {
                    drop(r);
                    if let Some((observer, started)) = dropping
                        && started != 0
                    {
                        observer.dropped(weight.saturating_sub(self.overhead), started);
                    }
                }
            }));
            if let Err(payload) = released {
                panic.get_or_insert(payload);
            }
        }
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
    }

    /// Changes the byte budget, evicting down to it before returning. When the budget shrinks,
    /// each shard also shrinks its hash table and releases the free tail of its slab (slots
    /// below the highest live one stay allocated: slots are not moved).
    ///
    /// A budget below one entry per shard is raised to that.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cache_core::Cache;
    /// let cache: Cache<u64, Vec<u8>, eviction::Lru> = Cache::builder().max_bytes(1 << 20).build().unwrap();
    /// (0..500).for_each(|k| cache.insert(k, vec![0; 1000]));
    /// cache.set_capacity(100 << 10);
    /// assert!(cache.weighted_size() <= 100 << 10);
    /// ```
    pub fn set_capacity(&self, max_bytes: u64) {
        let max_bytes = max_bytes.max(self.overhead * self.shards.len() as u64);
        let _resizing = self.resizing.lock();
        let shrinking = max_bytes < self.capacity.swap(max_bytes, Ordering::Relaxed);
        self.heavy_weight.store(
            heavy_weight(self.observer.is_some(), max_bytes, self.shards.len()),
            Ordering::Relaxed,
        );
        let n = self.shards.len();
        self.each_shard(|i, shard, out| {
            shard.set_budget(share(max_bytes, n, i), out);
            if shrinking {
                shard.release_spare(&self.hasher, out);
            }
        });
    }

    /// Evicts entries in policy order, spread over the shards, until at least `bytes` are freed
    /// or the cache is empty; returns the bytes freed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cache_core::Cache;
    /// use cache_traits::RemovalCause;
    /// let cache: Cache<u64, u64, eviction::Lru> = Cache::builder().max_entries(100).build().unwrap();
    /// (0..50).for_each(|k| cache.insert(k, k));
    /// let freed = cache.evict_bytes(1000, RemovalCause::Pressure);
    /// assert!(freed >= 1000);
    /// assert_eq!(cache.stats().removed_weight_of(RemovalCause::Pressure), freed);
    /// ```
    pub fn evict_bytes(&self, bytes: u64, cause: RemovalCause) -> u64 {
        let n = self.shards.len() as u64;
        let mut freed = 0;
        while freed < bytes {
            let per_shard = (bytes - freed).div_ceil(n);
            let mut round = 0;
            for shard in self.shards.iter() {
                let mut out = Removals::new();
                let fault = {
                    let mut shard = lock_shard(&shard.0);
                    round += shard.evict_bytes(per_shard, cause, &mut out);
                    shard.take_fault()
                };
                self.dispatch(out);
                if let Some(fault) = fault {
                    raise(fault);
                }
            }
            if round == 0 {
                break;
            }
            freed += round;
        }
        freed
    }

    /// Removes expired entries, examining a bounded number of slots per shard (resuming where the
    /// previous call stopped); returns the number removed. Expired entries are also removed
    /// when read, so this only bounds how long unread ones linger.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cache_core::Cache;
    /// use cache_traits::ManualClock;
    /// use std::{sync::Arc, time::Duration};
    /// let clock = Arc::new(ManualClock::new());
    /// let cache: Cache<u64, u64, eviction::Lru> = Cache::builder()
    ///     .max_entries(10)
    ///     .time_to_live(Duration::from_secs(1))
    ///     .clock(clock.clone())
    ///     .build()
    ///     .unwrap();
    /// (0..5).for_each(|k| cache.insert(k, k));
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(cache.run_maintenance(), 5);
    /// assert_eq!(cache.entry_count(), 0);
    /// ```
    pub fn run_maintenance(&self) -> u64 {
        let now = self.clock.now_nanos();
        let mut removed = 0;
        self.each_shard(|_, shard, out| removed += shard.sweep(SWEEP_BUDGET_PER_SHARD, now, out));
        removed
    }
}

impl<K, V, P, S> Cache<K, V, P, S> {
    /// Counters since the cache was built, summed over shards.
    pub fn stats(&self) -> CacheStats {
        let mut total = CacheStats::default();
        for shard in self.shards.iter() {
            total.merge(&lock_shard(&shard.0).stats());
        }
        total
    }

    /// Bytes charged for the entries currently stored.
    pub fn weighted_size(&self) -> u64 {
        self.shards.iter().map(|s| lock_shard(&s.0).weighted).sum()
    }

    /// Entries currently stored (expired ones not yet removed included).
    pub fn entry_count(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| lock_shard(&s.0).len() as u64)
            .sum()
    }

    /// The byte budget (`u64::MAX` when only an entry bound was set).
    pub fn capacity(&self) -> u64 {
        self.capacity.load(Ordering::Relaxed)
    }

    /// The entry bound (`u64::MAX` when only a byte budget was set).
    pub fn max_entries(&self) -> u64 {
        self.max_entries
    }

    /// Bytes charged per entry on top of its weigher's figure.
    pub fn entry_overhead(&self) -> u64 {
        self.overhead
    }

    /// The number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Bytes the cache's own structures have allocated (tables, slabs), beyond what entries own.
    pub fn structure_bytes(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| lock_shard(&s.0).structure_bytes() as u64)
            .sum()
    }

    /// The cache's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Each shard's weight budget, for tests.
    #[cfg(test)]
    pub(crate) fn shard_budgets(&self) -> Vec<u64> {
        self.shards
            .iter()
            .map(|s| lock_shard(&s.0).capacity)
            .collect()
    }
}

/// Tells the observer of each removal and drops it, when there is no listener or reclaimer.
///
/// A panicking observer or `Drop` stops nothing: the rest of the removals are still told and
/// dropped, then the first panic resumes.
#[inline(never)]
fn dispatch_observed<K, V>(observer: &dyn CacheObserver<K>, out: Removals<K, V>, overhead: u64) {
    let mut panic = None;
    let mut rest = out.into_iter();
    // One `catch_unwind` for the whole batch; after a panic, the walk resumes at the next
    // removal.
    while let Err(payload) = catch_unwind(AssertUnwindSafe(|| {
        for r in &mut rest {
            if !r.observed {
                drop(r);
                continue;
            }
            let weight = r.weight;
            let started = observer.removed(&r.key, weight, r.cause);
            drop(r);
            if started != 0 {
                observer.dropped(weight.saturating_sub(overhead), started);
            }
        }
    })) {
        panic.get_or_insert(payload);
    }
    if let Some(payload) = panic {
        resume_unwind(payload);
    }
}

/// What [`Cache::tick_insert`] found: the start time of a sampled insert, whether the entry
/// is tracked, and a panic of the observer or the clock to resume once the insert is done.
struct SampledInsert {
    started: Option<u64>,
    tracked: bool,
    panic: Option<Box<dyn std::any::Any + Send>>,
}

/// Reports a sampled read of `key` and its latency.
fn report_read<K: ?Sized>(observer: &dyn CacheObserver<K>, key: &K, hit: bool, elapsed: u64) {
    observer.read(Some(key), hit);
    let op = if hit {
        Operation::GetHit
    } else {
        Operation::GetMiss
    };
    observer.latency(op, elapsed);
}

/// Reports a fault of user code once the shard lock is released and the removals are handed
/// out: a panic resumes; a broken policy rule panics in debug builds and is ignored in release
/// builds (the shard has already evicted in the policy's place).
#[cold]
#[inline(never)]
fn raise(fault: Fault) {
    match fault {
        Fault::Panic(payload) => resume_unwind(payload),
        Fault::Contract(message) => {
            if cfg!(debug_assertions) {
                panic!("{message}");
            }
        }
    }
}

/// Locks a shard. A panic under a shard lock leaves the shard consistent (user code runs there
/// only before or after mutations), so the lock has no poisoning.
#[inline]
fn lock_shard<T>(m: &ShardLock<T>) -> ShardGuard<'_, T> {
    m.lock()
}

enum Step<V> {
    Hit(V),
    Wait(Arc<Flight<V>>),
    Lead(Arc<Flight<V>>),
}

/// Ends a flight as panicked if the leader's loader unwinds, so waiters get an error.
struct LeadGuard<'a, K, V, P, S>
where
    K: Hash + Eq,
    P: EvictionPolicy,
    S: BuildHasher,
{
    cache: &'a Cache<K, V, P, S>,
    hash: u64,
    flight: &'a Arc<Flight<V>>,
    armed: bool,
}

impl<K, V, P, S> Drop for LeadGuard<'_, K, V, P, S>
where
    K: Hash + Eq,
    P: EvictionPolicy,
    S: BuildHasher,
{
    fn drop(&mut self) {
        if self.armed {
            let registered = {
                let mut shard = self.cache.lock(self.hash);
                shard.stats.load_failures += 1;
                shard.end_flight(self.hash, self.flight)
            };
            self.flight.finish(Outcome::Panicked);
            drop(registered);
        }
    }
}

impl<K, V, P, S> Drop for Cache<K, V, P, S> {
    /// Tells the observer that the entries it tracks go with the cache (as explicit removals),
    /// so an observer that outlives the cache does not count them. A panicking observer is
    /// ignored here: a drop cannot report it.
    fn drop(&mut self) {
        let Some(observer) = self.observer.take() else {
            return;
        };
        for cell in self.shards.iter() {
            let shard = lock_shard(&cell.0);
            for (key, weight) in shard.tracked() {
                let _ = catch_unwind(AssertUnwindSafe(|| {
                    observer.removed(key, weight, RemovalCause::Explicit)
                }));
            }
        }
    }
}

impl<K, V, P, S> fmt::Debug for Cache<K, V, P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("name", &self.name)
            .field("shards", &self.shards.len())
            .field("capacity", &self.capacity())
            .field("max_entries", &self.max_entries)
            .field("entry_overhead", &self.overhead)
            .finish_non_exhaustive()
    }
}

impl<K, V, P, S> ManagedCache for Cache<K, V, P, S>
where
    K: Hash + Eq + Send + Sync,
    V: Send + Sync,
    P: EvictionPolicy,
    S: BuildHasher + Send + Sync,
{
    fn name(&self) -> &str {
        Cache::name(self)
    }
    fn stats(&self) -> CacheStats {
        Cache::stats(self)
    }
    fn weighted_size(&self) -> u64 {
        Cache::weighted_size(self)
    }
    fn entry_count(&self) -> u64 {
        Cache::entry_count(self)
    }
    fn capacity(&self) -> u64 {
        Cache::capacity(self)
    }
    fn set_capacity(&self, bytes: u64) {
        Cache::set_capacity(self, bytes)
    }
    fn evict_bytes(&self, bytes: u64, cause: RemovalCause) -> u64 {
        Cache::evict_bytes(self, bytes, cause)
    }
    fn run_maintenance(&self) -> u64 {
        Cache::run_maintenance(self)
    }
}

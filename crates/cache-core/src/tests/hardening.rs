//! Tests of the cache under misbehaving user code and hostile use (issue 11): each reproduces
//! a defect that was found, and holds the cache to staying sound, bounded and usable.

use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use cache_traits::{CacheObserver, EvictionPolicy, RemovalCause, Sample, Weigher};
use eviction::{ArcPolicy, ClockTinyLfu, Hybrid, Lfu, Lru, S3Fifo, Sieve};

use crate::{BuildError, Cache, LoadError};

/// Runs `f` on its own thread and fails the test if it has not returned within a minute: a
/// hang becomes a failure instead of a stuck test run.
fn within_a_minute<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(v)) => v,
        Ok(Err(payload)) => std::panic::resume_unwind(payload),
        Err(_) => panic!("{what} did not return within a minute: it hangs"),
    }
}

/// The message of a caught panic.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// How a [`Broken`] policy misbehaves.
const NAMES_A_FOREIGN_SLOT: u8 = 0;
const NAMES_NOTHING: u8 = 1;
const NAMES_A_STALE_SLOT: u8 = 2;
const PANICS_IN_EVICT: u8 = 3;
const PANICS_ON_ACCESS: u8 = 4;

/// An LRU that breaks the policy contract in the way `MODE` says.
#[derive(Default)]
struct Broken<const MODE: u8> {
    lru: Lru,
    evictions: u64,
    /// The highest slot it was given.
    max_slot: u32,
    /// The highest slot it was given before the last `clear`, to name again
    /// (`NAMES_A_STALE_SLOT`).
    stale: Option<u32>,
}

impl<const MODE: u8> EvictionPolicy for Broken<MODE> {
    fn name(&self) -> &'static str {
        "broken"
    }
    fn set_capacity(&mut self, capacity: u64) {
        self.lru.set_capacity(capacity)
    }
    fn on_insert(&mut self, slot: u32, hash: u64, weight: u64) {
        self.max_slot = self.max_slot.max(slot);
        self.lru.on_insert(slot, hash, weight)
    }
    fn on_access(&mut self, slot: u32, hash: u64) {
        if MODE == PANICS_ON_ACCESS {
            panic!("policy bug in on_access");
        }
        self.lru.on_access(slot, hash)
    }
    fn on_remove(&mut self, slot: u32) {
        self.lru.on_remove(slot)
    }
    fn evict(&mut self) -> Option<u32> {
        self.evictions += 1;
        match MODE {
            NAMES_A_FOREIGN_SLOT if self.evictions % 3 == 0 => {
                Some(1_000_000 + self.evictions as u32)
            }
            NAMES_NOTHING => None,
            NAMES_A_STALE_SLOT if self.evictions % 2 == 0 && self.stale.is_some() => self.stale,
            PANICS_IN_EVICT if self.evictions % 4 == 0 => panic!("policy bug in evict"),
            _ => self.lru.evict(),
        }
    }
    fn clear(&mut self) {
        self.stale = Some(self.max_slot);
        self.max_slot = 0;
        self.lru.clear()
    }
}

/// Inserts `n` keys into `cache`, catching panics; returns the messages of the panics.
fn churn<P: EvictionPolicy>(cache: &Cache<u64, u64, P>, n: u64) -> Vec<String> {
    let mut panics = Vec::new();
    for k in 0..n {
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| cache.insert(k, k))) {
            panics.push(message(&*p));
        }
        assert!(
            cache.entry_count() <= cache.max_entries(),
            "over the entry bound at key {k}"
        );
        assert!(
            cache.weighted_size() <= cache.capacity(),
            "over the byte budget at key {k}"
        );
        if k % 7 == 0 {
            let _ = catch_unwind(AssertUnwindSafe(|| cache.get(&(k / 2))));
        }
    }
    panics
}

#[test]
fn a_policy_naming_a_slot_without_an_entry_cannot_break_the_cache() {
    // Before: an unchecked slab read of slot 1,000,003 (a segfault in release builds).
    let cache: Cache<u64, u64, Broken<NAMES_A_FOREIGN_SLOT>> =
        Cache::builder().max_entries(64).shards(1).build().unwrap();
    let panics = churn(&cache, 1_000);
    if cfg!(debug_assertions) {
        assert!(
            !panics.is_empty(),
            "debug builds say the policy broke a rule"
        );
        for p in &panics {
            assert!(p.contains("`broken`") && p.contains("returned slot"), "{p}");
        }
    } else {
        assert!(panics.is_empty(), "{panics:?}");
    }
    assert_eq!(cache.entry_count(), 64);
    for k in 936..1_000 {
        assert!(cache.get(&k).is_none_or(|v| v == k));
    }
}

#[test]
fn a_policy_naming_an_evicted_slot_cannot_break_the_cache() {
    // Before: an unchecked read past the slab's end: a thousand small entries went through
    // slots up to about 1,000; after `invalidate_all` a few large ones use a handful, and the
    // policy names one of the old slots.
    let cache: Cache<u64, String, Broken<NAMES_A_STALE_SLOT>> = Cache::builder()
        .max_bytes(64 << 10)
        .shards(1)
        .build()
        .unwrap();
    for k in 0..2_000u64 {
        let _ = catch_unwind(AssertUnwindSafe(|| cache.insert(k, format!("value {k}"))));
    }
    cache.invalidate_all();
    for k in 0..200u64 {
        let _ = catch_unwind(AssertUnwindSafe(|| cache.insert(k, "x".repeat(8_000))));
        assert!(cache.weighted_size() <= 64 << 10);
    }
    for k in 0..200u64 {
        assert!(cache.get(&k).is_none_or(|v| v.len() == 8_000));
    }
}

#[test]
fn a_policy_that_names_no_victim_cannot_hold_the_cache_over_its_bound() {
    // Before: 1,000 entries held under a 64-entry bound.
    let cache: Cache<u64, u64, Broken<NAMES_NOTHING>> =
        Cache::builder().max_entries(64).shards(1).build().unwrap();
    let panics = churn(&cache, 1_000);
    assert_eq!(cache.entry_count(), 64);
    if cfg!(debug_assertions) {
        assert!(
            panics.iter().all(|p| p.contains("returned None")),
            "{panics:?}"
        );
    }
    let bytes: Cache<u64, u64, Broken<NAMES_NOTHING>> = Cache::builder()
        .max_bytes(64 << 10)
        .shards(2)
        .build()
        .unwrap();
    churn(&bytes, 10_000);
    assert!(bytes.weighted_size() <= 64 << 10);
}

#[test]
fn a_policy_that_panics_leaves_the_cache_bounded_and_usable() {
    let cache: Cache<u64, u64, Broken<PANICS_IN_EVICT>> =
        Cache::builder().max_entries(32).shards(1).build().unwrap();
    let panics = churn(&cache, 500);
    assert!(
        panics.iter().any(|p| p.contains("policy bug in evict")),
        "{panics:?}"
    );
    assert!(cache.entry_count() <= 32);
    // Shrinking runs the policy too.
    let bytes: Cache<u64, u64, Broken<PANICS_IN_EVICT>> = Cache::builder()
        .max_bytes(1 << 20)
        .shards(1)
        .build()
        .unwrap();
    churn(&bytes, 2_000);
    let _ = catch_unwind(AssertUnwindSafe(|| bytes.set_capacity(4 << 10)));
    assert!(bytes.weighted_size() <= 4 << 10);
    let _ = catch_unwind(AssertUnwindSafe(|| {
        bytes.evict_bytes(1 << 10, RemovalCause::Pressure)
    }));
    bytes.insert(1, 1);
    assert!(bytes.weighted_size() <= bytes.capacity());
}

#[test]
fn a_policy_that_panics_on_a_hit_does_not_wedge_the_hit_buffer() {
    // Before: the panic left the hit buffer full, and every later hit indexed past its end.
    let cache: Cache<u64, u64, Broken<PANICS_ON_ACCESS>> =
        Cache::builder().max_entries(100).shards(1).build().unwrap();
    cache.insert(1, 1);
    let mut panics = 0;
    for _ in 0..200 {
        match catch_unwind(AssertUnwindSafe(|| cache.get(&1))) {
            Ok(v) => assert_eq!(v, Some(1)),
            Err(p) => {
                assert_eq!(message(&*p), "policy bug in on_access");
                panics += 1;
            }
        }
    }
    assert!(
        (1..=10).contains(&panics),
        "{panics} panics: one per full buffer"
    );
}

/// A weigher that panics while armed.
struct ArmedWeigher(Arc<AtomicBool>);

impl Weigher<u64, u64> for ArmedWeigher {
    fn weigh(&self, _: &u64, _: &u64) -> u64 {
        assert!(!self.0.load(Ordering::SeqCst), "weigher bug");
        0
    }
}

/// A value whose `Clone` panics once its flag is set (and clears the flag).
#[derive(Debug)]
struct Fragile(u64, Arc<AtomicBool>);

impl Clone for Fragile {
    fn clone(&self) -> Self {
        assert!(!self.1.swap(false, Ordering::SeqCst), "clone bug");
        Fragile(self.0, Arc::clone(&self.1))
    }
}

impl cache_traits::HeapSize for Fragile {
    fn heap_size(&self) -> usize {
        0
    }
}

#[test]
fn a_load_whose_weigher_panics_releases_waiters_and_later_callers() {
    // Before: the flight was disarmed before the weigher ran; a later caller waited forever.
    let armed = Arc::new(AtomicBool::new(true));
    let cache: Arc<Cache<u64, u64, Lru>> = Arc::new(
        Cache::builder_with_weigher(ArmedWeigher(Arc::clone(&armed)))
            .max_entries(10)
            .build()
            .unwrap(),
    );
    let gate = Arc::new(Barrier::new(2));
    let (c, g) = (Arc::clone(&cache), Arc::clone(&gate));
    let leader = std::thread::spawn(move || {
        catch_unwind(AssertUnwindSafe(|| {
            c.get_or_insert_with(7, || {
                g.wait();
                std::thread::sleep(Duration::from_millis(50));
                70
            })
        }))
    });
    gate.wait();
    let c = Arc::clone(&cache);
    let waiter = within_a_minute("a waiter", move || c.get_or_insert_with(7, || 71));
    let led = leader.join().unwrap();
    assert!(led.is_err(), "the weigher's panic reaches the leader");
    assert!(
        matches!(waiter, Err(LoadError::LoaderPanicked) | Ok(71)),
        "{waiter:?}"
    );
    armed.store(false, Ordering::SeqCst);
    let c = Arc::clone(&cache);
    let later = within_a_minute("a later caller", move || c.get_or_insert_with(7, || 72));
    assert!(matches!(later, Ok(71) | Ok(72)), "{later:?}");
}

#[test]
fn a_load_whose_value_clone_panics_releases_its_waiters() {
    // Before: the leader's guard was disarmed before it cloned the value to store; a waiter
    // blocked forever.
    let cache: Arc<Cache<u64, Fragile, Lru>> =
        Arc::new(Cache::builder().max_entries(10).build().unwrap());
    let gate = Arc::new(Barrier::new(2));
    let (c, g) = (Arc::clone(&cache), Arc::clone(&gate));
    let leader = std::thread::spawn(move || {
        catch_unwind(AssertUnwindSafe(|| {
            c.get_or_insert_with(3, || {
                g.wait();
                std::thread::sleep(Duration::from_millis(50));
                Fragile(30, Arc::new(AtomicBool::new(true)))
            })
        }))
    });
    gate.wait();
    let c = Arc::clone(&cache);
    let fresh = Fragile(31, Arc::new(AtomicBool::new(false)));
    let waiter = within_a_minute("a waiter", move || {
        c.get_or_insert_with(3, || fresh).map(|v| v.0)
    });
    assert!(
        leader.join().unwrap().is_err(),
        "the clone's panic reaches the leader"
    );
    assert!(
        matches!(waiter, Err(LoadError::LoaderPanicked) | Ok(31)),
        "{waiter:?}"
    );
    let c = Arc::clone(&cache);
    let fresh = Fragile(32, Arc::new(AtomicBool::new(false)));
    let later = within_a_minute("a later caller", move || {
        c.get_or_insert_with(3, || fresh).map(|v| v.0)
    });
    assert!(matches!(later, Ok(31) | Ok(32)), "{later:?}");
}

#[test]
fn entry_bounded_caches_work_with_every_policy() {
    // Before: ArcPolicy overflowed (a panic in debug builds), S3-FIFO kept ghosts without bound.
    fn check<P: EvictionPolicy + Default + 'static>() {
        let cache: Cache<u64, u64, P> = Cache::builder().max_entries(100).build().unwrap();
        for k in 0..20_000u64 {
            cache.insert(k % 3_000, k);
            if k % 3 == 0 {
                cache.get(&(k % 50));
            }
        }
        assert!(cache.entry_count() <= 100);
        let hits_before = cache.stats().hits;
        for _ in 0..10 {
            for k in 0..50u64 {
                if cache.get(&k).is_none() {
                    cache.insert(k, k);
                }
            }
        }
        assert!(
            cache.stats().hits > hits_before,
            "{}: the hot keys stay",
            P::default().name()
        );
    }
    check::<Lru>();
    check::<Lfu>();
    check::<ArcPolicy>();
    check::<S3Fifo>();
    check::<Sieve>();
    check::<Hybrid>();
    check::<ClockTinyLfu>();
}

#[test]
fn max_entries_below_the_shard_count_fails_at_build() {
    // Before: each of 8 shards held one entry under a bound of 2.
    let err = Cache::<u64, u64, Lru>::builder()
        .max_entries(2)
        .shards(8)
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        BuildError::MoreShardsThanEntries {
            shards: 8,
            max_entries: 2
        }
    );
    assert!(err.to_string().contains("set at most 2 shards"), "{err}");
    let cache: Cache<u64, u64, Lru> = Cache::builder().max_entries(2).build().unwrap();
    (0..100).for_each(|k| cache.insert(k, k));
    assert_eq!(cache.entry_count(), 2);
}

#[test]
fn concurrent_set_capacity_calls_leave_one_budget() {
    // Before: shards could end with a mix of the two budgets. The shrinking call is slowed by
    // its listener between shards, so the other call overtakes it.
    let cache: Cache<u64, u64, Lru> = Cache::builder()
        .max_bytes(64 << 20)
        .shards(32)
        .eviction_listener(|_: &u64, _: &u64, _| std::thread::sleep(Duration::from_micros(20)))
        .build()
        .unwrap();
    for round in 0..30u64 {
        cache.set_capacity(64 << 20);
        (0..1_000).for_each(|k| cache.insert(k, k));
        let (a, b) = ((16 << 10) + round * 64, (1 << 20) + round * 64);
        let gate = Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                gate.wait();
                cache.set_capacity(a)
            });
            s.spawn(|| {
                gate.wait();
                cache.set_capacity(b)
            });
        });
        let budgets = cache.shard_budgets();
        let total: u64 = budgets.iter().sum();
        assert_eq!(
            total,
            cache.capacity(),
            "round {round}: shards hold {budgets:?}"
        );
        assert!(total == a || total == b);
    }
}

#[test]
fn remove_and_invalidate_all_cancel_a_load_in_flight() {
    // Before: the value loaded before the removal landed after it.
    for invalidate_all in [false, true] {
        let cache: Arc<Cache<u64, u64, Lru>> =
            Arc::new(Cache::builder().max_entries(10).build().unwrap());
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let c = Arc::clone(&cache);
        let loader = std::thread::spawn(move || {
            c.get_or_insert_with(9, || {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                90
            })
        });
        started_rx.recv().unwrap();
        if invalidate_all {
            cache.invalidate_all();
        } else {
            assert_eq!(cache.remove(&9), None);
        }
        release_tx.send(()).unwrap();
        assert_eq!(
            loader.join().unwrap(),
            Ok(90),
            "the loader's caller gets its value"
        );
        assert_eq!(
            cache.get(&9),
            None,
            "but it is not stored (invalidate_all: {invalidate_all})"
        );
        assert_eq!(
            cache.get_or_insert_with(9, || 91),
            Ok(91),
            "a new load runs"
        );
    }
}

/// Values whose `Drop` panics for odd payloads, counting drops.
struct Explosive(u64);

static EXPLOSIVE_DROPS: AtomicUsize = AtomicUsize::new(0);

impl Drop for Explosive {
    fn drop(&mut self) {
        EXPLOSIVE_DROPS.fetch_add(1, Ordering::SeqCst);
        if self.0 % 2 == 1 && !std::thread::panicking() {
            panic!("drop bug");
        }
    }
}

#[test]
fn a_panicking_drop_does_not_stop_the_listener() {
    // Before: the first panicking drop ended delivery; the other removals never reached it.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let cache: Cache<u64, Explosive, Lru> = Cache::builder_with_weigher(|_: &u64, _: &Explosive| 0)
        .max_entries(100)
        .shards(1)
        .eviction_listener(move |k: &u64, _: &Explosive, _| sink.lock().unwrap().push(*k))
        .build()
        .unwrap();
    (0..10).for_each(|k| cache.insert(k, Explosive(k)));
    let before = EXPLOSIVE_DROPS.load(Ordering::SeqCst);
    let r = catch_unwind(AssertUnwindSafe(|| cache.invalidate_all()));
    assert_eq!(r.err().map(|p| message(&*p)).as_deref(), Some("drop bug"));
    let mut keys = seen.lock().unwrap().clone();
    keys.sort_unstable();
    assert_eq!(
        keys,
        (0..10).collect::<Vec<_>>(),
        "every removal reached the listener"
    );
    assert_eq!(
        EXPLOSIVE_DROPS.load(Ordering::SeqCst) - before,
        10,
        "and was dropped"
    );
    cache.insert(1, Explosive(2));
    assert_eq!(cache.entry_count(), 1);
}

/// A key whose `Hash` or `Eq` panics at a chosen call, and which counts live instances.
struct Touchy(u64);

/// Hash calls left before one panics (0: none will).
static HASH_FUSE: AtomicU64 = AtomicU64::new(0);
/// Eq calls left before one panics (0: none will).
static EQ_FUSE: AtomicU64 = AtomicU64::new(0);
static TOUCHY_LIVE: AtomicI64 = AtomicI64::new(0);

/// Burns one call of `fuse`: true when it was the last one.
fn burn(fuse: &AtomicU64) -> bool {
    fuse.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)) == Ok(1)
}

impl Touchy {
    fn new(k: u64) -> Self {
        TOUCHY_LIVE.fetch_add(1, Ordering::SeqCst);
        Touchy(k)
    }
}

impl Clone for Touchy {
    fn clone(&self) -> Self {
        Touchy::new(self.0)
    }
}

impl Drop for Touchy {
    fn drop(&mut self) {
        TOUCHY_LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hash for Touchy {
    fn hash<H: Hasher>(&self, state: &mut H) {
        assert!(!burn(&HASH_FUSE), "hash bug");
        // Keys below 2^20 share 16 hashes (long probe runs, many `Eq` calls); the others
        // hash apart.
        if self.0 < 1 << 20 {
            (self.0 % 16).hash(state);
        } else {
            self.0.hash(state);
        }
    }
}

impl PartialEq for Touchy {
    fn eq(&self, other: &Self) -> bool {
        assert!(!burn(&EQ_FUSE), "eq bug");
        self.0 == other.0
    }
}

impl Eq for Touchy {}

#[test]
fn a_panicking_hash_or_eq_under_churn_loses_and_leaks_nothing() {
    // Before: a `Hash` panic while the table rehashed in place dropped slot ids from the table;
    // their entries stayed in the slab, charged and never dropped (hashbrown 0.16 also left
    // the table itself inconsistent). Churn over 3,000 keys with as many removals as inserts
    // keeps about 1,500 live: the table fills with tombstones and rehashes in place, and a
    // fuse set at random makes one `Hash` (or `Eq`) call in a few thousand panic.
    // With an observer tracking every insert, the same churn must leave it tracking exactly
    // the live entries (before: an insert whose key panicked before it was stored stayed
    // tracked forever).
    for (bound, observed) in [(None, false), (Some(1_000), false), (Some(1_000), true)] {
        let counting = Arc::new(CountingObserver::default());
        let mut b = Cache::builder_with_weigher(|_: &Touchy, _: &u64| 0).shards(1);
        if observed {
            b = b.observer(counting.clone());
        }
        let cache: Cache<Touchy, u64, Lru> = match bound {
            Some(n) => b.max_entries(n),
            None => b.max_entries(1 << 20),
        }
        .build()
        .unwrap();
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut panics = 0;
        for _ in 0..200_000u64 {
            let r = next();
            if r % 64 == 0 {
                HASH_FUSE.store(next() % 4_000 + 2, Ordering::Relaxed);
            } else if r % 64 == 1 {
                EQ_FUSE.store(next() % 4_000 + 2, Ordering::Relaxed);
            }
            let k = next() % 3_000;
            let op = catch_unwind(AssertUnwindSafe(|| {
                if r % 2 == 0 {
                    cache.insert(Touchy::new(k), k);
                } else {
                    cache.remove(&Touchy::new(k));
                }
            }));
            panics += usize::from(op.is_err());
        }
        HASH_FUSE.store(0, Ordering::Relaxed);
        EQ_FUSE.store(0, Ordering::Relaxed);
        assert!(panics > 100, "the test must exercise panics ({panics})");
        let live = (0..3_000)
            .filter(|&k| cache.get(&Touchy::new(k)).is_some_and(|v| v == k))
            .count();
        assert_eq!(
            live as u64,
            cache.entry_count(),
            "every entry is findable, with its value"
        );
        assert!(cache.entry_count() <= bound.unwrap_or(3_000));
        if observed {
            assert_eq!(
                counting.tracked.load(Ordering::SeqCst),
                cache.entry_count() as i64,
                "the observer tracks exactly the live entries"
            );
        }
        drop(cache);
        assert_eq!(
            TOUCHY_LIVE.load(Ordering::SeqCst),
            0,
            "every key was dropped exactly once"
        );
    }
}

/// Samples every operation and counts the entries it tracks.
#[derive(Default)]
struct CountingObserver {
    tracked: AtomicI64,
}

impl<K> CacheObserver<K> for CountingObserver {
    fn sample(&self) -> Sample {
        Sample::new(true, 0)
    }
    fn inserted(&self, _key: &K, _weight: u64, _always: bool) {
        self.tracked.fetch_add(1, Ordering::SeqCst);
    }
    fn removed(&self, _key: &K, _weight: u64, _cause: RemovalCause) -> u64 {
        self.tracked.fetch_sub(1, Ordering::SeqCst);
        0
    }
}

/// A key that is its own hash (through [`Identity`]), so a test places it in the table, whose
/// `Hash` panics at a chosen call, and which counts live instances.
struct Placed(u64);

static PLACED_FUSE: AtomicU64 = AtomicU64::new(0);
static PLACED_LIVE: AtomicI64 = AtomicI64::new(0);

impl Placed {
    fn new(k: u64) -> Self {
        PLACED_LIVE.fetch_add(1, Ordering::SeqCst);
        Placed(k)
    }
}

impl Drop for Placed {
    fn drop(&mut self) {
        PLACED_LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hash for Placed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        assert!(!burn(&PLACED_FUSE), "hash bug");
        state.write_u64(self.0);
    }
}

impl PartialEq for Placed {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Placed {}

/// A hasher that returns the `u64` it was given: key `k` lives in table bucket `k` or after.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys")
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[test]
fn a_hash_panicking_during_an_in_place_rehash_loses_and_leaks_nothing() {
    // Before: when the hasher panics in an in-place rehash, hashbrown drops the ids it has not
    // yet moved; their entries stayed in the slab, charged, in the policy, never dropped.
    // Keys 0..1700 fill buckets 0..1700 of a 2048-bucket table; removing 0..1600 from the top
    // down leaves tombstones (each had a full run on both sides); keys 1700.. then use up the
    // room left, and the insert after rehashes the ~190 live entries in place, with the fuse
    // set to panic partway.
    for fuse in [1, 2, 40, 120, 185] {
        let cache: Cache<Placed, u64, Lru, _> =
            Cache::builder_with_weigher(|_: &Placed, _: &u64| 0)
                .max_entries(1 << 20)
                .shards(1)
                .hasher(std::hash::BuildHasherDefault::<Identity>::default())
                .build()
                .unwrap();
        for k in 0..1_700 {
            cache.insert(Placed::new(k), k);
        }
        for k in (0..1_600).rev() {
            cache.remove(&Placed::new(k));
        }
        let mut k = 1_700;
        let panicked = loop {
            if k == 2_000 {
                break false;
            }
            let before = cache.structure_bytes();
            let fresh = Placed::new(k);
            // The cache hashes the key once before its table does: the fuse skips that call.
            PLACED_FUSE.store(fuse + 1, Ordering::Relaxed);
            let r = catch_unwind(AssertUnwindSafe(|| cache.insert(fresh, k)));
            PLACED_FUSE.store(0, Ordering::Relaxed);
            k += 1;
            if r.is_err() {
                assert_eq!(cache.structure_bytes(), before, "the rehash was in place");
                break true;
            }
        };
        assert!(panicked, "fuse {fuse}: no insert rehashed in place");
        let expected: Vec<u64> = (1_600..k).collect();
        let found = expected
            .iter()
            .filter(|&&k| cache.contains_key(&Placed::new(k)))
            .count();
        assert_eq!(
            found as u64,
            cache.entry_count(),
            "fuse {fuse}: lost entries are evicted"
        );
        assert!(
            found + 1 < expected.len(),
            "fuse {fuse}: the panic cost entries"
        );
        cache.insert(Placed::new(5), 5);
        assert_eq!(cache.get(&Placed::new(5)), Some(5));
        drop(cache);
        assert_eq!(
            PLACED_LIVE.load(Ordering::SeqCst),
            0,
            "fuse {fuse}: a key leaked or was dropped twice"
        );
    }
}

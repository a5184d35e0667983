//! Tests of the cache under misbehaving user code and hostile use (issue 11): each reproduces
//! a defect that was found, and holds the cache to staying sound, bounded and usable.

use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use cache_traits::{EvictionPolicy, RemovalCause, Weigher};
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
    /// Slots it evicted, to name again (`NAMES_A_STALE_SLOT`).
    evicted: Vec<u32>,
}

impl<const MODE: u8> EvictionPolicy for Broken<MODE> {
    fn name(&self) -> &'static str {
        "broken"
    }
    fn set_capacity(&mut self, capacity: u64) {
        self.lru.set_capacity(capacity)
    }
    fn on_insert(&mut self, slot: u32, hash: u64, weight: u64) {
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
            NAMES_A_STALE_SLOT if self.evictions % 2 == 0 && !self.evicted.is_empty() => {
                Some(self.evicted[self.evictions as usize % self.evicted.len()])
            }
            PANICS_IN_EVICT if self.evictions % 4 == 0 => panic!("policy bug in evict"),
            _ => {
                let victim = self.lru.evict();
                self.evicted.extend(victim);
                victim
            }
        }
    }
    fn clear(&mut self) {
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
    // Before: a double `take` of a freed slot: the entry's key and value dropped twice.
    let cache: Cache<u64, String, Broken<NAMES_A_STALE_SLOT>> =
        Cache::builder().max_entries(16).shards(1).build().unwrap();
    for k in 0..2_000u64 {
        let _ = catch_unwind(AssertUnwindSafe(|| cache.insert(k, format!("value {k}"))));
        assert!(cache.entry_count() <= 16);
    }
    cache.invalidate_all();
    for k in 0..100u64 {
        let _ = catch_unwind(AssertUnwindSafe(|| cache.insert(k, k.to_string())));
    }
    assert!(cache.entry_count() <= 16);
    for k in 0..100u64 {
        assert!(cache.get(&k).is_none_or(|v| v == k.to_string()));
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

/// A value whose `Clone` panics while its flag is set.
#[derive(Debug)]
struct Fragile(u64, Arc<AtomicBool>);

impl Clone for Fragile {
    fn clone(&self) -> Self {
        assert!(!self.1.load(Ordering::SeqCst), "clone bug");
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
fn a_load_whose_value_clone_panics_releases_later_callers() {
    let fragile = Arc::new(AtomicBool::new(false));
    let cache: Arc<Cache<u64, Fragile, Lru>> =
        Arc::new(Cache::builder().max_entries(10).build().unwrap());
    let (c, f) = (Arc::clone(&cache), Arc::clone(&fragile));
    let led = catch_unwind(AssertUnwindSafe(|| {
        c.get_or_insert_with(3, || {
            f.store(true, Ordering::SeqCst);
            Fragile(30, Arc::clone(&f))
        })
    }));
    assert!(led.is_err(), "the clone's panic reaches the leader");
    fragile.store(false, Ordering::SeqCst);
    let (c, f) = (Arc::clone(&cache), Arc::clone(&fragile));
    let later = within_a_minute("a later caller", move || {
        c.get_or_insert_with(3, || Fragile(31, f))
    });
    assert_eq!(later.map(|v| v.0), Ok(31));
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
    // Before: shards could end with a mix of the two budgets.
    let cache: Cache<u64, u64, Lru> = Cache::builder()
        .max_bytes(64 << 20)
        .shards(64)
        .build()
        .unwrap();
    for round in 0..300u64 {
        let (a, b) = ((1 << 20) + round * 4096, (2 << 20) + round * 4096);
        std::thread::scope(|s| {
            s.spawn(|| cache.set_capacity(a));
            s.spawn(|| cache.set_capacity(b));
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

/// A key whose `Hash` panics now and then while armed, and which counts live instances.
struct Touchy(u64);

static TOUCHY_ARMED: AtomicBool = AtomicBool::new(false);
static TOUCHY_HASHES: AtomicU64 = AtomicU64::new(0);
static TOUCHY_LIVE: AtomicI64 = AtomicI64::new(0);

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
        let n = TOUCHY_HASHES.fetch_add(1, Ordering::Relaxed);
        if TOUCHY_ARMED.load(Ordering::Relaxed) && n % 997 == 0 {
            panic!("hash bug");
        }
        self.0.hash(state);
    }
}

impl PartialEq for Touchy {
    fn eq(&self, other: &Self) -> bool {
        if TOUCHY_ARMED.load(Ordering::Relaxed)
            && TOUCHY_HASHES.load(Ordering::Relaxed) % 1_009 == 0
        {
            panic!("eq bug");
        }
        self.0 == other.0
    }
}

impl Eq for Touchy {}

#[test]
fn a_panicking_hash_or_eq_under_churn_loses_and_leaks_nothing() {
    // Before: a `Hash` panic while the table rehashed in place dropped slot ids from the table;
    // their entries stayed in the slab, charged and never dropped (hashbrown 0.16 also left
    // the table itself inconsistent).
    let cache: Cache<Touchy, u64, Lru> = Cache::builder_with_weigher(|_: &Touchy, _: &u64| 0)
        .max_entries(4_096)
        .shards(1)
        .build()
        .unwrap();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut panics = 0;
    TOUCHY_ARMED.store(true, Ordering::Relaxed);
    for i in 0..100_000u64 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let k = rng % 8_192;
        let r = catch_unwind(AssertUnwindSafe(|| match i % 3 {
            0 | 1 => cache.insert(Touchy::new(k), k),
            _ => {
                cache.remove(&Touchy::new(k));
            }
        }));
        panics += usize::from(r.is_err());
    }
    TOUCHY_ARMED.store(false, Ordering::Relaxed);
    assert!(panics > 50, "the test must exercise panics ({panics})");
    let live = (0..8_192)
        .filter(|&k| cache.get(&Touchy::new(k)).is_some())
        .count();
    assert_eq!(live as u64, cache.entry_count(), "every entry is findable");
    assert!(cache.entry_count() <= 4_096);
    for k in 0..8_192 {
        assert!(cache.get(&Touchy::new(k)).is_none_or(|v| v == k));
    }
    drop(cache);
    assert_eq!(
        TOUCHY_LIVE.load(Ordering::SeqCst),
        0,
        "every key was dropped exactly once"
    );
}

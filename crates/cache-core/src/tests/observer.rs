//! The observer hook: what a cache reports, and that the reports add up to the cache's state.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cache_traits::{CacheObserver, ManualClock, Operation, RemovalCause, Sample};
use eviction::Lru;

use crate::Cache;

#[derive(Debug, PartialEq)]
enum Seen {
    Read(Option<u64>, bool),
    Latency(Operation),
    Inserted(u64, u64),
    LoadStarted,
    Loaded(u64, Option<u64>),
    Removed(u64, RemovalCause),
    Dropped(u64),
}

/// Records everything, samples everything, and keeps a running sum of charged bytes.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<Seen>>,
    bytes: AtomicI64,
    entries: AtomicI64,
    panic_on_read: AtomicBool,
    sampling: AtomicU64,
    /// Tracked entries per key: a removal must follow an insert it was told of.
    tracked: Mutex<std::collections::HashMap<u64, u64>>,
}

impl Recorder {
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

impl CacheObserver<u64> for Recorder {
    fn sample(&self) -> Sample {
        match self.sampling.load(Ordering::Relaxed) {
            0 => Sample::new(true, 0),
            n => Sample::new(
                true,
                (self.entries.load(Ordering::Relaxed) as u64 % n) as u32,
            ),
        }
    }
    fn read(&self, key: Option<&u64>, hit: bool) {
        if self.panic_on_read.load(Ordering::Relaxed) {
            panic!("observer read panicked");
        }
        self.seen
            .lock()
            .unwrap()
            .push(Seen::Read(key.copied(), hit));
    }
    fn latency(&self, op: Operation, _nanos: u64) {
        self.seen.lock().unwrap().push(Seen::Latency(op));
    }
    fn inserted(&self, key: &u64, weight: u64, _always: bool) {
        *self.tracked.lock().unwrap().entry(*key).or_default() += 1;
        self.bytes.fetch_add(weight as i64, Ordering::Relaxed);
        self.entries.fetch_add(1, Ordering::Relaxed);
        self.seen.lock().unwrap().push(Seen::Inserted(*key, weight));
    }
    fn load_started(&self) -> u64 {
        self.seen.lock().unwrap().push(Seen::LoadStarted);
        7
    }
    fn loaded(&self, key: &u64, weight: Option<u64>, _nanos: u64, started: u64) {
        assert_eq!(started, 7, "load_started's value comes back");
        self.seen.lock().unwrap().push(Seen::Loaded(*key, weight));
    }
    fn removed(&self, key: &u64, weight: u64, cause: RemovalCause) -> u64 {
        let mut tracked = self.tracked.lock().unwrap();
        let n = tracked
            .get_mut(key)
            .expect("a removal of a key never reported inserted");
        assert!(*n > 0, "more removals of {key} than tracked inserts");
        *n -= 1;
        drop(tracked);
        self.bytes.fetch_sub(weight as i64, Ordering::Relaxed);
        self.entries.fetch_sub(1, Ordering::Relaxed);
        self.seen.lock().unwrap().push(Seen::Removed(*key, cause));
        weight
    }
    fn dropped(&self, heap: u64, started: u64) {
        // `removed` returned the entry's weight; a u64 key and value hold no heap, so all of
        // it was the cache's per-entry overhead, which the drop does not free.
        assert!(started > 0, "removed's value comes back");
        assert_eq!(heap, 0, "the per-entry overhead is left out");
        self.seen.lock().unwrap().push(Seen::Dropped(heap));
    }
}

fn observed(entries: u64) -> (Cache<u64, u64, Lru>, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let cache = Cache::builder()
        .max_entries(entries)
        .shards(1)
        .observer(recorder.clone())
        .build()
        .unwrap();
    (cache, recorder)
}

#[test]
fn reads_inserts_loads_and_removals_are_reported() {
    let (cache, rec) = observed(2);
    let w = cache.entry_overhead();
    cache.insert(1, 10);
    assert_eq!(
        rec.take(),
        [Seen::Inserted(1, w), Seen::Latency(Operation::Insert)]
    );
    assert_eq!(cache.get(&1), Some(10));
    assert_eq!(cache.get(&2), None);
    assert_eq!(
        rec.take(),
        [
            Seen::Read(Some(1), true),
            Seen::Latency(Operation::GetHit),
            Seen::Read(None, false),
            Seen::Latency(Operation::GetMiss),
        ]
    );
    assert_eq!(cache.get_or_insert_with(2, || 20).unwrap(), 20);
    assert_eq!(
        rec.take(),
        [
            Seen::Read(Some(2), false),
            Seen::Latency(Operation::GetMiss),
            Seen::LoadStarted,
            Seen::Loaded(2, Some(w)),
            Seen::Inserted(2, w),
        ]
    );
    cache.insert(1, 11); // replaces
    cache.insert(3, 30); // evicts the least recent, 2
    let seen = rec.take();
    assert!(
        seen.contains(&Seen::Removed(1, RemovalCause::Replaced)),
        "{seen:?}"
    );
    assert!(
        seen.contains(&Seen::Removed(2, RemovalCause::Size)),
        "{seen:?}"
    );
    assert_eq!(
        seen.iter()
            .filter(|s| matches!(s, Seen::Dropped(_)))
            .count(),
        2
    );
    assert_eq!(cache.remove(&3), Some(30));
    assert_eq!(rec.take(), [Seen::Removed(3, RemovalCause::Explicit)]);
    let failed = cache.try_get_or_insert_with(9, || Err::<u64, _>("down"));
    assert!(failed.is_err());
    let seen = rec.take();
    assert!(seen.contains(&Seen::Loaded(9, None)), "{seen:?}");
    assert!(
        !seen.iter().any(|s| matches!(s, Seen::Inserted(..))),
        "{seen:?}"
    );
}

#[test]
fn the_reports_add_up_to_the_cache_contents() {
    // Every insert sampled: the tracked entries are the cache's entries (checked inside).
    workload(0);
}

#[test]
fn a_sampled_entry_is_tracked_until_it_leaves_whatever_the_path() {
    // One insert in a few sampled: every removal told is of a tracked entry (checked in
    // `removed`), and once the cache is emptied every tracked entry has been told removed.
    for sampling in [2, 3, 7] {
        let rec = workload(sampling);
        assert!(rec.tracked.lock().unwrap().values().all(|&n| n == 0));
    }
}

/// A mixed workload (inserts, replacements, removals, loads, expiries, a budget cut, pressure
/// evictions, then `invalidate_all`) under an observer sampling one insert in `sampling` (0:
/// all); with all, the reports must add up to the cache's weight and entries.
fn workload(sampling: u64) -> Arc<Recorder> {
    let clock = Arc::new(ManualClock::new());
    let rec = Arc::new(Recorder::default());
    rec.sampling.store(sampling, Ordering::Relaxed);
    let cache: Cache<u64, u64, Lru> = Cache::builder()
        .max_bytes(64 << 10)
        .time_to_live(Duration::from_secs(30))
        .clock(clock.clone())
        .observer(rec.clone())
        .build()
        .unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..20_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = x % 3000;
        match i % 7 {
            0 => cache.insert(key, i),
            1 => drop(cache.remove(&key)),
            2 => drop(cache.get_or_insert_with(key, || i)),
            3 => cache.insert_with_ttl(key, i, Duration::from_secs(1 + x % 5)),
            _ => drop(cache.get(&key)),
        }
        if i % 1000 == 0 {
            clock.advance(Duration::from_secs(2));
            cache.run_maintenance();
        }
        if i == 12_000 {
            cache.set_capacity(16 << 10);
        }
    }
    cache.evict_bytes(4 << 10, RemovalCause::Pressure);
    if sampling == 0 {
        assert_eq!(
            rec.bytes.load(Ordering::Relaxed),
            cache.weighted_size() as i64
        );
        assert_eq!(
            rec.entries.load(Ordering::Relaxed),
            cache.entry_count() as i64
        );
    }
    cache.invalidate_all();
    assert_eq!(rec.bytes.load(Ordering::Relaxed), 0);
    assert_eq!(rec.entries.load(Ordering::Relaxed), 0);
    rec
}

#[test]
fn a_panicking_observer_reaches_the_caller_and_leaves_the_cache_usable() {
    let (cache, rec) = observed(8);
    cache.insert(1, 10);
    rec.panic_on_read.store(true, Ordering::Relaxed);
    let hit = catch_unwind(AssertUnwindSafe(|| cache.get(&1)));
    assert!(hit.is_err());
    // A leader whose miss report panics still publishes its value: nobody waits forever.
    let load = catch_unwind(AssertUnwindSafe(|| cache.get_or_insert_with(2, || 20)));
    assert!(load.is_err());
    rec.panic_on_read.store(false, Ordering::Relaxed);
    assert_eq!(cache.get(&1), Some(10));
    assert_eq!(cache.get_or_insert_with(2, || 21).unwrap(), 20);
    assert_eq!(
        rec.bytes.load(Ordering::Relaxed),
        cache.weighted_size() as i64
    );
}

/// Samples nothing, and asks again only after many operations.
struct Sparse;

impl CacheObserver<u64> for Sparse {
    fn sample(&self) -> Sample {
        Sample::new(false, 1000)
    }
}

#[test]
fn caches_keep_their_own_sampling() {
    let (a, rec) = observed(1000);
    // A cache used on the same thread whose observer lets 1000 operations pass.
    let b: Cache<u64, u64, Lru> = Cache::builder()
        .max_entries(1000)
        .observer(Arc::new(Sparse))
        .build()
        .unwrap();
    for k in 0..50 {
        b.insert(k, k);
        a.insert(k, k);
        b.get(&k);
        a.get(&k);
    }
    // Every one of a's operations was sampled (its observer asks for all), b's countdown
    // notwithstanding.
    let seen = rec.take();
    let inserted = seen
        .iter()
        .filter(|s| matches!(s, Seen::Inserted(..)))
        .count();
    let read = seen.iter().filter(|s| matches!(s, Seen::Read(..))).count();
    assert_eq!((inserted, read), (50, 50));
}

#[test]
fn removing_an_expired_tracked_entry_drops_it_like_an_eviction() {
    let clock = Arc::new(ManualClock::new());
    let rec = Arc::new(Recorder::default());
    let cache: Cache<u64, u64, Lru> = Cache::builder()
        .max_entries(100)
        .time_to_live(Duration::from_secs(5))
        .clock(clock.clone())
        .observer(rec.clone())
        .build()
        .unwrap();
    cache.insert(1, 10);
    clock.advance(Duration::from_secs(10));
    rec.take();
    assert_eq!(cache.remove(&1), None);
    let seen = rec.take();
    assert!(
        seen.contains(&Seen::Removed(1, RemovalCause::Expired)),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|s| matches!(s, Seen::Dropped(_))),
        "the expired value was dropped without telling the observer: {seen:?}"
    );
    assert_eq!(rec.entries.load(Ordering::Relaxed), 0);
}

#[test]
fn dropping_the_cache_tells_the_observer_its_tracked_entries_are_gone() {
    let (cache, rec) = observed(100);
    for k in 0..10 {
        cache.insert(k, k);
    }
    assert_eq!(rec.entries.load(Ordering::Relaxed), 10);
    drop(cache);
    assert_eq!(rec.entries.load(Ordering::Relaxed), 0);
    assert!(rec.tracked.lock().unwrap().values().all(|&n| n == 0));
}

/// Tracks every insert; its `sample` panics at the call numbered `panic_at` (counting from 1).
#[derive(Default)]
struct PanickySample {
    tracked: AtomicI64,
    calls: AtomicU64,
    panic_at: AtomicU64,
}

impl PanickySample {
    /// Makes the `n`th call of `sample` from now panic.
    fn panic_in(&self, n: u64) {
        self.panic_at
            .store(self.calls.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }
}

impl CacheObserver<u64> for PanickySample {
    fn sample(&self) -> Sample {
        let call = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        assert_ne!(
            call,
            self.panic_at.load(Ordering::Relaxed),
            "sample panicked"
        );
        Sample::new(true, 0)
    }
    fn inserted(&self, _key: &u64, _weight: u64, _always: bool) {
        self.tracked.fetch_add(1, Ordering::Relaxed);
    }
    fn removed(&self, _key: &u64, _weight: u64, _cause: RemovalCause) -> u64 {
        self.tracked.fetch_sub(1, Ordering::Relaxed);
        0
    }
}

/// A cache of one shard whose entries weigh their value: 4096 is heavy (over 1/64 of 64 KiB).
fn heavy_cache(obs: &Arc<PanickySample>) -> Cache<u64, u64, Lru> {
    Cache::builder_with_weigher(|_: &u64, v: &u64| *v)
        .max_bytes(64 << 10)
        .shards(1)
        .observer(obs.clone())
        .build()
        .unwrap()
}

#[test]
fn a_heavy_sampled_load_is_told_once() {
    // Before: a stored load both heavy (told before the lock) and sampled (told under it) was
    // reported inserted twice and removed once.
    let obs = Arc::new(PanickySample::default());
    let cache = heavy_cache(&obs);
    assert_eq!(cache.get_or_insert_with(1, || 4096), Ok(4096));
    cache.insert(2, 4096);
    assert_eq!(obs.tracked.load(Ordering::Relaxed), 2);
    cache.invalidate_all();
    assert_eq!(obs.tracked.load(Ordering::Relaxed), 0);
}

#[test]
fn a_panicking_sample_loses_no_heavy_insert() {
    // Before: a heavy insert (told before the lock) whose `sample` then panicked under the
    // lock was dropped unstored, and stayed tracked forever.
    // (A panicking `sample` is asked again only after the default gap: one cache each.)
    let obs = Arc::new(PanickySample::default());
    let insert = heavy_cache(&obs);
    obs.panic_in(1);
    assert!(catch_unwind(AssertUnwindSafe(|| insert.insert(1, 4096))).is_err());
    let load = heavy_cache(&obs);
    // A load asks twice: at its lookup, and when it stores the value.
    obs.panic_in(2);
    let loaded = catch_unwind(AssertUnwindSafe(|| load.get_or_insert_with(2, || 4096)));
    assert!(loaded.is_err());
    // The panics reached the callers, but both were stored, and tracked.
    assert_eq!((insert.entry_count(), load.entry_count()), (1, 1));
    assert_eq!(obs.tracked.load(Ordering::Relaxed), 2);
    insert.invalidate_all();
    load.invalidate_all();
    assert_eq!(obs.tracked.load(Ordering::Relaxed), 0);
}

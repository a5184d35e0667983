//! Unit tests of the cache's single-threaded and single-flight semantics.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use cache_traits::{ManualClock, RemovalCause};
use eviction::Lru;

use crate::{BuildError, Cache, CacheBuilder, LoadError};

type Events = Arc<Mutex<Vec<(u64, u64, RemovalCause)>>>;

fn with_events(b: CacheBuilder<u64, u64, Lru>) -> (Cache<u64, u64, Lru>, Events) {
    let events: Events = Arc::default();
    let sink = Arc::clone(&events);
    let cache = b
        .eviction_listener(move |k: &u64, v: &u64, c| sink.lock().unwrap().push((*k, *v, c)))
        .build()
        .unwrap();
    (cache, events)
}

fn one_shard() -> CacheBuilder<u64, u64, Lru> {
    Cache::builder().shards(1)
}

#[test]
fn invalid_configuration_fails_at_build_with_advice() {
    fn check(b: CacheBuilder<u64, u64, Lru>, expected: BuildError, advice: &str) {
        let err = b.build().unwrap_err();
        assert_eq!(err, expected);
        assert!(err.to_string().contains(advice), "{err}");
    }
    check(Cache::builder(), BuildError::NoBound, "set max_bytes");
    check(
        Cache::builder().max_bytes(0),
        BuildError::ZeroBound("max_bytes"),
        "above zero",
    );
    check(
        Cache::builder().max_entries(0),
        BuildError::ZeroBound("max_entries"),
        "above zero",
    );
    check(
        Cache::builder().max_entries(9).time_to_live(Duration::ZERO),
        BuildError::ZeroDuration("time_to_live"),
        "never expire",
    );
    check(
        Cache::builder().max_entries(9).time_to_idle(Duration::ZERO),
        BuildError::ZeroDuration("time_to_idle"),
        "above zero",
    );
    check(
        Cache::builder().max_entries(9).shards(3),
        BuildError::BadShards(3),
        "power of two",
    );
    check(
        Cache::builder().max_entries(9).shards(0),
        BuildError::BadShards(0),
        "power of two",
    );
    let err = Cache::<u64, u64, Lru>::builder()
        .max_bytes(100)
        .shards(64)
        .build()
        .unwrap_err();
    assert!(
        matches!(err, BuildError::BudgetTooSmall { max_bytes: 100, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("raise it to at least"));
}

#[test]
fn entries_are_charged_heap_bytes_plus_overhead() {
    let cache: Cache<u64, String, Lru> = Cache::builder().max_bytes(1 << 20).build().unwrap();
    let overhead = cache.entry_overhead();
    // key and value inline (8 + 24), weight (8), table (8), LRU links (8)
    assert_eq!(overhead, 56);
    cache.insert(1, String::with_capacity(100));
    assert_eq!(cache.weighted_size(), overhead + 112);
    cache.insert(1, String::with_capacity(10));
    assert_eq!(cache.weighted_size(), overhead + 16);
    assert_eq!(cache.remove(&1).map(|s| s.capacity()), Some(10));
    assert_eq!(cache.weighted_size(), 0);
}

#[test]
fn evicts_in_policy_order_within_the_entry_bound() {
    let (cache, events) = with_events(one_shard().max_entries(3));
    for k in 0..3 {
        cache.insert(k, k * 10);
    }
    assert_eq!(cache.get(&0), Some(0));
    cache.insert(3, 30);
    assert_eq!(cache.get(&1), None);
    assert_eq!(cache.entry_count(), 3);
    assert_eq!(*events.lock().unwrap(), vec![(1, 10, RemovalCause::Size)]);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.inserts), (1, 1, 4));
    assert_eq!(stats.removals(RemovalCause::Size), 1);
}

#[test]
fn byte_budget_holds_and_set_capacity_shrinks_it() {
    let cache: Cache<u64, Vec<u8>, Lru> = Cache::builder()
        .max_bytes(100_000)
        .shards(1)
        .build()
        .unwrap();
    for k in 0..1000 {
        cache.insert(k, vec![0; 1000]);
        assert!(cache.weighted_size() <= 100_000);
    }
    let per_entry = cache.entry_overhead() + 1024;
    assert_eq!(cache.entry_count(), 100_000 / per_entry);
    cache.set_capacity(50_000);
    assert_eq!(cache.capacity(), 50_000);
    assert!(cache.weighted_size() <= 50_000);
    assert_eq!(cache.entry_count(), 50_000 / per_entry);
    // The most recent entries survive the shrink.
    assert!(cache.contains_key(&999));
    assert!(!cache.contains_key(&900));
}

#[test]
fn shrinking_releases_the_structures_and_keeps_working() {
    let cache: Cache<u64, u64, Lru> = Cache::builder()
        .max_entries(100_000)
        .shards(1)
        .build()
        .unwrap();
    for k in 0..100_000 {
        cache.insert(k, k);
    }
    let big = cache.structure_bytes();
    cache.set_capacity(cache.entry_overhead() * 1000);
    assert_eq!(cache.entry_count(), 1000);
    // The survivors are the newest keys, in the slab's last slots: the table shrinks, the
    // slab keeps slots up to the highest live one.
    let table_gone = big - cache.structure_bytes();
    assert!(
        table_gone > 100_000 * 4,
        "released only {table_gone} of {big} bytes"
    );
    for k in 99_000..100_000 {
        assert_eq!(cache.get(&k), Some(k));
    }
    cache.insert(1, 1);
    assert_eq!(cache.get(&1), Some(1));
    cache.invalidate_all();
    assert_eq!(cache.structure_bytes(), 0);
    cache.insert(2, 2);
    assert_eq!(cache.get(&2), Some(2));
}

#[test]
fn an_entry_larger_than_a_shard_is_rejected_and_replaces_nothing_stale() {
    let big = Cache::<u64, Vec<u8>, Lru>::builder()
        .max_bytes(1000)
        .shards(1)
        .build()
        .unwrap();
    big.insert(1, vec![0; 10]);
    big.insert(1, vec![0; 5000]);
    assert_eq!(big.get(&1), None, "the stale small value must not survive");
    assert_eq!(big.stats().removals(RemovalCause::Size), 1);
    assert_eq!(big.stats().removals(RemovalCause::Replaced), 1);
    assert_eq!((big.entry_count(), big.weighted_size()), (0, 0));
}

#[test]
fn an_entry_heavier_than_u32_max_is_rejected_even_within_budget() {
    let cache: Cache<u64, u64, Lru> = Cache::builder()
        .max_bytes(1 << 40)
        .shards(1)
        .weigher(|k: &u64, _: &u64| *k)
        .build()
        .unwrap();
    cache.insert(u64::from(u32::MAX) >> 1, 1);
    cache.insert(1 << 33, 2);
    assert_eq!(cache.entry_count(), 1);
    assert_eq!(cache.get(&(1 << 33)), None);
    assert_eq!(cache.stats().removals(RemovalCause::Size), 1);
}

#[test]
fn entries_stay_findable_and_removable_across_table_rehashes() {
    // Growth and in-place rehashes (after removals leave tombstones) move entries between
    // buckets; eviction and removal go through each entry's stored bucket, which debug builds
    // check. Every key must end up either present or reported removed, exactly once.
    let (cache, events) = with_events(one_shard().max_entries(3000));
    for k in 0..60_000u64 {
        cache.insert(k, k);
        if k % 3 == 0 {
            cache.remove(&(k / 2));
        }
        if k % 10_000 == 0 {
            cache.retain(|key, _| key % 5 != 0);
        }
    }
    let mut seen = vec![0u32; 60_000];
    for &(k, v, cause) in events.lock().unwrap().iter() {
        assert_eq!(k, v);
        assert_ne!(cause, RemovalCause::Replaced);
        seen[k as usize] += 1;
    }
    for k in 0..60_000u64 {
        let present = u32::from(cache.get(&k).is_some());
        assert_eq!(seen[k as usize] + present, 1, "key {k}");
    }
    assert_eq!(cache.entry_count(), 3000);
}

#[test]
fn a_table_under_churn_is_rebuilt_at_its_size_not_doubled() {
    // Near capacity, about one eviction in a hundred leaves a tombstone. When they have used up
    // the table's room, hashbrown would double it (more than half is live); the shard rebuilds
    // it at its size instead. Every key must stay findable through the rebuilds.
    // A byte budget of 5000 entries (a u64 entry weighs its overhead: it owns no heap).
    let probe: Cache<u64, u64, Lru> = one_shard().max_bytes(1 << 20).build().unwrap();
    let per_entry = probe.entry_overhead();
    let (cache, events) = with_events(one_shard().max_bytes(5000 * per_entry));
    for k in 0..2_000_000u64 {
        cache.insert(k, k);
    }
    // 5000 ids fit 8192 buckets (at most 7168 live); a doubled table has 16384.
    let table = 8192 * (4 + 1) + 16;
    // The slab grows by doubling: 8192 slots of 24 bytes.
    let slab = 8192 * 24 + 64;
    assert!(
        cache.structure_bytes() <= (table + slab) as u64,
        "{} bytes of table and slab for 5000 entries",
        cache.structure_bytes()
    );
    let removed = events.lock().unwrap().len() as u64;
    assert_eq!(removed + cache.entry_count(), 2_000_000);
    let present = (0..2_000_000u64).filter(|k| cache.get(k).is_some()).count();
    assert_eq!(present as u64, cache.entry_count());
}

#[test]
fn replacing_a_value_counts_an_update_and_tells_the_listener() {
    let (cache, events) = with_events(one_shard().max_entries(10));
    cache.insert(1, 1);
    cache.insert(1, 2);
    assert_eq!(cache.get(&1), Some(2));
    assert_eq!(cache.stats().updates, 1);
    assert_eq!(
        *events.lock().unwrap(),
        vec![(1, 1, RemovalCause::Replaced)]
    );
}

#[test]
fn remove_invalidate_all_and_retain() {
    let (cache, events) = with_events(Cache::builder().max_entries(100));
    for k in 0..10 {
        cache.insert(k, k);
    }
    assert_eq!(cache.remove(&3), Some(3));
    assert_eq!(cache.remove(&3), None);
    cache.retain(|k, _| k % 2 == 0);
    let mut left: Vec<u64> = (0..10).filter(|k| cache.contains_key(k)).collect();
    left.sort();
    assert_eq!(left, vec![0, 2, 4, 6, 8]);
    cache.invalidate_all();
    assert_eq!(cache.entry_count(), 0);
    assert_eq!(cache.weighted_size(), 0);
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 10);
    assert!(events.iter().all(|e| e.2 == RemovalCause::Explicit));
    cache.insert(1, 1);
    assert_eq!(cache.get(&1), Some(1), "usable after invalidate_all");
}

#[test]
fn time_to_live_expires_entries_on_virtual_time() {
    let clock = Arc::new(ManualClock::new());
    let (cache, events) = with_events(
        one_shard()
            .max_entries(10)
            .time_to_live(Duration::from_secs(10))
            .clock(clock.clone()),
    );
    cache.insert(1, 1);
    clock.advance(Duration::from_secs(9));
    assert_eq!(cache.get(&1), Some(1));
    cache.insert_with_ttl(2, 2, Duration::from_secs(30));
    clock.advance(Duration::from_secs(1));
    assert_eq!(cache.get(&1), None, "expired exactly at its deadline");
    assert!(!cache.contains_key(&1));
    assert_eq!(
        cache.get(&2),
        Some(2),
        "a per-entry TTL overrides the cache's"
    );
    clock.advance(Duration::from_secs(30));
    assert!(!cache.contains_key(&2));
    assert_eq!(cache.remove(&2), None, "an expired entry is never returned");
    let stats = cache.stats();
    assert_eq!(stats.removals(RemovalCause::Expired), 2);
    assert_eq!(events.lock().unwrap().len(), 2);
}

#[test]
fn time_to_idle_is_pushed_back_by_reads() {
    let clock = Arc::new(ManualClock::new());
    let cache: Cache<u64, u64, Lru> = Cache::builder()
        .max_entries(10)
        .time_to_idle(Duration::from_secs(5))
        .clock(clock.clone())
        .build()
        .unwrap();
    cache.insert(1, 1);
    cache.insert(2, 2);
    for _ in 0..3 {
        clock.advance(Duration::from_secs(4));
        assert_eq!(cache.get(&1), Some(1));
    }
    assert_eq!(cache.get(&2), None);
    // Per entry: a TTL that caps the idle extension.
    cache.insert_with_expiry_policy(
        3,
        3,
        Some(Duration::from_secs(6)),
        Some(Duration::from_secs(4)),
    );
    clock.advance(Duration::from_secs(3));
    assert_eq!(cache.get(&3), Some(3));
    clock.advance(Duration::from_secs(3));
    assert_eq!(cache.get(&3), None, "time-to-live caps time-to-idle");
}

#[test]
fn maintenance_sweeps_unread_expired_entries_with_bounded_work() {
    let clock = Arc::new(ManualClock::new());
    let cache: Cache<u64, u64, Lru> = Cache::builder()
        .max_entries(10_000)
        .shards(1)
        .time_to_live(Duration::from_secs(1))
        .clock(clock.clone())
        .build()
        .unwrap();
    for k in 0..1000 {
        cache.insert(k, k);
    }
    clock.advance(Duration::from_secs(2));
    let first = cache.run_maintenance();
    assert!(
        first > 0 && first <= 256,
        "one call examines a bounded number of slots: {first}"
    );
    let mut total = first;
    while cache.entry_count() > 0 {
        let n = cache.run_maintenance();
        assert!(n <= 256);
        total += n;
    }
    assert_eq!(total, 1000);
    assert_eq!(cache.weighted_size(), 0);
}

#[test]
fn evict_bytes_frees_at_least_what_was_asked() {
    let cache: Cache<u64, u64, Lru> = Cache::builder().max_bytes(1 << 20).build().unwrap();
    for k in 0..1000 {
        cache.insert(k, k);
    }
    let before = cache.weighted_size();
    let freed = cache.evict_bytes(10_000, RemovalCause::Pressure);
    assert!(freed >= 10_000);
    assert_eq!(cache.weighted_size(), before - freed);
    assert_eq!(
        cache.stats().removed_weight_of(RemovalCause::Pressure),
        freed
    );
    assert_eq!(
        cache.evict_bytes(u64::MAX, RemovalCause::Pressure),
        before - freed
    );
    assert_eq!(cache.entry_count(), 0);
}

#[test]
fn concurrent_loads_of_one_key_run_the_loader_once() {
    let cache: Cache<u64, u64, Lru> = Cache::builder().max_entries(100).build().unwrap();
    let calls = AtomicUsize::new(0);
    let start = Barrier::new(8);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                start.wait();
                let v = cache
                    .get_or_insert_with(42, || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        7
                    })
                    .unwrap();
                assert_eq!(v, 7);
            });
        }
    });
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let stats = cache.stats();
    assert_eq!(stats.load_successes, 1);
    assert_eq!(stats.gets(), 8);
}

#[test]
fn loader_errors_are_not_cached_and_waiters_retry() {
    let cache: Cache<u64, u64, Lru> = Cache::builder().max_entries(100).build().unwrap();
    assert_eq!(
        cache.try_get_or_insert_with(1, || Err::<u64, _>("boom")),
        Err(LoadError::Failed("boom"))
    );
    assert!(!cache.contains_key(&1));
    assert_eq!(cache.stats().load_failures, 1);
    // A waiter whose leader fails runs its own loader.
    let gate = Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            cache
                .try_get_or_insert_with(2, || {
                    gate.wait();
                    std::thread::sleep(Duration::from_millis(50));
                    Err::<u64, _>("first fails")
                })
                .unwrap_err();
        });
        gate.wait();
        let v = cache.try_get_or_insert_with(2, || Ok::<_, &str>(22));
        assert_eq!(v, Ok(22));
    });
    assert_eq!(cache.get(&2), Some(22));
}

#[test]
fn a_panicking_loader_panics_its_caller_and_releases_waiters() {
    let cache: Cache<u64, u64, Lru> = Cache::builder().max_entries(100).build().unwrap();
    let gate = Barrier::new(2);
    std::thread::scope(|s| {
        let leader = s.spawn(|| {
            cache.get_or_insert_with(5, || {
                gate.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!("loader bug");
            })
        });
        gate.wait();
        let waiter = cache.get_or_insert_with(5, || 55);
        // Either it waited on the panicking leader, or it came after and loaded itself.
        assert!(
            matches!(waiter, Err(LoadError::LoaderPanicked) | Ok(55)),
            "{waiter:?}"
        );
        assert!(
            leader.join().is_err(),
            "the panic reaches the leader's caller"
        );
    });
    assert_eq!(cache.get_or_insert_with(5, || 56).unwrap_or(0) / 10, 5);
    assert!(cache.stats().load_failures >= 1);
    cache.insert(6, 6);
    assert_eq!(cache.get(&6), Some(6), "the cache stays usable");
}

#[test]
fn a_panicking_listener_neither_poisons_nor_loses_removals() {
    let seen = Arc::new(AtomicUsize::new(0));
    let seen2 = Arc::clone(&seen);
    let cache: Cache<u64, u64, Lru> = Cache::builder()
        .max_entries(100)
        .shards(1)
        .eviction_listener(move |k: &u64, _: &u64, _| {
            seen2.fetch_add(1, Ordering::SeqCst);
            assert!(*k != 3, "listener bug");
        })
        .build()
        .unwrap();
    for k in 0..10 {
        cache.insert(k, k);
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cache.invalidate_all()));
    assert!(r.is_err());
    assert_eq!(
        seen.load(Ordering::SeqCst),
        10,
        "every removal was delivered"
    );
    assert_eq!(cache.entry_count(), 0);
    cache.insert(1, 1);
    assert_eq!(cache.get(&1), Some(1));
}

#[test]
fn removed_values_go_to_the_reclaimer_with_their_weight() {
    #[derive(Default)]
    struct Collect(Mutex<Vec<(u64, u64)>>);
    impl cache_traits::Reclaim<(u64, u64)> for Collect {
        fn reclaim(&self, item: (u64, u64), weight: u64) {
            self.0.lock().unwrap().push((item.0, weight));
        }
    }
    let sink = Arc::new(Collect::default());
    let cache: Cache<u64, u64, Lru> = Cache::builder()
        .max_entries(2)
        .shards(1)
        .reclaimer(sink.clone())
        .build()
        .unwrap();
    for k in 0..5 {
        cache.insert(k, k);
    }
    let w = cache.entry_overhead();
    assert_eq!(*sink.0.lock().unwrap(), vec![(0, w), (1, w), (2, w)]);
}

/// LRU beside a table of a fixed size that its per-slot charge does not cover.
#[derive(Default)]
struct LruWithTable(Lru);

impl cache_traits::EvictionPolicy for LruWithTable {
    fn name(&self) -> &'static str {
        "lru-with-table"
    }
    fn set_capacity(&mut self, capacity: u64) {
        self.0.set_capacity(capacity)
    }
    fn on_insert(&mut self, slot: u32, hash: u64, weight: u64) {
        self.0.on_insert(slot, hash, weight)
    }
    fn on_access(&mut self, slot: u32, hash: u64) {
        self.0.on_access(slot, hash)
    }
    fn on_update(&mut self, slot: u32, hash: u64, old: u64, new: u64) {
        self.0.on_update(slot, hash, old, new)
    }
    fn on_remove(&mut self, slot: u32) {
        self.0.on_remove(slot)
    }
    fn evict(&mut self) -> Option<u32> {
        self.0.evict()
    }
    fn clear(&mut self) {
        self.0.clear()
    }
    fn bytes_per_slot(&self) -> usize {
        self.0.bytes_per_slot()
    }
    fn extra_bytes(&self) -> u64 {
        3000
    }
}

#[test]
fn a_policys_extra_memory_counts_against_the_budget_up_to_a_quarter() {
    for (budget, room) in [(100_000, 97_000), (8000, 6000)] {
        let cache: Cache<u64, u64, LruWithTable> = Cache::builder()
            .shards(1)
            .max_bytes(budget)
            .build()
            .unwrap();
        for k in 0..10_000 {
            cache.insert(k, k);
        }
        let held = cache.weighted_size();
        // Full to within one entry of the room the table leaves.
        assert!(
            held <= room && held + cache.entry_overhead() + 16 > room,
            "{held} of {room}"
        );
    }
}

mod hardening;
mod observer;

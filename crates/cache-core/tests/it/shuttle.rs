//! Thread schedules explored with shuttle: single-flight loads (success, error, a panic in the
//! loader, the weigher or the value's `Clone`, waiters waking), concurrent budget changes, and
//! removals racing a load.
//!
//! Built only with the `shuttle` feature, which puts the shard lock and the flights on shuttle's
//! primitives (`src/sync.rs`), so that every lock, atomic and condvar step is a point where
//! shuttle's scheduler may switch threads. A deadlock (every thread blocked) fails the test,
//! printing the schedule to replay. Run it alone:
//! `cargo test -p cache-core --features shuttle --test it shuttle`.

use std::hash::{BuildHasherDefault, DefaultHasher};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use cache_core::{Cache, LoadError};
use eviction::Lru;
use shuttle::sync::Arc;
use shuttle::thread;

/// Schedules explored per test.
const SCHEDULES: usize = 2_000;

/// A fixed hasher, so that a failing schedule replays with the same shards and buckets.
type FixedHasher = BuildHasherDefault<DefaultHasher>;
type TestCache = Cache<u64, u64, Lru, FixedHasher>;

const KEY: u64 = 7;

fn cache(shards: usize) -> TestCache {
    Cache::builder()
        .max_entries(64)
        .shards(shards)
        .hasher(FixedHasher::default())
        .build()
        .unwrap()
}

/// The payload of the user code panics here, thrown with `resume_unwind` so no hook prints it.
struct LoaderPanic;

#[test]
fn concurrent_loads_of_one_key_run_one_loader_and_wake_every_waiter() {
    shuttle::check_random(
        || {
            let cache = Arc::new(cache(1));
            let runs = Arc::new(AtomicUsize::new(0));
            let threads: Vec<_> = (0..3)
                .map(|t| {
                    let (cache, runs) = (Arc::clone(&cache), Arc::clone(&runs));
                    thread::spawn(move || {
                        cache.get_or_insert_with(KEY, || {
                            runs.fetch_add(1, Ordering::SeqCst);
                            thread::yield_now();
                            100 + t
                        })
                    })
                })
                .collect();
            let results: Vec<_> = threads.into_iter().map(|h| h.join().unwrap()).collect();
            assert_eq!(runs.load(Ordering::SeqCst), 1, "loaders run: {results:?}");
            let v = results[0].clone().unwrap();
            assert!(results.iter().all(|r| *r == Ok(v)), "{results:?}");
            assert_eq!(cache.get(&KEY), Some(v));
        },
        SCHEDULES,
    );
}

#[test]
fn a_failed_load_is_not_cached_and_its_waiters_retry_with_their_own_loaders() {
    shuttle::check_random(
        || {
            let cache = Arc::new(cache(1));
            let failing_ran = Arc::new(AtomicBool::new(false));
            let failing = {
                let (cache, ran) = (Arc::clone(&cache), Arc::clone(&failing_ran));
                thread::spawn(move || {
                    cache.try_get_or_insert_with(KEY, || {
                        ran.store(true, Ordering::SeqCst);
                        thread::yield_now();
                        Err("db down")
                    })
                })
            };
            let succeeding: Vec<_> = (1..3)
                .map(|t| {
                    let cache = Arc::clone(&cache);
                    thread::spawn(move || {
                        let ran = AtomicBool::new(false);
                        let r = cache.try_get_or_insert_with(KEY, || {
                            ran.store(true, Ordering::SeqCst);
                            thread::yield_now();
                            Ok::<_, &str>(100 + t)
                        });
                        (r, ran.load(Ordering::SeqCst))
                    })
                })
                .collect();
            let failed = failing.join().unwrap();
            let others: Vec<_> = succeeding.into_iter().map(|h| h.join().unwrap()).collect();
            // Exactly one succeeding loader ran (the other thread found its value), and everyone
            // who did not fail has its value.
            let loaded: Vec<u64> = others
                .iter()
                .filter(|(_, ran)| *ran)
                .map(|(r, _)| r.clone().unwrap())
                .collect();
            assert_eq!(loaded.len(), 1, "{failed:?} {others:?}");
            let v = loaded[0];
            assert!(others.iter().all(|(r, _)| *r == Ok(v)), "{others:?}");
            if failing_ran.load(Ordering::SeqCst) {
                assert_eq!(failed, Err(LoadError::Failed("db down")));
            } else {
                assert_eq!(failed, Ok(v));
            }
            assert_eq!(cache.get(&KEY), Some(v));
        },
        SCHEDULES,
    );
}

/// A value whose weigher or `Clone` panics when it says so.
#[derive(Debug, PartialEq)]
struct Brittle {
    n: u64,
    weigher_panics: bool,
    clone_panics: bool,
}

impl Brittle {
    fn plain(n: u64) -> Self {
        Brittle {
            n,
            weigher_panics: false,
            clone_panics: false,
        }
    }
}

impl Clone for Brittle {
    fn clone(&self) -> Self {
        if self.clone_panics {
            resume_unwind(Box::new(LoaderPanic));
        }
        Brittle { ..*self }
    }
}

/// Which user code panics in the load that one of the callers leads.
#[derive(Clone, Copy, Debug)]
enum Breaks {
    Loader,
    /// The weigher, weighing the loaded value before it is stored.
    Weigher,
    /// The loaded value's `Clone`, when the leader copies it for its waiters and the table.
    Clone,
}

/// One caller's load panics (in `breaks`), beside two that succeed: the panic reaches its
/// caller, its waiters get `LoaderPanicked`, later callers load afresh, nobody waits forever.
fn a_panicking_load(breaks: Breaks) {
    shuttle::check_random(
        move || {
            let cache: Arc<Cache<u64, Brittle, Lru, FixedHasher>> = Arc::new(
                Cache::builder_with_weigher(|_: &u64, v: &Brittle| {
                    if v.weigher_panics {
                        resume_unwind(Box::new(LoaderPanic));
                    }
                    0
                })
                .max_entries(64)
                .shards(1)
                .hasher(FixedHasher::default())
                .build()
                .unwrap(),
            );
            let panicking_ran = Arc::new(AtomicBool::new(false));
            let panicking = {
                let (cache, ran) = (Arc::clone(&cache), Arc::clone(&panicking_ran));
                thread::spawn(move || {
                    catch_unwind(AssertUnwindSafe(|| {
                        cache.get_or_insert_with(KEY, || {
                            ran.store(true, Ordering::SeqCst);
                            thread::yield_now();
                            let mut v = Brittle::plain(13);
                            match breaks {
                                Breaks::Loader => resume_unwind(Box::new(LoaderPanic)),
                                Breaks::Weigher => v.weigher_panics = true,
                                Breaks::Clone => v.clone_panics = true,
                            }
                            v
                        })
                    }))
                    .map_err(|payload| assert!(payload.is::<LoaderPanic>(), "another panic"))
                })
            };
            let others: Vec<_> = (1..3)
                .map(|t| {
                    let cache = Arc::clone(&cache);
                    thread::spawn(move || {
                        let ran = AtomicBool::new(false);
                        let r = cache.get_or_insert_with(KEY, || {
                            ran.store(true, Ordering::SeqCst);
                            Brittle::plain(100 + t)
                        });
                        (r.map(|v| v.n), ran.load(Ordering::SeqCst))
                    })
                })
                .collect();
            let panicked = panicking.join().unwrap().map(|r| r.map(|v| v.n));
            let others: Vec<_> = others.into_iter().map(|h| h.join().unwrap()).collect();
            let ran = panicking_ran.load(Ordering::SeqCst);
            assert_eq!(
                panicked.is_err(),
                ran,
                "the panic reaches the caller that loaded"
            );
            let loaded: Vec<u64> = others
                .iter()
                .filter(|(_, ran)| *ran)
                .map(|(r, _)| r.clone().unwrap())
                .collect();
            assert!(loaded.len() <= 1, "{others:?}");
            for (r, _) in &others {
                match r {
                    Ok(v) => assert_eq!(Some(v), loaded.first(), "{others:?}"),
                    Err(LoadError::LoaderPanicked) => assert!(ran, "LoaderPanicked, no panic"),
                    Err(e) => panic!("{e:?}"),
                }
            }
            if let Ok(Ok(v)) = panicked {
                assert_eq!(Some(&v), loaded.first());
            }
            // A later caller loads afresh (or finds the value), and does not wait forever.
            let after = cache
                .get_or_insert_with(KEY, || Brittle::plain(999))
                .unwrap();
            assert_eq!(after.n, loaded.first().copied().unwrap_or(999));
        },
        SCHEDULES,
    );
}

#[test]
fn a_panicking_loader_fails_its_waiters_and_later_callers_load_afresh() {
    a_panicking_load(Breaks::Loader);
}

#[test]
fn a_panicking_weigher_in_a_load_fails_its_waiters_and_later_callers_load_afresh() {
    a_panicking_load(Breaks::Weigher);
}

#[test]
fn a_panicking_clone_in_a_load_fails_its_waiters_and_later_callers_load_afresh() {
    a_panicking_load(Breaks::Clone);
}

#[test]
fn concurrent_set_capacity_calls_leave_every_shard_with_the_same_call_s_budget() {
    const SMALL: u64 = 4 << 10;
    const LARGE: u64 = 16 << 10;
    shuttle::check_random(
        || {
            let cache: Arc<TestCache> = Arc::new(
                Cache::builder()
                    .max_bytes(8 << 10)
                    .shards(2)
                    .hasher(FixedHasher::default())
                    .build()
                    .unwrap(),
            );
            let resizers: Vec<_> = [SMALL, LARGE]
                .into_iter()
                .map(|bytes| {
                    let cache = Arc::clone(&cache);
                    thread::spawn(move || cache.set_capacity(bytes))
                })
                .collect();
            for h in resizers {
                h.join().unwrap();
            }
            let capacity = cache.capacity();
            assert!(capacity == SMALL || capacity == LARGE, "{capacity}");
            // Fill every shard: each ends within one entry of its budget, so a shard left
            // with the other call's budget shows as too much or too little in all.
            let charge = cache.entry_overhead();
            for k in 0..1_000 {
                cache.insert(k, k);
            }
            let weighted = cache.weighted_size();
            assert!(
                weighted <= capacity && weighted + 2 * charge >= capacity,
                "weighted_size {weighted}, capacity {capacity}: the shards' budgets disagree"
            );
        },
        SCHEDULES / 4,
    );
}

/// A load that began before a removal (`remove` or `invalidate_all`) must not store its value
/// after the removal returned.
fn removal_racing_a_load(remove: fn(&TestCache)) {
    shuttle::check_random(
        move || {
            let cache = Arc::new(cache(2));
            let started = Arc::new(AtomicBool::new(false));
            let loader = {
                let (cache, started) = (Arc::clone(&cache), Arc::clone(&started));
                thread::spawn(move || {
                    cache.get_or_insert_with(KEY, || {
                        started.store(true, Ordering::SeqCst);
                        thread::yield_now();
                        1
                    })
                })
            };
            let remover = {
                let (cache, started) = (Arc::clone(&cache), Arc::clone(&started));
                thread::spawn(move || {
                    let began_after_load = started.load(Ordering::SeqCst);
                    remove(&cache);
                    began_after_load
                })
            };
            assert_eq!(
                loader.join().unwrap(),
                Ok(1),
                "the loader's caller gets its value"
            );
            if remover.join().unwrap() {
                assert_eq!(
                    cache.get(&KEY),
                    None,
                    "a value loaded before the removal was stored after it"
                );
            }
        },
        SCHEDULES,
    );
}

#[test]
fn a_remove_cancels_the_load_in_flight() {
    removal_racing_a_load(|cache| {
        cache.remove(&KEY);
    });
}

#[test]
fn invalidate_all_cancels_the_load_in_flight() {
    removal_racing_a_load(TestCache::invalidate_all);
}

/// An insert racing a load: whatever the order, the key ends with one of the two values, a
/// read agrees with it, and nothing waits forever. (Whether the loaded value may replace a
/// newer insert is not specified; this does not check it.)
#[test]
fn an_insert_racing_a_load_leaves_one_of_the_values() {
    shuttle::check_random(
        || {
            let cache = Arc::new(cache(1));
            let loader = {
                let cache = Arc::clone(&cache);
                thread::spawn(move || {
                    cache.get_or_insert_with(KEY, || {
                        thread::yield_now();
                        1
                    })
                })
            };
            let inserter = {
                let cache = Arc::clone(&cache);
                thread::spawn(move || cache.insert(KEY, 2))
            };
            let loaded = loader.join().unwrap().unwrap();
            inserter.join().unwrap();
            assert!(loaded == 1 || loaded == 2, "{loaded}");
            let now = cache.get(&KEY);
            assert!(now == Some(1) || now == Some(2), "{now:?}");
            assert_eq!(cache.get_or_insert_with(KEY, || 3), Ok(now.unwrap()));
        },
        SCHEDULES,
    );
}

//! Several threads doing mixed operations; afterwards the budget, the counters and the
//! whereabouts of every value are checked.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cache_core::Cache;
use cache_traits::RemovalCause;
use eviction::Lru;

use crate::Rng;

struct Val {
    seq: u64,
    pad: Vec<u8>,
}

const THREADS: u64 = 4;
const KEYS_PER_THREAD: u64 = 2_000;
const OPS_PER_THREAD: u64 = 100_000;
const MAX_PAD: u64 = 2_000;

#[test]
fn mixed_concurrent_operations_keep_budget_counters_and_values() {
    let removed: Arc<Mutex<HashSet<(u64, u64)>>> = Arc::default();
    let sink = Arc::clone(&removed);
    let cache: Cache<u64, Arc<Val>, Lru> =
        Cache::builder_with_weigher(|_k: &u64, v: &Arc<Val>| v.pad.capacity() as u64)
            .max_bytes(1 << 20)
            .shards(8)
            .eviction_listener(move |k: &u64, v: &Arc<Val>, cause| {
                // The same (key, seq) never leaves twice.
                assert!(
                    sink.lock().unwrap().insert((*k, v.seq)),
                    "{k} {} left twice ({cause})",
                    v.seq
                );
            })
            .build()
            .unwrap();
    let gets = AtomicU64::new(0);
    let next_seq = AtomicU64::new(1);

    // Each thread owns the keys k with k % THREADS == t, so the last value it wrote for a key is
    // the only value that key may hold at the end; evictions may come from any thread.
    let last: Vec<Vec<Option<u64>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (cache, gets, next_seq) = (&cache, &gets, &next_seq);
                s.spawn(move || {
                    let mut rng = Rng::new(0xC0FFEE + t);
                    let mut last = vec![None; KEYS_PER_THREAD as usize];
                    for _ in 0..OPS_PER_THREAD {
                        let i = rng.below(KEYS_PER_THREAD);
                        let key = i * THREADS + t;
                        let make = |rng: &mut Rng| {
                            let seq = next_seq.fetch_add(1, Ordering::Relaxed);
                            Arc::new(Val {
                                seq,
                                pad: vec![0; rng.below(MAX_PAD) as usize],
                            })
                        };
                        match rng.below(100) {
                            0..=44 => {
                                gets.fetch_add(1, Ordering::Relaxed);
                                if let Some(v) = cache.get(&key) {
                                    assert_eq!(
                                        Some(v.seq),
                                        last[i as usize],
                                        "stale value for {key}"
                                    );
                                }
                            }
                            45..=79 => {
                                let v = make(&mut rng);
                                last[i as usize] = Some(v.seq);
                                cache.insert(key, v);
                            }
                            80..=89 => {
                                let got = cache.remove(&key);
                                if let Some(v) = got {
                                    assert_eq!(Some(v.seq), last[i as usize]);
                                }
                            }
                            90..=98 => {
                                gets.fetch_add(1, Ordering::Relaxed);
                                let fresh = make(&mut rng);
                                let fresh_seq = fresh.seq;
                                let v = cache.get_or_insert_with(key, move || fresh).unwrap();
                                if v.seq == fresh_seq {
                                    last[i as usize] = Some(fresh_seq);
                                } else {
                                    assert_eq!(Some(v.seq), last[i as usize]);
                                }
                            }
                            _ => {
                                let cap = (256 << 10) + rng.below(1 << 20);
                                cache.set_capacity(cap);
                            }
                        }
                    }
                    last
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    // The budget holds: every operation leaves its shard within that shard's share.
    assert!(
        cache.weighted_size() <= cache.capacity(),
        "{} > {}",
        cache.weighted_size(),
        cache.capacity()
    );

    // The counters add up.
    let stats = cache.stats();
    assert_eq!(stats.hits + stats.misses, gets.load(Ordering::Relaxed));

    // No value vanished: each key's last value is either still there or was reported leaving.
    let removed = removed.lock().unwrap();
    let mut present = 0;
    for (t, keys) in last.iter().enumerate() {
        for (i, seq) in keys.iter().enumerate() {
            let key = i as u64 * THREADS + t as u64;
            let Some(seq) = *seq else { continue };
            match cache.get(&key) {
                Some(v) => {
                    assert_eq!(v.seq, seq, "key {key} holds an older value");
                    present += 1;
                }
                None => assert!(
                    removed.contains(&(key, seq)),
                    "key {key} seq {seq} vanished"
                ),
            }
        }
    }
    assert_eq!(present, cache.entry_count());
    let evicted = stats.removals(RemovalCause::Size);
    assert!(evicted > 0, "the workload should overflow the budget");
}

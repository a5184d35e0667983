//! Tests of the hybrid: scan resistance, the window adapting, the sketch aging.

use super::{Hybrid, sketch::Sketch};
use crate::testing::{MiniCache, byte_weight};
use cache_traits::EvictionPolicy;

#[test]
fn a_scan_does_not_flush_the_hot_set() {
    let mut c = MiniCache::new(Hybrid::new(), 100);
    let hot: Vec<u64> = (0..80).collect();
    for _ in 0..10 {
        c.run(hot.iter().copied());
    }
    c.run(10_000..11_000); // one-time scan of cold keys, ten times the cache
    let hits = c.run(hot.iter().copied());
    assert!(hits >= 75, "only {hits} of 80 hot keys survived the scan");
}

#[test]
fn window_grows_on_recency_and_stays_small_on_loops() {
    // Recency: every key is requested twice, the second time soon after the first but past
    // the initial 1 % window, whose admission filter rejects these one-time candidates.
    let mut c = MiniCache::new(Hybrid::new(), 1000);
    let mut keys = Vec::new();
    for block in 0..1000u64 {
        let base = block * 50;
        keys.extend(base..base + 50);
        keys.extend(base..base + 50);
    }
    c.run(keys);
    assert!(
        c.policy.window_share() > 0.04,
        "window {}",
        c.policy.window_share()
    );

    // A loop larger than the cache: recency is useless, the window must stay small.
    let mut c = MiniCache::new(Hybrid::new(), 500);
    c.run((0..200).flat_map(|_| 0..1000u64));
    assert!(
        c.policy.window_share() <= 0.02,
        "window {}",
        c.policy.window_share()
    );
}

#[test]
fn sketch_counts_and_halves() {
    let mut s = Sketch::new(64);
    for _ in 0..20 {
        s.increment(42);
    }
    assert_eq!(s.frequency(42), 15, "counters saturate at 15");
    assert_eq!(s.frequency(7), 0);
    s.halve();
    assert_eq!(s.frequency(42), 7);
}

#[test]
fn weighted_regions_and_removal() {
    let mut h = Hybrid::with_static_window(0.5);
    h.set_capacity(1000);
    h.on_insert(0, 0, 400);
    h.on_insert(1, 1, 400);
    assert_eq!(h.window_weight, 800);
    h.on_insert(2, 2, 400);
    // The window (500) overflows: its oldest entries move to main while main has room.
    let victim = h.evict().expect("over capacity");
    assert!(victim <= 2);
    h.on_remove(if victim == 0 { 1 } else { 0 });
    assert!(h.bytes_per_slot() > 0);
    h.clear();
    assert_eq!(h.evict(), None);
}

/// A deterministic pseudo-random sequence (xorshift).
fn xorshift(seed: u64) -> impl Iterator<Item = u64> {
    let mut x = seed;
    std::iter::from_fn(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Some(x)
    })
}

#[test]
fn stationary_skew_keeps_the_hot_set_and_slow_aging() {
    // A skewed, stationary workload: a hot set of 200 keys (70 % of requests) and a long tail
    // of 100 000 keys. The hot set must stay resident and the sketch must not age faster.
    let mut c = MiniCache::new(Hybrid::new(), 500);
    let keys = xorshift(7).take(300_000).map(|r| {
        if r % 10 < 7 {
            r % 200
        } else {
            1_000 + r % 100_000
        }
    });
    let hits = c.run(keys);
    assert!(hits > 300_000 * 69 / 100, "{hits} hits");
    assert!(
        c.policy.aging_period() >= 10.0,
        "aging {}",
        c.policy.aging_period()
    );
}

#[test]
fn shifting_popularity_speeds_up_aging() {
    // The hot set changes every 5 000 requests; each generation is requested many times.
    // Old counts are stale: rejected newcomers come back, so the sketch must age faster.
    let mut c = MiniCache::new(Hybrid::new(), 500);
    let keys = xorshift(11)
        .take(400_000)
        .enumerate()
        .map(|(i, r)| (i as u64 / 5_000) * 10_000 + r % 400);
    c.run(keys);
    assert!(
        c.policy.aging_period() < 10.0,
        "aging {}",
        c.policy.aging_period()
    );
}

#[test]
fn the_window_keeps_its_share_of_the_held_weight_under_an_entry_bound() {
    // Unit weights with the entry bound as capacity, then byte weights under a byte capacity
    // the cache never reaches and an entry bound the policy is not told.
    for adaptive in [false, true] {
        let make = || {
            if adaptive {
                Hybrid::new()
            } else {
                Hybrid::with_static_window(0.2)
            }
        };
        for mut c in [
            MiniCache::new(make(), 1000),
            MiniCache::with_entry_bound(make(), 1000, byte_weight),
        ] {
            let hits = c.run_hot_and_scan(600, 200_000);
            let target = c.policy.window_share();
            let share = c.policy.window_weight as f64 / c.used as f64;
            assert!(
                (share - target).abs() <= 0.01,
                "the window holds {share:.3} of the weight for a share of {target:.3}"
            );
            assert!(hits > 55_000, "{hits} hits");
        }
    }
}

#[test]
fn byte_weights_size_the_sketch_by_entries_not_capacity() {
    let mut c = MiniCache::with_entry_bound(Hybrid::new(), 1000, byte_weight);
    c.run(0..10_000);
    assert_eq!(c.policy.sketch.width(), 1024);
    // Unit weights: the capacity counts entries and sizes the sketch from the start.
    let mut c = MiniCache::new(Hybrid::new(), 1000);
    c.run(0..10);
    assert_eq!(c.policy.sketch.width(), 1024);
}

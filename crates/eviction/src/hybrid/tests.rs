//! Tests of the hybrid: scan resistance, the window adapting, the sketch aging.

use super::{Hybrid, sketch::Sketch};
use crate::testing::MiniCache;
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

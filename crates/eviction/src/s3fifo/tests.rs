//! Tests of S3-FIFO: the small queue, the ghost queue, main's reinsertion, scan resistance.

use super::{G, S3Fifo};
use crate::testing::{MiniCache, byte_weight};
use cache_traits::EvictionPolicy;

#[test]
fn one_hit_wonders_leave_through_the_small_queue_into_the_ghost() {
    // Capacity 10: small holds 1, main 9.
    let mut c = MiniCache::new(S3Fifo::new(), 10);
    c.run(0..10); // all ten enter the small queue (nothing in the ghost yet)
    c.get(1); // 1 is hit while in the small queue
    c.get(10);
    // 0 is the oldest in small and was never hit: evicted, its hash goes to the ghost.
    assert_eq!(c.evicted, vec![0]);
    c.get(11);
    // 1 was hit: moved to main instead; 2 is evicted.
    assert_eq!(c.evicted, vec![0, 2]);
    assert!(c.contains(1));
    // 0 comes back: it is in the ghost, so it goes straight to main.
    c.get(0);
    let main_before = c.policy.main_weight;
    assert_eq!(main_before, 2, "keys 1 and 0 are in main");
}

#[test]
fn main_reinserts_hit_entries_with_a_lower_count() {
    let mut s3 = S3Fifo::new();
    s3.set_capacity(10);
    // Over the capacity twice: the small queue's two oldest (keys 0 and 1) leave into the ghost.
    for slot in 0..11 {
        s3.on_insert(slot, slot as u64, 1);
    }
    assert_eq!(s3.evict(), Some(0));
    s3.on_insert(0, 11, 1);
    assert_eq!(s3.evict(), Some(1));
    // Empty the small queue; keys 0 and 1 come back from the ghost straight into main.
    for slot in [0].into_iter().chain(2..11) {
        s3.on_remove(slot);
    }
    s3.on_insert(0, 0, 1);
    s3.on_insert(1, 1, 1);
    assert_eq!(s3.main_weight, 2);
    s3.on_access(0, 0);
    // Small is empty, so main evicts: 0 (oldest) was hit, is reinserted; 1 goes.
    assert_eq!(s3.evict(), Some(1));
    assert_eq!(s3.evict(), Some(0));
}

#[test]
fn a_scan_does_not_flush_the_hot_set() {
    let mut c = MiniCache::new(S3Fifo::new(), 100);
    let hot: Vec<u64> = (0..50).collect();
    for _ in 0..5 {
        c.run(hot.iter().copied());
    }
    c.run(10_000..20_000); // one-time scan of cold keys
    let hits = c.run(hot.iter().copied());
    assert!(hits >= 45, "only {hits} of 50 hot keys survived the scan");
}

#[test]
fn weights_count_against_the_queue_shares() {
    let mut s3 = S3Fifo::new();
    s3.set_capacity(1000);
    s3.on_insert(0, 0, 600);
    s3.on_insert(1, 1, 600);
    assert_eq!(s3.small_weight, 1200);
    assert_eq!(s3.evict(), Some(0));
    assert_eq!(s3.small_weight, 600);
    s3.on_remove(1);
    assert_eq!(s3.small_weight, 0);
    assert!(s3.bytes_per_slot() > 0);
}

#[test]
fn the_queues_follow_the_held_weight_under_an_entry_bound() {
    // Unit weights with the entry bound as capacity, then byte weights under a byte capacity
    // the cache never reaches and an entry bound the policy is not told: victims come from
    // the small queue once it holds a tenth of what the cache holds, so main keeps the hot
    // set in both (it holds 60 %; main would empty if the tenth were of the byte capacity).
    let mut shares = Vec::new();
    for mut c in [
        MiniCache::new(S3Fifo::new(), 1000),
        MiniCache::with_entry_bound(S3Fifo::new(), 1000, byte_weight),
    ] {
        let hits = c.run_hot_and_scan(600, 200_000);
        assert_eq!(c.len(), 1000);
        let main = c.policy.main_weight as f64 / c.used as f64;
        assert!(main > 0.5, "main holds {main:.3} of the weight");
        assert!(
            c.policy.ghost.len(G) <= c.len(),
            "{} ghosts for {} entries",
            c.policy.ghost.len(G),
            c.len()
        );
        assert!(hits > 55_000, "{hits} hits");
        shares.push(main);
    }
    assert!((shares[0] - shares[1]).abs() < 0.05, "{shares:?}");
}

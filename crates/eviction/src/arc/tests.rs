//! Tests of ARC: T1/T2 and how ghost hits steer the target `p`.

use super::{ArcPolicy, B1, B2};
use crate::testing::{MiniCache, byte_weight};
use cache_traits::EvictionPolicy;

#[test]
fn ghost_hit_in_b1_grows_the_recency_target() {
    let mut c = MiniCache::new(ArcPolicy::new(), 4);
    c.run(0..4);
    c.run([0, 1]); // 0 and 1 move to T2
    c.get(4); // T1 = {2, 3, 4} over p = 0: 2 goes to B1
    assert_eq!(c.evicted, vec![2]);
    assert_eq!(c.policy.p, 0.0);
    c.get(2); // B1 hit: p grows, 2 enters T2
    assert!(c.policy.p >= 1.0);
    assert!(c.policy.t2_weight >= 3);
}

#[test]
fn ghost_hit_in_b2_shrinks_the_recency_target() {
    let mut c = MiniCache::new(ArcPolicy::new(), 2);
    c.run([0, 0, 1, 1]); // both in T2
    c.get(2); // T1 = {2}; p = 0 so T1 is over target: 2 is evicted into B1
    c.get(2); // B1 hit: p = 1, 2 into T2, T2 LRU (0) into B2
    assert_eq!(c.policy.p, 1.0);
    assert_eq!(c.evicted, vec![2, 0]);
    c.get(0); // B2 hit: p back to 0
    assert_eq!(c.policy.p, 0.0);
}

#[test]
fn a_scan_does_not_flush_frequent_entries() {
    let mut c = MiniCache::new(ArcPolicy::new(), 100);
    let hot: Vec<u64> = (0..50).collect();
    for _ in 0..5 {
        c.run(hot.iter().copied());
    }
    c.run(10_000..20_000);
    let hits = c.run(hot.iter().copied());
    assert!(hits >= 45, "only {hits} of 50 hot keys survived the scan");
    assert!(c.policy.bytes_per_slot() > 0);
}

#[test]
fn a_capacity_near_u64_max_does_not_overflow() {
    // An entry-bounded cache used to hand its policies such capacities: `2c` overflowed.
    for capacity in [u64::MAX, u64::MAX - 1, u64::MAX / 2 + 1] {
        let mut c = MiniCache::bounded(ArcPolicy::new(), capacity, 100, |_| 1);
        c.run((0..20_000u64).map(|i| if i % 4 == 0 { i % 150 } else { i }));
        assert_eq!(c.len(), 100);
        assert!(c.policy.ghosts.total_len() <= 100);
    }
}

#[test]
fn ghosts_and_target_follow_the_held_weight_under_an_entry_bound() {
    let mut c = MiniCache::with_entry_bound(ArcPolicy::new(), 1000, byte_weight);
    let hits = c.run_hot_and_scan(600, 200_000);
    let ghosts = c.policy.ghosts.len(B1) + c.policy.ghosts.len(B2);
    assert!(ghosts <= c.len(), "{ghosts} ghosts for {} entries", c.len());
    let ghost_weight = c.policy.ghosts.weight(B1) + c.policy.ghosts.weight(B2);
    assert!(
        ghost_weight <= c.used,
        "{ghost_weight} of ghosts for {} held",
        c.used
    );
    assert!(c.policy.p <= c.used as f64);
    assert!(hits > 55_000, "{hits} hits");
}

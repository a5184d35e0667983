//! Tests of ARC: T1/T2 and how ghost hits steer the target `p`.

use super::ArcPolicy;
use crate::testing::MiniCache;
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

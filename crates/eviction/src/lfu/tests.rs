//! Tests of LFU-DA: frequency order, and aging after a popularity shift.

use super::Lfu;
use crate::testing::MiniCache;
use cache_traits::EvictionPolicy;

#[test]
fn evicts_least_frequent_then_least_recent() {
    let mut lfu = Lfu::new();
    for slot in 0..4 {
        lfu.on_insert(slot, 0, 1);
    }
    lfu.on_access(0, 0);
    lfu.on_access(3, 0);
    lfu.on_remove(2);
    assert_eq!(lfu.evict(), Some(1));
    assert_eq!(lfu.evict(), Some(0));
    assert_eq!(lfu.evict(), Some(3));
    assert_eq!(lfu.evict(), None);
}

#[test]
fn formerly_popular_key_ages_out() {
    let mut c = MiniCache::new(Lfu::new(), 4);
    // Key 0 is very popular for a while.
    c.run(std::iter::repeat_n(0, 50));
    // Then popularity shifts: a stream of new keys, each requested a few times.
    let mut evicted_after = None;
    for round in 0..500u64 {
        let key = 1000 + round;
        c.run([key, key, key]);
        if !c.contains(0) {
            evicted_after = Some(round);
            break;
        }
    }
    // Plain LFU would keep key 0 forever (50 hits beat 3); with aging it leaves.
    let rounds = evicted_after.expect("the formerly popular key never aged out");
    assert!(
        rounds > 5,
        "aged out too early ({rounds} rounds): frequency must still count"
    );
}

#[test]
fn clear_resets_age() {
    let mut lfu = Lfu::new();
    lfu.on_insert(0, 0, 1);
    assert_eq!(lfu.evict(), Some(0));
    lfu.clear();
    assert_eq!(lfu.evict(), None);
    assert!(lfu.bytes_per_slot() > 0);
}

//! Tests of LRU order.

use super::Lru;
use cache_traits::EvictionPolicy;

fn drain(p: &mut impl EvictionPolicy) -> Vec<u32> {
    std::iter::from_fn(|| p.evict()).collect()
}

#[test]
fn evicts_least_recently_used_first() {
    let mut lru = Lru::new();
    for slot in 0..5 {
        lru.on_insert(slot, 0, 1);
    }
    lru.on_access(2, 0);
    lru.on_access(0, 0);
    lru.on_remove(3);
    assert_eq!(drain(&mut lru), vec![1, 4, 2, 0]);
}

#[test]
fn reuses_slots_after_eviction_and_clear() {
    let mut lru = Lru::new();
    lru.on_insert(7, 0, 1);
    assert_eq!(lru.evict(), Some(7));
    lru.on_insert(7, 0, 1);
    lru.on_insert(1000, 0, 1);
    assert_eq!(drain(&mut lru), vec![7, 1000]);
    lru.on_insert(1, 0, 1);
    lru.clear();
    assert_eq!(lru.evict(), None);
}

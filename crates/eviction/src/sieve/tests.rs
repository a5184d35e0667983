//! Tests of SIEVE: the hand over visited bits, as in the paper's worked example.

use super::Sieve;
use crate::testing::MiniCache;
use cache_traits::EvictionPolicy;

#[test]
fn hand_clears_visited_bits_and_stays_where_it_evicted() {
    // The paper's illustration: objects A..H inserted in order (A oldest, at the tail);
    // A, B and G have been visited. Keys 0..8 stand for A..H.
    let mut c = MiniCache::new(Sieve::new(), 8);
    c.run(0..8);
    for k in [0, 1, 6] {
        assert!(c.get(k));
    }
    // I arrives: the hand starts at the tail, clears A and B, evicts C and stays after it.
    c.get(8);
    assert_eq!(c.evicted, vec![2]);
    // J arrives: the hand resumes at D (unvisited) rather than restarting at the tail.
    c.get(9);
    assert_eq!(c.evicted, vec![2, 3]);
    // A is still resident though it is the oldest: its bit was cleared, not the entry moved.
    assert!(c.contains(0) && c.contains(1));
    // E, F are evicted next, then G's bit is cleared and H goes.
    c.run([10, 11, 12]);
    assert_eq!(c.evicted, vec![2, 3, 4, 5, 7]);
}

#[test]
fn hand_wraps_from_head_to_tail() {
    let mut sieve = Sieve::new();
    for slot in 0..3 {
        sieve.on_insert(slot, 0, 1);
    }
    for slot in 0..3 {
        sieve.on_access(slot, 0);
    }
    // Every entry is visited: the hand clears all three bits, wraps, and evicts the oldest.
    assert_eq!(sieve.evict(), Some(0));
    assert_eq!(sieve.evict(), Some(1));
}

#[test]
fn removal_under_the_hand_moves_it() {
    let mut sieve = Sieve::new();
    for slot in 0..4 {
        sieve.on_insert(slot, 0, 1);
    }
    sieve.on_access(0, 0);
    assert_eq!(sieve.evict(), Some(1)); // hand now at 2
    sieve.on_remove(2);
    assert_eq!(sieve.evict(), Some(3));
    assert_eq!(sieve.evict(), Some(0));
    assert_eq!(sieve.evict(), None);
    assert_eq!(sieve.bytes_per_slot(), 9);
}

#[test]
fn is_referenced_means_a_hit_changes_nothing() {
    let mut a = Sieve::new();
    let mut b = Sieve::new();
    for p in [&mut a, &mut b] {
        for slot in 0..4 {
            p.on_insert(slot, u64::from(slot), 1);
        }
        p.on_access(1, 1);
    }
    assert!(a.is_referenced(1) && !a.is_referenced(2));
    a.on_access(1, 1); // a no-op by the contract
    let order = |p: &mut Sieve| std::iter::from_fn(|| p.evict()).collect::<Vec<_>>();
    assert_eq!(order(&mut a), order(&mut b));
}

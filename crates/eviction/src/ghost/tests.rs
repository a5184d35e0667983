//! Tests of the ghost lists: FIFO order, removal by hash, weights, compaction, shrinking.

use super::Ghosts;

#[test]
fn ghosts_leave_oldest_first_and_by_hash() {
    let mut g = Ghosts::<2>::default();
    g.insert(0, 10, 1);
    g.insert(0, 11, 2);
    g.insert(1, 20, 5);
    assert_eq!((g.len(0), g.weight(0), g.len(1), g.weight(1)), (2, 3, 1, 5));
    assert_eq!(g.remove(11), Some((0, 2)));
    assert_eq!(g.remove(11), None);
    // Re-inserting moves a hash to the newest end of its new list.
    g.insert(1, 10, 4);
    assert_eq!((g.len(0), g.weight(0)), (0, 0));
    assert_eq!(g.pop_oldest(0), None);
    assert_eq!(g.pop_oldest(1), Some((20, 5)));
    assert_eq!(g.pop_oldest(1), Some((10, 4)));
    assert_eq!(g.total_len(), 0);
}

#[test]
fn stale_records_are_compacted_and_room_given_back() {
    let mut g = Ghosts::<1>::default();
    // Ghost hits leave stale records behind: the queue stays within twice the live ghosts.
    for i in 0..100_000u64 {
        g.insert(0, i, 1);
        if i >= 10 {
            g.remove(i - 10);
        }
    }
    assert_eq!(g.len(0), 10);
    assert!(g.lists[0].queue.len() <= 2 * 10 + 64 + 1);
    assert_eq!(g.pop_oldest(0), Some((99_990, 1)));
    // A list that grew large and shrank by popping gives its room back.
    for i in 0..100_000u64 {
        g.insert(0, 1_000_000 + i, 1);
    }
    while g.len(0) > 10 {
        g.pop_oldest(0);
    }
    assert!(
        g.members.capacity() <= 4 * 10 + 64 + 64,
        "{}",
        g.members.capacity()
    );
    assert!(g.lists[0].queue.capacity() <= 4 * 10 + 2 * 64 + 64);
    assert_eq!(g.pop_oldest(0), Some((1_099_990, 1)));
    g.clear();
    assert_eq!((g.total_len(), g.weight(0)), (0, 0));
}

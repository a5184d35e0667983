//! The tracked entries' bookkeeping.

use cache_traits::RemovalCause;

use super::{Tracked, TrackedEntry};

fn entry(ns: usize, weight: u64, scale: u64) -> TrackedEntry {
    TrackedEntry {
        label: format!("w{weight}"),
        namespace: ns,
        weight,
        scale,
        hits: 0,
    }
}

#[test]
fn estimates_scale_tracked_entries_and_removals_undo_them() {
    let mut t = Tracked::new();
    t.insert(1, entry(0, 100, 64));
    t.insert(2, entry(0, 1000, 1));
    t.insert(3, entry(1, 10, 64));
    let e = t.estimate(0);
    assert_eq!((e.entries, e.bytes, e.inserts), (65, 6400 + 1000, 65));
    assert!(t.remove(1, 100, RemovalCause::Size));
    assert!(!t.remove(1, 100, RemovalCause::Size), "gone already");
    let e = t.estimate(0);
    assert_eq!((e.entries, e.bytes), (1, 1000));
    assert_eq!((e.evictions(), e.evicted_bytes()), (64, 6400));
    assert_eq!(t.estimate(1).entries, 64);
    assert_eq!(t.len(), 2);
}

#[test]
fn a_removal_of_an_untracked_key_changes_nothing() {
    let mut t = Tracked::new();
    t.insert(1, entry(0, 100, 1));
    assert!(!t.remove(2, 100, RemovalCause::Explicit));
    assert_eq!(t.estimate(0).entries, 1);
}

#[test]
fn a_replaced_value_reported_after_its_successor_removes_the_right_one() {
    let mut t = Tracked::new();
    t.insert(7, entry(0, 100, 1));
    t.insert(7, entry(0, 300, 1)); // the new value, told before the old one's removal
    assert!(t.remove(7, 100, RemovalCause::Replaced));
    let heaviest = t.heaviest(5);
    assert_eq!(heaviest.len(), 1);
    assert_eq!(heaviest[0].weight, 300);
    assert_eq!(t.estimate(0).bytes, 300);
}

#[test]
fn unread_entries_are_those_no_sampled_read_hit() {
    let mut t = Tracked::new();
    t.insert(1, entry(0, 100, 2));
    t.insert(2, entry(0, 500, 2));
    t.hit(1);
    let (bytes, top) = t.unread(5);
    assert_eq!(bytes, 1000);
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].weight, 500);
}

#[test]
fn keys_sharing_a_hash_are_told_apart_by_weight() {
    let mut t = Tracked::new();
    t.insert(9, entry(0, 10, 1));
    t.insert(9, entry(1, 20, 1));
    t.insert(9, entry(2, 30, 1));
    assert_eq!(t.len(), 3);
    assert!(t.remove(9, 20, RemovalCause::Explicit));
    assert_eq!(t.estimate(1).entries, 0);
    assert!(t.remove(9, 10, RemovalCause::Explicit));
    assert_eq!(t.estimate(0).entries, 0);
    assert_eq!(t.estimate(2).entries, 1);
    assert!(t.remove(9, 30, RemovalCause::Explicit));
    assert_eq!(t.len(), 0);
    assert!(!t.remove(9, 30, RemovalCause::Explicit));
}

#[test]
fn a_removal_of_another_weight_leaves_the_tracked_entry() {
    // Tracked while the profiler was off (not told), then stored again under the same key: the
    // old value's removal must not take the new one's place.
    let mut t = Tracked::new();
    t.insert(5, entry(0, 300, 1));
    assert!(!t.remove(5, 100, RemovalCause::Replaced));
    assert_eq!(t.estimate(0).bytes, 300);
}

#[test]
fn unread_bytes_follow_inserts_hits_and_removals() {
    let mut t = Tracked::new();
    t.insert(1, entry(0, 100, 2));
    t.insert(2, entry(0, 50, 2));
    assert_eq!(t.unread_bytes(), 300);
    t.hit(1);
    t.hit(1);
    assert_eq!(t.unread_bytes(), 100);
    assert!(t.remove(2, 50, RemovalCause::Size));
    assert_eq!(t.unread_bytes(), 0);
    assert_eq!(t.unread(5).0, 0);
}

//! Tests of the key tables: space-saving guarantees and the heavy-key bound.

use super::*;

#[test]
fn labels_are_cut_at_80_characters() {
    assert_eq!(truncate_label("short".into()), "short");
    let long = "é".repeat(100);
    let cut = truncate_label(long);
    assert_eq!(cut.chars().count(), LABEL_CHARS + 1);
    assert!(cut.ends_with('…'));
}

#[test]
fn space_saving_keeps_frequent_keys_and_bounds_errors() {
    let mut t = SpaceSaving::new(4);
    for round in 0..100u64 {
        t.record(1, 0, 1, || "hot".into());
        t.record(100 + round, 0, 1, || format!("cold{round}"));
    }
    let top = t.top(1);
    assert_eq!(top[0].label, "hot");
    assert_eq!(top[0].count, 100);
    assert_eq!(t.total(), 200);
    for e in t.top(4) {
        assert!(e.count - e.error <= 100);
    }
}

#[test]
fn space_saving_names_a_key_on_its_second_sighting_only() {
    let mut t = SpaceSaving::new(2);
    t.record(7, 0, 1, || panic!("label asked on a first sighting"));
    assert_eq!(t.top(1)[0].label, "key #0000000000000007");
    t.record(7, 0, 1, || "seven".into());
    t.record(7, 0, 1, || panic!("label asked for a named key"));
    assert_eq!(
        (t.top(1)[0].count, t.top(1)[0].label.as_str()),
        (3, "seven")
    );
}

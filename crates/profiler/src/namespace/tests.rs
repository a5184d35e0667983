//! Tests of the namespace registry: dense slots and the 64-name bound.

use super::*;

#[test]
fn names_get_dense_slots_and_repeat_lookups_agree() {
    let ns = Namespaces::new();
    assert_eq!(ns.index("users"), 0);
    assert_eq!(ns.index("orders"), 1);
    assert_eq!(ns.index("users"), 0);
    // The same text from another allocation finds the same slot.
    let leaked: &'static str = String::from("orders").leak();
    assert_eq!(ns.index(leaked), 1);
    assert_eq!(ns.name(1), Some("orders"));
    assert_eq!(ns.in_use().collect::<Vec<_>>(), [0, 1, OTHER]);
}

#[test]
fn names_beyond_64_go_to_other() {
    let ns = Namespaces::new();
    for i in 0..MAX_NAMESPACES {
        let name: &'static str = format!("ns{i}").leak();
        assert_eq!(ns.index(name), i);
    }
    assert_eq!(ns.index("one_too_many"), OTHER);
    assert_eq!(ns.name(OTHER), Some("other"));
    assert_eq!(ns.index("ns3"), 3);
}

use cache_traits::{Cell, MetricKind, ReportSource};

use crate::Cache;

fn value(section: &cache_traits::Section, name: &str) -> f64 {
    section
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no metric {name}"))
        .value
}

#[test]
fn a_cache_reports_its_memory_counters_and_removals() {
    let cache: Cache<u64, Vec<u8>, eviction::Lru> = Cache::builder()
        .name("results")
        .max_bytes(1 << 20)
        .build()
        .unwrap();
    cache.insert(1, vec![0; 100]);
    assert!(cache.get(&1).is_some());
    assert!(cache.get(&2).is_none());
    cache.remove(&1);
    let sections = cache.sections();
    assert_eq!(sections.len(), 1);
    let s = &sections[0];
    assert_eq!(s.id, "cache.results");
    assert_eq!(value(s, "maxmemory"), (1 << 20) as f64);
    assert_eq!(
        value(s, "maxkeys"),
        0.0,
        "no entry bound reads 0, as Redis's maxmemory does"
    );
    assert_eq!(value(s, "keyspace_hits"), 1.0);
    assert_eq!(value(s, "keyspace_misses"), 1.0);
    assert_eq!(value(s, "keys"), 0.0);
    assert!(
        s.metrics
            .iter()
            .all(|m| m.labels[0] == ("cache".into(), "results".into()))
    );
    let hits = s
        .metrics
        .iter()
        .find(|m| m.name == "keyspace_hits")
        .unwrap();
    assert_eq!(hits.kind, MetricKind::Counter);
    let removals = &s.tables[0];
    let explicit = removals
        .rows
        .iter()
        .find(|r| r[0] == Cell::from("explicit"))
        .unwrap();
    assert_eq!(explicit[1], Cell::Int(1));
    assert!(
        removals
            .rows
            .iter()
            .all(|r| r.len() == removals.columns.len())
    );
}

//! Tests of the report section: labelled metrics, tables and each finding.

use std::sync::Arc;

use cache_traits::{CacheObserver, Operation, RemovalCause, ReportSource};

use super::*;
use crate::Mode;
use crate::testing::FakeProbe;

fn profiler(probe: &Arc<FakeProbe>) -> Arc<Profiler<u64>> {
    Profiler::<u64>::builder()
        .name("results")
        .namespace(|k| if *k < 1000 { "small" } else { "blobs" })
        .mode(Mode::On)
        .probe(probe.clone())
        .build()
        .unwrap()
}

/// Loads `n` keys from `first`, each charged `weight` while its loader allocates `allocated`.
fn load(p: &Profiler<u64>, probe: &FakeProbe, first: u64, n: u64, weight: u64, allocated: u64) {
    for k in first..first + n {
        let started = p.load_started();
        probe.alloc(allocated);
        p.loaded(&k, Some(weight), 10_000, started);
        p.inserted(&k, weight, true);
    }
}

fn codes(section: &Section) -> Vec<&str> {
    section.findings.iter().map(|f| f.code.as_str()).collect()
}

#[test]
fn the_section_has_labelled_metrics_and_tables() {
    let probe = Arc::new(FakeProbe::new());
    let p = profiler(&probe);
    load(&p, &probe, 0, 3, 100, 100);
    assert!(p.sample().report);
    p.read(Some(&1), true);
    p.latency(Operation::GetHit, 2_000);
    let sections = p.sections();
    assert_eq!(sections.len(), 1);
    let s = &sections[0];
    assert_eq!(
        (s.id.as_str(), s.title.as_str()),
        ("profile.results", "Profile: results")
    );
    let find = |name: &str, labels: &[(&str, &str)]| {
        s.metrics
            .iter()
            .find(|m| {
                m.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| m.labels.iter().any(|(mk, mv)| mk == k && mv == v))
            })
            .unwrap_or_else(|| panic!("no {name} {labels:?}"))
    };
    let small = [("cache", "results"), ("namespace", "small")];
    assert_eq!(find("namespace_entries", &small).value, 3.0);
    assert_eq!(find("namespace_bytes", &small).value, 300.0);
    assert_eq!(find("namespace_bytes", &small).unit, Unit::Bytes);
    assert_eq!(find("namespace_hits", &small).value, 1.0);
    assert_eq!(find("namespace_misses", &small).value, 0.0);
    assert_eq!(find("namespace_evictions", &small).value, 0.0);
    assert_eq!(find("namespace_inserted_bytes", &small).value, 300.0);
    assert_eq!(
        find("namespace_inserted_bytes", &small).kind,
        cache_traits::MetricKind::Counter
    );
    find("namespace_evicted_bytes", &small);
    find("namespace_churn_in", &small);
    find("namespace_churn_out", &small);
    let p50 = find(
        "latency",
        &[
            ("cache", "results"),
            ("op", "get_hit"),
            ("percentile", "50"),
        ],
    );
    assert_eq!(p50.unit, Unit::Seconds);
    assert!((p50.value - 2e-6).abs() < 1e-7, "{}", p50.value);
    assert_eq!(
        find("profile_sampling_period", &[("cache", "results")]).value,
        1.0
    );
    let titles: Vec<_> = s.tables.iter().map(|t| t.title.as_str()).collect();
    for title in [
        "Latency by operation",
        "Namespaces",
        "Hot keys",
        "Heavy keys",
        "Memory hotspots",
        "Allocation by namespace",
    ] {
        assert!(titles.contains(&title), "{titles:?}");
    }
    assert!(s.findings.is_empty(), "{:?}", s.findings);
    for t in &s.tables {
        assert!(t.rows.iter().all(|r| r.len() == t.columns.len()));
    }
}

#[test]
fn loads_allocating_4x_the_charge_mean_the_weigher_undercounts() {
    let probe = Arc::new(FakeProbe::new());
    let p = profiler(&probe);
    load(&p, &probe, 1000, 16, 1024, 4096);
    load(&p, &probe, 0, 16, 100, 100);
    let s = &p.sections()[0];
    assert_eq!(codes(s), ["QC-PROFILE-WEIGHER-UNDERCOUNT"]);
    let f = &s.findings[0];
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.title.contains("blobs"), "{}", f.title);
    assert!(f.recommendation.contains("fix the weigher / HeapSize impl"));
    assert!(f.recommendation.contains("1024") && f.recommendation.contains("4096"));
    assert!(f.evidence.contains(&("namespace".into(), "blobs".into())));
    let alloc = s
        .tables
        .iter()
        .find(|t| t.name == "allocation_by_namespace")
        .unwrap();
    assert_eq!(alloc.rows.len(), 2);
}

#[test]
fn loads_allocating_what_is_charged_raise_nothing() {
    let probe = Arc::new(FakeProbe::new());
    let p = profiler(&probe);
    load(&p, &probe, 1000, 64, 1024, 1024);
    assert!(p.sections()[0].findings.is_empty());
    // Too few loads to judge.
    let p = profiler(&probe);
    load(&p, &probe, 1000, 15, 1024, 4096);
    assert!(p.sections()[0].findings.is_empty());
}

#[test]
fn a_namespace_with_bytes_but_few_hits_is_a_memory_hotspot() {
    let probe = Arc::new(FakeProbe::new());
    let p = profiler(&probe);
    p.inserted(&1000, 9_000, true);
    p.inserted(&1, 1_000, true);
    for _ in 0..9 {
        p.read(Some(&1), true);
    }
    p.read(Some(&1000), true);
    let s = &p.sections()[0];
    assert_eq!(codes(s), ["QC-PROFILE-MEMORY-HOTSPOT"]);
    assert_eq!(s.findings[0].severity, Severity::Info);
    assert!(s.findings[0].title.contains("blobs"));
}

#[test]
fn evicted_values_that_free_little_are_retained_elsewhere() {
    let probe = Arc::new(FakeProbe::new());
    let p = profiler(&probe);
    // One drop in 16 is measured: 16 measured drops of 128 KiB.
    for k in 0..256u64 {
        let token = p.removed(&k, 128 << 10, RemovalCause::Size);
        probe.free(16 << 10);
        p.dropped(128 << 10, token);
    }
    let s = &p.sections()[0];
    assert_eq!(codes(s), ["QC-PROFILE-EVICTION-RETAINED"]);
    assert!(s.findings[0].recommendation.contains("Arc"));

    // Values whose drop frees what they were charged raise nothing.
    let p = profiler(&probe);
    // One drop in 16 is measured: 16 measured drops of 128 KiB.
    for k in 0..256u64 {
        let token = p.removed(&k, 128 << 10, RemovalCause::Size);
        probe.free(128 << 10);
        p.dropped(128 << 10, token);
    }
    assert!(p.sections()[0].findings.is_empty());
}

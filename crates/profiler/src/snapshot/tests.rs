//! Tests of derived figures: churn rates on a manual clock, memory hotspots, and the real and
//! unread byte estimates.

use std::sync::Arc;
use std::time::Duration;

use cache_traits::{CacheObserver, ManualClock, RemovalCause};

use super::*;
use crate::testing::FakeProbe;

fn by_prefix(clock: Arc<ManualClock>) -> Arc<Profiler<str>> {
    Profiler::<str>::builder()
        .namespace(|k: &str| match k.split_once(':') {
            Some(("img", _)) => "images",
            Some(("user", _)) => "users",
            _ => "default",
        })
        .mode(Mode::On)
        .clock(clock)
        .build()
        .unwrap()
}

fn ns<'a>(s: &'a ProfileSnapshot, name: &str) -> &'a NamespaceProfile {
    s.namespaces.iter().find(|n| n.name == name).unwrap()
}

#[test]
fn churn_rates_are_over_the_time_since_the_previous_snapshot() {
    let clock = Arc::new(ManualClock::new());
    let p = by_prefix(clock.clone());
    p.inserted("user:1", 1000, true);
    p.inserted("user:2", 1000, true);
    clock.advance(Duration::from_secs(2));
    let s = p.snapshot();
    assert_eq!(ns(&s, "users").churn_in, 1000.0);
    assert_eq!(ns(&s, "users").churn_out, 0.0);

    p.removed("user:1", 1000, RemovalCause::Size);
    p.inserted("user:3", 500, true);
    clock.advance(Duration::from_millis(500));
    let s = p.snapshot();
    assert_eq!(ns(&s, "users").churn_in, 1000.0);
    assert_eq!(ns(&s, "users").churn_out, 2000.0);

    // No time passed: the last rates stand.
    let s = p.snapshot();
    assert_eq!(ns(&s, "users").churn_out, 2000.0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(ns(&p.snapshot(), "users").churn_out, 0.0);
}

#[test]
fn namespaces_holding_bytes_without_hits_are_hotspots() {
    let clock = Arc::new(ManualClock::new());
    let p = by_prefix(clock);
    p.inserted("img:1", 80_000, true);
    p.inserted("user:1", 5_000, true);
    p.inserted("user:2", 15_000, true); // three times its namespace's mean: a heavy key
    for _ in 0..90 {
        p.read(Some("user:1"), true);
    }
    for _ in 0..10 {
        p.read(Some("img:1"), true);
    }
    let s = p.snapshot();
    let spots: Vec<_> = s
        .hotspots
        .iter()
        .map(|h| (h.kind, h.name.as_str()))
        .collect();
    assert_eq!(
        spots,
        [
            (HotspotKind::Namespace, "images"),
            (HotspotKind::UnreadKey, "\"user:2\"")
        ]
    );
    let images = &s.hotspots[0];
    assert_eq!(images.byte_share, 0.8);
    assert_eq!(images.hit_share, 0.1);
    assert_eq!(s.unread_bytes_estimate, Some(15_000));
}

#[test]
fn real_bytes_are_estimated_once_16_loads_were_measured() {
    let probe = Arc::new(FakeProbe::new());
    let p = Profiler::<u64>::builder()
        .probe(probe.clone())
        .build()
        .unwrap();
    for k in 0..16u64 {
        if k == 15 {
            assert_eq!(p.snapshot().real_bytes_estimate, None);
        }
        let started = p.load_started();
        probe.alloc(200);
        p.loaded(&k, Some(100), 1_000, started);
        p.inserted(&k, 100, true);
    }
    assert_eq!(p.snapshot().real_bytes_estimate, Some(3200));
}

#[test]
fn latency_quantiles_come_from_the_histogram() {
    let p = Profiler::<u64>::builder().mode(Mode::On).build().unwrap();
    for i in 1..=1000u64 {
        p.latency(Operation::Insert, i * 1000);
    }
    let s = p.snapshot();
    let l = s
        .latency
        .iter()
        .find(|l| l.op == Operation::Insert)
        .unwrap();
    assert_eq!(l.count, 1000);
    let close = |v: Option<u64>, want: u64| {
        let v = v.unwrap() as f64;
        (v - want as f64).abs() <= want as f64 / 16.0
    };
    assert!(close(l.p50, 500_000), "{:?}", l.p50);
    assert!(close(l.p99, 990_000), "{:?}", l.p99);
    assert!(close(l.max, 1_000_000), "{:?}", l.max);
    assert_eq!(s.latency[0].p50, None);
}

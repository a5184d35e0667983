//! Tests of recording: exact namespace counts, sampling estimates, modes, key tables and
//! panics in user code.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::*;
use crate::snapshot::ProfileSnapshot;
use crate::testing::FakeProbe;

fn by_parity() -> ProfilerBuilder<u64> {
    Profiler::<u64>::builder().namespace(|k| if k % 2 == 0 { "even" } else { "odd" })
}

fn ns<'a>(s: &'a ProfileSnapshot, name: &str) -> &'a crate::NamespaceProfile {
    s.namespaces
        .iter()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no namespace {name} in {:?}", s.namespaces))
}

thread_local! {
    /// The countdown a cache keeps (per shard; one thread here).
    static LEFT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// A read as a cache does it: counts down, asks `sample` when the countdown runs out, and
/// reports only sampled reads.
fn read<K: Hash + Debug + ?Sized>(p: &Profiler<K>, key: &K, hit: bool) {
    let sampled = LEFT.with(|left| match left.get() {
        0 => {
            let s = p.sample();
            left.set(s.skip);
            s.report
        }
        n => {
            left.set(n - 1);
            false
        }
    });
    if sampled {
        p.read(Some(key), hit);
        p.latency(
            if hit {
                Operation::GetHit
            } else {
                Operation::GetMiss
            },
            1_000,
        );
    }
}

#[test]
fn entries_told_always_count_once_through_insert_replace_and_remove() {
    let p = by_parity().build().unwrap();
    for k in 0..10u64 {
        p.inserted(&k, 100 + k, true);
    }
    // Replace key 2 (100 + 2 bytes) by a 500-byte value: the old one is reported removed.
    p.removed(&2, 102, RemovalCause::Replaced);
    p.inserted(&2, 500, true);
    p.removed(&3, 103, RemovalCause::Size);
    p.removed(&5, 105, RemovalCause::Explicit);
    let s = p.snapshot();
    let even = ns(&s, "even");
    assert_eq!(even.entries, 5);
    assert_eq!(even.bytes, 100 + 500 + 104 + 106 + 108);
    assert_eq!(even.inserted_bytes, 100 + 102 + 104 + 106 + 108 + 500);
    assert_eq!(even.evictions, 0);
    let odd = ns(&s, "odd");
    assert_eq!(odd.entries, 3);
    assert_eq!(odd.bytes, 101 + 107 + 109);
    assert_eq!((odd.evictions, odd.evicted_bytes), (1, 103));
    assert_eq!(odd.removed_bytes, 103 + 105);
    let causes: Vec<_> = odd.removals.iter().filter(|(_, n)| *n > 0).collect();
    assert_eq!(
        causes,
        [&(RemovalCause::Size, 1), &(RemovalCause::Explicit, 1)]
    );
}

#[test]
fn estimates_are_exact_when_on_and_scale_with_the_period_when_sampled() {
    let p = by_parity().mode(Mode::On).build().unwrap();
    for k in 0..1000u64 {
        read(&p, &k, k % 4 != 3);
    }
    let s = p.snapshot();
    assert_eq!(ns(&s, "even").est_hits, 500);
    assert_eq!(ns(&s, "odd").est_hits, 250);
    assert_eq!(ns(&s, "odd").est_misses, 250);
    assert_eq!(s.latency[0].count, 750);

    let p = by_parity()
        .mode(Mode::Sampled { period: 16 })
        .build()
        .unwrap();
    let n = 200_000u64;
    for k in 0..n {
        read(&p, &k, true);
    }
    let s = p.snapshot();
    let hits = ns(&s, "even").est_hits + ns(&s, "odd").est_hits;
    let err = (hits as f64 - n as f64).abs() / n as f64;
    assert!(err < 0.05, "estimated {hits} hits of {n}");
    let timed = s.latency[0].count as f64;
    assert!(
        (timed - n as f64 / 16.0).abs() < n as f64 / 16.0 * 0.05,
        "{timed}"
    );
}

#[test]
fn a_period_change_keeps_estimates_unbiased() {
    let p = by_parity()
        .mode(Mode::Sampled { period: 4 })
        .build()
        .unwrap();
    for k in 0..40_000u64 {
        read(&p, &(k * 2), true);
    }
    p.set_mode(Mode::Sampled { period: 32 }).unwrap();
    for k in 0..40_000u64 {
        read(&p, &(k * 2), true);
    }
    let hits = ns(&p.snapshot(), "even").est_hits as f64;
    assert!((hits - 80_000.0).abs() < 80_000.0 * 0.05, "{hits}");
}

#[test]
fn mode_off_records_nothing() {
    let probe = Arc::new(FakeProbe::new());
    let p = by_parity().mode(Mode::Off).probe(probe).build().unwrap();
    for k in 0..100u64 {
        assert!(!p.sample().report);
        p.inserted(&k, 10, true);
        p.read(Some(&k), true);
        p.latency(Operation::Insert, 5);
        let started = p.load_started();
        assert_eq!(started, 0);
        p.loaded(&k, Some(10), 100, started);
        let token = p.removed(&k, 10, RemovalCause::Size);
        assert_eq!(token, 0);
        p.dropped(10, token);
    }
    let s = p.snapshot();
    assert!(s.namespaces.is_empty(), "{:?}", s.namespaces);
    assert!(s.latency.iter().all(|l| l.count == 0));
    assert!(s.hot_keys.is_empty() && s.heavy_keys.is_empty());
    assert_eq!((s.freed_charged, s.freed_seen), (0, 0));
}

#[test]
fn hot_keys_find_a_zipf_hot_key() {
    let p = Profiler::<u64>::builder()
        .mode(Mode::Sampled { period: 8 })
        .top_keys(5)
        .build()
        .unwrap();
    // Zipf(1) over 1000 keys by inverse CDF on a xorshift stream.
    let weights: Vec<f64> = (1..=1000).map(|i| 1.0 / f64::from(i)).collect();
    let total: f64 = weights.iter().sum();
    let cdf: Vec<f64> = weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w / total;
            Some(*acc)
        })
        .collect();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        let key = cdf.partition_point(|&c| c < u) as u64;
        read(&p, &key, true);
    }
    let s = p.snapshot();
    assert_eq!(s.hot_keys.len(), 5);
    assert_eq!(s.hot_keys[0].label, "0");
    assert_eq!(s.hot_keys[0].namespace, "default");
    // Key 0 draws 1/H(1000) ≈ 13.4 % of reads.
    let share = s.hot_keys[0].share;
    assert!((0.11..0.16).contains(&share), "{share}");
    assert!(s.hot_keys[0].error < s.hot_keys[0].est_reads / 10);
    let labels: Vec<_> = s.hot_keys.iter().map(|k| k.label.as_str()).collect();
    assert!(labels[..3].contains(&"1"), "{labels:?}");
}

#[test]
fn heavy_keys_track_the_heaviest_live_keys_and_their_hits() {
    let p = Profiler::<u64>::builder()
        .mode(Mode::On)
        .top_keys(2)
        .build()
        .unwrap();
    for k in 0..100u64 {
        p.inserted(&k, k * 10, true);
    }
    read(&p, &99, true);
    read(&p, &99, true);
    let s = p.snapshot();
    let heavy: Vec<_> = s
        .heavy_keys
        .iter()
        .map(|h| (h.label.as_str(), h.bytes, h.sampled_hits))
        .collect();
    assert_eq!(heavy, [("99", 990, 2), ("98", 980, 0)]);
    // Removing 99 drops it from the table; light inserts do not take its place.
    p.removed(&99, 990, RemovalCause::Explicit);
    p.inserted(&1000, 1, true);
    let s = p.snapshot();
    assert_eq!(s.heavy_keys[0].label, "98");
    assert!(s.heavy_keys.iter().all(|h| h.label != "99"));
}

#[test]
fn sampled_misses_without_a_key_count_in_namespace_unknown() {
    let p = by_parity().mode(Mode::On).build().unwrap();
    assert!(p.sample().report);
    p.read(None, false);
    let s = p.snapshot();
    assert_eq!(ns(&s, UNKNOWN_NAMESPACE).est_misses, 1);
    assert!(s.hot_keys.is_empty());
}

#[test]
fn a_panicking_namespace_closure_leaves_the_profiler_usable() {
    let p = Profiler::<u64>::builder()
        .mode(Mode::On)
        .namespace(|k| {
            if *k == 13 {
                panic!("unlucky key")
            } else {
                "ok"
            }
        })
        .build()
        .unwrap();
    p.inserted(&1, 100, true);
    for op in [
        &(|| p.inserted(&13, 100, true)) as &dyn Fn(),
        &|| read(&p, &13, true),
        &|| p.loaded(&13, Some(1), 1, 0),
    ] {
        assert!(catch_unwind(AssertUnwindSafe(op)).is_err());
    }
    // A removal finds its namespace in the tracked entry (13 never was): no mapping called.
    p.removed(&13, 100, RemovalCause::Size);
    p.inserted(&2, 50, true);
    read(&p, &2, true);
    let s = p.snapshot();
    let ok = ns(&s, "ok");
    assert_eq!((ok.entries, ok.bytes, ok.est_hits), (2, 150, 1));
    assert_eq!(ok.evictions, 0);
    assert_eq!(s.heavy_keys.len(), 2);
    assert_eq!(s.hot_keys.len(), 1);
}

#[test]
fn a_panicking_debug_leaves_the_key_tables_consistent() {
    #[derive(Hash)]
    struct Grumpy(u64);
    impl Debug for Grumpy {
        fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
            panic!("no debug today")
        }
    }
    let p = Profiler::<Grumpy>::builder()
        .mode(Mode::On)
        .build()
        .unwrap();
    // A tracked entry is named when stored: the panic leaves nothing tracked.
    assert!(catch_unwind(AssertUnwindSafe(|| p.inserted(&Grumpy(1), 100, true))).is_err());
    read(&p, &Grumpy(1), true); // a first sighting is not named
    assert!(catch_unwind(AssertUnwindSafe(|| read(&p, &Grumpy(1), true))).is_err());
    p.removed(&Grumpy(1), 100, RemovalCause::Explicit); // not tracked: changes nothing
    let s = p.snapshot();
    assert!(s.heavy_keys.is_empty());
    // The first read counted; the second, whose label panicked, changed nothing.
    assert_eq!(s.hot_keys.len(), 1);
    assert_eq!(s.hot_keys[0].est_reads, 1);
    assert!(s.namespaces.iter().all(|n| n.entries == 0));
}

#[test]
fn loads_measure_net_allocation_against_the_charge() {
    let probe = Arc::new(FakeProbe::new());
    let p = by_parity().probe(probe.clone()).build().unwrap();
    for k in 0..4u64 {
        let started = p.load_started();
        assert_ne!(started, 0);
        probe.alloc(4000);
        probe.free(1000);
        p.loaded(&(k * 2), Some(1000), 5_000, started);
    }
    let started = p.load_started();
    p.loaded(&2, None, 7_000, started);
    let s = p.snapshot();
    let even = ns(&s, "even");
    assert_eq!(
        (even.loads, even.load_failures, even.measured_loads),
        (5, 1, 4)
    );
    assert_eq!(even.charged_per_load, Some(1000.0));
    assert_eq!(even.allocated_per_load, Some(3000.0));
    assert_eq!(even.alloc_ratio, Some(3.0));
    assert!(even.load_p50.is_some());
    let load = s.latency.iter().find(|l| l.op == Operation::Load).unwrap();
    assert_eq!(load.count, 5);
    let p99 = load.p99.unwrap();
    assert!((7_000..7_300).contains(&p99), "{p99}");
}

#[test]
fn loads_without_a_probe_are_counted_but_not_measured() {
    let p = by_parity().build().unwrap();
    let started = p.load_started();
    assert_eq!(started, 0);
    p.loaded(&0, Some(10), 1, started);
    let s = p.snapshot();
    assert_eq!(ns(&s, "even").measured_loads, 0);
    assert_eq!(ns(&s, "even").alloc_ratio, None);
}

#[test]
fn drops_compare_freed_bytes_with_the_charge() {
    let probe = Arc::new(FakeProbe::new());
    let p = by_parity().probe(probe.clone()).build().unwrap();
    let token = p.removed(&1, 1000, RemovalCause::Size);
    probe.free(250);
    p.dropped(1000, token);
    let s = p.snapshot();
    assert_eq!((s.freed_charged, s.freed_seen), (1000, 250));
}

#[cfg(feature = "backtraces")]
#[test]
fn sampled_loads_are_attributed_to_call_sites() {
    let probe = Arc::new(FakeProbe::new());
    let p = by_parity()
        .probe(probe.clone())
        .backtrace_period(2)
        .build()
        .unwrap();
    for k in 0..6u64 {
        let started = p.load_started();
        probe.alloc(300);
        p.loaded(&k, Some(100), 10, started);
    }
    let s = p.snapshot();
    let loads: u64 = s.load_sites.iter().map(|l| l.loads).sum();
    assert_eq!(loads, 3);
    assert_eq!(
        s.load_sites.iter().map(|l| l.allocated_bytes).sum::<u64>(),
        900
    );
    assert!(
        s.load_sites
            .iter()
            .all(|l| !l.site.starts_with("profiler::"))
    );
    let section = &cache_traits::ReportSource::sections(&*p)[0];
    assert!(section.tables.iter().any(|t| t.title == "Load call sites"));
}

#[cfg(feature = "backtraces")]
#[test]
fn zero_backtrace_period_is_rejected() {
    let err = by_parity().backtrace_period(0).build().unwrap_err();
    assert_eq!(err, ProfilerError::ZeroBacktracePeriod);
}

#[test]
fn a_sampled_insert_stands_for_the_period_until_it_leaves() {
    let p = by_parity()
        .mode(Mode::Sampled { period: 16 })
        .build()
        .unwrap();
    // As a cache does it: the insert is told after `sample` said to report it.
    assert!(p.sample().report);
    p.inserted(&2, 100, false);
    p.inserted(&4, 1000, true); // heavy: told always, stands for itself
    let even = ns(&p.snapshot(), "even").clone();
    assert_eq!((even.entries, even.bytes), (16 + 1, 1600 + 1000));
    p.removed(&2, 100, RemovalCause::Size);
    let even = ns(&p.snapshot(), "even").clone();
    assert_eq!((even.entries, even.bytes), (1, 1000));
    assert_eq!((even.evictions, even.evicted_bytes), (16, 1600));
}

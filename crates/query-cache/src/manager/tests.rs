use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cache_traits::{ManagedCache, ManualClock, MemoryProbe, MemorySample, PressureLevel};

use super::*;
use crate::Cache;

const MIB: u64 = 1 << 20;

/// A probe that reports whatever the test sets, counting samples; it panics when told to.
#[derive(Default)]
struct Scripted {
    sample: Mutex<MemorySample>,
    taken: AtomicU64,
    panic: AtomicBool,
}

impl Scripted {
    /// A cgroup limit of 100 MiB with `used` MiB in use.
    fn set_used(&self, used: u64) {
        let mut s = self.sample.lock().unwrap();
        s.cgroup.max = Some(100 * MIB);
        s.cgroup.current = Some(used * MIB);
    }
}

impl MemoryProbe for Scripted {
    fn sample(&self) -> MemorySample {
        self.taken.fetch_add(1, Ordering::Relaxed);
        assert!(!self.panic.load(Ordering::Relaxed), "the probe panics");
        *self.sample.lock().unwrap()
    }
}

fn filled_cache(bytes: u64) -> Arc<Cache<u64, Vec<u8>>> {
    named_cache("results", bytes)
}

fn named_cache(name: &str, bytes: u64) -> Arc<Cache<u64, Vec<u8>>> {
    let cache = Arc::new(
        Cache::builder()
            .max_bytes(bytes)
            .name(name)
            .build()
            .unwrap(),
    );
    for k in 0..bytes / 4096 {
        cache.insert(k, vec![0u8; 4000]);
    }
    cache
}

struct Setup {
    probe: Arc<Scripted>,
    clock: Arc<ManualClock>,
    cache: Arc<Cache<u64, Vec<u8>>>,
    manager: MemoryManager,
}

fn setup() -> Setup {
    let probe = Arc::new(Scripted::default());
    probe.set_used(50);
    let clock = Arc::new(ManualClock::new());
    let cache = filled_cache(32 * MIB);
    let manager = MemoryManager::builder()
        .cache(cache.clone(), Bounds::new(MIB, 32 * MIB))
        .probe(probe.clone())
        .clock(clock.clone())
        // Ticks only when the test asks.
        .tick(Duration::from_secs(3600))
        .notifications(false)
        .build()
        .unwrap();
    manager.tick_now();
    Setup {
        probe,
        clock,
        cache,
        manager,
    }
}

#[test]
fn a_high_sample_shrinks_the_cache_within_the_tick_and_it_grows_back() {
    let s = setup();
    let before = s.cache.weighted_size();
    assert!(before > 24 * MIB, "filled: {before}");
    let levels = s.manager.subscribe();

    s.probe.set_used(92);
    s.clock.advance(Duration::from_secs(1));
    s.manager.tick_now();
    assert_eq!(s.manager.level(), PressureLevel::High);
    let after = s.cache.weighted_size();
    assert!(after <= before * 8 / 10 + 64 * 1024, "{before} -> {after}");
    let view = s.manager.view();
    let response = view.responses.last().expect("a response was recorded");
    assert_eq!(response.trigger, ResponseTrigger::Tick);
    assert!(response.freed > 0);
    assert!(
        view.events
            .iter()
            .any(|e| matches!(e, ManagerEvent::Relief(r) if r.freed() > 0))
    );
    assert_eq!(levels.try_recv().unwrap().to, PressureLevel::High);

    // The pressure goes; after the hold the level falls and the sizer grows the cache again.
    s.probe.set_used(40);
    let shrunk = s.cache.capacity();
    for _ in 0..30 {
        s.clock.advance(Duration::from_secs(1));
        s.manager.tick_now();
    }
    assert_eq!(s.manager.level(), PressureLevel::Normal);
    assert!(
        s.cache.capacity() > shrunk,
        "capacity {} did not grow back from {shrunk}",
        s.cache.capacity()
    );
    assert!(s.cache.capacity() <= 32 * MIB);
    assert!(
        s.manager
            .view()
            .events
            .iter()
            .any(|e| matches!(e, ManagerEvent::Sizing(d) if d.to > d.from))
    );
    // The report remembers the episode after it passed.
    let sections = s.manager.report_source().sections();
    let pressure = sections.iter().find(|s| s.id == "pressure").unwrap();
    let codes: Vec<_> = pressure.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["QC-PRESSURE-EPISODE"]);
}

#[test]
fn the_view_shows_caches_limit_and_level() {
    let s = setup();
    let view = s.manager.view();
    assert_eq!(view.level, PressureLevel::Normal);
    assert_eq!(view.limit.unwrap().bytes, 100 * MIB);
    assert_eq!(view.caches.len(), 1);
    assert_eq!(&*view.caches[0].sizing.name, "results");
    assert_eq!(view.caches_bytes(), s.cache.weighted_size());
    let text = view.to_string();
    assert!(text.contains("limit 100.0 MiB from cgroup_max"), "{text}");
    assert!(text.contains("cache results"), "{text}");
}

#[test]
fn a_panicking_probe_does_not_stop_the_manager() {
    let s = setup();
    s.probe.panic.store(true, Ordering::Relaxed);
    let ticks = s.manager.view().ticks;
    s.manager.tick_now();
    assert_eq!(
        s.manager.view().ticks,
        ticks,
        "the panicking tick published nothing"
    );
    s.probe.panic.store(false, Ordering::Relaxed);
    s.probe.set_used(97);
    s.manager.tick_now();
    assert_eq!(s.manager.level(), PressureLevel::Critical);
}

#[test]
fn the_thread_stops_when_the_last_handle_drops() {
    let s = setup();
    let clone = s.manager.clone();
    drop(s.manager);
    clone.tick_now();
    let taken = s.probe.taken.load(Ordering::Relaxed);
    drop(clone);
    // The thread was joined: nothing samples any more, and the probe's only owner is the test.
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(s.probe.taken.load(Ordering::Relaxed), taken);
    assert_eq!(Arc::strong_count(&s.probe), 1);
}

#[test]
fn bad_configuration_says_what_to_change() {
    let cache: Arc<dyn ManagedCache> = filled_cache(MIB);
    let err = |b: MemoryManagerBuilder| b.build().unwrap_err().to_string();
    assert!(err(MemoryManager::builder()).contains("add one with `cache`"));
    assert!(
        err(MemoryManager::builder()
            .cache(cache.clone(), Bounds::at_most(MIB))
            .tick(Duration::ZERO))
        .contains("give a tick of at least 1 ms")
    );
    assert!(
        err(MemoryManager::builder()
            .cache(cache.clone(), Bounds::at_most(MIB))
            .ceiling(0))
        .contains("give a positive ceiling")
    );
    assert!(
        err(MemoryManager::builder().cache(cache.clone(), Bounds::new(2 * MIB, MIB)))
            .contains("min")
    );
}

/// A cache whose eviction blocks until the test lets it go.
struct Stuck {
    gate: Mutex<bool>,
    open: std::sync::Condvar,
    entered: AtomicBool,
}

impl ManagedCache for Stuck {
    fn name(&self) -> &str {
        "stuck"
    }
    fn stats(&self) -> cache_traits::CacheStats {
        cache_traits::CacheStats::default()
    }
    fn weighted_size(&self) -> u64 {
        10 * MIB
    }
    fn entry_count(&self) -> u64 {
        1
    }
    fn capacity(&self) -> u64 {
        10 * MIB
    }
    fn set_capacity(&self, _bytes: u64) {}
    fn evict_bytes(&self, _bytes: u64, _cause: cache_traits::RemovalCause) -> u64 {
        self.entered.store(true, Ordering::Release);
        let mut open = self.gate.lock().unwrap();
        while !*open {
            open = self.open.wait(open).unwrap();
        }
        0
    }
}

#[test]
fn a_blocked_cache_does_not_hang_the_last_drop() {
    let stuck = Arc::new(Stuck {
        gate: Mutex::new(false),
        open: std::sync::Condvar::new(),
        entered: AtomicBool::new(false),
    });
    let probe = Arc::new(Scripted::default());
    probe.set_used(99);
    let manager = MemoryManager::builder()
        .cache(stuck.clone(), Bounds::new(0, 10 * MIB))
        .probe(probe)
        .tick(Duration::from_millis(10))
        .notifications(false)
        .build()
        .unwrap();
    while !stuck.entered.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(1));
    }
    // The thread is inside the cache's eviction; the drop gives up waiting and returns.
    drop(manager);
    *stuck.gate.lock().unwrap() = true;
    stuck.open.notify_all();
}

#[test]
fn sizing_settings_keep_the_weights_and_budgets_registered_before_them() {
    let a = named_cache("a", MIB);
    let b = named_cache("b", MIB);
    let c = named_cache("c", MIB);
    let probe = Arc::new(Scripted::default());
    probe.set_used(10);
    let manager = MemoryManager::builder()
        .weighted_cache(a, Bounds::at_most(8 * MIB), 3.0)
        .shared_budget(
            SharedBudget::new("query")
                .cache(b, Bounds::at_most(8 * MIB), 1.0)
                .cache(c, Bounds::at_most(8 * MIB), 1.0),
        )
        .sizing(sizing::Sizer::builder().cool_down(Duration::ZERO))
        .probe(probe)
        .tick(Duration::from_secs(3600))
        .notifications(false)
        .build()
        .unwrap();
    manager.tick_now();
    let view = manager.view();
    let members: Vec<_> = view
        .caches
        .iter()
        .map(|c| {
            (
                c.sizing.weight,
                c.sizing.budget.as_deref().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        members,
        [
            (3.0, None),
            (1.0, Some("query".to_owned())),
            (1.0, Some("query".to_owned()))
        ]
    );
}

#[test]
fn subscriptions_dropped_in_a_loop_do_not_pile_up() {
    let s = setup();
    let kept = s.manager.subscribe();
    for _ in 0..10_000 {
        drop(s.manager.subscribe());
    }
    assert_eq!(lock(&s.manager.shared.subscribers).len(), 1);
    drop(kept);
}

/// A cache that, while the manager shrinks it, calls back into the manager it holds.
struct CallsBack {
    inner: Arc<Cache<u64, Vec<u8>>>,
    manager: std::sync::OnceLock<MemoryManager>,
    waited: Mutex<Option<Duration>>,
}

impl ManagedCache for CallsBack {
    fn name(&self) -> &str {
        "calls-back"
    }
    fn stats(&self) -> cache_traits::CacheStats {
        self.inner.stats()
    }
    fn weighted_size(&self) -> u64 {
        self.inner.weighted_size()
    }
    fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }
    fn capacity(&self) -> u64 {
        ManagedCache::capacity(&*self.inner)
    }
    fn set_capacity(&self, bytes: u64) {
        self.inner.set_capacity(bytes);
    }
    fn evict_bytes(&self, bytes: u64, cause: cache_traits::RemovalCause) -> u64 {
        if let Some(manager) = self.manager.get() {
            let started = std::time::Instant::now();
            manager.tick_now();
            let _ = manager.view();
            *self.waited.lock().unwrap() = Some(started.elapsed());
        }
        self.inner.evict_bytes(bytes, cause)
    }
}

#[test]
fn a_cache_that_calls_back_into_its_manager_neither_stalls_it_nor_keeps_it_alive() {
    let probe = Arc::new(Scripted::default());
    probe.set_used(50);
    let cache = Arc::new(CallsBack {
        inner: filled_cache(8 * MIB),
        manager: std::sync::OnceLock::new(),
        waited: Mutex::new(None),
    });
    let manager = MemoryManager::builder()
        .cache(cache.clone(), Bounds::at_most(8 * MIB))
        .probe(probe.clone())
        .tick(Duration::from_secs(3600))
        .notifications(false)
        .build()
        .unwrap();
    let _ = cache.manager.set(manager.clone());
    probe.set_used(92);
    manager.tick_now();
    // tick_now on the manager's own thread asks for a tick and returns; it used to sleep out
    // its one-second wait inside the relief.
    let waited = cache
        .waited
        .lock()
        .unwrap()
        .expect("relief called evict_bytes");
    assert!(waited < Duration::from_millis(900), "waited {waited:?}");
    // The cache holds a handle, so dropping ours would not end the thread; shutdown does.
    manager.shutdown();
    drop(manager);
    let taken = probe.taken.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(probe.taken.load(Ordering::Relaxed), taken);
}

#[test]
fn the_manager_reports_memory_pressure_and_budgets() {
    let s = setup();
    s.probe.set_used(92);
    s.clock.advance(Duration::from_secs(1));
    s.manager.tick_now();
    let source = s.manager.report_source();
    let sections = source.sections();
    let ids: Vec<_> = sections.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["memory", "pressure", "sizing"]);
    let metric = |section: usize, name: &str, label: Option<&str>| {
        sections[section]
            .metrics
            .iter()
            .find(|m| m.name == name && label.is_none_or(|l| m.labels.iter().any(|(_, v)| v == l)))
            .map(|m| m.value)
    };
    assert_eq!(
        metric(0, "memory_limit", Some("cgroup_max")),
        Some((100 * MIB) as f64)
    );
    assert_eq!(metric(1, "pressure_level", None), Some(2.0));
    assert_eq!(metric(1, "relief_actions", Some("shrink")), Some(1.0));
    assert_eq!(metric(1, "pressure_level_changes", None), Some(1.0));
    let pressure = &sections[1];
    assert_eq!(pressure.findings[0].code, "QC-PRESSURE-HIGH");
    assert!(
        pressure
            .events
            .iter()
            .any(|e| e.kind == "relief" && e.at_unix_millis == 0)
    );
    let budgets = &sections[2].tables[0];
    assert_eq!(budgets.rows[0][0], cache_traits::Cell::from("results"));
    // Holding the source does not keep the manager alive.
    drop(s.manager);
    assert_eq!(source.sections().len(), 3);
}

/// Says the cache's values take twice what they are charged.
#[cfg(feature = "leak-detector")]
struct Doubling;

#[cfg(feature = "leak-detector")]
impl ProfileFigures for Doubling {
    fn cache_name(&self) -> &str {
        "results"
    }
    fn memory_estimates(&self) -> (Option<f64>, Option<u64>) {
        (Some(2.0), None)
    }
}

#[cfg(feature = "leak-detector")]
#[test]
fn the_detector_hears_each_second_of_heap_and_caches_and_flags_a_leak() {
    let probe = Arc::new(Scripted::default());
    probe.set_used(50);
    let clock = Arc::new(ManualClock::new());
    let cache = filled_cache(32 * MIB);
    let detector = Arc::new(leak_detector::LeakDetector::new(Default::default()).unwrap());
    let manager = MemoryManager::builder()
        .cache(cache.clone(), Bounds::exactly(32 * MIB))
        .probe(probe.clone())
        .clock(clock.clone())
        .tick(Duration::from_secs(3600))
        .notifications(false)
        .leak_detector(detector.clone())
        .profile(Arc::new(Doubling))
        .build()
        .unwrap();
    let charged = cache.weighted_size();
    // A heap of the cache plus 64 MiB, then 1 MiB more every second.
    for t in 0..120u64 {
        {
            let mut s = probe.sample.lock().unwrap();
            s.allocator.allocated = Some(charged + 64 * MIB + t.saturating_sub(30) * MIB);
        }
        manager.tick_now();
        // Two ticks within the second: the detector hears one.
        manager.tick_now();
        clock.advance(Duration::from_secs(1));
    }
    let status = detector.status();
    assert_eq!(status.samples_seen, 120, "one observation a second");
    let kinds: Vec<_> = detector.open_alerts().iter().map(|a| a.kind).collect();
    assert!(
        kinds.contains(&leak_detector::AlertKind::Growth),
        "{kinds:?}"
    );
    // The profile's ratio makes the cache's real bytes twice its budget.
    assert!(
        kinds.contains(&leak_detector::AlertKind::OverBudget),
        "{kinds:?}"
    );
}

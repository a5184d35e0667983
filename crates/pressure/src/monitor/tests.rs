use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use cache_traits::{
    CacheStats, ManagedCache, MemorySample, PressureLevel, Psi, PsiLine, RemovalCause,
};

use super::*;
use crate::Signal;

const SEC: u64 = 1_000_000_000;

/// A cache that holds `size` bytes under `cap`.
struct Fake {
    size: AtomicU64,
    cap: AtomicU64,
    panics: bool,
    /// Bytes evicted with `RemovalCause::Pressure`.
    pressure_evicted: AtomicU64,
}

impl Fake {
    fn new(size: u64, cap: u64) -> Arc<Self> {
        Arc::new(Self {
            size: size.into(),
            cap: cap.into(),
            panics: false,
            pressure_evicted: 0.into(),
        })
    }
}

impl ManagedCache for Fake {
    fn name(&self) -> &str {
        "fake"
    }
    fn stats(&self) -> CacheStats {
        CacheStats::default()
    }
    fn weighted_size(&self) -> u64 {
        self.size.load(Ordering::Relaxed)
    }
    fn entry_count(&self) -> u64 {
        0
    }
    fn capacity(&self) -> u64 {
        self.cap.load(Ordering::Relaxed)
    }
    fn set_capacity(&self, bytes: u64) {
        assert!(!self.panics, "set_capacity panics");
        self.cap.store(bytes, Ordering::Relaxed);
        self.size.fetch_min(bytes, Ordering::Relaxed);
    }
    fn evict_bytes(&self, bytes: u64, cause: RemovalCause) -> u64 {
        let freed = bytes.min(self.weighted_size());
        self.size.fetch_sub(freed, Ordering::Relaxed);
        if cause == RemovalCause::Pressure {
            self.pressure_evicted.fetch_add(freed, Ordering::Relaxed);
        }
        freed
    }
}

fn usage(current: u64) -> MemorySample {
    let mut s = MemorySample::default();
    s.cgroup.max = Some(1000);
    s.cgroup.current = Some(current);
    s
}

fn psi_some(avg10: f64) -> MemorySample {
    let mut line = PsiLine::default();
    line.avg10 = avg10;
    let mut psi = Psi::default();
    psi.some = line;
    let mut s = MemorySample::default();
    s.psi = Some(psi);
    s
}

/// Feeds one sample a second for ten virtual minutes, alternating `high` and `low`; returns
/// the level changes.
fn oscillate(high: MemorySample, low: MemorySample) -> u64 {
    let mut m = PressureMonitor::builder().build().unwrap();
    for tick in 0..600u64 {
        let s = if tick % 2 == 0 { &high } else { &low };
        m.observe(tick * SEC, s);
    }
    m.level_changes()
}

#[test]
fn a_signal_oscillating_around_a_mark_does_not_flap() {
    // ±2 % around each usage mark (0.80, 0.90, 0.95 of the limit).
    for mark in [800, 900, 950] {
        let changes = oscillate(usage(mark + 20), usage(mark - 20));
        assert!(changes <= 2, "usage around {mark}: {changes} changes");
    }
    // ±2 points around the PSI `some` marks (7 %, 10 %).
    for mark in [7.0, 10.0] {
        let changes = oscillate(psi_some(mark + 2.0), psi_some(mark - 2.0));
        assert!(changes <= 2, "psi around {mark}: {changes} changes");
    }
}

#[test]
fn levels_rise_at_once_and_fall_after_the_hold() {
    let mut m = PressureMonitor::builder()
        .hold(Duration::from_secs(10))
        .build()
        .unwrap();
    assert_eq!(m.observe(0, &usage(500)).level, PressureLevel::Normal);
    let seen = m.observe(SEC, &usage(960));
    assert_eq!(seen.level, PressureLevel::Critical);
    assert_eq!(seen.change.unwrap().from, PressureLevel::Normal);
    // Back to 0.88: below Critical's lower mark (0.86)? No: 0.88 holds Critical.
    assert_eq!(
        m.observe(2 * SEC, &usage(880)).level,
        PressureLevel::Critical
    );
    // 0.85 is below 0.95 − 0.09 but above 0.90 − 0.09: after the hold, High.
    assert_eq!(
        m.observe(3 * SEC, &usage(850)).level,
        PressureLevel::Critical
    );
    assert_eq!(
        m.observe(12 * SEC, &usage(850)).level,
        PressureLevel::Critical
    );
    assert_eq!(m.observe(13 * SEC, &usage(850)).level, PressureLevel::High);
    // A spike restarts the hold.
    m.observe(14 * SEC, &usage(500));
    assert_eq!(m.observe(15 * SEC, &usage(905)).level, PressureLevel::High);
    assert_eq!(m.observe(20 * SEC, &usage(500)).level, PressureLevel::High);
    assert_eq!(m.observe(29 * SEC, &usage(500)).level, PressureLevel::High);
    assert_eq!(
        m.observe(30 * SEC, &usage(500)).level,
        PressureLevel::Normal
    );
    assert_eq!(m.level_changes(), 3);
    let levels: Vec<_> = m
        .events()
        .filter_map(|e| match e {
            PressureEvent::Level(c) => Some((c.from, c.to)),
            PressureEvent::Relief(_) => None,
        })
        .collect();
    use PressureLevel::*;
    assert_eq!(
        levels,
        [(Normal, Critical), (Critical, High), (High, Normal)]
    );
}

#[test]
fn relief_shrinks_the_caches_while_a_sample_is_high() {
    let a = Fake::new(400, 500);
    let b = Fake::new(100, 1000);
    let released = Arc::new(AtomicUsize::new(0));
    let r = released.clone();
    let mut m = PressureMonitor::builder()
        .cache(a.clone(), 0)
        .cache(b.clone(), 90)
        .releaser(move |level| {
            assert!(level >= PressureLevel::High);
            r.fetch_add(1, Ordering::Relaxed);
        })
        .relief_interval(Duration::from_secs(1))
        .build()
        .unwrap();
    // Elevated: no relief.
    assert!(m.observe(0, &usage(850)).relief.is_none());
    let action = m.observe(SEC, &usage(910)).relief.unwrap();
    assert_eq!(action.kind, ReliefKind::Shrink);
    assert_eq!(
        action.cause.signal,
        Signal::Usage(cache_traits::LimitSource::CgroupMax)
    );
    // 20 % of what each holds, not of its capacity; never below the floor.
    assert_eq!(a.capacity(), 320);
    assert_eq!(b.capacity(), 90);
    assert_eq!((action.bytes_before, action.bytes_after), (500, 410));
    assert_eq!(action.freed(), 90);
    // The relief's evictions count as pressure removals.
    assert_eq!(a.pressure_evicted.load(Ordering::Relaxed), 80);
    // Within the interval: nothing more, even though the level is still High.
    assert!(m.observe(SEC + SEC / 2, &usage(910)).relief.is_none());
    // Held at High by hysteresis, but the sample itself is below the mark: no relief.
    assert!(m.observe(3 * SEC, &usage(850)).relief.is_none());
    let hard = m.observe(4 * SEC, &usage(990)).relief.unwrap();
    assert_eq!(hard.kind, ReliefKind::ShrinkHard);
    assert_eq!(a.capacity(), 160);
    assert_eq!(released.load(Ordering::Relaxed), 2);
    assert_eq!(m.relief_actions(), 2);
}

#[test]
fn a_panicking_cache_does_not_stop_relief() {
    let bad = Arc::new(Fake {
        size: 100.into(),
        cap: 100.into(),
        panics: true,
        pressure_evicted: 0.into(),
    });
    let good = Fake::new(100, 100);
    let mut m = PressureMonitor::builder()
        .cache(bad, 0)
        .cache(good.clone(), 0)
        .releaser(|_| panic!("releaser panics"))
        .build()
        .unwrap();
    let action = m.observe(0, &usage(990)).relief.unwrap();
    assert_eq!(good.capacity(), 50);
    assert_eq!((action.bytes_before, action.bytes_after), (100, 50));
    // Still usable afterwards.
    assert_eq!(m.observe(SEC, &usage(990)).level, PressureLevel::Critical);
}

#[test]
fn subscribers_hear_every_change_and_dropped_ones_are_forgotten() {
    let mut m = PressureMonitor::builder()
        .hold(Duration::ZERO)
        .build()
        .unwrap();
    let rx = m.subscribe();
    let gone = m.subscribe();
    drop(gone);
    m.observe(0, &usage(910));
    m.observe(SEC, &usage(100));
    let got: Vec<_> = rx.try_iter().map(|c| c.to).collect();
    assert_eq!(got, [PressureLevel::High, PressureLevel::Normal]);
    assert_eq!(m.subscribers.len(), 1);
    // Subscribing and dropping in a loop does not grow the list.
    for _ in 0..1000 {
        drop(m.subscribe());
    }
    assert_eq!(m.subscribers.len(), 1);
}

#[test]
fn the_event_log_is_bounded() {
    let mut m = PressureMonitor::builder()
        .hold(Duration::ZERO)
        .event_log(3)
        .build()
        .unwrap();
    for i in 0..10 {
        m.observe(i * SEC, &usage(if i % 2 == 0 { 910 } else { 100 }));
    }
    assert_eq!(m.events().count(), 3);
    assert_eq!(m.events().last().unwrap().at_nanos(), 9 * SEC);
}

#[test]
fn bad_configuration_says_what_to_change() {
    let cases: Vec<(MonitorBuilder, &str)> = vec![
        (
            PressureMonitor::builder().shrink_fractions(0.0, 0.5),
            "the high shrink fraction is 0",
        ),
        (
            PressureMonitor::builder().shrink_fractions(0.2, 1.0),
            "the critical shrink fraction is 1",
        ),
        (
            PressureMonitor::builder().shrink_fractions(0.5, 0.2),
            "shrink at least as hard at critical",
        ),
        (
            PressureMonitor::builder().ceiling(0),
            "give a positive ceiling",
        ),
        (PressureMonitor::builder().event_log(0), "keep at least 1"),
        (
            PressureMonitor::builder().thresholds({
                let mut t = Thresholds::default();
                t.usage.high = Some(0.5);
                t
            }),
            "marks must rise",
        ),
    ];
    for (builder, expected) in cases {
        let err = builder.build().unwrap_err().to_string();
        assert!(err.contains(expected), "{err:?} lacks {expected:?}");
    }
}

//! Tests of the reclaimer on the system allocator: every item dropped exactly once, inline when
//! the queue is full, drained at shutdown, panicking drops survived, purges rate-limited.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use cache_traits::{ManualClock, PressureLevel, Reclaim};

use super::Reclaimer;
use crate::stats::AllocatorSupport;

/// Counts its drops; panics in `drop` when asked to.
struct Tracked {
    drops: Arc<AtomicU64>,
    panic_on_drop: bool,
}

impl Tracked {
    fn new(drops: &Arc<AtomicU64>) -> Self {
        Self {
            drops: Arc::clone(drops),
            panic_on_drop: false,
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panic_on_drop {
            panic!("drop of a tracked item panicked on purpose");
        }
    }
}

/// Blocks its drop until the barrier is passed, to hold the background thread still.
struct Gate(Arc<Barrier>);

impl Drop for Gate {
    fn drop(&mut self) {
        self.0.wait();
    }
}

#[allow(dead_code, reason = "items are held only for their drops")]
enum Item {
    Tracked(Tracked),
    Gate(Gate),
}

#[test]
fn every_item_is_dropped_exactly_once() {
    let drops = Arc::new(AtomicU64::new(0));
    let r = Arc::new(
        Reclaimer::<Tracked>::builder()
            .capacity(64)
            .batch_size(8)
            .inline_below_bytes(100)
            .build()
            .unwrap(),
    );
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let r = Arc::clone(&r);
            let drops = Arc::clone(&drops);
            std::thread::spawn(move || {
                for idx in 0..5_000u64 {
                    // A mix of light (inline) and heavy (queued) items.
                    r.reclaim(Tracked::new(&drops), if idx % 3 == 0 { 10 } else { 1000 });
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    r.flush();
    let s = r.stats();
    assert_eq!(drops.load(Ordering::SeqCst), 20_000);
    assert_eq!(s.dropped(), 20_000);
    assert_eq!(s.queued, s.dropped_background);
    assert!(
        s.dropped_inline >= 4 * 1667,
        "light items drop inline: {s:?}"
    );
    assert_eq!(s.queue_len, 0);
    r.shutdown();
    assert_eq!(drops.load(Ordering::SeqCst), 20_000);
}

#[test]
fn a_full_queue_drops_inline() {
    let drops = Arc::new(AtomicU64::new(0));
    let gate = Arc::new(Barrier::new(2));
    let r = Reclaimer::<Item>::builder()
        .capacity(4)
        .batch_size(1)
        .inline_below_bytes(0)
        .build()
        .unwrap();
    // The thread takes the gate and blocks in its drop; then four items fill the queue.
    r.reclaim(Item::Gate(Gate(Arc::clone(&gate))), 1);
    while r.stats().queue_len > 0 {
        std::thread::yield_now();
    }
    for _ in 0..4 {
        r.reclaim(Item::Tracked(Tracked::new(&drops)), 1);
    }
    assert_eq!(r.stats().queue_len, 4);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    for _ in 0..3 {
        r.reclaim(Item::Tracked(Tracked::new(&drops)), 7);
    }
    // Those three could not wait: they were dropped on this thread, before the gate opened.
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    let s = r.stats();
    assert_eq!(
        (s.dropped_inline, s.dropped_inline_bytes, s.queue_full),
        (3, 21, 3)
    );
    gate.wait();
    r.flush();
    assert_eq!(drops.load(Ordering::SeqCst), 7);
    assert_eq!(r.stats().dropped_background, 5);
}

#[test]
fn shutdown_drains_the_queue_and_later_items_drop_inline() {
    let drops = Arc::new(AtomicU64::new(0));
    let gate = Arc::new(Barrier::new(2));
    let r = Reclaimer::<Item>::builder()
        .capacity(1000)
        .inline_below_bytes(0)
        .build()
        .unwrap();
    r.reclaim(Item::Gate(Gate(Arc::clone(&gate))), 1);
    for _ in 0..500 {
        r.reclaim(Item::Tracked(Tracked::new(&drops)), 1);
    }
    let opener = {
        let gate = Arc::clone(&gate);
        std::thread::spawn(move || gate.wait())
    };
    r.shutdown();
    opener.join().unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 500);
    let s = r.stats();
    assert_eq!(s.dropped_background, 501);
    assert_eq!(s.queued, 501);

    r.reclaim(Item::Tracked(Tracked::new(&drops)), 1);
    assert_eq!(drops.load(Ordering::SeqCst), 501);
    assert_eq!(r.stats().dropped_inline, 1);
    r.flush(); // returns at once
    r.shutdown(); // twice is harmless
}

#[test]
fn dropping_the_last_handle_drains_the_queue() {
    let drops = Arc::new(AtomicU64::new(0));
    let r = Reclaimer::<Tracked>::builder()
        .inline_below_bytes(0)
        .build()
        .unwrap();
    let as_dyn: Arc<dyn Reclaim<Tracked>> = Arc::new(r);
    for _ in 0..1000 {
        as_dyn.reclaim(Tracked::new(&drops), 1);
    }
    drop(as_dyn);
    assert_eq!(drops.load(Ordering::SeqCst), 1000);
}

#[test]
fn a_panicking_drop_is_caught_and_counted() {
    let drops = Arc::new(AtomicU64::new(0));
    let r = Reclaimer::<Tracked>::builder()
        .inline_below_bytes(100)
        .build()
        .unwrap();
    let bad = |drops: &Arc<AtomicU64>| Tracked {
        drops: Arc::clone(drops),
        panic_on_drop: true,
    };
    r.reclaim(bad(&drops), 1000); // on the background thread
    r.reclaim(bad(&drops), 1); // inline
    for _ in 0..10 {
        r.reclaim(Tracked::new(&drops), 1000);
    }
    r.flush();
    let s = r.stats();
    assert_eq!(s.drop_panics, 2);
    assert_eq!(drops.load(Ordering::SeqCst), 12);
    assert_eq!(s.dropped(), 12);
    // The thread is still alive and dropping.
    r.reclaim(Tracked::new(&drops), 1000);
    r.flush();
    assert_eq!(r.stats().dropped_background, 12);
}

#[test]
fn purges_are_skipped_and_said_so_without_a_global_jemalloc() {
    let r = Reclaimer::<Vec<u8>>::builder()
        .inline_below_bytes(0)
        .purge_after_bytes(1000)
        .build()
        .unwrap();
    assert_ne!(r.allocator(), AllocatorSupport::Jemalloc);
    r.reclaim(vec![0; 10], 1000);
    r.flush();
    let s = r.stats();
    assert_eq!(s.purges.skipped, 1);
    assert_eq!(s.purges.completed, 0);
    assert!(s.purges.recent.is_empty());
    assert_eq!(s.purges.freed_since_last, 0);
}

#[test]
fn eviction_waves_and_requests_are_rate_limited_on_the_manual_clock() {
    let clock = Arc::new(ManualClock::new());
    let r = Reclaimer::<Vec<u8>>::builder()
        .inline_below_bytes(0)
        .purge_after_bytes(1000)
        .min_purge_interval(Duration::from_secs(10))
        .clock(clock.clone())
        .build()
        .unwrap();
    let wave = |bytes| {
        r.reclaim(Vec::new(), bytes);
        r.flush();
    };
    wave(999);
    assert_eq!(r.stats().purges.skipped, 0, "below the threshold");
    wave(1);
    assert_eq!(r.stats().purges.skipped, 1, "a wave of 1000 bytes");

    wave(5000);
    r.release_memory(PressureLevel::Critical);
    r.flush();
    let s = r.stats();
    assert_eq!((s.purges.skipped, s.purges.rate_limited), (1, 1));
    assert_eq!(s.purges.freed_since_last, 5000);

    clock.advance(Duration::from_secs(9));
    r.flush();
    assert_eq!(r.stats().purges.skipped, 1, "still inside the interval");

    clock.advance(Duration::from_secs(1));
    r.flush();
    let s = r.stats();
    assert_eq!((s.purges.skipped, s.purges.rate_limited), (2, 1));
    assert_eq!(s.purges.freed_since_last, 0);
}

#[test]
fn release_memory_does_nothing_when_coordination_is_off() {
    let r = Reclaimer::<Vec<u8>>::builder()
        .coordinate_allocator(false)
        .inline_below_bytes(0)
        .purge_after_bytes(1)
        .build()
        .unwrap();
    r.reclaim(vec![1], 100);
    r.release_memory(PressureLevel::Critical);
    r.flush();
    let s = r.stats();
    assert_eq!(s.dropped_background, 1);
    let p = &s.purges;
    assert_eq!(
        (p.completed, p.failed, p.skipped, p.rate_limited),
        (0, 0, 0, 0)
    );
    assert!(p.recent.is_empty());
}

//! Integration tests with jemalloc as the global allocator: the purge controls succeed and
//! resident memory falls after a large allocation is freed and purged.

#![cfg(all(feature = "jemalloc", not(target_env = "msvc")))]

use std::sync::Arc;
use std::time::Duration;

use cache_traits::{ManualClock, PressureLevel, Reclaim};
use gc_coord::{AllocatorSupport, PurgeKind, PurgeTrigger, Reclaimer};

#[global_allocator]
static A: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const MIB: u64 = 1 << 20;

/// 64 chunks of 1 MiB, every page written so it is resident.
fn touched_chunks(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|idx| {
            let mut v = vec![0u8; MIB as usize];
            for page in v.chunks_mut(4096) {
                page[0] = idx as u8 | 1;
            }
            v
        })
        .collect()
}

#[test]
fn jemalloc_is_detected_as_the_global_allocator() {
    let r = Reclaimer::<Vec<u8>>::builder().build().unwrap();
    assert_eq!(r.allocator(), AllocatorSupport::Jemalloc);
    assert_eq!(r.stats().allocator, AllocatorSupport::Jemalloc);
}

#[test]
fn decay_and_background_settings_apply() {
    let r = Reclaimer::<Vec<u8>>::builder()
        .dirty_decay_ms(10_000)
        .muzzy_decay_ms(0)
        .background_thread(false)
        .build();
    assert!(r.is_ok(), "{r:?}");
}

#[test]
fn an_eviction_wave_purges_and_resident_falls() {
    // Never decay on its own: only the reclaimer's purge can return these pages.
    let r = Reclaimer::<Vec<u8>>::builder()
        .dirty_decay_ms(-1)
        .inline_below_bytes(0)
        .purge_after_bytes(32 * MIB)
        .wave_purge(PurgeKind::Purge)
        .min_purge_interval(Duration::ZERO)
        .build()
        .unwrap();
    let chunks = touched_chunks(64);
    for chunk in chunks {
        r.reclaim(chunk, MIB);
    }
    r.flush();
    let s = r.stats();
    assert_eq!(s.dropped(), 64);
    assert!(s.purges.completed >= 1, "{s:?}");
    assert_eq!(s.purges.failed, 0, "{s:?}");
    let last = s.purges.recent.last().unwrap();
    assert_eq!(last.kind, PurgeKind::Purge);
    assert!(matches!(last.trigger, PurgeTrigger::EvictionWave { .. }));
    assert_eq!(last.error, None);
    let (before, after) = (last.resident_before.unwrap(), last.resident_after.unwrap());
    // 64 MiB were freed and only a purge could return them: expect well over half back. Other
    // tests run at the same time, hence the slack.
    assert!(
        before > after + 16 * MIB,
        "resident {before} -> {after} after purging 64 MiB"
    );
}

#[test]
fn pressure_requests_run_the_right_control() {
    let clock = Arc::new(ManualClock::new());
    let r = Reclaimer::<Vec<u8>>::builder()
        .min_purge_interval(Duration::from_secs(1))
        .clock(clock.clone())
        .build()
        .unwrap();
    for (level, kind) in [
        (PressureLevel::Elevated, PurgeKind::Decay),
        (PressureLevel::High, PurgeKind::Decay),
        (PressureLevel::Normal, PurgeKind::Decay),
        (PressureLevel::Critical, PurgeKind::Purge),
    ] {
        r.release_memory(level);
        r.flush();
        let s = r.stats();
        let last = s.purges.recent.last().unwrap();
        assert_eq!(last.kind, kind, "{level}");
        assert_eq!(last.trigger, PurgeTrigger::Pressure(level));
        assert_eq!(last.error, None);
        assert!(last.resident_before.is_some() && last.resident_after.is_some());
        clock.advance(Duration::from_secs(1));
    }
    let s = r.stats();
    assert_eq!((s.purges.completed, s.purges.failed), (4, 0));
    assert_eq!(s.purges.rate_limited, 0);
}

#[test]
fn purges_are_rate_limited_on_the_manual_clock() {
    let clock = Arc::new(ManualClock::new());
    let r = Reclaimer::<Vec<u8>>::builder()
        .min_purge_interval(Duration::from_secs(5))
        .clock(clock.clone())
        .build()
        .unwrap();
    r.release_memory(PressureLevel::High);
    r.flush();
    r.release_memory(PressureLevel::High);
    r.flush();
    clock.advance(Duration::from_secs(4));
    r.flush();
    let s = r.stats();
    assert_eq!((s.purges.completed, s.purges.rate_limited), (1, 1));
    clock.advance(Duration::from_secs(1));
    r.flush();
    assert_eq!(r.stats().purges.completed, 2);
}

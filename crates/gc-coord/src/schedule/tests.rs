//! Tests of the purge schedule on a manual clock.

use std::time::Duration;

use cache_traits::{Clock, ManualClock, PressureLevel};

use super::{Decision, PurgeSchedule};
use crate::stats::{PurgeKind, PurgeTrigger};

const SECOND: u64 = 1_000_000_000;

fn schedule() -> PurgeSchedule {
    PurgeSchedule::new(1000, SECOND, PurgeKind::Decay)
}

#[test]
fn idle_until_the_wave_threshold() {
    let clock = ManualClock::new();
    let mut s = schedule();
    assert_eq!(s.decide(clock.now_nanos()), Decision::Idle);
    s.note_freed(999);
    assert_eq!(s.decide(clock.now_nanos()), Decision::Idle);
    s.note_freed(1);
    assert_eq!(
        s.decide(clock.now_nanos()),
        Decision::Run(
            PurgeKind::Decay,
            PurgeTrigger::EvictionWave { freed_bytes: 1000 }
        )
    );
}

#[test]
fn pressure_levels_pick_the_control() {
    let check = |level: PressureLevel, expected: PurgeKind| {
        let mut s = schedule();
        s.request(level);
        assert_eq!(
            s.decide(0),
            Decision::Run(expected, PurgeTrigger::Pressure(level)),
            "{level}"
        );
    };
    check(PressureLevel::Normal, PurgeKind::Decay);
    check(PressureLevel::Elevated, PurgeKind::Decay);
    check(PressureLevel::High, PurgeKind::Decay);
    check(PressureLevel::Critical, PurgeKind::Purge);
}

#[test]
fn the_strongest_request_wins() {
    let mut s = schedule();
    s.request(PressureLevel::Critical);
    s.request(PressureLevel::Elevated);
    assert_eq!(
        s.decide(0),
        Decision::Run(
            PurgeKind::Purge,
            PurgeTrigger::Pressure(PressureLevel::Critical)
        )
    );
}

#[test]
fn a_wave_set_to_purge_upgrades_a_gentle_request() {
    let mut s = PurgeSchedule::new(10, SECOND, PurgeKind::Purge);
    s.note_freed(10);
    s.request(PressureLevel::Normal);
    assert_eq!(
        s.decide(0),
        Decision::Run(
            PurgeKind::Purge,
            PurgeTrigger::Pressure(PressureLevel::Normal)
        )
    );
}

#[test]
fn rate_limit_holds_back_then_releases_on_the_manual_clock() {
    let clock = ManualClock::new();
    let mut s = schedule();
    s.note_freed(5000);
    let Decision::Run(..) = s.decide(clock.now_nanos()) else {
        panic!("the first purge is never rate limited");
    };
    s.ran(clock.now_nanos());
    assert_eq!(s.freed(), 0);

    s.note_freed(5000);
    clock.advance(Duration::from_millis(300));
    assert_eq!(
        s.decide(clock.now_nanos()),
        Decision::Wait {
            wait_nanos: 700_000_000,
            newly: true
        }
    );
    clock.advance(Duration::from_millis(600));
    assert_eq!(
        s.decide(clock.now_nanos()),
        Decision::Wait {
            wait_nanos: 100_000_000,
            newly: false
        }
    );
    // More frees while held back join the same purge.
    s.note_freed(1);
    clock.advance(Duration::from_millis(100));
    assert_eq!(
        s.decide(clock.now_nanos()),
        Decision::Run(
            PurgeKind::Decay,
            PurgeTrigger::EvictionWave { freed_bytes: 5001 }
        )
    );
    s.ran(clock.now_nanos());
    assert_eq!(s.decide(clock.now_nanos()), Decision::Idle);
}

#[test]
fn a_zero_interval_never_waits() {
    let mut s = PurgeSchedule::new(1, 0, PurgeKind::Decay);
    for now in [5, 5, 6] {
        s.note_freed(1);
        assert!(matches!(s.decide(now), Decision::Run(..)));
        s.ran(now);
    }
}

#[test]
fn requests_are_cleared_by_a_run() {
    let mut s = schedule();
    s.request(PressureLevel::Critical);
    assert!(s.has_request());
    s.ran(0);
    assert!(!s.has_request());
    assert_eq!(s.decide(10 * SECOND), Decision::Idle);
}

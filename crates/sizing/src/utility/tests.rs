//! Tests of the utility estimate from hit counters.

use super::{HitSample, estimate};

fn at(hits: u64, secs: u64) -> HitSample {
    HitSample {
        hits,
        at_nanos: secs * 1_000_000_000,
    }
}

#[test]
fn hits_per_second_per_mib_held() {
    // 600 hits in 2 s with 3 MiB held: 100 hits per second per MiB.
    let u = estimate(at(1000, 10), at(1600, 12), 3 << 20).unwrap();
    assert_eq!(u.gain_per_mib, 100.0);
    assert_eq!(u.loss_per_mib, 100.0);
    // Half a MiB held doubles the figure per MiB.
    let u = estimate(at(0, 0), at(100, 1), 1 << 19).unwrap();
    assert_eq!(u.gain_per_mib, 200.0);
}

#[test]
fn no_estimate_without_time_counters_or_bytes() {
    assert_eq!(estimate(at(0, 5), at(10, 5), 1 << 20), None);
    assert_eq!(estimate(at(0, 6), at(10, 5), 1 << 20), None);
    assert_eq!(estimate(at(10, 0), at(5, 1), 1 << 20), None);
    assert_eq!(estimate(at(0, 0), at(10, 1), 0), None);
}

#[test]
fn extremes_stay_finite() {
    let u = estimate(at(0, 0), at(u64::MAX, 1), 1).unwrap();
    assert!(u.gain_per_mib.is_finite());
    let before = HitSample {
        hits: 0,
        at_nanos: 0,
    };
    let now = HitSample {
        hits: 1,
        at_nanos: u64::MAX,
    };
    let u = estimate(before, now, u64::MAX).unwrap();
    assert!(u.gain_per_mib >= 0.0 && u.gain_per_mib.is_finite());
}

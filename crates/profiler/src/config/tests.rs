//! Tests of the builder's checks and of modes.

use super::*;

#[test]
fn zero_sampling_period_is_rejected_with_what_to_change() {
    let err = Profiler::<u64>::builder()
        .mode(Mode::Sampled { period: 0 })
        .build()
        .unwrap_err();
    assert_eq!(err, ProfilerError::ZeroSamplingPeriod);
    assert!(err.to_string().contains("period of at least 1"));
}

#[test]
fn zero_top_keys_is_rejected_with_what_to_change() {
    let err = Profiler::<u64>::builder().top_keys(0).build().unwrap_err();
    assert_eq!(err, ProfilerError::ZeroTopKeys);
    assert_eq!(err.to_string(), "top_keys is 0: set top_keys to at least 1");
}

#[test]
fn modes_round_trip_through_the_period() {
    for mode in [Mode::Off, Mode::On, Mode::Sampled { period: 7 }] {
        assert_eq!(Mode::from_period(mode.period()), mode);
    }
    assert_eq!(Mode::from_period(1), Mode::On);
}

#[test]
fn set_mode_changes_the_mode_and_rejects_a_zero_period() {
    let p = Profiler::<u64>::builder().build().unwrap();
    assert_eq!(p.mode(), Mode::Sampled { period: 256 });
    p.set_mode(Mode::On).unwrap();
    assert_eq!(p.mode(), Mode::On);
    assert_eq!(
        p.set_mode(Mode::Sampled { period: 0 }),
        Err(ProfilerError::ZeroSamplingPeriod)
    );
    assert_eq!(p.mode(), Mode::On);
}

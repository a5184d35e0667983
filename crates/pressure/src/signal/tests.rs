use cache_traits::{CgroupEvents, LimitSource, MemorySample, PressureLevel, Psi, PsiLine};

use super::*;

fn psi(some: f64, full: f64) -> Psi {
    let mut p = Psi::default();
    p.some = line(some);
    p.full = Some(line(full));
    p
}

fn line(avg10: f64) -> PsiLine {
    let mut l = PsiLine::default();
    l.avg10 = avg10;
    l
}

fn events(high: u64, max: u64, oom_kill: u64) -> CgroupEvents {
    let mut e = CgroupEvents::default();
    e.high = high;
    e.max = max;
    e.oom_kill = oom_kill;
    e
}

/// Checks the strongest reading of `sample` (against the marks, not lowered).
fn check(
    sample: &MemorySample,
    previous: Option<CgroupEvents>,
    expected: Option<(Signal, PressureLevel)>,
) {
    let got = strongest(
        sample,
        Some(1000),
        previous.as_ref(),
        &Thresholds::default(),
        false,
    )
    .map(|r| (r.signal, r.level));
    assert_eq!(got, expected, "{sample:?}");
}

#[test]
fn every_signal_reaches_its_levels() {
    let mut s = MemorySample::default();
    check(&s, None, None);

    s.cgroup.max = Some(1000);
    s.cgroup.current = Some(850);
    check(
        &s,
        None,
        Some((
            Signal::Usage(LimitSource::CgroupMax),
            PressureLevel::Elevated,
        )),
    );
    s.cgroup.high = Some(900);
    // 850 / 900 = 0.944: High on memory.high, Elevated on memory.max.
    check(
        &s,
        None,
        Some((Signal::Usage(LimitSource::CgroupHigh), PressureLevel::High)),
    );

    let mut s = MemorySample::default();
    s.process_rss = Some(960);
    check(
        &s,
        None,
        Some((Signal::Usage(LimitSource::Ceiling), PressureLevel::Critical)),
    );

    let mut s = MemorySample::default();
    s.system_total = Some(100);
    s.system_available = Some(8);
    check(
        &s,
        None,
        Some((Signal::Usage(LimitSource::System), PressureLevel::High)),
    );

    let mut s = MemorySample::default();
    s.cgroup.soft_limit = Some(100);
    s.cgroup.current = Some(101);
    check(&s, None, Some((Signal::SoftLimit, PressureLevel::Elevated)));

    let mut s = MemorySample::default();
    s.psi = Some(psi(7.5, 0.0));
    check(&s, None, Some((Signal::PsiSome, PressureLevel::Elevated)));
    s.cgroup.psi = Some(psi(12.0, 0.0));
    check(&s, None, Some((Signal::CgroupPsiSome, PressureLevel::High)));
    s.psi = Some(psi(0.0, 8.0));
    check(&s, None, Some((Signal::PsiFull, PressureLevel::Critical)));
}

#[test]
fn events_count_only_when_new() {
    let mut s = MemorySample::default();
    s.cgroup.events = Some(events(3, 5, 1));
    s.cgroup.max = Some(1000);
    s.cgroup.current = Some(810);
    let elevated = Some((
        Signal::Usage(LimitSource::CgroupMax),
        PressureLevel::Elevated,
    ));
    // The first sample has nothing to compare with.
    check(&s, None, elevated);
    check(&s, Some(events(3, 5, 1)), elevated);
    check(
        &s,
        Some(events(2, 5, 1)),
        Some((Signal::HighEvents, PressureLevel::High)),
    );
    check(
        &s,
        Some(events(3, 4, 1)),
        Some((Signal::MaxEvents, PressureLevel::High)),
    );
    check(
        &s,
        Some(events(3, 5, 0)),
        Some((Signal::OomKills, PressureLevel::Critical)),
    );
    // A counter that went backwards (a new cgroup) is no event.
    check(&s, Some(events(9, 9, 9)), elevated);
}

#[test]
fn page_cache_is_not_pressure() {
    // A group at its limit, 700 of its 990 bytes inactive page cache: the working set is 0.29
    // of the limit, and the limit events of routine reclaim do not count.
    let mut s = MemorySample::default();
    s.cgroup.max = Some(1000);
    s.cgroup.current = Some(990);
    s.cgroup.inactive_file = Some(700);
    s.cgroup.events = Some(events(10, 10, 0));
    check(&s, Some(events(0, 0, 0)), None);
    // Without the page cache figure the same group is Critical.
    s.cgroup.inactive_file = None;
    let critical = Some((
        Signal::Usage(LimitSource::CgroupMax),
        PressureLevel::Critical,
    ));
    check(&s, Some(events(0, 0, 0)), critical);
    // An OOM kill counts whatever the usage.
    s.cgroup.inactive_file = Some(700);
    s.cgroup.events = Some(events(10, 10, 1));
    check(
        &s,
        Some(events(10, 10, 0)),
        Some((Signal::OomKills, PressureLevel::Critical)),
    );
}

#[test]
fn lowered_marks_hold_a_level() {
    let mut s = MemorySample::default();
    s.cgroup.max = Some(1000);
    s.cgroup.current = Some(820);
    let t = Thresholds::default();
    let lowered = strongest(&s, None, None, &t, true).map(|r| r.level);
    assert_eq!(
        lowered,
        Some(PressureLevel::High),
        "0.82 is above 0.90 − 0.09"
    );
}

#[test]
fn odd_figures_do_not_panic() {
    let mut s = MemorySample::default();
    s.cgroup.max = Some(0);
    s.cgroup.current = Some(u64::MAX);
    s.cgroup.soft_limit = Some(0);
    s.system_total = Some(0);
    s.system_available = Some(u64::MAX);
    s.psi = Some(psi(f64::NAN, f64::INFINITY));
    let r = strongest(&s, Some(1), None, &Thresholds::default(), false);
    assert_eq!(r.map(|r| r.signal), Some(Signal::PsiFull));
}

#[test]
fn ladders_are_validated() {
    let bad = [
        Ladder::new(Some(0.9), Some(0.8), None, 0.0),
        Ladder::new(Some(0.0), None, None, 0.0),
        Ladder::new(Some(f64::NAN), None, None, 0.0),
        Ladder::new(Some(0.5), None, None, 0.5),
        Ladder::new(Some(0.5), None, None, -1.0),
    ];
    for ladder in bad {
        let err = ladder.validate("usage").unwrap_err();
        assert!(
            err.to_string().starts_with("pressure thresholds `usage`"),
            "{err}"
        );
    }
    Thresholds::default().validate().unwrap();
    assert_eq!(Thresholds::default().usage_marks(1000), vec![800, 900, 950]);
}

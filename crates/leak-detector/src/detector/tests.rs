//! Tests of the detector: configuration, lifecycle, hostile input, cost bounds.

use super::*;
use crate::observation::CacheFigures;

const MIB: u64 = 1 << 20;

fn detector() -> LeakDetector {
    LeakDetector::new(Config::default()).unwrap()
}

fn flat(t: u64) -> Observation {
    Observation::at(t as f64)
        .heap_bytes(1024 * MIB)
        .cache_bytes(768 * MIB)
}

#[test]
fn invalid_configs_are_refused_with_the_setting() {
    let check = |edit: fn(&mut Config), setting: &str| {
        let mut c = Config::default();
        edit(&mut c);
        let err = LeakDetector::new(c).unwrap_err();
        assert!(err.to_string().contains(setting), "{err}");
        assert!(err.to_string().contains("set it") || err.to_string().contains("give"));
    };
    check(|c| c.history_samples = 0, "history_samples");
    check(
        |c| c.growth_windows_seconds.clear(),
        "growth_windows_seconds",
    );
    check(
        |c| c.growth_windows_seconds = vec![f64::NAN],
        "growth_windows_seconds",
    );
    check(|c| c.growth_min_z = f64::INFINITY, "growth_min_z");
    check(|c| c.retention_share = -1.0, "retention_share");
    check(|c| c.spike_persist_samples = 0, "spike_persist_samples");
    assert!(Config::default().validate().is_ok());
}

#[test]
fn steady_input_raises_nothing() {
    let d = detector();
    for t in 0..2000 {
        assert!(d.observe(flat(t)).is_empty());
    }
    let s = d.status();
    assert_eq!(s.samples_seen, 2000);
    assert_eq!(s.samples_held, 2000);
    assert_eq!(s.residual_bytes, Some((256 * MIB) as f64));
}

#[test]
fn lifecycle_open_merge_resolve() {
    let d = detector();
    let opened = std::cell::Cell::new(0);
    let resolved = std::cell::Cell::new(0);
    let feed = |t: u64, leaked: u64| {
        for c in d.observe(flat(t).heap_bytes(1024 * MIB + leaked)) {
            match c {
                AlertChange::Opened(_) => opened.set(opened.get() + 1),
                AlertChange::Resolved(a) => {
                    assert_eq!(a.state, AlertState::Resolved);
                    resolved.set(resolved.get() + 1);
                }
                _ => {}
            }
        }
    };
    // Healthy, then 1 MiB/s for 5 minutes, then flat at the new level.
    for t in 0..600 {
        feed(t, 0);
    }
    for t in 600..900 {
        feed(t, (t - 600) * MIB);
    }
    // One alert for the whole rise: merged, not re-opened every sample.
    assert_eq!(opened.get(), 1);
    assert_eq!(resolved.get(), 0);
    let open = d.open_alerts();
    assert_eq!(open.len(), 1);
    let a = &open[0];
    assert_eq!(a.kind, AlertKind::Growth);
    assert!(a.first_t < 640.0 && a.last_t == 899.0, "{a:?}");
    assert!(a.evidence_value("slope_bytes_per_second").is_some());
    assert!(a.evidence_value("mann_kendall_z").is_some());
    assert!(
        a.summary()
            .starts_with("memory outside the caches grows 1.0 MiB/s ("),
        "{}",
        a.summary()
    );
    // Flat at the new level: the long window sees the rise for up to half its length, then
    // the hold period passes.
    for t in 900..1500 {
        feed(t, 300 * MIB);
    }
    assert_eq!(resolved.get(), 1);
    assert!(d.open_alerts().is_empty());
    let all = d.alerts();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].state, AlertState::Resolved);
    assert_eq!(opened.get(), 1);
}

#[test]
fn fast_growth_escalates_to_critical() {
    let d = detector();
    let mut escalated_or_critical = false;
    for t in 0..900u64 {
        let leaked = t.saturating_sub(600) * 4 * MIB; // about 23 % a minute
        for c in d.observe(flat(t).heap_bytes(1024 * MIB + leaked)) {
            escalated_or_critical |= c.alert().severity == Severity::Critical;
        }
    }
    assert!(escalated_or_critical);
}

#[test]
fn known_limit_near_makes_growth_critical() {
    let d = detector();
    for t in 0..800u64 {
        // 0.5 MiB/s, 3 % a minute, with 100 MiB of headroom: the limit is minutes away.
        let leaked = t.saturating_sub(600) * MIB / 2;
        d.observe(
            flat(t)
                .heap_bytes(1024 * MIB + leaked)
                .limit_bytes(1224 * MIB),
        );
    }
    let open = d.open_alerts();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].severity, Severity::Critical);
    assert!(open[0].evidence_value("time_to_limit_seconds").is_some());
}

#[test]
fn transient_burst_does_not_alert_but_a_lasting_jump_does() {
    let d = detector();
    for t in 0..600 {
        let burst = if (300..304).contains(&t) {
            300 * MIB
        } else {
            0
        };
        d.observe(flat(t).heap_bytes(1024 * MIB + burst));
    }
    assert!(d.open_alerts().is_empty());
    for t in 600..700 {
        d.observe(flat(t).heap_bytes(1324 * MIB));
    }
    let open = d.open_alerts();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].kind, AlertKind::Spike);
    assert_eq!(open[0].severity, Severity::Critical);
    assert_eq!(
        open[0].summary(),
        "memory outside the caches jumped by 300.0 MiB and stays there"
    );
}

#[test]
fn over_budget_needs_margin_and_duration() {
    let d = detector();
    let obs = |t: u64, real: u64| {
        flat(t).cache(
            CacheFigures::new("results", 768 * MIB)
                .budget_bytes(768 * MIB)
                .real_bytes(real),
        )
    };
    for t in 0..100 {
        d.observe(obs(t, 768 * MIB * 11 / 10)); // 10 % over: within the margin
    }
    assert!(d.open_alerts().is_empty());
    for t in 100..120 {
        d.observe(obs(t, 768 * MIB * 2)); // 20 s at twice: not long enough yet
    }
    assert!(d.open_alerts().is_empty());
    for t in 120..140 {
        d.observe(obs(t, 768 * MIB * 2));
    }
    let open = d.open_alerts();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, AlertKind::OverBudget);
    assert_eq!(open[0].cache.as_deref(), Some("results"));
    assert_eq!(open[0].severity, Severity::Critical);
    assert_eq!(
        open[0].summary(),
        "cache results really holds 1536.0 MiB against a budget of 768.0 MiB"
    );
}

#[test]
fn hostile_input_is_ignored_or_survived() {
    let d = detector();
    let ignored = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
    for t in ignored {
        assert!(d.observe(Observation::at(t).heap_bytes(1)).is_empty());
    }
    d.observe(flat(10));
    d.observe(flat(10)); // same time
    d.observe(flat(5)); // backwards
    assert_eq!(d.status().samples_ignored, 5);
    assert_eq!(d.status().samples_seen, 1);
    // Extreme and inconsistent figures: never a panic, finite outputs where given.
    for t in 11..5000u64 {
        let x = match t % 5 {
            0 => u64::MAX,
            1 => 0,
            2 => u64::MAX / 3,
            3 => 1,
            _ => t * 1_000_003,
        };
        let obs = Observation::at(t as f64)
            .heap_bytes(x)
            .resident_bytes(u64::MAX - x)
            .cache_bytes(x.rotate_left(7))
            .evicted_bytes_total(u64::MAX - t)
            .limit_bytes(x / 2)
            .cache(
                CacheFigures::new(format!("c{}", t % 1000), x)
                    .budget_bytes(x.rotate_right(3))
                    .real_bytes(u64::MAX)
                    .unread_bytes(x),
            );
        d.observe(obs);
    }
    // Only heap unknown, only cache known, nothing known.
    d.observe(Observation::at(6000.0).cache_bytes(5));
    d.observe(Observation::at(6001.0));
    let s = d.status();
    assert!(s.samples_held <= 3600);
    for a in d.alerts() {
        assert!(a.first_t.is_finite() && a.last_t >= a.first_t);
    }
    // Per-cache state is bounded by max_caches.
    assert!(d.lock().caches.len() <= Config::default().max_caches);
    assert!(d.lock().resolved.len() <= Config::default().max_resolved);
}

#[test]
fn resident_is_the_fallback_and_raw_heap_without_cache() {
    let d = detector();
    d.observe(Observation::at(0.0).resident_bytes(100).cache_bytes(30));
    assert_eq!(d.status().residual_bytes, Some(70.0));
    d.observe(Observation::at(1.0).heap_bytes(50).resident_bytes(100));
    assert_eq!(d.status().residual_bytes, Some(50.0));
}

#[test]
fn history_is_a_bounded_ring() {
    let config = Config {
        history_samples: 100,
        ..Config::default()
    };
    let d = LeakDetector::new(config).unwrap();
    for t in 0..1000 {
        d.observe(flat(t));
    }
    assert_eq!(d.status().samples_held, 100);
    assert!(d.residual_series(10).len() <= 10);
}

#[test]
fn report_section_has_metrics_table_findings_series() {
    use cache_traits::ReportSource;
    let d = detector();
    for t in 0..900u64 {
        let leaked = t.saturating_sub(600) * MIB;
        d.observe(flat(t).heap_bytes(1024 * MIB + leaked));
    }
    let sections = d.sections();
    assert_eq!(sections.len(), 1);
    let s = &sections[0];
    assert_eq!(s.id, "leak");
    let names: Vec<_> = s.metrics.iter().map(|m| m.name.as_str()).collect();
    for n in [
        "leak_samples",
        "leak_open_alerts",
        "leak_residual",
        "leak_residual_slope",
    ] {
        assert!(names.contains(&n), "{names:?}");
    }
    assert!(
        names
            .iter()
            .all(|n| !n.ends_with("_bytes") && !n.ends_with("_total") && !n.ends_with("_seconds"))
    );
    assert_eq!(s.tables[0].rows.len(), 1);
    assert_eq!(s.findings.len(), 1);
    assert_eq!(s.findings[0].code, "QC-LEAK-GROWTH");
    assert!(!s.findings[0].evidence.is_empty());
    assert!(!s.series[0].points.is_empty() && s.series[0].points.len() <= 720);
}

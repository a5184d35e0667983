//! The suite's targets as tests: every leak found, no alert on a healthy timeline, fast
//! growth found within 30 samples.

use super::*;

/// The suite's results, computed once for all tests (a debug build takes a while).
fn suite() -> &'static [SuiteResult] {
    static RESULTS: std::sync::OnceLock<Vec<SuiteResult>> = std::sync::OnceLock::new();
    RESULTS.get_or_init(|| run_suite(&Config::default()).unwrap())
}

#[test]
fn scenarios_are_deterministic() {
    let a = scenarios();
    let b = scenarios();
    assert_eq!(a.len(), b.len());
    for (a, b) in a.iter().zip(&b) {
        assert_eq!(a.observations, b.observations, "{}", a.name);
    }
}

#[test]
fn suite_meets_its_targets() {
    let results = suite();
    for r in results {
        eprintln!("{r:?}");
    }
    let leaks: Vec<_> = results.iter().filter(|r| r.expected_leak).collect();
    let healthy: Vec<_> = results.iter().filter(|r| !r.expected_leak).collect();
    assert!(leaks.len() >= 8 && healthy.len() >= 8);
    for r in &healthy {
        assert!(!r.alerted, "false alert on {}: {:?}", r.scenario, r.kinds);
    }
    for r in &leaks {
        assert!(r.alerted, "missed leak {}", r.scenario);
        assert_eq!(r.false_alerts, 0, "{} alerted before the leak", r.scenario);
    }
    for r in results {
        assert!(r.passed(), "{r:?}");
    }
    let fast: Vec<_> = leaks
        .iter()
        .filter(|r| r.delay_target_samples.is_some())
        .collect();
    assert!(fast.len() >= 4);
    for r in fast {
        assert!(r.delay_samples.is_some_and(|d| d <= 30), "{r:?}");
    }
}

#[test]
fn leaks_are_classified() {
    let results = suite();
    let kinds = |name: &str| {
        results
            .iter()
            .find(|r| r.scenario == name)
            .map(|r| r.kinds.clone())
            .unwrap()
    };
    assert!(kinds("retention").contains(&AlertKind::Retention));
    assert!(!kinds("retention").contains(&AlertKind::Growth));
    assert!(kinds("spike_stays").contains(&AlertKind::Spike));
    assert!(kinds("over_budget").contains(&AlertKind::OverBudget));
    assert!(kinds("unread_retention").contains(&AlertKind::Retention));
    assert_eq!(kinds("growth_1pct_min_quiet"), [AlertKind::Growth]);
}

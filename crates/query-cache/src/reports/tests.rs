use std::sync::Arc;

use cache_traits::{ReportSource, Section, TimeSeries};

use super::*;
use crate::Cache;

fn cache(name: &str) -> Arc<Cache<u64, String>> {
    Arc::new(
        Cache::builder()
            .name(name)
            .max_bytes(1 << 20)
            .build()
            .unwrap(),
    )
}

#[test]
fn the_hub_records_history_and_writes_every_format() {
    let users = cache("users");
    let reports = Reports::with_history("test service", History::default(), Duration::ZERO);
    reports.add_source(users.clone());
    for i in 0..5 {
        users.insert(i, "x".repeat(100));
        reports.record();
    }
    let detailed = reports.report(ReportKind::Detailed);
    let ids: Vec<_> = detailed.sections.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["overview", "cache.users"]);
    let overview = &detailed.sections[0];
    let names: Vec<_> = overview.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["used_memory", "hit_ratio_recent"]);
    let section = &detailed.sections[1];
    let keys = section
        .series
        .iter()
        .find(|s| s.name == "keys")
        .expect("the history of `keys` is in the detailed report");
    assert_eq!(keys.points.len(), 5);
    assert_eq!(keys.points.last().unwrap().1, 5.0);

    let dir = std::env::temp_dir().join(format!("qc-reports-test-{}", std::process::id()));
    let written = reports.write(&dir, None).unwrap();
    for name in ["report.html", "report.json", "report.txt", "metrics.prom"] {
        assert!(
            written.files.contains(&PathBuf::from(name)),
            "{name} missing"
        );
        assert!(fs::metadata(dir.join(name)).unwrap().len() > 0);
    }
    assert!(written.files.iter().any(|f| f.starts_with("csv")));
    // No temporary file is left behind.
    assert!(
        fs::read_dir(&dir).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp"))
    );
    let _ = fs::remove_dir_all(&dir);
}

/// A source that panics would take the hub down with it if it were called under the lock;
/// here it only must not poison the hub for the next call.
struct Empty;

impl ReportSource for Empty {
    fn sections(&self) -> Vec<Section> {
        Vec::new()
    }
}

#[test]
fn a_hub_without_sections_still_reports() {
    let reports = Reports::new("empty");
    reports.add_source(Arc::new(Empty));
    reports.record();
    assert!(reports.report(ReportKind::Summary).sections.is_empty());
    assert!(reports.report(ReportKind::Trend).sections.is_empty());
}

#[test]
fn the_recent_hit_ratio_is_per_interval() {
    let hits = [(1, 0.0), (2, 10.0), (3, 10.0), (4, 40.0), (6, 50.0)];
    let misses = [
        (1, 0.0),
        (2, 10.0),
        (3, 10.0),
        (4, 20.0),
        (5, 20.0),
        (6, 20.0),
    ];
    // (1→2) 10 of 20, (2→3) no lookups, (3→4) 30 of 40, (4→6) 10 of 10.
    assert_eq!(
        recent_ratio(&hits, &misses),
        [(2, 0.5), (4, 0.75), (6, 1.0)]
    );
}

struct Panics;

impl ReportSource for Panics {
    fn sections(&self) -> Vec<Section> {
        panic!("a source that panics")
    }
}

#[test]
fn a_panicking_source_is_a_finding_and_the_others_still_report() {
    let users = cache("users");
    let reports = Reports::with_history("t", History::default(), Duration::ZERO);
    reports.add_source(Arc::new(Panics));
    reports.add_source(users.clone());
    reports.record();
    reports.record();
    let report = reports.report(ReportKind::Detailed);
    let ids: Vec<_> = report.sections.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["overview", "source.0", "cache.users"]);
    assert_eq!(report.sections[1].findings[0].code, "QC-SOURCE-PANICKED");
    assert!(
        !report.sections[2].series.is_empty(),
        "the history was recorded"
    );
}

#[test]
fn records_come_at_most_once_per_interval() {
    let users = cache("users");
    let reports = Reports::new("t");
    reports.add_source(users);
    for _ in 0..10 {
        reports.record();
    }
    let report = reports.report(ReportKind::Detailed);
    let keys = report.sections[1]
        .series
        .iter()
        .find(|s| s.name == "keys")
        .unwrap();
    assert_eq!(keys.points.len(), 1);
}

#[test]
fn long_series_are_thinned_keeping_their_extremes() {
    let mut series = TimeSeries::default();
    series.points = (0..3600u64)
        .map(|t| (t, if t == 1234 { 1e9 } else { t as f64 }))
        .collect();
    let thin = thin(series);
    assert!(thin.points.len() <= MAX_POINTS, "{}", thin.points.len());
    assert!(thin.points.contains(&(1234, 1e9)), "the spike survives");
    assert!(
        thin.points.windows(2).all(|w| w[0].0 < w[1].0),
        "in time order"
    );
}

#[test]
fn writers_into_one_folder_do_not_collide_and_stale_csv_goes() {
    let dir = std::env::temp_dir().join(format!("qc-reports-race-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("csv")).unwrap();
    fs::write(dir.join("csv").join("gone.csv"), "a\n").unwrap();
    let reports = Reports::with_history("t", History::default(), Duration::ZERO);
    reports.add_source(cache("users"));
    reports.record();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20 {
                    reports.write(&dir, None).unwrap();
                    reports.write_dashboard(&dir, 5).unwrap();
                }
            });
        }
    });
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .chain(fs::read_dir(dir.join("csv")).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n == "gone.csv")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = fs::remove_dir_all(&dir);
}

use std::sync::Arc;

use cache_traits::{ReportSource, Section};

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
    let reports = Reports::new("test service");
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

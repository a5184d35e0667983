use cache_traits::{Cell, Metric, MetricKind, Section, Unit};

use super::*;
use crate::testing::{self, FakeCache, NOW};

#[test]
fn a_summary_keeps_headline_metrics_and_every_finding() {
    let sources = testing::sources();
    let report = Report::summary("t", NOW, sources.iter().map(|s| s.as_ref()));
    assert_eq!(report.kind, ReportKind::Summary);
    let ids: Vec<&str> = report.sections.iter().map(|s| s.id.as_str()).collect();
    // The hostile section has findings but no headline metric; its empty sibling is left out.
    assert_eq!(
        ids,
        [
            "cache.results",
            "cache.embeddings",
            "memory",
            "../../etc/passwd"
        ]
    );
    for section in &report.sections {
        assert!(section.tables.is_empty() && section.series.is_empty());
        assert!(section.events.is_empty());
        for m in &section.metrics {
            assert!(HEADLINE_METRICS.contains(&m.name.as_str()), "{}", m.name);
        }
    }
    let results = &report.sections[0];
    let names: Vec<&str> = results.metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "used_memory",
            "maxmemory",
            "keyspace_hits",
            "keyspace_misses",
            "hit_ratio",
            "evicted_keys"
        ]
    );
    assert_eq!(
        results.metrics[0].labels,
        [("cache".into(), "results".into())]
    );
    assert_eq!(results.findings.len(), 3);
    assert_eq!(report.sections[3].findings.len(), 1);
}

#[test]
fn a_detailed_report_keeps_everything() {
    let source = FakeCache {
        name: "results",
        used: 1.0,
    };
    let report = Report::detailed("t", NOW, [&source as &dyn ReportSource]);
    // Debug, since a NaN cell is not equal to itself.
    assert_eq!(
        format!("{:?}", report.sections),
        format!("{:?}", source.sections())
    );
}

#[test]
fn a_trend_report_has_history_and_a_table_of_trends() {
    let history = testing::history();
    let source = FakeCache {
        name: "results",
        used: 1.0,
    };
    let window = Duration::from_secs(30);
    let report = Report::trend("t", NOW, [&source as &dyn ReportSource], &history, window);
    assert_eq!(report.kind, ReportKind::Trend);
    assert_eq!(report.sections.len(), 1);
    let section = &report.sections[0];
    assert_eq!(section.metrics, source.sections()[0].metrics);
    assert_eq!(section.findings.len(), 3);
    assert_eq!(section.events.len(), 30);

    // The source's own series, cut to the window, then one series a metric from history.
    let names: Vec<&str> = section.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names[0], "hit_ratio");
    assert_eq!(
        &names[1..],
        source.sections()[0]
            .metrics
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
    );
    for series in &section.series {
        assert_eq!(series.points.len(), 31, "{}", series.name);
    }

    assert_eq!(section.tables.len(), 1);
    let trends = &section.tables[0];
    assert_eq!(trends.name, TRENDS_TABLE);
    assert_eq!(trends.title, "Trends over the last 30 s");
    assert_eq!(trends.columns, TREND_COLUMNS);
    assert_eq!(trends.rows.len(), section.series.len());
    let column = |name: &str| trends.columns.iter().position(|c| c == name).unwrap();
    // The source's series: kind unknown.
    assert_eq!(trends.rows[0][column("kind")], Cell::Empty);
    // used_memory grew by 1 MiB a second.
    let used = &trends.rows[1];
    assert_eq!(used[column("series")], Cell::from("used_memory"));
    assert_eq!(used[column("labels")], Cell::from("cache=results"));
    assert_eq!(used[column("kind")], Cell::from("gauge"));
    assert_eq!(used[column("unit")], Cell::from("bytes"));
    assert_eq!(used[column("points")], Cell::Int(31));
    assert_eq!(used[column("max")], Cell::Float(119.0 * 1024.0 * 1024.0));
    assert_eq!(
        used[column("slope_per_second")],
        Cell::Float(1024.0 * 1024.0)
    );
    assert_eq!(used[column("rate_per_second")], Cell::Empty);
    // keyspace_hits is a counter that stood still.
    let hits = &trends.rows[3];
    assert_eq!(hits[column("kind")], Cell::from("counter"));
    assert_eq!(hits[column("rate_per_second")], Cell::Float(0.0));
}

#[test]
fn a_trend_report_without_history_has_no_trends_table() {
    let mut s = Section::new("memory", "Memory");
    s.metrics
        .push(Metric::gauge("used_memory", "h", Unit::Bytes, 1.0));
    s.tables.push(Table::new("big", "Big", &["a"]));
    let report =
        Report::trend_from_sections("t", NOW, [s], &History::default(), Duration::from_secs(60));
    assert!(report.sections[0].tables.is_empty());
    assert!(report.sections[0].series.is_empty());
    assert_eq!(report.sections[0].metrics.len(), 1);
}

#[test]
fn trend_titles_name_the_window() {
    assert_eq!(
        trends_title(Duration::from_secs(90)),
        "Trends over the last 90 s"
    );
    assert_eq!(
        trends_title(Duration::from_millis(1500)),
        "Trends over the last 1.500 s"
    );
    assert_eq!(
        trends_title(Duration::MAX),
        "Trends over all of the history"
    );
}

#[test]
fn pairs_and_names() {
    assert_eq!(join_pairs(&[]), "");
    assert_eq!(
        join_pairs(&[("a".into(), "1".into()), ("b".into(), "x".into())]),
        "a=1,b=x"
    );
    assert_eq!(kind_name(MetricKind::Counter), "counter");
    assert_eq!(unit_name(Unit::None), "none");
    assert_eq!(unit_name(Unit::Bytes), "bytes");
}

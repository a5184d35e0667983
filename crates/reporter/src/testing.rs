//! Fake sources with every kind of section content, for the renderers' tests.

use std::time::Duration;

use cache_traits::{
    Cell, Event, Finding, Metric, ReportSource, Section, Severity, Table, TimeSeries, Unit,
};

use crate::{History, Report};

/// When the fake reports are made: 2026-12-07 00:00:00 UTC.
pub(crate) const NOW: u64 = 1_796_601_600_000;

/// A cache with a table of entries, a series, events and findings of every severity.
pub(crate) struct FakeCache {
    /// Its name, a label and part of its section id.
    pub(crate) name: &'static str,
    /// Bytes it holds.
    pub(crate) used: f64,
}

impl ReportSource for FakeCache {
    fn sections(&self) -> Vec<Section> {
        let name = self.name;
        let mut s = Section::new(format!("cache.{name}"), format!("Cache {name}"));
        s.metrics.extend([
            Metric::gauge("used_memory", "Bytes charged", Unit::Bytes, self.used)
                .label("cache", name),
            Metric::gauge(
                "maxmemory",
                "Byte limit",
                Unit::Bytes,
                64.0 * 1024.0 * 1024.0,
            )
            .label("cache", name),
            Metric::counter("keyspace_hits", "Hits", Unit::None, 9_000.0).label("cache", name),
            Metric::counter("keyspace_misses", "Misses", Unit::None, 1_000.0).label("cache", name),
            Metric::gauge("hit_ratio", "Hits over lookups", Unit::Ratio, 0.9).label("cache", name),
            Metric::counter("evicted_keys", "Entries evicted", Unit::None, 12.0)
                .label("cache", name),
            Metric::gauge("shard_count", "Shards", Unit::None, 16.0).label("cache", name),
            Metric::counter("lookup_time", "Time spent in lookups", Unit::Seconds, 1.25)
                .label("cache", name),
        ]);
        s.tables.push(
            Table::new(
                "entries",
                "Largest entries",
                &["key", "bytes", "score", "note"],
            )
            .row(vec![
                "alpha".into(),
                4096u64.into(),
                0.5.into(),
                Cell::Empty,
            ])
            .row(vec![
                "beta".into(),
                u64::MAX.into(),
                (-1.5).into(),
                "big".into(),
            ])
            .row(vec![
                "gamma, \"quoted\"\nline".into(),
                (-7i64).into(),
                f64::NAN.into(),
            ]),
        );
        let mut series = TimeSeries::default();
        series.name = "hit_ratio".into();
        series.title = "Hit ratio".into();
        series.unit = Some(Unit::Ratio);
        series.labels = vec![("cache".into(), name.into())];
        series.points = (0..120u64)
            .map(|i| (NOW - 120_000 + i * 1000, 0.5 + (i as f64) / 300.0))
            .collect();
        s.series.push(series);
        for i in 0..30u64 {
            let mut e = Event::default();
            e.at_unix_millis = NOW - 30_000 + i * 1000;
            e.kind = "resize".into();
            e.message = format!("budget set to {} MiB", 64 - i);
            e.fields = vec![
                ("from".into(), (65 - i).to_string()),
                ("to".into(), (64 - i).to_string()),
            ];
            s.events.push(e);
        }
        s.findings.extend([
            Finding::new(
                Severity::Info,
                "QC-INFO",
                "Cache warmed up",
                "Nothing to do",
            )
            .evidence("keys", 1000),
            Finding::new(
                Severity::Critical,
                "QC-PRESSURE-HIGH",
                "Memory pressure is critical",
                "Raise the memory limit or lower the caches' budgets",
            )
            .evidence("pressure_level", "critical")
            .evidence("used_memory", self.used),
            Finding::new(
                Severity::Warning,
                "QC-HIT-LOW",
                "Hit ratio fell",
                "Grow the cache",
            ),
        ]);
        vec![s]
    }
}

/// A memory probe with an unknown (NaN) value.
pub(crate) struct FakeMemory;

impl ReportSource for FakeMemory {
    fn sections(&self) -> Vec<Section> {
        let mut s = Section::new("memory", "Memory");
        s.metrics.extend([
            Metric::gauge(
                "used_memory_rss",
                "Resident bytes",
                Unit::Bytes,
                512.0 * 1024.0 * 1024.0,
            ),
            Metric::gauge(
                "total_system_memory",
                "Machine memory",
                Unit::Bytes,
                f64::NAN,
            ),
            Metric::gauge("pressure_level", "0 none .. 3 critical", Unit::None, 2.0),
        ]);
        vec![s]
    }
}

/// A source that says hostile and overlong things.
pub(crate) struct Hostile;

/// A name longer than any line.
pub(crate) const LONG: &str = "a_very_long_metric_name_that_goes_on_and_on_past_the_edge_of_any_terminal_window_and_then_some_more_still";

impl ReportSource for Hostile {
    fn sections(&self) -> Vec<Section> {
        let mut s = Section::new(
            "../../etc/passwd",
            "Hostile\tsection\nwith a \u{1b}[31mnewline",
        );
        s.metrics.push(
            Metric::gauge(LONG, "Help ".repeat(40), Unit::Seconds, 1e-3)
                .label("path", "/x/../../y")
                .label(LONG, LONG),
        );
        s.metrics.push(Metric::counter(
            "ünïcödé_名前",
            "Unicode",
            Unit::None,
            12345678901.0,
        ));
        let columns: Vec<String> = (0..30).map(|i| format!("column_number_{i}")).collect();
        let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
        let mut wide = Table::new("../wide/table", "A table wider than a terminal", &columns);
        wide.push((0..30).map(|i| Cell::from(LONG.repeat(i % 3))).collect());
        s.tables.push(wide);
        let mut narrow = Table::new("Narrow/Table", "Long cells", &["name", "value"]);
        narrow.push(vec![LONG.repeat(3).into(), 1.5.into()]);
        narrow.push(vec!["short".into(), Cell::Empty]);
        s.tables.push(narrow);
        // Not padded: rows of other lengths than the columns.
        let mut ragged = Table::new("ragged", "Ragged", &["a", "b"]);
        ragged.rows.push(vec![Cell::Int(1)]);
        ragged
            .rows
            .push(vec![Cell::Int(1), Cell::Int(2), Cell::Int(3)]);
        s.tables.push(ragged);
        s.tables.push(Table::new("no_columns", "No columns", &[]));
        let mut series = TimeSeries::default();
        series.name = format!("{LONG}/..");
        series.title = LONG.into();
        series.labels = vec![("k".into(), LONG.into())];
        series.points = vec![(NOW - 2000, 1.0), (NOW - 1000, f64::NAN), (NOW, 3.0)];
        s.series.push(series);
        s.series.push(TimeSeries::default());
        let mut e = Event::default();
        e.at_unix_millis = NOW;
        e.kind = LONG.into();
        e.message = format!("{} {LONG}", "word ".repeat(40));
        e.fields = vec![(LONG.into(), LONG.into())];
        s.events.push(e);
        let mut f = Finding::new(Severity::Warning, LONG, LONG.repeat(2), "do ".repeat(60));
        f.evidence.push((LONG.into(), LONG.repeat(2)));
        s.findings.push(f);
        vec![s, Section::new("", "")]
    }
}

/// Every fake source.
pub(crate) fn sources() -> Vec<Box<dyn ReportSource>> {
    vec![
        Box::new(FakeCache {
            name: "results",
            used: 48.0 * 1024.0 * 1024.0,
        }),
        Box::new(FakeCache {
            name: "embeddings",
            used: 12.5 * 1024.0 * 1024.0,
        }),
        Box::new(FakeMemory),
        Box::new(Hostile),
    ]
}

/// Two minutes of one-second history of the fake sources, with the caches growing.
pub(crate) fn history() -> History {
    let mut history = History::default();
    for i in 0..120u64 {
        let at = NOW - 120_000 + i * 1000;
        let mut sections = Vec::new();
        for name in ["results", "embeddings"] {
            let used = (i * 1024 * 1024) as f64;
            sections.extend(FakeCache { name, used }.sections());
        }
        sections.extend(FakeMemory.sections());
        sections.extend(Hostile.sections());
        history.record(at, &sections);
    }
    history
}

/// A report of each kind from the fake sources.
pub(crate) fn reports() -> Vec<Report> {
    let sources = sources();
    let sources = || sources.iter().map(|s| s.as_ref());
    let history = history();
    vec![
        Report::detailed("Query cache", NOW, sources()),
        Report::summary("Query cache", NOW, sources()),
        Report::trend(
            "Query cache",
            NOW,
            sources(),
            &history,
            Duration::from_secs(60),
        ),
    ]
}

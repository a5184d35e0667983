//! A report: sections from any number of sources, with what kind of report it is.

use std::time::Duration;

use cache_traits::{Cell, MetricKind, ReportSource, Section, Table, TimeSeries, Unit};
use serde::{Deserialize, Serialize};

use crate::history::{History, Trend};

/// The version of the JSON schema (`docs/report.schema.json`); it changes when a field is
/// renamed or removed, not when one is added.
pub const SCHEMA_VERSION: u32 = 1;

/// The metric names a [summary](Report::summary) keeps.
///
/// They are the headline figures of Redis `INFO memory` and `INFO stats` under their Redis
/// names (`used_memory`, `evicted_keys`, …), the hit ratio and the pressure level. A source
/// puts a figure in the summary by naming its metric so; a summary keeps these metrics of
/// every section with their labels, and every finding.
pub const HEADLINE_METRICS: &[&str] = &[
    "used_memory",
    "used_memory_rss",
    "used_memory_peak",
    "maxmemory",
    "total_system_memory",
    "mem_fragmentation_ratio",
    "keys",
    "keyspace_hits",
    "keyspace_misses",
    "hit_ratio",
    "evicted_keys",
    "expired_keys",
    "pressure_level",
];

/// The name of the table of trend figures in each section of a [trend](Report::trend) report.
pub const TRENDS_TABLE: &str = "trends";

/// Which report it is.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Headline figures and findings.
    Summary,
    /// Every section in full.
    Detailed,
    /// Series over a window, with trend figures.
    Trend,
}

impl ReportKind {
    /// `summary`, `detailed` or `trend`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Summary => "summary",
            ReportKind::Detailed => "detailed",
            ReportKind::Trend => "trend",
        }
    }
}

/// A report: what every source said at one time, as sections.
///
/// Renderers ([`to_json`](crate::to_json), [`to_csv_files`](crate::to_csv_files),
/// [`to_text`](crate::to_text), `to_html`, [`to_prometheus`](crate::to_prometheus)) take a
/// `&Report` and nothing else.
///
/// Reports are composed from sections: [`summary`](Self::summary) (headline metrics and
/// findings), [`detailed`](Self::detailed) (everything) and [`trend`](Self::trend) (history
/// over a window with trend figures).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`] when the report was made.
    pub schema_version: u32,
    /// Which report it is.
    pub kind: ReportKind,
    /// A title for people.
    pub title: String,
    /// When it was made, in unix milliseconds.
    pub generated_unix_millis: u64,
    /// The sections, in the order of their sources.
    pub sections: Vec<Section>,
}

impl Report {
    /// An empty report.
    pub fn new(kind: ReportKind, title: impl Into<String>, generated_unix_millis: u64) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            kind,
            title: title.into(),
            generated_unix_millis,
            sections: Vec::new(),
        }
    }

    /// A detailed report of every section `sources` give now.
    pub fn detailed<'a>(
        title: impl Into<String>,
        generated_unix_millis: u64,
        sources: impl IntoIterator<Item = &'a dyn ReportSource>,
    ) -> Self {
        let mut report = Self::new(ReportKind::Detailed, title, generated_unix_millis);
        for source in sources {
            report.sections.extend(source.sections());
        }
        report
    }

    /// A summary of what `sources` give now: see [`summary_from_sections`](Self::summary_from_sections).
    pub fn summary<'a>(
        title: impl Into<String>,
        generated_unix_millis: u64,
        sources: impl IntoIterator<Item = &'a dyn ReportSource>,
    ) -> Self {
        let sections = sources.into_iter().flat_map(|s| s.sections());
        Self::summary_from_sections(title, generated_unix_millis, sections)
    }

    /// A summary of `sections`: in each, the metrics named in [`HEADLINE_METRICS`] and every
    /// finding; no tables, series or events. A section with neither is left out.
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::{Metric, Section, Unit};
    /// use reporter::Report;
    ///
    /// let mut memory = Section::new("memory", "Memory");
    /// memory.metrics.push(Metric::gauge("used_memory", "Bytes held", Unit::Bytes, 4096.0));
    /// memory.metrics.push(Metric::gauge("slab_slots", "Slots", Unit::None, 64.0));
    /// let report = Report::summary_from_sections("Query cache", 0, [memory]);
    /// assert_eq!(report.sections[0].metrics.len(), 1);
    /// assert_eq!(report.sections[0].metrics[0].name, "used_memory");
    /// ```
    pub fn summary_from_sections(
        title: impl Into<String>,
        generated_unix_millis: u64,
        sections: impl IntoIterator<Item = Section>,
    ) -> Self {
        let mut report = Self::new(ReportKind::Summary, title, generated_unix_millis);
        for mut section in sections {
            section
                .metrics
                .retain(|m| HEADLINE_METRICS.contains(&m.name.as_str()));
            if section.metrics.is_empty() && section.findings.is_empty() {
                continue;
            }
            section.tables.clear();
            section.series.clear();
            section.events.clear();
            report.sections.push(section);
        }
        report
    }

    /// A trend report of what `sources` give now and what `history` holds: see
    /// [`trend_from_sections`](Self::trend_from_sections).
    pub fn trend<'a>(
        title: impl Into<String>,
        generated_unix_millis: u64,
        sources: impl IntoIterator<Item = &'a dyn ReportSource>,
        history: &History,
        window: Duration,
    ) -> Self {
        let sections = sources.into_iter().flat_map(|s| s.sections());
        Self::trend_from_sections(title, generated_unix_millis, sections, history, window)
    }

    /// A trend report of `sections` over the last `window` of `history`.
    ///
    /// Each section keeps its metrics, events and findings; its tables give way to one table,
    /// [`TRENDS_TABLE`], of [`Trend`] figures with a row per series. Its series are its own
    /// (cut to `window` before their last point) followed by its history (the series
    /// [`History::record`] kept for the section's id, over `window` before the latest record).
    /// History of a section no source gives now is left out.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cache_traits::{Metric, Section, Unit};
    /// use reporter::{History, Report};
    ///
    /// let memory = |bytes: f64| {
    ///     let mut s = Section::new("memory", "Memory");
    ///     s.metrics.push(Metric::gauge("used_memory", "Bytes held", Unit::Bytes, bytes));
    ///     s
    /// };
    /// let mut history = History::default();
    /// for second in 0..60u64 {
    ///     history.record(second * 1000, &[memory(second as f64 * 1024.0)]);
    /// }
    /// let report =
    ///     Report::trend_from_sections("Query cache", 60_000, [memory(0.0)], &history, Duration::from_secs(30));
    /// let section = &report.sections[0];
    /// assert_eq!(section.series[0].points.len(), 31);
    /// assert_eq!(section.tables[0].name, "trends");
    /// ```
    pub fn trend_from_sections(
        title: impl Into<String>,
        generated_unix_millis: u64,
        sections: impl IntoIterator<Item = Section>,
        history: &History,
        window: Duration,
    ) -> Self {
        let mut report = Self::new(ReportKind::Trend, title, generated_unix_millis);
        for mut section in sections {
            let mut trends = Table::new(TRENDS_TABLE, trends_title(window), &TREND_COLUMNS);
            let own = std::mem::take(&mut section.series);
            for mut series in own {
                let trend = Trend::of(&series, MetricKind::Gauge, window);
                if let Some(trend) = &trend {
                    let since = trend.from_unix_millis;
                    series.points.retain(|&(t, _)| t >= since);
                }
                trends.push(trend_row(&series, None, trend.as_ref()));
                section.series.push(series);
            }
            for (key, kind, series) in history.collect(Some(&section.id), Some(window)) {
                let trend = history.trend(key, window);
                trends.push(trend_row(&series, Some(kind), trend.as_ref()));
                section.series.push(series);
            }
            section.tables.clear();
            if !trends.rows.is_empty() {
                section.tables.push(trends);
            }
            report.sections.push(section);
        }
        report
    }
}

/// The columns of [`TRENDS_TABLE`].
const TREND_COLUMNS: [&str; 15] = [
    "series",
    "labels",
    "kind",
    "unit",
    "points",
    "first",
    "last",
    "min",
    "max",
    "mean",
    "p50",
    "p90",
    "p99",
    "slope_per_second",
    "rate_per_second",
];

/// A row of [`TRENDS_TABLE`] for `series`, of `kind` when known.
fn trend_row(series: &TimeSeries, kind: Option<MetricKind>, trend: Option<&Trend>) -> Vec<Cell> {
    let mut row = vec![
        Cell::from(series.name.as_str()),
        Cell::from(join_pairs(&series.labels)),
        kind.map_or(Cell::Empty, |k| Cell::from(kind_name(k))),
        series
            .unit
            .map_or(Cell::Empty, |u| Cell::from(unit_name(u))),
    ];
    match trend {
        Some(t) => row.extend([
            Cell::from(t.n_points as u64),
            Cell::from(t.first),
            Cell::from(t.last),
            Cell::from(t.min),
            Cell::from(t.max),
            Cell::from(t.mean),
            Cell::from(t.p50),
            Cell::from(t.p90),
            Cell::from(t.p99),
            Cell::from(t.slope_per_second),
            Cell::from(t.rate_per_second),
        ]),
        None => row.push(Cell::Int(0)),
    }
    row
}

/// The title of [`TRENDS_TABLE`]: `Trends over the last 90 s`.
fn trends_title(window: Duration) -> String {
    if window.as_secs() > 366 * 24 * 3600 {
        "Trends over all of the history".to_owned()
    } else if window.subsec_millis() == 0 {
        format!("Trends over the last {} s", window.as_secs())
    } else {
        format!("Trends over the last {:.3} s", window.as_secs_f64())
    }
}

/// Name and value pairs (labels, evidence, fields) as `name=value,name=value`.
pub(crate) fn join_pairs(pairs: &[(String, String)]) -> String {
    join_pairs_with(pairs, ",")
}

/// `name=value` pairs joined by `sep`.
pub(crate) fn join_pairs_with(pairs: &[(String, String)], sep: &str) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// `counter` or `gauge`, as in the JSON.
pub(crate) fn kind_name(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Counter => "counter",
        MetricKind::Gauge => "gauge",
        _ => "untyped",
    }
}

/// `none`, `bytes`, `seconds` or `ratio`, as in the JSON.
pub(crate) fn unit_name(unit: Unit) -> &'static str {
    unit.suffix().unwrap_or("none")
}

#[cfg(test)]
mod tests;

//! The HTML renderer: one self-contained page with findings by severity and, per section,
//! metrics, tables, inline SVG charts of the time series and the events.
//!
//! The page needs nothing but itself: the CSS is inline, the charts are inline SVG, there is
//! no script, and a Content-Security-Policy forbids fetching anything, so it opens the same
//! from a file, an endpoint or a mail attachment. Every string from a report (section ids,
//! names, labels, messages) is escaped by askama, in the SVG too. Series are downsampled to
//! at most [`MAX_CHART_POINTS`] points per chart (the minimum and the maximum of each time
//! bucket, so spikes survive), and long tables and event lists are cut, so an hour of
//! one-second history for dozens of series stays well under a megabyte.

use askama::Template;
use cache_traits::{Cell, Event, Finding, Metric, MetricKind, Section, Severity, Table, Unit};

use crate::{Report, units};

mod chart;
#[cfg(test)]
mod tests;

use chart::Chart;

/// The most points drawn in one chart, over all its lines.
pub(crate) const MAX_CHART_POINTS: usize = 300;

/// The most rows of one table shown; the rest are counted (the CSV files have them all).
const MAX_TABLE_ROWS: usize = 500;

/// The most events listed per section: the newest ones; the rest are counted.
const MAX_EVENTS_LISTED: usize = 200;

/// How [`to_html`] renders a page.
///
/// # Examples
///
/// ```
/// use reporter::HtmlOptions;
/// let static_page = HtmlOptions::default();
/// let dashboard = HtmlOptions::default().refresh_every(5);
/// assert_eq!(static_page.refresh_seconds, None);
/// assert_eq!(dashboard.refresh_seconds, Some(5));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HtmlOptions {
    /// Reload the page every this many seconds (`<meta http-equiv="refresh">`), for a
    /// dashboard whose file is replaced while it is open; `None` (the default): a static page.
    pub refresh_seconds: Option<u32>,
}

impl HtmlOptions {
    /// The same options, with the page reloading itself every `seconds` seconds.
    pub fn refresh_every(mut self, seconds: u32) -> Self {
        self.refresh_seconds = Some(seconds);
        self
    }
}

/// Renders `report` as one self-contained HTML page (UTF-8).
///
/// The page shows a header (title, kind, when it was made), the findings of every section
/// (critical first) with their evidence and recommendation, and then each section: its
/// metrics, its tables, its time series as SVG line charts (with the section's events as
/// markers on the time axis) and its events. A series named `pressure_level` (or ending in
/// it) is drawn as a step chart with the levels' names on the y axis.
///
/// # Examples
///
/// ```
/// use cache_traits::{Metric, Section, Unit};
/// use reporter::{HtmlOptions, Report, ReportKind, to_html};
///
/// let mut section = Section::new("memory", "Memory");
/// section.metrics.push(Metric::gauge("rss", "Resident set size", Unit::Bytes, 3.0 * 1048576.0));
/// let mut report = Report::new(ReportKind::Detailed, "query-cache", 1_700_000_000_000);
/// report.sections.push(section);
///
/// let html = to_html(&report, &HtmlOptions::default());
/// assert!(html.starts_with("<!DOCTYPE html>"));
/// assert!(html.contains("3.00 MiB"));
/// ```
pub fn to_html(report: &Report, options: &HtmlOptions) -> String {
    let page = Page::new(report, options);
    match page.render() {
        Ok(html) => html,
        // Rendering only fails when a `Display` implementation does; none of ours do, but a
        // page saying so is better than a panic in a dashboard thread.
        Err(err) => format!(
            "<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\"><title>report</title>\
             <p>the report could not be rendered: {}</p></html>",
            escape_text(&err.to_string())
        ),
    }
}

/// The page, as the template sees it.
#[derive(Template)]
#[template(path = "report.html", whitespace = "minimize")]
struct Page<'a> {
    title: &'a str,
    kind: &'static str,
    generated: String,
    refresh_seconds: Option<u32>,
    counts: Vec<SeverityCount>,
    findings: Vec<FindingView<'a>>,
    sections: Vec<SectionView<'a>>,
}

/// How many findings of one severity there are.
struct SeverityCount {
    severity: &'static str,
    count: usize,
}

struct FindingView<'a> {
    severity: Severity,
    code: &'a str,
    title: &'a str,
    section_title: &'a str,
    section_anchor: String,
    evidence: &'a [(String, String)],
    recommendation: &'a str,
}

struct SectionView<'a> {
    anchor: String,
    id: &'a str,
    title: &'a str,
    n_findings: usize,
    metrics: Vec<MetricRow<'a>>,
    metric_labels: bool,
    tables: Vec<TableView<'a>>,
    charts: Vec<Chart>,
    events: Vec<EventRow<'a>>,
    events_hidden: usize,
}

impl SectionView<'_> {
    fn is_empty(&self) -> bool {
        self.metrics.is_empty()
            && self.tables.is_empty()
            && self.charts.is_empty()
            && self.events.is_empty()
            && self.n_findings == 0
    }
}

struct MetricRow<'a> {
    name: &'a str,
    help: &'a str,
    labels: String,
    value: String,
    exact: String,
    kind: &'static str,
}

struct TableView<'a> {
    name: &'a str,
    title: &'a str,
    columns: Vec<ColumnView<'a>>,
    rows: Vec<Vec<CellView>>,
    hidden_rows: usize,
}

struct ColumnView<'a> {
    name: &'a str,
    numeric: bool,
}

struct CellView {
    text: String,
    numeric: bool,
}

struct EventRow<'a> {
    time: String,
    kind: &'a str,
    message: &'a str,
    fields: String,
}

impl<'a> Page<'a> {
    fn new(report: &'a Report, options: &HtmlOptions) -> Self {
        let mut findings: Vec<FindingView<'a>> = report
            .sections
            .iter()
            .enumerate()
            .flat_map(|(idx, section)| {
                section
                    .findings
                    .iter()
                    .map(move |f| finding_view(f, section, idx))
            })
            .collect();
        // Critical first; a stable sort keeps the sections' order within a severity.
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let counts = [Severity::Critical, Severity::Warning, Severity::Info]
            .into_iter()
            .map(|severity| SeverityCount {
                severity: severity.as_str(),
                count: findings.iter().filter(|f| f.severity == severity).count(),
            })
            .filter(|c| c.count > 0)
            .collect();
        Self {
            title: &report.title,
            kind: report.kind.as_str(),
            generated: format_datetime(report.generated_unix_millis),
            refresh_seconds: options.refresh_seconds,
            counts,
            findings,
            sections: report
                .sections
                .iter()
                .enumerate()
                .map(|(idx, s)| section_view(s, idx))
                .collect(),
        }
    }
}

fn finding_view<'a>(finding: &'a Finding, section: &'a Section, idx: usize) -> FindingView<'a> {
    FindingView {
        severity: finding.severity,
        code: &finding.code,
        title: &finding.title,
        section_title: &section.title,
        section_anchor: section_anchor(idx),
        evidence: &finding.evidence,
        recommendation: &finding.recommendation,
    }
}

/// The anchor of the `idx`th section: from its position, so that no id from a report ends
/// up in a fragment.
fn section_anchor(idx: usize) -> String {
    format!("s{idx}")
}

fn section_view(section: &Section, idx: usize) -> SectionView<'_> {
    let n_events = section.events.len();
    let events_hidden = n_events.saturating_sub(MAX_EVENTS_LISTED);
    SectionView {
        anchor: section_anchor(idx),
        id: &section.id,
        title: &section.title,
        n_findings: section.findings.len(),
        metrics: section.metrics.iter().map(metric_row).collect(),
        metric_labels: section.metrics.iter().any(|m| !m.labels.is_empty()),
        tables: section.tables.iter().map(table_view).collect(),
        charts: chart::charts(&section.series, &section.events),
        events: section.events[events_hidden..]
            .iter()
            .map(event_row)
            .collect(),
        events_hidden,
    }
}

fn metric_row(metric: &Metric) -> MetricRow<'_> {
    MetricRow {
        name: &metric.name,
        help: &metric.help,
        labels: join_pairs(&metric.labels),
        value: format_value(metric.value, Some(metric.unit)),
        exact: format!("{}", metric.value),
        kind: match metric.kind {
            MetricKind::Counter => "counter",
            _ => "gauge",
        },
    }
}

fn table_view(table: &Table) -> TableView<'_> {
    let shown = table.rows.len().min(MAX_TABLE_ROWS);
    let rows: Vec<Vec<CellView>> = table.rows[..shown]
        .iter()
        .map(|row| row.iter().map(cell_view).collect())
        .collect();
    // A column is right-aligned, header too, when every cell in it with a value is a number.
    let columns = table
        .columns
        .iter()
        .enumerate()
        .map(|(idx, name)| ColumnView {
            name,
            numeric: rows.iter().any(|r| r.get(idx).is_some_and(|c| c.numeric))
                && rows
                    .iter()
                    .all(|r| r.get(idx).is_none_or(|c| c.numeric || c.text.is_empty())),
        })
        .collect();
    TableView {
        name: &table.name,
        title: &table.title,
        columns,
        rows,
        hidden_rows: table.rows.len() - shown,
    }
}

fn cell_view(cell: &Cell) -> CellView {
    match cell {
        // Separators only from five digits on, so that years and small ids read as written.
        Cell::Int(v) if v.unsigned_abs() >= 10_000 => CellView {
            text: format_number(*v as f64),
            numeric: true,
        },
        Cell::Int(v) => CellView {
            text: v.to_string(),
            numeric: true,
        },
        Cell::Float(v) => CellView {
            text: format_number(*v),
            numeric: true,
        },
        other => CellView {
            text: other.to_string(),
            numeric: false,
        },
    }
}

fn event_row(event: &Event) -> EventRow<'_> {
    EventRow {
        time: format_time_millis(event.at_unix_millis),
        kind: &event.kind,
        message: &event.message,
        fields: join_pairs(&event.fields),
    }
}

/// `a=1, b=2`.
fn join_pairs(pairs: &[(String, String)]) -> String {
    crate::report::join_pairs_with(pairs, ", ")
}

/// A value for people, in its unit: `12.3 MiB`, `87.5 %`, `4.20 ms`, `1,234,567`.
fn format_value(value: f64, unit: Option<Unit>) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    match unit {
        Some(Unit::Bytes) => format_bytes(value),
        Some(Unit::Ratio) => format!("{} %", format_significant(value * 100.0)),
        Some(Unit::Seconds) => format_seconds(value),
        _ => format_number(value),
    }
}

fn format_bytes(value: f64) -> String {
    match units::scale_bytes(value) {
        Some((scaled, unit)) => format!("{} {unit}", format_significant(scaled)),
        None => format!("{value:.0} B"),
    }
}

fn format_seconds(value: f64) -> String {
    let abs = value.abs();
    if abs == 0.0 {
        "0 s".to_owned()
    } else if abs < 1e-3 {
        format!("{} µs", format_significant(value * 1e6))
    } else if abs < 1.0 {
        format!("{} ms", format_significant(value * 1e3))
    } else if abs < 120.0 {
        format!("{} s", format_significant(value))
    } else if abs < 7200.0 {
        format!("{} min", format_significant(value / 60.0))
    } else {
        format!("{} h", format_significant(value / 3600.0))
    }
}

/// Three significant digits, at least: `1.23`, `12.3`, `123`, `1234`.
fn format_significant(value: f64) -> String {
    let abs = value.abs();
    if abs >= 100.0 || abs == 0.0 {
        format!("{value:.0}")
    } else if abs >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// Thousands separators in the whole part, and up to three decimals: `1,234,567`, `0.125`,
/// `12,345.6`.
fn format_number(value: f64) -> String {
    if !value.is_finite() || value.abs() >= 1e15 {
        return if value.is_finite() {
            format!("{value:.3e}")
        } else {
            format!("{value}")
        };
    }
    let text = format!("{:.3}", value.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let fraction = fraction.trim_end_matches('0');
    let mut out = String::with_capacity(text.len() + whole.len() / 3 + 1);
    if value < 0.0 && (whole != "0" || !fraction.is_empty()) {
        out.push('-');
    }
    units::group_digits(whole, &mut out);
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// `2025-06-01 12:00:00 UTC`.
fn format_datetime(unix_millis: u64) -> String {
    format!(
        "{} {} UTC",
        units::utc_date(unix_millis),
        units::utc_clock(unix_millis)
    )
}

/// `12:00:00.250`, the time of day in UTC.
fn format_time_millis(unix_millis: u64) -> String {
    format!(
        "{}.{:03}",
        units::utc_clock(unix_millis),
        unix_millis % 1000
    )
}

/// Escapes text for HTML, for the one string that does not go through a template.
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

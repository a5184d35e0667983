//! What a component tells a report: sections of metrics, tables, time series, events and
//! findings, through [`ReportSource`].
//!
//! The types are plain data with owned strings: a source builds them on a management tick or
//! when a report is asked for, never on a cache's hit path. With the `serde` feature they
//! serialize (the `reporter` crate's JSON is built from them).

use std::fmt;

/// Whether a metric counts up or goes up and down.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum MetricKind {
    /// Only ever increases (hits, evicted bytes); Prometheus names end in `_total`.
    Counter,
    /// A value now (bytes held, a level).
    Gauge,
}

/// The unit of a metric or series; Prometheus names end in it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Unit {
    /// A count of things, or a number without a unit.
    None,
    /// Bytes.
    Bytes,
    /// Seconds.
    Seconds,
    /// A ratio between 0 and 1.
    Ratio,
}

impl Unit {
    /// The Prometheus suffix: `bytes`, `seconds`, `ratio`, or none.
    pub fn suffix(self) -> Option<&'static str> {
        match self {
            Unit::None => None,
            Unit::Bytes => Some("bytes"),
            Unit::Seconds => Some("seconds"),
            Unit::Ratio => Some("ratio"),
        }
    }
}

/// One named value with labels.
///
/// `name` is snake_case without a unit or `_total` suffix, so that the JSON key can follow
/// Redis `INFO memory` (`used_memory`, `evicted_keys`, `keyspace_hits`) where the meaning is
/// the same, and the Prometheus renderer adds the suffixes the conventions ask for
/// (`query_cache_used_memory_bytes`, `query_cache_keyspace_hits_total`).
///
/// # Examples
///
/// ```
/// use cache_traits::{Metric, Unit};
/// let m = Metric::gauge("used_memory", "Bytes the caches are charged for", Unit::Bytes, 4096.0)
///     .label("cache", "results");
/// assert_eq!(m.labels, [("cache".to_string(), "results".to_string())]);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Metric {
    /// snake_case, no unit or `_total` suffix.
    pub name: String,
    /// One line saying what it is.
    pub help: String,
    /// Counter or gauge.
    pub kind: MetricKind,
    /// Its unit.
    pub unit: Unit,
    /// Label names and values (`cache`, `namespace`, …), in order.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

impl Metric {
    /// A gauge.
    pub fn gauge(name: impl Into<String>, help: impl Into<String>, unit: Unit, value: f64) -> Self {
        Self {
            name: name.into(),
            help: help.into(),
            kind: MetricKind::Gauge,
            unit,
            labels: Vec::new(),
            value,
        }
    }

    /// A counter.
    pub fn counter(
        name: impl Into<String>,
        help: impl Into<String>,
        unit: Unit,
        value: f64,
    ) -> Self {
        Self {
            kind: MetricKind::Counter,
            ..Self::gauge(name, help, unit, value)
        }
    }

    /// Adds a label.
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((name.into(), value.into()));
        self
    }
}

/// One cell of a [`Table`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(untagged))]
pub enum Cell {
    /// A whole number.
    Int(i64),
    /// A real number.
    Float(f64),
    /// Text.
    Text(String),
    /// Unknown.
    Empty,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Int(v) => write!(f, "{v}"),
            Cell::Float(v) => write!(f, "{v}"),
            Cell::Text(v) => f.write_str(v),
            Cell::Empty => Ok(()),
        }
    }
}

impl From<u64> for Cell {
    fn from(v: u64) -> Self {
        i64::try_from(v).map_or(Cell::Float(v as f64), Cell::Int)
    }
}

impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}

impl From<f64> for Cell {
    fn from(v: f64) -> Self {
        Cell::Float(v)
    }
}

impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Text(v.to_owned())
    }
}

impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Text(v)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, Into::into)
    }
}

/// A table: named columns and rows of cells.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Table {
    /// snake_case, unique within its section (a CSV file name).
    pub name: String,
    /// A title for people.
    pub title: String,
    /// Column names, snake_case.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(name: impl Into<String>, title: impl Into<String>, columns: &[&str]) -> Self {
        Self {
            name: name.into(),
            title: title.into(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (cut or padded with empty cells to the number of columns).
    pub fn row(mut self, cells: Vec<Cell>) -> Self {
        self.push(cells);
        self
    }

    /// Adds a row in place.
    pub fn push(&mut self, mut cells: Vec<Cell>) {
        cells.resize(self.columns.len(), Cell::Empty);
        self.rows.push(cells);
    }
}

/// Values over time.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TimeSeries {
    /// snake_case, like a metric's name.
    pub name: String,
    /// A title for people.
    pub title: String,
    /// The unit of the values.
    pub unit: Option<Unit>,
    /// Labels, as on a metric.
    pub labels: Vec<(String, String)>,
    /// `(unix milliseconds, value)`, oldest first.
    pub points: Vec<(u64, f64)>,
}

/// Something that happened at a time.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Event {
    /// When, in unix milliseconds.
    pub at_unix_millis: u64,
    /// A stable snake_case kind (`level_change`, `relief`, `resize`).
    pub kind: String,
    /// One line for people.
    pub message: String,
    /// Figures, as name and value.
    pub fields: Vec<(String, String)>,
}

/// How much a finding matters.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Worth acting on.
    Warning,
    /// Act now.
    Critical,
}

impl Severity {
    /// `info`, `warning` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// A conclusion an analysis drew, with its evidence and what to do.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// A stable code (`QC-PRESSURE-HIGH`), for alert rules and documentation.
    pub code: String,
    /// One line.
    pub title: String,
    /// The figures behind it, as name and value.
    pub evidence: Vec<(String, String)>,
    /// What to change.
    pub recommendation: String,
}

impl Finding {
    /// A finding without evidence yet.
    pub fn new(
        severity: Severity,
        code: impl Into<String>,
        title: impl Into<String>,
        recommendation: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            code: code.into(),
            title: title.into(),
            evidence: Vec::new(),
            recommendation: recommendation.into(),
        }
    }

    /// Adds a figure to the evidence.
    pub fn evidence(mut self, name: impl Into<String>, value: impl fmt::Display) -> Self {
        self.evidence.push((name.into(), value.to_string()));
        self
    }
}

/// One component's part of a report.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Section {
    /// Stable, snake_case with dots (`cache.results`, `memory`, `pressure`).
    pub id: String,
    /// A title for people.
    pub title: String,
    /// Values now.
    pub metrics: Vec<Metric>,
    /// Tables.
    pub tables: Vec<Table>,
    /// Values over time.
    pub series: Vec<TimeSeries>,
    /// Things that happened.
    pub events: Vec<Event>,
    /// Conclusions.
    pub findings: Vec<Finding>,
}

impl Section {
    /// An empty section.
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            ..Self::default()
        }
    }
}

/// A component that contributes sections to reports.
///
/// # Implementing
///
/// `sections` is called on a management thread or when a report is asked for, never on a
/// cache's hit path; it may allocate, but should take no lock that a `get` or `insert` waits
/// on for long. Metric names follow [`Metric`]'s rules; section ids are stable across
/// versions, since dashboards and alert rules name them.
///
/// # Examples
///
/// ```
/// use cache_traits::{Metric, ReportSource, Section, Unit};
/// struct Queue(u64);
/// impl ReportSource for Queue {
///     fn sections(&self) -> Vec<Section> {
///         let mut s = Section::new("queue", "Work queue");
///         s.metrics.push(Metric::gauge("queue_length", "Items waiting", Unit::None, self.0 as f64));
///         vec![s]
///     }
/// }
/// assert_eq!(Queue(3).sections()[0].metrics[0].value, 3.0);
/// ```
pub trait ReportSource: Send + Sync {
    /// The sections as of now.
    fn sections(&self) -> Vec<Section>;
}

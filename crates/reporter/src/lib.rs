//! Reports for query-cache: sections from every component, rendered for people and for
//! monitoring systems.
//!
//! Components implement [`ReportSource`](cache_traits::ReportSource) (in `cache-traits`) and
//! return [`Section`](cache_traits::Section)s of metrics, tables, time series, events and
//! findings. A [`Report`] is a list of sections; the renderers turn one into JSON (with a
//! versioned schema), CSV files, a self-contained HTML page, plain text, or the Prometheus
//! text exposition format.

mod csv;
mod history;
mod html;
mod json;
mod prometheus;
mod report;
#[cfg(feature = "server")]
mod server;
#[cfg(test)]
mod testing;
mod text;
mod units;

pub use crate::csv::{EVENTS_CSV, FINDINGS_CSV, METRICS_CSV, to_csv_files};
pub use history::{
    DEFAULT_MAX_SERIES, DEFAULT_SAMPLES, History, HistoryBuilder, HistoryError, SeriesKey, Trend,
};
pub use html::{HtmlOptions, to_html};
pub use json::{JsonError, from_json, to_json, to_json_compact};
pub use prometheus::{METRIC_PREFIX, PROMETHEUS_CONTENT_TYPE, to_prometheus, write_prometheus};
pub use report::{HEADLINE_METRICS, Report, ReportKind, SCHEMA_VERSION, TRENDS_TABLE};
#[cfg(feature = "server")]
pub use server::{
    DEFAULT_ADDRESS, MAX_REQUEST_HEAD, MAX_URL, MAX_WORKERS, MetricsServer, MetricsServerBuilder,
    ReportFn, ServerError,
};
pub use text::{TextOptions, to_text, to_text_with};

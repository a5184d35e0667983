//! Reports for query-cache: sections from every component, rendered for people and for
//! monitoring systems.
//!
//! Components implement [`ReportSource`](cache_traits::ReportSource) (in `cache-traits`) and
//! return [`Section`](cache_traits::Section)s of metrics, tables, time series, events and
//! findings. A [`Report`] is a list of sections; the renderers turn one into JSON (with a
//! versioned schema), CSV files, a self-contained HTML page, plain text, or the Prometheus
//! text exposition format.

mod prometheus;
mod report;

pub use prometheus::{METRIC_PREFIX, PROMETHEUS_CONTENT_TYPE, to_prometheus, write_prometheus};
pub use report::{Report, ReportKind, SCHEMA_VERSION};

//! The Prometheus text exposition format (version 0.0.4) of a report, encoded by the official
//! `prometheus-client` crate.
//!
//! Every [`Metric`] of every section becomes one sample. Its exposed name is
//! `query_cache_<name>[_<unit>][_total]`: the prefix is [`METRIC_PREFIX`], the unit suffix comes from
//! [`Metric::unit`] (`bytes`, `seconds`, `ratio`) and counters end in `_total`. Metrics of the
//! same exposed name from different sections form one family (one `# HELP` and `# TYPE`, the
//! first metric's help), each with its own label set.
//!
//! What the sources send is not trusted to be valid:
//!
//! - names and label names are sanitized to `[a-zA-Z_][a-zA-Z0-9_]*` (other characters become
//!   `_`, a leading digit gets a `_` before it, a leading `__`, reserved by Prometheus, becomes
//!   `_`);
//! - a name that already ends in its unit or in `_total` does not get the suffix twice;
//! - label values and help text are escaped by the encoder (`\`, `"` and newlines);
//! - a label whose name repeats an earlier one in the same metric is dropped, and so is one with
//!   an empty value (Prometheus treats an empty value as no label);
//! - a sample whose exposed name and label set repeat an earlier one is dropped (the first
//!   wins), and so is one whose exposed name an earlier metric of another type took;
//! - values are written as they are, `NaN` and `±Inf` included, which the format allows.
//!
//! `prometheus-client` has no runtime-built families with arbitrary label names and a stable
//! order (its `Family` is a hash map), so the families are written by a [`Collector`] with
//! `ConstGauge` and `ConstCounter` values: the names, `# HELP`/`# TYPE` lines, label escaping
//! and number formatting are the crate's, the grouping and order are ours (first appearance).

use std::collections::{HashMap, HashSet};
use std::fmt;

use cache_traits::{Metric, MetricKind, Severity};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

use crate::Report;

/// The prefix of every exposed name, before its `_`.
pub const METRIC_PREFIX: &str = "query_cache";

/// The `Content-Type` of [`to_prometheus`]'s output:
/// `text/plain; version=0.0.4; charset=utf-8`.
pub const PROMETHEUS_CONTENT_TYPE: &str =
    prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Renders the metrics of every section of `report` in the Prometheus text exposition format.
///
/// Sections without metrics contribute nothing; a report without metrics renders as an empty
/// string, which is a valid exposition.
///
/// # Examples
///
/// ```
/// use cache_traits::{Metric, Section, Unit};
/// use reporter::{Report, ReportKind, to_prometheus};
///
/// let mut section = Section::new("cache.results", "Results cache");
/// section.metrics.push(
///     Metric::counter("keyspace_hits", "Lookups that found their key", Unit::None, 42.0)
///         .label("cache", "results"),
/// );
/// let mut report = Report::new(ReportKind::Summary, "demo", 0);
/// report.sections.push(section);
///
/// let text = to_prometheus(&report);
/// assert!(text.contains("# TYPE query_cache_keyspace_hits_total counter\n"));
/// assert!(text.contains("query_cache_keyspace_hits_total{cache=\"results\"} 42"));
/// ```
pub fn to_prometheus(report: &Report) -> String {
    let mut out = String::new();
    match write_prometheus(report, &mut out) {
        Ok(()) => out,
        // Writing to a `String` cannot fail, and the encoder fails only on its writer's errors;
        // should that change, an empty exposition is valid where a cut one is not.
        Err(fmt::Error) => String::new(),
    }
}

/// Writes what [`to_prometheus`] returns into `out`.
///
/// # Errors
///
/// Fails only when `out` does.
pub fn write_prometheus(report: &Report, out: &mut impl fmt::Write) -> fmt::Result {
    let families = Families::of(report);
    if families.families.is_empty() {
        return Ok(());
    }
    let mut registry = Registry::with_prefix(METRIC_PREFIX);
    registry.register_collector(Box::new(families));
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)?;
    out.write_str(&text)
}

/// Metrics grouped by exposed name, in the order of first appearance.
#[derive(Debug, Default)]
struct Families {
    families: Vec<Family>,
    /// The index in `families` of each name as exposed (`query_cache_<name>[_<unit>][_total]`),
    /// for grouping.
    by_exposed: HashMap<String, usize>,
}

/// One exposed name: its description and its samples.
#[derive(Debug)]
struct Family {
    /// The sanitized name, without prefix, unit or `_total`.
    name: String,
    help: String,
    kind: MetricKind,
    unit: Option<Unit>,
    samples: Vec<Sample>,
    /// The label sets of `samples`, each sorted by name to recognise the same set in another
    /// order.
    label_sets: HashSet<Vec<(String, String)>>,
}

#[derive(Debug)]
struct Sample {
    labels: Vec<(String, String)>,
    value: f64,
}

impl Families {
    fn of(report: &Report) -> Self {
        let mut families = Families::default();
        for section in &report.sections {
            for metric in &section.metrics {
                families.add(metric);
            }
        }
        // Findings are metrics too, so alerting rules can fire on them: the open findings of
        // the report by severity and code (`query_cache_findings`), unless a source already
        // exports that name.
        let mut counts: Vec<((Severity, &str), u32)> = Vec::new();
        let mut count_of: HashMap<(Severity, &str), usize> = HashMap::new();
        for finding in report.sections.iter().flat_map(|s| &s.findings) {
            let key = (finding.severity, finding.code.as_str());
            match count_of.get(&key) {
                Some(&i) => counts[i].1 += 1,
                None => {
                    count_of.insert(key, counts.len());
                    counts.push((key, 1));
                }
            }
        }
        for ((severity, code), n) in counts {
            families.add(
                &Metric::gauge(
                    "findings",
                    "Open findings of the report, by severity and code",
                    cache_traits::Unit::None,
                    f64::from(n),
                )
                .label("severity", severity.as_str())
                .label("code", code),
            );
        }
        families
    }

    fn add(&mut self, metric: &Metric) {
        let unit = metric.unit.suffix();
        let name = base_name(&metric.name, unit, metric.kind);
        let exposed = exposed_name(&name, unit, metric.kind);
        let labels = sanitize_labels(&metric.labels);
        let mut key = labels.clone();
        key.sort();
        let sample = Sample {
            labels,
            value: metric.value,
        };
        match self.by_exposed.get(&exposed) {
            Some(&i) => {
                let family = &mut self.families[i];
                // The first sample of a label set wins; another type's sample is dropped.
                if family.kind == metric.kind && family.label_sets.insert(key) {
                    family.samples.push(sample);
                }
            }
            None => {
                self.by_exposed.insert(exposed, self.families.len());
                self.families.push(Family {
                    name,
                    help: metric.help.clone(),
                    kind: metric.kind,
                    unit: unit.map(|u| Unit::Other(u.to_owned())),
                    samples: vec![sample],
                    label_sets: HashSet::from([key]),
                });
            }
        }
    }
}

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        for family in &self.families {
            let metric_type = match family.kind {
                MetricKind::Counter => MetricType::Counter,
                _ => MetricType::Gauge,
            };
            let mut metric_encoder = encoder.encode_descriptor(
                &family.name,
                &family.help,
                family.unit.as_ref(),
                metric_type,
            )?;
            for sample in &family.samples {
                let sample_encoder = metric_encoder.encode_family(&sample.labels)?;
                match metric_type {
                    MetricType::Counter => {
                        ConstCounter::new(sample.value).encode(sample_encoder)?
                    }
                    _ => ConstGauge::new(sample.value).encode(sample_encoder)?,
                }
            }
        }
        Ok(())
    }
}

/// `name` sanitized, without a `_<unit>` or `_total` suffix the encoder adds anyway.
fn base_name(name: &str, unit: Option<&str>, kind: MetricKind) -> String {
    let mut name = sanitize_name(name);
    if kind == MetricKind::Counter {
        strip_suffix_in_place(&mut name, "total");
    }
    if let Some(unit) = unit {
        strip_suffix_in_place(&mut name, unit);
    }
    name
}

/// Removes `_<suffix>` from the end of `name` unless nothing would be left.
fn strip_suffix_in_place(name: &mut String, suffix: &str) {
    let cut = name.len().saturating_sub(suffix.len() + 1);
    if cut > 0 && name.ends_with(suffix) && name[..name.len() - suffix.len()].ends_with('_') {
        name.truncate(cut);
    }
}

/// The name the encoder writes for a family.
fn exposed_name(name: &str, unit: Option<&str>, kind: MetricKind) -> String {
    let mut exposed = format!("{METRIC_PREFIX}_{name}");
    if let Some(unit) = unit {
        exposed.push('_');
        exposed.push_str(unit);
    }
    if kind == MetricKind::Counter {
        exposed.push_str("_total");
    }
    exposed
}

/// `name` as a valid metric or label name: `[a-zA-Z_][a-zA-Z0-9_]*`, without a leading `__`.
pub(crate) fn sanitize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    for (i, c) in name.chars().enumerate() {
        if i == 0 && c.is_ascii_digit() {
            out.push('_');
        }
        out.push(if c.is_ascii_alphanumeric() { c } else { '_' });
    }
    if out.is_empty() {
        out.push_str("unnamed");
    }
    // Names starting with `__` are reserved for Prometheus's own use.
    while out.starts_with("__") {
        out.remove(0);
    }
    out
}

/// Labels with sanitized names, without empty values or repeated names (the first wins).
fn sanitize_labels(labels: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(labels.len());
    for (name, value) in labels {
        let name = sanitize_name(name);
        if value.is_empty() || out.iter().any(|(n, _)| *n == name) {
            continue;
        }
        out.push((name, value.clone()));
    }
    out
}

#[cfg(test)]
mod tests;

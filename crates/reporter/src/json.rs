//! The JSON form of a report, as `docs/report.schema.json` describes it.
//!
//! The JSON is the serde form of [`Report`] and the section types of `cache-traits`: field
//! names are those of the Rust types, metric names are the sources' (Redis `INFO memory`
//! names where the meaning is the same). JSON has no NaN: a value that is not finite is
//! written as `null`, and [`from_json`] reads a `null` metric value or series point back as
//! NaN (a `null` table cell is [`Cell::Empty`](cache_traits::Cell::Empty)).

use std::fmt;

use serde_json::Value;

use crate::report::{Report, SCHEMA_VERSION};

/// `report` as indented JSON, for files people may open.
///
/// # Examples
///
/// ```
/// use reporter::{Report, ReportKind, from_json, to_json};
/// let report = Report::new(ReportKind::Detailed, "Query cache", 0);
/// let json = to_json(&report);
/// assert!(json.contains("\"schema_version\": 1"));
/// assert_eq!(from_json(&json)?, report);
/// # Ok::<(), reporter::JsonError>(())
/// ```
pub fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect(INFALLIBLE)
}

/// `report` as JSON on one line, for the endpoint and for machines.
pub fn to_json_compact(report: &Report) -> String {
    serde_json::to_string(report).expect(INFALLIBLE)
}

/// Why serializing a report cannot fail: serde_json fails only on maps with keys that are not
/// strings and on a `Serialize` that fails, and a report has neither.
const INFALLIBLE: &str = "a report has no map keys and no fallible Serialize";

/// Why [`from_json`] could not read a report.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonError {
    /// The text is not JSON; the message says where.
    Syntax(String),
    /// The JSON is not a report; the message says what did not fit.
    Shape(String),
    /// The report has a schema version this build does not read.
    UnsupportedVersion(u64),
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Syntax(e) => {
                write!(
                    f,
                    "the text is not JSON ({e}); pass the contents of a report.json file"
                )
            }
            JsonError::Shape(e) => write!(
                f,
                "the JSON is not a report ({e}); pass a report written by reporter's to_json"
            ),
            JsonError::UnsupportedVersion(v) => write!(
                f,
                "the report has schema version {v} and this reader knows version \
                 {SCHEMA_VERSION}; read it with the reporter release that wrote it"
            ),
        }
    }
}

impl std::error::Error for JsonError {}

/// Reads a report that [`to_json`] or [`to_json_compact`] wrote.
///
/// Fields this version does not know are ignored, so a report of the same schema version
/// with fields added later still reads.
///
/// # Errors
///
/// [`JsonError::Syntax`] for text that is not JSON, [`JsonError::Shape`] for JSON that is not
/// a report, [`JsonError::UnsupportedVersion`] for a report of another schema version.
pub fn from_json(json: &str) -> Result<Report, JsonError> {
    let mut value: Value =
        serde_json::from_str(json).map_err(|e| JsonError::Syntax(e.to_string()))?;
    if let Some(version) = value.get("schema_version").and_then(Value::as_u64) {
        if version != u64::from(SCHEMA_VERSION) {
            return Err(JsonError::UnsupportedVersion(version));
        }
    }
    let nulls = take_nulls(&mut value);
    let mut report: Report =
        serde_json::from_value(value).map_err(|e| JsonError::Shape(e.to_string()))?;
    for null in nulls {
        let Some(section) = report.sections.get_mut(null.section) else {
            continue;
        };
        let value = match null.at {
            NullAt::Metric(i) => section.metrics.get_mut(i).map(|m| &mut m.value),
            NullAt::Point(i, j) => section
                .series
                .get_mut(i)
                .and_then(|s| s.points.get_mut(j))
                .map(|p| &mut p.1),
        };
        if let Some(value) = value {
            *value = f64::NAN;
        }
    }
    Ok(report)
}

/// Where a `null` stood for a number that was not finite.
struct Null {
    section: usize,
    at: NullAt,
}

enum NullAt {
    /// A metric's value.
    Metric(usize),
    /// A series' point: series, point.
    Point(usize, usize),
}

/// Replaces every `null` metric value and series point value in `report` with 0 so that it
/// deserializes, and says where they were.
fn take_nulls(report: &mut Value) -> Vec<Null> {
    let mut nulls = Vec::new();
    let Some(sections) = report.get_mut("sections").and_then(Value::as_array_mut) else {
        return nulls;
    };
    for (section_idx, section) in sections.iter_mut().enumerate() {
        let metrics = section.get_mut("metrics").and_then(Value::as_array_mut);
        for (i, metric) in metrics.into_iter().flatten().enumerate() {
            if let Some(v) = metric.get_mut("value").filter(|v| v.is_null()) {
                *v = Value::from(0);
                nulls.push(Null {
                    section: section_idx,
                    at: NullAt::Metric(i),
                });
            }
        }
        let series = section.get_mut("series").and_then(Value::as_array_mut);
        for (i, series) in series.into_iter().flatten().enumerate() {
            let points = series.get_mut("points").and_then(Value::as_array_mut);
            for (j, point) in points.into_iter().flatten().enumerate() {
                if let Some(v) = point.get_mut(1).filter(|v| v.is_null()) {
                    *v = Value::from(0);
                    nulls.push(Null {
                        section: section_idx,
                        at: NullAt::Point(i, j),
                    });
                }
            }
        }
    }
    nulls
}

#[cfg(test)]
mod tests;

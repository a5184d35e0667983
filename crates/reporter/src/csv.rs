//! A report as CSV files: the metrics, events and findings of every section in one file each,
//! and one file per table and per time series.
//!
//! The files are meant to be opened in spreadsheets, which run a cell that starts with `=`,
//! `+`, `-` or `@` as a formula (and some a cell that starts with a tab or a carriage return):
//! a section id, name, label, message or table cell from a source could then call out to the
//! network or run commands (CSV injection). Such text gets a single quote `'` before it, as
//! OWASP recommends: `=1+1` is written `'=1+1`. Only text is guarded: numbers (a metric's value,
//! a time, an `Int` or `Float` cell, a series point) stay numbers, negative ones included.

use std::collections::HashSet;

use cache_traits::{Cell, Section, TimeSeries};

use crate::report::{Report, join_pairs, kind_name, unit_name};

/// The file of every section's metrics.
pub const METRICS_CSV: &str = "metrics.csv";
/// The file of every section's events.
pub const EVENTS_CSV: &str = "events.csv";
/// The file of every section's findings.
pub const FINDINGS_CSV: &str = "findings.csv";

/// Longest file name stem, in bytes (file systems allow 255 with the extension).
const MAX_STEM: usize = 120;

/// `report` as CSV files: `(file name, contents)`, each with a header line.
///
/// - [`METRICS_CSV`]: `section,name,kind,unit,labels,value`, a row per metric;
/// - [`EVENTS_CSV`]: `section,at_unix_millis,kind,message,fields`, a row per event;
/// - [`FINDINGS_CSV`]: `section,severity,code,title,evidence,recommendation`, a row per
///   finding;
/// - `<section>.<table>.csv` for each table, its columns as the header (a table without
///   columns has no file; rows are cut or padded to the columns);
/// - `<section>.<series>[.<label values>].csv` for each time series:
///   `at_unix_millis,value`.
///
/// Labels, fields and evidence are written `name=value,name=value`; a value that is not
/// finite is an empty field. Text starting with `=`, `+`, `-`, `@`, a tab or a carriage return
/// gets a `'` before it, so that a spreadsheet shows it rather than running it (numbers do
/// not: `-1.5` stays a number). File names hold only `[a-z0-9._-]`, never `..`, and do not start
/// with `.` or `-`, whatever the section ids say, so they are safe to join to a directory;
/// they are unique (`-2`, `-3`… where two would be the same).
///
/// # Examples
///
/// ```
/// use cache_traits::{Section, Table};
/// use reporter::{Report, ReportKind, to_csv_files};
///
/// let mut section = Section::new("cache.results", "Results");
/// section.tables.push(Table::new("entries", "Entries", &["key", "bytes"]).row(vec!["a".into(), 3u64.into()]));
/// let mut report = Report::new(ReportKind::Detailed, "Query cache", 0);
/// report.sections.push(section);
///
/// let files = to_csv_files(&report);
/// let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
/// assert_eq!(names, ["metrics.csv", "events.csv", "findings.csv", "cache.results.entries.csv"]);
/// assert_eq!(files[3].1, "key,bytes\na,3\n");
/// ```
pub fn to_csv_files(report: &Report) -> Vec<(String, String)> {
    let mut names = FileNames::default();
    let mut files = vec![
        (names.claim(METRICS_CSV), metrics(report)),
        (names.claim(EVENTS_CSV), events(report)),
        (names.claim(FINDINGS_CSV), findings(report)),
    ];
    for section in &report.sections {
        for table in &section.tables {
            if table.columns.is_empty() {
                continue;
            }
            let width = table.columns.len();
            let rows = table.rows.iter().map(|row| {
                let mut fields: Vec<String> = row.iter().take(width).map(cell).collect();
                fields.resize(width, String::new());
                fields
            });
            let header: Vec<String> = table.columns.iter().map(|c| guard(c)).collect();
            let name = names.claim(&file_name(&[&section.id, &table.name]));
            files.push((name, csv_text(&header, rows)));
        }
        for series in &section.series {
            let name = names.claim(&series_file_name(section, series));
            files.push((name, series_csv(&series.points)));
        }
    }
    files
}

fn metrics(report: &Report) -> String {
    let rows = sections(report).flat_map(|s| {
        s.metrics.iter().map(|m| {
            vec![
                guard(&s.id),
                guard(&m.name),
                kind_name(m.kind).to_owned(),
                unit_name(m.unit).to_owned(),
                guard(&join_pairs(&m.labels)),
                number(m.value),
            ]
        })
    });
    csv_text(
        &["section", "name", "kind", "unit", "labels", "value"],
        rows,
    )
}

fn events(report: &Report) -> String {
    let rows = sections(report).flat_map(|s| {
        s.events.iter().map(|e| {
            vec![
                guard(&s.id),
                e.at_unix_millis.to_string(),
                guard(&e.kind),
                guard(&e.message),
                guard(&join_pairs(&e.fields)),
            ]
        })
    });
    csv_text(
        &["section", "at_unix_millis", "kind", "message", "fields"],
        rows,
    )
}

fn findings(report: &Report) -> String {
    let rows = sections(report).flat_map(|s| {
        s.findings.iter().map(|f| {
            vec![
                guard(&s.id),
                f.severity.as_str().to_owned(),
                guard(&f.code),
                guard(&f.title),
                guard(&join_pairs(&f.evidence)),
                guard(&f.recommendation),
            ]
        })
    });
    let header = [
        "section",
        "severity",
        "code",
        "title",
        "evidence",
        "recommendation",
    ];
    csv_text(&header, rows)
}

fn sections(report: &Report) -> impl Iterator<Item = &Section> {
    report.sections.iter()
}

/// A CSV file of `header` and `rows` (each as long as the header).
fn csv_text<H: AsRef<[u8]>>(header: &[H], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let written: Result<Vec<u8>, Box<dyn std::error::Error>> = (|| {
        writer.write_record(header)?;
        for row in rows {
            writer.write_record(&row)?;
        }
        Ok(writer.into_inner()?)
    })();
    // Writing to memory does not fail, every row is as long as the header and every field is
    // a `String`: the bytes are UTF-8.
    let bytes = written.expect("a CSV file written to memory");
    String::from_utf8(bytes).expect("CSV of strings is UTF-8")
}

/// A series as CSV, written directly: its fields are numbers, which never need quoting, and
/// an hour of points through the generic writer cost two allocations each.
fn series_csv(points: &[(u64, f64)]) -> String {
    let mut out = String::with_capacity(24 + points.len() * 24);
    out.push_str("at_unix_millis,value\n");
    let (mut int, mut float) = (itoa::Buffer::new(), ryu::Buffer::new());
    for &(t, v) in points {
        out.push_str(int.format(t));
        out.push(',');
        if v.is_finite() {
            // A whole number reads as one ("42", not "42.0").
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                out.push_str(int.format(v as i64));
            } else {
                out.push_str(float.format_finite(v));
            }
        }
        out.push('\n');
    }
    out
}

fn cell(cell: &Cell) -> String {
    match cell {
        Cell::Float(v) => number(*v),
        Cell::Text(text) => guard(text),
        other => other.to_string(),
    }
}

/// `text` with a `'` before it when a spreadsheet would run it as a formula: when it starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's list). For text only; numbers
/// are written without it.
fn guard(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// A finite number as Rust writes it (no exponent); empty otherwise.
fn number(v: f64) -> String {
    if v.is_finite() {
        v.to_string()
    } else {
        String::new()
    }
}

/// The file name of `series` in `section`: its name and the values of its labels.
fn series_file_name(section: &Section, series: &TimeSeries) -> String {
    let mut parts = vec![section.id.as_str(), series.name.as_str()];
    parts.extend(series.labels.iter().map(|(_, v)| v.as_str()));
    file_name(&parts)
}

/// `parts` joined by dots as a safe file name ending in `.csv`: lower case, characters other
/// than `[a-z0-9._-]` as `_`, no `..`, no leading `.` or `-`, at most [`MAX_STEM`] bytes before
/// the extension.
pub(crate) fn file_name(parts: &[&str]) -> String {
    let mut stem = String::new();
    for part in parts {
        if !stem.is_empty() && !stem.ends_with('.') {
            stem.push('.');
        }
        for c in part.chars().flat_map(char::to_lowercase) {
            let c = match c {
                'a'..='z' | '0'..='9' | '.' | '_' | '-' => c,
                _ => '_',
            };
            if c == '.' && (stem.is_empty() || stem.ends_with('.')) {
                continue;
            }
            stem.push(c);
        }
    }
    let stem = stem.trim_start_matches(['.', '-']).trim_end_matches('.');
    let mut stem: String = stem.chars().take(MAX_STEM).collect();
    while stem.ends_with('.') {
        stem.pop();
    }
    if stem.is_empty() {
        stem.push_str("unnamed");
    }
    stem.push_str(".csv");
    stem
}

/// The file names given so far.
#[derive(Default)]
struct FileNames(HashSet<String>);

impl FileNames {
    /// `name`, or `name` with `-2`, `-3`… before its extension if it is taken.
    fn claim(&mut self, name: &str) -> String {
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        let mut candidate = name.to_owned();
        let mut n = 2;
        while !self.0.insert(candidate.clone()) {
            candidate = format!("{stem}-{n}.{ext}");
            n += 1;
        }
        candidate
    }
}

#[cfg(test)]
mod tests;

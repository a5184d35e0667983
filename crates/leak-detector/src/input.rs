//! Reading a recorded timeline from CSV.

#[cfg(test)]
mod tests;

use std::fmt;
use std::io::Read;

use crate::observation::{CacheFigures, Observation};

/// The most data rows [`read_csv`] accepts: ten days at one a second.
pub const MAX_CSV_ROWS: usize = 864_000;

/// The name of the one cache the optional `cache_*` columns describe.
pub const CSV_CACHE_NAME: &str = "caches";

/// Why a CSV timeline could not be read.
#[non_exhaustive]
#[derive(Debug)]
pub enum CsvError {
    /// The header has no `t_seconds` column (or there is no header).
    MissingTime,
    /// A cell is not a number the column takes.
    BadNumber {
        /// The line in the file, from 1 (the header is line 1).
        line: u64,
        /// The column's name.
        column: &'static str,
        /// The cell, cut to 40 characters.
        value: String,
    },
    /// A row has no `t_seconds` cell.
    MissingCell {
        /// The line in the file, from 1.
        line: u64,
        /// The column's name.
        column: &'static str,
    },
    /// More than [`MAX_CSV_ROWS`] rows.
    TooManyRows {
        /// The limit.
        limit: usize,
    },
    /// The file could not be read or is not CSV (bad UTF-8, I/O error).
    Read {
        /// The line where it failed, when known.
        line: Option<u64>,
        /// The reader's message.
        message: String,
    },
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvError::MissingTime => write!(
                f,
                "the header has no t_seconds column; the first line must name the columns, \
                 t_seconds among them"
            ),
            CsvError::BadNumber {
                line,
                column,
                value,
            } => write!(
                f,
                "line {line}: {column} is `{value}`; write a non-negative {} or leave the cell empty",
                if *column == "t_seconds" {
                    "finite number"
                } else {
                    "whole number of bytes"
                }
            ),
            CsvError::MissingCell { line, column } => {
                write!(
                    f,
                    "line {line}: no {column} cell; give every row a {column}"
                )
            }
            CsvError::TooManyRows { limit } => {
                write!(
                    f,
                    "more than {limit} rows; split the timeline or thin it out"
                )
            }
            CsvError::Read {
                line: Some(line),
                message,
            } => write!(
                f,
                "line {line}: {message}; check that the file is CSV in UTF-8"
            ),
            CsvError::Read {
                line: None,
                message,
            } => write!(f, "{message}; check that the file is CSV in UTF-8"),
        }
    }
}

impl std::error::Error for CsvError {}

#[derive(Clone, Copy)]
enum Column {
    Time,
    Heap,
    Resident,
    Cache,
    Evicted,
    Limit,
    CacheBudget,
    CacheReal,
    CacheUnread,
}

const COLUMNS: [(&str, Column); 9] = [
    ("t_seconds", Column::Time),
    ("heap_bytes", Column::Heap),
    ("resident_bytes", Column::Resident),
    ("cache_bytes", Column::Cache),
    ("evicted_bytes_total", Column::Evicted),
    ("limit_bytes", Column::Limit),
    ("cache_budget_bytes", Column::CacheBudget),
    ("cache_real_bytes", Column::CacheReal),
    ("cache_unread_bytes", Column::CacheUnread),
];

/// Reads a timeline: a header line, then one observation a line.
///
/// Columns, in any order (others are ignored, an empty cell is unknown): `t_seconds`
/// (required), `heap_bytes`, `resident_bytes`, `cache_bytes`, `evicted_bytes_total`,
/// `limit_bytes`, and `cache_budget_bytes`, `cache_real_bytes`, `cache_unread_bytes`, which
/// describe one cache named [`CSV_CACHE_NAME`] charged `cache_bytes`.
///
/// # Examples
///
/// ```
/// let csv = "t_seconds,heap_bytes,cache_bytes\n0,1000,600\n1,1010,\n";
/// let obs = leak_detector::read_csv(csv.as_bytes()).expect("valid CSV");
/// assert_eq!(obs[1].heap_bytes, Some(1010));
/// assert_eq!(obs[1].cache_bytes, None);
/// ```
///
/// # Errors
///
/// A [`CsvError`] with the line: no `t_seconds` column, a cell that is not a number, more than
/// [`MAX_CSV_ROWS`] rows, a line longer than 64 KiB, or a file that is not CSV.
pub fn read_csv(reader: impl Read) -> Result<Vec<Observation>, CsvError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(LineLimited {
            inner: reader,
            since_newline: 0,
        });
    let header = rdr.headers().map_err(read_error)?.clone();
    let mut index: Vec<(usize, Column, &'static str)> = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim_start_matches('\u{feff}');
        if let Some(&(n, col)) = COLUMNS.iter().find(|(n, _)| *n == name) {
            if !index.iter().any(|(_, _, m)| *m == n) {
                index.push((i, col, n));
            }
        }
    }
    if !index.iter().any(|(_, c, _)| matches!(c, Column::Time)) {
        return Err(CsvError::MissingTime);
    }
    let has_cache_detail = index.iter().any(|(_, c, _)| {
        matches!(
            c,
            Column::CacheBudget | Column::CacheReal | Column::CacheUnread
        )
    });
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(read_error(e)),
        }
        if out.len() >= MAX_CSV_ROWS {
            return Err(CsvError::TooManyRows {
                limit: MAX_CSV_ROWS,
            });
        }
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let mut obs = Observation::default();
        let mut has_time = false;
        let mut detail = CacheFigures::new(CSV_CACHE_NAME, 0);
        for &(i, col, name) in &index {
            let cell = record.get(i).unwrap_or("");
            if cell.is_empty() {
                continue;
            }
            if let Column::Time = col {
                obs.t_seconds = parse_time(cell).ok_or_else(|| bad(line, name, cell))?;
                has_time = true;
                continue;
            }
            let v = parse_bytes(cell).ok_or_else(|| bad(line, name, cell))?;
            match col {
                Column::Time => {}
                Column::Heap => obs.heap_bytes = Some(v),
                Column::Resident => obs.resident_bytes = Some(v),
                Column::Cache => {
                    obs.cache_bytes = Some(v);
                    detail.charged_bytes = v;
                }
                Column::Evicted => obs.evicted_bytes_total = Some(v),
                Column::Limit => obs.limit_bytes = Some(v),
                Column::CacheBudget => detail.budget_bytes = Some(v),
                Column::CacheReal => detail.real_bytes = Some(v),
                Column::CacheUnread => detail.unread_bytes = Some(v),
            }
        }
        if !has_time {
            return Err(CsvError::MissingCell {
                line,
                column: "t_seconds",
            });
        }
        if has_cache_detail {
            obs.caches.push(detail);
        }
        out.push(obs);
    }
    Ok(out)
}

/// The longest line read: a timeline's lines are short, and the reader buffers a whole record,
/// so a file without newlines must not make it allocate without bound.
const MAX_LINE_BYTES: usize = 64 << 10;

/// A reader that fails once a line runs past [`MAX_LINE_BYTES`].
struct LineLimited<R> {
    inner: R,
    since_newline: usize,
}

impl<R: Read> Read for LineLimited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in buf.get(..n).unwrap_or_default() {
            if b == b'\n' {
                self.since_newline = 0;
            } else {
                self.since_newline += 1;
                if self.since_newline > MAX_LINE_BYTES {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "a line is longer than {MAX_LINE_BYTES} bytes: this is not a timeline"
                        ),
                    ));
                }
            }
        }
        Ok(n)
    }
}

fn read_error(e: csv::Error) -> CsvError {
    CsvError::Read {
        line: e.position().map(csv::Position::line),
        message: e.to_string(),
    }
}

fn bad(line: u64, column: &'static str, cell: &str) -> CsvError {
    CsvError::BadNumber {
        line,
        column,
        value: cell.chars().take(40).collect(),
    }
}

fn parse_time(cell: &str) -> Option<f64> {
    cell.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A whole number of bytes, or a finite non-negative real (`1.5e9`) that fits in a `u64`.
fn parse_bytes(cell: &str) -> Option<u64> {
    if let Ok(v) = cell.parse::<u64>() {
        return Some(v);
    }
    let v = cell.parse::<f64>().ok()?;
    (0.0..18_446_744_073_709_551_616.0)
        .contains(&v)
        .then(|| v.round() as u64)
}

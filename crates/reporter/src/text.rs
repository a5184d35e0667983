//! A report as plain text for terminals: findings by severity first, then each section's
//! metrics, tables, series (as trend figures and a sparkline) and latest events, every line
//! within a width (100 columns unless told).
//!
//! Widths are terminal columns, as `unicode-width` measures them (Unicode's East Asian Width):
//! a CJK character or an emoji takes two, a combining mark none. Text is cut, padded and
//! wrapped by columns, and never between the halves of a wide character.

use std::fmt::Write as _;
use std::time::Duration;

use cache_traits::{Cell, Event, Finding, MetricKind, Section, Severity, Table, TimeSeries, Unit};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::history::Trend;
use crate::report::{Report, join_pairs};
use crate::units::{self, utc_date};

/// How [`to_text_with`] lays a report out.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct TextOptions {
    /// Columns a line may take in a terminal, a wide character (CJK, emoji) counting two (at
    /// least 40; 100 unless set).
    pub width: usize,
    /// Rows of a table shown; the rest are counted (20 unless set).
    pub max_rows: usize,
    /// Latest events of a section shown; the rest are counted (10 unless set).
    pub max_events: usize,
}

impl Default for TextOptions {
    fn default() -> Self {
        Self {
            width: 100,
            max_rows: 20,
            max_events: 10,
        }
    }
}

/// Narrowest width [`to_text_with`] lays out for.
const MIN_WIDTH: usize = 40;
/// Characters of a sparkline.
const SPARK_WIDTH: usize = 30;
/// Narrowest a column of text is cut to (not below its header).
const MIN_COLUMN: usize = 12;

/// `report` as text for a terminal of 100 columns; see [`to_text_with`].
///
/// # Examples
///
/// ```
/// use cache_traits::{Metric, Section, Unit};
/// use reporter::{Report, ReportKind, to_text};
///
/// let mut memory = Section::new("memory", "Memory");
/// memory.metrics.push(Metric::gauge("used_memory", "Bytes held", Unit::Bytes, 3.0 * 1048576.0));
/// let mut report = Report::new(ReportKind::Detailed, "Query cache", 0);
/// report.sections.push(memory);
/// let text = to_text(&report);
/// assert!(text.contains("used_memory"));
/// assert!(text.contains("3.0 MiB"));
/// ```
pub fn to_text(report: &Report) -> String {
    to_text_with(report, &TextOptions::default())
}

/// `report` as text, laid out by `options`.
///
/// The findings of every section come first, most severe first; then each section with its
/// metrics (bytes in KiB, MiB, GiB; ratios in percent), its tables with aligned columns (cells
/// cut with `…` to fit, in groups of columns repeating the first when they cannot all fit), its series as a
/// sparkline and trend figures, and its latest events. Control characters in the report's
/// text print as spaces; no line is wider than `options.width` terminal columns (a CJK
/// character or an emoji takes two).
pub fn to_text_with(report: &Report, options: &TextOptions) -> String {
    let width = options.width.max(MIN_WIDTH);
    let mut out = Out {
        lines: Vec::new(),
        width,
    };
    out.push(clean(&report.title));
    out.push(format!(
        "{} report · generated {} UTC · schema {} · {} sections",
        report.kind.as_str(),
        utc(report.generated_unix_millis),
        report.schema_version,
        report.sections.len()
    ));
    findings(&mut out, report);
    for section in &report.sections {
        out.blank();
        let heading = format!("── {} ({}) ", clean(&section.title), clean(&section.id));
        let fill = width.saturating_sub(width_of(&heading));
        out.push(format!("{heading}{}", "─".repeat(fill)));
        metrics(&mut out, section);
        for table in &section.tables {
            self::table(&mut out, table, options.max_rows);
        }
        series(&mut out, section);
        events(
            &mut out,
            section,
            report.generated_unix_millis,
            options.max_events,
        );
    }
    let mut text = String::new();
    for line in &out.lines {
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// Lines being written, each cut to `width` columns.
struct Out {
    lines: Vec<String>,
    width: usize,
}

impl Out {
    fn push(&mut self, line: String) {
        self.lines.push(truncate(&line, self.width));
    }

    fn blank(&mut self) {
        self.lines.push(String::new());
    }

    /// `text` as words wrapped to the width, the first line after `first`, the others after
    /// `rest` (as wide as `first`).
    fn wrap(&mut self, first: &str, rest: &str, text: &str) {
        let lines = wrap(text, self.width.saturating_sub(width_of(first)).max(10));
        for (i, line) in lines.into_iter().enumerate() {
            let prefix = if i == 0 { first } else { rest };
            self.push(format!("{prefix}{line}"));
        }
    }
}

fn findings(out: &mut Out, report: &Report) {
    let mut all: Vec<(&Section, &Finding)> = report
        .sections
        .iter()
        .flat_map(|s| s.findings.iter().map(move |f| (s, f)))
        .collect();
    if all.is_empty() {
        return;
    }
    all.sort_by_key(|(_, f)| std::cmp::Reverse(f.severity));
    let count = |severity: Severity| all.iter().filter(|(_, f)| f.severity == severity).count();
    out.blank();
    out.push(format!(
        "Findings: {} critical, {} warning, {} info",
        count(Severity::Critical),
        count(Severity::Warning),
        count(Severity::Info)
    ));
    let indent = " ".repeat(12);
    for (section, f) in all {
        let severity = format!("  {:<10}", f.severity.as_str().to_uppercase());
        let headline = format!(
            "{}: {} [{}]",
            clean(&f.code),
            clean(&f.title),
            clean(&section.id)
        );
        out.wrap(&severity, &indent, &headline);
        if !f.evidence.is_empty() {
            out.wrap(
                &indent,
                &indent,
                &format!("evidence: {}", clean(&join_pairs(&f.evidence))),
            );
        }
        if !f.recommendation.is_empty() {
            out.wrap(
                &indent,
                &indent,
                &format!("to do: {}", clean(&f.recommendation)),
            );
        }
    }
}

fn metrics(out: &mut Out, section: &Section) {
    if section.metrics.is_empty() {
        return;
    }
    out.push("Metrics".to_owned());
    let rows: Vec<(String, String, String)> = section
        .metrics
        .iter()
        .map(|m| {
            let name = labelled(&m.name, &m.labels);
            let mut value = quantity(m.value, m.unit);
            if m.kind == MetricKind::Counter {
                value.push_str(" total");
            }
            (name, value, clean(&m.help))
        })
        .collect();
    let value_w = rows
        .iter()
        .map(|r| width_of(&r.1))
        .max()
        .unwrap_or(0)
        .min(24);
    let name_room = out.width.saturating_sub(2 + 2 + value_w);
    let name_w = rows
        .iter()
        .map(|r| width_of(&r.0))
        .max()
        .unwrap_or(0)
        .min(name_room)
        .min(56);
    for (name, value, help) in rows {
        let mut line = format!(
            "  {}  {}",
            pad_right(&truncate(&name, name_w), name_w),
            pad_left(&truncate(&value, value_w), value_w)
        );
        let room = out.width.saturating_sub(width_of(&line) + 2);
        if room >= 12 && !help.is_empty() {
            let _ = write!(line, "  {}", truncate(&help, room));
        }
        out.push(line);
    }
}

fn table(out: &mut Out, table: &Table, max_rows: usize) {
    out.push(format!(
        "Table: {} ({})",
        clean(&table.title),
        clean(&table.name)
    ));
    if table.columns.is_empty() {
        out.push("  (no columns)".to_owned());
        return;
    }
    let shown = &table.rows[..table.rows.len().min(max_rows)];
    let header: Vec<String> = table.columns.iter().map(|c| clean(c)).collect();
    // Each cell as text, and whether it is a number (aligned right).
    let cells: Vec<Vec<(String, bool)>> = shown
        .iter()
        .map(|row| {
            (0..header.len())
                .map(|i| match row.get(i) {
                    Some(Cell::Int(v)) => (v.to_string(), true),
                    Some(Cell::Float(v)) => (number(*v), true),
                    Some(Cell::Text(v)) => (clean(v), false),
                    _ => (String::new(), false),
                })
                .collect()
        })
        .collect();
    let right: Vec<bool> = (0..header.len())
        .map(|i| {
            cells.iter().any(|row| row[i].1)
                && cells.iter().all(|row| row[i].1 || row[i].0.is_empty())
        })
        .collect();
    let natural: Vec<usize> = (0..header.len())
        .map(|i| {
            let widest_cell = cells
                .iter()
                .map(|row| width_of(&row[i].0))
                .max()
                .unwrap_or(0);
            widest_cell.max(width_of(&header[i])).max(1)
        })
        .collect();
    // Numbers and headers are not cut unless they are wider than half a line.
    let minimum: Vec<usize> = (0..header.len())
        .map(|i| {
            if right[i] {
                natural[i]
            } else {
                natural[i].min(MIN_COLUMN.max(width_of(&header[i])))
            }
        })
        .collect();
    let room = out.width.saturating_sub(2);
    let groups = column_groups(&natural, &minimum, room);
    for (i, (columns, widths)) in groups.into_iter().enumerate() {
        if i > 0 {
            out.blank();
        }
        let line = |texts: &mut dyn Iterator<Item = &str>| {
            let fields: Vec<String> = columns
                .iter()
                .zip(&widths)
                .zip(texts)
                .map(|((&col, &w), text)| {
                    let text = truncate(text, w);
                    if right[col] {
                        pad_left(&text, w)
                    } else {
                        pad_right(&text, w)
                    }
                })
                .collect();
            format!("  {}", fields.join("  "))
        };
        out.push(line(&mut columns.iter().map(|&c| header[c].as_str())));
        let rules: Vec<String> = widths.iter().map(|&w| "─".repeat(w)).collect();
        out.push(line(&mut rules.iter().map(String::as_str)));
        for row in &cells {
            out.push(line(&mut columns.iter().map(|&c| row[c].0.as_str())));
        }
    }
    let hidden = table.rows.len() - shown.len();
    if hidden > 0 {
        out.push(format!(
            "  … {hidden} more rows (the CSV and JSON reports have them all)"
        ));
    }
}

/// The columns of a table split into groups that fit `room` side by side (two spaces apart),
/// each after the first repeating column 0, with their widths: as wide as their widest cell
/// (`natural`), the widest cut first but none below its `minimum` where a group does not fit.
/// Column 0 is cut to a third of `room` and the others to half where they are wider.
fn column_groups(
    natural: &[usize],
    minimum: &[usize],
    room: usize,
) -> Vec<(Vec<usize>, Vec<usize>)> {
    if let Some(widths) = fit_columns(natural, minimum, room) {
        return vec![((0..natural.len()).collect(), widths)];
    }
    let natural_of = |col: usize| natural[col].min(if col == 0 { room / 3 } else { room / 2 });
    let minimum_of = |col: usize| minimum[col].min(natural_of(col));
    let mut groups: Vec<Vec<usize>> = vec![vec![0]];
    let mut used = minimum_of(0);
    for col in 1..natural.len() {
        if used + 2 + minimum_of(col) > room {
            groups.push(vec![0]);
            used = minimum_of(0);
        }
        if let Some(group) = groups.last_mut() {
            group.push(col);
        }
        used += 2 + minimum_of(col);
    }
    groups
        .into_iter()
        .map(|columns| {
            let wanted: Vec<usize> = columns.iter().map(|&c| natural_of(c)).collect();
            let least: Vec<usize> = columns.iter().map(|&c| minimum_of(c)).collect();
            let widths = fit_columns(&wanted, &least, room).unwrap_or_else(|| {
                // Too narrow even for two columns: each its share.
                let share = (room / columns.len()).saturating_sub(2).max(1);
                wanted.iter().map(|&w| w.min(share)).collect()
            });
            (columns, widths)
        })
        .collect()
}

/// Column widths within `room` (two spaces between columns): the `natural` widths, the widest
/// cut first, none below its `minimum`; `None` when even the minimums are too wide.
fn fit_columns(natural: &[usize], minimum: &[usize], room: usize) -> Option<Vec<usize>> {
    let gaps = 2 * natural.len().saturating_sub(1);
    let room = room.checked_sub(gaps)?;
    let widths = |cap: usize| {
        natural
            .iter()
            .zip(minimum)
            .map(move |(&n, &m)| n.min(cap.max(m)))
    };
    let mut cap = natural.iter().copied().max().unwrap_or(0);
    while widths(cap).sum::<usize>() > room {
        if cap == 0 {
            return None;
        }
        cap -= 1;
    }
    Some(widths(cap).collect())
}

/// `name{label=value,…}`, as Prometheus writes a series.
fn labelled(name: &str, labels: &[(String, String)]) -> String {
    if labels.is_empty() {
        clean(name)
    } else {
        clean(&format!("{name}{{{}}}", join_pairs(labels)))
    }
}

fn series(out: &mut Out, section: &Section) {
    if section.series.is_empty() {
        return;
    }
    out.push("Series".to_owned());
    let names: Vec<String> = section
        .series
        .iter()
        .map(|series| labelled(&series.name, &series.labels))
        .collect();
    let widest = names.iter().map(|n| width_of(n)).max().unwrap_or(0);
    let name_w = widest.min(out.width.saturating_sub(2 + 2 + SPARK_WIDTH));
    for (series, name) in section.series.iter().zip(names) {
        let unit = series.unit.unwrap_or(Unit::None);
        let Some(t) = Trend::of(series, MetricKind::Gauge, Duration::MAX) else {
            out.push(format!("  {name}  (no points)"));
            continue;
        };
        out.push(format!(
            "  {}  {}",
            pad_right(&truncate(&name, name_w), name_w),
            sparkline(series, SPARK_WIDTH)
        ));
        let mut figures = format!(
            "{} points over {}: first {}, last {}, min {}, max {}, mean {}, p90 {}",
            t.n_points,
            span(t.to_unix_millis.saturating_sub(t.from_unix_millis)),
            quantity(t.first, unit),
            quantity(t.last, unit),
            quantity(t.min, unit),
            quantity(t.max, unit),
            quantity(t.mean, unit),
            quantity(t.p90, unit),
        );
        if let Some(slope) = t.slope_per_second {
            let sign = if slope >= 0.0 { "+" } else { "−" };
            let _ = write!(figures, ", slope {sign}{}/s", quantity(slope.abs(), unit));
        }
        out.wrap("    ", "    ", &figures);
    }
}

fn events(out: &mut Out, section: &Section, now: u64, max_events: usize) {
    if section.events.is_empty() {
        return;
    }
    let mut events: Vec<&Event> = section.events.iter().collect();
    events.sort_by_key(|e| e.at_unix_millis);
    let shown = &events[events.len().saturating_sub(max_events)..];
    if shown.len() < events.len() {
        out.push(format!(
            "Events (latest {} of {})",
            shown.len(),
            events.len()
        ));
    } else {
        out.push("Events".to_owned());
    }
    let today = now / DAY_MS;
    for e in shown {
        let at = if e.at_unix_millis / DAY_MS == today {
            utc_time(e.at_unix_millis)
        } else {
            format!(
                "{} {}",
                utc_date(e.at_unix_millis),
                utc_time(e.at_unix_millis)
            )
        };
        let first = format!("  {at}  ");
        let rest = " ".repeat(width_of(&first));
        let mut text = format!("{}: {}", clean(&e.kind), clean(&e.message));
        if !e.fields.is_empty() {
            let _ = write!(text, " ({})", clean(&join_pairs(&e.fields)));
        }
        out.wrap(&first, &rest, &text);
    }
}

/// The values of `series` in time order as `width` (at most) block characters, each the mean
/// of a run of points, scaled from the lowest to the highest.
fn sparkline(series: &TimeSeries, width: usize) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let mut points: Vec<(u64, f64)> = series
        .points
        .iter()
        .copied()
        .filter(|p| p.1.is_finite())
        .collect();
    if !points.is_sorted_by_key(|p| p.0) {
        points.sort_by_key(|p| p.0);
    }
    let values: Vec<f64> = points.into_iter().map(|p| p.1).collect();
    if values.is_empty() {
        return String::new();
    }
    let n_buckets = values.len().min(width);
    let means: Vec<f64> = (0..n_buckets)
        .map(|b| {
            let run = &values[b * values.len() / n_buckets..(b + 1) * values.len() / n_buckets];
            run.iter().sum::<f64>() / run.len() as f64
        })
        .collect();
    let lo = means.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    means
        .iter()
        .map(|&m| {
            let level = if hi > lo {
                ((m - lo) / (hi - lo) * 7.0).round() as usize
            } else {
                0
            };
            BLOCKS[level.min(7)]
        })
        .collect()
}

/// `v` in `unit` for people: `48.0 MiB`, `90.0%`, `350.0 ms`, `9,000`; `unknown` for NaN.
fn quantity(v: f64, unit: Unit) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "unknown".to_owned()
        } else {
            v.to_string()
        };
    }
    match unit {
        Unit::Bytes => bytes(v),
        Unit::Ratio => format!("{}%", number(v * 100.0)),
        Unit::Seconds => {
            let a = v.abs();
            if a == 0.0 || a >= 1.0 {
                format!("{} s", number(v))
            } else if a >= 1e-3 {
                format!("{} ms", number(v * 1e3))
            } else if a >= 1e-6 {
                format!("{} µs", number(v * 1e6))
            } else {
                format!("{} ns", number(v * 1e9))
            }
        }
        _ => number(v),
    }
}

/// Bytes in binary units with one decimal: `512 B`, `48.0 MiB`.
fn bytes(v: f64) -> String {
    match units::scale_bytes(v) {
        Some((scaled, unit)) => format!("{scaled:.1} {unit}"),
        None => format!("{} B", number(v)),
    }
}

/// A number with about four significant digits, whole numbers with thousands separators.
fn number(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "unknown".to_owned()
        } else {
            v.to_string()
        };
    }
    let a = v.abs();
    if v.fract() == 0.0 && a < 1e15 {
        return grouped(v as i64);
    }
    if !(1e-4..1e15).contains(&a) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 7) as usize;
    let text = format!("{v:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    match text.split_once('.') {
        Some((whole, fraction)) => match whole.parse::<i64>() {
            Ok(w) if whole != "-0" => format!("{}.{fraction}", grouped(w)),
            _ => text.to_owned(),
        },
        None => text
            .parse::<i64>()
            .map_or_else(|_| text.to_owned(), grouped),
    }
}

/// `v` with a comma every three digits.
fn grouped(v: i64) -> String {
    let mut out = String::new();
    if v < 0 {
        out.push('-');
    }
    units::group_digits(&v.unsigned_abs().to_string(), &mut out);
    out
}

/// A span of milliseconds for people: `59 s`, `1 h 0 min`.
fn span(millis: u64) -> String {
    let s = millis / 1000;
    if s < 120 {
        format!("{} s", number(millis as f64 / 1000.0))
    } else if s < 7200 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{} h {} min", s / 3600, s / 60 % 60)
    }
}

const DAY_MS: u64 = 86_400_000;

/// `2026-12-07 00:04:23` for unix milliseconds, in UTC.
fn utc(millis: u64) -> String {
    format!("{} {}", units::utc_date(millis), units::utc_clock(millis))
}

/// `00:04:23.120`, the time of day in UTC.
fn utc_time(millis: u64) -> String {
    format!("{}.{:03}", units::utc_clock(millis), millis % 1000)
}

/// `text` with control characters (line breaks, tabs, escapes) as spaces.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The terminal columns `text` takes: two for a wide character (CJK, emoji), none for a
/// combining one.
fn width_of(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// The longest start of `text` taking at most `width` columns, and the rest; a wide character
/// that would reach past `width` goes to the rest.
fn split_at_width(text: &str, width: usize) -> (&str, &str) {
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        used += UnicodeWidthChar::width(c).unwrap_or(1);
        if used > width {
            break;
        }
        end = i + c.len_utf8();
    }
    // Some sequences are wider than their characters (an emoji's presentation selector makes
    // it two columns): cut them off too.
    while end > 0 && width_of(&text[..end]) > width {
        end = text[..end].char_indices().next_back().map_or(0, |(i, _)| i);
    }
    text.split_at(end)
}

/// `text` cut to `width` columns, the last one `…` when cut.
fn truncate(text: &str, width: usize) -> String {
    if width_of(text) <= width {
        return text.to_owned();
    }
    let mut room = width.saturating_sub(1);
    loop {
        let mut out = split_at_width(text, room).0.to_owned();
        if width > 0 {
            out.push('…');
        }
        if width_of(&out) <= width || room == 0 {
            return out;
        }
        room -= 1;
    }
}

fn pad_right(text: &str, width: usize) -> String {
    let n = width_of(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(n)))
}

fn pad_left(text: &str, width: usize) -> String {
    let n = width_of(text);
    format!("{}{text}", " ".repeat(width.saturating_sub(n)))
}

/// `text`'s words in lines of at most `width` columns; a wider word is split (between
/// characters, one a line where even one is wider than `width`).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_width = 0;
    for mut word in text.split_whitespace() {
        loop {
            let word_width = width_of(word);
            let gap = usize::from(!line.is_empty());
            if line_width + gap + word_width <= width {
                if gap == 1 {
                    line.push(' ');
                }
                line.push_str(word);
                line_width += gap + word_width;
                break;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line_width = 0;
                continue;
            }
            // A word wider than a line: as much as fits, the rest on the next.
            let (mut head, mut rest) = split_at_width(word, width);
            if head.is_empty() {
                let first = word.chars().next().map_or(0, char::len_utf8);
                (head, rest) = word.split_at(first);
            }
            lines.push(head.to_owned());
            word = rest;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests;

//! Time series as inline SVG line charts: which series share a chart, downsampling, and the
//! geometry the template draws.
//!
//! Series with the same name and unit (one metric, different labels) share a chart, up to
//! [`MAX_LINES`] lines. Each line keeps the minimum and the maximum of every time bucket, so
//! a one-second spike in an hour still shows. A series whose name ends in `pressure_level`
//! and whose values lie in 0..=3 is drawn as steps with the levels' names on the y axis.

use cache_traits::{Event, TimeSeries, Unit};

use super::{MAX_CHART_POINTS, format_value, join_pairs};
use crate::units::{utc_clock, utc_date};

/// `(unix milliseconds, value)`, as in [`TimeSeries::points`].
type Point = (u64, f64);

/// The most lines in one chart; more series of the same name get another chart.
const MAX_LINES: usize = 6;

/// The fewest points a line keeps, however many lines share its chart.
const MIN_LINE_POINTS: usize = 32;

/// The most events named in one marker's tooltip.
const MAX_MARKER_EVENTS: usize = 5;

/// Two events closer than this (in SVG units) share a marker.
const MARKER_MERGE_DISTANCE: f64 = 2.0;

/// The pressure levels, by their value in a `pressure_level` series.
const LEVELS: [&str; 4] = ["normal", "elevated", "high", "critical"];

/// The plot area inside the SVG's `0 0 600 200` view box.
#[derive(Clone, Copy)]
pub(super) struct Frame {
    pub(super) left: f64,
    pub(super) right: f64,
    pub(super) top: f64,
    pub(super) bottom: f64,
}

const FRAME: Frame = Frame {
    left: 74.0,
    right: 588.0,
    top: 10.0,
    bottom: 172.0,
};

/// One chart, ready for the template: every number is already an SVG coordinate.
pub(super) struct Chart {
    pub(super) title: String,
    pub(super) name: String,
    pub(super) unit: &'static str,
    pub(super) frame: Frame,
    pub(super) bands: Vec<Band>,
    pub(super) ticks: Vec<Tick>,
    pub(super) x_labels: Vec<XLabel>,
    pub(super) lines: Vec<Line>,
    pub(super) markers: Vec<Marker>,
    /// One path drawing every marker (`M x,top V bottom` each).
    pub(super) marker_path: String,
    pub(super) n_events: usize,
    pub(super) n_samples: usize,
    pub(super) n_drawn: usize,
}

/// A shaded band behind a pressure chart.
pub(super) struct Band {
    pub(super) y: String,
    pub(super) height: String,
    pub(super) class: &'static str,
}

/// A horizontal grid line with its label on the y axis.
pub(super) struct Tick {
    pub(super) y: String,
    pub(super) label_y: String,
    pub(super) label: String,
}

/// A label under the time axis.
pub(super) struct XLabel {
    pub(super) x: String,
    pub(super) anchor: &'static str,
    pub(super) text: String,
}

/// One series' line and its legend entry.
pub(super) struct Line {
    pub(super) class: String,
    pub(super) points: String,
    pub(super) label: String,
    pub(super) stats: String,
}

/// A vertical marker for one or more events, with a tooltip naming them.
pub(super) struct Marker {
    pub(super) x: String,
    pub(super) title: String,
}

/// The charts for a section's series, with its events as markers.
pub(super) fn charts(series: &[TimeSeries], events: &[Event]) -> Vec<Chart> {
    let mut groups: Vec<Vec<&TimeSeries>> = Vec::new();
    for s in series {
        if !s.points.iter().any(|p| p.1.is_finite()) {
            continue;
        }
        let group = groups.iter_mut().find(|g| {
            g.len() < MAX_LINES
                && g.first()
                    .is_some_and(|f| f.name == s.name && f.unit == s.unit)
        });
        match group {
            Some(group) => group.push(s),
            None => groups.push(vec![s]),
        }
    }
    let mut events: Vec<&Event> = events.iter().collect();
    events.sort_by_key(|e| e.at_unix_millis);
    groups.iter().map(|g| chart(g, &events)).collect()
}

/// How the values of a chart map to its y axis.
enum Scale {
    /// `lo..=hi` in the series' unit.
    Linear { lo: f64, hi: f64 },
    /// Pressure levels 0..=3, drawn as steps.
    Levels,
}

fn chart(group: &[&TimeSeries], events: &[&Event]) -> Chart {
    let first = group[0];
    let per_line = (MAX_CHART_POINTS / group.len()).max(MIN_LINE_POINTS);
    let sampled: Vec<Vec<(u64, f64)>> = group
        .iter()
        .map(|s| downsample(&s.points, per_line))
        .collect();

    let mut t_min = u64::MAX;
    let mut t_max = 0;
    let mut v_min = f64::INFINITY;
    let mut v_max = f64::NEG_INFINITY;
    for &(t, v) in sampled.iter().flatten() {
        t_min = t_min.min(t);
        t_max = t_max.max(t);
        v_min = v_min.min(v);
        v_max = v_max.max(v);
    }
    let levels = first.name.ends_with("pressure_level") && v_min >= 0.0 && v_max <= 3.0;
    let scale = if levels {
        Scale::Levels
    } else {
        let lo = if v_min >= 0.0 { 0.0 } else { v_min };
        let mut hi = v_max;
        if first.unit == Some(Unit::Ratio) && hi <= 1.0 && lo >= 0.0 {
            hi = 1.0;
        }
        if hi <= lo {
            hi = lo + if lo == 0.0 { 1.0 } else { lo.abs() };
        }
        Scale::Linear { lo, hi }
    };
    let (lo, hi) = match scale {
        Scale::Linear { lo, hi } => (lo, hi),
        Scale::Levels => (-0.25, 3.25),
    };
    let x_of = |t: u64| {
        if t_max == t_min {
            (FRAME.left + FRAME.right) / 2.0
        } else {
            FRAME.left + (t - t_min) as f64 / (t_max - t_min) as f64 * (FRAME.right - FRAME.left)
        }
    };
    let y_of = |v: f64| FRAME.bottom - fraction(v, lo, hi) * (FRAME.bottom - FRAME.top);
    let format = |v: f64| match scale {
        Scale::Levels => level_name(v).to_owned(),
        Scale::Linear { .. } => format_value(v, first.unit),
    };

    let lines = group
        .iter()
        .zip(&sampled)
        .enumerate()
        .map(|(idx, (s, points))| Line {
            class: format!("s{idx}"),
            points: polyline(points, levels, &x_of, &y_of),
            label: line_label(s),
            stats: line_stats(&s.points, &format),
        })
        .collect();

    let (bands, ticks) = match scale {
        Scale::Levels => {
            let bands = (1..LEVELS.len())
                .map(|level| {
                    let top = y_of((level as f64 + 0.5).min(hi));
                    let bottom = y_of(level as f64 - 0.5);
                    Band {
                        y: coord(top),
                        height: coord(bottom - top),
                        class: LEVELS[level],
                    }
                })
                .collect();
            let ticks = (0..LEVELS.len())
                .map(|level| tick(y_of(level as f64), LEVELS[level].to_owned()))
                .collect();
            (bands, ticks)
        }
        Scale::Linear { lo, hi } => {
            let ticks = [lo, midpoint(lo, hi), hi]
                .into_iter()
                .map(|v| tick(y_of(v), format_value(v, first.unit)))
                .collect();
            (Vec::new(), ticks)
        }
    };

    let markers = markers(events, t_min, t_max, &x_of);
    let marker_path = markers
        .iter()
        .map(|(m, _)| format!("M{} {}V{}", m.x, FRAME.top, FRAME.bottom))
        .collect();
    Chart {
        title: if first.title.is_empty() {
            first.name.clone()
        } else {
            first.title.clone()
        },
        name: first.name.clone(),
        unit: if levels {
            "level"
        } else {
            first.unit.and_then(Unit::suffix).unwrap_or("")
        },
        frame: FRAME,
        bands,
        ticks,
        x_labels: x_labels(t_min, t_max, &x_of),
        lines,
        n_events: markers.iter().map(|m| m.1).sum(),
        markers: markers.into_iter().map(|m| m.0).collect(),
        marker_path,
        n_samples: group.iter().map(|s| s.points.len()).sum(),
        n_drawn: sampled.iter().map(Vec::len).sum(),
    }
}

/// Where `v` lies from `lo` (0) to `hi` (1), `lo < hi`, both finite: clamped to `0..=1`, and
/// 0 for NaN, so that no coordinate is ever NaN or infinite. The span `hi - lo` of values near
/// ±`f64::MAX` overflows: then both are halved first (which does not overflow, and loses
/// nothing at that size).
fn fraction(v: f64, lo: f64, hi: f64) -> f64 {
    let span = hi - lo;
    let f = if span.is_finite() {
        (v - lo) / span
    } else {
        (v / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0)
    };
    if f.is_nan() { 0.0 } else { f.clamp(0.0, 1.0) }
}

/// The value halfway from `lo` to `hi`, without overflow.
fn midpoint(lo: f64, hi: f64) -> f64 {
    let sum = lo + hi;
    if sum.is_finite() {
        sum / 2.0
    } else {
        lo / 2.0 + hi / 2.0
    }
}

fn level_name(value: f64) -> &'static str {
    LEVELS[(value.round().clamp(0.0, 3.0)) as usize]
}

fn tick(y: f64, label: String) -> Tick {
    Tick {
        y: coord(y),
        label_y: coord(y + 4.0),
        label,
    }
}

/// An SVG coordinate with one decimal.
fn coord(v: f64) -> String {
    format!("{v:.1}")
}

/// The `points` attribute of a polyline; as steps (hold each value until the next) for
/// pressure levels. A single point becomes a short dash so that it shows.
fn polyline(
    points: &[(u64, f64)],
    steps: bool,
    x_of: &impl Fn(u64) -> f64,
    y_of: &impl Fn(f64) -> f64,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(points.len() * 12 * if steps { 2 } else { 1 });
    if let [(t, v)] = points {
        let (x, y) = (x_of(*t), y_of(*v));
        let _ = write!(out, "{:.1},{y:.1} {:.1},{y:.1}", x - 3.0, x + 3.0);
        return out;
    }
    let mut prev_y = None;
    for &(t, v) in points {
        let (x, y) = (x_of(t), y_of(v));
        if let (true, Some(py)) = (steps, prev_y) {
            let _ = write!(out, "{x:.1},{py:.1} ");
        }
        let _ = write!(out, "{x:.1},{y:.1} ");
        prev_y = Some(y);
    }
    out.pop();
    out
}

/// What the legend calls a line: its labels, or its title when it has none.
fn line_label(series: &TimeSeries) -> String {
    if series.labels.is_empty() {
        if series.title.is_empty() {
            series.name.clone()
        } else {
            series.title.clone()
        }
    } else {
        join_pairs(&series.labels)
    }
}

/// `last 12 MiB · min 3 MiB · max 14 MiB`, over every point (not only the drawn ones).
fn line_stats(points: &[(u64, f64)], format: &impl Fn(f64) -> String) -> String {
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    let mut last = None;
    for &(_, v) in points.iter().filter(|p| p.1.is_finite()) {
        min = min.min(v);
        max = max.max(v);
        last = Some(v);
    }
    match last {
        Some(last) => format!(
            "last {} · min {} · max {}",
            format(last),
            format(min),
            format(max)
        ),
        None => String::new(),
    }
}

/// Start and end of the time axis, and the span between them.
fn x_labels(t_min: u64, t_max: u64, x_of: &impl Fn(u64) -> f64) -> Vec<XLabel> {
    let label = |t: u64| {
        if t_max - t_min >= 86_400_000 {
            let date = utc_date(t);
            format!("{} {}", date.get(5..).unwrap_or(&date), utc_clock(t))
        } else {
            utc_clock(t)
        }
    };
    if t_max == t_min {
        return vec![XLabel {
            x: coord(x_of(t_min)),
            anchor: "middle",
            text: format!("{} UTC", label(t_min)),
        }];
    }
    vec![
        XLabel {
            x: coord(FRAME.left),
            anchor: "start",
            text: label(t_min),
        },
        XLabel {
            x: coord((FRAME.left + FRAME.right) / 2.0),
            anchor: "middle",
            text: format!("{} (UTC)", format_span(t_max - t_min)),
        },
        XLabel {
            x: coord(FRAME.right),
            anchor: "end",
            text: label(t_max),
        },
    ]
}

/// `45 s`, `12 min`, `3.5 h`, `2.0 d`.
fn format_span(millis: u64) -> String {
    let secs = millis as f64 / 1000.0;
    if secs < 120.0 {
        format!("{secs:.0} s")
    } else if secs < 7200.0 {
        format!("{:.0} min", secs / 60.0)
    } else if secs < 172_800.0 {
        format!("{:.1} h", secs / 3600.0)
    } else {
        format!("{:.1} d", secs / 86_400.0)
    }
}

/// Markers for the events within `t_min..=t_max` (sorted by time), events closer than
/// [`MARKER_MERGE_DISTANCE`] sharing one; with how many events each stands for.
fn markers(
    events: &[&Event],
    t_min: u64,
    t_max: u64,
    x_of: &impl Fn(u64) -> f64,
) -> Vec<(Marker, usize)> {
    let mut groups: Vec<(f64, Vec<&Event>)> = Vec::new();
    for event in events
        .iter()
        .filter(|e| (t_min..=t_max).contains(&e.at_unix_millis))
    {
        let x = x_of(event.at_unix_millis);
        match groups.last_mut() {
            Some((gx, group)) if x - *gx < MARKER_MERGE_DISTANCE => group.push(event),
            _ => groups.push((x, vec![event])),
        }
    }
    groups
        .into_iter()
        .map(|(x, group)| {
            let mut title = String::new();
            for event in group.iter().take(MAX_MARKER_EVENTS) {
                if !title.is_empty() {
                    title.push('\n');
                }
                title.push_str(&format!(
                    "{} {}: {}",
                    utc_clock(event.at_unix_millis),
                    event.kind,
                    event.message
                ));
            }
            if group.len() > MAX_MARKER_EVENTS {
                title.push_str(&format!("\nand {} more", group.len() - MAX_MARKER_EVENTS));
            }
            let n = group.len();
            (Marker { x: coord(x), title }, n)
        })
        .collect()
}

/// At most about `budget` finite points of `points`, in time order: all of them when they
/// fit, else the minimum and the maximum of each of `budget / 2` equal time buckets.
pub(super) fn downsample(points: &[(u64, f64)], budget: usize) -> Vec<(u64, f64)> {
    let mut finite: Vec<(u64, f64)> = points.iter().copied().filter(|p| p.1.is_finite()).collect();
    if !finite.is_sorted_by_key(|p| p.0) {
        finite.sort_by_key(|p| p.0);
    }
    if finite.len() <= budget {
        return finite;
    }
    let (Some(&first), Some(&last)) = (finite.first(), finite.last()) else {
        return finite;
    };
    let (t0, t1) = (first.0, last.0);
    let n_buckets = (budget / 2).max(1) as u128;
    let span = u128::from(t1 - t0) + 1;
    let mut out = Vec::with_capacity(budget + 2);
    // The current bucket's index, minimum and maximum.
    let mut bucket: Option<(u128, Point, Point)> = None;
    for &(t, v) in &finite {
        let idx = u128::from(t - t0) * n_buckets / span;
        match &mut bucket {
            Some((b, lo, hi)) if *b == idx => {
                if v < lo.1 {
                    *lo = (t, v);
                }
                if v > hi.1 {
                    *hi = (t, v);
                }
            }
            _ => {
                if let Some((_, lo, hi)) = bucket {
                    push_extremes(&mut out, lo, hi);
                }
                bucket = Some((idx, (t, v), (t, v)));
            }
        }
    }
    if let Some((_, lo, hi)) = bucket {
        push_extremes(&mut out, lo, hi);
    }
    // The line reaches both ends of the time axis.
    if out.first().is_some_and(|p| p.0 != t0) {
        out.insert(0, first);
    }
    if out.last().is_some_and(|p| p.0 != t1) {
        out.push(last);
    }
    out
}

/// A bucket's minimum and maximum in time order, once when they are the same point.
fn push_extremes(out: &mut Vec<Point>, lo: Point, hi: Point) {
    if lo.0 == hi.0 {
        out.push(lo);
    } else if lo.0 < hi.0 {
        out.extend([lo, hi]);
    } else {
        out.extend([hi, lo]);
    }
}

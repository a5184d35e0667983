//! Tests of the HTML renderer: escaping, size, self-containment, options, charts and
//! formatting.

use cache_traits::{Cell, Event, Finding, Metric, Section, Severity, Table, TimeSeries, Unit};

use super::chart::downsample;
use super::{HtmlOptions, MAX_CHART_POINTS, format_number, format_value, to_html};
use crate::{Report, ReportKind};

/// 2025-06-01 12:00:00 UTC.
const START: u64 = 1_748_779_200_000;

fn series(name: &str, unit: Unit, points: Vec<(u64, f64)>) -> TimeSeries {
    let mut s = TimeSeries::default();
    s.name = name.to_owned();
    s.title = format!("{name} over time");
    s.unit = Some(unit);
    s.points = points;
    s
}

fn event(at_unix_millis: u64, kind: &str, message: &str) -> Event {
    let mut e = Event::default();
    e.at_unix_millis = at_unix_millis;
    e.kind = kind.to_owned();
    e.message = message.to_owned();
    e
}

/// One second apart from [`START`].
fn per_second(n: u64, value: impl Fn(u64) -> f64) -> Vec<(u64, f64)> {
    (0..n).map(|t| (START + t * 1000, value(t))).collect()
}

/// A report with every kind of content, every string of it `text` (or containing it).
fn report_of(text: &str) -> Report {
    let mut report = Report::new(ReportKind::Detailed, text, START + 600_000);
    let mut section = Section::new(text, text);
    section.metrics.push(
        Metric::gauge(text, text, Unit::Bytes, 1024.0 * 1024.0)
            .label(text, text)
            .label("cache", "results"),
    );
    section
        .metrics
        .push(Metric::counter("hits", "Hits", Unit::None, 12_345.0));
    section.tables.push(
        Table::new(text, text, &[text, "entries"])
            .row(vec![text.into(), Cell::from(3_u64)])
            .row(vec![Cell::Empty, Cell::from(0.5)]),
    );
    let mut memory = series(text, Unit::Bytes, per_second(600, |t| t as f64 * 1024.0));
    memory.title = text.to_owned();
    memory.labels.push((text.to_owned(), text.to_owned()));
    section.series.push(memory);
    section.series.push(series(
        "pressure_level",
        Unit::None,
        per_second(600, |t| ((t / 150) % 4) as f64),
    ));
    let mut e = event(START + 300_000, text, text);
    e.fields.push((text.to_owned(), text.to_owned()));
    section.events.push(e);
    section
        .findings
        .push(Finding::new(Severity::Warning, text, text, text).evidence(text, text));
    report.sections.push(section);
    report
}

/// The first inline SVG of `html`.
fn first_svg(html: &str) -> &str {
    let start = html.find("<svg").expect("a chart");
    let end = html[start..].find("</svg>").expect("the chart's end") + start;
    &html[start..end]
}

#[test]
fn hostile_strings_are_escaped_everywhere() {
    // Each hostile string, and what of it must not reach the page unescaped.
    for (hostile, raw) in [
        ("<script>alert(1)</script>", "<script"),
        ("\"><img src=x onerror=alert(1)>", "<img"),
        ("'><svg onload=alert(1)>", "<svg onload"),
        ("</title></svg></style><i>&amp;", "<i>"),
    ] {
        let html = to_html(&report_of(hostile), &HtmlOptions::default());
        assert!(!html.contains(hostile), "{hostile} appears unescaped");
        assert!(
            !html.contains(raw),
            "{raw} from {hostile} appears in the page"
        );
        assert!(!html.contains("</title></svg>"));
        // The SVG has the series' title and the event's message, escaped.
        let svg = first_svg(&html);
        assert!(!svg.contains(hostile));
        assert!(
            svg.contains("&#60;") || svg.contains("&#34;") || svg.contains("&#39;"),
            "no escaped text in the SVG for {hostile}: {svg}"
        );
        assert_eq!(html.matches("<style>").count(), 1);
        assert_eq!(html.matches("</style>").count(), 1);
    }
}

#[test]
fn the_event_message_reaches_the_chart_escaped() {
    let html = to_html(&report_of("<i>x</i>"), &HtmlOptions::default());
    let svg = first_svg(&html);
    // The marker's tooltip: time, kind and message.
    assert!(
        svg.contains("12:05:00 &#60;i&#62;x&#60;/i&#62;: &#60;i&#62;x&#60;/i&#62;"),
        "{svg}"
    );
}

#[test]
fn an_hour_of_forty_series_stays_under_a_megabyte() {
    let mut report = Report::new(ReportKind::Trend, "forty series", START + 3_600_000);
    for idx in 0..8 {
        let mut section = Section::new(format!("cache.c{idx}"), format!("Cache c{idx}"));
        for (n, name) in [
            "used_memory",
            "hit_ratio",
            "keys",
            "evicted_keys",
            "latency",
        ]
        .into_iter()
        .enumerate()
        {
            let unit = [
                Unit::Bytes,
                Unit::Ratio,
                Unit::None,
                Unit::None,
                Unit::Seconds,
            ][n];
            // Noisy values, so no two neighbours are the same.
            let noise = move |t: u64| ((t * 7919 + idx * 104_729) % 1000) as f64 / 1000.0;
            let mut s = series(
                name,
                unit,
                per_second(3600, |t| 1e6 * (1.0 + noise(t)) + t as f64),
            );
            s.labels.push(("cache".to_owned(), format!("c{idx}")));
            section.series.push(s);
        }
        for k in 0..40 {
            section.events.push(event(
                START + k * 90_000,
                "resize",
                "budget changed to 64 MiB",
            ));
        }
        report.sections.push(section);
    }
    let n_series: usize = report.sections.iter().map(|s| s.series.len()).sum();
    assert_eq!(n_series, 40);

    let html = to_html(&report, &HtmlOptions::default());
    eprintln!("40 series x 3600 points: {} bytes of HTML", html.len());
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
    for points in html.split("points=\"").skip(1) {
        let points = &points[..points.find('"').expect("closing quote")];
        // Endpoints may add two to a line's budget.
        assert!(points.split(' ').count() <= MAX_CHART_POINTS + 2);
    }
}

#[test]
fn the_page_fetches_nothing() {
    let html = to_html(&report_of("text"), &HtmlOptions::default().refresh_every(5));
    for needle in [
        "http://", "https://", "src=", "url(", "@import", "<script", "<link", "//fonts",
    ] {
        assert!(!html.contains(needle), "{needle} in the page");
    }
    for href in html.split("href=\"").skip(1) {
        assert!(
            href.starts_with('#'),
            "a link out of the page: {}",
            &href[..40.min(href.len())]
        );
    }
    assert!(html.contains("default-src 'none'"));
}

#[test]
fn refresh_meta_only_when_asked() {
    let report = report_of("text");
    let static_page = to_html(&report, &HtmlOptions::default());
    assert!(!static_page.contains("http-equiv=\"refresh\""));
    let dashboard = to_html(&report, &HtmlOptions::default().refresh_every(7));
    assert!(dashboard.contains("<meta http-equiv=\"refresh\" content=\"7\">"));
}

#[test]
fn an_empty_report_renders() {
    let html = to_html(
        &Report::new(ReportKind::Summary, "nothing yet", 0),
        &HtmlOptions::default(),
    );
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains("<title>nothing yet</title>"));
    assert!(html.contains("summary report"));
    assert!(html.contains("1970-01-01 00:00:00 UTC"));
    assert!(html.contains("No findings."));
    assert!(!html.contains("<svg"));

    let mut report = Report::new(ReportKind::Detailed, "empty section", 0);
    report.sections.push(Section::new("memory", "Memory"));
    let mut all_nan = Section::new("nan", "Only NaN");
    all_nan.series.push(series(
        "rss",
        Unit::Bytes,
        vec![(0, f64::NAN), (1000, f64::INFINITY)],
    ));
    report.sections.push(all_nan);
    let html = to_html(&report, &HtmlOptions::default());
    assert_eq!(html.matches("Nothing reported.").count(), 2);
    assert!(!html.contains("<svg"));
}

#[test]
fn findings_are_listed_critical_first() {
    let mut report = Report::new(ReportKind::Summary, "findings", START);
    let mut first = Section::new("a", "A");
    first.findings.push(Finding::new(
        Severity::Info,
        "QC-INFO",
        "an info",
        "nothing",
    ));
    first.findings.push(Finding::new(
        Severity::Warning,
        "QC-WARN",
        "a warning",
        "look",
    ));
    let mut second = Section::new("b", "B");
    second.findings.push(
        Finding::new(Severity::Critical, "QC-CRIT", "a critical", "act now")
            .evidence("rss", "900 MiB"),
    );
    report.sections.extend([first, second]);
    let html = to_html(&report, &HtmlOptions::default());
    let at = |code: &str| html.find(code).expect(code);
    assert!(at("QC-CRIT") < at("QC-WARN"));
    assert!(at("QC-WARN") < at("QC-INFO"));
    assert!(html.contains("rss <b>900 MiB</b>"));
    assert!(html.contains("act now"));
    assert!(html.contains("1 critical"));
}

#[test]
fn pressure_levels_are_steps_with_named_ticks() {
    let mut report = Report::new(ReportKind::Detailed, "pressure", START);
    let mut section = Section::new("pressure", "Pressure");
    section.series.push(series(
        "manager_pressure_level",
        Unit::None,
        vec![(START, 0.0), (START + 1000, 2.0), (START + 2000, 3.0)],
    ));
    section
        .events
        .push(event(START + 1000, "level_change", "normal → high"));
    report.sections.push(section);
    let html = to_html(&report, &HtmlOptions::default());
    let svg = first_svg(&html);
    for level in ["normal", "elevated", "high", "critical"] {
        assert!(svg.contains(&format!(">{level}</text>")), "no {level} tick");
    }
    assert!(svg.contains("class=\"band-critical\""));
    // Steps: the line holds each level until the next point, so five points for three.
    let points = svg.split("points=\"").nth(1).expect("a line");
    let points = &points[..points.find('"').expect("closing quote")];
    assert_eq!(points.split(' ').count(), 5, "{points}");
    assert!(svg.contains("normal → high"));
    assert!(html.contains("last critical · min normal · max critical"));
}

#[test]
fn series_of_one_name_share_a_chart() {
    let mut report = Report::new(ReportKind::Detailed, "caches", START);
    let mut section = Section::new("caches", "Caches");
    for cache in ["a", "b", "c"] {
        let mut s = series("used_memory", Unit::Bytes, per_second(10, |t| t as f64));
        s.labels.push(("cache".to_owned(), cache.to_owned()));
        section.series.push(s);
    }
    section
        .series
        .push(series("hit_ratio", Unit::Ratio, per_second(10, |_| 0.5)));
    report.sections.push(section);
    let html = to_html(&report, &HtmlOptions::default());
    assert_eq!(html.matches("<svg").count(), 2);
    assert_eq!(html.matches("<polyline").count(), 4);
    assert!(html.contains("cache=c"));
    // A ratio chart runs from 0 to 100 %.
    assert!(html.contains(">100 %</text>"));
}

#[test]
fn downsampling_keeps_spikes_ends_and_order() {
    let mut points = per_second(3600, |_| 1.0);
    points[1234].1 = 99.0;
    points[2345].1 = -5.0;
    points[100].1 = f64::NAN;
    let out = downsample(&points, 300);
    assert!(out.len() <= 302, "{}", out.len());
    assert!(out.contains(&points[1234]));
    assert!(out.contains(&points[2345]));
    assert_eq!(out.first(), points.first());
    assert_eq!(out.last(), points.last());
    assert!(out.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(out.iter().all(|p| p.1.is_finite()));

    let few = per_second(10, |t| t as f64);
    assert_eq!(downsample(&few, 300), few);
    let mut unsorted = few.clone();
    unsorted.reverse();
    assert_eq!(downsample(&unsorted, 300), few);
    assert!(downsample(&[], 300).is_empty());
}

#[test]
fn a_single_point_is_drawn() {
    let mut report = Report::new(ReportKind::Detailed, "one", START);
    let mut section = Section::new("one", "One");
    section
        .series
        .push(series("rss", Unit::Bytes, vec![(START, 1024.0)]));
    report.sections.push(section);
    let html = to_html(&report, &HtmlOptions::default());
    let svg = first_svg(&html);
    assert!(svg.contains("points=\"328.0,10.0 334.0,10.0\""), "{svg}");
    assert!(svg.contains("12:00:00 UTC"));
}

#[test]
fn values_read_in_their_units() {
    fn check(value: f64, unit: Option<Unit>, expected: &str) {
        assert_eq!(format_value(value, unit), expected, "{value} {unit:?}");
    }
    check(512.0, Some(Unit::Bytes), "512 B");
    check(1536.0, Some(Unit::Bytes), "1.50 KiB");
    check(
        3.0 * 1024.0 * 1024.0 * 1024.0,
        Some(Unit::Bytes),
        "3.00 GiB",
    );
    check(200.0 * 1024.0 * 1024.0, Some(Unit::Bytes), "200 MiB");
    check(0.875, Some(Unit::Ratio), "87.5 %");
    check(1.0, Some(Unit::Ratio), "100 %");
    check(0.0051, Some(Unit::Seconds), "5.10 ms");
    check(0.000_083, Some(Unit::Seconds), "83.0 µs");
    check(0.0, Some(Unit::Seconds), "0 s");
    check(5400.0, Some(Unit::Seconds), "90.0 min");
    check(1_234_567.0, Some(Unit::None), "1,234,567");
    check(1.07, None, "1.07");
    check(f64::NAN, Some(Unit::Bytes), "NaN");

    assert_eq!(format_number(-1234.5), "-1,234.5");
    assert_eq!(format_number(0.125), "0.125");
    assert_eq!(format_number(-0.0001), "0");
    assert_eq!(format_number(999.0), "999");
}

#[test]
fn tables_show_numbers_right_aligned() {
    let html = to_html(&report_of("text"), &HtmlOptions::default());
    assert!(html.contains("<th class=\"num\">entries</th>"));
    assert!(html.contains("<td class=\"num\">0.5</td>"));
    assert!(html.contains("<td>text</td>"));
}

/// Every number in the SVG attributes of `html` that hold coordinates.
fn svg_coordinates(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("the chart's end") + start;
        let svg = &rest[start..end];
        for attr in [
            " x=\"",
            " y=\"",
            " x1=\"",
            " x2=\"",
            " y1=\"",
            " y2=\"",
            " width=\"",
            " height=\"",
            " points=\"",
            " d=\"",
        ] {
            for value in svg.split(attr).skip(1) {
                let value = &value[..value.find('"').expect("closing quote")];
                // Numbers apart by spaces, commas or path commands.
                for number in value.split(|c: char| c.is_whitespace() || ",MVHLZ".contains(c)) {
                    if !number.is_empty() {
                        out.push((attr.trim().to_owned(), number.to_owned()));
                    }
                }
            }
        }
        rest = &rest[end..];
    }
    out
}

#[test]
fn extreme_values_give_finite_coordinates() {
    let max = f64::MAX;
    let tiny = f64::MIN_POSITIVE * f64::EPSILON; // The smallest subnormal.
    let cases: Vec<(&str, Unit, Vec<f64>)> = vec![
        ("both_ends", Unit::None, vec![-max, 0.0, max]),
        ("both_ends_bytes", Unit::Bytes, vec![max, -max, max / 2.0]),
        (
            "huge_negative",
            Unit::None,
            vec![-max, -max / 2.0, -max / 4.0],
        ),
        ("all_lowest", Unit::None, vec![-max, -max]),
        ("all_highest", Unit::Seconds, vec![max, max]),
        ("huge_and_tiny", Unit::None, vec![tiny, max, -tiny]),
        ("tiny", Unit::None, vec![tiny, 2.0 * tiny, 0.0]),
        ("tiny_negative", Unit::None, vec![-tiny, -2.0 * tiny]),
        ("tiny_both", Unit::None, vec![-tiny, tiny]),
        (
            "not_finite_too",
            Unit::None,
            vec![-max, f64::NEG_INFINITY, max, f64::INFINITY],
        ),
    ];
    let mut report = Report::new(ReportKind::Detailed, "extremes", START + 10_000);
    for (name, unit, values) in &cases {
        let mut section = Section::new(*name, *name);
        section.series.push(series(
            name,
            *unit,
            values
                .iter()
                .enumerate()
                .map(|(i, &v)| (START + i as u64 * 1000, v))
                .collect(),
        ));
        // One point alone, too.
        section.series.push(series(
            &format!("{name}_one"),
            *unit,
            vec![(START, values[0])],
        ));
        section.events.push(event(START + 1000, "e", "an event"));
        report.sections.push(section);
    }
    let html = to_html(&report, &HtmlOptions::default());
    assert_eq!(html.matches("<svg").count(), 2 * cases.len());
    assert!(!html.contains("NaN"));
    let coordinates = svg_coordinates(&html);
    assert!(coordinates.len() > 100, "{}", coordinates.len());
    for (attr, number) in coordinates {
        let v: f64 = number
            .parse()
            .unwrap_or_else(|e| panic!("{attr}{number}: {e}"));
        assert!(
            v.is_finite() && (-1.0..=601.0).contains(&v),
            "{attr}{number}"
        );
    }
    for svg in html.split("<svg").skip(1) {
        let svg = &svg[..svg.find("</svg>").expect("the chart's end")];
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }
}

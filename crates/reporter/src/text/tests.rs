use cache_traits::{Metric, Section};

use super::*;
use crate::ReportKind;
use crate::testing::{self, NOW};

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn every_line_fits_100_columns() {
    for report in testing::reports() {
        let text = to_text(&report);
        for line in text.lines() {
            assert!(
                line.chars().count() <= 100,
                "{} chars: {line}",
                line.chars().count()
            );
        }
        if report.kind == ReportKind::Detailed {
            // The long names really were there to cut.
            assert!(text.contains('…'));
        }
        assert!(!text.contains(['\t', '\u{1b}', '\r']));
    }
}

#[test]
fn every_line_fits_narrower_terminals() {
    for width in [40, 60, 80, 120] {
        let options = TextOptions {
            width,
            ..TextOptions::default()
        };
        for report in testing::reports() {
            let text = to_text_with(&report, &options);
            assert!(widest(&text) <= width, "{width}: {}", widest(&text));
        }
    }
    let options = TextOptions {
        width: 10,
        ..TextOptions::default()
    };
    assert!(widest(&to_text_with(&testing::reports()[0], &options)) <= MIN_WIDTH);
}

#[test]
fn a_detailed_report_shows_every_part() {
    let text = to_text(&testing::reports()[0]);
    let position = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in\n{text}"))
    };
    assert!(text.starts_with("Query cache\ndetailed report · generated 2026-12-07 00:00:00 UTC"));
    // Findings first, most severe first.
    assert!(text.contains("Findings: 2 critical, 3 warning, 2 info"));
    assert!(position("CRITICAL") < position("WARNING"));
    assert!(position("WARNING") < position("INFO"));
    assert!(position("INFO") < position("── Cache results (cache.results) ──"));
    assert!(text.contains("evidence: pressure_level=critical,used_memory=50331648"));
    assert!(text.contains("to do: Raise the memory limit or lower the caches' budgets"));
    // Metrics in their units.
    assert!(text.contains("used_memory{cache=results}"));
    assert!(text.contains("48.0 MiB"));
    assert!(text.contains("90%"));
    assert!(text.contains("9,000 total"));
    assert!(text.contains("1.25 s total"));
    assert!(text.contains("512.0 MiB"));
    assert!(text.contains("unknown"));
    // An aligned table.
    let header = text
        .lines()
        .find(|l| l.contains("key") && l.contains("note"))
        .unwrap();
    let alpha = text.lines().find(|l| l.contains("alpha")).unwrap();
    assert_eq!(
        header.find("bytes").map(|i| i + 5),
        alpha.find("4096").map(|i| i + 4)
    );
    // Series with a sparkline and figures.
    assert!(text.contains("▁"));
    assert!(text.contains("120 points over 119 s: first 50%, last 89.67%"));
    // The latest events.
    assert!(text.contains("Events (latest 10 of 30)"));
    // On the day before the report, so with their date.
    assert!(
        text.contains(
            "\n  2026-12-06 23:59:59.000  resize: budget set to 35 MiB (from=36,to=35)\n"
        )
    );
    assert!(!text.contains("budget set to 64 MiB"));
    // A table too wide for the terminal, in groups of columns.
    let groups: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  column_number_0  "))
        .collect();
    assert!(groups.len() > 1, "{groups:?}");
    assert!(
        groups[1].starts_with("  column_number_0  column_number_5 "),
        "{groups:?}"
    );
}

#[test]
fn long_tables_are_cut_to_max_rows() {
    let mut t = Table::new("t", "T", &["n"]);
    for i in 0..50i64 {
        t.push(vec![i.into()]);
    }
    let mut s = Section::new("s", "S");
    s.tables.push(t);
    let mut report = Report::new(ReportKind::Detailed, "r", NOW);
    report.sections.push(s);
    let text = to_text(&report);
    assert!(text.contains("  … 30 more rows"));
    assert!(text.contains("\n  19\n"));
    assert!(!text.contains("\n  20\n"));
}

#[test]
fn a_summary_is_short() {
    let text = to_text(&testing::reports()[1]);
    assert!(!text.contains("Table:"));
    assert!(!text.contains("Series"));
    assert!(text.contains("maxmemory"));
}

#[test]
fn a_trend_report_shows_its_trends_table() {
    let text = to_text(&testing::reports()[2]);
    assert!(text.contains("Table: Trends over the last 60 s (trends)"));
}

#[test]
fn metrics_without_labels_or_help() {
    let mut s = Section::new("m", "M");
    s.metrics.push(Metric::gauge("x", "", Unit::None, 1.5));
    let mut report = Report::new(ReportKind::Detailed, "r", 0);
    report.sections.push(s);
    assert!(to_text(&report).contains("\n  x  1.5\n"));
}

#[test]
fn quantities_for_people() {
    let check = |v: f64, unit: Unit, expected: &str| assert_eq!(quantity(v, unit), expected, "{v}");
    check(0.0, Unit::None, "0");
    check(9000.0, Unit::None, "9,000");
    check(-1234567.0, Unit::None, "-1,234,567");
    check(1234.5678, Unit::None, "1,235");
    check(12.5, Unit::None, "12.5");
    check(0.503333, Unit::None, "0.5033");
    check(-0.5, Unit::None, "-0.5");
    check(1e-7, Unit::None, "1.000e-7");
    check(1e20, Unit::None, "1.000e20");
    check(f64::NAN, Unit::Bytes, "unknown");
    check(f64::INFINITY, Unit::None, "inf");
    check(512.0, Unit::Bytes, "512 B");
    check(1536.0, Unit::Bytes, "1.5 KiB");
    check(48.0 * 1048576.0, Unit::Bytes, "48.0 MiB");
    check(3.0 * 1024f64.powi(4), Unit::Bytes, "3.0 TiB");
    check(0.9, Unit::Ratio, "90%");
    check(0.12345, Unit::Ratio, "12.35%");
    check(1.25, Unit::Seconds, "1.25 s");
    check(0.35, Unit::Seconds, "350 ms");
    check(2.5e-6, Unit::Seconds, "2.5 µs");
    check(3e-9, Unit::Seconds, "3 ns");
}

#[test]
fn dates_in_utc() {
    assert_eq!(utc(0), "1970-01-01 00:00:00");
    assert_eq!(utc(NOW), "2026-12-07 00:00:00");
    assert_eq!(utc(951_782_400_000 + 3_723_000), "2000-02-29 01:02:03");
    assert_eq!(utc_time(1_234), "00:00:01.234");
    assert_eq!(span(59_000), "59 s");
    assert_eq!(span(3_600_000), "60 min 0 s");
    assert_eq!(span(7_260_000), "2 h 1 min");
}

#[test]
fn words_wrap_and_long_words_split() {
    assert_eq!(wrap("a bb ccc", 4), ["a bb", "ccc"]);
    assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
    assert_eq!(wrap("", 4), [""]);
    assert_eq!(wrap("x  \n y", 10), ["x y"]);
    assert_eq!(truncate("héllo", 4), "hél…");
    assert_eq!(truncate("héllo", 5), "héllo");
}

#[test]
fn columns_shrink_widest_first() {
    assert_eq!(fit_columns(&[3, 4], &[3, 4], 20), Some(vec![3, 4]));
    assert_eq!(
        fit_columns(&[10, 30, 5], &[10, 12, 5], 31),
        Some(vec![10, 12, 5])
    );
    assert_eq!(fit_columns(&[10, 30, 5], &[10, 12, 5], 30), None);
    assert_eq!(fit_columns(&[30, 30], &[12, 12], 22), None);
    assert_eq!(fit_columns(&[30, 30], &[12, 12], 28), Some(vec![13, 13]));
    assert_eq!(fit_columns(&[30, 20], &[12, 12], 42), Some(vec![20, 20]));
}

#[test]
fn wide_tables_split_into_groups_of_columns() {
    // All fit: one group.
    assert_eq!(
        column_groups(&[3, 4], &[3, 4], 20),
        [(vec![0, 1], vec![3, 4])]
    );
    // Text columns are cut before the table is split.
    assert_eq!(
        column_groups(&[10, 30, 30, 30, 30], &[10, 12, 12, 12, 12], 80),
        [(vec![0, 1, 2, 3, 4], vec![10, 15, 15, 15, 15])]
    );
    // Numbers are not: each group after the first repeats column 0.
    assert_eq!(
        column_groups(&[10, 30, 30, 30, 30], &[10, 30, 30, 30, 30], 80),
        [
            (vec![0, 1, 2], vec![10, 30, 30]),
            (vec![0, 3, 4], vec![10, 30, 30])
        ]
    );
    // Overlong columns are cut: column 0 to a third, others to half.
    assert_eq!(
        column_groups(&[200, 200, 200], &[200, 200, 200], 98),
        [(vec![0, 1], vec![32, 49]), (vec![0, 2], vec![32, 49])]
    );
    for (natural, room) in [
        (vec![1; 100], 38),
        (vec![500; 7], 38),
        (vec![3, 500, 2], 60),
    ] {
        for minimum in [
            natural.clone(),
            natural.iter().map(|&n| n.min(12)).collect(),
        ] {
            for (columns, widths) in column_groups(&natural, &minimum, room) {
                assert_eq!(columns[0], 0);
                assert!(widths.iter().sum::<usize>() + 2 * (widths.len() - 1) <= room);
            }
        }
    }
}

#[test]
fn sparklines_scale_from_lowest_to_highest() {
    let mut ts = TimeSeries::default();
    ts.points = (0..8u64).map(|i| (i, i as f64)).collect();
    assert_eq!(sparkline(&ts, 30), "▁▂▃▄▅▆▇█");
    ts.points = (0..80u64).map(|i| (i, (i / 10) as f64)).collect();
    assert_eq!(sparkline(&ts, 8), "▁▂▃▄▅▆▇█");
    ts.points = vec![(0, 5.0), (1, f64::NAN), (2, 5.0)];
    assert_eq!(sparkline(&ts, 30), "▁▁");
    ts.points.clear();
    assert_eq!(sparkline(&ts, 30), "");
}

/// A report whose every string is wide: CJK, emoji (with presentation selectors and joiners),
/// and a long word of them with no space to wrap at.
fn wide_report() -> Report {
    let cjk = "缓存命中率统计报告与内存压力分析";
    let emoji = "🚀🔥❤️👨‍👩‍👧🇯🇵✅";
    let long = format!("{cjk}{emoji}{cjk}{cjk}{emoji}{cjk}");
    let mut report = Report::new(ReportKind::Detailed, format!("{cjk} {emoji} {long}"), NOW);
    let mut s = Section::new(format!("缓存.{cjk}"), format!("{emoji} {cjk} {long}"));
    s.metrics.extend([
        Metric::gauge(
            format!("内存_{cjk}"),
            format!("{cjk} {emoji} {long}"),
            Unit::Bytes,
            4096.0,
        )
        .label("缓存", long.clone()),
        Metric::counter(emoji, cjk, Unit::None, 12.0).label(emoji, cjk),
        Metric::gauge(
            "x",
            format!("{emoji}{emoji}{emoji}{emoji}{emoji}{emoji}"),
            Unit::Ratio,
            0.5,
        ),
    ]);
    let mut table = Table::new("表", format!("{cjk} {long}"), &[cjk, "字节", emoji, "备注"]);
    for i in 0..5i64 {
        table.push(vec![
            long.clone().into(),
            (i * 1024).into(),
            format!("{emoji}{i}").into(),
            format!("{cjk} {emoji} {long}").into(),
        ]);
    }
    s.tables.push(table);
    let many: Vec<&str> = (0..12).map(|_| cjk).collect();
    s.tables
        .push(Table::new("宽", cjk, &many).row(many.iter().map(|&c| c.into()).collect()));
    let mut ts = TimeSeries::default();
    ts.name = format!("命中率_{cjk}{emoji}");
    ts.labels = vec![("缓存".into(), long.clone())];
    ts.unit = Some(Unit::Ratio);
    ts.points = (0..50u64)
        .map(|i| (NOW - 50_000 + i * 1000, i as f64 / 50.0))
        .collect();
    s.series.push(ts);
    for i in 0..3u64 {
        let mut e = cache_traits::Event::default();
        e.at_unix_millis = NOW - 1000 + i;
        e.kind = format!("调整{emoji}");
        e.message = format!("{cjk}{emoji} {long} {cjk}");
        e.fields = vec![(cjk.into(), long.clone())];
        s.events.push(e);
    }
    s.findings.push(
        cache_traits::Finding::new(
            cache_traits::Severity::Critical,
            format!("QC-{cjk}"),
            format!("{cjk} {emoji} {long}"),
            format!("{long} {emoji}"),
        )
        .evidence(cjk, long.clone()),
    );
    report.sections.push(s);
    report
}

fn display_width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

#[test]
fn wide_characters_take_two_columns_and_every_line_fits() {
    let report = wide_report();
    for width in 40..=120 {
        let options = TextOptions {
            width,
            ..TextOptions::default()
        };
        let text = to_text_with(&report, &options);
        for line in text.lines() {
            assert!(
                display_width(line) <= width,
                "{width}: {} columns: {line}",
                display_width(line)
            );
        }
        // Something was there to cut and to wrap.
        assert!(text.contains('…'), "{width}");
        assert!(text.contains("缓存命中率"), "{width}");
    }
    let text = to_text(&report);
    // The wide text takes up the lines: they are not left at half their width.
    let widest = text.lines().map(display_width).max().unwrap_or(0);
    assert!(widest >= 98, "{widest}");
}

#[test]
fn display_width_helpers() {
    assert_eq!(width_of("漢字"), 4);
    assert_eq!(width_of("a🚀"), 3);
    assert_eq!(truncate("漢字漢字", 8), "漢字漢字");
    assert_eq!(truncate("漢字漢字", 5), "漢字…");
    // A wide character is not split past the limit: one column short instead.
    assert_eq!(truncate("漢字漢字", 4), "漢…");
    assert_eq!(truncate("a漢字", 3), "a…");
    assert_eq!(pad_right("漢", 4), "漢  ");
    assert_eq!(pad_left("漢", 3), " 漢");
    assert_eq!(wrap("漢字漢字漢", 4), ["漢字", "漢字", "漢"]);
    assert_eq!(wrap("漢字 漢字漢", 6), ["漢字", "漢字漢"]);
    assert_eq!(wrap("漢字 漢字漢", 5), ["漢字", "漢字", "漢"]);
    assert_eq!(wrap("a漢字", 2), ["a", "漢", "字"]);
    // Narrower than one wide character: one a line, however.
    assert_eq!(wrap("漢字", 1), ["漢", "字"]);
    for text in ["❤️❤️❤️❤️", "👨‍👩‍👧👨‍👩‍👧👨‍👩‍👧", "🇯🇵🇯🇵🇯🇵🇯🇵"]
    {
        for width in 1..8 {
            let cut = truncate(text, width);
            assert!(display_width(&cut) <= width, "{text} at {width}: {cut}");
            for line in wrap(text, width.max(2)) {
                assert!(
                    display_width(&line) <= width.max(2),
                    "{text} at {width}: {line}"
                );
            }
        }
    }
}

#[test]
fn a_series_out_of_time_order_prints_its_span() {
    let mut ts = TimeSeries::default();
    ts.name = "x".to_owned();
    ts.points = vec![(NOW, 3.0), (NOW - 2000, 1.0), (NOW - 1000, 2.0)];
    let mut s = Section::new("s", "S");
    s.series.push(ts);
    let mut report = Report::new(ReportKind::Detailed, "r", NOW);
    report.sections.push(s);
    let text = to_text(&report);
    assert!(
        text.contains("3 points over 2 s: first 1, last 3, min 1, max 3, mean 2"),
        "{text}"
    );
    assert!(text.contains("slope +1/s"), "{text}");
    // The sparkline in time order.
    assert!(text.contains("▁▅█"), "{text}");
}

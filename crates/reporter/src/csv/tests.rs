use std::collections::HashSet;

use super::*;
use crate::testing;

/// Header and records of `text`, checking that every record is as long as the header.
fn parse(name: &str, text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .iter()
        .map(str::to_owned)
        .collect();
    assert!(
        !header.is_empty() && header.iter().all(|h| !h.is_empty()),
        "{name}: {header:?}"
    );
    let records = reader
        .records()
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("{name}: {e}"));
            r.iter().map(str::to_owned).collect()
        })
        .collect();
    (header, records)
}

fn file<'a>(files: &'a [(String, String)], name: &str) -> &'a str {
    &files
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .1
}

#[test]
fn every_file_parses_back_with_a_header() {
    for report in testing::reports() {
        let files = to_csv_files(&report);
        for (name, text) in &files {
            parse(name, text);
        }
    }
}

#[test]
fn file_names_are_safe_and_unique() {
    for report in testing::reports() {
        let files = to_csv_files(&report);
        let mut seen = HashSet::new();
        for (name, _) in &files {
            assert!(seen.insert(name.clone()), "{name} twice");
            assert!(name.ends_with(".csv"), "{name}");
            assert!(
                name.chars()
                    .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-')),
                "{name}"
            );
            assert!(!name.contains(".."), "{name}");
            assert!(!name.starts_with(['.', '-']), "{name}");
            assert!(name.len() <= MAX_STEM + 10, "{name}");
        }
    }
}

#[test]
fn file_names_from_hostile_parts() {
    let check =
        |parts: &[&str], expected: &str| assert_eq!(file_name(parts), expected, "{parts:?}");
    check(&["cache.results", "entries"], "cache.results.entries.csv");
    check(&["../../etc/passwd"], "_._etc_passwd.csv");
    check(&["..", ".."], "unnamed.csv");
    check(&["", ""], "unnamed.csv");
    check(&["a.", ".b"], "a.b.csv");
    check(&["-rf", "x"], "rf.x.csv");
    check(&["Cache Results", "Ünï/名"], "cache_results._n___.csv");
    check(&["C:\\x", "a\0b"], "c__x.a_b.csv");
    check(
        &[&"x".repeat(300)],
        &format!("{}.csv", "x".repeat(MAX_STEM)),
    );
    check(
        &[&format!("{}.y", "x".repeat(MAX_STEM - 1))],
        &format!("{}.csv", "x".repeat(MAX_STEM - 1)),
    );
}

#[test]
fn names_that_meet_get_a_number() {
    let mut names = FileNames::default();
    assert_eq!(names.claim("a.csv"), "a.csv");
    assert_eq!(names.claim("a.csv"), "a-2.csv");
    assert_eq!(names.claim("a.csv"), "a-3.csv");
    assert_eq!(names.claim("a-2.csv"), "a-2-2.csv");
}

#[test]
fn metrics_events_and_findings() {
    let files = to_csv_files(&testing::reports()[0]);
    let names: Vec<&str> = files.iter().take(3).map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, [METRICS_CSV, EVENTS_CSV, FINDINGS_CSV]);

    let (header, rows) = parse(METRICS_CSV, file(&files, METRICS_CSV));
    assert_eq!(
        header,
        ["section", "name", "kind", "unit", "labels", "value"]
    );
    assert_eq!(
        rows[0],
        [
            "cache.results",
            "used_memory",
            "gauge",
            "bytes",
            "cache=results",
            "50331648"
        ]
    );
    assert_eq!(rows[2][2], "counter");
    let unknown = rows.iter().find(|r| r[1] == "total_system_memory").unwrap();
    assert_eq!(unknown[5], "");

    let (header, rows) = parse(EVENTS_CSV, file(&files, EVENTS_CSV));
    assert_eq!(
        header,
        ["section", "at_unix_millis", "kind", "message", "fields"]
    );
    assert_eq!(rows.len(), 61);
    assert_eq!(rows[0][4], "from=65,to=64");

    let (header, rows) = parse(FINDINGS_CSV, file(&files, FINDINGS_CSV));
    assert_eq!(
        header,
        [
            "section",
            "severity",
            "code",
            "title",
            "evidence",
            "recommendation"
        ]
    );
    assert_eq!(
        rows[1][1..4],
        [
            "critical",
            "QC-PRESSURE-HIGH",
            "Memory pressure is critical"
        ]
    );
}

#[test]
fn tables_and_series_have_a_file_each() {
    let files = to_csv_files(&testing::reports()[0]);
    let (header, rows) = parse("entries", file(&files, "cache.results.entries.csv"));
    assert_eq!(header, ["key", "bytes", "score", "note"]);
    assert_eq!(rows[0], ["alpha", "4096", "0.5", ""]);
    assert_eq!(rows[1], ["beta", "18446744073709552000", "-1.5", "big"]);
    // Quotes, commas and line breaks survive; NaN is empty.
    assert_eq!(rows[2], ["gamma, \"quoted\"\nline", "-7", "", ""]);

    let (header, rows) = parse("ragged", file(&files, "_._etc_passwd.ragged.csv"));
    assert_eq!(header, ["a", "b"]);
    assert_eq!(rows, [["1", ""], ["1", "2"]]);
    assert!(!files.iter().any(|(n, _)| n.contains("no_columns")));

    let (header, rows) = parse(
        "series",
        file(&files, "cache.results.hit_ratio.results.csv"),
    );
    assert_eq!(header, ["at_unix_millis", "value"]);
    assert_eq!(rows.len(), 120);
    assert_eq!(
        rows[0],
        [(testing::NOW - 120_000).to_string(), "0.5".to_owned()]
    );
}

#[test]
fn an_empty_report_has_the_three_files_with_headers() {
    let report = Report::new(crate::ReportKind::Summary, "r", 0);
    let files = to_csv_files(&report);
    assert_eq!(files.len(), 3);
    assert_eq!(files[0].1, "section,name,kind,unit,labels,value\n");
}

#[test]
fn text_that_a_spreadsheet_would_run_gets_a_quote() {
    use cache_traits::{Event, Finding, Metric, Severity, Table, Unit};
    let hostile = [
        "=HYPERLINK(\"http://x\",\"y\")",
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
    ];
    let mut report = Report::new(crate::ReportKind::Detailed, "r", 0);
    for (i, h) in hostile.iter().enumerate() {
        let mut s = cache_traits::Section::new(format!("s{i}"), "S");
        s.metrics
            .push(Metric::gauge(*h, *h, Unit::None, -1.5).label(*h, *h));
        let mut e = Event::default();
        e.kind = (*h).to_owned();
        e.message = (*h).to_owned();
        e.fields.push(((*h).to_owned(), (*h).to_owned()));
        s.events.push(e);
        s.findings
            .push(Finding::new(Severity::Info, *h, *h, *h).evidence(*h, *h));
        s.tables.push(
            Table::new("t", "T", &[h, "n"])
                .row(vec![(*h).into(), (-3i64).into()])
                .row(vec![(-4.5).into(), "-".into()]),
        );
        report.sections.push(s);
    }
    // A section id that starts so.
    report.sections.push(cache_traits::Section::new("-s", "S"));
    report.sections[hostile.len()]
        .metrics
        .push(Metric::gauge("x", "", Unit::None, -7.0));

    let files = to_csv_files(&report);
    for (name, text) in &files {
        let (header, rows) = parse(name, text);
        for field in header.iter().chain(rows.iter().flatten()) {
            let numeric = field.parse::<f64>().is_ok();
            assert!(
                numeric || !field.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{name}: {field:?}"
            );
        }
    }
    let guarded = |h: &str| format!("'{h}");
    let (_, rows) = parse(METRICS_CSV, file(&files, METRICS_CSV));
    assert_eq!(
        rows[0],
        [
            "s0".to_owned(),
            guarded(hostile[0]),
            "gauge".to_owned(),
            "none".to_owned(),
            guarded(&format!("{0}={0}", hostile[0])),
            // Numbers stay numbers.
            "-1.5".to_owned(),
        ]
    );
    assert_eq!(rows[hostile.len()][0], "'-s");
    assert_eq!(rows[hostile.len()][5], "-7");
    let (_, rows) = parse(EVENTS_CSV, file(&files, EVENTS_CSV));
    for (row, h) in rows.iter().zip(hostile) {
        assert_eq!(row[1], "0");
        assert_eq!(
            row[2..],
            [guarded(h), guarded(h), guarded(&format!("{h}={h}"))]
        );
    }
    let (_, rows) = parse(FINDINGS_CSV, file(&files, FINDINGS_CSV));
    for (row, h) in rows.iter().zip(hostile) {
        assert_eq!(row[1], "info");
        assert_eq!(
            row[2..],
            [
                guarded(h),
                guarded(h),
                guarded(&format!("{h}={h}")),
                guarded(h)
            ]
        );
    }
    let (header, rows) = parse("table", file(&files, "s1.t.csv"));
    assert_eq!(header, [guarded(hostile[1]), "n".to_owned()]);
    assert_eq!(
        rows,
        [
            [guarded(hostile[1]), "-3".to_owned()],
            ["-4.5".to_owned(), "'-".to_owned()]
        ]
    );
}

#[test]
fn harmless_text_is_left_as_it_is() {
    assert_eq!(guard("a=b"), "a=b");
    assert_eq!(guard(""), "");
    assert_eq!(guard(" =1"), " =1");
    assert_eq!(guard("'=1"), "'=1");
    assert_eq!(guard("=1"), "'=1");
}

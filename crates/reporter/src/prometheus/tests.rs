//! Tests of the Prometheus renderer: names, suffixes, families, sanitizing, escaping, and
//! `promtool check metrics` where promtool is installed.

use std::io::Write;
use std::process::{Command, Stdio};

use cache_traits::{Metric, Section, Unit};

use super::{sanitize_name, to_prometheus};
use crate::{Report, ReportKind};

fn report(sections: Vec<Section>) -> Report {
    let mut report = Report::new(ReportKind::Detailed, "test", 1_700_000_000_000);
    report.sections = sections;
    report
}

fn section(id: &str, metrics: Vec<Metric>) -> Section {
    let mut section = Section::new(id, id);
    section.metrics = metrics;
    section
}

/// A report like the facade's: caches, memory, pressure, findings.
fn sample_report() -> Report {
    let cache = |name: &str, used: f64, hits: f64| {
        section(
            &format!("cache.{name}"),
            vec![
                Metric::gauge(
                    "used_memory",
                    "Bytes the cache is charged for",
                    Unit::Bytes,
                    used,
                )
                .label("cache", name),
                Metric::gauge(
                    "maxmemory",
                    "The cache's byte budget",
                    Unit::Bytes,
                    1048576.0,
                )
                .label("cache", name),
                Metric::counter(
                    "keyspace_hits",
                    "Lookups that found their key",
                    Unit::None,
                    hits,
                )
                .label("cache", name)
                .label("namespace", "embeddings"),
                Metric::gauge("hit", "Hits over lookups", Unit::Ratio, 0.75).label("cache", name),
                Metric::counter("evicted", "Bytes evicted", Unit::Bytes, 123.0)
                    .label("cache", name),
            ],
        )
    };
    report(vec![
        cache("results", 4096.0, 10.0),
        cache("context", 8192.0, 20.0),
        section(
            "pressure",
            vec![
                Metric::gauge("pressure_level", "0 normal … 3 critical", Unit::None, 2.0),
                Metric::counter("relief_actions", "Relief actions taken", Unit::None, 3.0)
                    .label("kind", "shrink"),
                Metric::counter("relief_actions", "Relief actions taken", Unit::None, 1.0)
                    .label("kind", "shrink_hard"),
                Metric::counter("tick", "Time spent in ticks", Unit::Seconds, 0.25),
            ],
        ),
        section("empty", Vec::new()),
    ])
}

#[test]
fn names_get_prefix_unit_and_total() {
    let text = to_prometheus(&sample_report());
    assert_lines(
        &text,
        &[
            "# TYPE query_cache_used_memory_bytes gauge",
            "# TYPE query_cache_maxmemory_bytes gauge",
            "# TYPE query_cache_keyspace_hits_total counter",
            "# TYPE query_cache_hit_ratio gauge",
            "# TYPE query_cache_evicted_bytes_total counter",
            "# TYPE query_cache_pressure_level gauge",
            "# TYPE query_cache_relief_actions_total counter",
            "# TYPE query_cache_tick_seconds_total counter",
            "# HELP query_cache_used_memory_bytes Bytes the cache is charged for",
            "query_cache_used_memory_bytes{cache=\"results\"} 4096.0",
            "query_cache_keyspace_hits_total{cache=\"context\",namespace=\"embeddings\"} 20.0",
            "query_cache_relief_actions_total{kind=\"shrink_hard\"} 1.0",
            "query_cache_pressure_level 2.0",
            "query_cache_hit_ratio{cache=\"results\"} 0.75",
        ],
    );
}

#[test]
fn every_counter_sample_ends_in_total_and_every_family_has_help_and_type() {
    let text = to_prometheus(&sample_report());
    let mut current_type = None;
    let mut families = 0;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            families += 1;
            let name = rest.split(' ').next().unwrap_or_default();
            let next = lines.next().unwrap_or_default();
            let mut words = next.split(' ');
            assert_eq!(words.next(), Some("#"), "HELP without TYPE: {line}");
            assert_eq!(words.next(), Some("TYPE"));
            assert_eq!(words.next(), Some(name), "TYPE names another family");
            current_type = words.next().map(|t| (name.to_owned(), t.to_owned()));
            continue;
        }
        let (family, kind) = current_type.clone().expect("a sample before any TYPE line");
        let sample_name = line.split(['{', ' ']).next().unwrap_or_default();
        assert_eq!(sample_name, family, "sample outside its family");
        if kind == "counter" {
            assert!(sample_name.ends_with("_total"), "{line}");
        }
    }
    // Families merge across sections: 5 per cache, shared by both caches, and 3 for pressure.
    assert_eq!(families, 8, "{text}");
}

#[test]
fn families_merge_across_sections_with_the_first_help() {
    let text = to_prometheus(&report(vec![
        section(
            "a",
            vec![Metric::gauge("level", "first help", Unit::None, 1.0).label("cache", "a")],
        ),
        section(
            "b",
            vec![Metric::gauge("level", "second help", Unit::None, 2.0).label("cache", "b")],
        ),
    ]));
    assert_eq!(
        text,
        "# HELP query_cache_level first help\n\
         # TYPE query_cache_level gauge\n\
         query_cache_level{cache=\"a\"} 1.0\n\
         query_cache_level{cache=\"b\"} 2.0\n"
    );
}

#[test]
fn repeated_samples_keep_the_first() {
    let text = to_prometheus(&report(vec![section(
        "a",
        vec![
            Metric::gauge("level", "h", Unit::None, 1.0)
                .label("a", "1")
                .label("b", "2"),
            // The same label set in another order is the same series.
            Metric::gauge("level", "h", Unit::None, 2.0)
                .label("b", "2")
                .label("a", "1"),
            // A counter whose exposed name a gauge took is dropped.
            Metric::counter("level", "h", Unit::None, 3.0),
            Metric::gauge("level_total", "h", Unit::None, 4.0),
            Metric::counter("level", "h", Unit::None, 5.0),
        ],
    )]));
    assert_eq!(
        text,
        "# HELP query_cache_level h\n\
         # TYPE query_cache_level gauge\n\
         query_cache_level{a=\"1\",b=\"2\"} 1.0\n\
         # HELP query_cache_level_total h\n\
         # TYPE query_cache_level_total counter\n\
         query_cache_level_total 3.0\n"
    );
}

#[test]
fn suffixes_are_not_doubled() {
    let text = to_prometheus(&report(vec![section(
        "a",
        vec![
            Metric::counter("evictions_total", "h", Unit::None, 1.0),
            Metric::gauge("heap_bytes", "h", Unit::Bytes, 2.0),
            Metric::counter("cpu_seconds_total", "h", Unit::Seconds, 3.0),
            Metric::gauge("bytes", "h", Unit::Bytes, 4.0),
        ],
    )]));
    assert_lines(
        &text,
        &[
            "query_cache_evictions_total 1.0",
            "query_cache_heap_bytes 2.0",
            "query_cache_cpu_seconds_total 3.0",
            "query_cache_bytes_bytes 4.0",
        ],
    );
}

#[test]
fn sanitize_names() {
    fn check(input: &str, expected: &str) {
        assert_eq!(sanitize_name(input), expected, "sanitize_name({input:?})");
    }
    check("used_memory", "used_memory");
    check("UsedMemory", "UsedMemory");
    check("cache.results-hits", "cache_results_hits");
    check("9lives", "_9lives");
    check("", "unnamed");
    check("__name__", "_name__");
    check("____", "_");
    check("a b\"c\nd{e}", "a_b_c_d_e_");
    check("größe", "gr__e");
    check("x:y", "x_y");
}

#[test]
fn hostile_names_labels_and_help_are_sanitized_and_escaped() {
    let text = to_prometheus(&report(vec![section(
        "evil",
        vec![
            Metric::gauge(
                "evil name{x=\"1\"} 666\n# TYPE",
                "help with \\ and \n newline",
                Unit::None,
                1.0,
            )
            .label(
                "bad label\"",
                "value with \" quote, \\ backslash and\nnewline",
            )
            .label("__name__", "shadow")
            .label("", "nameless")
            .label("empty", "")
            .label("bad_label_", "repeated name after sanitizing"),
        ],
    )]));
    assert_eq!(
        text,
        "# HELP query_cache_evil_name_x__1___666___TYPE help with \\\\ and \\n newline\n\
         # TYPE query_cache_evil_name_x__1___666___TYPE gauge\n\
         query_cache_evil_name_x__1___666___TYPE{bad_label_=\"value with \\\" quote, \\\\ backslash \
         and\\nnewline\",_name__=\"shadow\",unnamed=\"nameless\"} 1.0\n"
    );
    promtool_check_metrics(&text);
}

#[test]
fn non_finite_values_are_kept() {
    let text = to_prometheus(&report(vec![section(
        "a",
        vec![
            Metric::gauge("not_a_number", "h", Unit::None, f64::NAN),
            Metric::gauge("plus_infinity", "h", Unit::None, f64::INFINITY),
            Metric::gauge("minus_infinity", "h", Unit::None, f64::NEG_INFINITY),
            Metric::gauge("tiny", "h", Unit::None, 1e-9),
        ],
    )]));
    assert_lines(
        &text,
        &[
            "query_cache_not_a_number NaN",
            "query_cache_plus_infinity +Inf",
            "query_cache_minus_infinity -Inf",
            "query_cache_tiny 1e-9",
        ],
    );
    promtool_check_metrics(&text);
}

#[test]
fn an_empty_report_is_an_empty_exposition() {
    assert_eq!(to_prometheus(&report(Vec::new())), "");
    assert_eq!(to_prometheus(&report(vec![section("a", Vec::new())])), "");
}

#[test]
fn promtool_accepts_the_sample_report() {
    promtool_check_metrics(&to_prometheus(&sample_report()));
}

/// Fails unless every one of `lines` is a whole line of `text`.
fn assert_lines(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(
            text.lines().any(|l| l == *line),
            "no line {line:?} in\n{text}"
        );
    }
}

/// Runs `promtool check metrics` on `text` and fails on any complaint; says so and returns
/// where promtool is not installed.
pub(crate) fn promtool_check_metrics(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            eprintln!(
                "skipping `promtool check metrics`: promtool is not installed ({e}); \
                 `apt-get install prometheus` provides it"
            );
            return;
        }
    };
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.trim().is_empty() && stderr.trim().is_empty(),
        "promtool check metrics: {}\nstdout:\n{stdout}\nstderr:\n{stderr}\ninput:\n{text}",
        output.status
    );
}

#[test]
fn findings_are_counted_by_severity_and_code() {
    use cache_traits::{Finding, Section, Severity};
    let mut section = Section::new("pressure", "Pressure");
    for _ in 0..2 {
        section.findings.push(Finding::new(
            Severity::Warning,
            "QC-PRESSURE-HIGH",
            "high",
            "act",
        ));
    }
    section
        .findings
        .push(Finding::new(Severity::Critical, "QC-X", "x", "act"));
    let mut report = Report::new(ReportKind::Detailed, "t", 0);
    report.sections.push(section);
    let text = to_prometheus(&report);
    assert!(text.contains("# TYPE query_cache_findings gauge"), "{text}");
    assert!(
        text.contains("query_cache_findings{severity=\"warning\",code=\"QC-PRESSURE-HIGH\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("query_cache_findings{severity=\"critical\",code=\"QC-X\"} 1"),
        "{text}"
    );
    promtool_check_metrics(&text);
}

#[test]
fn many_samples_and_families_render_in_order_keeping_the_first() {
    // 50,000 samples of one family, each label set twice (the second time in another label
    // order, which is the same set); 10,000 families of one sample between them; 10,000
    // finding codes. Grouping is linear in the samples (it was quadratic: this took minutes in
    // a debug build), so this finishes quickly.
    const N: usize = 50_000;
    const FAMILIES: usize = 10_000;
    let mut metrics = Vec::with_capacity(2 * N + FAMILIES);
    for i in 0..N {
        metrics.push(
            Metric::gauge("level", "h", Unit::None, i as f64)
                .label("shard", i.to_string())
                .label("cache", "results"),
        );
        if i % 5 == 0 {
            metrics.push(Metric::gauge(
                format!("other_{}", i / 5),
                "o",
                Unit::None,
                1.0,
            ));
        }
    }
    for i in 0..N {
        metrics.push(
            Metric::gauge("level", "h", Unit::None, -1.0)
                .label("cache", "results")
                .label("shard", i.to_string()),
        );
    }
    let mut s = section("a", metrics);
    for i in 0..FAMILIES {
        // Every code twice: one sample of 2 each.
        for _ in 0..2 {
            s.findings.push(cache_traits::Finding::new(
                cache_traits::Severity::Warning,
                format!("QC-{i}"),
                "t",
                "r",
            ));
        }
    }
    let text = to_prometheus(&report(vec![s]));

    let lines =
        |prefix: &str| -> Vec<&str> { text.lines().filter(|l| l.starts_with(prefix)).collect() };
    let level: Vec<String> = (0..N)
        .map(|i| format!("query_cache_level{{shard=\"{i}\",cache=\"results\"}} {i}.0"))
        .collect();
    assert_eq!(lines("query_cache_level{"), level);
    let others: Vec<String> = (0..FAMILIES)
        .map(|i| format!("# TYPE query_cache_other_{i} gauge"))
        .collect();
    assert_eq!(lines("# TYPE query_cache_other_"), others);
    // The families in order of first appearance: `level`, the others, the findings.
    let types = lines("# TYPE");
    assert_eq!(types.len(), FAMILIES + 2);
    assert_eq!(types[0], "# TYPE query_cache_level gauge");
    assert_eq!(types[FAMILIES + 1], "# TYPE query_cache_findings gauge");
    let findings: Vec<String> = (0..FAMILIES)
        .map(|i| format!("query_cache_findings{{severity=\"warning\",code=\"QC-{i}\"}} 2.0"))
        .collect();
    assert_eq!(lines("query_cache_findings{"), findings);
}

//! Writes a realistic sample report with every kind of content to `OUT_DIR/report.html`
//! (default `target/sample-report`): three caches, process memory with a squeeze midway,
//! pressure levels and relief actions, the reclaim thread and sizing decisions, over an hour of
//! one-second history.
//!
//! `cargo run -p reporter --example sample_report -- [OUT_DIR]`, then
//! `cargo xtask html-check OUT_DIR/report.html` for a screenshot.

use std::error::Error;
use std::path::PathBuf;

use cache_traits::{Cell, Event, Finding, Metric, Section, Severity, Table, TimeSeries, Unit};
use reporter::{HtmlOptions, Report, ReportKind, to_html};

/// 2025-06-01 12:00:00 UTC.
const START: u64 = 1_748_779_200_000;
/// One hour at one second.
const N_SAMPLES: u64 = 3600;
/// When the squeeze starts and ends, in seconds from the start.
const SQUEEZE: (u64, u64) = (1700, 2300);
const MIB: f64 = 1024.0 * 1024.0;

fn main() -> Result<(), Box<dyn Error>> {
    let out_dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/sample-report"), PathBuf::from);
    std::fs::create_dir_all(&out_dir)?;
    let report = sample_report();
    let html = to_html(&report, &HtmlOptions::default());
    let path = out_dir.join("report.html");
    std::fs::write(&path, &html)?;
    println!("{} ({} bytes)", path.display(), html.len());
    Ok(())
}

fn sample_report() -> Report {
    let end = START + N_SAMPLES * 1000;
    let mut report = Report::new(ReportKind::Detailed, "query-cache demo", end);
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let caches = [
        ("embeddings", 160.0, 0.82),
        ("search_results", 96.0, 0.64),
        ("project_context", 48.0, 0.91),
    ];

    // Process memory, with the squeeze.
    let mut memory = Section::new("memory", "Process memory");
    let rss = series_of("rss", "Resident set size", Unit::Bytes, |t| {
        (380.0 + 40.0 * squeeze(t) + 6.0 * (t as f64 / 300.0).sin()) * MIB
    });
    let available = series_of(
        "available_memory",
        "Memory available to the process",
        Unit::Bytes,
        |t| (900.0 - 420.0 * squeeze(t) + noise.next() * 8.0) * MIB,
    );
    memory.metrics = vec![
        Metric::gauge(
            "rss",
            "Resident set size of the process",
            Unit::Bytes,
            last(&rss),
        ),
        Metric::gauge(
            "available_memory",
            "Memory the process could still use",
            Unit::Bytes,
            last(&available),
        ),
        Metric::gauge(
            "cgroup_limit",
            "The memory cgroup's limit (memory.max)",
            Unit::Bytes,
            1024.0 * MIB,
        ),
        Metric::gauge(
            "allocator_resident",
            "Bytes jemalloc holds resident",
            Unit::Bytes,
            371.5 * MIB,
        ),
        Metric::gauge(
            "allocator_fragmentation_ratio",
            "Resident over allocated bytes",
            Unit::None,
            1.07,
        ),
    ];
    memory.series = vec![rss, available];
    report.sections.push(memory);

    // Pressure levels and relief actions.
    let mut pressure = Section::new("pressure", "Memory pressure");
    let level_at = |t: u64| match t {
        t if t < SQUEEZE.0 => 0.0,
        t if t < SQUEEZE.0 + 60 => 1.0,
        t if t < SQUEEZE.0 + 180 => 2.0,
        t if t < SQUEEZE.0 + 215 => 3.0,
        t if t < SQUEEZE.0 + 420 => 2.0,
        t if t < SQUEEZE.1 => 1.0,
        _ => 0.0,
    };
    let level = series_of("pressure_level", "Pressure level", Unit::None, level_at);
    pressure.metrics = vec![
        Metric::gauge(
            "pressure_level",
            "0 normal, 1 elevated, 2 high, 3 critical",
            Unit::None,
            0.0,
        ),
        Metric::counter("relief_actions", "Relief actions taken", Unit::None, 7.0),
        Metric::counter(
            "relief_freed",
            "Bytes the relief actions freed",
            Unit::Bytes,
            212.0 * MIB,
        ),
        Metric::gauge(
            "time_to_relief",
            "From the kernel's notification to the first freed byte",
            Unit::Seconds,
            0.0051,
        ),
    ];
    let mut prev = 0.0;
    for t in 0..N_SAMPLES {
        let now = level_at(t);
        if now != prev {
            pressure.events.push(event(
                t,
                "level_change",
                &format!("pressure {} → {}", level_name(prev), level_name(now)),
                &[("rss_mib", format!("{:.0}", 380.0 + 40.0 * squeeze(t)))],
            ));
            if now > prev {
                pressure.events.push(event(
                    t + 1,
                    "relief",
                    "shrank the caches to their floor and purged the allocator",
                    &[
                        ("freed_mib", format!("{:.0}", 30.0 * now)),
                        ("caches", "3".to_owned()),
                    ],
                ));
            }
            prev = now;
        }
    }
    pressure.series = vec![level];
    pressure.findings.push(
        Finding::new(
            Severity::Critical,
            "QC-PRESSURE-CRITICAL",
            "Memory pressure reached critical for 35 s",
            "Lower the caches' budgets or raise the cgroup limit: at critical the kernel may kill the process",
        )
        .evidence("peak_level", "critical")
        .evidence("seconds_at_critical", 35)
        .evidence("rss_peak", "421 MiB")
        .evidence("cgroup_limit", "1024 MiB"),
    );
    pressure.findings.push(
        Finding::new(
            Severity::Info,
            "QC-PRESSURE-RELIEF",
            "Relief actions freed 212 MiB within 5.1 ms of each notification",
            "Nothing to do: relief works as configured",
        )
        .evidence("relief_actions", 7)
        .evidence("time_to_relief", "5.1 ms"),
    );
    report.sections.push(pressure);

    // The caches.
    for (idx, &(name, budget_mib, hit_ratio)) in caches.iter().enumerate() {
        let mut section = Section::new(format!("cache.{name}"), format!("Cache {name}"));
        let phase = idx as f64;
        let used = series_of("used_memory", "Bytes charged", Unit::Bytes, |t| {
            let fill = (t as f64 / 600.0).min(1.0);
            budget_mib
                * MIB
                * fill
                * (1.0 - 0.45 * squeeze(t))
                * (0.97 + 0.02 * (t as f64 / 90.0 + phase).sin())
        });
        let ratio = series_of("hit_ratio", "Hit ratio, per second", Unit::Ratio, |t| {
            let shift = if (2600..2900).contains(&t) { 0.2 } else { 0.0 };
            (hit_ratio - 0.12 * squeeze(t) - shift + noise.next() * 0.04).clamp(0.0, 1.0)
        });
        let keys = (budget_mib * 1024.0 / 2.5).round();
        section.metrics = vec![
            Metric::gauge(
                "used_memory",
                "Bytes the cache is charged for",
                Unit::Bytes,
                last(&used),
            )
            .label("cache", name),
            Metric::gauge(
                "maxmemory",
                "The cache's byte budget",
                Unit::Bytes,
                budget_mib * MIB,
            )
            .label("cache", name),
            Metric::gauge("keys", "Entries held", Unit::None, keys).label("cache", name),
            Metric::counter(
                "keyspace_hits",
                "Lookups that found a live entry",
                Unit::None,
                (hit_ratio * 3.6e6).round(),
            )
            .label("cache", name),
            Metric::counter(
                "keyspace_misses",
                "Lookups that found nothing",
                Unit::None,
                ((1.0 - hit_ratio) * 3.6e6).round(),
            )
            .label("cache", name),
            Metric::gauge(
                "hit_ratio",
                "Hits over lookups since the cache was built",
                Unit::Ratio,
                hit_ratio,
            )
            .label("cache", name),
            Metric::counter(
                "evicted_keys",
                "Entries evicted for the budget or under pressure",
                Unit::None,
                (keys * 1.7).round(),
            )
            .label("cache", name),
        ];
        let mut removals = Table::new(
            "removals",
            "Removals by cause",
            &["cause", "entries", "bytes", "share"],
        );
        for (cause, entries, bytes, share) in [
            ("size", 41_220_u64, 103_050_000_u64, Some(0.62)),
            ("pressure", 20_410, 51_025_000, Some(0.31)),
            ("expired", 4_650, 11_625_000, Some(0.07)),
            ("explicit", 0, 0, None),
        ] {
            removals.push(vec![
                cause.into(),
                entries.into(),
                bytes.into(),
                share.into(),
            ]);
        }
        section.tables.push(removals);
        section.series = vec![used, ratio];
        if name == "search_results" {
            section.findings.push(
                Finding::new(
                    Severity::Warning,
                    "QC-HIT-RATIO-LOW",
                    "Hit ratio of search_results fell to 44 % after the popularity shift",
                    "Give search_results a larger share of the budget, or shorten its time-to-live so that stale results leave sooner",
                )
                .evidence("cache", name)
                .evidence("hit_ratio_before", "64 %")
                .evidence("hit_ratio_after", "44 %")
                .evidence("window", "12:43:20–12:48:20 UTC"),
            );
        }
        report.sections.push(section);
    }

    // The caches' memory side by side: one chart, three lines.
    let mut overview = Section::new("caches", "All caches");
    overview.series = caches
        .iter()
        .map(|&(name, budget_mib, _)| {
            let mut s = series_of(
                "used_memory",
                "Bytes charged, per cache",
                Unit::Bytes,
                |t| budget_mib * MIB * (t as f64 / 600.0).min(1.0) * (1.0 - 0.45 * squeeze(t)),
            );
            s.labels.push(("cache".to_owned(), name.to_owned()));
            s
        })
        .collect();
    overview.events = report
        .sections
        .iter()
        .find(|s| s.id == "pressure")
        .map(|s| s.events.clone())
        .unwrap_or_default();
    report.sections.push(overview);

    // The reclaim thread (gc-coord).
    let mut gc = Section::new("gc", "Reclaim thread");
    gc.metrics = vec![
        Metric::counter(
            "reclaimed_items",
            "Values dropped on the reclaim thread",
            Unit::None,
            1_284_330.0,
        ),
        Metric::counter(
            "reclaimed",
            "Bytes dropped on the reclaim thread",
            Unit::Bytes,
            3.1 * 1024.0 * MIB,
        ),
        Metric::counter(
            "inline_drops",
            "Values dropped inline because the queue was full",
            Unit::None,
            112.0,
        ),
        Metric::gauge(
            "drop_latency_p99",
            "99th percentile of one drop",
            Unit::Seconds,
            0.000_083,
        ),
    ];
    gc.series = vec![series_of(
        "reclaim_queue",
        "Bytes waiting to be dropped",
        Unit::Bytes,
        |t| {
            let burst = if (SQUEEZE.0..SQUEEZE.0 + 20).contains(&t) {
                24.0
            } else {
                0.0
            };
            (0.4 + burst + noise.next().abs() * 0.8) * MIB
        },
    )];
    report.sections.push(gc);

    // Sizing decisions.
    let mut sizing = Section::new("sizing", "Sizing decisions");
    let mut decisions = Table::new(
        "decisions",
        "Budget changes",
        &["at", "cache", "from_bytes", "to_bytes", "reason"],
    );
    for (t, cache, from, to, reason) in [
        (
            900,
            "embeddings",
            160.0,
            176.0,
            "hit ratio gain per MiB above the others",
        ),
        (
            SQUEEZE.0 + 1,
            "search_results",
            96.0,
            52.0,
            "pressure high: shrink to floor",
        ),
        (
            SQUEEZE.0 + 1,
            "embeddings",
            176.0,
            96.0,
            "pressure high: shrink to floor",
        ),
        (
            SQUEEZE.1 + 30,
            "embeddings",
            96.0,
            160.0,
            "pressure normal: restore",
        ),
        (
            SQUEEZE.1 + 30,
            "search_results",
            52.0,
            96.0,
            "pressure normal: restore",
        ),
    ] {
        decisions.push(vec![
            clock(START + t * 1000).into(),
            cache.into(),
            Cell::from((from * MIB) as u64),
            Cell::from((to * MIB) as u64),
            reason.into(),
        ]);
        sizing.events.push(event(
            t,
            "resize",
            &format!("{cache}: {from:.0} MiB → {to:.0} MiB"),
            &[("reason", reason.to_owned())],
        ));
    }
    sizing.tables.push(decisions);
    sizing.findings.push(
        Finding::new(
            Severity::Warning,
            "QC-BUDGET-FLAPPING",
            "embeddings was resized 3 times in an hour",
            "Widen the sizing band or lengthen the sizing interval",
        )
        .evidence("resizes", 3)
        .evidence("band", "1 %"),
    );
    report.sections.push(sizing);
    report
}

/// A series of one point a second over the hour.
fn series_of(name: &str, title: &str, unit: Unit, mut value: impl FnMut(u64) -> f64) -> TimeSeries {
    let mut s = TimeSeries::default();
    s.name = name.to_owned();
    s.title = title.to_owned();
    s.unit = Some(unit);
    s.points = (0..N_SAMPLES)
        .map(|t| (START + t * 1000, value(t)))
        .collect();
    s
}

fn last(series: &TimeSeries) -> f64 {
    series.points.last().map_or(0.0, |p| p.1)
}

/// 0 before and after the squeeze, rising to 1 and back within it.
fn squeeze(t: u64) -> f64 {
    if !(SQUEEZE.0..SQUEEZE.1).contains(&t) {
        return 0.0;
    }
    let x = (t - SQUEEZE.0) as f64 / (SQUEEZE.1 - SQUEEZE.0) as f64;
    (x * std::f64::consts::PI).sin().powf(0.5)
}

fn event(t: u64, kind: &str, message: &str, fields: &[(&str, String)]) -> Event {
    let mut e = Event::default();
    e.at_unix_millis = START + t * 1000;
    e.kind = kind.to_owned();
    e.message = message.to_owned();
    e.fields = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    e
}

fn level_name(level: f64) -> &'static str {
    ["normal", "elevated", "high", "critical"][level as usize]
}

/// `12:34:56`.
fn clock(unix_millis: u64) -> String {
    let secs = unix_millis / 1000 % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// A small deterministic noise source in -1..1 (xorshift), so the sample is the same each run.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

//! Serves a small sample report on the metrics endpoint until interrupted: three caches whose
//! counters grow with time, the pressure level, relief actions, the memory limit and a finding,
//! under the names the facade exports and `alerting/` reads.
//!
//! `cargo run -p reporter --features server --example serve_sample -- [ADDR]` (default
//! `127.0.0.1:9898`), then `curl http://ADDR/metrics`, or `cargo xtask scrape-check --target
//! ADDR` for a real Prometheus to scrape it.

use std::error::Error;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cache_traits::{Finding, Metric, Section, Severity, Unit};
use reporter::{DEFAULT_ADDRESS, MetricsServer, Report, ReportKind};

const MIB: f64 = 1024.0 * 1024.0;

fn main() -> Result<(), Box<dyn Error>> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_ADDRESS.to_owned());
    let started = Instant::now();
    let server = MetricsServer::builder()
        .address(address)
        .report(move || sample_report(started.elapsed()))
        .start()?;
    println!(
        "serving http://{0}/metrics, http://{0}/report.json and http://{0}/report.html; \
         interrupt to stop",
        server.local_addr()
    );
    loop {
        std::thread::park_timeout(Duration::from_secs(3600));
    }
}

/// The report `uptime` after the start.
fn sample_report(uptime: Duration) -> Report {
    let secs = uptime.as_secs_f64();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut report = Report::new(ReportKind::Detailed, "query-cache sample", now);

    for (cache, namespace, budget_mib, hit_rate, miss_rate) in [
        ("results", "search_results", 64.0, 900.0, 100.0),
        ("embeddings", "embeddings", 256.0, 400.0, 350.0),
        ("context", "project_context", 32.0, 120.0, 30.0),
    ] {
        let mut section = Section::new(format!("cache.{cache}"), format!("Cache {cache}"));
        let used = (budget_mib * MIB * (0.6 + 0.3 * (secs / 60.0).sin().abs())).floor();
        section.metrics.extend([
            Metric::gauge(
                "used_memory",
                "Bytes the cache is charged for",
                Unit::Bytes,
                used,
            )
            .label("cache", cache),
            Metric::gauge(
                "maxmemory",
                "The cache's byte budget",
                Unit::Bytes,
                budget_mib * MIB,
            )
            .label("cache", cache),
            Metric::counter(
                "keyspace_hits",
                "Lookups that found their key",
                Unit::None,
                (hit_rate * secs).floor(),
            )
            .label("cache", cache)
            .label("namespace", namespace),
            Metric::counter(
                "keyspace_misses",
                "Lookups that did not find their key",
                Unit::None,
                (miss_rate * secs).floor(),
            )
            .label("cache", cache)
            .label("namespace", namespace),
        ]);
        report.sections.push(section);
    }

    let level = (secs / 20.0) as u64 % 4;
    let mut pressure = Section::new("pressure", "Memory pressure");
    pressure.metrics.extend([
        Metric::gauge(
            "pressure_level",
            "0 normal, 1 elevated, 2 high, 3 critical",
            Unit::None,
            level as f64,
        ),
        Metric::counter(
            "pressure_level_changes",
            "Changes of the pressure level",
            Unit::None,
            (secs / 20.0).floor(),
        ),
        Metric::counter(
            "relief_actions",
            "Relief actions taken, by kind",
            Unit::None,
            (secs / 7.0).floor(),
        )
        .label("kind", "shrink"),
        Metric::counter(
            "relief_actions",
            "Relief actions taken, by kind",
            Unit::None,
            (secs / 30.0).floor(),
        )
        .label("kind", "shrink_hard"),
    ]);
    report.sections.push(pressure);

    let mut memory = Section::new("memory", "Process memory");
    memory.metrics.extend([
        Metric::gauge(
            "memory_limit",
            "The memory limit the process runs under",
            Unit::Bytes,
            1024.0 * MIB,
        )
        .label("source", "cgroup"),
        Metric::gauge(
            "memory_limit_used",
            "Memory used against that limit",
            Unit::Bytes,
            (700.0 * MIB + 10.0 * MIB * (secs / 10.0).sin()).floor(),
        )
        .label("source", "cgroup"),
    ]);
    memory.findings.push(
        Finding::new(
            Severity::Warning,
            "QC-HIT-RATIO-LOW",
            "The embeddings cache answers about half of its lookups",
            "Give it a larger budget, or check that its keys repeat",
        )
        .evidence("hit_ratio", "0.53"),
    );
    memory.metrics.push(
        Metric::gauge(
            "findings",
            "Open findings, by severity and code",
            Unit::None,
            1.0,
        )
        .label("severity", "warning")
        .label("code", "QC-HIT-RATIO-LOW"),
    );
    report.sections.push(memory);
    report
}

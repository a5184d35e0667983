//! `cargo xtask bench report`: how long every format of a report takes to render, and how
//! large each is.
//!
//! The report is the detailed one of a real stack: a 100,000-entry cache, its reclaimer and a
//! memory manager (memory, pressure and sizing sections), each metric with an hour of
//! one-second history (3,600 points per series). Every format is rendered 21 times; the table
//! shows the median per format and for all together (target: under 50 ms together), and the
//! sizes (target: HTML under 1 MB). Writes `target/bench/report.json`.

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark binary: a failed setup step should abort loudly"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use query_cache::reporting::{
    History, HtmlOptions, Report, ReportKind, to_csv_files, to_html, to_json_compact,
    to_prometheus, to_text,
};
use query_cache::{Bounds, Cache, MemoryManager, Reclaim, Reclaimer, ReportSource};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const ENTRIES: u64 = 100_000;
const HOUR: u64 = 3600;
const RUNS: usize = 21;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let reclaimer = Arc::new(Reclaimer::<(u64, Vec<u8>)>::builder().build().unwrap());
    let cache: Arc<Cache<u64, Vec<u8>>> = Arc::new(
        Cache::builder()
            .name("results")
            .max_bytes(256 << 20)
            .reclaimer(reclaimer.clone() as Arc<dyn Reclaim<(u64, Vec<u8>)>>)
            .build()
            .unwrap(),
    );
    for k in 0..ENTRIES {
        cache.insert(k, vec![0u8; 256]);
    }
    let manager = MemoryManager::builder()
        .cache(cache.clone(), Bounds::new(16 << 20, 256 << 20))
        .notifications(false)
        .build()
        .unwrap();
    manager.tick_now();
    let sources: Vec<Arc<dyn ReportSource>> =
        vec![cache.clone(), reclaimer.clone(), manager.report_source()];
    let sections: Vec<_> = sources.iter().flat_map(|s| s.sections()).collect();

    // An hour of one-second history, the values moving so no series is flat.
    let mut history = History::default();
    let start = 1_700_000_000_000u64;
    for second in 0..HOUR {
        let mut now = sections.clone();
        for s in &mut now {
            for m in &mut s.metrics {
                m.value += (second % 97) as f64 * (1.0 + m.value.abs() * 1e-3);
            }
        }
        history.record(start + second * 1000, &now);
    }
    let mut report = Report::new(ReportKind::Detailed, "bench", start + HOUR * 1000);
    for mut s in sections {
        s.series.extend(history.series_of(&s.id));
        report.sections.push(s);
    }
    let n_series: usize = report.sections.iter().map(|s| s.series.len()).sum();
    let points: usize = report
        .sections
        .iter()
        .flat_map(|s| &s.series)
        .map(|s| s.points.len())
        .sum();

    let options = HtmlOptions::default();
    let formats: [(&str, &dyn Fn() -> usize); 5] = [
        ("json", &|| to_json_compact(&report).len()),
        ("csv", &|| {
            to_csv_files(&report).iter().map(|(_, c)| c.len()).sum()
        }),
        ("text", &|| to_text(&report).len()),
        ("html", &|| to_html(&report, &options).len()),
        ("prometheus", &|| to_prometheus(&report).len()),
    ];
    let mut rows = Vec::new();
    let mut totals = Vec::new();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); formats.len()];
    let mut sizes = vec![0usize; formats.len()];
    for _ in 0..RUNS {
        let all = Instant::now();
        for (i, (_, render)) in formats.iter().enumerate() {
            let t = Instant::now();
            sizes[i] = std::hint::black_box(render());
            times[i].push(t.elapsed());
        }
        totals.push(all.elapsed());
    }
    println!(
        "report: {} sections, {n_series} series, {points} points; {RUNS} runs, medians",
        report.sections.len()
    );
    println!("{:<12} {:>10} {:>12}", "format", "ms", "bytes");
    for (i, (name, _)) in formats.iter().enumerate() {
        let ms = median(times[i].clone()).as_secs_f64() * 1e3;
        println!("{name:<12} {ms:>10.2} {:>12}", sizes[i]);
        rows.push(serde_json::json!({"format": name, "ms": ms, "bytes": sizes[i]}));
    }
    let total = median(totals).as_secs_f64() * 1e3;
    println!("{:<12} {total:>10.2}   (target: under 50 ms)", "all");
    let html = sizes[3];
    println!(
        "html: {html} bytes ({}; target under 1 MB)",
        if html < 1 << 20 { "met" } else { "NOT met" }
    );
    let out = serde_json::json!({
        "entries": ENTRIES, "series": n_series, "points": points,
        "formats": rows, "all_ms": total, "html_bytes": html,
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&out).unwrap(),
    );
}

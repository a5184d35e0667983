//! Hit ratios of `ClockTinyLfu` on every row of the traces README's reference table, beside the best published value.
//!
//! Run with `cargo run --release -p eviction --example clock_suite [-- --hybrid]`; the traces
//! directory is `$QC_TRACES`, else `/work/shared/traces`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "an example binary: a missing trace should abort loudly"
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cache_traits::EvictionPolicy;
use eviction::sim::simulate;
use eviction::trace::{Trace, TraceFormat};
use eviction::{ClockTinyLfu, Hybrid};

/// One row of the README's table: trace stem, size, best of LRU, ARC, LIRS and W-TinyLFU.
struct Row {
    trace: String,
    size: u64,
    best: f64,
}

fn rows(readme: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for line in readme.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.len() < 7 {
            continue;
        }
        let Ok(size) = cells[1].replace(',', "").parse::<u64>() else {
            continue;
        };
        let best = cells[2..6]
            .iter()
            .filter_map(|c| c.split_whitespace().next()?.parse::<f64>().ok())
            .fold(f64::NAN, f64::max);
        rows.push(Row {
            trace: cells[0].to_owned(),
            size,
            best,
        });
    }
    rows
}

fn trace_files(dir: &Path) -> HashMap<String, PathBuf> {
    let mut files = HashMap::new();
    for entry in std::fs::read_dir(dir).expect("traces directory") {
        let path = entry.unwrap().path();
        let inner: Vec<PathBuf> = if path.is_dir() {
            std::fs::read_dir(&path)
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect()
        } else {
            vec![path]
        };
        for p in inner {
            if p.is_file() && TraceFormat::from_path(&p).is_some() {
                let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
                files.insert(stem, p);
            }
        }
    }
    files
}

fn main() {
    let dir = std::env::var_os("QC_TRACES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/traces"));
    let with_hybrid = std::env::args().any(|a| a == "--hybrid");
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("traces README");
    let files = trace_files(&dir);
    let mut traces: HashMap<String, Trace> = HashMap::new();
    println!(
        "| trace | size | clock-tinylfu | window | best published | margin |{}",
        if with_hybrid { " hybrid |" } else { "" }
    );
    println!(
        "|---|---:|---:|---:|---:|---:|{}",
        if with_hybrid { "---:|" } else { "" }
    );
    let (mut worst, mut misses) = (f64::INFINITY, 0);
    for row in rows(&readme) {
        let key = row.trace.to_lowercase();
        let Some((_, path)) = files.iter().find(|(stem, _)| stem.to_lowercase() == key) else {
            println!("| {} | {} | (trace missing) | | | |", row.trace, row.size);
            continue;
        };
        let trace = traces
            .entry(key)
            .or_insert_with(|| Trace::read(path, None).expect("readable trace"));
        let mut policy = ClockTinyLfu::new();
        let ours = simulate(trace, &mut policy, row.size).hit_ratio();
        let margin = ours - row.best;
        worst = worst.min(margin);
        if margin < -1.0 {
            misses += 1;
        }
        let mut line = format!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:+.2}{} |",
            row.trace,
            row.size,
            ours,
            policy.window_share(),
            row.best,
            margin,
            if margin < -1.0 { " ✗" } else { "" }
        );
        if with_hybrid {
            let mut hybrid = Hybrid::new();
            let h = simulate(trace, &mut hybrid, row.size).hit_ratio();
            line.push_str(&format!(" {h:.2} |"));
        }
        println!("{line}");
        let _ = policy.name();
    }
    println!("\nworst margin {worst:+.2}; rows more than 1 point below the best: {misses}");
    if std::env::args().any(|a| a == "--zipf") {
        zipf_rows();
    }
}

/// Zipf(1.0) over a million keys, as the peers bench's read-through workload, beside SIEVE
/// and the hybrid (no published numbers: a check that frequency admission pays on skew).
fn zipf_rows() {
    let universe = 1_000_000usize;
    let mut cdf = Vec::with_capacity(universe);
    let mut total = 0.0;
    for rank in 1..=universe {
        total += 1.0 / rank as f64;
        cdf.push(total);
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let keys: Vec<u64> = (0..16_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x >> 11) as f64 / (1u64 << 53) as f64 * total;
            cdf.partition_point(|&c| c < u) as u64
        })
        .collect();
    let trace = Trace::from_keys(keys);
    for size in [1_000, 10_000, 100_000] {
        let mut policy = ClockTinyLfu::new();
        let ours = simulate(&trace, &mut policy, size).hit_ratio();
        let fixed = simulate(&trace, &mut ClockTinyLfu::with_static_window(0.01), size).hit_ratio();
        let sieve = simulate(&trace, &mut eviction::Sieve::new(), size).hit_ratio();
        let hybrid = simulate(&trace, &mut Hybrid::new(), size).hit_ratio();
        println!(
            "zipf(1.0) size {size}: clock-tinylfu {ours:.2} (window {:.2}; static 1 %: {fixed:.2}), sieve {sieve:.2}, hybrid {hybrid:.2}",
            policy.window_share()
        );
    }
}

//! Benchmark `reclaim`: RSS after shrinking a cache, insert tail latency while large values are
//! evicted, and read-through throughput, with gc-coord's reclaimer on and off, beside moka and
//! quick_cache; and, on request, a sweep of the reclaimer's `inline_below_bytes` threshold.
//!
//! Run with `cargo xtask bench reclaim [rss] [latency] [hot] [sweep]` (the first three by
//! default; `sweep` only when named). Every experiment runs in a child process (this binary
//! re-executed with `--child`), one per variant, so that RSS baselines and allocator state do not
//! mix. Results are printed as a table and written to `target/bench/reclaim.json` in the
//! workspace (the sweep's to `target/bench/reclaim_sweep.json`).
//!
//! The sweep fills a 32 MiB cache with one kind of value and then times inserts that each evict:
//! demo-like query results (a SQL key and 1 to 20 rows of strings, 4 to 23 allocations), larger
//! results (100 rows), 1 KiB byte buffers (one allocation) and short strings (one allocation),
//! each with the reclaimer's threshold at several values, and with no reclaimer at all.
//!
//! What each peer does to shrink, since neither moka nor quick_cache has exactly our
//! `set_capacity`:
//! - moka has no run-time resize: the oldest entries are invalidated until 64 MiB of values
//!   remain, then `run_pending_tasks` runs so they are really dropped;
//! - quick_cache has `Cache::set_capacity`, which evicts down to the new weight at once.

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark harness: failing loudly is the point"
)]

use std::env;
use std::fs;
use std::hash::Hash;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use cache_traits::{HeapSize, Reclaim};
use gc_coord::{PurgeKind, Reclaimer, ReclaimerStats};
use serde_json::{Value, json};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// The four variants every table compares.
const VARIANTS: [&str; 4] = [
    "query-cache",
    "query-cache-no-gc-coord",
    "moka",
    "quick_cache",
];

/// Not part of the comparison: query-cache whose eviction waves run the gentle `decay` (jemalloc's
/// own 10 s decay untouched) instead of gc-coord's default `purge`, to show what the purge buys.
const EXTRA_RSS_VARIANT: &str = "query-cache-wave-decay";

// RSS experiment.
const RSS_VALUE_BYTES: usize = 64 * KIB as usize;
const RSS_FILL_BYTES: u64 = 512 * MIB;
const RSS_TARGET_BYTES: u64 = 64 * MIB;
/// Room for per-entry overhead so that the whole fill fits without eviction.
const RSS_FILL_BUDGET: u64 = RSS_FILL_BYTES + 64 * MIB;

// Latency experiment.
const LAT_VALUE_BYTES: usize = MIB as usize;
const LAT_BUDGET: u64 = 256 * MIB;
const LAT_INSERTS: usize = 10_000;
/// The latency workloads and how many values each makes (and touches) ahead of their timed
/// inserts. The first is the headline: values made a batch ahead, so writing a fresh megabyte
/// right before an insert does not flush the cache's own structures out of the CPU caches, and
/// the timing shows the insert and the eviction it causes. The second makes each value right
/// before its insert: every insert then starts with cold CPU caches, whatever drops the evicted
/// value, and much dirty memory never piles up in the allocator.
const LAT_WORKLOADS: [(&str, usize); 2] = [
    ("insert_while_evicting_1MiB", 256),
    ("insert_while_evicting_1MiB_fresh_value", 1),
];

// Hot-path experiment.
const HOT_CAPACITY: u64 = 100_000;
const HOT_KEYS: usize = 1_000_000;
const HOT_REQUESTS: usize = 2_000_000;
const HOT_ROUNDS: usize = 25;
const HOT_SEED: u64 = 0x5EED_CAFE_F00D_D00D;

// Threshold sweep.
/// The value kinds the sweep inserts; see [`SweepKind`].
const SWEEP_KINDS: [SweepKind; 4] = [
    SweepKind {
        name: "query_rows_1_20",
        about: "demo-like query results: SQL key, Arc<Vec<Row>> of 1-20 rows, 4-23 allocations",
        inserts: 200_000,
    },
    SweepKind {
        name: "query_rows_100",
        about: "larger query results: SQL key, Arc<Vec<Row>> of 100 rows, 103 allocations",
        inserts: 40_000,
    },
    SweepKind {
        name: "bytes_1KiB",
        about: "u64 key, Vec<u8> of 1000 bytes: 1 allocation",
        inserts: 200_000,
    },
    SweepKind {
        name: "small_string",
        about: "u64 key, String of at most 8 bytes: 1 allocation",
        inserts: 400_000,
    },
];
/// The thresholds swept: `none` is a cache without a reclaimer (evicted values dropped by the
/// cache after its lock), `all` is a reclaimer that drops everything inline.
const SWEEP_THRESHOLDS: [&str; 7] = ["none", "0", "256", "512", "1024", "4096", "all"];
const SWEEP_BUDGET: u64 = 32 * MIB;
/// Values made ahead of their timed inserts, on the request thread.
const SWEEP_MADE_AHEAD: usize = 256;
/// Rounds of the whole sweep; each figure printed is the median over the rounds.
const SWEEP_ROUNDS: usize = 5;

type Pair = (u64, Vec<u8>);

fn main() -> Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        return child(&args[pos + 1..]);
    }
    parent(&args)
}

// ---------------------------------------------------------------------------------------------
// Parent: runs the children, prints the table, writes the JSON.

fn parent(args: &[String]) -> Result<()> {
    // Cargo may pass `--bench` and friends: anything that is not an experiment name is ignored.
    let mut wanted: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| ["rss", "latency", "hot", "sweep"].contains(a))
        .collect();
    if wanted.is_empty() {
        wanted = vec!["rss", "latency", "hot"];
    }
    let mut rows = Vec::new();
    let mut sweep_rows = Vec::new();
    if wanted.contains(&"rss") {
        for variant in VARIANTS.iter().chain([&EXTRA_RSS_VARIANT]) {
            rows.extend(run_child(&["rss", variant])?);
        }
    }
    if wanted.contains(&"latency") {
        for (workload, _) in LAT_WORKLOADS {
            for variant in VARIANTS {
                rows.extend(run_child(&["latency", variant, workload])?);
            }
        }
    }
    if wanted.contains(&"hot") {
        rows.extend(run_child(&["hot"])?);
    }
    if wanted.contains(&"sweep") {
        // Rounds interleave the thresholds, starting each round one further along, so that drift
        // in the machine's load falls on all of them alike.
        for round in 0..SWEEP_ROUNDS {
            for kind in &SWEEP_KINDS {
                for idx in 0..SWEEP_THRESHOLDS.len() {
                    let threshold = SWEEP_THRESHOLDS[(idx + round) % SWEEP_THRESHOLDS.len()];
                    let mut out = run_child(&["sweep", kind.name, threshold])?;
                    for row in &mut out {
                        row["round"] = json!(round);
                    }
                    sweep_rows.extend(out);
                }
            }
        }
    }
    print_tables(&rows);
    print_sweep(&sweep_rows);
    // The sweep has a file of its own, so that running it alone keeps the other results.
    for (rows, file) in [(&rows, "reclaim.json"), (&sweep_rows, "reclaim_sweep.json")] {
        if rows.is_empty() {
            continue;
        }
        let path = json_path(file);
        fs::create_dir_all(path.parent().unwrap())?;
        fs::write(&path, serde_json::to_string_pretty(rows)? + "\n")?;
        println!("\nwrote {}", path.display());
    }
    Ok(())
}

/// The workspace's `target/bench/<file>`, from this package's manifest directory (stable whatever
/// `CARGO_TARGET_DIR` says).
fn json_path(file: &str) -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .unwrap_or(manifest_dir)
        .join("target")
        .join("bench")
        .join(file)
}

/// Runs this binary with `--child args…` and collects the `RESULT {json}` lines it prints.
fn run_child(args: &[&str]) -> Result<Vec<Value>> {
    eprintln!("== {}", args.join(" "));
    let out = Command::new(env::current_exe()?)
        .arg("--child")
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .context("could not re-run the bench binary")?;
    if !out.status.success() {
        bail!("child `{}` failed: {}", args.join(" "), out.status);
    }
    let stdout = String::from_utf8(out.stdout)?;
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("RESULT "))
        .map(|l| serde_json::from_str(l).context("child printed bad JSON"))
        .collect()
}

fn mib(v: &Value) -> String {
    v.as_u64().map_or_else(
        || "-".to_owned(),
        |b| format!("{:.1}", b as f64 / MIB as f64),
    )
}

/// The median of `field` over `rows` (0 when absent).
fn median(rows: &[&Value], field: &str) -> f64 {
    let mut v: Vec<f64> = rows.iter().filter_map(|r| r[field].as_f64()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn print_sweep(rows: &[Value]) {
    let sweep: Vec<&Value> = rows.iter().filter(|r| r["experiment"] == "sweep").collect();
    for kind in &SWEEP_KINDS {
        let of_kind: Vec<&Value> = sweep
            .iter()
            .copied()
            .filter(|r| r["kind"] == kind.name)
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let rounds = of_kind
            .iter()
            .filter(|r| r["threshold"] == SWEEP_THRESHOLDS[0])
            .count();
        println!(
            "
sweep {}: {} ({} inserts that evict, {} MiB cache, values made {SWEEP_MADE_AHEAD} ahead; \
             mean weight {:.0} B; ns, median of {rounds} rounds)",
            kind.name,
            kind.about,
            kind.inserts,
            SWEEP_BUDGET / MIB,
            median(&of_kind, "mean_weight"),
        );
        println!(
            "{:<9} {:>7} {:>7} {:>7} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "inline<",
            "queued%",
            "p50",
            "p99",
            "p99.9",
            "req/op",
            "reqCPU/op",
            "allCPU/op",
            "drop p50",
            "drop p99",
            "drop mean"
        );
        for threshold in SWEEP_THRESHOLDS {
            let at: Vec<&Value> = of_kind
                .iter()
                .copied()
                .filter(|r| r["threshold"] == threshold)
                .collect();
            if at.is_empty() {
                continue;
            }
            println!(
                "{:<9} {:>7.1} {:>7.0} {:>7.0} {:>8.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0}",
                threshold,
                median(&at, "queued_pct"),
                median(&at, "insert_p50_ns"),
                median(&at, "insert_p99_ns"),
                median(&at, "insert_p999_ns"),
                median(&at, "request_ns_per_op"),
                median(&at, "request_cpu_ns_per_op"),
                median(&at, "process_cpu_ns_per_op"),
                median(&at, "drop_p50_ns"),
                median(&at, "drop_p99_ns"),
                median(&at, "drop_mean_ns"),
            );
        }
    }
    if !sweep.is_empty() {
        println!(
            "inline<: the reclaimer's inline_below_bytes (none: no reclaimer; all: everything inline); \
             p50..p99.9: one insert that evicts; req/op: wall time per request on the request thread \
             (make the value + insert); reqCPU/op, allCPU/op: CPU time of the request thread, of the \
             whole process (with the reclaimer's thread); drop: the eviction's hand-over on the \
             request thread (free inline, or queue send)"
        );
    }
}

fn print_tables(rows: &[Value]) {
    let rss: Vec<&Value> = rows
        .iter()
        .filter(|r| r.get("peak_rss").is_some())
        .collect();
    if !rss.is_empty() {
        println!(
            "\nRSS: fill {} MiB of {} KiB values, shrink to {} MiB (MiB; target: after 1 s <= baseline + target + 10 %)",
            RSS_FILL_BYTES / MIB,
            RSS_VALUE_BYTES as u64 / KIB,
            RSS_TARGET_BYTES / MIB
        );
        println!(
            "{:<26} {:>9} {:>9} {:>9} {:>11} {:>10} {:>10} {:>8}",
            "variant",
            "baseline",
            "peak",
            "target",
            "after shrink",
            "after 1s",
            "after 10s",
            "1s met"
        );
        for r in rss {
            println!(
                "{:<26} {:>9} {:>9} {:>9} {:>11} {:>10} {:>10} {:>8}",
                r["variant"].as_str().unwrap_or("?"),
                mib(&r["baseline_rss"]),
                mib(&r["peak_rss"]),
                mib(&r["target_bytes"]),
                mib(&r["rss_after_shrink"]),
                mib(&r["rss_after_1s"]),
                mib(&r["rss_after_10s"]),
                if r["target_met_1s"].as_bool() == Some(true) {
                    "yes"
                } else {
                    "no"
                },
            );
        }
    }
    let lat: Vec<&Value> = rows
        .iter()
        .filter(|r| r.get("insert_p99_ns").is_some())
        .collect();
    for (workload, made_ahead) in LAT_WORKLOADS {
        let lat: Vec<&Value> = lat
            .iter()
            .copied()
            .filter(|r| r["workload"] == workload)
            .collect();
        if lat.is_empty() {
            continue;
        }
        println!(
            "\n{workload}: insert latency while {} MiB values are evicted ({} inserts into a {} MiB cache, values made {made_ahead} ahead; ns)",
            LAT_VALUE_BYTES as u64 / MIB,
            LAT_INSERTS,
            LAT_BUDGET / MIB
        );
        println!(
            "{:<26} {:>9} {:>9} {:>10} {:>10}",
            "variant", "p50", "p99", "p99.9", "max"
        );
        for r in &lat {
            println!(
                "{:<26} {:>9} {:>9} {:>10} {:>10}",
                r["variant"].as_str().unwrap_or("?"),
                r["insert_p50_ns"].as_u64().unwrap_or(0),
                r["insert_p99_ns"].as_u64().unwrap_or(0),
                r["insert_p999_ns"].as_u64().unwrap_or(0),
                r["insert_max_ns"].as_u64().unwrap_or(0),
            );
        }
        let p99 = |name: &str| {
            lat.iter()
                .find(|r| r["variant"] == name)
                .and_then(|r| r["insert_p99_ns"].as_f64())
        };
        if let (Some(on), Some(off)) = (p99("query-cache"), p99("query-cache-no-gc-coord")) {
            println!(
                "p99 without / with the reclaimer: {:.1}x (target >= 5x)",
                off / on.max(1.0)
            );
        }
    }
    let hot: Vec<&Value> = rows
        .iter()
        .filter(|r| r["workload"] == "read_through")
        .collect();
    if !hot.is_empty() {
        println!(
            "\nRead-through, u64 -> u64, {HOT_CAPACITY} entries, Zipf(1.0) over {HOT_KEYS} keys, {HOT_REQUESTS} requests (best of {HOT_ROUNDS})"
        );
        println!(
            "{:<26} {:>8} {:>12} {:>10}",
            "variant", "Mops/s", "median Mops", "hit ratio"
        );
        for r in &hot {
            println!(
                "{:<26} {:>8.2} {:>12.2} {:>10.4}",
                r["variant"].as_str().unwrap_or("?"),
                r["mops"].as_f64().unwrap_or(0.0),
                r["mops_median"].as_f64().unwrap_or(0.0),
                r["hit_ratio"].as_f64().unwrap_or(0.0),
            );
        }
        let mops = |name: &str| {
            hot.iter()
                .find(|r| r["variant"] == name)
                .and_then(|r| r["mops"].as_f64())
        };
        if let (Some(on), Some(off)) = (mops("query-cache"), mops("query-cache-no-gc-coord")) {
            let on_row = hot.iter().find(|r| r["variant"] == "query-cache");
            let field = |f: &str| on_row.and_then(|r| r[f].as_f64()).unwrap_or(f64::NAN);
            println!(
                "reclaimer on / off: best {:.1} %, median of paired rounds {:.1} % (target >= 97 %); \
                 reclaim() of a small item costs {:.1} ns",
                100.0 * on / off,
                100.0 * field("on_off_ratio_median"),
                field("reclaim_inline_ns"),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Children.

fn child(args: &[String]) -> Result<()> {
    let experiment = args.first().map(String::as_str).unwrap_or_default();
    let variant = args.get(1).map(String::as_str).unwrap_or_default();
    let rows = match experiment {
        "rss" => vec![rss(variant)?],
        "latency" => {
            let workload = args.get(2).map(String::as_str).unwrap_or_default();
            let Some(&(workload, made_ahead)) = LAT_WORKLOADS.iter().find(|w| w.0 == workload)
            else {
                bail!("unknown latency workload `{workload}`");
            };
            vec![latency(variant, workload, made_ahead)?]
        }
        "hot" => hot()?,
        "sweep" => {
            let threshold = args.get(2).map(String::as_str).unwrap_or_default();
            vec![sweep(variant, threshold)?]
        }
        other => bail!("unknown experiment `{other}`"),
    };
    for row in rows {
        println!("RESULT {row}");
    }
    Ok(())
}

/// The reclaimer as the query-cache variants configure it: eviction waves run a full purge.
fn bench_reclaimer<T: Send + 'static>() -> Result<Arc<Reclaimer<T>>> {
    Ok(Arc::new(
        Reclaimer::builder()
            .purge_after_bytes(64 * MIB)
            .wave_purge(PurgeKind::Purge)
            .build()?,
    ))
}

/// gc-coord's defaults, except that eviction waves run `decay`.
fn decay_reclaimer<T: Send + 'static>() -> Result<Arc<Reclaimer<T>>> {
    Ok(Arc::new(
        Reclaimer::builder().wave_purge(PurgeKind::Decay).build()?,
    ))
}

fn purge_summary(stats: &ReclaimerStats) -> Value {
    json!({
        "allocator": stats.allocator.to_string(),
        "dropped_background": stats.dropped_background,
        "dropped_inline": stats.dropped_inline,
        "queue_full": stats.queue_full,
        "purges": stats.purges.completed,
        "purges_failed": stats.purges.failed,
        "purges_rate_limited": stats.purges.rate_limited,
        "purge_returned_bytes": stats.purges.returned_bytes,
        "purge_total_us": stats.purges.total_duration.as_micros() as u64,
    })
}

/// Resident set size from `/proc/self/statm` (pages) and the page size from `/proc/self/auxv`.
fn rss_bytes() -> u64 {
    let statm = fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * page_size()
}

fn page_size() -> u64 {
    const AT_PAGESZ: usize = 6;
    let auxv = fs::read("/proc/self/auxv").unwrap_or_default();
    let word = size_of::<usize>();
    auxv.chunks_exact(2 * word)
        .find_map(|pair| {
            let key = usize::from_ne_bytes(pair[..word].try_into().ok()?);
            let value = usize::from_ne_bytes(pair[word..].try_into().ok()?);
            (key == AT_PAGESZ).then_some(value as u64)
        })
        .unwrap_or(4096)
}

/// A value of `len` bytes with every page written, so it is resident.
fn touched(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; len];
    for (idx, page) in v.chunks_mut(4096).enumerate() {
        page[0] = (seed as usize + idx) as u8 | 1;
    }
    v
}

// --- RSS ---------------------------------------------------------------------------------------

/// A cache being filled and shrunk, whatever its implementation.
trait Shrinkable {
    fn put(&self, key: u64, value: Vec<u8>);
    fn len(&self) -> u64;
    /// Shrinks to about `target` bytes of values and returns once the evicted values are out of
    /// the cache.
    fn shrink_to(&self, target: u64);
}

type QcCache = query_cache::Cache<u64, Vec<u8>>;

impl Shrinkable for QcCache {
    fn put(&self, key: u64, value: Vec<u8>) {
        self.insert(key, value);
    }
    fn len(&self) -> u64 {
        self.entry_count()
    }
    fn shrink_to(&self, target: u64) {
        self.set_capacity(target);
    }
}

impl Shrinkable for moka::sync::Cache<u64, Vec<u8>> {
    fn put(&self, key: u64, value: Vec<u8>) {
        self.insert(key, value);
    }
    fn len(&self) -> u64 {
        self.run_pending_tasks();
        self.entry_count()
    }
    fn shrink_to(&self, target: u64) {
        // No run-time resize in moka: invalidate the oldest keys until `target` bytes remain.
        let keep = target / RSS_VALUE_BYTES as u64;
        let n = RSS_FILL_BYTES / RSS_VALUE_BYTES as u64;
        for key in 0..n.saturating_sub(keep) {
            self.invalidate(&key);
        }
        self.run_pending_tasks();
    }
}

#[derive(Clone)]
struct LenWeighter;

impl quick_cache::Weighter<u64, Vec<u8>> for LenWeighter {
    fn weight(&self, _key: &u64, value: &Vec<u8>) -> u64 {
        value.capacity() as u64
    }
}

type QuickCache = quick_cache::sync::Cache<u64, Vec<u8>, LenWeighter>;

impl Shrinkable for QuickCache {
    fn put(&self, key: u64, value: Vec<u8>) {
        self.insert(key, value);
    }
    fn len(&self) -> u64 {
        QuickCache::len(self) as u64
    }
    fn shrink_to(&self, target: u64) {
        self.set_capacity(target);
    }
}

fn qc_cache(budget: u64, reclaimer: Option<Arc<dyn Reclaim<Pair>>>) -> Result<QcCache> {
    let mut builder = QcCache::builder().max_bytes(budget);
    if let Some(r) = reclaimer {
        builder = builder.reclaimer(r);
    }
    Ok(builder.build()?)
}

fn moka_cache(budget: u64) -> moka::sync::Cache<u64, Vec<u8>> {
    moka::sync::Cache::builder()
        .max_capacity(budget)
        .weigher(|_k: &u64, v: &Vec<u8>| u32::try_from(v.capacity()).unwrap_or(u32::MAX))
        .build()
}

fn quick_cache(budget: u64, items: usize) -> QuickCache {
    QuickCache::with_weighter(items, budget, LenWeighter)
}

fn rss(variant: &str) -> Result<Value> {
    let n_values = RSS_FILL_BYTES / RSS_VALUE_BYTES as u64;
    let mut reclaimer: Option<Arc<Reclaimer<Pair>>> = None;
    let cache: Box<dyn Shrinkable> = match variant {
        "query-cache" | "query-cache-wave-decay" => {
            let r = if variant == "query-cache" {
                bench_reclaimer()?
            } else {
                decay_reclaimer()?
            };
            reclaimer = Some(Arc::clone(&r));
            Box::new(qc_cache(RSS_FILL_BUDGET, Some(r))?)
        }
        "query-cache-no-gc-coord" => Box::new(qc_cache(RSS_FILL_BUDGET, None)?),
        "moka" => Box::new(moka_cache(RSS_FILL_BUDGET)),
        "quick_cache" => Box::new(quick_cache(RSS_FILL_BUDGET, n_values as usize)),
        other => bail!("unknown variant `{other}`"),
    };
    let baseline = rss_bytes();
    for key in 0..n_values {
        cache.put(key, touched(RSS_VALUE_BYTES, key));
    }
    let filled = cache.len();
    let peak = rss_bytes();
    eprintln!(
        "  {variant}: {filled} of {n_values} values held after the fill, rss {:.1} MiB",
        peak as f64 / MIB as f64
    );

    let shrink_started = Instant::now();
    cache.shrink_to(RSS_TARGET_BYTES);
    let shrink_ms = shrink_started.elapsed().as_secs_f64() * 1e3;
    let t0 = Instant::now();
    let after_shrink = rss_bytes();
    let left = cache.len();
    let sample_at = |secs: u64| {
        let due = t0 + Duration::from_secs(secs);
        thread::sleep(due.saturating_duration_since(Instant::now()));
        rss_bytes()
    };
    let after_1s = sample_at(1);
    let after_10s = sample_at(10);
    let limit = baseline + RSS_TARGET_BYTES + RSS_TARGET_BYTES / 10;
    let mut row = json!({
        "variant": variant,
        "baseline_rss": baseline,
        "peak_rss": peak,
        "target_bytes": RSS_TARGET_BYTES,
        "rss_after_shrink": after_shrink,
        "rss_after_1s": after_1s,
        "rss_after_10s": after_10s,
        "target_met_1s": after_1s <= limit,
        "entries_after_fill": filled,
        "entries_after_shrink": left,
        "shrink_ms": shrink_ms,
    });
    if variant == EXTRA_RSS_VARIANT {
        row["extra"] = json!(true);
        row["gc_coord_config"] = json!("wave_purge=decay, purge_after_bytes=64MiB (the default)");
    } else if variant == "query-cache" {
        row["gc_coord_config"] = json!("wave_purge=purge, purge_after_bytes=64MiB");
    }
    if let Some(r) = reclaimer {
        row["gc_coord"] = purge_summary(&r.stats());
    }
    drop(cache);
    Ok(row)
}

// --- Insert latency ------------------------------------------------------------------------------

fn latency(variant: &str, workload: &str, made_ahead: usize) -> Result<Value> {
    let warm = LAT_BUDGET / LAT_VALUE_BYTES as u64;
    let mut reclaimer: Option<Arc<Reclaimer<Pair>>> = None;
    let insert: Box<dyn Fn(u64, Vec<u8>)> = match variant {
        "query-cache" => {
            let r = bench_reclaimer()?;
            reclaimer = Some(Arc::clone(&r));
            let c = qc_cache(LAT_BUDGET, Some(r))?;
            Box::new(move |k, v| c.insert(k, v))
        }
        "query-cache-no-gc-coord" => {
            let c = qc_cache(LAT_BUDGET, None)?;
            Box::new(move |k, v| c.insert(k, v))
        }
        "moka" => {
            let c = moka_cache(LAT_BUDGET);
            Box::new(move |k, v| c.insert(k, v))
        }
        "quick_cache" => {
            let c = quick_cache(LAT_BUDGET, warm as usize);
            Box::new(move |k, v| c.insert(k, v))
        }
        other => bail!("unknown variant `{other}`"),
    };
    // Fill to the budget, then every further insert evicts about one 1 MiB value.
    for key in 0..warm {
        insert(key, touched(LAT_VALUE_BYTES, key));
    }
    // Values are made (and touched) `made_ahead` at a time; see `LAT_WORKLOADS`.
    let mut samples = Vec::with_capacity(LAT_INSERTS);
    let mut key = warm;
    while samples.len() < LAT_INSERTS {
        let batch: Vec<(u64, Vec<u8>)> = (0..made_ahead.min(LAT_INSERTS - samples.len()))
            .map(|idx| (key + idx as u64, touched(LAT_VALUE_BYTES, key + idx as u64)))
            .collect();
        key += batch.len() as u64;
        for (k, value) in batch {
            let start = Instant::now();
            insert(k, value);
            samples.push(start.elapsed().as_nanos() as u64);
        }
    }
    drop(insert);
    samples.sort_unstable();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let mut row = json!({
        "variant": variant,
        "workload": workload,
        "insert_p50_ns": pct(0.50),
        "insert_p99_ns": pct(0.99),
        "insert_p999_ns": pct(0.999),
        "insert_max_ns": samples[samples.len() - 1],
        "inserts": LAT_INSERTS,
        "values_made_ahead": made_ahead,
    });
    if let Some(r) = reclaimer {
        r.flush();
        row["gc_coord"] = purge_summary(&r.stats());
    }
    Ok(row)
}

// --- Hot path ------------------------------------------------------------------------------------

/// SplitMix64: a tiny, well-mixed PRNG, enough for a reproducible trace.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Zipf(s) over ranks 0..n by inverse transform on the exact cumulative distribution.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = (1..=n)
            .map(|rank| {
                acc += 1.0 / (rank as f64).powf(s);
                acc
            })
            .collect();
        for c in &mut cdf {
            *c /= acc;
        }
        Self { cdf }
    }

    fn sample(&self, rng: &mut SplitMix64) -> u64 {
        let u = rng.next_f64();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1) as u64
    }
}

fn zipf_trace() -> Vec<u64> {
    let zipf = Zipf::new(HOT_KEYS, 1.0);
    let mut rng = SplitMix64(HOT_SEED);
    (0..HOT_REQUESTS).map(|_| zipf.sample(&mut rng)).collect()
}

type HotCache = query_cache::Cache<u64, u64>;

fn hot_cache(reclaimer: Option<Arc<dyn Reclaim<(u64, u64)>>>) -> Result<HotCache> {
    let mut builder = HotCache::builder().max_entries(HOT_CAPACITY);
    if let Some(r) = reclaimer {
        builder = builder.reclaimer(r);
    }
    Ok(builder.build()?)
}

/// One pass of read-through over the trace; returns (seconds, hits).
fn read_through(cache: &HotCache, trace: &[u64]) -> (f64, u64) {
    let hits_before = cache.stats().hits;
    let start = Instant::now();
    let mut sum = 0u64;
    for &key in trace {
        sum = sum.wrapping_add(cache.get_or_insert_with(key, || key).unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(sum);
    (secs, cache.stats().hits - hits_before)
}

/// Nanoseconds per `reclaim` of a small item (dropped inline), the cost the reclaimer adds to an
/// eviction of a u64 entry.
fn reclaim_inline_ns() -> f64 {
    let r: Reclaimer<(u64, u64)> = Reclaimer::builder().build().unwrap();
    let n = 10_000_000u64;
    let start = Instant::now();
    for k in 0..n {
        r.reclaim(black_box((k, k)), black_box(64));
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn hot() -> Result<Vec<Value>> {
    let trace = zipf_trace();
    let reclaimer: Arc<Reclaimer<(u64, u64)>> = bench_reclaimer()?;
    let on = hot_cache(Some(Arc::clone(&reclaimer) as Arc<dyn Reclaim<(u64, u64)>>))?;
    let off = hot_cache(None)?;
    // Warm both to steady state.
    read_through(&on, &trace);
    read_through(&off, &trace);
    let mut on_mops = Vec::new();
    let mut off_mops = Vec::new();
    let mut hits = (0, 0);
    // Interleaved, alternating which goes first, so drift and noise hit both alike.
    for round in 0..HOT_ROUNDS {
        let order: [(bool, &HotCache); 2] = if round % 2 == 0 {
            [(true, &on), (false, &off)]
        } else {
            [(false, &off), (true, &on)]
        };
        for (is_on, cache) in order {
            let (secs, h) = read_through(cache, &trace);
            let mops = trace.len() as f64 / secs / 1e6;
            if is_on {
                on_mops.push(mops);
                hits.0 = h;
            } else {
                off_mops.push(mops);
                hits.1 = h;
            }
        }
    }
    let summary = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        (v[v.len() - 1], v[v.len() / 2])
    };
    let (on_best, on_median) = summary(&on_mops);
    let (off_best, off_median) = summary(&off_mops);
    let stats = reclaimer.stats();
    let ratios = {
        let mut r: Vec<f64> = on_mops
            .iter()
            .zip(&off_mops)
            .map(|(on, off)| on / off)
            .collect();
        r.sort_by(f64::total_cmp);
        r
    };
    let inline_ns = reclaim_inline_ns();
    Ok(vec![
        json!({
            "variant": "query-cache",
            "workload": "read_through",
            "mops": on_best,
            "mops_median": on_median,
            "hit_ratio": hits.0 as f64 / trace.len() as f64,
            "on_off_ratio_median": ratios[ratios.len() / 2],
            "on_off_ratio_best": on_best / off_best,
            "reclaim_inline_ns": inline_ns,
            "gc_coord": purge_summary(&stats),
        }),
        json!({
            "variant": "query-cache-no-gc-coord",
            "workload": "read_through",
            "mops": off_best,
            "mops_median": off_median,
            "hit_ratio": hits.1 as f64 / trace.len() as f64,
        }),
    ])
}

// --- Threshold sweep -----------------------------------------------------------------------------

/// One kind of value the sweep inserts.
struct SweepKind {
    name: &'static str,
    about: &'static str,
    /// Timed inserts per run.
    inserts: usize,
}

/// One row of a query result, as in the demo.
#[expect(
    dead_code,
    reason = "the fields give a row the demo's shape; only its drop is measured"
)]
struct Row {
    id: u64,
    name: String,
    score: f64,
}

impl HeapSize for Row {
    fn heap_size(&self) -> usize {
        self.name.heap_size()
    }
}

type Rows = Arc<Vec<Row>>;

/// A query's key and its result of `n_rows` rows, built like the demo's: one allocation for the
/// key, one for the `Arc`, one for the rows and one per row name.
fn query_result(q: u64, n_rows: u64) -> (String, Rows) {
    let sql = format!("SELECT id, name, score FROM items WHERE category = {q}");
    let rows = (0..n_rows)
        .map(|i| Row {
            id: q * 100 + i,
            name: format!("item-{q}-{i}"),
            score: (q ^ i) as f64 / 7.0,
        })
        .collect::<Vec<_>>();
    (sql, Arc::new(rows))
}

/// Hands evicted entries to the reclaimer (or drops them, without one), and when `timing` is on
/// records how long the hand-over took on the request thread.
struct DropSide<T: Send + 'static> {
    reclaimer: Option<Arc<Reclaimer<T>>>,
    timing: AtomicBool,
    samples: Mutex<Vec<u64>>,
}

impl<T: Send + 'static> DropSide<T> {
    fn hand_over(&self, item: T, weight: u64) {
        match &self.reclaimer {
            Some(r) => r.reclaim(item, weight),
            None => drop(item),
        }
    }
}

impl<T: Send + 'static> Reclaim<T> for DropSide<T> {
    fn reclaim(&self, item: T, weight: u64) {
        if !self.timing.load(Ordering::Relaxed) {
            self.hand_over(item, weight);
            return;
        }
        let start = Instant::now();
        self.hand_over(item, weight);
        let ns = start.elapsed().as_nanos() as u64;
        self.samples.lock().unwrap().push(ns);
    }
}

/// CPU time in nanoseconds from a `schedstat` file (its first field), if the kernel has one.
fn schedstat_run_ns(path: &Path) -> Option<u64> {
    fs::read_to_string(path)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU time of the calling thread and of the whole process (every thread), in nanoseconds.
fn cpu_ns() -> (Option<u64>, Option<u64>) {
    let thread = schedstat_run_ns(Path::new("/proc/thread-self/schedstat"));
    let process = fs::read_dir("/proc/self/task").ok().and_then(|tasks| {
        tasks
            .map(|t| schedstat_run_ns(&t.ok()?.path().join("schedstat")))
            .sum::<Option<u64>>()
    });
    (thread, process)
}

fn sweep(kind: &str, threshold: &str) -> Result<Value> {
    let Some(spec) = SWEEP_KINDS.iter().find(|k| k.name == kind) else {
        bail!("unknown sweep kind `{kind}`");
    };
    match kind {
        "query_rows_1_20" => sweep_kind(spec, threshold, |q| query_result(q, 1 + (q * 7919 % 20))),
        "query_rows_100" => sweep_kind(spec, threshold, |q| query_result(q, 100)),
        "bytes_1KiB" => sweep_kind(spec, threshold, |k| (k, vec![k as u8; 1000])),
        "small_string" => sweep_kind(spec, threshold, |k| (k, format!("v{}", k % 10_000_000))),
        other => bail!("unknown sweep kind `{other}`"),
    }
}

/// Fills a cache with values from `make` until it has turned over once, then times
/// `spec.inserts` inserts of fresh keys (each evicts) and half as many again with the hand-over
/// of each evicted entry timed.
fn sweep_kind<K, V>(
    spec: &SweepKind,
    threshold: &str,
    make: impl Fn(u64) -> (K, V),
) -> Result<Value>
where
    K: Hash + Eq + HeapSize + Send + 'static,
    V: HeapSize + Send + 'static,
{
    let reclaimer = match threshold {
        "none" => None,
        "all" => Some(u64::MAX),
        bytes => Some(bytes.parse().context("threshold")?),
    }
    .map(|inline_below| {
        Reclaimer::<(K, V)>::builder()
            .inline_below_bytes(inline_below)
            .build()
            .map(Arc::new)
    })
    .transpose()?;
    let drop_side = Arc::new(DropSide {
        reclaimer: reclaimer.clone(),
        timing: AtomicBool::new(false),
        samples: Mutex::new(Vec::new()),
    });
    let cache: query_cache::Cache<K, V> = query_cache::Cache::builder()
        .max_bytes(SWEEP_BUDGET)
        .time_to_live(Duration::from_secs(3600))
        .reclaimer(Arc::clone(&drop_side) as Arc<dyn Reclaim<(K, V)>>)
        .build()?;

    // Fill, then turn the cache over once, so that evicted values are old and cold.
    let mut key = 0u64;
    while key % 1024 != 0 || cache.stats().removals(query_cache::RemovalCause::Size) == 0 {
        let (k, v) = make(key);
        cache.insert(k, v);
        key += 1;
    }
    for _ in 0..cache.entry_count() {
        let (k, v) = make(key);
        cache.insert(k, v);
        key += 1;
    }
    if let Some(r) = &reclaimer {
        r.flush();
    }

    // Timed inserts; values made on this thread, `SWEEP_MADE_AHEAD` at a time.
    let removed = |s: &query_cache::CacheStats| {
        (
            s.removals(query_cache::RemovalCause::Size),
            s.removed_weight_of(query_cache::RemovalCause::Size),
        )
    };
    let before = removed(&cache.stats());
    let queued_before = reclaimer.as_ref().map_or(0, |r| r.stats().queued);
    let mut samples = Vec::with_capacity(spec.inserts);
    let (thread_cpu0, process_cpu0) = cpu_ns();
    let started = Instant::now();
    while samples.len() < spec.inserts {
        let batch: Vec<(K, V)> = (0..SWEEP_MADE_AHEAD.min(spec.inserts - samples.len()))
            .map(|idx| make(key + idx as u64))
            .collect();
        key += batch.len() as u64;
        for (k, v) in batch {
            let start = Instant::now();
            cache.insert(k, v);
            samples.push(start.elapsed().as_nanos() as u64);
        }
    }
    let wall_ns = started.elapsed().as_nanos() as f64;
    let (thread_cpu1, process_cpu1) = cpu_ns();
    let after = removed(&cache.stats());
    let queued_after = reclaimer.as_ref().map_or(0, |r| r.stats().queued);
    let n_removed = after.0 - before.0;
    let per_op = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => json!((b - a) as f64 / spec.inserts as f64),
        _ => Value::Null,
    };

    // The hand-over alone, on more inserts.
    drop_side.timing.store(true, Ordering::Relaxed);
    for _ in 0..spec.inserts / 2 {
        let (k, v) = make(key);
        key += 1;
        cache.insert(k, v);
    }
    drop_side.timing.store(false, Ordering::Relaxed);
    let mut drops = std::mem::take(&mut *drop_side.samples.lock().unwrap());

    samples.sort_unstable();
    drops.sort_unstable();
    let pct = |v: &[u64], p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
    let mut row = json!({
        "experiment": "sweep",
        "kind": spec.name,
        "threshold": threshold,
        "inserts": spec.inserts,
        "values_made_ahead": SWEEP_MADE_AHEAD,
        "evictions": n_removed,
        "mean_weight": (after.1 - before.1) as f64 / n_removed.max(1) as f64,
        "queued_pct": 100.0 * (queued_after - queued_before) as f64 / n_removed.max(1) as f64,
        "insert_p50_ns": pct(&samples, 0.50),
        "insert_p99_ns": pct(&samples, 0.99),
        "insert_p999_ns": pct(&samples, 0.999),
        "insert_max_ns": samples[samples.len() - 1],
        "insert_mean_ns": samples.iter().sum::<u64>() as f64 / samples.len() as f64,
        "request_ns_per_op": wall_ns / spec.inserts as f64,
        "request_cpu_ns_per_op": per_op(thread_cpu0, thread_cpu1),
        "process_cpu_ns_per_op": per_op(process_cpu0, process_cpu1),
        "drop_samples": drops.len(),
        "drop_p50_ns": pct(&drops, 0.50),
        "drop_p99_ns": pct(&drops, 0.99),
        "drop_p999_ns": pct(&drops, 0.999),
        "drop_mean_ns": drops.iter().sum::<u64>() as f64 / drops.len().max(1) as f64,
    });
    drop(cache);
    if let Some(r) = reclaimer {
        r.flush();
        row["gc_coord"] = purge_summary(&r.stats());
    }
    Ok(row)
}

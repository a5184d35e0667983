//! The demo behind `cargo xtask demo`: a query service's read path on an embedded workload.
//!
//! Two worker threads answer "queries" drawn from a skewed (Zipf 1.0) distribution over 100,000
//! distinct queries. A miss runs the "database": it builds a result of 1 to 20 rows and costs
//! about 10 µs of CPU. Results are cached by query text under a budget of at most 32 MiB with a
//! 60 s TTL.
//!
//! A `MemoryManager` watches the process: the demo gives it a ceiling for the resident set
//! (what a container limit would be), sized so that the warm cache fits below the sizer's goal
//! (0.75 of the ceiling). Midway, a ballast outside the cache grows to about a third of the
//! ceiling, as another part of a service might. The manager sees the resident set approach the
//! ceiling, raises the pressure level, shrinks the cache (relief at High, then the sizer's
//! budget), and after the ballast is freed and the level falls, grows the cache back. Level
//! changes, relief actions and sizing decisions are printed as they happen.
//!
//! The process runs on jemalloc. Evicted results go to a `Reclaimer` with its default threshold,
//! 512 bytes of weight (key, rows and the cache's 83 bytes of overhead per entry): results of 5
//! rows or more (8 to 23 allocations) are dropped on the reclaimer's background thread, lighter
//! ones inline (`cargo xtask bench reclaim sweep` measures both). Its decay time is 1 s, so
//! freed pages (the ballast's too) go back to the OS within about a second.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use query_cache::{
    Bounds, Cache, HeapSize, ManagerEvent, MemoryManager, MemoryProbe, MemorySample, Probe,
    Reclaim, Reclaimer, RemovalCause,
};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// One row of a query result.
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

/// A query result, shared between the cache and its readers.
type Rows = Arc<Vec<Row>>;

const QUERIES: u64 = 100_000;
const REQUESTS_PER_THREAD: usize = 200_000;
const THREADS: usize = 2;

fn main() {
    let probe = Probe::new();
    // The default `inline_below_bytes` (512): evicted results of 5 rows or more go to the
    // reclaimer's thread, lighter ones are freed on the request thread (see the module docs).
    let reclaimer = Arc::new(
        Reclaimer::<(String, Rows)>::builder()
            .purge_after_bytes(8 << 20)
            .dirty_decay_ms(1000)
            .build()
            .unwrap_or_else(|e| panic!("demo configuration: {e}")),
    );
    let cache: Arc<Cache<String, Rows>> = Arc::new(
        Cache::builder()
            .name("query-results")
            .max_bytes(32 << 20)
            .time_to_live(Duration::from_secs(60))
            .reclaimer(reclaimer.clone() as Arc<dyn Reclaim<(String, Rows)>>)
            .build()
            .unwrap_or_else(|e| panic!("demo configuration: {e}")),
    );
    let baseline = probe.sample();

    println!(
        "query-cache demo: {THREADS} threads, {REQUESTS_PER_THREAD} requests each, {QUERIES} distinct queries (Zipf 1.0)"
    );
    println!(
        "cache: {} shards, budget {} MiB, {} bytes overhead per entry, TTL 60 s\n",
        cache.shard_count(),
        cache.capacity() >> 20,
        cache.entry_overhead()
    );

    let zipf = Zipf::new(QUERIES, 1.0);
    let db_nanos = AtomicU64::new(0);
    let phase = |label: &str, requests: usize, seed: u64| {
        let started = Instant::now();
        let before = cache.stats();
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (cache, zipf, db_nanos) = (&*cache, &zipf, &db_nanos);
                s.spawn(move || {
                    let mut rng = seed.wrapping_add(t as u64 * 0x9E37_79B9);
                    for _ in 0..requests {
                        let q = zipf.sample(&mut rng);
                        let sql = format!("SELECT id, name, score FROM items WHERE category = {q}");
                        let rows = cache
                            .get_or_insert_with(sql, || run_query(q, db_nanos))
                            .unwrap_or_else(|e| panic!("load failed: {e}"));
                        black_box(rows.len());
                    }
                });
            }
        });
        let elapsed = started.elapsed();
        let after = cache.stats();
        let gets = after.gets() - before.gets();
        let hits = after.hits - before.hits;
        println!(
            "{label:<28} {:>7.2} s  {:>6.2} M req/s  hit ratio {:>5.1} %  loads {:>7}  entries {:>7}  {:>5.1} of {:>2} MiB",
            elapsed.as_secs_f64(),
            gets as f64 / elapsed.as_secs_f64() / 1e6,
            100.0 * hits as f64 / gets.max(1) as f64,
            after.load_successes - before.load_successes,
            cache.entry_count(),
            cache.weighted_size() as f64 / (1 << 20) as f64,
            cache.capacity() >> 20,
        );
    };

    memory_line("at start", &baseline);
    phase("warm-up, 32 MiB budget", REQUESTS_PER_THREAD / 4, 1);
    reclaimer.flush();
    let warm = probe.sample();
    memory_line("after warm-up", &warm);

    // The ceiling a container limit would set: room for the full 32 MiB budget (about 40 MiB
    // resident with the allocator's overhead) below the sizer's goal of 0.75 of it.
    let rss = warm.process_rss.unwrap_or(64 << 20);
    let ceiling = (rss + (24 << 20)) * 4 / 3;
    let manager = MemoryManager::builder()
        .cache(cache.clone(), Bounds::new(2 << 20, 32 << 20))
        .reclaimer(reclaimer.clone())
        .probe(Arc::new(Probe::new()) as Arc<dyn MemoryProbe>)
        .ceiling(ceiling)
        .tick(Duration::from_millis(250))
        .pressure(query_cache::pressure::PressureMonitor::builder().hold(Duration::from_secs(2)))
        .sizing(query_cache::sizing::Sizer::builder().cool_down(Duration::from_secs(2)))
        .build()
        .unwrap_or_else(|e| panic!("demo configuration: {e}"));
    manager.tick_now();
    println!(
        "-- memory manager on: ceiling {:.0} MiB for the resident set, tick 250 ms, hold 2 s; kernel notifications: {} --",
        ceiling as f64 / (1 << 20) as f64,
        match manager.view().notifications.len() {
            0 => "none".to_string(),
            n => format!("{n} ({})", manager.view().notifications.join(", ")),
        }
    );
    let printer = EventPrinter::start(manager.clone());

    phase("steady state", REQUESTS_PER_THREAD, 2);
    let ballast_bytes = ceiling * 2 / 5;
    println!(
        "-- a ballast outside the cache grows to {:.0} MiB --",
        ballast_bytes as f64 / (1 << 20) as f64
    );
    let ballast = std::thread::scope(|s| {
        let grow = s.spawn(|| grow_ballast(ballast_bytes));
        phase("under pressure", REQUESTS_PER_THREAD, 3);
        grow.join().unwrap_or_default()
    });
    memory_line("with the ballast", &probe.sample());
    drop(ballast);
    println!("-- the ballast is freed --");
    phase("pressure gone", REQUESTS_PER_THREAD, 4);
    std::thread::sleep(Duration::from_secs(4));
    phase("grown back", REQUESTS_PER_THREAD, 5);
    reclaimer.flush();
    memory_line("at the end", &probe.sample());
    printer.stop();
    println!(
        "\nthe memory manager's view\n{}",
        indent(&manager.view().to_string())
    );

    let s = cache.stats();
    println!("\nwhat the cache did");
    println!("  requests          {:>12}", s.gets());
    println!(
        "  hits              {:>12}  ({:.1} %)",
        s.hits,
        100.0 * s.hit_ratio()
    );
    println!(
        "  loads             {:>12}  ({:.1} ms of database time, {:.1} µs each)",
        s.load_successes,
        db_nanos.load(Ordering::Relaxed) as f64 / 1e6,
        s.load_nanos as f64 / s.load_successes.max(1) as f64 / 1e3
    );
    for &cause in RemovalCause::ALL {
        println!(
            "  removed: {:<8} {:>12}  ({:.1} MiB)",
            cause.as_str(),
            s.removals(cause),
            s.removed_weight_of(cause) as f64 / (1 << 20) as f64
        );
    }
    // Every evicted result is counted once: dropped on the reclaimer's thread, or freed inline by
    // the thread that evicted it (a request thread, or the budget cut's) because it was lighter
    // than the threshold or the queue was full.
    let r = reclaimer.stats();
    let threshold = reclaimer.inline_below_bytes();
    println!(
        "  reclaimer thread  {:>12}  evicted results dropped there ({:.1} MiB): those of {threshold} bytes or more",
        r.dropped_background,
        r.dropped_background_bytes as f64 / (1 << 20) as f64,
    );
    println!(
        "  dropped inline    {:>12}  evicted results freed by the thread that evicted them ({:.1} MiB): {} lighter than {threshold} bytes, {} because the queue was full",
        r.dropped_inline,
        r.dropped_inline_bytes as f64 / (1 << 20) as f64,
        r.dropped_inline - r.queue_full,
        r.queue_full,
    );
    println!(
        "  purges            {:>12}  ({:.1} MiB returned to the OS)",
        r.purges.completed,
        r.purges.returned_bytes as f64 / (1 << 20) as f64,
    );
    println!(
        "  now holding       {:>12}  entries, {:.1} MiB charged of {} MiB; tables and slabs {:.1} MiB",
        cache.entry_count(),
        cache.weighted_size() as f64 / (1 << 20) as f64,
        cache.capacity() >> 20,
        cache.structure_bytes() as f64 / (1 << 20) as f64
    );
}

/// Allocates `bytes` in 4 MiB chunks, touching every page, over about two seconds.
fn grow_ballast(bytes: u64) -> Vec<Vec<u8>> {
    const CHUNK: usize = 4 << 20;
    let chunks = (bytes as usize).div_ceil(CHUNK);
    let mut ballast = Vec::with_capacity(chunks);
    for _ in 0..chunks {
        ballast.push(vec![1u8; CHUNK]);
        std::thread::sleep(Duration::from_millis(2000 / chunks.max(1) as u64));
    }
    ballast
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// Prints the manager's events as they happen, from its view after each tick.
struct EventPrinter {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl EventPrinter {
    fn start(manager: MemoryManager) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut printed = 0u64;
            let mut last_held = None;
            let origin = Instant::now();
            loop {
                let finishing = done.load(Ordering::Relaxed);
                let view = manager.view();
                let seen = printed;
                for event in &view.events {
                    let at = event_time(event);
                    if at <= seen {
                        continue;
                    }
                    printed = printed.max(at);
                    // A growth held back is news once, not on every tick.
                    if let ManagerEvent::Sizing(d) = event {
                        let held = (d.from == d.to).then_some(d.reason);
                        if held.is_some() && held == last_held {
                            continue;
                        }
                        last_held = held;
                    }
                    let t = origin.elapsed().as_secs_f64();
                    println!("  [{t:>5.1} s] {}", describe(event));
                }
                if finishing {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Self { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

fn event_time(event: &ManagerEvent) -> u64 {
    match event {
        ManagerEvent::Level(c) => c.at_nanos,
        ManagerEvent::Relief(r) => r.at_nanos,
        ManagerEvent::Sizing(d) => d.at_nanos,
        _ => 0,
    }
}

fn describe(event: &ManagerEvent) -> String {
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    match event {
        ManagerEvent::Level(c) => format!(
            "level {} -> {}{}",
            c.from,
            c.to,
            c.cause
                .map(|r| format!(" ({} at {:.2})", r.signal, r.value))
                .unwrap_or_default()
        ),
        ManagerEvent::Relief(r) => format!(
            "relief {} at {}: caches {:.1} -> {:.1} MiB in {} µs ({} at {:.2})",
            r.kind.as_str(),
            r.level,
            mib(r.bytes_before),
            mib(r.bytes_after),
            r.duration.as_micros(),
            r.cause.signal,
            r.cause.value
        ),
        ManagerEvent::Sizing(d) => format!(
            "sizing {}: {} {:.1} -> {:.1} MiB (target {:.1} MiB, level {})",
            d.cache,
            d.reason,
            mib(d.from),
            mib(d.to),
            mib(d.target),
            d.level
        ),
        _ => "other event".to_string(),
    }
}

/// Prints what the process holds: the allocator's figures and the resident set.
fn memory_line(label: &str, s: &MemorySample) {
    let mib = |v: Option<u64>| {
        v.map_or("unknown".to_string(), |b| {
            format!("{:.1} MiB", b as f64 / (1 << 20) as f64)
        })
    };
    println!(
        "  memory {label:<22} allocated {:>9}  active {:>9} (fragmentation {:>9})  dirty {:>9}  resident {:>9}  RSS {:>9}",
        mib(s.allocator.allocated),
        mib(s.allocator.active),
        mib(s.allocator.fragmentation()),
        mib(s.allocator.dirty()),
        mib(s.allocator.resident),
        mib(s.process_rss),
    );
}

/// The "database": builds 1 to 20 rows for query `q` and burns about 10 µs.
fn run_query(q: u64, db_nanos: &AtomicU64) -> Rows {
    let started = Instant::now();
    let n = 1 + (q * 7919 % 20);
    let rows = (0..n)
        .map(|i| Row {
            id: q * 100 + i,
            name: format!("item-{q}-{i}"),
            score: (q ^ i) as f64 / 7.0,
        })
        .collect::<Vec<_>>();
    while started.elapsed() < Duration::from_micros(10) {
        std::hint::spin_loop();
    }
    black_box(rows.iter().map(|r| r.id as f64 + r.score).sum::<f64>());
    db_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    Arc::new(rows)
}

/// Zipf(s) over 0..n by inverse CDF on a precomputed table.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: u64, s: f64) -> Self {
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = (1..=n)
            .map(|k| {
                acc += 1.0 / (k as f64).powf(s);
                acc
            })
            .collect();
        for c in &mut cdf {
            *c /= acc;
        }
        Self { cdf }
    }

    fn sample(&self, state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let u = (*state >> 11) as f64 / (1u64 << 53) as f64;
        self.cdf.partition_point(|&c| c < u) as u64
    }
}

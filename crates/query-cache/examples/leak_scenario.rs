//! One process of the leak detector's real scenario, run by `cargo xtask leak-real`: a cache,
//! a profiler, a memory manager and a leak detector fed once a second from jemalloc and /proc,
//! on the wall clock.
//!
//! ```text
//! leak_scenario --mode leak|steady|warmup [--seconds 60] [--leak-mib-per-s 1]
//! ```
//!
//! - `steady`: the cache (64 MiB of 4 KiB query results) is filled first, then serves a
//!   read-through load over twice as many keys as it holds, so it stays full and evicts.
//! - `leak`: the same, while another thread keeps 1 MiB more every second outside the cache.
//! - `warmup`: the cache starts empty and fills to its budget over the first two thirds of the
//!   run, then serves the same keys.
//!
//! It prints one JSON line: `mode`, `seconds`, `alerted`, `first_alert_s` (seconds from the
//! start of the run to the first alert), `kinds`, `samples`, and the heap, cache and
//! resident bytes at the start and the end.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use query_cache::leaks::Config;
use query_cache::{
    Bounds, Cache, LeakDetector, MemoryManager, MemoryProbe, Probe, ProfileFigures, Profiler,
};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const MIB: u64 = 1 << 20;
const BUDGET: u64 = 64 * MIB;
const VALUE_BYTES: usize = 4096;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Steady,
    Leak,
    Warmup,
}

fn fail(msg: &str) -> ! {
    eprintln!("leak_scenario: {msg}");
    std::process::exit(2)
}

fn main() {
    let mut mode = None;
    let mut seconds = 60u64;
    let mut leak_rate = 1u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| fail(&format!("{arg} takes a value")))
        };
        match arg.as_str() {
            "--mode" => {
                mode = Some(match value().as_str() {
                    "steady" => Mode::Steady,
                    "leak" => Mode::Leak,
                    "warmup" => Mode::Warmup,
                    other => fail(&format!("unknown mode `{other}`: steady, leak or warmup")),
                })
            }
            "--seconds" => {
                seconds = value()
                    .parse()
                    .unwrap_or_else(|_| fail("--seconds takes a whole number"))
            }
            "--leak-mib-per-s" => {
                leak_rate = value()
                    .parse()
                    .unwrap_or_else(|_| fail("--leak-mib-per-s takes a whole number"))
            }
            other => fail(&format!(
                "unknown argument `{other}`; use --mode steady|leak|warmup [--seconds N] [--leak-mib-per-s N]"
            )),
        }
    }
    let mode = mode.unwrap_or_else(|| fail("--mode steady|leak|warmup is required"));
    run(mode, seconds, leak_rate);
}

type Values = Cache<u64, Arc<Vec<u8>>>;

fn value(k: u64) -> Arc<Vec<u8>> {
    Arc::new(vec![(k % 251) as u8; VALUE_BYTES])
}

fn run(mode: Mode, seconds: u64, leak_rate: u64) {
    let probe = Arc::new(Probe::new());
    let profile = Profiler::<u64>::builder()
        .name("results")
        .probe(probe.clone() as Arc<dyn MemoryProbe>)
        .build()
        .unwrap_or_else(|e| fail(&format!("profiler: {e}")));
    let cache: Arc<Values> = Arc::new(
        Cache::builder()
            .name("results")
            .max_bytes(BUDGET)
            .observer(profile.clone())
            .build()
            .unwrap_or_else(|e| fail(&format!("cache: {e}"))),
    );
    // Entries the budget holds (charged bytes include the cache's own per-entry overhead).
    let per_entry = {
        cache.insert(u64::MAX, value(0));
        let w = cache.weighted_size();
        cache.remove(&u64::MAX);
        w.max(1)
    };
    let capacity_keys = BUDGET / per_entry;
    let keys = capacity_keys * 2;
    if mode != Mode::Warmup {
        for k in 0..keys {
            cache.insert(k, value(k));
        }
    }
    let detector = Arc::new(
        LeakDetector::new(Config::default()).unwrap_or_else(|e| fail(&format!("detector: {e}"))),
    );
    let manager = MemoryManager::builder()
        .cache(cache.clone(), Bounds::new(BUDGET, BUDGET))
        .probe(probe.clone() as Arc<dyn MemoryProbe>)
        .tick(Duration::from_secs(1))
        .leak_detector(detector.clone())
        .profile(profile.clone() as Arc<dyn ProfileFigures>)
        .build()
        .unwrap_or_else(|e| fail(&format!("memory manager: {e}")));
    let start_sample = probe.sample();
    let start_cache = cache.weighted_size();
    let started = Instant::now();
    let run_for = Duration::from_secs(seconds);
    let stop = AtomicBool::new(false);
    let mut first_alert: Option<f64> = None;
    let mut kinds: Vec<String> = Vec::new();
    let end = std::sync::Mutex::new(None);
    std::thread::scope(|s| {
        // The load: read-through over `keys`, with a key range that grows during a warm-up.
        s.spawn(|| {
            let mut x = 0x2545_f491_4f6c_dd1d_u64;
            let warm_for = run_for.as_secs_f64() * 2.0 / 3.0;
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..256 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let range = match mode {
                        Mode::Warmup => {
                            let f = (started.elapsed().as_secs_f64() / warm_for).min(1.0);
                            ((capacity_keys as f64 * f) as u64).max(1)
                        }
                        _ => keys,
                    };
                    // Half the requests go to the hottest tenth of the range.
                    let k = if x & 1 == 0 {
                        (x >> 1) % (range / 10).max(1)
                    } else {
                        (x >> 1) % range
                    };
                    let v = cache.get_or_insert_with(k, || value(k));
                    black_box(&v);
                }
                // A service's pace, not a benchmark's: leave the other core to the others.
                std::thread::sleep(Duration::from_micros(200));
            }
        });
        // The leak: memory kept outside the cache.
        if mode == Mode::Leak {
            s.spawn(|| {
                let mut kept: Vec<Vec<u8>> = Vec::new();
                let mut next = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    kept.push(vec![1u8; (leak_rate * MIB) as usize]);
                    next += Duration::from_secs(1);
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                }
                black_box(kept.len());
            });
        }
        while started.elapsed() < run_for {
            std::thread::sleep(Duration::from_millis(250));
            if first_alert.is_none() {
                let open = detector.open_alerts();
                if !open.is_empty() {
                    first_alert = Some(started.elapsed().as_secs_f64());
                }
            }
        }
        // The last look, before the leak's memory is dropped with its thread.
        *end.lock().unwrap_or_else(|e| e.into_inner()) = Some(probe.sample());
        stop.store(true, Ordering::Relaxed);
    });
    for alert in detector.alerts() {
        let kind = alert.kind.as_str().to_owned();
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    let end = end
        .into_inner()
        .ok()
        .flatten()
        .unwrap_or_else(|| probe.sample());
    let status = detector.status();
    manager.shutdown();
    let line = serde_json::json!({
        "mode": match mode { Mode::Steady => "steady", Mode::Leak => "leak", Mode::Warmup => "warmup" },
        "seconds": seconds,
        "leak_mib_per_s": if mode == Mode::Leak { leak_rate } else { 0 },
        "alerted": !kinds.is_empty(),
        "first_alert_s": first_alert,
        "kinds": kinds,
        "samples": status.samples_seen,
        "residual_slope_bytes_per_s": status.residual_slope,
        "heap_start": start_sample.allocator.allocated,
        "heap_end": end.allocator.allocated,
        "resident_start": start_sample.process_rss,
        "resident_end": end.process_rss,
        "cache_start": start_cache,
        "cache_end": cache.weighted_size(),
        "hit_ratio": cache.stats().hit_ratio(),
    });
    println!("{line}");
}

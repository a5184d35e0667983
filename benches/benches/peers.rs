//! Benchmark `peers`: query-cache beside quick_cache, moka, foyer and a `Mutex<HashMap>` ceiling
//! (issues 2 and 11).
//!
//! Peers, at their newest versions that build on the workspace's `rust-version`, each with its
//! own default hasher and otherwise its defaults:
//! - `query-cache` (and the `query-cache/<policy>` rows): hashbrown's `DefaultHashBuilder`
//!   (foldhash, fast variant, randomly seeded);
//! - `quick_cache` 0.7 (`sync::Cache`): `quick_cache::DefaultHashBuilder` (foldhash, quality
//!   variant, randomly seeded);
//! - `moka` 0.12.16 (`sync::Cache`): std's `RandomState` (SipHash-1-3);
//! - `foyer` (`foyer-memory` 0.22.3, its in-memory cache; 0.22.6 needs Rust 1.91, above the
//!   workspace's 1.85): foyer's `DefaultHasher`, xxHash64 with seed 0; LRU, 8 shards. Only its
//!   synchronous `insert` / `get` are used, so no async runtime is started (its `tokio`
//!   dependency is compiled, never run);
//! - `mutex-hashmap`: `Mutex<hashbrown::HashMap>` with hashbrown's default hasher (foldhash), a
//!   ceiling that never evicts.
//!
//! Workloads (u64 keys and values, key universe 1,000,000, capacity 100,000 entries):
//! - `read_through`: a Zipf(1.0) key stream, `get` and `insert` on a miss, 1 and 2 threads;
//! - `all_hit`: a full cache, uniform `get`s over its 100,000 keys, 1 and 2 threads;
//! - `memory_u64`: jemalloc `stats.allocated` delta per entry for 1,000,000 u64→u64 entries;
//! - `budget_strings`: allocated bytes held by a 64 MiB budget filled with random-length strings,
//!   each library weighing entries as its documentation shows: query-cache by default
//!   (`HeapWeigher`: the allocator size class of the string's capacity, plus its per-entry
//!   overhead), quick_cache, moka and foyer by `value.len()` (their docs' string examples);
//! - `budget_strings_len`: the same, with the same `value.len()` weigher for every library
//!   (query-cache through `Cache::builder_with_weigher`). For the peers it repeats
//!   `budget_strings`.
//!
//! Budget accuracy is allocated bytes held / budget: 1.0 means the budget is what the process
//! pays; above it the cache holds more than it was given.
//!
//! Each library gets its own cache, warmed once; timed slices (9 rounds of 500 ms) then take
//! turns between the libraries. The table shows the median throughput, and the ratio against
//! quick_cache is the median of per-round ratios, so noise from a busy machine hits all
//! libraries alike and the ratio from one run stays meaningful.
//!
//! Besides the facade's `query-cache` (its `DefaultPolicy`), rows `query-cache/<policy>` run
//! `cache_core::Cache` with the other policies of `eviction`, to show what each policy costs.
//!
//! Flags: `--quick` (3 rounds of 150 ms), `--repeats N` (rounds), `--ops N` (each thread runs N
//! operations per slice instead of a fixed time: for `valgrind --tool=callgrind
//! --toggle-collect='*drive*'`, whose counts a busy machine cannot disturb), `--library NAME`,
//! `--workload NAME` and `--threads N` (repeatable or comma-separated filters).
//! Prints a table and writes `target/bench/peers.json` at the workspace root.

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark binary: a failed setup step should abort loudly"
)]

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use benches::{
    DEFAULT_SEED, StringLengths, harmonic, keys_of_ranks, make_string, uniform_key_stream,
    value_of_key, zipf_key_stream,
};
use serde::Serialize;

#[global_allocator]
static A: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const UNIVERSE: usize = 1_000_000;
const CAPACITY: usize = 100_000;
const ZIPF_S: f64 = 1.0;
const MEMORY_ENTRIES: usize = 1_000_000;
const PAYLOAD_BYTES: f64 = 16.0;
const BUDGET_BYTES: u64 = 64 << 20;
const STRING_MIN: usize = 16;
const STRING_MAX: usize = 4096;
/// Keep inserting strings until this many times the budget has gone in.
const BUDGET_OVERFILL: u64 = 3;
const THREAD_COUNTS: [usize; 2] = [1, 2];
/// Timed slices per (library, workload, threads); the table shows the median.
const REPEATS: usize = 9;
const QUICK_REPEATS: usize = 3;
/// Operations between two clock reads in the timed loop.
const CHUNK: usize = 1024;

// ---------------------------------------------------------------------------------------------
// Libraries under test
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Library {
    /// The facade's `Cache`, with `query_cache::DefaultPolicy`.
    QueryCache,
    /// `cache_core::Cache` with another policy from `eviction`, to see what the policy costs.
    QueryCacheLru,
    QueryCacheSieve,
    QueryCacheS3Fifo,
    QueryCacheHybrid,
    QueryCacheClockTinyLfu,
    /// The facade's `Cache` behind an `Arc`, registered with a running `MemoryManager` (default
    /// 1 s tick, bounds pinned to the capacity so only the manager's own cost shows).
    QueryCacheManaged,
    /// The facade's `Cache` with a `Profiler` as its observer at its defaults (one read in 256
    /// sampled, every key in one namespace) and a memory probe: what profiling costs the readers.
    QueryCacheProfiled,
    /// The same with a namespace closure (two namespaces), which runs on each sampled read and
    /// each tracked insert and removal.
    QueryCacheProfiledNamespaces,
    QuickCache,
    Moka,
    Foyer,
    MutexHashMap,
}

impl Library {
    const ALL: [Library; 13] = [
        Library::QueryCache,
        Library::QueryCacheManaged,
        Library::QueryCacheProfiled,
        Library::QueryCacheProfiledNamespaces,
        Library::QueryCacheLru,
        Library::QueryCacheSieve,
        Library::QueryCacheS3Fifo,
        Library::QueryCacheHybrid,
        Library::QueryCacheClockTinyLfu,
        Library::QuickCache,
        Library::Moka,
        Library::Foyer,
        Library::MutexHashMap,
    ];

    fn name(self) -> &'static str {
        match self {
            Library::QueryCache => "query-cache",
            Library::QueryCacheLru => "query-cache/lru",
            Library::QueryCacheSieve => "query-cache/sieve",
            Library::QueryCacheS3Fifo => "query-cache/s3fifo",
            Library::QueryCacheHybrid => "query-cache/hybrid",
            Library::QueryCacheClockTinyLfu => "query-cache/clock-tinylfu",
            Library::QueryCacheManaged => "query-cache+manager",
            Library::QueryCacheProfiled => "query-cache+profiler",
            Library::QueryCacheProfiledNamespaces => "query-cache+profiler/ns",
            Library::QuickCache => "quick_cache",
            Library::Moka => "moka",
            Library::Foyer => "foyer",
            Library::MutexHashMap => "mutex-hashmap",
        }
    }

    /// A policy variant that is the facade's default policy anyway (its row would repeat
    /// `query-cache`'s).
    fn repeats_default(self) -> bool {
        use std::any::TypeId;
        let default = TypeId::of::<query_cache::DefaultPolicy>();
        match self {
            Library::QueryCacheLru => TypeId::of::<eviction::Lru>() == default,
            Library::QueryCacheSieve => TypeId::of::<eviction::Sieve>() == default,
            Library::QueryCacheS3Fifo => TypeId::of::<eviction::S3Fifo>() == default,
            Library::QueryCacheHybrid => TypeId::of::<eviction::Hybrid>() == default,
            Library::QueryCacheClockTinyLfu => TypeId::of::<eviction::ClockTinyLfu>() == default,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    ReadThrough,
    AllHit,
    MemoryU64,
    /// Each library's documented weigher.
    BudgetStrings,
    /// `value.len()` for every library.
    BudgetStringsLen,
}

impl Workload {
    const ALL: [Workload; 5] = [
        Workload::ReadThrough,
        Workload::AllHit,
        Workload::MemoryU64,
        Workload::BudgetStrings,
        Workload::BudgetStringsLen,
    ];

    fn name(self) -> &'static str {
        match self {
            Workload::ReadThrough => "read_through",
            Workload::AllHit => "all_hit",
            Workload::MemoryU64 => "memory_u64",
            Workload::BudgetStrings => "budget_strings",
            Workload::BudgetStringsLen => "budget_strings_len",
        }
    }
}

/// What the throughput and memory loops need from a u64→u64 cache.
trait U64Cache: Sync {
    fn get(&self, key: u64) -> Option<u64>;
    fn insert(&self, key: u64, value: u64);
    fn len(&self) -> usize;
    /// Finish deferred work (moka's pending tasks) before anything is measured.
    fn settle(&self) {}
}

/// What the budget loop needs from a u64→String cache.
trait StringCache {
    fn insert(&self, key: u64, value: String);
    fn len(&self) -> usize;
    fn settle(&self) {}
}

// --- quick_cache ---

struct QuickU64(quick_cache::sync::Cache<u64, u64>);

impl U64Cache for QuickU64 {
    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        self.0.get(&key)
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) {
        self.0.insert(key, value);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// quick_cache's documented string weigher (its `Weighter` example): the string's length.
#[derive(Clone)]
struct StringLenWeighter;

impl quick_cache::Weighter<u64, String> for StringLenWeighter {
    fn weight(&self, _key: &u64, value: &String) -> u64 {
        value.len() as u64
    }
}

struct QuickString(quick_cache::sync::Cache<u64, String, StringLenWeighter>);

impl StringCache for QuickString {
    fn insert(&self, key: u64, value: String) {
        self.0.insert(key, value);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

// --- moka ---

struct MokaU64(moka::sync::Cache<u64, u64>);

impl U64Cache for MokaU64 {
    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        self.0.get(&key)
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) {
        self.0.insert(key, value);
    }
    fn len(&self) -> usize {
        self.0.entry_count() as usize
    }
    fn settle(&self) {
        self.0.run_pending_tasks();
    }
}

struct MokaString(moka::sync::Cache<u64, String>);

impl StringCache for MokaString {
    fn insert(&self, key: u64, value: String) {
        self.0.insert(key, value);
    }
    fn len(&self) -> usize {
        self.0.entry_count() as usize
    }
    fn settle(&self) {
        self.0.run_pending_tasks();
    }
}

// --- foyer ---

/// foyer's in-memory cache with its defaults (LRU, 8 shards, xxHash64); `get` hands out a
/// reference-counted entry, from which the value is copied.
struct FoyerU64(foyer_memory::Cache<u64, u64>);

impl U64Cache for FoyerU64 {
    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        self.0.get(&key).map(|entry| *entry.value())
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) {
        self.0.insert(key, value);
    }
    fn len(&self) -> usize {
        self.0.entries()
    }
}

struct FoyerString(foyer_memory::Cache<u64, String>);

impl StringCache for FoyerString {
    fn insert(&self, key: u64, value: String) {
        self.0.insert(key, value);
    }
    fn len(&self) -> usize {
        self.0.entries()
    }
}

// --- the Mutex<HashMap> ceiling ---

/// `Mutex<HashMap>` that stops inserting at capacity: no eviction work at all. hashbrown's
/// default hasher (foldhash), so the ceiling is not slowed by SipHash.
struct MutexMap {
    map: Mutex<hashbrown::HashMap<u64, u64>>,
    capacity: usize,
}

impl MutexMap {
    fn new(capacity: usize) -> Self {
        Self {
            map: Mutex::new(hashbrown::HashMap::with_capacity(capacity)),
            capacity,
        }
    }
}

impl U64Cache for MutexMap {
    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        self.map.lock().unwrap().get(&key).copied()
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) {
        let mut map = self.map.lock().unwrap();
        if map.len() < self.capacity || map.contains_key(&key) {
            map.insert(key, value);
        }
    }
    fn len(&self) -> usize {
        self.map.lock().unwrap().len()
    }
}

// --- constructors ---

fn quick_u64(capacity: usize) -> QuickU64 {
    QuickU64(quick_cache::sync::Cache::new(capacity))
}

fn moka_u64(capacity: usize) -> MokaU64 {
    MokaU64(
        moka::sync::Cache::builder()
            .max_capacity(capacity as u64)
            .build(),
    )
}

fn foyer_u64(capacity: usize) -> FoyerU64 {
    FoyerU64(foyer_memory::CacheBuilder::new(capacity).build())
}

fn quick_string(budget: u64) -> QuickString {
    let avg = ((STRING_MIN + STRING_MAX) / 2) as u64;
    QuickString(quick_cache::sync::Cache::with_weighter(
        (budget / avg) as usize,
        budget,
        StringLenWeighter,
    ))
}

/// moka's documented string weigher (its `weigher` example): the length, saturated to `u32`.
fn moka_string(budget: u64) -> MokaString {
    MokaString(
        moka::sync::Cache::builder()
            .max_capacity(budget)
            .weigher(|_key: &u64, value: &String| value.len().try_into().unwrap_or(u32::MAX))
            .build(),
    )
}

/// foyer's documented string weigher (the `with_weighter` line of its README's example).
fn foyer_string(budget: u64) -> FoyerString {
    FoyerString(
        foyer_memory::CacheBuilder::new(usize::try_from(budget).unwrap_or(usize::MAX))
            .with_weighter(|_key: &u64, value: &String| value.len())
            .build(),
    )
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Sample {
    mops: f64,
    hit_ratio: f64,
}

struct Config {
    stop: Stop,
    warmup_ops: usize,
    repeats: usize,
}

/// When a thread's timed slice ends.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// After this much wall-clock time.
    After(Duration),
    /// After this many operations (rounded up to a whole chunk): for instruction counting under
    /// callgrind or cachegrind, where the machine's load does not matter.
    Ops(u64),
}

/// One thread's timed loop over `stream`, starting at `start` and wrapping around.
fn drive<C: U64Cache>(
    cache: &C,
    stream: &[u64],
    start: usize,
    read_through: bool,
    stop: Stop,
) -> (u64, u64, Duration) {
    let n = stream.len();
    let mut idx = start % n;
    let mut ops = 0u64;
    let mut hits = 0u64;
    let mut wrong = 0u64;
    let t0 = Instant::now();
    loop {
        for _ in 0..CHUNK {
            let key = stream[idx];
            idx += 1;
            if idx == n {
                idx = 0;
            }
            match cache.get(key) {
                Some(value) => {
                    hits += 1;
                    wrong += u64::from(black_box(value) != value_of_key(key));
                }
                None => {
                    if read_through {
                        cache.insert(key, value_of_key(key));
                    }
                }
            }
        }
        ops += CHUNK as u64;
        let done = match stop {
            Stop::After(run_for) => t0.elapsed() >= run_for,
            Stop::Ops(n) => ops >= n,
        };
        if done {
            break;
        }
    }
    let elapsed = t0.elapsed();
    assert_eq!(wrong, 0, "a cache returned a wrong value");
    (ops, hits, elapsed)
}

/// Runs `threads` threads over `stream` (each from its own offset), started on a barrier.
fn timed_run<C: U64Cache>(
    cache: &C,
    stream: &[u64],
    first: usize,
    threads: usize,
    read_through: bool,
    stop: Stop,
) -> Sample {
    let barrier = Barrier::new(threads);
    let span = stream.len() / threads;
    let results: Vec<(u64, u64, Duration)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    drive(cache, stream, first + t * span, read_through, stop)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ops: u64 = results.iter().map(|r| r.0).sum();
    let hits: u64 = results.iter().map(|r| r.1).sum();
    let secs = results
        .iter()
        .map(|r| r.2.as_secs_f64())
        .fold(0.0, f64::max);
    Sample {
        mops: ops as f64 / secs / 1e6,
        hit_ratio: hits as f64 / ops as f64,
    }
}

/// Prepares `cache` for `workload`: read-through warms it single-threaded on the first
/// `warmup_ops` keys of the Zipf stream; all-hit fills it with the hot keys.
fn prepare<C: U64Cache>(cache: &C, workload: Workload, streams: &Streams, cfg: &Config) {
    match workload {
        Workload::ReadThrough => {
            for &key in &streams.zipf[..cfg.warmup_ops.min(streams.zipf.len())] {
                if cache.get(key).is_none() {
                    cache.insert(key, value_of_key(key));
                }
            }
        }
        Workload::AllHit => {
            for &key in &streams.hot_keys {
                cache.insert(key, value_of_key(key));
            }
        }
        Workload::MemoryU64 | Workload::BudgetStrings | Workload::BudgetStringsLen => {}
    }
    cache.settle();
}

/// One timed slice of `workload` on an already prepared cache; `round` moves the threads'
/// starting offsets so successive slices read on through the stream.
fn timed_slice<C: U64Cache>(
    cache: &C,
    workload: Workload,
    threads: usize,
    round: usize,
    streams: &Streams,
    cfg: &Config,
) -> Sample {
    let (stream, first, read_through) = match workload {
        Workload::ReadThrough => (&streams.zipf[..], cfg.warmup_ops, true),
        _ => (&streams.uniform[..], 0, false),
    };
    let shift = round * (stream.len() / (threads * cfg.repeats.max(1)));
    timed_run(
        cache,
        stream,
        first + shift,
        threads,
        read_through,
        cfg.stop,
    )
}

fn allocated_bytes() -> u64 {
    tikv_jemalloc_ctl::epoch::advance().unwrap();
    tikv_jemalloc_ctl::stats::allocated::read().unwrap() as u64
}

struct MemorySample {
    bytes_per_entry: f64,
    entries: usize,
    mops: f64,
}

/// Allocated-bytes delta per entry around building and filling a cache with `keys`.
fn memory_u64<C: U64Cache>(make: impl FnOnce() -> C, keys: &[u64]) -> MemorySample {
    let before = allocated_bytes();
    let t0 = Instant::now();
    let cache = make();
    for &key in keys {
        cache.insert(key, value_of_key(key));
    }
    cache.settle();
    let secs = t0.elapsed().as_secs_f64();
    let after = allocated_bytes();
    let entries = cache.len();
    drop(cache);
    MemorySample {
        bytes_per_entry: after.saturating_sub(before) as f64 / entries.max(1) as f64,
        entries,
        mops: keys.len() as f64 / secs / 1e6,
    }
}

struct BudgetSample {
    budget_ratio: f64,
    entries: usize,
    mops: f64,
}

/// Allocated bytes held by a cache with a `budget`-byte budget after `BUDGET_OVERFILL` × budget
/// of random-length strings went in.
fn budget_strings<C: StringCache>(make: impl FnOnce() -> C, budget: u64) -> BudgetSample {
    let before = allocated_bytes();
    let t0 = Instant::now();
    let cache = make();
    let mut inserted = 0u64;
    let mut n_inserted = 0u64;
    let mut lengths = StringLengths::new(STRING_MIN, STRING_MAX, DEFAULT_SEED ^ 0x5717);
    while inserted < BUDGET_OVERFILL * budget {
        let len = lengths.next().unwrap_or(STRING_MIN);
        cache.insert(n_inserted, make_string(len, n_inserted));
        inserted += len as u64;
        n_inserted += 1;
    }
    cache.settle();
    let secs = t0.elapsed().as_secs_f64();
    let after = allocated_bytes();
    let entries = cache.len();
    drop(cache);
    BudgetSample {
        budget_ratio: after.saturating_sub(before) as f64 / budget as f64,
        entries,
        mops: n_inserted as f64 / secs / 1e6,
    }
}

/// The sample with the median throughput (the upper one of the middle two for an even count).
fn median(mut samples: Vec<Sample>) -> Sample {
    samples.sort_by(|a, b| a.mops.total_cmp(&b.mops));
    samples[samples.len() / 2]
}

/// The `q` quantile of `values`, interpolating linearly between neighbours (NaN when empty).
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::NAN;
    };
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

// ---------------------------------------------------------------------------------------------
// Dispatch, table and JSON
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct Row {
    library: &'static str,
    workload: &'static str,
    threads: usize,
    mops: f64,
    hit_ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_per_entry: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    budget_ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entries: Option<usize>,
    /// Throughput rows: the median over rounds of mops / quick_cache's mops in the same round.
    #[serde(skip_serializing_if = "Option::is_none")]
    vs_quick_cache: Option<f64>,
    /// The interquartile range of the per-round ratios behind `vs_quick_cache`.
    #[serde(skip_serializing_if = "Option::is_none")]
    vs_quick_cache_iqr: Option<[f64; 2]>,
    /// Throughput rows: the same against the plain query-cache (what an observer costs).
    #[serde(skip_serializing_if = "Option::is_none")]
    vs_query_cache: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vs_query_cache_iqr: Option<[f64; 2]>,
}

/// The median and interquartile range of per-round ratios `a / b`: each pairs two slices that
/// ran close together in time, which cancels most of the drift.
fn paired(a: &[Sample], b: &[Sample]) -> (f64, [f64; 2]) {
    let r: Vec<f64> = a.iter().zip(b).map(|(a, b)| a.mops / b.mops).collect();
    (quantile(&r, 0.5), [quantile(&r, 0.25), quantile(&r, 0.75)])
}

struct Streams {
    zipf: Vec<u64>,
    hot_keys: Vec<u64>,
    uniform: Vec<u64>,
}

/// Runs `$body` with `$p` naming the policy type of a query-cache library, or `$other`.
macro_rules! with_policy {
    ($lib:expr, $p:ident => $body:expr, _ => $other:expr) => {
        match $lib {
            Library::QueryCache => {
                type $p = query_cache::DefaultPolicy;
                $body
            }
            Library::QueryCacheLru => {
                type $p = eviction::Lru;
                $body
            }
            Library::QueryCacheSieve => {
                type $p = eviction::Sieve;
                $body
            }
            Library::QueryCacheS3Fifo => {
                type $p = eviction::S3Fifo;
                $body
            }
            Library::QueryCacheHybrid => {
                type $p = eviction::Hybrid;
                $body
            }
            Library::QueryCacheClockTinyLfu => {
                type $p = eviction::ClockTinyLfu;
                $body
            }
            _ => $other,
        }
    };
}

/// One u64 cache of any library, so the libraries can sit side by side and take turns; the
/// match happens once per timed slice, never per operation.
enum AnyU64 {
    Ours(ours::OursU64<query_cache::DefaultPolicy>),
    OursLru(ours::OursU64<eviction::Lru>),
    OursSieve(ours::OursU64<eviction::Sieve>),
    OursS3Fifo(ours::OursU64<eviction::S3Fifo>),
    OursHybrid(ours::OursU64<eviction::Hybrid>),
    OursClockTinyLfu(ours::OursU64<eviction::ClockTinyLfu>),
    OursManaged(ours::Managed),
    OursProfiled(ours::OursU64<query_cache::DefaultPolicy>),
    Quick(QuickU64),
    Moka(MokaU64),
    Foyer(FoyerU64),
    Mutex(MutexMap),
}

macro_rules! with_cache {
    ($any:expr, $c:ident => $body:expr) => {
        match $any {
            AnyU64::Ours($c) => $body,
            AnyU64::OursLru($c) => $body,
            AnyU64::OursSieve($c) => $body,
            AnyU64::OursS3Fifo($c) => $body,
            AnyU64::OursHybrid($c) => $body,
            AnyU64::OursClockTinyLfu($c) => $body,
            AnyU64::OursManaged($c) => $body,
            AnyU64::OursProfiled($c) => $body,
            AnyU64::Quick($c) => $body,
            AnyU64::Moka($c) => $body,
            AnyU64::Foyer($c) => $body,
            AnyU64::Mutex($c) => $body,
        }
    };
}

impl AnyU64 {
    fn new(lib: Library, capacity: usize) -> Self {
        match lib {
            Library::QueryCache => AnyU64::Ours(ours::u64_cache(capacity)),
            Library::QueryCacheLru => AnyU64::OursLru(ours::u64_cache(capacity)),
            Library::QueryCacheSieve => AnyU64::OursSieve(ours::u64_cache(capacity)),
            Library::QueryCacheS3Fifo => AnyU64::OursS3Fifo(ours::u64_cache(capacity)),
            Library::QueryCacheHybrid => AnyU64::OursHybrid(ours::u64_cache(capacity)),
            Library::QueryCacheClockTinyLfu => AnyU64::OursClockTinyLfu(ours::u64_cache(capacity)),
            Library::QueryCacheManaged => AnyU64::OursManaged(ours::managed(capacity)),
            Library::QueryCacheProfiled => AnyU64::OursProfiled(ours::profiled(capacity, false)),
            Library::QueryCacheProfiledNamespaces => {
                AnyU64::OursProfiled(ours::profiled(capacity, true))
            }
            Library::QuickCache => AnyU64::Quick(quick_u64(capacity)),
            Library::Moka => AnyU64::Moka(moka_u64(capacity)),
            Library::Foyer => AnyU64::Foyer(foyer_u64(capacity)),
            Library::MutexHashMap => AnyU64::Mutex(MutexMap::new(capacity)),
        }
    }
}

fn memory_row(lib: Library, keys: &[u64]) -> MemorySample {
    with_policy!(lib, P => memory_u64(|| ours::u64_cache::<P>(keys.len()), keys), _ => match lib {
        Library::QuickCache => memory_u64(|| quick_u64(keys.len()), keys),
        Library::Moka => memory_u64(|| moka_u64(keys.len()), keys),
        Library::Foyer => memory_u64(|| foyer_u64(keys.len()), keys),
        Library::QueryCacheManaged => memory_u64(|| ours::managed(keys.len()), keys),
        Library::QueryCacheProfiled => memory_u64(|| ours::profiled(keys.len(), false), keys),
        Library::QueryCacheProfiledNamespaces => {
            memory_u64(|| ours::profiled(keys.len(), true), keys)
        }
        _ => memory_u64(|| MutexMap::new(keys.len()), keys),
    })
}

/// One budget row: `len_weigher` gives every library `value.len()`, otherwise each weighs as
/// its documentation shows (for the peers that is `value.len()` too).
fn budget_row(lib: Library, len_weigher: bool) -> Option<BudgetSample> {
    with_policy!(lib, P => Some(ours::budget::<P>(BUDGET_BYTES, len_weigher)), _ => match lib {
        Library::QuickCache => Some(budget_strings(|| quick_string(BUDGET_BYTES), BUDGET_BYTES)),
        Library::Moka => Some(budget_strings(|| moka_string(BUDGET_BYTES), BUDGET_BYTES)),
        Library::Foyer => Some(budget_strings(|| foyer_string(BUDGET_BYTES), BUDGET_BYTES)),
        // No eviction, so no budget to hold.
        _ => None,
    })
}

/// query-cache's adapters: `cache_core::Cache` with the given policy (the facade's `Cache` is
/// the one with `query_cache::DefaultPolicy`) and otherwise its defaults (HeapSize weigher,
/// default shard count and hasher), bounded by entries for the u64 rows and by bytes for the
/// strings; `budget_strings_len` swaps in a `value.len()` weigher.
mod ours {
    use super::{BudgetSample, StringCache, U64Cache, budget_strings};
    use query_cache::EvictionPolicy;

    pub(super) struct OursU64<P>(cache_core::Cache<u64, u64, P>);

    /// The facade's cache shared with a running memory manager.
    pub(super) struct Managed {
        cache: std::sync::Arc<query_cache::Cache<u64, u64>>,
        manager: query_cache::MemoryManager,
        started: std::time::Instant,
    }

    impl Drop for Managed {
        /// Says what the manager's thread cost: its working time against the time it ran.
        fn drop(&mut self) {
            let view = self.manager.view();
            let ran = self.started.elapsed();
            println!(
                "  query-cache+manager: {} ticks in {:.1} s, mean {} µs, max {} µs: the thread worked {:.4} % of the time",
                view.ticks,
                ran.as_secs_f64(),
                view.mean_tick().as_micros(),
                view.max_tick.as_micros(),
                100.0 * view.busy.as_secs_f64() / ran.as_secs_f64()
            );
        }
    }

    impl U64Cache for Managed {
        #[inline]
        fn get(&self, key: u64) -> Option<u64> {
            self.cache.get(&key)
        }
        #[inline]
        fn insert(&self, key: u64, value: u64) {
            self.cache.insert(key, value);
        }
        fn len(&self) -> usize {
            self.cache.entry_count() as usize
        }
    }

    /// An entry-bounded cache like `u64_cache`'s, observed by a profiler at its default
    /// sampling with a memory probe (allocation tracking on), and with `namespaces` a closure
    /// putting a quarter of the keys in a namespace of their own.
    pub(super) fn profiled(
        capacity: usize,
        namespaces: bool,
    ) -> OursU64<query_cache::DefaultPolicy> {
        let mut profiler = query_cache::Profiler::<u64>::builder()
            .name("bench")
            .probe(std::sync::Arc::new(query_cache::Probe::new()));
        if namespaces {
            profiler = profiler.namespace(|k| if k % 4 == 0 { "quarter" } else { "rest" });
        }
        let profiler = profiler.build().unwrap();
        OursU64(
            cache_core::Cache::builder()
                .max_entries(capacity as u64)
                .observer(profiler)
                .build()
                .unwrap(),
        )
    }

    /// An entry-bounded cache like `u64_cache`'s, with a manager at its default tick whose
    /// bounds pin the capacity: the rows measure what the manager's thread costs the readers.
    pub(super) fn managed(capacity: usize) -> Managed {
        let cache = std::sync::Arc::new(
            query_cache::Cache::builder()
                .max_entries(capacity as u64)
                .build()
                .unwrap(),
        );
        let pinned = query_cache::ManagedCache::capacity(&*cache);
        let manager = query_cache::MemoryManager::builder()
            .cache(cache.clone(), query_cache::Bounds::exactly(pinned))
            .build()
            .unwrap();
        Managed {
            cache,
            manager,
            started: std::time::Instant::now(),
        }
    }

    impl<P: EvictionPolicy> U64Cache for OursU64<P>
    where
        cache_core::Cache<u64, u64, P>: Sync,
    {
        #[inline]
        fn get(&self, key: u64) -> Option<u64> {
            self.0.get(&key)
        }
        #[inline]
        fn insert(&self, key: u64, value: u64) {
            self.0.insert(key, value);
        }
        fn len(&self) -> usize {
            self.0.entry_count() as usize
        }
    }

    struct OursString<P>(cache_core::Cache<u64, String, P>);

    impl<P: EvictionPolicy> StringCache for OursString<P> {
        fn insert(&self, key: u64, value: String) {
            self.0.insert(key, value);
        }
        fn len(&self) -> usize {
            self.0.entry_count() as usize
        }
    }

    pub(super) fn u64_cache<P: EvictionPolicy + Default + 'static>(capacity: usize) -> OursU64<P> {
        OursU64(
            cache_core::Cache::builder()
                .max_entries(capacity as u64)
                .build()
                .unwrap(),
        )
    }

    pub(super) fn budget<P: EvictionPolicy + Default + 'static>(
        budget: u64,
        len_weigher: bool,
    ) -> BudgetSample {
        budget_strings(
            || {
                let builder = if len_weigher {
                    cache_core::Cache::builder_with_weigher(|_key: &u64, value: &String| {
                        value.len() as u64
                    })
                } else {
                    cache_core::Cache::builder()
                };
                OursString::<P>(builder.max_bytes(budget).build().unwrap())
            },
            budget,
        )
    }
}

struct Args {
    quick: bool,
    repeats: Option<usize>,
    ops: Option<u64>,
    libraries: Vec<String>,
    workloads: Vec<String>,
    threads: Vec<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        quick: false,
        repeats: None,
        ops: None,
        libraries: Vec::new(),
        workloads: Vec::new(),
        threads: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => args.quick = true,
            "--ops" => {
                args.ops = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .map(|n: u64| n.max(1));
            }
            "--repeats" => {
                args.repeats = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .map(|n: usize| n.max(1));
            }
            "--library" | "--workload" | "--threads" => {
                let Some(value) = it.next() else { break };
                let list = match arg.as_str() {
                    "--library" => &mut args.libraries,
                    "--workload" => &mut args.workloads,
                    _ => &mut args.threads,
                };
                list.extend(value.split(',').map(str::to_owned));
            }
            // `cargo bench` passes `--bench`; ignore it and anything else unknown.
            _ => {}
        }
    }
    args
}

fn wanted(filter: &[String], name: &str) -> bool {
    filter.is_empty() || filter.iter().any(|f| f == name)
}

fn fmt_opt(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

fn fmt_iqr(iqr: Option<[f64; 2]>) -> String {
    iqr.map_or_else(|| "-".to_owned(), |[lo, hi]| format!("{lo:.2}–{hi:.2}"))
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<23} {:<13} {:>3} {:>7} {:>6} {:>11} {:>7} {:>11} {:>7} {:>12} {:>7} {:>8}",
        "library",
        "workload",
        "thr",
        "Mops/s",
        "vs qc",
        "(IQR)",
        "vs q-c",
        "(IQR)",
        "hit",
        "bytes/entry",
        "budget",
        "entries"
    );
    for r in rows {
        println!(
            "{:<23} {:<13} {:>3} {:>7.2} {:>6} {:>11} {:>7} {:>11} {:>7} {:>12} {:>7} {:>8}",
            r.library,
            r.workload,
            r.threads,
            r.mops,
            fmt_opt(r.vs_quick_cache, 2),
            fmt_iqr(r.vs_quick_cache_iqr),
            fmt_opt(r.vs_query_cache, 2),
            fmt_iqr(r.vs_query_cache_iqr),
            fmt_opt(r.hit_ratio, 4),
            fmt_opt(r.bytes_per_entry, 1),
            fmt_opt(r.budget_ratio, 3),
            r.entries.map_or_else(|| "-".to_owned(), |e| e.to_string()),
        );
    }
}

fn json_path() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().map_or(manifest.clone(), PathBuf::from);
    root.join("target").join("bench").join("peers.json")
}

fn main() -> Result<()> {
    let args = parse_args();
    let cfg = if args.quick {
        Config {
            stop: args
                .ops
                .map_or(Stop::After(Duration::from_millis(150)), Stop::Ops),
            warmup_ops: 300_000,
            repeats: args.repeats.unwrap_or(QUICK_REPEATS),
        }
    } else {
        Config {
            stop: args
                .ops
                .map_or(Stop::After(Duration::from_millis(500)), Stop::Ops),
            warmup_ops: 1_000_000,
            repeats: args.repeats.unwrap_or(REPEATS),
        }
    };
    let libraries: Vec<Library> = Library::ALL
        .into_iter()
        .filter(|l| !l.repeats_default() && wanted(&args.libraries, l.name()))
        .collect();
    let workloads: Vec<Workload> = Workload::ALL
        .into_iter()
        .filter(|w| wanted(&args.workloads, w.name()))
        .collect();

    let t0 = Instant::now();
    let stream_len = if args.quick { 4 << 20 } else { 16 << 20 };
    let hot_keys = keys_of_ranks(CAPACITY);
    let streams = Streams {
        // Streams a filtered run does not use are left empty.
        zipf: if workloads.contains(&Workload::ReadThrough) {
            zipf_key_stream(stream_len, UNIVERSE, ZIPF_S, DEFAULT_SEED)
        } else {
            Vec::new()
        },
        uniform: if workloads.contains(&Workload::AllHit) {
            uniform_key_stream(stream_len / 2, &hot_keys, DEFAULT_SEED ^ 0xa11)
        } else {
            Vec::new()
        },
        hot_keys,
    };
    let memory_keys = if workloads.contains(&Workload::MemoryU64) {
        keys_of_ranks(MEMORY_ENTRIES)
    } else {
        Vec::new()
    };
    eprintln!(
        "peers: streams ready in {:.2}s (zipf {} keys, uniform {} keys; ideal LFU hit ratio {:.3}); {} repeats of {:?}",
        t0.elapsed().as_secs_f64(),
        streams.zipf.len(),
        streams.uniform.len(),
        harmonic(CAPACITY, ZIPF_S) / harmonic(UNIVERSE, ZIPF_S),
        cfg.repeats,
        cfg.stop,
    );

    let mut rows = Vec::new();
    for &workload in &workloads {
        match workload {
            Workload::ReadThrough | Workload::AllHit => {
                for threads in THREAD_COUNTS {
                    if !wanted(&args.threads, &threads.to_string()) {
                        continue;
                    }
                    // Every library gets its own cache, prepared once; then the timed slices
                    // take turns, so background noise (other builds on the machine) spreads
                    // over all libraries alike and the ratios stay meaningful.
                    let caches: Vec<AnyU64> = libraries
                        .iter()
                        .map(|&lib| {
                            let cache = AnyU64::new(lib, CAPACITY);
                            with_cache!(&cache, c => prepare(c, workload, &streams, &cfg));
                            cache
                        })
                        .collect();
                    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); libraries.len()];
                    // Each round starts with a different library, so no library always runs
                    // right after the same neighbour.
                    let n_libs = caches.len();
                    for round in 0..cfg.repeats {
                        for turn in 0..n_libs {
                            let i = (round + turn) % n_libs;
                            samples[i].push(with_cache!(&caches[i], c => timed_slice(
                                c, workload, threads, round, &streams, &cfg
                            )));
                        }
                    }
                    drop(caches);
                    let qc = libraries.iter().position(|&l| l == Library::QuickCache);
                    let plain = libraries.iter().position(|&l| l == Library::QueryCache);
                    for (i, &lib) in libraries.iter().enumerate() {
                        if samples[i].is_empty() {
                            continue;
                        }
                        let m = median(samples[i].clone());
                        let vs_qc = qc.map(|q| paired(&samples[i], &samples[q]));
                        let vs_plain = plain.map(|q| paired(&samples[i], &samples[q]));
                        let row = Row {
                            library: lib.name(),
                            workload: workload.name(),
                            threads,
                            mops: m.mops,
                            hit_ratio: Some(m.hit_ratio),
                            bytes_per_entry: None,
                            budget_ratio: None,
                            entries: None,
                            vs_quick_cache: vs_qc.map(|r| r.0),
                            vs_quick_cache_iqr: vs_qc.map(|r| r.1),
                            vs_query_cache: vs_plain.map(|r| r.0),
                            vs_query_cache_iqr: vs_plain.map(|r| r.1),
                        };
                        eprintln!(
                            "  {:<19} {:<13} {}t {:>8.2} Mops/s  hit {:.4}",
                            row.library, row.workload, threads, row.mops, m.hit_ratio
                        );
                        rows.push(row);
                    }
                }
            }
            Workload::MemoryU64 => {
                for &lib in &libraries {
                    let m = memory_row(lib, &memory_keys);
                    eprintln!(
                        "  {:<19} memory_u64: {:.1} bytes/entry ({:.1} over the payload), {} entries",
                        lib.name(),
                        m.bytes_per_entry,
                        m.bytes_per_entry - PAYLOAD_BYTES,
                        m.entries
                    );
                    rows.push(Row {
                        library: lib.name(),
                        workload: workload.name(),
                        threads: 1,
                        mops: m.mops,
                        hit_ratio: None,
                        bytes_per_entry: Some(m.bytes_per_entry),
                        budget_ratio: None,
                        entries: Some(m.entries),
                        vs_quick_cache: None,
                        vs_quick_cache_iqr: None,
                        vs_query_cache: None,
                        vs_query_cache_iqr: None,
                    });
                }
            }
            Workload::BudgetStrings | Workload::BudgetStringsLen => {
                let len_weigher = workload == Workload::BudgetStringsLen;
                for &lib in &libraries {
                    let Some(b) = budget_row(lib, len_weigher) else {
                        continue;
                    };
                    eprintln!(
                        "  {:<19} {}: {:.3} × budget, {} entries",
                        lib.name(),
                        workload.name(),
                        b.budget_ratio,
                        b.entries
                    );
                    rows.push(Row {
                        library: lib.name(),
                        workload: workload.name(),
                        threads: 1,
                        mops: b.mops,
                        hit_ratio: None,
                        bytes_per_entry: None,
                        budget_ratio: Some(b.budget_ratio),
                        entries: Some(b.entries),
                        vs_quick_cache: None,
                        vs_quick_cache_iqr: None,
                        vs_query_cache: None,
                        vs_query_cache_iqr: None,
                    });
                }
            }
        }
    }

    println!();
    print_table(&rows);
    println!(
        "\nmemory_u64: whole allocated delta per entry, 16-byte payload included (target ≤ 48); \
         budget_strings: allocated delta / 64 MiB (target 0.90–1.05), each library's documented \
         weigher (query-cache HeapSize, peers value.len()); budget_strings_len: value.len() for all"
    );

    let path = json_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(&rows)? + "\n")
        .with_context(|| format!("write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

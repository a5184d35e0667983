//! The demo behind `cargo xtask demo`: the whole stack on an embedded query workload, ending
//! in a report folder.
//!
//! A query layer caches three kinds of results, each in a cache of its own under one shared
//! budget ("query"), as a retrieval-augmented service would:
//!
//! - `embeddings`: vectors for 50,000 texts, Zipf 0.9, 20 µs to compute: 384 floats (1.5 KiB)
//!   from a small model, and 1024 floats (4 KiB) from a large one for one text in ten;
//! - `search`: 5 to 20 hits with snippets (1 to 3 KiB) for 100,000 queries, Zipf 1.0, 15 µs;
//! - `project`: 4 to 16 KiB of project context for 5,000 projects, Zipf 1.1, 40 µs. Its
//!   `HeapSize` forgets the context's symbol list, about half its bytes: a deliberate bug the
//!   profiler reports (`QC-PROFILE-WEIGHER-UNDERCOUNT`) and the leak detector sees as a cache over
//!   its budget.
//!
//! Two threads send 40 % search, 40 % embedding and 20 % project requests, read-through.
//! The run has six phases: warm-up, steady state, a shift in popularity (the hot keys move),
//! a memory squeeze (a ballast outside the caches grows to 55 % of the memory ceiling in half a
//! second), the recovery after it is freed, and a leak (a task keeps 2 MiB more every second
//! outside the caches) that the leak detector reports. A `MemoryManager` watches the process under a ceiling for its
//! resident set (what a container limit would be): it raises the pressure level, shrinks the
//! caches, and grows them back; its level changes, relief actions and sizing decisions are
//! printed as they happen.
//!
//! Each cache has a `Profiler` (latency, namespaces, hot and heavy keys, allocations), and the
//! manager feeds a `LeakDetector` once a second. Every component reports to one `Reports` hub, recorded on every tick of the manager, with a
//! dashboard (`report.html` reloading itself, `report.json`) rewritten every two seconds. At
//! the end the folder holds `report.html`, `report.json`, `report.txt`, `metrics.prom` and
//! `csv/*.csv`.
//!
//! ```text
//! cargo xtask demo [--out DIR] [--trace FILE] [--serve ADDR] [--quick]
//! ```
//!
//! `--trace FILE` replays a recorded trace (any format `cargo xtask sim` reads) through one
//! cache instead; `--serve ADDR` keeps `/metrics`, `/report.json` and `/report.html` up on
//! ADDR until interrupted; `--quick` runs a shorter workload.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use query_cache::{
    AlertKind, Bounds, Cache, HeapSize, LeakDetector, ManagerEvent, MemoryManager, MemoryProbe,
    MemorySample, Probe, ProfileFigures, Profiler, Reclaim, Reclaimer, ReportKind, Reports,
    SharedBudget,
};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const MIB: u64 = 1 << 20;
const THREADS: usize = 2;

/// One search hit.
#[allow(dead_code)] // a real hit's fields; the demo only caches them
struct Hit {
    doc: u64,
    score: f32,
    snippet: String,
}

/// A cached query result.
#[allow(dead_code)] // the vectors and texts are cached, never read back
enum Payload {
    Embedding(Vec<f32>),
    Search(Vec<Hit>),
    Context(Context),
    /// A replayed trace's value: only its size matters.
    Blob(Vec<u8>),
}

/// A project's context: its text and the symbols it defines.
#[allow(dead_code)] // cached, never read back
struct Context {
    text: String,
    symbols: Vec<String>,
}

impl HeapSize for Payload {
    fn heap_size(&self) -> usize {
        match self {
            Payload::Embedding(v) => v.heap_size(),
            Payload::Search(hits) => hits.heap_size(),
            // The deliberate bug: the symbols are forgotten, so the cache charges about half of
            // what a context holds. The profiler measures each load's allocations and says so.
            Payload::Context(c) => c.text.heap_size(),
            Payload::Blob(b) => b.heap_size(),
        }
    }
}

impl HeapSize for Hit {
    fn heap_size(&self) -> usize {
        self.snippet.heap_size()
    }
}

type Answer = Arc<Payload>;
type QueryCache = Cache<String, Answer>;

/// A kind of query: its cache, its popularity and what a miss costs.
struct Namespace {
    name: &'static str,
    cache: Arc<QueryCache>,
    zipf: Zipf,
    /// Keys `offset..offset + n` are the ones asked for; the shift moves the offset.
    keys: u64,
    cost: Duration,
    build: fn(u64) -> Payload,
    profile: Arc<Profiler<String>>,
}

/// The embedding model of text `k`: the large one for one text in ten.
fn large_model(k: u64) -> bool {
    k % 10 == 0
}

fn embedding(k: u64) -> Payload {
    let dims = if large_model(k) { 1024 } else { 384 };
    Payload::Embedding(
        (0..dims)
            .map(|i| ((k * 31 + i) % 997) as f32 / 997.0)
            .collect(),
    )
}

fn search(k: u64) -> Payload {
    let n = 5 + (k * 7919 % 16);
    Payload::Search(
        (0..n)
            .map(|i| Hit {
                doc: k * 100 + i,
                score: 1.0 / (i + 1) as f32,
                snippet: format!("result {i} for query {k}: {}", "lorem ipsum ".repeat(8)),
            })
            .collect(),
    )
}

fn context(k: u64) -> Payload {
    let kib = 2 + (k * 104_729 % 7);
    let text = "fn main() { /* project context */ }\n".repeat((kib * 1024 / 36) as usize);
    let symbols = (0..kib * 12)
        .map(|i| format!("project_{k}::module_{i}::symbol"))
        .collect();
    Payload::Context(Context { text, symbols })
}

fn blob(bytes: u64) -> Payload {
    Payload::Blob(vec![0u8; bytes as usize])
}

struct Args {
    out: PathBuf,
    trace: Option<PathBuf>,
    serve: Option<String>,
    quick: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        out: PathBuf::from("target/demo"),
        trace: None,
        serve: None,
        quick: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .unwrap_or_else(|| fail(&format!("{flag} takes a value")))
        };
        match arg.as_str() {
            "--out" => args.out = PathBuf::from(value("--out")),
            "--trace" => args.trace = Some(PathBuf::from(value("--trace"))),
            "--serve" => args.serve = Some(value("--serve")),
            "--quick" => args.quick = true,
            "-h" | "--help" => {
                println!("cargo xtask demo [--out DIR] [--trace FILE] [--serve ADDR] [--quick]");
                std::process::exit(0);
            }
            other => fail(&format!(
                "unknown argument `{other}`; the demo takes --out DIR, --trace FILE, --serve ADDR and --quick"
            )),
        }
    }
    args
}

fn fail(msg: &str) -> ! {
    eprintln!("demo: {msg}");
    std::process::exit(2)
}

fn main() {
    let args = parse_args();
    let probe = Arc::new(Probe::new());
    let reclaimer = Arc::new(
        Reclaimer::<(String, Answer)>::builder()
            .purge_after_bytes(8 * MIB)
            .dirty_decay_ms(1000)
            .build()
            .unwrap_or_else(|e| fail(&format!("reclaimer: {e}"))),
    );
    // Each cache gets a profiler at its default sampling (one read in 256); the embeddings'
    // keys fall into two namespaces, one per model.
    let new_cache = |name: &str, max: u64| {
        let mut profile = Profiler::<String>::builder()
            .name(name)
            .probe(probe.clone() as Arc<dyn MemoryProbe>);
        profile = match name {
            "embeddings" => profile.namespace(|key: &String| {
                let k: u64 = key
                    .rsplit(':')
                    .next()
                    .and_then(|k| k.parse().ok())
                    .unwrap_or(1);
                if large_model(k) {
                    "embeddings/large-model"
                } else {
                    "embeddings/small-model"
                }
            }),
            "search" => profile.namespace(|_: &String| "search"),
            "project" => profile.namespace(|_: &String| "project"),
            _ => profile,
        };
        let profile = profile
            .build()
            .unwrap_or_else(|e| fail(&format!("profiler {name}: {e}")));
        let cache = Arc::new(
            Cache::builder()
                .name(name)
                .max_bytes(max)
                .time_to_live(Duration::from_secs(600))
                .reclaimer(reclaimer.clone() as Arc<dyn Reclaim<(String, Answer)>>)
                .observer(profile.clone())
                .build()
                .unwrap_or_else(|e| fail(&format!("cache {name}: {e}"))),
        );
        (cache, profile)
    };
    let namespace = |name: &'static str, max: u64, zipf: Zipf, cost_us: u64, build| {
        let (cache, profile) = new_cache(name, max);
        let keys = zipf.len();
        Namespace {
            name,
            cache,
            zipf,
            keys,
            cost: Duration::from_micros(cost_us),
            build,
            profile,
        }
    };
    let namespaces: Vec<Namespace> = match &args.trace {
        None => vec![
            namespace("search", 24 * MIB, Zipf::new(100_000, 1.0), 15, search),
            namespace(
                "embeddings",
                24 * MIB,
                Zipf::new(50_000, 0.9),
                20,
                embedding,
            ),
            namespace("project", 16 * MIB, Zipf::new(5_000, 1.1), 40, context),
        ],
        Some(_) => vec![namespace("trace", 64 * MIB, Zipf::new(1, 1.0), 10, |_| {
            blob(4096)
        })],
    };
    let reports = Reports::new("query-cache demo");
    for ns in &namespaces {
        reports.add_source(ns.cache.clone());
        reports.add_source(ns.profile.clone());
    }
    reports.add_source(reclaimer.clone());
    let detector = Arc::new(
        LeakDetector::new(query_cache::leaks::Config::default())
            .unwrap_or_else(|e| fail(&format!("leak detector: {e}"))),
    );
    reports.add_source(detector.clone());

    let multi = MultiProgress::new();
    let say = |line: String| print_line(&multi, line);
    say(format!(
        "query-cache demo: {} thread(s); caches {}; report folder {}",
        THREADS,
        namespaces
            .iter()
            .map(|n| format!("{} ({} MiB)", n.name, n.cache.capacity() / MIB))
            .collect::<Vec<_>>()
            .join(", "),
        args.out.display()
    ));

    let trace = args.trace.as_ref().map(|path| {
        query_cache::policies::trace::Trace::read(path, None)
            .unwrap_or_else(|e| fail(&format!("cannot read the trace {}: {e}", path.display())))
    });
    // Synthetic phases run for a time; a trace's quarters run through their requests.
    let secs = |full: u64, quick: u64| {
        Len::Time(Duration::from_secs(if args.quick { quick } else { full }))
    };
    let phases: Vec<(&str, Len)> = match &trace {
        None => vec![
            ("warm-up", secs(3, 1)),
            ("steady state", secs(5, 2)),
            ("popularity shift", secs(5, 2)),
            ("memory squeeze", secs(6, 3)),
            ("recovery", secs(6, 3)),
            ("leak outside the caches", secs(20, 12)),
        ],
        Some(t) => {
            let part = t.len() / THREADS / 4;
            vec![
                ("trace, first quarter", Len::Requests(part)),
                ("trace, second quarter", Len::Requests(part)),
                ("trace, third quarter (memory squeeze)", Len::Requests(part)),
                ("trace, last quarter (recovery)", Len::Requests(part)),
            ]
        }
    };

    // Warm up before the manager starts, so its ceiling fits the warm process.
    let offset = AtomicU64::new(0);
    let loads = AtomicU64::new(0);
    let run_phase = |label: &str, len: Len, seed: u64, trace_part: usize| {
        let (total, unit) = match len {
            Len::Time(d) => (u64::try_from(d.as_millis()).unwrap_or(u64::MAX), "ms"),
            Len::Requests(n) => ((n * THREADS) as u64, "requests"),
        };
        let bar = multi.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{prefix:<38}} [{{bar:30}}] {{pos:>7}}/{{len:7}} {unit} {{msg}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(label.to_owned());
        let before = totals(&namespaces);
        let started = Instant::now();
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (namespaces, bar, offset, loads, trace) =
                    (&namespaces, &bar, &offset, &loads, &trace);
                s.spawn(move || {
                    let mut rng = seed.wrapping_add(t as u64 * 0x9E37_79B9);
                    for i in 0.. {
                        match (len, trace) {
                            (Len::Requests(n), Some(tr)) => {
                                if i >= n {
                                    break;
                                }
                                let idx = (trace_part * THREADS + t) * n + i;
                                if idx < tr.len() {
                                    replay(&namespaces[0], tr, idx, loads);
                                }
                                if i % 1024 == 1023 {
                                    bar.inc(1024);
                                }
                            }
                            (Len::Time(d), _) => {
                                let r = next(&mut rng) % 10;
                                let ns = &namespaces[if r < 4 {
                                    0
                                } else if r < 8 {
                                    1
                                } else {
                                    2
                                }];
                                let k = (ns.zipf.sample(&mut rng)
                                    + offset.load(Ordering::Relaxed) * ns.keys / 2)
                                    % ns.keys;
                                request(ns, k, loads);
                                if i % 256 == 255 {
                                    let elapsed = started.elapsed();
                                    if elapsed >= d {
                                        break;
                                    }
                                    if t == 0 {
                                        bar.set_position(elapsed.as_millis() as u64);
                                    }
                                }
                            }
                            _ => break,
                        }
                    }
                });
            }
        });
        let after = totals(&namespaces);
        let (hits, gets) = (after.0 - before.0, after.1 - before.1);
        let done = format!(
            "{:>5.2} s, {:>6.2} M requests/s, hit ratio {:>5.1} %",
            started.elapsed().as_secs_f64(),
            gets as f64 / started.elapsed().as_secs_f64() / 1e6,
            100.0 * hits as f64 / gets.max(1) as f64
        );
        if multi.is_hidden() {
            println!("{label:<38} {done}");
        }
        bar.set_position(total);
        bar.finish_with_message(done);
    };

    let (first, rest) = phases.split_first().unwrap_or_else(|| fail("no phases"));
    run_phase(first.0, first.1, 1, 0);
    reclaimer.flush();
    let warm = probe.sample();
    let rss = warm.process_rss.unwrap_or(128 * MIB);
    let full = namespaces.iter().map(|n| n.cache.capacity()).sum::<u64>();
    // Room for every cache at its full budget (with about 25 % allocator overhead) below the
    // sizer's goal, 0.75 of the ceiling.
    let ceiling = (rss + full * 5 / 4) * 4 / 3;
    let mut budget = SharedBudget::new("query");
    for ns in &namespaces {
        let cap = ns.cache.capacity();
        budget = budget.cache(ns.cache.clone(), Bounds::new(cap / 16, cap), 1.0);
    }
    let manager = MemoryManager::builder()
        .shared_budget(budget)
        .reclaimer(reclaimer.clone())
        .probe(probe.clone() as Arc<dyn MemoryProbe>)
        .ceiling(ceiling)
        .tick(Duration::from_millis(250))
        .pressure(query_cache::pressure::PressureMonitor::builder().hold(Duration::from_secs(2)))
        .sizing(query_cache::sizing::Sizer::builder().cool_down(Duration::from_secs(2)))
        .reports(reports.clone())
        .dashboard(&args.out, Duration::from_secs(2))
        .leak_detector(detector.clone());
    let manager = namespaces
        .iter()
        .fold(manager, |m, ns| {
            m.profile(ns.profile.clone() as Arc<dyn ProfileFigures>)
        })
        .build()
        .unwrap_or_else(|e| fail(&format!("memory manager: {e}")));
    reports.add_source(manager.report_source());
    manager.tick_now();
    say(format!(
        "memory manager: ceiling {} MiB for the resident set (now {} MiB), tick 250 ms; kernel notifications: {}",
        ceiling / MIB,
        rss / MIB,
        match manager.view().notifications.join(", ") {
            s if s.is_empty() => "none".to_owned(),
            s => s,
        }
    ));
    let printer = EventPrinter::start(manager.clone(), detector.clone(), multi.clone());
    // What the leak phase keeps, held to the end so the report shows the leak still open.
    let mut leaked: Vec<Vec<u8>> = Vec::new();

    for (i, &(label, len)) in rest.iter().enumerate() {
        let seed = i as u64 + 2;
        let part = i + 1;
        if label.contains("shift") {
            offset.store(1, Ordering::Relaxed);
            say("-- the popular keys move: yesterday's hot queries go cold --".to_owned());
        }
        if label.contains("squeeze") {
            // Faster than the sizer's steps can follow, so the pressure level rises too.
            let ballast_bytes = ceiling * 11 / 20;
            say(format!(
                "-- a ballast outside the caches grows to {} MiB --",
                ballast_bytes / MIB
            ));
            let ballast = std::thread::scope(|s| {
                let grow = s.spawn(|| grow_ballast(ballast_bytes));
                run_phase(label, len, seed, part);
                grow.join().unwrap_or_default()
            });
            say(memory_line("with the ballast", &probe.sample()));
            drop(ballast);
            say("-- the ballast is freed --".to_owned());
            continue;
        }
        if label.contains("leak") {
            let rate = 2 * MIB;
            say(format!(
                "-- a leak: a background task keeps {} MiB more every second, outside the caches --",
                rate / MIB
            ));
            let Len::Time(d) = len else {
                run_phase(label, len, seed, part);
                continue;
            };
            leaked = std::thread::scope(|s| {
                let leak = s.spawn(|| leak_for(d, rate));
                run_phase(label, len, seed, part);
                leak.join().unwrap_or_default()
            });
            say(memory_line("after the leak", &probe.sample()));
            continue;
        }
        run_phase(label, len, seed, part);
    }
    // Let the level fall and the caches grow back before the last look.
    let deadline = Instant::now() + Duration::from_secs(if args.quick { 3 } else { 8 });
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
    reclaimer.flush();
    manager.tick_now();
    printer.stop();
    say(memory_line("at the end", &probe.sample()));
    say(format!(
        "\nthe memory manager's view\n{}",
        indent(&manager.view().to_string())
    ));

    say(format!(
        "leak detector: {} alert(s) open ({} MiB kept by the leak)",
        detector.open_alerts().len(),
        leaked.iter().map(Vec::len).sum::<usize>() as u64 / MIB
    ));
    let written = reports.write(&args.out, None).unwrap_or_else(|e| {
        fail(&format!(
            "cannot write the report to {}: {e}",
            args.out.display()
        ))
    });
    let dir = std::fs::canonicalize(&written.dir).unwrap_or(written.dir.clone());
    let csv = written
        .files
        .iter()
        .filter(|f| f.starts_with("csv"))
        .count();
    println!("\nreport folder: {}", dir.display());
    println!(
        "  report.html   open it in a browser: charts of memory, hit ratio and pressure, findings, tables"
    );
    println!("  report.json   the same, versioned (docs/report.schema.json)");
    println!("  report.txt    for a terminal");
    println!("  metrics.prom  the Prometheus text format");
    println!("  csv/          {csv} files, one per table and series");
    let summary = reports.report(ReportKind::Summary);
    let findings: Vec<_> = summary.sections.iter().flat_map(|s| &s.findings).collect();
    if !findings.is_empty() {
        println!("findings:");
        for f in findings {
            println!("  [{}] {} {}", f.severity.as_str(), f.code, f.title);
        }
    }

    if let Some(addr) = &args.serve {
        serve(addr, &reports, &manager);
    }
}

/// Serves the endpoint on `addr` until the process is interrupted; the manager keeps ticking.
fn serve(addr: &str, reports: &Reports, manager: &MemoryManager) {
    let hub = reports.clone();
    let server = query_cache::reporting::MetricsServer::builder()
        .address(addr)
        .report(move || hub.report(ReportKind::Detailed))
        .start()
        .unwrap_or_else(|e| fail(&format!("cannot serve on {addr}: {e}")));
    println!(
        "serving http://{}/metrics, /report.json and /report.html until interrupted (Ctrl-C)",
        server.local_addr()
    );
    let _keep = manager.clone();
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// One read-through request for key `k` of `ns`.
fn request(ns: &Namespace, k: u64, loads: &AtomicU64) {
    let key = format!("{}:{k}", ns.name);
    let answer = ns
        .cache
        .get_or_insert_with(key, || {
            let started = Instant::now();
            let value = (ns.build)(k);
            while started.elapsed() < ns.cost {
                std::hint::spin_loop();
            }
            loads.fetch_add(1, Ordering::Relaxed);
            Arc::new(value)
        })
        .unwrap_or_else(|e| fail(&format!("load failed: {e}")));
    black_box(&answer);
}

/// Request `idx` of a recorded trace, with the trace's size when it has one.
fn replay(
    ns: &Namespace,
    trace: &query_cache::policies::trace::Trace,
    idx: usize,
    loads: &AtomicU64,
) {
    let key = format!("trace:{}", trace.keys()[idx]);
    let bytes = if trace.is_weighted() {
        trace.weight(idx)
    } else {
        4096
    };
    let answer = ns
        .cache
        .get_or_insert_with(key, || {
            loads.fetch_add(1, Ordering::Relaxed);
            Arc::new(blob(bytes.min(64 * MIB)))
        })
        .unwrap_or_else(|e| fail(&format!("load failed: {e}")));
    black_box(&answer);
}

/// How long a phase runs.
#[derive(Clone, Copy)]
enum Len {
    /// For a time.
    Time(Duration),
    /// Through this many requests per thread.
    Requests(usize),
}

/// Hits and lookups of every cache so far.
fn totals(namespaces: &[Namespace]) -> (u64, u64) {
    namespaces.iter().fold((0, 0), |(h, g), ns| {
        let s = ns.cache.stats();
        (h + s.hits, g + s.gets())
    })
}

fn next(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

/// Allocates `bytes` in 4 MiB chunks, touching every page, over about half a second.
fn grow_ballast(bytes: u64) -> Vec<Vec<u8>> {
    const CHUNK: usize = 4 << 20;
    let chunks = (bytes as usize).div_ceil(CHUNK);
    let mut ballast = Vec::with_capacity(chunks);
    for _ in 0..chunks {
        ballast.push(vec![1u8; CHUNK]);
        std::thread::sleep(Duration::from_millis(500 / chunks.max(1) as u64));
    }
    ballast
}

/// Keeps `rate` bytes more every second for `d`, touching every page: a leak.
fn leak_for(d: Duration, rate: u64) -> Vec<Vec<u8>> {
    let started = Instant::now();
    let mut kept = Vec::new();
    let step = Duration::from_millis(250);
    while started.elapsed() < d {
        kept.push(vec![1u8; (rate / 4) as usize]);
        std::thread::sleep(step);
    }
    kept
}

/// Prints a line above the progress bars, or plainly when there are none (not a terminal).
fn print_line(multi: &MultiProgress, line: String) {
    if multi.is_hidden() {
        println!("{line}");
    } else {
        let _ = multi.println(line);
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// What the process holds: the allocator's figures and the resident set.
fn memory_line(label: &str, s: &MemorySample) -> String {
    let mib = |v: Option<u64>| {
        v.map_or("unknown".to_string(), |b| {
            format!("{:.1} MiB", b as f64 / MIB as f64)
        })
    };
    format!(
        "  memory {label:<18} allocated {:>9}  resident {:>9}  RSS {:>9}",
        mib(s.allocator.allocated),
        mib(s.allocator.resident),
        mib(s.process_rss),
    )
}

/// Prints the manager's events as they happen, above the progress bars.
struct EventPrinter {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl EventPrinter {
    fn start(manager: MemoryManager, detector: Arc<LeakDetector>, multi: MultiProgress) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let done = stop.clone();
        let thread = std::thread::spawn(move || {
            let origin = Instant::now();
            let mut printed = 0u64;
            let mut last_held = None;
            let mut alerts_seen: Vec<(AlertKind, Option<String>, bool)> = Vec::new();
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
                    if let ManagerEvent::Sizing(d) = event {
                        // A growth held back is news once, not on every tick.
                        let held = (d.from == d.to).then_some(d.reason);
                        if held.is_some() && held == last_held {
                            continue;
                        }
                        last_held = held;
                    }
                    let t = origin.elapsed().as_secs_f64();
                    print_line(&multi, format!("  [{t:>5.1} s] {}", describe(event)));
                }
                for alert in detector.alerts() {
                    let open = alert.state == query_cache::leaks::AlertState::Open;
                    let id = (alert.kind, alert.cache.clone(), open);
                    if alerts_seen.contains(&id) {
                        continue;
                    }
                    alerts_seen.push(id);
                    let t = origin.elapsed().as_secs_f64();
                    let what = if open { "opened" } else { "resolved" };
                    print_line(
                        &multi,
                        format!("  [{t:>5.1} s] leak alert {what}: {}", alert.summary()),
                    );
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
    let mib = |b: u64| b as f64 / MIB as f64;
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

    fn len(&self) -> u64 {
        self.cdf.len() as u64
    }

    fn sample(&self, state: &mut u64) -> u64 {
        let u = (next(state) as f64) / (1u64 << 31) as f64;
        self.cdf.partition_point(|&c| c < u) as u64
    }
}

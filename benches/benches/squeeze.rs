//! Benchmark `squeeze`: a real memory squeeze. Each cache runs in a child process inside a
//! 512 MiB memory cgroup while a ballast allocation beside it grows to 400 MiB and is freed.
//!
//! Run with `cargo xtask squeeze [--quick]`. This binary is both the orchestrator (by default)
//! and the child (`--child VARIANT [--cgroup DIR] [--ceiling BYTES] [--quick]`): the
//! orchestrator re-executes itself once per variant, in the order query-cache, quick_cache,
//! moka.
//!
//! The orchestrator makes a cgroup per variant where the machine lets it (root, a memory
//! controller): v2 (`memory.max` 512 MiB, `memory.high` at 90 % of it, `memory.swap.max` 0) where
//! the unified hierarchy has the memory controller, else v1 (`memory.limit_in_bytes` 512 MiB, the
//! same for `memory.memsw.limit_in_bytes` where swap is accounted, `memory.swappiness` 0), so the
//! squeeze is about RAM. The child moves itself in (writes its pid to `cgroup.procs`) before it
//! allocates anything. After the child has ended the orchestrator reads the cgroup's peak usage
//! and OOM-kill count and removes the cgroup, also when something failed. Where no cgroup can be
//! made it says why and gives the children a configured ceiling of 512 MiB instead, which only
//! the query-cache variant's memory manager knows about and nothing enforces.
//!
//! The child: a cache with a 256 MiB budget, the same for every variant and weighed the same way
//! (8 bytes of key plus the value's heap bytes), serves a read-through load of query results
//! (`get`, and on a miss build the result and `insert` it) at a fixed request rate: keys from a
//! Zipf(0.9) popularity over 200,000 queries, results of log-normal sizes (median 4 KiB, most
//! between 1 and 32 KiB) held as `Arc<[u8]>` so that a hit is cheap. After a warm-up (5 s) the
//! ballast grows by 20 MiB every 500 ms to 400 MiB, every page written so it is resident, holds
//! for 5 s, is freed, and the load runs on for 15 s so that growing back can be seen
//! (`--quick`: 3 s, 200 ms, 2 s and 5 s). Every 100 ms the child prints a timeline line.
//!
//! quick_cache and moka run at their fixed budget: they cannot give way. query-cache runs with
//! the memory manager, whose whole wiring sits in [`start_query_cache`].
//!
//! Writes the timelines to `target/bench/squeeze.csv` and the summary to
//! `target/bench/squeeze.json` at the workspace root, and prints a table.
//! Flags: `--quick`, `--check` (exit with an error unless query-cache ran to the end without an
//! OOM kill and under the ceiling), `--no-cgroup` (the configured ceiling even where a cgroup could be made),
//! `--variant NAME` (repeatable or comma-separated).

use std::any::Any;
use std::env;
use std::fs;
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use benches::{DEFAULT_SEED, SplitMix64, Zipf, key_of_rank, mix64};
use cache_traits::HeapSize;
use serde::{Deserialize, Serialize};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// The cgroup's hard limit, or the configured ceiling where no cgroup can be made.
const CEILING: u64 = 512 * MIB;
/// cgroup v2's `memory.high` (where reclaim and throttling start), as a fraction of the limit.
const HIGH_FRACTION: f64 = 0.9;
/// Every variant's cache budget.
const BUDGET: u64 = 256 * MIB;
const BALLAST_MAX: u64 = 400 * MIB;
const BALLAST_STEP: u64 = 20 * MIB;

/// The variants, in the order they run.
const VARIANTS: [&str; 3] = ["query-cache", "quick_cache", "moka"];

// The load.
const QUERIES: usize = 200_000;
const ZIPF_S: f64 = 0.9;
/// Requests per second the serving thread paces itself to.
const REQUEST_RATE: f64 = 50_000.0;
/// Requests between two looks at the clock.
const REQUEST_BATCH: u64 = 256;
/// Result sizes: log-normal with this median and shape, clamped to the range below.
const RESULT_MEDIAN_BYTES: f64 = 4096.0;
const RESULT_SIGMA: f64 = 1.0;
const RESULT_MIN_BYTES: f64 = 64.0;
const RESULT_MAX_BYTES: f64 = (512 * KIB) as f64;

/// How often the child prints a timeline line.
const TICK: Duration = Duration::from_millis(100);
/// How long past its planned end a child may run before it is killed.
const GRACE: Duration = Duration::from_secs(30);
const TICK_PREFIX: &str = "TICK ";

/// A query result as the cache holds it: shared, so that a hit costs a reference count.
type Value = Arc<[u8]>;
type QcCache = query_cache::Cache<u64, Value>;

fn main() -> Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--child") {
        return child(&args[1..]);
    }
    orchestrate(&args)
}

/// The phases of one child's run.
#[derive(Clone, Copy, Debug)]
struct Phases {
    /// Before the ballast starts.
    warm: Duration,
    /// Between two ballast steps.
    step: Duration,
    /// The ballast held at its peak.
    hold: Duration,
    /// After the ballast is freed.
    after: Duration,
}

impl Phases {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                warm: Duration::from_secs(3),
                step: Duration::from_millis(200),
                hold: Duration::from_secs(2),
                after: Duration::from_secs(5),
            }
        } else {
            Self {
                warm: Duration::from_secs(5),
                step: Duration::from_millis(500),
                hold: Duration::from_secs(5),
                after: Duration::from_secs(15),
            }
        }
    }

    /// When the ballast is freed.
    fn free_at(&self) -> Duration {
        let steps = BALLAST_MAX.div_ceil(BALLAST_STEP) as u32;
        self.warm + self.step * (steps - 1) + self.hold
    }

    fn total(&self) -> Duration {
        self.free_at() + self.after
    }

    /// The ballast's size `t` into the run.
    fn ballast_at(&self, t: Duration) -> u64 {
        if t < self.warm || t >= self.free_at() {
            return 0;
        }
        let steps = ((t - self.warm).as_secs_f64() / self.step.as_secs_f64()) as u64 + 1;
        (steps * BALLAST_STEP).min(BALLAST_MAX)
    }
}

/// One line of a child's timeline.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Tick {
    t_seconds: f64,
    /// The memory manager's pressure level; `None` for the peers, which have none.
    level: Option<String>,
    /// Bytes the cache charges for what it holds (query-cache: with its per-entry overhead).
    cache_bytes: u64,
    /// jemalloc's `stats.allocated`.
    heap: Option<u64>,
    /// The process's resident set (`VmRSS`).
    resident: Option<u64>,
    /// The cgroup's usage, where the child runs in one.
    cgroup_usage: Option<u64>,
    ballast: u64,
    hits: u64,
    misses: u64,
}

// ---------------------------------------------------------------------------------------------
// Orchestrator: one cgroup and one child per variant, then the files and the table.

struct Options {
    quick: bool,
    no_cgroup: bool,
    /// Fail unless query-cache ran to the end without an OOM kill and under the ceiling.
    check: bool,
    variants: Vec<&'static str>,
}

fn parse_options(args: &[String]) -> Result<Options> {
    let mut opts = Options {
        quick: false,
        no_cgroup: false,
        check: false,
        variants: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => opts.quick = true,
            "--no-cgroup" => opts.no_cgroup = true,
            "--check" => opts.check = true,
            // Cargo passes `--bench` to every harness.
            "--bench" => {}
            "--variant" => {
                let names = args.next().context("--variant takes a name")?;
                for name in names.split(',') {
                    let Some(known) = VARIANTS.iter().find(|v| **v == name) else {
                        bail!(
                            "unknown variant `{name}`; choose from {}",
                            VARIANTS.join(", ")
                        );
                    };
                    opts.variants.push(known);
                }
            }
            other => bail!(
                "unknown argument `{other}`; squeeze takes --quick, --no-cgroup, --check and --variant NAME"
            ),
        }
    }
    if opts.variants.is_empty() {
        opts.variants = VARIANTS.to_vec();
    }
    Ok(opts)
}

fn orchestrate(args: &[String]) -> Result<()> {
    let opts = parse_options(args)?;
    let phases = Phases::new(opts.quick);
    let mut parent = if opts.no_cgroup {
        eprintln!("squeeze: --no-cgroup: no cgroup made");
        None
    } else {
        match CgroupParent::find() {
            Ok(parent) => Some(parent),
            Err(why) => {
                eprintln!("squeeze: no cgroup made: {why}");
                None
            }
        }
    };
    if let Some(p) = &parent {
        p.remove_stale();
    }
    let mut runs = Vec::new();
    for &variant in &opts.variants {
        let group = match &parent {
            Some(p) => match p.create(variant) {
                Ok(group) => Some(group),
                // The first group decides, so that all variants are squeezed alike.
                Err(err) if runs.is_empty() => {
                    eprintln!("squeeze: no cgroup made: {err:#}");
                    parent = None;
                    None
                }
                Err(err) => return Err(err),
            },
            None => None,
        };
        if group.is_none() {
            eprintln!(
                "squeeze: {variant} runs with a configured ceiling of {} MiB that nothing enforces",
                CEILING / MIB
            );
        }
        runs.push(run_variant(variant, group, opts.quick, phases)?);
    }

    let summaries: Vec<Summary> = runs.iter().map(Summary::of).collect();
    let dir = bench_dir();
    fs::create_dir_all(&dir)?;
    let (csv_path, json_path) = (dir.join("squeeze.csv"), dir.join("squeeze.json"));
    fs::write(&csv_path, timeline_csv(&runs))?;
    fs::write(&json_path, serde_json::to_string_pretty(&summaries)? + "\n")?;
    print_table(&summaries, phases);
    println!(
        "\nwrote {}\nwrote {}",
        csv_path.display(),
        json_path.display()
    );

    let failed: Vec<&Summary> = summaries
        .iter()
        .filter(|s| s.exit.starts_with("failed"))
        .collect();
    if let Some(s) = failed.first() {
        bail!("the {} child {}", s.variant, s.exit);
    }
    if opts.check
        && let Some(qc) = summaries.iter().find(|s| s.variant == "query-cache")
    {
        if qc.oom_killed || qc.exit != "completed" {
            bail!("query-cache did not survive the squeeze: {}", qc.exit);
        }
        if qc.peak_usage.is_none_or(|p| p >= qc.ceiling) {
            bail!(
                "query-cache's peak usage {:?} reached the ceiling of {} bytes",
                qc.peak_usage,
                qc.ceiling
            );
        }
        println!("squeeze check: query-cache ran to the end under the ceiling");
    }
    Ok(())
}

/// The workspace's `target/bench`, whatever `CARGO_TARGET_DIR` says.
fn bench_dir() -> PathBuf {
    let benches_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = benches_dir.parent().unwrap_or(benches_dir);
    root.join("target").join("bench")
}

/// What one child left behind.
struct Run {
    variant: &'static str,
    /// `None` where the child ran without a cgroup.
    cgroup: Option<GroupReport>,
    status: ExitStatus,
    timed_out: bool,
    ticks: Vec<Tick>,
}

/// The cgroup's own figures, read after the child ended.
struct GroupReport {
    version: CgroupVersion,
    dir: PathBuf,
    peak_usage: Option<u64>,
    oom_kills: Option<u64>,
    removed: bool,
}

fn run_variant(
    variant: &'static str,
    group: Option<Cgroup>,
    quick: bool,
    phases: Phases,
) -> Result<Run> {
    let mut cmd = Command::new(env::current_exe()?);
    cmd.args(["--child", variant]);
    match &group {
        Some(g) => {
            eprintln!(
                "== {variant} in {} (cgroup {}, limit {} MiB)",
                g.dir.display(),
                g.version.name(),
                CEILING / MIB
            );
            cmd.arg("--cgroup").arg(&g.dir);
        }
        None => {
            eprintln!("== {variant} (no cgroup)");
            cmd.args(["--ceiling", &CEILING.to_string()]);
        }
    }
    if quick {
        cmd.arg("--quick");
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("could not re-run the bench binary")?;
    let stdout = child.stdout.take().context("child without stdout")?;
    // A killed child leaves the lines it printed: read them all on the side, and wait here.
    let reader = thread::spawn(move || -> Vec<Tick> {
        let mut ticks = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            match line.strip_prefix(TICK_PREFIX) {
                Some(json) => match serde_json::from_str(json) {
                    Ok(tick) => ticks.push(tick),
                    Err(err) => eprintln!("squeeze: bad timeline line `{json}`: {err}"),
                },
                None => eprintln!("{line}"),
            }
        }
        ticks
    });
    let (status, timed_out) = wait_with_deadline(&mut child, phases.total() + GRACE)?;
    let ticks = reader
        .join()
        .map_err(|_| anyhow::anyhow!("timeline reader panicked"))?;
    let cgroup = group.map(Cgroup::finish);
    let run = Run {
        variant,
        cgroup,
        status,
        timed_out,
        ticks,
    };
    eprintln!("   {}", describe_end(&run));
    Ok(run)
}

/// Waits for `child`, killing it once `limit` has passed; returns its status and whether it was
/// killed for taking too long.
fn wait_with_deadline(child: &mut Child, limit: Duration) -> Result<(ExitStatus, bool)> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((status, false));
        }
        if Instant::now() >= deadline {
            child.kill()?;
            return Ok((child.wait()?, true));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn describe_end(run: &Run) -> String {
    let last = run.ticks.last();
    let mut s = match (run.status.code(), run.status.signal()) {
        (Some(0), _) => "ran to the end".to_owned(),
        _ if run.timed_out => "killed: it ran past its deadline".to_owned(),
        (_, Some(9)) => "killed by SIGKILL".to_owned(),
        _ => format!("failed: {}", run.status),
    };
    if let Some(t) = last {
        s += &format!(
            " at {:.1} s, ballast {} MiB, cache {:.0} MiB",
            t.t_seconds,
            t.ballast / MIB,
            t.cache_bytes as f64 / MIB as f64
        );
    }
    if let Some(g) = &run.cgroup {
        s += &format!(
            "; OOM kills {}; {} {}",
            g.oom_kills.map_or("unknown".to_owned(), |n| n.to_string()),
            g.dir.display(),
            if g.removed { "removed" } else { "NOT removed" }
        );
    }
    s
}

/// One row of `squeeze.json`.
#[derive(Debug, Serialize)]
struct Summary {
    variant: &'static str,
    /// The cgroup's limit, or the configured ceiling where there is no cgroup.
    ceiling: u64,
    /// `cgroup v1`, `cgroup v2`, or `configured (no cgroup)`.
    ceiling_source: String,
    /// The cgroup's peak usage, or without a cgroup the highest resident set in the timeline.
    peak_usage: Option<u64>,
    /// The highest pressure level in the timeline (the peers have none).
    max_level: Option<String>,
    oom_killed: bool,
    /// Cache bytes at the end minus the fewest after the ballast's peak: how much it grew back.
    /// `None` where the child did not run to the end.
    recovered_bytes: Option<u64>,
    /// Hits over requests for the whole run.
    hit_ratio: Option<f64>,
    /// How the child ended.
    exit: String,
    seconds: f64,
    /// The largest ballast the child lived to hold.
    ballast_reached: u64,
    cache_bytes_before_ballast: Option<u64>,
    min_cache_bytes_under_ballast: Option<u64>,
    cache_bytes_at_end: Option<u64>,
}

impl Summary {
    fn of(run: &Run) -> Self {
        let ticks = &run.ticks;
        let completed = run.status.success();
        let oom_killed = match &run.cgroup {
            Some(g) => g.oom_kills.is_some_and(|n| n > 0),
            None => false,
        } || (!run.timed_out && run.status.signal() == Some(9));
        let exit = if completed {
            "completed".to_owned()
        } else if run.timed_out {
            "timed out".to_owned()
        } else if oom_killed {
            "oom-killed".to_owned()
        } else {
            format!("failed: {}", run.status)
        };
        let first_ballast = ticks.iter().position(|t| t.ballast > 0);
        let cache_bytes_before_ballast = match first_ballast {
            Some(idx) if idx > 0 => Some(ticks[idx - 1].cache_bytes),
            _ => None,
        };
        let min_cache_bytes_under_ballast = ticks
            .iter()
            .filter(|t| t.ballast > 0)
            .map(|t| t.cache_bytes)
            .min();
        let recovered_bytes = completed
            .then(|| {
                let peak = ticks.iter().position(|t| t.ballast >= BALLAST_MAX)?;
                let low = ticks[peak..].iter().map(|t| t.cache_bytes).min()?;
                Some(ticks.last()?.cache_bytes.saturating_sub(low))
            })
            .flatten();
        let max_level = ticks
            .iter()
            .filter_map(|t| t.level.as_deref())
            .max_by_key(|name| level_rank(name))
            .map(str::to_owned);
        let (ceiling_source, peak_usage) = match &run.cgroup {
            Some(g) => (
                format!("cgroup {}", g.version.name()),
                g.peak_usage
                    .or_else(|| ticks.iter().filter_map(|t| t.cgroup_usage).max()),
            ),
            None => (
                "configured (no cgroup)".to_owned(),
                ticks.iter().filter_map(|t| t.resident).max(),
            ),
        };
        let last = ticks.last();
        Self {
            variant: run.variant,
            ceiling: CEILING,
            ceiling_source,
            peak_usage,
            max_level,
            oom_killed,
            recovered_bytes,
            hit_ratio: last
                .filter(|t| t.hits + t.misses > 0)
                .map(|t| t.hits as f64 / (t.hits + t.misses) as f64),
            exit,
            seconds: last.map_or(0.0, |t| t.t_seconds),
            ballast_reached: ticks.iter().map(|t| t.ballast).max().unwrap_or(0),
            cache_bytes_before_ballast,
            min_cache_bytes_under_ballast,
            cache_bytes_at_end: completed.then(|| last.map(|t| t.cache_bytes)).flatten(),
        }
    }
}

/// A level's place in `Normal < Elevated < High < Critical`; unknown names rank lowest.
fn level_rank(name: &str) -> Option<usize> {
    query_cache::PressureLevel::ALL
        .iter()
        .position(|level| level.to_string() == name)
}

fn timeline_csv(runs: &[Run]) -> String {
    let mut csv = String::from(
        "variant,t_seconds,level,cache_bytes,heap,resident,cgroup_usage,ballast,hits,misses\n",
    );
    let opt = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
    for run in runs {
        for t in &run.ticks {
            csv += &format!(
                "{},{:.3},{},{},{},{},{},{},{},{}\n",
                run.variant,
                t.t_seconds,
                t.level.as_deref().unwrap_or("n/a"),
                t.cache_bytes,
                opt(t.heap),
                opt(t.resident),
                opt(t.cgroup_usage),
                t.ballast,
                t.hits,
                t.misses
            );
        }
    }
    csv
}

fn print_table(summaries: &[Summary], phases: Phases) {
    let mib =
        |v: Option<u64>| v.map_or("-".to_owned(), |b| format!("{:.0}", b as f64 / MIB as f64));
    println!(
        "\nsqueeze: {} MiB cache budget, ballast to {} MiB by {} MiB every {} ms after {} s, held {} s, \
         freed, then {} s more (MiB)",
        BUDGET / MIB,
        BALLAST_MAX / MIB,
        BALLAST_STEP / MIB,
        phases.step.as_millis(),
        phases.warm.as_secs(),
        phases.hold.as_secs(),
        phases.after.as_secs(),
    );
    println!(
        "{:<12} {:<22} {:>7} {:>6} {:<9} {:<11} {:>6} {:>8} {:>7} {:>6} {:>6} {:>9} {:>6}",
        "variant",
        "ceiling",
        "limit",
        "peak",
        "max level",
        "end",
        "at s",
        "ballast",
        "before",
        "min",
        "end",
        "recovered",
        "hits"
    );
    for s in summaries {
        println!(
            "{:<12} {:<22} {:>7} {:>6} {:<9} {:<11} {:>6.1} {:>8} {:>7} {:>6} {:>6} {:>9} {:>6}",
            s.variant,
            s.ceiling_source,
            mib(Some(s.ceiling)),
            mib(s.peak_usage),
            s.max_level.as_deref().unwrap_or("n/a"),
            s.exit,
            s.seconds,
            mib(Some(s.ballast_reached)),
            mib(s.cache_bytes_before_ballast),
            mib(s.min_cache_bytes_under_ballast),
            mib(s.cache_bytes_at_end),
            mib(s.recovered_bytes),
            s.hit_ratio.map_or("-".to_owned(), |h| format!("{h:.3}")),
        );
    }
    println!(
        "peak: the cgroup's peak usage (no cgroup: the highest resident set); ballast: the largest the \
         child lived to hold; before / min / end: the cache's bytes before the ballast, the fewest \
         while it was there, at the end; recovered: end minus the fewest after the ballast's peak"
    );
    if let Some(qc) = summaries.iter().find(|s| s.variant == "query-cache") {
        let yes = |b: bool| if b { "yes" } else { "NO" };
        let gave_way = match (
            qc.cache_bytes_before_ballast,
            qc.min_cache_bytes_under_ballast,
        ) {
            (Some(before), Some(min)) => (min as f64) < 0.9 * before as f64,
            _ => false,
        };
        let grew_back = match (qc.min_cache_bytes_under_ballast, qc.cache_bytes_at_end) {
            (Some(min), Some(end)) => {
                qc.cache_bytes_before_ballast.is_some_and(|before| {
                    end as f64 >= min as f64 + 0.5 * before.saturating_sub(min) as f64
                }) && gave_way
            }
            _ => false,
        };
        println!(
            "query-cache: never OOM-killed: {}; peak under the ceiling: {}; gave way (its fewest \
             bytes under the ballast below 90 % of before): {}; grew back (half of what it gave): {}",
            yes(!qc.oom_killed && qc.exit == "completed"),
            yes(qc.peak_usage.is_some_and(|p| p < qc.ceiling)),
            yes(gave_way),
            yes(grew_back),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// cgroups.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CgroupVersion {
    V1,
    V2,
}

impl CgroupVersion {
    fn name(self) -> &'static str {
        match self {
            CgroupVersion::V1 => "v1",
            CgroupVersion::V2 => "v2",
        }
    }
}

/// Where the squeeze's cgroups are made: the root of a hierarchy with the memory controller.
struct CgroupParent {
    version: CgroupVersion,
    dir: PathBuf,
}

impl CgroupParent {
    /// The v2 hierarchy if it has the memory controller (enabled for its children here), else
    /// the v1 memory hierarchy; the error says why neither will do.
    fn find() -> Result<Self, String> {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
        let mut v2_why = "no cgroup2 mount".to_owned();
        let mut v1 = None;
        for line in mountinfo.lines() {
            // `id parent dev root mount-point options [tags] - fstype source super-options`
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let Some(mount_point) = left.split(' ').nth(4) else {
                continue;
            };
            let mut right = right.split(' ');
            let fstype = right.next().unwrap_or_default();
            let super_options = right.nth(1).unwrap_or_default();
            let dir = PathBuf::from(mount_point);
            if fstype == "cgroup2" {
                match enable_v2_memory(&dir) {
                    Ok(()) => {
                        return Ok(Self {
                            version: CgroupVersion::V2,
                            dir,
                        });
                    }
                    Err(why) => v2_why = why,
                }
            } else if fstype == "cgroup" && super_options.split(',').any(|o| o == "memory") {
                v1 = Some(dir);
            }
        }
        match v1 {
            Some(dir) => Ok(Self {
                version: CgroupVersion::V1,
                dir,
            }),
            None => Err(format!("no cgroup v1 memory hierarchy, and {v2_why}")),
        }
    }

    /// Removes the squeeze's groups left by orchestrators that are gone (killed before they
    /// could clean up).
    fn remove_stale(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix("qc-squeeze-"))
                .and_then(|rest| rest.split('-').next())
            else {
                continue;
            };
            if !Path::new("/proc").join(pid).exists() && fs::remove_dir(entry.path()).is_ok() {
                eprintln!("squeeze: removed a stale {}", entry.path().display());
            }
        }
    }

    /// Makes and configures the group for `variant`; it is removed when dropped.
    fn create(&self, variant: &str) -> Result<Cgroup> {
        let dir = self
            .dir
            .join(format!("qc-squeeze-{}-{variant}", std::process::id()));
        fs::create_dir(&dir).with_context(|| {
            format!(
                "cannot make {} (run as root to squeeze in a cgroup)",
                dir.display()
            )
        })?;
        // From here on the guard removes the directory, also when configuring it fails.
        let group = Cgroup {
            version: self.version,
            dir,
        };
        match self.version {
            CgroupVersion::V1 => {
                group.write("memory.limit_in_bytes", CEILING)?;
                // Only with swap accounting; the limit covers memory and swap together.
                group.write_if_present("memory.memsw.limit_in_bytes", CEILING)?;
                group.write_if_present("memory.swappiness", 0)?;
            }
            CgroupVersion::V2 => {
                group.write("memory.max", CEILING)?;
                group.write("memory.high", (CEILING as f64 * HIGH_FRACTION) as u64)?;
                group.write_if_present("memory.swap.max", 0)?;
            }
        }
        Ok(group)
    }
}

/// Makes the memory controller available to the children of the v2 hierarchy at `root`.
fn enable_v2_memory(root: &Path) -> Result<(), String> {
    let has_memory = |file: &str| {
        fs::read_to_string(root.join(file))
            .is_ok_and(|s| s.split_whitespace().any(|c| c == "memory"))
    };
    if !has_memory("cgroup.controllers") {
        return Err(format!(
            "the cgroup v2 hierarchy at {} has no memory controller",
            root.display()
        ));
    }
    if !has_memory("cgroup.subtree_control") {
        fs::write(root.join("cgroup.subtree_control"), "+memory").map_err(|e| {
            format!(
                "cannot enable the memory controller in {}: {e}",
                root.display()
            )
        })?;
    }
    Ok(())
}

/// One variant's cgroup; dropping it removes the directory.
struct Cgroup {
    version: CgroupVersion,
    dir: PathBuf,
}

impl Cgroup {
    fn write(&self, file: &str, value: u64) -> Result<()> {
        let path = self.dir.join(file);
        fs::write(&path, value.to_string())
            .with_context(|| format!("cannot write {value} to {}", path.display()))
    }

    fn write_if_present(&self, file: &str, value: u64) -> Result<()> {
        if self.dir.join(file).exists() {
            self.write(file, value)?;
        }
        Ok(())
    }

    /// A number from `file`, or from its line `key N` where `key` is given.
    fn read(&self, file: &str, key: Option<&str>) -> Option<u64> {
        let text = fs::read_to_string(self.dir.join(file)).ok()?;
        match key {
            None => text.trim().parse().ok(),
            Some(key) => text.lines().find_map(|line| {
                let (k, v) = line.split_once(' ')?;
                (k == key).then(|| v.trim().parse().ok()).flatten()
            }),
        }
    }

    /// Reads the group's figures and removes it (the child has ended).
    fn finish(self) -> GroupReport {
        let (peak_usage, oom_kills) = match self.version {
            CgroupVersion::V1 => (
                self.read("memory.max_usage_in_bytes", None),
                self.read("memory.oom_control", Some("oom_kill")),
            ),
            CgroupVersion::V2 => (
                // `memory.peak` since Linux 5.19; older kernels leave the timeline's highest.
                self.read("memory.peak", None),
                self.read("memory.events", Some("oom_kill")),
            ),
        };
        let dir = self.dir.clone();
        let version = self.version;
        drop(self);
        GroupReport {
            version,
            removed: !dir.exists(),
            dir,
            peak_usage,
            oom_kills,
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // A group empties a moment after its last process is reaped; retry for a second.
        for _ in 0..20 {
            if fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        if let Err(err) = fs::remove_dir(&self.dir) {
            eprintln!("squeeze: cannot remove {}: {err}", self.dir.display());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Child: the cache under load, the ballast, the timeline.

fn child(args: &[String]) -> Result<()> {
    let variant = args.first().context("--child takes a variant")?.clone();
    let mut cgroup: Option<PathBuf> = None;
    let mut ceiling: Option<u64> = None;
    let mut quick = false;
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--cgroup" => cgroup = Some(rest.next().context("--cgroup takes a directory")?.into()),
            "--ceiling" => {
                ceiling = Some(
                    rest.next()
                        .context("--ceiling takes bytes")?
                        .parse()
                        .context("--ceiling takes bytes")?,
                )
            }
            "--quick" => quick = true,
            other => bail!("unknown child argument `{other}`"),
        }
    }
    // Into the cgroup before anything is allocated, so that the group is charged for it all.
    let usage_file = match &cgroup {
        Some(dir) => {
            fs::write(dir.join("cgroup.procs"), std::process::id().to_string())
                .with_context(|| format!("cannot move into {}", dir.display()))?;
            let v1 = dir.join("memory.usage_in_bytes");
            Some(if v1.exists() {
                v1
            } else {
                dir.join("memory.current")
            })
        }
        None => None,
    };

    // The manager's pressure level and the manager itself, kept alive while the load runs; the
    // peers have neither.
    let mut level: Option<Box<dyn Fn() -> String>> = None;
    let mut _manager: Option<Box<dyn Any>> = None;
    let cache: Arc<dyn SqueezedCache> = match variant.as_str() {
        "query-cache" => {
            let (cache, level_now, keep) = start_query_cache(BUDGET, ceiling)?;
            level = Some(level_now);
            _manager = Some(keep);
            cache
        }
        "quick_cache" => {
            let expected_entries = (BUDGET / (8 * KIB)) as usize;
            Arc::new(QuickCache::with_weighter(
                expected_entries,
                BUDGET,
                SameWeighter,
            ))
        }
        "moka" => {
            let cache: moka::sync::Cache<u64, Value> = moka::sync::Cache::builder()
                .max_capacity(BUDGET)
                .weigher(|key: &u64, value: &Value| {
                    u32::try_from(weigh(key, value)).unwrap_or(u32::MAX)
                })
                .build();
            Arc::new(cache)
        }
        other => bail!("unknown variant `{other}`"),
    };

    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (cache, counters, stop) = (Arc::clone(&cache), Arc::clone(&counters), stop.clone());
        thread::spawn(move || serve(&*cache, &counters, &stop))
    };

    let phases = Phases::new(quick);
    let sampler = Sampler::new(usage_file);
    let started = Instant::now();
    let mut ballast: Vec<Vec<u8>> = Vec::new();
    let mut ballast_bytes = 0;
    for n_tick in 1u32.. {
        let due = started + TICK * n_tick;
        thread::sleep(due.saturating_duration_since(Instant::now()));
        let t = started.elapsed();
        if t > phases.total() {
            break;
        }
        let target = phases.ballast_at(t);
        if target < ballast_bytes {
            ballast.clear();
            ballast_bytes = 0;
        }
        while ballast_bytes < target {
            // Every byte written, so every page is resident.
            let mut chunk = vec![1u8; BALLAST_STEP as usize];
            black_box(&mut chunk);
            ballast.push(chunk);
            ballast_bytes += BALLAST_STEP;
        }
        let tick = Tick {
            t_seconds: started.elapsed().as_secs_f64(),
            level: level.as_ref().map(|level_now| level_now()),
            cache_bytes: cache.weighted_size(),
            heap: sampler.heap(),
            resident: resident_bytes(),
            cgroup_usage: sampler.cgroup_usage(),
            ballast: ballast_bytes,
            hits: counters.hits.load(Ordering::Relaxed),
            misses: counters.misses.load(Ordering::Relaxed),
        };
        println!("{TICK_PREFIX}{}", serde_json::to_string(&tick)?);
    }
    stop.store(true, Ordering::Relaxed);
    server
        .join()
        .map_err(|_| anyhow::anyhow!("the serving thread panicked"))?;
    Ok(())
}

/// MANAGER: the one place that knows how query-cache's memory manager is wired; the rest of the
/// squeeze only sees a cache, a level and something to keep alive.
///
/// `ceiling` is `Some` only where no cgroup could be made (with a cgroup the manager finds its
/// limit itself, and registers the kernel's usage-threshold notifications on it). The manager
/// runs at its default tick (1 s), sizes the cache between 1/16 of the budget and the budget,
/// and asks the reclaimer to return pages. When the child ends, the keep-alive prints the
/// manager's relief responses to stderr (`# response ...` lines).
#[expect(
    clippy::type_complexity,
    reason = "the hook's whole contract, spelled out in one signature"
)]
fn start_query_cache(
    budget: u64,
    ceiling: Option<u64>,
) -> Result<(Arc<QcCache>, Box<dyn Fn() -> String>, Box<dyn Any>)> {
    let reclaimer: Arc<query_cache::Reclaimer<(u64, Value)>> =
        Arc::new(query_cache::Reclaimer::builder().build()?);
    let cache = Arc::new(
        QcCache::builder_with_weigher(weigh)
            .name("results")
            .max_bytes(budget)
            .reclaimer(reclaimer.clone() as Arc<dyn query_cache::Reclaim<(u64, Value)>>)
            .build()?,
    );
    let mut builder = query_cache::MemoryManager::builder()
        .cache(cache.clone(), query_cache::Bounds::new(budget / 16, budget))
        .reclaimer(reclaimer as Arc<dyn query_cache::Reclaim<(u64, Value)>>);
    if let Some(ceiling) = ceiling {
        builder = builder.ceiling(ceiling);
    }
    let manager = builder.build()?;
    let level = {
        let m = manager.clone();
        move || m.level().to_string()
    };
    Ok((cache, Box::new(level), Box::new(ReportOnDrop(manager))))
}

/// Keeps the manager alive; on drop, prints what it did to stderr.
struct ReportOnDrop(query_cache::MemoryManager);

impl Drop for ReportOnDrop {
    fn drop(&mut self) {
        let view = self.0.view();
        eprintln!(
            "# manager: {} ticks ({} from the kernel), max tick {} us; notifications: {}",
            view.ticks,
            view.kernel_ticks,
            view.max_tick.as_micros(),
            view.notifications.join(", ")
        );
        for r in &view.responses {
            eprintln!(
                "# response trigger={:?} elapsed_us={} freed_bytes={}",
                r.trigger,
                r.elapsed.as_micros(),
                r.freed
            );
        }
        for e in &view.events {
            if let query_cache::ManagerEvent::Level(c) = e {
                eprintln!(
                    "# level {} -> {} ({})",
                    c.from,
                    c.to,
                    c.cause
                        .map(|r| format!("{} {:.3}", r.signal, r.value))
                        .unwrap_or_default()
                );
            }
        }
    }
}

/// An entry's weight for every variant: 8 bytes of key and the heap bytes of the result.
fn weigh(_key: &u64, value: &Value) -> u64 {
    8 + value.heap_size() as u64
}

#[derive(Clone)]
struct SameWeighter;

impl quick_cache::Weighter<u64, Value> for SameWeighter {
    fn weight(&self, key: &u64, value: &Value) -> u64 {
        weigh(key, value)
    }
}

type QuickCache = quick_cache::sync::Cache<u64, Value, SameWeighter>;

/// What the load needs from a cache, whichever it is.
trait SqueezedCache: Send + Sync {
    fn get(&self, key: u64) -> Option<Value>;
    fn insert(&self, key: u64, value: Value);
    /// Bytes the cache charges for what it holds.
    fn weighted_size(&self) -> u64;
}

/// One impl per cache: the three have `get` and `insert` of the same shapes.
macro_rules! squeezed_cache {
    ($cache:ty, $weighted_size:path) => {
        impl SqueezedCache for $cache {
            fn get(&self, key: u64) -> Option<Value> {
                <$cache>::get(self, &key)
            }
            fn insert(&self, key: u64, value: Value) {
                <$cache>::insert(self, key, value);
            }
            fn weighted_size(&self) -> u64 {
                $weighted_size(self)
            }
        }
    };
}

squeezed_cache!(QcCache, QcCache::weighted_size);
squeezed_cache!(QuickCache, QuickCache::weight);
squeezed_cache!(
    moka::sync::Cache<u64, Value>,
    moka::sync::Cache::weighted_size
);

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
}

/// The read-through load, paced to [`REQUEST_RATE`], until `stop`.
fn serve(cache: &dyn SqueezedCache, counters: &Counters, stop: &AtomicBool) {
    let zipf = Zipf::new(QUERIES, ZIPF_S);
    let mut rng = SplitMix64::new(DEFAULT_SEED);
    let started = Instant::now();
    let mut requests = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let (mut hits, mut misses) = (0, 0);
        for _ in 0..REQUEST_BATCH {
            let key = key_of_rank(zipf.sample(&mut rng) as u64);
            match cache.get(key) {
                Some(result) => {
                    black_box(result);
                    hits += 1;
                }
                None => {
                    cache.insert(key, query_result(key));
                    misses += 1;
                }
            }
        }
        counters.hits.fetch_add(hits, Ordering::Relaxed);
        counters.misses.fetch_add(misses, Ordering::Relaxed);
        requests += REQUEST_BATCH;
        let due = started + Duration::from_secs_f64(requests as f64 / REQUEST_RATE);
        thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

/// The result of query `key`: its size drawn once per key from the log-normal distribution, its
/// bytes all written.
fn query_result(key: u64) -> Value {
    let mut rng = SplitMix64::new(mix64(key));
    let (u1, u2) = (1.0 - rng.next_f64(), rng.next_f64());
    let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    let len = (RESULT_MEDIAN_BYTES * (RESULT_SIGMA * normal).exp())
        .clamp(RESULT_MIN_BYTES, RESULT_MAX_BYTES) as usize;
    let seed = key as u8;
    (0..len).map(|idx| seed.wrapping_add(idx as u8)).collect()
}

/// The timeline's process and cgroup readers.
struct Sampler {
    usage_file: Option<PathBuf>,
    epoch: Option<tikv_jemalloc_ctl::epoch_mib>,
    allocated: Option<tikv_jemalloc_ctl::stats::allocated_mib>,
}

impl Sampler {
    fn new(usage_file: Option<PathBuf>) -> Self {
        Self {
            usage_file,
            epoch: tikv_jemalloc_ctl::epoch::mib().ok(),
            allocated: tikv_jemalloc_ctl::stats::allocated::mib().ok(),
        }
    }

    /// jemalloc's `stats.allocated`, refreshed.
    fn heap(&self) -> Option<u64> {
        self.epoch.as_ref()?.advance().ok()?;
        Some(self.allocated.as_ref()?.read().ok()? as u64)
    }

    fn cgroup_usage(&self) -> Option<u64> {
        let text = fs::read_to_string(self.usage_file.as_ref()?).ok()?;
        text.trim().parse().ok()
    }
}

/// The process's resident set, from `VmRSS` in `/proc/self/status`.
fn resident_bytes() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * KIB)
}

//! `cargo xtask sim`: replays cache traces against the eviction policies, or the whole suite.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use eviction::sim::{Belady, PolicyKind, SimResult};
use eviction::trace::{Trace, TraceFormat};

const HELP: &str = "\
cargo xtask sim --trace FILE [--format F] --policy P [--policy P …] --size N [--size N …] [--json]
cargo xtask sim --suite [--json]

  --trace FILE   a trace file; the format comes from its name unless --format is given
  --format F     lirs (.trc), arc (.lis), cache2k (.trace), scarab (.trace), oracle-general
  --policy P     lru, lfu, hybrid, s3fifo, sieve, arc, opt, default (= hybrid); repeat or use commas
  --size N       cache size: entries, or bytes for oracle-general traces; repeat for several
  --json         one JSON object per line: trace, policy, size, requests, hits, hit_ratio (%)
  --suite        every trace in $QC_TRACES (else <workspace>/../shared/traces) at the sizes of
                 its README table, every policy plus OPT, beside the published columns

Always runs an optimised build (re-executes itself with --release); timings go to stderr.
";

/// Entry point of `cargo xtask sim`.
pub(crate) fn run(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "--help" || a == "-h") || args.is_empty() {
        print!("{HELP}");
        return Ok(());
    }
    // Check the arguments before spending a release build on them.
    let opts = Options::parse(args)?;
    if cfg!(debug_assertions) {
        // Millions of requests per run: always simulate with an optimised build.
        let mut cmd = crate::cargo();
        cmd.args([
            "run",
            "--quiet",
            "--release",
            "--package",
            "xtask",
            "--",
            "sim",
        ]);
        // The child runs from the workspace root: make the trace path absolute first.
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut prev_is_trace = false;
        for arg in args {
            if prev_is_trace {
                cmd.arg(cwd.join(arg));
            } else if let Some(path) = arg.strip_prefix("--trace=") {
                cmd.arg(format!("--trace={}", cwd.join(path).display()));
            } else {
                cmd.arg(arg);
            }
            prev_is_trace = arg == "--trace";
        }
        eprintln!("xtask: cargo run --release -p xtask -- sim …");
        let status = cmd
            .status()
            .context("could not start `cargo run --release -p xtask`")?;
        // The optimised child already reported any error: pass its exit code on.
        std::process::exit(status.code().unwrap_or(1));
    }
    if opts.suite {
        suite(&opts)
    } else {
        single(&opts)
    }
}

/// Parsed command line.
#[derive(Debug, Default)]
struct Options {
    trace: Option<PathBuf>,
    format: Option<TraceFormat>,
    policies: Vec<PolicyKind>,
    sizes: Vec<u64>,
    json: bool,
    suite: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut opts = Options::default();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
                _ => (arg.as_str(), None),
            };
            let mut value = |name: &str| -> Result<String> {
                match inline.clone() {
                    Some(v) => Ok(v),
                    None => it.next().cloned().with_context(|| {
                        format!("{name} needs a value; see `cargo xtask sim --help`")
                    }),
                }
            };
            match flag {
                "--trace" => opts.trace = Some(PathBuf::from(value("--trace")?)),
                "--format" => opts.format = Some(value("--format")?.parse()?),
                "--policy" => {
                    for name in value("--policy")?.split(',').filter(|s| !s.is_empty()) {
                        opts.policies.push(parse_policy(name)?);
                    }
                }
                "--size" => {
                    for size in value("--size")?.split(',').filter(|s| !s.is_empty()) {
                        let size = size.replace('_', "");
                        opts.sizes.push(size.parse().with_context(|| {
                            format!(
                                "--size takes a whole number of entries (or bytes), got `{size}`"
                            )
                        })?);
                    }
                }
                "--json" => opts.json = true,
                "--suite" => opts.suite = true,
                other => bail!("unknown argument `{other}`; see `cargo xtask sim --help`"),
            }
        }
        if !opts.suite {
            if opts.trace.is_none() {
                bail!("pass --trace FILE (or --suite); see `cargo xtask sim --help`");
            }
            if opts.policies.is_empty() {
                bail!("pass --policy (lru, lfu, hybrid, s3fifo, sieve, arc, opt, default)");
            }
            if opts.sizes.is_empty() {
                bail!("pass at least one --size N");
            }
        }
        Ok(opts)
    }
}

fn parse_policy(name: &str) -> Result<PolicyKind> {
    if name.eq_ignore_ascii_case("default") {
        return Ok(PolicyKind::DEFAULT);
    }
    Ok(name.parse::<PolicyKind>()?)
}

fn load(path: &Path, format: Option<TraceFormat>) -> Result<Trace> {
    let start = Instant::now();
    let trace = Trace::read(path, format)?;
    // Number the keys now, so that the timings below are of replaying only.
    let unique = trace.unique_keys();
    eprintln!(
        "sim: read {} ({} requests, {unique} keys) in {:.2} s",
        path.display(),
        trace.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(trace)
}

/// CPU time this thread has run, in seconds (Linux `schedstat`; `None` elsewhere).
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Runs one policy at one size, reporting the speed on stderr: wall-clock throughput, and
/// on-CPU throughput (which stays meaningful when other processes share the machine).
fn timed(
    trace: &Trace,
    name: &str,
    policy: PolicyKind,
    opt: Option<&Belady>,
    size: u64,
) -> SimResult {
    let start = Instant::now();
    let cpu_start = thread_cpu_seconds();
    let result = match (policy, opt) {
        (PolicyKind::Opt, Some(opt)) => opt.simulate(size),
        _ => policy.run(trace, size),
    };
    let secs = start.elapsed().as_secs_f64();
    let rate = |s: f64| trace.len() as f64 / s.max(1e-9) / 1e6;
    let cpu = match (cpu_start, thread_cpu_seconds()) {
        (Some(a), Some(b)) => format!(", on-CPU {:.3} s, {:.1} M requests/s", b - a, rate(b - a)),
        _ => String::new(),
    };
    eprintln!(
        "sim: {name} {policy} @ {size}: wall {secs:.3} s, {:.1} M requests/s{cpu}",
        rate(secs)
    );
    result
}

fn single(opts: &Options) -> Result<()> {
    let Some(path) = opts.trace.as_deref() else {
        bail!("pass --trace FILE");
    };
    let trace = load(path, opts.format)?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let opt = opts
        .policies
        .contains(&PolicyKind::Opt)
        .then(|| Belady::new(&trace));
    for &policy in &opts.policies {
        for &size in &opts.sizes {
            let r = timed(&trace, &name, policy, opt.as_ref(), size);
            if opts.json {
                let line = serde_json::json!({
                    "trace": name,
                    "policy": policy.name(),
                    "size": size,
                    "requests": r.requests,
                    "hits": r.hits,
                    "hit_ratio": round2(r.hit_ratio()),
                });
                println!("{line}");
            } else {
                println!(
                    "{name} {policy} size={size} requests={} hits={} hit_ratio={:.2}%",
                    r.requests,
                    r.hits,
                    r.hit_ratio()
                );
            }
        }
    }
    Ok(())
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The shared traces directory.
fn traces_dir() -> PathBuf {
    match std::env::var_os("QC_TRACES") {
        Some(dir) => PathBuf::from(dir),
        None => crate::root().join("../shared/traces"),
    }
}

/// Published columns of the README table, in order.
const PUBLISHED: [&str; 5] = ["LRU", "ARC", "LIRS", "W-TinyLFU", "OPT"];

/// One row of the README's reference table.
#[derive(Debug, Clone)]
struct Row {
    trace: String,
    size: u64,
    /// LRU, ARC, LIRS, W-TinyLFU, OPT.
    published: [Option<f64>; 5],
}

impl Row {
    /// The best of the published online policies (everything but OPT).
    fn best_online(&self) -> Option<f64> {
        self.published[..4]
            .iter()
            .flatten()
            .copied()
            .reduce(f64::max)
    }
}

/// Reads the `| trace | size | LRU | ARC | LIRS | W-TinyLFU | OPT | source |` table.
fn readme_rows(readme: &str) -> Vec<Row> {
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
        let mut published = [None; 5];
        for (slot, cell) in published.iter_mut().zip(&cells[2..7]) {
            *slot = cell.split_whitespace().next().and_then(|v| v.parse().ok());
        }
        rows.push(Row {
            trace: cells[0].to_owned(),
            size,
            published,
        });
    }
    rows
}

/// Every trace file under `dir` (one level of subdirectories), by file stem.
fn trace_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot list {}; set QC_TRACES to the shared traces directory",
            dir.display()
        )
    })?;
    for entry in entries {
        let path = entry?.path();
        let inner: Vec<PathBuf> = if path.is_dir() {
            std::fs::read_dir(&path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect()
        } else {
            vec![path]
        };
        for p in inner {
            if p.is_file() && TraceFormat::from_path(&p).is_some() {
                let stem = p
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                files.push((stem, p));
            }
        }
    }
    files.sort();
    Ok(files)
}

fn suite(opts: &Options) -> Result<()> {
    let dir = traces_dir();
    let readme = std::fs::read_to_string(dir.join("README.md"))
        .with_context(|| format!("cannot read {}/README.md; set QC_TRACES", dir.display()))?;
    let rows = readme_rows(&readme);
    let files = trace_files(&dir)?;
    let policies: Vec<PolicyKind> = if opts.policies.is_empty() {
        PolicyKind::ALL.to_vec()
    } else {
        opts.policies.clone()
    };
    let mut table = String::new();
    let mut header = String::from("| trace | size |");
    let mut rule = String::from("|---|---:|");
    for col in PUBLISHED {
        let _ = write!(header, " {col} (pub.) |");
        rule.push_str("---:|");
    }
    for p in &policies {
        if *p == PolicyKind::DEFAULT {
            let _ = write!(header, " {p} (default) |");
        } else {
            let _ = write!(header, " {p} |");
        }
        rule.push_str("---:|");
    }
    header.push_str(" default − best pub. |");
    rule.push_str("---:|");
    let _ = writeln!(table, "{header}\n{rule}");

    // The README's traces first, in its order; then any other trace in the directory.
    let mut ordered: Vec<&(String, PathBuf)> = Vec::new();
    for row in &rows {
        if let Some(f) = files.iter().find(|(stem, _)| *stem == row.trace)
            && !ordered.iter().any(|o| o.0 == f.0)
        {
            ordered.push(f);
        }
    }
    for f in &files {
        if !ordered.iter().any(|o| o.0 == f.0) {
            ordered.push(f);
        }
    }
    for (stem, path) in ordered {
        let mut sizes: Vec<Row> = rows.iter().filter(|r| &r.trace == stem).cloned().collect();
        let trace = load(path, None)?;
        if sizes.is_empty() {
            // Not in the published table: a small and a large cache relative to the key space.
            let unique = trace.unique_keys() as u64;
            for pct in [5, 25] {
                sizes.push(Row {
                    trace: stem.clone(),
                    size: (unique * pct / 100).max(1),
                    published: [None; 5],
                });
            }
        }
        let opt = policies
            .contains(&PolicyKind::Opt)
            .then(|| Belady::new(&trace));
        for row in &sizes {
            let mut line = format!("| {} | {} |", row.trace, row.size);
            for v in row.published {
                match v {
                    Some(v) => {
                        let _ = write!(line, " {v:.2} |");
                    }
                    None => line.push_str(" |"),
                }
            }
            let mut default_ratio = None;
            for &p in &policies {
                let r = timed(&trace, stem, p, opt.as_ref(), row.size);
                if opts.json {
                    let obj = serde_json::json!({
                        "trace": stem, "policy": p.name(), "size": row.size,
                        "requests": r.requests, "hits": r.hits,
                        "hit_ratio": round2(r.hit_ratio()),
                    });
                    println!("{obj}");
                }
                if p == PolicyKind::DEFAULT {
                    default_ratio = Some(r.hit_ratio());
                }
                let _ = write!(line, " {:.2} |", r.hit_ratio());
            }
            match (default_ratio, row.best_online()) {
                (Some(d), Some(best)) => {
                    let _ = write!(line, " {:+.2} |", d - best);
                }
                _ => line.push_str(" |"),
            }
            let _ = writeln!(table, "{line}");
        }
    }
    if !opts.json {
        print!("{table}");
    }
    Ok(())
}

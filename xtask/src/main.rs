//! `cargo xtask`: the project's automation.
//!
//! A bare `cargo xtask` prints the commands. Every command calls `$CARGO` through
//! `std::process::Command` from the workspace root, never a shell.

mod bench;
mod ci;
mod demo;
mod fuzz;
mod html_check;
mod layering;
mod leak;
mod leak_real;
mod miri;
mod probe;
mod promtool;
mod scrape_check;
mod sim;
mod squeeze;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const HELP: &str = "\
cargo xtask <command>

commands:
  ci                 format check, clippy (warnings denied), tests, docs (warnings denied), layering;
                     then cache-core's shuttle schedules, and Miri where nightly is installed
  bench [NAME]       release benchmarks beside the peer caches; NAME: peers (default), reclaim,
                     probe, report, leak (the leak detector's cost per sample with an hour held)
  squeeze [--quick]  each cache in a 512 MiB memory cgroup (root) while a ballast grows to 400 MiB
  demo               the whole stack on the embedded default workload
  fuzz ...           the fuzz targets in fuzz/, one after the other (cargo xtask fuzz --help)
  html-check REPORT [--out PNG]
                     an HTML report in headless Chromium to a screenshot; fails on console messages
  sim ...            trace simulator (cargo xtask sim --help)
  probe [--json]     one live memory sample
  promtool [--metrics FILE]
                     the alerting rules through promtool check rules and test rules; FILE through
                     promtool check metrics
  scrape-check [--target ADDR] [--spawn CMD...]
                     a real Prometheus scrapes the endpoint (the demo's by default) and the
                     query_cache_* series are read back (cargo xtask scrape-check --help)
  miri               cache-core's unsafe code's unit tests under Miri (nightly toolchain)
  leak-check --samples FILE.csv [--json] [--fail-on-alert]
                     the leak detector over a recorded timeline: its alerts as a table or JSON lines;
                     exits 0 whatever it finds unless --fail-on-alert (then 1 when an alert was raised)
  leak-suite [--json]
                     the leak detector on its generated scenarios; exits 1 when a target fails
                     (a missed leak, a false alert, a >= 1 %/min growth found after 30 samples)
  leak-real [--seconds N] [--json]
                     three real processes (a 1 MiB/s leak beside a full cache, the same without
                     it, a cache warming up) fed to the detector for N s (75); exits 1 unless only
                     the leak is flagged, within 60 s
";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(cmd) = args.next() else {
        print!("{HELP}");
        return Ok(());
    };
    let rest: Vec<String> = args.collect();
    match cmd.as_str() {
        "ci" => ci::run(&rest),
        "bench" => bench::run(&rest),
        "squeeze" => squeeze::run(&rest),
        "demo" => demo::run(&rest),
        "fuzz" => fuzz::run(&rest),
        "html-check" => html_check::run(&rest),
        "sim" => sim::run(&rest),
        "probe" => probe::run(&rest),
        "promtool" => promtool::run(&rest),
        "scrape-check" => scrape_check::run(&rest),
        "miri" => miri::run(&rest),
        "leak-check" => leak::check(&rest),
        "leak-suite" => leak::suite(&rest),
        "leak-real" => leak_real::run(&rest),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown command `{other}`; run `cargo xtask` for the list"),
    }
}

/// The workspace root (the parent of this crate's manifest directory).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A `cargo` command run from the workspace root.
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs `cmd`, failing with its description when it does not succeed.
pub(crate) fn run_checked(mut cmd: Command, what: &str) -> Result<()> {
    eprintln!("xtask: {what}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start: {what}"))?;
    if !status.success() {
        bail!("failed: {what} ({status})");
    }
    Ok(())
}

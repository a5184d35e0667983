//! `cargo xtask probe [--json]`: one live memory sample, with jemalloc as the global allocator.
//!
//! xtask itself runs on the system allocator, where jemalloc's figures would be unknown, so this
//! runs memory-probe's `probe` example, which installs jemalloc, takes one sample and prints it
//! as text or as one JSON object on stdout.

use anyhow::{Result, bail};

use crate::{cargo, run_checked};

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut json = false;
    for arg in args {
        match arg.as_str() {
            "--json" => json = true,
            other => {
                bail!("unknown argument `{other}` to probe; usage: cargo xtask probe [--json]")
            }
        }
    }
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--quiet",
        "--release",
        "--package",
        "memory-probe",
        "--example",
        "probe",
    ]);
    if json {
        cmd.args(["--", "--json"]);
    }
    run_checked(
        cmd,
        "probe: memory-probe example `probe` (jemalloc as global allocator)",
    )
}

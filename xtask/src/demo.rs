//! `cargo xtask demo`: the whole stack on the embedded default workload (release build).

use anyhow::Result;

use crate::{cargo, run_checked};

/// Cargo's arguments that run the demo; the demo's own follow.
pub(crate) const CARGO_ARGS: [&str; 7] = [
    "run",
    "--release",
    "-p",
    "query-cache",
    "--example",
    "demo",
    "--",
];

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut cmd = cargo();
    cmd.args(CARGO_ARGS);
    cmd.args(args);
    run_checked(cmd, "demo")
}

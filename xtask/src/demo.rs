//! `cargo xtask demo`: the whole stack on the embedded default workload (release build).

use anyhow::Result;

use crate::{cargo, run_checked};

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "--package",
        "query-cache",
        "--example",
        "demo",
        "--",
    ]);
    cmd.args(args);
    run_checked(cmd, "demo")
}

//! `cargo xtask squeeze [--quick]`: the memory squeeze in a cgroup (the `squeeze` harness in the
//! `benches` package), release build; the arguments pass through to the harness.

use anyhow::Result;

use crate::{cargo, root, run_checked};

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut cmd = cargo();
    cmd.args(["bench", "--package", "benches", "--bench", "squeeze", "--"]);
    cmd.args(args);
    run_checked(cmd, "bench squeeze")?;
    let dir = root().join("target").join("bench");
    println!(
        "timelines: {}\nsummary:   {}",
        dir.join("squeeze.csv").display(),
        dir.join("squeeze.json").display()
    );
    Ok(())
}

//! `cargo xtask bench [NAME]`: release-mode benchmark harnesses in the `benches` package.

use anyhow::{Result, bail};

use crate::{cargo, run_checked};

const HARNESSES: &[&str] = &["peers", "reclaim", "probe", "report", "leak"];

pub(crate) fn run(args: &[String]) -> Result<()> {
    let name = args.first().map(String::as_str).unwrap_or("peers");
    if !HARNESSES.contains(&name) {
        bail!(
            "unknown bench `{name}`; choose one of: {}",
            HARNESSES.join(", ")
        );
    }
    let mut cmd = cargo();
    cmd.args(["bench", "--package", "benches", "--bench", name, "--"]);
    cmd.args(&args[args.len().min(1)..]);
    run_checked(cmd, &format!("bench {name}"))
}

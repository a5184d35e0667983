//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

use anyhow::Result;

use crate::{cargo, layering, run_checked};

pub(crate) fn run(_args: &[String]) -> Result<()> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    run_checked(fmt, "cargo fmt --check")?;

    layering::check()?;
    eprintln!("xtask: layering rule holds");

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run_checked(clippy, "cargo clippy (warnings denied)")?;

    let mut test = cargo();
    test.args(["test", "--workspace"]);
    run_checked(test, "cargo test --workspace")?;

    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    run_checked(doc, "cargo doc (warnings denied)")?;
    Ok(())
}

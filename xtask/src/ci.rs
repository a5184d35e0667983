//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.
//!
//! After the stable tests: cache-core's schedule exploration (shuttle); a short memory squeeze
//! of query-cache with its manager (`cargo xtask squeeze --quick --variant query-cache
//! --check`: in a real memory cgroup as root, under a configured ceiling otherwise); last,
//! cache-core's unsafe code under Miri where the nightly toolchain is installed
//! (`cargo xtask miri`).

use anyhow::Result;

use crate::{cargo, layering, miri, run_checked, squeeze};

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

    // The `shuttle` feature's code (src/sync.rs, tests/it/shuttle.rs) is not in the build above.
    let mut clippy_shuttle = cargo();
    clippy_shuttle.args([
        "clippy",
        "-p",
        "cache-core",
        "--all-targets",
        "--features",
        "shuttle",
        "--",
        "-D",
        "warnings",
    ]);
    run_checked(
        clippy_shuttle,
        "cargo clippy -p cache-core --features shuttle (warnings denied)",
    )?;

    let mut test = cargo();
    test.args(["test", "--workspace"]);
    run_checked(test, "cargo test --workspace")?;

    let mut shuttle = cargo();
    shuttle.args([
        "test",
        "-p",
        "cache-core",
        "--features",
        "shuttle",
        "--test",
        "it",
        "shuttle",
    ]);
    run_checked(
        shuttle,
        "cargo test -p cache-core --features shuttle --test it shuttle (thread schedules)",
    )?;

    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    run_checked(doc, "cargo doc (warnings denied)")?;

    // The manager must keep query-cache alive and under the limit; the peers' fate is the
    // full run's business (`cargo xtask squeeze`).
    squeeze::run(&[
        "--quick".to_owned(),
        "--variant".to_owned(),
        "query-cache".to_owned(),
        "--check".to_owned(),
    ])?;

    // Last: the slowest step, and the only one that needs the nightly toolchain.
    miri::run_if_nightly()
}

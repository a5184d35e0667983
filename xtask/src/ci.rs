//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.
//!
//! After the stable tests: the profiler's `backtraces` feature; cache-core's schedule
//! exploration (shuttle); a short memory squeeze of query-cache with its manager (`cargo xtask
//! squeeze --quick --variant query-cache --check`: in a real memory cgroup as root, under a
//! configured ceiling otherwise); last, cache-core's unsafe code under Miri where the nightly
//! toolchain is installed (`cargo xtask miri`).

use anyhow::Result;

use crate::{
    cargo, demo, html_check, layering, leak, leak_real, miri, promtool, root, run_checked,
    scrape_check, squeeze,
};

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

    // The profiler's `backtraces` feature (load call sites) is off in the workspace build.
    let mut backtraces = cargo();
    backtraces.args([
        "clippy",
        "-p",
        "profiler",
        "--all-targets",
        "--features",
        "backtraces",
        "--",
        "-D",
        "warnings",
    ]);
    run_checked(
        backtraces,
        "cargo clippy -p profiler --features backtraces (warnings denied)",
    )?;
    let mut backtraces = cargo();
    backtraces.args(["test", "-p", "profiler", "--features", "backtraces"]);
    run_checked(
        backtraces,
        "cargo test -p profiler --features backtraces (load call sites through a real cache)",
    )?;

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

    // The leak detector's targets on its generated scenarios, and a recorded timeline read
    // end to end (it holds a leak: the check must raise an alert).
    leak::suite(&[])?;
    let fixture = root().join("crates/leak-detector/tests/fixtures/leak_1mib_s.csv");
    leak::check(&["--samples".to_owned(), fixture.display().to_string()])?;
    if !leak::raises_alert(&fixture)? {
        anyhow::bail!("leak-check raised no alert on {}", fixture.display());
    }
    // The real scenario: three processes on the wall clock, about 75 s.
    leak_real::run(&[])?;

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

    reports()?;

    // Last: the slowest step, and the only one that needs the nightly toolchain.
    miri::run_if_nightly()
}

/// The report checks, with the tools operators run: the demo's report folder (a short run),
/// `promtool check metrics` on its `metrics.prom` and `check`/`test rules` on the alerting
/// rules, headless Chromium on its `report.html`, and a real Prometheus scraping the demo's
/// endpoint. Where the tools are missing the steps say so and are skipped, unless
/// `QC_REQUIRE_TOOLS` is set (`.ci/run` installs them and sets it).
fn reports() -> Result<()> {
    let out = root().join("target").join("ci-demo");
    let mut demo = cargo();
    demo.args(demo::CARGO_ARGS)
        .args(["--quick", "--out"])
        .arg(&out);
    run_checked(demo, "demo --quick (the report folder)")?;
    for name in ["report.html", "report.json", "report.txt", "metrics.prom"] {
        let path = out.join(name);
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if len == 0 {
            anyhow::bail!("the demo wrote no {}", path.display());
        }
    }
    let required = std::env::var_os("QC_REQUIRE_TOOLS").is_some();
    let have = |tool: &str| promtool::require(tool).is_ok();
    let skip = |what: &str| -> Result<()> {
        if required {
            anyhow::bail!(
                "{what} is required here (QC_REQUIRE_TOOLS) but missing: {}",
                promtool::INSTALL_HINT
            )
        }
        eprintln!("xtask: skipped: {what} is not installed");
        Ok(())
    };
    let metrics = out.join("metrics.prom").display().to_string();
    if have("promtool") {
        promtool::run(&["--metrics".to_owned(), metrics])?;
    } else {
        skip("promtool")?;
    }
    if html_check::available() {
        html_check::run(&[out.join("report.html").display().to_string()])?;
    } else {
        skip("chromium")?;
    }
    if have("prometheus") {
        let args = ["--timeout", "900", "--spawn", "cargo"]
            .into_iter()
            .chain(demo::CARGO_ARGS)
            .chain([
                "--quick",
                "--serve",
                "127.0.0.1:9898",
                "--out",
                "target/ci-serve",
            ])
            .chain(["--target", "127.0.0.1:9898"])
            .map(str::to_owned)
            .collect::<Vec<_>>();
        scrape_check::run(&args)?;
    } else {
        skip("prometheus")?;
    }
    Ok(())
}

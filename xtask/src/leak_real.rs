//! `cargo xtask leak-real`: the leak detector's real scenario, three processes side by side on
//! the wall clock: a full, steady cache leaking 1 MiB/s outside it; the same without the leak;
//! and a cache warming up to its budget.

use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{cargo, run_checked};

/// The longest a leak may take to be flagged, in seconds (the target).
const FLAG_WITHIN_S: f64 = 60.0;

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut seconds = 75u64;
    let mut json = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .context("--seconds takes a value")?
                    .parse()
                    .context("--seconds takes a whole number")?;
            }
            "--json" => json = true,
            other => bail!("unknown argument `{other}`; leak-real takes --seconds N and --json"),
        }
    }
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "query-cache",
        "--example",
        "leak_scenario",
    ]);
    run_checked(build, "cargo build --example leak_scenario")?;
    let exe = crate::root().join("target/release/examples/leak_scenario");
    // The three run at once: about a minute in all, on two cores they leave room to each other.
    let children = ["leak", "steady", "warmup"]
        .into_iter()
        .map(|mode| {
            let child = Command::new(&exe)
                .args(["--mode", mode, "--seconds", &seconds.to_string()])
                .stdout(Stdio::piped())
                .spawn()
                .with_context(|| format!("cannot start {}", exe.display()))?;
            Ok((mode, child))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut failures = Vec::new();
    if !json {
        println!("mode    expected  alerted  first alert  kinds           residual slope");
    }
    for (mode, child) in children {
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!("leak_scenario --mode {mode} failed: {}", out.status);
        }
        let line = String::from_utf8_lossy(&out.stdout);
        let v: Value = serde_json::from_str(line.trim())
            .with_context(|| format!("leak_scenario --mode {mode} printed `{line}`"))?;
        let alerted = v["alerted"].as_bool().unwrap_or(false);
        let first = v["first_alert_s"].as_f64();
        let expected = mode == "leak";
        if json {
            println!("{v}");
        } else {
            println!(
                "{mode:<7} {:<9} {:<8} {:<12} {:<15} {}",
                if expected { "leak" } else { "healthy" },
                if alerted { "yes" } else { "no" },
                first.map_or("-".to_owned(), |s| format!("{s:.1} s")),
                v["kinds"]
                    .as_array()
                    .map(|k| k
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","))
                    .unwrap_or_default(),
                v["residual_slope_bytes_per_s"]
                    .as_f64()
                    .map_or("-".to_owned(), |b| format!("{:.2} MiB/s", b / 1048576.0)),
            );
        }
        match (expected, alerted, first) {
            (true, true, Some(t)) if t <= FLAG_WITHIN_S => {}
            (true, _, _) => failures.push(format!(
                "the leak was not flagged within {FLAG_WITHIN_S} s (first alert: {first:?})"
            )),
            (false, true, _) => failures.push(format!("the {mode} process raised an alert")),
            (false, false, _) => {}
        }
    }
    if !failures.is_empty() {
        bail!("leak-real targets failed: {}", failures.join("; "));
    }
    Ok(())
}

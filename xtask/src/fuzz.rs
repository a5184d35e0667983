//! `cargo xtask fuzz`: runs the cargo-fuzz targets in `fuzz/` one after the other, installing
//! cargo-fuzz and the nightly toolchain first if they are missing.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

const HELP: &str = "\
cargo xtask fuzz [--runs N] [--target NAME]... [-- LIBFUZZER_ARGS...]

  --runs N        executions per target (default 1000000)
  --target NAME   fuzz only NAME; repeat for several (default: every target in fuzz/)
  --list          print the targets and stop
  -- ARGS         passed on to libFuzzer (for example -max_total_time=60)

Installs cargo-fuzz (cargo install cargo-fuzz --locked) and the nightly toolchain when they
are missing, builds every target (release, debug assertions, AddressSanitizer), then runs each
in turn as `cargo +nightly fuzz run <target> -- -runs=N`, in one process (no -jobs or
-workers), with a 10 s timeout per input and without AddressSanitizer's fake stacks. Corpora grow in fuzz/corpus/<target>; an input that
crashes, hangs or runs out of memory is saved in fuzz/artifacts/<target>/ (both git-ignored):
minimise it with `cargo +nightly fuzz tmin <target> <file>`. Prints, per target, the
executions and the outcome, and fails if any target found something.
";

/// Executions per target unless `--runs` says otherwise.
const DEFAULT_RUNS: u64 = 1_000_000;

/// Parsed command line.
#[derive(Debug)]
struct Options {
    runs: u64,
    targets: Vec<String>,
    list: bool,
    libfuzzer_args: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut opts = Options {
            runs: DEFAULT_RUNS,
            targets: Vec::new(),
            list: false,
            libfuzzer_args: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
                _ => (arg.as_str(), None),
            };
            let mut value = |name: &str| -> Result<String> {
                match inline.clone() {
                    Some(v) => Ok(v),
                    None => it.next().cloned().with_context(|| {
                        format!("{name} needs a value; see `cargo xtask fuzz --help`")
                    }),
                }
            };
            match flag {
                "--runs" => {
                    let runs = value("--runs")?.replace('_', "");
                    opts.runs = runs.parse().with_context(|| {
                        format!("--runs takes a whole number of executions, got `{runs}`")
                    })?;
                }
                "--target" => opts.targets.push(value("--target")?),
                "--list" => opts.list = true,
                "--" => {
                    opts.libfuzzer_args = it.by_ref().cloned().collect();
                }
                other => bail!("unknown argument `{other}`; see `cargo xtask fuzz --help`"),
            }
        }
        Ok(opts)
    }
}

/// How one target's run ended.
#[derive(Debug, Default)]
struct Outcome {
    /// Executions libFuzzer reported.
    executions: Option<u64>,
    /// What it found (its error line), if anything.
    finding: Option<String>,
    /// Where it saved the input that found it.
    artifact: Option<String>,
}

/// Entry point of `cargo xtask fuzz`.
pub(crate) fn run(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        return Ok(());
    }
    let opts = Options::parse(args)?;
    ensure_nightly()?;
    ensure_cargo_fuzz()?;
    let available = list_targets()?;
    if opts.list {
        for t in &available {
            println!("{t}");
        }
        return Ok(());
    }
    let targets = if opts.targets.is_empty() {
        available
    } else {
        for t in &opts.targets {
            if !available.contains(t) {
                bail!(
                    "no fuzz target `{t}`; use one of {} (cargo xtask fuzz --list)",
                    available.join(", ")
                );
            }
        }
        opts.targets.clone()
    };
    let mut build = fuzz_command();
    build.args(["build", "--fuzz-dir", "fuzz"]);
    crate::run_checked(build, "cargo +nightly fuzz build (every target)")?;
    let mut results = Vec::new();
    for target in &targets {
        let outcome = run_target(target, opts.runs, &opts.libfuzzer_args)?;
        results.push((target.clone(), outcome));
    }
    println!("\n| target | executions | outcome |\n|---|---:|---|");
    let mut findings = 0;
    for (target, outcome) in &results {
        let executions = outcome
            .executions
            .map_or_else(|| "?".to_string(), |n| n.to_string());
        let verdict = match (&outcome.finding, &outcome.artifact) {
            (None, _) => "no finding".to_string(),
            (Some(what), Some(path)) => format!("{what} ({path})"),
            (Some(what), None) => what.clone(),
        };
        if outcome.finding.is_some() {
            findings += 1;
        }
        println!("| {target} | {executions} | {verdict} |");
    }
    let total: u64 = results.iter().filter_map(|(_, o)| o.executions).sum();
    println!("\n{total} executions in all");
    if findings > 0 {
        bail!(
            "{findings} of {} targets found something; the inputs are under fuzz/artifacts/",
            results.len()
        );
    }
    Ok(())
}

/// `cargo` of the nightly toolchain, from the workspace root. (Through rustup: `$CARGO` is
/// the stable cargo that runs xtask, and cargo-fuzz needs nightly's.)
fn fuzz_command() -> Command {
    let mut cmd = Command::new("rustup");
    cmd.args(["run", "nightly", "cargo", "fuzz"]);
    cmd.current_dir(crate::root());
    cmd
}

/// Installs the nightly toolchain unless rustup has it.
fn ensure_nightly() -> Result<()> {
    let found = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("could not start rustup; cargo-fuzz needs a nightly toolchain through rustup")?;
    if !found.success() {
        let mut install = Command::new("rustup");
        install.args(["toolchain", "install", "nightly", "--profile", "minimal"]);
        crate::run_checked(
            install,
            "rustup toolchain install nightly --profile minimal",
        )?;
    }
    Ok(())
}

/// Installs cargo-fuzz unless `cargo fuzz` runs.
fn ensure_cargo_fuzz() -> Result<()> {
    let found = crate::cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let mut install = crate::cargo();
        install.args(["install", "cargo-fuzz", "--locked"]);
        crate::run_checked(install, "cargo install cargo-fuzz --locked")?;
    }
    Ok(())
}

/// The targets cargo-fuzz knows in `fuzz/`.
fn list_targets() -> Result<Vec<String>> {
    let out = fuzz_command()
        .args(["list", "--fuzz-dir", "fuzz"])
        .output()
        .context("could not start `cargo +nightly fuzz list`")?;
    if !out.status.success() {
        bail!(
            "`cargo +nightly fuzz list` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Runs one target for `runs` executions, echoing libFuzzer's progress and reading its
/// final statistics and any finding from its output.
fn run_target(target: &str, runs: u64, extra: &[String]) -> Result<Outcome> {
    let what = format!("cargo +nightly fuzz run {target} -- -runs={runs}");
    eprintln!("xtask: {what}");
    let mut cmd = fuzz_command();
    cmd.args(["run", "--fuzz-dir", "fuzz", target, "--"])
        .arg(format!("-runs={runs}"))
        .args(["-timeout=10", "-print_final_stats=1"])
        .args(extra)
        .env("ASAN_OPTIONS", asan_options())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start: {what}"))?;
    let mut outcome = Outcome::default();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines() {
            let line = line.with_context(|| format!("reading the output of {what}"))?;
            read_line(&line, &mut outcome);
            // libFuzzer reports every new input and function it covers: keep the rest.
            let coverage = line.starts_with('#')
                && (line.contains("NEW") || line.contains("REDUCE"))
                || line.trim_start().starts_with("NEW_FUNC");
            if !coverage {
                eprintln!("{line}");
            }
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for {what}"))?;
    if !status.success() && outcome.finding.is_none() {
        outcome.finding = Some(format!("exited with {status}"));
    }
    Ok(outcome)
}

/// AddressSanitizer's options: the caller's, and no fake stacks for use-after-return checks
/// (with them, each of the panics `cache_ops` injects and catches spent most of its time in
/// the fake stacks' collector: 4 times fewer executions per second).
fn asan_options() -> String {
    let mut options = std::env::var("ASAN_OPTIONS").unwrap_or_default();
    if !options.contains("detect_stack_use_after_return") {
        if !options.is_empty() {
            options.push(':');
        }
        options.push_str("detect_stack_use_after_return=0");
    }
    options
}

/// Reads what one line of libFuzzer's output says about the run.
fn read_line(line: &str, outcome: &mut Outcome) {
    if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
        outcome.executions = n.trim().parse().ok();
    } else if let Some(rest) = line.strip_prefix("Done ") {
        // "Done 1000000 runs in 12 second(s)", printed before the final statistics.
        if outcome.executions.is_none() {
            outcome.executions = rest.split_whitespace().next().and_then(|n| n.parse().ok());
        }
    } else if let Some(i) = line.find("ERROR: libFuzzer:") {
        outcome
            .finding
            .get_or_insert_with(|| line[i + "ERROR: ".len()..].trim().to_owned());
    } else if let Some(i) = line.find("ERROR: AddressSanitizer:") {
        outcome
            .finding
            .get_or_insert_with(|| line[i + "ERROR: ".len()..].trim().to_owned());
    } else if let Some(i) = line.find("Test unit written to ") {
        outcome.artifact = Some(line[i + "Test unit written to ".len()..].trim().to_owned());
    } else if line.contains("panicked at") {
        outcome
            .finding
            .get_or_insert_with(|| format!("panic: {}", line.trim()));
    }
}

#[cfg(test)]
mod tests {
    use super::{Options, Outcome, read_line};

    #[test]
    fn options_and_libfuzzer_output_are_read() {
        let args: Vec<String> = [
            "--runs",
            "1_000",
            "--target=a",
            "--target",
            "b",
            "--",
            "-x=1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let opts = Options::parse(&args).unwrap();
        assert_eq!(opts.runs, 1000);
        assert_eq!(opts.targets, ["a", "b"]);
        assert_eq!(opts.libfuzzer_args, ["-x=1"]);
        assert!(Options::parse(&["--bogus".to_string()]).is_err());

        let mut o = Outcome::default();
        read_line("Done 1000 runs in 1 second(s)", &mut o);
        read_line("stat::number_of_executed_units: 1001", &mut o);
        assert_eq!(o.executions, Some(1001));
        assert!(o.finding.is_none());
        read_line("==12== ERROR: libFuzzer: deadly signal", &mut o);
        read_line(
            "artifact_prefix='x/'; Test unit written to x/crash-ab",
            &mut o,
        );
        assert_eq!(o.finding.as_deref(), Some("libFuzzer: deadly signal"));
        assert_eq!(o.artifact.as_deref(), Some("x/crash-ab"));
    }
}

//! `cargo xtask promtool [--metrics FILE]`: the alerting rules in `alerting/` through
//! `promtool check rules` and `promtool test rules`, and a metrics file through
//! `promtool check metrics`.

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::{root, run_checked};

const USAGE: &str = "usage: cargo xtask promtool [--metrics FILE]";

/// The rules, from the workspace root.
pub(crate) const RULES: &str = "alerting/query-cache.rules.yml";

/// Their unit tests, from the workspace root.
const RULES_TEST: &str = "alerting/query-cache.rules.test.yml";

/// What to say when promtool or prometheus is missing.
pub(crate) const INSTALL_HINT: &str = "Debian and Ubuntu have both in the package `prometheus` \
     (`apt-get install prometheus`); elsewhere put the release's `promtool` and `prometheus` \
     on PATH";

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut metrics: Option<PathBuf> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--metrics" => {
                let file = args
                    .next()
                    .with_context(|| format!("--metrics needs a file; {USAGE}"))?;
                metrics = Some(PathBuf::from(file));
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument `{other}` to promtool; {USAGE}"),
        }
    }
    require("promtool")?;
    promtool(&["check", "rules", RULES], None)?;
    promtool(&["test", "rules", RULES_TEST], None)?;
    if let Some(file) = metrics {
        promtool(&["check", "metrics"], Some(&file))?;
        // promtool says nothing when the metrics are fine.
        println!(
            "  SUCCESS: promtool check metrics found no problem in {}",
            file.display()
        );
    }
    Ok(())
}

/// Fails with how to install `tool` when it cannot be run.
pub(crate) fn require(tool: &str) -> Result<()> {
    match Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            bail!("`{tool}` is not installed (not on PATH): {INSTALL_HINT}")
        }
        Err(e) => Err(e).with_context(|| format!("cannot run `{tool}`")),
    }
}

/// Runs promtool from the workspace root with `args`, and the file `stdin` as its input if
/// given, failing when it does.
fn promtool(args: &[&str], stdin: Option<&Path>) -> Result<()> {
    let mut what = format!("promtool {}", args.join(" "));
    let mut cmd = Command::new("promtool");
    cmd.args(args).current_dir(root());
    if let Some(path) = stdin {
        // Relative to where `cargo xtask` was run, as a user would expect.
        let input = File::open(path)
            .with_context(|| format!("cannot open the metrics file {}", path.display()))?;
        cmd.stdin(input);
        what = format!("{what} < {}", path.display());
    }
    run_checked(cmd, &what)
}

/// `path` from the workspace root, for messages and configuration files.
pub(crate) fn from_root(path: &str) -> PathBuf {
    root().join(Path::new(path))
}

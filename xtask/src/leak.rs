//! `cargo xtask leak-check` and `cargo xtask leak-suite`: the leak detector over a recorded
//! timeline, and over its generated scenarios with the targets CI holds it to.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use leak_detector::scenarios::{self, SuiteResult};
use leak_detector::{Alert, Config, LeakDetector};
use serde_json::{Map, Value, json};

const CHECK_USAGE: &str =
    "usage: cargo xtask leak-check --samples FILE.csv [--json] [--fail-on-alert]";
const SUITE_USAGE: &str = "usage: cargo xtask leak-suite [--json]";

/// The most samples from a leak's start to its first alert, for growth of 1 %/min or more.
const DELAY_TARGET: u64 = 30;

/// `leak-check`: prints the alerts; exit code 0 unless `--fail-on-alert` and alerts were raised.
pub(crate) fn check(args: &[String]) -> Result<()> {
    let mut samples: Option<PathBuf> = None;
    let mut json_out = false;
    let mut fail_on_alert = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--samples" => {
                let v = it
                    .next()
                    .with_context(|| format!("--samples needs a file; {CHECK_USAGE}"))?;
                samples = Some(PathBuf::from(v));
            }
            "--json" => json_out = true,
            "--fail-on-alert" => fail_on_alert = true,
            "-h" | "--help" => {
                println!("{CHECK_USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument `{other}` to leak-check; {CHECK_USAGE}"),
        }
    }
    let Some(path) = samples else {
        bail!("leak-check needs --samples FILE.csv; {CHECK_USAGE}");
    };
    let observations = read(&path)?;
    let detector = LeakDetector::new(Config::default())?;
    let n = observations.len();
    for obs in observations {
        detector.observe(obs);
    }
    let alerts = detector.alerts();
    if json_out {
        for a in &alerts {
            println!("{}", alert_json(a));
        }
    } else {
        let status = detector.status();
        println!(
            "{n} rows, {} samples used, {} ignored, {} alerts",
            status.samples_seen,
            status.samples_ignored,
            alerts.len()
        );
        if !alerts.is_empty() {
            println!(
                "{:<12} {:<9} {:<9} {:>10} {:>10}  evidence",
                "kind", "severity", "state", "first_t", "last_t"
            );
        }
        for a in &alerts {
            let evidence: Vec<String> =
                a.evidence.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "{:<12} {:<9} {:<9} {:>10.1} {:>10.1}  {}{}",
                a.kind.as_str(),
                a.severity.as_str(),
                a.state.as_str(),
                a.first_t,
                a.last_t,
                a.cache
                    .as_ref()
                    .map(|c| format!("cache={c} "))
                    .unwrap_or_default(),
                evidence.join(" ")
            );
        }
    }
    if fail_on_alert && !alerts.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

/// Whether the detector raises an alert on the timeline in `path` (for CI).
pub(crate) fn raises_alert(path: &Path) -> Result<bool> {
    let detector = LeakDetector::new(Config::default())?;
    for obs in read(path)? {
        detector.observe(obs);
    }
    Ok(!detector.alerts().is_empty())
}

fn read(path: &Path) -> Result<Vec<leak_detector::Observation>> {
    let file = File::open(path).with_context(|| format!("could not open {}", path.display()))?;
    leak_detector::read_csv(BufReader::new(file))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn alert_json(a: &Alert) -> Value {
    let evidence: Map<String, Value> = a
        .evidence
        .iter()
        .map(|(k, v)| {
            let value = v
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map_or_else(|| json!(v), |f| json!(f));
            (k.clone(), value)
        })
        .collect();
    json!({
        "kind": a.kind.as_str(),
        "severity": a.severity.as_str(),
        "state": a.state.as_str(),
        "cache": a.cache,
        "first_t": a.first_t,
        "last_t": a.last_t,
        "evidence": evidence,
        "recommendation": a.recommendation,
    })
}

/// `leak-suite`: prints a line per scenario and a summary; fails when a target fails.
pub(crate) fn suite(args: &[String]) -> Result<()> {
    let mut json_out = false;
    for arg in args {
        match arg.as_str() {
            "--json" => json_out = true,
            "-h" | "--help" => {
                println!("{SUITE_USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument `{other}` to leak-suite; {SUITE_USAGE}"),
        }
    }
    let results = scenarios::run_suite(&Config::default())?;
    for r in &results {
        if json_out {
            println!("{}", result_json(r));
        }
    }
    if !json_out {
        println!(
            "{:<26} {:<8} {:<8} {:>6} {:>7}  kinds",
            "scenario", "expected", "alerted", "delay", "target"
        );
        for r in &results {
            let opt = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |d| d.to_string());
            let kinds: Vec<&str> = r.kinds.iter().map(|k| k.as_str()).collect();
            println!(
                "{:<26} {:<8} {:<8} {:>6} {:>7}  {}{}",
                r.scenario,
                if r.expected_leak { "leak" } else { "healthy" },
                if r.alerted { "yes" } else { "no" },
                opt(r.delay_samples),
                opt(r.delay_target_samples),
                kinds.join(","),
                if r.passed() { "" } else { "  FAILED" }
            );
        }
    }
    let leaks: Vec<&SuiteResult> = results.iter().filter(|r| r.expected_leak).collect();
    let found = leaks
        .iter()
        .filter(|r| r.alerted && r.false_alerts == 0)
        .count();
    let false_alerts: usize = results
        .iter()
        .map(|r| {
            if r.expected_leak {
                r.false_alerts
            } else {
                usize::from(r.alerted)
            }
        })
        .sum();
    let max_fast_delay = leaks
        .iter()
        .filter(|r| r.delay_target_samples.is_some())
        .map(|r| r.delay_samples.unwrap_or(u64::MAX))
        .max();
    let recall = if leaks.is_empty() {
        1.0
    } else {
        found as f64 / leaks.len() as f64
    };
    let summary = format!(
        "recall {:.0} % ({found}/{}), false alerts {false_alerts}, max delay for >= 1 %/min growth {} samples (target {DELAY_TARGET})",
        recall * 100.0,
        leaks.len(),
        max_fast_delay.map_or_else(
            || "-".to_owned(),
            |d| if d == u64::MAX {
                "never".to_owned()
            } else {
                d.to_string()
            }
        )
    );
    if json_out {
        eprintln!("{summary}");
    } else {
        println!("{summary}");
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| r.scenario.as_str())
        .collect();
    if found < leaks.len()
        || false_alerts > 0
        || max_fast_delay.is_some_and(|d| d > DELAY_TARGET)
        || !failed.is_empty()
    {
        bail!("leak-suite targets failed: {}", failed.join(", "));
    }
    Ok(())
}

fn result_json(r: &SuiteResult) -> Value {
    json!({
        "scenario": r.scenario,
        "expected_leak": r.expected_leak,
        "alerted": r.alerted,
        "delay_samples": r.delay_samples,
        "delay_target_samples": r.delay_target_samples,
        "false_alerts": r.false_alerts,
        "kinds": r.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "passed": r.passed(),
    })
}

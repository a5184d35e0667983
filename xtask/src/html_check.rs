//! `cargo xtask html-check REPORT.html [--out PNG]`: renders an HTML report in headless
//! Chromium to a screenshot, and fails when the page logs anything to the console or the
//! screenshot is missing.
//!
//! Headless Chromium logs every console message of the page at INFO, whatever its level
//! (`[…:INFO:CONSOLE:3] "message", source: file:///… (3)`), so the check cannot tell a
//! `console.log` from an error; a report has no script, and the messages it can cause
//! (a blocked resource, a Content-Security-Policy violation) are errors, so every console
//! message fails the check. Chromium's own complaints on stderr (no D-Bus, no GPU) are not
//! the page's and are ignored.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

#[cfg(test)]
mod tests;

const USAGE: &str = "\
cargo xtask html-check REPORT.html [--out PNG]

Renders REPORT.html in headless Chromium (1280x2000) to a PNG screenshot, by default next to
the report with the extension .png, and prints its path. Fails when the page logs anything to
the console or the screenshot is missing.
";

/// The names the Chromium binary goes by.
const BROWSERS: [&str; 2] = ["chromium", "chromium-browser"];

/// How long Chromium may take before it is stopped.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The first bytes of every PNG file.
const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut report = None;
    let mut out = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => {
                let path = args
                    .next()
                    .context("--out needs a file name: --out report.png")?;
                out = Some(PathBuf::from(path));
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other if other.starts_with('-') => {
                bail!("unknown option `{other}`; run `cargo xtask html-check --help`")
            }
            other if report.is_none() => report = Some(PathBuf::from(other)),
            other => bail!("one report at a time (`{other}` is a second one)"),
        }
    }
    let Some(report) = report else {
        bail!("name the report to check: cargo xtask html-check REPORT.html [--out PNG]");
    };
    let report = std::fs::canonicalize(&report).with_context(|| {
        format!(
            "cannot find the report {}; write one with `cargo xtask demo` or \
             `cargo run -p reporter --example sample_report -- target/sample-report`",
            report.display()
        )
    })?;
    let out = match out {
        Some(path) => std::path::absolute(&path)
            .with_context(|| format!("cannot make {} absolute", path.display()))?,
        None => report.with_extension("png"),
    };
    let browser = find_browser().context(
        "headless Chromium is not installed (neither `chromium` nor `chromium-browser` is on \
         PATH); install it with `apt-get update && apt-get install -y chromium`",
    )?;

    // A screenshot left from an earlier run must not pass for this one.
    match std::fs::remove_file(&out) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("cannot replace {}", out.display())),
    }
    let profile = std::env::temp_dir().join(format!("xtask-html-check-{}", std::process::id()));
    let result = screenshot(&browser, &report, &out, &profile);
    let _ = std::fs::remove_dir_all(&profile);
    let stderr = result?;

    let messages = console_messages(&stderr);
    let (width, height, n_bytes) = check_png(&out)?;
    if !messages.is_empty() {
        bail!(
            "the page logged {} console message(s):\n  {}",
            messages.len(),
            messages.join("\n  ")
        );
    }
    eprintln!(
        "xtask: {} rendered without console messages: {width}x{height} PNG, {} KiB",
        report.display(),
        n_bytes.div_ceil(1024)
    );
    println!("{}", out.display());
    Ok(())
}

/// The first of [`BROWSERS`] on `PATH`.
/// Whether a Chromium binary is on PATH.
pub(crate) fn available() -> bool {
    find_browser().is_some()
}

fn find_browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| BROWSERS.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs Chromium on `report`, writing the screenshot to `out`; returns what it wrote to
/// stderr.
fn screenshot(browser: &Path, report: &Path, out: &Path, profile: &Path) -> Result<String> {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--hide-scrollbars",
        "--window-size=1280,2000",
        "--virtual-time-budget=2000",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--screenshot={}", out.display()))
    .arg(file_url(report)?)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    eprintln!(
        "xtask: {} --headless --screenshot={} …",
        browser.display(),
        out.display()
    );
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start {}", browser.display()))?;
    let mut pipe = child
        .stderr
        .take()
        .context("chromium's stderr was not captured")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for chromium")? {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "chromium took more than {} s; stopped it",
                TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = reader.join().unwrap_or_default();
    if !status.success() {
        bail!("chromium failed ({status}); its output:\n{stderr}");
    }
    Ok(stderr)
}

/// `file:///abs/path`, with every byte outside the unreserved set (and `/`) percent-encoded.
fn file_url(path: &Path) -> Result<String> {
    let text = path
        .to_str()
        .with_context(|| format!("the path {} is not UTF-8", path.display()))?;
    let mut url = String::from("file://");
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(url)
}

/// The lines of Chromium's stderr that are the page's console messages (its own errors,
/// such as a missing D-Bus, are not).
fn console_messages(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.contains(":CONSOLE") || line.contains("Uncaught"))
        .map(str::trim)
        .collect()
}

/// Checks that `path` is a non-empty PNG; returns its width, height and size in bytes.
fn check_png(path: &Path) -> Result<(u32, u32, u64)> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("chromium wrote no screenshot to {}", path.display()))?;
    // Signature, IHDR length and type, then width and height, big-endian.
    if bytes.len() < 24 || bytes[..8] != PNG_SIGNATURE || &bytes[12..16] != b"IHDR" {
        bail!("{} is not a PNG ({} bytes)", path.display(), bytes.len());
    }
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    if width == 0 || height == 0 {
        bail!("{} is an empty image ({width}x{height})", path.display());
    }
    Ok((width, height, bytes.len() as u64))
}

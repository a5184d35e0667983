//! `cargo xtask scrape-check`: a real Prometheus server scrapes the metrics endpoint, and the
//! `query_cache_*` series are read back through its HTTP API.
//!
//! Starts the endpoint (by default the demo with `--serve 127.0.0.1:9898`; `--spawn CMD...`
//! for another command; neither with `--target` alone, for an endpoint already running), waits
//! for it to answer `/metrics`, writes a `prometheus.yml` scraping it every second (with the
//! alerting rules of `alerting/` loaded), starts `prometheus` on a temporary storage
//! directory, waits for the target to be `up`, then queries `{__name__=~"query_cache_.*"}`
//! and prints every series and value Prometheus read. Fails if there are none, or if
//! Prometheus did not load the rules.
//!
//! The HTTP calls are plain HTTP/1.0 `GET`s over `std::net::TcpStream`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::promtool::{INSTALL_HINT, RULES, from_root, require};
use crate::{cargo, root};

const USAGE: &str = "\
usage: cargo xtask scrape-check [--target ADDR] [--listen ADDR] [--timeout SECS] [--spawn CMD...]

  --target ADDR   the endpoint to scrape (default 127.0.0.1:9898)
  --spawn CMD...  the command that serves it, run from the workspace root and stopped at the
                  end; its words run up to the next --target, --listen or --timeout. Without
                  --spawn and --target: cargo run --release -p query-cache --example demo --
                  --serve 127.0.0.1:9898
  --listen ADDR   where Prometheus listens (default 127.0.0.1:9099)
  --timeout SECS  how long to wait for the endpoint to answer (default 600 when a command is
                  spawned, for its build; 60 otherwise); Prometheus then has 60 s to scrape it";

const DEFAULT_TARGET: &str = "127.0.0.1:9898";
const DEFAULT_LISTEN: &str = "127.0.0.1:9099";

/// The query whose answer is printed.
const QUERY: &str = "{__name__=~\"query_cache_.*\"}";

/// How long Prometheus has to start and scrape, after the endpoint answers.
const SCRAPE_WAIT: Duration = Duration::from_secs(60);

struct Options {
    target: String,
    listen: String,
    spawn: Option<Vec<String>>,
    timeout: Option<Duration>,
}

/// The options, or `None` when help was asked for.
fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut target = None;
    let mut listen = DEFAULT_LISTEN.to_owned();
    let mut spawn: Option<Vec<String>> = None;
    let mut timeout = None;
    let mut args = args.iter().peekable();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .cloned()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--target" => target = Some(value("--target")?),
            "--listen" => listen = value("--listen")?,
            "--timeout" => {
                let secs: u64 = value("--timeout")?
                    .parse()
                    .with_context(|| format!("--timeout takes whole seconds\n{USAGE}"))?;
                timeout = Some(Duration::from_secs(secs));
            }
            "--spawn" => {
                let mut words = Vec::new();
                while let Some(word) =
                    args.next_if(|w| !matches!(w.as_str(), "--target" | "--listen" | "--timeout"))
                {
                    words.push(word.clone());
                }
                if words.is_empty() {
                    bail!("--spawn needs a command\n{USAGE}");
                }
                spawn = Some(words);
            }
            "-h" | "--help" => return Ok(None),
            other => bail!("unknown argument `{other}` to scrape-check\n{USAGE}"),
        }
    }
    if spawn.is_none() && target.is_none() {
        spawn = Some(
            std::iter::once("cargo")
                .chain(crate::demo::CARGO_ARGS)
                .chain(["--serve", DEFAULT_TARGET])
                .map(String::from)
                .collect(),
        );
    }
    Ok(Some(Options {
        target: target.unwrap_or_else(|| DEFAULT_TARGET.to_owned()),
        listen,
        spawn,
        timeout,
    }))
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let Some(options) = parse(args)? else {
        println!("{USAGE}");
        return Ok(());
    };
    require("prometheus")
        .with_context(|| format!("scrape-check runs a real Prometheus; {INSTALL_HINT}"))?;
    let timeout = options.timeout.unwrap_or(if options.spawn.is_some() {
        Duration::from_secs(600)
    } else {
        Duration::from_secs(60)
    });
    let target = resolve(&options.target)?;
    let listen = resolve(&options.listen)?;

    let mut endpoint = match &options.spawn {
        Some(words) => Some(Stopped::spawn(words, "the endpoint")?),
        None => None,
    };
    eprintln!("xtask: waiting up to {timeout:?} for http://{target}/metrics");
    wait_for_endpoint(target, timeout, endpoint.as_mut())?;

    let dir = std::env::temp_dir().join(format!("query-cache-scrape-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        prometheus_config(&options.target, &from_root(RULES)),
    )
    .with_context(|| format!("cannot write {}", config.display()))?;
    let log_path = dir.join("prometheus.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let mut cmd = Command::new("prometheus");
    cmd.arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={}", options.listen))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("cannot share the log file")?)
        .stderr(log);
    eprintln!(
        "xtask: prometheus --config.file={} (log: {})",
        config.display(),
        log_path.display()
    );
    let mut prometheus = Stopped::start(cmd, "prometheus")?;

    let result = scrape_and_read(listen, &mut prometheus, &log_path);
    drop(prometheus);
    drop(endpoint);
    match &result {
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&dir);
        }
        Err(_) => eprintln!("xtask: kept {} for a look", dir.display()),
    }
    result
}

/// Waits for the target to be up, then prints what Prometheus read and the rules it loaded.
fn scrape_and_read(listen: SocketAddr, prometheus: &mut Stopped, log_path: &Path) -> Result<()> {
    let deadline = Instant::now() + SCRAPE_WAIT;
    let mut last_state = String::from("no answer from Prometheus yet");
    loop {
        if let Some(status) = prometheus.exited()? {
            bail!(
                "prometheus exited ({status}) before a scrape:\n{}",
                tail(log_path)
            );
        }
        match http_get(listen, "/api/v1/targets") {
            Ok(body) => {
                let targets: Value =
                    serde_json::from_str(&body).context("the targets API answered no JSON")?;
                let active = targets["data"]["activeTargets"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if let Some(t) = active.first() {
                    let health = t["health"].as_str().unwrap_or("unknown");
                    last_state = format!(
                        "target {} health {health}, last error {:?}",
                        t["scrapeUrl"].as_str().unwrap_or("?"),
                        t["lastError"].as_str().unwrap_or("")
                    );
                    if health == "up" {
                        eprintln!("xtask: {last_state}");
                        break;
                    }
                }
            }
            Err(e) => last_state = format!("prometheus not answering yet: {e:#}"),
        }
        if Instant::now() > deadline {
            bail!(
                "no successful scrape within {SCRAPE_WAIT:?}: {last_state}\n{}",
                tail(log_path)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    let body = http_get(
        listen,
        &format!("/api/v1/query?query={}", percent_encode(QUERY)),
    )?;
    let answer: Value = serde_json::from_str(&body).context("the query API answered no JSON")?;
    if answer["status"] != "success" {
        bail!("the query {QUERY} failed: {body}");
    }
    let mut lines: Vec<String> = answer["data"]["result"]
        .as_array()
        .map(|results| results.iter().map(series_line).collect())
        .unwrap_or_default();
    if lines.is_empty() {
        bail!("Prometheus scraped the target but holds no query_cache_* series");
    }
    lines.sort();
    println!("Prometheus read back {} series for {QUERY}:", lines.len());
    for line in &lines {
        println!("  {line}");
    }

    let rules: Value = serde_json::from_str(&http_get(listen, "/api/v1/rules")?)
        .context("the rules API answered no JSON")?;
    let mut n_rules = 0;
    let mut unhealthy = Vec::new();
    for group in rules["data"]["groups"].as_array().into_iter().flatten() {
        for rule in group["rules"].as_array().into_iter().flatten() {
            n_rules += 1;
            if rule["health"] != "ok" && rule["health"] != "unknown" {
                unhealthy.push(format!(
                    "{}: {} {}",
                    rule["name"].as_str().unwrap_or("?"),
                    rule["health"],
                    rule["lastError"]
                ));
            }
        }
    }
    if n_rules == 0 {
        bail!("Prometheus loaded no alerting rules from {RULES}");
    }
    if !unhealthy.is_empty() {
        bail!(
            "alerting rules failing in Prometheus:\n{}",
            unhealthy.join("\n")
        );
    }
    println!("Prometheus loaded {n_rules} alerting rules from {RULES}, none failing");
    Ok(())
}

/// `name{label="value",...} value`, from one result of an instant query.
fn series_line(result: &Value) -> String {
    let metric = result["metric"].as_object();
    let name = metric
        .and_then(|m| m.get("__name__"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    let labels: Vec<String> = metric
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let value = result["value"][1].as_str().unwrap_or("?");
    format!("{name}{{{}}} {value}", labels.join(","))
}

/// The Prometheus configuration: scrape `target` every second, load `rules`.
fn prometheus_config(target: &str, rules: &Path) -> String {
    format!(
        "# Written by cargo xtask scrape-check.\n\
         global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - '{}'\n\
         scrape_configs:\n  - job_name: query-cache\n    static_configs:\n      - targets: ['{target}']\n",
        rules.display()
    )
}

/// Waits until `GET /metrics` on `target` answers 200, or the spawned command exits.
fn wait_for_endpoint(
    target: SocketAddr,
    timeout: Duration,
    mut endpoint: Option<&mut Stopped>,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(child) = endpoint.as_deref_mut() {
            if let Some(status) = child.exited()? {
                bail!("the endpoint's command exited ({status}) before serving /metrics");
            }
        }
        match http_get(target, "/metrics") {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(e.context(format!(
                    "no answer from http://{target}/metrics within {timeout:?}"
                )));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// The body of `GET path` on `addr` over HTTP/1.0, if the status is 200.
fn http_get(addr: SocketAddr, path: &str) -> Result<String> {
    let timeout = Duration::from_secs(10);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: */*\r\n\r\n"
    )?;
    let mut bytes = Vec::new();
    stream
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading the answer to GET {path} from {addr}"))?;
    let text = String::from_utf8_lossy(&bytes);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("GET {path} on {addr}: no HTTP response"))?;
    let status = head.lines().next().unwrap_or_default();
    if !status.contains(" 200 ") {
        bail!("GET {path} on {addr}: {status}");
    }
    Ok(body.to_owned())
}

/// `s` with everything but unreserved characters percent-encoded, for a query string.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn resolve(addr: &str) -> Result<SocketAddr> {
    addr.to_socket_addrs()
        .with_context(|| format!("`{addr}` is not an address (HOST:PORT)"))?
        .next()
        .with_context(|| format!("`{addr}` resolves to no address"))
}

/// The last lines of a log file, for an error message.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// A child process (with its own children) that is stopped when dropped.
struct Stopped {
    child: Child,
    what: String,
}

impl Stopped {
    /// Runs `words` from the workspace root (`cargo` as `$CARGO`), in a process group of its
    /// own so that what it starts (`cargo run`'s program) is stopped with it.
    fn spawn(words: &[String], what: &str) -> Result<Self> {
        let (program, args) = words.split_first().context("an empty command")?;
        let mut cmd = if program == "cargo" {
            cargo()
        } else {
            let mut cmd = Command::new(program);
            cmd.current_dir(root());
            cmd
        };
        cmd.args(args).stdin(Stdio::null());
        eprintln!("xtask: {}", words.join(" "));
        Self::start(cmd, what)
    }

    fn start(mut cmd: Command, what: &str) -> Result<Self> {
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .with_context(|| format!("could not start {what}"))?;
        Ok(Self {
            child,
            what: what.to_owned(),
        })
    }

    fn exited(&mut self) -> Result<Option<std::process::ExitStatus>> {
        self.child
            .try_wait()
            .with_context(|| format!("cannot wait for {}", self.what))
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SIGTERM to the child's process group (its id), then SIGKILL to it if it lingers.
        #[cfg(unix)]
        {
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn spawn_runs_up_to_the_next_flag() {
        let o = parse(&args(
            "--spawn cargo run -p reporter --features server --example serve_sample -- 127.0.0.1:9898 --target 127.0.0.1:9898",
        ))
        .unwrap().unwrap();
        assert_eq!(o.target, "127.0.0.1:9898");
        assert_eq!(
            o.spawn.unwrap().join(" "),
            "cargo run -p reporter --features server --example serve_sample -- 127.0.0.1:9898"
        );
    }

    #[test]
    fn target_alone_spawns_nothing_and_nothing_spawns_the_demo() {
        assert!(
            parse(&args("--target 10.0.0.1:80"))
                .unwrap()
                .unwrap()
                .spawn
                .is_none()
        );
        let o = parse(&[]).unwrap().unwrap();
        assert_eq!(o.target, DEFAULT_TARGET);
        assert!(
            o.spawn
                .unwrap()
                .join(" ")
                .contains("--example demo -- --serve 127.0.0.1:9898")
        );
    }

    #[test]
    fn the_query_is_percent_encoded() {
        assert_eq!(
            percent_encode(QUERY),
            "%7B__name__%3D~%22query_cache_.%2A%22%7D"
        );
    }
}

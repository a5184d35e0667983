//! Tests of the metrics endpoint over real sockets: the three paths, what else gets 404, 405,
//! 413, 414, 431 and 400, slow and idle clients, the snapshot cache, slow, stuck and panicking
//! report functions, and stopping.
//!
//! Nothing here asserts on speed: a request that must get through despite a hostile client
//! only has to complete within a generous [`PATIENCE`].

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use cache_traits::{Metric, Section, Unit};

use super::{MAX_REQUEST_HEAD, MAX_URL, MetricsServer, ReportFn, ServerError};
use crate::{Report, ReportKind};

/// How long a client in these tests waits for anything before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

fn report() -> Report {
    let mut section = Section::new("cache.results", "Results cache");
    section.metrics.push(
        Metric::gauge("used_memory", "Bytes held", Unit::Bytes, 4096.0).label("cache", "results"),
    );
    section
        .metrics
        .push(Metric::counter("keyspace_hits", "Hits", Unit::None, 7.0).label("cache", "results"));
    let mut report = Report::new(ReportKind::Detailed, "server test", 1_700_000_000_000);
    report.sections.push(section);
    report
}

/// A server on a free loopback port with `workers` workers and a short request timeout.
fn start(workers: usize, timeout: Duration) -> MetricsServer {
    MetricsServer::builder()
        .address("127.0.0.1:0")
        .report(report)
        .workers(workers)
        .request_timeout(timeout)
        .start()
        .expect("server starts")
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, PATIENCE).expect("connect");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("read timeout");
    stream
        .set_write_timeout(Some(PATIENCE))
        .expect("write timeout");
    stream
}

/// A response as read back: status, headers (names lowercased) and body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `raw` as is and reads the whole response (the server closes after one).
fn exchange(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut stream = connect(addr);
    stream.write_all(raw).expect("send request");
    read_reply(&mut stream)
}

fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).expect("read response");
    parse_reply(&bytes)
}

fn parse_reply(bytes: &[u8]) -> Reply {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {:?}", String::from_utf8_lossy(bytes)));
    let head = std::str::from_utf8(&bytes[..end]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("header line");
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    Reply {
        status,
        headers,
        body: bytes[end + 4..].to_vec(),
    }
}

/// Sends each of `requests` on a connection of its own and fails unless each gets `status`.
fn check(addr: SocketAddr, requests: &[&[u8]], status: u16) {
    for raw in requests {
        let reply = exchange(addr, raw);
        assert_eq!(reply.status, status, "{:?}", String::from_utf8_lossy(raw));
        if status == 405 {
            assert_eq!(reply.header("allow"), Some("GET, HEAD"));
        }
    }
}

/// Drops `server`, failing unless the drop returns within [`PATIENCE`].
fn stop_within_patience(server: MetricsServer) {
    let stopping = Instant::now();
    drop(server);
    assert!(
        stopping.elapsed() < PATIENCE,
        "stopping took {:?}",
        stopping.elapsed()
    );
}

fn get(addr: SocketAddr, target: &str) -> Reply {
    exchange(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n").as_bytes(),
    )
}

#[test]
fn serves_the_three_paths_with_their_content_types() {
    let server = start(2, Duration::from_secs(5));
    let addr = server.local_addr();

    let metrics = get(addr, "/metrics");
    assert_eq!(metrics.status, 200);
    assert_eq!(
        metrics.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(
        metrics.header("content-length"),
        Some(metrics.body.len().to_string().as_str())
    );
    assert!(
        metrics
            .text()
            .contains("query_cache_used_memory_bytes{cache=\"results\"} 4096"),
        "{}",
        metrics.text()
    );
    assert!(
        metrics
            .text()
            .contains("# TYPE query_cache_keyspace_hits_total counter")
    );

    let json = get(addr, "/report.json");
    assert_eq!(json.status, 200);
    assert_eq!(json.header("content-type"), Some("application/json"));
    let parsed: Report = serde_json::from_slice(&json.body).expect("the JSON is a report");
    assert_eq!(parsed, report());

    let html = get(addr, "/report.html");
    assert_eq!(html.status, 200);
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(html.text().starts_with("<!DOCTYPE html>"));
    assert!(html.header("content-security-policy").is_some());

    // A query string does not change the path; HTTP/1.0 is served too.
    assert_eq!(get(addr, "/metrics?name[]=x").status, 200);
    let old = exchange(addr, b"GET /metrics HTTP/1.0\r\n\r\n");
    assert_eq!(old.status, 200);
    assert_eq!(old.body, metrics.body);
}

#[test]
fn head_sends_the_headers_only() {
    let server = start(1, Duration::from_secs(5));
    let reply = exchange(
        server.local_addr(),
        b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(reply.status, 200);
    assert!(reply.body.is_empty());
    let length: usize = reply
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .expect("content-length");
    assert!(length > 0);
}

#[test]
fn other_paths_are_not_found() {
    let server = start(2, Duration::from_secs(5));
    for target in [
        "/",
        "/../etc/passwd",
        "/metrics/../report.json",
        "/metrics/",
        "//metrics",
        "/Metrics",
        "/report.json/../../Cargo.toml",
        "/%2e%2e/etc/passwd",
        "/report.csv",
        "http://localhost/metrics",
        "*",
    ] {
        let reply = get(server.local_addr(), target);
        assert_eq!(reply.status, 404, "{target}");
        assert!(!reply.text().contains("root:"), "{target}");
    }
}

#[test]
fn other_methods_are_not_allowed() {
    let server = start(2, Duration::from_secs(5));
    check(
        server.local_addr(),
        &[
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
            b"PUT /report.json HTTP/1.1\r\nHost: x\r\n\r\n",
            b"DELETE /report.html HTTP/1.1\r\nHost: x\r\n\r\n",
            b"OPTIONS /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        ],
        405,
    );
}

#[test]
fn a_request_body_is_refused_unread() {
    let server = start(1, Duration::from_secs(5));
    let reply = exchange(
        server.local_addr(),
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nsome of it",
    );
    assert_eq!(reply.status, 413);
    let reply = exchange(
        server.local_addr(),
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    assert_eq!(reply.status, 413);
    let reply = exchange(
        server.local_addr(),
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n",
    );
    assert_eq!(reply.status, 400);
}

#[test]
fn an_oversized_url_is_refused() {
    let server = start(1, Duration::from_secs(5));
    let at_limit = format!("/metrics?{}", "a".repeat(MAX_URL - "/metrics?".len()));
    assert_eq!(get(server.local_addr(), &at_limit).status, 200);
    let over = format!("/metrics?{}", "a".repeat(MAX_URL));
    assert_eq!(get(server.local_addr(), &over).status, 414);

    // Refused as soon as the target passes the limit, without waiting for the line's end: a
    // client that never ends its line still gets its answer.
    let mut stream = connect(server.local_addr());
    stream
        .write_all(format!("GET /{}", "a".repeat(2 * MAX_URL)).as_bytes())
        .expect("send");
    assert_eq!(read_reply(&mut stream).status, 414);
}

#[test]
fn an_oversized_head_is_refused() {
    let server = start(1, Duration::from_secs(5));
    let big_header = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(MAX_REQUEST_HEAD)
    );
    assert_eq!(
        exchange(server.local_addr(), big_header.as_bytes()).status,
        431
    );

    let mut many = String::from("GET /metrics HTTP/1.1\r\n");
    for i in 0..40 {
        many.push_str(&format!("X-Header-{i}: {i}\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(exchange(server.local_addr(), many.as_bytes()).status, 431);

    // And the server still serves.
    assert_eq!(get(server.local_addr(), "/metrics").status, 200);
}

#[test]
fn malformed_requests_get_400_and_the_server_goes_on() {
    let server = start(1, Duration::from_secs(5));
    check(
        server.local_addr(),
        &[
            b"\x00\x01\x02garbage\xff\xfe\r\n\r\n",
            b"GET\r\n\r\n",
            b"GET /metrics\r\n\r\n",
            b"GET /metrics HTTP/9.9\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n",
            b"GET /met rics HTTP/1.1\r\n\r\n",
            b"G\x7fT /metrics HTTP/1.1\r\n\r\n",
            // No method is this long: refused before a line end comes.
            b"GETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGET",
        ],
        400,
    );
    // A client that sends half a request and hangs up gets nothing, and costs nothing.
    let mut stream = connect(server.local_addr());
    stream.write_all(b"GET /metr").expect("send");
    drop(stream);
    assert_eq!(get(server.local_addr(), "/metrics").status, 200);
}

#[test]
fn a_slowloris_client_does_not_stall_another() {
    // Two workers: the slow client holds one, the other serves.
    let server = start(2, Duration::from_secs(2));
    let addr = server.local_addr();
    let slow = std::thread::spawn(move || {
        let mut stream = connect(addr);
        let started = Instant::now();
        // One byte every 50 ms of a request that would take 6 s to send.
        for byte in b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slowloris/1.0\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n" {
            if stream.write_all(&[*byte]).is_err() {
                break; // the server hung up
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The server ends the request at its timeout, whatever the client still sends.
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        started.elapsed()
    });
    // While the slow client trickles, another gets its metrics.
    std::thread::sleep(Duration::from_millis(300));
    let reply = get(addr, "/metrics");
    assert_eq!(reply.status, 200);
    let slow_took = slow.join().expect("slow client thread");
    assert!(
        slow_took < PATIENCE,
        "the slow client was held for {slow_took:?}"
    );
}

#[test]
fn idle_connections_beyond_the_pool_delay_but_do_not_block_others() {
    // Six idle connections against two workers with a 300 ms timeout: each worker spends up
    // to the timeout on each idle connection it takes, so the request after them waits about
    // three timeouts, then gets served.
    let server = start(2, Duration::from_millis(300));
    let addr = server.local_addr();
    let idle: Vec<TcpStream> = (0..6).map(|_| connect(addr)).collect();
    let reply = get(addr, "/metrics");
    assert_eq!(reply.status, 200);
    // The idle ones were answered 408 and closed (or, if the server got to them only after
    // their timeout, closed after the 408).
    for mut stream in idle {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        if !bytes.is_empty() {
            assert_eq!(parse_reply(&bytes).status, 408);
        }
    }
}

/// A server whose report function counts its calls, and panics in call `fail_call` (from 0).
fn counting_server(
    refresh: Duration,
    fail_call: Option<usize>,
) -> (MetricsServer, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let server = MetricsServer::builder()
        .address("127.0.0.1:0")
        .report(move || {
            let n_before = counted.fetch_add(1, Ordering::SeqCst);
            assert!(
                fail_call != Some(n_before),
                "this report fails (this panic is expected)"
            );
            report()
        })
        .refresh_interval(refresh)
        .start()
        .expect("server starts");
    (server, calls)
}

#[test]
fn many_scrapes_share_one_snapshot() {
    let (server, calls) = counting_server(Duration::from_secs(3600), None);
    let first = get(server.local_addr(), "/metrics");
    for _ in 0..10 {
        for path in ["/metrics", "/report.json", "/report.html"] {
            assert_eq!(get(server.local_addr(), path).status, 200);
        }
    }
    assert_eq!(get(server.local_addr(), "/metrics").body, first.body);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn with_no_refresh_interval_every_request_makes_a_report() {
    let (server, calls) = counting_server(Duration::ZERO, None);
    for _ in 0..3 {
        assert_eq!(get(server.local_addr(), "/metrics").status, 200);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn a_panicking_report_function_gets_500_and_the_server_goes_on() {
    let (server, calls) = counting_server(Duration::ZERO, Some(0));
    assert_eq!(get(server.local_addr(), "/metrics").status, 500);
    assert_eq!(get(server.local_addr(), "/metrics").status, 200);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn a_panic_after_a_good_report_serves_the_previous_one() {
    let (server, calls) = counting_server(Duration::ZERO, Some(1));
    let first = get(server.local_addr(), "/metrics");
    assert_eq!(first.status, 200);
    let second = get(server.local_addr(), "/metrics");
    assert_eq!(second.status, 200);
    assert_eq!(second.body, first.body);
    assert!(second.header("x-report-age-ms").is_some());
    assert_eq!(get(server.local_addr(), "/metrics").status, 200);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn a_slow_report_function_is_called_once_for_concurrent_scrapes() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let server = MetricsServer::builder()
        .address("127.0.0.1:0")
        .report(move || {
            std::thread::sleep(Duration::from_millis(300));
            counted.fetch_add(1, Ordering::SeqCst);
            report()
        })
        .workers(4)
        .refresh_interval(Duration::from_secs(3600))
        .start()
        .expect("server starts");
    let addr = server.local_addr();
    let scrapes: Vec<_> = (0..8)
        .map(|i| {
            let path = if i % 2 == 0 {
                "/metrics"
            } else {
                "/report.json"
            };
            std::thread::spawn(move || get(addr, path).status)
        })
        .collect();
    for scrape in scrapes {
        assert_eq!(scrape.join().expect("scrape thread"), 200);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A report function that, from call `free_calls` on, waits until the returned sender is
/// dropped (or sends), so never returns while a test holds it.
fn stuck_report(free_calls: usize) -> (ReportFn, mpsc::Sender<()>) {
    let (release, gate) = mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let calls = AtomicUsize::new(0);
    let report: ReportFn = Arc::new(move || {
        if calls.fetch_add(1, Ordering::SeqCst) >= free_calls {
            if let Ok(gate) = gate.lock() {
                let _ = gate.recv();
            }
        }
        report()
    });
    (report, release)
}

/// A server on a port chosen here, free a moment before, so that the test can bind it again
/// once the server is dropped.
fn start_on_a_known_port(report: &ReportFn, timeout: Duration) -> MetricsServer {
    for _ in 0..10 {
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port");
        match MetricsServer::builder()
            .address(addr.to_string())
            .shared_report(Arc::clone(report))
            .workers(2)
            .request_timeout(timeout)
            .start()
        {
            Ok(server) => return server,
            // A test in parallel was given the port meanwhile.
            Err(ServerError::Bind { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    panic!("no free port in ten tries");
}

#[test]
fn a_report_function_that_never_returns_holds_no_worker_and_no_port() {
    let (stuck, release) = stuck_report(0);
    let server = start_on_a_known_port(&stuck, Duration::from_secs(2));
    let addr = server.local_addr();

    // One scrape waits for the report, up to its deadline...
    let waiting = std::thread::spawn(move || get(addr, "/metrics"));
    std::thread::sleep(Duration::from_millis(100));
    // ...while what needs no report is answered by the other worker without waiting.
    assert_eq!(get(addr, "/nope").status, 404);
    check(addr, &[b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n"], 405);
    assert!(
        !waiting.is_finished(),
        "the 404 and 405 waited for the report's deadline"
    );
    // With no report ever made, the scrape gets 503 at its deadline (`get` fails the test
    // if nothing comes within PATIENCE).
    let reply = waiting.join().expect("scrape thread");
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("1"));

    // Dropping the server returns, and the port is free though the renderer is still stuck.
    stop_within_patience(server);
    let again = TcpListener::bind(addr);
    assert!(
        again.is_ok(),
        "the port is still bound after the drop: {again:?}"
    );
    drop(release);
}

#[test]
fn while_the_report_function_is_stuck_the_last_report_is_served() {
    let (stuck, release) = stuck_report(1);
    let server = MetricsServer::builder()
        .address("127.0.0.1:0")
        .shared_report(stuck)
        .refresh_interval(Duration::ZERO)
        .request_timeout(Duration::from_millis(300))
        .start()
        .expect("server starts");
    let addr = server.local_addr();
    let first = get(addr, "/metrics");
    assert_eq!(first.status, 200);

    // Every request wants a new report, the second call never returns: the request gets the
    // first report at its deadline, and says how old it is.
    let stale = get(addr, "/metrics");
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body, first.body);
    let age: u64 = stale
        .header("x-report-age-ms")
        .and_then(|age| age.parse().ok())
        .expect("an age header");
    assert!(age >= 300, "age {age} ms");

    // A format never rendered from the last report cannot be served: 503.
    let json = get(addr, "/report.json");
    assert_eq!(json.status, 503);
    assert!(json.header("retry-after").is_some());

    drop(server);
    drop(release);
}

#[test]
fn drop_stops_the_server() {
    let server = start(3, Duration::from_secs(1));
    let addr = server.local_addr();
    assert_eq!(get(addr, "/metrics").status, 200);
    // An idle client is connected while the server stops: the stop still ends in bounded time.
    let mut idle = connect(addr);
    stop_within_patience(server);
    // The idle connection was closed, not left hanging. (Whether the port still listens is
    // not asked: tests in parallel may be given the freed port for a server of their own.)
    let mut rest = Vec::new();
    match std::io::Read::read_to_end(&mut idle, &mut rest) {
        Ok(_) => {}
        Err(e) => assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the idle connection is still open after the drop"
        ),
    }
}

#[test]
fn start_needs_a_report_and_a_free_address() {
    let err = MetricsServer::builder().address("127.0.0.1:0").start();
    assert!(matches!(err, Err(ServerError::NoReport)));

    let first = start(1, Duration::from_secs(1));
    let taken = first.local_addr().to_string();
    let err = MetricsServer::builder()
        .address(taken.clone())
        .report(report)
        .start()
        .expect_err("the address is taken");
    assert!(matches!(err, ServerError::Bind { .. }));
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("could not listen on {taken}: ")),
        "{message}"
    );
}

#[test]
fn the_default_address_is_loopback() {
    let builder = MetricsServer::builder();
    assert_eq!(builder.address, "127.0.0.1:9898");
    assert_eq!(
        super::loopback_of("0.0.0.0:80".parse().expect("addr")).to_string(),
        "127.0.0.1:80"
    );
    assert_eq!(
        super::loopback_of("[::]:80".parse().expect("addr")).to_string(),
        "[::1]:80"
    );
}

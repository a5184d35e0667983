//! The metrics endpoint (feature `server`): `GET /metrics`, `/report.json` and `/report.html`
//! from a few threads of its own, every request bounded in size and time.
//!
//! [`MetricsServer`] says what it serves and how it bounds what a client can cost.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{HtmlOptions, PROMETHEUS_CONTENT_TYPE, Report};

/// The address a server listens on unless told otherwise: loopback only.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:9898";

/// The most bytes of request line and headers read from one request.
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// The longest request target (path and query) accepted, in bytes; longer ones get `414`.
pub const MAX_URL: usize = 1024;

/// The most headers in one request; more get `431`.
const MAX_HEADERS: usize = 32;

/// The most worker threads, so connections a server serves at once.
pub const MAX_WORKERS: usize = 16;

/// Worker threads by default.
const DEFAULT_WORKERS: usize = 4;

/// Time to read a request head, and again to write its response, by default.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a snapshot is served before the report is made again, by default.
const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// How long, at most, what a client still sends is read and dropped before closing.
const LINGER: Duration = Duration::from_millis(250);

/// The most bytes read and dropped before closing.
const MAX_LINGER_BYTES: usize = 64 * 1024;

/// Bytes written per `write` call, so the write deadline is checked between them.
const WRITE_CHUNK: usize = 16 * 1024;

/// The function a server calls for the report it serves.
pub type ReportFn = Arc<dyn Fn() -> Report + Send + Sync>;

/// Why a [`MetricsServer`] did not start.
#[non_exhaustive]
#[derive(Debug)]
pub enum ServerError {
    /// The builder was given no report function.
    NoReport,
    /// The address could not be listened on.
    Bind {
        /// The address as given.
        address: String,
        /// What the system said.
        source: io::Error,
    },
    /// A worker thread could not be started.
    Spawn(io::Error),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::NoReport => f.write_str(
                "no report to serve: give the builder a report function with `.report(...)`",
            ),
            ServerError::Bind { address, source } => write!(
                f,
                "could not listen on {address}: {source}; choose a free port, or port 0 for any"
            ),
            ServerError::Spawn(source) => {
                write!(
                    f,
                    "could not start a server thread: {source}; use fewer workers"
                )
            }
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServerError::NoReport => None,
            ServerError::Bind { source, .. } | ServerError::Spawn(source) => Some(source),
        }
    }
}

/// The metrics endpoint: serves a report as `/metrics`, `/report.json` and `/report.html`
/// until dropped.
///
/// # What it serves
///
/// | request | response |
/// | --- | --- |
/// | `GET /metrics` | the Prometheus text format ([`to_prometheus`](crate::to_prometheus)), `text/plain; version=0.0.4; charset=utf-8` |
/// | `GET /report.json` | the JSON report on one line ([`to_json_compact`](crate::to_json_compact)), `application/json` |
/// | `GET /report.html` | the HTML page ([`to_html`](crate::to_html)), `text/html; charset=utf-8` |
/// | `HEAD` of those | the same headers, no body |
/// | any other path | `404` |
/// | another method on those paths | `405`, with `Allow: GET, HEAD` |
///
/// The path is compared as a whole string with the three above (a query string is ignored);
/// nothing from a request is ever used as a file name, so `/../etc/passwd` or
/// `/metrics/../report.json` are `404`s like any other path.
///
/// # Bounds
///
/// - **Connections**: a fixed pool of worker threads ([`MetricsServerBuilder::workers`],
///   4 by default, at most [`MAX_WORKERS`]) accepts and serves one connection each at a time.
///   Further connections wait in the kernel's listen queue (128 by the standard library's
///   `listen`) and cost the process nothing; past that the kernel refuses them.
/// - **Request size**: the request line and headers are read into one fixed buffer per worker
///   of [`MAX_REQUEST_HEAD`] bytes, so memory does not grow with what a client sends. A target
///   longer than [`MAX_URL`] bytes gets `414` as soon as it is seen, a head over the buffer or
///   with more than 32 headers `431`, anything that is not HTTP/1.0 or 1.1 `400`.
/// - **No body is read**: a request declaring one (`Content-Length` other than 0, or any
///   `Transfer-Encoding`) gets `413`.
/// - **Time**: reading the head, then waiting for the report, have
///   [`MetricsServerBuilder::request_timeout`] (5 s by default) in all, however slowly the
///   bytes come (a head not read by then gets `408`); writing the response has as long again;
///   then the connection is closed (`Connection: close`, no keep-alive), after reading and
///   discarding for at most a quarter of a second what the client still sends, so it gets the
///   response rather than a reset. A worker is therefore never held longer than twice the
///   timeout and a quarter of a second by one connection, whatever the report function does.
/// - **Rendering**: one thread of its own, the renderer, is the only caller of the report
///   function and of the renderers; workers never call them. When a request wants a format,
///   the renderer makes a new report if the last is older than
///   [`MetricsServerBuilder::refresh_interval`] (1 s by default), then renders the formats
///   asked for that it has not rendered yet: the report function is called, and each format
///   rendered, at most once per interval however many requests come, and only when one
///   comes. Every response within an interval is the same snapshot; one is kept. A request
///   waits for a fresh snapshot until its deadline, then gets the latest it can: the last
///   good snapshot however old (`200`, its age always in `X-Report-Age-Ms`), or, if there has
///   been none yet, `503` with `Retry-After: 1`. A report function that panics leaves the
///   previous snapshot in place; with none, the request gets `500`. Requests that need no
///   report (`404`, `405`, `413`, `414`, `431`, `400`) never wait for the renderer.
///
/// So a slow or hostile client occupies at most one worker for a bounded time and a fixed
/// amount of memory, and never touches a cache: the report function runs on the renderer, at
/// most once per interval, and a slow or stuck one costs requests their deadline, not a
/// worker for good. What it cannot prevent: as many clients as there are workers, each
/// holding its connection for the whole timeout (or waiting for a report function that does
/// not return), delay everyone else by up to that timeout per round (a pool of blocking
/// threads does not multiplex); and connections beyond the kernel's queue are refused. Behind
/// a reverse proxy or with a firewall rule to the scraper, neither matters; the endpoint binds
/// to loopback unless told otherwise.
///
/// # Why not a server crate
///
/// The HTTP request head is parsed by `httparse` (hyper's parser). The connection handling is
/// ours because the small blocking servers (`tiny_http` 0.12) read each header line into an
/// unbounded buffer, set no socket timeouts, start a thread per connection, and let none of
/// that be configured, so a client could grow the process's memory and threads at will.
///
/// # Stopping
///
/// Dropping the [`MetricsServer`] (or [`MetricsServer::stop`]) stops accepting, wakes the
/// workers (one waiting for a report answers at once, with the last snapshot or `503`) and the
/// renderer, and waits for the workers for at most twice the request timeout and a second,
/// which is longer than a worker can be held: the listening socket is closed when the last
/// worker ends, so the port is free when the drop returns (unless the system stalls a thread
/// for most of a second). It then waits for the renderer for at most the request timeout
/// more. A renderer still inside the application's report function cannot be stopped or
/// joined: it is detached, holds no socket, and ends as soon as that function returns,
/// without calling it again.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use reporter::{MetricsServer, Report, ReportKind};
///
/// let server = MetricsServer::builder()
///     .address("127.0.0.1:0") // any free port; the default is 127.0.0.1:9898
///     .report(|| Report::new(ReportKind::Summary, "demo", 0))
///     .start()?;
///
/// let mut client = std::net::TcpStream::connect(server.local_addr())?;
/// client.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
/// let mut response = String::new();
/// client.read_to_string(&mut response)?;
/// assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
///
/// drop(server); // stops it
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MetricsServer {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    /// Disconnects when every worker has ended (each holds a sender).
    ended: mpsc::Receiver<()>,
    renderer: Option<JoinHandle<()>>,
    /// Disconnects when the renderer has ended (it holds the sender).
    renderer_ended: mpsc::Receiver<()>,
}

impl fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsServer")
            .field("local_addr", &self.local_addr)
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

impl MetricsServer {
    /// A builder, with the default address ([`DEFAULT_ADDRESS`]), 4 workers, a 5 s request
    /// timeout and a 1 s refresh interval.
    pub fn builder() -> MetricsServerBuilder {
        MetricsServerBuilder {
            address: DEFAULT_ADDRESS.to_owned(),
            report: None,
            html: HtmlOptions::default(),
            workers: DEFAULT_WORKERS,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
        }
    }

    /// The address it listens on (with the port the system chose, if port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the server, as dropping it does.
    pub fn stop(self) {}
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Taking the lock orders the flag before the wait of anyone who checked it under the
        // lock: the renderer waiting for work and the workers waiting for it all wake.
        drop(self.shared.lock());
        self.shared.wanted.notify_all();
        self.shared.rendered.notify_all();
        // A worker blocked in `accept` wakes for a connection: one for each. A worker busy
        // with a client sees the flag when it is done.
        let wake = loopback_of(self.local_addr);
        for _ in &self.workers {
            let _ = TcpStream::connect_timeout(&wake, Duration::from_millis(200));
        }
        let deadline = Instant::now() + self.shared.request_timeout * 2 + Duration::from_secs(1);
        wait_for_disconnect(&self.ended, deadline);
        for worker in self.workers.drain(..) {
            if worker.is_finished() {
                let _ = worker.join();
            }
            // Otherwise it is detached, and ends within its request's bounds.
        }
        if let Some(renderer) = self.renderer.take() {
            // Idle, it has ended already; rendering, it ends with its round; inside a report
            // function that does not return, it is detached (it holds no socket).
            let renderer_deadline = deadline.min(Instant::now() + self.shared.request_timeout);
            wait_for_disconnect(&self.renderer_ended, renderer_deadline);
            if renderer.is_finished() {
                let _ = renderer.join();
            }
        }
    }
}

/// Waits until every sender of `ended` is gone, or `deadline`.
fn wait_for_disconnect(ended: &mpsc::Receiver<()>, deadline: Instant) {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match ended.recv_timeout(left) {
            Ok(()) => {}
            Err(RecvTimeoutError::Disconnected | RecvTimeoutError::Timeout) => return,
        }
    }
}

/// Configures and starts a [`MetricsServer`]; from [`MetricsServer::builder`].
pub struct MetricsServerBuilder {
    address: String,
    report: Option<ReportFn>,
    html: HtmlOptions,
    workers: usize,
    request_timeout: Duration,
    refresh_interval: Duration,
}

impl fmt::Debug for MetricsServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsServerBuilder")
            .field("address", &self.address)
            .field("report", &self.report.as_ref().map(|_| "Fn() -> Report"))
            .field("html", &self.html)
            .field("workers", &self.workers)
            .field("request_timeout", &self.request_timeout)
            .field("refresh_interval", &self.refresh_interval)
            .finish()
    }
}

impl MetricsServerBuilder {
    /// Where to listen, as `host:port` (default [`DEFAULT_ADDRESS`], loopback only; port 0
    /// picks a free port). Listening on all interfaces (`0.0.0.0:9898`) exposes the report to
    /// the network: do it on purpose.
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = address.into();
        self
    }

    /// The function that makes the report to serve; called on the server's renderer thread,
    /// when a request wants a report and the last one is at least
    /// [`refresh_interval`](Self::refresh_interval) old. However long it takes, requests wait
    /// for it only until their deadline, then get the last report (or `503` before the first).
    /// A panic in it keeps the last report; with none yet, the request gets `500`.
    pub fn report<F>(self, report: F) -> Self
    where
        F: Fn() -> Report + Send + Sync + 'static,
    {
        self.shared_report(Arc::new(report))
    }

    /// As [`report`](Self::report), for a function already shared.
    pub fn shared_report(mut self, report: ReportFn) -> Self {
        self.report = Some(report);
        self
    }

    /// How `/report.html` is rendered (default: [`HtmlOptions::default`]).
    pub fn html_options(mut self, options: HtmlOptions) -> Self {
        self.html = options;
        self
    }

    /// How many connections are served at once, each by a thread of its own (default 4;
    /// between 1 and [`MAX_WORKERS`]).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.clamp(1, MAX_WORKERS);
        self
    }

    /// The time allowed to read a request's head and wait for the report, and again to write
    /// its response (default 5 s; at least 10 ms).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// How long one report is served before the next is made (default 1 s); zero makes one
    /// for every request.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Listens and starts the workers and the renderer.
    ///
    /// # Errors
    ///
    /// [`ServerError::NoReport`] without [`report`](Self::report), [`ServerError::Bind`]
    /// when the address cannot be listened on, [`ServerError::Spawn`] when the system
    /// refuses a thread.
    pub fn start(self) -> Result<MetricsServer, ServerError> {
        let report = self.report.ok_or(ServerError::NoReport)?;
        let bind_error = |source| ServerError::Bind {
            address: self.address.clone(),
            source,
        };
        let listener = TcpListener::bind(&self.address).map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let shared = Arc::new(Shared {
            stopping: AtomicBool::new(false),
            report,
            html: self.html,
            request_timeout: self.request_timeout,
            refresh_interval: self.refresh_interval,
            state: Mutex::new(State::default()),
            wanted: Condvar::new(),
            rendered: Condvar::new(),
        });
        let (ended_tx, ended) = mpsc::channel();
        let (renderer_ended_tx, renderer_ended) = mpsc::channel::<()>();
        // Built first, so that an error below stops the threads already started.
        let mut server = MetricsServer {
            local_addr,
            shared: Arc::clone(&shared),
            workers: Vec::with_capacity(self.workers),
            ended,
            renderer: None,
            renderer_ended,
        };
        let renderer = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("metrics-renderer".to_owned())
                .spawn(move || {
                    run_renderer(&shared);
                    drop(renderer_ended_tx);
                })
        };
        let spawned = renderer.and_then(|renderer| {
            server.renderer = Some(renderer);
            (0..self.workers).try_for_each(|worker_idx| {
                let listener = listener.try_clone()?;
                let shared = Arc::clone(&shared);
                let ended_tx = ended_tx.clone();
                let worker = std::thread::Builder::new()
                    .name(format!("metrics-server-{worker_idx}"))
                    .spawn(move || {
                        run_worker(&listener, &shared);
                        // Closed before the end is signalled, so the port is free by then.
                        drop(listener);
                        drop(ended_tx);
                    })?;
                server.workers.push(worker);
                Ok(())
            })
        });
        // Only the workers hold senders now, so `ended` disconnects when they have all ended.
        drop(ended_tx);
        // On an error, dropping `server` stops the threads already started.
        spawned.map_err(ServerError::Spawn)?;
        Ok(server)
    }
}

/// What the workers and the renderer share.
struct Shared {
    /// Set once, when the server is dropped.
    stopping: AtomicBool,
    report: ReportFn,
    html: HtmlOptions,
    request_timeout: Duration,
    refresh_interval: Duration,
    /// Held only to read or change [`State`], never while the report function or a renderer
    /// runs.
    state: Mutex<State>,
    /// Wakes the renderer: a format is wanted, or the server stops.
    wanted: Condvar,
    /// Wakes the workers waiting for the renderer: it ended a round, or the server stops.
    rendered: Condvar,
}

/// The snapshot and what requests want of the renderer.
#[derive(Default)]
struct State {
    /// The last good report and the formats rendered from it so far.
    snapshot: Option<Snapshot>,
    /// The formats asked for since the renderer last started a round.
    wanted: [bool; 3],
    /// Rounds the renderer has started, and ended. A round takes what is wanted when it
    /// starts, so what is asked for while `started` is `n` is done when `ended` reaches `n + 1`.
    started: u64,
    ended: u64,
}

/// A report and the formats rendered from it so far.
struct Snapshot {
    /// When the report function was called for it.
    taken: Instant,
    report: Arc<Report>,
    bodies: [Option<Arc<[u8]>>; 3],
}

/// What a worker gets for a report endpoint.
enum Lookup {
    /// A body, and how old the report it shows is.
    Body(Arc<[u8]>, Duration),
    /// The renderer tried and has no body: the report function (or the renderer) panicked,
    /// and no earlier report has this format.
    Failed,
    /// The deadline came first, and no earlier report has this format.
    NotReady,
}

/// The three things served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Metrics,
    Json,
    Html,
}

impl Endpoint {
    const ALL: [Endpoint; 3] = [Endpoint::Metrics, Endpoint::Json, Endpoint::Html];

    fn of_path(path: &str) -> Option<Self> {
        match path {
            "/metrics" => Some(Endpoint::Metrics),
            "/report.json" => Some(Endpoint::Json),
            "/report.html" => Some(Endpoint::Html),
            _ => None,
        }
    }

    fn idx(self) -> usize {
        match self {
            Endpoint::Metrics => 0,
            Endpoint::Json => 1,
            Endpoint::Html => 2,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Endpoint::Metrics => PROMETHEUS_CONTENT_TYPE,
            Endpoint::Json => "application/json",
            Endpoint::Html => "text/html; charset=utf-8",
        }
    }

    fn render(self, report: &Report, html: &HtmlOptions) -> String {
        match self {
            Endpoint::Metrics => crate::to_prometheus(report),
            Endpoint::Json => crate::to_json_compact(report),
            Endpoint::Html => crate::to_html(report, html),
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// The body for `endpoint`: from the current snapshot if it is fresh, else from the one
    /// the renderer makes for this request, waited for until `deadline`; past it (or when the
    /// server stops), from the last snapshot however old. Never calls the report function.
    fn body(&self, endpoint: Endpoint, deadline: Instant) -> Lookup {
        let idx = endpoint.idx();
        let mut state = self.lock();
        // The round of the renderer that does what this request asked for, once it has asked.
        let mut round = None;
        loop {
            let out_of_time = self.stopping() || Instant::now() >= deadline;
            let round_over = round.is_some_and(|round| state.ended >= round);
            if let Some(snapshot) = &state.snapshot {
                if let Some(body) = &snapshot.bodies[idx] {
                    let age = snapshot.taken.elapsed();
                    if age < self.refresh_interval || round_over || out_of_time {
                        return Lookup::Body(Arc::clone(body), age);
                    }
                }
            }
            if round_over {
                return Lookup::Failed;
            }
            if round.is_none() && !self.stopping() {
                // Asked even when out of time, so that the next request may find it made.
                state.wanted[idx] = true;
                round = Some(state.started + 1);
                self.wanted.notify_one();
            }
            if out_of_time {
                return Lookup::NotReady;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            state = self
                .rendered
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Renders `endpoint` from the current snapshot unless it has been already.
    fn render_missing(&self, endpoint: Endpoint) {
        let idx = endpoint.idx();
        let report = match &self.lock().snapshot {
            Some(snapshot) if snapshot.bodies[idx].is_none() => Arc::clone(&snapshot.report),
            _ => return,
        };
        // A panic leaves the format missing: the requests waiting for it get `500`.
        let Ok(text) = catch_unwind(AssertUnwindSafe(|| endpoint.render(&report, &self.html)))
        else {
            return;
        };
        // Only the renderer replaces the snapshot, so it is still the one rendered from.
        if let Some(snapshot) = &mut self.lock().snapshot {
            snapshot.bodies[idx] = Some(Arc::from(text.into_bytes()));
        }
    }
}

/// The renderer: the only caller of the report function and the renderers. Each round takes
/// the formats wanted, makes a new report if the last is at least the refresh interval old,
/// renders the wanted formats the snapshot lacks, and wakes the waiting workers.
fn run_renderer(shared: &Shared) {
    loop {
        let mut state = shared.lock();
        while !shared.stopping() && !state.wanted.contains(&true) {
            state = shared
                .wanted
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if shared.stopping() {
            return;
        }
        let wanted = std::mem::take(&mut state.wanted);
        state.started += 1;
        let stale = state
            .snapshot
            .as_ref()
            .is_none_or(|snapshot| snapshot.taken.elapsed() >= shared.refresh_interval);
        drop(state);
        if stale {
            let taken = Instant::now();
            // A panic keeps the previous snapshot.
            if let Ok(report) = catch_unwind(AssertUnwindSafe(|| (shared.report)())) {
                shared.lock().snapshot = Some(Snapshot {
                    taken,
                    report: Arc::new(report),
                    bodies: Default::default(),
                });
            }
            // Stopped while the application's function ran: do no more for it.
            if shared.stopping() {
                return;
            }
        }
        for endpoint in Endpoint::ALL {
            if wanted[endpoint.idx()] {
                shared.render_missing(endpoint);
            }
        }
        shared.lock().ended += 1;
        shared.rendered.notify_all();
    }
}

/// Accepts and serves connections one at a time until the server stops.
fn run_worker(listener: &TcpListener, shared: &Shared) {
    // The one buffer this worker reads requests into.
    let mut buf = vec![0_u8; MAX_REQUEST_HEAD].into_boxed_slice();
    while !shared.stopping.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                if shared.stopping.load(Ordering::SeqCst) {
                    break;
                }
                serve(stream, shared, &mut buf);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                ) => {}
            // Out of file descriptors or the like: wait instead of spinning.
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A response, before it is written.
struct Response {
    status: u16,
    content_type: &'static str,
    body: Arc<[u8]>,
    /// Send the headers only (`HEAD`).
    head_only: bool,
    /// Whole header lines, each ending in CRLF.
    extra_headers: Cow<'static, str>,
}

impl Response {
    fn error(status: u16, message: &'static str) -> Self {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Arc::from(message.as_bytes()),
            head_only: false,
            extra_headers: Cow::Borrowed(""),
        }
    }
}

/// Why a request head could not be read.
#[derive(Debug, PartialEq, Eq)]
enum HeadError {
    /// The client closed or reset the connection before a whole head.
    Closed,
    TimedOut,
    UrlTooLong,
    TooLarge,
    Malformed,
}

/// Serves one connection: one request, one response, then closes it.
fn serve(mut stream: TcpStream, shared: &Shared, buf: &mut [u8]) {
    // For reading the head and then waiting for the report.
    let read_deadline = Instant::now() + shared.request_timeout;
    let response = match read_head(&mut stream, buf, read_deadline) {
        Ok(head_len) => respond(&buf[..head_len], shared, read_deadline),
        Err(HeadError::Closed) => return,
        Err(HeadError::TimedOut) => Response::error(408, "request timeout\n"),
        Err(HeadError::UrlTooLong) => Response::error(414, "the request target is too long\n"),
        Err(HeadError::TooLarge) => Response::error(431, "the request head is too large\n"),
        Err(HeadError::Malformed) => Response::error(400, "malformed request\n"),
    };
    let write_deadline = Instant::now() + shared.request_timeout;
    if write_response(&mut stream, &response, write_deadline).is_ok() {
        let _ = stream.shutdown(Shutdown::Write);
        linger(&mut stream, buf);
    }
}

/// Reads a request head into `buf`, returning its length.
fn read_head(
    stream: &mut TcpStream,
    buf: &mut [u8],
    deadline: Instant,
) -> Result<usize, HeadError> {
    let mut len = 0;
    loop {
        if len == buf.len() {
            return Err(HeadError::TooLarge);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HeadError::TimedOut);
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|_| HeadError::Closed)?;
        let n_read = match stream.read(&mut buf[len..]) {
            Ok(0) => return Err(HeadError::Closed),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(HeadError::TimedOut);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return Err(HeadError::Closed),
        };
        let new = &buf[len..len + n_read];
        len += n_read;
        check_target_length(&buf[..len])?;
        // The head can only have ended in a line that ended now.
        if !new.contains(&b'\n') {
            continue;
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match httparse::Request::new(&mut headers).parse(&buf[..len]) {
            Ok(httparse::Status::Complete(head_len)) => return Ok(head_len),
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
            Err(_) => return Err(HeadError::Malformed),
        }
    }
}

/// Fails as soon as the request line so far has a target longer than [`MAX_URL`].
fn check_target_length(head: &[u8]) -> Result<(), HeadError> {
    // Empty lines before the request line are allowed (RFC 9112, 2.2).
    let start = head
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(head.len());
    let line = &head[start..];
    let line = match line.iter().position(|&b| b == b'\n') {
        Some(end) => &line[..end],
        None => line,
    };
    let Some(method_end) = line.iter().position(|&b| b == b' ') else {
        // No method is this long: it is not HTTP.
        return if line.len() > 32 {
            Err(HeadError::Malformed)
        } else {
            Ok(())
        };
    };
    let target = &line[method_end + 1..];
    let target_len = target
        .iter()
        .position(|&b| matches!(b, b' ' | b'\r'))
        .unwrap_or(target.len());
    if target_len > MAX_URL {
        return Err(HeadError::UrlTooLong);
    }
    Ok(())
}

/// The response to a complete request head; the report is waited for until `deadline`.
fn respond(head: &[u8], shared: &Shared, deadline: Instant) -> Response {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    if !matches!(request.parse(head), Ok(httparse::Status::Complete(_))) {
        return Response::error(400, "malformed request\n");
    }
    let method = request.method.unwrap_or_default();
    let target = request.path.unwrap_or_default();
    let path = target.split_once('?').map_or(target, |(path, _query)| path);
    let Some(endpoint) = Endpoint::of_path(path) else {
        return Response::error(
            404,
            "not found: this server has /metrics, /report.json and /report.html\n",
        );
    };
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => {
            let mut response = Response::error(405, "method not allowed: use GET\n");
            response.extra_headers = Cow::Borrowed("Allow: GET, HEAD\r\n");
            return response;
        }
    };
    match declares_body(request.headers) {
        Ok(false) => {}
        Ok(true) => return Response::error(413, "a request body is not accepted\n"),
        Err(()) => return Response::error(400, "malformed Content-Length\n"),
    }
    let (body, age) = match shared.body(endpoint, deadline) {
        Lookup::Body(body, age) => (body, age),
        Lookup::Failed => return Response::error(500, "the report could not be made\n"),
        Lookup::NotReady => {
            let mut response = Response::error(503, "the report is not ready yet: try again\n");
            response.extra_headers = Cow::Borrowed("Retry-After: 1\r\n");
            return response;
        }
    };
    let policy = match endpoint {
        Endpoint::Html => {
            "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n"
        }
        Endpoint::Metrics | Endpoint::Json => "",
    };
    Response {
        status: 200,
        content_type: endpoint.content_type(),
        body,
        head_only,
        extra_headers: Cow::Owned(format!("X-Report-Age-Ms: {}\r\n{policy}", age.as_millis())),
    }
}

/// Whether the headers announce a body: a `Content-Length` other than 0 or any
/// `Transfer-Encoding`; `Err` for a `Content-Length` that is not a number.
fn declares_body(headers: &[httparse::Header<'_>]) -> Result<bool, ()> {
    let mut body = false;
    for header in headers {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            body = true;
        } else if header.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value).map_err(|_| ())?;
            let length: u64 = value.trim().parse().map_err(|_| ())?;
            body |= length > 0;
        }
    }
    Ok(body)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// Writes `response` before `deadline`, in chunks so that a slow reader cannot hold the
/// worker past it.
fn write_response(
    stream: &mut TcpStream,
    response: &Response,
    deadline: Instant,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n{}\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len(),
        response.extra_headers,
    );
    write_before(stream, head.as_bytes(), deadline)?;
    if !response.head_only {
        write_before(stream, &response.body, deadline)?;
    }
    Ok(())
}

fn write_before(stream: &mut TcpStream, mut bytes: &[u8], deadline: Instant) -> io::Result<()> {
    while !bytes.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        stream.set_write_timeout(Some(left))?;
        let chunk = &bytes[..bytes.len().min(WRITE_CHUNK)];
        match stream.write(chunk) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads and drops what the client still sends, briefly, so that closing does not reset the
/// connection before the client has read the response.
fn linger(stream: &mut TcpStream, buf: &mut [u8]) {
    let deadline = Instant::now() + LINGER;
    let mut n_dropped = 0;
    while n_dropped < MAX_LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n_dropped += n,
        }
    }
}

/// `addr` with an unspecified IP (`0.0.0.0`, `::`) replaced by loopback, to connect to.
fn loopback_of(addr: SocketAddr) -> SocketAddr {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

#[cfg(test)]
mod tests;

//! The memory manager: one background thread that ticks probe → pressure → sizing → reclaim.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cache_traits::{
    Clock, ManagedCache, MemoryProbe, PressureLevel, Reclaim, ReportSource, SystemClock,
};
use crossbeam_channel::Receiver;
use pressure::{
    LevelChanges, MonitorBuilder, Notice, Notifications, PressureMonitor, Subscribers, Waker,
};
use sizing::{Bounds, SharedBudget, Sizer, SizerBuilder};

#[cfg(feature = "leak-detector")]
mod leaks;
mod report;
mod view;

#[cfg(feature = "leak-detector")]
pub use leaks::ProfileFigures;

pub use view::{CacheView, ManagerEvent, MemoryView, Response, ResponseTrigger};

/// Why a [`MemoryManager`] could not be built.
#[non_exhaustive]
#[derive(Debug)]
pub enum ManagerError {
    /// The tick was zero.
    ZeroTick,
    /// No cache was registered.
    NoCaches,
    /// The pressure settings were rejected.
    Pressure(pressure::BuildError),
    /// The sizing settings were rejected.
    Sizing(sizing::BuildError),
    /// The background thread could not be started.
    Spawn(std::io::Error),
}

impl fmt::Display for ManagerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManagerError::ZeroTick => {
                f.write_str("the manager's tick is 0: give a tick of at least 1 ms (1 s is usual)")
            }
            ManagerError::NoCaches => {
                f.write_str("no cache was registered: add one with `cache` or `shared_budget`")
            }
            ManagerError::Pressure(e) => write!(f, "{e}"),
            ManagerError::Sizing(e) => write!(f, "{e}"),
            ManagerError::Spawn(e) => write!(f, "could not start the manager's thread: {e}"),
        }
    }
}

impl std::error::Error for ManagerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ManagerError::Pressure(e) => Some(e),
            ManagerError::Sizing(e) => Some(e),
            ManagerError::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

type Release = Arc<dyn Fn(PressureLevel) + Send + Sync>;

/// A cache or shared budget as registered, for the sizer.
enum Registration {
    Cache(Arc<dyn ManagedCache>, Bounds, f64),
    Budget(SharedBudget),
}

/// Builds a [`MemoryManager`].
///
/// Register every cache (any [`ManagedCache`]: an application's own memory consumers too) with
/// its bounds, the reclaimers whose allocator purges should follow the pressure level, and
/// optionally a probe, a ceiling and settings for the pressure monitor and the sizer.
pub struct MemoryManagerBuilder {
    sizer: SizerBuilder,
    monitor: MonitorBuilder,
    /// Every cache with its bounds, for relief.
    caches: Vec<(Arc<dyn ManagedCache>, Bounds)>,
    /// What the sizer is given in `build`, after the settings of [`sizing`](Self::sizing).
    registrations: Vec<Registration>,
    releasers: Vec<Release>,
    probe: Option<Arc<dyn MemoryProbe>>,
    clock: Arc<dyn Clock>,
    ceiling: Option<u64>,
    tick: Duration,
    notifications: bool,
    name: String,
    #[cfg(feature = "reporter")]
    reports: Option<crate::Reports>,
    #[cfg(feature = "reporter")]
    dashboard: Option<(PathBuf, Duration)>,
    #[cfg(feature = "leak-detector")]
    leak_detector: Option<Arc<leak_detector::LeakDetector>>,
    #[cfg(feature = "leak-detector")]
    profiles: Vec<Arc<dyn ProfileFigures>>,
}

impl fmt::Debug for MemoryManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryManagerBuilder")
            .field("caches", &self.caches.len())
            .field("ceiling", &self.ceiling)
            .field("tick", &self.tick)
            .field("notifications", &self.notifications)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryManagerBuilder {
    fn default() -> Self {
        Self {
            sizer: Sizer::builder(),
            monitor: PressureMonitor::builder(),
            caches: Vec::new(),
            registrations: Vec::new(),
            releasers: Vec::new(),
            probe: None,
            clock: Arc::new(SystemClock),
            ceiling: None,
            tick: Duration::from_secs(1),
            notifications: true,
            name: "qc-memory".to_owned(),
            #[cfg(feature = "reporter")]
            reports: None,
            #[cfg(feature = "reporter")]
            dashboard: None,
            #[cfg(feature = "leak-detector")]
            leak_detector: None,
            #[cfg(feature = "leak-detector")]
            profiles: Vec::new(),
        }
    }
}

impl MemoryManagerBuilder {
    /// Registers a cache, sized between `bounds.min` and `bounds.max` with weight 1 among the
    /// other top-level caches; relief never shrinks it below `bounds.min`.
    pub fn cache(self, cache: Arc<dyn ManagedCache>, bounds: Bounds) -> Self {
        self.weighted_cache(cache, bounds, 1.0)
    }

    /// Registers a cache with a weight: the caches' total is split in proportion to weights.
    pub fn weighted_cache(
        mut self,
        cache: Arc<dyn ManagedCache>,
        bounds: Bounds,
        weight: f64,
    ) -> Self {
        self.registrations
            .push(Registration::Cache(cache.clone(), bounds, weight));
        self.caches.push((cache, bounds));
        self
    }

    /// Registers several caches under one shared budget (see [`SharedBudget`]); each cache is
    /// relieved like a single one, down to its own minimum.
    pub fn shared_budget(mut self, budget: SharedBudget) -> Self {
        for (cache, bounds) in budget.members() {
            self.caches.push((cache, bounds));
        }
        self.registrations.push(Registration::Budget(budget));
        self
    }

    /// Lets `reclaimer` return freed pages when the level rises: a decay from `Elevated`, a
    /// purge at `Critical` (see `gc_coord`).
    pub fn reclaimer<T: 'static, R>(mut self, reclaimer: Arc<R>) -> Self
    where
        R: Reclaim<T> + ?Sized + 'static,
    {
        self.releasers
            .push(Arc::new(move |level| reclaimer.release_memory(level)));
        self
    }

    /// Anything else to call with the level when memory should be returned.
    pub fn releaser(mut self, release: impl Fn(PressureLevel) + Send + Sync + 'static) -> Self {
        self.releasers.push(Arc::new(release));
        self
    }

    /// The source of memory samples (default: [`memory_probe::Probe::new`]).
    pub fn probe(mut self, probe: Arc<dyn MemoryProbe>) -> Self {
        self.probe = Some(probe);
        self
    }

    /// A ceiling for the process's resident memory, judged like a cgroup limit, for processes
    /// without a container limit (default: none).
    pub fn ceiling(mut self, bytes: u64) -> Self {
        self.ceiling = Some(bytes);
        self
    }

    /// The time between ticks (default 1 s); a kernel notification ticks at once.
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    /// Whether to register the kernel's notifications (default on): PSI triggers, and on
    /// cgroup v1 usage thresholds at the pressure marks and `memory.pressure_level`.
    pub fn notifications(mut self, on: bool) -> Self {
        self.notifications = on;
        self
    }

    /// Settings for the pressure monitor (thresholds, hold, shrink fractions; a ceiling set
    /// there counts as the manager's). Caches, the ceiling and releasers registered on the
    /// manager are added to it.
    pub fn pressure(mut self, monitor: MonitorBuilder) -> Self {
        self.monitor = monitor;
        self
    }

    /// Settings for the sizer (goal, reserve, steps, cool-down), in any order with the caches:
    /// caches and shared budgets registered on the manager are added to it at `build`. Caches
    /// registered on the `SizerBuilder` directly are sized but not relieved.
    pub fn sizing(mut self, sizer: SizerBuilder) -> Self {
        self.sizer = sizer;
        self
    }

    /// The clock the monitor's hold and the sizer's cool-down read (default: the system's).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Records `reports`' history on every tick (add the manager's own
    /// [`report_source`](MemoryManager::report_source) to it after `build`).
    #[cfg(feature = "reporter")]
    pub fn reports(mut self, reports: crate::Reports) -> Self {
        self.reports = Some(reports);
        self
    }

    /// Writes `report.html` (reloading itself) and `report.json` into `dir` every `every`, by
    /// atomic replace, from the hub given to [`reports`](Self::reports).
    #[cfg(feature = "reporter")]
    pub fn dashboard(mut self, dir: impl Into<PathBuf>, every: Duration) -> Self {
        self.dashboard = Some((dir.into(), every));
        self
    }

    /// Feeds `detector` one observation a second from the tick: the heap, the resident set, the
    /// tightest limit, and each cache's charged, evicted and budgeted bytes (with the real and
    /// unread bytes of the caches given a [`profile`](Self::profile)). Add the detector to the
    /// reports as a source of its own.
    #[cfg(feature = "leak-detector")]
    pub fn leak_detector(mut self, detector: Arc<leak_detector::LeakDetector>) -> Self {
        self.leak_detector = Some(detector);
        self
    }

    /// A profile of one of the caches (matched by name), whose estimates of real and unread
    /// bytes go to the [`leak_detector`](Self::leak_detector): a `profiler::Profiler` is one.
    #[cfg(feature = "leak-detector")]
    pub fn profile(mut self, profile: Arc<dyn ProfileFigures>) -> Self {
        self.profiles.push(profile);
        self
    }

    /// The background thread's name (default `qc-memory`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Checks the configuration and starts the background thread.
    ///
    /// # Errors
    ///
    /// A [`ManagerError`] that says what to change, or that the thread could not start.
    pub fn build(self) -> Result<MemoryManager, ManagerError> {
        if self.tick.is_zero() {
            return Err(ManagerError::ZeroTick);
        }
        if self.caches.is_empty() {
            return Err(ManagerError::NoCaches);
        }
        let mut monitor = self.monitor;
        if let Some(ceiling) = self.ceiling {
            monitor = monitor.ceiling(ceiling);
        }
        for (cache, bounds) in &self.caches {
            monitor = monitor.cache(cache.clone(), bounds.min);
        }
        for release in &self.releasers {
            let release = release.clone();
            monitor = monitor.releaser(move |level| release(level));
        }
        let monitor = monitor.build().map_err(ManagerError::Pressure)?;
        let mut sizer = self.sizer;
        for registration in self.registrations {
            sizer = match registration {
                Registration::Cache(cache, bounds, weight) => sizer.cache(cache, bounds, weight),
                Registration::Budget(budget) => sizer.shared_budget(budget),
            };
        }
        let sizer = sizer.build().map_err(ManagerError::Sizing)?;
        let ceiling = monitor.ceiling();
        let probe = self.probe.unwrap_or_else(default_probe);
        let notes = Notes::new(self.notifications).map_err(ManagerError::Spawn)?;
        let shared = Arc::new(Shared {
            level: AtomicU8::new(0),
            stop: AtomicBool::new(false),
            view: Mutex::new(Arc::new(MemoryView::default())),
            subscribers: Mutex::new(Subscribers::default()),
            waker: notes.set.waker(),
            requested: AtomicU64::new(0),
            served: AtomicU64::new(0),
            thread: std::sync::OnceLock::new(),
        });
        let worker = Worker {
            shared: shared.clone(),
            probe,
            clock: self.clock,
            monitor,
            sizer,
            releasers: self.releasers,
            caches: self.caches.into_iter().map(|(c, _)| c).collect(),
            ceiling,
            tick: self.tick,
            notes,
            history: view::History::default(),
            #[cfg(feature = "reporter")]
            reports: self.reports.clone(),
            #[cfg(feature = "leak-detector")]
            leaks: self
                .leak_detector
                .map(|detector| leaks::LeakFeed::new(detector, self.profiles)),
        };
        let mut threads = vec![spawn(self.name, move || worker.run())?];
        // The dashboard renders on a thread of its own, so a large report never delays a tick.
        #[cfg(feature = "reporter")]
        if let (Some(reports), Some((dir, every))) = (self.reports, self.dashboard) {
            let stop = shared.clone();
            threads.push(spawn("qc-dashboard".to_owned(), move || {
                write_dashboards(&reports, &dir, every, &stop.stop);
            })?);
        }
        Ok(MemoryManager {
            shared: shared.clone(),
            _owner: Arc::new(Owner {
                shared,
                threads: Mutex::new(threads),
            }),
        })
    }
}

/// A thread named `name` running `f`, with a channel that disconnects when it ends.
fn spawn(
    name: String,
    f: impl FnOnce() + Send + 'static,
) -> Result<(JoinHandle<()>, Receiver<()>), ManagerError> {
    let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
    let thread = std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let _done = done_tx;
            f();
        })
        .map_err(ManagerError::Spawn)?;
    Ok((thread, done))
}

/// Rewrites the dashboard every `every` until `stop` is set.
#[cfg(feature = "reporter")]
fn write_dashboards(
    reports: &crate::Reports,
    dir: &std::path::Path,
    every: Duration,
    stop: &AtomicBool,
) {
    let refresh = u32::try_from(every.as_secs().max(1)).unwrap_or(u32::MAX);
    loop {
        let started = Instant::now();
        match catch_unwind(AssertUnwindSafe(|| reports.write_dashboard(dir, refresh))) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(dir = %dir.display(), error = %e, "could not write the dashboard");
            }
            Err(_) => tracing::warn!("rendering the dashboard panicked"),
        }
        // Sleep out the interval in short steps, to notice a stop.
        while started.elapsed() < every {
            if stop.load(Ordering::Acquire) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50).min(every));
        }
        if stop.load(Ordering::Acquire) {
            return;
        }
    }
}

#[cfg(feature = "memory-probe")]
fn default_probe() -> Arc<dyn MemoryProbe> {
    Arc::new(memory_probe::Probe::new())
}

#[cfg(not(feature = "memory-probe"))]
fn default_probe() -> Arc<dyn MemoryProbe> {
    /// Without `memory-probe` every figure is unknown; give a probe to the builder.
    struct Unknown;
    impl MemoryProbe for Unknown {
        fn sample(&self) -> cache_traits::MemorySample {
            cache_traits::MemorySample::default()
        }
    }
    Arc::new(Unknown)
}

/// Keeps the cache stack inside its memory: a background thread that, every tick (1 s by
/// default) and at once on a kernel notification, samples memory, sets the pressure level,
/// relieves the caches under pressure, resizes them, and asks the allocator to return freed
/// pages.
///
/// - Pressure ([`pressure::PressureMonitor`]): levels `Normal`, `Elevated`, `High`,
///   `Critical` from usage of the cgroup limit (or a ceiling), PSI and cgroup events, with
///   hysteresis; at `High` each cache gives up a share of its bytes, at `Critical` more.
/// - Sizing ([`sizing::Sizer`]): each cache's budget from the limit, bounds, weights and shared
///   budgets, smoothed and step-bounded, never grown while the level is `Elevated` or worse.
/// - Reclaim: the registered reclaimers decay or purge the allocator's freed pages.
///
/// The thread holds no lock that a cache's `get` or `insert` takes; it calls
/// [`ManagedCache`] methods only. Clones share the thread; it stops when the last clone
/// drops.
///
/// # Examples
///
/// ```
/// use query_cache::{Bounds, Cache, ManagedCache, MemoryManager};
/// use std::sync::Arc;
///
/// let cache: Arc<Cache<u64, Vec<u8>>> = Arc::new(Cache::builder().max_bytes(64 << 20).build()?);
/// let manager = MemoryManager::builder()
///     .cache(cache.clone(), Bounds::new(4 << 20, 64 << 20))
///     .build()?;
/// manager.tick_now();
/// let view = manager.view();
/// println!("{view}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MemoryManager {
    shared: Arc<Shared>,
    _owner: Arc<Owner>,
}

impl fmt::Debug for MemoryManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryManager")
            .field("level", &self.level())
            .finish_non_exhaustive()
    }
}

impl MemoryManager {
    /// A builder with the documented defaults.
    pub fn builder() -> MemoryManagerBuilder {
        MemoryManagerBuilder::default()
    }

    /// The current pressure level (one atomic load).
    pub fn level(&self) -> PressureLevel {
        level_from(self.shared.level.load(Ordering::Acquire))
    }

    /// The unified view of memory as of the last tick.
    pub fn view(&self) -> Arc<MemoryView> {
        lock(&self.shared.view).clone()
    }

    /// A channel that receives every later change of level. A subscriber 64 changes behind
    /// misses newer ones; a dropped subscription is forgotten.
    pub fn subscribe(&self) -> LevelChanges {
        lock(&self.shared.subscribers).subscribe()
    }

    /// Asks for a tick now rather than at the next interval, and waits up to one second for a
    /// tick that started after the request to finish. On the manager's own thread (a listener
    /// of an evicting cache) it only asks, and returns at once.
    pub fn tick_now(&self) {
        let ticket = self.shared.requested.fetch_add(1, Ordering::AcqRel) + 1;
        self.shared.waker.wake();
        if self.shared.thread.get() == Some(&std::thread::current().id()) {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.shared.served.load(Ordering::Acquire) < ticket && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The manager as a report source: sections `memory` (the process, host and cgroup, the
    /// limits), `pressure` (level, relief, events, findings) and `sizing` (each cache's budget
    /// and the sizer's decisions), from the last published view. It holds the view only, so
    /// a report hub that keeps it does not keep the manager's thread alive.
    pub fn report_source(&self) -> Arc<dyn ReportSource> {
        Arc::new(report::ManagerSource(self.shared.clone()))
    }

    /// Stops the thread now, as dropping the last handle does, waiting up to 5 s for it.
    ///
    /// A cache or listener that holds a clone of the manager keeps the thread alive (the
    /// thread owns the caches); call this at shutdown to end it anyway. Later calls on any
    /// handle see the last published view and level.
    pub fn shutdown(&self) {
        self._owner.stop();
    }
}

/// What the thread and the handles share.
struct Shared {
    level: AtomicU8,
    stop: AtomicBool,
    view: Mutex<Arc<MemoryView>>,
    subscribers: Mutex<Subscribers>,
    waker: Waker,
    /// Ticks asked for by [`MemoryManager::tick_now`], and the last one a tick served.
    requested: AtomicU64,
    served: AtomicU64,
    /// The manager's thread, set when it starts.
    thread: std::sync::OnceLock<std::thread::ThreadId>,
}

/// Stops and joins the threads when the last handle drops.
struct Owner {
    shared: Arc<Shared>,
    /// The manager's thread (and the dashboard's), each with a channel that disconnects when
    /// it ends.
    threads: Mutex<Vec<(JoinHandle<()>, Receiver<()>)>>,
}

/// How long the last handle's drop waits for a thread: a tick stuck in user code (a cache's
/// `set_capacity` that blocks) must not hang the application's shutdown.
const JOIN_WAIT: Duration = Duration::from_secs(5);

impl Drop for Owner {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Owner {
    fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.waker.wake();
        let threads = std::mem::take(&mut *lock(&self.threads));
        let deadline = Instant::now() + JOIN_WAIT;
        for (thread, done) in threads {
            // A drop on one of our own threads (a listener holding the last handle) cannot
            // join itself.
            if thread.thread().id() == std::thread::current().id() {
                continue;
            }
            match done.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => tracing::error!(
                    thread = thread.thread().name().unwrap_or("?"),
                    "a memory manager thread did not stop within 5 s (a cache or report source blocks?); it is detached"
                ),
                _ => {
                    let _ = thread.join();
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn level_code(level: PressureLevel) -> u8 {
    PressureLevel::ALL
        .iter()
        .position(|&l| l == level)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(0)
}

fn level_from(code: u8) -> PressureLevel {
    PressureLevel::ALL
        .get(usize::from(code))
        .copied()
        .unwrap_or_default()
}

/// The kernel notifications, registered for the limit they were computed from.
struct Notes {
    set: Notifications,
    enabled: bool,
    /// The cgroup v1 limit the usage thresholds were registered for (`Some(None)`: registered
    /// without one).
    registered_for: Option<Option<u64>>,
    sources: Vec<String>,
}

impl Notes {
    fn new(enabled: bool) -> std::io::Result<Self> {
        Ok(Self {
            set: Notifications::new()?,
            enabled,
            registered_for: None,
            sources: Vec::new(),
        })
    }

    /// Registers (again) the kernel sources when the cgroup limit changed.
    fn register(&mut self, thresholds: &pressure::Thresholds, cgroup_limit: Option<u64>) {
        if !self.enabled || self.registered_for == Some(cgroup_limit) {
            return;
        }
        self.registered_for = Some(cgroup_limit);
        self.set.clear_sources();
        self.sources.clear();
        let window = Duration::from_secs(2);
        // 7 % of a 2 s window, PSI's Elevated mark (unprivileged windows are multiples of 2 s).
        let stall = Duration::from_millis(140);
        for path in psi_files() {
            for kind in ["some", "full"] {
                if self.set.psi_trigger(&path, kind, stall, window).is_ok() {
                    self.sources.push(format!("psi {kind} {}", path.display()));
                }
            }
        }
        if let (Some(dir), Some(bytes)) = (cgroup_v1_dir(), cgroup_limit) {
            for mark in thresholds.usage_marks(bytes) {
                if self.set.cgroup_v1_usage(&dir, mark).is_ok() {
                    self.sources.push(format!("cgroup v1 usage {mark} B"));
                }
            }
            if self.set.cgroup_v1_pressure_level(&dir, "medium").is_ok() {
                self.sources
                    .push("cgroup v1 pressure_level medium".to_owned());
            }
        }
        tracing::debug!(sources = ?self.sources, "kernel memory notifications registered");
    }
}

/// The PSI files to put triggers on: the system's, and the v2 cgroup's own.
#[cfg(feature = "memory-probe")]
fn psi_files() -> Vec<PathBuf> {
    let probe = memory_probe::Probe::new();
    let mut files = Vec::new();
    if let Some(path) = probe.pressure_source() {
        files.push(path.to_path_buf());
    }
    if let Some((memory_probe::CgroupVersion::V2, dir)) = probe.cgroup() {
        files.push(dir.join("memory.pressure"));
    }
    files
}

#[cfg(feature = "memory-probe")]
fn cgroup_v1_dir() -> Option<PathBuf> {
    match memory_probe::Probe::new().cgroup() {
        Some((memory_probe::CgroupVersion::V1, dir)) => Some(dir.to_path_buf()),
        _ => None,
    }
}

#[cfg(not(feature = "memory-probe"))]
fn psi_files() -> Vec<PathBuf> {
    vec![PathBuf::from("/proc/pressure/memory")]
}

#[cfg(not(feature = "memory-probe"))]
fn cgroup_v1_dir() -> Option<PathBuf> {
    None
}

/// Everything the background thread owns.
struct Worker {
    shared: Arc<Shared>,
    probe: Arc<dyn MemoryProbe>,
    clock: Arc<dyn Clock>,
    monitor: PressureMonitor,
    sizer: Sizer,
    releasers: Vec<Release>,
    caches: Vec<Arc<dyn ManagedCache>>,
    ceiling: Option<u64>,
    tick: Duration,
    notes: Notes,
    history: view::History,
    #[cfg(feature = "reporter")]
    reports: Option<crate::Reports>,
    #[cfg(feature = "leak-detector")]
    leaks: Option<leaks::LeakFeed>,
}

impl Worker {
    fn run(mut self) {
        let _ = self.shared.thread.set(std::thread::current().id());
        // The least time between two ticks a notification starts: a flood of notifications
        // (a usage hovering at a threshold) must not turn the thread into a busy loop.
        const MIN_GAP: Duration = Duration::from_millis(20);
        let mut next = Instant::now();
        let mut last: Option<Instant> = None;
        let mut notice = Notice::Timeout;
        loop {
            if self.shared.stop.load(Ordering::Acquire) {
                break;
            }
            let now = Instant::now();
            let due = now >= next;
            let early = last.is_some_and(|l| now < l + MIN_GAP);
            // A wait that ended before its time without a notice (a signal) waits again; a
            // notice right after a tick is served MIN_GAP later.
            if !due && (notice == Notice::Timeout || early) {
                let until = if early && notice != Notice::Timeout {
                    next.min(last.map_or(now, |l| l + MIN_GAP))
                } else {
                    next
                };
                let waited = self.notes.set.wait(until.saturating_duration_since(now));
                if waited != Notice::Timeout {
                    notice = waited;
                }
                continue;
            }
            let serving = self.shared.requested.load(Ordering::Acquire);
            if catch_unwind(AssertUnwindSafe(|| self.tick_once(&notice, now))).is_err() {
                tracing::error!("the memory manager's tick panicked; it goes on at the next tick");
            }
            self.shared.served.fetch_max(serving, Ordering::AcqRel);
            last = Some(now);
            if due {
                next += self.tick;
                if next <= now {
                    next = now + self.tick;
                }
            }
            notice = self
                .notes
                .set
                .wait(next.saturating_duration_since(Instant::now()));
        }
    }

    fn tick_once(&mut self, notice: &Notice, woke_at: Instant) {
        let now = self.clock.now_nanos();
        let sample = self.probe.sample();
        let limit = sample.tightest_limit(self.ceiling);
        let sizing_limit = self.sizer.binding_limit(sample.limits(self.ceiling));
        self.notes
            .register(self.monitor.thresholds(), sample.cgroup.max);
        let seen = self.monitor.observe(now, &sample);
        self.shared
            .level
            .store(level_code(seen.level), Ordering::Release);
        if let Some(change) = seen.change {
            lock(&self.shared.subscribers).send(change);
            self.history
                .push(sample.unix_millis, ManagerEvent::Level(change));
        }
        if let Some(relief) = seen.relief {
            self.history
                .push(sample.unix_millis, ManagerEvent::Relief(relief));
            let trigger = if notice.from_kernel() {
                ResponseTrigger::Kernel(notice.clone())
            } else {
                ResponseTrigger::Tick
            };
            self.history.respond(Response {
                trigger,
                elapsed: woke_at.elapsed(),
                freed: relief.freed(),
            });
        }
        for decision in self.sizer.tick(now, sizing_limit, seen.level) {
            self.history
                .push(sample.unix_millis, ManagerEvent::Sizing(decision.clone()));
        }
        if seen.level == PressureLevel::Elevated {
            // High and Critical already asked in the relief.
            for release in &self.releasers {
                let _ = catch_unwind(AssertUnwindSafe(|| release(seen.level)));
            }
        }
        for cache in &self.caches {
            let _ = catch_unwind(AssertUnwindSafe(|| cache.run_maintenance()));
        }
        let view = self.history.view(
            &sample,
            limit,
            sizing_limit,
            &seen,
            &self.sizer,
            &self.notes.sources,
            woke_at.elapsed(),
            notice.from_kernel(),
        );
        *lock(&self.shared.view) = Arc::new(view);
        #[cfg(feature = "leak-detector")]
        if let Some(feed) = &mut self.leaks {
            feed.feed(now, &sample, limit.map(|l| l.bytes), &self.caches);
        }
        #[cfg(feature = "reporter")]
        self.report();
    }

    /// Records the hub's history (at most once a second, the hub's interval).
    #[cfg(feature = "reporter")]
    fn report(&mut self) {
        if let Some(reports) = &self.reports {
            reports.record();
        }
    }
}

#[cfg(test)]
mod tests;

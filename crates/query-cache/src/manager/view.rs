//! The unified view of memory the manager publishes after every tick.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use cache_traits::{MemoryLimit, MemorySample, PressureLevel};
use pressure::{Assessment, LevelChange, Notice, Reading, ReliefAction};
use sizing::{Decision, MemberView, Sizer};

/// How many events and responses the view keeps.
const KEPT: usize = 64;

/// Something the manager did or saw.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub enum ManagerEvent {
    /// The pressure level changed.
    Level(LevelChange),
    /// The caches were shrunk under pressure.
    Relief(ReliefAction),
    /// The sizer changed a cache's budget, or held it.
    Sizing(Decision),
}

/// What started a relief.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseTrigger {
    /// The regular tick.
    Tick,
    /// A kernel notification.
    Kernel(Notice),
}

/// The time from the manager waking (a tick or a notification) to the caches at their
/// reduced target.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// What woke the manager.
    pub trigger: ResponseTrigger,
    /// From waking to the caches shrunk and the allocator asked (sampling included).
    pub elapsed: Duration,
    /// Bytes the caches gave up.
    pub freed: u64,
}

/// One cache in the [`MemoryView`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct CacheView {
    /// The cache's name and what the sizer knows of it: capacity, charged bytes, bounds,
    /// target and utility.
    pub sizing: MemberView,
}

/// One view of memory: the caches, the process, the limit and where it comes from, the level
/// and the latest actions.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryView {
    /// Ticks run so far.
    pub ticks: u64,
    /// The last sample.
    pub sample: MemorySample,
    /// The effective limit for the pressure level (the one closest to being reached, by used
    /// fraction) with its usage.
    pub limit: Option<MemoryLimit>,
    /// The limit the sizer sized against: the one that leaves the caches the least bytes.
    pub sizing_limit: Option<MemoryLimit>,
    /// The level after hysteresis.
    pub level: PressureLevel,
    /// The strongest signal of the last sample.
    pub cause: Option<Reading>,
    /// Every registered cache.
    pub caches: Vec<CacheView>,
    /// The caches' total target on the last tick.
    pub caches_target: Option<u64>,
    /// Recent events, oldest first: the last 64 level changes and relief actions, and the
    /// last 64 sizing decisions.
    pub events: Vec<ManagerEvent>,
    /// When each of `events` happened, in unix milliseconds (the time of its tick's sample).
    pub event_times: Vec<u64>,
    /// Level changes since the manager started.
    pub level_changes: u64,
    /// Relief actions since the manager started: shrinks at High, hard shrinks at Critical.
    pub reliefs: [u64; 2],
    /// Bytes the relief actions freed from the caches, in all.
    pub relief_freed: u64,
    /// Recent relief responses, oldest first (at most 64).
    pub responses: Vec<Response>,
    /// The kernel notifications the manager waits on.
    pub notifications: Vec<String>,
    /// Ticks started by a kernel notification.
    pub kernel_ticks: u64,
    /// How long the last tick took.
    pub last_tick: Duration,
    /// The longest tick so far.
    pub max_tick: Duration,
    /// All ticks together: the thread's working time (divide by `ticks` for the mean).
    pub busy: Duration,
}

impl MemoryView {
    /// The mean time of a tick.
    pub fn mean_tick(&self) -> Duration {
        u32::try_from(self.ticks)
            .ok()
            .filter(|&n| n > 0)
            .map_or(Duration::ZERO, |n| self.busy / n)
    }

    /// Bytes the registered caches are charged for.
    pub fn caches_bytes(&self) -> u64 {
        self.caches.iter().map(|c| c.sizing.weighted_size).sum()
    }

    /// The caches' total capacity.
    pub fn caches_capacity(&self) -> u64 {
        self.caches.iter().map(|c| c.sizing.capacity).sum()
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn opt_mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "?".to_owned(), |b| format!("{:.1} MiB", mib(b)))
}

impl fmt::Display for MemoryView {
    /// A few lines for a terminal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cause = self
            .cause
            .map(|c| format!(" ({} {:.2})", c.signal, c.value))
            .unwrap_or_default();
        writeln!(f, "level {}{cause}", self.level)?;
        match self.limit {
            Some(l) => writeln!(
                f,
                "limit {:.1} MiB from {}, {:.1} MiB used ({:.0} %)",
                mib(l.bytes),
                l.source.as_str(),
                mib(l.used),
                l.fraction() * 100.0
            )?,
            None => writeln!(f, "limit unknown")?,
        }
        writeln!(
            f,
            "heap {} allocated, {} resident; process rss {}",
            opt_mib(self.sample.allocator.allocated),
            opt_mib(self.sample.allocator.resident),
            opt_mib(self.sample.process_rss)
        )?;
        for c in &self.caches {
            let m = &c.sizing;
            writeln!(
                f,
                "cache {:<20} {:>8.1} MiB of {:>8.1} MiB (target {}, bounds {:.1}–{:.1} MiB)",
                m.name,
                mib(m.weighted_size),
                mib(m.capacity),
                opt_mib(m.target),
                mib(m.bounds.min),
                mib(m.bounds.max.min(u64::MAX >> 1)),
            )?;
        }
        write!(
            f,
            "{} ticks ({} from the kernel), mean {} µs, last {} µs, max {} µs",
            self.ticks,
            self.kernel_ticks,
            self.mean_tick().as_micros(),
            self.last_tick.as_micros(),
            self.max_tick.as_micros()
        )
    }
}

/// What the thread keeps between ticks to build views.
#[derive(Default)]
pub(super) struct History {
    /// Level changes and relief actions.
    events: VecDeque<(u64, ManagerEvent)>,
    /// Sizing decisions, kept apart so that a busy sizer does not push level changes out.
    decisions: VecDeque<(u64, ManagerEvent)>,
    level_changes: u64,
    reliefs: [u64; 2],
    relief_freed: u64,
    responses: VecDeque<Response>,
    ticks: u64,
    kernel_ticks: u64,
    max_tick: Duration,
    busy: Duration,
}

fn push_bounded<T>(q: &mut VecDeque<T>, item: T) {
    if q.len() == KEPT {
        q.pop_front();
    }
    q.push_back(item);
}

impl History {
    /// Records `event`, which happened at `unix_millis`.
    pub(super) fn push(&mut self, unix_millis: u64, event: ManagerEvent) {
        match &event {
            ManagerEvent::Level(_) => self.level_changes += 1,
            ManagerEvent::Relief(r) => {
                let hard = usize::from(r.kind == pressure::ReliefKind::ShrinkHard);
                self.reliefs[hard] += 1;
                self.relief_freed = self.relief_freed.saturating_add(r.freed());
            }
            _ => {}
        }
        let ring = match event {
            ManagerEvent::Sizing(_) => &mut self.decisions,
            _ => &mut self.events,
        };
        push_bounded(ring, (unix_millis, event));
    }

    pub(super) fn respond(&mut self, response: Response) {
        push_bounded(&mut self.responses, response);
    }

    #[allow(clippy::too_many_arguments)] // one call site, each argument a different part of the view
    pub(super) fn view(
        &mut self,
        sample: &MemorySample,
        limit: Option<MemoryLimit>,
        sizing_limit: Option<MemoryLimit>,
        seen: &Assessment,
        sizer: &Sizer,
        notifications: &[String],
        took: Duration,
        from_kernel: bool,
    ) -> MemoryView {
        self.ticks += 1;
        self.kernel_ticks += u64::from(from_kernel);
        self.max_tick = self.max_tick.max(took);
        self.busy += took;
        // Both rings are in time order; merge them, level changes first on a tie.
        let mut merged: Vec<&(u64, ManagerEvent)> = self.events.iter().collect();
        merged.extend(self.decisions.iter());
        merged.sort_by_key(|(t, e)| (*t, matches!(e, ManagerEvent::Sizing(_))));
        MemoryView {
            ticks: self.ticks,
            sample: *sample,
            limit,
            sizing_limit,
            level: seen.level,
            cause: seen.cause,
            caches: sizer
                .members()
                .into_iter()
                .map(|sizing| CacheView { sizing })
                .collect(),
            caches_target: sizer.total_target(),
            events: merged.iter().map(|(_, e)| e.clone()).collect(),
            event_times: merged.iter().map(|(t, _)| *t).collect(),
            level_changes: self.level_changes,
            reliefs: self.reliefs,
            relief_freed: self.relief_freed,
            responses: self.responses.iter().cloned().collect(),
            notifications: notifications.to_vec(),
            kernel_ticks: self.kernel_ticks,
            last_tick: took,
            max_tick: self.max_tick,
            busy: self.busy,
        }
    }
}

//! The monitor: samples in, a level with hysteresis out, relief on the registered caches.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cache_traits::{CgroupEvents, ManagedCache, MemorySample, PressureLevel, RemovalCause};

use crate::signal::strongest;
use crate::{
    LevelChange, LevelChanges, PressureEvent, Reading, ReliefAction, ReliefKind, Subscribers,
    Thresholds,
};

/// Something that can give memory back when told how hard the process is pressed, such as an
/// allocator purge (`gc_coord::Reclaimer::release_memory`).
pub type Releaser = Box<dyn Fn(PressureLevel) + Send + Sync>;

/// Why a [`PressureMonitor`] could not be built.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub enum BuildError {
    /// A ladder of marks was not usable.
    Ladder {
        /// Which ladder (`usage`, `psi_some`, `psi_full`).
        ladder: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A shrink fraction was not in (0, 1).
    ShrinkFraction {
        /// `high` or `critical`.
        level: &'static str,
        /// The fraction asked for.
        value: f64,
    },
    /// The critical shrink was gentler than the high one.
    ShrinkOrder,
    /// The ceiling was 0 bytes.
    ZeroCeiling,
    /// The event log could hold no event.
    ZeroEventLog,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Ladder { ladder, reason } => {
                write!(f, "pressure thresholds `{ladder}`: {reason}")
            }
            BuildError::ShrinkFraction { level, value } => write!(
                f,
                "the {level} shrink fraction is {value}: give a fraction above 0 and below 1"
            ),
            BuildError::ShrinkOrder => f.write_str(
                "the critical shrink fraction is below the high one: shrink at least as hard at critical",
            ),
            BuildError::ZeroCeiling => {
                f.write_str("the ceiling is 0 bytes: give a positive ceiling or none")
            }
            BuildError::ZeroEventLog => {
                f.write_str("the event log holds 0 events: keep at least 1")
            }
        }
    }
}

impl std::error::Error for BuildError {}

/// Builds a [`PressureMonitor`].
pub struct MonitorBuilder {
    thresholds: Thresholds,
    ceiling: Option<u64>,
    hold: Duration,
    relief_interval: Duration,
    high_shrink: f64,
    critical_shrink: f64,
    caches: Vec<(Arc<dyn ManagedCache>, u64)>,
    releasers: Vec<Releaser>,
    event_log: usize,
}

impl Default for MonitorBuilder {
    fn default() -> Self {
        Self {
            thresholds: Thresholds::default(),
            ceiling: None,
            hold: Duration::from_secs(10),
            relief_interval: Duration::from_millis(500),
            high_shrink: 0.20,
            critical_shrink: 0.50,
            caches: Vec::new(),
            releasers: Vec::new(),
            event_log: 256,
        }
    }
}

impl fmt::Debug for MonitorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonitorBuilder")
            .field("thresholds", &self.thresholds)
            .field("ceiling", &self.ceiling)
            .field("hold", &self.hold)
            .field("caches", &self.caches.len())
            .finish_non_exhaustive()
    }
}

impl MonitorBuilder {
    /// The marks of every signal (default: [`Thresholds::default`]).
    pub fn thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// A ceiling the application sets for its own resident memory, judged like a cgroup limit
    /// (default: none).
    pub fn ceiling(mut self, bytes: u64) -> Self {
        self.ceiling = Some(bytes);
        self
    }

    /// How long every signal must stay below a level's lower marks before the level is let go
    /// (default 10 s, the PSI avg10 window). Levels rise at once.
    pub fn hold(mut self, hold: Duration) -> Self {
        self.hold = hold;
        self
    }

    /// The least time between two relief actions (default 500 ms): while a signal stays over
    /// the High mark, the caches shrink again at most this often.
    pub fn relief_interval(mut self, interval: Duration) -> Self {
        self.relief_interval = interval;
        self
    }

    /// The share of its bytes each cache gives up at [`High`](PressureLevel::High) (default
    /// 0.2) and at [`Critical`](PressureLevel::Critical) (default 0.5).
    pub fn shrink_fractions(mut self, high: f64, critical: f64) -> Self {
        self.high_shrink = high;
        self.critical_shrink = critical;
        self
    }

    /// Registers a cache for relief; it is never shrunk below `floor` bytes.
    pub fn cache(mut self, cache: Arc<dyn ManagedCache>, floor: u64) -> Self {
        self.caches.push((cache, floor));
        self
    }

    /// Registers something that returns memory (an allocator purge) when relief runs.
    pub fn releaser(mut self, release: impl Fn(PressureLevel) + Send + Sync + 'static) -> Self {
        self.releasers.push(Box::new(release));
        self
    }

    /// How many events the log keeps, the oldest dropped first (default 256).
    pub fn event_log(mut self, events: usize) -> Self {
        self.event_log = events;
        self
    }

    /// Checks the configuration and builds the monitor.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] that says which setting to change.
    pub fn build(self) -> Result<PressureMonitor, BuildError> {
        self.thresholds.validate()?;
        for (level, value) in [
            ("high", self.high_shrink),
            ("critical", self.critical_shrink),
        ] {
            if !(value > 0.0 && value < 1.0) {
                return Err(BuildError::ShrinkFraction { level, value });
            }
        }
        if self.critical_shrink < self.high_shrink {
            return Err(BuildError::ShrinkOrder);
        }
        if self.ceiling == Some(0) {
            return Err(BuildError::ZeroCeiling);
        }
        if self.event_log == 0 {
            return Err(BuildError::ZeroEventLog);
        }
        Ok(PressureMonitor {
            config: self,
            level: PressureLevel::Normal,
            below_since: None,
            previous_events: None,
            last_relief: None,
            events: VecDeque::new(),
            subscribers: Subscribers::default(),
            changes: 0,
            reliefs: 0,
        })
    }
}

/// What one sample said.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Assessment {
    /// The level after hysteresis.
    pub level: PressureLevel,
    /// The level this sample alone reaches.
    pub instant: PressureLevel,
    /// The strongest reading of this sample, if any signal reached a mark.
    pub cause: Option<Reading>,
    /// The change of level, if there was one.
    pub change: Option<LevelChange>,
    /// The relief action taken, if any.
    pub relief: Option<ReliefAction>,
}

/// Turns memory samples into a [`PressureLevel`] and relieves registered caches.
///
/// - Every signal of a sample is read against its marks ([`Thresholds`]); the level is the
///   highest any signal reaches.
/// - Hysteresis: a level rises at once; it falls only after every signal stayed below that
///   level's lower marks (each mark less its gap) for the hold time.
/// - Relief: while a sample reaches [`High`](PressureLevel::High), each cache gives up a share
///   of its bytes (at most once per relief interval; evicted with
///   [`RemovalCause::Pressure`], then its capacity lowered) and the releasers are called;
///   [`Critical`](PressureLevel::Critical) shrinks harder. [`Elevated`](PressureLevel::Elevated)
///   only stops growth, which is the sizer's part.
/// - Every change and action is a `tracing` event, an entry in a bounded log, and a message to
///   subscribers.
///
/// The monitor runs on a management thread (`&mut self`); it holds no lock a cache's `get` or
/// `insert` takes, and only calls [`ManagedCache`] methods.
///
/// # Examples
///
/// ```
/// use cache_traits::{MemorySample, PressureLevel};
/// use pressure::PressureMonitor;
///
/// let mut monitor = PressureMonitor::builder().build()?;
/// let mut sample = MemorySample::default();
/// sample.cgroup.max = Some(512 << 20);
/// sample.cgroup.current = Some(470 << 20); // 0.92 of the limit
/// let seen = monitor.observe(1_000_000_000, &sample);
/// assert_eq!(seen.level, PressureLevel::High);
/// assert_eq!(seen.cause.unwrap().signal.as_str(), "usage_cgroup_max");
/// # Ok::<(), pressure::BuildError>(())
/// ```
pub struct PressureMonitor {
    config: MonitorBuilder,
    level: PressureLevel,
    /// Since when every signal has been below the current level's lower marks.
    below_since: Option<u64>,
    previous_events: Option<CgroupEvents>,
    last_relief: Option<u64>,
    events: VecDeque<PressureEvent>,
    subscribers: Subscribers,
    changes: u64,
    reliefs: u64,
}

impl fmt::Debug for PressureMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PressureMonitor")
            .field("level", &self.level)
            .field("changes", &self.changes)
            .field("reliefs", &self.reliefs)
            .finish_non_exhaustive()
    }
}

impl PressureMonitor {
    /// A builder with the documented defaults.
    pub fn builder() -> MonitorBuilder {
        MonitorBuilder::default()
    }

    /// The current level.
    pub fn level(&self) -> PressureLevel {
        self.level
    }

    /// The marks in use.
    pub fn thresholds(&self) -> &Thresholds {
        &self.config.thresholds
    }

    /// The application's ceiling, if one was set.
    pub fn ceiling(&self) -> Option<u64> {
        self.config.ceiling
    }

    /// The recorded events, oldest first.
    pub fn events(&self) -> impl Iterator<Item = &PressureEvent> {
        self.events.iter()
    }

    /// Level changes since the monitor was built.
    pub fn level_changes(&self) -> u64 {
        self.changes
    }

    /// Relief actions since the monitor was built.
    pub fn relief_actions(&self) -> u64 {
        self.reliefs
    }

    /// A channel that receives every later level change. A subscriber that falls 64 changes
    /// behind misses the newer ones; a dropped subscription is forgotten.
    pub fn subscribe(&mut self) -> LevelChanges {
        self.subscribers.subscribe()
    }

    /// Reads `sample`, taken at `now_nanos` on the caller's clock; changes the level and relieves
    /// the caches as the rules say.
    pub fn observe(&mut self, now_nanos: u64, sample: &MemorySample) -> Assessment {
        let config = &self.config;
        let previous = self.previous_events.as_ref();
        let cause = strongest(sample, config.ceiling, previous, &config.thresholds, false);
        let held = strongest(sample, config.ceiling, previous, &config.thresholds, true);
        if let Some(events) = sample.cgroup.events {
            self.previous_events = Some(events);
        }
        let instant = level_of(cause);
        let lowered = level_of(held);
        let before = self.level;
        if instant > self.level {
            self.level = instant;
            self.below_since = None;
        } else if lowered < self.level {
            let since = *self.below_since.get_or_insert(now_nanos);
            if now_nanos.saturating_sub(since) >= duration_nanos(self.config.hold) {
                self.level = lowered;
                self.below_since = None;
            }
        } else {
            self.below_since = None;
        }
        let change = (self.level != before).then(|| LevelChange {
            at_nanos: now_nanos,
            from: before,
            to: self.level,
            cause: if self.level > before { cause } else { held },
        });
        if let Some(change) = change {
            self.announce(change);
        }
        let relief = match cause {
            Some(reading) if instant >= PressureLevel::High => self.relieve(now_nanos, reading),
            _ => None,
        };
        Assessment {
            level: self.level,
            instant,
            cause,
            change,
            relief,
        }
    }

    fn announce(&mut self, change: LevelChange) {
        self.changes += 1;
        let signal = change.cause.map(|c| c.signal.as_str()).unwrap_or("none");
        let value = change.cause.map_or(0.0, |c| c.value);
        if change.to > change.from {
            tracing::warn!(from = %change.from, to = %change.to, signal, value, "memory pressure rose");
        } else {
            tracing::info!(from = %change.from, to = %change.to, signal, value, "memory pressure fell");
        }
        self.record(PressureEvent::Level(change));
        self.subscribers.send(change);
    }

    fn relieve(&mut self, now_nanos: u64, cause: Reading) -> Option<ReliefAction> {
        let interval = duration_nanos(self.config.relief_interval);
        if self
            .last_relief
            .is_some_and(|last| now_nanos.saturating_sub(last) < interval)
        {
            return None;
        }
        self.last_relief = Some(now_nanos);
        let (kind, fraction) = if cause.level >= PressureLevel::Critical {
            (ReliefKind::ShrinkHard, self.config.critical_shrink)
        } else {
            (ReliefKind::Shrink, self.config.high_shrink)
        };
        let started = Instant::now();
        let mut bytes_before = 0u64;
        let mut bytes_after = 0u64;
        for (cache, floor) in &self.config.caches {
            // A cache is user code too: one that panics is skipped, the others still shrink.
            let shrunk = catch_unwind(AssertUnwindSafe(|| {
                let held = cache.weighted_size();
                let capacity = cache.capacity();
                let target = ((held.min(capacity) as f64 * (1.0 - fraction)) as u64).max(*floor);
                if target < capacity {
                    // Evict first, so the removals count as `Pressure`; then lower the budget.
                    cache.evict_bytes(held.saturating_sub(target), RemovalCause::Pressure);
                    cache.set_capacity(target);
                }
                (held, cache.weighted_size())
            }));
            match shrunk {
                Ok((before, after)) => {
                    bytes_before = bytes_before.saturating_add(before);
                    bytes_after = bytes_after.saturating_add(after);
                }
                Err(_) => tracing::error!(
                    cache = cache_name(&**cache),
                    "a cache panicked while shrinking"
                ),
            }
        }
        for release in &self.config.releasers {
            if catch_unwind(AssertUnwindSafe(|| release(cause.level))).is_err() {
                tracing::error!("a releaser panicked");
            }
        }
        let action = ReliefAction {
            at_nanos: now_nanos,
            level: cause.level,
            kind,
            cause,
            bytes_before,
            bytes_after,
            duration: started.elapsed(),
        };
        self.reliefs += 1;
        tracing::warn!(
            level = %action.level,
            kind = action.kind.as_str(),
            signal = cause.signal.as_str(),
            value = cause.value,
            bytes_before,
            bytes_after,
            micros = u64::try_from(action.duration.as_micros()).unwrap_or(u64::MAX),
            "relieved memory pressure"
        );
        self.record(PressureEvent::Relief(action));
        Some(action)
    }

    fn record(&mut self, event: PressureEvent) {
        if self.events.len() == self.config.event_log {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}

/// The cache's name, or a stand-in when `name` itself panics.
fn cache_name(cache: &dyn ManagedCache) -> String {
    catch_unwind(AssertUnwindSafe(|| cache.name().to_owned()))
        .unwrap_or_else(|_| "<name panicked>".to_owned())
}

fn level_of(reading: Option<Reading>) -> PressureLevel {
    reading.map_or(PressureLevel::Normal, |r| r.level)
}

fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;

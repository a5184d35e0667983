//! When to purge: the eviction-wave threshold, pressure requests and the rate limit, as pure logic
//! on clock readings.

use cache_traits::PressureLevel;

use crate::stats::{PurgeKind, PurgeTrigger};

/// What the schedule says to do at a given instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Nothing is due.
    Idle,
    /// A purge is due but the minimum interval has not passed: ask again in `wait_nanos`.
    /// `newly` is true the first time a given due purge is held back (count it once).
    Wait { wait_nanos: u64, newly: bool },
    /// Purge now; call [`PurgeSchedule::ran`] afterwards.
    Run(PurgeKind, PurgeTrigger),
}

/// The purge schedule: owned by the background thread, fed with freed bytes and pressure requests.
#[derive(Debug)]
pub(crate) struct PurgeSchedule {
    /// Freed weight at which an eviction wave triggers a purge.
    threshold: u64,
    /// Minimum clock nanoseconds between two purges.
    interval_nanos: u64,
    /// What an eviction wave runs.
    wave_kind: PurgeKind,
    /// Weight freed since the last purge.
    freed: u64,
    /// The strongest pressure level asked for since the last purge.
    requested: Option<PressureLevel>,
    /// When the last purge ran.
    last_run: Option<u64>,
    /// Whether the currently due purge has already been reported as held back.
    held_back: bool,
}

impl PurgeSchedule {
    pub(crate) fn new(threshold: u64, interval_nanos: u64, wave_kind: PurgeKind) -> Self {
        Self {
            threshold,
            interval_nanos,
            wave_kind,
            freed: 0,
            requested: None,
            last_run: None,
            held_back: false,
        }
    }

    /// Records that items weighing `bytes` were dropped.
    pub(crate) fn note_freed(&mut self, bytes: u64) {
        self.freed = self.freed.saturating_add(bytes);
    }

    /// Records a pressure request; the strongest one since the last purge wins.
    pub(crate) fn request(&mut self, level: PressureLevel) {
        self.requested = Some(self.requested.map_or(level, |r| r.max(level)));
    }

    /// Weight freed since the last purge.
    pub(crate) fn freed(&self) -> u64 {
        self.freed
    }

    /// Whether a pressure request is waiting.
    pub(crate) fn has_request(&self) -> bool {
        self.requested.is_some()
    }

    /// Whether the freed weight is `factor` times the threshold or more.
    pub(crate) fn wave_over(&self, factor: u64) -> bool {
        self.freed >= self.threshold.saturating_mul(factor)
    }

    /// What to do at clock reading `now`.
    pub(crate) fn decide(&mut self, now: u64) -> Decision {
        let wave = self.wave_over(1);
        let (kind, trigger) = match self.requested {
            Some(level) => {
                let kind = PurgeKind::for_level(level);
                let kind = if wave { kind.max(self.wave_kind) } else { kind };
                (kind, PurgeTrigger::Pressure(level))
            }
            None if wave => (
                self.wave_kind,
                PurgeTrigger::EvictionWave {
                    freed_bytes: self.freed,
                },
            ),
            None => return Decision::Idle,
        };
        if let Some(last) = self.last_run {
            let next = last.saturating_add(self.interval_nanos);
            if now < next {
                let newly = !self.held_back;
                self.held_back = true;
                return Decision::Wait {
                    wait_nanos: next - now,
                    newly,
                };
            }
        }
        Decision::Run(kind, trigger)
    }

    /// Records that a purge ran at `now`: the wave counter and the request start over.
    pub(crate) fn ran(&mut self, now: u64) {
        self.freed = 0;
        self.requested = None;
        self.last_run = Some(now);
        self.held_back = false;
    }
}

#[cfg(test)]
mod tests;

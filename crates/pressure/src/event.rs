//! What the monitor records: level changes and relief actions.

use std::time::Duration;

use cache_traits::PressureLevel;

use crate::Reading;

/// A change of the pressure level.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelChange {
    /// When, on the monitor's clock (nanoseconds).
    pub at_nanos: u64,
    /// The level before.
    pub from: PressureLevel,
    /// The level after.
    pub to: PressureLevel,
    /// The reading that raised the level, or that was strongest when it was let go (`None`
    /// when no signal reached any mark).
    pub cause: Option<Reading>,
}

/// How hard a relief action shrank the caches.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReliefKind {
    /// [`PressureLevel::High`]: each cache shrank by the configured fraction and the allocator
    /// was asked to decay freed pages.
    Shrink,
    /// [`PressureLevel::Critical`]: each cache shrank by the hard fraction and the allocator was
    /// asked to purge.
    ShrinkHard,
}

impl ReliefKind {
    /// A stable snake_case name: `shrink` or `shrink_hard`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReliefKind::Shrink => "shrink",
            ReliefKind::ShrinkHard => "shrink_hard",
        }
    }
}

/// One relief action on the registered caches.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReliefAction {
    /// When it started, on the monitor's clock (nanoseconds).
    pub at_nanos: u64,
    /// The level that called for it.
    pub level: PressureLevel,
    /// What it did.
    pub kind: ReliefKind,
    /// The reading that called for it.
    pub cause: Reading,
    /// Bytes the caches held before.
    pub bytes_before: u64,
    /// Bytes the caches held after.
    pub bytes_after: u64,
    /// How long shrinking and asking the allocator took (wall time).
    pub duration: Duration,
}

impl ReliefAction {
    /// Bytes the action freed from the caches.
    pub fn freed(&self) -> u64 {
        self.bytes_before.saturating_sub(self.bytes_after)
    }
}

/// A recorded event.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PressureEvent {
    /// The level changed.
    Level(LevelChange),
    /// The caches were shrunk.
    Relief(ReliefAction),
}

impl PressureEvent {
    /// When the event happened, on the monitor's clock (nanoseconds).
    pub fn at_nanos(&self) -> u64 {
        match self {
            PressureEvent::Level(c) => c.at_nanos,
            PressureEvent::Relief(r) => r.at_nanos,
        }
    }
}

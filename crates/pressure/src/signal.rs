//! The signals a memory sample carries, the thresholds that turn each into a level, and the
//! reading of one sample.

use std::fmt;

use cache_traits::{CgroupEvents, LimitSource, MemorySample, PressureLevel, Psi};

/// What raised (or held) a pressure level.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Usage against a limit: the cgroup's `memory.max` or `memory.high`, the application's
    /// ceiling, or the host's memory.
    Usage(LimitSource),
    /// cgroup v1 usage over `memory.soft_limit_in_bytes`.
    SoftLimit,
    /// PSI `some` avg10, system-wide.
    PsiSome,
    /// PSI `full` avg10, system-wide.
    PsiFull,
    /// PSI `some` avg10 of the process's cgroup.
    CgroupPsiSome,
    /// PSI `full` avg10 of the process's cgroup.
    CgroupPsiFull,
    /// New `high` events (v2 `memory.events`): the group was throttled.
    HighEvents,
    /// New `max` events (v2 `memory.events`, v1 `memory.failcnt`): usage hit the hard limit.
    MaxEvents,
    /// New OOM kills in the group (v2 `memory.events`, v1 `memory.oom_control`).
    OomKills,
}

impl Signal {
    /// A stable snake_case name, for metrics labels and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Usage(LimitSource::CgroupMax) => "usage_cgroup_max",
            Signal::Usage(LimitSource::CgroupHigh) => "usage_cgroup_high",
            Signal::Usage(LimitSource::Ceiling) => "usage_ceiling",
            Signal::Usage(LimitSource::System) => "usage_system",
            Signal::Usage(_) => "usage_other",
            Signal::SoftLimit => "soft_limit",
            Signal::PsiSome => "psi_some",
            Signal::PsiFull => "psi_full",
            Signal::CgroupPsiSome => "cgroup_psi_some",
            Signal::CgroupPsiFull => "cgroup_psi_full",
            Signal::HighEvents => "high_events",
            Signal::MaxEvents => "max_events",
            Signal::OomKills => "oom_kills",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three marks of one signal, in the signal's unit, and the gap below each mark that the
/// signal must fall under before its level is let go.
///
/// A mark of `None` means the signal never raises that level.
///
/// # Examples
///
/// ```
/// use cache_traits::PressureLevel;
/// use pressure::Ladder;
/// let usage = Ladder::new(Some(0.80), Some(0.90), Some(0.95), 0.09);
/// assert_eq!(usage.level(0.91, false), PressureLevel::High);
/// // Once High, 0.85 still holds it: the lower mark is 0.90 − 0.09.
/// assert_eq!(usage.level(0.85, true), PressureLevel::High);
/// assert_eq!(usage.level(0.85, false), PressureLevel::Elevated);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ladder {
    /// The mark of [`PressureLevel::Elevated`].
    pub elevated: Option<f64>,
    /// The mark of [`PressureLevel::High`].
    pub high: Option<f64>,
    /// The mark of [`PressureLevel::Critical`].
    pub critical: Option<f64>,
    /// How far below a mark the signal must fall before its level is released.
    pub gap: f64,
}

impl Ladder {
    /// A ladder with these marks and gap.
    pub fn new(elevated: Option<f64>, high: Option<f64>, critical: Option<f64>, gap: f64) -> Self {
        Self {
            elevated,
            high,
            critical,
            gap,
        }
    }

    /// The marks with their levels, lowest first.
    pub(crate) fn marks(&self) -> impl Iterator<Item = (PressureLevel, f64)> {
        [
            (PressureLevel::Elevated, self.elevated),
            (PressureLevel::High, self.high),
            (PressureLevel::Critical, self.critical),
        ]
        .into_iter()
        .filter_map(|(level, mark)| Some((level, mark?)))
    }

    /// The level `value` reaches: against the marks, or against the lower marks (`mark − gap`)
    /// when `lowered`.
    pub fn level(&self, value: f64, lowered: bool) -> PressureLevel {
        let shift = if lowered { self.gap } else { 0.0 };
        self.marks()
            .filter(|&(_, mark)| value >= mark - shift)
            .map(|(level, _)| level)
            .last()
            .unwrap_or(PressureLevel::Normal)
    }

    /// Checks that marks are finite, positive and ascending, and that the gap is smaller than
    /// the lowest mark; `what` names the ladder in the error.
    pub(crate) fn validate(&self, what: &'static str) -> Result<(), crate::BuildError> {
        let bad = |reason: &'static str| crate::BuildError::Ladder {
            ladder: what,
            reason,
        };
        let mut last = 0.0;
        for (_, mark) in self.marks() {
            if !mark.is_finite() || mark <= 0.0 {
                return Err(bad("every mark must be a finite number above 0"));
            }
            if mark <= last {
                return Err(bad("marks must rise from elevated to high to critical"));
            }
            last = mark;
        }
        let lowest = self.marks().map(|(_, m)| m).next();
        if !self.gap.is_finite() || self.gap < 0.0 || lowest.is_some_and(|m| self.gap >= m) {
            return Err(bad("the gap must be at least 0 and below the lowest mark"));
        }
        Ok(())
    }
}

/// The marks of every signal.
///
/// The defaults and the practice they come from:
///
/// | signal | elevated | high | critical | gap | anchor |
/// |---|---|---|---|---|---|
/// | usage of a limit (fraction) | 0.80 | 0.90 | 0.95 | 0.09 | TiKV's high water at 0.9 of the limit; .NET `MemoryCache` lets go 9 points below its high mark |
/// | PSI `some` avg10 (%) | 7 | 10 | — | 3 | Android lmkd: `some` 70 ms per second is low pressure, 100 ms medium |
/// | PSI `full` avg10 (%) | — | — | 7 | 3 | lmkd: `full` 70 ms per second is critical; systemd-oomd kills at `full` ≥ 60 % for 30 s, long after |
///
/// Usage is the cgroup's working set (usage less inactive page cache), the resident set against a
/// ceiling, or the host's memory in use. Usage over the v1 soft limit is
/// [`Elevated`](PressureLevel::Elevated); new `high` or `max` events since the last sample are
/// [`High`](PressureLevel::High) when usage is at the Elevated mark too (a group of page cache
/// meets its limit routinely); a new OOM kill in the group is
/// [`Critical`](PressureLevel::Critical).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Usage as a fraction of each limit (`used / bytes`).
    pub usage: Ladder,
    /// PSI `some` avg10, in percent, system-wide and the cgroup's own.
    pub psi_some: Ladder,
    /// PSI `full` avg10, in percent, system-wide and the cgroup's own.
    pub psi_full: Ladder,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            usage: Ladder::new(Some(0.80), Some(0.90), Some(0.95), 0.09),
            psi_some: Ladder::new(Some(7.0), Some(10.0), None, 3.0),
            psi_full: Ladder::new(None, None, Some(7.0), 3.0),
        }
    }
}

impl Thresholds {
    pub(crate) fn validate(&self) -> Result<(), crate::BuildError> {
        self.usage.validate("usage")?;
        self.psi_some.validate("psi_some")?;
        self.psi_full.validate("psi_full")
    }

    /// The usage marks of a limit of `limit_bytes`, in bytes, lowest first: where a kernel
    /// usage-threshold notification should be registered.
    pub fn usage_marks(&self, limit_bytes: u64) -> Vec<u64> {
        self.usage
            .marks()
            .map(|(_, fraction)| (limit_bytes as f64 * fraction) as u64)
            .collect()
    }
}

/// One signal's value and the level it reached.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    /// The signal.
    pub signal: Signal,
    /// Its value, in its unit: a fraction of the limit, a PSI percentage, or a count of new
    /// events.
    pub value: f64,
    /// The level the value reaches.
    pub level: PressureLevel,
}

/// Reads `sample` against `thresholds` (lowered by each gap when `lowered`), with `previous`
/// cgroup event counters for the deltas; returns the highest reading, the first on a tie.
pub(crate) fn strongest(
    sample: &MemorySample,
    ceiling: Option<u64>,
    previous: Option<&CgroupEvents>,
    thresholds: &Thresholds,
    lowered: bool,
) -> Option<Reading> {
    let mut best: Option<Reading> = None;
    let mut consider = |signal, value: f64, level| {
        if level > best.map_or(PressureLevel::Normal, |b| b.level) {
            best = Some(Reading {
                signal,
                value,
                level,
            });
        }
    };
    let mut usage_level = PressureLevel::Normal;
    for limit in sample.limits(ceiling) {
        if limit.bytes == 0 {
            continue;
        }
        let fraction = limit.fraction();
        let level = thresholds.usage.level(fraction, lowered);
        usage_level = usage_level.max(level);
        consider(Signal::Usage(limit.source), fraction, level);
    }
    if let (Some(soft), Some(current)) = (sample.cgroup.soft_limit, sample.cgroup.working_set())
        && soft > 0
        && current > soft
    {
        consider(
            Signal::SoftLimit,
            current as f64 / soft as f64,
            PressureLevel::Elevated,
        );
    }
    let mut psi = |psi: Option<&Psi>, some_signal, full_signal| {
        let Some(psi) = psi else { return };
        let some = psi.some.avg10;
        consider(some_signal, some, thresholds.psi_some.level(some, lowered));
        if let Some(full) = psi.full.map(|f| f.avg10) {
            consider(full_signal, full, thresholds.psi_full.level(full, lowered));
        }
    };
    psi(sample.psi.as_ref(), Signal::PsiSome, Signal::PsiFull);
    psi(
        sample.cgroup.psi.as_ref(),
        Signal::CgroupPsiSome,
        Signal::CgroupPsiFull,
    );
    if let (Some(now), Some(before)) = (sample.cgroup.events.as_ref(), previous) {
        let new = |now: u64, before: u64| now.saturating_sub(before) as f64;
        // Reaching `memory.high` or the limit is routine for a group full of page cache (the
        // kernel reclaims it and moves on): those events confirm pressure only when the working
        // set itself is at the Elevated mark. An OOM kill always counts.
        let usage_high = usage_level >= PressureLevel::Elevated;
        let events = [
            (
                Signal::HighEvents,
                new(now.high, before.high),
                PressureLevel::High,
                usage_high,
            ),
            (
                Signal::MaxEvents,
                new(now.max, before.max),
                PressureLevel::High,
                usage_high,
            ),
            (
                Signal::OomKills,
                new(now.oom_kill, before.oom_kill).max(new(now.oom, before.oom)),
                PressureLevel::Critical,
                true,
            ),
        ];
        for (signal, count, level, counts) in events {
            if count > 0.0 && counts {
                consider(signal, count, level);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests;

//! The sizer: each tick, the caches' total from the limit, split into capacities.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use cache_traits::{ManagedCache, MemoryLimit, PressureLevel};

use crate::config::{Bounds, MemberSpec, Settings, SizerBuilder, sum};
use crate::lending::{Loan, Seat, rebalance};
use crate::split::{Part, water_fill};
use crate::utility::{HitSample, UtilityReading, UtilitySource, estimate};

/// A change smaller than this many bytes (or [`DEAD_BAND_FRACTION`] of the capacity, whichever
/// is larger) is not made, unless it reaches a bound.
pub const DEAD_BAND_BYTES: u64 = 64 << 10;
/// A change smaller than this share of the capacity (or [`DEAD_BAND_BYTES`], whichever is
/// larger) is not made, unless it reaches a bound.
pub const DEAD_BAND_FRACTION: f64 = 0.01;

/// Why a cache's capacity changed on a tick, or why it did not grow.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Its target rose: more memory, or a share coming back.
    Grow,
    /// Its target fell: less memory, higher usage by the rest of the process, or a tighter
    /// bound.
    Shrink,
    /// It shrank while it lends unused share to full caches of its shared budget.
    Lend,
    /// It grew while it borrows unused share from other caches of its shared budget.
    Borrow,
    /// It would have grown, but the pressure level is `Elevated` or worse.
    HeldByLevel,
    /// It would have grown, but it shrank less than the cool-down ago.
    HeldByCoolDown,
}

impl Reason {
    /// A short lowercase name for reports: `grow`, `shrink`, `lend`, `borrow`,
    /// `held_by_level`, `held_by_cool_down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Grow => "grow",
            Reason::Shrink => "shrink",
            Reason::Lend => "lend",
            Reason::Borrow => "borrow",
            Reason::HeldByLevel => "held_by_level",
            Reason::HeldByCoolDown => "held_by_cool_down",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cache's capacity change on a tick, or a growth that was held back.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The tick's time, as the caller's clock read it.
    pub at_nanos: u64,
    /// The cache's name.
    pub cache: Arc<str>,
    /// The shared budget it belongs to, if any.
    pub budget: Option<Arc<str>>,
    /// Its capacity before the tick.
    pub from: u64,
    /// Its capacity after the tick (equal to `from` when held).
    pub to: u64,
    /// What the sizer aimed at, before the step bound and the holds.
    pub target: u64,
    /// Why.
    pub reason: Reason,
    /// The pressure level of the tick.
    pub level: PressureLevel,
    /// The cache's utility on this tick, where it was known.
    pub utility: Option<UtilityReading>,
}

/// One cache as the sizer sees it, for reports.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct MemberView {
    /// The cache's name.
    pub name: Arc<str>,
    /// The shared budget it belongs to, if any.
    pub budget: Option<Arc<str>>,
    /// Its capacity now.
    pub capacity: u64,
    /// What it holds now.
    pub weighted_size: u64,
    /// Its share of the total by weight on the last tick, before lending; `None` before the
    /// first tick.
    pub share: Option<u64>,
    /// Its target on the last tick (share, less lent, plus borrowed); `None` before the first.
    pub target: Option<u64>,
    /// Its configured bounds.
    pub bounds: Bounds,
    /// Its configured weight.
    pub weight: f64,
    /// Bytes of its share it lends to other caches of its shared budget.
    pub lent: u64,
    /// Bytes it borrows from other caches of its shared budget.
    pub borrowed: u64,
    /// Its utility on the last tick, where it was known.
    pub utility: Option<UtilityReading>,
    /// Until when (caller's clock) it is not grown because it shrank, if it is cooling down.
    pub cool_down_until: Option<u64>,
}

/// A cache and what the sizer keeps about it between ticks.
struct Member {
    cache: Arc<dyn ManagedCache>,
    name: Arc<str>,
    budget: Option<usize>,
    bounds: Bounds,
    weight: f64,
    /// Growth is held until this time.
    cool_until: Option<u64>,
    /// The last capacity the sizer asked for, and the capacity the cache then reported.
    last_set: Option<(u64, u64)>,
    /// The capacity seen at the end of the last tick.
    last_capacity: Option<u64>,
    hits: Option<HitSample>,
    loan: Loan,
    share: Option<u64>,
    target: Option<u64>,
    utility: Option<UtilityReading>,
    /// Its last read panicked: it is left alone until a read succeeds.
    unreadable: bool,
}

/// A shared budget: its caches are indices into the sizer's members.
struct Budget {
    name: Arc<str>,
    /// Its own bounds, narrowed to what its caches' bounds allow.
    bounds: Bounds,
    weight: f64,
    lending: bool,
    caches: Vec<usize>,
}

/// A top-level member.
#[derive(Clone, Copy)]
enum Top {
    Cache(usize),
    Budget(usize),
}

/// What a cache reported at the start of a tick.
#[derive(Clone, Copy)]
struct Reading {
    capacity: u64,
    weighted_size: u64,
}

/// The step bounds of one tick, in bytes.
#[derive(Clone, Copy)]
struct Steps {
    grow: u64,
    shrink: u64,
}

/// Sets each cache's capacity from the memory limit, the pressure level, and the configured
/// bounds, weights and shared budgets; see the crate docs for the rules.
///
/// The sizer holds no lock: it only calls [`ManagedCache`] methods, from whatever thread calls
/// [`tick`](Self::tick).
pub struct Sizer {
    settings: Settings,
    members: Vec<Member>,
    budgets: Vec<Budget>,
    top: Vec<Top>,
    /// The smoothed total of the caches' targets; `None` before the first tick.
    total: Option<u64>,
    /// The last limit known, for fractional steps on ticks without one.
    last_limit: Option<u64>,
    decisions: Vec<Decision>,
}

impl fmt::Debug for Sizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sizer")
            .field("settings", &self.settings)
            .field(
                "caches",
                &self.members.iter().map(|m| &m.name).collect::<Vec<_>>(),
            )
            .field("total", &self.total)
            .finish()
    }
}

impl Sizer {
    /// A builder with the default settings and no caches.
    pub fn builder() -> SizerBuilder {
        SizerBuilder::default()
    }

    /// Called by the builder once the configuration is valid.
    pub(crate) fn new(settings: Settings, specs: Vec<MemberSpec>) -> Self {
        let mut members = Vec::new();
        let mut budgets = Vec::new();
        let mut top = Vec::new();
        let member = |spec: crate::config::CacheSpec, budget| Member {
            name: Arc::from(spec.cache.name()),
            cache: spec.cache,
            budget,
            bounds: spec.bounds,
            weight: spec.weight,
            cool_until: None,
            last_set: None,
            last_capacity: None,
            hits: None,
            loan: Loan::default(),
            share: None,
            target: None,
            utility: None,
            unreadable: false,
        };
        for spec in specs {
            match spec {
                MemberSpec::Cache(c) => {
                    top.push(Top::Cache(members.len()));
                    members.push(member(c, None));
                }
                MemberSpec::Shared(b) => {
                    let idx = budgets.len();
                    let caches_min = sum(b.caches.iter().map(|c| c.bounds.min));
                    let caches_max = sum(b.caches.iter().map(|c| c.bounds.max));
                    let mut caches = Vec::with_capacity(b.caches.len());
                    for c in b.caches {
                        caches.push(members.len());
                        members.push(member(c, Some(idx)));
                    }
                    budgets.push(Budget {
                        name: Arc::from(b.name.as_str()),
                        bounds: Bounds::new(
                            b.bounds.min.max(caches_min),
                            b.bounds.max.min(caches_max),
                        ),
                        weight: b.weight,
                        lending: b.lending,
                        caches,
                    });
                    top.push(Top::Budget(idx));
                }
            }
        }
        Self {
            settings,
            members,
            budgets,
            top,
            total: None,
            last_limit: None,
            decisions: Vec::new(),
        }
    }

    /// Sizes every cache once and returns what changed and what was held back.
    ///
    /// `now_nanos` comes from the caller's [`Clock`](cache_traits::Clock); `limit` is the
    /// effective limit with its usage (such as
    /// [`MemorySample::tightest_limit`](cache_traits::MemorySample::tightest_limit)), `None`
    /// when unknown; `level` is the current pressure level. Call it on the management tick
    /// (about once a second); it calls [`ManagedCache::set_capacity`] on the caches whose
    /// capacity changes, on the calling thread.
    pub fn tick(
        &mut self,
        now_nanos: u64,
        limit: Option<MemoryLimit>,
        level: PressureLevel,
    ) -> &[Decision] {
        self.decisions.clear();
        let readings = self.read(now_nanos);
        if let Some(l) = limit {
            self.last_limit = Some(l.bytes);
        }
        let total = self.next_total(limit, level, &readings);
        self.total = Some(total);

        let mut shares = vec![0; self.members.len()];
        let mut targets = vec![0; self.members.len()];
        let parts: Vec<Part> = self.top.iter().map(|&t| self.part(t)).collect();
        let top_shares = water_fill(total, &parts);
        for (t, share) in self.top.clone().into_iter().zip(top_shares) {
            match t {
                Top::Cache(i) => {
                    shares[i] = share;
                    targets[i] = share;
                }
                Top::Budget(b) => self.split_budget(b, share, &readings, &mut shares, &mut targets),
            }
        }
        let plans: Vec<Plan> = (0..self.members.len())
            .map(|i| {
                let m = &mut self.members[i];
                m.share = Some(shares[i]);
                m.target = Some(targets[i]);
                m.last_capacity = Some(readings[i].capacity);
                m.plan(targets[i], readings[i], now_nanos, level)
            })
            .collect();
        let moves = self.share_steps(&plans);
        for (i, (plan, to)) in plans.into_iter().zip(moves).enumerate() {
            self.apply(i, plan, to, now_nanos, level);
        }
        &self.decisions
    }

    /// The decisions of the last tick (what [`tick`](Self::tick) returned).
    pub fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    /// Of several limits, the one that leaves the caches the least: the smallest
    /// `bytes × goal − used`. A 512 MiB cgroup three-quarters used binds tighter than a host
    /// with gigabytes free, even when the host's used fraction is higher.
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::{LimitSource, MemoryLimit};
    /// # use cache_traits::{CacheStats, ManagedCache, RemovalCause};
    /// # struct C;
    /// # impl ManagedCache for C {
    /// #     fn name(&self) -> &str { "c" }
    /// #     fn stats(&self) -> CacheStats { CacheStats::default() }
    /// #     fn weighted_size(&self) -> u64 { 0 }
    /// #     fn entry_count(&self) -> u64 { 0 }
    /// #     fn capacity(&self) -> u64 { 0 }
    /// #     fn set_capacity(&self, _: u64) {}
    /// #     fn evict_bytes(&self, _: u64, _: RemovalCause) -> u64 { 0 }
    /// # }
    /// let sizer = sizing::Sizer::builder()
    ///     .cache(std::sync::Arc::new(C), sizing::Bounds::default(), 1.0)
    ///     .build()?;
    /// let cgroup = MemoryLimit::new(LimitSource::CgroupMax, 512 << 20, 350 << 20);
    /// let host = MemoryLimit::new(LimitSource::System, 16 << 30, 11 << 30);
    /// assert_eq!(sizer.binding_limit([host, cgroup]), Some(cgroup));
    /// # Ok::<(), sizing::BuildError>(())
    /// ```
    pub fn binding_limit(
        &self,
        limits: impl IntoIterator<Item = MemoryLimit>,
    ) -> Option<MemoryLimit> {
        let goal = self.settings.goal_fraction;
        let room = |l: &MemoryLimit| l.bytes as f64 * goal - l.used as f64;
        limits
            .into_iter()
            .filter(|l| l.bytes > 0)
            .min_by(|a, b| room(a).total_cmp(&room(b)))
    }

    /// The smoothed total of the caches' targets on the last tick; `None` before the first.
    pub fn total_target(&self) -> Option<u64> {
        self.total
    }

    /// Every cache as the sizer sees it: capacity and size now, share, target and utility as
    /// of the last tick.
    pub fn members(&self) -> Vec<MemberView> {
        self.members
            .iter()
            .map(|m| MemberView {
                name: m.name.clone(),
                budget: m.budget.map(|b| self.budgets[b].name.clone()),
                capacity: guarded(|| m.cache.capacity()).unwrap_or(0),
                weighted_size: guarded(|| m.cache.weighted_size()).unwrap_or(0),
                share: m.share,
                target: m.target,
                bounds: m.bounds,
                weight: m.weight,
                lent: m.loan.lent,
                borrowed: m.loan.borrowed,
                utility: m.utility,
                cool_down_until: m.cool_until,
            })
            .collect()
    }

    /// Reads every cache; updates utilities and starts the cool-down of caches that someone
    /// else shrank since the last tick.
    fn read(&mut self, now: u64) -> Vec<Reading> {
        let cool_down = self.settings.cool_down_nanos;
        self.members
            .iter_mut()
            .map(|m| {
                // A cache is user code: one that panics reads as it did last time (or empty) and
                // is left alone this tick, and the others are still sized.
                let cache = &*m.cache;
                let known = m.last_capacity.unwrap_or(0);
                let Some((reading, hits, utility)) = guarded(|| {
                    let reading = Reading {
                        capacity: cache.capacity(),
                        weighted_size: cache.weighted_size(),
                    };
                    (reading, cache.stats().hits, cache.utility())
                }) else {
                    m.unreadable = true;
                    return Reading {
                        capacity: known,
                        weighted_size: known,
                    };
                };
                m.unreadable = false;
                let hits = HitSample {
                    hits,
                    at_nanos: now,
                };
                m.utility = match utility {
                    Some(u) => Some(UtilityReading::new(u, UtilitySource::Cache)),
                    None => m
                        .hits
                        .and_then(|before| estimate(before, hits, reading.weighted_size))
                        .map(|u| UtilityReading::new(u, UtilitySource::Estimate)),
                };
                m.hits = Some(hits);
                if m.last_capacity.is_some_and(|last| reading.capacity < last) {
                    m.cool_until = Some(now.saturating_add(cool_down));
                }
                reading
            })
            .collect()
    }

    /// The step bounds in bytes: fractions of the limit, of the last one known, or of the
    /// members' max bounds.
    fn steps(&self) -> Steps {
        let reference = self
            .last_limit
            .unwrap_or_else(|| sum(self.top.iter().map(|&t| self.part(t).bounds.max)));
        Steps {
            grow: self.settings.max_grow_step.bytes_of(reference),
            shrink: self.settings.max_shrink_step.bytes_of(reference),
        }
    }

    /// A top-level member as a part of the split.
    fn part(&self, t: Top) -> Part {
        match t {
            Top::Cache(i) => Part {
                weight: self.members[i].weight,
                bounds: self.members[i].bounds,
            },
            Top::Budget(b) => Part {
                weight: self.budgets[b].weight,
                bounds: self.budgets[b].bounds,
            },
        }
    }

    /// The caches' total for this tick: computed from the limit, clamped to the members'
    /// bounds, and smoothed.
    fn next_total(
        &self,
        limit: Option<MemoryLimit>,
        level: PressureLevel,
        readings: &[Reading],
    ) -> u64 {
        let s = &self.settings;
        let sum_min = sum(self.top.iter().map(|&t| self.part(t).bounds.min));
        let sum_max = sum(self.top.iter().map(|&t| self.part(t).bounds.max));
        let held = sum(readings.iter().map(|r| r.weighted_size));
        let raw = match limit {
            Some(l) => {
                let goal = (l.bytes as f64 * s.goal_fraction) as u64;
                let rest_of_process = l.used.saturating_sub(held);
                goal.saturating_sub(s.reserve_bytes)
                    .saturating_sub(rest_of_process)
            }
            // Unknown this tick: hold the last total rather than grow to the max bounds on a
            // figure that failed to read.
            None => self.total.unwrap_or(sum_max),
        }
        .clamp(sum_min, sum_max);
        // The first total is the computed one: smoothing damps noise between ticks, and the
        // capacities move towards it by steps anyway.
        let Some(prev) = self.total else {
            return raw;
        };
        // Rounded away from `prev`, so that the total reaches `raw` rather than stopping short.
        if raw >= prev {
            let up = ((raw - prev) as f64 * s.smoothing).ceil() as u64;
            prev.saturating_add(up).min(raw)
        } else if level >= PressureLevel::High {
            raw
        } else {
            let down = ((prev - raw) as f64 * s.smoothing).ceil() as u64;
            prev.saturating_sub(down).max(raw)
        }
    }

    /// Splits a shared budget's share among its caches and rebalances loans between them.
    fn split_budget(
        &mut self,
        b: usize,
        share: u64,
        readings: &[Reading],
        shares: &mut [u64],
        targets: &mut [u64],
    ) {
        let budget = &self.budgets[b];
        let parts: Vec<Part> = budget
            .caches
            .iter()
            .map(|&i| Part {
                weight: self.members[i].weight,
                bounds: self.members[i].bounds,
            })
            .collect();
        let split = water_fill(share, &parts);
        for (&i, &s) in budget.caches.iter().zip(&split) {
            shares[i] = s;
            targets[i] = s;
        }
        if !budget.lending {
            return;
        }
        let seats: Vec<Seat> = budget
            .caches
            .iter()
            .map(|&i| Seat {
                share: shares[i],
                bounds: self.members[i].bounds,
                weight: self.members[i].weight,
                capacity: readings[i].capacity,
                weighted_size: readings[i].weighted_size,
            })
            .collect();
        let mut loans: Vec<Loan> = budget
            .caches
            .iter()
            .map(|&i| self.members[i].loan)
            .collect();
        let rebalanced = rebalance(&seats, &mut loans);
        for ((&i, loan), target) in budget.caches.iter().zip(loans).zip(rebalanced) {
            self.members[i].loan = loan;
            targets[i] = target;
        }
    }

    /// Shares this tick's steps among the caches that move: each gets a part of the grow step
    /// (of the shrink step) in proportion to how far it has to grow (to evict), so that they
    /// arrive together and the caches together move no more than a step. Returns each cache's
    /// new capacity.
    fn share_steps(&self, plans: &[Plan]) -> Vec<u64> {
        let steps = self.steps();
        let wants = |pick: fn(&Plan) -> u64| -> Vec<u64> { plans.iter().map(pick).collect() };
        let grow = granted(
            steps.grow,
            &wants(|p| match p {
                Plan::Grow { cap, target, .. } => target - cap,
                _ => 0,
            }),
        );
        let evict = granted(
            steps.shrink,
            &wants(|p| match p {
                Plan::Shrink { held, target, .. } => held.saturating_sub(*target),
                _ => 0,
            }),
        );
        plans
            .iter()
            .zip(grow.into_iter().zip(evict))
            .map(|(p, (grow, evict))| match *p {
                Plan::Keep => 0,
                Plan::Held { cap, .. } => cap,
                Plan::Grow { cap, .. } => cap + grow,
                // Budget above what the cache holds goes at once: cutting it evicts nothing.
                Plan::Shrink { held, target, .. } => target.max(held - evict),
            })
            .collect()
    }

    /// Sets cache `i` to `to` as `plan` says, and records the decision.
    fn apply(&mut self, i: usize, plan: Plan, to: u64, now: u64, level: PressureLevel) {
        if self.members[i].unreadable {
            return;
        }
        let (cap, target, reason) = match plan {
            Plan::Keep => return,
            Plan::Held {
                cap,
                target,
                reason,
            }
            | Plan::Grow {
                cap,
                target,
                reason,
            }
            | Plan::Shrink {
                cap,
                target,
                reason,
                ..
            } => (cap, target, reason),
        };
        let cool_down = self.settings.cool_down_nanos;
        let m = &mut self.members[i];
        if to == cap && !matches!(plan, Plan::Held { .. }) {
            return;
        }
        if to != cap {
            // A cache may round what it is given (cache-core keeps a floor per shard): do not
            // ask again for what it already rounded.
            if m.last_set
                .is_some_and(|(asked, got)| asked == to && got == cap)
            {
                return;
            }
            let cache = &*m.cache;
            let Some(got) = guarded(|| {
                cache.set_capacity(to);
                cache.capacity()
            }) else {
                return;
            };
            m.last_set = Some((to, got));
            m.last_capacity = Some(got);
            if to < cap {
                m.cool_until = Some(now.saturating_add(cool_down));
            }
        }
        self.decisions.push(Decision {
            at_nanos: now,
            cache: m.name.clone(),
            budget: m.budget.map(|b| self.budgets[b].name.clone()),
            from: cap,
            to,
            target,
            reason,
            level,
            utility: m.utility,
        });
    }
}

impl Member {
    /// What to do with this cache on this tick, before the steps are shared.
    fn plan(&self, target: u64, reading: Reading, now: u64, level: PressureLevel) -> Plan {
        let cap = reading.capacity;
        if !worth_changing(cap, target, self.bounds) {
            Plan::Keep
        } else if target < cap {
            Plan::Shrink {
                cap,
                held: reading.weighted_size.min(cap),
                target,
                reason: if self.loan.lent > 0 {
                    Reason::Lend
                } else {
                    Reason::Shrink
                },
            }
        } else if level >= PressureLevel::Elevated {
            Plan::Held {
                cap,
                target,
                reason: Reason::HeldByLevel,
            }
        } else if self.cool_until.is_some_and(|until| now < until) {
            Plan::Held {
                cap,
                target,
                reason: Reason::HeldByCoolDown,
            }
        } else {
            Plan::Grow {
                cap,
                target,
                reason: if self.loan.borrowed > 0 {
                    Reason::Borrow
                } else {
                    Reason::Grow
                },
            }
        }
    }
}

/// What a tick does with one cache.
#[derive(Clone, Copy, Debug)]
enum Plan {
    /// Nothing: the change is within the dead band.
    Keep,
    /// It would grow to `target` but may not.
    Held {
        cap: u64,
        target: u64,
        reason: Reason,
    },
    /// It grows towards `target`.
    Grow {
        cap: u64,
        target: u64,
        reason: Reason,
    },
    /// It shrinks towards `target`; it holds `held` bytes, at most `cap`.
    Shrink {
        cap: u64,
        held: u64,
        target: u64,
        reason: Reason,
    },
}

/// Splits `step` bytes among `wants` in proportion to each want, none above its want.
fn granted(step: u64, wants: &[u64]) -> Vec<u64> {
    let movers: Vec<usize> = (0..wants.len()).filter(|&i| wants[i] > 0).collect();
    let parts: Vec<Part> = movers
        .iter()
        .map(|&i| Part {
            weight: wants[i] as f64,
            bounds: Bounds::at_most(wants[i]),
        })
        .collect();
    let mut out = vec![0; wants.len()];
    for (&i, g) in movers.iter().zip(water_fill(step, &parts)) {
        out[i] = g;
    }
    out
}

/// Whether moving a cache of capacity `cap` to `target` is worth a `set_capacity`: the change is
/// larger than the dead band, or it reaches a bound, or the capacity is outside its bounds.
fn worth_changing(cap: u64, target: u64, bounds: Bounds) -> bool {
    if cap == target {
        return false;
    }
    let band = ((cap as f64 * DEAD_BAND_FRACTION) as u64).max(DEAD_BAND_BYTES);
    cap.abs_diff(target) > band
        || target == bounds.min
        || target == bounds.max
        || !(bounds.min..=bounds.max).contains(&cap)
}

#[cfg(test)]
mod tests;

/// Runs `f`, a call into a cache; `None` when it panicked.
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

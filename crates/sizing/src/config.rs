//! The sizer's configuration: bounds, steps, shared budgets, the builder and its errors.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cache_traits::ManagedCache;

use crate::sizer::Sizer;

/// The default [`SizerBuilder::goal_fraction`]: below the 0.80 of the limit at which the
/// pressure crate reports [`PressureLevel::Elevated`](cache_traits::PressureLevel::Elevated),
/// so that a process at its goal is not under pressure.
pub const DEFAULT_GOAL_FRACTION: f64 = 0.75;
/// The default [`SizerBuilder::max_grow_step`]: 5 % of the limit per tick.
pub const DEFAULT_MAX_GROW_STEP: Step = Step::Fraction(0.05);
/// The default [`SizerBuilder::max_shrink_step`]: 25 % of the limit per tick.
pub const DEFAULT_MAX_SHRINK_STEP: Step = Step::Fraction(0.25);
/// The default [`SizerBuilder::smoothing`]: each tick moves half-way to the new total.
pub const DEFAULT_SMOOTHING: f64 = 0.5;
/// The default [`SizerBuilder::cool_down`]: 10 seconds without growth after a shrink.
pub const DEFAULT_COOL_DOWN: Duration = Duration::from_secs(10);

/// The least and the most bytes the sizer gives a cache or a shared budget.
///
/// A min is a floor: the sizer never sets a capacity below it, even when the mins add up to more
/// than the memory allows (it does not raise a capacity up to it while growth is held, though).
/// A max is a ceiling. It is a plain pair like a range, so it has public fields and no builder.
///
/// # Examples
///
/// ```
/// use sizing::Bounds;
/// assert_eq!(Bounds::at_most(1 << 30), Bounds { min: 0, max: 1 << 30 });
/// assert_eq!(Bounds::default(), Bounds::new(0, u64::MAX));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Bounds {
    /// The least bytes, a floor.
    pub min: u64,
    /// The most bytes, a ceiling.
    pub max: u64,
}

impl Bounds {
    /// From `min` to `max` bytes, both included.
    pub const fn new(min: u64, max: u64) -> Self {
        Self { min, max }
    }

    /// From 0 to `max` bytes.
    pub const fn at_most(max: u64) -> Self {
        Self { min: 0, max }
    }

    /// Exactly `bytes`.
    pub const fn exactly(bytes: u64) -> Self {
        Self {
            min: bytes,
            max: bytes,
        }
    }
}

/// No bounds: from 0 to `u64::MAX`.
impl Default for Bounds {
    fn default() -> Self {
        Self::new(0, u64::MAX)
    }
}

/// How far the caches' capacities may move in one tick, all caches together.
///
/// # Examples
///
/// ```
/// use sizing::Step;
/// assert_eq!(Step::Fraction(0.05).bytes_of(1000), 50);
/// assert_eq!(Step::Bytes(64).bytes_of(1000), 64);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// A number of bytes.
    Bytes(u64),
    /// A share of the memory limit, in (0, 1]: of the last limit known when there is none now,
    /// of the members' max bounds when none was ever known.
    Fraction(f64),
}

impl Step {
    /// The step in bytes against a limit of `limit` bytes.
    pub fn bytes_of(self, limit: u64) -> u64 {
        match self {
            Step::Bytes(b) => b,
            // `as` saturates; a validated fraction is in (0, 1].
            Step::Fraction(f) => (limit as f64 * f) as u64,
        }
    }
}

/// Why [`SizerBuilder::build`] failed; each message says what to change.
///
/// # Examples
///
/// ```
/// use sizing::{BuildError, Sizer};
///
/// let err = Sizer::builder().goal_fraction(1.5).build().unwrap_err();
/// assert!(matches!(err, BuildError::Fraction { .. }));
/// assert_eq!(
///     err.to_string(),
///     "goal_fraction is 1.5; set it above 0 and at most 1"
/// );
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub enum BuildError {
    /// The sizer has no cache.
    NoCaches,
    /// A shared budget has no cache.
    EmptySharedBudget {
        /// The budget's name.
        budget: String,
    },
    /// Two members (caches or shared budgets) have the same name.
    DuplicateName {
        /// The name.
        name: String,
    },
    /// A member's min bound is above its max bound.
    MinAboveMax {
        /// The cache's or shared budget's name.
        member: String,
        /// The min bound.
        min: u64,
        /// The max bound.
        max: u64,
    },
    /// A shared budget's bounds cannot be met by its caches' bounds.
    SharedBudgetBounds {
        /// The budget's name.
        budget: String,
        /// The budget's own bounds.
        bounds: Bounds,
        /// The sum of its caches' min bounds.
        caches_min: u64,
        /// The sum of its caches' max bounds.
        caches_max: u64,
    },
    /// A weight is not a positive finite number.
    Weight {
        /// The cache's or shared budget's name.
        member: String,
        /// The weight given.
        weight: f64,
    },
    /// A fraction is outside (0, 1].
    Fraction {
        /// The setting (`goal_fraction`, `smoothing`, `max_grow_step`, `max_shrink_step`).
        setting: &'static str,
        /// The value given.
        value: f64,
    },
    /// A tick step is zero bytes.
    ZeroStep {
        /// `max_grow_step` or `max_shrink_step`.
        setting: &'static str,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::NoCaches => {
                f.write_str("the sizer has no caches; add one with `cache` or `shared_budget`")
            }
            BuildError::EmptySharedBudget { budget } => write!(
                f,
                "shared budget `{budget}` has no caches; add one with `SharedBudget::cache` \
                 or leave the budget out"
            ),
            BuildError::DuplicateName { name } => write!(
                f,
                "two members are named `{name}`; give every cache and shared budget its own name"
            ),
            BuildError::MinAboveMax { member, min, max } => write!(
                f,
                "`{member}` has a min bound of {min} bytes above its max bound of {max} bytes; \
                 lower `min` or raise `max`"
            ),
            BuildError::SharedBudgetBounds {
                budget,
                bounds,
                caches_min,
                caches_max,
            } => {
                if caches_min > &bounds.max {
                    write!(
                        f,
                        "the caches of shared budget `{budget}` have min bounds adding up to \
                         {caches_min} bytes, above the budget's max bound of {} bytes; \
                         lower their min bounds or raise the budget's max",
                        bounds.max
                    )
                } else {
                    write!(
                        f,
                        "the caches of shared budget `{budget}` have max bounds adding up to \
                         {caches_max} bytes, below the budget's min bound of {} bytes; \
                         raise their max bounds or lower the budget's min",
                        bounds.min
                    )
                }
            }
            BuildError::Weight { member, weight } => write!(
                f,
                "`{member}` has a weight of {weight}; set a finite weight above 0"
            ),
            BuildError::Fraction { setting, value } => {
                write!(f, "{setting} is {value}; set it above 0 and at most 1")
            }
            BuildError::ZeroStep { setting } => write!(
                f,
                "{setting} is 0 bytes, so nothing could ever change; \
                 set it to at least 1 byte or to a fraction of the limit"
            ),
        }
    }
}

impl std::error::Error for BuildError {}

/// One cache as configured: the cache, its bounds and its weight.
#[derive(Clone)]
pub(crate) struct CacheSpec {
    pub(crate) cache: Arc<dyn ManagedCache>,
    pub(crate) bounds: Bounds,
    pub(crate) weight: f64,
}

/// Several caches under one total, split among them by weight and rebalanced over time.
///
/// At the top level a shared budget is one member among the sizer's caches, with its own
/// bounds and weight; its share is split among its caches the way the sizer splits the total
/// (by weight, within each cache's bounds). Inside it, a cache that uses much less than its
/// share for several ticks lends the unused part to the caches that are full (see the crate
/// docs, "Lending inside a shared budget").
///
/// # Examples
///
/// ```
/// # use cache_traits::{CacheStats, ManagedCache, RemovalCause};
/// # struct C(&'static str);
/// # impl ManagedCache for C {
/// #     fn name(&self) -> &str { self.0 }
/// #     fn stats(&self) -> CacheStats { CacheStats::default() }
/// #     fn weighted_size(&self) -> u64 { 0 }
/// #     fn entry_count(&self) -> u64 { 0 }
/// #     fn capacity(&self) -> u64 { 0 }
/// #     fn set_capacity(&self, _: u64) {}
/// #     fn evict_bytes(&self, _: u64, _: RemovalCause) -> u64 { 0 }
/// # }
/// use sizing::{Bounds, SharedBudget};
/// use std::sync::Arc;
///
/// let query = SharedBudget::new("query")
///     .bounds(Bounds::new(64 << 20, 1 << 30))
///     .weight(2.0)
///     .cache(Arc::new(C("embeddings")), Bounds::at_most(512 << 20), 3.0)
///     .cache(Arc::new(C("search")), Bounds::default(), 2.0)
///     .cache(Arc::new(C("project")), Bounds::new(16 << 20, 128 << 20), 1.0);
/// # let _ = query;
/// ```
#[derive(Clone)]
pub struct SharedBudget {
    pub(crate) name: String,
    pub(crate) bounds: Bounds,
    pub(crate) weight: f64,
    pub(crate) lending: bool,
    pub(crate) caches: Vec<CacheSpec>,
}

impl SharedBudget {
    /// An empty shared budget named `name`, unbounded, of weight 1, with lending on.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            bounds: Bounds::default(),
            weight: 1.0,
            lending: true,
            caches: Vec::new(),
        }
    }

    /// The least and the most bytes the whole budget gets.
    pub fn bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = bounds;
        self
    }

    /// A fixed total: the budget always gets `bytes`, whatever the limit, and the other members
    /// share the rest. The same as `bounds(Bounds::exactly(bytes))`; the last call wins.
    pub fn total(self, bytes: u64) -> Self {
        self.bounds(Bounds::exactly(bytes))
    }

    /// The budget's weight among the sizer's top-level members (default 1).
    pub fn weight(mut self, weight: f64) -> Self {
        self.weight = weight;
        self
    }

    /// Whether caches that use much less than their share lend it to full ones (default on).
    pub fn lending(mut self, on: bool) -> Self {
        self.lending = on;
        self
    }

    /// Adds a cache with its bounds and its weight inside the budget.
    pub fn cache(mut self, cache: Arc<dyn ManagedCache>, bounds: Bounds, weight: f64) -> Self {
        self.caches.push(CacheSpec {
            cache,
            bounds,
            weight,
        });
        self
    }

    /// The budget's caches with their bounds, in the order they were added.
    pub fn members(&self) -> impl Iterator<Item = (Arc<dyn ManagedCache>, Bounds)> + '_ {
        self.caches.iter().map(|c| (c.cache.clone(), c.bounds))
    }
}

impl fmt::Debug for SharedBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedBudget")
            .field("name", &self.name)
            .field("bounds", &self.bounds)
            .field("weight", &self.weight)
            .field("lending", &self.lending)
            .field(
                "caches",
                &self
                    .caches
                    .iter()
                    .map(|c| c.cache.name())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A top-level member as configured: a cache on its own or a shared budget.
#[derive(Clone)]
pub(crate) enum MemberSpec {
    Cache(CacheSpec),
    Shared(SharedBudget),
}

/// The settings a built sizer runs with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    pub(crate) goal_fraction: f64,
    pub(crate) reserve_bytes: u64,
    pub(crate) max_grow_step: Step,
    pub(crate) max_shrink_step: Step,
    pub(crate) smoothing: f64,
    pub(crate) cool_down_nanos: u64,
}

/// Configures a [`Sizer`]; start with [`Sizer::builder`].
///
/// | setting | default | meaning |
/// |---|---|---|
/// | [`goal_fraction`](Self::goal_fraction) | 0.75 | share of the limit the whole process should settle at |
/// | [`reserve_bytes`](Self::reserve_bytes) | 0 | bytes below the goal kept free for the rest of the process |
/// | [`max_grow_step`](Self::max_grow_step) | 5 % of the limit | most the caches together grow in a tick |
/// | [`max_shrink_step`](Self::max_shrink_step) | 25 % of the limit | most the caches together evict in a tick |
/// | [`smoothing`](Self::smoothing) | 0.5 | weight of the new total against the last (EMA alpha; 1 = none) |
/// | [`cool_down`](Self::cool_down) | 10 s | no growth of a cache for this long after it shrank |
/// | [`cache`](Self::cache) | | a cache with its bounds and weight |
/// | [`shared_budget`](Self::shared_budget) | | several caches under one total |
#[derive(Clone)]
pub struct SizerBuilder {
    settings: Settings,
    members: Vec<MemberSpec>,
}

impl fmt::Debug for SizerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SizerBuilder")
            .field("settings", &self.settings)
            .field("members", &self.members.len())
            .finish()
    }
}

impl Default for SizerBuilder {
    fn default() -> Self {
        Self {
            settings: Settings {
                goal_fraction: DEFAULT_GOAL_FRACTION,
                reserve_bytes: 0,
                max_grow_step: DEFAULT_MAX_GROW_STEP,
                max_shrink_step: DEFAULT_MAX_SHRINK_STEP,
                smoothing: DEFAULT_SMOOTHING,
                cool_down_nanos: nanos(DEFAULT_COOL_DOWN),
            },
            members: Vec::new(),
        }
    }
}

/// `d` in nanoseconds, saturating.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl SizerBuilder {
    /// The share of the memory limit the whole process (caches and the rest) should settle at,
    /// in (0, 1] (default 0.75).
    pub fn goal_fraction(mut self, fraction: f64) -> Self {
        self.settings.goal_fraction = fraction;
        self
    }

    /// Bytes below the goal kept free for the rest of the process (default 0).
    pub fn reserve_bytes(mut self, bytes: u64) -> Self {
        self.settings.reserve_bytes = bytes;
        self
    }

    /// The most the caches together grow in a tick (default 5 % of the limit), shared among
    /// the growing ones in proportion to how far each has to go.
    pub fn max_grow_step(mut self, step: Step) -> Self {
        self.settings.max_grow_step = step;
        self
    }

    /// The most the caches together evict in a tick (default 25 % of the limit), shared among
    /// the shrinking ones in proportion to how far each has to go. It counts from what a cache
    /// holds: budget a cache does not use goes at once, since cutting it evicts nothing.
    pub fn max_shrink_step(mut self, step: Step) -> Self {
        self.settings.max_shrink_step = step;
        self
    }

    /// The EMA weight of a newly computed total against the last one, in (0, 1] (default 0.5;
    /// 1 turns smoothing off). A total below the last is taken at once at
    /// [`PressureLevel::High`](cache_traits::PressureLevel::High) and above.
    pub fn smoothing(mut self, alpha: f64) -> Self {
        self.settings.smoothing = alpha;
        self
    }

    /// How long a cache that shrank is not grown (default 10 s; zero turns it off).
    pub fn cool_down(mut self, cool_down: Duration) -> Self {
        self.settings.cool_down_nanos = nanos(cool_down);
        self
    }

    /// Adds a cache with its bounds and its weight among the top-level members.
    pub fn cache(mut self, cache: Arc<dyn ManagedCache>, bounds: Bounds, weight: f64) -> Self {
        self.members.push(MemberSpec::Cache(CacheSpec {
            cache,
            bounds,
            weight,
        }));
        self
    }

    /// Adds a shared budget as one top-level member.
    pub fn shared_budget(mut self, budget: SharedBudget) -> Self {
        self.members.push(MemberSpec::Shared(budget));
        self
    }

    /// Checks the configuration and builds the sizer.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] saying what to change: no caches, an empty shared budget, a name used
    /// twice, a min above a max (or a shared budget whose caches' bounds cannot meet its own),
    /// a weight that is not positive and finite, a fraction outside (0, 1], or a zero step.
    pub fn build(self) -> Result<Sizer, BuildError> {
        self.validate()?;
        Ok(Sizer::new(self.settings, self.members))
    }

    fn validate(&self) -> Result<(), BuildError> {
        let s = &self.settings;
        fraction("goal_fraction", s.goal_fraction)?;
        fraction("smoothing", s.smoothing)?;
        step("max_grow_step", s.max_grow_step)?;
        step("max_shrink_step", s.max_shrink_step)?;
        if self.members.is_empty() {
            return Err(BuildError::NoCaches);
        }
        let mut names = HashSet::new();
        let mut unique = |name: &str| {
            if names.insert(name.to_owned()) {
                Ok(())
            } else {
                Err(BuildError::DuplicateName {
                    name: name.to_owned(),
                })
            }
        };
        for member in &self.members {
            match member {
                MemberSpec::Cache(c) => {
                    unique(c.cache.name())?;
                    cache_spec(c)?;
                }
                MemberSpec::Shared(b) => {
                    unique(&b.name)?;
                    shared_budget(b)?;
                    for c in &b.caches {
                        unique(c.cache.name())?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn fraction(setting: &'static str, value: f64) -> Result<(), BuildError> {
    if value > 0.0 && value <= 1.0 {
        Ok(())
    } else {
        Err(BuildError::Fraction { setting, value })
    }
}

fn step(setting: &'static str, step: Step) -> Result<(), BuildError> {
    match step {
        Step::Bytes(0) => Err(BuildError::ZeroStep { setting }),
        Step::Bytes(_) => Ok(()),
        Step::Fraction(f) => fraction(setting, f),
    }
}

fn bounds_and_weight(member: &str, bounds: Bounds, weight: f64) -> Result<(), BuildError> {
    if bounds.min > bounds.max {
        return Err(BuildError::MinAboveMax {
            member: member.to_owned(),
            min: bounds.min,
            max: bounds.max,
        });
    }
    if !(weight.is_finite() && weight > 0.0) {
        return Err(BuildError::Weight {
            member: member.to_owned(),
            weight,
        });
    }
    Ok(())
}

fn cache_spec(c: &CacheSpec) -> Result<(), BuildError> {
    bounds_and_weight(c.cache.name(), c.bounds, c.weight)
}

fn shared_budget(b: &SharedBudget) -> Result<(), BuildError> {
    if b.caches.is_empty() {
        return Err(BuildError::EmptySharedBudget {
            budget: b.name.clone(),
        });
    }
    bounds_and_weight(&b.name, b.bounds, b.weight)?;
    for c in &b.caches {
        cache_spec(c)?;
    }
    let caches_min = sum(b.caches.iter().map(|c| c.bounds.min));
    let caches_max = sum(b.caches.iter().map(|c| c.bounds.max));
    if caches_min > b.bounds.max || caches_max < b.bounds.min {
        return Err(BuildError::SharedBudgetBounds {
            budget: b.name.clone(),
            bounds: b.bounds,
            caches_min,
            caches_max,
        });
    }
    Ok(())
}

/// The saturating sum of `bytes`.
pub(crate) fn sum(bytes: impl Iterator<Item = u64>) -> u64 {
    bytes.fold(0, u64::saturating_add)
}

#[cfg(test)]
mod tests;

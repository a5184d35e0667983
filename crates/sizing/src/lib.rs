//! Sizing: each cache's byte budget from the memory limit, the pressure level, and configured
//! bounds, weights and shared budgets.
//!
//! A [`Sizer`] holds the caches as `Arc<dyn ManagedCache>`. On every management tick the
//! caller hands it the time from its [`Clock`](cache_traits::Clock), the effective
//! [`MemoryLimit`] with the usage counted against it (for instance
//! [`MemorySample::tightest_limit`](cache_traits::MemorySample::tightest_limit)) and the
//! [`PressureLevel`]; [`Sizer::tick`] calls [`ManagedCache::set_capacity`] on the caches whose
//! budget changes and returns a [`Decision`] for each change and each growth it held back.
//! The sizer holds no lock: it only calls `ManagedCache` methods, on the caller's thread.
//!
//! # The rules, one tick
//!
//! 1. **The caches' total.** With a limit: `limit × goal_fraction − reserve_bytes − (used −
//!    Σ weighted_size)`, that is the goal less the reserve less what the rest of the process
//!    uses (saturating at 0). Without one: the members' max bounds. Either way clamped between
//!    the sums of the top-level members' min and max bounds.
//! 2. **Smoothing.** The total moves from the last one by [`smoothing`](SizerBuilder::smoothing)
//!    of the gap (an EMA); a total below the last is taken at once at
//!    [`PressureLevel::High`] and above. The first tick takes the computed total.
//! 3. **The split.** The total is split among the top-level members (caches and shared
//!    budgets) by weight with water-filling: each gets `clamp(λ · weight, min, max)` for the
//!    `λ` at which the parts add up to the total, so what one cannot take above its max flows
//!    to the others. Mins are floors even when they add up to more than the total. A shared
//!    budget's part is split among its caches the same way, then rebalanced by lending.
//! 4. **Lending inside a shared budget.** A cache that uses less than half its share for
//!    three ticks in a row (its usage smoothed) keeps its usage plus a quarter and lends the
//!    rest to the caches of the budget that are full (≥ 95 % of their capacity), split by
//!    their weights within their max bounds. A loan grows by half the gap each tick; it shrinks
//!    at once, and a lender that fills up gets its whole share back at once. Growth is slow
//!    and giving back is fast, so loans track the lender's usage instead of oscillating.
//!    [`SharedBudget::lending`] turns it off.
//! 5. **Steps.** A cache whose target differs from its capacity by no more than the dead
//!    band (1 % of the capacity or 64 KiB, whichever is larger) is left alone, unless the
//!    target is one of its bounds. The caches together grow by at most
//!    [`max_grow_step`](SizerBuilder::max_grow_step) and evict at most
//!    [`max_shrink_step`](SizerBuilder::max_shrink_step) a tick, shared among the movers in
//!    proportion to how far each has to go; budget above what a cache holds goes at once.
//! 6. **Holds.** No capacity is raised while the level is [`PressureLevel::Elevated`] or
//!    worse ([`Reason::HeldByLevel`]), nor within [`cool_down`](SizerBuilder::cool_down) of
//!    the cache's last shrink, whether the sizer made it or another component did (the sizer
//!    sees the capacity fall; [`Reason::HeldByCoolDown`]). Shrinking is never held.
//!
//! Each decision carries the cache's utility ([`UtilityReading`]): what
//! [`ManagedCache::utility`] reports, or else an estimate from its counters (hits per second
//! per MiB held, between two ticks). The sizer records it for reports; it does not split by it.
//! [`Sizer::members`] shows every cache's capacity, usage, share, target, loan and utility.
//!
//! # Where this departs from the suggested design, and why
//!
//! - The step bounds apply to the capacities, shared among the caches that move, not to the
//!   smoothed total. Step-bounding the total made the split follow the capacities: a cache
//!   holding its full share was cut while a new one grew, only to grow back later.
//! - A shrink step counts evicted bytes (from what a cache holds), so a cache built with
//!   budget far above its entries (or `u64::MAX`) comes down to its target in one tick.
//! - The cool-down is per cache, and a cut made by someone else (a pressure handler) starts it
//!   too.
//! - A fixed shared-budget total ([`SharedBudget::total`]) is the bounds `total..=total`: the
//!   budget gets it first and the other members share the rest, and like any min it is not
//!   cut when memory is short.
//! - Loans are given back at once rather than smoothed: a cache never waits for its own share
//!   beyond its cool-down.
//!
//! Not here: the split by marginal utility, which comes with the advisor's miss-ratio curves.
//!
//! # Examples
//!
//! ```
//! use cache_traits::{
//!     CacheStats, Clock, LimitSource, ManagedCache, ManualClock, MemoryLimit, PressureLevel,
//!     RemovalCause,
//! };
//! use sizing::{Bounds, Reason, SharedBudget, Sizer};
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! struct Fake { name: &'static str, cap: AtomicU64 }
//! impl ManagedCache for Fake {
//!     fn name(&self) -> &str { self.name }
//!     fn stats(&self) -> CacheStats { CacheStats::default() }
//!     fn weighted_size(&self) -> u64 { 0 }
//!     fn entry_count(&self) -> u64 { 0 }
//!     fn capacity(&self) -> u64 { self.cap.load(Ordering::Relaxed) }
//!     fn set_capacity(&self, bytes: u64) { self.cap.store(bytes, Ordering::Relaxed) }
//!     fn evict_bytes(&self, _: u64, _: RemovalCause) -> u64 { 0 }
//! }
//! let cache = |name| Arc::new(Fake { name, cap: AtomicU64::new(0) });
//! let (pages, embeddings, search) = (cache("pages"), cache("embeddings"), cache("search"));
//!
//! const MIB: u64 = 1 << 20;
//! let mut sizer = Sizer::builder()
//!     .reserve_bytes(64 * MIB)
//!     .cache(pages.clone(), Bounds::new(16 * MIB, 256 * MIB), 1.0)
//!     .shared_budget(
//!         SharedBudget::new("query")
//!             .weight(2.0)
//!             .cache(embeddings.clone(), Bounds::default(), 3.0)
//!             .cache(search.clone(), Bounds::default(), 1.0),
//!     )
//!     .build()?;
//!
//! let clock = ManualClock::new();
//! // A 1 GiB cgroup limit of which 200 MiB are used (none by the caches):
//! // 768 − 64 − 200 = 504 MiB for the caches.
//! let limit = MemoryLimit::new(LimitSource::CgroupMax, 1024 * MIB, 200 * MIB);
//! let decisions = sizer.tick(clock.now_nanos(), Some(limit), PressureLevel::Normal);
//! // The first tick grows the caches by 5 % of the limit together, 51.2 MiB.
//! assert!(decisions.iter().all(|d| d.reason == Reason::Grow));
//! assert_eq!(sizer.total_target(), Some(504 * MIB));
//! assert_eq!(pages.capacity() + embeddings.capacity() + search.capacity(), 1024 * MIB / 20);
//!
//! // Under pressure nothing grows.
//! let decisions = sizer.tick(clock.now_nanos(), Some(limit), PressureLevel::Elevated);
//! assert!(decisions.iter().all(|d| d.reason == Reason::HeldByLevel));
//!
//! // In the end: pages 168 MiB, query 336 MiB as 252 MiB and 84 MiB.
//! for _ in 0..20 {
//!     sizer.tick(clock.now_nanos(), Some(limit), PressureLevel::Normal);
//! }
//! assert_eq!(
//!     [pages.capacity(), embeddings.capacity(), search.capacity()],
//!     [168 * MIB, 252 * MIB, 84 * MIB]
//! );
//! # Ok::<(), sizing::BuildError>(())
//! ```

mod config;
mod lending;
mod sizer;
mod split;
#[cfg(test)]
mod testing;
mod utility;

#[doc(inline)]
pub use cache_traits::{ManagedCache, MemoryLimit, PressureLevel, Utility};
pub use config::{
    Bounds, BuildError, DEFAULT_COOL_DOWN, DEFAULT_GOAL_FRACTION, DEFAULT_MAX_GROW_STEP,
    DEFAULT_MAX_SHRINK_STEP, DEFAULT_SMOOTHING, SharedBudget, SizerBuilder, Step,
};
pub use sizer::{DEAD_BAND_BYTES, DEAD_BAND_FRACTION, Decision, MemberView, Reason, Sizer};
pub use utility::{UtilityReading, UtilitySource};

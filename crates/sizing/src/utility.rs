//! The utility a decision records: the cache's own figure, or an estimate from its counters.

use cache_traits::Utility;

/// Bytes in a MiB.
const MIB: f64 = (1u64 << 20) as f64;

/// Where a [`UtilityReading`] came from.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UtilitySource {
    /// The cache's [`ManagedCache::utility`](cache_traits::ManagedCache::utility).
    Cache,
    /// The sizer's estimate from the cache's hit counter: hits per second per MiB held, for
    /// both gain and loss.
    Estimate,
}

impl UtilitySource {
    /// A short lowercase name for reports: `cache` or `estimate`.
    pub fn as_str(self) -> &'static str {
        match self {
            UtilitySource::Cache => "cache",
            UtilitySource::Estimate => "estimate",
        }
    }
}

/// A cache's marginal utility as the sizer saw it on a tick, and where it came from.
///
/// The sizer records it for reports; it does not split by it (that comes with the advisor's
/// miss-ratio curves).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UtilityReading {
    /// Hits per second gained and lost per MiB around the current capacity.
    pub utility: Utility,
    /// Where it came from.
    pub source: UtilitySource,
}

impl UtilityReading {
    /// A reading of `utility` from `source`.
    pub fn new(utility: Utility, source: UtilitySource) -> Self {
        Self { utility, source }
    }
}

/// The hit counter at the last tick, for the estimate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HitSample {
    pub(crate) hits: u64,
    pub(crate) at_nanos: u64,
}

/// Hits per second per MiB held between `before` and `now`, for both gain and loss.
///
/// `None` when no time passed, the counter went backwards (the cache was rebuilt) or the cache
/// holds nothing (per MiB of nothing means nothing).
pub(crate) fn estimate(before: HitSample, now: HitSample, weighted_size: u64) -> Option<Utility> {
    let elapsed_nanos = now.at_nanos.checked_sub(before.at_nanos)?;
    let hits = now.hits.checked_sub(before.hits)?;
    if elapsed_nanos == 0 || weighted_size == 0 {
        return None;
    }
    let per_second = hits as f64 / (elapsed_nanos as f64 / 1e9);
    let per_mib = per_second / (weighted_size as f64 / MIB);
    Some(Utility::new(per_mib, per_mib))
}

#[cfg(test)]
mod tests;

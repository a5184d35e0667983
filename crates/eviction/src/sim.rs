//! The trace simulator: replays a [`Trace`] against any [`EvictionPolicy`], or against
//! Belady's offline optimum.
//!
//! The simulator plays the part of the cache: it maps keys to dense slot ids, charges each
//! entry its weight (1 per request in unit traces, the object size in sized ones), and asks the
//! policy for victims while the weighted size is over the capacity. Capacity is therefore in
//! entries for unit traces and in bytes for sized traces.
//!
//! # Examples
//!
//! ```
//! use eviction::sim::{Belady, PolicyKind};
//! use eviction::trace::{Trace, TraceFormat};
//!
//! let trace = Trace::parse(b"1\n2\n3\n1\n2\n3\n", TraceFormat::Lirs)?;
//! assert_eq!(PolicyKind::Lru.run(&trace, 2).hits, 0);
//! assert_eq!(Belady::new(&trace).simulate(2).hits, 2);
//! # Ok::<(), eviction::trace::TraceError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use cache_traits::EvictionPolicy;

use crate::hash::mix64;
use crate::trace::Trace;

mod opt;

pub use opt::Belady;

/// What one simulation counted.
///
/// # Examples
///
/// ```
/// use eviction::{Lru, sim::simulate, trace::Trace};
///
/// let r = simulate(&Trace::from_keys(vec![1, 1, 1, 2]), &mut Lru::new(), 10);
/// assert_eq!((r.requests, r.hits), (4, 2));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimResult {
    /// Requests replayed.
    pub requests: u64,
    /// Requests that found their key resident.
    pub hits: u64,
}

impl SimResult {
    /// Hits as a percentage of requests (0 for an empty trace).
    ///
    /// # Examples
    ///
    /// ```
    /// let r = eviction::sim::SimResult { requests: 8, hits: 2 };
    /// assert_eq!(r.hit_ratio(), 25.0);
    /// ```
    pub fn hit_ratio(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            100.0 * self.hits as f64 / self.requests as f64
        }
    }
}

/// Replays `trace` against `policy` in a cache of `capacity` (entries, or bytes for sized traces).
///
/// The policy is cleared and told the capacity first. A request whose key is resident is a hit
/// ([`EvictionPolicy::on_access`]); otherwise the key is inserted and the policy evicts until the
/// weighted size fits. A policy may reject the newcomer by returning its slot.
///
/// # Examples
///
/// ```
/// use eviction::{Lru, sim::simulate, trace::Trace};
///
/// let trace = Trace::from_keys(vec![1, 2, 1, 3, 1, 2]);
/// let r = simulate(&trace, &mut Lru::new(), 2);
/// assert_eq!((r.requests, r.hits), (6, 2));
/// ```
pub fn simulate<P: EvictionPolicy + ?Sized>(
    trace: &Trace,
    policy: &mut P,
    capacity: u64,
) -> SimResult {
    policy.clear();
    policy.set_capacity(capacity);
    // Key → slot through the trace's dense key ids: no hash map on the replay path.
    const ABSENT: u32 = u32::MAX;
    let ids = trace.key_ids();
    let mut slot_of: Vec<u32> = vec![ABSENT; trace.unique_keys()];
    let mut slot_id: Vec<u32> = Vec::new();
    let mut slot_weight: Vec<u64> = Vec::new();
    let mut free: Vec<u32> = Vec::new();
    let mut used = 0u64;
    let mut hits = 0u64;
    let weighted = trace.is_weighted();
    for (i, (&key, &id)) in trace.keys().iter().zip(ids).enumerate() {
        let hash = mix64(key);
        let weight = trace.weight(i);
        let slot = slot_of[id as usize];
        if slot != ABSENT {
            hits += 1;
            let old = slot_weight[slot as usize];
            if weighted && old != weight {
                slot_weight[slot as usize] = weight;
                used = used - old + weight;
                policy.on_update(slot, hash, old, weight);
            } else {
                policy.on_access(slot, hash);
                continue;
            }
        } else {
            let slot = match free.pop() {
                Some(s) => s,
                None => {
                    slot_id.push(0);
                    slot_weight.push(0);
                    (slot_id.len() - 1) as u32
                }
            };
            slot_of[id as usize] = slot;
            slot_id[slot as usize] = id;
            slot_weight[slot as usize] = weight;
            used += weight;
            policy.on_insert(slot, hash, weight);
        }
        while used > capacity {
            let Some(victim) = policy.evict() else { break };
            let v = victim as usize;
            slot_of[slot_id[v] as usize] = ABSENT;
            used -= slot_weight[v];
            slot_weight[v] = 0;
            free.push(victim);
        }
    }
    SimResult {
        requests: trace.len() as u64,
        hits,
    }
}

/// The policies the simulator knows by name.
///
/// # Examples
///
/// ```
/// use eviction::{sim::PolicyKind, trace::Trace};
///
/// let trace = Trace::from_keys((0..100).map(|i| i % 10).collect());
/// for &kind in PolicyKind::ALL {
///     assert_eq!(kind.run(&trace, 10).hits, 90, "{kind}");
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PolicyKind {
    /// [`crate::Lru`].
    Lru,
    /// [`crate::Lfu`].
    Lfu,
    /// [`crate::Hybrid`]: W-TinyLFU with LRU segments and an adaptive window.
    Hybrid,
    /// [`crate::ClockTinyLfu`], the default: W-TinyLFU on CLOCK, with an adaptive window.
    ClockTinyLfu,
    /// [`crate::S3Fifo`].
    S3Fifo,
    /// [`crate::Sieve`].
    Sieve,
    /// [`crate::ArcPolicy`].
    Arc,
    /// Belady's offline optimum with bypass ([`Belady`]).
    Opt,
}

impl PolicyKind {
    /// The policy `default` names: the one the cache uses unless told otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(eviction::sim::PolicyKind::DEFAULT.name(), "clock-tinylfu");
    /// ```
    pub const DEFAULT: PolicyKind = PolicyKind::ClockTinyLfu;

    /// Every online policy, then OPT.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(eviction::sim::PolicyKind::ALL.last().map(|p| p.name()), Some("opt"));
    /// ```
    pub const ALL: &'static [PolicyKind] = &[
        PolicyKind::Lru,
        PolicyKind::Lfu,
        PolicyKind::Hybrid,
        PolicyKind::ClockTinyLfu,
        PolicyKind::S3Fifo,
        PolicyKind::Sieve,
        PolicyKind::Arc,
        PolicyKind::Opt,
    ];

    /// The name `--policy` takes.
    ///
    /// # Examples
    ///
    /// ```
    /// use eviction::sim::PolicyKind;
    ///
    /// assert_eq!(PolicyKind::Lru.name(), "lru");
    /// assert_eq!("lru".parse::<PolicyKind>(), Ok(PolicyKind::Lru));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Lru => "lru",
            PolicyKind::Lfu => "lfu",
            PolicyKind::Hybrid => "hybrid",
            PolicyKind::ClockTinyLfu => "clock-tinylfu",
            PolicyKind::S3Fifo => "s3fifo",
            PolicyKind::Sieve => "sieve",
            PolicyKind::Arc => "arc",
            PolicyKind::Opt => "opt",
        }
    }

    /// Replays `trace` at `capacity` with a fresh policy of this kind.
    ///
    /// # Examples
    ///
    /// ```
    /// use eviction::{sim::PolicyKind, trace::Trace};
    ///
    /// let trace = Trace::from_keys(vec![1, 2, 3, 1, 2, 3]);
    /// assert_eq!(PolicyKind::Lru.run(&trace, 2).hits, 0);
    /// assert_eq!(PolicyKind::Opt.run(&trace, 2).hits, 2);
    /// ```
    pub fn run(self, trace: &Trace, capacity: u64) -> SimResult {
        match self {
            PolicyKind::Lru => simulate(trace, &mut crate::Lru::new(), capacity),
            PolicyKind::Lfu => simulate(trace, &mut crate::Lfu::new(), capacity),
            PolicyKind::Hybrid => simulate(trace, &mut crate::Hybrid::new(), capacity),
            PolicyKind::ClockTinyLfu => simulate(trace, &mut crate::ClockTinyLfu::new(), capacity),
            PolicyKind::S3Fifo => simulate(trace, &mut crate::S3Fifo::new(), capacity),
            PolicyKind::Sieve => simulate(trace, &mut crate::Sieve::new(), capacity),
            PolicyKind::Arc => simulate(trace, &mut crate::ArcPolicy::new(), capacity),
            PolicyKind::Opt => Belady::new(trace).simulate(capacity),
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--policy` name that is not a [`PolicyKind`].
///
/// # Examples
///
/// ```
/// let err = "mru".parse::<eviction::sim::PolicyKind>().unwrap_err();
/// assert!(err.to_string().starts_with("unknown policy `mru`"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPolicy(pub String);

impl fmt::Display for UnknownPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown policy `{}`; use one of ", self.0)?;
        for (i, p) in PolicyKind::ALL.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{p}")?;
        }
        f.write_str(" or default")
    }
}

impl std::error::Error for UnknownPolicy {}

impl FromStr for PolicyKind {
    type Err = UnknownPolicy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        PolicyKind::ALL
            .iter()
            .copied()
            .find(|p| p.name() == lower)
            .ok_or_else(|| UnknownPolicy(s.to_owned()))
    }
}

#[cfg(test)]
mod tests;

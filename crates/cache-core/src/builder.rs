//! `CacheBuilder`: every setting of a cache, checked once at `build()`.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use cache_traits::{
    CacheObserver, Clock, EvictionPolicy, Reclaim, RemovalCause, SystemClock, Weigher,
};
use hashbrown::DefaultHashBuilder;

use crate::cache::{Cache, Listener};

/// Configures and builds a [`Cache`].
///
/// Obtained from [`Cache::builder`] (weighing entries by [`cache_traits::HeapSize`]) or
/// [`Cache::builder_with_weigher`]. At least one bound, [`max_bytes`](Self::max_bytes) or
/// [`max_entries`](Self::max_entries), is required.
///
/// # Examples
///
/// ```
/// use cache_core::Cache;
/// use eviction::Lru;
/// use std::time::Duration;
///
/// let cache: Cache<u64, String, Lru> = Cache::builder()
///     .max_bytes(64 << 20)
///     .time_to_live(Duration::from_secs(300))
///     .build()
///     .unwrap();
/// cache.insert(1, "one".to_string());
/// assert_eq!(cache.get(&1).as_deref(), Some("one"));
/// ```
#[must_use = "a builder does nothing until `build()` is called"]
pub struct CacheBuilder<K, V, P, S = DefaultHashBuilder> {
    pub(crate) max_bytes: Option<u64>,
    pub(crate) max_entries: Option<u64>,
    pub(crate) time_to_live: Option<Duration>,
    pub(crate) time_to_idle: Option<Duration>,
    pub(crate) shards: Option<usize>,
    pub(crate) name: String,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) weigher: Box<dyn Weigher<K, V>>,
    pub(crate) policy: Box<dyn Fn() -> P + Send + Sync>,
    pub(crate) listener: Option<Listener<K, V>>,
    pub(crate) reclaimer: Option<Arc<dyn Reclaim<(K, V)>>>,
    pub(crate) observer: Option<Arc<dyn CacheObserver<K>>>,
    pub(crate) hasher: S,
}

impl<K, V, P: EvictionPolicy + Default + 'static> CacheBuilder<K, V, P> {
    pub(crate) fn new(weigher: Box<dyn Weigher<K, V>>) -> Self {
        Self {
            max_bytes: None,
            max_entries: None,
            time_to_live: None,
            time_to_idle: None,
            shards: None,
            name: "cache".to_string(),
            clock: Arc::new(SystemClock),
            weigher,
            policy: Box::new(P::default),
            listener: None,
            reclaimer: None,
            observer: None,
            hasher: DefaultHashBuilder::default(),
        }
    }
}

impl<K, V, P, S> CacheBuilder<K, V, P, S> {
    /// The byte budget: each entry is charged its weigher's bytes plus the cache's own
    /// per-entry overhead ([`Cache::entry_overhead`]).
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = Some(bytes);
        self
    }

    /// The most entries the cache holds, whatever their weight.
    pub fn max_entries(mut self, entries: u64) -> Self {
        self.max_entries = Some(entries);
        self
    }

    /// Entries expire this long after they were inserted (or last replaced).
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.time_to_live = Some(ttl);
        self
    }

    /// Entries expire when not read for this long.
    pub fn time_to_idle(mut self, tti: Duration) -> Self {
        self.time_to_idle = Some(tti);
        self
    }

    /// The number of shards (a power of two). The default grows with the number of cores and
    /// shrinks for small caches, so that each shard holds enough entries to evict well.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// A name for reports and the [`cache_traits::ManagedCache`] view.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The clock for expiry and load timing (a [`cache_traits::ManualClock`] in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the weigher: how many heap bytes an entry's key and value own.
    pub fn weigher(mut self, weigher: impl Weigher<K, V> + 'static) -> Self {
        self.weigher = Box::new(weigher);
        self
    }

    /// How each shard's policy is made (the default is `P::default()`).
    pub fn policy(mut self, make: impl Fn() -> P + Send + Sync + 'static) -> Self {
        self.policy = Box::new(make);
        self
    }

    /// Called for every entry that leaves the cache, with the cause, after the shard lock is
    /// released. A panic in the listener does not disturb the cache: the other removals are
    /// still delivered, then the panic resumes in the caller whose operation removed the entry.
    pub fn eviction_listener(
        mut self,
        listener: impl Fn(&K, &V, RemovalCause) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }

    /// Hands every removed `(key, value)` to `reclaimer` (for example `gc-coord`'s background
    /// dropper) instead of dropping it on the caller's thread.
    pub fn reclaimer(mut self, reclaimer: Arc<dyn Reclaim<(K, V)>>) -> Self {
        self.reclaimer = Some(reclaimer);
        self
    }

    /// Reports the cache's operations to `observer` (for example the `profiler` crate's
    /// `Profiler`): sampled reads and inserts and their latency, every load, and the removals
    /// of the entries it tracks (sampled and heavy inserts). A read or insert it does not
    /// sample costs what it costs without an observer: a countdown under the shard's lock
    /// decides, and asks [`CacheObserver::sample`] when it runs out.
    pub fn observer(mut self, observer: Arc<dyn CacheObserver<K>>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Replaces the hasher (the default is hashbrown's randomly seeded foldhash).
    ///
    /// The hash must spread over all 64 bits: bits 32 and up pick the shard, the low bits the
    /// table bucket, and the top seven the table's tag. An identity hash of small integers
    /// (as `nohash`-style hashers give) puts every key in one shard with one tag.
    pub fn hasher<S2: BuildHasher>(self, hasher: S2) -> CacheBuilder<K, V, P, S2> {
        CacheBuilder {
            max_bytes: self.max_bytes,
            max_entries: self.max_entries,
            time_to_live: self.time_to_live,
            time_to_idle: self.time_to_idle,
            shards: self.shards,
            name: self.name,
            clock: self.clock,
            weigher: self.weigher,
            policy: self.policy,
            listener: self.listener,
            reclaimer: self.reclaimer,
            observer: self.observer,
            hasher,
        }
    }

    /// Checks the settings and builds the cache.
    ///
    /// # Errors
    ///
    /// [`BuildError`] when no bound is set, a bound or duration is zero, the shard count is not
    /// a power of two or exceeds `max_entries`, or the byte budget cannot hold one entry per
    /// shard.
    pub fn build(self) -> Result<Cache<K, V, P, S>, BuildError>
    where
        P: EvictionPolicy,
        S: BuildHasher,
    {
        Cache::from_builder(self)
    }
}

/// A setting that cannot work; the message says what to change.
///
/// # Examples
///
/// ```
/// use cache_core::{BuildError, Cache};
/// let err = Cache::<u64, u64, eviction::Lru>::builder().build().unwrap_err();
/// assert_eq!(err, BuildError::NoBound);
/// assert!(err.to_string().contains("max_bytes"));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// Neither `max_bytes` nor `max_entries` was set.
    NoBound,
    /// A bound (`max_bytes` or `max_entries`) was zero.
    ZeroBound(&'static str),
    /// A duration (`time_to_live` or `time_to_idle`) was zero.
    ZeroDuration(&'static str),
    /// The shard count was zero, not a power of two, or above the limit.
    BadShards(usize),
    /// More shards were set than `max_entries`: some shard could hold no entry.
    MoreShardsThanEntries {
        /// The shard count that was set.
        shards: usize,
        /// The entry bound that was set.
        max_entries: u64,
    },
    /// The byte budget is too small for one entry in each shard.
    BudgetTooSmall {
        /// The budget that was set.
        max_bytes: u64,
        /// The smallest budget that works with this shard count.
        needed: u64,
    },
}

/// The most shards a cache may have.
pub(crate) const MAX_SHARDS: usize = 4096;

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::NoBound => f.write_str(
                "the cache has no bound: set max_bytes (a byte budget) or max_entries, or both",
            ),
            BuildError::ZeroBound(what) => {
                write!(
                    f,
                    "{what} is zero: set it above zero, or leave it unset for no such bound"
                )
            }
            BuildError::ZeroDuration(what) => write!(
                f,
                "{what} is zero, so every entry would expire at once: set it above zero, or leave it unset for entries that never expire"
            ),
            BuildError::BadShards(n) => write!(
                f,
                "shards is {n}: use a power of two from 1 to {MAX_SHARDS}, or leave it unset for the default"
            ),
            BuildError::MoreShardsThanEntries {
                shards,
                max_entries,
            } => write!(
                f,
                "shards is {shards} but max_entries is {max_entries}, so some shard could hold no entry: set at most {max_entries} shards, or leave shards unset"
            ),
            BuildError::BudgetTooSmall { max_bytes, needed } => write!(
                f,
                "max_bytes is {max_bytes}, too small for one entry per shard: raise it to at least {needed}, or set fewer shards"
            ),
        }
    }
}

impl std::error::Error for BuildError {}

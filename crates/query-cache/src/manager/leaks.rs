//! The manager's feed of the leak detector: one observation a second from the tick's sample,
//! the caches' charged and evicted bytes, and the profiles' estimates of real bytes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use cache_traits::{ManagedCache, MemorySample, RemovalCause};
use leak_detector::{CacheFigures, LeakDetector, Observation};

/// Figures a profiler measured for one cache, which the leak detector compares with the
/// cache's budget: implemented by every [`profiler::Profiler`] (feature `profiler`).
pub trait ProfileFigures: Send + Sync {
    /// The profiled cache's name (as its [`ManagedCache::name`]).
    fn cache_name(&self) -> &str;
    /// How many bytes the cache's values really take for each byte it charges, where measured,
    /// and the bytes held by entries never read since they were stored, where known (read
    /// together, once a second; cheap).
    fn memory_estimates(&self) -> (Option<f64>, Option<u64>);
}

#[cfg(feature = "profiler")]
impl<K: ?Sized + Send + Sync> ProfileFigures for profiler::Profiler<K> {
    fn cache_name(&self) -> &str {
        self.name()
    }

    fn memory_estimates(&self) -> (Option<f64>, Option<u64>) {
        profiler::Profiler::memory_estimates(self)
    }
}

/// Least time between two observations: the detector's windows count samples of about a
/// second, and a tick a little early (a 1 s tick's jitter) must not skip one.
const EVERY_NANOS: u64 = 900_000_000;

pub(crate) struct LeakFeed {
    pub(crate) detector: Arc<LeakDetector>,
    pub(crate) profiles: Vec<Arc<dyn ProfileFigures>>,
    last: Option<u64>,
}

impl LeakFeed {
    pub(crate) fn new(detector: Arc<LeakDetector>, profiles: Vec<Arc<dyn ProfileFigures>>) -> Self {
        Self {
            detector,
            profiles,
            last: None,
        }
    }

    /// Feeds one observation when a second has passed since the last one.
    pub(crate) fn feed(
        &mut self,
        now_nanos: u64,
        sample: &MemorySample,
        limit: Option<u64>,
        caches: &[Arc<dyn ManagedCache>],
    ) {
        if self
            .last
            .is_some_and(|last| now_nanos.saturating_sub(last) < EVERY_NANOS)
        {
            return;
        }
        self.last = Some(now_nanos);
        let mut obs = Observation::at(now_nanos as f64 / 1e9);
        if let Some(heap) = sample.allocator.allocated {
            obs = obs.heap_bytes(heap);
        }
        if let Some(rss) = sample.process_rss {
            obs = obs.resident_bytes(rss);
        }
        if let Some(limit) = limit {
            obs = obs.limit_bytes(limit);
        }
        let (mut charged, mut removed) = (0u64, 0u64);
        for cache in caches {
            // A cache whose methods panic is left out of this observation.
            let Ok((figures, bytes, gone)) = catch_unwind(AssertUnwindSafe(|| {
                let stats = cache.stats();
                let gone: u64 = RemovalCause::ALL
                    .iter()
                    .map(|c| stats.removed_weight_of(*c))
                    .sum();
                let bytes = cache.weighted_size();
                let mut figures =
                    CacheFigures::new(cache.name(), bytes).budget_bytes(cache.capacity());
                if let Some(profile) = self
                    .profiles
                    .iter()
                    .find(|p| p.cache_name() == cache.name())
                {
                    let (ratio, unread) = profile.memory_estimates();
                    if let Some(ratio) = ratio.filter(|r| r.is_finite()) {
                        // The cache's exact charge times what each charged byte really takes.
                        figures = figures.real_bytes((bytes as f64 * ratio) as u64);
                    }
                    if let Some(unread) = unread {
                        figures = figures.unread_bytes(unread);
                    }
                }
                (figures, bytes, gone)
            })) else {
                continue;
            };
            charged += bytes;
            removed += gone;
            obs = obs.cache(figures);
        }
        obs = obs.cache_bytes(charged).evicted_bytes_total(removed);
        let _ = catch_unwind(AssertUnwindSafe(|| self.detector.observe(obs)));
    }
}

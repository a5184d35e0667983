//! How a profiler is set up: its [`Mode`], its builder and the errors the builder returns.

use std::fmt;
use std::sync::Arc;

use cache_traits::{Clock, MemoryProbe, SystemClock};

use crate::profiler::{NamespaceFn, Profiler};

#[cfg(test)]
mod tests;

/// How many reads and inserts a profiler samples and times.
///
/// Loads are reported every time whatever the mode (except [`Off`](Mode::Off)); the mode
/// decides which reads are reported and timed, and which inserts are timed and tracked until
/// they leave (the cache also tracks every insert of at least 1/64 of its shard's budget).
///
/// The default, one in 256, costs a cache's read-through path 1.3 % more instructions, within
/// the noise of its measured throughput (`docs/BENCHMARKS.md`). Per-namespace entries and bytes are then
/// estimated from about one entry in 256, with a relative error near `1/√n` for `n` tracked
/// entries: a smaller period, or [`On`](Mode::On), for small caches or small namespaces.
///
/// # Examples
///
/// ```
/// use profiler::Mode;
/// assert_eq!(Mode::default(), Mode::Sampled { period: 256 });
/// assert_eq!(Mode::On.period(), 1);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Records nothing: every callback returns at once. Entry and byte counts resume from
    /// where they stood when profiling is turned back on, so they miss what happened meanwhile.
    Off,
    /// Every read and insert is sampled and timed.
    On,
    /// About one read or insert in `period` is sampled and timed (the gaps between samples
    /// are random with mean `period`, so that periodic access patterns do not alias); every
    /// sampled read counts as `period` reads in the estimates.
    Sampled {
        /// The mean number of operations per sample; at least 1 (`1` is the same as
        /// [`On`](Mode::On)).
        period: u32,
    },
}

impl Default for Mode {
    /// `Sampled { period: 256 }`.
    fn default() -> Self {
        Mode::Sampled { period: 256 }
    }
}

impl Mode {
    /// The sampling period: 0 for [`Off`](Mode::Off), 1 for [`On`](Mode::On).
    pub fn period(self) -> u32 {
        match self {
            Mode::Off => 0,
            Mode::On => 1,
            Mode::Sampled { period } => period,
        }
    }

    /// The mode a period stands for (the inverse of [`period`](Self::period)).
    pub(crate) fn from_period(period: u32) -> Self {
        match period {
            0 => Mode::Off,
            1 => Mode::On,
            period => Mode::Sampled { period },
        }
    }

    /// `off`, `on` or `sampled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::On => "on",
            Mode::Sampled { .. } => "sampled",
        }
    }

    pub(crate) fn check(self) -> Result<u32, ProfilerError> {
        match self {
            Mode::Sampled { period: 0 } => Err(ProfilerError::ZeroSamplingPeriod),
            mode => Ok(mode.period()),
        }
    }
}

/// Why a profiler could not be built or reconfigured.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfilerError {
    /// [`Mode::Sampled`] with a period of 0.
    ZeroSamplingPeriod,
    /// [`ProfilerBuilder::top_keys`] of 0.
    ZeroTopKeys,
    /// `ProfilerBuilder::backtrace_period` of 0 (feature `backtraces`).
    ZeroBacktracePeriod,
}

impl fmt::Display for ProfilerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProfilerError::ZeroSamplingPeriod => {
                "sampling period is 0: use Mode::Sampled with a period of at least 1, or Mode::Off"
            }
            ProfilerError::ZeroTopKeys => "top_keys is 0: set top_keys to at least 1",
            ProfilerError::ZeroBacktracePeriod => {
                "backtrace_period is 0: set backtrace_period to at least 1"
            }
        })
    }
}

impl std::error::Error for ProfilerError {}

/// Builds a [`Profiler`]; made by [`Profiler::builder`].
#[must_use]
pub struct ProfilerBuilder<K: ?Sized> {
    pub(crate) name: String,
    pub(crate) namespace: Option<NamespaceFn<K>>,
    pub(crate) mode: Mode,
    pub(crate) probe: Option<Arc<dyn MemoryProbe>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) top_keys: usize,
    pub(crate) backtrace_period: u32,
}

impl<K: ?Sized> fmt::Debug for ProfilerBuilder<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfilerBuilder")
            .field("name", &self.name)
            .field("namespace", &self.namespace.is_some())
            .field("mode", &self.mode)
            .field("probe", &self.probe.is_some())
            .field("clock", &self.clock)
            .field("top_keys", &self.top_keys)
            .field("backtrace_period", &self.backtrace_period)
            .finish()
    }
}

impl<K: ?Sized> Default for ProfilerBuilder<K> {
    fn default() -> Self {
        Self {
            name: "cache".to_owned(),
            namespace: None,
            mode: Mode::default(),
            probe: None,
            clock: Arc::new(SystemClock),
            top_keys: 10,
            backtrace_period: 64,
        }
    }
}

impl<K: ?Sized> ProfilerBuilder<K> {
    /// The name of the profiled cache, used in the report section's id (`profile.<name>`) and
    /// as the `cache` label; `"cache"` by default.
    pub fn name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.name);
        self
    }

    /// Maps each key to its namespace (a key group: a table, a query kind); every key is in
    /// `"default"` without it.
    ///
    /// At most 64 distinct namespaces are kept; keys of any further one count in `"other"`.
    /// The closure runs on the cache's threads on every insert, removal, load and sampled read,
    /// so it should be cheap. If it panics, the panic reaches the caller of the cache operation
    /// and the profiler stays consistent (it is called before any state is touched).
    pub fn namespace(mut self, f: impl Fn(&K) -> &'static str + Send + Sync + 'static) -> Self {
        self.namespace = Some(Box::new(f));
        self
    }

    /// How many reads and inserts to sample; [`Mode::Sampled`] `{ period: 256 }` by default.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The probe whose per-thread allocation counters
    /// ([`MemoryProbe::thread_allocations`]) measure what loads allocate and what dropping
    /// evicted values frees; without one those figures are unknown.
    pub fn probe(mut self, probe: Arc<dyn MemoryProbe>) -> Self {
        self.probe = Some(probe);
        self
    }

    /// The clock for churn rates; [`SystemClock`] by default.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How many hot and heavy keys to report; 10 by default. The profiler counts 8× as many
    /// candidates for hot keys; heavy keys are the heaviest of the tracked entries.
    pub fn top_keys(mut self, n: usize) -> Self {
        self.top_keys = n;
        self
    }

    /// Captures a backtrace on one load in `period` (64 by default) to attribute loaded bytes
    /// to call sites.
    #[cfg(feature = "backtraces")]
    pub fn backtrace_period(mut self, period: u32) -> Self {
        self.backtrace_period = period;
        self
    }

    /// Builds the profiler, ready to be handed to a cache as its
    /// `Arc<dyn CacheObserver<K>>` and to a reporter as a `ReportSource`.
    ///
    /// # Errors
    ///
    /// [`ProfilerError::ZeroSamplingPeriod`] for `Mode::Sampled { period: 0 }`,
    /// [`ProfilerError::ZeroTopKeys`] for `top_keys(0)`, and
    /// [`ProfilerError::ZeroBacktracePeriod`] for `backtrace_period(0)`.
    pub fn build(self) -> Result<Arc<Profiler<K>>, ProfilerError> {
        self.mode.check()?;
        if self.top_keys == 0 {
            return Err(ProfilerError::ZeroTopKeys);
        }
        if self.backtrace_period == 0 {
            return Err(ProfilerError::ZeroBacktracePeriod);
        }
        Ok(Arc::new(Profiler::new(self)))
    }
}

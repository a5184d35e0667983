//! The input: one reading of the process's and the caches' memory at a time.

/// One reading over time. Every figure may be unknown.
///
/// # Examples
///
/// ```
/// use leak_detector::{CacheFigures, Observation};
/// let obs = Observation::at(12.0)
///     .heap_bytes(900 << 20)
///     .cache_bytes(600 << 20)
///     .evicted_bytes_total(4 << 20)
///     .cache(CacheFigures::new("results", 600 << 20).budget_bytes(640 << 20));
/// assert_eq!(obs.heap_bytes, Some(900 << 20));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    /// When, in seconds on any clock that only goes forward.
    pub t_seconds: f64,
    /// The allocator's allocated bytes (jemalloc `stats.allocated`).
    pub heap_bytes: Option<u64>,
    /// The process's resident set.
    pub resident_bytes: Option<u64>,
    /// The bytes the caches charge (the sum of their weighted sizes).
    pub cache_bytes: Option<u64>,
    /// The cumulative bytes the caches evicted or removed.
    pub evicted_bytes_total: Option<u64>,
    /// The memory limit the process must stay under (cgroup or configured), where known.
    pub limit_bytes: Option<u64>,
    /// Per-cache detail, where known.
    pub caches: Vec<CacheFigures>,
}

impl Observation {
    /// A reading at `t_seconds` with every figure unknown.
    pub fn at(t_seconds: f64) -> Self {
        Self {
            t_seconds,
            ..Self::default()
        }
    }

    /// Sets the allocator's allocated bytes.
    pub fn heap_bytes(mut self, v: u64) -> Self {
        self.heap_bytes = Some(v);
        self
    }

    /// Sets the resident set.
    pub fn resident_bytes(mut self, v: u64) -> Self {
        self.resident_bytes = Some(v);
        self
    }

    /// Sets the bytes the caches charge.
    pub fn cache_bytes(mut self, v: u64) -> Self {
        self.cache_bytes = Some(v);
        self
    }

    /// Sets the cumulative evicted bytes.
    pub fn evicted_bytes_total(mut self, v: u64) -> Self {
        self.evicted_bytes_total = Some(v);
        self
    }

    /// Sets the memory limit.
    pub fn limit_bytes(mut self, v: u64) -> Self {
        self.limit_bytes = Some(v);
        self
    }

    /// Adds one cache's figures.
    pub fn cache(mut self, figures: CacheFigures) -> Self {
        self.caches.push(figures);
        self
    }
}

/// One cache's figures in an [`Observation`].
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheFigures {
    /// The cache's name.
    pub name: String,
    /// The bytes the cache charges (its weighted size).
    pub charged_bytes: u64,
    /// The cache's byte budget (capacity), where known.
    pub budget_bytes: Option<u64>,
    /// The bytes the cache's values really occupy where a profiler measured it
    /// (allocator-measured), else `None`.
    pub real_bytes: Option<u64>,
    /// The bytes held by entries never read since insertion, where known.
    pub unread_bytes: Option<u64>,
}

impl CacheFigures {
    /// A cache's figures with only its charged bytes known.
    pub fn new(name: impl Into<String>, charged_bytes: u64) -> Self {
        Self {
            name: name.into(),
            charged_bytes,
            ..Self::default()
        }
    }

    /// Sets the budget.
    pub fn budget_bytes(mut self, v: u64) -> Self {
        self.budget_bytes = Some(v);
        self
    }

    /// Sets the measured real bytes.
    pub fn real_bytes(mut self, v: u64) -> Self {
        self.real_bytes = Some(v);
        self
    }

    /// Sets the bytes held by entries never read.
    pub fn unread_bytes(mut self, v: u64) -> Self {
        self.unread_bytes = Some(v);
        self
    }
}

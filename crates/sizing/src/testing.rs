//! A fake [`ManagedCache`] for the unit tests: atomics a test sets and reads.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use cache_traits::{CacheStats, ManagedCache, RemovalCause, Utility};

/// A cache that holds `size` bytes of a `cap` budget and counts its `set_capacity` calls.
#[derive(Debug)]
pub(crate) struct Fake {
    name: String,
    cap: AtomicU64,
    size: AtomicU64,
    hits: AtomicU64,
    sets: AtomicU64,
    /// A floor the cache keeps whatever it is given, like cache-core's per-shard minimum.
    floor: u64,
    utility: Mutex<Option<Utility>>,
    /// Every read panics, as a misbehaving cache's might.
    panics: std::sync::atomic::AtomicBool,
}

impl Fake {
    /// A cache named `name` with a budget of `cap` bytes holding `size`.
    pub(crate) fn new(name: &str, cap: u64, size: u64) -> Arc<Self> {
        Self::with_floor(name, cap, size, 0)
    }

    /// Like [`new`](Self::new), keeping at least `floor` bytes of capacity.
    pub(crate) fn with_floor(name: &str, cap: u64, size: u64, floor: u64) -> Arc<Self> {
        Arc::new(Self {
            name: name.to_owned(),
            cap: AtomicU64::new(cap),
            size: AtomicU64::new(size),
            hits: AtomicU64::new(0),
            sets: AtomicU64::new(0),
            floor,
            utility: Mutex::new(None),
            panics: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Sets the bytes held, even above the capacity.
    pub(crate) fn hold(&self, bytes: u64) {
        self.size.store(bytes, Ordering::SeqCst);
    }

    /// Fills the cache to its capacity, as a busy cache does.
    pub(crate) fn fill(&self) {
        self.hold(self.cap());
    }

    /// Changes the capacity as another component would, behind the sizer's back.
    pub(crate) fn set_capacity_for_test(&self, bytes: u64) {
        self.cap.store(bytes, Ordering::SeqCst);
        self.size.fetch_min(bytes, Ordering::SeqCst);
    }

    /// Counts `n` more hits.
    pub(crate) fn hit(&self, n: u64) {
        self.hits.fetch_add(n, Ordering::SeqCst);
    }

    /// Makes every read (`capacity`, `weighted_size`, `stats`) panic, or stop panicking.
    pub(crate) fn panic_on_read(&self, on: bool) {
        self.panics.store(on, Ordering::SeqCst);
    }

    /// Sets what `utility()` reports.
    pub(crate) fn report_utility(&self, u: Option<Utility>) {
        *self.utility.lock().unwrap() = u;
    }

    /// The capacity now.
    pub(crate) fn cap(&self) -> u64 {
        self.cap.load(Ordering::SeqCst)
    }

    /// The bytes held now.
    pub(crate) fn size(&self) -> u64 {
        self.size.load(Ordering::SeqCst)
    }

    /// How many times `set_capacity` was called.
    pub(crate) fn sets(&self) -> u64 {
        self.sets.load(Ordering::SeqCst)
    }
}

impl ManagedCache for Fake {
    fn name(&self) -> &str {
        &self.name
    }
    fn stats(&self) -> CacheStats {
        assert!(!self.panics.load(Ordering::SeqCst), "stats panics");
        let mut s = CacheStats::default();
        s.hits = self.hits.load(Ordering::SeqCst);
        s
    }
    fn weighted_size(&self) -> u64 {
        assert!(!self.panics.load(Ordering::SeqCst), "weighted_size panics");
        self.size()
    }
    fn entry_count(&self) -> u64 {
        0
    }
    fn capacity(&self) -> u64 {
        assert!(!self.panics.load(Ordering::SeqCst), "capacity panics");
        self.cap()
    }
    fn set_capacity(&self, bytes: u64) {
        let bytes = bytes.max(self.floor);
        self.sets.fetch_add(1, Ordering::SeqCst);
        self.cap.store(bytes, Ordering::SeqCst);
        self.size.fetch_min(bytes, Ordering::SeqCst);
    }
    fn evict_bytes(&self, bytes: u64, _cause: RemovalCause) -> u64 {
        let before = self.size();
        let freed = bytes.min(before);
        self.size.store(before - freed, Ordering::SeqCst);
        freed
    }
    fn utility(&self) -> Option<Utility> {
        *self.utility.lock().unwrap()
    }
}

//! Namespaces: the registry that maps a namespace's name to a dense slot, and each slot's
//! counters.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use histogram::AtomicHistogram;

use crate::profiler::{LOAD_HISTOGRAM, record};

#[cfg(test)]
mod tests;

/// Distinct namespaces kept; further ones count in [`OTHER`].
pub(crate) const MAX_NAMESPACES: usize = 64;
/// The slot of `"other"`.
pub(crate) const OTHER: usize = MAX_NAMESPACES;
/// Slots, `"other"` included.
pub(crate) const N_SLOTS: usize = MAX_NAMESPACES + 1;

/// A fixed table of up to 64 namespace names plus `"other"`; lookups are lock-free.
pub(crate) struct Namespaces {
    names: [OnceLock<&'static str>; N_SLOTS],
    len: AtomicUsize,
    register: Mutex<()>,
    pub(crate) slots: Box<[NamespaceCounters]>,
}

impl Namespaces {
    pub(crate) fn new() -> Self {
        let names = [const { OnceLock::new() }; N_SLOTS];
        let _ = names[OTHER].set("other");
        Self {
            names,
            len: AtomicUsize::new(0),
            register: Mutex::new(()),
            slots: (0..N_SLOTS).map(|_| NamespaceCounters::default()).collect(),
        }
    }

    /// The slot of `name`, registering it if there is room (`OTHER` when there is not).
    #[inline]
    pub(crate) fn index(&self, name: &'static str) -> usize {
        if let Some(i) = self.find(name, self.len.load(Ordering::Acquire)) {
            return i;
        }
        self.register(name)
    }

    #[inline]
    fn find(&self, name: &'static str, len: usize) -> Option<usize> {
        let names = &self.names[..len];
        // The closure usually returns the same `&'static str` for a namespace: compare
        // addresses first, strings only when no address matches.
        names
            .iter()
            .position(|slot| {
                slot.get()
                    .is_some_and(|n| n.as_ptr() == name.as_ptr() && n.len() == name.len())
            })
            .or_else(|| {
                names
                    .iter()
                    .position(|slot| slot.get().is_some_and(|n| *n == name))
            })
    }

    #[cold]
    fn register(&self, name: &'static str) -> usize {
        let _guard = self.register.lock().unwrap_or_else(PoisonError::into_inner);
        let len = self.len.load(Ordering::Acquire);
        if let Some(i) = self.find(name, len) {
            return i;
        }
        if len >= MAX_NAMESPACES {
            return OTHER;
        }
        let _ = self.names[len].set(name);
        self.len.store(len + 1, Ordering::Release);
        len
    }

    /// The slot's counters.
    #[inline]
    pub(crate) fn slot(&self, i: usize) -> &NamespaceCounters {
        &self.slots[i.min(OTHER)]
    }

    /// The name of slot `i`, if registered.
    pub(crate) fn name(&self, i: usize) -> Option<&'static str> {
        self.names.get(i).and_then(|n| n.get().copied())
    }

    /// The slots in use: the registered ones, then `"other"`.
    pub(crate) fn in_use(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len.load(Ordering::Acquire)).chain(std::iter::once(OTHER))
    }
}

/// One namespace's counters (all `Relaxed`: they are statistics).
#[derive(Default)]
///
/// Entries, bytes, inserts and removals are estimated from the tracked entries (`tracked.rs`);
/// these are the figures of sampled reads and of every load.
pub(crate) struct NamespaceCounters {
    pub(crate) est_hits: AtomicU64,
    pub(crate) est_misses: AtomicU64,

    pub(crate) loads: AtomicU64,
    pub(crate) load_failures: AtomicU64,
    pub(crate) load_charged: AtomicU64,
    /// Loads whose allocations the probe measured, with their charged and allocated bytes.
    pub(crate) measured_loads: AtomicU64,
    pub(crate) measured_charged: AtomicU64,
    pub(crate) measured_allocated: AtomicU64,
    pub(crate) load_latency: OnceLock<AtomicHistogram>,
}

impl NamespaceCounters {
    pub(crate) fn read(&self, hit: bool, period: u64) {
        let c = if hit {
            &self.est_hits
        } else {
            &self.est_misses
        };
        c.fetch_add(period, Ordering::Relaxed);
    }

    /// A load that ran for `nanos`, charged `weight` (None: failed), and allocated
    /// `allocated` net bytes when measured.
    pub(crate) fn loaded(&self, weight: Option<u64>, nanos: u64, allocated: Option<u64>) {
        record(
            self.load_latency
                .get_or_init(|| AtomicHistogram::with_config(&LOAD_HISTOGRAM)),
            nanos,
        );
        self.loads.fetch_add(1, Ordering::Relaxed);
        let Some(weight) = weight else {
            self.load_failures.fetch_add(1, Ordering::Relaxed);
            return;
        };
        self.load_charged.fetch_add(weight, Ordering::Relaxed);
        if let Some(allocated) = allocated {
            self.measured_loads.fetch_add(1, Ordering::Relaxed);
            self.measured_charged.fetch_add(weight, Ordering::Relaxed);
            self.measured_allocated
                .fetch_add(allocated, Ordering::Relaxed);
        }
    }
}

//! Namespaces: the registry that maps a namespace's name to a dense slot, and each slot's
//! counters.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use cache_traits::RemovalCause;
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

const N_CAUSES: usize = RemovalCause::ALL.len();

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

/// Threads that own a stripe of the churn counters; later threads share the last stripe.
const OWNED_STRIPES: usize = 16;
/// Stripes per namespace: one per owning thread, and the shared one.
const STRIPES: usize = OWNED_STRIPES + 1;

/// The counters an insert and a removal add to, on cache lines of their own.
///
/// A stripe below [`OWNED_STRIPES`] has one writer, the thread that claimed it, which adds with
/// a plain load and store (no locked instruction); the shared stripe is added to atomically.
#[derive(Default)]
#[repr(align(128))]
struct Stripe {
    inserts: AtomicU64,
    inserted_bytes: AtomicU64,
    removals: [AtomicU64; N_CAUSES],
    removed_weight: [AtomicU64; N_CAUSES],
}

/// Which owned stripes a live thread holds.
static CLAIMED: [AtomicBool; OWNED_STRIPES] = [const { AtomicBool::new(false) }; OWNED_STRIPES];

/// A thread's stripe, released when the thread ends (its last stores happen before the next
/// owner's claim: release, then acquire, on `CLAIMED`).
struct Claim(usize);

impl Claim {
    fn new() -> Self {
        for (i, claimed) in CLAIMED.iter().enumerate() {
            if claimed
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return Claim(i);
            }
        }
        Claim(OWNED_STRIPES)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(claimed) = CLAIMED.get(self.0) {
            claimed.store(false, Ordering::Release);
        }
    }
}

thread_local! {
    static CLAIM: Claim = Claim::new();
}

/// This thread's stripe (the shared one while thread-locals are being torn down).
#[inline]
fn stripe() -> usize {
    CLAIM.try_with(|c| c.0).unwrap_or(OWNED_STRIPES)
}

/// Adds `by` to `counter` of stripe `i`: a plain load and store where this thread owns it.
#[inline]
fn bump(counter: &AtomicU64, i: usize, by: u64) {
    if i < OWNED_STRIPES {
        counter.store(
            counter.load(Ordering::Relaxed).wrapping_add(by),
            Ordering::Relaxed,
        );
    } else {
        counter.fetch_add(by, Ordering::Relaxed);
    }
}

/// One namespace's counters (all `Relaxed`: they are statistics).
#[derive(Default)]
///
/// An insert and a removal each add to two counters (the fewest read-modify-writes: they run on
/// every insert and eviction); entries, bytes and evictions are differences and sums of them.
pub(crate) struct NamespaceCounters {
    /// The counters every insert and removal adds to, one copy per stripe (made on first use).
    churn: OnceLock<Box<[Stripe; STRIPES]>>,
    pub(crate) est_hits: AtomicU64,
    pub(crate) est_misses: AtomicU64,

    /// The mean entry weight as of the last of every 64 inserts (0 before the first):
    /// what the heavy-key checks compare with, without a division on every insert.
    mean_weight: AtomicU64,
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
    /// Whether an entry of `weight` is heavy for this namespace: at least twice its mean
    /// (nothing is heavy among entries of one size, so they never touch the heavy-key table).
    #[inline]
    pub(crate) fn is_heavy(&self, weight: u64) -> bool {
        let mean = self.mean_weight.load(Ordering::Relaxed);
        mean > 0 && weight >= mean.saturating_mul(2)
    }

    /// Whether a removed entry of `weight` may be in the heavy-key table: heavier than the
    /// namespace's mean (a heavy key weighed twice the mean when it was stored; one whose
    /// namespace's mean has since doubled may stay listed after its removal).
    #[inline]
    pub(crate) fn may_be_heavy(&self, weight: u64) -> bool {
        weight > self.mean_weight.load(Ordering::Relaxed)
    }

    #[inline]
    fn stripes(&self) -> &[Stripe; STRIPES] {
        self.churn.get_or_init(Box::default)
    }

    pub(crate) fn inserted(&self, weight: u64) {
        let i = stripe();
        let stripe = &self.stripes()[i];
        let n = stripe.inserts.load(Ordering::Relaxed);
        bump(&stripe.inserts, i, 1);
        bump(&stripe.inserted_bytes, i, weight);
        if n % 64 == 0 {
            let entries = self.entries().max(1);
            self.mean_weight
                .store(self.bytes() / entries, Ordering::Relaxed);
        }
    }

    pub(crate) fn removed(&self, weight: u64, cause: RemovalCause) {
        let c = cause.index();
        let i = stripe();
        let stripe = &self.stripes()[i];
        if let (Some(n), Some(w)) = (stripe.removals.get(c), stripe.removed_weight.get(c)) {
            bump(n, i, 1);
            bump(w, i, weight);
        }
    }

    /// The sum over stripes of one counter.
    fn sum(&self, counter: impl Fn(&Stripe) -> &AtomicU64) -> u64 {
        let Some(stripes) = self.churn.get() else {
            return 0;
        };
        stripes
            .iter()
            .map(|s| counter(s).load(Ordering::Relaxed))
            .fold(0u64, u64::saturating_add)
    }

    /// The sum over stripes and causes (only evictions' with `evicted_only`).
    fn sum_removed(&self, weight: bool, evicted_only: bool) -> u64 {
        RemovalCause::ALL
            .iter()
            .filter(|cause| !evicted_only || cause.was_evicted())
            .map(|cause| self.removals_of(*cause, weight))
            .fold(0u64, u64::saturating_add)
    }

    /// Entries (or with `weight`, bytes) removed for `cause`.
    pub(crate) fn removals_of(&self, cause: RemovalCause, weight: bool) -> u64 {
        let i = cause.index().min(N_CAUSES - 1);
        if weight {
            self.sum(|s| &s.removed_weight[i])
        } else {
            self.sum(|s| &s.removals[i])
        }
    }

    /// Inserts so far.
    pub(crate) fn inserts(&self) -> u64 {
        self.sum(|s| &s.inserts)
    }

    /// Bytes inserted so far.
    pub(crate) fn inserted_bytes(&self) -> u64 {
        self.sum(|s| &s.inserted_bytes)
    }

    /// Entries stored now (inserts less removals; never below zero).
    pub(crate) fn entries(&self) -> u64 {
        self.inserts()
            .saturating_sub(self.sum_removed(false, false))
    }

    /// Bytes charged now.
    pub(crate) fn bytes(&self) -> u64 {
        self.inserted_bytes().saturating_sub(self.removed_bytes())
    }

    /// Bytes removed, for any cause.
    pub(crate) fn removed_bytes(&self) -> u64 {
        self.sum_removed(true, false)
    }

    /// Entries evicted (size, expiry, pressure).
    pub(crate) fn evictions(&self) -> u64 {
        self.sum_removed(false, true)
    }

    /// Bytes evicted.
    pub(crate) fn evicted_bytes(&self) -> u64 {
        self.sum_removed(true, true)
    }

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

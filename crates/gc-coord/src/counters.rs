//! Striped counters for the caller-side path, so threads evicting at once do not share a cache
//! line.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Number of stripes; a power of two.
const STRIPES: usize = 16;

/// The counters bumped on the caller's thread.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Caller {
    /// Items accepted into the queue.
    Queued = 0,
    /// Their weight.
    QueuedBytes,
    /// Items dropped inline.
    Inline,
    /// Their weight.
    InlineBytes,
    /// Items dropped inline because the queue was full.
    QueueFull,
}

const N_COUNTERS: usize = 5;

#[derive(Debug, Default)]
#[repr(align(128))]
struct Stripe([AtomicU64; N_COUNTERS]);

/// One set of caller-side counters per stripe; a thread always uses the same stripe.
#[derive(Debug, Default)]
pub(crate) struct CallerCounters {
    stripes: [Stripe; STRIPES],
}

#[inline]
fn stripe_idx() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        // A `const` initialiser keeps the access free of lazy-initialisation bookkeeping.
        static IDX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    IDX.with(|idx| match idx.get() {
        usize::MAX => {
            let assigned = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
            idx.set(assigned);
            assigned
        }
        assigned => assigned,
    })
}

impl CallerCounters {
    /// Adds `n` to `counter` on this thread's stripe.
    #[inline]
    pub(crate) fn add(&self, counter: Caller, n: u64) {
        self.add_two(counter, n, None);
    }

    /// Adds to one or two counters on this thread's stripe with a single stripe lookup.
    #[inline]
    pub(crate) fn add_two(&self, a: Caller, n: u64, b: Option<(Caller, u64)>) {
        let stripe = &self.stripes[stripe_idx()].0;
        stripe[a as usize].fetch_add(n, Ordering::Relaxed);
        if let Some((b, m)) = b {
            stripe[b as usize].fetch_add(m, Ordering::Relaxed);
        }
    }

    /// The sum of `counter` over all stripes.
    pub(crate) fn sum(&self, counter: Caller) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.0[counter as usize].load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

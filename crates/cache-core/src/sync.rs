//! The synchronisation primitives of the shard lock and single-flight loads: std's, or
//! shuttle's under the `shuttle` feature, so that tests can explore thread schedules.
//!
//! Without the feature everything here is a plain re-export of `std`, so the hot path compiles
//! to exactly what it would with `std` named directly. With it, every atomic access, lock,
//! condvar wait and yield is a point where shuttle's scheduler may switch threads; that works
//! only inside `shuttle::check_*` (see `tests/it/shuttle.rs`).

pub(crate) use std::sync::PoisonError;
pub(crate) use std::sync::atomic::Ordering;

#[cfg(not(feature = "shuttle"))]
pub(crate) use std::sync::atomic::AtomicBool;
#[cfg(not(feature = "shuttle"))]
pub(crate) use std::sync::{Condvar, Mutex};

#[cfg(feature = "shuttle")]
pub(crate) use shuttle::sync::atomic::AtomicBool;
#[cfg(feature = "shuttle")]
pub(crate) use shuttle::sync::{Condvar, Mutex};

/// What a thread waiting for a held shard lock does between looks at it.
pub(crate) mod backoff {
    #[cfg(not(feature = "shuttle"))]
    pub(crate) use std::hint::spin_loop;
    #[cfg(not(feature = "shuttle"))]
    pub(crate) use std::thread::{sleep, yield_now};

    /// Under shuttle, every kind of waiting is a yield: shuttle has no time, and a yield is
    /// what tells its schedulers that this thread cannot progress until another one runs.
    #[cfg(feature = "shuttle")]
    pub(crate) use shuttle::thread::yield_now;

    /// Under shuttle, a spin is a yield (see [`yield_now`]).
    #[cfg(feature = "shuttle")]
    #[inline]
    pub(crate) fn spin_loop() {
        shuttle::thread::yield_now();
    }

    /// Under shuttle, a sleep is a yield (see [`yield_now`]).
    #[cfg(feature = "shuttle")]
    #[inline]
    pub(crate) fn sleep(_: std::time::Duration) {
        shuttle::thread::yield_now();
    }
}

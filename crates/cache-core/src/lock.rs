//! The shard lock: one atomic instruction to lock, a plain store to unlock.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use crate::sync::{AtomicBool, Ordering, backoff};

/// A mutual-exclusion lock for shards, whose critical sections are a few hundred nanoseconds.
///
/// Why not `std::sync::Mutex`: its unlock is a second atomic read-modify-write (to find
/// sleepers), and its poison bookkeeping reads the thread's panic count on lock and unlock.
/// Measured with cachegrind on the all-hit workload, that is 18 more instructions and 7 more
/// memory references per hit. Here unlock is a release store, and nothing is poisoned: shards
/// stay consistent when user code panics (see the invariant in `shard.rs`).
///
/// Under contention a waiter spins briefly, then yields, then sleeps in short steps, so a
/// preempted holder is not starved and long holds (`retain`, `set_capacity` on a large shard)
/// do not burn a core. (Under the `shuttle` feature all three are yields to shuttle's
/// scheduler: see `sync.rs`.)
#[repr(C)] // the lock word first, then the shard's hot fields on the same cache line
pub(crate) struct ShardLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one thread at a time, so it is `Sync` when
// `T` can be sent between threads, like `std::sync::Mutex`.
unsafe impl<T: Send> Sync for ShardLock<T> {}

/// Spins before the first yield.
const SPINS: u32 = 64;
/// Yields before sleeping.
const YIELDS: u32 = 64;

impl<T> ShardLock<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> ShardGuard<'_, T> {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        ShardGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut waits = 0u32;
        loop {
            while self.locked.load(Ordering::Relaxed) {
                waits = waits.saturating_add(1);
                if waits < SPINS {
                    backoff::spin_loop();
                } else if waits < SPINS + YIELDS {
                    backoff::yield_now();
                } else {
                    backoff::sleep(Duration::from_micros(20));
                }
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

/// Access to a locked shard; unlocks on drop (also while unwinding).
pub(crate) struct ShardGuard<'a, T> {
    lock: &'a ShardLock<T>,
}

impl<T> Deref for ShardGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while this thread holds the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for ShardGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard exists only while this thread holds the lock, and `&mut self`
        // makes this the only reference through it.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for ShardGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

// Under the `shuttle` feature the lock works only inside shuttle's tests (`tests/it/shuttle.rs`).
#[cfg(all(test, not(feature = "shuttle")))]
mod tests {
    use super::ShardLock;

    /// Increments per thread: fewer under Miri, which runs about a million times slower, but
    /// still enough for the threads to interleave and contend.
    const INCREMENTS: u64 = if cfg!(miri) { 200 } else { 100_000 };

    #[test]
    fn excludes_concurrent_writers() {
        let lock = ShardLock::new(0u64);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..INCREMENTS {
                        *lock.lock() += 1;
                    }
                });
            }
        });
        assert_eq!(*lock.lock(), 4 * INCREMENTS);
    }

    #[test]
    fn a_panic_under_the_lock_releases_it() {
        let lock = ShardLock::new(1);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _g = lock.lock();
            panic!("boom");
        }));
        assert!(r.is_err());
        assert_eq!(*lock.lock(), 1);
    }
}

//! Monotonic clocks: the real one and a manual one for tests.

use std::fmt::Debug;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic source of time in nanoseconds since an arbitrary origin.
///
/// Everything time-based (TTL, time-to-idle, rate limits, ticks) reads time through this trait so
/// that tests run on virtual time with [`ManualClock`].
///
/// # Implementing
///
/// `now_nanos` must never go backwards and should be cheap (it is read on the hit path of caches
/// with expiring entries). The origin is arbitrary but fixed for the clock's lifetime.
///
/// # Examples
///
/// ```
/// use cache_traits::{Clock, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let t0 = clock.now_nanos();
/// clock.advance(Duration::from_millis(5));
/// assert_eq!(clock.now_nanos() - t0, 5_000_000);
/// ```
pub trait Clock: Send + Sync + Debug {
    /// Nanoseconds since this clock's origin.
    fn now_nanos(&self) -> u64;
}

/// A shared clock is a clock: a cache holding an `Arc<dyn Clock>` can hand it on as
/// `&dyn Clock` without dereferencing it until a time is actually read.
impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    #[inline]
    fn now_nanos(&self) -> u64 {
        (**self).now_nanos()
    }
}

/// The real monotonic clock ([`Instant`]), with its origin at the first use in the process.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

fn process_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

impl Clock for SystemClock {
    #[inline]
    fn now_nanos(&self) -> u64 {
        // Saturates after 584 years of uptime.
        u64::try_from(process_origin().elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A clock that moves only when told to; for tests of time-based logic.
///
/// It starts at one second (not zero) so that "time zero" is never mistaken for "no deadline".
#[derive(Debug)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A manual clock reading one second.
    pub fn new() -> Self {
        Self {
            nanos: AtomicU64::new(1_000_000_000),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(by, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::SeqCst)
    }
}

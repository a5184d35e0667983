//! Test helpers: a memory probe with scripted per-thread allocation counters.

use std::sync::Mutex;

use cache_traits::{MemoryProbe, MemorySample, ThreadAllocations};

/// A probe whose thread counters the test moves by hand (one pair for every thread).
#[derive(Debug, Default)]
pub(crate) struct FakeProbe {
    counters: Mutex<(u64, u64)>,
}

impl FakeProbe {
    /// A probe whose counters start at a non-zero reading, as a real thread's do.
    pub(crate) fn new() -> Self {
        Self {
            counters: Mutex::new((1 << 20, 1 << 19)),
        }
    }

    /// The thread allocated `bytes`.
    pub(crate) fn alloc(&self, bytes: u64) {
        self.counters.lock().unwrap().0 += bytes;
    }

    /// The thread freed `bytes`.
    pub(crate) fn free(&self, bytes: u64) {
        self.counters.lock().unwrap().1 += bytes;
    }
}

impl MemoryProbe for FakeProbe {
    fn sample(&self) -> MemorySample {
        MemorySample::default()
    }

    fn thread_allocations(&self) -> Option<ThreadAllocations> {
        let (a, d) = *self.counters.lock().unwrap();
        Some(ThreadAllocations::new(a, d))
    }
}

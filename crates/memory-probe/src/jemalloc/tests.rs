//! Unit tests for the jemalloc module: this binary does not set jemalloc as the global
//! allocator, so every allocator figure must be `None`, not zero.

use super::*;
use crate::Probe;

#[test]
fn jemalloc_linked_but_not_global_is_detected() {
    assert!(!jemalloc_is_global());
}

#[test]
fn allocator_figures_are_none_not_zero() {
    let probe = Probe::new();
    assert!(!probe.has_allocator_stats());
    let sample = probe.sample();
    assert_eq!(sample.allocator, AllocatorStats::default());
    assert_eq!(sample.allocator.allocated, None);
    assert_eq!(sample.allocator.resident, None);
}

#[test]
fn thread_counters_are_none() {
    assert!(ThreadAllocations::current().is_none());
    assert!(AllocationScope::start().is_none());
    let (v, net) = ThreadAllocations::measure(|| vec![7u8; 1 << 20]);
    assert_eq!(v.len(), 1 << 20);
    assert_eq!(net, None);
}

#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[test]
fn jemalloc_is_linked_and_answers() {
    // The library answers mallctl (so detection did not fail for lack of jemalloc): it is just
    // not serving this process's allocations.
    assert!(tikv_jemalloc_ctl::epoch::advance().is_ok());
    let allocated = tikv_jemalloc_ctl::stats::allocated::read().unwrap();
    assert!(allocated < 1 << 20, "{allocated}");
}

//! Tests of the allocator handle in a test binary whose global allocator is the system's.

use super::{Allocator, Settings};
use crate::stats::{AllocatorSupport, PurgeKind};

#[test]
fn jemalloc_is_not_mistaken_for_the_global_allocator() {
    let allocator = Allocator::detect();
    // Unit tests run on the system allocator: jemalloc, if linked, sits idle.
    if cfg!(all(feature = "jemalloc", not(target_env = "msvc"))) {
        assert_eq!(allocator.support(), AllocatorSupport::JemallocNotGlobal);
    } else {
        assert_eq!(allocator.support(), AllocatorSupport::Unsupported);
        assert_eq!(allocator.resident(), None);
        assert!(allocator.purge(PurgeKind::Purge).is_err());
    }
}

#[test]
fn settings_are_ignored_without_a_global_jemalloc() {
    let allocator = Allocator::detect();
    let settings = Settings {
        dirty_decay_ms: Some(0),
        muzzy_decay_ms: Some(0),
        background_thread: Some(true),
    };
    assert_eq!(allocator.configure(&settings), Ok(()));
}

//! Tests of the builder's validation, its error messages and its defaults.

use cache_traits::Reclaim;

use super::{BuildError, DEFAULT_INLINE_BELOW_BYTES, ReclaimerBuilder};
use crate::Reclaimer;

fn check(builder: ReclaimerBuilder<u32>, expected: &str) {
    match builder.build() {
        Ok(_) => panic!("expected an error: {expected}"),
        Err(e) => assert_eq!(e.to_string(), expected),
    }
}

#[test]
fn invalid_settings_say_what_to_change() {
    check(
        Reclaimer::builder().capacity(0),
        "reclaimer queue capacity is 0; set `capacity` to at least 1",
    );
    check(
        Reclaimer::builder().batch_size(0),
        "batch size 0 is outside 1..=4096; set `batch_size` between 1 and the queue `capacity`",
    );
    check(
        Reclaimer::builder().capacity(8).batch_size(9),
        "batch size 9 is outside 1..=8; set `batch_size` between 1 and the queue `capacity`",
    );
    check(
        Reclaimer::builder().purge_after_bytes(0),
        "purge threshold is 0 bytes; set `purge_after_bytes` to at least 1 \
         or turn purges off with `coordinate_allocator(false)`",
    );
    check(
        Reclaimer::builder().dirty_decay_ms(-2),
        "dirty_decay_ms is -2; set it to -1 (never return pages) \
         or a number of milliseconds from 0 up",
    );
    check(
        Reclaimer::builder().muzzy_decay_ms(-5),
        "muzzy_decay_ms is -5; set it to -1 (never return pages) \
         or a number of milliseconds from 0 up",
    );
    check(
        Reclaimer::builder().thread_name("a\0b"),
        "thread name contains a NUL byte; remove it from `thread_name`",
    );
}

#[test]
fn boundary_settings_are_accepted() {
    let r: Reclaimer<u32> = Reclaimer::builder()
        .capacity(1)
        .batch_size(1)
        .purge_after_bytes(1)
        .dirty_decay_ms(-1)
        .muzzy_decay_ms(0)
        .purge_history(0)
        .build()
        .unwrap();
    r.shutdown();
}

#[test]
fn spawn_errors_expose_their_source() {
    let err = BuildError::Spawn(std::io::Error::other("no threads left"));
    assert_eq!(
        err.to_string(),
        "could not start the reclaimer thread: no threads left"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn by_default_items_from_512_bytes_go_to_the_thread() {
    assert_eq!(DEFAULT_INLINE_BELOW_BYTES, 512);
    let r: Reclaimer<Vec<u8>> = Reclaimer::builder().build().unwrap();
    // (weight, dropped on the background thread)
    for (weight, queued) in [
        (0, false),
        (511, false),
        (512, true),
        (1024, true),
        (4096, true),
    ] {
        let before = r.stats();
        r.reclaim(Vec::new(), weight);
        let after = r.stats();
        assert_eq!(
            (
                after.queued - before.queued,
                after.dropped_inline - before.dropped_inline
            ),
            if queued { (1, 0) } else { (0, 1) },
            "an item of {weight} bytes"
        );
    }
    r.flush();
    assert_eq!(r.stats().dropped_background, 3);
}

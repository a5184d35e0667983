//! Criterion: the cost of one leak-detector observation with a full hour of history (target:
//! under 100 µs), on a timeline whose growth windows all pass (the most work per sample).

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use leak_detector::{CacheFigures, Config, LeakDetector, Observation};

const MIB: u64 = 1 << 20;

fn sample(t: u64) -> Observation {
    // A full cache, a slow leak and a little deterministic wobble.
    let wobble = (t.wrapping_mul(2_654_435_761) % 4096) * 1024;
    Observation::at(t as f64)
        .heap_bytes(1024 * MIB + t * 64 * 1024 + wobble)
        .resident_bytes(1100 * MIB + t * 64 * 1024)
        .cache_bytes(768 * MIB)
        .evicted_bytes_total(t * MIB)
        .cache(
            CacheFigures::new("results", 768 * MIB)
                .budget_bytes(768 * MIB)
                .real_bytes(800 * MIB)
                .unread_bytes(100 * MIB),
        )
}

fn full() -> (LeakDetector, u64) {
    let detector = LeakDetector::new(Config::default()).expect("the defaults are valid");
    let n = Config::default().history_samples as u64;
    for t in 0..n {
        detector.observe(sample(t));
    }
    (detector, n)
}

fn leak(c: &mut Criterion) {
    let mut group = c.benchmark_group("leak");
    let (detector, mut t) = full();
    assert_eq!(detector.status().samples_held, 3600);
    group.bench_function("observe_full_hour", |b| {
        b.iter_batched(
            || {
                t += 1;
                sample(t)
            },
            |obs| black_box(detector.observe(obs)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, leak);
criterion_main!(benches);

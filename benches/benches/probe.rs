//! Criterion: the cost of one full memory sample (target: at most 50 µs), and of its parts.
//!
//! jemalloc is the global allocator, as in a real deployment, so the allocator figures are read.

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;

use cache_traits::MemoryProbe;
use criterion::{Criterion, criterion_group, criterion_main};
use memory_probe::{AllocationScope, Probe, ThreadAllocations};

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn probe(c: &mut Criterion) {
    let full = Probe::new();
    assert!(
        full.has_allocator_stats(),
        "jemalloc should be the global allocator in this bench"
    );
    let mut group = c.benchmark_group("probe");
    group.bench_function("sample", |b| b.iter(|| black_box(full.sample())));

    let dyn_probe: &dyn MemoryProbe = &full;
    group.bench_function("sample_dyn", |b| {
        b.iter(|| black_box(black_box(dyn_probe).sample()))
    });

    let kernel_only = Probe::builder()
        .allocator_stats(false)
        .build()
        .expect("default sources never fail");
    group.bench_function("sample_without_allocator", |b| {
        b.iter(|| black_box(kernel_only.sample()))
    });

    let allocator_only = Probe::builder()
        .without_cgroup()
        .meminfo("/dev/null")
        .statm("/dev/null")
        .pressure("/dev/null")
        .system_fallback(false)
        .build()
        .expect("/dev/null opens");
    group.bench_function("sample_allocator_only", |b| {
        b.iter(|| black_box(allocator_only.sample()))
    });

    let thread = ThreadAllocations::current().expect("jemalloc is global");
    group.bench_function("thread_allocated", |b| {
        b.iter(|| black_box(black_box(&thread).allocated()))
    });
    group.bench_function("allocation_scope", |b| {
        b.iter(|| {
            let scope = AllocationScope::start();
            black_box(scope.map(|s| s.net_bytes()))
        })
    });
    group.finish();
}

criterion_group!(benches, probe);
criterion_main!(benches);

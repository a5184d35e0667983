//! Live integration tests with jemalloc as the global allocator: the figures must be plausible
//! on this machine.

use std::hint::black_box;
use std::sync::Mutex;

use cache_traits::MemoryProbe;
use memory_probe::{AllocationScope, Probe, ThreadAllocations, jemalloc_is_global};

#[global_allocator]
static A: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Allocator figures are process-wide: tests that measure them take turns.
static SERIAL: Mutex<()> = Mutex::new(());

const MIB: u64 = 1 << 20;
const BIG: usize = 64 << 20;

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn jemalloc_is_detected_as_global() {
    assert!(jemalloc_is_global());
    assert!(Probe::new().has_allocator_stats());
    assert!(ThreadAllocations::current().is_some());
}

#[test]
fn allocated_grows_by_what_was_allocated_and_touched() {
    let _turn = serial();
    let probe = Probe::new();
    let before = probe.sample();
    // vec![1; n] writes every byte, so the pages are resident too.
    let big = black_box(vec![1u8; BIG]);
    let during = probe.sample();
    let (a0, a1) = (
        before.allocator.allocated.unwrap(),
        during.allocator.allocated.unwrap(),
    );
    let grown = a1.saturating_sub(a0);
    assert!(
        (60 * MIB..=68 * MIB).contains(&grown),
        "allocated grew by {grown} bytes, expected about 64 MiB"
    );

    let a = during.allocator;
    let (allocated, active, resident) =
        (a.allocated.unwrap(), a.active.unwrap(), a.resident.unwrap());
    assert!(
        active >= allocated,
        "active {active} < allocated {allocated}"
    );
    assert!(resident >= active, "resident {resident} < active {active}");
    assert!(a.mapped.unwrap() >= active);
    assert!(a.metadata.unwrap() > 0);
    assert!(a.retained.is_some());

    let rss = during.process_rss.unwrap();
    assert!(rss >= BIG as u64, "rss {rss} below the 64 MiB just touched");
    assert!(rss < during.system_total.unwrap());
    let rss_grown = rss.saturating_sub(before.process_rss.unwrap());
    assert!(rss_grown >= 56 * MIB, "rss grew by only {rss_grown}");

    drop(big);
    let after = probe.sample();
    let freed = a1.saturating_sub(after.allocator.allocated.unwrap());
    assert!(
        freed >= 60 * MIB,
        "allocated fell by only {freed} after the drop"
    );
}

#[test]
fn thread_scope_measures_net_bytes() {
    let _turn = serial();
    let scope = AllocationScope::start().unwrap();
    let big = black_box(vec![1u8; BIG]);
    let net = scope.net_bytes();
    assert!(
        (BIG as i64..=BIG as i64 + MIB as i64).contains(&net),
        "net {net} while holding 64 MiB"
    );
    assert!(scope.allocated_bytes() >= BIG as u64);
    drop(big);
    assert!(
        scope.net_bytes().abs() < MIB as i64,
        "{}",
        scope.net_bytes()
    );
    assert!(scope.deallocated_bytes() >= BIG as u64);

    // jemalloc counts the size class handed out: 8 KiB exactly here.
    let (kept, net) = ThreadAllocations::measure(|| vec![0u64; 1024]);
    assert_eq!(net, Some(8192));
    drop(kept);
}

#[test]
fn thread_counters_are_per_thread() {
    let _turn = serial();
    let main = ThreadAllocations::current().unwrap();
    let before = main.allocated();
    std::thread::spawn(|| {
        let scope = AllocationScope::start().unwrap();
        let v = black_box(vec![0u8; 4 << 20]);
        assert!(scope.net_bytes() >= 4 << 20);
        drop(v);
    })
    .join()
    .unwrap();
    // The spawn itself allocates a little here, but not the other thread's 4 MiB.
    assert!(main.allocated() - before < 4 << 20);
}

#[test]
fn whole_sample_is_plausible_here() {
    let probe: Box<dyn MemoryProbe> = Box::new(Probe::new());
    let s = probe.sample();
    assert!(s.unix_millis > 1_600_000_000_000);
    if cfg!(target_os = "linux") {
        let total = s.system_total.unwrap();
        let available = s.system_available.unwrap();
        assert!(available <= total);
        assert!(s.limit().unwrap() <= total);
        if std::path::Path::new("/proc/pressure/memory").exists() {
            let psi = s.psi.unwrap();
            assert!((0.0..=100.0).contains(&psi.some.avg10));
        }
        if let Some(current) = s.cgroup.current {
            assert!(current > 0);
        }
    }
}

#[test]
fn heap_profile_without_profiling_says_how_to_turn_it_on() {
    // tikv-jemallocator is built here without its `profiling` feature.
    let err = memory_probe::dump_heap_profile(std::path::Path::new("/tmp/qc-heap.prof"))
        .expect_err("profiling is off in this build");
    assert_eq!(err, memory_probe::HeapProfileError::ProfilingOff);
    assert!(err.to_string().contains("prof:true"), "{err}");
}

#[test]
fn the_probe_trait_gives_this_threads_counters() {
    let probe = memory_probe::Probe::new();
    let before = probe.thread_allocations().expect("jemalloc is global here");
    let v = std::hint::black_box(vec![1u8; 1 << 20]);
    let after = probe.thread_allocations().expect("jemalloc is global here");
    assert!(after.net_since(before) >= 1 << 20, "{before:?} → {after:?}");
    drop(v);
}

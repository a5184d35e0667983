//! Tests of call-site reduction and aggregation (feature `backtraces`).

use super::*;

const TRACE: &str = "   0: std::backtrace_rs::backtrace::libunwind::trace
             at /rustc/x/library/std/src/../../backtrace/src/backtrace/libunwind.rs:116:5
   1: std::backtrace::Backtrace::force_capture
             at /rustc/x/library/std/src/backtrace.rs:312:9
   2: <profiler::Profiler<K> as cache_traits::CacheObserver<K>>::load_started
             at ./crates/profiler/src/profiler.rs:300:9
   3: cache_core::Cache<K,V>::get_with::h0123456789abcdef
             at ./crates/cache-core/src/cache.rs:10:5
   4: <fn() as core::ops::function::FnOnce<()>>::call_once
             at /rustc/x/library/core/src/ops/function.rs:250:5
   5: myapp::handlers::user_profile
             at ./src/handlers.rs:42:17
   6: <myapp::Db as myapp::Source>::fetch
             at ./src/db.rs:7:1
   7: main
";

#[test]
fn the_first_frame_outside_the_cache_is_the_call_site() {
    assert_eq!(
        call_site(TRACE, SKIPPED),
        "myapp::handlers::user_profile at ./src/handlers.rs:42:17"
    );
    let skip_app: Vec<&str> = SKIPPED.iter().copied().chain(["myapp::"]).collect();
    assert_eq!(call_site(TRACE, &skip_app), "main");
    let skip_handlers: Vec<&str> = SKIPPED
        .iter()
        .copied()
        .chain(["myapp::handlers::"])
        .collect();
    assert_eq!(
        call_site(TRACE, &skip_handlers),
        "<myapp::Db as myapp::Source>::fetch at ./src/db.rs:7:1"
    );
    assert_eq!(call_site("", SKIPPED), "unknown");
}

#[test]
fn hashes_are_stripped() {
    assert_eq!(strip_hash("a::b::h0123456789abcdef"), "a::b");
    assert_eq!(strip_hash("a::hello"), "a::hello");
}

#[test]
fn sampled_loads_add_up_per_site() {
    let sites = CallSites::new(2);
    for _ in 0..4 {
        sites.load_started(1);
        sites.loaded(1, Some(100), Some(300));
    }
    // A load of another profiler in between leaves this one's pending site alone.
    sites.load_started(1);
    sites.load_started(2);
    sites.loaded(2, Some(5), None);
    sites.loaded(1, None, None);
    let top = sites.top(10);
    let loads: u64 = top.iter().map(|(_, t)| t.loads).sum();
    assert_eq!(
        loads, 3,
        "loads 0, 2 and 4 are sampled; load 5 (profiler 2) is not"
    );
    let charged: u64 = top.iter().map(|(_, t)| t.charged).sum();
    assert_eq!(charged, 200);
    PENDING.with(|p| assert!(p.borrow().is_empty()));
}

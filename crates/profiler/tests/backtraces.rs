//! Load call sites through a real cache (feature `backtraces`): the site of a load is the
//! application function that asked the cache for it, not the cache, the profiler or std.
#![cfg(feature = "backtraces")]
#![allow(clippy::unwrap_used, reason = "tests fail loudly on purpose")]

use std::sync::Arc;

use cache_core::Cache;
use eviction::Lru;
use profiler::Profiler;

/// Two application functions that load through the cache, so their loads go to two sites.
#[inline(never)]
fn load_user_profile(cache: &Cache<u64, Vec<u8>, Lru>, id: u64) -> Vec<u8> {
    cache.get_or_insert_with(id, || vec![0; 4096]).unwrap()
}

#[inline(never)]
fn load_search_result(cache: &Cache<u64, Vec<u8>, Lru>, id: u64) -> Vec<u8> {
    cache.get_or_insert_with(id, || vec![0; 256]).unwrap()
}

#[test]
fn loads_add_up_under_the_application_function_that_asked_for_them() {
    let profiler = Profiler::<u64>::builder()
        .name("sites")
        .backtrace_period(1)
        .build()
        .unwrap();
    let cache: Cache<u64, Vec<u8>, Lru> = Cache::builder()
        .max_bytes(64 << 20)
        .observer(Arc::clone(&profiler) as _)
        .build()
        .unwrap();
    for id in 0..30 {
        load_user_profile(&cache, id);
    }
    for id in 1_000..1_010 {
        load_search_result(&cache, id);
    }
    // Hits run no loader: no more sites.
    load_user_profile(&cache, 0);

    let sites = profiler.snapshot().load_sites;
    let site = |name: &str| {
        sites
            .iter()
            .find(|s| s.site.contains(name))
            .unwrap_or_else(|| panic!("no site for {name} in {sites:#?}"))
    };
    let users = site("load_user_profile");
    let search = site("load_search_result");
    assert_eq!((users.loads, search.loads), (30, 10));
    assert!(users.charged_bytes > search.charged_bytes);
    assert!(users.site.contains("backtraces.rs"), "{}", users.site);
    assert_eq!(sites[0].site, users.site, "most bytes first");
    assert!(
        sites.iter().all(|s| !s.site.starts_with("cache_core::")),
        "{sites:#?}"
    );
}

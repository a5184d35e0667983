//! How close a byte-budgeted cache's real allocation comes to its budget, across budget sizes:
//! `u64` keys and values (where the cache's own structures are the whole cost) and short strings.
//!
//! `cargo run --release -p benches --example budget_sizes`. Each budget runs in a fresh cache;
//! allocated bytes are jemalloc's `stats.allocated` delta, with thread caches off so freed
//! buffers are not counted as live.

#[global_allocator]
static A: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at start-up: thread caches would keep buffers the cache freed
/// while growing and count them as allocated.
#[allow(non_upper_case_globals, reason = "the symbol jemalloc reads")]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8; 13] = b"tcache:false\0";

fn allocated() -> u64 {
    tikv_jemalloc_ctl::epoch::advance().expect("jemalloc epoch");
    tikv_jemalloc_ctl::stats::allocated::read().expect("jemalloc stats.allocated") as u64
}

/// Fills a fresh cache of `kib` KiB with `count` values from `value` and prints one row.
fn row<V: Clone + Send + Sync + cache_traits::HeapSize + 'static>(
    label: &str,
    kib: u64,
    count: u64,
    mut value: impl FnMut(u64) -> V,
) {
    let budget = kib << 10;
    let before = allocated();
    let cache: query_cache::Cache<u64, V> = query_cache::Cache::builder()
        .max_bytes(budget)
        .build()
        .expect("a valid budget");
    for k in 0..count {
        cache.insert(k, value(k));
    }
    let ratio = allocated().saturating_sub(before) as f64 / budget as f64;
    println!(
        "{label:<8} {kib:>10} {ratio:>10.3} {:>9} {:>8}",
        cache.entry_count(),
        cache.shard_count()
    );
}

fn main() {
    println!(
        "{:<8} {:>10} {:>10} {:>9} {:>8}",
        "values", "budget KiB", "alloc/budg", "entries", "shards"
    );
    for kib in [256u64, 1024, 4096, 16384, 65536] {
        row("u64", kib, (kib << 10) / 8, |k| k);
    }
    for kib in [1024u64, 16384, 65536] {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        row("16-415 B", kib, (kib << 10) / 100, |_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            "x".repeat(16 + (x % 400) as usize)
        });
    }
}

//! Hit ratios of every policy on the `peers` bench's Zipf(1.0) stream, in the simulator: the
//! whole 100,000-entry cache, or split over N shards by key hash as the cache splits it (each
//! shard its own policy at 1/N of the capacity).
//!
//! `cargo run --release -p benches --example zipf_sim [-- SHARDS [REQUESTS]]` (default 1 shard,
//! 4,000,000 requests).

use eviction::sim::PolicyKind;
use eviction::trace::Trace;

const REQUESTS: usize = 4_000_000;
const UNIVERSE: usize = 1_000_000;
const CAPACITY: u64 = 100_000;

fn main() {
    let shards: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1);
    let requests: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(REQUESTS);
    let keys = benches::zipf_key_stream(requests, UNIVERSE, 1.0, benches::DEFAULT_SEED);
    let mut parts: Vec<Vec<u64>> = vec![Vec::new(); shards as usize];
    for &k in &keys {
        parts[(benches::mix64(k ^ 7) % shards) as usize].push(k);
    }
    let traces: Vec<Trace> = parts.into_iter().map(Trace::from_keys).collect();
    println!(
        "Zipf(1.0), {requests} requests over {UNIVERSE} keys, capacity {CAPACITY} in {shards} shard(s)"
    );
    for &kind in PolicyKind::ALL {
        let (hits, requests) = traces.iter().fold((0, 0), |(h, r), t| {
            let s = kind.run(t, CAPACITY / shards);
            (h + s.hits, r + s.requests)
        });
        println!(
            "{:<14} {:6.2} %",
            kind.name(),
            100.0 * hits as f64 / requests as f64
        );
    }
}

//! Every policy driven the way a cache drives it, through millions of mostly distinct keys, in
//! both modes a cache uses (unit weights with the entry bound as capacity; byte weights with a
//! huge byte capacity and an entry bound the policy is not told): the policy's memory, read
//! from a counting global allocator, stays within a small multiple of the entries it tracks,
//! nothing overflows or panics at extreme capacities and weights, and the segmented policies
//! hit as well in the second mode as in the first.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use cache_traits::EvictionPolicy;
use eviction::{ArcPolicy, ClockTinyLfu, Hybrid, Lfu, Lru, S3Fifo, Sieve};

/// The system allocator, counting per thread the bytes allocated and not yet freed.
///
/// Tests run on threads of their own, so a test reads only what its own thread allocated:
/// the trace tests loading hundreds of megabytes alongside do not disturb it.
struct Counting;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

fn count(delta: i64) {
    // (A const-initialised thread local without a destructor: no allocation, no recursion.)
    let _ = LIVE.try_with(|live| live.set(live.get() + delta));
}

/// Bytes this thread has allocated and not freed.
fn live_bytes() -> i64 {
    LIVE.with(Cell::get)
}

// SAFETY: every call is forwarded to `System` unchanged; the counting only reads sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System.alloc`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(layout.size() as i64);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System.alloc_zeroed`'s.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(layout.size() as i64);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is `System.dealloc`'s.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as i64));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract is `System.realloc`'s.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(new_size as i64 - layout.size() as i64);
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The MurmurHash3 finaliser: key hashes as a cache's hasher would give them.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// How the cache around the policy is bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// An entry-bounded cache (and the simulator): weight 1 per entry, capacity = the bound.
    Unit,
    /// A byte-budgeted cache that also has an entry bound: weights of 50 to 100 bytes, a
    /// byte capacity of `u64::MAX / 16` it never reaches, and the entry bound, which the
    /// policy is not told, triggering every eviction.
    Bytes,
}

/// Which keys a run requests.
#[derive(Clone, Copy, Debug)]
enum Stream {
    /// Three requests in four for a key never seen, the others for a key seen among the last
    /// `4n` requests: a hit if still resident, else a re-insertion that may hit a ghost.
    Recent,
    /// Three requests in ten for a hot set of `0.8n` keys, the others for keys never seen:
    /// recency alone keeps little of the hot set, a policy that protects it from one-time
    /// keys (S3-FIFO's small queue, W-TinyLFU's window and filter, ARC's `T2`) keeps most.
    HotAndScan,
}

/// What a run measured.
#[derive(Debug)]
struct Run {
    /// Bytes the policy held after the stream, beyond what it held empty.
    policy_bytes: i64,
    hits: u64,
}

const NO_SLOT: u32 = u32::MAX;

/// Drives `policy` as a cache of `n` entries would through `requests` requests of `stream`.
/// Every 64th request removes a resident entry; one hit in eight re-weighs its entry in
/// [`Mode::Bytes`]. Evicts while over the bound, checking that each victim is resident.
///
/// The driver allocates all its own state before the first measurement, so the allocator's
/// figure after the stream is the policy's.
fn drive(
    policy: &mut dyn EvictionPolicy,
    mode: Mode,
    stream: Stream,
    n: usize,
    requests: usize,
) -> Run {
    let hot = 4 * n / 5;
    let mut slot_of_key = vec![NO_SLOT; hot + requests];
    let mut key_of_slot = vec![(u64::MAX, 0u64); n + 1];
    let mut free: Vec<u32> = Vec::with_capacity(n + 2);
    let mut next_slot = 0u32;
    let (mut live, mut used) = (0usize, 0u64);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut hits = 0;
    let capacity = match mode {
        Mode::Unit => n as u64,
        Mode::Bytes => u64::MAX / 16,
    };
    let before = live_bytes();
    policy.set_capacity(capacity);
    let weight_of = |r: u64| match mode {
        Mode::Unit => 1,
        Mode::Bytes => 50 + (r >> 32) % 51,
    };
    for i in 0..requests {
        let r = rng.next();
        let key = match stream {
            Stream::Recent if r % 4 == 0 => i.saturating_sub(1 + (r >> 8) as usize % (4 * n)),
            Stream::Recent => i,
            Stream::HotAndScan if r % 10 < 3 => (r >> 8) as usize % hot,
            Stream::HotAndScan => hot + i,
        };
        let hash = mix(key as u64);
        let slot = slot_of_key[key];
        if slot != NO_SLOT {
            hits += 1;
            let old = key_of_slot[slot as usize].1;
            if mode == Mode::Bytes && r % 8 == 1 {
                let new = weight_of(r.rotate_left(17));
                key_of_slot[slot as usize].1 = new;
                used = used - old + new;
                policy.on_update(slot, hash, old, new);
            } else {
                policy.on_access(slot, hash);
            }
        } else {
            let slot = free.pop().unwrap_or_else(|| {
                next_slot += 1;
                next_slot - 1
            });
            let weight = weight_of(r);
            slot_of_key[key] = slot;
            key_of_slot[slot as usize] = (key as u64, weight);
            live += 1;
            used += weight;
            policy.on_insert(slot, hash, weight);
        }
        if i % 64 == 63 {
            let slot = (r >> 40) as u32 % next_slot;
            let (key, weight) = key_of_slot[slot as usize];
            if key != u64::MAX {
                policy.on_remove(slot);
                slot_of_key[key as usize] = NO_SLOT;
                key_of_slot[slot as usize] = (u64::MAX, 0);
                free.push(slot);
                live -= 1;
                used -= weight;
            }
        }
        while live > n || used > capacity {
            let victim = policy
                .evict()
                .unwrap_or_else(|| panic!("{}: over the bound with no victim", policy.name()));
            let (key, weight) = key_of_slot[victim as usize];
            assert_ne!(key, u64::MAX, "{}: victim {victim} is free", policy.name());
            slot_of_key[key as usize] = NO_SLOT;
            key_of_slot[victim as usize] = (u64::MAX, 0);
            free.push(victim);
            live -= 1;
            used -= weight;
        }
    }
    Run {
        policy_bytes: live_bytes() - before,
        hits,
    }
}

/// Entries the cache holds.
const N: usize = 10_000;
/// Requests per run: three quarters of them new keys, 150 times the cache.
const REQUESTS: usize = 2_000_000;

/// The bound on `policy`'s memory for `n` tracked entries: twice what it tells the cache its
/// state costs ([`EvictionPolicy::bytes_per_slot`] per entry, plus
/// [`EvictionPolicy::extra_bytes`]), and 64 KiB; and never above 144 bytes per entry.
///
/// Twice, because per-slot vectors, queues and maps grow by doubling; the constant covers the
/// smallest sketch and table sizes. The charges run from 8 bytes per entry (LRU's links) to
/// 88 (ARC and S3-FIFO: links, 16 bytes of state and at most one ghost per resident entry,
/// at 64 bytes); measured, those two hold about 121, hence the cap of 144. A ghost list trimmed only by weight, under a byte capacity the cache never
/// reaches, instead grows with the stream: at 150 times the cache, thousands of bytes per
/// entry.
fn memory_bound(policy: &dyn EvictionPolicy, n: usize) -> i64 {
    let charged = policy.bytes_per_slot() as i64 * n as i64 + policy.extra_bytes() as i64;
    (2 * charged).min(144 * n as i64) + (64 << 10)
}

/// Every policy of the crate, fresh.
fn policies() -> Vec<Box<dyn EvictionPolicy>> {
    vec![
        Box::new(Lru::new()),
        Box::new(Lfu::new()),
        Box::new(ArcPolicy::new()),
        Box::new(S3Fifo::new()),
        Box::new(Sieve::new()),
        Box::new(Hybrid::new()),
        Box::new(Hybrid::with_static_window(0.2)),
        Box::new(ClockTinyLfu::new()),
        Box::new(ClockTinyLfu::with_static_window(0.2)),
    ]
}

/// Runs policy `index` of [`policies`] in both modes and checks its memory.
fn check_memory(index: usize) {
    let mut failures = Vec::new();
    for mode in [Mode::Unit, Mode::Bytes] {
        let mut policy = policies().swap_remove(index);
        let run = drive(&mut *policy, mode, Stream::Recent, N, REQUESTS);
        let bound = memory_bound(&*policy, N);
        eprintln!(
            "{} {mode:?}: {} bytes ({:.1} per entry, bound {:.1}), {} hits",
            policy.name(),
            run.policy_bytes,
            run.policy_bytes as f64 / N as f64,
            bound as f64 / N as f64,
            run.hits
        );
        if run.policy_bytes >= bound {
            failures.push(format!(
                "{} in {mode:?} mode holds {} bytes for {N} entries after {REQUESTS} \
                 requests; the bound is {bound}",
                policy.name(),
                run.policy_bytes
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn lru_memory_is_bounded_by_its_entries() {
    check_memory(0);
}

#[test]
fn lfu_memory_is_bounded_by_its_entries() {
    check_memory(1);
}

#[test]
fn arc_memory_is_bounded_by_its_entries() {
    check_memory(2);
}

#[test]
fn s3fifo_memory_is_bounded_by_its_entries() {
    check_memory(3);
}

#[test]
fn sieve_memory_is_bounded_by_its_entries() {
    check_memory(4);
}

#[test]
fn hybrid_memory_is_bounded_by_its_entries() {
    check_memory(5);
    check_memory(6);
}

#[test]
fn clock_tinylfu_memory_is_bounded_by_its_entries() {
    check_memory(7);
    check_memory(8);
}

/// The segmented policies size their segments from the weight the cache holds when it evicts
/// below their capacity: with byte weights and an entry bound they hit about as often as with
/// unit weights, on both streams (LRU and SIEVE, which have no segments, show the streams'
/// own difference between the modes: none). Only a loss of more than 10 % counts: on the
/// recency-heavy stream a degenerate policy (one big FIFO or LRU) can hit more than a
/// segmented one, a window sized by weight holds a varying number of entries, and the
/// hybrid's sketch, sized from the capacity when it counts entries, grows with the entries
/// when it counts bytes, starting afresh at each doubling (6 % fewer hits on that stream).
/// Segments sized from the byte capacity lose about two thirds of the hits on the other.
#[test]
fn byte_weights_under_an_entry_bound_hit_like_unit_weights() {
    let n = 2_000;
    let requests = 400_000;
    let mut failures = Vec::new();
    for stream in [Stream::Recent, Stream::HotAndScan] {
        for index in 0..policies().len() {
            let mut unit = policies().swap_remove(index);
            let mut bytes = policies().swap_remove(index);
            let by_unit = drive(&mut *unit, Mode::Unit, stream, n, requests).hits as f64;
            let by_bytes = drive(&mut *bytes, Mode::Bytes, stream, n, requests).hits as f64;
            let ratio = by_bytes / by_unit;
            eprintln!(
                "{} {stream:?}: {by_unit} hits with unit weights, bytes/unit {ratio:.3}",
                unit.name()
            );
            if ratio < 0.9 {
                failures.push(format!(
                    "{} {stream:?}: {by_bytes} hits with byte weights, {by_unit} with unit weights",
                    unit.name()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Capacities and weights from 0 to `u64::MAX`, through every operation: no overflow, no
/// panic (debug builds check arithmetic), and a victim whenever one is asked for.
#[test]
fn extreme_capacities_and_weights_neither_overflow_nor_panic() {
    let capacities = [
        0,
        1,
        2,
        100,
        u64::from(u32::MAX),
        u64::MAX / 1024,
        u64::MAX / 16,
        u64::MAX / 2,
        u64::MAX / 2 + 1,
        u64::MAX - 1,
        u64::MAX,
    ];
    let weights = [
        0,
        1,
        3,
        1000,
        u64::from(u32::MAX),
        u64::from(u32::MAX) + 1,
        u64::MAX / 4,
        u64::MAX / 2,
        u64::MAX,
    ];
    for index in 0..policies().len() {
        for &capacity in &capacities {
            let mut policy = policies().swap_remove(index);
            let name = policy.name();
            policy.set_capacity(capacity);
            let mut rng = Rng(capacity | 1);
            let mut resident: Vec<(u32, u64, u64)> = Vec::new();
            let mut free: Vec<u32> = Vec::new();
            let mut next = 0u32;
            for i in 0..3_000u64 {
                let r = rng.next();
                let weight = weights[(r % weights.len() as u64) as usize];
                // A few recently evicted keys come back (ghost hits).
                let hash = mix(if r % 5 == 0 {
                    i.saturating_sub(r % 64)
                } else {
                    i
                });
                let slot = free.pop().unwrap_or_else(|| {
                    next += 1;
                    next - 1
                });
                policy.on_insert(slot, hash, weight);
                resident.push((slot, hash, weight));
                match r >> 60 {
                    0..=3 => {
                        let (slot, hash, _) = resident[(r >> 20) as usize % resident.len()];
                        policy.on_access(slot, hash);
                    }
                    4 => {
                        let at = (r >> 20) as usize % resident.len();
                        let (slot, hash, old) = resident[at];
                        let new = weights[(r >> 8) as usize % weights.len()];
                        policy.on_update(slot, hash, old, new);
                        resident[at].2 = new;
                    }
                    5 => {
                        let at = (r >> 20) as usize % resident.len();
                        let (slot, _, _) = resident.swap_remove(at);
                        policy.on_remove(slot);
                        free.push(slot);
                    }
                    6 => policy.set_capacity(capacities[(r >> 8) as usize % capacities.len()]),
                    _ => {}
                }
                // Evict down to 64 entries (a cache bounded by count), or to none at all.
                let keep = if i % 500 == 499 { 0 } else { 64 };
                while resident.len() > keep {
                    let victim = policy
                        .evict()
                        .unwrap_or_else(|| panic!("{name} at capacity {capacity}: no victim"));
                    let at = resident
                        .iter()
                        .position(|&(s, _, _)| s == victim)
                        .unwrap_or_else(|| panic!("{name}: victim {victim} is not resident"));
                    resident.swap_remove(at);
                    free.push(victim);
                }
            }
            assert_eq!(
                policy.evict(),
                None,
                "{name}: an empty policy has no victim"
            );
            policy.clear();
        }
    }
}

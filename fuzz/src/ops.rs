//! Arbitrary sequences of cache operations against `cache_core::Cache`, for every policy of
//! `eviction`, entry-bounded, byte-bounded or both, on a manual clock.
//!
//! The first input byte picks the policy and the bounds; the rest decodes (with `arbitrary`)
//! into the cache's settings and up to [`MAX_OPS`] operations. User code (the key's `Hash`,
//! the weigher, the value's `Clone` and `Drop`, the eviction listener, loaders and `retain`
//! predicates) panics on purpose where an [`Op::Arm`] or the operation says so; those panics
//! carry [`INJECTED`] and are caught. After every operation, panicked or not:
//!
//! - `entry_count() <= max_entries()` and `weighted_size() <= capacity()`;
//! - `get` returns `None` or a value inserted for that key and not removed since (a model
//!   keeps, per key, the values the cache may hold: one after a clean insert, the old ones
//!   and the new one after an insert that panicked);
//! - a caller alone never waits for another's load (`LoadError::LoaderPanicked`).
//!
//! A hang (a load left in flight) shows up as a libFuzzer timeout.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::panic::{self, AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use cache_core::{Cache, LoadError};
use cache_traits::{Clock, EvictionPolicy, ManualClock, RemovalCause};
use eviction::{ArcPolicy, ClockTinyLfu, Hybrid, Lfu, Lru, S3Fifo, Sieve};

/// The payload of every panic the harness injects on purpose.
pub const INJECTED: &str = "query-cache-fuzz: injected panic";

/// Most operations decoded from one input.
const MAX_OPS: usize = 256;

/// Keys per cache: few, so that operations meet.
const KEYS: u8 = 32;

/// Which user code panics right now: bits of [`Fault`].
static FAULTS: AtomicU8 = AtomicU8::new(0);

/// Numbers the values inserted, so that each is unique.
static SEQ: AtomicU32 = AtomicU32::new(0);

/// User code that can be made to panic.
#[derive(Clone, Copy)]
enum Fault {
    /// `Key::hash`, for keys `≡ 15 (mod 16)`: while the table rehashes, too.
    Hash = 1,
    /// The weigher, for values whose sequence number is `≡ 5 (mod 8)`.
    Weigh = 2,
    /// `Val::clone`, for sequence numbers `≡ 7 (mod 8)`.
    Clone = 4,
    /// `Val::drop`, for sequence numbers `≡ 6 (mod 8)` (not while already unwinding).
    Drop = 8,
    /// The eviction listener, for sequence numbers `≡ 4 (mod 8)`.
    Listener = 16,
}

fn armed(fault: Fault) -> bool {
    FAULTS.load(Ordering::Relaxed) & fault as u8 != 0
}

fn inject() -> ! {
    panic::panic_any(INJECTED)
}

/// A key whose `Hash` can panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key(u8);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        if self.0 % 16 == 15 && armed(Fault::Hash) {
            inject();
        }
        self.0.hash(state);
    }
}

/// A value that knows its key and insertion, and whose `Clone` and `Drop` can panic.
#[derive(Debug, PartialEq, Eq)]
struct Val {
    key: u8,
    seq: u32,
    weight: u32,
}

impl Val {
    fn new(key: u8, weight: u16) -> Val {
        Val {
            key,
            seq: SEQ.fetch_add(1, Ordering::Relaxed),
            weight: u32::from(weight),
        }
    }
}

impl Clone for Val {
    fn clone(&self) -> Val {
        if self.seq % 8 == 7 && armed(Fault::Clone) {
            inject();
        }
        Val { ..*self }
    }
}

impl Drop for Val {
    fn drop(&mut self) {
        if self.seq % 8 == 6 && armed(Fault::Drop) && !std::thread::panicking() {
            inject();
        }
    }
}

/// What a load does.
#[derive(Arbitrary, Clone, Copy, Debug)]
enum Loader {
    Ok,
    Err,
    Panic,
}

/// One cache operation.
#[derive(Arbitrary, Debug)]
enum Op {
    Insert {
        key: u8,
        weight: u16,
    },
    InsertWithTtl {
        key: u8,
        weight: u16,
        ttl_ms: u8,
    },
    Get {
        key: u8,
    },
    ContainsKey {
        key: u8,
    },
    Remove {
        key: u8,
    },
    Load {
        key: u8,
        weight: u16,
        loader: Loader,
    },
    SetCapacity {
        bytes: u32,
    },
    InvalidateAll,
    /// Keeps the keys not divisible by `modulus + 1`; the predicate panics on `panic_on`.
    Retain {
        modulus: u8,
        panic_on: Option<u8>,
    },
    EvictBytes {
        bytes: u32,
    },
    RunMaintenance,
    Advance {
        ms: u16,
    },
    /// Sets which user code panics (bits of [`Fault`]).
    Arm {
        faults: u8,
    },
}

/// The cache's settings.
#[derive(Arbitrary, Debug)]
struct Settings {
    max_entries: u8,
    max_bytes: u32,
    shards_log2: u8,
    ttl_ms: Option<u8>,
    tti_ms: Option<u8>,
}

/// Which bounds the cache has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bounds {
    Entries,
    Bytes,
    Both,
}

/// Lets injected panics unwind quietly; any other still reaches libFuzzer's hook (which
/// aborts: a finding).
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let fuzzer_hook = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() == Some(&INJECTED) {
                return;
            }
            fuzzer_hook(info);
        }));
    });
}

/// Runs the input: the first byte picks the policy and the bounds.
pub fn check(data: &[u8]) {
    install_panic_hook();
    FAULTS.store(0, Ordering::Relaxed);
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let bounds = match (first / 9) % 3 {
        0 => Bounds::Entries,
        1 => Bounds::Bytes,
        _ => Bounds::Both,
    };
    let u = Unstructured::new(rest);
    match first % 9 {
        0 => run(Lru::new, bounds, u),
        1 => run(Lfu::new, bounds, u),
        2 => run(ArcPolicy::new, bounds, u),
        3 => run(S3Fifo::new, bounds, u),
        4 => run(Sieve::new, bounds, u),
        5 => run(Hybrid::new, bounds, u),
        6 => run(|| Hybrid::with_static_window(0.2), bounds, u),
        7 => run(ClockTinyLfu::new, bounds, u),
        _ => run(|| ClockTinyLfu::with_static_window(0.2), bounds, u),
    }
    FAULTS.store(0, Ordering::Relaxed);
}

/// Runs `f` as user-facing code may: an injected panic is an outcome (`None`), any other
/// has already aborted in the hook.
fn attempt<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

/// The values each key may hold: sequence numbers of values inserted and not removed since.
#[derive(Default)]
struct Model {
    values: HashMap<u8, Vec<u32>>,
}

impl Model {
    /// A get for `key` returned `got`.
    fn check(&self, key: u8, got: Option<(u8, u32)>, what: &str) {
        let Some((k, seq)) = got else { return };
        assert_eq!(
            k, key,
            "finding: {what} for key {key} returned the value of key {k}"
        );
        let allowed = self.values.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        assert!(
            allowed.contains(&seq),
            "finding: {what} for key {key} returned value #{seq}, not one of {allowed:?}"
        );
    }

    /// `key` now holds at most `seq`.
    fn set(&mut self, key: u8, seq: u32) {
        self.values.insert(key, vec![seq]);
    }

    /// `key` may now also hold `seq` (an insert that panicked may or may not have happened).
    fn add(&mut self, key: u8, seq: u32) {
        self.values.entry(key).or_default().push(seq);
    }

    fn forget(&mut self, key: u8) {
        self.values.remove(&key);
    }
}

fn run<P: EvictionPolicy + Default + 'static>(
    make: fn() -> P,
    bounds: Bounds,
    mut u: Unstructured<'_>,
) {
    let Ok(settings) = Settings::arbitrary(&mut u) else {
        return;
    };
    let clock = Arc::new(ManualClock::new());
    let weigher = |_: &Key, v: &Val| {
        if v.seq % 8 == 5 && armed(Fault::Weigh) {
            inject();
        }
        u64::from(v.weight)
    };
    let listener = |_: &Key, v: &Val, _: RemovalCause| {
        if v.seq % 8 == 4 && armed(Fault::Listener) {
            inject();
        }
    };
    let mut builder = Cache::<Key, Val, P>::builder_with_weigher(weigher)
        .policy(make)
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .eviction_listener(listener);
    if bounds != Bounds::Bytes {
        builder = builder.max_entries(u64::from(settings.max_entries));
    }
    if bounds != Bounds::Entries {
        builder = builder.max_bytes(u64::from(settings.max_bytes));
    }
    if settings.shards_log2 % 4 != 0 {
        builder = builder.shards(1 << (settings.shards_log2 % 4 - 1));
    }
    if let Some(ms) = settings.ttl_ms {
        builder = builder.time_to_live(Duration::from_millis(u64::from(ms)));
    }
    if let Some(ms) = settings.tti_ms {
        builder = builder.time_to_idle(Duration::from_millis(u64::from(ms)));
    }
    // Settings the builder refuses (a zero bound, a budget too small) are not findings.
    let Ok(cache) = builder.build() else {
        return;
    };
    let mut model = Model::default();
    for _ in 0..MAX_OPS {
        let Ok(op) = Op::arbitrary(&mut u) else {
            break;
        };
        apply(&cache, &clock, &mut model, op);
        check_bounds(&cache);
    }
    FAULTS.store(0, Ordering::Relaxed);
    drop(cache);
}

fn check_bounds<P: EvictionPolicy>(cache: &Cache<Key, Val, P>) {
    let (entries, max_entries) = (cache.entry_count(), cache.max_entries());
    assert!(
        entries <= max_entries,
        "finding: {entries} entries, bound {max_entries}"
    );
    let (weight, capacity) = (cache.weighted_size(), cache.capacity());
    assert!(
        weight <= capacity,
        "finding: weighted size {weight} over capacity {capacity}"
    );
}

fn apply<P: EvictionPolicy>(
    cache: &Cache<Key, Val, P>,
    clock: &ManualClock,
    model: &mut Model,
    op: Op,
) {
    match op {
        Op::Insert { key, weight } | Op::InsertWithTtl { key, weight, .. } => {
            let key = key % KEYS;
            let value = Val::new(key, weight);
            let seq = value.seq;
            let ttl = match op {
                Op::InsertWithTtl { ttl_ms, .. } => Some(u64::from(ttl_ms.max(1))),
                _ => None,
            };
            let done = attempt(|| match ttl {
                Some(ms) => cache.insert_with_ttl(Key(key), value, Duration::from_millis(ms)),
                None => cache.insert(Key(key), value),
            });
            match done {
                Some(()) => model.set(key, seq),
                None => model.add(key, seq),
            }
        }
        Op::Get { key } => {
            let key = key % KEYS;
            if let Some(got) = attempt(|| cache.get(&Key(key)).map(|v| (v.key, v.seq))) {
                model.check(key, got, "get");
            }
        }
        Op::ContainsKey { key } => {
            let _ = attempt(|| cache.contains_key(&Key(key % KEYS)));
        }
        Op::Remove { key } => {
            let key = key % KEYS;
            if let Some(got) = attempt(|| cache.remove(&Key(key)).map(|v| (v.key, v.seq))) {
                model.check(key, got, "remove");
                model.forget(key);
            }
        }
        Op::Load {
            key,
            weight,
            loader,
        } => load(cache, model, key % KEYS, weight, loader),
        Op::SetCapacity { bytes } => {
            let _ = attempt(|| cache.set_capacity(u64::from(bytes)));
        }
        Op::InvalidateAll => {
            if attempt(|| cache.invalidate_all()).is_some() {
                model.values.clear();
            }
        }
        Op::Retain { modulus, panic_on } => {
            let divisor = modulus.max(1);
            let keep = |k: &Key, _: &Val| {
                if Some(k.0) == panic_on.map(|p| p % KEYS) {
                    inject();
                }
                !k.0.is_multiple_of(divisor)
            };
            if attempt(|| cache.retain(keep)).is_some() {
                model.values.retain(|k, _| !k.is_multiple_of(divisor));
            }
        }
        Op::EvictBytes { bytes } => {
            let _ = attempt(|| cache.evict_bytes(u64::from(bytes), RemovalCause::Pressure));
        }
        Op::RunMaintenance => {
            let _ = attempt(|| cache.run_maintenance());
        }
        Op::Advance { ms } => clock.advance(Duration::from_millis(u64::from(ms))),
        Op::Arm { faults } => FAULTS.store(faults & 31, Ordering::Relaxed),
    }
}

/// How a load ended, as its caller saw it.
enum Loaded {
    /// The key and sequence number of the value returned.
    Value(u8, u32),
    /// The loader failed.
    Failed,
    /// `LoadError::LoaderPanicked`: this caller waited on another's load.
    Waited,
}

impl<E> From<Result<Val, LoadError<E>>> for Loaded {
    fn from(result: Result<Val, LoadError<E>>) -> Loaded {
        match result {
            Ok(v) => Loaded::Value(v.key, v.seq),
            Err(LoadError::LoaderPanicked) => Loaded::Waited,
            Err(_) => Loaded::Failed,
        }
    }
}

/// `get_or_insert_with` (or `try_get_or_insert_with` with a failing loader) for `key`.
fn load<P: EvictionPolicy>(
    cache: &Cache<Key, Val, P>,
    model: &mut Model,
    key: u8,
    weight: u16,
    loader: Loader,
) {
    let (loaded, new) = match loader {
        Loader::Ok => {
            let value = Val::new(key, weight);
            let seq = value.seq;
            let loaded = attempt(|| Loaded::from(cache.get_or_insert_with(Key(key), || value)));
            (loaded, Some(seq))
        }
        Loader::Err => {
            let failing = || Err::<Val, _>("loader failed");
            let loaded = attempt(|| Loaded::from(cache.try_get_or_insert_with(Key(key), failing)));
            (loaded, None)
        }
        Loader::Panic => {
            let loaded = attempt(|| Loaded::from(cache.get_or_insert_with(Key(key), || inject())));
            (loaded, None)
        }
    };
    match loaded {
        Some(Loaded::Value(k, seq)) => {
            let mut allowed = model.values.get(&key).cloned().unwrap_or_default();
            allowed.extend(new);
            let with_new = Model {
                values: HashMap::from([(key, allowed)]),
            };
            with_new.check(key, Some((k, seq)), "get_or_insert_with");
            model.set(key, seq);
        }
        Some(Loaded::Waited) => {
            panic!("finding: a lone caller of get_or_insert_with for key {key} waited on a load")
        }
        Some(Loaded::Failed) => {}
        // User code panicked: a value loaded may or may not be stored.
        None => {
            if let Some(seq) = new {
                model.add(key, seq);
            }
        }
    }
}

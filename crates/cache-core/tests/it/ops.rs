//! Random operation sequences, user code that panics included, against a reference model;
//! proptest shrinks a failing sequence to a minimal one.
//!
//! Every policy of the `eviction` crate, entry and byte bounds, one to four shards, time-to-live
//! and time-to-idle on a manual clock. User code panics on demand: the key's `Hash` and `Eq`, the
//! value's `Clone` and `Drop`, the weigher, the listener and the loader; a third test runs a
//! policy that breaks its contract (no victim, a slot it never gave out, a stale slot). Each
//! case runs on a worker thread that a watchdog declares hung when it stays blocked through an
//! operation, so a load that waits forever fails its case (and shrinks) instead of stopping the
//! run. After a load panics, a fresh load of its key must return at once.
//!
//! The model holds, for every value id the cache may hold, its key, weight and deadlines, and
//! learns of removals only through the listener. After every operation:
//! - each listener report names a value the cache held, once, with a cause the operation
//!   allows (`Expired` only past the deadline, `Explicit` only for what was removed, ...);
//! - each key holds at most one value, the last one stored (so a replaced value was reported);
//! - `entry_count` equals the model's count and stays within `max_entries`;
//! - `weighted_size` stays within `capacity`, and with a byte budget matches the entries' charges;
//! - `get` and `contains_key` return exactly the model's live value;
//! - a value loaded while its key was removed (or everything invalidated) is not stored.
//!
//! A panic in user code leaves the operation done or not done as the docs say (a panicking
//! weigher, `Hash` or `Eq` stores nothing; a panicking listener or `Drop` comes after the change
//! and, in `retain` and `invalidate_all`, stops nothing); where the docs leave it open (a load
//! whose `Clone` panics), the test looks at the key. A failure prints the minimal sequence.
//!
//! `PROPTEST_CASES` raises the number of cases; `PROPTEST_RNG_SEED` fixes the seed.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};
use std::panic::{self, AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use cache_core::{BuildError, Cache, LoadError};
use cache_traits::{Clock, EvictionPolicy, ManualClock, RemovalCause};
use eviction::{ArcPolicy, ClockTinyLfu, Hybrid, Lfu, Lru, S3Fifo, Sieve};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

/// Cases per test unless `PROPTEST_CASES` says otherwise: about 2.5 ms each in the dev
/// profile, so the three tests take about 15 s of CPU. The panicking mix gets the most: its
/// failures need a panic at the right moment of a longer sequence.
fn default_cases(mix: Mix) -> u32 {
    match mix {
        Mix::Plain => 1_500,
        Mix::Panics => 3_000,
        Mix::Rogue => 1_000,
    }
}
/// An operation whose thread sleeps this long (in a single-threaded test, on a lock or a
/// condvar that nobody will release) is taken to hang.
const BLOCKED: Duration = Duration::from_millis(300);
/// An operation that runs this long, asleep or not, is taken to hang.
const HANG: Duration = Duration::from_secs(5);
/// Nanoseconds per second of the manual clock.
const SEC: u64 = 1_000_000_000;

#[test]
fn random_sequences_agree_with_the_model() {
    check(Mix::Plain);
}

#[test]
fn random_sequences_with_panicking_user_code_agree_with_the_model() {
    check(Mix::Panics);
}

#[test]
fn a_policy_that_breaks_its_contract_breaks_neither_safety_nor_bounds() {
    check(Mix::Rogue);
}

/// Which operations a test draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mix {
    /// No user code panics; the policies of the `eviction` crate.
    Plain,
    /// User code panics on demand.
    Panics,
    /// No user code panics; a policy that returns no victim, or a slot it never gave out or
    /// already took back.
    Rogue,
}

fn check(mix: Mix) {
    install_quiet_panic_hook();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_cases(mix));
    let config = Config {
        cases,
        // Failures are reported with their minimal sequence; nothing is written to the tree.
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&(setup(mix), ops(mix)), |(setup, ops)| {
        run_watched(setup, ops).map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(_, (setup, ops))) => {
            let (ops, failure) = remove_needless_ops(&setup, ops);
            panic!(
                "{failure}\nminimal failing sequence ({} operations):\n{setup:?}\n{}",
                ops.len(),
                ops.iter()
                    .enumerate()
                    .map(|(i, op)| format!("  #{i} {op:?}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        Err(e) => panic!("{e}"),
    }
}

/// Proptest's shrinking stops at a sequence from which single operations can often still be
/// removed (it removes them before it simplifies the others); this removes every operation
/// whose removal keeps the case failing, and returns the sequence and its failure.
fn remove_needless_ops(setup: &Setup, mut ops: Vec<Op>) -> (Vec<Op>, String) {
    let mut failure = match run_watched(setup.clone(), ops.clone()) {
        Err(e) => e,
        Ok(()) => return (ops, "the shrunk case passed when run again (flaky)".into()),
    };
    let mut i = ops.len();
    while i > 0 {
        i -= 1;
        let mut fewer = ops.clone();
        fewer.remove(i);
        if let Err(e) = run_watched(setup.clone(), fewer.clone()) {
            (ops, failure) = (fewer, e);
            i = i.min(ops.len());
        }
    }
    (ops, failure)
}

// ---------------------------------------------------------------------------------------------
// User code that panics on demand.

/// Whose code panicked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Culprit {
    Hash,
    Eq,
    Clone,
    Drop,
    Weigher,
    Listener,
    Loader,
    /// The policy broke its contract, and the cache said so (debug builds panic, naming it).
    Policy,
}

/// The payload of every injected panic, so that a panic of the cache's own is told apart.
struct Injected;

/// Fuses of the worker thread: `Some(n)` panics on the call after `n` more.
#[derive(Default)]
struct Fuses {
    hash: Cell<Option<u8>>,
    eq: Cell<Option<u8>>,
    clone: Cell<Option<u8>>,
    listener: Cell<Option<u8>>,
    weigher: Cell<bool>,
    rogue: Cell<RogueMode>,
    fired: RefCell<Vec<Culprit>>,
}

thread_local! {
    static FUSES: Fuses = Fuses::default();
}

/// Panics with [`Injected`], unless the thread is already unwinding (that would abort).
fn fire(culprit: Culprit) {
    if std::thread::panicking() {
        return;
    }
    FUSES.with(|f| f.fired.borrow_mut().push(culprit));
    panic::panic_any(Injected);
}

/// Counts down the fuse chosen by `pick`, firing when it runs out.
fn burn(pick: fn(&Fuses) -> &Cell<Option<u8>>, culprit: Culprit) {
    if std::thread::panicking() {
        return;
    }
    let blow = FUSES.with(|f| {
        let fuse = pick(f);
        match fuse.get() {
            Some(0) => {
                fuse.set(None);
                true
            }
            Some(n) => {
                fuse.set(Some(n - 1));
                false
            }
            None => false,
        }
    });
    if blow {
        fire(culprit);
    }
}

/// The fault an operation runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    /// The key's `Hash` panics on its call after this many.
    Hash(u8),
    /// The key's `Eq` panics on its call after this many.
    Eq(u8),
    /// The value's `Clone` panics on its call after this many.
    Clone(u8),
    /// The weigher panics.
    Weigher,
    /// The listener panics on its call after this many (having recorded the removal).
    Listener(u8),
    /// The rogue policy misbehaves as told (only with [`Rogue`]).
    Policy(RogueMode),
}

fn arm(fault: Fault) {
    FUSES.with(|f| match fault {
        Fault::None => {}
        Fault::Hash(n) => f.hash.set(Some(n)),
        Fault::Eq(n) => f.eq.set(Some(n)),
        Fault::Clone(n) => f.clone.set(Some(n)),
        Fault::Weigher => f.weigher.set(true),
        Fault::Listener(n) => f.listener.set(Some(n)),
        Fault::Policy(mode) => f.rogue.set(mode),
    });
}

/// Disarms every fuse; returns whose code panicked since the last call.
fn disarm() -> Vec<Culprit> {
    FUSES.with(|f| {
        f.hash.set(None);
        f.eq.set(None);
        f.clone.set(None);
        f.listener.set(None);
        f.weigher.set(false);
        f.rogue.set(RogueMode::Off);
        std::mem::take(&mut *f.fired.borrow_mut())
    })
}

/// Keeps injected panics, and the rogue policy's reports, out of the test output; other panics
/// print as usual.
fn install_quiet_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let rogue = message(info.payload()).contains(ROGUE_REPORT);
            if !info.payload().is::<Injected>() && !rogue {
                previous(info);
            }
        }));
    });
}

/// A key whose `Hash` and `Eq` panic when their fuse says so.
#[derive(Clone, Copy, Debug)]
struct Key(u8);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        burn(|f| &f.hash, Culprit::Hash);
        self.0.hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        burn(|f| &f.eq, Culprit::Eq);
        self.0 == other.0
    }
}

impl Eq for Key {}

/// A value with a unique id, whose `Clone` panics when its fuse says so and whose `Drop`
/// panics when it carries a bomb (clones carry it too; the test defuses the copies it gets).
#[derive(Debug)]
struct Val {
    id: u64,
    weight: u64,
    bomb: bool,
}

impl Clone for Val {
    fn clone(&self) -> Self {
        burn(|f| &f.clone, Culprit::Clone);
        Val {
            id: self.id,
            weight: self.weight,
            bomb: self.bomb,
        }
    }
}

impl Drop for Val {
    fn drop(&mut self) {
        if std::mem::take(&mut self.bomb) {
            fire(Culprit::Drop);
        }
    }
}

/// The id of a value the cache handed out, defused so that dropping it cannot panic.
fn defuse(mut v: Val) -> u64 {
    v.bomb = false;
    v.id
}

/// A loader's error.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Oops;

// ---------------------------------------------------------------------------------------------
// A policy that breaks its contract on demand.

/// How [`Rogue`] misbehaves during one operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum RogueMode {
    #[default]
    Off,
    /// `evict` returns `None` while it still tracks slots (for the whole operation).
    NoVictim,
    /// `evict` returns, once, a slot it was never given.
    Bogus,
    /// `evict` returns, once, a slot it already gave back or was told was removed (a slot from
    /// before a `clear` among them).
    Stale,
}

/// How debug builds of the cache report a rule [`Rogue`] broke (they panic with it).
const ROGUE_REPORT: &str = "eviction policy `rogue` broke a rule";

/// LRU, misbehaving as the worker thread's fuse says.
#[derive(Default)]
struct Rogue {
    inner: Lru,
    live: BTreeSet<u32>,
    freed: BTreeSet<u32>,
    max_seen: u32,
}

impl EvictionPolicy for Rogue {
    fn name(&self) -> &'static str {
        "rogue"
    }
    fn set_capacity(&mut self, capacity: u64) {
        self.inner.set_capacity(capacity);
    }
    fn on_insert(&mut self, slot: u32, hash: u64, weight: u64) {
        self.live.insert(slot);
        self.freed.remove(&slot);
        self.max_seen = self.max_seen.max(slot);
        self.inner.on_insert(slot, hash, weight);
    }
    fn on_access(&mut self, slot: u32, hash: u64) {
        self.inner.on_access(slot, hash);
    }
    fn on_update(&mut self, slot: u32, hash: u64, old_weight: u64, new_weight: u64) {
        self.inner.on_update(slot, hash, old_weight, new_weight);
    }
    fn on_remove(&mut self, slot: u32) {
        if self.live.remove(&slot) {
            self.freed.insert(slot);
            self.inner.on_remove(slot);
        }
    }
    fn evict(&mut self) -> Option<u32> {
        let mode = FUSES.with(|f| f.rogue.get());
        match mode {
            RogueMode::NoVictim if !self.live.is_empty() => return None,
            RogueMode::Bogus => {
                FUSES.with(|f| f.rogue.set(RogueMode::Off));
                return Some(self.max_seen + 1);
            }
            RogueMode::Stale => {
                FUSES.with(|f| f.rogue.set(RogueMode::Off));
                if let Some(&slot) = self.freed.iter().next() {
                    return Some(slot);
                }
            }
            _ => {}
        }
        let victim = self.inner.evict()?;
        self.live.remove(&victim);
        self.freed.insert(victim);
        Some(victim)
    }
    fn clear(&mut self) {
        self.freed.append(&mut self.live);
        self.inner.clear();
    }
    fn bytes_per_slot(&self) -> usize {
        self.inner.bytes_per_slot()
    }
}

// ---------------------------------------------------------------------------------------------
// What a case is: a cache configuration and a sequence of operations.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PolicyKind {
    Lru,
    Lfu,
    Arc,
    S3Fifo,
    Sieve,
    Hybrid,
    ClockTinyLfu,
    Rogue,
}

#[derive(Clone, Debug)]
struct Setup {
    policy: PolicyKind,
    shards: usize,
    max_entries: Option<u64>,
    /// The byte budget, in units of (entry overhead + 100 bytes).
    budget_units: Option<u64>,
    ttl_secs: Option<u64>,
    tti_secs: Option<u64>,
}

/// A value's weight as the weigher reports it: mostly small, sometimes above any shard's
/// byte budget here, rarely above `u32::MAX`.
#[derive(Clone, Copy, Debug)]
struct Weight(u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loader {
    Ok,
    /// Returns an error (with `get_or_insert_with`, which cannot fail, it returns a value).
    Err,
    Panic,
    /// Calls `remove` on its own key, then returns a value: the load began before the removal,
    /// so its value must not be cached afterwards.
    RemovesItsKey,
    /// Calls `invalidate_all`, then returns a value, which must not be cached afterwards.
    InvalidatesAll,
}

#[derive(Clone, Debug)]
enum Op {
    Get {
        key: u8,
        fault: Fault,
    },
    Insert {
        key: u8,
        weight: Weight,
        ttl_secs: Option<u8>,
        bomb: bool,
        fault: Fault,
    },
    Remove {
        key: u8,
        fault: Fault,
    },
    Contains {
        key: u8,
        fault: Fault,
    },
    Advance {
        secs: u8,
    },
    Load {
        key: u8,
        weight: Weight,
        loader: Loader,
        fallible: bool,
        bomb: bool,
        fault: Fault,
    },
    SetCapacity {
        units: u8,
        fault: Fault,
    },
    EvictBytes {
        units: u8,
        fault: Fault,
    },
    Retain {
        keep_odd: bool,
        fault: Fault,
    },
    Maintenance {
        fault: Fault,
    },
    InvalidateAll {
        fault: Fault,
    },
}

fn setup(mix: Mix) -> impl Strategy<Value = Setup> {
    let policy = if mix == Mix::Rogue {
        Just(PolicyKind::Rogue).boxed()
    } else {
        prop_oneof![
            Just(PolicyKind::Lru),
            Just(PolicyKind::Lfu),
            Just(PolicyKind::Arc),
            Just(PolicyKind::S3Fifo),
            Just(PolicyKind::Sieve),
            Just(PolicyKind::Hybrid),
            Just(PolicyKind::ClockTinyLfu),
        ]
        .boxed()
    };
    // Entries only, bytes only, or both.
    let bounds = prop_oneof![
        (1u64..=16).prop_map(|n| (Some(n), None)),
        (1u64..=16).prop_map(|b| (None, Some(b))),
        (1u64..=16, 1u64..=16).prop_map(|(n, b)| (Some(n), Some(b))),
    ];
    (
        policy,
        prop_oneof![Just(1usize), Just(2), Just(4)],
        bounds,
        proptest::option::weighted(0.3, 1u64..=30),
        proptest::option::weighted(0.3, 1u64..=20),
    )
        .prop_map(
            |(policy, shards, (max_entries, budget_units), ttl_secs, tti_secs)| Setup {
                policy,
                shards,
                max_entries,
                budget_units,
                ttl_secs,
                tti_secs,
            },
        )
}

fn key() -> impl Strategy<Value = u8> {
    0u8..16
}

fn weight() -> impl Strategy<Value = Weight> {
    prop_oneof![
        20 => (0u64..400).prop_map(Weight),
        1 => Just(Weight(1 << 20)),
        1 => Just(Weight(1 << 33)),
    ]
}

fn fault(mix: Mix) -> BoxedStrategy<Fault> {
    match mix {
        Mix::Plain => Just(Fault::None).boxed(),
        Mix::Panics => prop_oneof![
            14 => Just(Fault::None),
            1 => (0u8..4).prop_map(Fault::Hash),
            1 => (0u8..3).prop_map(Fault::Eq),
            1 => (0u8..3).prop_map(Fault::Clone),
            1 => Just(Fault::Weigher),
            1 => (0u8..3).prop_map(Fault::Listener),
        ]
        .boxed(),
        Mix::Rogue => prop_oneof![
            6 => Just(Fault::None),
            1 => Just(Fault::Policy(RogueMode::NoVictim)),
            1 => Just(Fault::Policy(RogueMode::Bogus)),
            1 => Just(Fault::Policy(RogueMode::Stale)),
        ]
        .boxed(),
    }
}

fn bomb(mix: Mix) -> BoxedStrategy<bool> {
    if mix == Mix::Panics {
        proptest::bool::weighted(0.05).boxed()
    } else {
        Just(false).boxed()
    }
}

fn op(mix: Mix) -> impl Strategy<Value = Op> {
    let loader = prop_oneof![
        12 => Just(Loader::Ok),
        3 => Just(Loader::Err),
        2 => Just(Loader::Panic),
        1 => Just(Loader::RemovesItsKey),
        1 => Just(Loader::InvalidatesAll),
    ];
    prop_oneof![
        20 => (key(), fault(mix)).prop_map(|(key, fault)| Op::Get { key, fault }),
        20 => (
            key(),
            weight(),
            proptest::option::weighted(0.2, 1u8..=40),
            bomb(mix),
            fault(mix)
        )
            .prop_map(|(key, weight, ttl_secs, bomb, fault)| Op::Insert {
                key,
                weight,
                ttl_secs,
                bomb,
                fault
            }),
        6 => (key(), fault(mix)).prop_map(|(key, fault)| Op::Remove { key, fault }),
        5 => (key(), fault(mix)).prop_map(|(key, fault)| Op::Contains { key, fault }),
        5 => (0u8..=12).prop_map(|secs| Op::Advance { secs }),
        14 => (key(), weight(), loader, any::<bool>(), bomb(mix), fault(mix)).prop_map(
            |(key, weight, loader, fallible, bomb, fault)| {
                // A loader that calls the cache runs without armed fuses, so that every panic
                // has one clear culprit.
                let fault = match loader {
                    Loader::RemovesItsKey | Loader::InvalidatesAll => Fault::None,
                    _ => fault,
                };
                Op::Load {
                    key,
                    weight,
                    loader,
                    fallible,
                    bomb,
                    fault,
                }
            }
        ),
        3 => (0u8..=20, fault(mix)).prop_map(|(units, fault)| Op::SetCapacity { units, fault }),
        2 => (0u8..=4, fault(mix)).prop_map(|(units, fault)| Op::EvictBytes { units, fault }),
        2 => (any::<bool>(), fault(mix))
            .prop_map(|(keep_odd, fault)| Op::Retain { keep_odd, fault }),
        2 => fault(mix).prop_map(|fault| Op::Maintenance { fault }),
        1 => fault(mix).prop_map(|fault| Op::InvalidateAll { fault }),
    ]
}

fn ops(mix: Mix) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(mix), 1..60)
}

// ---------------------------------------------------------------------------------------------
// Running a case on a watched worker thread.

/// Runs the case on a worker thread. The case fails as hung when the worker sleeps (blocked,
/// not preempted: Linux tells which) through one operation for [`BLOCKED`], or makes no
/// progress for [`HANG`] at all. A hung worker is left blocked: there is nothing better to do
/// with it.
fn run_watched(setup: Setup, ops: Vec<Op>) -> Result<(), String> {
    let progress = Arc::new(AtomicU64::new(0));
    let stat_path: Arc<Mutex<Option<PathBuf>>> = Arc::default();
    let (tx, rx) = mpsc::channel();
    let (worker_progress, worker_stat) = (Arc::clone(&progress), Arc::clone(&stat_path));
    let worker_ops = ops.clone();
    std::thread::Builder::new()
        .name("ops-worker".into())
        .spawn(move || {
            // "/proc/thread-self" names this thread's directory, "<pid>/task/<tid>".
            if let Ok(link) = std::fs::read_link("/proc/thread-self") {
                *worker_stat.lock().unwrap() = Some(Path::new("/proc").join(link).join("stat"));
            }
            let result = catch_unwind(AssertUnwindSafe(|| {
                dispatch_policy(&setup, &worker_ops, &worker_progress)
            }))
            .unwrap_or_else(|payload| Err(format!("the test panicked: {}", message(&*payload))));
            let _ = tx.send(result);
        })
        .map_err(|e| format!("could not start the worker: {e}"))?;
    let mut seen = 0;
    let mut since = Instant::now();
    let mut asleep_since: Option<Instant> = None;
    loop {
        match rx.recv_timeout(Duration::from_millis(10)) {
            Ok(result) => return result,
            Err(RecvTimeoutError::Disconnected) => return Err("the worker vanished".into()),
            Err(RecvTimeoutError::Timeout) => {}
        }
        let now = progress.load(Ordering::SeqCst);
        if now != seen {
            (seen, since, asleep_since) = (now, Instant::now(), None);
            continue;
        }
        let path = stat_path.lock().unwrap().clone();
        if path
            .as_deref()
            .and_then(thread_state)
            .is_some_and(|s| s == 'S' || s == 'D')
        {
            asleep_since.get_or_insert_with(Instant::now);
        } else {
            asleep_since = None;
        }
        let blocked = asleep_since.is_some_and(|t| t.elapsed() >= BLOCKED);
        if blocked || since.elapsed() >= HANG {
            let i = (now / 2) as usize;
            return Err(format!(
                "operation #{i} ({:?}), or the fresh load this test runs after a load that \
                 panicked, {}: it hangs",
                ops.get(i),
                if blocked {
                    format!("is blocked for {BLOCKED:?}")
                } else {
                    format!("did not return within {HANG:?}")
                },
            ));
        }
    }
}

/// A thread's state letter from its `/proc/<pid>/task/<tid>/stat`: `R` running, `S` sleeping...
fn thread_state(stat: &Path) -> Option<char> {
    let text = std::fs::read_to_string(stat).ok()?;
    // "tid (name) S ...": the name may hold spaces and parentheses; the state follows the last.
    text[text.rfind(')')? + 1..].trim_start().chars().next()
}

fn dispatch_policy(setup: &Setup, ops: &[Op], progress: &AtomicU64) -> Result<(), String> {
    match setup.policy {
        PolicyKind::Lru => play::<Lru>(setup, ops, progress),
        PolicyKind::Lfu => play::<Lfu>(setup, ops, progress),
        PolicyKind::Arc => play::<ArcPolicy>(setup, ops, progress),
        PolicyKind::S3Fifo => play::<S3Fifo>(setup, ops, progress),
        PolicyKind::Sieve => play::<Sieve>(setup, ops, progress),
        PolicyKind::Hybrid => play::<Hybrid>(setup, ops, progress),
        PolicyKind::ClockTinyLfu => play::<ClockTinyLfu>(setup, ops, progress),
        PolicyKind::Rogue => play::<Rogue>(setup, ops, progress),
    }
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a payload that is not a string)".into()
    }
}

fn play<P: EvictionPolicy + Default + 'static>(
    setup: &Setup,
    ops: &[Op],
    progress: &AtomicU64,
) -> Result<(), String> {
    let Some(mut h) = Harness::<P>::new(setup)? else {
        return Ok(());
    };
    for (i, op) in ops.iter().enumerate() {
        progress.fetch_add(1, Ordering::SeqCst);
        h.apply(op)
            .and_then(|()| h.check_invariants())
            .map_err(|e| format!("operation #{i} ({op:?}): {e}"))?;
        progress.fetch_add(1, Ordering::SeqCst);
    }
    progress.fetch_add(1, Ordering::SeqCst);
    h.drain().map_err(|e| format!("final invalidate_all: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The model.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Report {
    key: u8,
    id: u64,
    cause: RemovalCause,
}

type Log = Arc<Mutex<Vec<Report>>>;

/// A value the cache holds, as the model knows it.
#[derive(Clone, Copy, Debug)]
struct Stored {
    key: u8,
    weight: u64,
    expires_at: u64,
    idle_at: u64,
    tti: u64,
}

impl Stored {
    fn deadline(&self) -> u64 {
        self.expires_at.min(self.idle_at)
    }
}

/// Which removals an operation may cause, beyond expiries (which may happen at any time
/// once due).
#[derive(Default)]
struct Allowed {
    /// Evictions to fit the bounds.
    size: bool,
    /// `evict_bytes` evictions.
    pressure: bool,
    /// Removals of this key's older values by a new one.
    replaced: Option<u8>,
    /// Explicit removals of these keys.
    explicit_keys: Vec<u8>,
    /// Explicit removals of everything.
    explicit_all: bool,
    /// Explicit removals of the odd (true) or even (false) keys.
    explicit_parity: Option<bool>,
}

/// How an operation ended.
enum Ran<T> {
    Done(T),
    /// It panicked; whose code panicked.
    Panicked(Vec<Culprit>),
}

impl<T> Ran<T> {
    /// For a failure message: whose code panicked in the operation, if any.
    fn note(&self) -> String {
        match self {
            Ran::Done(_) => String::new(),
            Ran::Panicked(fired) => format!(" (the operation panicked: {fired:?})"),
        }
    }
}

/// A fixed hasher (SipHash with zero keys), so that a case places its keys in the same shards
/// and buckets on every run, and shrinks deterministically.
type FixedHasher = BuildHasherDefault<DefaultHasher>;

struct Harness<P> {
    cache: Arc<Cache<Key, Val, P, FixedHasher>>,
    clock: Arc<ManualClock>,
    log: Log,
    setup: Setup,
    /// Bytes per budget unit.
    unit: u64,
    overhead: u64,
    ttl: Option<u64>,
    tti: Option<u64>,
    /// Every value the cache may hold, by id.
    held: BTreeMap<u64, Stored>,
    /// The value each key holds (its last stored one).
    by_key: BTreeMap<u8, u64>,
    next_id: u64,
}

impl<P: EvictionPolicy + Default + 'static> Harness<P> {
    /// The harness, or `None` when the setup cannot be built (and `build` said so).
    fn new(setup: &Setup) -> Result<Option<Self>, String> {
        let clock = Arc::new(ManualClock::new());
        let log: Log = Arc::default();
        let ttl = setup.ttl_secs.map(|s| s * SEC);
        let tti = setup.tti_secs.map(|s| s * SEC);
        let builder = |max_entries: Option<u64>, max_bytes: Option<u64>| {
            let sink = Arc::clone(&log);
            let mut b = Cache::<Key, Val, P>::builder_with_weigher(|_: &Key, v: &Val| {
                if FUSES.with(|f| f.weigher.replace(false)) {
                    fire(Culprit::Weigher);
                }
                v.weight
            })
            .shards(setup.shards)
            .hasher(FixedHasher::default())
            .clock(clock.clone())
            .eviction_listener(move |k: &Key, v: &Val, cause| {
                sink.lock().unwrap().push(Report {
                    key: k.0,
                    id: v.id,
                    cause,
                });
                burn(|f| &f.listener, Culprit::Listener);
            });
            if let Some(n) = max_entries {
                b = b.max_entries(n);
            }
            if let Some(n) = max_bytes {
                b = b.max_bytes(n);
            }
            if let Some(s) = setup.ttl_secs {
                b = b.time_to_live(Duration::from_secs(s));
            }
            if let Some(s) = setup.tti_secs {
                b = b.time_to_idle(Duration::from_secs(s));
            }
            b.build()
        };
        // A probe with the same settings tells the per-entry overhead the budget is made of.
        let overhead = builder(None, Some(1 << 40))
            .map_err(|e| format!("probe build: {e}"))?
            .entry_overhead();
        let unit = overhead + 100;
        let max_bytes = setup
            .budget_units
            .map(|u| (u * unit).max(overhead * setup.shards as u64));
        let cache = match builder(setup.max_entries, max_bytes) {
            Ok(cache) => cache,
            // Fewer entries than shards: some shard could hold none.
            Err(BuildError::MoreShardsThanEntries { .. })
                if setup.max_entries.is_some_and(|n| n < setup.shards as u64) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(format!("build: {e}")),
        };
        Ok(Some(Self {
            cache: Arc::new(cache),
            clock,
            log,
            setup: setup.clone(),
            unit,
            overhead,
            ttl,
            tti,
            held: BTreeMap::new(),
            by_key: BTreeMap::new(),
            next_id: 1,
        }))
    }

    fn now(&self) -> u64 {
        self.clock.now_nanos()
    }

    /// The value `key` holds and its deadline has not passed.
    fn live(&self, key: u8) -> Option<u64> {
        let id = *self.by_key.get(&key)?;
        (self.held[&id].deadline() > self.now()).then_some(id)
    }

    /// Records that `key` now holds a new value, stored at the current time.
    fn store(&mut self, key: u8, id: u64, weight: u64, ttl: Option<u64>) {
        let now = self.now();
        let stored = Stored {
            key,
            weight,
            expires_at: ttl.map_or(u64::MAX, |t| now + t),
            idle_at: self.tti.map_or(u64::MAX, |t| now + t),
            tti: self.tti.unwrap_or(0),
        };
        self.held.insert(id, stored);
        self.by_key.insert(key, id);
    }

    /// Records a read of `id`: its idle deadline moves.
    fn touch(&mut self, id: u64) {
        let now = self.now();
        if let Some(s) = self.held.get_mut(&id) {
            if s.tti != 0 {
                s.idle_at = now + s.tti;
            }
        }
    }

    fn fresh_val(&mut self, weight: Weight, bomb: bool) -> Val {
        let id = self.next_id;
        self.next_id += 1;
        Val {
            id,
            weight: weight.0,
            bomb,
        }
    }

    /// Runs `f` with `fault` armed, catching an injected panic; a panic of the cache's own
    /// fails the case.
    fn run<T>(&self, fault: Fault, f: impl FnOnce() -> T) -> Result<Ran<T>, String> {
        disarm();
        arm(fault);
        let result = catch_unwind(AssertUnwindSafe(f));
        let mut fired = disarm();
        // Debug builds panic, after the operation, when a policy breaks its contract.
        let result = match result {
            Err(payload)
                if matches!(fault, Fault::Policy(_))
                    && message(&*payload).contains(ROGUE_REPORT) =>
            {
                fired.push(Culprit::Policy);
                Err(Box::new(Injected) as Box<dyn std::any::Any + Send>)
            }
            other => other,
        };
        match result {
            Ok(v) => {
                // A panic in Drop may be caught and, once every removal is delivered, resumed
                // or not; any other culprit's panic must reach the caller.
                if let Some(c) = fired.iter().find(|&&c| c != Culprit::Drop) {
                    return Err(format!("the cache swallowed a panic in the {c:?} code"));
                }
                Ok(Ran::Done(v))
            }
            Err(payload) if payload.is::<Injected>() => Ok(Ran::Panicked(fired)),
            Err(payload) => Err(format!(
                "the cache panicked by itself (fired before: {fired:?}): {}",
                message(&*payload)
            )),
        }
    }

    /// Takes the listener's reports, checking each against the model and `allowed`.
    fn absorb(&mut self, allowed: &Allowed) -> Result<(), String> {
        let reports = std::mem::take(&mut *self.log.lock().unwrap());
        let now = self.now();
        for r in reports {
            let Some(s) = self.held.remove(&r.id) else {
                return Err(format!(
                    "listener got {r:?}, a value the cache does not hold (or reported twice)"
                ));
            };
            if s.key != r.key {
                return Err(format!(
                    "listener got {r:?} under the wrong key ({})",
                    s.key
                ));
            }
            let ok = match r.cause {
                RemovalCause::Expired => s.deadline() <= now,
                RemovalCause::Size => allowed.size,
                RemovalCause::Pressure => allowed.pressure,
                RemovalCause::Replaced => {
                    allowed.replaced == Some(r.key) && self.by_key.get(&r.key) != Some(&r.id)
                }
                RemovalCause::Explicit => {
                    allowed.explicit_all
                        || allowed.explicit_keys.contains(&r.key)
                        || allowed.explicit_parity == Some(r.key % 2 == 1)
                }
                other => return Err(format!("listener got {r:?}: unknown cause {other}")),
            };
            if !ok {
                return Err(format!(
                    "listener got {r:?}, which this operation may not cause (deadline {}, now {now})",
                    s.deadline()
                ));
            }
            if self.by_key.get(&r.key) == Some(&r.id) {
                self.by_key.remove(&r.key);
            }
        }
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), String> {
        match *op {
            Op::Get { key, fault } => self.get(key, fault),
            Op::Contains { key, fault } => {
                let expect = self.live(key).is_some();
                let cache = Arc::clone(&self.cache);
                let ran = self.run(fault, || cache.contains_key(&Key(key)))?;
                self.absorb(&Allowed::default())?;
                if let Ran::Done(got) = ran {
                    if got != expect {
                        return Err(format!("contains_key gave {got}, model {expect}"));
                    }
                }
                Ok(())
            }
            Op::Insert {
                key,
                weight,
                ttl_secs,
                bomb,
                fault,
            } => self.insert(key, weight, ttl_secs, bomb, fault),
            Op::Remove { key, fault } => self.remove(key, fault),
            Op::Advance { secs } => {
                self.clock.advance(Duration::from_secs(u64::from(secs)));
                Ok(())
            }
            Op::Load {
                key,
                weight,
                loader,
                fallible,
                bomb,
                fault,
            } => self.load(key, weight, loader, fallible, bomb, fault),
            Op::SetCapacity { units, fault } => self.set_capacity(units, fault),
            Op::EvictBytes { units, fault } => {
                let bytes = u64::from(units) * self.unit;
                let cache = Arc::clone(&self.cache);
                let ran = self.run(fault, || cache.evict_bytes(bytes, RemovalCause::Pressure))?;
                self.absorb(&Allowed {
                    pressure: true,
                    ..Allowed::default()
                })?;
                if let Ran::Done(freed) = ran {
                    if freed < bytes && self.cache.entry_count() != 0 {
                        return Err(format!(
                            "evict_bytes({bytes}) freed {freed} and left {} entries",
                            self.cache.entry_count()
                        ));
                    }
                }
                Ok(())
            }
            Op::Retain { keep_odd, fault } => {
                let cache = Arc::clone(&self.cache);
                let ran = self.run(fault, || cache.retain(|k, _| (k.0 % 2 == 1) == keep_odd))?;
                self.absorb(&Allowed {
                    explicit_parity: Some(!keep_odd),
                    ..Allowed::default()
                })?;
                // Even when the listener or a value's drop panicked: every other entry is still
                // removed, and reported.
                if let Some((id, s)) = self.held.iter().find(|(_, s)| (s.key % 2 == 1) != keep_odd)
                {
                    return Err(format!(
                        "retain kept (or removed without telling) key {} = {id}{}",
                        s.key,
                        ran.note()
                    ));
                }
                Ok(())
            }
            Op::Maintenance { fault } => {
                let before = self.held.len();
                let cache = Arc::clone(&self.cache);
                let ran = self.run(fault, || cache.run_maintenance())?;
                self.absorb(&Allowed::default())?;
                if let Ran::Done(removed) = ran {
                    let reported = (before - self.held.len()) as u64;
                    if removed != reported {
                        return Err(format!(
                            "run_maintenance said {removed} removed, the listener heard of {reported}"
                        ));
                    }
                }
                Ok(())
            }
            Op::InvalidateAll { fault } => {
                let cache = Arc::clone(&self.cache);
                let ran = self.run(fault, || cache.invalidate_all())?;
                self.absorb(&Allowed {
                    explicit_all: true,
                    ..Allowed::default()
                })?;
                // Even when the listener or a value's drop panicked.
                if let Some((id, s)) = self.held.iter().next() {
                    return Err(format!(
                        "invalidate_all kept (or removed without telling) key {} = {id}{}",
                        s.key,
                        ran.note()
                    ));
                }
                Ok(())
            }
        }
    }

    fn get(&mut self, key: u8, fault: Fault) -> Result<(), String> {
        let expect = self.live(key);
        let cache = Arc::clone(&self.cache);
        let ran = self.run(fault, || cache.get(&Key(key)).map(defuse))?;
        self.absorb(&Allowed::default())?;
        match ran {
            Ran::Done(got) => {
                if got != expect {
                    return Err(format!("get gave {got:?}, model {expect:?}"));
                }
                if let Some(id) = got {
                    self.touch(id);
                }
            }
            Ran::Panicked(fired) if fired.contains(&Culprit::Clone) => {
                // The read happened (the entry was live), and its value's clone panicked: a
                // read without the panic must find the same value.
                let Some(id) = expect else {
                    return Err("get cloned a value the model says is not live".into());
                };
                self.touch(id);
                self.probe_get(key, Some(id))?;
            }
            Ran::Panicked(_) => {}
        }
        Ok(())
    }

    /// A `get` without faults that must return `expect`.
    fn probe_get(&mut self, key: u8, expect: Option<u64>) -> Result<(), String> {
        let cache = Arc::clone(&self.cache);
        let ran = self.run(Fault::None, || cache.get(&Key(key)).map(defuse))?;
        self.absorb(&Allowed::default())?;
        match ran {
            Ran::Done(got) if got == expect => {
                if let Some(id) = got {
                    self.touch(id);
                }
                Ok(())
            }
            Ran::Done(got) => Err(format!(
                "after the panic, get gave {got:?}, model {expect:?}"
            )),
            Ran::Panicked(fired) => Err(format!("after the panic, get panicked ({fired:?})")),
        }
    }

    fn insert(
        &mut self,
        key: u8,
        weight: Weight,
        ttl_secs: Option<u8>,
        bomb: bool,
        fault: Fault,
    ) -> Result<(), String> {
        let val = self.fresh_val(weight, bomb);
        let id = val.id;
        let cache = Arc::clone(&self.cache);
        let ran = self.run(fault, move || match ttl_secs {
            Some(s) => cache.insert_with_ttl(Key(key), val, Duration::from_secs(u64::from(s))),
            None => cache.insert(Key(key), val),
        })?;
        // A panic in the weigher, `Hash` or `Eq` comes before the shard changes; one in the
        // listener or a value's drop comes after it changed.
        let stored = match &ran {
            Ran::Done(()) => true,
            Ran::Panicked(fired) => !fired
                .iter()
                .any(|c| matches!(c, Culprit::Weigher | Culprit::Hash | Culprit::Eq)),
        };
        if stored {
            let ttl = ttl_secs.map(|s| u64::from(s) * SEC).or(self.ttl);
            self.store(key, id, weight.0, ttl);
        }
        self.absorb(&Allowed {
            // Also when nothing was stored: entries a panic cost the table are evicted.
            size: true,
            replaced: stored.then_some(key),
            ..Allowed::default()
        })
    }

    fn remove(&mut self, key: u8, fault: Fault) -> Result<(), String> {
        let expect = self.live(key);
        let cache = Arc::clone(&self.cache);
        let ran = self.run(fault, || cache.remove(&Key(key)).map(defuse))?;
        let removed = match &ran {
            Ran::Done(_) => true,
            Ran::Panicked(fired) => !fired
                .iter()
                .any(|c| matches!(c, Culprit::Hash | Culprit::Eq)),
        };
        self.absorb(&Allowed {
            explicit_keys: vec![key],
            ..Allowed::default()
        })?;
        if let Ran::Done(got) = ran {
            if got != expect {
                return Err(format!("remove gave {got:?}, model {expect:?}"));
            }
        }
        if removed {
            if let Some(id) = self.by_key.get(&key) {
                return Err(format!(
                    "remove kept (or removed without telling) its key's value {id}"
                ));
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments, reason = "one operation's fields")]
    fn load(
        &mut self,
        key: u8,
        weight: Weight,
        loader: Loader,
        fallible: bool,
        bomb: bool,
        fault: Fault,
    ) -> Result<(), String> {
        let live = self.live(key);
        let val = self.fresh_val(weight, bomb);
        let id = val.id;
        let ran_loader = Arc::new(AtomicU64::new(0));
        let cache = Arc::clone(&self.cache);
        let ran_flag = Arc::clone(&ran_loader);
        let init = move || -> Result<Val, Oops> {
            ran_flag.store(1, Ordering::SeqCst);
            match loader {
                Loader::Ok => Ok(val),
                Loader::Err if fallible => Err(Oops),
                Loader::Err => Ok(val),
                Loader::Panic => {
                    fire(Culprit::Loader);
                    Ok(val)
                }
                Loader::RemovesItsKey => {
                    if let Some(v) = cache.remove(&Key(key)) {
                        defuse(v);
                    }
                    Ok(val)
                }
                Loader::InvalidatesAll => {
                    cache.invalidate_all();
                    Ok(val)
                }
            }
        };
        let cache = Arc::clone(&self.cache);
        let ran = self.run(fault, move || {
            let result = if fallible {
                cache.try_get_or_insert_with(Key(key), init)
            } else {
                cache
                    .get_or_insert_with(Key(key), || match init() {
                        Ok(v) => v,
                        Err(Oops) => unreachable!("only a fallible load fails"),
                    })
                    .map_err(|e| match e {
                        LoadError::LoaderPanicked => LoadError::LoaderPanicked,
                        other => unreachable!("an infallible load failed: {other:?}"),
                    })
            };
            result.map(defuse)
        })?;
        let loader_ran = ran_loader.load(Ordering::SeqCst) == 1;
        let explicit_all = loader_ran && loader == Loader::InvalidatesAll;
        let explicit_keys = if loader_ran && loader == Loader::RemovesItsKey {
            vec![key]
        } else {
            Vec::new()
        };
        if let Some(cur) = live {
            if loader_ran {
                return Err(format!("loader ran although {key} held live value {cur}"));
            }
            // A hit: the load is a read.
            self.absorb(&Allowed::default())?;
            return match ran {
                Ran::Done(Ok(got)) if got == cur => {
                    self.touch(cur);
                    Ok(())
                }
                Ran::Done(got) => Err(format!("load of a live key gave {got:?}, model {cur}")),
                Ran::Panicked(fired) if fired.contains(&Culprit::Clone) => {
                    self.touch(cur);
                    self.probe_get(key, Some(cur))
                }
                // The unused loader, holding a value with a bomb, was dropped after the hit.
                Ran::Panicked(fired) if fired.iter().all(|&c| c == Culprit::Drop) => {
                    self.touch(cur);
                    Ok(())
                }
                // `Hash` or `Eq`: before the lookup.
                Ran::Panicked(_) => Ok(()),
            };
        }
        match ran {
            Ran::Done(result) => {
                if !loader_ran {
                    return Err(format!(
                        "load of an absent key returned {result:?} without running the loader"
                    ));
                }
                // The caller gets its loaded value unless the loader failed; it is cached
                // unless a removal came while it loaded.
                let expect_value = loader != Loader::Err || !fallible;
                let cached = matches!(loader, Loader::Ok | Loader::Err) && expect_value;
                if cached {
                    self.store(key, id, weight.0, self.ttl);
                }
                self.absorb(&Allowed {
                    size: cached,
                    explicit_all,
                    explicit_keys,
                    ..Allowed::default()
                })?;
                match (expect_value, result) {
                    (true, Ok(got)) if got == id => {}
                    (false, Err(LoadError::Failed(Oops))) => {}
                    (_, got) => {
                        return Err(format!(
                            "load gave {got:?}, expected {}",
                            if expect_value {
                                "the loaded value"
                            } else {
                                "Failed"
                            }
                        ));
                    }
                }
                // A load that began before a removal must not land after it.
                if matches!(loader, Loader::RemovesItsKey | Loader::InvalidatesAll)
                    && self.cache.contains_key(&Key(key))
                {
                    return Err(format!(
                        "the value loaded across a {} of its key was cached afterwards",
                        if loader == Loader::InvalidatesAll {
                            "invalidate_all"
                        } else {
                            "remove"
                        }
                    ));
                }
                Ok(())
            }
            Ran::Panicked(fired) => {
                // Only a loader that returned a value can have stored one; whether it did
                // before the panic is the cache's business: the key is looked at.
                let maybe_stored = loader_ran
                    && !fired.contains(&Culprit::Loader)
                    && matches!(loader, Loader::Ok | Loader::Err)
                    && (loader == Loader::Ok || !fallible);
                if maybe_stored {
                    self.store(key, id, weight.0, self.ttl);
                }
                self.absorb(&Allowed {
                    size: maybe_stored,
                    explicit_all,
                    explicit_keys,
                    ..Allowed::default()
                })?;
                if maybe_stored && self.by_key.get(&key) == Some(&id) {
                    let cache = Arc::clone(&self.cache);
                    let present = match self.run(Fault::None, || cache.contains_key(&Key(key)))? {
                        Ran::Done(p) => p,
                        Ran::Panicked(f) => return Err(format!("contains_key panicked: {f:?}")),
                    };
                    if !present {
                        // Never stored.
                        self.held.remove(&id);
                        self.by_key.remove(&key);
                    }
                }
                self.after_panicked_load(key)
            }
        }
    }

    /// After a load panicked, the key must load afresh, at once: a load left in flight would
    /// make this wait forever (the watchdog reports it).
    fn after_panicked_load(&mut self, key: u8) -> Result<(), String> {
        if self.live(key).is_some() {
            self.remove(key, Fault::None)?;
        }
        let val = self.fresh_val(Weight(0), false);
        let id = val.id;
        let cache = Arc::clone(&self.cache);
        let ran = self.run(Fault::None, || {
            cache.get_or_insert_with(Key(key), || val).map(defuse)
        })?;
        self.store(key, id, 0, self.ttl);
        self.absorb(&Allowed {
            size: true,
            ..Allowed::default()
        })?;
        match ran {
            Ran::Done(Ok(got)) if got == id => Ok(()),
            Ran::Done(got) => Err(format!(
                "after a panicked load, a fresh load gave {got:?}, not its own value {id}"
            )),
            // An entry it evicted had a bomb: the load itself went through.
            Ran::Panicked(fired) if fired.iter().all(|&c| c == Culprit::Drop) => Ok(()),
            Ran::Panicked(fired) => Err(format!(
                "after a panicked load, a fresh load panicked ({fired:?})"
            )),
        }
    }

    fn set_capacity(&mut self, units: u8, fault: Fault) -> Result<(), String> {
        let bytes = u64::from(units) * self.unit;
        let cache = Arc::clone(&self.cache);
        let ran = self.run(fault, || cache.set_capacity(bytes))?;
        self.absorb(&Allowed {
            size: true,
            ..Allowed::default()
        })?;
        if let Ran::Panicked(fired) = ran {
            if fired
                .iter()
                .any(|c| matches!(c, Culprit::Hash | Culprit::Eq))
            {
                // The key's own code broke the shrink: calling again must finish it.
                let cache = Arc::clone(&self.cache);
                if let Ran::Panicked(f) = self.run(Fault::None, || cache.set_capacity(bytes))? {
                    return Err(format!("set_capacity panicked again ({f:?})"));
                }
                self.absorb(&Allowed {
                    size: true,
                    ..Allowed::default()
                })?;
            }
        }
        // "A budget below one entry per shard is raised to that."
        let expect = bytes.max(self.overhead * self.setup.shards as u64);
        let got = self.cache.capacity();
        if got != expect {
            return Err(format!(
                "capacity() is {got} after set_capacity({bytes}), expected {expect}"
            ));
        }
        Ok(())
    }

    fn check_invariants(&mut self) -> Result<(), String> {
        for (id, s) in &self.held {
            if self.by_key.get(&s.key) != Some(id) {
                return Err(format!(
                    "key {} held {id}, which left without the listener hearing of it (the key now holds {:?})",
                    s.key,
                    self.by_key.get(&s.key)
                ));
            }
        }
        let entries = self.cache.entry_count();
        if entries != self.held.len() as u64 {
            return Err(format!(
                "entry_count is {entries}, the model holds {} ({:?})",
                self.held.len(),
                self.by_key
            ));
        }
        if let Some(max) = self.setup.max_entries {
            if entries > max {
                return Err(format!("entry_count {entries} is above max_entries {max}"));
            }
        }
        let weighted = self.cache.weighted_size();
        let capacity = self.cache.capacity();
        if weighted > capacity {
            return Err(format!(
                "weighted_size {weighted} is above capacity {capacity}"
            ));
        }
        if self.setup.budget_units.is_some() {
            // Each entry is charged its weight plus the overhead, plus an expiry slot when
            // it alone expires.
            let low: u64 = self.held.values().map(|s| s.weight + self.overhead).sum();
            let high = low + 64 * self.held.len() as u64;
            if !(low..=high).contains(&weighted) {
                return Err(format!(
                    "weighted_size {weighted} is not the entries' charges ({low}..={high})"
                ));
            }
        }
        Ok(())
    }

    /// Ends the case: every value still held is reported once, and the cache is empty.
    fn drain(&mut self) -> Result<(), String> {
        let cache = Arc::clone(&self.cache);
        if let Ran::Panicked(f) = self.run(Fault::None, || cache.invalidate_all())? {
            // Values with bombs may still be stored; all else must go quietly.
            if f.iter().any(|&c| c != Culprit::Drop) {
                return Err(format!("panicked: {f:?}"));
            }
        }
        self.absorb(&Allowed {
            explicit_all: true,
            ..Allowed::default()
        })?;
        if !self.held.is_empty() {
            return Err(format!("never reported: {:?}", self.held));
        }
        let (n, w) = (self.cache.entry_count(), self.cache.weighted_size());
        if (n, w) != (0, 0) {
            return Err(format!(
                "entry_count {n}, weighted_size {w} after invalidate_all"
            ));
        }
        Ok(())
    }
}

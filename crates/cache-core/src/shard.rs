//! One shard: a hash table of slot ids, a slab of entries, a policy and counters, under one lock.

use std::any::Any;
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use cache_traits::{CacheStats, Clock, EvictionPolicy, RemovalCause};
use hashbrown::HashTable;

use crate::load::Flight;
use crate::removals::{Removal, Removals};
use crate::slab::{Slab, prefetch_line};

/// The heaviest entry a shard stores, in weight units: entry weights are kept in 32 bits.
/// Heavier entries are rejected like entries heavier than the shard's budget.
pub(crate) const MAX_ENTRY_WEIGHT: u64 = u32::MAX as u64;

/// A stored entry: key and value inline, the weight the cache charged for it, and where the
/// table keeps its slot id.
pub(crate) struct Entry<K, V> {
    pub(crate) key: K,
    pub(crate) value: V,
    pub(crate) weight: u32,
    /// The entry's bucket in `Shard::table`. An eviction removes the victim through it, without
    /// hashing the key or probing the table: that saves a dependent cache miss per eviction.
    /// Buckets move only when the table rehashes, and `Shard::reindex` then rewrites them all.
    /// The top bit ([`TRACKED`]) marks an entry the cache's observer tracks (it was told of
    /// its insert and is told of its removal): kept here, the mark costs a removal no extra
    /// cache line, as a bitset beside the slab did (a miss per eviction).
    bucket: u32,
}

/// The bit of [`Entry::bucket`] that marks a tracked entry; buckets fit in the other 31.
const TRACKED: u32 = 1 << 31;

impl<K, V> Entry<K, V> {
    /// The entry's bucket in the table.
    #[inline]
    fn bucket(&self) -> usize {
        (self.bucket & !TRACKED) as usize
    }

    #[inline]
    fn set_bucket(&mut self, bucket: usize) {
        self.bucket = bucket_u32(bucket) | (self.bucket & TRACKED);
    }

    /// Whether the cache's observer tracks the entry.
    #[inline]
    pub(crate) fn tracked(&self) -> bool {
        self.bucket & TRACKED != 0
    }

    /// Marks the entry tracked or not; returns whether it was.
    #[inline]
    fn set_tracked(&mut self, on: bool) -> bool {
        let was = self.tracked();
        self.bucket = (self.bucket & !TRACKED) | if on { TRACKED } else { 0 };
        was
    }
}

/// When an entry expires, in clock nanoseconds; `u64::MAX` is never.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Expiry {
    /// Hard deadline from time-to-live.
    pub(crate) expires_at: u64,
    /// Deadline from time-to-idle, pushed back on every read.
    pub(crate) idle_at: u64,
    /// Time-to-idle in nanoseconds; 0 when the entry has none.
    pub(crate) tti: u64,
}

impl Expiry {
    pub(crate) const NEVER: Expiry = Expiry {
        expires_at: u64::MAX,
        idle_at: u64::MAX,
        tti: 0,
    };

    /// An expiry starting `now` with the given time-to-live and time-to-idle (nanoseconds).
    pub(crate) fn starting(now: u64, ttl: Option<u64>, tti: Option<u64>) -> Expiry {
        Expiry {
            expires_at: ttl.map_or(u64::MAX, |t| now.saturating_add(t)),
            idle_at: tti.map_or(u64::MAX, |t| now.saturating_add(t)),
            tti: tti.unwrap_or(0),
        }
    }

    #[inline]
    pub(crate) fn deadline(&self) -> u64 {
        self.expires_at.min(self.idle_at)
    }
}

/// What went wrong in user code during a shard operation: the shard has recovered (it is
/// consistent and within its bounds), and the cache reports the fault once it has released the
/// lock and handed out the removals.
pub(crate) enum Fault {
    /// User code (the policy, or a key's `Hash` while the table rehashed) panicked: the panic
    /// resumes in the caller.
    Panic(Box<dyn Any + Send>),
    /// The policy broke a rule of [`EvictionPolicy`]; the message names the policy and the
    /// rule. Debug builds panic with it; release builds carry on.
    Contract(String),
}

/// Hits buffered before the policy hears of them.
const HIT_BUFFER: usize = 32;

/// What a lookup found.
pub(crate) enum Lookup<V> {
    Hit(V),
    Miss,
    /// The entry in this slot has expired; the caller removes it.
    Expired(u32),
}

/// A shard. Fields are in `repr(C)` order: what a hit writes (the hit counter) shares the lock's
/// cache line, followed by what it reads (table header, slab pointer, expiry length).
///
/// Every method runs under the shard's lock and never calls user code that could
/// leave it half-updated: keys are compared before anything changes, values are cloned after,
/// and removed entries go to a [`Removals`] buffer that the caller dispatches after unlocking.
#[repr(C)]
pub(crate) struct Shard<K, V, P> {
    /// Hits and misses, kept apart from `stats` to share the lock's cache line: a hit then
    /// writes one line (lock and counter), which matters when cores take turns on a shard.
    pub(crate) n_hits_total: u64,
    pub(crate) n_misses: u64,
    /// Reads and inserts on this shard before the cache next asks its observer whether to
    /// sample one (see `Cache::tick`); on the lock's line too, so counting costs no miss.
    pub(crate) sample_countdown: u32,
    /// Whether the observer was asked yet: its first gap starts halfway, unreported.
    pub(crate) sampling_started: bool,
    /// Slot ids of live entries, keyed by the key's hash.
    table: HashTable<u32>,
    slab: Slab<Entry<K, V>>,
    /// Per-slot expiry; empty until the shard first stores an expiring entry, so caches without
    /// expiry pay nothing for it, in memory or on the hit path.
    expiry: Vec<Expiry>,
    n_hits: usize,
    pub(crate) policy: P,
    pub(crate) weighted: u64,
    pub(crate) capacity: u64,
    pub(crate) max_entries: u64,
    /// Every other counter.
    pub(crate) stats: CacheStats,
    sweep_cursor: usize,
    /// Hits not yet told to the policy (see `hit`).
    hits: [(u32, u64); HIT_BUFFER],
    /// Loads in flight for absent keys (single-flight).
    flights: HashTable<(K, Arc<Flight<V>>)>,
    /// Address of the table's control bytes, used only to prefetch buckets: `reindex` refreshes
    /// it whenever the table moves, and a stale address costs one wasted prefetch, nothing more.
    ctrl_addr: usize,
    /// Whether only an entry count bounds the shard: the policy then sees every entry weigh 1
    /// and a capacity of `max_entries`, as in the simulator, instead of bytes against a
    /// budget of `u64::MAX`.
    unit_weights: bool,
    /// A fault of user code for the cache to report (see [`Fault`]).
    fault: Option<Fault>,
}

impl<K, V, P: EvictionPolicy> Shard<K, V, P> {
    /// A shard with a weight budget of `capacity` and at most `max_entries` entries;
    /// `unit_weights` when only the entry count bounds it (see the field).
    pub(crate) fn new(policy: P, capacity: u64, max_entries: u64, unit_weights: bool) -> Self {
        let mut shard = Self {
            table: HashTable::new(),
            slab: Slab::new(),
            expiry: Vec::new(),
            n_hits_total: 0,
            n_misses: 0,
            sample_countdown: 1,
            sampling_started: false,
            n_hits: 0,
            policy,
            weighted: 0,
            capacity,
            max_entries,
            stats: CacheStats::default(),
            sweep_cursor: 0,
            hits: [(0, 0); HIT_BUFFER],
            flights: HashTable::new(),
            ctrl_addr: 0,
            unit_weights,
            fault: None,
        };
        shard.policy.set_capacity(shard.policy_capacity());
        shard
    }

    /// The capacity the policy is told: entries or weight (see `unit_weights`).
    fn policy_capacity(&self) -> u64 {
        if self.unit_weights {
            self.max_entries
        } else {
            self.capacity
        }
    }

    /// An entry's weight as the policy sees it (see `unit_weights`).
    #[inline]
    fn policy_weight(&self, weight: u64) -> u64 {
        if self.unit_weights { 1 } else { weight }
    }

    /// The fault to report, if user code failed during the last operation (see [`Fault`]).
    #[inline]
    pub(crate) fn take_fault(&mut self) -> Option<Fault> {
        if self.fault.is_none() {
            None
        } else {
            self.fault.take()
        }
    }

    #[inline]
    fn find<Q>(&self, hash: u64, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.prefetch_home_ids(hash);
        let slab = &self.slab;
        // SAFETY: the table holds exactly the occupied slot ids.
        self.table
            .find(hash, |&idx| unsafe { slab.get(idx) }.key.borrow() == key)
            .copied()
    }

    /// The stored key equal to `key`, if present (for an observer, after a hit).
    pub(crate) fn stored_key<Q>(&self, hash: u64, key: &Q) -> Option<&K>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let idx = self.find(hash, key)?;
        // SAFETY: `idx` came from the table.
        Some(&unsafe { self.slab.get(idx) }.key)
    }

    /// Looks `key` up for a caller that counts its own miss: a hit is recorded and counted; an
    /// expired entry is removed (into `out`) and reported as absent.
    #[inline]
    pub(crate) fn get<Q>(
        &mut self,
        hash: u64,
        key: &Q,
        clock: &dyn Clock,
        out: &mut Removals<K, V>,
    ) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
        V: Clone,
    {
        let idx = self.find(hash, key)?;
        if !self.expiry.is_empty() && !self.touch_expiry(idx, clock) {
            self.remove_slot(idx, RemovalCause::Expired, out);
            return None;
        }
        Some(self.hit(idx, hash))
    }

    /// The hit path of `Cache::get`: looks `key` up and counts the hit or miss. An expired
    /// entry is reported, not removed, so that the caller builds its removal buffer only then.
    #[inline]
    pub(crate) fn lookup<Q>(&mut self, hash: u64, key: &Q, clock: &dyn Clock) -> Lookup<V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
        V: Clone,
    {
        let Some(idx) = self.find(hash, key) else {
            self.n_misses += 1;
            self.prefetch_victim_bucket();
            return Lookup::Miss;
        };
        if !self.expiry.is_empty() && !self.touch_expiry(idx, clock) {
            return Lookup::Expired(idx);
        }
        Lookup::Hit(self.hit(idx, hash))
    }

    /// Records a hit on `idx` and clones its value.
    ///
    /// A hit the policy says would change nothing ([`EvictionPolicy::is_referenced`]) is not
    /// recorded, so hot entries are read without writing anything but the hit counter.
    ///
    /// The policy hears of hits through a small buffer, replayed before the shard next changes
    /// (any insert, removal or eviction) or when it fills. The policy therefore sees exactly the
    /// calls it would have seen unbuffered, in the same order; the replay just lets the memory
    /// accesses of many hits overlap instead of stalling each lookup in turn.
    #[inline]
    fn hit(&mut self, idx: u32, hash: u64) -> V
    where
        V: Clone,
    {
        if !self.policy.is_referenced(idx) {
            self.hits[self.n_hits] = (idx, hash);
            self.n_hits += 1;
            if self.n_hits == HIT_BUFFER {
                self.replay_hits();
            }
        }
        self.n_hits_total += 1;
        // SAFETY: `idx` came from the table.
        unsafe { self.slab.get(idx) }.value.clone()
    }

    /// Tells the policy of the buffered hits.
    #[inline]
    fn replay_hits(&mut self) {
        if self.n_hits > 0 {
            self.replay_hits_slow();
        }
    }

    #[inline(never)]
    fn replay_hits_slow(&mut self) {
        // Emptied first: a policy that panics here must not leave a full buffer behind.
        let n = std::mem::take(&mut self.n_hits);
        for &(idx, hash) in &self.hits[..n] {
            self.policy.on_access(idx, hash);
        }
    }

    /// Whether `key` is present and live, without touching the policy or the counters.
    pub(crate) fn contains<Q>(&self, hash: u64, key: &Q, clock: &dyn Clock) -> bool
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        match self.find(hash, key) {
            None => false,
            Some(idx) => match self.expiry.get(idx as usize) {
                Some(e) if e.deadline() != u64::MAX => clock.now_nanos() < e.deadline(),
                _ => true,
            },
        }
    }

    /// For a live entry, pushes its idle deadline back and returns true; false when expired.
    #[cold]
    fn touch_expiry(&mut self, idx: u32, clock: &dyn Clock) -> bool {
        let Some(e) = self.expiry.get_mut(idx as usize) else {
            return true;
        };
        if e.deadline() == u64::MAX {
            return true;
        }
        let now = clock.now_nanos();
        if now >= e.deadline() {
            return false;
        }
        if e.tti != 0 {
            e.idle_at = now.saturating_add(e.tti);
        }
        true
    }

    #[inline]
    fn set_expiry(&mut self, idx: u32, expiry: Expiry) {
        if !self.expiry.is_empty() || expiry != Expiry::NEVER {
            self.store_expiry(idx, expiry);
        }
    }

    #[cold]
    fn store_expiry(&mut self, idx: u32, expiry: Expiry) {
        let i = idx as usize;
        if self.expiry.len() <= i {
            let len = (i + 1).max(self.slab_len_hint());
            self.expiry.resize(len, Expiry::NEVER);
        }
        self.expiry[i] = expiry;
    }

    fn slab_len_hint(&self) -> usize {
        self.table.capacity()
    }

    /// Inserts or replaces `key`, then evicts until the shard is within its bounds.
    ///
    /// User code that panics on the way (the policy, or the keys' `Hash` while the table
    /// rehashes) leaves the shard recovered and within its bounds, with the panic kept as a
    /// [`Fault`] for the caller to resume once the lock is released.
    #[allow(
        clippy::too_many_arguments,
        reason = "internal; every argument is needed under the lock"
    )]
    #[inline]
    #[allow(
        clippy::too_many_arguments,
        reason = "internal; every argument is needed under the lock"
    )]
    pub(crate) fn insert<S: BuildHasher>(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        weight: u64,
        expiry: Expiry,
        observed: bool,
        hasher: &S,
        out: &mut Removals<K, V>,
    ) -> Option<K>
    where
        K: Hash + Eq,
    {
        // Held here, so that a key whose `Eq` or `Hash` panics before it is stored survives
        // the panic: an observed insert lost that way goes back to the caller, whose observer
        // was told of it and must hear that it is gone.
        let mut key = Some(key);
        let done = catch_unwind(AssertUnwindSafe(|| {
            self.insert_unguarded(hash, &mut key, value, weight, expiry, observed, hasher, out)
        }));
        if let Err(payload) = done {
            self.recover(payload, out);
            return key.filter(|_| observed);
        }
        None
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "internal; every argument is needed under the lock"
    )]
    #[inline]
    fn insert_unguarded<S: BuildHasher>(
        &mut self,
        hash: u64,
        key: &mut Option<K>,
        value: V,
        weight: u64,
        expiry: Expiry,
        observed: bool,
        hasher: &S,
        out: &mut Removals<K, V>,
    ) where
        K: Hash + Eq,
    {
        self.policy.prefetch_insert(hash);
        self.replay_hits();
        if weight > self.capacity.min(MAX_ENTRY_WEIGHT) {
            self.reject_oversized(hash, key, value, weight, observed, out);
            return;
        }
        // `entry` makes room for one more first, rehashing exactly when no room is left; a
        // rehash moves every entry's bucket.
        let mut rehashes = self.table.len() == self.table.capacity();
        if rehashes
            && self.weighted > self.capacity / 2
            && self.table.len() + self.table.len() / 8 < full_capacity(&self.table)
        {
            // No room left because removals left tombstones, not because the table is full,
            // and bytes bound this shard.
            self.rebuild_table(hasher);
            rehashes = false;
        }
        let slab = &self.slab;
        let Some(probe) = key.as_ref() else {
            return;
        };
        // One probe finds the key or the place for it. SAFETY (closures): the table holds
        // exactly the occupied slot ids.
        let entry = self.table.entry(
            hash,
            |&i| unsafe { slab.get(i) }.key == *probe,
            |&i| hasher.hash_one(&unsafe { slab.get(i) }.key),
        );
        // Nothing below runs the key's `Eq` or `Hash`.
        let Some(key) = key.take() else {
            return;
        };
        match entry {
            hashbrown::hash_table::Entry::Occupied(found) => {
                let idx = *found.get();
                // SAFETY: `idx` came from the table.
                let entry = unsafe { self.slab.get_mut(idx) };
                let old_weight = u64::from(std::mem::replace(&mut entry.weight, weight as u32));
                let old_value = std::mem::replace(&mut entry.value, value);
                let was_observed = entry.set_tracked(observed);
                self.weighted = self.weighted - old_weight + weight;
                self.stats.updates += 1;
                self.count_removal(RemovalCause::Replaced, old_weight);
                out.push(Removal {
                    key,
                    value: old_value,
                    weight: old_weight,
                    cause: RemovalCause::Replaced,
                    observed: was_observed,
                });
                self.set_expiry(idx, expiry);
                let (old, new) = (self.policy_weight(old_weight), self.policy_weight(weight));
                self.policy.on_update(idx, hash, old, new);
            }
            hashbrown::hash_table::Entry::Vacant(place) => {
                let idx = self.slab.insert(Entry {
                    key,
                    value,
                    weight: weight as u32,
                    bucket: 0,
                });
                let bucket = place.insert(idx).bucket_index();
                // SAFETY: `idx` was just filled.
                unsafe { self.slab.get_mut(idx) }.bucket =
                    bucket_u32(bucket) | if observed { TRACKED } else { 0 };
                self.set_expiry(idx, expiry);
                self.weighted += weight;
                self.stats.inserts += 1;
                self.policy.on_insert(idx, hash, self.policy_weight(weight));
            }
        }
        if rehashes {
            self.reindex();
        }
        self.evict_to_fit(out);
        if let Some(next) = self.policy.next_victim_hint() {
            self.slab.prefetch(next);
        }
    }

    /// Removes `idx` from the table when its stored bucket does not hold it: returns false when
    /// the table does not hold it at all (a policy named a slot without an entry). A table
    /// that holds it under another bucket would mean a rehash went unseen: debug builds stop
    /// there; release builds re-derive every bucket and carry on.
    #[cold]
    #[inline(never)]
    fn remove_stale(&mut self, idx: u32) -> bool {
        if !self.table.iter().any(|&id| id == idx) {
            return false;
        }
        debug_assert!(false, "slot {idx} has a stale bucket");
        self.reindex();
        // SAFETY: `idx` is in the table, so it is occupied.
        let bucket = unsafe { self.slab.get(idx) }.bucket();
        match self.table.get_bucket_entry(bucket) {
            Ok(found) if *found.get() == idx => drop(found.remove()),
            _ => unreachable!("slot {idx} is not in its shard's table after a reindex"),
        }
        true
    }

    /// Rebuilds the table at its size, without the tombstones removals left; O(entries).
    ///
    /// hashbrown reuses a removed bucket's slot only when no probe can have passed it; the
    /// others become tombstones, which use up room until none is left. Then it rehashes in
    /// place if at most half the table is live, and otherwise doubles. A cache under churn
    /// holds steady near its capacity, so its tables doubled once their tombstones ran out:
    /// at 37 % load they took 13 bytes per entry instead of 7. When bytes bound the shard (its
    /// entries weigh more than half its budget), a table with at least an eighth of its room
    /// free is rebuilt at its size instead (`Shard::insert`); tombstones come from about one
    /// removal in a hundred at that load, so this happens rarely. A shard bounded by its entry
    /// count lets the table double: the sparser table costs memory no budget counts, and saves
    /// lookups the tag false matches of a denser one (each a cache miss on a wrong entry):
    /// about 3 % of read-through throughput on the `peers` bench.
    #[cold]
    #[inline(never)]
    fn rebuild_table<S: BuildHasher>(&mut self, hasher: &S)
    where
        K: Hash,
    {
        let slab = &self.slab;
        // SAFETY (closures): the tables hold exactly the occupied slot ids.
        let hash = |&i: &u32| hasher.hash_one(&unsafe { slab.get(i) }.key);
        let mut table = HashTable::with_capacity(self.table.len() + 1);
        for &id in self.table.iter() {
            table.insert_unique(hash(&id), id, hash);
        }
        self.table = table;
        self.reindex();
    }

    /// Rewrites every entry's bucket after the table rehashed. O(entries), like the rehash.
    #[cold]
    fn reindex(&mut self) {
        for bucket in self.table.iter_buckets() {
            // SAFETY: `iter_buckets` yields occupied buckets, which hold occupied slot ids.
            let id = unsafe { self.table.get_bucket_unchecked(bucket) };
            // hashbrown lays bucket `b`'s value out at `ctrl - (b + 1) * size_of::<T>()`.
            self.ctrl_addr = std::ptr::from_ref(id) as usize + (bucket + 1) * 4;
            unsafe { self.slab.get_mut(*id) }.set_bucket(bucket);
        }
    }

    /// Fetches the slot ids of the 16 buckets a probe for `hash` reads first, alongside their
    /// control bytes. A probe reads the control bytes, then the id of each bucket whose tag
    /// matches, then that id's entry: three dependent cache misses, of which this overlaps the
    /// first two. (hashbrown starts probing at bucket `hash & mask`, and keeps the ids below
    /// the control bytes in reverse order, four bytes each.)
    #[inline]
    fn prefetch_home_ids(&self, hash: u64) {
        let home = (hash as usize) & (self.table.num_buckets() - 1);
        let first = self.ctrl_addr.wrapping_sub((home + 1) * 4);
        prefetch_line(first);
        prefetch_line(first.wrapping_sub(15 * 4));
    }

    /// After a miss, which a read-through caller follows with an insert and so an eviction:
    /// fetches the table bucket of the policy's next victim (its control byte and its slot id)
    /// while the caller loads the value, so the eviction does not wait for it. The victim's
    /// entry, which says where its bucket is, was prefetched when the last insert ended.
    #[inline]
    fn prefetch_victim_bucket(&self) {
        let Some(victim) = self.policy.next_victim_hint() else {
            return;
        };
        if let Some(slot) = self.slab.slot_ptr(victim) {
            // SAFETY: slots below the slab's length have been written at least once, and taking
            // an entry out leaves its bytes in place, so the field is initialised; a stale value
            // only misdirects a prefetch.
            let bucket = (unsafe { std::ptr::addr_of!((*slot).bucket).read() } & !TRACKED) as usize;
            if bucket < self.table.num_buckets() {
                prefetch_line(self.ctrl_addr.wrapping_add(bucket));
                prefetch_line(self.ctrl_addr.wrapping_sub((bucket + 1) * 4));
            }
        }
    }

    /// An entry heavier than the shard's whole budget: it is not stored, and a stale value
    /// under its key goes too, so no reader sees it after this insert.
    #[cold]
    #[inline(never)]
    fn reject_oversized(
        &mut self,
        hash: u64,
        key: &mut Option<K>,
        value: V,
        weight: u64,
        observed: bool,
        out: &mut Removals<K, V>,
    ) where
        K: Eq,
    {
        if let Some(probe) = key.as_ref()
            && let Some(idx) = self.find(hash, probe)
        {
            self.remove_slot(idx, RemovalCause::Replaced, out);
        }
        let Some(key) = key.take() else {
            return;
        };
        self.count_removal(RemovalCause::Size, weight);
        out.push(Removal {
            key,
            value,
            weight,
            cause: RemovalCause::Size,
            observed,
        });
    }

    /// Evicts in policy order until weight and entry count are within bounds. The policy's
    /// own memory beyond its per-entry charge counts against the weight budget, up to a
    /// quarter of it ([`EvictionPolicy::extra_bytes`]).
    #[inline]
    pub(crate) fn evict_to_fit(&mut self, out: &mut Removals<K, V>) {
        self.replay_hits();
        let mut budget = self.capacity;
        // Only a shard within a quarter of its budget can be over it: the policy's figure is
        // read only then (an entry-bounded cache never does).
        if self.weighted > budget - budget / 4 {
            budget -= self.policy.extra_bytes().min(budget / 4);
        }
        while self.weighted > budget || self.table.len() as u64 > self.max_entries {
            if self.evict_one(RemovalCause::Size, out).is_none() {
                break;
            }
        }
    }

    /// Sets the weight budget and evicts down to it. A shard bounded by entries keeps telling
    /// its policy the entry bound: the policy then evicts within its capacity, as under memory
    /// pressure. A panicking policy leaves the shard recovered, as in [`insert`](Self::insert).
    pub(crate) fn set_budget(&mut self, capacity: u64, out: &mut Removals<K, V>) {
        let done = catch_unwind(AssertUnwindSafe(|| {
            self.capacity = capacity;
            if !self.unit_weights {
                self.policy.set_capacity(capacity);
            }
            self.evict_to_fit(out);
        }));
        if let Err(payload) = done {
            self.recover(payload, out);
        }
    }

    /// Evicts the policy's victim; returns its weight, or `None` when the shard is empty.
    ///
    /// The victim is checked against the slab and the table, so that a policy cannot make the
    /// shard read a slot without an entry. When the policy names no victim or a slot without an
    /// entry while the shard holds entries, the shard evicts some entry of its own choosing,
    /// so it stays within its bounds, and keeps a [`Fault::Contract`] saying which rule broke.
    #[inline]
    fn evict_one(&mut self, cause: RemovalCause, out: &mut Removals<K, V>) -> Option<u64> {
        match self.policy.evict() {
            Some(victim) => match self.try_detach(victim, cause, out) {
                Some(weight) => Some(weight),
                None => self.evict_for_policy(Some(victim), cause, out),
            },
            None if self.table.is_empty() => None,
            None => self.evict_for_policy(None, cause, out),
        }
    }

    /// The policy named `victim` (a slot without an entry) or nothing while the shard holds
    /// entries: notes the broken rule and evicts an entry the shard chooses.
    #[cold]
    #[inline(never)]
    fn evict_for_policy(
        &mut self,
        victim: Option<u32>,
        cause: RemovalCause,
        out: &mut Removals<K, V>,
    ) -> Option<u64> {
        let name = self.policy.name();
        let rule = match victim {
            Some(slot) => format!(
                "evict() returned slot {slot}, which holds no entry: a victim must be a slot \
                 the cache inserted and has not yet removed, evicted or cleared"
            ),
            None => format!(
                "evict() returned None while the shard holds {} entries and is over its bound: \
                 a policy must name a victim while it tracks slots",
                self.table.len()
            ),
        };
        self.note_contract(format!("eviction policy `{name}` broke a rule: {rule}"));
        self.evict_any(cause, out)
    }

    /// Evicts an entry the shard chooses (the first in table order), telling the policy it
    /// was removed; `None` when the shard is empty. For a policy that cannot be trusted: its
    /// panic in `on_remove` is kept as the fault, not propagated.
    #[cold]
    fn evict_any(&mut self, cause: RemovalCause, out: &mut Removals<K, V>) -> Option<u64> {
        let idx = *self.table.iter().next()?;
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| self.policy.on_remove(idx))) {
            self.note_panic(payload);
        }
        self.try_detach(idx, cause, out)
    }

    /// Keeps `message` as the fault unless one is already kept.
    #[cold]
    fn note_contract(&mut self, message: String) {
        if self.fault.is_none() {
            self.fault = Some(Fault::Contract(message));
        }
    }

    /// Keeps a panic as the fault (a panic outranks a broken rule; the first panic wins).
    #[cold]
    fn note_panic(&mut self, payload: Box<dyn Any + Send>) {
        if !matches!(self.fault, Some(Fault::Panic(_))) {
            self.fault = Some(Fault::Panic(payload));
        }
    }

    /// Brings the shard back to a consistent state within its bounds after user code panicked
    /// in the middle of an operation, and keeps the panic as the fault.
    ///
    /// The panic may have come from the policy (its state is then whatever it was; the victims
    /// it names are still checked) or from a key's `Hash` while the table rehashed in place:
    /// hashbrown then drops the ids it had not yet moved, and buckets have moved. So: buckets
    /// are re-derived, entries the table lost are evicted (the policy is told), and entries of
    /// the shard's choosing go until it is within its bounds.
    #[cold]
    #[inline(never)]
    fn recover(&mut self, payload: Box<dyn Any + Send>, out: &mut Removals<K, V>) {
        self.note_panic(payload);
        self.n_hits = 0;
        self.reindex();
        if self.slab.live() != self.table.len() {
            let mut in_table = vec![false; self.slab.len()];
            for &id in self.table.iter() {
                in_table[id as usize] = true;
            }
            for (idx, occupied) in self.slab.occupied().into_iter().enumerate() {
                if occupied && !in_table[idx] {
                    let idx = idx as u32;
                    let told = catch_unwind(AssertUnwindSafe(|| self.policy.on_remove(idx)));
                    if let Err(payload) = told {
                        self.note_panic(payload);
                    }
                    // SAFETY: `idx` is occupied (not on the free list) and not in the table,
                    // so nothing else will take it.
                    let entry = unsafe { self.slab.take(idx) };
                    self.release(idx, entry, RemovalCause::Size, out);
                }
            }
        }
        while self.weighted > self.capacity || self.table.len() as u64 > self.max_entries {
            if self.evict_any(RemovalCause::Size, out).is_none() {
                break;
            }
        }
    }

    /// Returns memory the shard's own structures no longer need: shrinks the hash table to its
    /// entries and releases the slab's free tail. Called after a budget cut; O(entries).
    ///
    /// hashbrown may shrink a table by rehashing it in place, which runs the keys' `Hash`: a
    /// panic there leaves the shard recovered (see [`recover`](Self::recover)), the panic kept
    /// as the fault, and the slab as it was.
    pub(crate) fn release_spare<S: BuildHasher>(&mut self, hasher: &S, out: &mut Removals<K, V>)
    where
        K: Hash,
    {
        let slab = &self.slab;
        let table = &mut self.table;
        let len = table.len();
        // SAFETY (closure): the table holds exactly the occupied slot ids.
        let shrunk = catch_unwind(AssertUnwindSafe(|| {
            table.shrink_to(len, |&i| hasher.hash_one(&unsafe { slab.get(i) }.key));
        }));
        if let Err(payload) = shrunk {
            self.recover(payload, out);
            return;
        }
        self.reindex();
        let len = self
            .table
            .iter()
            .map(|&idx| idx as usize + 1)
            .max()
            .unwrap_or(0);
        self.slab.truncate(len);
        if self.expiry.len() > len {
            self.expiry.truncate(len);
        }
        self.expiry.shrink_to_fit();
    }

    /// Evicts in policy order until `bytes` are freed; returns the bytes freed.
    pub(crate) fn evict_bytes(
        &mut self,
        bytes: u64,
        cause: RemovalCause,
        out: &mut Removals<K, V>,
    ) -> u64 {
        let done = catch_unwind(AssertUnwindSafe(|| {
            self.replay_hits();
            let mut freed = 0;
            while freed < bytes {
                let Some(weight) = self.evict_one(cause, out) else {
                    break;
                };
                freed += weight;
            }
            freed
        }));
        done.unwrap_or_else(|payload| {
            let before = self.weighted;
            self.recover(payload, out);
            before - self.weighted
        })
    }

    /// Removes `idx` for a reason of the cache's (explicit, expired), telling the policy.
    pub(crate) fn remove_slot(
        &mut self,
        idx: u32,
        cause: RemovalCause,
        out: &mut Removals<K, V>,
    ) -> u64 {
        self.replay_hits();
        self.policy.on_remove(idx);
        self.detach(idx, cause, out)
    }

    /// Removes occupied slot `idx` (which the policy has already forgotten); returns its weight.
    fn detach(&mut self, idx: u32, cause: RemovalCause, out: &mut Removals<K, V>) -> u64 {
        let weight = self.try_detach(idx, cause, out);
        debug_assert!(weight.is_some(), "slot {idx} was to be occupied");
        weight.unwrap_or(0)
    }

    /// Removes slot `idx` if it holds an entry (which the policy has already forgotten) and
    /// returns its weight; `None`, changing nothing, when it holds none.
    ///
    /// Whatever `idx` is, only an id the table holds reaches the slab: the entry's recorded
    /// bucket is read through a raw pointer (every slot below the slab's end was written once,
    /// and taking an entry leaves its bytes), and that bucket must hold `idx`.
    #[inline]
    fn try_detach(
        &mut self,
        idx: u32,
        cause: RemovalCause,
        out: &mut Removals<K, V>,
    ) -> Option<u64> {
        let slot = self.slab.slot_ptr(idx)?;
        // SAFETY: `slot` points into the slab, at bytes written at least once; a `u32` has no
        // invalid bit patterns, and no reference to the (maybe moved-out) entry is made.
        let bucket = (unsafe { std::ptr::addr_of!((*slot).bucket).read() } & !TRACKED) as usize;
        // The check reads the bucket's id alongside its control byte (both addressed by
        // `bucket`, so the two loads overlap).
        let removed = match self.table.get_bucket_entry(bucket) {
            Ok(found) if *found.get() == idx => {
                found.remove();
                true
            }
            _ => false,
        };
        if !removed && !self.remove_stale(idx) {
            return None;
        }
        // SAFETY: `idx` was in the table, so occupied; it has just left the table, so it is
        // taken exactly once.
        let entry = unsafe { self.slab.take(idx) };
        Some(self.release(idx, entry, cause, out))
    }

    /// Accounts for `entry`, just taken out of slot `idx`, and hands it to `out`; returns its
    /// weight.
    #[inline]
    fn release(
        &mut self,
        idx: u32,
        entry: Entry<K, V>,
        cause: RemovalCause,
        out: &mut Removals<K, V>,
    ) -> u64 {
        if let Some(e) = self.expiry.get_mut(idx as usize) {
            *e = Expiry::NEVER;
        }
        let weight = u64::from(entry.weight);
        self.weighted -= weight;
        self.count_removal(cause, weight);
        let observed = entry.tracked();
        out.push(Removal {
            key: entry.key,
            value: entry.value,
            weight,
            cause,
            observed,
        });
        weight
    }

    fn count_removal(&mut self, cause: RemovalCause, weight: u64) {
        self.stats.record_removal(cause, weight);
    }

    /// Removes `key` if present: an explicit removal, or an expiry if its deadline has passed.
    ///
    /// A load in flight for `key` is cancelled: its value will not be stored (see
    /// [`end_flight`](Self::end_flight)). The cancelled flight is returned, for the caller to
    /// drop (its key is user data) once the lock is released.
    #[must_use = "the cancelled flight holds a key, to drop after the lock is released"]
    pub(crate) fn remove<Q>(
        &mut self,
        hash: u64,
        key: &Q,
        clock: &dyn Clock,
        out: &mut Removals<K, V>,
    ) -> Option<(K, Arc<Flight<V>>)>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let cancelled = match self.flights.find_entry(hash, |(k, _)| k.borrow() == key) {
            Ok(found) => Some(found.remove().0),
            Err(_) => None,
        };
        let live = self.contains(hash, key, clock);
        if let Some(idx) = self.find(hash, key) {
            let cause = if live {
                RemovalCause::Explicit
            } else {
                RemovalCause::Expired
            };
            self.remove_slot(idx, cause, out);
        }
        cancelled
    }

    /// Removes every entry for which `keep` returns false.
    pub(crate) fn retain(
        &mut self,
        keep: &mut impl FnMut(&K, &V) -> bool,
        out: &mut Removals<K, V>,
    ) {
        let slab = &self.slab;
        // Ask first, change after: a panicking predicate leaves the shard untouched.
        let doomed: Vec<u32> = self
            .table
            .iter()
            .copied()
            .filter(|&idx| {
                // SAFETY: the table holds exactly the occupied slot ids.
                let e = unsafe { slab.get(idx) };
                !keep(&e.key, &e.value)
            })
            .collect();
        for idx in doomed {
            self.remove_slot(idx, RemovalCause::Explicit, out);
        }
    }

    /// Removes every entry, and cancels the loads in flight (their values will not be stored);
    /// returns the cancelled flights, for the caller to drop once the lock is released.
    #[must_use = "the cancelled flights hold keys, to drop after the lock is released"]
    pub(crate) fn clear(
        &mut self,
        cause: RemovalCause,
        out: &mut Removals<K, V>,
    ) -> Vec<(K, Arc<Flight<V>>)> {
        self.n_hits = 0;
        let cancelled = self.flights.drain().collect();
        for idx in self.table.drain() {
            // SAFETY: drained ids were occupied, and each is taken once.
            let entry = unsafe { self.slab.take(idx) };
            let weight = u64::from(entry.weight);
            self.stats.record_removal(cause, weight);
            let observed = entry.tracked();
            out.push(Removal {
                key: entry.key,
                value: entry.value,
                weight,
                cause,
                observed,
            });
        }
        self.table = HashTable::new();
        self.slab.reset();
        self.expiry = Vec::new();
        self.weighted = 0;
        self.sweep_cursor = 0;
        self.policy.clear();
        self.policy.set_capacity(self.policy_capacity());
        cancelled
    }

    /// Removes expired entries among at most `budget` slots, resuming where the last sweep
    /// stopped; returns the number removed.
    pub(crate) fn sweep(&mut self, budget: usize, now: u64, out: &mut Removals<K, V>) -> u64 {
        let n = self.expiry.len();
        if n == 0 {
            return 0;
        }
        let mut removed = 0;
        for _ in 0..budget.min(n) {
            let idx = self.sweep_cursor % n;
            self.sweep_cursor = (idx + 1) % n;
            // Free slots hold `Expiry::NEVER`, so a due deadline means a live entry.
            if self.expiry[idx].deadline() <= now {
                let idx = idx as u32;
                // Only occupied slots carry a deadline.
                self.remove_slot(idx, RemovalCause::Expired, out);
                removed += 1;
            }
        }
        removed
    }

    /// The load in flight for `key`, if any.
    pub(crate) fn flight<Q>(&self, hash: u64, key: &Q) -> Option<Arc<Flight<V>>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.flights
            .find(hash, |(k, _)| k.borrow() == key)
            .map(|(_, f)| Arc::clone(f))
    }

    /// Registers a load in flight for `key`.
    pub(crate) fn start_flight<S: BuildHasher>(
        &mut self,
        hash: u64,
        key: K,
        flight: Arc<Flight<V>>,
        hasher: &S,
    ) where
        K: Hash,
    {
        self.flights
            .insert_unique(hash, (key, flight), |(k, _)| hasher.hash_one(k));
    }

    /// Forgets the load in flight `flight` for a key with `hash`, returning its key; `None`
    /// when a removal of the key or of every entry cancelled it meanwhile (its value must then
    /// not be stored).
    #[must_use = "a cancelled load must not store its value"]
    pub(crate) fn end_flight(&mut self, hash: u64, flight: &Arc<Flight<V>>) -> Option<K> {
        match self
            .flights
            .find_entry(hash, |(_, f)| Arc::ptr_eq(f, flight))
        {
            Ok(found) => Some(found.remove().0.0),
            Err(_) => None,
        }
    }
}

impl<K, V, P> Shard<K, V, P> {
    /// All counters of this shard.
    pub(crate) fn stats(&self) -> CacheStats {
        let mut stats = self.stats;
        stats.hits += self.n_hits_total;
        stats.misses += self.n_misses;
        stats
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// The keys and weights of the entries the observer tracks.
    pub(crate) fn tracked(&self) -> impl Iterator<Item = (&K, u64)> {
        self.table.iter().filter_map(|&idx| {
            // SAFETY: the table holds exactly the occupied slot ids.
            let e = unsafe { self.slab.get(idx) };
            e.tracked().then_some((&e.key, u64::from(e.weight)))
        })
    }

    /// Bytes of the shard's own structures (table, slab, expiry), excluding what entries own.
    pub(crate) fn structure_bytes(&self) -> usize {
        self.table.allocation_size()
            + self.slab.allocated_bytes()
            + self.expiry.capacity() * size_of::<Expiry>()
    }
}

impl<K, V, P> Drop for Shard<K, V, P> {
    fn drop(&mut self) {
        for &idx in self.table.iter() {
            // SAFETY: the table holds exactly the occupied slot ids; each is dropped once.
            drop(unsafe { self.slab.take(idx) });
        }
    }
}

/// How many entries `table` holds before it must grow, tombstones aside (hashbrown keeps an
/// eighth of a table of 16 buckets or more empty).
fn full_capacity<T>(table: &HashTable<T>) -> usize {
    let buckets = table.num_buckets();
    if buckets < 16 {
        buckets - 1
    } else {
        buckets / 8 * 7
    }
}

/// A bucket index as stored in an entry.
#[inline]
fn bucket_u32(bucket: usize) -> u32 {
    u32::try_from(bucket)
        .ok()
        .filter(|b| b & TRACKED == 0)
        .expect("a shard's table has at most 2^31 buckets")
}

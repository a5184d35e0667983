//! Test helpers: a tiny cache around a policy that maps keys to slots and logs evictions.

use cache_traits::EvictionPolicy;
use std::collections::HashMap;

/// Byte weights of 50 to 100, from the key.
pub(crate) fn byte_weight(key: u64) -> u64 {
    50 + crate::hash::mix64(key ^ 0xb7e1) % 51
}

/// A cache driving a policy, as `cache-core` would: unit weights and a capacity of entries
/// ([`new`](Self::new)), or byte weights under a huge byte capacity and an entry bound the
/// policy is not told ([`with_entry_bound`](Self::with_entry_bound)).
pub(crate) struct MiniCache<P> {
    pub(crate) policy: P,
    capacity: u64,
    max_entries: usize,
    /// The weight of a key's entry.
    weigh: fn(u64) -> u64,
    weights: HashMap<u32, u64>,
    /// Weight held.
    pub(crate) used: u64,
    slots: HashMap<u64, u32>,
    keys: HashMap<u32, u64>,
    next_slot: u32,
    free: Vec<u32>,
    /// Keys evicted, in order.
    pub(crate) evicted: Vec<u64>,
}

impl<P: EvictionPolicy> MiniCache<P> {
    pub(crate) fn new(policy: P, capacity: u64) -> Self {
        Self::bounded(policy, capacity, usize::MAX, |_| 1)
    }

    /// A cache of at most `max_entries` entries weighing `weigh(key)` each, whose policy is
    /// told a capacity of `u64::MAX / 16` that the cache never reaches.
    pub(crate) fn with_entry_bound(policy: P, max_entries: usize, weigh: fn(u64) -> u64) -> Self {
        Self::bounded(policy, u64::MAX / 16, max_entries, weigh)
    }

    /// A cache that evicts while over `capacity` in weight or over `max_entries`.
    pub(crate) fn bounded(
        mut policy: P,
        capacity: u64,
        max_entries: usize,
        weigh: fn(u64) -> u64,
    ) -> Self {
        policy.set_capacity(capacity);
        MiniCache {
            policy,
            capacity,
            max_entries,
            weigh,
            weights: HashMap::new(),
            used: 0,
            slots: HashMap::new(),
            keys: HashMap::new(),
            next_slot: 0,
            free: Vec::new(),
            evicted: Vec::new(),
        }
    }

    /// Requests `key`; returns whether it was a hit.
    pub(crate) fn get(&mut self, key: u64) -> bool {
        let hash = crate::hash::mix64(key);
        if let Some(&slot) = self.slots.get(&key) {
            self.policy.on_access(slot, hash);
            return true;
        }
        let slot = self.free.pop().unwrap_or_else(|| {
            self.next_slot += 1;
            self.next_slot - 1
        });
        self.slots.insert(key, slot);
        self.keys.insert(slot, key);
        let weight = (self.weigh)(key);
        self.weights.insert(slot, weight);
        self.used += weight;
        self.policy.on_insert(slot, hash, weight);
        while self.used > self.capacity || self.slots.len() > self.max_entries {
            let victim = self.policy.evict().expect("a full cache has a victim");
            let key = self.keys.remove(&victim).expect("victim is resident");
            self.slots.remove(&key);
            self.used -= self.weights.remove(&victim).unwrap_or(0);
            self.free.push(victim);
            self.evicted.push(key);
        }
        false
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// A stream of `n` requests: every third for one of `hot` keys (each hit often), the
    /// others for keys never requested before.
    pub(crate) fn run_hot_and_scan(&mut self, hot: u64, n: u64) -> usize {
        self.run((0..n).map(|i| {
            if i % 3 == 0 {
                crate::hash::mix64(i) % hot
            } else {
                1 << 40 | i
            }
        }))
    }

    /// Requests every key in order; returns the number of hits.
    pub(crate) fn run(&mut self, keys: impl IntoIterator<Item = u64>) -> usize {
        keys.into_iter().filter(|&k| self.get(k)).count()
    }

    pub(crate) fn contains(&self, key: u64) -> bool {
        self.slots.contains_key(&key)
    }

    /// The slot holding `key`, if resident.
    pub(crate) fn slot(&self, key: u64) -> Option<u32> {
        self.slots.get(&key).copied()
    }
}

//! Test helpers: a tiny cache around a policy that maps keys to slots and logs evictions.

use cache_traits::EvictionPolicy;
use std::collections::HashMap;

/// A unit-weight cache of `capacity` entries driving a policy, as `cache-core` would.
pub(crate) struct MiniCache<P> {
    pub(crate) policy: P,
    capacity: u64,
    slots: HashMap<u64, u32>,
    keys: HashMap<u32, u64>,
    next_slot: u32,
    free: Vec<u32>,
    /// Keys evicted, in order.
    pub(crate) evicted: Vec<u64>,
}

impl<P: EvictionPolicy> MiniCache<P> {
    pub(crate) fn new(mut policy: P, capacity: u64) -> Self {
        policy.set_capacity(capacity);
        MiniCache {
            policy,
            capacity,
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
        self.policy.on_insert(slot, hash, 1);
        while self.slots.len() as u64 > self.capacity {
            let victim = self.policy.evict().expect("a full cache has a victim");
            let key = self.keys.remove(&victim).expect("victim is resident");
            self.slots.remove(&key);
            self.free.push(victim);
            self.evicted.push(key);
        }
        false
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

//! The eviction-policy trait: slot ids, key hashes and weights, never keys or values.

/// Decides which entry leaves a cache when it is over its weight capacity.
///
/// A policy never sees keys or values. The cache (or the trace simulator) stores entries in slots
/// identified by a dense `u32`, and tells the policy what happens to each slot: inserted, read,
/// re-weighed, removed. When the cache is over capacity it asks [`evict`](Self::evict) for a victim.
/// Because nothing here names a value type, the very same policy code runs inside `cache-core`
/// and in the offline simulator.
///
/// # Requirements
///
/// - Slot ids are dense: a cache hands out small integers and reuses freed ones, so a policy may
///   keep per-slot state in a `Vec` indexed by slot and grow it when it sees a larger id.
/// - The cache calls exactly one of `evict` (the policy chose the victim and has already
///   forgotten it) or [`on_remove`](Self::on_remove) (the cache removed it for another reason:
///   explicit removal, expiry) for every slot it inserted, before reusing the slot id.
/// - `evict` may return the slot that was just inserted: that is an admission policy rejecting
///   a newcomer, and the cache drops it.
/// - The cache, not the policy, decides *when* to evict (its weighted size is over budget);
///   [`set_capacity`](Self::set_capacity) tells the policy the budget so it can size segments.
///
/// # Implementing
///
/// All methods are called under the owning shard's lock, on the hot path: no allocation in
/// `on_access`, amortised O(1) everywhere.
///
/// # Examples
///
/// A FIFO policy, the smallest correct implementation:
///
/// ```
/// use cache_traits::EvictionPolicy;
/// use std::collections::VecDeque;
///
/// #[derive(Default)]
/// struct Fifo { queue: VecDeque<u32>, removed: Vec<bool> }
///
/// impl EvictionPolicy for Fifo {
///     fn name(&self) -> &'static str { "fifo" }
///     fn set_capacity(&mut self, _capacity: u64) {}
///     fn on_insert(&mut self, slot: u32, _hash: u64, _weight: u64) {
///         let i = slot as usize;
///         if self.removed.len() <= i { self.removed.resize(i + 1, false); }
///         self.removed[i] = false;
///         self.queue.push_back(slot);
///     }
///     fn on_access(&mut self, _slot: u32, _hash: u64) {}
///     fn on_remove(&mut self, slot: u32) { self.removed[slot as usize] = true; }
///     fn evict(&mut self) -> Option<u32> {
///         while let Some(slot) = self.queue.pop_front() {
///             if !std::mem::take(&mut self.removed[slot as usize]) { return Some(slot); }
///         }
///         None
///     }
///     fn clear(&mut self) { self.queue.clear(); self.removed.clear(); }
/// }
///
/// let mut p = Fifo::default();
/// p.on_insert(0, 11, 1);
/// p.on_insert(1, 22, 1);
/// p.on_remove(0);
/// assert_eq!(p.evict(), Some(1));
/// assert_eq!(p.evict(), None);
/// ```
pub trait EvictionPolicy: Send {
    /// A short lowercase name (`lru`, `hybrid`, …) used in reports and the simulator.
    fn name(&self) -> &'static str;

    /// Tells the policy the cache's total weight capacity (bytes, or entries when every weight is 1).
    fn set_capacity(&mut self, capacity: u64);

    /// A new entry of `weight` now lives in `slot`; `hash` is its key's hash.
    fn on_insert(&mut self, slot: u32, hash: u64, weight: u64);

    /// The entry in `slot` was read (a hit).
    fn on_access(&mut self, slot: u32, hash: u64);

    /// The entry in `slot` got a new value of `new_weight` (it was `old_weight`).
    ///
    /// The default treats it as an access; policies that track weights per segment override it.
    fn on_update(&mut self, slot: u32, hash: u64, old_weight: u64, new_weight: u64) {
        let _ = (old_weight, new_weight);
        self.on_access(slot, hash);
    }

    /// The cache removed the entry in `slot` for a reason of its own (explicit, expired, replaced).
    fn on_remove(&mut self, slot: u32);

    /// Chooses a victim, forgets it, and returns its slot; `None` when the policy tracks nothing.
    fn evict(&mut self) -> Option<u32>;

    /// Forgets every slot.
    fn clear(&mut self);

    /// Whether a hit on `slot` would change nothing right now (for example, its reference bit
    /// is already set), so that [`on_access`](Self::on_access) would be a no-op.
    ///
    /// The cache asks this on every hit, under the shard lock, and skips recording hits for
    /// which it returns true: on a busy cache most hits then write no shared memory at all,
    /// which is what lets hits scale across cores. The default, `false`, records every hit.
    ///
    /// # Implementing
    ///
    /// Return true only when `on_access(slot, _)` would leave the policy exactly as it is, so
    /// that the policy makes the same decisions inside the cache as in the simulator, which
    /// calls `on_access` on every hit. Keep it to one read of per-slot state.
    #[inline]
    fn is_referenced(&self, slot: u32) -> bool {
        let _ = slot;
        false
    }

    /// A hint that [`on_insert`](Self::on_insert) of a key with this `hash` is about to
    /// follow: a policy whose insert reads memory chosen by the hash (a frequency sketch, a
    /// ghost table) can prefetch it, so the wait overlaps with the cache's own table work.
    /// It changes no state; the default does nothing.
    ///
    /// # Implementing
    ///
    /// Only issue prefetches (or nothing): the cache may call this for an insert that then
    /// turns out to be an update, and the simulator never calls it.
    #[inline]
    fn prefetch_insert(&self, hash: u64) {
        let _ = hash;
    }

    /// The slot the policy expects to evict next, if it knows cheaply: a hint the cache uses to
    /// prefetch that entry well before the eviction needs it. The default knows nothing.
    ///
    /// # Implementing
    ///
    /// Return a slot without changing state; a wrong or stale slot costs only a wasted prefetch.
    #[inline]
    fn next_victim_hint(&self) -> Option<u32> {
        None
    }

    /// Bytes of policy state kept per tracked slot (links, counters), so a byte-budgeted cache
    /// can charge it to each entry. The default is 0.
    fn bytes_per_slot(&self) -> usize {
        0
    }

    /// Bytes of policy state beyond [`bytes_per_slot`](Self::bytes_per_slot) for each tracked
    /// slot, such as a frequency table kept larger than that for a small cache. A byte-budgeted
    /// cache counts them against its budget, up to a quarter of it (so a fixed-size table
    /// cannot crowd out a tiny cache); the simulator does not. The default is 0.
    ///
    /// # Implementing
    ///
    /// Return a figure kept up to date as the state grows: the cache reads it on every insert.
    ///
    /// ```
    /// use cache_traits::EvictionPolicy;
    ///
    /// struct Fifo {
    ///     queue: std::collections::VecDeque<u32>,
    ///     // A table of 64 KiB, whatever the number of entries.
    ///     table: Box<[u64; 8192]>,
    /// }
    ///
    /// impl EvictionPolicy for Fifo {
    ///     fn name(&self) -> &'static str { "fifo" }
    ///     fn set_capacity(&mut self, _: u64) {}
    ///     fn on_insert(&mut self, slot: u32, _: u64, _: u64) { self.queue.push_back(slot) }
    ///     fn on_access(&mut self, _: u32, _: u64) {}
    ///     fn on_update(&mut self, _: u32, _: u64, _: u64, _: u64) {}
    ///     fn on_remove(&mut self, slot: u32) { self.queue.retain(|&s| s != slot) }
    ///     fn evict(&mut self) -> Option<u32> { self.queue.pop_front() }
    ///     fn clear(&mut self) { self.queue.clear() }
    ///     fn bytes_per_slot(&self) -> usize { 4 }
    ///     fn extra_bytes(&self) -> u64 { std::mem::size_of_val(&*self.table) as u64 }
    /// }
    ///
    /// let fifo = Fifo { queue: Default::default(), table: Box::new([0; 8192]) };
    /// assert_eq!(fifo.extra_bytes(), 65536);
    /// ```
    #[inline]
    fn extra_bytes(&self) -> u64 {
        0
    }
}

impl<P: EvictionPolicy + ?Sized> EvictionPolicy for Box<P> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn set_capacity(&mut self, capacity: u64) {
        (**self).set_capacity(capacity)
    }
    fn on_insert(&mut self, slot: u32, hash: u64, weight: u64) {
        (**self).on_insert(slot, hash, weight)
    }
    fn on_access(&mut self, slot: u32, hash: u64) {
        (**self).on_access(slot, hash)
    }
    fn on_update(&mut self, slot: u32, hash: u64, old_weight: u64, new_weight: u64) {
        (**self).on_update(slot, hash, old_weight, new_weight)
    }
    fn on_remove(&mut self, slot: u32) {
        (**self).on_remove(slot)
    }
    fn evict(&mut self) -> Option<u32> {
        (**self).evict()
    }
    fn clear(&mut self) {
        (**self).clear()
    }
    fn bytes_per_slot(&self) -> usize {
        (**self).bytes_per_slot()
    }
    fn extra_bytes(&self) -> u64 {
        (**self).extra_bytes()
    }
    fn is_referenced(&self, slot: u32) -> bool {
        (**self).is_referenced(slot)
    }
    fn prefetch_insert(&self, hash: u64) {
        (**self).prefetch_insert(hash)
    }
    fn next_victim_hint(&self) -> Option<u32> {
        (**self).next_victim_hint()
    }
}

//! ARC: adaptive replacement between a recency list and a frequency list, steered by ghosts.

use crate::ghost::Ghost;
use crate::list::{ListHead, SlotLinks};
use cache_traits::EvictionPolicy;

/// Per-slot state.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    hash: u64,
    weight: u64,
    in_t2: bool,
}

/// Adaptive Replacement Cache (N. Megiddo and D. S. Modha, "ARC: A Self-Tuning, Low Overhead
/// Replacement Cache", FAST '03), a reference point for the hybrid.
///
/// Resident entries are in `T1` (seen once recently) or `T2` (seen at least twice); the ghost
/// lists `B1` and `B2` remember the hashes evicted from each. A miss that hits `B1` means `T1`
/// was too small, so the target `p` for `T1` grows; a hit in `B2` shrinks it. The victim comes
/// from `T1` when it is over `p`, else from `T2`. Sizes, `p` and the ghost bounds (`T1 + B1 ≤ c`,
/// everything `≤ 2c`) are all by weight, so the policy runs on bytes as well as entries.
///
/// # Examples
///
/// ```
/// use cache_traits::EvictionPolicy;
/// use eviction::ArcPolicy;
///
/// let mut arc = ArcPolicy::new();
/// arc.set_capacity(2);
/// arc.on_insert(0, 10, 1);
/// arc.on_insert(1, 11, 1);
/// arc.on_access(0, 10); // 0 moves to T2
/// arc.on_insert(2, 12, 1);
/// assert_eq!(arc.evict(), Some(1)); // T1 is over its target p = 0
/// ```
#[derive(Debug, Default)]
#[doc(alias = "arc")]
pub struct ArcPolicy {
    links: SlotLinks,
    t1: ListHead,
    t2: ListHead,
    entries: Vec<Entry>,
    t1_weight: u64,
    t2_weight: u64,
    b1: Ghost,
    b2: Ghost,
    /// Target weight of `T1`.
    p: f64,
    capacity: u64,
    /// The last insertion was a `B2` ghost hit (ARC's tie rule in REPLACE).
    last_from_b2: bool,
}

impl ArcPolicy {
    /// An empty ARC; tell it the capacity with [`EvictionPolicy::set_capacity`].
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::EvictionPolicy;
    ///
    /// let mut policy = eviction::ArcPolicy::new();
    /// policy.set_capacity(100);
    /// assert_eq!(policy.evict(), None);
    /// ```
    pub fn new() -> Self {
        let mut arc = Self::default();
        arc.b1.set_capacity(u64::MAX);
        arc.b2.set_capacity(u64::MAX);
        arc
    }

    fn total(&self) -> u64 {
        self.t1_weight + self.t2_weight + self.b1.weight() + self.b2.weight()
    }

    /// Keeps `T1 + B1 ≤ c` and `T1 + T2 + B1 + B2 ≤ 2c`.
    fn trim_ghosts(&mut self, incoming: u64) {
        let c = self.capacity;
        while self.t1_weight + self.b1.weight() + incoming > c && self.b1.pop_oldest().is_some() {}
        while self.total() + incoming > 2 * c && self.b2.pop_oldest().is_some() {}
    }
}

impl EvictionPolicy for ArcPolicy {
    fn name(&self) -> &'static str {
        "arc"
    }

    fn set_capacity(&mut self, capacity: u64) {
        self.capacity = capacity;
        self.p = self.p.min(capacity as f64);
        self.trim_ghosts(0);
    }

    fn on_insert(&mut self, slot: u32, hash: u64, weight: u64) {
        let i = slot as usize;
        if i >= self.entries.len() {
            self.entries
                .resize((i + 1).max(self.entries.len() * 2), Entry::default());
        }
        let (b1, b2) = (self.b1.weight() as f64, self.b2.weight() as f64);
        let w = weight as f64;
        self.last_from_b2 = false;
        let in_t2 = if self.b1.remove(hash).is_some() {
            let delta = if b1 >= b2 { 1.0 } else { b2 / b1 };
            self.p = (self.p + delta * w).min(self.capacity as f64);
            true
        } else if self.b2.remove(hash).is_some() {
            let delta = if b2 >= b1 { 1.0 } else { b1 / b2 };
            self.p = (self.p - delta * w).max(0.0);
            self.last_from_b2 = true;
            true
        } else {
            self.trim_ghosts(weight);
            false
        };
        self.entries[i] = Entry {
            hash,
            weight,
            in_t2,
        };
        if in_t2 {
            self.links.push_front(&mut self.t2, slot);
            self.t2_weight += weight;
        } else {
            self.links.push_front(&mut self.t1, slot);
            self.t1_weight += weight;
        }
    }

    #[inline]
    fn on_access(&mut self, slot: u32, _hash: u64) {
        let e = &mut self.entries[slot as usize];
        if e.in_t2 {
            self.links.move_to_front(&mut self.t2, slot);
        } else {
            e.in_t2 = true;
            self.t1_weight -= e.weight;
            self.t2_weight += e.weight;
            self.links.unlink(&mut self.t1, slot);
            self.links.push_front(&mut self.t2, slot);
        }
    }

    fn on_update(&mut self, slot: u32, hash: u64, old_weight: u64, new_weight: u64) {
        self.on_access(slot, hash);
        let e = &mut self.entries[slot as usize];
        e.weight = new_weight;
        self.t2_weight = self.t2_weight - old_weight + new_weight;
    }

    fn on_remove(&mut self, slot: u32) {
        let e = self.entries[slot as usize];
        if e.in_t2 {
            self.links.unlink(&mut self.t2, slot);
            self.t2_weight -= e.weight;
        } else {
            self.links.unlink(&mut self.t1, slot);
            self.t1_weight -= e.weight;
        }
    }

    fn evict(&mut self) -> Option<u32> {
        let t1 = self.t1_weight as f64;
        let from_t1 = !self.t1.is_empty()
            && (t1 > self.p || (self.last_from_b2 && t1 >= self.p) || self.t2.is_empty());
        let victim = if from_t1 {
            let v = self.links.pop_back(&mut self.t1)?;
            let e = self.entries[v as usize];
            self.t1_weight -= e.weight;
            self.b1.insert(e.hash, e.weight);
            v
        } else {
            let v = self.links.pop_back(&mut self.t2)?;
            let e = self.entries[v as usize];
            self.t2_weight -= e.weight;
            self.b2.insert(e.hash, e.weight);
            v
        };
        self.trim_ghosts(0);
        Some(victim)
    }

    fn clear(&mut self) {
        self.links.clear();
        self.t1 = ListHead::default();
        self.t2 = ListHead::default();
        self.entries.clear();
        self.t1_weight = 0;
        self.t2_weight = 0;
        self.b1.clear();
        self.b2.clear();
        self.p = 0.0;
        self.last_from_b2 = false;
    }

    fn bytes_per_slot(&self) -> usize {
        // Links, per-slot state, and up to one ghost per resident entry.
        std::mem::size_of::<[u32; 2]>() + std::mem::size_of::<Entry>() + Ghost::BYTES_PER_GHOST
    }
}

#[cfg(test)]
mod tests;

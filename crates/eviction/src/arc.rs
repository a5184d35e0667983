//! ARC: adaptive replacement between a recency list and a frequency list, steered by ghosts.

use crate::ghost::Ghosts;
use crate::list::{ListHead, SlotLinks};
use cache_traits::EvictionPolicy;

/// Per-slot state: 16 bytes.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    hash: u64,
    /// The weight, saturated at `u32::MAX` (the list sums use this same figure).
    weight: u32,
    in_t2: bool,
}

/// The ghost list of entries evicted from `T1`.
const B1: usize = 0;
/// The ghost list of entries evicted from `T2`.
const B2: usize = 1;

/// Saturates a weight into an [`Entry`].
#[inline]
fn stored_weight(weight: u64) -> u32 {
    u32::try_from(weight).unwrap_or(u32::MAX)
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
/// The same two ghost bounds also hold by count, with the resident entries as `c`: the ghosts
/// never outnumber the resident entries, whatever the capacity in weight units. A cache that
/// evicts within its weight capacity (an entry-count bound, memory pressure) has the weight it
/// holds, less one average entry, taken as `c`, as in [`ClockTinyLfu`](crate::ClockTinyLfu):
/// so `p` and the ghosts follow what the cache really holds. With unit weights and a cache
/// that evicts only when over its capacity (an entry-bounded cache, the simulator), both
/// changes leave ARC exactly as published.
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
    /// `B1` and `B2`.
    ghosts: Ghosts<2>,
    /// Target weight of `T1`.
    p: f64,
    capacity: u64,
    /// `c`: the capacity, or the weight held less one entry when the cache last evicted
    /// within its capacity.
    effective: u64,
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
        Self::default()
    }

    /// Resident entries.
    fn resident(&self) -> usize {
        self.t1.len() + self.t2.len()
    }

    /// Keeps `T1 + B1 ≤ c` and `T1 + T2 + B1 + B2 ≤ 2c`, counting the `incoming` entry's
    /// weight if there is one, by weight and by count (`c` being the resident entries there).
    fn trim_ghosts(&mut self, incoming: Option<u32>) {
        let c = self.effective;
        let (n_in, n) = (usize::from(incoming.is_some()), self.resident());
        let t1 = self.t1_weight.saturating_add(incoming.map_or(0, u64::from));
        let t1_n = self.t1.len() + n_in;
        while (t1.saturating_add(self.ghosts.weight(B1)) > c || t1_n + self.ghosts.len(B1) > n)
            && self.ghosts.pop_oldest(B1).is_some()
        {}
        let held = t1.saturating_add(self.t2_weight);
        while (held
            .saturating_add(self.ghosts.weight(B1))
            .saturating_add(self.ghosts.weight(B2))
            > c.saturating_mul(2)
            || n + n_in + self.ghosts.total_len() > 2 * n)
            && self.ghosts.pop_oldest(B2).is_some()
        {}
    }

    /// Takes as `c` the capacity, or, when the cache evicts within it, the weight it holds
    /// less one average entry.
    fn follow_held_weight(&mut self) {
        let held = self.t1_weight + self.t2_weight;
        self.effective = if held > self.capacity {
            self.capacity
        } else {
            held - held / self.resident().max(1) as u64
        };
    }
}

impl EvictionPolicy for ArcPolicy {
    fn name(&self) -> &'static str {
        "arc"
    }

    fn set_capacity(&mut self, capacity: u64) {
        self.capacity = capacity;
        self.effective = capacity;
        self.p = self.p.min(capacity as f64);
        self.trim_ghosts(None);
    }

    fn on_insert(&mut self, slot: u32, hash: u64, weight: u64) {
        let i = slot as usize;
        if i >= self.entries.len() {
            self.entries
                .resize((i + 1).max(self.entries.len() * 2), Entry::default());
        }
        let weight = stored_weight(weight);
        let (b1, b2) = (self.ghosts.weight(B1) as f64, self.ghosts.weight(B2) as f64);
        let w = f64::from(weight);
        self.last_from_b2 = false;
        // (A ghost of weight 0 can leave its list's weight at 0: no division by it.)
        let in_t2 = match self.ghosts.remove(hash) {
            Some((B1, _)) => {
                let delta = if b1 >= b2 { 1.0 } else { b2 / b1.max(1.0) };
                self.p = (self.p + delta * w).min(self.effective as f64);
                true
            }
            Some(_) => {
                let delta = if b2 >= b1 { 1.0 } else { b1 / b2.max(1.0) };
                self.p = (self.p - delta * w).max(0.0);
                self.last_from_b2 = true;
                true
            }
            None => {
                self.trim_ghosts(Some(weight));
                false
            }
        };
        self.entries[i] = Entry {
            hash,
            weight,
            in_t2,
        };
        if in_t2 {
            self.links.push_front(&mut self.t2, slot);
            self.t2_weight += u64::from(weight);
        } else {
            self.links.push_front(&mut self.t1, slot);
            self.t1_weight += u64::from(weight);
        }
    }

    #[inline]
    fn on_access(&mut self, slot: u32, _hash: u64) {
        let e = &mut self.entries[slot as usize];
        if e.in_t2 {
            self.links.move_to_front(&mut self.t2, slot);
        } else {
            e.in_t2 = true;
            self.t1_weight -= u64::from(e.weight);
            self.t2_weight += u64::from(e.weight);
            self.links.unlink(&mut self.t1, slot);
            self.links.push_front(&mut self.t2, slot);
        }
    }

    fn on_update(&mut self, slot: u32, hash: u64, _old_weight: u64, new_weight: u64) {
        self.on_access(slot, hash);
        let e = &mut self.entries[slot as usize];
        let old = u64::from(e.weight);
        e.weight = stored_weight(new_weight);
        self.t2_weight = self.t2_weight - old + u64::from(e.weight);
    }

    fn on_remove(&mut self, slot: u32) {
        let e = self.entries[slot as usize];
        if e.in_t2 {
            self.links.unlink(&mut self.t2, slot);
            self.t2_weight -= u64::from(e.weight);
        } else {
            self.links.unlink(&mut self.t1, slot);
            self.t1_weight -= u64::from(e.weight);
        }
    }

    fn evict(&mut self) -> Option<u32> {
        self.follow_held_weight();
        let t1 = self.t1_weight as f64;
        let p = self.p.min(self.effective as f64);
        let from_t1 =
            !self.t1.is_empty() && (t1 > p || (self.last_from_b2 && t1 >= p) || self.t2.is_empty());
        let victim = if from_t1 {
            let v = self.links.pop_back(&mut self.t1)?;
            let e = self.entries[v as usize];
            self.t1_weight -= u64::from(e.weight);
            self.ghosts.insert(B1, e.hash, e.weight);
            v
        } else {
            let v = self.links.pop_back(&mut self.t2)?;
            let e = self.entries[v as usize];
            self.t2_weight -= u64::from(e.weight);
            self.ghosts.insert(B2, e.hash, e.weight);
            v
        };
        self.trim_ghosts(None);
        Some(victim)
    }

    fn clear(&mut self) {
        self.links.clear();
        self.t1 = ListHead::default();
        self.t2 = ListHead::default();
        self.entries.clear();
        self.t1_weight = 0;
        self.t2_weight = 0;
        self.ghosts.clear();
        self.p = 0.0;
        self.effective = self.capacity;
        self.last_from_b2 = false;
    }

    fn bytes_per_slot(&self) -> usize {
        // Links, per-slot state, and up to one ghost per resident entry.
        std::mem::size_of::<[u32; 2]>()
            + std::mem::size_of::<Entry>()
            + Ghosts::<2>::BYTES_PER_GHOST
    }
}

#[cfg(test)]
mod tests;

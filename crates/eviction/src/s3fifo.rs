//! S3-FIFO: a small probationary FIFO, a main FIFO with 2-bit CLOCK reinsertion, and a ghost FIFO.

use crate::ghost::Ghosts;
use crate::list::{ListHead, SlotLinks};
use cache_traits::EvictionPolicy;

/// Per-slot state: 16 bytes.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    hash: u64,
    /// The weight, saturated at `u32::MAX` (the queue sums use this same figure).
    weight: u32,
    /// Hits since insertion or the last demotion, capped at 3.
    freq: u8,
    in_main: bool,
}

/// The ghost FIFO's one list.
const G: usize = 0;

/// Saturates a weight into an [`Entry`].
#[inline]
fn stored_weight(weight: u64) -> u32 {
    u32::try_from(weight).unwrap_or(u32::MAX)
}

/// S3-FIFO (Yang, Zhang, Qiu, Yue, Rashmi, "FIFO queues are all you need for cache eviction",
/// SOSP '23).
///
/// New entries go to a small FIFO `S` (10 % of the capacity) unless their hash is in the ghost
/// FIFO `G`, in which case they go to the main FIFO `M`. A hit only bumps a 2-bit counter.
/// When `S` is at or over its share, its oldest entry moves to `M` if it was hit while in `S`,
/// otherwise it is evicted and its hash remembered in `G` (which holds as much weight as `M`).
/// `M` evicts like a 2-bit CLOCK: an entry with a non-zero counter is reinserted with the
/// counter decremented. Most one-hit wonders therefore leave after a short stay in `S`, and a
/// one-time scan cannot flush `M`. All queue shares are by weight.
///
/// The ghost FIFO is also bounded by count: it never holds more ghosts than there are resident
/// entries. A cache that evicts within its weight capacity (an entry-count bound, memory
/// pressure) has the weight it holds, less one average entry, taken as the capacity the shares
/// are of, as in [`ClockTinyLfu`](crate::ClockTinyLfu), so `S` keeps its 10 % of what the cache
/// really holds. With unit weights and a cache that evicts only when over its capacity (an
/// entry-bounded cache, the simulator), neither changes anything.
///
/// # Examples
///
/// ```
/// use cache_traits::EvictionPolicy;
/// use eviction::S3Fifo;
///
/// let mut s3 = S3Fifo::new();
/// s3.set_capacity(10);
/// for slot in 0..10 { s3.on_insert(slot, slot as u64, 1); }
/// s3.on_access(0, 0); // hit while in the small queue: promoted to main when it reaches the tail
/// assert_eq!(s3.evict(), Some(1));
/// ```
#[derive(Debug, Default)]
pub struct S3Fifo {
    links: SlotLinks,
    small: ListHead,
    main: ListHead,
    entries: Vec<Entry>,
    small_weight: u64,
    main_weight: u64,
    capacity: u64,
    /// The capacity the shares are of: `capacity`, or the weight held less one entry when the
    /// cache last evicted within it.
    effective: u64,
    ghost: Ghosts<1>,
}

impl S3Fifo {
    /// An empty S3-FIFO; tell it the capacity with [`EvictionPolicy::set_capacity`].
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::EvictionPolicy;
    ///
    /// let mut policy = eviction::S3Fifo::new();
    /// policy.set_capacity(100);
    /// assert_eq!(policy.evict(), None);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn small_target(&self) -> u64 {
        (self.effective / 10).max(1)
    }

    /// Resident entries.
    fn resident(&self) -> usize {
        self.small.len() + self.main.len()
    }

    /// Keeps the ghosts within main's share by weight, and within the resident entries by count.
    fn trim_ghosts(&mut self) {
        let max_weight = self.effective.saturating_sub(self.small_target());
        let max_len = self.resident();
        while (self.ghost.weight(G) > max_weight || self.ghost.len(G) > max_len)
            && self.ghost.pop_oldest(G).is_some()
        {}
    }

    /// Takes as the capacity the shares are of the capacity, or, when the cache evicts within
    /// it, the weight it holds less one average entry.
    fn follow_held_weight(&mut self) {
        let held = self.small_weight + self.main_weight;
        self.effective = if held > self.capacity {
            self.capacity
        } else {
            held - held / self.resident().max(1) as u64
        };
    }
}

impl EvictionPolicy for S3Fifo {
    fn name(&self) -> &'static str {
        "s3fifo"
    }

    fn set_capacity(&mut self, capacity: u64) {
        self.capacity = capacity;
        self.effective = capacity;
        self.trim_ghosts();
    }

    fn on_insert(&mut self, slot: u32, hash: u64, weight: u64) {
        let i = slot as usize;
        if i >= self.entries.len() {
            self.entries
                .resize((i + 1).max(self.entries.len() * 2), Entry::default());
        }
        let weight = stored_weight(weight);
        let in_main = self.ghost.remove(hash).is_some();
        self.entries[i] = Entry {
            hash,
            weight,
            freq: 0,
            in_main,
        };
        if in_main {
            self.links.push_front(&mut self.main, slot);
            self.main_weight += u64::from(weight);
        } else {
            self.links.push_front(&mut self.small, slot);
            self.small_weight += u64::from(weight);
        }
    }

    #[inline]
    fn on_access(&mut self, slot: u32, _hash: u64) {
        let e = &mut self.entries[slot as usize];
        e.freq = (e.freq + 1).min(3);
    }

    fn on_update(&mut self, slot: u32, hash: u64, _old_weight: u64, new_weight: u64) {
        let e = &mut self.entries[slot as usize];
        let old = u64::from(e.weight);
        e.weight = stored_weight(new_weight);
        let segment = if e.in_main {
            &mut self.main_weight
        } else {
            &mut self.small_weight
        };
        *segment = *segment - old + u64::from(e.weight);
        self.on_access(slot, hash);
    }

    fn on_remove(&mut self, slot: u32) {
        let e = self.entries[slot as usize];
        if e.in_main {
            self.links.unlink(&mut self.main, slot);
            self.main_weight -= u64::from(e.weight);
        } else {
            self.links.unlink(&mut self.small, slot);
            self.small_weight -= u64::from(e.weight);
        }
    }

    fn evict(&mut self) -> Option<u32> {
        self.follow_held_weight();
        let small_target = self.small_target();
        loop {
            if self.small_weight >= small_target || self.main.is_empty() {
                let t = self.links.pop_back(&mut self.small)?;
                let e = &mut self.entries[t as usize];
                self.small_weight -= u64::from(e.weight);
                if e.freq > 0 {
                    e.freq = 0;
                    e.in_main = true;
                    self.main_weight += u64::from(e.weight);
                    self.links.push_front(&mut self.main, t);
                } else {
                    let (hash, weight) = (e.hash, e.weight);
                    self.ghost.insert(G, hash, weight);
                    self.trim_ghosts();
                    return Some(t);
                }
            } else {
                let t = self.links.pop_back(&mut self.main)?;
                let e = &mut self.entries[t as usize];
                if e.freq > 0 {
                    e.freq -= 1;
                    self.links.push_front(&mut self.main, t);
                } else {
                    self.main_weight -= u64::from(e.weight);
                    return Some(t);
                }
            }
        }
    }

    fn clear(&mut self) {
        self.links.clear();
        self.small = ListHead::default();
        self.main = ListHead::default();
        self.entries.clear();
        self.small_weight = 0;
        self.main_weight = 0;
        self.effective = self.capacity;
        self.ghost.clear();
    }

    /// The frequency counter saturates at 3: a hit on a saturated slot changes nothing.
    #[inline]
    fn is_referenced(&self, slot: u32) -> bool {
        self.entries.get(slot as usize).is_some_and(|e| e.freq >= 3)
    }

    fn bytes_per_slot(&self) -> usize {
        // Links, per-slot state, and about one ghost per main entry.
        std::mem::size_of::<[u32; 2]>()
            + std::mem::size_of::<Entry>()
            + Ghosts::<1>::BYTES_PER_GHOST
    }
}

#[cfg(test)]
mod tests;

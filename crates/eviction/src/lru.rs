//! Least recently used.

use crate::list::{ListHead, SlotLinks};
use cache_traits::EvictionPolicy;

/// Least recently used: evicts the entry whose last access is oldest.
///
/// The classic policy (Mattson et al., "Evaluation techniques for storage hierarchies", 1970).
/// A hit moves the slot to the head of one intrusive list; the victim is the tail.
/// Strong on recency-biased workloads, it collapses on loops larger than the cache and lets a
/// one-time scan flush the hot set.
///
/// # Examples
///
/// ```
/// use cache_traits::EvictionPolicy;
/// use eviction::Lru;
///
/// let mut lru = Lru::new();
/// for slot in 0..3 { lru.on_insert(slot, slot as u64, 1); }
/// lru.on_access(0, 0);
/// assert_eq!(lru.evict(), Some(1));
/// assert_eq!(lru.evict(), Some(2));
/// assert_eq!(lru.evict(), Some(0));
/// ```
#[derive(Debug, Default)]
pub struct Lru {
    links: SlotLinks,
    list: ListHead,
}

impl Lru {
    /// An empty LRU.
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::EvictionPolicy;
    ///
    /// let mut policy = eviction::Lru::new();
    /// assert_eq!(policy.evict(), None);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl EvictionPolicy for Lru {
    fn name(&self) -> &'static str {
        "lru"
    }

    fn set_capacity(&mut self, _capacity: u64) {}

    #[inline]
    fn on_insert(&mut self, slot: u32, _hash: u64, _weight: u64) {
        self.links.push_front(&mut self.list, slot);
    }

    #[inline]
    fn on_access(&mut self, slot: u32, _hash: u64) {
        self.links.move_to_front(&mut self.list, slot);
    }

    #[inline]
    fn on_remove(&mut self, slot: u32) {
        self.links.unlink(&mut self.list, slot);
    }

    #[inline]
    fn evict(&mut self) -> Option<u32> {
        self.links.pop_back(&mut self.list)
    }

    fn clear(&mut self) {
        self.links.clear();
        self.list = ListHead::default();
    }

    fn bytes_per_slot(&self) -> usize {
        std::mem::size_of::<[u32; 2]>()
    }
}

#[cfg(test)]
mod tests;

//! SIEVE: a FIFO queue with a visited bit and a hand that sweeps from old to new.

use crate::list::{ListHead, SlotLinks};
use cache_traits::EvictionPolicy;

/// SIEVE (Zhang, Yang, Yue, Vigfusson, Rashmi, "SIEVE is Simpler than LRU: an Efficient
/// Turn-Key Eviction Algorithm for Web Caches", NSDI '24).
///
/// New entries go to the head of one FIFO queue with their visited bit clear; a hit only sets
/// the bit (no list move, so hits are cheap). To evict, a hand starting at the tail moves
/// towards the head, clearing visited bits, and evicts the first unvisited entry; the hand stays
/// there for the next eviction and wraps from the head back to the tail. Unlike CLOCK, survivors
/// are not moved to the head, so new entries are quickly filtered ("lazy promotion, quick
/// demotion"). Weights do not change the order; the cache evicts until its budget holds.
///
/// # Examples
///
/// ```
/// use cache_traits::EvictionPolicy;
/// use eviction::Sieve;
///
/// let mut sieve = Sieve::new();
/// for slot in 0..3 { sieve.on_insert(slot, slot as u64, 1); }
/// sieve.on_access(0, 0); // the oldest entry was visited: the hand skips it
/// assert_eq!(sieve.evict(), Some(1));
/// assert_eq!(sieve.evict(), Some(2));
/// assert_eq!(sieve.evict(), Some(0));
/// ```
#[derive(Debug, Default)]
pub struct Sieve {
    links: SlotLinks,
    queue: ListHead,
    visited: Vec<bool>,
    /// Next slot the hand examines; `None` means "start at the tail".
    hand: Option<u32>,
}

impl Sieve {
    /// An empty SIEVE.
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::EvictionPolicy;
    ///
    /// let mut policy = eviction::Sieve::new();
    /// assert_eq!(policy.evict(), None);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl EvictionPolicy for Sieve {
    fn name(&self) -> &'static str {
        "sieve"
    }

    fn set_capacity(&mut self, _capacity: u64) {}

    fn on_insert(&mut self, slot: u32, _hash: u64, _weight: u64) {
        let i = slot as usize;
        if i >= self.visited.len() {
            self.visited
                .resize((i + 1).max(self.visited.len() * 2), false);
        }
        self.visited[i] = false;
        self.links.push_front(&mut self.queue, slot);
    }

    #[inline]
    fn on_access(&mut self, slot: u32, _hash: u64) {
        if let Some(v) = self.visited.get_mut(slot as usize) {
            *v = true;
        }
    }

    fn on_remove(&mut self, slot: u32) {
        if self.hand == Some(slot) {
            self.hand = self.links.toward_head(slot);
        }
        self.links.unlink(&mut self.queue, slot);
    }

    fn evict(&mut self) -> Option<u32> {
        let mut hand = self.hand.or_else(|| self.queue.tail())?;
        loop {
            let v = &mut self.visited[hand as usize];
            if *v {
                *v = false;
                hand = match self.links.toward_head(hand) {
                    Some(h) => h,
                    None => self.queue.tail()?,
                };
            } else {
                self.hand = self.links.toward_head(hand);
                self.links.unlink(&mut self.queue, hand);
                return Some(hand);
            }
        }
    }

    fn clear(&mut self) {
        self.links.clear();
        self.queue = ListHead::default();
        self.visited.clear();
        self.hand = None;
    }

    /// A visited slot stays visited until the hand passes it: another hit changes nothing.
    #[inline]
    fn is_referenced(&self, slot: u32) -> bool {
        self.visited.get(slot as usize).copied().unwrap_or(false)
    }

    fn bytes_per_slot(&self) -> usize {
        std::mem::size_of::<[u32; 2]>() + std::mem::size_of::<bool>()
    }
}

#[cfg(test)]
mod tests;

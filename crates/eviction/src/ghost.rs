//! FIFOs of the key hashes of evicted entries ("ghosts"), with their weights, sharing one map.

use std::collections::VecDeque;

use crate::hash::MixMap;

/// One FIFO of ghost records.
#[derive(Debug, Default)]
struct List {
    /// `(hash, weight)` records, oldest at the front; stale ones (their hash was removed or
    /// re-inserted since) are skipped when they come up, and dropped in bulk by `compact`.
    queue: VecDeque<(u64, u32)>,
    /// Sequence number of the front record: record `i` has number `front + i`.
    front: u64,
    /// Live ghosts and their total weight.
    len: usize,
    weight: u64,
}

/// Remembers the hashes of recently evicted entries in `L` FIFO lists, oldest first.
///
/// A hash is in at most one list. Ghosts leave in insertion order
/// ([`pop_oldest`](Self::pop_oldest)) or by hash ([`remove`](Self::remove), a "ghost hit").
/// Removal by hash is lazy: the list keeps a stale record, skipped when it comes up. A list
/// holding more than twice as many records as live ghosts (plus 64), or whose queue is full
/// with a fifth of its records stale, drops its stale ones, so a queue's room stays within
/// about two and a half times its live ghosts. The owner bounds the ghosts, by weight and by
/// count; the map and the queues give back their room when their ghosts shrink to a quarter
/// of it.
///
/// Weights are 32-bit (policies saturate theirs there), so the sums cannot overflow for the
/// at most `2^32` ghosts of a policy that keeps no more ghosts than slots.
#[derive(Debug)]
pub(crate) struct Ghosts<const L: usize> {
    lists: [List; L],
    /// Live ghosts: hash → `sequence number × L + list`.
    members: MixMap<u64, u64>,
}

impl<const L: usize> Default for Ghosts<L> {
    fn default() -> Self {
        Ghosts {
            lists: std::array::from_fn(|_| List::default()),
            members: MixMap::default(),
        }
    }
}

impl<const L: usize> Ghosts<L> {
    /// Bytes of state per live ghost, roughly: its 16-byte record and 17-byte map entry, with
    /// the slack of the queue (up to two and a half records per ghost) and of the map (whose
    /// removals leave tombstones, so that under churn it settles at 2 to 4 buckets per ghost).
    pub(crate) const BYTES_PER_GHOST: usize = 64;

    /// Total weight of the live ghosts of `list`.
    pub(crate) fn weight(&self, list: usize) -> u64 {
        self.lists[list].weight
    }

    /// Number of live ghosts of `list`.
    pub(crate) fn len(&self, list: usize) -> usize {
        self.lists[list].len
    }

    /// Number of live ghosts in all lists.
    pub(crate) fn total_len(&self) -> usize {
        self.members.len()
    }

    /// Remembers `hash` as the newest ghost of `list` (forgetting it wherever it was).
    pub(crate) fn insert(&mut self, list: usize, hash: u64, weight: u32) {
        self.remove(hash);
        let l = &self.lists[list];
        // A full queue with a fifth of its records stale drops them rather than grow.
        if l.queue.len() == l.queue.capacity() && l.queue.len() >= l.len + l.len / 4 + 64 {
            self.compact(list);
        }
        let l = &mut self.lists[list];
        let seq = l.front + l.queue.len() as u64;
        l.queue.push_back((hash, weight));
        l.len += 1;
        l.weight += u64::from(weight);
        self.members.insert(hash, seq * L as u64 + list as u64);
        if self.lists[list].queue.len() > 2 * self.lists[list].len + 64 {
            self.compact(list);
        }
    }

    /// Forgets `hash`; returns its list and weight if it was a live ghost.
    pub(crate) fn remove(&mut self, hash: u64) -> Option<(usize, u32)> {
        let code = self.members.remove(&hash)?;
        let list = (code % L as u64) as usize;
        let l = &mut self.lists[list];
        let index = (code / L as u64 - l.front) as usize;
        let weight = l.queue.get(index).map_or(0, |&(_, w)| w);
        l.len -= 1;
        l.weight -= u64::from(weight);
        Some((list, weight))
    }

    /// Drops the oldest live ghost of `list`; returns its hash and weight.
    pub(crate) fn pop_oldest(&mut self, list: usize) -> Option<(u64, u32)> {
        loop {
            let l = &mut self.lists[list];
            let (hash, weight) = l.queue.pop_front()?;
            let seq = l.front;
            l.front += 1;
            if self.members.get(&hash) == Some(&(seq * L as u64 + list as u64)) {
                self.members.remove(&hash);
                l.len -= 1;
                l.weight -= u64::from(weight);
                if l.queue.capacity() > 4 * l.len + 64 {
                    self.compact(list);
                }
                self.shrink_if_sparse();
                return Some((hash, weight));
            }
        }
    }

    /// Drops the stale records of `list`, renumbering the live ones.
    #[cold]
    fn compact(&mut self, list: usize) {
        let l = &mut self.lists[list];
        let members = &mut self.members;
        let mut seq = l.front;
        let mut kept = l.front;
        l.queue.retain(|&(hash, _)| {
            let old = seq * L as u64 + list as u64;
            seq += 1;
            match members.get_mut(&hash) {
                Some(code) if *code == old => {
                    *code = kept * L as u64 + list as u64;
                    kept += 1;
                    true
                }
                _ => false,
            }
        });
        if l.queue.capacity() > 4 * l.queue.len() + 64 {
            l.queue.shrink_to(2 * l.queue.len() + 64);
        }
    }

    /// Gives back the map's room once the ghosts fill less than a quarter of it.
    #[inline]
    fn shrink_if_sparse(&mut self) {
        if self.members.capacity() > 4 * self.members.len() + 64 {
            self.shrink();
        }
    }

    #[cold]
    fn shrink(&mut self) {
        self.members.shrink_to(2 * self.members.len() + 64);
    }

    /// Forgets every ghost and gives back their room.
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests;

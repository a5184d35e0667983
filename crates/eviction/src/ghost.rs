//! A FIFO of key hashes of evicted entries ("ghosts"), with their weights, bounded by weight.

use std::collections::VecDeque;

use crate::hash::MixMap;

/// Remembers the hashes of recently evicted entries, oldest first, up to a total weight.
///
/// Entries leave in insertion order ([`pop_oldest`](Self::pop_oldest), or automatically when
/// [`insert`](Self::insert) goes over the capacity) or by hash ([`remove`](Self::remove), a
/// "ghost hit"). Removal by hash is lazy: the queue keeps a stale record, skipped later.
#[derive(Debug, Default)]
pub(crate) struct Ghost {
    /// `(hash, weight, sequence number)`, oldest at the front.
    queue: VecDeque<(u64, u64, u64)>,
    /// Live members: hash → (sequence number of its record, weight).
    members: MixMap<u64, (u64, u64)>,
    weight: u64,
    capacity: u64,
    seq: u64,
}

impl Ghost {
    /// Sets the weight bound used by [`insert`](Self::insert) (`u64::MAX`: unbounded).
    pub(crate) fn set_capacity(&mut self, capacity: u64) {
        self.capacity = capacity;
        while self.weight > self.capacity {
            if self.pop_oldest().is_none() {
                break;
            }
        }
    }

    /// Total weight of the live ghosts.
    pub(crate) fn weight(&self) -> u64 {
        self.weight
    }

    /// Remembers `hash` as the newest ghost, then drops the oldest while over capacity.
    pub(crate) fn insert(&mut self, hash: u64, weight: u64) {
        self.remove(hash);
        self.seq += 1;
        self.queue.push_back((hash, weight, self.seq));
        self.members.insert(hash, (self.seq, weight));
        self.weight += weight;
        while self.weight > self.capacity {
            if self.pop_oldest().is_none() {
                break;
            }
        }
        if self.queue.len() > 2 * self.members.len() + 64 {
            let members = &self.members;
            self.queue
                .retain(|(h, _, s)| members.get(h).is_some_and(|&(live, _)| live == *s));
        }
    }

    /// Forgets `hash`; returns its weight if it was a live ghost.
    pub(crate) fn remove(&mut self, hash: u64) -> Option<u64> {
        let (_, weight) = self.members.remove(&hash)?;
        self.weight -= weight;
        Some(weight)
    }

    /// Drops the oldest live ghost; returns its hash and weight.
    pub(crate) fn pop_oldest(&mut self) -> Option<(u64, u64)> {
        while let Some((hash, weight, seq)) = self.queue.pop_front() {
            if self
                .members
                .get(&hash)
                .is_some_and(|&(live, _)| live == seq)
            {
                self.members.remove(&hash);
                self.weight -= weight;
                return Some((hash, weight));
            }
        }
        None
    }

    /// Forgets every ghost (the capacity stays).
    pub(crate) fn clear(&mut self) {
        self.queue.clear();
        self.members.clear();
        self.weight = 0;
    }

    /// Bytes of state per ghost, roughly (queue record plus map entry).
    pub(crate) const BYTES_PER_GHOST: usize = 24 + 24;
}

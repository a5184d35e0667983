//! Insertion ghosts: "how many insertions ago was this key last inserted?", in O(1), lossy.

use crate::hash::mix64;

/// Bits of an entry holding the insertion count (modulo `2^POS_BITS`); the rest is a tag.
const POS_BITS: u32 = 20;
const POS_MASK: u32 = (1 << POS_BITS) - 1;
/// Smallest table, in entries.
const MIN_ENTRIES: usize = 64;

/// A direct-mapped table of `(tag, insertion count)` in one `u32` per entry, recorded for
/// each key when it is inserted. On a later miss of the same key, the number of insertions
/// since tells how large a FIFO of insertions (the window) would have had to be to still hold
/// it. Entries are overwritten by colliding keys (the table is lossy, an eighth to a quarter
/// of an entry per tracked slot, half a byte to a byte) and tags are 12 bits (a rare false match): it steers, it
/// does not decide.
#[derive(Debug, Default)]
pub(crate) struct InsertGhosts {
    table: Vec<u32>,
    mask: usize,
    clock: u32,
}

impl InsertGhosts {
    /// Makes room for about `entries` tracked slots: a power of two at most a quarter of them (at
    /// least [`MIN_ENTRIES`]); grows by doubling, keeping every record.
    pub(crate) fn reserve_for(&mut self, entries: usize) {
        if self.table.is_empty() {
            self.table = vec![0; MIN_ENTRIES];
            self.mask = MIN_ENTRIES - 1;
        }
        while self.table.len() * 8 <= entries {
            // An index gains one high bit: each record is valid in both halves.
            let mut table = Vec::with_capacity(self.table.len() * 2);
            table.extend_from_slice(&self.table);
            table.extend_from_slice(&self.table);
            self.table = table;
            self.mask = self.table.len() - 1;
        }
    }

    /// The inverse of the chance that a record survives `distance` later insertions (each
    /// lands on it with probability `1 / len`), `e^(distance / len)`: multiply a signal by it
    /// to undo the table's losses. A fourth-order series (within 6 % up to the owner's cap
    /// of 8), so the insert path calls no `exp`.
    #[inline]
    pub(crate) fn inverse_survival(&self, distance: u32) -> f64 {
        let x = f64::from(distance) / self.table.len().max(1) as f64;
        1.0 + x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x / 24.0)))
    }

    /// Forgets every record, keeping the table.
    pub(crate) fn clear(&mut self) {
        self.table.iter_mut().for_each(|e| *e = 0);
        self.clock = 0;
    }

    #[inline]
    fn index_and_tag(&self, hash: u64) -> (usize, u32) {
        let h = mix64(hash ^ 0x5851_f42d_4c95_7f2d);
        // Tag 0 is reserved for "empty".
        ((h as usize) & self.mask, ((h >> 52) as u32).max(1))
    }

    /// Insertions since `hash` was last recorded, if it is still remembered; then records it
    /// as inserted now.
    #[inline]
    pub(crate) fn reinsert(&mut self, hash: u64) -> Option<u32> {
        if self.table.is_empty() {
            return None;
        }
        let (i, tag) = self.index_and_tag(hash);
        let entry = self.table[i];
        let distance =
            (entry >> POS_BITS == tag).then(|| self.clock.wrapping_sub(entry) & POS_MASK);
        self.table[i] = tag << POS_BITS | (self.clock & POS_MASK);
        self.clock = self.clock.wrapping_add(1);
        distance
    }
}

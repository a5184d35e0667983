//! A shadow queue: "was this key among the last `Δ` weight to leave a region?", in O(1), lossy.

use crate::hash::mix64;

/// Bits of an entry that hold the position; then one bit of kind; the rest hold a fingerprint.
const POS_BITS: u32 = 43;
const POS_MASK: u64 = (1 << POS_BITS) - 1;
const KIND_BIT: u64 = 1 << POS_BITS;
const TAG_SHIFT: u32 = POS_BITS + 1;

/// Remembers the keys that most recently left a region, up to a total weight `Δ`.
///
/// A FIFO of ghosts is implied rather than stored: each departure advances a cursor by its weight
/// and records `(fingerprint, cursor)` in a direct-mapped table, and a key is a member while the
/// cursor has moved less than `Δ` since. Collisions overwrite (a missed signal) and fingerprints
/// can collide (a rare false one): fine for steering, and the cost is one cache line per
/// operation with no allocation after sizing. This is the ghost layout the S3-FIFO authors
/// suggest (a fingerprint and an eviction timestamp in a hash table).
#[derive(Debug, Default)]
pub(crate) struct Shadow {
    table: Vec<u64>,
    mask: usize,
    cursor: u64,
    span: u64,
}

impl Shadow {
    /// A shadow of weight `span` sized for about `entries` members.
    pub(crate) fn new(span: u64, entries: usize) -> Shadow {
        let len = (entries.max(16) * 4).next_power_of_two();
        Shadow {
            table: vec![0; len],
            mask: len - 1,
            cursor: 0,
            span: span.max(1),
        }
    }

    #[inline]
    fn index_and_tag(&self, hash: u64) -> (usize, u64) {
        let h = mix64(hash ^ 0x5851_f42d_4c95_7f2d);
        // Tag 0 is reserved for "empty".
        let tag = (h >> TAG_SHIFT).max(1);
        ((h as usize) & self.mask, tag)
    }

    /// Records that `hash` (of `weight`) just left the region, with one bit of `kind`.
    #[inline]
    pub(crate) fn push(&mut self, hash: u64, weight: u64, kind: bool) {
        if self.table.is_empty() {
            return;
        }
        self.cursor = (self.cursor + weight) & POS_MASK;
        let (i, tag) = self.index_and_tag(hash);
        self.table[i] = tag << TAG_SHIFT | if kind { KIND_BIT } else { 0 } | self.cursor;
    }

    /// If `hash` left within the last `Δ` of weight, forgets it and returns its kind.
    #[inline]
    pub(crate) fn take(&mut self, hash: u64) -> Option<bool> {
        if self.table.is_empty() {
            return None;
        }
        let (i, tag) = self.index_and_tag(hash);
        let entry = self.table[i];
        if entry >> TAG_SHIFT != tag {
            return None;
        }
        self.table[i] = 0;
        let age = self.cursor.wrapping_sub(entry & POS_MASK) & POS_MASK;
        (age < self.span).then_some(entry & KIND_BIT != 0)
    }
}

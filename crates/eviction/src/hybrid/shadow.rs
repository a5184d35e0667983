//! Shadow queues: "was this key among the last `Δ` weight to leave a region?", in O(1), lossy.

use crate::hash::mix64;

/// Bits of an entry that hold the position; then a kind bit, a region bit, and a fingerprint.
const POS_BITS: u32 = 42;
const POS_MASK: u64 = (1 << POS_BITS) - 1;
const KIND_BIT: u64 = 1 << POS_BITS;
const REGION_BIT: u64 = 1 << (POS_BITS + 1);
const TAG_SHIFT: u32 = POS_BITS + 2;

/// The two regions a key can leave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// The window.
    Window,
    /// The main region.
    Main,
}

/// Remembers, for each region, the keys that most recently left it, up to a weight `Δ`.
///
/// A FIFO of ghosts per region is implied rather than stored: each departure advances that
/// region's cursor by its weight and records `(fingerprint, region, kind, cursor)` in one
/// direct-mapped table; a key is a member while its region's cursor has moved less than `Δ`
/// since. Collisions overwrite (a lost signal, equally likely for both regions) and fingerprints
/// can collide (a rare false one): fine for steering. Every operation touches one cache line and
/// never allocates. This is the ghost layout the S3-FIFO authors suggest (a fingerprint and an
/// eviction timestamp in a hash table).
#[derive(Debug, Default)]
pub(crate) struct Shadows {
    table: Vec<u64>,
    mask: usize,
    cursors: [u64; 2],
    span: u64,
}

impl Shadows {
    /// Shadows of weight `span` each, sized for about `entries` members in all.
    pub(crate) fn new(span: u64, entries: usize) -> Shadows {
        let len = entries.max(64).next_power_of_two();
        Shadows {
            table: vec![0; len],
            mask: len - 1,
            cursors: [0; 2],
            span: span.clamp(1, POS_MASK),
        }
    }

    /// Entries the table holds.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Changes `Δ`; members stay, judged against the new span. (Positions wrap at 2^42: a
    /// larger span would keep every member forever.)
    pub(crate) fn set_span(&mut self, span: u64) {
        self.span = span.clamp(1, POS_MASK);
    }

    #[inline]
    fn index_and_tag(&self, hash: u64) -> (usize, u64) {
        let h = mix64(hash ^ 0x5851_f42d_4c95_7f2d);
        // Tag 0 is reserved for "empty".
        let tag = (h >> TAG_SHIFT).max(1);
        ((h as usize) & self.mask, tag)
    }

    /// Records that `hash` (of `weight`) just left `side`, with one bit of `kind`.
    #[inline]
    pub(crate) fn push(&mut self, side: Side, hash: u64, weight: u64, kind: bool) {
        if self.table.is_empty() {
            return;
        }
        let cursor = &mut self.cursors[side as usize];
        *cursor = (*cursor + weight) & POS_MASK;
        let pos = *cursor;
        let (i, tag) = self.index_and_tag(hash);
        let region = if side == Side::Main { REGION_BIT } else { 0 };
        let kind = if kind { KIND_BIT } else { 0 };
        self.table[i] = tag << TAG_SHIFT | region | kind | pos;
    }

    /// If `hash` left a region within its last `Δ` of weight, forgets it and returns the
    /// region and the kind it was pushed with.
    #[inline]
    pub(crate) fn take(&mut self, hash: u64) -> Option<(Side, bool)> {
        if self.table.is_empty() {
            return None;
        }
        let (i, tag) = self.index_and_tag(hash);
        let entry = self.table[i];
        if entry >> TAG_SHIFT != tag {
            return None;
        }
        self.table[i] = 0;
        let side = if entry & REGION_BIT != 0 {
            Side::Main
        } else {
            Side::Window
        };
        let age = self.cursors[side as usize].wrapping_sub(entry & POS_MASK) & POS_MASK;
        (age < self.span).then_some((side, entry & KIND_BIT != 0))
    }
}

//! A growable count-min sketch of 4-bit counters that halves periodically (TinyLFU's estimate).

use crate::hash::mix64;

/// Seed that decorrelates the sketch's index from the caller's table hash.
const SEED: u64 = 0x97cb_3127_c5bd_6d95;
/// Smallest table, in 64-bit words (512 bytes).
const MIN_WORDS: usize = 512;
/// Halving period, in increments per tracked entry (TinyLFU's sample of ten times the size).
const SAMPLE_PER_ENTRY: u64 = 10;

/// Approximate recent access counts (0..=15) of key hashes.
///
/// Counters are packed sixteen to a `u64`; each key's four counters sit in one 64-byte block of
/// eight words, so an increment or an estimate touches one cache line. The table holds about
/// half a word (two to four bytes) per tracked entry and doubles as the owner tracks more:
/// doubling copies every block into both halves, so each key keeps its counts (a key's block
/// index gains one high bit, and both candidates start with the old block's counters).
#[derive(Debug, Default)]
pub(crate) struct Sketch {
    table: Vec<u64>,
    /// Number of blocks minus one (blocks are a power of two).
    block_mask: usize,
    additions: u64,
    sample: u64,
    /// Halvings so far (the owner ages per-slot copies of the counts by it).
    halvings: u32,
}

impl Sketch {
    /// Halvings so far.
    #[inline]
    pub(crate) fn halvings(&self) -> u32 {
        self.halvings
    }

    /// Makes room for `entries` tracked entries: at most four bytes each, at least
    /// [`MIN_WORDS`] words; grows (never shrinks) by doubling, keeping every count.
    pub(crate) fn reserve_for(&mut self, entries: usize) {
        self.sample = SAMPLE_PER_ENTRY * entries.max(MIN_WORDS) as u64;
        if self.table.is_empty() {
            self.table = vec![0; MIN_WORDS];
            self.block_mask = MIN_WORDS / 8 - 1;
        }
        while self.table.len() * 4 <= entries {
            let old = self.table.len();
            let mut table = Vec::with_capacity(old * 2);
            table.extend_from_slice(&self.table);
            table.extend_from_slice(&self.table);
            self.table = table;
            self.block_mask = self.table.len() / 8 - 1;
        }
    }

    /// Forgets every count, keeping the table.
    pub(crate) fn clear(&mut self) {
        self.table.iter_mut().for_each(|w| *w = 0);
        self.additions = 0;
    }

    #[inline]
    fn locate(&self, hash: u64) -> (usize, u64) {
        let h = mix64(hash ^ SEED);
        (((h >> 40) as usize & self.block_mask) * 8, h)
    }

    /// Word (within the block) and shift of counter `i`, chosen by eight bits of the hash.
    #[inline]
    fn cell(bits: u64, i: usize) -> (usize, u32) {
        let byte = (bits >> (i * 8)) as u32;
        (2 * i + (byte & 1) as usize, ((byte >> 1) & 15) * 4)
    }

    /// Counts one access of `hash` and returns its new estimate; halves every counter when the
    /// sample is full.
    #[inline]
    pub(crate) fn increment(&mut self, hash: u64) -> u8 {
        let (start, bits) = self.locate(hash);
        let Some(block) = self.table.get_mut(start..start + 8) else {
            return 0;
        };
        let mut min = 15;
        for i in 0..4 {
            let (w, s) = Self::cell(bits, i);
            let c = (block[w] >> s) & 15;
            if c < 15 {
                block[w] += 1 << s;
            }
            min = min.min((c + 1).min(15));
        }
        self.additions += 1;
        if self.additions >= self.sample {
            self.halve();
            min >>= 1;
        }
        min as u8
    }

    fn halve(&mut self) {
        for word in &mut self.table {
            *word = (*word >> 1) & 0x7777_7777_7777_7777;
        }
        self.additions /= 2;
        self.halvings = self.halvings.wrapping_add(1);
    }
}

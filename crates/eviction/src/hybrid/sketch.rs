//! A count-min sketch of 4-bit counters with periodic halving: TinyLFU's frequency estimate.

use crate::hash::mix64;

/// Seeds of the four hash functions (odd 64-bit constants).
const SEEDS: [u64; 4] = [
    0x97cb_3127_c5bd_6d95,
    0xc2b2_ae3d_27d4_eb4f,
    0x1656_67b1_9e37_79f9,
    0x8ebc_6af0_9c88_c6e3,
];

/// Approximate access counts of recently seen key hashes, up to 15, that halve every
/// `sample` increments so old popularity fades (Einziger, Friedman, Manes, "TinyLFU: A Highly
/// Efficient Cache Admission Policy", ACM ToS 2017).
///
/// Counters are packed sixteen to a `u64`; each key's four counters sit in one 64-byte block so
/// an estimate touches one cache line. Every update increments all four counters (a
/// "conservative" update that only grows the smallest did markedly worse on loop traces: counts
/// then lag, and halving erases the difference between resident and candidate).
#[derive(Debug, Default)]
pub(crate) struct Sketch {
    table: Vec<u64>,
    /// `table.len() / 8 - 1`: selects a block of 8 words.
    block_mask: usize,
    additions: u64,
    sample: u64,
}

impl Sketch {
    /// A sketch sized for about `entries` distinct hot keys (at least 64).
    pub(crate) fn new(entries: usize) -> Sketch {
        let words = entries.max(64).next_power_of_two();
        Sketch {
            table: vec![0; words],
            block_mask: words / 8 - 1,
            additions: 0,
            sample: 10 * words as u64,
        }
    }

    /// Number of keys the sketch was sized for.
    pub(crate) fn width(&self) -> usize {
        self.table.len()
    }

    /// The word and shift of each of the four counters of `hash`.
    #[inline]
    fn cells(&self, hash: u64) -> [(usize, u32); 4] {
        let h = mix64(hash ^ SEEDS[0]);
        let block = ((h as usize) & self.block_mask) * 8;
        let mut cells = [(0, 0); 4];
        let mut bits = h >> 32;
        for (i, cell) in cells.iter_mut().enumerate() {
            // Two words per hash function inside the block, any of their 16 nibbles.
            let word = block + 2 * i + (bits & 1) as usize;
            let nibble = ((bits >> 1) & 15) as u32;
            *cell = (word, nibble * 4);
            bits = bits.rotate_right(5) ^ SEEDS[i].wrapping_shr(i as u32 * 7);
        }
        cells
    }

    /// Estimated count of `hash` (0..=15).
    #[inline]
    pub(crate) fn frequency(&self, hash: u64) -> u8 {
        if self.table.is_empty() {
            return 0;
        }
        self.cells(hash)
            .iter()
            .map(|&(w, s)| ((self.table[w] >> s) & 15) as u8)
            .min()
            .unwrap_or(0)
    }

    /// Counts one access of `hash`; halves every counter when the sample is full.
    #[inline]
    pub(crate) fn increment(&mut self, hash: u64) {
        if self.table.is_empty() {
            return;
        }
        let cells = self.cells(hash);
        let mut min = 15u64;
        for &(w, s) in &cells {
            min = min.min((self.table[w] >> s) & 15);
        }
        if min == 15 {
            return;
        }
        for &(w, s) in &cells {
            if (self.table[w] >> s) & 15 < 15 {
                self.table[w] += 1 << s;
            }
        }
        self.additions += 1;
        if self.additions >= self.sample {
            self.halve();
        }
    }

    /// Halves every counter: popularity fades with age.
    pub(crate) fn halve(&mut self) {
        for word in &mut self.table {
            *word = (*word >> 1) & 0x7777_7777_7777_7777;
        }
        self.additions /= 2;
    }
}

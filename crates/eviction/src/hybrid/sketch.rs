//! A count-min sketch of 4-bit counters with periodic halving: TinyLFU's frequency estimate.

use crate::hash::mix64;

/// Seed that decorrelates the sketch's hash from the caller's table hash.
const SEEDS: [u64; 1] = [0x97cb_3127_c5bd_6d95];

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

    /// The block of `hash` (its first word) and the bits that pick its four counters.
    #[inline]
    fn locate(&self, hash: u64) -> (usize, u64) {
        let h = mix64(hash ^ SEEDS[0]);
        (((h >> 40) as usize & self.block_mask) * 8, h)
    }

    /// Word (within the block) and shift of counter `i`: two words per hash function, any of
    /// their sixteen nibbles, chosen by eight bits of the hash.
    #[inline]
    fn cell(bits: u64, i: usize) -> (usize, u32) {
        let byte = (bits >> (i * 8)) as u32;
        (2 * i + (byte & 1) as usize, ((byte >> 1) & 15) * 4)
    }

    /// Sets the halving period to `scale × width` increments.
    pub(crate) fn set_sample_scale(&mut self, scale: f64) {
        self.sample = ((self.table.len() as f64 * scale) as u64).max(1);
    }

    /// Estimated count of `hash` (0..=15).
    #[inline]
    pub(crate) fn frequency(&self, hash: u64) -> u8 {
        let (start, bits) = self.locate(hash);
        let Some(block) = self.table.get(start..start + 8) else {
            return 0;
        };
        let mut min = 15;
        for i in 0..4 {
            let (w, s) = Self::cell(bits, i);
            min = min.min((block[w] >> s) & 15);
        }
        min as u8
    }

    /// Counts one access of `hash`; halves every counter when the sample is full.
    #[inline]
    pub(crate) fn increment(&mut self, hash: u64) {
        let (start, bits) = self.locate(hash);
        let Some(block) = self.table.get_mut(start..start + 8) else {
            return;
        };
        let mut added = false;
        for i in 0..4 {
            let (w, s) = Self::cell(bits, i);
            if (block[w] >> s) & 15 < 15 {
                block[w] += 1 << s;
                added = true;
            }
        }
        if added {
            self.additions += 1;
            if self.additions >= self.sample {
                self.halve();
            }
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

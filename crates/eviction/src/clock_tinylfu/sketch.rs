//! A growable count-min sketch of 4-bit counters that halves periodically (TinyLFU's estimate).

use crate::hash::mix64;

/// Seed that decorrelates the sketch's index from the caller's table hash.
const SEED: u64 = 0x97cb_3127_c5bd_6d95;
/// Smallest table, in 64-bit words (512 bytes).
const MIN_WORDS: usize = 512;
/// Counters per key.
const DEPTH: usize = 4;
/// Table size per tracked entry, in quarter bytes (4 bytes: 8 counters).
const QUARTER_BYTES_PER_ENTRY: usize = 16;
/// Halving period, in increments per tracked entry (TinyLFU's sample of ten times the size).
const SAMPLE_PER_ENTRY: u64 = 10;

/// Approximate recent access counts (0..=15) of key hashes.
///
/// Counters are packed sixteen to a `u64`; each key's four counters sit in one 64-byte block of
/// eight words, so an increment or an estimate touches one cache line. The table holds
/// 3.2 to 4 bytes per tracked entry, growing as the owner tracks more.
/// A key's block is its hash's high half scaled to the number of blocks (monotone in the
/// hash), so growing copies each new block from the old block that covered the same hashes and
/// keeps almost every count. Updates are conservative (only the counters at the key's minimum
/// grow), which keeps a small table accurate: at this size, incrementing all four counters
/// loses up to two points of hit ratio on large-universe traces (P3).
#[derive(Debug, Default)]
pub(crate) struct Sketch {
    table: Vec<u64>,
    blocks: u64,
    /// Entries the table was sized for.
    sized_for: usize,
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

    /// Makes room for `entries` tracked entries: [`QUARTER_BYTES_PER_ENTRY`] quarter bytes each, at least
    /// [`MIN_WORDS`] words; grows (never shrinks) once the owner tracks a quarter more, so it keeps
    /// 3.2 to 4 bytes per entry.
    pub(crate) fn reserve_for(&mut self, entries: usize) {
        self.sample = SAMPLE_PER_ENTRY * entries.max(MIN_WORDS) as u64;
        if entries <= self.sized_for + self.sized_for / 4 && !self.table.is_empty() {
            return;
        }
        let words = (entries * QUARTER_BYTES_PER_ENTRY / 32)
            .max(MIN_WORDS)
            .next_multiple_of(8);
        let blocks = (words / 8) as u64;
        let mut table = vec![0u64; words];
        if self.blocks > 0 {
            for (j, block) in table.chunks_exact_mut(8).enumerate() {
                let old = (j as u64 * self.blocks / blocks) as usize * 8;
                block.copy_from_slice(&self.table[old..old + 8]);
            }
        }
        self.table = table;
        self.blocks = blocks;
        self.sized_for = entries;
    }

    /// Forgets every count, keeping the table.
    pub(crate) fn clear(&mut self) {
        self.table.iter_mut().for_each(|w| *w = 0);
        self.halvings = 0;
        self.additions = 0;
    }

    #[inline]
    fn locate(&self, hash: u64) -> (usize, u64) {
        let h = mix64(hash ^ SEED);
        ((((h >> 32) * self.blocks) >> 32) as usize * 8, h)
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
        let cells: [(usize, u32); DEPTH] = std::array::from_fn(|i| Self::cell(bits, i));
        let counts: [u64; DEPTH] = std::array::from_fn(|i| (block[cells[i].0] >> cells[i].1) & 15);
        let mut min = counts.iter().copied().min().unwrap_or(15);
        // Conservative update: only the counters at the minimum grow (the others already
        // overcount this key because of collisions).
        if min < 15 {
            for (&(w, s), &c) in cells.iter().zip(&counts) {
                if c == min {
                    block[w] += 1 << s;
                }
            }
            min += 1;
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

//! A growable count-min sketch of 4-bit counters that halves periodically (TinyLFU's estimate),
//! with insertion ghosts in the same cache lines.

use crate::hash::mix64;

/// Seed that decorrelates the sketch's index from the caller's table hash.
const SEED: u64 = 0x97cb_3127_c5bd_6d95;
/// Smallest table, in 64-bit words (4 KiB).
const MIN_WORDS: usize = 512;
/// The table's size is the largest of these tiers, each `(words per entry, up to words)`, and
/// of [`QUARTER_BYTES_PER_ENTRY`] for any size: a small cache gets 4 words (48 counters) per
/// entry up to 32 KiB, a mid-sized one 2 words (24 counters) per entry up to 256 KiB, then
/// the table stays at 256 KiB until the base rate of 4 bytes per entry passes it (at about
/// 64,000 entries). The aging sample is sized for as many entries as the first tier's words.
///
/// Why smaller caches get more: collision noise per counter depends on how many distinct keys
/// a sample period brings, which for a cache much smaller than its key universe is about the
/// period itself, so at a fixed size per entry it does not shrink with the cache. The signal
/// does: the keys at the admission boundary of a small cache are seen less often per period
/// (under Zipf(s), about `C^(1 - s)` times for a cache of `C` entries). A smaller cache
/// therefore needs more counters per entry to tell its boundary keys from noise; a large one
/// keeps the base rate, which the memory target of 48 bytes per entry at a million entries
/// leaves room for.
///
/// Measured with `cargo run --release -p eviction --example synthetic` (a million requests
/// over 100,000 keys), default minus the best classic policy. The first tier, before → after:
/// at 1,000 entries Zipf 0.6 −4.5 → −0.1, Zipf 0.8 −4.0 → +0.7, Zipf 0.9 with scans −3.2 →
/// +0.5, 1 MB byte-weighted −2.7 → −0.6. The second tier, together with a main-tail weight of
/// 0.5 instead of 0.4 (a better sketch makes admission stricter, which the old weight let the
/// window answer by growing past its best size): at 10,000 entries Zipf 0.6 −2.05 → −1.44,
/// Zipf 0.8 −1.46 → −0.99, Zipf 1.0 −1.00 → −0.74, Zipf 0.9 with scans −1.62 → −0.37; Zipf 0.8
/// over a million keys (a row added since) −0.37, where a like stream was 2.9 below before. On
/// the suite every row stays within a point of the best
/// published value. Other settings measured: a flat 32 KiB floor cost multi2 at 284 entries
/// 3.0 points; 8 words per entry cost P3 at 152508 1.6; a second tier up to 512 KiB cost Zipf
/// 0.6 at 50,000 entries 0.4 more. The policy reports what the tiers add beyond the 4 bytes
/// per entry it charges as its `extra_bytes` (at most 28 bytes per entry in shards under about
/// 8,000 entries, 12 in shards under 64,000), which a byte-budgeted cache counts against its
/// budget.
const TIERS: [(usize, usize); 2] = [(4, 4096), (2, 32768)];
/// Words per block (one 64-byte cache line).
const BLOCK_WORDS: usize = 8;
/// Counter words per block (sixteen counters each); the rest of the block holds ghost records.
const COUNTER_WORDS: usize = 6;
/// Ghost records per block.
const GHOSTS: usize = 4;
/// Counters per key.
const DEPTH: usize = 4;
/// Table size per tracked entry, in quarter bytes (4 bytes).
const QUARTER_BYTES_PER_ENTRY: usize = 16;
/// Halving period, in increments per tracked entry (TinyLFU's sample of ten times the size).
const SAMPLE_PER_ENTRY: u64 = 10;
/// Bits of a ghost record holding the insertion count (modulo `2^POS_BITS`); the rest is a tag.
const POS_BITS: u32 = 20;
const POS_MASK: u32 = (1 << POS_BITS) - 1;
/// A key's block, one cache line: six words of counters and four ghost records.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(64))]
struct Block {
    counters: [u64; COUNTER_WORDS],
    ghosts: [u32; GHOSTS],
}
/// What [`Sketch::insert`] returns as the ghost distance when there is none.
pub(crate) const NO_GHOST: u32 = u32::MAX;
/// Halving mask for the counter words: each nibble shifted right by one.
const HALVE_MASK: u64 = 0x7777_7777_7777_7777;

/// Approximate recent access counts (0..=15) of key hashes, and how many insertions ago each
/// key was last inserted (its *insertion ghost*).
///
/// Counters are packed sixteen to a `u64`. A key owns one 64-byte block: six words of
/// counters, which hold its four (see `increment_block`), and four ghost records of 32 bits,
/// one of which is the key's. So everything an insertion reads and writes is one cache line,
/// which [`prefetch`](Self::prefetch) can fetch ahead.
///
/// The table holds 3.2 to 4 bytes per tracked entry beyond about 64,000 entries (more in a
/// smaller cache, see [`TIERS`]), growing as the owner tracks more. A key's
/// block is its hash's high half scaled to the number of blocks (monotone in the hash), so
/// growing copies each new block from the old block that covered the same hashes and keeps
/// almost every count and ghost. Updates are conservative (only the counters at the key's
/// minimum grow), which keeps a small table accurate: at this size, incrementing all four
/// counters loses up to two points of hit ratio on large-universe traces (P3).
///
/// A ghost record is `(12-bit tag, insertion count)`. On a later insertion of the same key the
/// number of insertions since tells how large a FIFO of insertions (the window) would have had
/// to be to still hold it. Records are overwritten by colliding keys (four per block: a quarter
/// of a record per tracked entry) and tags are 12 bits (a rare false match): they steer the
/// window, they do not decide anything about a key.
#[derive(Debug, Default)]
pub(crate) struct Sketch {
    table: Vec<Block>,
    blocks: u64,
    /// Entries the table was sized for.
    sized_for: usize,
    additions: u64,
    sample: u64,
    /// Halvings so far (the owner ages per-slot copies of the counts by it).
    halvings: u32,
    /// Insertions recorded so far (modulo 2^32), the ghosts' clock.
    insertions: u32,
}

impl Sketch {
    /// Bytes of the table.
    #[inline]
    pub(crate) fn bytes(&self) -> u64 {
        self.blocks * size_of::<Block>() as u64
    }

    /// Halvings so far.
    #[inline]
    pub(crate) fn halvings(&self) -> u32 {
        self.halvings
    }

    /// Makes room for `entries` tracked entries: [`QUARTER_BYTES_PER_ENTRY`] quarter bytes each
    /// (more for a smaller cache: [`TIERS`]), at least [`MIN_WORDS`] words; grows
    /// (never shrinks) once the owner tracks a quarter more, so a large cache keeps 3.2 to 4
    /// bytes per entry.
    pub(crate) fn reserve_for(&mut self, entries: usize) {
        let [small, mid] = TIERS.map(|(per_entry, max)| (entries * per_entry).min(max));
        self.sample = SAMPLE_PER_ENTRY * entries.max(small).max(MIN_WORDS) as u64;
        if entries <= self.sized_for + self.sized_for / 4 && !self.table.is_empty() {
            return;
        }
        let words = (entries * QUARTER_BYTES_PER_ENTRY / 32)
            .max(small)
            .max(mid)
            .max(MIN_WORDS)
            .next_multiple_of(BLOCK_WORDS);
        let blocks = (words / BLOCK_WORDS) as u64;
        let mut table = vec![Block::default(); blocks as usize];
        if self.blocks > 0 {
            for (j, block) in table.iter_mut().enumerate() {
                *block = self.table[(j as u64 * self.blocks / blocks) as usize];
            }
        }
        self.table = table;
        self.blocks = blocks;
        self.sized_for = entries;
    }

    /// Forgets every count and ghost, keeping the table.
    pub(crate) fn clear(&mut self) {
        self.table.iter_mut().for_each(|b| *b = Block::default());
        self.halvings = 0;
        self.additions = 0;
        self.insertions = 0;
    }

    /// The key's block and its mixed hash.
    #[inline]
    fn locate(&self, hash: u64) -> (usize, u64) {
        let h = mix64(hash ^ SEED);
        ((((h >> 32) * self.blocks) >> 32) as usize, h)
    }

    /// Asks the CPU to fetch `hash`'s block, which [`insert`](Self::insert) will touch.
    #[inline]
    pub(crate) fn prefetch(&self, hash: u64) {
        let (block, _) = self.locate(hash);
        if let Some(block) = self.table.get(block) {
            crate::hash::prefetch(block);
        }
    }

    /// Counts an insertion of `hash` and returns its new estimate; with `ghost`, also returns
    /// how many insertions ago the key was last inserted, if its ghost record survived, and
    /// records it as inserted now. Halves every counter when the sample is full.
    #[inline]
    pub(crate) fn insert(&mut self, hash: u64, ghost: bool) -> (u8, u32) {
        let (block, h) = self.locate(hash);
        let Some(block) = self.table.get_mut(block) else {
            return (0, NO_GHOST);
        };
        let f = Self::increment_block(&mut block.counters, h);
        let distance = if ghost {
            // Bits 5 and 6 of the low byte (the cells use bits 0..=4 of each byte) pick the
            // record; the tag is the low 12 bits of the high half (the block takes its top bits).
            let record = &mut block.ghosts[((h >> 5) & 3) as usize];
            let tag = (((h >> 32) as u32) & 0xfff).max(1);
            let since = self.insertions.wrapping_sub(*record) & POS_MASK;
            // A select, not a branch: the record was just read from a line that is likely
            // still arriving, and a branch on it would hold everything after it until then.
            let distance = if *record >> POS_BITS == tag {
                since
            } else {
                NO_GHOST
            };
            *record = tag << POS_BITS | (self.insertions & POS_MASK);
            self.insertions = self.insertions.wrapping_add(1);
            distance
        } else {
            NO_GHOST
        };
        (self.count_addition(f), distance)
    }

    /// Conservative update of the four counters of a key in `block`; returns the new minimum.
    ///
    /// Counter `i` takes the nibble that bits `8i + 1 ..= 8i + 4` of `bits` choose, in word
    /// `bit 8i` (0 or 1) for counter 0, `2 + bit 8` (2 or 3) for counter 1, and words 4 and 5
    /// for counters 2 and 3: four distinct words, so each grows at most once.
    ///
    /// Branch-free: the block is usually a cache miss, and branches on its counters (which
    /// ones are at the minimum) are unpredictable, so each mispredicted one would stall the
    /// insert until the line arrived instead of letting the work after it proceed.
    #[inline]
    fn increment_block(block: &mut [u64; COUNTER_WORDS], bits: u64) -> u8 {
        let words = [(bits & 1) as usize, 2 + ((bits >> 8) & 1) as usize, 4, 5];
        let shifts: [u64; DEPTH] = std::array::from_fn(|i| ((bits >> (8 * i + 1)) & 15) * 4);
        let counts: [u64; DEPTH] = std::array::from_fn(|i| (block[words[i]] >> shifts[i]) & 15);
        let min = counts[0].min(counts[1]).min(counts[2].min(counts[3]));
        // Conservative update: only the counters at the minimum grow (the others already
        // overcount this key because of collisions); a saturated minimum (15) grows none.
        let grow = u64::from(min < 15);
        for i in 0..DEPTH {
            block[words[i]] += (u64::from(counts[i] == min) & grow) << shifts[i];
        }
        (min + grow) as u8
    }

    /// Counts one access without touching the table (a resident entry's hit, counted in its
    /// slot); halves every counter when the sample is full.
    #[inline]
    pub(crate) fn tick(&mut self) {
        self.count_addition(0);
    }

    /// Counts one addition; returns `estimate`, halved if the counters were just halved.
    #[inline]
    fn count_addition(&mut self, estimate: u8) -> u8 {
        self.additions += 1;
        if self.additions >= self.sample {
            self.halve();
            return estimate >> 1;
        }
        estimate
    }

    /// The number of ghost records, which a record survives `len` later insertions of other
    /// keys with probability about `1/e`.
    #[inline]
    pub(crate) fn ghost_records(&self) -> usize {
        GHOSTS * self.blocks as usize
    }

    #[cold]
    fn halve(&mut self) {
        for block in &mut self.table {
            for word in &mut block.counters {
                *word = (*word >> 1) & HALVE_MASK;
            }
        }
        self.additions /= 2;
        self.halvings = self.halvings.wrapping_add(1);
    }
}

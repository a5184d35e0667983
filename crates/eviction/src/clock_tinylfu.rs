//! CLOCK-TinyLFU: W-TinyLFU's window, main area and frequency filter, with a hand instead of lists.

use cache_traits::EvictionPolicy;
use std::collections::VecDeque;

mod sketch;

use sketch::{NO_GHOST, Sketch};

/// Per-slot state: one byte. The low two bits count the hits recorded since the hand last
/// passed (0..=2); at 2 a hit changes nothing.
const HITS: u8 = 0b11;
/// Hits recorded per pass of the hand; later ones change nothing.
const MAX_HITS: u8 = 2;
/// Two bits of where the slot is.
const STATE: u8 = 0b11 << 2;
/// No live entry, and no id in the window ring.
const FREE: u8 = 0;
/// No live entry, but the id still sits in the window ring (the entry was removed there); the
/// ring drops it when it comes up, or a reinserted entry takes that place.
const FREE_QUEUED: u8 = 1 << 2;
/// A live entry in the window (its id is in the window ring exactly once).
const WINDOW: u8 = 2 << 2;
/// A live entry in main (no ring: main's order is the slot order the hand sweeps).
const MAIN: u8 = 3 << 2;
/// Four bits of frequency: the sketch's estimate at the last recorded hit, halved with it.
const FREQ_SHIFT: u32 = 4;
const FREQ_MASK: u8 = 0xf << FREQ_SHIFT;

/// Smallest window share of the capacity.
const MIN_WINDOW: f64 = 0.01;
/// Largest window share (main keeps some room, so its tail signal can shrink the window again).
const MAX_WINDOW: f64 = 0.9;
/// Initial window share (W-TinyLFU's 1 %).
const INITIAL_WINDOW: f64 = 0.01;
/// `Δ`: how far beyond the window its ghosts look, as a share of the capacity.
const GHOST_SHARE: f64 = 0.25;
/// Gain of the window controller: a signal of weight `w` about a margin of weight `Δ` (the
/// window's ghost span, or main's last quarter) moves the boundary by `GAIN × w × (C / 4) / Δ`
/// for a capacity `C`: four times its weight when `Δ` is a quarter of the capacity.
const GAIN: f64 = 4.0;
/// Weight of main's tail hits against the window's ghost hits. A tail hit measures what main
/// would lose if smaller; what it would gain if larger (its victims coming back) is not
/// measured, and is small because TinyLFU picks main's victims by frequency. Main's marginal
/// value is taken as the mean of the two one-sided estimates, the second taken as zero.
/// Measured over the suite and the synthetic streams: 0.4 let the window grow past its best
/// size on Zipf streams once the sketch had enough counters (a stricter admission sends more
/// candidates back, which the window's ghosts count); 0.6 brings scarab-recs to 0.95 points
/// below the best published value; 0.8 and above cost scarab-recs more than a point and the
/// OLTP rows up to 0.6.
const MAIN_TAIL_WEIGHT: f64 = 0.5;
/// Largest correction of a ghost hit for the ghosts' losses.
const MAX_BOOST: f64 = 8.0;
/// A candidate displaces main's victim only if its count is higher by more than this. The
/// victim's count was stored at its last hit, so it lacks its own next access (a victim is an
/// entry the hand found unreferenced) and the collision noise the candidate's fresh estimate
/// includes: without the margin, loops churn (cs: 25 % instead of 34 %).
const ADMISSION_MARGIN: u8 = 1;

/// The boundary moves once per period of `live entries / PERIOD_DIVISOR` evictions (at least
/// [`MIN_PERIOD`]), by the sum of the period's signals, so moves that cancel within a period
/// never happen.
const PERIOD_DIVISOR: usize = 32;
const MIN_PERIOD: usize = 16;

/// Sketch bytes charged per tracked slot in [`bytes_per_slot`](EvictionPolicy::bytes_per_slot);
/// the rest of the sketch is [`extra_bytes`](EvictionPolicy::extra_bytes).
const SKETCH_BYTES_PER_SLOT: u64 = 4;

/// Growth of the ring and the per-slot vectors: a sixteenth more, so slack stays small.
const GROWTH_DIVISOR: usize = 16;

/// Weight and number of live entries of a region.
#[derive(Clone, Copy, Debug, Default)]
struct Region {
    weight: u64,
    live: usize,
}

/// W-TinyLFU with CLOCK orderings: a hit bumps a counter in one byte, order is fixed lazily at
/// eviction time.
///
/// The structure is W-TinyLFU (Einziger, Friedman and Manes, ACM ToS 2017): new entries enter
/// a **window**; an entry leaving the window is a *candidate* for the **main** area, admitted
/// only if its frequency beats that of main's victim, so a scan of cold keys cannot flush the
/// hot set and a loop larger than the cache keeps a fixed part of it. Frequencies are 4-bit
/// counts halved every ten accesses per tracked entry: a resident entry keeps its own in its
/// slot's byte, and a count-min sketch remembers those of keys not resident. An insertion
/// increments the key's counters in the sketch and starts the slot from the estimate; a hit
/// increments the slot's count only.
///
/// Neither region keeps an LRU list. The window is a FIFO ring of slot ids; main is the slot
/// array itself, swept by a CLOCK hand, as page frames are (a cache reuses the slot it just
/// freed, so an entry that lands in main usually sits just behind the hand, the newest
/// position; one whose slot lies less than a quarter sweep ahead gets one pass of grace).
/// This is the "lazy promotion" of CLOCK, SIEVE and S3-FIFO (Yang et al., "FIFO queues are all
/// you need for cache eviction", HotOS '23): each of the first two hits since the hand last
/// passed bumps a two-bit count and the frequency in the slot's byte (that byte only: no
/// list move, no sketch); later hits write nothing, and
/// [`is_referenced`](EvictionPolicy::is_referenced) says so, so the cache skips them. At
/// eviction, an entry under a hand with hits loses them and survives another pass (second
/// chance). Frequencies thus count hits per pass, at most two: enough to tell hot from
/// cold, and on a busy cache almost every hit on a hot entry is free.
///
/// So the only memory an insertion touches at random is one 64-byte block of the sketch,
/// which holds the key's counters and its insertion ghost (below), and which the cache
/// prefetches ([`prefetch_insert`](EvictionPolicy::prefetch_insert)) before its own table
/// work. Keeping resident counts out of the sketch (instead of counting every hit there, as
/// TinyLFU does) changes the suite's hit ratios by less than 0.5 points either way, and keeps
/// the sketch out of the hit path.
///
/// **The window adapts** to the local gradient of the hit ratio between the two regions, the
/// principle of Cliffhanger (Cidon et al., NSDI '16), of ARC's ghost lists and of Caffeine's
/// hill climber (Einziger et al., "Adaptive Software Cache Management", Middleware 2018), from
/// two cheap signals that see only misses and recorded hits, so the cache and the simulator
/// adapt alike:
///
/// - *Window ghosts.* Each insertion records `(tag, insertion count)` in a lossy table spread
///   over the sketch's blocks (four records per block, in the key's block).
///   A miss on a key inserted recently enough that a window `Δ` larger (a FIFO of insertions,
///   `Δ` = 25 % of the capacity) would still hold it is a hit the window would gain: the
///   boundary moves towards main, corrected for the table's losses.
/// - *Main's least frequent quarter.* A recorded hit on a main entry whose frequency is among
///   the lowest quarter of main (by weight, from a 16-bin histogram kept up to date) is a hit
///   main would lose if a quarter smaller, since TinyLFU's main gives up its least frequent
///   entries first. It moves the boundary towards the window, at a weight of 0.5 (see
///   `MAIN_TAIL_WEIGHT`). This signal used to be positional (hits within a quarter sweep
///   ahead of the hand), which depends on how fast the hand moves: on a Zipf stream, where
///   candidates mostly lose admission, the hand barely moved, the entries ahead of it had
///   long used up their recorded hits, main seemed to lose nothing, and the window drifted to
///   22-30 % where 1 % is best. With the frequency tail it stays at 1-4 %.
///
/// Both are normalised per unit of margin weight, so the split settles where one more byte
/// buys as many hits in either region. Loops and stationary skew send no window signal and
/// the window stays near its 1 % floor; recency-heavy streams grow it towards LRU (up to 90 %).
/// The boundary moves once per period (a thirty-second of the live entries in evictions) by
/// the net of the period's signals: moves that would cancel never happen, and each real move
/// costs entries changing region (main evicting without the admission test when the window
/// grows), which on the `peers` bench's Zipf stream cost the cache about half a point of hit
/// ratio when the boundary moved on every signal.
///
/// Memory per tracked slot: one byte of state, four bytes of ring per window entry, 3.2 to 4
/// bytes of sketch beyond about 64,000 entries (ghosts included; 16 bytes below 16,000
/// entries, 32 below 1,000), grown with the number of entries tracked (never with the
/// capacity, which is bytes in a cache); a slot's weight is stored (four bytes) only once
/// weights differ. Weights are those the cache charges; the segments
/// are shares of the capacity in the same unit. A cache that evicts within its weight
/// capacity (an entry-count bound, memory pressure) has its held weight, less one entry,
/// taken as the capacity.
///
/// Measured (`cargo xtask sim --suite`, policy `clock-tinylfu`): within one point of
/// the best published hit ratio on all 17 rows of the traces README (the closest is
/// scarab-recs, recency-heavy, 0.9 points short: its best window is 80 %, and its hit-ratio
/// curve is flat where the local gradient leaves the window).
///
/// # Examples
///
/// ```
/// use cache_traits::EvictionPolicy;
/// use eviction::ClockTinyLfu;
///
/// let mut policy = ClockTinyLfu::new();
/// policy.set_capacity(100);
/// for slot in 0..101 { policy.on_insert(slot, u64::from(slot), 1); }
/// for _ in 0..3 { policy.on_access(7, 7); }
/// assert!(policy.is_referenced(7)); // a fourth hit would change nothing
/// assert!(policy.evict().is_some());
/// ```
#[derive(Debug)]
pub struct ClockTinyLfu {
    meta: Vec<u8>,
    /// Per-slot weights, empty while every weight seen equals `uniform`.
    weights: Vec<u32>,
    /// The weight of every slot while `weights` is empty.
    uniform: u32,
    /// Window slot ids, oldest at the front.
    ring: VecDeque<u32>,
    window: Region,
    main: Region,
    /// Main's CLOCK hand: the next slot it examines.
    hand: usize,
    /// Weight of main's tail hits not yet applied to the window boundary: below the cut
    /// frequency, and at it.
    tail_hits: u64,
    cut_hits: u64,
    /// Weight of main's entries by stored frequency.
    main_by_freq: [u64; 16],
    /// Main's tail, its least frequent quarter: the entries of frequency below `tail_cut`,
    /// and the share `cut_share` of those at `tail_cut`; `tail_weight` is a quarter of main.
    tail_cut: u8,
    cut_share: f64,
    tail_weight: u64,
    capacity: u64,
    /// The capacity the segments are shares of: `capacity`, or the weight held when the cache
    /// last evicted within it (it evicts for an entry-count bound or memory pressure too).
    effective: u64,
    window_share: f64,
    window_max: u64,
    main_max: u64,
    adaptive: bool,
    /// Frequencies and insertion ghosts.
    sketch: Sketch,
    n_live: usize,
    /// The sketch's halving count when the slots' counts were last aged.
    halvings_seen: u32,
    /// Most entries tracked at once (the sketch, ghosts included, is sized for it).
    max_live: usize,
    /// Main has been full since the last clear or capacity increase: from then on a candidate
    /// enters main only by beating its victim, even where the window boundary left room.
    main_filled: bool,
    /// Boundary move accumulated in the current period.
    pending_step: f64,
    /// The window's ghost hits of the period, in weight corrected for the ghosts' losses.
    ghost_weight: f64,
    /// The largest insertion distance that a window `Δ` larger would still hold, and the
    /// reciprocal of the number of ghost records; both refreshed once per period.
    ghost_span: u32,
    inv_records: f64,
    /// Evictions in the current period.
    period_evictions: usize,
    /// The last insertion's ghost distance ([`NO_GHOST`] if none) and weight, counted at the
    /// next insertion.
    pending_ghost: (u32, u64),
}

impl Default for ClockTinyLfu {
    fn default() -> Self {
        Self::new()
    }
}

/// Saturates a weight into 32 bits (every sum uses the same stored figure).
#[inline]
fn stored_weight(weight: u64) -> u32 {
    u32::try_from(weight).unwrap_or(u32::MAX)
}

/// The inverse of the chance that a ghost record survives `distance` later insertions among
/// `records` (each lands on it with probability `1 / records`), `e^x` for
/// `x = distance / records`: multiply a signal by it to undo the losses. A fourth-order series
/// (within 6 % up to the cap of 8), so the insert path calls no `exp`.
#[inline]
fn inverse_survival(x: f64) -> f64 {
    1.0 + x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x / 24.0)))
}

/// The frequency stored in `meta`.
#[inline]
fn freq(meta: u8) -> u8 {
    (meta & FREQ_MASK) >> FREQ_SHIFT
}

/// `meta` with frequency `f`.
#[inline]
fn with_freq(meta: u8, f: u8) -> u8 {
    (meta & !FREQ_MASK) | (f.min(15) << FREQ_SHIFT)
}

impl ClockTinyLfu {
    /// The default: a window of 1 % of the capacity that adapts.
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::EvictionPolicy;
    ///
    /// assert_eq!(eviction::ClockTinyLfu::new().name(), "clock-tinylfu");
    /// ```
    pub fn new() -> Self {
        ClockTinyLfu {
            meta: Vec::new(),
            weights: Vec::new(),
            uniform: 0,
            ring: VecDeque::new(),
            window: Region::default(),
            main: Region::default(),
            hand: 0,
            tail_hits: 0,
            main_by_freq: [0; 16],
            tail_cut: 0,
            cut_share: 1.0,
            tail_weight: 0,
            cut_hits: 0,
            capacity: 0,
            effective: 0,
            window_share: INITIAL_WINDOW,
            window_max: 0,
            main_max: 0,
            adaptive: true,
            sketch: Sketch::default(),
            n_live: 0,
            halvings_seen: 0,
            max_live: 0,
            main_filled: false,
            pending_step: 0.0,
            ghost_weight: 0.0,
            ghost_span: 0,
            inv_records: 0.0,
            period_evictions: 0,
            pending_ghost: (NO_GHOST, 0),
        }
    }

    /// A policy whose window stays at `share` of the capacity (clamped to `0.01..=0.9`).
    ///
    /// # Examples
    ///
    /// ```
    /// let p = eviction::ClockTinyLfu::with_static_window(0.2);
    /// assert_eq!(p.window_share(), 0.2);
    /// ```
    pub fn with_static_window(share: f64) -> Self {
        let mut p = Self::new();
        p.window_share = share.clamp(MIN_WINDOW, MAX_WINDOW);
        p.adaptive = false;
        p.resize_regions();
        p
    }

    /// Current window share of the capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(eviction::ClockTinyLfu::new().window_share(), 0.01);
    /// ```
    pub fn window_share(&self) -> f64 {
        self.window_share
    }

    fn resize_regions(&mut self) {
        let capacity = self.effective;
        self.window_max = ((capacity as f64 * self.window_share) as u64).min(capacity);
        self.main_max = capacity - self.window_max;
        self.refresh_ghost_span();
    }

    /// `Δ`, the weight by which the window's ghosts look beyond it.
    fn ghost_delta(&self) -> f64 {
        (self.effective as f64 * GHOST_SHARE).max(1.0)
    }

    /// Converts the window's span plus `Δ` from weight to insertions (at the current average
    /// weight), so a ghost hit is one integer comparison.
    fn refresh_ghost_span(&mut self) {
        let total = self.window.weight + self.main.weight;
        let average = (total as f64 / self.n_live.max(1) as f64).max(1.0);
        let span = (self.window_max as f64 + self.ghost_delta()) / average;
        self.ghost_span = span.min(f64::from(u32::MAX)) as u32;
        self.inv_records = 1.0 / self.sketch.ghost_records().max(1) as f64;
    }

    #[inline]
    fn weight_of(&self, slot: u32) -> u64 {
        match self.weights.get(slot as usize) {
            Some(&w) => u64::from(w),
            None => u64::from(self.uniform),
        }
    }

    /// Records `slot`'s weight, switching to per-slot weights when it differs from the rest.
    #[inline]
    fn set_weight(&mut self, slot: u32, weight: u32) {
        if self.weights.is_empty() {
            if self.n_live == 0 || self.uniform == weight {
                self.uniform = weight;
                return;
            }
            self.split_weights();
        }
        if let Some(w) = self.weights.get_mut(slot as usize) {
            *w = weight;
        }
    }

    /// Starts keeping a weight per slot (the first time two weights differ).
    #[cold]
    fn split_weights(&mut self) {
        let mut weights = Vec::new();
        weights.reserve_exact(self.meta.len());
        weights.resize(self.meta.len(), self.uniform);
        self.weights = weights;
    }

    /// Makes `slot` addressable, growing per-slot vectors by a sixteenth at a time.
    #[cold]
    #[inline(never)]
    fn grow_to(&mut self, slot: u32) {
        let i = slot as usize;
        if i < self.meta.len() {
            return;
        }
        let len = (i + 1).max(self.meta.len() + self.meta.len() / GROWTH_DIVISOR);
        self.meta.reserve_exact(len - self.meta.len());
        self.meta.resize(len, FREE);
        if !self.weights.is_empty() {
            self.weights.reserve_exact(len - self.weights.len());
            self.weights.resize(len, self.uniform);
        }
    }

    /// When the sketch has halved its counters, so do the slots' counts: one pass over a byte
    /// per slot every ten accesses per tracked entry, so that no count outlives the popularity
    /// it recorded.
    #[inline]
    fn age_with_sketch(&mut self) {
        if self.sketch.halvings() != self.halvings_seen {
            self.halvings_seen = self.sketch.halvings();
            self.age_slots();
        }
    }

    #[cold]
    fn age_slots(&mut self) {
        for m in &mut self.meta {
            *m = (*m & !FREQ_MASK) | ((*m >> 1) & FREQ_MASK);
        }
        self.main_by_freq = [0; 16];
        for slot in 0..self.meta.len() {
            let m = self.meta[slot];
            if m & STATE == MAIN {
                self.main_by_freq[usize::from(freq(m))] += self.weight_of(slot as u32);
            }
        }
        self.recompute_tail();
    }

    /// Finds main's least frequent quarter (by weight), whose hits are the tail signal.
    fn recompute_tail(&mut self) {
        debug_assert_eq!(self.main_by_freq.iter().sum::<u64>(), self.main.weight);
        let target = self.main.weight.div_ceil(4).max(1);
        let mut below = 0;
        self.tail_cut = 15;
        self.cut_share = 1.0;
        for (f, &w) in self.main_by_freq.iter().enumerate() {
            if below + w >= target {
                self.tail_cut = f as u8;
                self.cut_share = (target - below) as f64 / w as f64;
                break;
            }
            below += w;
        }
        self.tail_weight = target;
    }

    /// Queues `slot` at the head of the window ring.
    #[inline]
    fn queue(&mut self, slot: u32) {
        if self.ring.len() == self.ring.capacity() {
            self.grow_ring();
        }
        self.ring.push_back(slot);
    }

    #[cold]
    #[inline(never)]
    fn grow_ring(&mut self) {
        self.ring
            .reserve_exact(self.ring.len() / GROWTH_DIVISOR + 16);
    }

    /// The uncommon parts of an insertion: a slot beyond the per-slot vectors, more entries
    /// than ever tracked (the sketch grows), or a weight unlike the others.
    #[cold]
    #[inline(never)]
    fn insert_slow(&mut self, slot: u32, weight: u32) {
        self.grow_to(slot);
        self.set_weight(slot, weight);
        if self.n_live >= self.max_live {
            self.max_live = self.n_live + 1;
            self.sketch.reserve_for(self.max_live);
        }
    }

    /// Moves a window slot (already off the ring) into main.
    fn promote(&mut self, slot: u32) {
        let w = self.weight_of(slot);
        self.window.weight -= w;
        self.window.live -= 1;
        self.main.weight += w;
        self.main.live += 1;
        // The slot keeps its place in the sweep. If that place is about to come under the
        // hand (within a quarter sweep), the entry gets one pass of grace: it would have had
        // a whole sweep at the newest position.
        let (index, hand, len) = (slot as usize, self.hand, self.meta.len());
        let ahead = if index >= hand {
            index - hand
        } else {
            index + len - hand
        };
        let grace = u8::from(ahead < len / 4);
        let m = &mut self.meta[slot as usize];
        *m = (*m & !(STATE | HITS)) | MAIN | grace;
        let f = usize::from(freq(*m));
        self.main_by_freq[f] += w;
    }

    /// Forgets a live slot that is off the ring (window) or was chosen by the hand (main).
    fn forget(&mut self, slot: u32) {
        let m = self.meta[slot as usize];
        let w = self.weight_of(slot);
        let region = if m & STATE == MAIN {
            self.main_by_freq[usize::from(freq(m))] -= w;
            &mut self.main
        } else {
            &mut self.window
        };
        region.weight -= w;
        region.live -= 1;
        self.n_live -= 1;
        self.meta[slot as usize] = FREE;
    }

    /// Pops the window's oldest live entry without hits (those with hits lose them and go
    /// back to the head); `None` when the window holds nothing live.
    #[inline(always)]
    fn window_candidate(&mut self) -> Option<u32> {
        if self.window.live == 0 {
            return None;
        }
        loop {
            let slot = self.ring.pop_front()?;
            let m = self.meta[slot as usize];
            match m & STATE {
                WINDOW if m & HITS != 0 => {
                    self.meta[slot as usize] = m & !HITS;
                    self.queue(slot);
                }
                WINDOW => return Some(slot),
                FREE_QUEUED => self.meta[slot as usize] = FREE,
                _ => debug_assert!(false, "slot {slot} in the ring is {m:#x}"),
            }
        }
    }

    /// Moves main's hand to its next entry without hits, clearing the hits it passes; `None`
    /// when main holds nothing live.
    fn main_victim(&mut self) -> Option<u32> {
        if self.main.live == 0 {
            return None;
        }
        let len = self.meta.len();
        loop {
            if self.hand >= len {
                self.hand = 0;
            }
            let m = self.meta[self.hand];
            if m & STATE == MAIN {
                if m & HITS == 0 {
                    return Some(self.hand as u32);
                }
                self.meta[self.hand] = m & !HITS;
            }
            self.hand += 1;
        }
    }

    /// Adds `step` (a share of the capacity) to the boundary move applied at the end of the
    /// current period.
    #[inline]
    fn nudge(&mut self, step: f64) {
        self.pending_step += step;
    }

    /// Moves the window boundary by the steps of the period that ends, within its bounds.
    #[inline(never)]
    fn end_period(&mut self) {
        self.period_evictions = 0;
        self.recompute_tail();
        let ghosts = std::mem::take(&mut self.ghost_weight);
        if ghosts > 0.0 {
            self.nudge(GAIN * ghosts / (4.0 * self.ghost_delta()));
        }
        self.refresh_ghost_span();
        let share = (self.window_share + std::mem::take(&mut self.pending_step))
            .clamp(MIN_WINDOW, MAX_WINDOW);
        if share != self.window_share {
            self.window_share = share;
            self.resize_regions();
        }
    }

    /// A hit on main's `slot`, of frequency `f` before the hit: if it is in main's least
    /// frequent quarter, it is a hit main would lose if smaller.
    #[inline]
    fn main_tail_signal(&mut self, slot: u32, f: u8) {
        // Applied at the next eviction: no floating point on the hit path.
        if f < self.tail_cut {
            self.tail_hits += self.weight_of(slot);
        } else if f == self.tail_cut {
            self.cut_hits += self.weight_of(slot);
        }
    }

    /// Moves the boundary for main's tail hits since the last eviction.
    #[inline]
    fn apply_tail_hits(&mut self) {
        if self.tail_hits | self.cut_hits > 0 {
            self.apply_tail_hits_slow();
        }
    }

    #[inline(never)]
    fn apply_tail_hits_slow(&mut self) {
        let quarter = self.tail_weight.max(1) as f64;
        let weight = std::mem::take(&mut self.tail_hits) as f64
            + std::mem::take(&mut self.cut_hits) as f64 * self.cut_share;
        self.nudge(-GAIN * MAIN_TAIL_WEIGHT * weight / (4.0 * quarter));
    }

    /// Sizes the regions for a new effective capacity.
    #[cold]
    #[inline(never)]
    fn set_effective(&mut self, effective: u64) {
        self.effective = effective;
        self.resize_regions();
    }

    #[cold]
    #[inline(never)]
    fn shrink_ring(&mut self) {
        let len = self.ring.len();
        self.ring.shrink_to(len + len / GROWTH_DIVISOR + 16);
    }

    /// A miss of `weight` on a key inserted `distance` insertions ago: if a window `Δ` larger
    /// (a FIFO of insertions) would have held it, that is the window's marginal value.
    #[inline]
    fn window_ghost_hit(&mut self, distance: u32, weight: u64) {
        if distance <= self.ghost_span {
            // Undo the ghosts' losses (inverse-probability weighting, capped); the period's
            // end turns the sum into a boundary move.
            let boost = inverse_survival(f64::from(distance) * self.inv_records).min(MAX_BOOST);
            self.ghost_weight += boost * weight as f64;
        }
    }
}

impl EvictionPolicy for ClockTinyLfu {
    fn name(&self) -> &'static str {
        "clock-tinylfu"
    }

    fn set_capacity(&mut self, capacity: u64) {
        if capacity > self.capacity {
            self.main_filled = false;
        }
        self.capacity = capacity;
        self.effective = capacity;
        self.resize_regions();
    }

    fn on_insert(&mut self, slot: u32, hash: u64, weight: u64) {
        let stored = stored_weight(weight);
        let i = slot as usize;
        if i >= self.meta.len()
            || self.n_live >= self.max_live
            || !self.weights.is_empty()
            || self.uniform != stored
        {
            self.insert_slow(slot, stored);
        }
        self.n_live += 1;
        // The previous insertion's ghost: its record has long arrived, so the branch on it
        // no longer waits for a cache miss (this one's block is likely still on its way).
        let (distance, weight) = self.pending_ghost;
        if distance != NO_GHOST {
            self.window_ghost_hit(distance, weight);
        }
        let (f, ghost) = self.sketch.insert(hash, self.adaptive);
        self.pending_ghost = (ghost, u64::from(stored));
        self.age_with_sketch();
        let queued = self.meta[i] & STATE == FREE_QUEUED;
        self.meta[i] = with_freq(WINDOW, f);
        if !queued {
            // (A removed window entry's id still in the ring: the new entry takes its place.)
            self.queue(slot);
        }
        self.window.weight += u64::from(stored);
        self.window.live += 1;
    }

    #[inline(always)]
    fn on_access(&mut self, slot: u32, _hash: u64) {
        let Some(&m) = self.meta.get(slot as usize) else {
            return;
        };
        if m & STATE < WINDOW || m & HITS >= MAX_HITS {
            return;
        }
        // A resident entry counts its hits in its own byte: only the sketch's sample advances.
        self.sketch.tick();
        self.age_with_sketch();
        // Aging may have rewritten the byte: re-read it.
        let m = self.meta[slot as usize];
        let f = freq(m);
        if m & STATE == MAIN {
            if self.adaptive {
                self.main_tail_signal(slot, f);
            }
            if f < 15 {
                let w = self.weight_of(slot);
                self.main_by_freq[usize::from(f)] -= w;
                self.main_by_freq[usize::from(f) + 1] += w;
            }
        }
        self.meta[slot as usize] = with_freq(m + 1, f + 1);
    }

    fn on_update(&mut self, slot: u32, hash: u64, _old_weight: u64, new_weight: u64) {
        self.on_access(slot, hash);
        let Some(&m) = self.meta.get(slot as usize) else {
            return;
        };
        let old = self.weight_of(slot);
        let region = match m & STATE {
            WINDOW => &mut self.window,
            MAIN => &mut self.main,
            _ => return,
        };
        region.weight -= old;
        self.set_weight(slot, stored_weight(new_weight));
        let new = self.weight_of(slot);
        // (`on_access` above may have changed the frequency: re-read it.)
        let f = usize::from(freq(self.meta[slot as usize]));
        match m & STATE {
            WINDOW => self.window.weight += new,
            _ => {
                self.main.weight += new;
                self.main_by_freq[f] = self.main_by_freq[f] - old + new;
            }
        }
    }

    fn on_remove(&mut self, slot: u32) {
        let Some(&m) = self.meta.get(slot as usize) else {
            return;
        };
        let w = self.weight_of(slot);
        let (region, after) = match m & STATE {
            WINDOW => (&mut self.window, FREE_QUEUED),
            MAIN => {
                self.main_by_freq[usize::from(freq(m))] -= w;
                (&mut self.main, FREE)
            }
            _ => return,
        };
        region.weight -= w;
        region.live -= 1;
        self.n_live -= 1;
        self.meta[slot as usize] = after;
    }

    fn evict(&mut self) -> Option<u32> {
        // A cache also evicts within its weight capacity (an entry-count bound, memory
        // pressure): then it wants to hold about one entry less than it does, and that is
        // the capacity the segments are shares of (with the held weight itself, main would
        // always have room for the candidate, and admission would never be asked).
        self.apply_tail_hits();
        self.period_evictions += 1;
        if self.period_evictions >= (self.n_live / PERIOD_DIVISOR).max(MIN_PERIOD) {
            self.end_period();
        }
        let total = self.window.weight + self.main.weight;
        let effective = if total > self.capacity {
            self.capacity
        } else if self.weights.is_empty() {
            total.saturating_sub(u64::from(self.uniform))
        } else {
            total - total / self.n_live.max(1) as u64
        };
        if effective != self.effective {
            self.set_effective(effective);
        }
        // A ring that emptied (the window hands all but 1 % to main at the first eviction of
        // an entry-bounded cache) gives its room back: amortised, as it had to halve.
        if self.ring.capacity() > 2 * self.ring.len() + 64 {
            self.shrink_ring();
        }
        loop {
            if self.window.live > 0 && (self.window.weight > self.window_max || self.main.live == 0)
            {
                let candidate = self.window_candidate()?;
                let w = self.weight_of(candidate);
                let room = self.main.weight + w <= self.main_max;
                if room && !self.main_filled {
                    self.promote(candidate);
                    continue;
                }
                self.main_filled = true;
                let Some(victim) = self.main_victim() else {
                    if room {
                        self.promote(candidate);
                        continue;
                    }
                    self.forget(candidate);
                    return Some(candidate);
                };
                let (fc, fv) = (
                    freq(self.meta[candidate as usize]),
                    freq(self.meta[victim as usize]),
                );
                if room && fc > fv {
                    // Room the boundary gave main goes to candidates more frequent than what
                    // main would evict next, not to every candidate that leaves the window
                    // meanwhile. No margin: nothing is displaced.
                    self.promote(candidate);
                    continue;
                }
                if !room && fc > fv.saturating_add(ADMISSION_MARGIN) {
                    self.forget(victim);
                    self.hand += 1;
                    self.promote(candidate);
                    return Some(victim);
                }
                // The victim stays under the hand for the next candidate.
                self.forget(candidate);
                return Some(candidate);
            }
            if let Some(victim) = self.main_victim() {
                self.forget(victim);
                self.hand += 1;
                return Some(victim);
            }
            let victim = self.window_candidate()?;
            self.forget(victim);
            return Some(victim);
        }
    }

    fn clear(&mut self) {
        let capacity = self.capacity;
        let adaptive = self.adaptive;
        let share = if adaptive {
            INITIAL_WINDOW
        } else {
            self.window_share
        };
        let mut sketch = std::mem::take(&mut self.sketch);
        sketch.clear();
        *self = ClockTinyLfu::new();
        self.sketch = sketch;
        self.adaptive = adaptive;
        self.window_share = share;
        self.set_capacity(capacity);
    }

    #[inline]
    fn is_referenced(&self, slot: u32) -> bool {
        self.meta
            .get(slot as usize)
            .is_some_and(|&m| m & HITS >= MAX_HITS)
    }

    #[inline]
    fn prefetch_insert(&self, hash: u64) {
        self.sketch.prefetch(hash);
    }

    #[inline]
    fn next_victim_hint(&self) -> Option<u32> {
        self.ring.front().copied()
    }

    fn bytes_per_slot(&self) -> usize {
        // State (1) with growth slack, ring ids of window entries (4 × the window share: 1 at
        // a quarter), the sketch with its ghosts (at most 4), and a stored weight (4) once
        // weights differ.
        2 + 1 + SKETCH_BYTES_PER_SLOT as usize + 4
    }

    #[inline]
    fn extra_bytes(&self) -> u64 {
        // A smaller cache's sketch holds more than the per-slot charge (see `sketch::TIERS`).
        self.sketch
            .bytes()
            .saturating_sub(SKETCH_BYTES_PER_SLOT * self.n_live as u64)
    }
}

#[cfg(test)]
mod tests;

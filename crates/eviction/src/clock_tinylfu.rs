//! CLOCK-TinyLFU: W-TinyLFU's window, main area and frequency filter on FIFO rings with reference bits.

use cache_traits::EvictionPolicy;
use std::collections::VecDeque;

mod ghost;
mod sketch;

use ghost::InsertGhosts;
use sketch::Sketch;

/// Per-slot state bits (one `u16` per slot). The low two bits count the hits recorded since
/// the hand last passed (0..=3); at 3 a hit changes nothing.
const HITS: u16 = 0b11;
/// The slot belongs to main (else to the window).
const MAIN: u16 = 1 << 2;
/// The slot holds a live entry.
const LIVE: u16 = 1 << 3;
/// The slot id sits in its region's ring (a removed slot's id stays there until the hand
/// passes; a slot reinserted meanwhile takes that place rather than queueing twice).
const QUEUED: u16 = 1 << 4;
/// Four bits of frequency: the sketch's estimate at the last recorded hit.
const FREQ_SHIFT: u32 = 5;
const FREQ_MASK: u16 = 0xf << FREQ_SHIFT;
/// Three bits of the sketch's halving count when the frequency was stored (lazy aging: four
/// halvings take any count to zero, so three bits tell every age that matters).
const AGE_SHIFT: u32 = 9;
const AGE_MASK: u16 = 0x7 << AGE_SHIFT;
/// Three bits of the region's push epoch when the slot was last queued (its ring position).
const POS_SHIFT: u32 = 12;
const POS_MASK: u16 = 0x7 << POS_SHIFT;

/// Epochs per region: a region's ring spans about this many push epochs.
const EPOCHS: u64 = 8;
/// Slots at least this many epochs old are in the region's eviction end (its last quarter).
const TAIL_AGE: u64 = 6;

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
const MAIN_TAIL_WEIGHT: f64 = 0.5;
/// Largest correction of a ghost hit for the ghosts' losses.
const MAX_BOOST: f64 = 8.0;
/// A candidate displaces main's victim only if its count is higher by more than this. The
/// victim's count was stored at its last hit, so it lacks its own next access (a victim is an
/// entry the hand found unreferenced) and the collision noise the candidate's fresh estimate
/// includes: without the margin, loops churn (cs: 25 % instead of 34 %).
const ADMISSION_MARGIN: u8 = 1;

/// Growth of rings and per-slot vectors: a sixteenth more, so slack stays small.
const GROWTH_DIVISOR: usize = 16;

/// Window or main.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Window = 0,
    Main = 1,
}

/// One region: a FIFO ring of slot ids (tail at the front), its weight and push epochs.
#[derive(Debug, Default)]
struct Region {
    ring: VecDeque<u32>,
    weight: u64,
    live: usize,
    /// Weight pushed so far.
    cursor: u64,
    /// Push epoch, and the cursor at which the next one starts.
    epoch: u64,
    boundary: u64,
}

/// W-TinyLFU on CLOCK rings: a hit sets a bit, order is fixed lazily at eviction time.
///
/// The structure is W-TinyLFU (Einziger, Friedman and Manes, ACM ToS 2017): new entries enter
/// a **window**; an entry leaving the window is a *candidate* for the **main** area, admitted
/// only if its frequency estimate (a count-min sketch of 4-bit counters, halved every ten
/// times the number of tracked entries) beats that of main's victim, so a scan of cold keys
/// cannot flush the hot set and a loop larger than the cache keeps a fixed part of it.
///
/// Both regions are FIFO rings with a two-bit hit count per slot instead of LRU lists, the
/// "lazy promotion" of CLOCK, SIEVE and S3-FIFO (Yang et al., "FIFO queues are all you need
/// for cache eviction", HotOS '23): each of the first three hits since the hand last passed
/// bumps the count, increments the sketch and stores its new estimate beside the slot (the
/// slot's two bytes and one sketch cache line, no list move); later hits write nothing, and
/// [`is_referenced`](EvictionPolicy::is_referenced) says so, so the cache skips them. At
/// eviction, an entry at a ring's tail with hits loses them and goes back to the head (second
/// chance). The sketch thus counts hits per pass of the hand, at most three: enough to tell hot
/// from cold, and on a busy cache almost every hit on a hot entry is free.
///
/// **The window adapts** to the local gradient of the hit ratio between the two regions, the
/// principle of Cliffhanger (Cidon et al., NSDI '16), of ARC's ghost lists and of Caffeine's
/// hill climber (Einziger et al., "Adaptive Software Cache Management", Middleware 2018), from
/// two cheap signals that see only misses and recorded hits, so the cache and the simulator
/// adapt alike:
///
/// - *Window ghosts.* Each insertion records `(tag, insertion count)` in a small lossy table.
///   A miss on a key inserted recently enough that a window `Δ` larger (a FIFO of insertions,
///   `Δ` = 25 % of the capacity) would still hold it is a hit the window would gain: the
///   boundary moves towards main, corrected for the table's losses.
/// - *Main's eviction end.* Each slot remembers which of eight push epochs of its region it
///   was queued in, so a hit can tell whether it landed in main's last quarter: a hit main
///   would lose if smaller, which moves the boundary towards the window, at half weight (see
///   `MAIN_TAIL_WEIGHT`).
///
/// Both are normalised per unit of margin weight, so the split settles where one more byte
/// buys as many hits in either region. Loops and stationary skew send no window signal and
/// the window stays near its 1 % floor; recency-heavy streams grow it towards LRU (up to 90 %).
///
/// Memory: two bytes of state and four of ring per slot, grown by a sixteenth at a time; the
/// sketch keeps about three bytes per tracked entry and the ghosts half to one, both grown with the
/// number of entries tracked (never with the capacity, which is bytes in a cache); a slot's
/// weight is stored (four bytes) only once weights differ. Weights are those the cache
/// charges; the segments are shares of the capacity in the same unit. A cache that evicts
/// within its weight capacity (an entry-count bound, memory pressure) has its held weight
/// taken as the capacity.
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
    meta: Vec<u16>,
    /// Per-slot weights, empty while every weight seen equals `uniform`.
    weights: Vec<u32>,
    /// The weight of every slot while `weights` is empty (0 until the first insert).
    uniform: u32,
    regions: [Region; 2],
    capacity: u64,
    /// The capacity the segments are shares of: `capacity`, or the weight held when the cache
    /// last evicted within it (it evicts for an entry-count bound or memory pressure too).
    effective: u64,
    window_share: f64,
    window_max: u64,
    main_max: u64,
    adaptive: bool,
    sketch: Sketch,
    ghosts: InsertGhosts,
    n_live: usize,
    /// Most entries tracked at once (the sketch is sized for it).
    max_live: usize,
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
            regions: [Region::default(), Region::default()],
            capacity: 0,
            effective: 0,
            window_share: INITIAL_WINDOW,
            window_max: 0,
            main_max: 0,
            adaptive: true,
            sketch: Sketch::default(),
            ghosts: InsertGhosts::default(),
            n_live: 0,
            max_live: 0,
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
    }

    #[inline]
    fn weight_of(&self, slot: u32) -> u64 {
        match self.weights.get(slot as usize) {
            Some(&w) => u64::from(w),
            None => u64::from(self.uniform),
        }
    }

    /// Records `slot`'s weight, switching to per-slot weights when it differs from the rest.
    fn set_weight(&mut self, slot: u32, weight: u32) {
        if self.weights.is_empty() {
            if self.n_live == 0 || self.uniform == weight {
                self.uniform = weight;
                return;
            }
            let mut weights = Vec::new();
            weights.reserve_exact(self.meta.len());
            weights.resize(self.meta.len(), self.uniform);
            self.weights = weights;
        }
        if let Some(w) = self.weights.get_mut(slot as usize) {
            *w = weight;
        }
    }

    /// Makes `slot` addressable, growing per-slot vectors by an eighth at a time.
    fn grow_to(&mut self, slot: u32) {
        let i = slot as usize;
        if i < self.meta.len() {
            return;
        }
        let len = (i + 1).max(self.meta.len() + self.meta.len() / GROWTH_DIVISOR);
        self.meta.reserve_exact(len - self.meta.len());
        self.meta.resize(len, 0);
        if !self.weights.is_empty() {
            self.weights.reserve_exact(len - self.weights.len());
            self.weights.resize(len, self.uniform);
        }
    }

    /// The frequency stored in `meta`, aged by the halvings since it was stored.
    #[inline]
    fn freq(&self, meta: u16) -> u8 {
        let f = ((meta & FREQ_MASK) >> FREQ_SHIFT) as u8;
        let stored = u32::from((meta & AGE_MASK) >> AGE_SHIFT);
        let age = self.sketch.halvings().wrapping_sub(stored) & 7;
        f.checked_shr(age).unwrap_or(0)
    }

    /// `meta` with frequency `f` stored now.
    #[inline]
    fn with_freq(&self, meta: u16, f: u8) -> u16 {
        let age = (self.sketch.halvings() & 7) as u16;
        (meta & !(FREQ_MASK | AGE_MASK)) | (u16::from(f.min(15)) << FREQ_SHIFT) | (age << AGE_SHIFT)
    }

    /// Queues `slot` at the head of `side`'s ring, stamping its push epoch; refreshes the age
    /// of its stored frequency.
    fn push(&mut self, side: Side, slot: u32) {
        let w = self.weight_of(slot);
        let budget = match side {
            Side::Window => self.window_max,
            Side::Main => self.main_max,
        };
        let r = &mut self.regions[side as usize];
        if r.ring.len() == r.ring.capacity() {
            r.ring.reserve_exact(r.ring.len() / GROWTH_DIVISOR + 16);
        }
        r.ring.push_back(slot);
        r.cursor += w;
        if r.cursor >= r.boundary {
            r.epoch += 1;
            r.boundary = r.cursor + (budget / EPOCHS).max(1);
        }
        let pos = ((r.epoch % EPOCHS) as u16) << POS_SHIFT;
        let m = self.meta[slot as usize];
        let f = self.freq(m);
        let m = self.with_freq(m, f);
        let region = if side == Side::Main { MAIN } else { 0 };
        self.meta[slot as usize] = (m & !(POS_MASK | MAIN)) | pos | region | QUEUED;
    }

    /// Moves a live slot's weight from the window to main and queues it there.
    fn promote(&mut self, slot: u32) {
        let w = self.weight_of(slot);
        self.regions[Side::Window as usize].weight -= w;
        self.regions[Side::Window as usize].live -= 1;
        self.regions[Side::Main as usize].weight += w;
        self.regions[Side::Main as usize].live += 1;
        self.push(Side::Main, slot);
    }

    /// Forgets a live slot that has left its ring.
    fn forget(&mut self, slot: u32) {
        let m = self.meta[slot as usize];
        let side = usize::from(m & MAIN != 0);
        let w = self.weight_of(slot);
        self.regions[side].weight -= w;
        self.regions[side].live -= 1;
        self.n_live -= 1;
        self.meta[slot as usize] = 0;
    }

    /// Pops `side`'s tail until a live, unreferenced slot comes up (referenced ones lose their
    /// bit and go back to the head); `None` when the region holds nothing live.
    fn next_victim(&mut self, side: Side) -> Option<u32> {
        if self.regions[side as usize].live == 0 {
            return None;
        }
        loop {
            let slot = self.regions[side as usize].ring.pop_front()?;
            let m = self.meta[slot as usize];
            if m & LIVE == 0 {
                self.meta[slot as usize] = m & !QUEUED;
                continue;
            }
            if m & HITS != 0 {
                self.meta[slot as usize] = m & !HITS;
                self.push(side, slot);
                continue;
            }
            return Some(slot);
        }
    }

    /// Moves the window boundary by `step` (a share of the capacity), within its bounds.
    #[inline]
    fn nudge(&mut self, step: f64) {
        let share = (self.window_share + step).clamp(MIN_WINDOW, MAX_WINDOW);
        if share != self.window_share {
            self.window_share = share;
            self.resize_regions();
        }
    }

    /// A hit of `weight` in main's last quarter: main's marginal value, per unit of weight.
    #[inline]
    fn main_tail_hit(&mut self, weight: u64) {
        let quarter = (self.main_max / 4).max(1) as f64;
        self.nudge(-GAIN * MAIN_TAIL_WEIGHT * weight as f64 / (4.0 * quarter));
    }

    /// A miss of `weight` on a key inserted `distance` insertions ago: if a window `Δ` larger
    /// (a FIFO of insertions) would have held it, that is the window's marginal value.
    #[inline]
    fn window_ghost_hit(&mut self, distance: u32, weight: u64) {
        let total = self.regions[0].weight + self.regions[1].weight;
        let average = total as f64 / self.n_live.max(1) as f64;
        let delta = (self.effective as f64 * GHOST_SHARE).max(1.0);
        if f64::from(distance) * average <= self.window_max as f64 + delta {
            // Undo the ghosts' losses (inverse-probability weighting, capped).
            let boost = (1.0 / self.ghosts.survival(distance)).min(MAX_BOOST);
            self.nudge(GAIN * boost * weight as f64 / (4.0 * delta));
        }
    }
}

impl EvictionPolicy for ClockTinyLfu {
    fn name(&self) -> &'static str {
        "clock-tinylfu"
    }

    fn set_capacity(&mut self, capacity: u64) {
        self.capacity = capacity;
        self.effective = capacity;
        self.resize_regions();
    }

    fn on_insert(&mut self, slot: u32, hash: u64, weight: u64) {
        self.grow_to(slot);
        let stored = stored_weight(weight);
        self.set_weight(slot, stored);
        self.n_live += 1;
        if self.n_live > self.max_live {
            self.max_live = self.n_live;
            self.sketch.reserve_for(self.n_live);
            self.ghosts.reserve_for(self.n_live);
        }
        let f = self.sketch.increment(hash);
        if self.adaptive
            && let Some(distance) = self.ghosts.reinsert(hash)
        {
            self.window_ghost_hit(distance, u64::from(stored));
        }
        let i = slot as usize;
        let m = self.meta[i];
        if m & QUEUED != 0 {
            // Removed earlier, its id still queued: it takes that place in that region.
            let side = usize::from(m & MAIN != 0);
            self.regions[side].weight += u64::from(stored);
            self.regions[side].live += 1;
            self.meta[i] = self.with_freq((m & (MAIN | QUEUED | POS_MASK)) | LIVE, f);
        } else {
            self.regions[Side::Window as usize].weight += u64::from(stored);
            self.regions[Side::Window as usize].live += 1;
            self.meta[i] = self.with_freq(LIVE, f);
            self.push(Side::Window, slot);
        }
    }

    #[inline]
    fn on_access(&mut self, slot: u32, hash: u64) {
        let Some(&m) = self.meta.get(slot as usize) else {
            return;
        };
        if m & LIVE == 0 || m & HITS == HITS {
            return;
        }
        let f = self.sketch.increment(hash);
        if self.adaptive && m & MAIN != 0 {
            let epoch = self.regions[Side::Main as usize].epoch % EPOCHS;
            let pos = u64::from((m & POS_MASK) >> POS_SHIFT);
            if (epoch + EPOCHS - pos) % EPOCHS >= TAIL_AGE {
                self.main_tail_hit(self.weight_of(slot));
            }
        }
        self.meta[slot as usize] = self.with_freq(m + 1, f);
    }

    fn on_update(&mut self, slot: u32, hash: u64, _old_weight: u64, new_weight: u64) {
        self.on_access(slot, hash);
        let Some(&m) = self.meta.get(slot as usize) else {
            return;
        };
        if m & LIVE == 0 {
            return;
        }
        let side = usize::from(m & MAIN != 0);
        let old = self.weight_of(slot);
        self.set_weight(slot, stored_weight(new_weight));
        let new = self.weight_of(slot);
        self.regions[side].weight = self.regions[side].weight - old + new;
    }

    fn on_remove(&mut self, slot: u32) {
        let Some(&m) = self.meta.get(slot as usize) else {
            return;
        };
        if m & LIVE == 0 {
            return;
        }
        let side = usize::from(m & MAIN != 0);
        let w = self.weight_of(slot);
        self.regions[side].weight -= w;
        self.regions[side].live -= 1;
        self.n_live -= 1;
        // Keeps QUEUED and MAIN: the id stays in its ring until the hand drops it.
        self.meta[slot as usize] = m & (QUEUED | MAIN | POS_MASK);
    }

    fn evict(&mut self) -> Option<u32> {
        // A cache also evicts within its weight capacity (an entry-count bound, memory
        // pressure): then the weight it holds is the capacity that matters.
        let total = self.regions[0].weight + self.regions[1].weight;
        let effective = total.min(self.capacity);
        if effective != self.effective {
            self.effective = effective;
            self.resize_regions();
        }
        for region in &mut self.regions {
            // A ring that emptied (the window hands all but 1 % to main at the first eviction
            // of an entry-bounded cache) gives its room back: amortised, as it had to halve.
            let len = region.ring.len();
            if region.ring.capacity() > 2 * len + 64 {
                region.ring.shrink_to(len + len / GROWTH_DIVISOR + 16);
            }
        }
        loop {
            let window = &self.regions[Side::Window as usize];
            let window_over = window.weight > self.window_max;
            let main_live = self.regions[Side::Main as usize].live;
            if window.live > 0 && (window_over || main_live == 0) {
                let candidate = self.next_victim(Side::Window)?;
                let w = self.weight_of(candidate);
                if self.regions[Side::Main as usize].weight + w <= self.main_max {
                    self.promote(candidate);
                    continue;
                }
                let Some(victim) = self.next_victim(Side::Main) else {
                    self.forget(candidate);
                    return Some(candidate);
                };
                let mc = self.meta[candidate as usize];
                let mv = self.meta[victim as usize];
                if self.freq(mc) > self.freq(mv).saturating_add(ADMISSION_MARGIN) {
                    self.forget(victim);
                    self.promote(candidate);
                    return Some(victim);
                }
                // The victim keeps its place at main's tail (its count aged now, as it may
                // wait there through many halvings).
                self.meta[victim as usize] = self.with_freq(mv, self.freq(mv));
                self.regions[Side::Main as usize].ring.push_front(victim);
                self.forget(candidate);
                return Some(candidate);
            }
            if let Some(victim) = self.next_victim(Side::Main) {
                self.forget(victim);
                return Some(victim);
            }
            let victim = self.next_victim(Side::Window)?;
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
        let mut ghosts = std::mem::take(&mut self.ghosts);
        ghosts.clear();
        *self = ClockTinyLfu::new();
        self.sketch = sketch;
        self.ghosts = ghosts;
        self.adaptive = adaptive;
        self.window_share = share;
        self.set_capacity(capacity);
    }

    #[inline]
    fn is_referenced(&self, slot: u32) -> bool {
        self.meta
            .get(slot as usize)
            .is_some_and(|&m| m & HITS == HITS)
    }

    fn bytes_per_slot(&self) -> usize {
        // State (2) and ring id (4) with growth slack, the sketch (at most 3.25), the
        // ghosts (at most 1), and a stored weight (4) once weights differ.
        7 + 4 + 1 + 4
    }
}

#[cfg(test)]
mod tests;

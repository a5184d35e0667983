//! The hybrid default: W-TinyLFU with an adaptive window.

use crate::list::{ListHead, SlotLinks};
use cache_traits::EvictionPolicy;

mod shadow;
mod sketch;

use shadow::{Shadows, Side};
use sketch::Sketch;

/// Where a slot lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Region {
    #[default]
    Window,
    Probation,
    Protected,
}

/// Per-slot state: 16 bytes.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    hash: u64,
    /// The clock of its list when it was last pushed there.
    stamp: u64,
    /// The weight, saturated at `u32::MAX` (region sums use this same figure consistently).
    weight: u32,
    region: Region,
}

impl Entry {
    #[inline]
    fn weight(&self) -> u64 {
        u64::from(self.weight)
    }
}

/// What the weights seen so far say about the capacity's unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WeightsSeen {
    /// No weight yet.
    None,
    /// Only weights of 1: the capacity counts entries.
    Unit,
    /// Other weights: the capacity is in some unit of weight, bytes say.
    Other,
}

impl WeightsSeen {
    /// After seeing `weight` too.
    fn and(self, weight: u32) -> WeightsSeen {
        match (self, weight) {
            (WeightsSeen::None | WeightsSeen::Unit, 1) => WeightsSeen::Unit,
            _ => WeightsSeen::Other,
        }
    }
}

/// Saturates a weight into an [`Entry`].
#[inline]
fn stored_weight(weight: u64) -> u32 {
    u32::try_from(weight).unwrap_or(u32::MAX)
}

/// W-TinyLFU with an adaptive window and adaptive aging: the default policy.
///
/// The structure is W-TinyLFU (Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache
/// Admission Policy", ACM ToS 2017), as in Caffeine:
///
/// - New entries enter an LRU **window**. When it overflows, its oldest entry becomes a
///   *candidate* for the **main** region, a segmented LRU (probation, then protected after a
///   hit; protected at most 80 % of main).
/// - A count-min **sketch** of 4-bit counters estimates each key's recent frequency and halves
///   every counter periodically, so old popularity fades. When main is full, the candidate is
///   admitted only if its estimate beats that of main's victim (the probation tail): a
///   one-time scan passes through the window without displacing the hot set.
///
/// Two things adapt, steered by cheap signals of what a slightly different cache would have
/// hit, rather than by tuning:
///
/// - **Window size, by marginal hits.** Two shadow queues remember, as fingerprints, the keys
///   that most recently left the window and main (each `Δ` = 25 % of the capacity). A miss on a
///   key in the window's shadow would have hit in a window `Δ` larger: the window grows by the
///   key's weight. A miss on a key in main's shadow would have hit in a main `Δ` larger, and a
///   hit among the last `Δ` of main (its eviction end) would have been lost in a main `Δ`
///   smaller: both shrink the window, the second at half weight (main's marginal value is the
///   average of the two one-sided estimates; the window has no such second estimate because it
///   is usually smaller than `Δ`, so its whole content would count as "its last `Δ`"). The split
///   follows the local gradient of the hit ratio between the two regions, the principle of
///   Cliffhanger (Cidon et al., NSDI '16) and of ARC's ghost lists. The main-side estimate
///   matters: TinyLFU chooses main's victims by frequency, so victims rarely come back, and
///   shadows alone would overgrow the window on stationary skewed workloads. Caffeine's hill
///   climber (Einziger et al., "Adaptive Software Cache Management", Middleware 2018) adapts
///   the same split from sampled hit ratios instead, which needs many samples of
///   `10 × capacity` requests; these signals act from the first misses.
/// - **Sketch aging, by grading the admission filter.** A rejected candidate that comes back
///   while in the window's shadow is a false reject: the sketch remembered stale popularity,
///   so its halving period shortens. A displaced victim that comes back while in main's shadow
///   is a false admit: the period lengthens. Each error is weighed by the other kind's share of
///   recent decisions, so the period settles where both errors are equally likely per decision;
///   it stays between 2 and 16 times the sketch width (TinyLFU uses a fixed 10).
///
/// All regions and shadows are budgeted by weight. A hit costs a sketch increment (one cache
/// line) and at most a list move: no allocation. See `docs/POLICIES.md` for measurements.
///
/// A cache that evicts within its weight capacity (an entry-count bound, memory pressure) has
/// the weight it holds, less one average entry, taken as the capacity the regions and shadows
/// are shares of, as in [`ClockTinyLfu`](crate::ClockTinyLfu). The sketch and the shadow table
/// are sized from the entries tracked (and, while every weight is 1, so that the capacity
/// counts entries, from the capacity up to 2^16 entries), never from a capacity in bytes.
///
/// # Examples
///
/// ```
/// use cache_traits::EvictionPolicy;
/// use eviction::Hybrid;
///
/// let mut hybrid = Hybrid::new();
/// hybrid.set_capacity(100);
/// for slot in 0..101 { hybrid.on_insert(slot, slot as u64, 1); }
/// assert!(hybrid.evict().is_some());
/// ```
#[derive(Debug)]
pub struct Hybrid {
    links: SlotLinks,
    window: ListHead,
    probation: ListHead,
    protected: ListHead,
    entries: Vec<Entry>,
    window_weight: u64,
    probation_weight: u64,
    protected_weight: u64,
    capacity: u64,
    /// The capacity the regions and shadows are shares of: `capacity`, or the weight held less
    /// one entry when the cache last evicted within it.
    effective: u64,
    /// Weights seen since the last clear: none, only 1 (the capacity counts entries), others.
    weights_seen: WeightsSeen,
    /// Window share of the capacity, in `[MIN_WINDOW, MAX_WINDOW]`.
    window_share: f64,
    sketch: Sketch,
    resident: usize,
    adaptive: bool,
    /// Hashes of the keys that most recently left the window and main.
    shadows: Shadows,
    /// Most resident entries the shadow table is sized for.
    shadow_sized_for: usize,
    /// Recent counts of rejected candidates and displaced victims (decaying).
    n_rejected: f64,
    n_displaced: f64,
    /// `Δ`: the weight of each shadow, and of the list tails that are watched.
    shadow_span: u64,
    /// The sketch halves every `sample_scale × width` increments.
    sample_scale: f64,
    /// Weight pushed so far onto probation's and protected's heads (positions in the lists).
    probation_clock: u64,
    protected_clock: u64,
    /// Budgets, by weight, derived from `capacity` and `window_share`.
    window_max: u64,
    main_max: u64,
    protected_max: u64,
}

/// Smallest window share: a few entries of recency even for pure loops.
const MIN_WINDOW: f64 = 0.01;
/// Largest window share. Main keeps at least 5 %: with main empty there would be no main
/// signal left that could shrink the window again (it would stick at LRU).
const MAX_WINDOW: f64 = 0.95;
/// Share of main kept for the protected segment.
const PROTECTED_SHARE: f64 = 0.8;
/// Initial window share.
const INITIAL_WINDOW: f64 = 0.01;

/// Weight of each shadow (ghost) queue, as a share of the capacity: the `Δ` of the gradient.
const SHADOW_SHARE: f64 = 0.25;
/// Initial halving period of the sketch, in multiples of its width (TinyLFU's and Caffeine's 10).
const INITIAL_SCALE: f64 = 10.0;
/// Shortest halving period: below about twice the width, counts carry too little history for
/// the filter to mean anything.
const MIN_SCALE: f64 = 2.0;
/// Longest halving period.
const MAX_SCALE: f64 = 16.0;
/// Relative change of the halving period per false reject or false admit.
const AGING_STEP: f64 = 0.01;
/// Weight of a hit at main's eviction end against the window, relative to a shadow hit.
const MAIN_TAIL_WEIGHT: f64 = 0.5;
/// Per-decision decay of the counts of recent rejections and displacements (a memory of
/// about ten thousand admission decisions).
const DECISION_DECAY: f64 = 0.9999;

impl Default for Hybrid {
    fn default() -> Self {
        Self::new()
    }
}

impl Hybrid {
    /// The default: a 1 % window and a sketch halving every 10 × its width, both adapting.
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::EvictionPolicy;
    ///
    /// let mut policy = eviction::Hybrid::new();
    /// policy.set_capacity(100);
    /// assert_eq!(policy.evict(), None);
    /// ```
    pub fn new() -> Self {
        Hybrid {
            links: SlotLinks::default(),
            window: ListHead::default(),
            probation: ListHead::default(),
            protected: ListHead::default(),
            entries: Vec::new(),
            window_weight: 0,
            probation_weight: 0,
            protected_weight: 0,
            capacity: 0,
            effective: 0,
            weights_seen: WeightsSeen::None,
            window_share: INITIAL_WINDOW,
            sketch: Sketch::default(),
            resident: 0,
            adaptive: true,
            shadows: Shadows::default(),
            shadow_sized_for: 0,
            n_rejected: 0.0,
            n_displaced: 0.0,
            shadow_span: 1,
            sample_scale: INITIAL_SCALE,
            probation_clock: 0,
            protected_clock: 0,
            window_max: 0,
            main_max: 0,
            protected_max: 0,
        }
    }

    /// A hybrid whose window stays at `share` of the capacity (clamped to `0.01..=0.95`) and
    /// whose sketch ages at the fixed TinyLFU rate: plain W-TinyLFU (1 % in the paper).
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::EvictionPolicy;
    ///
    /// let static_window = eviction::Hybrid::with_static_window(0.01);
    /// assert_eq!(static_window.name(), "hybrid");
    /// ```
    pub fn with_static_window(share: f64) -> Self {
        let mut h = Self::new();
        h.window_share = share.clamp(MIN_WINDOW, MAX_WINDOW);
        h.resize_regions();
        h.adaptive = false;
        h
    }

    /// Current window share of the capacity (for reports and tests).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(eviction::Hybrid::with_static_window(0.2).window_share(), 0.2);
    /// ```
    pub fn window_share(&self) -> f64 {
        self.window_share
    }

    /// Current halving period of the frequency sketch, in multiples of its width.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(eviction::Hybrid::new().aging_period(), 10.0);
    /// ```
    pub fn aging_period(&self) -> f64 {
        self.sample_scale
    }

    /// Recomputes the region budgets after the capacity or the window share changed.
    fn resize_regions(&mut self) {
        let capacity = self.effective;
        self.window_max = ((capacity as f64 * self.window_share) as u64).min(capacity);
        self.main_max = capacity - self.window_max;
        self.protected_max = (self.main_max as f64 * PROTECTED_SHARE) as u64;
    }

    /// Sets the capacity the regions and the shadows' span `Δ` are shares of.
    fn set_effective(&mut self, effective: u64) {
        self.effective = effective;
        self.shadow_span = ((effective as f64 * SHADOW_SHARE) as u64).max(1);
        self.shadows.set_span(self.shadow_span);
        self.resize_regions();
    }

    /// Takes as the capacity the regions are shares of the capacity, or, when the cache evicts
    /// within it, the weight it holds less one average entry.
    fn follow_held_weight(&mut self) {
        let held = self.window_weight + self.main_weight();
        let effective = if held > self.capacity {
            self.capacity
        } else {
            held - held / self.resident.max(1) as u64
        };
        if effective != self.effective {
            self.set_effective(effective);
        }
    }

    fn main_weight(&self) -> u64 {
        self.probation_weight + self.protected_weight
    }

    /// Grows the sketch with the number of resident entries (cheap: only on insert).
    fn ensure_sketch(&mut self) {
        // Entries to plan for: the resident ones, and, while the capacity counts entries (every
        // weight is 1), the capacity up to 2^16, so that the sketch need not grow as the cache
        // fills. A capacity in bytes says nothing about the entries: the sketch follows them.
        let planned = if self.weights_seen == WeightsSeen::Unit {
            self.capacity.min(1 << 16) as usize
        } else {
            0
        };
        let wanted = self.resident.max(planned);
        if wanted > self.sketch.width() {
            self.sketch = Sketch::new(wanted);
            self.sketch.set_sample_scale(self.sample_scale);
        }
        if self.adaptive && wanted > self.shadow_sized_for {
            // Sized for the shadows' share of the entries, and rebuilt (empty) only when that
            // share outgrows the table, whose length is a power of two: whether the cache
            // planned for its entries or counted them as they came, the table ends up the same.
            let entries = (2.0 * wanted as f64 * SHADOW_SHARE) as usize;
            self.shadows = Shadows::new(self.shadow_span, entries);
            self.shadow_sized_for = (self.shadows.len() as f64 / (2.0 * SHADOW_SHARE)) as usize + 1;
        }
    }

    /// Moves the window by `weight` (negative: towards main), within its bounds.
    #[inline]
    fn nudge(&mut self, weight: f64) {
        let step = weight / self.effective.max(1) as f64;
        self.window_share = (self.window_share + step).clamp(MIN_WINDOW, MAX_WINDOW);
        self.resize_regions();
    }

    /// Changes the sketch's halving period by the factor `1 + change`, within its bounds.
    #[inline]
    fn retune_aging(&mut self, change: f64) {
        self.sample_scale = (self.sample_scale * (1.0 + change)).clamp(MIN_SCALE, MAX_SCALE);
        self.sketch.set_sample_scale(self.sample_scale);
    }

    /// A hit among the last `Δ` of main (its eviction end: probation's oldest entries, then
    /// protected's when probation is smaller than `Δ`) is a hit that main would have lost had
    /// it been `Δ` smaller: it speaks against growing the window, at half weight (see
    /// [`Hybrid`]'s docs).
    #[inline]
    fn main_tail_signal(&mut self, slot: u32) {
        let e = self.entries[slot as usize];
        let delta = self.shadow_span;
        let (tail, clock, weight, tail_delta) = match e.region {
            Region::Window => return,
            Region::Probation => (
                self.probation.tail(),
                self.probation_clock,
                self.probation_weight,
                delta,
            ),
            Region::Protected if self.probation_weight < delta => (
                self.protected.tail(),
                self.protected_clock,
                self.protected_weight,
                delta - self.probation_weight,
            ),
            Region::Protected => return,
        };
        let Some(tail) = tail else { return };
        let in_tail = weight <= tail_delta || {
            // Positions are interpolated from push clocks: the list spans
            // `clock - tail_stamp` of clock for `weight` of entries. (Clocks wrap; spans are
            // far below 2^64.)
            let tail_stamp = self.entries[tail as usize].stamp;
            let span = clock.wrapping_sub(tail_stamp) as f64;
            let from_tail = e.stamp.wrapping_sub(tail_stamp) as f64;
            from_tail < span * tail_delta as f64 / weight as f64
        };
        if in_tail {
            self.nudge(-(e.weight() as f64) * MAIN_TAIL_WEIGHT);
        }
    }

    /// Reads the shadows on a miss of `hash` (of `weight`).
    ///
    /// A key in the window's shadow would have hit in a window `Δ` larger: grow the window by
    /// its weight. A key in main's shadow would have hit in a main `Δ` larger: shrink it.
    ///
    /// The same misses grade the admission filter. A rejected candidate coming back is a false
    /// reject (the sketch remembered stale popularity: shorten its halving period); a displaced
    /// victim coming back is a false admit (lengthen it). Rejections far outnumber
    /// displacements, so each kind of error is weighed by the other's share of decisions: the
    /// period settles where the two errors are equally likely per decision.
    #[inline]
    fn shadow_signal(&mut self, hash: u64, weight: u64) {
        let decisions = (self.n_rejected + self.n_displaced).max(1.0);
        match self.shadows.take(hash) {
            Some((Side::Window, rejected)) => {
                self.nudge(weight as f64);
                if rejected {
                    self.retune_aging(-AGING_STEP * 2.0 * self.n_displaced / decisions);
                }
            }
            Some((Side::Main, displaced)) => {
                self.nudge(-(weight as f64));
                if displaced {
                    self.retune_aging(AGING_STEP * 2.0 * self.n_rejected / decisions);
                }
            }
            None => {}
        }
    }

    /// Moves protected overflow back to probation.
    #[inline]
    fn demote(&mut self) {
        let max = self.protected_max;
        if self.protected_weight <= max {
            return;
        }
        while self.protected_weight > max {
            let Some(t) = self.links.pop_back(&mut self.protected) else {
                break;
            };
            let e = &mut self.entries[t as usize];
            e.region = Region::Probation;
            self.probation_clock = self.probation_clock.wrapping_add(e.weight());
            e.stamp = self.probation_clock;
            self.protected_weight -= e.weight();
            self.probation_weight += e.weight();
            self.links.push_front(&mut self.probation, t);
        }
    }

    /// Forgets `slot`, on `region`'s list.
    fn unlink(&mut self, slot: u32) {
        let e = self.entries[slot as usize];
        match e.region {
            Region::Window => {
                self.links.unlink(&mut self.window, slot);
                self.window_weight -= e.weight();
            }
            Region::Probation => {
                self.links.unlink(&mut self.probation, slot);
                self.probation_weight -= e.weight();
            }
            Region::Protected => {
                self.links.unlink(&mut self.protected, slot);
                self.protected_weight -= e.weight();
            }
        }
        self.resident -= 1;
    }

    /// The main victim: probation's oldest, else protected's oldest.
    fn main_victim(&self) -> Option<u32> {
        self.probation.tail().or_else(|| self.protected.tail())
    }

    /// Whether the window candidate should replace main's victim.
    fn admit(&self, candidate: u32, victim: u32) -> bool {
        let c = self.sketch.frequency(self.entries[candidate as usize].hash);
        let v = self.sketch.frequency(self.entries[victim as usize].hash);
        c > v
    }
}

impl EvictionPolicy for Hybrid {
    fn name(&self) -> &'static str {
        "hybrid"
    }

    fn set_capacity(&mut self, capacity: u64) {
        self.capacity = capacity;
        // A new budget (say, under memory pressure) keeps what the shadows and the sketch know.
        self.set_effective(capacity);
        self.ensure_sketch();
    }

    fn on_insert(&mut self, slot: u32, hash: u64, weight: u64) {
        let i = slot as usize;
        if i >= self.entries.len() {
            self.entries
                .resize((i + 1).max(self.entries.len() * 2), Entry::default());
        }
        let stored = stored_weight(weight);
        self.weights_seen = self.weights_seen.and(stored);
        self.entries[i] = Entry {
            hash,
            stamp: 0,
            weight: stored,
            region: Region::Window,
        };
        self.resident += 1;
        if self.adaptive {
            self.shadow_signal(hash, u64::from(stored));
        }
        self.ensure_sketch();
        self.sketch.increment(hash);
        self.links.push_front(&mut self.window, slot);
        self.window_weight += u64::from(stored);
    }

    #[inline]
    fn on_access(&mut self, slot: u32, hash: u64) {
        self.sketch.increment(hash);
        if self.adaptive {
            self.main_tail_signal(slot);
        }
        let e = &mut self.entries[slot as usize];
        match e.region {
            Region::Window => self.links.move_to_front(&mut self.window, slot),
            Region::Probation => {
                e.region = Region::Protected;
                let w = e.weight();
                self.protected_clock = self.protected_clock.wrapping_add(w);
                e.stamp = self.protected_clock;
                self.links.unlink(&mut self.probation, slot);
                self.links.push_front(&mut self.protected, slot);
                self.probation_weight -= w;
                self.protected_weight += w;
                self.demote();
            }
            Region::Protected => {
                self.protected_clock = self.protected_clock.wrapping_add(e.weight());
                e.stamp = self.protected_clock;
                self.links.move_to_front(&mut self.protected, slot);
            }
        }
    }

    fn on_update(&mut self, slot: u32, hash: u64, _old_weight: u64, new_weight: u64) {
        self.on_access(slot, hash);
        let e = &mut self.entries[slot as usize];
        let old_weight = e.weight();
        e.weight = stored_weight(new_weight);
        let new_weight = e.weight();
        self.weights_seen = self.weights_seen.and(e.weight);
        let region = match e.region {
            Region::Window => &mut self.window_weight,
            Region::Probation => &mut self.probation_weight,
            Region::Protected => &mut self.protected_weight,
        };
        *region = *region - old_weight + new_weight;
    }

    fn on_remove(&mut self, slot: u32) {
        self.unlink(slot);
    }

    fn evict(&mut self) -> Option<u32> {
        self.follow_held_weight();
        self.demote();
        let window_max = self.window_max;
        let main_max = self.main_max;
        loop {
            if self.window_weight > window_max
                && let Some(candidate) = self.window.tail()
            {
                let w = self.entries[candidate as usize].weight();
                let Some(victim) = self.main_victim() else {
                    // Nothing in main: the candidate moves there if it fits, else leaves.
                    if self.main_weight() + w <= main_max {
                        self.move_to_probation(candidate);
                        continue;
                    }
                    self.evict_from_window(candidate, false);
                    return Some(candidate);
                };
                if self.main_weight() + w <= main_max {
                    self.move_to_probation(candidate);
                    continue;
                }
                self.n_rejected *= DECISION_DECAY;
                self.n_displaced *= DECISION_DECAY;
                if self.admit(candidate, victim) {
                    self.n_displaced += 1.0;
                    self.evict_from_main(victim, true);
                    self.move_to_probation(candidate);
                    return Some(victim);
                }
                self.n_rejected += 1.0;
                self.evict_from_window(candidate, true);
                return Some(candidate);
            }
            if let Some(victim) = self.main_victim() {
                self.evict_from_main(victim, false);
                return Some(victim);
            }
            let victim = self.window.tail()?;
            self.evict_from_window(victim, false);
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
        *self = Hybrid::new();
        self.adaptive = adaptive;
        self.window_share = share;
        self.resize_regions();
        self.set_capacity(capacity);
    }

    fn bytes_per_slot(&self) -> usize {
        // Links, per-slot state, the sketch (one u64 of 16 counters per entry) and the shadow
        // table (at most one u64 per entry).
        std::mem::size_of::<[u32; 2]>() + std::mem::size_of::<Entry>() + 8 + 8
    }
}

impl Hybrid {
    /// Evicts `slot` from main; `displaced` when a window candidate won its place.
    fn evict_from_main(&mut self, slot: u32, displaced: bool) {
        let e = self.entries[slot as usize];
        self.unlink(slot);
        if self.adaptive {
            self.shadows.push(Side::Main, e.hash, e.weight(), displaced);
        }
    }

    /// Evicts `slot` from the window; `rejected` when the admission filter turned it away.
    fn evict_from_window(&mut self, slot: u32, rejected: bool) {
        let e = self.entries[slot as usize];
        self.unlink(slot);
        if self.adaptive {
            self.shadows
                .push(Side::Window, e.hash, e.weight(), rejected);
        }
    }

    fn move_to_probation(&mut self, slot: u32) {
        let e = &mut self.entries[slot as usize];
        debug_assert_eq!(e.region, Region::Window);
        e.region = Region::Probation;
        let w = e.weight();
        self.probation_clock = self.probation_clock.wrapping_add(w);
        e.stamp = self.probation_clock;
        self.links.unlink(&mut self.window, slot);
        self.window_weight -= w;
        self.links.push_front(&mut self.probation, slot);
        self.probation_weight += w;
        // Every window exit enters the window's shadow, admitted or not, so that the shadow
        // stands for "the next `Δ` of window"; only rejected keys can miss and hit it.
        if self.adaptive {
            let hash = self.entries[slot as usize].hash;
            self.shadows.push(Side::Window, hash, w, false);
        }
    }
}

#[cfg(test)]
mod tests;

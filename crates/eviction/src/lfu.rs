//! LFU with dynamic aging (LFU-DA): frequency counts that fade as the cache ages.

use cache_traits::EvictionPolicy;

/// Per-slot state: the priority `key = age + frequency`, a tie-breaking tick, the count.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    key: u64,
    tick: u64,
    freq: u64,
    /// Index in the heap.
    pos: u32,
}

/// Least frequently used with dynamic aging (Arlitt, Cherkasova, Dilley, Friedrich, Jin,
/// "Evaluating content management techniques for Web proxy caches", ACM SIGMETRICS Performance
/// Evaluation Review 27(4), 2000: LFU-DA).
///
/// Each entry has a priority `K = L + f`, where `f` counts its hits since insertion and `L` is
/// the cache age: the priority of the last victim. The victim is the entry with the smallest
/// `K` (the least recently used among equals). Because `L` rises with every eviction, an entry
/// that was popular long ago is eventually overtaken by entries that are popular now: old
/// popularity fades instead of pinning the entry forever, the flaw of plain LFU.
/// A binary min-heap indexed by slot gives `O(log n)` hits and evictions, without allocation
/// on the hit path. Weights do not change the ranking; the cache evicts until its budget holds.
///
/// # Examples
///
/// ```
/// use cache_traits::EvictionPolicy;
/// use eviction::Lfu;
///
/// let mut lfu = Lfu::new();
/// for slot in 0..3 { lfu.on_insert(slot, slot as u64, 1); }
/// lfu.on_access(0, 0);
/// lfu.on_access(2, 2);
/// lfu.on_access(2, 2);
/// assert_eq!(lfu.evict(), Some(1));
/// assert_eq!(lfu.evict(), Some(0));
/// assert_eq!(lfu.evict(), Some(2));
/// ```
#[derive(Debug, Default)]
pub struct Lfu {
    entries: Vec<Entry>,
    heap: Vec<u32>,
    age: u64,
    tick: u64,
}

impl Lfu {
    /// An empty LFU-DA.
    ///
    /// # Examples
    ///
    /// ```
    /// use cache_traits::EvictionPolicy;
    ///
    /// let mut policy = eviction::Lfu::new();
    /// assert_eq!(policy.evict(), None);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    fn less(&self, a: u32, b: u32) -> bool {
        let (a, b) = (&self.entries[a as usize], &self.entries[b as usize]);
        (a.key, a.tick) < (b.key, b.tick)
    }

    #[inline]
    fn place(&mut self, i: usize, slot: u32) {
        self.heap[i] = slot;
        self.entries[slot as usize].pos = i as u32;
    }

    fn sift_up(&mut self, mut i: usize) {
        let slot = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / 2;
            if !self.less(slot, self.heap[parent]) {
                break;
            }
            let p = self.heap[parent];
            self.place(i, p);
            i = parent;
        }
        self.place(i, slot);
    }

    fn sift_down(&mut self, mut i: usize) {
        let slot = self.heap[i];
        let n = self.heap.len();
        loop {
            let left = 2 * i + 1;
            if left >= n {
                break;
            }
            let right = left + 1;
            let child = if right < n && self.less(self.heap[right], self.heap[left]) {
                right
            } else {
                left
            };
            if !self.less(self.heap[child], slot) {
                break;
            }
            let c = self.heap[child];
            self.place(i, c);
            i = child;
        }
        self.place(i, slot);
    }

    fn remove_at(&mut self, i: usize) {
        let last = self.heap.len() - 1;
        self.heap.swap(i, last);
        self.heap.pop();
        if i < self.heap.len() {
            let moved = self.heap[i];
            self.entries[moved as usize].pos = i as u32;
            self.sift_down(i);
            let pos = self.entries[moved as usize].pos as usize;
            self.sift_up(pos);
        }
    }
}

impl EvictionPolicy for Lfu {
    fn name(&self) -> &'static str {
        "lfu"
    }

    fn set_capacity(&mut self, _capacity: u64) {}

    fn on_insert(&mut self, slot: u32, _hash: u64, _weight: u64) {
        let i = slot as usize;
        if i >= self.entries.len() {
            self.entries
                .resize((i + 1).max(self.entries.len() * 2), Entry::default());
        }
        self.tick += 1;
        self.entries[i] = Entry {
            key: self.age + 1,
            tick: self.tick,
            freq: 1,
            pos: self.heap.len() as u32,
        };
        self.heap.push(slot);
        self.sift_up(self.heap.len() - 1);
    }

    #[inline]
    fn on_access(&mut self, slot: u32, _hash: u64) {
        self.tick += 1;
        let e = &mut self.entries[slot as usize];
        e.freq += 1;
        e.key = self.age + e.freq;
        e.tick = self.tick;
        let pos = e.pos as usize;
        self.sift_down(pos);
    }

    fn on_remove(&mut self, slot: u32) {
        let pos = self.entries[slot as usize].pos as usize;
        self.remove_at(pos);
    }

    fn evict(&mut self) -> Option<u32> {
        let victim = *self.heap.first()?;
        self.age = self.entries[victim as usize].key;
        self.remove_at(0);
        Some(victim)
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.heap.clear();
        self.age = 0;
        self.tick = 0;
    }

    fn bytes_per_slot(&self) -> usize {
        std::mem::size_of::<Entry>() + std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests;

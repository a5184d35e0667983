//! A slab of entries addressed by dense `u32` slot ids, with a free list.

use std::mem::MaybeUninit;

/// Entries in a `Vec`, addressed by slot id; freed ids are reused first so ids stay dense.
///
/// The slab does not know which slots are occupied: its owner (the shard) does, through its
/// hash table, which holds exactly the occupied ids. That keeps an entry at its own size, with
/// no tag word beside it.
pub(crate) struct Slab<T> {
    slots: Vec<MaybeUninit<T>>,
    free: Vec<u32>,
}

impl<T> Slab<T> {
    pub(crate) fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Stores `value` and returns its slot id.
    ///
    /// # Panics
    ///
    /// When more than `u32::MAX` slots would be live at once (a shard holding four billion entries).
    #[inline]
    pub(crate) fn insert(&mut self, value: T) -> u32 {
        if let Some(idx) = self.free.pop() {
            self.slots[idx as usize].write(value);
            idx
        } else {
            let idx =
                u32::try_from(self.slots.len()).expect("a shard holds at most u32::MAX entries");
            self.slots.push(MaybeUninit::new(value));
            idx
        }
    }

    /// The entry in `idx`.
    ///
    /// # Safety
    ///
    /// `idx` must be occupied: returned by `insert` and not yet passed to `take`.
    #[inline]
    pub(crate) unsafe fn get(&self, idx: u32) -> &T {
        // SAFETY: the caller guarantees the slot is occupied, hence initialised.
        unsafe { self.slots.get_unchecked(idx as usize).assume_init_ref() }
    }

    /// Hints the CPU to fetch slot `idx` (occupied or not) into cache; out of range does nothing.
    #[inline]
    pub(crate) fn prefetch(&self, idx: u32) {
        if let Some(slot) = self.slots.get(idx as usize) {
            prefetch_line(std::ptr::from_ref(slot) as usize);
        }
    }

    /// A pointer to slot `idx`, occupied or not; `None` past the slab's end. Every slot below
    /// the end has been written at least once.
    #[inline]
    pub(crate) fn slot_ptr(&self, idx: u32) -> Option<*const T> {
        self.slots.get(idx as usize).map(MaybeUninit::as_ptr)
    }

    /// The entry in `idx`, mutably.
    ///
    /// # Safety
    ///
    /// As for [`Slab::get`].
    #[inline]
    pub(crate) unsafe fn get_mut(&mut self, idx: u32) -> &mut T {
        // SAFETY: the caller guarantees the slot is occupied, hence initialised.
        unsafe { self.slots.get_unchecked_mut(idx as usize).assume_init_mut() }
    }

    /// Moves the entry out of `idx` and frees the slot.
    ///
    /// # Safety
    ///
    /// As for [`Slab::get`]; afterwards `idx` is free.
    #[inline]
    pub(crate) unsafe fn take(&mut self, idx: u32) -> T {
        // SAFETY: the caller guarantees the slot is occupied; it is marked free right after the
        // read, so the value is never read twice.
        let value = unsafe { self.slots.get_unchecked(idx as usize).assume_init_read() };
        self.free.push(idx);
        value
    }

    /// Forgets every slot without dropping anything, and releases the memory: the owner must
    /// have taken the occupied ones.
    pub(crate) fn reset(&mut self) {
        self.slots = Vec::new();
        self.free = Vec::new();
    }

    /// Releases the free slots at or above `len` (no occupied slot may be there) and the
    /// spare capacity.
    pub(crate) fn truncate(&mut self, len: usize) {
        if len < self.slots.len() {
            // `MaybeUninit` has no drop: the cut slots are free, so nothing is leaked.
            self.slots.truncate(len);
            self.free.retain(|&idx| (idx as usize) < len);
        }
        self.slots.shrink_to_fit();
        self.free.shrink_to_fit();
    }

    /// Slots below the end, occupied or free.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Occupied slots.
    pub(crate) fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// For each slot below the end, whether it is occupied (not on the free list). O(slots);
    /// for recovery, not for the hot path.
    pub(crate) fn occupied(&self) -> Vec<bool> {
        let mut occupied = vec![true; self.slots.len()];
        for &idx in &self.free {
            occupied[idx as usize] = false;
        }
        occupied
    }

    /// Bytes this slab has allocated.
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<T>() + self.free.capacity() * 4
    }
}

/// Hints the CPU to fetch the cache line holding `addr`. A prefetch reads nothing the program
/// sees and cannot fault, so any address will do, stale or not.
#[inline]
pub(crate) fn prefetch_line(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is part of x86-64's baseline, and a prefetch has no memory effects.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(addr as *const i8) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

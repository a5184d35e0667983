//! Weighing entries in real heap bytes: the `Weigher` and `HeapSize` traits.

use std::mem::size_of;
use std::rc::Rc;
use std::sync::Arc;

/// The number of bytes the allocator really hands out for a request of `n` bytes.
///
/// Allocators round requests up to size classes; a cache that charges `len()` instead of the
/// rounded size under-counts by about 10 % on random sizes. This follows jemalloc's classes
/// (16-byte steps up to 128 bytes, then four classes per doubling), which also bound glibc's and
/// mimalloc's rounding closely.
///
/// # Examples
///
/// ```
/// use cache_traits::alloc_size;
/// assert_eq!(alloc_size(0), 0);
/// assert_eq!(alloc_size(5), 8);
/// assert_eq!(alloc_size(100), 112);
/// assert_eq!(alloc_size(129), 160);
/// assert_eq!(alloc_size(1025), 1280);
/// ```
pub const fn alloc_size(n: usize) -> usize {
    if n == 0 {
        0
    } else if n <= 8 {
        8
    } else if n <= 128 {
        (n + 15) & !15
    } else {
        let lg = usize::BITS - 1 - (n - 1).leading_zeros();
        let delta = 1usize << (lg - 2);
        match n.checked_add(delta - 1) {
            Some(up) => up & !(delta - 1),
            None => n,
        }
    }
}

/// Bytes a value owns on the heap, beyond its own `size_of`.
///
/// # Implementing
///
/// Count every allocation the value owns, rounded with [`alloc_size`], plus the heap size of
/// what those allocations contain. Do not count `size_of::<Self>()`: the container that holds
/// the value counts that. Shared data (`Arc`, `Rc`) is counted in full by each holder, which
/// over-counts rather than under-counts a budget.
///
/// # Examples
///
/// ```
/// use cache_traits::HeapSize;
/// assert_eq!(7u64.heap_size(), 0);
/// assert_eq!(String::with_capacity(100).heap_size(), 112);
/// // One 24-byte String in a 32-byte size class, and its 3 bytes in an 8-byte class.
/// assert_eq!(vec![String::from("abc")].heap_size(), 32 + 8);
/// ```
pub trait HeapSize {
    /// Heap bytes owned by `self`.
    fn heap_size(&self) -> usize;
}

macro_rules! no_heap {
    ($($t:ty),*) => { $(impl HeapSize for $t { #[inline] fn heap_size(&self) -> usize { 0 } })* };
}
no_heap!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    &'static str
);

fn elements_heap<T: HeapSize>(items: &[T]) -> usize {
    items.iter().map(HeapSize::heap_size).sum()
}

impl HeapSize for String {
    fn heap_size(&self) -> usize {
        alloc_size(self.capacity())
    }
}

impl HeapSize for Box<str> {
    fn heap_size(&self) -> usize {
        alloc_size(self.len())
    }
}

impl<T: HeapSize> HeapSize for Vec<T> {
    fn heap_size(&self) -> usize {
        alloc_size(self.capacity() * size_of::<T>()) + elements_heap(self)
    }
}

impl<T: HeapSize> HeapSize for Box<[T]> {
    fn heap_size(&self) -> usize {
        alloc_size(self.len() * size_of::<T>()) + elements_heap(self)
    }
}

impl<T: HeapSize> HeapSize for Box<T> {
    fn heap_size(&self) -> usize {
        alloc_size(size_of::<T>()) + (**self).heap_size()
    }
}

/// Reference-counted allocations carry two counters (16 bytes on 64-bit targets).
const RC_HEADER: usize = 2 * size_of::<usize>();

impl HeapSize for Arc<str> {
    fn heap_size(&self) -> usize {
        alloc_size(RC_HEADER + self.len())
    }
}

impl<T: HeapSize> HeapSize for Arc<[T]> {
    fn heap_size(&self) -> usize {
        alloc_size(RC_HEADER + self.len() * size_of::<T>()) + elements_heap(self)
    }
}

impl<T: HeapSize> HeapSize for Arc<T> {
    fn heap_size(&self) -> usize {
        alloc_size(RC_HEADER + size_of::<T>()) + (**self).heap_size()
    }
}

impl<T: HeapSize> HeapSize for Rc<T> {
    fn heap_size(&self) -> usize {
        alloc_size(RC_HEADER + size_of::<T>()) + (**self).heap_size()
    }
}

impl<T: HeapSize> HeapSize for Option<T> {
    fn heap_size(&self) -> usize {
        self.as_ref().map_or(0, HeapSize::heap_size)
    }
}

impl<A: HeapSize, B: HeapSize> HeapSize for (A, B) {
    fn heap_size(&self) -> usize {
        self.0.heap_size() + self.1.heap_size()
    }
}

impl<A: HeapSize, B: HeapSize, C: HeapSize> HeapSize for (A, B, C) {
    fn heap_size(&self) -> usize {
        self.0.heap_size() + self.1.heap_size() + self.2.heap_size()
    }
}

impl<A: HeapSize, B: HeapSize, C: HeapSize, D: HeapSize> HeapSize for (A, B, C, D) {
    fn heap_size(&self) -> usize {
        self.0.heap_size() + self.1.heap_size() + self.2.heap_size() + self.3.heap_size()
    }
}

/// Gives an entry its weight: the heap bytes its key and value own.
///
/// The cache adds its own per-entry overhead (the slot holding key and value inline, the hash
/// table's bucket, the policy's per-slot state) on top, so a weigher returns only what lives
/// outside the slot. Closures `Fn(&K, &V) -> u64` are weighers.
///
/// # Implementing
///
/// Weighing is called once per insert, under no lock; it must be deterministic for an unchanged
/// entry and should be cheap.
///
/// # Examples
///
/// ```
/// use cache_traits::{HeapWeigher, Weigher};
/// let by_len = |_k: &u64, v: &String| v.len() as u64;
/// assert_eq!(by_len.weigh(&1, &"abcd".to_string()), 4);
/// assert_eq!(HeapWeigher.weigh(&1u64, &String::with_capacity(100)), 112);
/// ```
pub trait Weigher<K, V>: Send + Sync {
    /// Heap bytes owned by this entry's key and value.
    fn weigh(&self, key: &K, value: &V) -> u64;
}

impl<K, V, F> Weigher<K, V> for F
where
    F: Fn(&K, &V) -> u64 + Send + Sync,
{
    fn weigh(&self, key: &K, value: &V) -> u64 {
        self(key, value)
    }
}

/// The default weigher: [`HeapSize`] of key plus value.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapWeigher;

impl<K: HeapSize, V: HeapSize> Weigher<K, V> for HeapWeigher {
    fn weigh(&self, key: &K, value: &V) -> u64 {
        (key.heap_size() + value.heap_size()) as u64
    }
}

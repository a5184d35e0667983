//! Entries that left a shard, carried out of its lock to be handed to the listener and dropped.

use cache_traits::RemovalCause;

/// One entry that left the cache.
pub(crate) struct Removal<K, V> {
    pub(crate) key: K,
    pub(crate) value: V,
    pub(crate) weight: u64,
    pub(crate) cause: RemovalCause,
    /// Whether the cache's observer tracks the entry (it was told of its insert).
    pub(crate) observed: bool,
}

/// A buffer of removals that holds two inline and spills to the heap after that, so that the
/// common insert (which evicts at most one or two entries) allocates nothing.
pub(crate) struct Removals<K, V> {
    first: Option<Removal<K, V>>,
    second: Option<Removal<K, V>>,
    rest: Vec<Removal<K, V>>,
    /// Whether any removal is of an entry the observer tracks.
    observed: bool,
}

impl<K, V> Removals<K, V> {
    #[inline]
    pub(crate) fn new() -> Self {
        Self {
            first: None,
            second: None,
            rest: Vec::new(),
            observed: false,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, removal: Removal<K, V>) {
        self.observed |= removal.observed;
        if self.first.is_none() {
            self.first = Some(removal);
        } else if self.second.is_none() {
            self.second = Some(removal);
        } else {
            self.rest.push(removal);
        }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Whether any removal is of an entry the observer tracks.
    #[inline]
    pub(crate) fn any_observed(&self) -> bool {
        self.observed
    }
}

impl<K, V> IntoIterator for Removals<K, V> {
    type Item = Removal<K, V>;
    type IntoIter = std::iter::Chain<
        std::iter::Chain<
            std::option::IntoIter<Removal<K, V>>,
            std::option::IntoIter<Removal<K, V>>,
        >,
        std::vec::IntoIter<Removal<K, V>>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.second).chain(self.rest)
    }
}

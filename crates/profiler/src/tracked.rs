//! The tracked entries: the live sample of the cache that the cache reports inserts and
//! removals of, and the per-namespace estimates made from it.

use cache_traits::RemovalCause;

use crate::namespace::N_SLOTS;
use crate::topk::{ByHash, truncate_label};

/// The number of removal causes.
const N_CAUSES: usize = RemovalCause::ALL.len();

/// One tracked entry. Each stands for `scale` entries of the cache: 1 when every such entry is
/// reported (a heavy one), the sampling period when it was sampled.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TrackedEntry {
    pub(crate) label: String,
    pub(crate) namespace: usize,
    pub(crate) weight: u64,
    pub(crate) scale: u64,
    /// Sampled reads that hit it since it was stored.
    pub(crate) hits: u64,
}

/// Estimates for one namespace: tracked figures times their scale.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct NamespaceEstimate {
    pub(crate) entries: u64,
    pub(crate) bytes: u64,
    pub(crate) inserts: u64,
    pub(crate) inserted_bytes: u64,
    pub(crate) removals: [u64; N_CAUSES],
    pub(crate) removed_bytes: [u64; N_CAUSES],
}

impl NamespaceEstimate {
    fn sum(counts: &[u64; N_CAUSES], evicted_only: bool) -> u64 {
        RemovalCause::ALL
            .iter()
            .zip(counts)
            .filter(|(cause, _)| !evicted_only || cause.was_evicted())
            .map(|(_, n)| *n)
            .fold(0, u64::saturating_add)
    }

    /// Entries evicted (size, expiry, pressure).
    pub(crate) fn evictions(&self) -> u64 {
        Self::sum(&self.removals, true)
    }

    /// Bytes evicted.
    pub(crate) fn evicted_bytes(&self) -> u64 {
        Self::sum(&self.removed_bytes, true)
    }

    /// Bytes removed for any cause.
    pub(crate) fn all_removed_bytes(&self) -> u64 {
        Self::sum(&self.removed_bytes, false)
    }
}

/// The tracked entries by key hash. A key can be there twice (an insert that replaces a
/// tracked value is reported before the old value's removal; two keys can share a hash): the
/// second goes to `extra`, a short list, so the common case costs no allocation of its own.
#[derive(Debug)]
pub(crate) struct Tracked {
    keys: ByHash<TrackedEntry>,
    extra: Vec<(u64, TrackedEntry)>,
    estimates: Vec<NamespaceEstimate>,
    /// Scaled bytes of tracked entries no sampled read has hit.
    unread: u64,
}

impl Tracked {
    pub(crate) fn new() -> Self {
        Self {
            keys: ByHash::default(),
            extra: Vec::new(),
            estimates: vec![NamespaceEstimate::default(); N_SLOTS],
            unread: 0,
        }
    }

    /// A tracked insert.
    pub(crate) fn insert(&mut self, hash: u64, entry: TrackedEntry) {
        if entry.hits == 0 {
            self.unread = self
                .unread
                .saturating_add(entry.weight.saturating_mul(entry.scale));
        }
        if let Some(e) = self.estimates.get_mut(entry.namespace) {
            let bytes = entry.weight.saturating_mul(entry.scale);
            e.entries = e.entries.saturating_add(entry.scale);
            e.bytes = e.bytes.saturating_add(bytes);
            e.inserts = e.inserts.saturating_add(entry.scale);
            e.inserted_bytes = e.inserted_bytes.saturating_add(bytes);
        }
        match self.keys.entry(hash) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(entry);
            }
            std::collections::hash_map::Entry::Occupied(_) => self.extra.push((hash, entry)),
        }
    }

    /// A tracked entry of `weight` under `hash` left for `cause`: the oldest of that weight
    /// (or the oldest) goes. Returns whether one was tracked.
    pub(crate) fn remove(&mut self, hash: u64, weight: u64, cause: RemovalCause) -> bool {
        let in_extra = |w: Option<u64>| {
            self.extra
                .iter()
                .position(|(h, e)| *h == hash && w.is_none_or(|w| e.weight == w))
        };
        let gone = match self.keys.get(&hash) {
            None => return false,
            Some(first) if first.weight == weight => {
                let first = self.keys.remove(&hash);
                // The next one under this hash, if any, takes its place.
                if let Some(i) = in_extra(None) {
                    let (_, next) = self.extra.swap_remove(i);
                    self.keys.insert(hash, next);
                }
                first
            }
            // None of that weight is tracked: the removal is of an entry tracked while the
            // profiler was off, or of another key with this hash; nothing to undo.
            Some(_) => in_extra(Some(weight)).map(|i| self.extra.swap_remove(i).1),
        };
        let Some(gone) = gone else {
            return false;
        };
        if gone.hits == 0 {
            self.unread = self
                .unread
                .saturating_sub(gone.weight.saturating_mul(gone.scale));
        }
        if let Some(e) = self.estimates.get_mut(gone.namespace) {
            let bytes = gone.weight.saturating_mul(gone.scale);
            e.entries = e.entries.saturating_sub(gone.scale);
            e.bytes = e.bytes.saturating_sub(bytes);
            let c = cause.index().min(N_CAUSES - 1);
            e.removals[c] = e.removals[c].saturating_add(gone.scale);
            e.removed_bytes[c] = e.removed_bytes[c].saturating_add(bytes);
        }
        true
    }

    /// A sampled read hit the key `hash`.
    pub(crate) fn hit(&mut self, hash: u64) {
        if let Some(e) = self.keys.get_mut(&hash) {
            if e.hits == 0 {
                self.unread = self.unread.saturating_sub(e.weight.saturating_mul(e.scale));
            }
            e.hits += 1;
        }
    }

    /// The estimates of namespace slot `i`.
    pub(crate) fn estimate(&self, i: usize) -> NamespaceEstimate {
        self.estimates.get(i).copied().unwrap_or_default()
    }

    /// Scaled bytes of tracked entries no sampled read has hit, kept as they change.
    pub(crate) fn unread_bytes(&self) -> u64 {
        self.unread
    }

    /// Tracked entries now.
    pub(crate) fn len(&self) -> usize {
        self.keys.len() + self.extra.len()
    }

    fn entries(&self) -> impl Iterator<Item = &TrackedEntry> {
        self.keys.values().chain(self.extra.iter().map(|(_, e)| e))
    }

    /// The `n` heaviest tracked entries.
    pub(crate) fn heaviest(&self, n: usize) -> Vec<TrackedEntry> {
        let mut all: Vec<&TrackedEntry> = self.entries().collect();
        all.sort_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.label.cmp(&b.label)));
        all.into_iter().take(n).cloned().collect()
    }

    /// The estimated bytes of entries no sampled read hit, and the `n` heaviest of them.
    pub(crate) fn unread(&self, n: usize) -> (u64, Vec<TrackedEntry>) {
        let mut all: Vec<&TrackedEntry> = self.entries().filter(|e| e.hits == 0).collect();
        let bytes = all
            .iter()
            .map(|e| e.weight.saturating_mul(e.scale))
            .fold(0, u64::saturating_add);
        all.sort_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.label.cmp(&b.label)));
        (bytes, all.into_iter().take(n).cloned().collect())
    }
}

/// A tracked entry's label: its key's `Debug`, cut to size.
pub(crate) fn entry_label(text: String) -> String {
    truncate_label(text)
}

#[cfg(test)]
mod tests;

//! Key tables: the space-saving table of the most read keys, and the table of the heaviest
//! live keys.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The tables' keys are already 64-bit hashes: they index by them as they are.
#[derive(Default)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

pub(crate) type ByHash<V> = HashMap<u64, V, BuildHasherDefault<Prehashed>>;

#[cfg(test)]
mod tests;

/// The longest key label kept, in characters.
pub(crate) const LABEL_CHARS: usize = 80;

/// `text` cut to [`LABEL_CHARS`] characters (with `…` when cut).
pub(crate) fn truncate_label(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(LABEL_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// One key in [`SpaceSaving`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Counted {
    pub(crate) hash: u64,
    pub(crate) label: String,
    pub(crate) namespace: usize,
    /// Estimated reads (an over-estimate by at most `error`).
    pub(crate) count: u64,
    pub(crate) error: u64,
}

/// The space-saving algorithm (Metwally, Agrawal and El Abbadi, 2005): `capacity` counters;
/// a key not in the table takes the place of the least counted one and inherits its count as
/// its error bound. Any key read more than `total / capacity` times is in the table.
#[derive(Debug)]
pub(crate) struct SpaceSaving {
    capacity: usize,
    entries: Vec<Counted>,
    index: ByHash<usize>,
    total: u64,
}

impl SpaceSaving {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Vec::new(),
            index: ByHash::default(),
            total: 0,
        }
    }

    /// Counts `by` reads of the key `hash`; `label` is called only on the key's second sighting
    /// while in the table (a key seen once is shown by its hash).
    pub(crate) fn record(
        &mut self,
        hash: u64,
        namespace: usize,
        by: u64,
        label: impl FnOnce() -> String,
    ) {
        if let Some(&i) = self.index.get(&hash) {
            if let Some(e) = self.entries.get_mut(i) {
                // A key is named on its second sighting: keys that pass through the table once
                // (most of a long tail) never pay for formatting. The label comes first, so a
                // panicking one changes nothing.
                if e.label.is_empty() {
                    e.label = truncate_label(label());
                }
                e.count = e.count.saturating_add(by);
            }
            self.total = self.total.saturating_add(by);
            return;
        }
        let label = String::new();
        self.total = self.total.saturating_add(by);
        if self.entries.len() < self.capacity {
            self.index.insert(hash, self.entries.len());
            self.entries.push(Counted {
                hash,
                label,
                namespace,
                count: by,
                error: 0,
            });
            return;
        }
        let Some((i, _)) = self.entries.iter().enumerate().min_by_key(|(_, e)| e.count) else {
            return;
        };
        let e = &mut self.entries[i];
        self.index.remove(&e.hash);
        self.index.insert(hash, i);
        let floor = e.count;
        *e = Counted {
            hash,
            label,
            namespace,
            count: floor.saturating_add(by),
            error: floor,
        };
    }

    /// Reads counted in all.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// The `n` most counted keys, most first.
    pub(crate) fn top(&self, n: usize) -> Vec<Counted> {
        let mut all = self.entries.clone();
        for e in &mut all {
            if e.label.is_empty() {
                e.label = format!("key #{:016x}", e.hash);
            }
        }
        all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
        all.truncate(n);
        all
    }
}

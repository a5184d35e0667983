//! What a cache tells a report: its memory and counters, as one section.

use std::hash::{BuildHasher, Hash};

use cache_traits::{
    Cell, EvictionPolicy, Metric, RemovalCause, ReportSource, Section, Table, Unit,
};

use crate::Cache;

impl<K, V, P, S> ReportSource for Cache<K, V, P, S>
where
    K: Hash + Eq + Send + Sync,
    V: Send + Sync,
    P: EvictionPolicy,
    S: BuildHasher + Send + Sync,
{
    /// One section, `cache.<name>`: metrics named as Redis names them where the meaning is
    /// the same (`used_memory`, `maxmemory`, `keys`, `keyspace_hits`, `keyspace_misses`,
    /// `evicted_keys`, `expired_keys`), labelled `cache`, and a table of removals by cause.
    fn sections(&self) -> Vec<Section> {
        let name = self.name();
        let stats = self.stats();
        let mut section = Section::new(format!("cache.{name}"), format!("Cache {name}"));
        let n = |v: u64| v as f64;
        let evicted = stats.removals(RemovalCause::Size) + stats.removals(RemovalCause::Pressure);
        section.metrics = [
            Metric::gauge(
                "used_memory",
                "Bytes the cache is charged for (entries and their overhead)",
                Unit::Bytes,
                n(self.weighted_size()),
            ),
            Metric::gauge(
                "maxmemory",
                "The cache's byte budget (0: no byte budget, as in Redis)",
                Unit::Bytes,
                n(unbounded_as_zero(self.capacity())),
            ),
            Metric::gauge(
                "maxkeys",
                "The cache's entry bound (0: none)",
                Unit::None,
                n(unbounded_as_zero(self.max_entries())),
            ),
            Metric::gauge(
                "structure_memory",
                "Bytes of the cache's tables and slabs",
                Unit::Bytes,
                n(self.structure_bytes()),
            ),
            Metric::gauge("keys", "Entries held", Unit::None, n(self.entry_count())),
            Metric::counter(
                "keyspace_hits",
                "Lookups that found a live entry",
                Unit::None,
                n(stats.hits),
            ),
            Metric::counter(
                "keyspace_misses",
                "Lookups that found nothing",
                Unit::None,
                n(stats.misses),
            ),
            Metric::gauge(
                "hit_ratio",
                "Hits over lookups since the cache was built",
                Unit::Ratio,
                stats.hit_ratio(),
            ),
            Metric::counter("inserts", "Entries inserted", Unit::None, n(stats.inserts)),
            Metric::counter(
                "evicted_keys",
                "Entries evicted to stay within the budget or under memory pressure",
                Unit::None,
                n(evicted),
            ),
            Metric::counter(
                "expired_keys",
                "Entries whose time-to-live or time-to-idle ran out",
                Unit::None,
                n(stats.removals(RemovalCause::Expired)),
            ),
            Metric::counter(
                "loads",
                "Loads that produced a value",
                Unit::None,
                n(stats.load_successes),
            ),
            Metric::counter(
                "load_failures",
                "Loads that failed or panicked",
                Unit::None,
                n(stats.load_failures),
            ),
            Metric::counter(
                "load_time",
                "Time spent in loaders",
                Unit::Seconds,
                stats.load_nanos as f64 / 1e9,
            ),
        ]
        .into_iter()
        .map(|m| m.label("cache", name))
        .collect();
        for &cause in RemovalCause::ALL {
            section.metrics.push(
                Metric::counter(
                    "removed_memory",
                    "Bytes of entries removed, by cause",
                    Unit::Bytes,
                    n(stats.removed_weight_of(cause)),
                )
                .label("cache", name)
                .label("cause", cause.as_str()),
            );
        }
        let mut removals = Table::new(
            "removals",
            "Removals by cause",
            &["cause", "entries", "bytes"],
        );
        for &cause in RemovalCause::ALL {
            removals.push(vec![
                Cell::from(cause.as_str()),
                Cell::from(stats.removals(cause)),
                Cell::from(stats.removed_weight_of(cause)),
            ]);
        }
        section.tables.push(removals);
        vec![section]
    }
}

/// `u64::MAX` (no bound) as 0, Redis's "no limit".
fn unbounded_as_zero(bound: u64) -> u64 {
    if bound == u64::MAX { 0 } else { bound }
}

#[cfg(test)]
mod tests;

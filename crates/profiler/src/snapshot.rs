//! What a profiler has seen, as plain data: [`ProfileSnapshot`] and its parts.

use std::sync::atomic::Ordering;

use cache_traits::{Operation, RemovalCause};
use histogram::{AtomicHistogram, Bucket};

use crate::config::Mode;
use crate::namespace::{N_SLOTS, NamespaceCounters};
use crate::profiler::{Profiler, lock};
use crate::tracked::NamespaceEstimate;

#[cfg(test)]
mod tests;

/// Loads a namespace (or the whole cache) must have measured before its allocation ratio
/// counts.
pub(crate) const MIN_MEASURED_LOADS: u64 = 16;

/// Latency quantiles of one operation, in nanoseconds (the upper end of the histogram bucket
/// holding the quantile, within 1/32 of the true value); `None` when nothing was timed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct OpLatency {
    /// The operation.
    pub op: Operation,
    /// Operations timed (sampled ones only, except loads).
    pub count: u64,
    /// Median.
    pub p50: Option<u64>,
    /// 90th percentile.
    pub p90: Option<u64>,
    /// 99th percentile.
    pub p99: Option<u64>,
    /// 99.9th percentile.
    pub p999: Option<u64>,
    /// The slowest.
    pub max: Option<u64>,
}

/// What one namespace holds and how it is used.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct NamespaceProfile {
    /// Its name (`"other"` gathers the namespaces beyond the 64th).
    pub name: &'static str,
    /// Entries stored now.
    pub entries: u64,
    /// Bytes charged for them now.
    pub bytes: u64,
    /// Inserts (stored loads included).
    pub inserts: u64,
    /// Estimated hits (sampled hits, each counting as its sampling period).
    pub est_hits: u64,
    /// Estimated misses.
    pub est_misses: u64,
    /// `est_hits / (est_hits + est_misses)`; `None` before any sampled read.
    pub hit_ratio: Option<f64>,
    /// Entries removed, per cause, in [`RemovalCause::ALL`] order.
    pub removals: Vec<(RemovalCause, u64)>,
    /// Entries the cache evicted (size, expiry, pressure).
    pub evictions: u64,
    /// Bytes of evicted entries.
    pub evicted_bytes: u64,
    /// Bytes of all removed entries (replaced and explicitly removed ones included).
    pub removed_bytes: u64,
    /// Bytes inserted in all.
    pub inserted_bytes: u64,
    /// Bytes inserted per second since the previous snapshot (since the profiler was built,
    /// for the first).
    pub churn_in: f64,
    /// Bytes removed per second over the same time.
    pub churn_out: f64,
    /// Loader runs.
    pub loads: u64,
    /// Loader runs that failed.
    pub load_failures: u64,
    /// Median load latency in nanoseconds.
    pub load_p50: Option<u64>,
    /// 99th-percentile load latency in nanoseconds.
    pub load_p99: Option<u64>,
    /// Successful loads whose allocations the probe measured.
    pub measured_loads: u64,
    /// Bytes the cache charged per measured load.
    pub charged_per_load: Option<f64>,
    /// Net bytes the loader allocated per measured load (what the value really holds, plus
    /// anything else the loader kept).
    pub allocated_per_load: Option<f64>,
    /// `allocated / charged` over the measured loads: above 1 when the weigher under-counts.
    pub alloc_ratio: Option<f64>,
}

/// A key read often, from the space-saving table.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct HotKey {
    /// The key's `Debug` text, cut to 80 characters.
    pub label: String,
    /// Its namespace.
    pub namespace: &'static str,
    /// Estimated reads (an over-estimate by at most `error`).
    pub est_reads: u64,
    /// Its share of all estimated reads.
    pub share: f64,
    /// The most `est_reads` may over-count.
    pub error: u64,
}

/// One of the heaviest tracked entries.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct HeavyKey {
    /// The key's `Debug` text, cut to 80 characters.
    pub label: String,
    /// Its namespace.
    pub namespace: &'static str,
    /// Bytes charged for it.
    pub bytes: u64,
    /// Sampled reads that hit it since it was stored.
    pub sampled_hits: u64,
}

/// What a [`MemoryHotspot`] is.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HotspotKind {
    /// A namespace holding at least twice its share of hits in bytes (and 10 % of all bytes).
    Namespace,
    /// A heavy tracked entry no read has hit since it was stored (in [`Mode::On`] only).
    UnreadKey,
}

/// Memory that earns little: a namespace or a key.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryHotspot {
    /// Namespace or key.
    pub kind: HotspotKind,
    /// The namespace's name, or the key's label.
    pub name: String,
    /// The namespace (the key's, for a key).
    pub namespace: &'static str,
    /// Bytes it holds.
    pub bytes: u64,
    /// Its share of all charged bytes.
    pub byte_share: f64,
    /// Its share of estimated hits (0 for an unread key).
    pub hit_share: f64,
}

/// The loads from one call site (feature `backtraces`), among the loads sampled for
/// backtraces.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct LoadSite {
    /// `function at file:line` of the first frame outside the cache, the profiler and std.
    pub site: String,
    /// Sampled loads from it.
    pub loads: u64,
    /// Bytes the cache charged for them.
    pub charged_bytes: u64,
    /// Net bytes they allocated, where measured.
    pub allocated_bytes: u64,
}

/// Everything a profiler has seen, as of one moment.
///
/// Taking a snapshot moves the baseline of the churn rates, so the rates of the next one are
/// over the time between the two.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileSnapshot {
    /// The cache's name.
    pub name: String,
    /// The sampling mode.
    pub mode: Mode,
    /// Latency per operation, in [`Operation::ALL`] order.
    pub latency: Vec<OpLatency>,
    /// Namespaces with anything recorded, most bytes first.
    pub namespaces: Vec<NamespaceProfile>,
    /// The most read keys, most first.
    pub hot_keys: Vec<HotKey>,
    /// The heaviest tracked entries, heaviest first.
    pub heavy_keys: Vec<HeavyKey>,
    /// Namespaces and keys holding memory out of proportion to their hits.
    pub hotspots: Vec<MemoryHotspot>,
    /// Bytes the cache charged for evicted values it dropped while the probe measured.
    pub freed_charged: u64,
    /// Bytes the allocator saw freed on those drops: far below `freed_charged` when evicted
    /// values are kept alive elsewhere (clones of an `Arc`).
    pub freed_seen: u64,
    /// Charged bytes × the allocated/charged ratio over all measured loads: what the cache
    /// really holds, once 16 loads were measured.
    pub real_bytes_estimate: Option<u64>,
    /// Estimated bytes of entries no read hit since they were stored, from the tracked entries;
    /// only in [`Mode::On`], where every read is seen (`None` otherwise, or while none is
    /// tracked).
    pub unread_bytes_estimate: Option<u64>,
    /// Call sites of sampled loads, most bytes first (feature `backtraces`; empty without).
    pub load_sites: Vec<LoadSite>,
}

/// Quantiles of `h`: p50, p90, p99, p99.9, max and the count.
fn quantiles(h: &AtomicHistogram) -> (u64, [Option<u64>; 5]) {
    let h = h.load();
    let count = h.as_slice().iter().sum();
    let mut out: [Option<Bucket>; 5] = [const { None }; 5];
    if count == 0
        || h.quantile_buckets_into(&[0.5, 0.9, 0.99, 0.999, 1.0], &mut out)
            .is_err()
    {
        return (count, [None; 5]);
    }
    (count, out.map(|b| b.map(|b| b.end())))
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn load(c: &std::sync::atomic::AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

impl<K: ?Sized> Profiler<K> {
    /// The figures as of now.
    ///
    /// It reads relaxed counters that other threads keep changing, so figures of one snapshot
    /// may be a few operations apart.
    pub fn snapshot(&self) -> ProfileSnapshot {
        let latency = Operation::ALL
            .iter()
            .map(|&op| {
                let h = match op {
                    Operation::GetHit => &self.get_hit,
                    Operation::GetMiss => &self.get_miss,
                    Operation::Insert => &self.insert,
                    _ => &self.load,
                };
                let (count, [p50, p90, p99, p999, max]) = quantiles(h);
                OpLatency {
                    op,
                    count,
                    p50,
                    p90,
                    p99,
                    p999,
                    max,
                }
            })
            .collect();

        let now = self.clock.now_nanos();
        let mut namespaces = Vec::new();
        // One look at the tracked entries for everything drawn from them.
        let (estimates, heavy, unread) = {
            let t = lock(&self.tracked);
            let estimates: Vec<_> = (0..N_SLOTS).map(|i| t.estimate(i)).collect();
            // "Never read" needs every read seen: only when every read is sampled.
            let unread = (self.period.load(Ordering::Relaxed) == 1 && t.len() > 0)
                .then(|| t.unread(self.top_keys));
            (estimates, t.heaviest(self.top_keys), unread)
        };
        {
            let mut churn = lock(&self.churn);
            let secs = now.saturating_sub(churn.at_nanos) as f64 / 1e9;
            for slot in self.namespaces.in_use() {
                let (Some(name), Some(c)) =
                    (self.namespaces.name(slot), self.namespaces.slots.get(slot))
                else {
                    continue;
                };
                let est = estimates.get(slot).copied().unwrap_or_default();
                let inserted = est.inserted_bytes;
                let removed = est.all_removed_bytes();
                if slot < N_SLOTS && secs > 0.0 {
                    let d_in = inserted.saturating_sub(churn.inserted[slot]) as f64;
                    let d_out = removed.saturating_sub(churn.removed[slot]) as f64;
                    churn.rates[slot] = (d_in / secs, d_out / secs);
                    churn.inserted[slot] = inserted;
                    churn.removed[slot] = removed;
                }
                let p = namespace_profile(name, c, &est, churn.rates[slot]);
                if [
                    p.inserts,
                    p.est_hits,
                    p.est_misses,
                    p.loads,
                    p.removed_bytes,
                ]
                .iter()
                .any(|&n| n > 0)
                    || p.entries > 0
                {
                    namespaces.push(p);
                }
            }
            if secs > 0.0 {
                churn.at_nanos = now;
            }
        }
        namespaces.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(b.name)));

        let name_of = |slot: usize| self.namespaces.name(slot).unwrap_or("other");
        let (hot, total_reads) = {
            let t = lock(&self.hot);
            (t.top(self.top_keys), t.total())
        };
        let hot_keys = hot
            .into_iter()
            .map(|c| HotKey {
                label: c.label,
                namespace: name_of(c.namespace),
                est_reads: c.count,
                share: ratio(c.count, total_reads).unwrap_or(0.0),
                error: c.error,
            })
            .collect();

        let heavy_keys = heavy
            .into_iter()
            .map(|h| HeavyKey {
                label: h.label,
                namespace: name_of(h.namespace),
                bytes: h.weight,
                sampled_hits: h.hits,
            })
            .collect();

        let total_bytes: u64 = namespaces
            .iter()
            .map(|n| n.bytes)
            .fold(0, u64::saturating_add);
        let total_hits: u64 = namespaces
            .iter()
            .map(|n| n.est_hits)
            .fold(0, u64::saturating_add);
        let mut hotspots = Vec::new();
        if total_bytes > 0 && total_hits > 0 {
            for n in &namespaces {
                let byte_share = n.bytes as f64 / total_bytes as f64;
                let hit_share = n.est_hits as f64 / total_hits as f64;
                if byte_share >= 0.1 && byte_share >= 2.0 * hit_share {
                    hotspots.push(MemoryHotspot {
                        kind: HotspotKind::Namespace,
                        name: n.name.to_owned(),
                        namespace: n.name,
                        bytes: n.bytes,
                        byte_share,
                        hit_share,
                    });
                }
            }
        }
        if let Some((_, keys)) = &unread {
            for h in keys {
                hotspots.push(MemoryHotspot {
                    kind: HotspotKind::UnreadKey,
                    name: h.label.clone(),
                    namespace: name_of(h.namespace),
                    bytes: h.weight,
                    byte_share: ratio(h.weight, total_bytes).unwrap_or(0.0),
                    hit_share: 0.0,
                });
            }
        }
        let unread_bytes_estimate = unread.map(|(bytes, _)| bytes);

        let measured: u64 = namespaces
            .iter()
            .map(|n| n.measured_loads)
            .fold(0, u64::saturating_add);
        let (charged, allocated) = self
            .namespaces
            .slots
            .iter()
            .fold((0u64, 0u64), |(c, a), n| {
                (
                    c.saturating_add(load(&n.measured_charged)),
                    a.saturating_add(load(&n.measured_allocated)),
                )
            });
        let real_bytes_estimate = (measured >= MIN_MEASURED_LOADS)
            .then(|| ratio(allocated, charged))
            .flatten()
            .map(|r| (total_bytes as f64 * r) as u64);

        ProfileSnapshot {
            name: self.name.clone(),
            mode: self.mode(),
            latency,
            namespaces,
            hot_keys,
            heavy_keys,
            hotspots,
            freed_charged: load(&self.freed_charged),
            freed_seen: load(&self.freed_seen),
            real_bytes_estimate,
            unread_bytes_estimate,
            load_sites: self.load_sites(),
        }
    }

    #[cfg(feature = "backtraces")]
    fn load_sites(&self) -> Vec<LoadSite> {
        self.sites
            .top(10)
            .into_iter()
            .map(|(site, t)| LoadSite {
                site,
                loads: t.loads,
                charged_bytes: t.charged,
                allocated_bytes: t.allocated,
            })
            .collect()
    }

    #[cfg(not(feature = "backtraces"))]
    fn load_sites(&self) -> Vec<LoadSite> {
        Vec::new()
    }
}

fn namespace_profile(
    name: &'static str,
    c: &NamespaceCounters,
    est: &NamespaceEstimate,
    (churn_in, churn_out): (f64, f64),
) -> NamespaceProfile {
    let est_hits = load(&c.est_hits);
    let est_misses = load(&c.est_misses);
    let (load_p50, load_p99) = match c.load_latency.get().map(quantiles) {
        Some((_, [p50, _, p99, _, _])) => (p50, p99),
        None => (None, None),
    };
    let measured_loads = load(&c.measured_loads);
    let measured_charged = load(&c.measured_charged);
    let measured_allocated = load(&c.measured_allocated);
    NamespaceProfile {
        name,
        entries: est.entries,
        bytes: est.bytes,
        inserts: est.inserts,
        est_hits,
        est_misses,
        hit_ratio: ratio(est_hits, est_hits.saturating_add(est_misses)),
        removals: RemovalCause::ALL
            .iter()
            .zip(est.removals)
            .map(|(&cause, n)| (cause, n))
            .collect(),
        evictions: est.evictions(),
        evicted_bytes: est.evicted_bytes(),
        removed_bytes: est.all_removed_bytes(),
        inserted_bytes: est.inserted_bytes,
        churn_in,
        churn_out,
        loads: load(&c.loads),
        load_failures: load(&c.load_failures),
        load_p50,
        load_p99,
        measured_loads,
        charged_per_load: ratio(measured_charged, measured_loads),
        allocated_per_load: ratio(measured_allocated, measured_loads),
        alloc_ratio: ratio(measured_allocated, measured_charged),
    }
}

//! What a profiler tells a report: one section, `profile.<cache name>`, with labelled metrics,
//! tables and findings.

use cache_traits::{Finding, Metric, ReportSource, Section, Severity, Table, Unit};

use crate::profiler::Profiler;
use crate::snapshot::{HotspotKind, MIN_MEASURED_LOADS, ProfileSnapshot};

#[cfg(test)]
mod tests;

/// Loads allocating this many times what the cache charged mean the weigher under-counts.
const UNDERCOUNT_RATIO: f64 = 1.5;

/// Evicted values freeing less than this share of their charge are kept alive elsewhere.
const RETAINED_SHARE: f64 = 0.5;

/// Charged bytes of dropped evicted values before [`RETAINED_SHARE`] is judged.
const RETAINED_MIN_BYTES: u64 = 1 << 20;

/// The `percentile` label of the latency gauges (Prometheus reserves `quantile` for summaries,
/// which these, read off a histogram, are not).
const PERCENTILES: [&str; 5] = ["50", "90", "99", "99.9", "100"];

impl<K: ?Sized> ReportSource for Profiler<K> {
    /// One section, `profile.<name>`: latency quantiles per operation, per-namespace entries,
    /// bytes, hits, evictions, churn and load allocations (labelled `cache` and `namespace`),
    /// the hot, heavy and unread keys as tables, and findings about under-counting weighers,
    /// memory hotspots and evicted values kept alive.
    fn sections(&self) -> Vec<Section> {
        vec![section(&self.snapshot())]
    }
}

/// The report section of a snapshot.
pub(crate) fn section(s: &ProfileSnapshot) -> Section {
    let mut section = Section::new(
        format!("profile.{}", s.name),
        format!("Profile: {}", s.name),
    );
    metrics(s, &mut section.metrics);
    tables(s, &mut section.tables);
    findings(s, &mut section.findings);
    section
}

fn metrics(s: &ProfileSnapshot, out: &mut Vec<Metric>) {
    let cache = s.name.as_str();
    let n = |v: u64| v as f64;
    out.push(
        Metric::gauge(
            "profile_sampling_period",
            "Operations per sampled read or insert (0: profiling off)",
            Unit::None,
            f64::from(s.mode.period()),
        )
        .label("cache", cache),
    );
    for l in &s.latency {
        out.push(
            Metric::counter(
                "latency_samples",
                "Operations timed (sampled ones only, except loads)",
                Unit::None,
                n(l.count),
            )
            .label("cache", cache)
            .label("op", l.op.as_str()),
        );
        for (q, v) in PERCENTILES.iter().zip([l.p50, l.p90, l.p99, l.p999, l.max]) {
            let Some(v) = v else { continue };
            out.push(
                Metric::gauge(
                    "latency",
                    "Latency percentile of an operation (100: the slowest sampled)",
                    Unit::Seconds,
                    v as f64 / 1e9,
                )
                .label("cache", cache)
                .label("op", l.op.as_str())
                .label("percentile", *q),
            );
        }
    }
    for ns in &s.namespaces {
        let labelled = |m: Metric| m.label("cache", cache).label("namespace", ns.name);
        out.extend(
            [
                Metric::gauge(
                    "namespace_entries",
                    "Entries stored",
                    Unit::None,
                    n(ns.entries),
                ),
                Metric::gauge(
                    "namespace_bytes",
                    "Bytes charged for the stored entries",
                    Unit::Bytes,
                    n(ns.bytes),
                ),
                Metric::counter(
                    "namespace_hits",
                    "Estimated hits (sampled hits times the sampling period)",
                    Unit::None,
                    n(ns.est_hits),
                ),
                Metric::counter(
                    "namespace_misses",
                    "Estimated misses (sampled misses times the sampling period)",
                    Unit::None,
                    n(ns.est_misses),
                ),
                Metric::counter(
                    "namespace_evictions",
                    "Entries evicted (size, expiry, pressure)",
                    Unit::None,
                    n(ns.evictions),
                ),
                Metric::counter(
                    "namespace_inserted_bytes",
                    "Bytes inserted",
                    Unit::Bytes,
                    n(ns.inserted_bytes),
                ),
                Metric::counter(
                    "namespace_evicted_bytes",
                    "Bytes of evicted entries",
                    Unit::Bytes,
                    n(ns.evicted_bytes),
                ),
                Metric::gauge(
                    "namespace_churn_in",
                    "Bytes inserted per second since the previous report",
                    Unit::None,
                    ns.churn_in,
                ),
                Metric::gauge(
                    "namespace_churn_out",
                    "Bytes removed per second since the previous report",
                    Unit::None,
                    ns.churn_out,
                ),
                Metric::counter("namespace_loads", "Loader runs", Unit::None, n(ns.loads)),
            ]
            .map(labelled),
        );
        if let Some(r) = ns.alloc_ratio {
            out.push(labelled(Metric::gauge(
                "namespace_load_alloc",
                "Bytes loads allocated per byte the cache charged",
                Unit::Ratio,
                r,
            )));
        }
    }
    let opt = |v: Option<u64>| v.map(|v| v as f64);
    for (name, help, v) in [
        (
            "profile_real_memory",
            "Charged bytes scaled by what loads really allocated per charged byte",
            opt(s.real_bytes_estimate),
        ),
        (
            "profile_unread_memory",
            "Estimated bytes of entries no read hit since they were stored (mode on only)",
            opt(s.unread_bytes_estimate),
        ),
    ] {
        if let Some(v) = v {
            out.push(Metric::gauge(name, help, Unit::Bytes, v).label("cache", cache));
        }
    }
    out.push(
        Metric::counter(
            "profile_freed_charged",
            "Bytes charged for evicted values the cache dropped while measured",
            Unit::Bytes,
            n(s.freed_charged),
        )
        .label("cache", cache),
    );
    out.push(
        Metric::counter(
            "profile_freed_seen",
            "Bytes the allocator saw freed when those values were dropped",
            Unit::Bytes,
            n(s.freed_seen),
        )
        .label("cache", cache),
    );
}

fn tables(s: &ProfileSnapshot, out: &mut Vec<Table>) {
    let mut t = Table::new(
        "latency",
        "Latency by operation",
        &[
            "op", "count", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns",
        ],
    );
    for l in &s.latency {
        t.push(vec![
            l.op.as_str().into(),
            l.count.into(),
            l.p50.into(),
            l.p90.into(),
            l.p99.into(),
            l.p999.into(),
            l.max.into(),
        ]);
    }
    out.push(t);

    let mut t = Table::new(
        "namespaces",
        "Namespaces",
        &[
            "namespace",
            "entries",
            "bytes",
            "est_hits",
            "est_misses",
            "hit_ratio",
            "evictions",
            "evicted_bytes",
            "inserted_bytes",
            "churn_in_bytes_per_sec",
            "churn_out_bytes_per_sec",
            "loads",
            "load_failures",
            "load_p50_ns",
            "load_p99_ns",
        ],
    );
    for ns in &s.namespaces {
        t.push(vec![
            ns.name.into(),
            ns.entries.into(),
            ns.bytes.into(),
            ns.est_hits.into(),
            ns.est_misses.into(),
            ns.hit_ratio.into(),
            ns.evictions.into(),
            ns.evicted_bytes.into(),
            ns.inserted_bytes.into(),
            ns.churn_in.into(),
            ns.churn_out.into(),
            ns.loads.into(),
            ns.load_failures.into(),
            ns.load_p50.into(),
            ns.load_p99.into(),
        ]);
    }
    out.push(t);

    let mut t = Table::new(
        "hot_keys",
        "Hot keys",
        &["key", "namespace", "est_reads", "share", "error"],
    );
    for k in &s.hot_keys {
        t.push(vec![
            k.label.as_str().into(),
            k.namespace.into(),
            k.est_reads.into(),
            k.share.into(),
            k.error.into(),
        ]);
    }
    out.push(t);

    let mut t = Table::new(
        "heavy_keys",
        "Heavy keys",
        &["key", "namespace", "bytes", "sampled_hits"],
    );
    for k in &s.heavy_keys {
        t.push(vec![
            k.label.as_str().into(),
            k.namespace.into(),
            k.bytes.into(),
            k.sampled_hits.into(),
        ]);
    }
    out.push(t);

    let mut t = Table::new(
        "memory_hotspots",
        "Memory hotspots",
        &[
            "kind",
            "name",
            "namespace",
            "bytes",
            "byte_share",
            "hit_share",
        ],
    );
    for h in &s.hotspots {
        let kind = match h.kind {
            HotspotKind::Namespace => "namespace",
            HotspotKind::UnreadKey => "unread_key",
        };
        t.push(vec![
            kind.into(),
            h.name.as_str().into(),
            h.namespace.into(),
            h.bytes.into(),
            h.byte_share.into(),
            h.hit_share.into(),
        ]);
    }
    out.push(t);

    let mut t = Table::new(
        "allocation_by_namespace",
        "Allocation by namespace",
        &[
            "namespace",
            "measured_loads",
            "charged_per_load",
            "allocated_per_load",
            "ratio",
        ],
    );
    for ns in s.namespaces.iter().filter(|ns| ns.measured_loads > 0) {
        t.push(vec![
            ns.name.into(),
            ns.measured_loads.into(),
            ns.charged_per_load.into(),
            ns.allocated_per_load.into(),
            ns.alloc_ratio.into(),
        ]);
    }
    out.push(t);

    if cfg!(feature = "backtraces") {
        let mut t = Table::new(
            "load_call_sites",
            "Load call sites",
            &["site", "sampled_loads", "charged_bytes", "allocated_bytes"],
        );
        for site in &s.load_sites {
            t.push(vec![
                site.site.as_str().into(),
                site.loads.into(),
                site.charged_bytes.into(),
                site.allocated_bytes.into(),
            ]);
        }
        out.push(t);
    }
}

fn findings(s: &ProfileSnapshot, out: &mut Vec<Finding>) {
    for ns in &s.namespaces {
        let (Some(charged), Some(allocated), Some(r)) =
            (ns.charged_per_load, ns.allocated_per_load, ns.alloc_ratio)
        else {
            continue;
        };
        if ns.measured_loads >= MIN_MEASURED_LOADS && r >= UNDERCOUNT_RATIO {
            out.push(
                Finding::new(
                    Severity::Warning,
                    "QC-PROFILE-WEIGHER-UNDERCOUNT",
                    format!(
                        "loads in namespace {} allocate {r:.1}× what the cache charges for them",
                        ns.name
                    ),
                    format!(
                        "fix the weigher / HeapSize impl for the values of namespace {}: it \
                         charges {charged:.0} bytes per value while loading one allocates \
                         {allocated:.0}, so the cache holds about {r:.1}× its byte budget",
                        ns.name
                    ),
                )
                .evidence("namespace", ns.name)
                .evidence("measured_loads", ns.measured_loads)
                .evidence("charged_bytes_per_load", format!("{charged:.0}"))
                .evidence("allocated_bytes_per_load", format!("{allocated:.0}"))
                .evidence("ratio", format!("{r:.2}")),
            );
        }
    }
    for h in s
        .hotspots
        .iter()
        .filter(|h| h.kind == HotspotKind::Namespace)
    {
        out.push(
            Finding::new(
                Severity::Info,
                "QC-PROFILE-MEMORY-HOTSPOT",
                format!(
                    "namespace {} holds {:.0} % of the bytes for {:.0} % of the hits",
                    h.namespace,
                    h.byte_share * 100.0,
                    h.hit_share * 100.0
                ),
                format!(
                    "consider a shorter TTL, a smaller bound or not caching namespace {} (or \
                     caching smaller values for it): its bytes earn few hits",
                    h.namespace
                ),
            )
            .evidence("namespace", h.namespace)
            .evidence("bytes", h.bytes)
            .evidence("byte_share", format!("{:.3}", h.byte_share))
            .evidence("hit_share", format!("{:.3}", h.hit_share)),
        );
    }
    if s.freed_charged >= RETAINED_MIN_BYTES
        && (s.freed_seen as f64) < RETAINED_SHARE * s.freed_charged as f64
    {
        out.push(
            Finding::new(
                Severity::Warning,
                "QC-PROFILE-EVICTION-RETAINED",
                format!(
                    "dropping evicted values freed {} of the {} bytes charged for them",
                    s.freed_seen, s.freed_charged
                ),
                "evicted values stay alive elsewhere (clones of an Arc held outside the \
                 cache): evicting them frees little, so the cache's byte budget does not bound \
                 memory; drop outside references sooner or charge only what the cache owns",
            )
            .evidence("freed_charged_bytes", s.freed_charged)
            .evidence("freed_seen_bytes", s.freed_seen),
        );
    }
}

//! What the memory manager tells a report: the process's memory and limits, the pressure
//! level and relief, and the sizer's budgets, from its last view.

use std::sync::Arc;

use cache_traits::{
    Cell, Event, Finding, MemorySample, Metric, PressureLevel, ReportSource, Section, Severity,
    Table, Unit,
};

use super::{ManagerEvent, MemoryView, Shared, lock};

/// The manager as a [`ReportSource`], holding only its published view: it does not keep the
/// manager's thread alive (see [`MemoryManager::report_source`](super::MemoryManager::report_source)).
pub(super) struct ManagerSource(pub(super) Arc<Shared>);

impl ReportSource for ManagerSource {
    fn sections(&self) -> Vec<Section> {
        let view = lock(&self.0.view).clone();
        vec![memory(&view), pressure(&view), sizing(&view)]
    }
}

fn n(v: u64) -> f64 {
    v as f64
}

/// The process, the host and the cgroup, named as Redis `INFO memory` names them where the
/// meaning is the same (`allocator_allocated`, `used_memory_rss`, `total_system_memory`).
fn memory(view: &MemoryView) -> Section {
    let s: &MemorySample = &view.sample;
    let mut section = Section::new("memory", "Memory");
    let mut gauge = |name: &str, help: &str, unit: Unit, value: Option<f64>| {
        if let Some(v) = value {
            section.metrics.push(Metric::gauge(name, help, unit, v));
        }
    };
    let a = &s.allocator;
    gauge(
        "allocator_allocated",
        "Bytes the allocator handed to the process (jemalloc stats.allocated)",
        Unit::Bytes,
        a.allocated.map(n),
    );
    gauge(
        "allocator_active",
        "Bytes in pages holding live allocations",
        Unit::Bytes,
        a.active.map(n),
    );
    gauge(
        "allocator_resident",
        "Bytes the allocator keeps resident, dirty pages included",
        Unit::Bytes,
        a.resident.map(n),
    );
    gauge(
        "allocator_metadata",
        "The allocator's own bookkeeping",
        Unit::Bytes,
        a.metadata.map(n),
    );
    gauge(
        "allocator_frag",
        "Bytes lost to fragmentation inside active pages",
        Unit::Bytes,
        a.fragmentation().map(n),
    );
    gauge(
        "allocator_dirty",
        "Freed pages not yet returned to the OS",
        Unit::Bytes,
        a.dirty().map(n),
    );
    gauge(
        "used_memory_rss",
        "The process's resident set",
        Unit::Bytes,
        s.process_rss.map(n),
    );
    gauge(
        "mem_fragmentation_ratio",
        "Resident set over allocated bytes",
        Unit::Ratio,
        s.process_rss
            .zip(a.allocated)
            .filter(|&(_, al)| al > 0)
            .map(|(r, al)| r as f64 / al as f64),
    );
    gauge(
        "total_system_memory",
        "The host's memory",
        Unit::Bytes,
        s.system_total.map(n),
    );
    gauge(
        "system_available_memory",
        "Memory the host could hand out without swapping",
        Unit::Bytes,
        s.system_available.map(n),
    );
    gauge(
        "cgroup_memory_usage",
        "The cgroup's usage (memory.current, v1 usage_in_bytes)",
        Unit::Bytes,
        s.cgroup.current.map(n),
    );
    gauge(
        "cgroup_memory_working_set",
        "The cgroup's usage less inactive page cache",
        Unit::Bytes,
        s.cgroup.working_set().map(n),
    );
    let psi = |p: Option<cache_traits::Psi>, full: bool| {
        p.and_then(|p| {
            if full {
                p.full.map(|l| l.avg10)
            } else {
                Some(p.some.avg10)
            }
        })
        .map(|v| v / 100.0)
    };
    gauge(
        "memory_pressure_stall_some",
        "PSI some avg10 of the host: share of time some tasks stalled on memory",
        Unit::Ratio,
        psi(s.psi, false),
    );
    gauge(
        "memory_pressure_stall_full",
        "PSI full avg10 of the host: share of time all tasks stalled on memory",
        Unit::Ratio,
        psi(s.psi, true),
    );
    let mut limits = Table::new(
        "limits",
        "Memory limits",
        &["source", "limit_bytes", "used_bytes", "used_fraction"],
    );
    let known: Vec<_> = view.limit.into_iter().chain(view.sizing_limit).collect();
    let mut seen = Vec::new();
    for l in known {
        if seen.contains(&l.source) {
            continue;
        }
        seen.push(l.source);
        let source = l.source.as_str();
        section.metrics.push(
            Metric::gauge(
                "memory_limit",
                "A memory limit the manager judges usage against",
                Unit::Bytes,
                n(l.bytes),
            )
            .label("source", source),
        );
        section.metrics.push(
            Metric::gauge(
                "memory_limit_used",
                "The usage counted against that limit",
                Unit::Bytes,
                n(l.used),
            )
            .label("source", source),
        );
        limits.push(vec![
            Cell::from(source),
            Cell::from(l.bytes),
            Cell::from(l.used),
            Cell::from(l.fraction()),
        ]);
    }
    section.tables.push(limits);
    section
}

fn level_value(level: PressureLevel) -> f64 {
    PressureLevel::ALL
        .iter()
        .position(|&l| l == level)
        .unwrap_or(0) as f64
}

/// The level, its cause, the relief actions and the manager's own cost.
fn pressure(view: &MemoryView) -> Section {
    let mut section = Section::new("pressure", "Memory pressure");
    section.metrics = vec![
        Metric::gauge(
            "pressure_level",
            "The pressure level: 0 normal, 1 elevated, 2 high, 3 critical",
            Unit::None,
            level_value(view.level),
        ),
        Metric::counter(
            "pressure_level_changes",
            "Changes of the pressure level",
            Unit::None,
            n(view.level_changes),
        ),
        Metric::counter(
            "relief_freed_memory",
            "Bytes relief actions freed from the caches",
            Unit::Bytes,
            n(view.relief_freed),
        ),
        Metric::counter(
            "manager_ticks",
            "Ticks of the memory manager",
            Unit::None,
            n(view.ticks),
        ),
        Metric::counter(
            "manager_kernel_ticks",
            "Ticks a kernel notification started",
            Unit::None,
            n(view.kernel_ticks),
        ),
        Metric::counter(
            "manager_tick_time",
            "Time the manager's ticks took",
            Unit::Seconds,
            view.busy.as_secs_f64(),
        ),
    ];
    for (kind, count) in ["shrink", "shrink_hard"].into_iter().zip(view.reliefs) {
        section.metrics.push(
            Metric::counter(
                "relief_actions",
                "Relief actions: caches shrunk under pressure",
                Unit::None,
                n(count),
            )
            .label("kind", kind),
        );
    }
    for (event, &at) in view.events.iter().zip(&view.event_times) {
        let mut e = Event::default();
        e.at_unix_millis = at;
        match event {
            ManagerEvent::Level(c) => {
                e.kind = "level_change".to_owned();
                e.message = format!("pressure {} -> {}", c.from, c.to);
                e.fields.push(("level".to_owned(), c.to.to_string()));
                if let Some(r) = c.cause {
                    e.fields.push(("signal".to_owned(), r.signal.to_string()));
                    e.fields
                        .push(("value".to_owned(), format!("{:.3}", r.value)));
                }
            }
            ManagerEvent::Relief(r) => {
                e.kind = "relief".to_owned();
                e.message = format!(
                    "{} at {}: caches {} -> {} bytes",
                    r.kind.as_str(),
                    r.level,
                    r.bytes_before,
                    r.bytes_after
                );
                e.fields
                    .push(("signal".to_owned(), r.cause.signal.to_string()));
                e.fields
                    .push(("freed_bytes".to_owned(), r.freed().to_string()));
                e.fields
                    .push(("duration_us".to_owned(), r.duration.as_micros().to_string()));
            }
            _ => continue,
        }
        section.events.push(e);
    }
    let mut responses = Table::new(
        "responses",
        "Relief responses",
        &["trigger", "elapsed_us", "freed_bytes"],
    );
    for r in &view.responses {
        let trigger = match &r.trigger {
            super::ResponseTrigger::Tick => "tick".to_owned(),
            super::ResponseTrigger::Kernel(notice) => format!("{notice:?}"),
        };
        responses.push(vec![
            Cell::from(trigger),
            Cell::from(u64::try_from(r.elapsed.as_micros()).unwrap_or(u64::MAX)),
            Cell::from(r.freed),
        ]);
    }
    section.tables.push(responses);
    let cause = view.cause.map(|c| (c.signal.to_string(), c.value));
    let finding = |severity, code: &str, title: &str, advice: &str| {
        let mut f = Finding::new(severity, code, title, advice).evidence("level", view.level);
        if let Some((signal, value)) = &cause {
            f = f
                .evidence("signal", signal)
                .evidence("value", format!("{value:.3}"));
        }
        if let Some(l) = view.limit {
            f = f
                .evidence(
                    "limit",
                    format!("{} bytes ({})", l.bytes, l.source.as_str()),
                )
                .evidence("used", format!("{} bytes", l.used));
        }
        f
    };
    // Pressure that came and went is worth knowing too: the highest level among the kept
    // level changes, with what relief freed.
    let peak = view
        .events
        .iter()
        .filter_map(|e| match e {
            ManagerEvent::Level(c) => Some(c.to),
            _ => None,
        })
        .max();
    if let Some(peak) = peak
        && peak >= PressureLevel::High
        && view.level < PressureLevel::High
    {
        section.findings.push(
            Finding::new(
                Severity::Info,
                "QC-PRESSURE-EPISODE",
                format!("Memory pressure reached {peak} and has passed"),
                "If it recurs, give the process more memory or lower the caches' maximum bounds, so that relief (which costs hits) is not needed",
            )
            .evidence("peak_level", peak)
            .evidence("relief_actions", view.reliefs[0] + view.reliefs[1])
            .evidence("relief_freed_bytes", view.relief_freed)
            .evidence("level_now", view.level),
        );
    }
    match view.level {
        PressureLevel::Critical => section.findings.push(finding(
            Severity::Critical,
            "QC-PRESSURE-CRITICAL",
            "Memory pressure is critical: the process is close to its limit",
            "Raise the memory limit, or lower the caches' maximum bounds and other memory use; the caches are already shrunk hard",
        )),
        PressureLevel::High => section.findings.push(finding(
            Severity::Warning,
            "QC-PRESSURE-HIGH",
            "Memory pressure is high: caches are being shrunk",
            "Give the process more memory or lower what the rest of it uses; the caches give way until the pressure falls",
        )),
        _ => {}
    }
    section
}

/// Each cache's budget as the sizer sees it, and its decisions.
fn sizing(view: &MemoryView) -> Section {
    let mut section = Section::new("sizing", "Cache budgets");
    let mut table = Table::new(
        "budgets",
        "Budgets",
        &[
            "cache",
            "shared_budget",
            "used_bytes",
            "capacity_bytes",
            "target_bytes",
            "min_bytes",
            "max_bytes",
            "weight",
            "lent_bytes",
            "borrowed_bytes",
            "hits_per_s_per_mib",
        ],
    );
    for c in &view.caches {
        let m = &c.sizing;
        let bound = |b: u64| {
            if b == u64::MAX {
                Cell::Empty
            } else {
                Cell::from(b)
            }
        };
        table.push(vec![
            Cell::from(&*m.name),
            Cell::from(m.budget.as_deref()),
            Cell::from(m.weighted_size),
            Cell::from(m.capacity),
            Cell::from(m.target),
            bound(m.bounds.min),
            bound(m.bounds.max),
            Cell::from(m.weight),
            Cell::from(m.lent),
            Cell::from(m.borrowed),
            Cell::from(m.utility.map(|u| u.utility.gain_per_mib)),
        ]);
        if let Some(target) = m.target {
            section.metrics.push(
                Metric::gauge(
                    "cache_target",
                    "The sizer's target for the cache",
                    Unit::Bytes,
                    n(target),
                )
                .label("cache", &*m.name),
            );
        }
        if m.bounds.min > 0 && m.capacity <= m.bounds.min && view.level >= PressureLevel::High {
            section.findings.push(
                Finding::new(
                    Severity::Warning,
                    "QC-CACHE-AT-FLOOR",
                    format!("Cache {} is at its minimum budget under memory pressure", m.name),
                    "The rest of the process leaves the cache no room: raise the limit or lower the other memory use; a lower minimum would let the cache give more",
                )
                .evidence("cache", &m.name)
                .evidence("capacity", m.capacity)
                .evidence("min", m.bounds.min),
            );
        }
    }
    section.tables.push(table);
    for (event, &at) in view.events.iter().zip(&view.event_times) {
        if let ManagerEvent::Sizing(d) = event
            && d.from != d.to
        {
            let mut e = Event::default();
            e.at_unix_millis = at;
            e.kind = "resize".to_owned();
            e.message = format!("{} {}: {} -> {} bytes", d.cache, d.reason, d.from, d.to);
            e.fields.push(("cache".to_owned(), d.cache.to_string()));
            e.fields.push(("reason".to_owned(), d.reason.to_string()));
            e.fields
                .push(("target_bytes".to_owned(), d.target.to_string()));
            section.events.push(e);
        }
    }
    section
}

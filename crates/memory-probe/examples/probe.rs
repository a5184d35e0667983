//! One live memory sample, as text or as one JSON object (`cargo xtask probe [--json]`).
//!
//! jemalloc is the global allocator here, so the allocator figures are real.

use std::path::Path;

use cache_traits::{MemorySample, Psi, PsiLine};
use memory_probe::{CgroupVersion, Probe, ThreadAllocations};
use serde_json::json;

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let mut json = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--json" => json = true,
            "-h" | "--help" => {
                println!("usage: probe [--json]");
                return;
            }
            other => {
                eprintln!("unknown argument `{other}`; usage: probe [--json]");
                std::process::exit(2);
            }
        }
    }
    let probe = Probe::new();
    let sample = probe.sample();
    if json {
        println!("{}", to_json(&probe, &sample));
    } else {
        print_text(&probe, &sample);
    }
}

fn cgroup_version(probe: &Probe) -> Option<&'static str> {
    probe.cgroup().map(|(version, _)| match version {
        CgroupVersion::V1 => "v1",
        _ => "v2",
    })
}

/// A flat object with stable snake_case names, in the spirit of Redis `INFO memory`.
fn to_json(probe: &Probe, s: &MemorySample) -> serde_json::Value {
    let a = &s.allocator;
    let events = s.cgroup.events;
    let mut object = json!({
        "unix_millis": s.unix_millis,
        "allocator": if probe.has_allocator_stats() { Some("jemalloc") } else { None },
        "allocated": a.allocated,
        "active": a.active,
        "metadata": a.metadata,
        "resident": a.resident,
        "mapped": a.mapped,
        "retained": a.retained,
        "dirty": a.dirty(),
        "fragmentation": a.fragmentation(),
        "process_rss": s.process_rss,
        "system_total": s.system_total,
        "system_available": s.system_available,
        "cgroup_version": cgroup_version(probe),
        "cgroup_max": s.cgroup.max,
        "cgroup_high": s.cgroup.high,
        "cgroup_current": s.cgroup.current,
        "cgroup_soft_limit": s.cgroup.soft_limit,
        "cgroup_inactive_file": s.cgroup.inactive_file,
        "cgroup_events_high": events.map(|e| e.high),
        "cgroup_events_max": events.map(|e| e.max),
        "cgroup_events_oom": events.map(|e| e.oom),
        "cgroup_events_oom_kill": events.map(|e| e.oom_kill),
        "limit": s.limit(),
    });
    if let Some(fields) = object.as_object_mut() {
        for (prefix, psi) in [("psi", s.psi), ("cgroup_psi", s.cgroup.psi)] {
            for (kind, line) in [
                ("some", psi.map(|p| p.some)),
                ("full", psi.and_then(|p| p.full)),
            ] {
                let key = |name: &str| format!("{prefix}_{kind}_{name}");
                fields.insert(key("avg10"), json!(line.map(|l| l.avg10)));
                fields.insert(key("avg60"), json!(line.map(|l| l.avg60)));
                fields.insert(key("avg300"), json!(line.map(|l| l.avg300)));
                fields.insert(key("total_us"), json!(line.map(|l| l.total_us)));
            }
        }
    }
    object
}

fn bytes(v: Option<u64>) -> String {
    match v {
        None => "unknown".to_owned(),
        Some(b) if b >= 1 << 30 => format!("{:.2} GiB ({b})", b as f64 / (1u64 << 30) as f64),
        Some(b) if b >= 1 << 20 => format!("{:.2} MiB ({b})", b as f64 / (1u64 << 20) as f64),
        Some(b) if b >= 1 << 10 => format!("{:.2} KiB ({b})", b as f64 / 1024.0),
        Some(b) => format!("{b} B"),
    }
}

fn limit(v: Option<u64>) -> String {
    match v {
        None => "unlimited or unknown".to_owned(),
        some => bytes(some),
    }
}

fn print_text(probe: &Probe, s: &MemorySample) {
    let a = &s.allocator;
    println!("memory sample at unix_millis {}", s.unix_millis);
    if probe.has_allocator_stats() {
        println!("allocator: jemalloc");
    } else {
        println!("allocator: unknown (jemalloc is not the global allocator)");
    }
    for (name, v) in [
        ("allocated", a.allocated),
        ("active", a.active),
        ("metadata", a.metadata),
        ("resident", a.resident),
        ("mapped", a.mapped),
        ("retained", a.retained),
        ("dirty", a.dirty()),
        ("fragmentation", a.fragmentation()),
    ] {
        println!("  {name:<18}{}", bytes(v));
    }
    if let Some(t) = ThreadAllocations::current() {
        let (v, net) = ThreadAllocations::measure(|| vec![0u8; 1 << 20]);
        drop(v);
        println!(
            "  thread counters   allocated {} / deallocated {} (a 1 MiB Vec measured {} net)",
            bytes(Some(t.allocated())),
            bytes(Some(t.deallocated())),
            bytes(net.map(|n| n.unsigned_abs()))
        );
    }
    println!("process");
    println!("  {:<18}{}", "rss", bytes(s.process_rss));
    println!("system");
    println!("  {:<18}{}", "total", bytes(s.system_total));
    println!("  {:<18}{}", "available", bytes(s.system_available));
    match probe.cgroup() {
        Some((_, dir)) => println!(
            "cgroup {} at {}",
            cgroup_version(probe).unwrap_or("?"),
            dir.display()
        ),
        None => println!("cgroup: none found"),
    }
    println!("  {:<18}{}", "max", limit(s.cgroup.max));
    println!("  {:<18}{}", "high", limit(s.cgroup.high));
    println!("  {:<18}{}", "current", bytes(s.cgroup.current));
    println!("  {:<18}{}", "inactive file", bytes(s.cgroup.inactive_file));
    println!("  {:<18}{}", "soft limit", limit(s.cgroup.soft_limit));
    match s.cgroup.events {
        Some(e) => println!(
            "  {:<18}high {} max {} oom {} oom_kill {}",
            "events", e.high, e.max, e.oom, e.oom_kill
        ),
        None => println!("  {:<18}unknown", "events"),
    }
    print_psi(
        "cgroup pressure",
        s.cgroup.psi,
        probe.cgroup_pressure_source(),
    );
    println!("effective limit     {}", limit(s.limit()));
    print_psi("system pressure", s.psi, probe.pressure_source());
}

fn print_psi(title: &str, psi: Option<Psi>, source: Option<&Path>) {
    let Some(psi) = psi else {
        println!("{title}: unknown");
        return;
    };
    let from = source.map(|p| p.display().to_string()).unwrap_or_default();
    println!("{title} ({from})");
    let line = |name: &str, l: PsiLine| {
        println!(
            "  {name:<18}avg10 {:.2}% avg60 {:.2}% avg300 {:.2}% total {} us",
            l.avg10, l.avg60, l.avg300, l.total_us
        );
    };
    line("some", psi.some);
    match psi.full {
        Some(full) => line("full", full),
        None => println!("  {:<18}unknown", "full"),
    }
}

//! One live memory sample, as text or as one JSON object (`cargo xtask probe [--json]`).
//!
//! jemalloc is the global allocator here, so the allocator figures are real.

use cache_traits::MemorySample;
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
    let some = s.psi.map(|p| p.some);
    let full = s.psi.and_then(|p| p.full);
    json!({
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
        "cgroup_events_high": events.map(|e| e.high),
        "cgroup_events_max": events.map(|e| e.max),
        "cgroup_events_oom": events.map(|e| e.oom),
        "cgroup_events_oom_kill": events.map(|e| e.oom_kill),
        "limit": s.limit(),
        "psi_some_avg10": some.map(|l| l.avg10),
        "psi_some_avg60": some.map(|l| l.avg60),
        "psi_some_avg300": some.map(|l| l.avg300),
        "psi_some_total_us": some.map(|l| l.total_us),
        "psi_full_avg10": full.map(|l| l.avg10),
        "psi_full_avg60": full.map(|l| l.avg60),
        "psi_full_avg300": full.map(|l| l.avg300),
        "psi_full_total_us": full.map(|l| l.total_us),
    })
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
    match s.cgroup.events {
        Some(e) => println!(
            "  {:<18}high {} max {} oom {} oom_kill {}",
            "events", e.high, e.max, e.oom, e.oom_kill
        ),
        None => println!("  {:<18}unknown", "events"),
    }
    println!("effective limit     {}", limit(s.limit()));
    match (s.psi, probe.pressure_source()) {
        (Some(psi), source) => {
            let from = source.map(|p| p.display().to_string()).unwrap_or_default();
            println!("pressure ({from})");
            let line = |name: &str, l: cache_traits::PsiLine| {
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
        (None, _) => println!("pressure: unknown"),
    }
}

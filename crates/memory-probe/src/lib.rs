//! Memory probing: jemalloc, process, system, cgroup and PSI figures behind `MemoryProbe`.

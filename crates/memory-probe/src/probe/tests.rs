//! Unit tests for the probe on fixture files, and for cgroup discovery on parsed fixtures.

use std::path::{Path, PathBuf};

use super::cgroup::{Plan, resolve};
use super::*;
use crate::parse::{CgroupMount, CgroupMounts, CgroupPaths};

/// A fixture directory, removed on drop.
struct Fixture(PathBuf);

impl Fixture {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "memory-probe-{}-{name}-{}",
            std::process::id(),
            unix_millis()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn write_all(&self, files: &[(&str, &str)]) {
        for (name, text) in files {
            self.write(name, text);
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const MEMINFO: &str = "MemTotal: 8388608 kB\nMemFree: 1048576 kB\nMemAvailable: 4194304 kB\n";
const PSI: &str = "some avg10=12.50 avg60=3.00 avg300=1.00 total=777\n\
                   full avg10=2.00 avg60=1.00 avg300=0.50 total=55\n";
/// A v2 `memory.stat`, shortened (the kernel writes some 50–80 lines).
const V2_STAT: &str = "anon 52985856\nfile 1193496576\nkernel 12648448\nshmem 135168\n\
                       inactive_anon 52039680\nactive_anon 1081344\n\
                       inactive_file 134217728\nactive_file 289173504\nunevictable 0\n\
                       pgfault 2716402\npgmajfault 381\n";
/// A v1 `memory.stat`, shortened: the group's own figures, then the hierarchical ones.
const V1_STAT: &str = "cache 778240\nrss 1806336\nmapped_file 49152\n\
                       inactive_anon 1736704\nactive_anon 16384\n\
                       inactive_file 131072\nactive_file 647168\n\
                       hierarchical_memory_limit 9223372036854771712\n\
                       total_cache 2115702784\ntotal_rss 106369024\n\
                       total_inactive_anon 101400576\ntotal_active_anon 45056\n\
                       total_inactive_file 268435456\ntotal_active_file 912949248\n";
/// The host's pressure, different from the cgroup's so that a test tells them apart.
const SYSTEM_PSI: &str = "some avg10=0.50 avg60=0.25 avg300=0.10 total=9000\n\
                          full avg10=0.00 avg60=0.00 avg300=0.00 total=100\n";

/// A v2 cgroup directory with every file the probe reads, and the host's files beside it.
fn v2_fixture(f: &Fixture) -> Probe {
    f.write_all(&[
        ("statm", "5000 1000 300 10 0 800 0\n"),
        ("meminfo", MEMINFO),
        ("pressure", SYSTEM_PSI),
        ("memory.max", "2147483648\n"),
        ("memory.high", "1073741824\n"),
        ("memory.current", "536870912\n"),
        (
            "memory.events",
            "low 0\nhigh 5\nmax 2\noom 1\noom_kill 1\noom_group_kill 0\n",
        ),
        ("memory.pressure", PSI),
        ("memory.stat", V2_STAT),
    ]);
    v2_probe(f)
}

/// A probe on the v2 cgroup directory `f` as it is, with the host's files in it.
fn v2_probe(f: &Fixture) -> Probe {
    Probe::builder()
        .statm(f.path("statm"))
        .page_size(4096)
        .meminfo(f.path("meminfo"))
        .pressure(f.path("pressure"))
        .cgroup_v2(&f.0)
        .allocator_stats(false)
        .system_fallback(false)
        .build()
        .unwrap()
}

#[test]
fn v2_fixture_gives_every_figure() {
    let f = Fixture::new("v2");
    let probe = v2_fixture(&f);
    assert_eq!(probe.cgroup(), Some((CgroupVersion::V2, f.0.as_path())));
    assert_eq!(probe.pressure_source(), Some(f.path("pressure").as_path()));
    assert_eq!(
        probe.cgroup_pressure_source(),
        Some(f.path("memory.pressure").as_path())
    );
    let s = probe.sample();
    assert!(s.unix_millis > 0);
    assert_eq!(s.process_rss, Some(1000 * 4096));
    assert_eq!(s.system_total, Some(8 << 30));
    assert_eq!(s.system_available, Some(4 << 30));
    assert_eq!(s.cgroup.max, Some(2 << 30));
    assert_eq!(s.cgroup.high, Some(1 << 30));
    assert_eq!(s.cgroup.current, Some(512 << 20));
    assert_eq!(events(&s), Some((5, 2, 1, 1)));
    assert_eq!(s.cgroup.soft_limit, None);
    let cgroup_psi = s.cgroup.psi.unwrap();
    assert_eq!(
        (cgroup_psi.some.avg10, cgroup_psi.some.total_us),
        (12.5, 777)
    );
    assert_eq!(cgroup_psi.full.map(|l| l.total_us), Some(55));
    assert_eq!(s.cgroup.inactive_file, Some(128 << 20));
    assert_eq!(s.cgroup.working_set(), Some(384 << 20));
    let psi = s.psi.unwrap();
    assert_eq!((psi.some.avg10, psi.some.total_us), (0.5, 9000));
    assert_eq!(psi.full.map(|l| l.total_us), Some(100));
    assert_eq!(s.limit(), Some(1 << 30));
    assert_eq!(s.allocator, Default::default());
}

#[test]
fn files_are_reread_on_every_sample() {
    let f = Fixture::new("reread");
    let probe = v2_fixture(&f);
    assert_eq!(probe.sample().cgroup.current, Some(512 << 20));
    // Rewritten in place (same inode), as the kernel's files change under an open descriptor.
    f.write("memory.current", "1024\n");
    f.write("memory.max", "max\n");
    f.write("statm", "5000 2000 300 10 0 800 0\n");
    let s = probe.sample();
    assert_eq!(s.cgroup.current, Some(1024));
    assert_eq!(s.cgroup.max, None);
    assert_eq!(s.process_rss, Some(2000 * 4096));
}

#[test]
fn a_malformed_file_loses_only_its_own_figures() {
    let f = Fixture::new("malformed");
    let probe = v2_fixture(&f);
    f.write("memory.events", "high 5\nmax 2\n"); // truncated
    f.write("memory.pressure", "some avg10=");
    f.write("meminfo", "");
    f.write("memory.high", "lots\n");
    let s = probe.sample();
    assert_eq!(s.cgroup.events, None);
    assert_eq!(s.cgroup.psi, None);
    assert!(s.psi.is_some(), "the host's pressure is another file");
    assert_eq!((s.system_total, s.system_available), (None, None));
    assert_eq!(s.cgroup.high, None);
    assert_eq!(s.cgroup.max, Some(2 << 30));
    assert_eq!(s.process_rss, Some(1000 * 4096));
}

#[test]
fn a_file_larger_than_the_buffer_is_unknown_not_truncated() {
    let f = Fixture::new("large");
    let probe = v2_fixture(&f);
    let mut big = String::from(MEMINFO);
    while big.len() < 16 << 10 {
        big.push_str("Padding:               0 kB\n");
    }
    f.write("meminfo", &big);
    assert_eq!(probe.sample().system_total, None);
}

/// A v1 cgroup directory with every file the probe reads, and a host pressure file.
fn v1_fixture(f: &Fixture) -> Probe {
    f.write_all(&[
        ("memory.limit_in_bytes", "2147483648\n"),
        ("memory.usage_in_bytes", "536870912\n"),
        ("memory.soft_limit_in_bytes", "1073741824\n"),
        ("memory.failcnt", "7\n"),
        (
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        ),
        ("memory.stat", V1_STAT),
    ]);
    v1_probe(f)
}

/// A probe on the v1 cgroup directory `f` as it is, with a host pressure file.
fn v1_probe(f: &Fixture) -> Probe {
    let system_pressure = f.write("pressure", SYSTEM_PSI);
    Probe::builder()
        .pressure(system_pressure)
        .cgroup_v1(&f.0)
        .allocator_stats(false)
        .build()
        .unwrap()
}

/// The v1 files read for the cgroup alone, beyond its limit and usage.
const V1_OWN_FILES: [&str; 4] = [
    "memory.soft_limit_in_bytes",
    "memory.failcnt",
    "memory.oom_control",
    "memory.stat",
];

/// `(high, max, oom, oom_kill)` of a sample's cgroup events.
fn events(s: &MemorySample) -> Option<(u64, u64, u64, u64)> {
    s.cgroup.events.map(|e| (e.high, e.max, e.oom, e.oom_kill))
}

#[test]
fn v1_fixture_gives_every_v1_figure() {
    let f = Fixture::new("v1-all");
    let probe = v1_fixture(&f);
    assert_eq!(probe.cgroup(), Some((CgroupVersion::V1, f.0.as_path())));
    assert_eq!(probe.pressure_source(), Some(f.path("pressure").as_path()));
    assert_eq!(probe.cgroup_pressure_source(), None);
    let s = probe.sample();
    assert_eq!(s.cgroup.max, Some(2 << 30));
    assert_eq!(s.cgroup.high, None);
    assert_eq!(s.cgroup.current, Some(512 << 20));
    assert_eq!(s.cgroup.soft_limit, Some(1 << 30));
    assert_eq!(events(&s), Some((0, 7, 0, 2)));
    assert_eq!(s.cgroup.psi, None);
    assert_eq!(s.psi.map(|p| p.some.total_us), Some(9000));
    assert_eq!(
        s.cgroup.inactive_file,
        Some(256 << 20),
        "total_inactive_file"
    );

    f.write("memory.soft_limit_in_bytes", "9223372036854771712\n");
    f.write("memory.failcnt", "8\n");
    let s = probe.sample();
    assert_eq!(s.cgroup.soft_limit, None, "the v1 huge value is unlimited");
    assert_eq!(events(&s), Some((0, 8, 0, 2)));
}

#[test]
fn v1_oom_control_without_oom_kill_counts_zero() {
    let f = Fixture::new("v1-old-kernel");
    let probe = v1_fixture(&f);
    f.write("memory.oom_control", "oom_kill_disable 0\nunder_oom 1\n");
    assert_eq!(events(&probe.sample()), Some((0, 7, 0, 0)));
}

#[test]
fn v1_events_need_one_of_their_two_files() {
    let f = Fixture::new("v1-events");
    let probe = v1_fixture(&f);
    f.write("memory.failcnt", "seven\n");
    assert_eq!(events(&probe.sample()), Some((0, 0, 0, 2)));
    f.write("memory.failcnt", "7\n");
    f.write("memory.oom_control", "oom_kill lots\n");
    assert_eq!(events(&probe.sample()), Some((0, 7, 0, 0)));
    f.write("memory.failcnt", "");
    let s = probe.sample();
    assert_eq!(s.cgroup.events, None);
    assert_eq!(s.cgroup.soft_limit, Some(1 << 30), "other figures stay");
    assert_eq!(s.cgroup.current, Some(512 << 20));
}

#[test]
fn v1_unreadable_files_are_none() {
    // A directory opens, but every read of it fails (EISDIR): an unreadable file.
    let f = Fixture::new("v1-unreadable");
    f.write("memory.usage_in_bytes", "4096\n");
    for name in V1_OWN_FILES {
        std::fs::create_dir(f.path(name)).unwrap();
    }
    let probe = v1_probe(&f);
    let s = probe.sample();
    assert_eq!(s.cgroup.soft_limit, None);
    assert_eq!(s.cgroup.events, None);
    assert_eq!(s.cgroup.inactive_file, None);
    assert_eq!(s.cgroup.current, Some(4096));
}

#[test]
fn v1_files_deleted_after_the_probe_was_built() {
    let f = Fixture::new("v1-deleted");
    let probe = v1_fixture(&f);
    for name in V1_OWN_FILES {
        std::fs::remove_file(f.path(name)).unwrap();
    }
    // The probe holds the files open: on a disk or tmpfs the unlinked files stay readable.
    // (On cgroupfs a removed cgroup's open files fail to read, which makes the figures `None`.)
    let s = probe.sample();
    assert_eq!(s.cgroup.soft_limit, Some(1 << 30));
    assert_eq!(events(&s), Some((0, 7, 0, 2)));
    assert_eq!(s.cgroup.inactive_file, Some(256 << 20));
    // A file created again at the same path is another file; the probe keeps the one it opened.
    f.write("memory.failcnt", "9\n");
    assert_eq!(events(&probe.sample()), Some((0, 7, 0, 2)));
}

#[test]
fn v1_files_missing_when_built() {
    let f = Fixture::new("v1");
    f.write("memory.limit_in_bytes", "9223372036854771712\n");
    f.write("memory.usage_in_bytes", "4734976\n");
    let probe = v1_probe(&f);
    let s = probe.sample();
    assert_eq!(s.cgroup.max, None);
    assert_eq!(s.cgroup.high, None);
    assert_eq!(s.cgroup.current, Some(4734976));
    assert_eq!(s.cgroup.events, None);
    assert_eq!(s.cgroup.soft_limit, None);
    assert_eq!(s.cgroup.psi, None);
    assert_eq!(s.cgroup.inactive_file, None);

    f.write("memory.limit_in_bytes", "268435456\n");
    assert_eq!(probe.sample().cgroup.max, Some(256 << 20));
    // Files are opened once, when the probe is built: one that appears later is not read.
    f.write("memory.failcnt", "1\n");
    assert_eq!(probe.sample().cgroup.events, None);
}

#[test]
fn v1_inactive_file_without_total_lines_is_the_groups_own() {
    let f = Fixture::new("v1-stat-own");
    let probe = v1_fixture(&f);
    f.write(
        "memory.stat",
        "cache 778240\ninactive_file 131072\nactive_file 647168\n",
    );
    assert_eq!(probe.sample().cgroup.inactive_file, Some(131072));
    // A malformed `total_` line is not passed over for the group's own figure.
    f.write(
        "memory.stat",
        "inactive_file 131072\ntotal_inactive_file lots\n",
    );
    assert_eq!(probe.sample().cgroup.inactive_file, None);
}

#[test]
fn missing_memory_stat_loses_only_inactive_file() {
    for version in [CgroupVersion::V1, CgroupVersion::V2] {
        let f = Fixture::new("no-stat");
        let probe = match version {
            CgroupVersion::V1 => v1_fixture(&f),
            _ => v2_fixture(&f),
        };
        let with_stat = probe.sample();
        assert!(with_stat.cgroup.inactive_file.is_some(), "{version:?}");
        std::fs::remove_file(f.path("memory.stat")).unwrap();
        let probe = match version {
            CgroupVersion::V1 => v1_probe(&f),
            _ => v2_probe(&f),
        };
        let s = probe.sample();
        assert_eq!(s.cgroup.inactive_file, None, "{version:?}");
        assert_eq!(s.cgroup.working_set(), s.cgroup.current, "{version:?}");
        let mut expected = with_stat.cgroup;
        expected.inactive_file = None;
        assert_eq!(s.cgroup, expected, "{version:?}");
    }
}

#[test]
fn memory_stat_without_the_key_or_with_junk_is_unknown() {
    let f = Fixture::new("stat-junk");
    let probe = v2_fixture(&f);
    for text in [
        "anon 4096\nfile 8192\n",
        "inactive_file lots\n",
        "inactive_file\n",
        "",
    ] {
        f.write("memory.stat", text);
        let s = probe.sample();
        assert_eq!(s.cgroup.inactive_file, None, "{text:?}");
        assert_eq!(s.cgroup.current, Some(512 << 20));
        assert_eq!(s.cgroup.working_set(), Some(512 << 20));
    }
}

#[test]
fn memory_stat_larger_than_the_buffer_is_unknown() {
    let f = Fixture::new("stat-large");
    let probe = v2_fixture(&f);
    let mut big = String::from(V2_STAT);
    while big.len() < file::BUF_BYTES {
        big.push_str("pgactivate 73511\n");
    }
    f.write("memory.stat", &big);
    assert_eq!(probe.sample().cgroup.inactive_file, None);
    // One byte less than the buffer is read whole.
    big.truncate(file::BUF_BYTES - 1);
    let cut = big.rfind('\n').map_or(0, |i| i + 1);
    big.truncate(cut);
    f.write("memory.stat", &big);
    assert_eq!(probe.sample().cgroup.inactive_file, Some(128 << 20));
}

#[test]
fn least_limit_over_the_ancestor_chain() {
    let f = Fixture::new("chain");
    let leaf = f.0.join("a/b");
    std::fs::create_dir_all(&leaf).unwrap();
    std::fs::write(f.0.join("memory.max"), "1073741824\n").unwrap();
    std::fs::write(f.0.join("a/memory.max"), "max\n").unwrap();
    std::fs::write(leaf.join("memory.max"), "2147483648\n").unwrap();
    std::fs::write(leaf.join("memory.high"), "max\n").unwrap();
    let cgroup = cgroup::Cgroup::open_chain_for_test(CgroupVersion::V2, &leaf, &f.0);
    let c = cgroup.read(&mut file::Buf::new());
    assert_eq!(c.max, Some(1 << 30));
    assert_eq!(c.high, None);
}

#[test]
fn explicit_paths_must_open() {
    let err = Probe::builder()
        .meminfo("/nonexistent/meminfo")
        .build()
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("could not open /nonexistent/meminfo"),
        "{msg}"
    );
    assert!(std::error::Error::source(&err).is_some());

    let err = Probe::builder().page_size(3000).build().unwrap_err();
    assert!(err.to_string().contains("power of two"), "{err}");
}

#[test]
fn without_cgroup_reports_no_cgroup() {
    let probe = Probe::builder().without_cgroup().build().unwrap();
    assert!(probe.cgroup().is_none());
    assert_eq!(probe.sample().cgroup, Default::default());
}

#[test]
fn no_sources_at_all_is_all_none() {
    let f = Fixture::new("empty");
    let empty = f.write("empty", "");
    let probe = Probe::builder()
        .statm(&empty)
        .page_size(4096)
        .meminfo(&empty)
        .pressure(&empty)
        .without_cgroup()
        .allocator_stats(false)
        .system_fallback(false)
        .build()
        .unwrap();
    let s = probe.sample();
    assert!(s.unix_millis > 0);
    let mut expected = MemorySample::default();
    expected.unix_millis = s.unix_millis;
    assert_eq!(s, expected);
}

#[test]
fn live_sample_on_this_machine() {
    let probe = Probe::new();
    let s = probe.sample();
    if cfg!(target_os = "linux") {
        let rss = s.process_rss.unwrap();
        let total = s.system_total.unwrap();
        assert!(rss > 0 && rss < total, "rss {rss}, total {total}");
        assert!(s.system_available.unwrap() <= total);
    }
    if Path::new(PRESSURE).exists() {
        assert_eq!(probe.pressure_source(), Some(Path::new(PRESSURE)));
    }
    // The process's own cgroup: every figure its files offer shows up.
    match probe.cgroup() {
        Some((CgroupVersion::V1, dir)) => {
            if dir.join("memory.failcnt").exists() || dir.join("memory.oom_control").exists() {
                assert!(s.cgroup.events.is_some(), "{s:?}");
            }
            assert_eq!(probe.cgroup_pressure_source(), None);
        }
        Some((_, dir)) if dir.join("memory.pressure").exists() => {
            assert!(s.cgroup.psi.is_some(), "{s:?}");
        }
        _ => {}
    }
    if let Some((_, dir)) = probe.cgroup() {
        if dir.join("memory.stat").exists() {
            let inactive_file = s.cgroup.inactive_file;
            assert!(inactive_file.is_some(), "{s:?}");
            assert!(s.cgroup.working_set() <= s.cgroup.current, "{s:?}");
        }
    }
}

#[test]
fn probe_is_a_dyn_memory_probe() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Probe>();
    let probe: Box<dyn MemoryProbe> = Box::new(Probe::new());
    assert!(probe.sample().unix_millis > 0);
}

// Discovery on parsed fixtures.

fn mount(root: &str, mount_point: &str) -> CgroupMount {
    CgroupMount {
        root: root.into(),
        mount_point: mount_point.into(),
    }
}

fn plan(version: CgroupVersion, dir: &str, mount_point: &str) -> Option<Plan> {
    Some(Plan {
        version,
        dir: PathBuf::from(dir),
        mount_point: PathBuf::from(mount_point),
    })
}

fn exists_in(paths: &'static [&'static str]) -> impl Fn(&Path) -> bool {
    move |p| paths.iter().any(|q| Path::new(q) == p)
}

#[test]
fn hybrid_host_uses_the_v1_memory_controller() {
    let mounts = CgroupMounts {
        v2: Some(mount("/", "/sys/fs/cgroup/unified")),
        v1_memory: Some(mount("/", "/sys/fs/cgroup/memory")),
    };
    let paths = CgroupPaths {
        v2: Some("/".into()),
        v1_memory: Some("/process_api/abc".into()),
    };
    let exists = exists_in(&["/sys/fs/cgroup/memory/process_api/abc"]);
    assert_eq!(
        resolve(&mounts, &paths, exists),
        plan(
            CgroupVersion::V1,
            "/sys/fs/cgroup/memory/process_api/abc",
            "/sys/fs/cgroup/memory"
        )
    );
}

#[test]
fn unified_host_uses_v2() {
    let mounts = CgroupMounts {
        v2: Some(mount("/", "/sys/fs/cgroup")),
        v1_memory: None,
    };
    let paths = CgroupPaths {
        v2: Some("/system.slice/app.service".into()),
        v1_memory: None,
    };
    let exists = exists_in(&[
        "/sys/fs/cgroup/system.slice/app.service",
        "/sys/fs/cgroup/system.slice/app.service/memory.current",
    ]);
    assert_eq!(
        resolve(&mounts, &paths, exists),
        plan(
            CgroupVersion::V2,
            "/sys/fs/cgroup/system.slice/app.service",
            "/sys/fs/cgroup"
        )
    );
}

#[test]
fn container_with_cgroup_namespace_reads_the_mount_point() {
    let mounts = CgroupMounts {
        v2: Some(mount("/", "/sys/fs/cgroup")),
        v1_memory: None,
    };
    for path in ["/", "/../../kubepods/pod1", "/docker/abc"] {
        let paths = CgroupPaths {
            v2: Some(path.into()),
            v1_memory: None,
        };
        let exists = exists_in(&["/sys/fs/cgroup/memory.max"]);
        assert_eq!(
            resolve(&mounts, &paths, exists),
            plan(CgroupVersion::V2, "/sys/fs/cgroup", "/sys/fs/cgroup"),
            "{path}"
        );
    }
}

#[test]
fn docker_v1_bind_mount_of_its_own_cgroup() {
    let mounts = CgroupMounts {
        v2: None,
        v1_memory: Some(mount("/docker/abc", "/sys/fs/cgroup/memory")),
    };
    let paths = CgroupPaths {
        v2: None,
        v1_memory: Some("/docker/abc".into()),
    };
    assert_eq!(
        resolve(&mounts, &paths, |_| true),
        plan(
            CgroupVersion::V1,
            "/sys/fs/cgroup/memory",
            "/sys/fs/cgroup/memory"
        )
    );
}

#[test]
fn no_cgroup_mounts_no_plan() {
    let paths = CgroupPaths {
        v2: Some("/".into()),
        v1_memory: None,
    };
    assert_eq!(resolve(&CgroupMounts::default(), &paths, |_| true), None);
    let mounts = CgroupMounts {
        v2: Some(mount("/", "/sys/fs/cgroup")),
        v1_memory: None,
    };
    assert_eq!(resolve(&mounts, &CgroupPaths::default(), |_| true), None);
}

//! Unit tests for the parsers, on fixture text in the kernel's documented formats.

use super::*;

const STATM: &str = "5237 1320 1011 201 0 438 0\n";

const MEMINFO: &str = "\
MemTotal:       24684084 kB
MemFree:        23792392 kB
MemAvailable:   24352408 kB
Buffers:           67840 kB
Cached:           712524 kB
SwapCached:            0 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
";

const EVENTS: &str = "low 0\nhigh 17\nmax 4\noom 2\noom_kill 1\noom_group_kill 0\n";

const OOM_CONTROL: &str = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";

const PSI: &str = "\
some avg10=1.53 avg60=0.87 avg300=0.22 total=5841230
full avg10=0.41 avg60=0.10 avg300=0.02 total=1200345
";

const PROC_SELF_CGROUP_HYBRID: &str = "\
9:name=systemd:/
8:pids:/
4:memory:/process_api/4d0911466c030b487024e89b56363dc0
1:cpu,cpuacct:/
0::/
";

const MOUNTINFO: &str = "\
22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

/// A v2 `memory.stat` (Linux 6.x), every figure in bytes or a count.
const MEMORY_STAT_V2: &str = "\
anon 52985856
file 1193496576
kernel 12648448
kernel_stack 376832
pagetables 1142784
sec_pagetables 0
percpu 248832
sock 4096
vmalloc 20480
shmem 135168
zswap 0
zswapped 0
file_mapped 93081600
file_dirty 438272
file_writeback 0
swapcached 0
anon_thp 20971520
file_thp 0
shmem_thp 0
inactive_anon 52039680
active_anon 1081344
inactive_file 904187904
active_file 289173504
unevictable 0
slab_reclaimable 9244672
slab_unreclaimable 1319128
slab 10563800
workingset_refault_anon 0
workingset_refault_file 1204
workingset_activate_anon 0
workingset_activate_file 312
workingset_restore_anon 0
workingset_restore_file 96
workingset_nodereclaim 0
pgscan 48211
pgsteal 47925
pgscan_kswapd 40018
pgscan_direct 8193
pgsteal_kswapd 39870
pgsteal_direct 8055
pgfault 2716402
pgmajfault 381
pgrefill 5120
pgactivate 73511
pgdeactivate 4982
pglazyfree 0
pglazyfreed 0
thp_fault_alloc 12
thp_collapse_alloc 3
";

/// A v1 `memory.stat` (Linux 6.x, a group with busy descendants): the group's own figures,
/// then the hierarchical `total_` ones.
const MEMORY_STAT_V1: &str = "\
cache 778240
rss 1806336
rss_huge 0
shmem 0
mapped_file 49152
dirty 20480
writeback 0
workingset_refault_anon 0
workingset_refault_file 190
swap 0
swapcached 0
pgpgin 22470
pgpgout 21839
pgfault 50567
pgmajfault 21
inactive_anon 1736704
active_anon 16384
inactive_file 131072
active_file 647168
unevictable 0
hierarchical_memory_limit 9223372036854771712
hierarchical_memsw_limit 9223372036854771712
total_cache 2115702784
total_rss 106369024
total_rss_huge 0
total_shmem 0
total_mapped_file 109690880
total_dirty 30113792
total_writeback 0
total_workingset_refault_anon 0
total_workingset_refault_file 4123356
total_swap 0
total_swapcached 0
total_pgpgin 174233007
total_pgpgout 173760231
total_pgfault 197539510
total_pgmajfault 34928
total_inactive_anon 101400576
total_active_anon 45056
total_inactive_file 1192288256
total_active_file 912949248
total_unevictable 0
";

/// Every prefix of `text` (a file cut short anywhere) parses or fails, never panics.
fn never_panics_on_truncation<T>(text: &str, parser: impl Fn(&str) -> Result<T, ParseError>) {
    for end in 0..=text.len() {
        if text.is_char_boundary(end) {
            let _ = parser(&text[..end]);
        }
    }
}

/// Asserts that `parser` turns `text` into `expected` (`Err(())` standing for any error).
fn check_parse<T: PartialEq + std::fmt::Debug>(
    parser: impl Fn(&str) -> Result<T, ParseError>,
    text: &str,
    expected: Result<T, ()>,
) {
    assert_eq!(parser(text).map_err(|_| ()), expected, "{text:?}");
}

#[test]
fn statm() {
    let check = |text, expected| check_parse(statm_resident_pages, text, expected);
    check(STATM, Ok(1320));
    check("1 2", Ok(2));
    check("", Err(()));
    check("5237\n", Err(()));
    check("5237 -3 1", Err(()));
    check("5237 x 1", Err(()));
    check("5237 99999999999999999999999", Err(()));
    never_panics_on_truncation(STATM, statm_resident_pages);
}

#[test]
fn meminfo_in_kernel_format() {
    let m = meminfo(MEMINFO).unwrap();
    assert_eq!(m.total, 24684084 * 1024);
    assert_eq!(m.available, Some(24352408 * 1024));
}

#[test]
fn meminfo_without_available_is_old_kernel() {
    let m = meminfo("MemTotal: 1000 kB\nMemFree: 10 kB\n").unwrap();
    assert_eq!((m.total, m.available), (1024000, None));
}

#[test]
fn meminfo_malformed() {
    for text in [
        "",
        "   \n",
        "MemFree: 10 kB\n",
        "MemTotal:\n",
        "MemTotal: lots kB\n",
        "MemTotal: 10 kB\nMemAvailable: -1 kB\n",
        "\u{0}\u{1}garbage",
    ] {
        assert!(meminfo(text).is_err(), "{text:?}");
    }
    never_panics_on_truncation(MEMINFO, meminfo);
}

#[test]
fn cgroup_limits() {
    let check = |text, expected| check_parse(cgroup_limit, text, expected);
    check("max\n", Ok(None));
    check("max", Ok(None));
    check("536870912\n", Ok(Some(512 << 20)));
    check("0\n", Ok(Some(0)));
    check("", Err(()));
    check("\n", Err(()));
    check("ma", Err(()));
    check("-1\n", Err(()));
    check("12 34\n", Err(()));
}

#[test]
fn cgroup_v1_limits() {
    let check = |text, expected| check_parse(cgroup_v1_limit, text, expected);
    check("9223372036854771712\n", Ok(None)); // PAGE_COUNTER_MAX * 4 KiB
    check("9223372036854775807\n", Ok(None)); // LONG_MAX on older kernels
    check("9223372036854710272\n", Ok(None)); // with 64 KiB pages
    check("1073741824\n", Ok(Some(1 << 30)));
    check("0\n", Ok(Some(0))); // a soft limit of 0: reclaim the group first
    check("", Err(()));
    check("max\n", Err(()));
    check("-1\n", Err(())); // what one writes to reset it; the kernel never shows it
}

#[test]
fn cgroup_counters() {
    let check = |text, expected| check_parse(cgroup_counter, text, expected);
    check("4734976\n", Ok(4734976)); // memory.usage_in_bytes
    check("0\n", Ok(0)); // memory.failcnt
    check("18446744073709551615\n", Ok(u64::MAX));
    check("", Err(()));
    check("4734976 kB", Err(()));
    check("-1\n", Err(()));
    check("18446744073709551616\n", Err(()));
}

#[test]
fn oom_control_in_kernel_format() {
    let check = |text, expected| check_parse(cgroup_v1_oom_kill, text, expected);
    check(OOM_CONTROL, Ok(2));
    check("oom_kill_disable 1\nunder_oom 1\noom_kill 0\n", Ok(0));
    check("oom_kill 7", Ok(7)); // order and the other lines do not matter
    check("oom_kill_disable 0\nunder_oom 0\n", Ok(0)); // before Linux 4.13
    check("oom_kill_disable 0\n", Ok(0));
    check("", Err(()));
    check("\n", Err(()));
    check("under_oom 0\n", Err(())); // not recognisably oom_control
    check("low 0\nhigh 1\n", Err(()));
    check("oom_kill_disable 0\nunder_oom 0\noom_kill\n", Err(()));
    check("oom_kill_disable 0\nunder_oom 0\noom_kill two\n", Err(()));
    check("oom_kill_disable 0\nunder_oom 0\noom_kill -1\n", Err(()));
    let err = cgroup_v1_oom_kill("under_oom 0\n").unwrap_err();
    assert_eq!(err.file(), "memory.oom_control");
    never_panics_on_truncation(OOM_CONTROL, cgroup_v1_oom_kill);
}

#[test]
fn events_in_kernel_format() {
    let e = cgroup_events(EVENTS).unwrap();
    assert_eq!((e.high, e.max, e.oom, e.oom_kill), (17, 4, 2, 1));
    // Older kernels have no oom_group_kill; order does not matter.
    let e = cgroup_events("oom_kill 9\noom 8\nmax 7\nhigh 6\nlow 5\n").unwrap();
    assert_eq!((e.high, e.max, e.oom, e.oom_kill), (6, 7, 8, 9));
}

#[test]
fn events_malformed() {
    for text in [
        "",
        "low 0\nhigh 1\nmax 2\noom 3\n",
        "high 1\nmax 2\noom 3\noom_kill\n",
        "high 1\nmax 2\noom three\noom_kill 4\n",
    ] {
        assert!(cgroup_events(text).is_err(), "{text:?}");
    }
    let err = cgroup_events("high 1\nmax 2\noom 3\n").unwrap_err();
    assert_eq!(err.file(), "memory.events");
    assert!(err.to_string().contains("oom_kill"), "{err}");
    never_panics_on_truncation(EVENTS, cgroup_events);
}

#[test]
fn memory_stat_one_key() {
    let check = |key, text, expected| check_parse(|t| memory_stat(t, key), text, expected);
    check("inactive_file", MEMORY_STAT_V2, Ok(Some(904187904)));
    check("anon", MEMORY_STAT_V2, Ok(Some(52985856)));
    check("total_inactive_file", MEMORY_STAT_V2, Ok(None)); // v1 names only
    check("total_inactive_file", MEMORY_STAT_V1, Ok(Some(1192288256)));
    check("inactive_file", MEMORY_STAT_V1, Ok(Some(131072))); // not the `total_` line
    check(
        "hierarchical_memory_limit",
        MEMORY_STAT_V1,
        Ok(Some(9223372036854771712)),
    );
    check("inactive", MEMORY_STAT_V2, Ok(None)); // a prefix of a key is another key
    check("inactive_file", "anon 4096\nfile 8192\n", Ok(None));
    check("inactive_file", "inactive_file 0\n", Ok(Some(0)));
    check("inactive_file", "inactive_file 4096", Ok(Some(4096))); // no final newline
    check("inactive_file", "inactive_file\t4096\n", Ok(Some(4096)));
    // The first of two lines wins, well-formed or not.
    check(
        "inactive_file",
        "inactive_file 4096\ninactive_file 8192\n",
        Ok(Some(4096)),
    );
    check(
        "inactive_file",
        "inactive_file x\ninactive_file 8192\n",
        Err(()),
    );
    // Malformed value for the key.
    check("inactive_file", "inactive_file\n", Err(()));
    check("inactive_file", "inactive_file lots\n", Err(()));
    check("inactive_file", "inactive_file -1\n", Err(()));
    check("inactive_file", "inactive_file 4096 kB\n", Err(()));
    check(
        "inactive_file",
        "inactive_file 18446744073709551616\n",
        Err(()),
    );
    // Malformed lines under other keys do not matter.
    check(
        "inactive_file",
        "anon lots\njunk\n\ninactive_file 4096\n",
        Ok(Some(4096)),
    );
    // Empty file.
    check("inactive_file", "", Err(()));
    check("inactive_file", "\n", Err(()));
    let err = memory_stat("inactive_file seven\n", "inactive_file").unwrap_err();
    assert_eq!(err.file(), "memory.stat");
    for text in [MEMORY_STAT_V1, MEMORY_STAT_V2] {
        never_panics_on_truncation(text, |t| memory_stat(t, "inactive_file"));
    }
}

#[test]
fn psi_in_kernel_format() {
    let p = psi(PSI).unwrap();
    assert_eq!(p.some.avg10, 1.53);
    assert_eq!(p.some.avg60, 0.87);
    assert_eq!(p.some.avg300, 0.22);
    assert_eq!(p.some.total_us, 5841230);
    let full = p.full.unwrap();
    assert_eq!((full.avg10, full.total_us), (0.41, 1200345));
}

#[test]
fn psi_without_full_line() {
    let p = psi("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n").unwrap();
    assert_eq!(p.full, None);
    assert_eq!(p.some.total_us, 0);
}

#[test]
fn psi_malformed() {
    for text in [
        "",
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        "some\n",
        "some avg10=0.00 avg60=0.00 avg300=0.00\n",
        "some avg10=0.00 avg60= avg300=0.00 total=0\n",
        "some avg10=abc avg60=0.00 avg300=0.00 total=0\n",
        "some avg10=-1.0 avg60=0.00 avg300=0.00 total=0\n",
        "some avg10=nan avg60=0.00 avg300=0.00 total=0\n",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=1.5\n",
        "some avg10 0.00\n",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00\n",
    ] {
        assert!(psi(text).is_err(), "{text:?}");
    }
    never_panics_on_truncation(PSI, psi);
}

#[test]
fn proc_self_cgroup_hybrid_and_unified() {
    let paths = proc_self_cgroup(PROC_SELF_CGROUP_HYBRID).unwrap();
    assert_eq!(paths.v2.as_deref(), Some("/"));
    assert_eq!(
        paths.v1_memory.as_deref(),
        Some("/process_api/4d0911466c030b487024e89b56363dc0")
    );

    let paths = proc_self_cgroup("0::/system.slice/app.service\n").unwrap();
    assert_eq!(paths.v2.as_deref(), Some("/system.slice/app.service"));
    assert_eq!(paths.v1_memory, None);

    // A path may itself contain colons.
    let paths = proc_self_cgroup("0::/a:b\n").unwrap();
    assert_eq!(paths.v2.as_deref(), Some("/a:b"));

    assert!(proc_self_cgroup("").is_err());
    assert_eq!(proc_self_cgroup("junk\n"), Ok(CgroupPaths::default()));
    never_panics_on_truncation(PROC_SELF_CGROUP_HYBRID, proc_self_cgroup);
}

#[test]
fn mountinfo_finds_cgroup_mounts() {
    let mounts = mountinfo(MOUNTINFO).unwrap();
    assert_eq!(
        mounts.v2,
        Some(CgroupMount {
            root: "/".into(),
            mount_point: "/sys/fs/cgroup/unified".into()
        })
    );
    assert_eq!(
        mounts.v1_memory.map(|m| m.mount_point),
        Some("/sys/fs/cgroup/memory".into())
    );

    // Optional fields before the separator, a namespace root, an escaped space.
    let text = "30 25 0:26 /docker/abc /sys/fs/cgroup/my\\040dir rw,nosuid shared:4 master:1 - cgroup2 cgroup2 rw,nsdelegate\n";
    let mounts = mountinfo(text).unwrap();
    assert_eq!(
        mounts.v2,
        Some(CgroupMount {
            root: "/docker/abc".into(),
            mount_point: "/sys/fs/cgroup/my dir".into()
        })
    );
    assert_eq!(mounts.v1_memory, None);

    assert!(mountinfo("").is_err());
    assert_eq!(
        mountinfo("no separator here\n"),
        Ok(CgroupMounts::default())
    );
    never_panics_on_truncation(MOUNTINFO, mountinfo);
}

#[test]
fn octal_unescape_leaves_odd_backslashes() {
    assert_eq!(unescape_octal("a\\040b"), "a b");
    assert_eq!(unescape_octal("a\\134b"), "a\\b");
    assert_eq!(unescape_octal("a\\9b\\"), "a\\9b\\");
    assert_eq!(unescape_octal("\\777"), "\\777"); // over 255: kept as is
}

fn auxv(pairs: &[(usize, usize)]) -> Vec<u8> {
    pairs
        .iter()
        .flat_map(|&(k, v)| [k.to_ne_bytes(), v.to_ne_bytes()])
        .flatten()
        .collect()
}

#[test]
fn auxv_page_size_entries() {
    assert_eq!(
        auxv_page_size(&auxv(&[(33, 1), (6, 4096), (0, 0)])),
        Ok(4096)
    );
    assert_eq!(auxv_page_size(&auxv(&[(6, 65536)])), Ok(65536));
    assert!(auxv_page_size(&auxv(&[(33, 1), (0, 0), (6, 4096)])).is_err());
    assert!(auxv_page_size(&auxv(&[(6, 1000)])).is_err());
    assert!(auxv_page_size(&[]).is_err());
    let full = auxv(&[(33, 1), (6, 4096), (0, 0)]);
    for end in 0..full.len() {
        let _ = auxv_page_size(&full[..end]);
    }
    // Truncated after the AT_PAGESZ pair (no AT_NULL): still found.
    assert!(auxv_page_size(&full[..4 * size_of::<usize>()]).is_ok());
}

#[test]
fn live_auxv_has_a_page_size() {
    if let Ok(bytes) = std::fs::read("/proc/self/auxv") {
        let page = auxv_page_size(&bytes).unwrap();
        assert!(page.is_power_of_two() && page >= 4096);
    }
}

#[test]
fn garbage_never_panics() {
    // A deterministic byte soup, including non-ASCII and separators the parsers split on.
    let mut x: u32 = 12345;
    let alphabet = b"0123456789 =:\n-.maxsomefullavgtotaloom_killMemTotal\\\t";
    for len in 0..200 {
        let text: String = (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let b = alphabet[(x >> 16) as usize % alphabet.len()];
                if x % 97 == 0 { '\u{e9}' } else { char::from(b) }
            })
            .collect();
        let _ = statm_resident_pages(&text);
        let _ = meminfo(&text);
        let _ = cgroup_limit(&text);
        let _ = cgroup_v1_limit(&text);
        let _ = cgroup_counter(&text);
        let _ = cgroup_events(&text);
        let _ = cgroup_v1_oom_kill(&text);
        let _ = psi(&text);
        let _ = memory_stat(&text, "inactive_file");
        let _ = proc_self_cgroup(&text);
        let _ = mountinfo(&text);
        let _ = auxv_page_size(text.as_bytes());
    }
}

#[test]
fn error_messages_are_lowercase_and_say_what_to_do() {
    let errors = [
        meminfo("").unwrap_err(),
        meminfo("MemFree: 1 kB\n").unwrap_err(),
        cgroup_counter("x").unwrap_err(),
        cgroup_v1_oom_kill("under_oom 0\n").unwrap_err(),
        memory_stat("", "inactive_file").unwrap_err(),
        memory_stat("inactive_file\n", "inactive_file").unwrap_err(),
        text("f", &[0xff, 0xfe]).unwrap_err(),
    ];
    for err in errors {
        let msg = err.to_string();
        let after_file = msg.split_once(": ").map_or(msg.as_str(), |(_, rest)| rest);
        assert!(after_file.starts_with(|c: char| !c.is_uppercase()), "{msg}");
        assert!(!msg.ends_with('.'), "{msg}");
        assert!(msg.contains("; "), "{msg}");
    }
}

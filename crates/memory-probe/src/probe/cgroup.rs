//! The process's cgroup: found once from mountinfo and `/proc/self/cgroup`, then re-read.

use std::path::{Component, Path, PathBuf};

use cache_traits::{CgroupEvents, CgroupMemory};

use super::file::{Buf, KernelFile};
use crate::ParseError;
use crate::parse::{self, CgroupMount, CgroupMounts, CgroupPaths};

/// Which cgroup interface the memory figures come from.
///
/// # Examples
///
/// ```
/// use memory_probe::{CgroupVersion, Probe};
/// if let Some((CgroupVersion::V1, _)) = Probe::new().cgroup() {
///     println!("legacy cgroup: no memory.high or per-cgroup pressure");
/// }
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CgroupVersion {
    /// The legacy v1 memory controller (`memory.limit_in_bytes`, `memory.usage_in_bytes`,
    /// `memory.soft_limit_in_bytes`, `memory.failcnt`, `memory.oom_control`, `memory.stat`).
    V1,
    /// The unified v2 hierarchy (`memory.max`, `memory.high`, `memory.current`, `memory.events`,
    /// `memory.pressure`, `memory.stat`).
    V2,
}

/// The open memory files of one cgroup (and its ancestors' limits).
#[derive(Debug)]
pub(super) struct Cgroup {
    version: CgroupVersion,
    dir: PathBuf,
    /// Hard-limit files, the cgroup's first, then its ancestors'.
    max: Vec<KernelFile>,
    /// Throttling-threshold files (v2 only).
    high: Vec<KernelFile>,
    current: Option<KernelFile>,
    /// v2 `memory.events`.
    events: Option<KernelFile>,
    /// v1 `memory.soft_limit_in_bytes`, the cgroup's own.
    soft_limit: Option<KernelFile>,
    /// v1 `memory.failcnt`, read as `CgroupEvents::max`.
    failcnt: Option<KernelFile>,
    /// v1 `memory.oom_control`, read for its `oom_kill` line.
    oom_control: Option<KernelFile>,
    /// v2 `memory.pressure`, the cgroup's own.
    pressure: Option<KernelFile>,
    /// `memory.stat`, the cgroup's own, read for its inactive page cache.
    stat: Option<KernelFile>,
}

impl Cgroup {
    /// The memory files of `dir` alone.
    pub(super) fn open(version: CgroupVersion, dir: &Path) -> Self {
        Self::open_chain(version, dir, std::iter::once(dir))
    }

    /// The memory files of `dir`, with the limits of every directory in `chain`.
    fn open_chain<'a>(
        version: CgroupVersion,
        dir: &Path,
        chain: impl Iterator<Item = &'a Path> + Clone,
    ) -> Self {
        let open_all = |name: &str| -> Vec<KernelFile> {
            chain
                .clone()
                .filter_map(|d| KernelFile::open(&d.join(name)).ok())
                .collect()
        };
        let open = |name: &str| KernelFile::open(&dir.join(name)).ok();
        let empty = Self {
            version,
            dir: dir.to_path_buf(),
            max: Vec::new(),
            high: Vec::new(),
            current: None,
            events: None,
            soft_limit: None,
            failcnt: None,
            oom_control: None,
            pressure: None,
            stat: None,
        };
        match version {
            CgroupVersion::V2 => Self {
                max: open_all("memory.max"),
                high: open_all("memory.high"),
                current: open("memory.current"),
                events: open("memory.events"),
                pressure: open("memory.pressure"),
                stat: open("memory.stat"),
                ..empty
            },
            CgroupVersion::V1 => Self {
                max: open_all("memory.limit_in_bytes"),
                current: open("memory.usage_in_bytes"),
                soft_limit: open("memory.soft_limit_in_bytes"),
                failcnt: open("memory.failcnt"),
                oom_control: open("memory.oom_control"),
                stat: open("memory.stat"),
                ..empty
            },
        }
    }

    pub(super) fn version(&self) -> CgroupVersion {
        self.version
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cgroup's own pressure-stall file (v2 `memory.pressure`), if it opened.
    pub(super) fn pressure_path(&self) -> Option<&Path> {
        self.pressure.as_ref().map(KernelFile::path)
    }

    /// Reads every figure now.
    pub(super) fn read(&self, buf: &mut Buf) -> CgroupMemory {
        let limit = match self.version {
            CgroupVersion::V1 => parse::cgroup_v1_limit,
            CgroupVersion::V2 => parse::cgroup_limit,
        };
        let least = |files: &[KernelFile], buf: &mut Buf| {
            let mut least: Option<u64> = None;
            for file in files {
                if let Some(Some(bytes)) = file.parse(buf, limit) {
                    least = Some(least.map_or(bytes, |l| l.min(bytes)));
                }
            }
            least
        };
        let mut c = CgroupMemory::default();
        c.max = least(&self.max, buf);
        c.high = least(&self.high, buf);
        c.current = read(self.current.as_ref(), buf, parse::cgroup_counter);
        c.soft_limit = read(self.soft_limit.as_ref(), buf, parse::cgroup_v1_limit).flatten();
        c.psi = read(self.pressure.as_ref(), buf, parse::psi);
        let inactive_file = match self.version {
            CgroupVersion::V2 => |text: &str| parse::memory_stat(text, "inactive_file"),
            CgroupVersion::V1 => v1_inactive_file,
        };
        c.inactive_file = read(self.stat.as_ref(), buf, inactive_file).flatten();
        c.events = match self.version {
            CgroupVersion::V2 => read(self.events.as_ref(), buf, parse::cgroup_events),
            CgroupVersion::V1 => {
                let failcnt = read(self.failcnt.as_ref(), buf, parse::cgroup_counter);
                let oom_kill = read(self.oom_control.as_ref(), buf, parse::cgroup_v1_oom_kill);
                v1_events(failcnt, oom_kill)
            }
        };
        c
    }
}

/// Reads and parses `file` if it is open; `None` when it is not or either step fails.
fn read<T>(
    file: Option<&KernelFile>,
    buf: &mut Buf,
    parser: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Option<T> {
    file.and_then(|f| f.parse(buf, parser))
}

/// v1's inactive page cache: `total_inactive_file` (the group with its descendants, as
/// `memory.usage_in_bytes` counts them), or `inactive_file` where a kernel has no `total_` lines.
fn v1_inactive_file(text: &str) -> Result<Option<u64>, ParseError> {
    match parse::memory_stat(text, "total_inactive_file")? {
        Some(bytes) => Ok(Some(bytes)),
        None => parse::memory_stat(text, "inactive_file"),
    }
}

/// v1's equivalents of `memory.events`: `failcnt` as `max`, `oom_control`'s `oom_kill`;
/// `None` when neither could be read, and 0 for the one that could not when the other could.
fn v1_events(failcnt: Option<u64>, oom_kill: Option<u64>) -> Option<CgroupEvents> {
    if failcnt.is_none() && oom_kill.is_none() {
        return None;
    }
    let mut events = CgroupEvents::default();
    events.max = failcnt.unwrap_or(0);
    events.oom_kill = oom_kill.unwrap_or(0);
    Some(events)
}

/// Finds and opens the process's cgroup; `None` where there is none (or no `/proc`).
pub(super) fn discover(mountinfo: &str, proc_self_cgroup: &str) -> Option<Cgroup> {
    let mounts = parse::mountinfo(&std::fs::read_to_string(mountinfo).ok()?).ok()?;
    let paths = parse::proc_self_cgroup(&std::fs::read_to_string(proc_self_cgroup).ok()?).ok()?;
    let plan = resolve(&mounts, &paths, |p| p.exists())?;
    let chain = plan
        .dir
        .ancestors()
        .take_while(|a| a.starts_with(&plan.mount_point));
    Some(Cgroup::open_chain(plan.version, &plan.dir, chain))
}

/// Which cgroup to read, decided from parsed mountinfo and `/proc/self/cgroup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Plan {
    pub(super) version: CgroupVersion,
    pub(super) dir: PathBuf,
    pub(super) mount_point: PathBuf,
}

/// Picks v2 where its memory controller is enabled for the process's cgroup, else v1's memory
/// hierarchy (hybrid and legacy hosts), else v2 without a controller (a v2 root cgroup).
pub(super) fn resolve(
    mounts: &CgroupMounts,
    paths: &CgroupPaths,
    exists: impl Fn(&Path) -> bool,
) -> Option<Plan> {
    let plan = |version, mount: &CgroupMount, path: &str| Plan {
        version,
        dir: dir_in(mount, path, &exists),
        mount_point: PathBuf::from(&mount.mount_point),
    };
    let v2 = mounts
        .v2
        .as_ref()
        .zip(paths.v2.as_deref())
        .map(|(m, p)| plan(CgroupVersion::V2, m, p));
    let v1 = mounts
        .v1_memory
        .as_ref()
        .zip(paths.v1_memory.as_deref())
        .map(|(m, p)| plan(CgroupVersion::V1, m, p));
    let v2_has_memory = v2.as_ref().is_some_and(|p| {
        exists(&p.dir.join("memory.current")) || exists(&p.dir.join("memory.max"))
    });
    if v2_has_memory {
        return v2;
    }
    v1.or(v2)
}

/// The directory of cgroup `path` under `mount`: the mount point joined with the path relative
/// to the mount's root; the mount point itself when the path lies outside the mount (a cgroup
/// namespace shows `/..` paths) or does not exist (a container sees its own cgroup as root).
fn dir_in(mount: &CgroupMount, path: &str, exists: impl Fn(&Path) -> bool) -> PathBuf {
    let mount_point = PathBuf::from(&mount.mount_point);
    let rel = Path::new(path)
        .strip_prefix(&mount.root)
        .ok()
        .filter(|rel| rel.components().all(|c| matches!(c, Component::Normal(_))));
    match rel {
        Some(rel) if rel.as_os_str().is_empty() => mount_point,
        Some(rel) => {
            let dir = mount_point.join(rel);
            if exists(&dir) { dir } else { mount_point }
        }
        None => mount_point,
    }
}

#[cfg(test)]
impl Cgroup {
    /// `open_chain` over `leaf` and its ancestors up to `top`, as discovery does.
    pub(super) fn open_chain_for_test(version: CgroupVersion, leaf: &Path, top: &Path) -> Self {
        Self::open_chain(
            version,
            leaf,
            leaf.ancestors().take_while(|a| a.starts_with(top)),
        )
    }
}

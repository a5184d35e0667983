//! The probe: kernel files kept open and re-read with `pread`, jemalloc through cached MIBs.

pub(crate) mod cgroup;
mod file;
mod system;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use cache_traits::{MemoryProbe, MemorySample};

use crate::jemalloc;
use crate::parse;
use crate::{BuildError, CgroupVersion};

use self::cgroup::Cgroup;
use self::file::{Buf, KernelFile};
use self::system::Fallback;

/// Default locations of the files read on every sample.
const STATM: &str = "/proc/self/statm";
const MEMINFO: &str = "/proc/meminfo";
const PRESSURE: &str = "/proc/pressure/memory";
/// Read once, when the probe is built.
const AUXV: &str = "/proc/self/auxv";
const MOUNTINFO: &str = "/proc/self/mountinfo";
const PROC_SELF_CGROUP: &str = "/proc/self/cgroup";

/// Takes [`MemorySample`]s of this process, the host, its cgroup and the allocator.
///
/// Built once (it opens the kernel files it needs and resolves jemalloc's MIBs), then sampled
/// on every management tick: a sample is one epoch advance, six MIB reads and a handful of
/// `pread`s into a stack buffer, with no allocation. Figures that the platform lacks are `None`.
/// On a 2-vCPU Linux VM a full sample takes about 20 µs (`cargo bench -p benches --bench
/// probe`); generating `/proc/meminfo` and merging jemalloc's per-arena stats dominate.
///
/// | figure | Linux source | elsewhere |
/// |---|---|---|
/// | `allocator.*` | jemalloc `stats.*` (feature `jemalloc`, jemalloc global) | same |
/// | `process_rss` | `/proc/self/statm` × page size | sysinfo (feature `sysinfo`) |
/// | `system_total`, `system_available` | `/proc/meminfo` `MemTotal`, `MemAvailable` | sysinfo |
/// | `cgroup.max` | v2 `memory.max`, v1 `memory.limit_in_bytes` | `None` |
/// | `cgroup.high` | v2 `memory.high`; `None` on v1 | `None` |
/// | `cgroup.current` | v2 `memory.current`, v1 `memory.usage_in_bytes` | `None` |
/// | `cgroup.events` | v2 `memory.events`; v1 `memory.failcnt` (as `max`) and `memory.oom_control`'s `oom_kill` | `None` |
/// | `cgroup.soft_limit` | v1 `memory.soft_limit_in_bytes`; `None` on v2 | `None` |
/// | `cgroup.psi` | v2 `memory.pressure` (the cgroup's own); `None` on v1 | `None` |
/// | `cgroup.inactive_file` | v2 `memory.stat` `inactive_file`; v1 `memory.stat` `total_inactive_file` (`inactive_file` where there is no `total_` line) | `None` |
/// | `psi` | `/proc/pressure/memory` (system-wide) | `None` |
///
/// `cgroup.max` and `cgroup.high` are the least over the process's cgroup and its ancestors
/// (up to the mount point), since each ancestor's limit applies too; every other cgroup figure
/// is the cgroup's own. `inactive_file` counts the cgroup's descendants too, as `current` does,
/// so that `working_set()` is their difference; a `memory.stat` without the line, with a
/// malformed value, or larger than the probe's 8 KiB read buffer gives `None`. On v1, `events`
/// is `None` only when neither `memory.failcnt` nor `memory.oom_control` can be read; the one
/// that cannot counts 0, and `high` and `oom` are always 0 (v1 has no such counts). A v1 kernel
/// before 4.13 has no `oom_kill` line: 0.
///
/// # Examples
///
/// ```
/// use cache_traits::MemoryProbe;
/// let probe = memory_probe::Probe::new();
/// let sample = probe.sample();
/// assert!(sample.unix_millis > 0);
/// if cfg!(target_os = "linux") {
///     assert!(sample.process_rss.is_some());
/// }
/// ```
#[derive(Debug)]
pub struct Probe {
    allocator: Option<jemalloc::Stats>,
    statm: Option<KernelFile>,
    page_size: Option<u64>,
    meminfo: Option<KernelFile>,
    pressure: Option<KernelFile>,
    cgroup: Option<Cgroup>,
    fallback: Fallback,
}

impl Default for Probe {
    fn default() -> Self {
        Self::new()
    }
}

impl Probe {
    /// A probe on the default sources; whatever is absent reports `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// let probe = memory_probe::Probe::new();
    /// println!("{:?}", probe.sample().process_rss);
    /// ```
    pub fn new() -> Self {
        // Nothing is set explicitly, so nothing can fail.
        match ProbeBuilder::default().build_inner() {
            Ok(probe) => probe,
            Err(_) => Self::empty(),
        }
    }

    fn empty() -> Self {
        Self {
            allocator: None,
            statm: None,
            page_size: None,
            meminfo: None,
            pressure: None,
            cgroup: None,
            fallback: Fallback::none(),
        }
    }

    /// A builder to override sources (for tests on fixture files, or unusual mounts).
    ///
    /// # Examples
    ///
    /// ```
    /// let probe = memory_probe::Probe::builder()
    ///     .allocator_stats(false)
    ///     .without_cgroup()
    ///     .build()
    ///     .unwrap();
    /// assert!(probe.sample().cgroup.max.is_none());
    /// ```
    pub fn builder() -> ProbeBuilder {
        ProbeBuilder::default()
    }

    /// Whether samples carry allocator figures (jemalloc is the global allocator and enabled).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!memory_probe::Probe::new().has_allocator_stats()); // system allocator here
    /// ```
    pub fn has_allocator_stats(&self) -> bool {
        self.allocator.is_some()
    }

    /// The cgroup whose memory controller the probe reads, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// if let Some((version, dir)) = memory_probe::Probe::new().cgroup() {
    ///     println!("cgroup {version:?} at {}", dir.display());
    /// }
    /// ```
    pub fn cgroup(&self) -> Option<(CgroupVersion, &Path)> {
        self.cgroup.as_ref().map(|c| (c.version(), c.dir()))
    }

    /// The system-wide pressure-stall file the probe reads into `MemorySample::psi`, if any
    /// (`/proc/pressure/memory` unless [`ProbeBuilder::pressure`] set another).
    ///
    /// # Examples
    ///
    /// ```
    /// if let Some(path) = memory_probe::Probe::new().pressure_source() {
    ///     println!("psi from {}", path.display());
    /// }
    /// ```
    pub fn pressure_source(&self) -> Option<&Path> {
        self.pressure.as_ref().map(KernelFile::path)
    }

    /// The cgroup's own pressure-stall file the probe reads into `CgroupMemory::psi`, if any
    /// (v2 `memory.pressure` in the cgroup's directory; v1 has none).
    ///
    /// # Examples
    ///
    /// ```
    /// if let Some(path) = memory_probe::Probe::new().cgroup_pressure_source() {
    ///     println!("cgroup psi from {}", path.display());
    /// }
    /// ```
    pub fn cgroup_pressure_source(&self) -> Option<&Path> {
        self.cgroup.as_ref().and_then(Cgroup::pressure_path)
    }

    /// Takes a sample now (the same as [`MemoryProbe::sample`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = memory_probe::Probe::new().sample();
    /// assert!(s.unix_millis > 0);
    /// ```
    pub fn sample(&self) -> MemorySample {
        let mut s = MemorySample::default();
        s.unix_millis = unix_millis();
        s.allocator = jemalloc::read(self.allocator.as_ref());
        let mut buf = Buf::new();
        s.process_rss = self.process_rss(&mut buf);
        let meminfo = self
            .meminfo
            .as_ref()
            .and_then(|f| f.parse(&mut buf, parse::meminfo));
        match meminfo {
            Some(m) => {
                s.system_total = Some(m.total);
                s.system_available = m.available;
            }
            None if self.meminfo.is_none() => {
                (s.system_total, s.system_available) = self.fallback.system_memory();
            }
            None => {}
        }
        if let Some(cgroup) = &self.cgroup {
            s.cgroup = cgroup.read(&mut buf);
        }
        s.psi = self
            .pressure
            .as_ref()
            .and_then(|f| f.parse(&mut buf, parse::psi));
        s
    }

    fn process_rss(&self, buf: &mut Buf) -> Option<u64> {
        match (&self.statm, self.page_size) {
            (Some(statm), Some(page_size)) => statm
                .parse(buf, parse::statm_resident_pages)
                .map(|pages| pages.saturating_mul(page_size)),
            _ => self.fallback.process_rss(),
        }
    }
}

impl MemoryProbe for Probe {
    fn sample(&self) -> MemorySample {
        Probe::sample(self)
    }

    fn thread_allocations(&self) -> Option<cache_traits::ThreadAllocations> {
        let t = crate::ThreadAllocations::current()?;
        Some(cache_traits::ThreadAllocations::new(
            t.allocated(),
            t.deallocated(),
        ))
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Where a source comes from.
#[derive(Clone, Debug, Default)]
enum Source {
    /// The usual kernel path; absent means `None`.
    #[default]
    Default,
    /// Set on the builder; absent is an error.
    Path(PathBuf),
}

impl Source {
    fn open(&self, default: &str) -> Result<Option<KernelFile>, BuildError> {
        match self {
            Source::Default => Ok(KernelFile::open(Path::new(default)).ok()),
            Source::Path(path) => KernelFile::open(path)
                .map(Some)
                .map_err(|e| BuildError::open(path.clone(), e)),
        }
    }
}

#[derive(Clone, Debug, Default)]
enum CgroupSource {
    /// Found from `/proc/self/mountinfo` and `/proc/self/cgroup`.
    #[default]
    Discover,
    /// A given directory (its ancestors are not read).
    Dir(CgroupVersion, PathBuf),
    /// No cgroup figures.
    Off,
}

/// Builds a [`Probe`] with sources overridden, for tests on fixture files or unusual mounts.
///
/// Every source left alone uses its usual kernel path and reports `None` when absent; a path
/// set here must open, or [`build`](Self::build) fails.
///
/// # Examples
///
/// ```no_run
/// let probe = memory_probe::Probe::builder()
///     .statm("/proc/self/statm")
///     .page_size(4096)
///     .meminfo("/proc/meminfo")
///     .pressure("/proc/pressure/memory")
///     .cgroup_v2("/sys/fs/cgroup/app.slice")
///     .build()?;
/// # Ok::<(), memory_probe::BuildError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ProbeBuilder {
    statm: Source,
    meminfo: Source,
    pressure: Source,
    cgroup: CgroupSource,
    page_size: Option<u64>,
    allocator_stats: bool,
    system_fallback: bool,
}

impl Default for ProbeBuilder {
    fn default() -> Self {
        Self {
            statm: Source::Default,
            meminfo: Source::Default,
            pressure: Source::Default,
            cgroup: CgroupSource::Discover,
            page_size: None,
            allocator_stats: true,
            system_fallback: true,
        }
    }
}

impl ProbeBuilder {
    /// Reads resident pages from this file instead of `/proc/self/statm`.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = memory_probe::Probe::builder().statm("/proc/self/statm");
    /// # let _ = b;
    /// ```
    pub fn statm(mut self, path: impl Into<PathBuf>) -> Self {
        self.statm = Source::Path(path.into());
        self
    }

    /// Uses this page size (bytes) instead of the one in `/proc/self/auxv`.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = memory_probe::Probe::builder().page_size(4096);
    /// # let _ = b;
    /// ```
    pub fn page_size(mut self, bytes: u64) -> Self {
        self.page_size = Some(bytes);
        self
    }

    /// Reads host memory from this file instead of `/proc/meminfo`.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = memory_probe::Probe::builder().meminfo("/proc/meminfo");
    /// # let _ = b;
    /// ```
    pub fn meminfo(mut self, path: impl Into<PathBuf>) -> Self {
        self.meminfo = Source::Path(path.into());
        self
    }

    /// Reads system-wide pressure-stall information (`MemorySample::psi`) from this file
    /// instead of `/proc/pressure/memory`.
    ///
    /// The cgroup's own `memory.pressure` (`CgroupMemory::psi`) still comes from the cgroup's
    /// directory (see [`cgroup_v2`](Self::cgroup_v2)).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = memory_probe::Probe::builder().pressure("/proc/pressure/memory");
    /// # let _ = b;
    /// ```
    pub fn pressure(mut self, path: impl Into<PathBuf>) -> Self {
        self.pressure = Source::Path(path.into());
        self
    }

    /// Reads the cgroup v2 memory files in this directory (not its ancestors), its
    /// `memory.pressure` included, instead of discovering the process's cgroup.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = memory_probe::Probe::builder().cgroup_v2("/sys/fs/cgroup/app.slice");
    /// # let _ = b;
    /// ```
    pub fn cgroup_v2(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cgroup = CgroupSource::Dir(CgroupVersion::V2, dir.into());
        self
    }

    /// Reads the cgroup v1 memory files in this directory (not its ancestors) instead of
    /// discovering the process's cgroup.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = memory_probe::Probe::builder().cgroup_v1("/sys/fs/cgroup/memory/app");
    /// # let _ = b;
    /// ```
    pub fn cgroup_v1(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cgroup = CgroupSource::Dir(CgroupVersion::V1, dir.into());
        self
    }

    /// Reports no cgroup figures.
    ///
    /// # Examples
    ///
    /// ```
    /// let p = memory_probe::Probe::builder().without_cgroup().build().unwrap();
    /// assert!(p.cgroup().is_none());
    /// ```
    pub fn without_cgroup(mut self) -> Self {
        self.cgroup = CgroupSource::Off;
        self
    }

    /// Whether to report jemalloc's figures (default `true`; they are `None` anyway unless
    /// jemalloc is the global allocator).
    ///
    /// # Examples
    ///
    /// ```
    /// let p = memory_probe::Probe::builder().allocator_stats(false).build().unwrap();
    /// assert!(!p.has_allocator_stats());
    /// ```
    pub fn allocator_stats(mut self, enabled: bool) -> Self {
        self.allocator_stats = enabled;
        self
    }

    /// Whether to ask sysinfo (feature `sysinfo`) for RSS and host memory where `/proc` is
    /// absent (default `true`).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = memory_probe::Probe::builder().system_fallback(false);
    /// # let _ = b;
    /// ```
    pub fn system_fallback(mut self, enabled: bool) -> Self {
        self.system_fallback = enabled;
        self
    }

    /// Opens the sources and resolves the allocator's MIBs.
    ///
    /// # Errors
    ///
    /// When a path set on this builder cannot be opened, or the page size is not a power of two.
    ///
    /// # Examples
    ///
    /// ```
    /// let probe = memory_probe::Probe::builder().build()?;
    /// # let _ = probe;
    /// # Ok::<(), memory_probe::BuildError>(())
    /// ```
    pub fn build(self) -> Result<Probe, BuildError> {
        self.build_inner()
    }

    fn build_inner(self) -> Result<Probe, BuildError> {
        if let Some(bytes) = self.page_size.filter(|b| !b.is_power_of_two()) {
            return Err(BuildError::page_size(bytes));
        }
        let statm = self.statm.open(STATM)?;
        let page_size = self.page_size.or_else(|| {
            let bytes = std::fs::read(AUXV).ok()?;
            parse::auxv_page_size(&bytes).ok()
        });
        let meminfo = self.meminfo.open(MEMINFO)?;
        let cgroup = match &self.cgroup {
            CgroupSource::Discover => cgroup::discover(MOUNTINFO, PROC_SELF_CGROUP),
            CgroupSource::Dir(version, dir) => Some(Cgroup::open(*version, dir)),
            CgroupSource::Off => None,
        };
        let pressure = self.pressure.open(PRESSURE)?;
        let allocator = if self.allocator_stats {
            jemalloc::Stats::new()
        } else {
            None
        };
        let need_process = statm.is_none() || page_size.is_none();
        let need_memory = meminfo.is_none();
        let fallback = if self.system_fallback {
            Fallback::new(need_process, need_memory)
        } else {
            Fallback::none()
        };
        Ok(Probe {
            allocator,
            statm,
            page_size,
            meminfo,
            pressure,
            cgroup,
            fallback,
        })
    }
}

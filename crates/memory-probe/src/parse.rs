//! Pure parsers for the kernel files the probe reads, in their documented formats.
//!
//! Each function takes the file's text and returns a typed value or a [`ParseError`]; none
//! panics, whatever the input (malformed, truncated, empty). The probe calls them on every
//! sample; they are public so that other crates can test against fixture text too.

use cache_traits::{CgroupEvents, Psi, PsiLine};

use crate::ParseError;

#[cfg(test)]
mod tests;

/// A value at or above this in a cgroup v1 limit file means "no limit".
///
/// v1 writes `PAGE_COUNTER_MAX * PAGE_SIZE` (9223372036854771712 with 4 KiB pages) rather than
/// a word; no machine has 4 EiB of memory.
const V1_UNLIMITED: u64 = 1 << 62;

fn number(file: &'static str, text: &str) -> Result<u64, ParseError> {
    text.parse::<u64>()
        .map_err(|_| ParseError::not_a_number(file, text))
}

fn float(file: &'static str, text: &str) -> Result<f64, ParseError> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(ParseError::not_a_number(file, text)),
    }
}

/// Resident pages from `/proc/self/statm` (its second field; multiply by the page size).
///
/// # Errors
///
/// When the text has fewer than two fields or the second is not a number.
///
/// # Examples
///
/// ```
/// use memory_probe::parse::statm_resident_pages;
/// assert_eq!(statm_resident_pages("5237 1320 1011 201 0 438 0\n"), Ok(1320));
/// assert!(statm_resident_pages("5237").is_err());
/// ```
pub fn statm_resident_pages(text: &str) -> Result<u64, ParseError> {
    const FILE: &str = "/proc/self/statm";
    let mut fields = text.split_ascii_whitespace();
    if fields.next().is_none() {
        return Err(ParseError::empty(FILE));
    }
    let resident = fields
        .next()
        .ok_or_else(|| ParseError::missing(FILE, "resident field"))?;
    number(FILE, resident)
}

/// Host memory from `/proc/meminfo`, in bytes.
///
/// # Examples
///
/// ```
/// let m = memory_probe::parse::meminfo("MemTotal: 16 kB\nMemFree: 4 kB\nMemAvailable: 8 kB\n")
///     .unwrap();
/// assert_eq!((m.total, m.available), (16 * 1024, Some(8 * 1024)));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meminfo {
    /// `MemTotal`: physical memory the kernel manages.
    pub total: u64,
    /// `MemAvailable`: memory that can be handed out without swapping; absent before Linux 3.14.
    pub available: Option<u64>,
}

/// Parses `/proc/meminfo` (`Key:   value kB` lines) for `MemTotal` and `MemAvailable`.
///
/// # Errors
///
/// When `MemTotal` is absent, or either figure is not a number.
///
/// # Examples
///
/// ```
/// let text = "MemTotal:       24684084 kB\nMemFree:        23792392 kB\nMemAvailable:   24352408 kB\n";
/// let m = memory_probe::parse::meminfo(text).unwrap();
/// assert_eq!(m.total, 24684084 * 1024);
/// assert_eq!(m.available, Some(24352408 * 1024));
/// ```
pub fn meminfo(text: &str) -> Result<Meminfo, ParseError> {
    const FILE: &str = "/proc/meminfo";
    if text.trim().is_empty() {
        return Err(ParseError::empty(FILE));
    }
    let mut total = None;
    let mut available = None;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let slot = match key {
            "MemTotal" => &mut total,
            "MemAvailable" => &mut available,
            _ => continue,
        };
        let mut parts = rest.split_ascii_whitespace();
        let value = parts
            .next()
            .ok_or_else(|| ParseError::missing(FILE, "value after the key"))?;
        let value = number(FILE, value)?;
        // Every figure in meminfo is in KiB ("kB"); a line without a unit would be pages,
        // which these two never are.
        *slot = Some(value.saturating_mul(1024));
        if total.is_some() && available.is_some() {
            break;
        }
    }
    let total = total.ok_or_else(|| ParseError::missing(FILE, "MemTotal line"))?;
    Ok(Meminfo { total, available })
}

/// A cgroup v2 limit file (`memory.max`, `memory.high`): `max` means unlimited (`None`).
///
/// # Errors
///
/// When the file is empty or holds neither `max` nor a number.
///
/// # Examples
///
/// ```
/// use memory_probe::parse::cgroup_limit;
/// assert_eq!(cgroup_limit("max\n"), Ok(None));
/// assert_eq!(cgroup_limit("536870912\n"), Ok(Some(512 << 20)));
/// assert!(cgroup_limit("").is_err());
/// ```
pub fn cgroup_limit(text: &str) -> Result<Option<u64>, ParseError> {
    const FILE: &str = "cgroup limit";
    match text.trim() {
        "" => Err(ParseError::empty(FILE)),
        "max" => Ok(None),
        value => number(FILE, value).map(Some),
    }
}

/// A cgroup v1 limit file (`memory.limit_in_bytes`, `memory.soft_limit_in_bytes`): a huge
/// value means unlimited (`None`).
///
/// # Errors
///
/// When the file is empty or does not hold a number.
///
/// # Examples
///
/// ```
/// use memory_probe::parse::cgroup_v1_limit;
/// assert_eq!(cgroup_v1_limit("9223372036854771712\n"), Ok(None));
/// assert_eq!(cgroup_v1_limit("1073741824\n"), Ok(Some(1 << 30)));
/// ```
pub fn cgroup_v1_limit(text: &str) -> Result<Option<u64>, ParseError> {
    const FILE: &str = "cgroup v1 limit";
    match text.trim() {
        "" => Err(ParseError::empty(FILE)),
        value => number(FILE, value).map(|v| (v < V1_UNLIMITED).then_some(v)),
    }
}

/// A single-number cgroup file (`memory.current`, v1 `memory.usage_in_bytes` and
/// `memory.failcnt`).
///
/// # Errors
///
/// When the file is empty or does not hold a number.
///
/// # Examples
///
/// ```
/// assert_eq!(memory_probe::parse::cgroup_counter("4734976\n"), Ok(4734976));
/// ```
pub fn cgroup_counter(text: &str) -> Result<u64, ParseError> {
    const FILE: &str = "cgroup counter";
    match text.trim() {
        "" => Err(ParseError::empty(FILE)),
        value => number(FILE, value),
    }
}

/// Cgroup v2 `memory.events`: `key value` lines; `high`, `max`, `oom` and `oom_kill` are
/// required, other keys (`low`, `oom_group_kill`, …) are ignored.
///
/// # Errors
///
/// When a required key is absent or a value is not a number.
///
/// # Examples
///
/// ```
/// let text = "low 0\nhigh 12\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n";
/// let e = memory_probe::parse::cgroup_events(text).unwrap();
/// assert_eq!((e.high, e.max, e.oom, e.oom_kill), (12, 3, 1, 1));
/// ```
pub fn cgroup_events(text: &str) -> Result<CgroupEvents, ParseError> {
    const FILE: &str = "memory.events";
    if text.trim().is_empty() {
        return Err(ParseError::empty(FILE));
    }
    let (mut high, mut max, mut oom, mut oom_kill) = (None, None, None, None);
    for line in text.lines() {
        let mut parts = line.split_ascii_whitespace();
        let (Some(key), value) = (parts.next(), parts.next()) else {
            continue;
        };
        let slot = match key {
            "high" => &mut high,
            "max" => &mut max,
            "oom" => &mut oom,
            "oom_kill" => &mut oom_kill,
            _ => continue,
        };
        let value = value.ok_or_else(|| ParseError::missing(FILE, "value after a key"))?;
        *slot = Some(number(FILE, value)?);
    }
    let mut events = CgroupEvents::default();
    events.high = high.ok_or_else(|| ParseError::missing(FILE, "`high` line"))?;
    events.max = max.ok_or_else(|| ParseError::missing(FILE, "`max` line"))?;
    events.oom = oom.ok_or_else(|| ParseError::missing(FILE, "`oom` line"))?;
    events.oom_kill = oom_kill.ok_or_else(|| ParseError::missing(FILE, "`oom_kill` line"))?;
    Ok(events)
}

/// The `oom_kill` count of cgroup v1 `memory.oom_control`: `key value` lines, of which
/// `oom_kill_disable` and `under_oom` are ignored.
///
/// Kernels before 4.13 have no `oom_kill` line; the count is then 0, as long as the
/// `oom_kill_disable` line shows that the text is an `oom_control` file.
///
/// # Errors
///
/// When the file is empty, has neither an `oom_kill` nor an `oom_kill_disable` line, or the
/// `oom_kill` value is absent or not a number.
///
/// # Examples
///
/// ```
/// use memory_probe::parse::cgroup_v1_oom_kill;
/// assert_eq!(cgroup_v1_oom_kill("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), Ok(3));
/// assert_eq!(cgroup_v1_oom_kill("oom_kill_disable 0\nunder_oom 0\n"), Ok(0));
/// assert!(cgroup_v1_oom_kill("").is_err());
/// ```
pub fn cgroup_v1_oom_kill(text: &str) -> Result<u64, ParseError> {
    const FILE: &str = "memory.oom_control";
    if text.trim().is_empty() {
        return Err(ParseError::empty(FILE));
    }
    let mut is_oom_control = false;
    for line in text.lines() {
        let mut parts = line.split_ascii_whitespace();
        match (parts.next(), parts.next()) {
            (Some("oom_kill"), Some(value)) => return number(FILE, value),
            (Some("oom_kill"), None) => {
                return Err(ParseError::missing(FILE, "value after `oom_kill`"));
            }
            (Some("oom_kill_disable"), _) => is_oom_control = true,
            _ => {}
        }
    }
    if is_oom_control {
        Ok(0)
    } else {
        Err(ParseError::missing(FILE, "`oom_kill_disable` line"))
    }
}

/// One figure of a cgroup's `memory.stat` (`key value` lines, values in bytes or counts): the
/// value of the first line whose key is `key`, `None` when no line has it; other lines are
/// ignored.
///
/// v2 writes `inactive_file`, `anon`, `file`, …; v1 writes the group's own figures
/// (`inactive_file`) and, with its descendants, the same names prefixed `total_`.
///
/// # Errors
///
/// When the file is empty, or the line with `key` has no value, more than one, or one that is
/// not a number.
///
/// # Examples
///
/// ```
/// use memory_probe::parse::memory_stat;
/// let text = "anon 1052672\nfile 8192000\ninactive_file 4096000\nactive_file 4096000\n";
/// assert_eq!(memory_stat(text, "inactive_file"), Ok(Some(4096000)));
/// assert_eq!(memory_stat(text, "total_inactive_file"), Ok(None));
/// assert!(memory_stat("inactive_file lots\n", "inactive_file").is_err());
/// ```
pub fn memory_stat(text: &str, key: &str) -> Result<Option<u64>, ParseError> {
    const FILE: &str = "memory.stat";
    if text.trim().is_empty() {
        return Err(ParseError::empty(FILE));
    }
    for line in text.lines() {
        let line = line.trim();
        let (name, value) = line
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((line, ""));
        if name != key {
            continue;
        }
        return match value.trim() {
            "" => Err(ParseError::missing(FILE, "value after the key")),
            value => number(FILE, value).map(Some),
        };
    }
    Ok(None)
}

/// Pressure-stall information (`/proc/pressure/memory` or a cgroup's `memory.pressure`).
///
/// The `some` line is required; the `full` line is optional (older kernels lack it for some
/// resources). Each line needs `avg10`, `avg60`, `avg300` and `total`; unknown keys are ignored.
///
/// # Errors
///
/// When the `some` line is absent, a line lacks a field, or a value is not a number.
///
/// # Examples
///
/// ```
/// let text = "some avg10=1.50 avg60=0.25 avg300=0.00 total=123456\n\
///             full avg10=0.00 avg60=0.00 avg300=0.00 total=789\n";
/// let psi = memory_probe::parse::psi(text).unwrap();
/// assert_eq!(psi.some.avg10, 1.5);
/// assert_eq!(psi.full.map(|f| f.total_us), Some(789));
/// ```
pub fn psi(text: &str) -> Result<Psi, ParseError> {
    const FILE: &str = "memory pressure";
    if text.trim().is_empty() {
        return Err(ParseError::empty(FILE));
    }
    let mut some = None;
    let mut full = None;
    for line in text.lines() {
        let mut parts = line.split_ascii_whitespace();
        let slot = match parts.next() {
            Some("some") => &mut some,
            Some("full") => &mut full,
            _ => continue,
        };
        *slot = Some(psi_line(FILE, parts)?);
    }
    let mut psi = Psi::default();
    psi.some = some.ok_or_else(|| ParseError::missing(FILE, "`some` line"))?;
    psi.full = full;
    Ok(psi)
}

fn psi_line<'a>(
    file: &'static str,
    fields: impl Iterator<Item = &'a str>,
) -> Result<PsiLine, ParseError> {
    let (mut avg10, mut avg60, mut avg300, mut total) = (None, None, None, None);
    for field in fields {
        let Some((key, value)) = field.split_once('=') else {
            return Err(ParseError::missing(file, "`key=value` field"));
        };
        match key {
            "avg10" => avg10 = Some(float(file, value)?),
            "avg60" => avg60 = Some(float(file, value)?),
            "avg300" => avg300 = Some(float(file, value)?),
            "total" => total = Some(number(file, value)?),
            _ => {}
        }
    }
    let mut line = PsiLine::default();
    line.avg10 = avg10.ok_or_else(|| ParseError::missing(file, "avg10 field"))?;
    line.avg60 = avg60.ok_or_else(|| ParseError::missing(file, "avg60 field"))?;
    line.avg300 = avg300.ok_or_else(|| ParseError::missing(file, "avg300 field"))?;
    line.total_us = total.ok_or_else(|| ParseError::missing(file, "total field"))?;
    Ok(line)
}

/// Where the process sits in each cgroup hierarchy, from `/proc/self/cgroup`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CgroupPaths {
    /// The unified (v2) hierarchy's path: the `0::/path` line.
    pub(crate) v2: Option<String>,
    /// The v1 memory controller's path: the `N:...memory...:/path` line.
    pub(crate) v1_memory: Option<String>,
}

/// Parses `/proc/self/cgroup`: `hierarchy-id:controller-list:path` lines.
pub(crate) fn proc_self_cgroup(text: &str) -> Result<CgroupPaths, ParseError> {
    const FILE: &str = "/proc/self/cgroup";
    if text.trim().is_empty() {
        return Err(ParseError::empty(FILE));
    }
    let mut paths = CgroupPaths::default();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            paths.v2 = Some(path.to_owned());
        } else if controllers.split(',').any(|c| c == "memory") {
            paths.v1_memory = Some(path.to_owned());
        }
    }
    Ok(paths)
}

/// A mounted cgroup hierarchy, from `/proc/self/mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CgroupMount {
    /// The path inside the hierarchy that is mounted (`/` unless a namespace or bind mount).
    pub(crate) root: String,
    /// Where it is mounted.
    pub(crate) mount_point: String,
}

/// The cgroup hierarchies that matter for memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CgroupMounts {
    pub(crate) v2: Option<CgroupMount>,
    pub(crate) v1_memory: Option<CgroupMount>,
}

/// Parses `/proc/self/mountinfo` for the `cgroup2` mount and the v1 `cgroup` mount carrying
/// the `memory` controller (the first of each).
///
/// Line format (proc(5)): `id parent major:minor root mount-point options [optional…] - fstype
/// source super-options`.
pub(crate) fn mountinfo(text: &str) -> Result<CgroupMounts, ParseError> {
    const FILE: &str = "/proc/self/mountinfo";
    if text.trim().is_empty() {
        return Err(ParseError::empty(FILE));
    }
    let mut mounts = CgroupMounts::default();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut left = left.split(' ');
        let (Some(root), Some(mount_point)) = (left.nth(3), left.next()) else {
            continue;
        };
        let mut right = right.split(' ');
        let (Some(fstype), _source, super_options) = (right.next(), right.next(), right.next())
        else {
            continue;
        };
        let mount = || CgroupMount {
            root: unescape_octal(root),
            mount_point: unescape_octal(mount_point),
        };
        match fstype {
            "cgroup2" if mounts.v2.is_none() => mounts.v2 = Some(mount()),
            "cgroup"
                if mounts.v1_memory.is_none()
                    && super_options.is_some_and(|o| o.split(',').any(|o| o == "memory")) =>
            {
                mounts.v1_memory = Some(mount());
            }
            _ => {}
        }
    }
    Ok(mounts)
}

/// Undoes mountinfo's `\ooo` escapes (space, tab, newline, backslash).
fn unescape_octal(text: &str) -> String {
    if !text.contains('\\') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)))
            .map(|d| d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0')));
        match escaped.and_then(|v| u8::try_from(v).ok()) {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The page size from `/proc/self/auxv`: native-endian (type, value) word pairs; `AT_PAGESZ` is 6.
pub(crate) fn auxv_page_size(bytes: &[u8]) -> Result<u64, ParseError> {
    const FILE: &str = "/proc/self/auxv";
    const AT_NULL: usize = 0;
    const AT_PAGESZ: usize = 6;
    const WORD: usize = size_of::<usize>();
    if bytes.is_empty() {
        return Err(ParseError::empty(FILE));
    }
    let word =
        |chunk: &[u8]| -> Option<usize> { Some(usize::from_ne_bytes(chunk.try_into().ok()?)) };
    for pair in bytes.chunks_exact(2 * WORD) {
        let (Some(kind), Some(value)) = (word(&pair[..WORD]), word(&pair[WORD..])) else {
            break;
        };
        match kind {
            AT_PAGESZ if value.is_power_of_two() => return Ok(value as u64),
            AT_PAGESZ => return Err(ParseError::not_a_number(FILE, &value.to_string())),
            AT_NULL => break,
            _ => {}
        }
    }
    Err(ParseError::missing(FILE, "AT_PAGESZ entry"))
}

/// Turns file bytes into text for the parsers.
pub(crate) fn text<'a>(file: &'static str, bytes: &'a [u8]) -> Result<&'a str, ParseError> {
    std::str::from_utf8(bytes).map_err(|_| ParseError::not_utf8(file))
}

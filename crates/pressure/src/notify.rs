//! Kernel memory-pressure notifications, so the response does not wait for the next tick.
//!
//! - PSI triggers: a line `some|full <stall µs> <window µs>` written to `/proc/pressure/memory`
//!   or a v2 cgroup's `memory.pressure`, then `poll` for `POLLPRI`. An unprivileged process may
//!   only ask for windows that are multiples of 2 s.
//! - cgroup v1: an eventfd registered in `cgroup.event_control` against
//!   `memory.usage_in_bytes` with a threshold (the kernel signals each crossing), or against
//!   `memory.pressure_level` with `low`, `medium` or `critical`.
//!
//! [`Notifications::wait`] blocks until one of them fires, [`Waker::wake`] is called, or the
//! timeout passes: a management thread uses it in place of a sleep between ticks. Where the
//! kernel offers none of them (or not on Linux), it is a plain timed wait.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which notification fired.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The timeout passed.
    Timeout,
    /// [`Waker::wake`] was called.
    Woken,
    /// A PSI trigger fired on this file.
    Psi(PathBuf),
    /// cgroup v1 usage crossed a registered threshold (bytes).
    UsageThreshold(u64),
    /// cgroup v1 `memory.pressure_level` signalled this level.
    PressureLevel(&'static str),
}

impl Notice {
    /// Whether the kernel sent it.
    pub fn from_kernel(&self) -> bool {
        !matches!(self, Notice::Timeout | Notice::Woken)
    }
}

/// The v1 `memory.pressure_level` levels.
const V1_LEVELS: &[&str] = &["low", "medium", "critical"];

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as sys;

#[cfg(not(target_os = "linux"))]
mod fallback;
#[cfg(not(target_os = "linux"))]
use fallback as sys;

/// A set of kernel notification sources and a wake-up, waited on together.
///
/// # Examples
///
/// ```no_run
/// use pressure::{Notice, Notifications};
/// use std::time::Duration;
///
/// let mut notes = Notifications::new()?;
/// // 200 ms of `some` stall in a 2 s window (allowed without privileges).
/// let _ = notes.psi_trigger("/proc/pressure/memory", "some", Duration::from_millis(200), Duration::from_secs(2));
/// let waker = notes.waker();
/// std::thread::spawn(move || waker.wake());
/// let notice = notes.wait(Duration::from_secs(1));
/// assert!(matches!(notice, Notice::Woken | Notice::Psi(_) | Notice::Timeout));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Notifications {
    inner: sys::Set,
}

/// Wakes a [`Notifications::wait`] from another thread.
#[derive(Clone, Debug)]
pub struct Waker {
    inner: sys::Waker,
}

impl Waker {
    /// Makes the current or next `wait` return [`Notice::Woken`].
    pub fn wake(&self) {
        self.inner.wake();
    }
}

impl Notifications {
    /// A set with no kernel source yet, only the wake-up.
    ///
    /// # Errors
    ///
    /// When the wake-up (an eventfd on Linux) cannot be created.
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            inner: sys::Set::new()?,
        })
    }

    /// A handle that wakes [`wait`](Self::wait).
    pub fn waker(&self) -> Waker {
        Waker {
            inner: self.inner.waker(),
        }
    }

    /// How many kernel sources are registered.
    pub fn sources(&self) -> usize {
        self.inner.sources()
    }

    /// Drops every kernel source (closing its descriptors unregisters it); the waker stays.
    pub fn clear_sources(&mut self) {
        self.inner.clear_sources();
    }

    /// Registers a PSI trigger on `path` (`/proc/pressure/memory` or a v2 cgroup's
    /// `memory.pressure`): `kind` is `some` or `full`, firing when tasks stalled for `stall`
    /// within a `window`.
    ///
    /// # Errors
    ///
    /// When `kind` is neither `some` nor `full`, the stall is not shorter than the window, the
    /// file does not open, or the kernel refuses the trigger (no PSI support, or a window that
    /// is not a multiple of 2 s without privileges).
    pub fn psi_trigger(
        &mut self,
        path: impl AsRef<Path>,
        kind: &str,
        stall: Duration,
        window: Duration,
    ) -> io::Result<()> {
        if kind != "some" && kind != "full" {
            return Err(invalid("a PSI trigger is `some` or `full`"));
        }
        if stall.is_zero() || stall >= window {
            return Err(invalid(
                "a PSI trigger's stall must be above 0 and below its window",
            ));
        }
        let line = format!("{kind} {} {}", stall.as_micros(), window.as_micros());
        self.inner.psi_trigger(path.as_ref(), &line)
    }

    /// Registers a cgroup v1 usage threshold: a notice each time `memory.usage_in_bytes` of
    /// the cgroup at `dir` crosses `bytes`, up or down.
    ///
    /// # Errors
    ///
    /// When the cgroup's files do not open or the kernel refuses the registration.
    pub fn cgroup_v1_usage(&mut self, dir: impl AsRef<Path>, bytes: u64) -> io::Result<()> {
        self.inner.cgroup_v1(
            dir.as_ref(),
            "memory.usage_in_bytes",
            &bytes.to_string(),
            Notice::UsageThreshold(bytes),
        )
    }

    /// Registers a cgroup v1 `memory.pressure_level` notification at `level` (`low`, `medium`
    /// or `critical`) for the cgroup at `dir`.
    ///
    /// # Errors
    ///
    /// When `level` is not one of the three, the cgroup's files do not open, or the kernel
    /// refuses the registration.
    pub fn cgroup_v1_pressure_level(
        &mut self,
        dir: impl AsRef<Path>,
        level: &str,
    ) -> io::Result<()> {
        let Some(&level) = V1_LEVELS.iter().find(|&&l| l == level) else {
            return Err(invalid(
                "a v1 pressure level is `low`, `medium` or `critical`",
            ));
        };
        self.inner.cgroup_v1(
            dir.as_ref(),
            "memory.pressure_level",
            level,
            Notice::PressureLevel(level),
        )
    }

    /// Waits up to `timeout` for a notification or a wake-up.
    ///
    /// A source that fails (its cgroup was removed) is dropped and the wait goes on with the
    /// others.
    pub fn wait(&mut self, timeout: Duration) -> Notice {
        self.inner.wait(timeout)
    }
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

#[cfg(test)]
mod tests;

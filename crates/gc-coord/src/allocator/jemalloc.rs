//! jemalloc through `mallctl`: void controls called with null pointers, settings per arena, and
//! `stats.resident` / `stats.allocated` through cached MIBs.

use std::ffi::{CStr, CString, c_int, c_void};
use std::fmt;
use std::hint::black_box;
use std::ptr;

use tikv_jemalloc_ctl::{arenas, epoch, epoch_mib, stats};

use super::Settings;

/// Bytes allocated (never touched, so never resident) to find out whether jemalloc serves the
/// global allocator.
const PROBE_BYTES: usize = 8 << 20;

/// Cached MIBs for the figures read on every purge.
pub(super) struct Ctl {
    epoch: epoch_mib,
    resident: stats::resident_mib,
    allocated: stats::allocated_mib,
}

impl fmt::Debug for Ctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctl").finish_non_exhaustive()
    }
}

impl Ctl {
    /// Looks the MIBs up; `None` if jemalloc was built without statistics.
    pub(super) fn new() -> Option<Self> {
        Some(Self {
            epoch: epoch::mib().ok()?,
            resident: stats::resident::mib().ok()?,
            allocated: stats::allocated::mib().ok()?,
        })
    }

    /// `stats.allocated` after an epoch advance.
    fn allocated(&self) -> Option<u64> {
        self.epoch.advance().ok()?;
        self.allocated.read().ok().map(|b| b as u64)
    }

    /// `stats.resident` after an epoch advance.
    pub(super) fn resident(&self) -> Option<u64> {
        self.epoch.advance().ok()?;
        self.resident.read().ok().map(|b| b as u64)
    }

    /// Whether a global allocation shows up in jemalloc's `stats.allocated`.
    ///
    /// When jemalloc is linked but not the global allocator its statistics stay near zero and do
    /// not move when Rust code allocates. Other threads may free memory meanwhile, so a few tries
    /// are made before concluding it is not.
    pub(super) fn is_global(&self) -> bool {
        (0..3).any(|_| {
            let Some(before) = self.allocated() else {
                return false;
            };
            let probe: Vec<u8> = black_box(Vec::with_capacity(PROBE_BYTES));
            let after = self.allocated();
            drop(probe);
            after.is_some_and(|after| after >= before + PROBE_BYTES as u64 / 2)
        })
    }
}

/// Calls a void control (`arena.<i>.purge`, `arena.<i>.decay`): no value in, no value out.
pub(super) fn void_ctl(name: &CStr) -> Result<(), String> {
    // SAFETY: `name` is a NUL-terminated string that outlives the call. The controls passed here
    // are void: they read and write no value, so jemalloc requires `oldp`, `oldlenp` and `newp`
    // to be null and `newlen` to be 0 (`raw::write` cannot be used: it passes a non-null `newp`,
    // which jemalloc rejects with EPERM). jemalloc does not retain any pointer.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            0,
        )
    };
    check(name, rc)
}

/// Writes `value` to a control whose C type has the size and layout of `T`.
///
/// # Safety
///
/// `T` must be the control's C type (`ssize_t` is `isize`, `bool` is `bool`).
unsafe fn write_ctl<T: Copy>(name: &CStr, mut value: T) -> Result<(), String> {
    // SAFETY: `name` is NUL-terminated; `newp` points at a live `T` of `size_of::<T>()` bytes,
    // which the caller guarantees is the control's type; no value is read back (null `oldp`).
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
            (&raw mut value).cast::<c_void>(),
            size_of::<T>(),
        )
    };
    check(name, rc)
}

/// Reads a `bool` control.
fn read_bool(name: &CStr) -> Result<bool, String> {
    let mut value = false;
    let mut len = size_of::<bool>();
    // SAFETY: `name` is NUL-terminated; `oldp` points at a live `bool` and `oldlenp` at its size,
    // which is the C `bool` the controls read here return; no value is written (null `newp`).
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            (&raw mut value).cast::<c_void>(),
            &raw mut len,
            ptr::null_mut(),
            0,
        )
    };
    check(name, rc).map(|()| value)
}

fn check(name: &CStr, rc: c_int) -> Result<(), String> {
    if rc == 0 {
        Ok(())
    } else {
        Err(format!(
            "mallctl `{}` failed with error code {rc}",
            name.to_string_lossy()
        ))
    }
}

fn ctl_name(name: String) -> Result<CString, String> {
    CString::new(name).map_err(|e| format!("bad mallctl name: {e}"))
}

/// Sets a decay time on every initialised arena, then as the default for arenas made later.
fn set_decay(which: &str, ms: i64) -> Result<(), String> {
    let ms = isize::try_from(ms).map_err(|_| format!("{which} {ms} does not fit in ssize_t"))?;
    let n_arenas =
        arenas::narenas::read().map_err(|e| format!("could not read `arenas.narenas`: {e}"))?;
    for arena_idx in 0..n_arenas {
        // Arena slots below `narenas` may never have been created; jemalloc refuses settings
        // for those (EFAULT), and they pick up `arenas.<which>` when they are.
        if !read_bool(&ctl_name(format!("arena.{arena_idx}.initialized"))?)? {
            continue;
        }
        let name = ctl_name(format!("arena.{arena_idx}.{which}"))?;
        // SAFETY: `arena.<i>.dirty_decay_ms` and `arena.<i>.muzzy_decay_ms` are `ssize_t`.
        unsafe { write_ctl::<isize>(&name, ms) }?;
    }
    let name = ctl_name(format!("arenas.{which}"))?;
    // SAFETY: `arenas.dirty_decay_ms` and `arenas.muzzy_decay_ms` are `ssize_t`.
    unsafe { write_ctl::<isize>(&name, ms) }
}

/// Applies the settings that are present.
pub(super) fn configure(settings: &Settings) -> Result<(), String> {
    if let Some(ms) = settings.dirty_decay_ms {
        set_decay("dirty_decay_ms", ms)?;
    }
    if let Some(ms) = settings.muzzy_decay_ms {
        set_decay("muzzy_decay_ms", ms)?;
    }
    if let Some(on) = settings.background_thread {
        // SAFETY: `background_thread` is a C `bool`.
        unsafe { write_ctl::<bool>(c"background_thread", on) }?;
    }
    Ok(())
}

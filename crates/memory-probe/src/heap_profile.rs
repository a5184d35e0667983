//! A jemalloc heap profile written on demand (`prof.dump`), where jemalloc was built with
//! profiling and the process runs with it on.

use std::fmt;
use std::path::Path;

/// Why no heap profile was written.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeapProfileError {
    /// jemalloc is not the global allocator (or the `jemalloc` feature is off).
    NoJemalloc,
    /// jemalloc was built without profiling, or runs with it off.
    ProfilingOff,
    /// The path cannot be passed to jemalloc (it holds a NUL byte or is not UTF-8).
    BadPath,
    /// jemalloc refused the dump (error code from `mallctl`).
    Failed(String),
}

impl fmt::Display for HeapProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapProfileError::NoJemalloc => f.write_str(
                "jemalloc is not the global allocator: set `#[global_allocator] static A: \
                 tikv_jemallocator::Jemalloc` to get heap profiles",
            ),
            HeapProfileError::ProfilingOff => f.write_str(
                "jemalloc runs without heap profiling: build tikv-jemallocator with its \
                 `profiling` feature and start the process with MALLOC_CONF=prof:true \
                 (or _RJEM_MALLOC_CONF with a prefixed jemalloc)",
            ),
            HeapProfileError::BadPath => {
                f.write_str("the profile's path must be UTF-8 without NUL bytes: pick another")
            }
            HeapProfileError::Failed(e) => write!(f, "jemalloc could not write the profile: {e}"),
        }
    }
}

impl std::error::Error for HeapProfileError {}

/// Writes a jemalloc heap profile (for `jeprof`) to `path`.
///
/// # Errors
///
/// [`HeapProfileError`] says why not: no jemalloc, profiling off (the usual case: it needs a
/// jemalloc built with profiling and `prof:true` at start-up), a bad path, or a failed write.
///
/// # Examples
///
/// ```
/// use memory_probe::{HeapProfileError, dump_heap_profile};
/// // Doctests use the system allocator.
/// let err = dump_heap_profile(std::path::Path::new("/tmp/heap.prof")).unwrap_err();
/// assert_eq!(err, HeapProfileError::NoJemalloc);
/// ```
pub fn dump_heap_profile(path: &Path) -> Result<(), HeapProfileError> {
    if !crate::jemalloc_is_global() {
        return Err(HeapProfileError::NoJemalloc);
    }
    let path = path.to_str().ok_or(HeapProfileError::BadPath)?;
    if path.contains('\0') {
        return Err(HeapProfileError::BadPath);
    }
    imp::dump(path)
}

#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
mod imp {
    use super::HeapProfileError;

    pub(super) fn dump(path: &str) -> Result<(), HeapProfileError> {
        // SAFETY: `opt.prof` is a bool option; reading it has no side effect.
        let on = unsafe { tikv_jemalloc_ctl::raw::read::<bool>(b"opt.prof\0") };
        if !matches!(on, Ok(true)) {
            return Err(HeapProfileError::ProfilingOff);
        }
        let mut c_path = path.as_bytes().to_vec();
        c_path.push(0);
        // SAFETY: `prof.dump` takes a `const char *` naming the file; `c_path` is
        // NUL-terminated and outlives the call.
        unsafe {
            tikv_jemalloc_ctl::raw::write(
                b"prof.dump\0",
                c_path.as_ptr().cast::<std::ffi::c_char>(),
            )
        }
        .map_err(|e| HeapProfileError::Failed(e.to_string()))
    }
}

#[cfg(not(all(feature = "jemalloc", not(target_env = "msvc"))))]
mod imp {
    use super::HeapProfileError;

    pub(super) fn dump(_path: &str) -> Result<(), HeapProfileError> {
        Err(HeapProfileError::NoJemalloc)
    }
}

//! The allocator side: jemalloc's purge and decay controls and its resident figure, or a no-op
//! fallback when jemalloc is not compiled in.

use crate::stats::{AllocatorSupport, PurgeKind};

#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
mod jemalloc;

/// Allocator settings applied once, when a reclaimer is built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Settings {
    /// `arena.<i>.dirty_decay_ms` for every initialised arena and `arenas.dirty_decay_ms`.
    pub(crate) dirty_decay_ms: Option<i64>,
    /// `arena.<i>.muzzy_decay_ms` for every initialised arena and `arenas.muzzy_decay_ms`.
    pub(crate) muzzy_decay_ms: Option<i64>,
    /// `background_thread`.
    pub(crate) background_thread: Option<bool>,
}

impl Settings {
    fn is_empty(&self) -> bool {
        *self == Settings::default()
    }
}

/// A handle on the process's allocator controls.
#[derive(Debug)]
pub(crate) struct Allocator {
    support: AllocatorSupport,
    #[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
    ctl: Option<jemalloc::Ctl>,
}

impl Allocator {
    /// Finds out whether jemalloc is compiled in and is the global allocator.
    pub(crate) fn detect() -> Self {
        #[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
        {
            match jemalloc::Ctl::new() {
                Some(ctl) if ctl.is_global() => Self {
                    support: AllocatorSupport::Jemalloc,
                    ctl: Some(ctl),
                },
                // Keep the controls: resident figures of an idle jemalloc are still honest.
                ctl => Self {
                    support: AllocatorSupport::JemallocNotGlobal,
                    ctl,
                },
            }
        }
        #[cfg(not(all(feature = "jemalloc", not(target_env = "msvc"))))]
        {
            Self {
                support: AllocatorSupport::Unsupported,
            }
        }
    }

    /// Whether purges reach the process's allocator.
    pub(crate) fn support(&self) -> AllocatorSupport {
        self.support
    }

    /// Applies `settings`; they are ignored (and `Ok`) unless jemalloc is the global allocator.
    ///
    /// # Errors
    ///
    /// A message naming the control that failed.
    pub(crate) fn configure(&self, settings: &Settings) -> Result<(), String> {
        if settings.is_empty() || !self.support.purges_work() {
            return Ok(());
        }
        #[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
        {
            jemalloc::configure(settings)
        }
        #[cfg(not(all(feature = "jemalloc", not(target_env = "msvc"))))]
        {
            Ok(())
        }
    }

    /// jemalloc's `stats.resident` after an epoch advance, if jemalloc is compiled in.
    pub(crate) fn resident(&self) -> Option<u64> {
        #[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
        {
            self.ctl.as_ref()?.resident()
        }
        #[cfg(not(all(feature = "jemalloc", not(target_env = "msvc"))))]
        {
            None
        }
    }

    /// Runs the control for `kind` on all arenas.
    ///
    /// # Errors
    ///
    /// A message naming the control and jemalloc's error.
    pub(crate) fn purge(&self, kind: PurgeKind) -> Result<(), String> {
        #[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
        {
            let name = match kind {
                PurgeKind::Decay => c"arena.4096.decay",
                PurgeKind::Purge => c"arena.4096.purge",
            };
            jemalloc::void_ctl(name)
        }
        #[cfg(not(all(feature = "jemalloc", not(target_env = "msvc"))))]
        {
            Err(format!(
                "cannot run `{}`: gc-coord was built without the `jemalloc` feature",
                kind.mallctl_name()
            ))
        }
    }
}

#[cfg(test)]
mod tests;

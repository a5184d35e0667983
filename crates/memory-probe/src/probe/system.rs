//! sysinfo as the fallback for process and host memory where `/proc` is absent.

#[cfg(feature = "sysinfo")]
mod imp {
    use std::sync::Mutex;

    use sysinfo::{MemoryRefreshKind, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

    /// A sysinfo `System`, created only when a `/proc` source is missing.
    #[derive(Debug)]
    pub(in crate::probe) struct Fallback {
        system: Option<Mutex<System>>,
        pid: Option<Pid>,
        process: bool,
        memory: bool,
    }

    impl Fallback {
        pub(in crate::probe) fn none() -> Self {
            Self {
                system: None,
                pid: None,
                process: false,
                memory: false,
            }
        }

        pub(in crate::probe) fn new(process: bool, memory: bool) -> Self {
            if !process && !memory {
                return Self::none();
            }
            Self {
                system: Some(Mutex::new(System::new())),
                pid: sysinfo::get_current_pid().ok(),
                process,
                memory,
            }
        }

        fn with<T>(&self, f: impl FnOnce(&mut System) -> T) -> Option<T> {
            let system = self.system.as_ref()?;
            let mut guard = system
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            Some(f(&mut guard))
        }

        /// This process's RSS; sysinfo reports 0 for unknown, which becomes `None`.
        pub(in crate::probe) fn process_rss(&self) -> Option<u64> {
            if !self.process {
                return None;
            }
            let pid = self.pid?;
            self.with(|system| {
                system.refresh_processes_specifics(
                    ProcessesToUpdate::Some(&[pid]),
                    false,
                    ProcessRefreshKind::nothing().with_memory(),
                );
                system.process(pid).map(|p| p.memory())
            })
            .flatten()
            .filter(|&rss| rss > 0)
        }

        /// Host total and available memory; sysinfo's 0 becomes `None`.
        pub(in crate::probe) fn system_memory(&self) -> (Option<u64>, Option<u64>) {
            if !self.memory {
                return (None, None);
            }
            self.with(|system| {
                system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
                let known = |v: u64| (v > 0).then_some(v);
                (
                    known(system.total_memory()),
                    known(system.available_memory()),
                )
            })
            .unwrap_or((None, None))
        }
    }
}

#[cfg(not(feature = "sysinfo"))]
mod imp {
    /// Without sysinfo there is no fallback.
    #[derive(Debug)]
    pub(in crate::probe) struct Fallback;

    impl Fallback {
        pub(in crate::probe) fn none() -> Self {
            Self
        }

        pub(in crate::probe) fn new(_process: bool, _memory: bool) -> Self {
            Self
        }

        pub(in crate::probe) fn process_rss(&self) -> Option<u64> {
            None
        }

        pub(in crate::probe) fn system_memory(&self) -> (Option<u64>, Option<u64>) {
            (None, None)
        }
    }
}

pub(super) use imp::Fallback;

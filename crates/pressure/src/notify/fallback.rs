//! Elsewhere: no kernel notifications; a timed wait that a waker can cut short.

use std::io;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::Notice;

#[derive(Debug, Default)]
struct Flag {
    woken: Mutex<bool>,
    cond: Condvar,
}

#[derive(Debug)]
pub(super) struct Set(Arc<Flag>);

#[derive(Clone, Debug)]
pub(super) struct Waker(Arc<Flag>);

impl Waker {
    pub(super) fn wake(&self) {
        let mut woken = self.0.woken.lock().unwrap_or_else(|e| e.into_inner());
        *woken = true;
        self.0.cond.notify_all();
    }
}

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "kernel memory-pressure notifications exist on Linux only",
    )
}

impl Set {
    pub(super) fn new() -> io::Result<Self> {
        Ok(Self(Arc::default()))
    }

    pub(super) fn waker(&self) -> Waker {
        Waker(self.0.clone())
    }

    pub(super) fn clear_sources(&mut self) {}

    pub(super) fn sources(&self) -> usize {
        0
    }

    pub(super) fn psi_trigger(&mut self, _path: &Path, _line: &str) -> io::Result<()> {
        Err(unsupported())
    }

    pub(super) fn cgroup_v1(
        &mut self,
        _dir: &Path,
        _file: &str,
        _arg: &str,
        _notice: Notice,
    ) -> io::Result<()> {
        Err(unsupported())
    }

    pub(super) fn wait(&mut self, timeout: Duration) -> Notice {
        let flag = &self.0;
        let woken = flag.woken.lock().unwrap_or_else(|e| e.into_inner());
        let (mut woken, _) = flag
            .cond
            .wait_timeout_while(woken, timeout, |w| !*w)
            .unwrap_or_else(|e| e.into_inner());
        if std::mem::take(&mut *woken) {
            Notice::Woken
        } else {
            Notice::Timeout
        }
    }
}

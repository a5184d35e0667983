//! Linux: `poll(2)` over PSI trigger files and eventfds.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::Notice;

#[derive(Debug)]
enum Kind {
    /// A PSI trigger: `POLLPRI` on the file itself.
    Psi(PathBuf),
    /// An eventfd the kernel signals; the watched file stays open beside it.
    Event { notice: Notice, _watched: File },
}

#[derive(Debug)]
struct Source {
    fd: OwnedFd,
    kind: Kind,
}

#[derive(Debug)]
pub(super) struct Set {
    wake: Arc<OwnedFd>,
    sources: Vec<Source>,
}

#[derive(Clone, Debug)]
pub(super) struct Waker(Arc<OwnedFd>);

impl Waker {
    pub(super) fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to an eventfd this handle keeps open. A full
        // counter (EAGAIN) already means "woken".
        unsafe {
            libc::write(self.0.as_raw_fd(), (&raw const one).cast(), 8);
        }
    }
}

fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor we own.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by eventfd and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reads (and so resets) an eventfd's counter; a nonblocking read of an unsignalled one fails
/// harmlessly.
fn drain(fd: RawFd) {
    let mut count: u64 = 0;
    // SAFETY: reads at most 8 bytes into a live u64.
    unsafe {
        libc::read(fd, (&raw mut count).cast(), 8);
    }
}

impl Set {
    pub(super) fn new() -> io::Result<Self> {
        Ok(Self {
            wake: Arc::new(eventfd()?),
            sources: Vec::new(),
        })
    }

    pub(super) fn waker(&self) -> Waker {
        Waker(self.wake.clone())
    }

    pub(super) fn clear_sources(&mut self) {
        self.sources.clear();
    }

    pub(super) fn sources(&self) -> usize {
        self.sources.len()
    }

    pub(super) fn psi_trigger(&mut self, path: &Path, line: &str) -> io::Result<()> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(0);
        file.write_all(&bytes)?;
        self.sources.push(Source {
            fd: OwnedFd::from(file),
            kind: Kind::Psi(path.to_path_buf()),
        });
        Ok(())
    }

    pub(super) fn cgroup_v1(
        &mut self,
        dir: &Path,
        file: &str,
        arg: &str,
        notice: Notice,
    ) -> io::Result<()> {
        let watched = File::open(dir.join(file))?;
        let efd = eventfd()?;
        let mut control = OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.event_control"))?;
        let line = format!("{} {} {arg}", efd.as_raw_fd(), watched.as_raw_fd());
        control.write_all(line.as_bytes())?;
        self.sources.push(Source {
            fd: efd,
            kind: Kind::Event {
                notice,
                _watched: watched,
            },
        });
        Ok(())
    }

    pub(super) fn wait(&mut self, timeout: Duration) -> Notice {
        let mut fds: Vec<libc::pollfd> = std::iter::once((self.wake.as_raw_fd(), libc::POLLIN))
            .chain(self.sources.iter().map(|s| {
                let events = match s.kind {
                    Kind::Psi(_) => libc::POLLPRI,
                    Kind::Event { .. } => libc::POLLIN,
                };
                (s.fd.as_raw_fd(), events)
            }))
            .map(|(fd, events)| libc::pollfd {
                fd,
                events,
                revents: 0,
            })
            .collect();
        let deadline = std::time::Instant::now() + timeout;
        let ready = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            // Round up, so a wait never returns before its time.
            let millis =
                libc::c_int::try_from(left.as_micros().div_ceil(1000)).unwrap_or(libc::c_int::MAX);
            let n_fds = libc::nfds_t::try_from(fds.len()).unwrap_or(libc::nfds_t::MAX);
            // SAFETY: `fds` is a live array of `n_fds` pollfd structs.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), n_fds, millis) };
            // A signal (a profiler's SIGPROF) interrupts the wait: wait again for the rest.
            if ready < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break ready;
        };
        if ready <= 0 {
            return Notice::Timeout;
        }
        let mut fired = None;
        let mut failed = Vec::new();
        for (i, pfd) in fds.iter().enumerate().skip(1).rev() {
            let source = &self.sources[i - 1];
            // A trigger fires with POLLPRI alone; a removed cgroup reports POLLERR (with POLLPRI)
            // on every poll from then on, so any error drops the source.
            if pfd.revents & (libc::POLLERR | libc::POLLNVAL | libc::POLLHUP) != 0 {
                failed.push(i - 1);
                continue;
            }
            if pfd.revents == 0 {
                continue;
            }
            fired = Some(match &source.kind {
                Kind::Psi(path) => Notice::Psi(path.clone()),
                Kind::Event { notice, .. } => {
                    drain(source.fd.as_raw_fd());
                    notice.clone()
                }
            });
        }
        for i in failed {
            // Indices are in descending order, so removing one keeps the others valid.
            self.sources.remove(i);
        }
        if fds[0].revents != 0 {
            drain(self.wake.as_raw_fd());
            if fired.is_none() {
                return Notice::Woken;
            }
        }
        fired.unwrap_or(Notice::Timeout)
    }
}

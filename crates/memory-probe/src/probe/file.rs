//! A kernel file kept open and re-read from offset 0 with `pread`, into a stack buffer.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::ParseError;
use crate::parse;

/// Room for the largest files the probe reads every tick, at least twice over: `/proc/meminfo`
/// (about 1.5 KiB) and a cgroup's `memory.stat` (40–80 lines, 1–3 KiB). A file that fills the
/// buffer gives no figure rather than a truncated one.
pub(super) const BUF_BYTES: usize = 8 << 10;

/// A reusable read buffer, on the stack of `Probe::sample`.
pub(super) struct Buf([u8; BUF_BYTES]);

impl Buf {
    pub(super) fn new() -> Self {
        Self([0; BUF_BYTES])
    }
}

/// An open kernel file.
#[derive(Debug)]
pub(super) struct KernelFile {
    file: File,
    path: PathBuf,
}

impl KernelFile {
    pub(super) fn open(path: &Path) -> io::Result<Self> {
        Ok(Self {
            file: File::open(path)?,
            path: path.to_path_buf(),
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// The whole file, read with one `pread` at offset 0; `None` on error or when the file
    /// fills the buffer (it would be truncated).
    ///
    /// One read is enough: procfs, sysfs and cgroupfs files are `seq_file`s, which fill the
    /// caller's buffer up to the end of the file, so a short read means the end.
    pub(super) fn read<'b>(&self, buf: &'b mut Buf) -> Option<&'b [u8]> {
        let n = loop {
            match read_at(&self.file, &mut buf.0) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other.ok()?,
            }
        };
        if n >= buf.0.len() {
            return None;
        }
        buf.0.get(..n)
    }

    /// Reads the file and parses it; `None` when either fails.
    pub(super) fn parse<T>(
        &self,
        buf: &mut Buf,
        parser: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Option<T> {
        let bytes = self.read(buf)?;
        let text = parse::text("kernel file", bytes).ok()?;
        parser(text).ok()
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    file.read_at(buf, 0)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::windows::fs::FileExt;
    file.seek_read(buf, 0)
}

#[cfg(not(any(unix, windows)))]
fn read_at(_file: &File, _buf: &mut [u8]) -> io::Result<usize> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

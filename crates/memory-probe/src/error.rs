//! The crate's error types: a file that does not parse, a probe that cannot be built.

use std::fmt;
use std::path::PathBuf;

/// A kernel file whose text is not in the documented format (malformed, truncated or empty).
///
/// The probe never fails because of one: the figure it would have given is `None`.
///
/// # Examples
///
/// ```
/// let err = memory_probe::parse::cgroup_counter("12ab\n").unwrap_err();
/// assert_eq!(err.to_string(), "cgroup counter: `12ab` is not a number; expected a decimal count of bytes");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    file: &'static str,
    kind: ParseErrorKind,
}

/// What is wrong with a file (see [`ParseError`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ParseErrorKind {
    /// The file is empty.
    Empty,
    /// A line or field the format requires is absent.
    Missing(&'static str),
    /// A field that must be a number is not one.
    NotANumber(String),
    /// The bytes are not UTF-8.
    NotUtf8,
}

impl ParseError {
    pub(crate) fn new(file: &'static str, kind: ParseErrorKind) -> Self {
        Self { file, kind }
    }

    pub(crate) fn empty(file: &'static str) -> Self {
        Self::new(file, ParseErrorKind::Empty)
    }

    pub(crate) fn missing(file: &'static str, what: &'static str) -> Self {
        Self::new(file, ParseErrorKind::Missing(what))
    }

    pub(crate) fn not_a_number(file: &'static str, text: &str) -> Self {
        // Keep the message short however long the junk is.
        let shown: String = text.chars().take(32).collect();
        Self::new(file, ParseErrorKind::NotANumber(shown))
    }

    pub(crate) fn not_utf8(file: &'static str) -> Self {
        Self::new(file, ParseErrorKind::NotUtf8)
    }

    /// The kind of file that failed to parse, such as `"/proc/meminfo"` or `"memory.events"`.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = memory_probe::parse::meminfo("").unwrap_err();
    /// assert_eq!(err.file(), "/proc/meminfo");
    /// ```
    pub fn file(&self) -> &'static str {
        self.file
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file;
        match &self.kind {
            ParseErrorKind::Empty => {
                write!(
                    f,
                    "{file}: the file is empty; is the kernel feature enabled?"
                )
            }
            ParseErrorKind::Missing(what) => write!(
                f,
                "{file}: no {what}; the file is truncated or not in the kernel's documented format"
            ),
            ParseErrorKind::NotANumber(text) => write!(
                f,
                "{file}: `{text}` is not a number; expected a decimal count of bytes"
            ),
            ParseErrorKind::NotUtf8 => {
                write!(f, "{file}: the text is not utf-8; is this the right file?")
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// A [`ProbeBuilder`](crate::ProbeBuilder) setting that cannot be honoured.
///
/// Only sources set explicitly on the builder can fail; a default source that is absent
/// (no cgroup, no `/proc`) makes its figures `None` instead.
///
/// # Examples
///
/// ```
/// let err = memory_probe::Probe::builder()
///     .statm("/nonexistent/statm")
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().starts_with("could not open /nonexistent/statm"));
/// ```
#[derive(Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
}

#[derive(Debug)]
enum BuildErrorKind {
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    PageSize(u64),
}

impl BuildError {
    pub(crate) fn open(path: PathBuf, source: std::io::Error) -> Self {
        Self {
            kind: BuildErrorKind::Open { path, source },
        }
    }

    pub(crate) fn page_size(bytes: u64) -> Self {
        Self {
            kind: BuildErrorKind::PageSize(bytes),
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BuildErrorKind::Open { path, source } => write!(
                f,
                "could not open {}: {source}; check the path given to the probe builder",
                path.display()
            ),
            BuildErrorKind::PageSize(bytes) => write!(
                f,
                "page size {bytes} is not a power of two; pass the kernel's page size in bytes"
            ),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            BuildErrorKind::Open { source, .. } => Some(source),
            BuildErrorKind::PageSize(_) => None,
        }
    }
}

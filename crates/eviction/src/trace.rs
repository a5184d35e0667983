//! Readers for the cache-trace formats the ecosystem's simulators use.
//!
//! | format | [`TraceFormat`] | extension | layout |
//! |---|---|---|---|
//! | LIRS | `lirs` | `.trc` | text, one decimal key per line; `*` and blank lines skipped |
//! | ARC | `arc` | `.lis` | text, `start count [ignored [request_no]]`; expands to `count` consecutive keys |
//! | cache2k | `cache2k` | `.trace` | binary, big-endian `i32` per request |
//! | scarab | `scarab` | `.trace` with `scarab` in the name | binary, big-endian `i64` per request |
//! | libCacheSim `oracleGeneral` | `oracle-general` | name contains `oracleGeneral` | 24-byte little-endian records `u32 time, u64 id, u32 size, i64 next_access` |
//!
//! Only `oracleGeneral` carries object sizes; in every other format each request weighs 1.
//!
//! Readers trust nothing in the file: what they allocate is bounded by its size (an ARC line
//! expands to at most [`ARC_KEYS_PER_BYTE`] keys per byte of the file, plus
//! [`ARC_KEYS_SLACK`], in all), a trace holds at most [`MAX_REQUESTS`] requests, and anything
//! else is a [`TraceError`] with the line or byte offset, never a panic.
//!
//! # Examples
//!
//! ```
//! use eviction::trace::{Trace, TraceFormat};
//!
//! let trace = Trace::parse(b"100 2 0 0\n", TraceFormat::Arc)?;
//! assert_eq!(trace.keys(), &[100, 101]);
//! # Ok::<(), eviction::trace::TraceError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

/// Most requests a trace may hold: the simulator numbers requests and keys in 32 bits.
pub const MAX_REQUESTS: u64 = u32::MAX as u64 - 1;

/// Keys an ARC trace may expand to per byte of the file (beyond [`ARC_KEYS_SLACK`]): its lines
/// name a start and a count, so a 16-byte line could otherwise ask for terabytes. The traces
/// of the ARC paper expand to less than one key per byte (P3: 3.9 million keys from 4.6 MB),
/// and a line to at most 7 keys per byte of it.
pub const ARC_KEYS_PER_BYTE: u64 = 16;

/// Keys any ARC trace may expand to, whatever its size (8 MiB of keys).
pub const ARC_KEYS_SLACK: u64 = 1 << 20;

/// The layout of a trace file.
///
/// # Examples
///
/// ```
/// use eviction::trace::{Trace, TraceFormat};
///
/// let bytes: Vec<u8> = [7i32, 7].iter().flat_map(|k| k.to_be_bytes()).collect();
/// assert_eq!(Trace::parse(&bytes, TraceFormat::Cache2k)?.keys(), &[7, 7]);
/// # Ok::<(), eviction::trace::TraceError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceFormat {
    /// LIRS `.trc`: text, one decimal key per line.
    Lirs,
    /// ARC `.lis`: text, `start count …` per line, each line `count` consecutive keys.
    Arc,
    /// cache2k `.trace`: big-endian signed 32-bit keys.
    Cache2k,
    /// scarab `.trace`: big-endian signed 64-bit keys.
    Scarab,
    /// libCacheSim `oracleGeneral`: 24-byte little-endian records with object sizes.
    OracleGeneral,
}

impl TraceFormat {
    /// Every format, in the order of the table in the module docs.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(eviction::trace::TraceFormat::ALL.len(), 5);
    /// ```
    pub const ALL: [TraceFormat; 5] = [
        TraceFormat::Lirs,
        TraceFormat::Arc,
        TraceFormat::Cache2k,
        TraceFormat::Scarab,
        TraceFormat::OracleGeneral,
    ];

    /// The name used by `--format` and in messages.
    ///
    /// # Examples
    ///
    /// ```
    /// use eviction::trace::TraceFormat;
    ///
    /// assert_eq!(TraceFormat::Arc.name(), "arc");
    /// assert_eq!("arc".parse::<TraceFormat>(), Ok(TraceFormat::Arc));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Lirs => "lirs",
            TraceFormat::Arc => "arc",
            TraceFormat::Cache2k => "cache2k",
            TraceFormat::Scarab => "scarab",
            TraceFormat::OracleGeneral => "oracle-general",
        }
    }

    /// Guesses the format from a file name: `.trc` is LIRS, `.lis` is ARC, a name containing
    /// `oracleGeneral` is libCacheSim's, `.trace` is scarab when the path mentions `scarab` and
    /// cache2k otherwise. `None` when nothing matches.
    ///
    /// # Examples
    ///
    /// ```
    /// use eviction::trace::TraceFormat;
    ///
    /// assert_eq!(TraceFormat::from_path("lirs/gli.trc".as_ref()), Some(TraceFormat::Lirs));
    /// assert_eq!(TraceFormat::from_path("scarab/recs.trace".as_ref()), Some(TraceFormat::Scarab));
    /// assert_eq!(TraceFormat::from_path("web12.trace".as_ref()), Some(TraceFormat::Cache2k));
    /// assert_eq!(TraceFormat::from_path("notes.txt".as_ref()), None);
    /// ```
    pub fn from_path(path: &Path) -> Option<TraceFormat> {
        let text = path.to_string_lossy();
        if text.to_ascii_lowercase().contains("oraclegeneral") {
            return Some(TraceFormat::OracleGeneral);
        }
        match path.extension()?.to_str()? {
            "trc" => Some(TraceFormat::Lirs),
            "lis" => Some(TraceFormat::Arc),
            "trace" if text.to_ascii_lowercase().contains("scarab") => Some(TraceFormat::Scarab),
            "trace" => Some(TraceFormat::Cache2k),
            _ => None,
        }
    }
}

impl fmt::Display for TraceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--format` name that is not a [`TraceFormat`].
///
/// # Examples
///
/// ```
/// let err = "csv".parse::<eviction::trace::TraceFormat>().unwrap_err();
/// assert!(err.to_string().contains("use one of"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown trace format `{}`; use one of lirs, arc, cache2k, scarab, oracle-general",
            self.0
        )
    }
}

impl std::error::Error for UnknownFormat {}

impl FromStr for TraceFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "lirs" | "trc" => Ok(TraceFormat::Lirs),
            "arc" | "lis" => Ok(TraceFormat::Arc),
            "cache2k" => Ok(TraceFormat::Cache2k),
            "scarab" => Ok(TraceFormat::Scarab),
            "oracle-general" | "oraclegeneral" | "oracle_general" => Ok(TraceFormat::OracleGeneral),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}

/// Where in a trace file a problem is.
///
/// # Examples
///
/// ```
/// use eviction::trace::{Position, Trace, TraceError, TraceFormat};
///
/// let err = Trace::parse(&[0, 0, 0, 1, 0], TraceFormat::Cache2k).unwrap_err();
/// assert!(matches!(err, TraceError::Malformed { position: Position::Byte(4), .. }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// A 1-based line of a text trace.
    Line(u64),
    /// A 0-based byte offset into a binary trace.
    Byte(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(n) => write!(f, "line {n}"),
            Position::Byte(n) => write!(f, "byte offset {n}"),
        }
    }
}

/// Why a trace could not be read.
///
/// # Examples
///
/// ```
/// use eviction::trace::{Position, Trace, TraceError, TraceFormat};
///
/// match Trace::parse(b"1 2 0 0\nbad\n", TraceFormat::Arc) {
///     Err(TraceError::Malformed { position, .. }) => assert_eq!(position, Position::Line(2)),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TraceError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The format could not be guessed from the file name.
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The content does not follow the format.
    Malformed {
        /// The format the content was read as.
        format: TraceFormat,
        /// Where the problem is.
        position: Position,
        /// What the reader expected there.
        expected: &'static str,
        /// What it found (shortened).
        found: String,
    },
    /// The content asks for more requests than the reader allows for a file of its size.
    TooLarge {
        /// The format the content was read as.
        format: TraceFormat,
        /// Where the limit was passed.
        position: Position,
        /// Requests the content asks for up to there.
        requested: u64,
        /// The most the reader allows for this file (see [`MAX_REQUESTS`] and
        /// [`ARC_KEYS_PER_BYTE`]).
        limit: u64,
    },
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Io { path, source } => {
                write!(
                    f,
                    "cannot read trace {}: {source}; check the path",
                    path.display()
                )
            }
            TraceError::UnknownFormat { path } => write!(
                f,
                "cannot tell the format of {} from its name; pass --format \
                 (lirs, arc, cache2k, scarab, oracle-general)",
                path.display()
            ),
            TraceError::Malformed {
                format,
                position,
                expected,
                found,
            } => write!(
                f,
                "malformed {format} trace at {position}: expected {expected}, found {found}; \
                 fix the file or pass the right --format"
            ),
            TraceError::TooLarge {
                format,
                position,
                requested,
                limit,
            } => write!(
                f,
                "{format} trace too large at {position}: it asks for {requested} requests, \
                 more than the {limit} allowed for a file of its size; check the counts \
                 there or split the trace"
            ),
        }
    }
}

impl std::error::Error for TraceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TraceError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A whole trace in memory: one key per request and, for sized formats, one weight per request.
///
/// # Examples
///
/// ```
/// use eviction::trace::{Trace, TraceFormat};
///
/// let trace = Trace::parse(b"10 3 0 0\n7 1 0 1\n", TraceFormat::Arc)?;
/// assert_eq!(trace.keys(), &[10, 11, 12, 7]);
/// assert_eq!(trace.weight(0), 1);
/// # Ok::<(), eviction::trace::TraceError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Trace {
    keys: Vec<u64>,
    sizes: Option<Vec<u32>>,
    /// Dense id of each request's key (first-seen order) and the number of distinct keys,
    /// computed once on first use.
    dense: OnceLock<(Vec<u32>, usize)>,
}

impl PartialEq for Trace {
    fn eq(&self, other: &Self) -> bool {
        self.keys == other.keys && self.sizes == other.sizes
    }
}

impl Eq for Trace {}

impl Trace {
    /// A trace of unit-weight requests.
    ///
    /// # Examples
    ///
    /// ```
    /// let trace = eviction::trace::Trace::from_keys(vec![1, 2, 1]);
    /// assert_eq!(trace.len(), 3);
    /// ```
    pub fn from_keys(keys: Vec<u64>) -> Trace {
        Trace {
            keys,
            sizes: None,
            dense: OnceLock::new(),
        }
    }

    /// A trace whose request `i` weighs `sizes[i]`.
    ///
    /// # Panics
    ///
    /// When `keys` and `sizes` differ in length.
    ///
    /// # Examples
    ///
    /// ```
    /// let trace = eviction::trace::Trace::with_sizes(vec![1, 2], vec![100, 50]);
    /// assert_eq!(trace.weight(1), 50);
    /// ```
    pub fn with_sizes(keys: Vec<u64>, sizes: Vec<u32>) -> Trace {
        assert_eq!(keys.len(), sizes.len(), "one size per key");
        Trace {
            keys,
            sizes: Some(sizes),
            dense: OnceLock::new(),
        }
    }

    /// Reads the file at `path`, in `format` or, when `None`, the format its name suggests.
    ///
    /// # Errors
    ///
    /// [`TraceError::Io`] when the file cannot be read, [`TraceError::UnknownFormat`] when no
    /// format is given and the name says nothing, [`TraceError::Malformed`] when the content
    /// does not follow the format, [`TraceError::TooLarge`] when it asks for more requests
    /// than a file of its size may.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = eviction::trace::Trace::read("no/such/file.trc".as_ref(), None).unwrap_err();
    /// assert!(err.to_string().starts_with("cannot read trace"));
    /// ```
    pub fn read(path: &Path, format: Option<TraceFormat>) -> Result<Trace, TraceError> {
        let format = match format.or_else(|| TraceFormat::from_path(path)) {
            Some(f) => f,
            None => {
                return Err(TraceError::UnknownFormat {
                    path: path.to_owned(),
                });
            }
        };
        let bytes = std::fs::read(path).map_err(|source| TraceError::Io {
            path: path.to_owned(),
            source,
        })?;
        Trace::parse(&bytes, format)
    }

    /// Parses the content of a trace file.
    ///
    /// # Errors
    ///
    /// [`TraceError::Malformed`], with the line (text formats) or byte offset (binary formats)
    /// and what was expected there; [`TraceError::TooLarge`] where the content asks for more
    /// requests than [`MAX_REQUESTS`], or, in an ARC trace, than [`ARC_KEYS_PER_BYTE`] per byte
    /// of the file plus [`ARC_KEYS_SLACK`].
    ///
    /// # Examples
    ///
    /// ```
    /// use eviction::trace::{Trace, TraceFormat};
    ///
    /// let trace = Trace::parse(b"1\n*\n\n2\n", TraceFormat::Lirs)?;
    /// assert_eq!(trace.keys(), &[1, 2]);
    /// let err = Trace::parse(b"1\nx\n", TraceFormat::Lirs).unwrap_err();
    /// assert!(err.to_string().contains("line 2"));
    /// # Ok::<(), eviction::trace::TraceError>(())
    /// ```
    pub fn parse(bytes: &[u8], format: TraceFormat) -> Result<Trace, TraceError> {
        match format {
            TraceFormat::Lirs => parse_lirs(bytes),
            TraceFormat::Arc => parse_arc(bytes),
            TraceFormat::Cache2k => {
                parse_fixed::<4>(bytes, format, |b| i32::from_be_bytes(b) as i64 as u64)
            }
            TraceFormat::Scarab => {
                parse_fixed::<8>(bytes, format, |b| i64::from_be_bytes(b) as u64)
            }
            TraceFormat::OracleGeneral => parse_oracle_general(bytes),
        }
    }

    /// The key of every request, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// let trace = eviction::trace::Trace::from_keys(vec![3, 1]);
    /// assert_eq!(trace.keys(), &[3, 1]);
    /// ```
    pub fn keys(&self) -> &[u64] {
        &self.keys
    }

    /// The object sizes, when the format has them.
    ///
    /// # Examples
    ///
    /// ```
    /// use eviction::trace::Trace;
    ///
    /// assert_eq!(Trace::from_keys(vec![1]).sizes(), None);
    /// assert_eq!(Trace::with_sizes(vec![1], vec![64]).sizes(), Some(&[64][..]));
    /// ```
    pub fn sizes(&self) -> Option<&[u32]> {
        self.sizes.as_deref()
    }

    /// The weight of request `i`: its size for sized traces (at least 1), else 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use eviction::trace::Trace;
    ///
    /// assert_eq!(Trace::from_keys(vec![1]).weight(0), 1);
    /// assert_eq!(Trace::with_sizes(vec![1, 2], vec![64, 0]).weight(1), 1);
    /// ```
    #[inline]
    pub fn weight(&self, i: usize) -> u64 {
        match &self.sizes {
            Some(sizes) => u64::from(sizes[i].max(1)),
            None => 1,
        }
    }

    /// Whether requests carry sizes (capacities are then bytes, not entries).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!eviction::trace::Trace::from_keys(vec![1]).is_weighted());
    /// ```
    pub fn is_weighted(&self) -> bool {
        self.sizes.is_some()
    }

    /// Number of requests.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(eviction::trace::Trace::from_keys(vec![1, 1]).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no requests.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(eviction::trace::Trace::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of distinct keys.
    ///
    /// The first call numbers the keys densely (one hash-map pass, kept for later calls).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(eviction::trace::Trace::from_keys(vec![5, 6, 5]).unique_keys(), 2);
    /// ```
    pub fn unique_keys(&self) -> usize {
        self.dense().1
    }

    /// For each request, a dense id of its key: ids are `0..unique_keys()` in first-seen order.
    ///
    /// The first call computes them (one hash-map pass); the simulator uses them so that
    /// replaying needs no hash map.
    ///
    /// # Examples
    ///
    /// ```
    /// let trace = eviction::trace::Trace::from_keys(vec![70, 9, 70, 5]);
    /// assert_eq!(trace.key_ids(), &[0, 1, 0, 2]);
    /// assert_eq!(trace.unique_keys(), 3);
    /// ```
    pub fn key_ids(&self) -> &[u32] {
        &self.dense().0
    }

    fn dense(&self) -> &(Vec<u32>, usize) {
        self.dense.get_or_init(|| {
            let mut ids_of = crate::hash::MixMap::<u64, u32>::default();
            let ids = self
                .keys
                .iter()
                .map(|&k| {
                    let next = ids_of.len() as u32;
                    *ids_of.entry(k).or_insert(next)
                })
                .collect();
            (ids, ids_of.len())
        })
    }
}

/// Shortens `text` for an error message (looking at its first 160 bytes only: a line may be
/// the whole file).
fn found(text: &[u8]) -> String {
    let head = String::from_utf8_lossy(&text[..text.len().min(160)]);
    let mut short: String = head.chars().take(40).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    format!("`{short}`")
}

/// Fails unless `n` requests are within [`MAX_REQUESTS`] (`position`: where the excess starts).
fn check_requests(n: u64, format: TraceFormat, position: Position) -> Result<(), TraceError> {
    if n > MAX_REQUESTS {
        return Err(TraceError::TooLarge {
            format,
            position,
            requested: n,
            limit: MAX_REQUESTS,
        });
    }
    Ok(())
}

/// Lines of a text trace with their 1-based numbers; `\r` trimmed, blank lines skipped.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    bytes
        .split(|&b| b == b'\n')
        .zip(1u64..)
        .map(|(line, n)| (n, line.trim_ascii()))
        .filter(|(_, line)| !line.is_empty())
}

/// Parses a decimal integer, negative ones as their two's-complement `u64`.
fn parse_int(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    text.parse::<u64>()
        .ok()
        .or_else(|| text.parse::<i64>().ok().map(|v| v as u64))
}

fn parse_lirs(bytes: &[u8]) -> Result<Trace, TraceError> {
    let mut keys = Vec::with_capacity(bytes.len() / 6);
    for (n, line) in lines(bytes) {
        if line == b"*" {
            continue;
        }
        let key = parse_int(line).ok_or_else(|| TraceError::Malformed {
            format: TraceFormat::Lirs,
            position: Position::Line(n),
            expected: "a decimal key or `*`",
            found: found(line),
        })?;
        keys.push(key);
        if keys.len() as u64 > MAX_REQUESTS {
            check_requests(keys.len() as u64, TraceFormat::Lirs, Position::Line(n))?;
        }
    }
    Ok(Trace::from_keys(keys))
}

fn parse_arc(bytes: &[u8]) -> Result<Trace, TraceError> {
    let limit = (bytes.len() as u64)
        .saturating_mul(ARC_KEYS_PER_BYTE)
        .saturating_add(ARC_KEYS_SLACK)
        .min(MAX_REQUESTS);
    let mut keys = Vec::with_capacity(bytes.len() / 4);
    for (n, line) in lines(bytes) {
        let malformed = |expected| TraceError::Malformed {
            format: TraceFormat::Arc,
            position: Position::Line(n),
            expected,
            found: found(line),
        };
        let mut fields = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let start = fields
            .next()
            .and_then(parse_int)
            .ok_or_else(|| malformed("`start count ignored request_no` with a decimal start"))?;
        let count = fields
            .next()
            .and_then(|f| std::str::from_utf8(f).ok()?.parse::<u64>().ok())
            .ok_or_else(|| malformed("`start count ignored request_no` with a decimal count"))?;
        for field in fields {
            if parse_int(field).is_none() {
                return Err(malformed("decimal fields after `start count`"));
            }
        }
        if start.checked_add(count).is_none() {
            return Err(malformed("`start + count` within 64 bits"));
        }
        let requested = (keys.len() as u64).saturating_add(count);
        if requested > limit {
            return Err(TraceError::TooLarge {
                format: TraceFormat::Arc,
                position: Position::Line(n),
                requested,
                limit,
            });
        }
        keys.extend(start..start + count);
    }
    Ok(Trace::from_keys(keys))
}

fn parse_fixed<const N: usize>(
    bytes: &[u8],
    format: TraceFormat,
    decode: impl Fn([u8; N]) -> u64,
) -> Result<Trace, TraceError> {
    let chunks = bytes.chunks_exact(N);
    let rest = chunks.remainder();
    if !rest.is_empty() {
        return Err(TraceError::Malformed {
            format,
            position: Position::Byte((bytes.len() - rest.len()) as u64),
            expected: if N == 4 {
                "a whole 4-byte big-endian record"
            } else {
                "a whole 8-byte big-endian record"
            },
            found: format!("{} trailing bytes (truncated file?)", rest.len()),
        });
    }
    let position = Position::Byte(MAX_REQUESTS.saturating_mul(N as u64));
    check_requests((bytes.len() / N) as u64, format, position)?;
    let keys = chunks
        .map(|c| {
            let mut b = [0u8; N];
            b.copy_from_slice(c);
            decode(b)
        })
        .collect();
    Ok(Trace::from_keys(keys))
}

/// Bytes of one `oracleGeneral` record.
const ORACLE_RECORD: usize = 24;

fn parse_oracle_general(bytes: &[u8]) -> Result<Trace, TraceError> {
    let chunks = bytes.chunks_exact(ORACLE_RECORD);
    let rest = chunks.remainder();
    if !rest.is_empty() {
        return Err(TraceError::Malformed {
            format: TraceFormat::OracleGeneral,
            position: Position::Byte((bytes.len() - rest.len()) as u64),
            expected: "a whole 24-byte record (u32 time, u64 id, u32 size, i64 next_access)",
            found: format!("{} trailing bytes (truncated file?)", rest.len()),
        });
    }
    let n = bytes.len() / ORACLE_RECORD;
    let position = Position::Byte(MAX_REQUESTS.saturating_mul(ORACLE_RECORD as u64));
    check_requests(n as u64, TraceFormat::OracleGeneral, position)?;
    let mut keys = Vec::with_capacity(n);
    let mut sizes = Vec::with_capacity(n);
    for c in chunks {
        let mut id = [0u8; 8];
        id.copy_from_slice(&c[4..12]);
        let mut size = [0u8; 4];
        size.copy_from_slice(&c[12..16]);
        keys.push(u64::from_le_bytes(id));
        sizes.push(u32::from_le_bytes(size));
    }
    Ok(Trace::with_sizes(keys, sizes))
}

#[cfg(test)]
mod tests;

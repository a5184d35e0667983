//! Leak detection for a process with caches: finds memory that grows, jumps or stays alive
//! while the caches' own figures do not explain it.
//!
//! Feed a [`LeakDetector`] one [`Observation`] a second (the allocator's allocated bytes, the
//! resident set, the bytes the caches charge, their cumulative evicted bytes, per-cache
//! detail); it keeps a bounded history of the *residual* (heap less cache bytes) and raises
//! [`Alert`]s:
//!
//! | kind | what | test |
//! |---|---|---|
//! | [`AlertKind::Growth`] | the residual rises for a sustained time | Theil–Sen slope, Mann–Kendall, duration and magnitude gates |
//! | [`AlertKind::Spike`] | the residual jumps and stays | robust z-score (median, MAD) held for several samples |
//! | [`AlertKind::Retention`] | the residual grows at the eviction rate; a full cache mostly unread | slope against eviction rate; unread share for a duration |
//! | [`AlertKind::OverBudget`] | a cache's measured bytes exceed its budget | ratio with a margin, for a duration |
//!
//! The detector is a [`ReportSource`](cache_traits::ReportSource) (section `leak`).
//! [`read_csv`] reads a recorded timeline, and [`scenarios`] holds the generated suite the
//! detector is scored on (`cargo xtask leak-suite`). `docs/LEAKS.md` explains the method.
//!
//! # Examples
//!
//! ```
//! use leak_detector::{Config, LeakDetector, Observation};
//! let detector = LeakDetector::new(Config::default()).expect("the defaults are valid");
//! for t in 0..300u64 {
//!     detector.observe(Observation::at(t as f64).heap_bytes(1 << 30).cache_bytes(600 << 20));
//! }
//! assert!(detector.open_alerts().is_empty());
//! ```

mod alert;
mod config;
mod detector;
mod input;
mod observation;
mod report;
pub mod scenarios;
mod stats;

pub use alert::{Alert, AlertChange, AlertKind, AlertState};
pub use config::{Config, ConfigError, MAX_GROWTH_WINDOWS, MAX_HISTORY_SAMPLES};
pub use detector::{LeakDetector, Status};
pub use input::{CSV_CACHE_NAME, CsvError, MAX_CSV_ROWS, read_csv};
pub use observation::{CacheFigures, Observation};

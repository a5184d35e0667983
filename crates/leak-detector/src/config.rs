//! The detector's thresholds, their defaults and why, and their validation.

use std::fmt;

/// The most growth windows a configuration may have (each costs a few µs per observation).
pub const MAX_GROWTH_WINDOWS: usize = 4;
/// The most samples the history may hold (a day at one a second).
pub const MAX_HISTORY_SAMPLES: usize = 86_400;

/// The detector's thresholds. [`Config::default`] is tuned for one sample a second; see
/// `docs/LEAKS.md` for why each default is what it is.
///
/// The fields are public: start from the default and change what you need.
///
/// # Examples
///
/// ```
/// use leak_detector::{Config, LeakDetector};
/// let mut config = Config::default();
/// config.resolve_hold_seconds = 300.0;
/// let detector = LeakDetector::new(config).expect("a valid configuration");
/// # drop(detector);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Samples kept (a ring buffer): 3600, an hour at one a second.
    pub history_samples: usize,
    /// Start-up: no growth or spike test before this long after the first sample, and growth
    /// windows never reach back into it: 20 s (a process's own start-up allocations; a leak
    /// from the start is then confirmed about a minute in).
    pub warmup_seconds: f64,
    /// The windows the growth test runs on, in seconds: 20, 120 and 600 (fast leaks are
    /// confirmed on the short one, slow leaks on the long ones).
    pub growth_windows_seconds: Vec<f64>,
    /// Each window is reduced to at most this many block means before the quadratic tests: 40.
    pub growth_points: usize,
    /// The Mann–Kendall score a window must reach: 3.09 (one-sided p ≤ 0.001).
    pub growth_min_z: f64,
    /// The least rise rate, as a fraction of the heap per minute: 0.002 (0.2 %/min).
    pub growth_min_rate_per_minute: f64,
    /// The least rise over the window, as a fraction of the heap: 0.002.
    pub growth_min_rise_fraction: f64,
    /// The least rise over the window, in bytes: 1 MiB.
    pub growth_min_rise_bytes: u64,
    /// The duration gate: consecutive samples on which a window must pass: 5.
    pub growth_confirm_samples: u32,
    /// A rise at most this share of the caches' own growth rate over the window is theirs
    /// (per-entry overhead the weighers do not charge, during warm-up or a refill): 0.1.
    pub explained_share: f64,
    /// A rise at least this share of the eviction rate (and at most 1.5 times it) is
    /// retention, not growth: 0.5 …
    pub retention_share: f64,
    /// … when the residual's increments follow the evicted bytes' (Pearson correlation of block
    /// increments at least this): 0.5.
    pub retention_correlation: f64,
    /// The robust z-score (median and MAD of the baseline) of a spike: 8.
    pub spike_min_z: f64,
    /// The least jump of a spike, as a fraction of the heap: 0.05.
    pub spike_min_fraction: f64,
    /// The least jump of a spike, in bytes: 16 MiB.
    pub spike_min_bytes: u64,
    /// Consecutive samples a jump must persist to be a spike: 8 (bursts return sooner).
    pub spike_persist_samples: u32,
    /// The baseline of the spike test: the samples of the last 300 s before the persisting ones.
    pub spike_baseline_seconds: f64,
    /// A cache is over budget when its real bytes exceed its budget by this fraction: 0.2.
    pub over_budget_margin: f64,
    /// … for this long: 30 s.
    pub over_budget_seconds: f64,
    /// Retention of unread entries: their share of a cache: 0.5 …
    pub unread_share: f64,
    /// … of a cache at least this full: 0.9 …
    pub unread_fill: f64,
    /// … for this long: 600 s.
    pub unread_seconds: f64,
    /// A growth is critical at this fraction of the heap per minute: 0.05 (5 %/min) …
    pub critical_rate_per_minute: f64,
    /// … or when it would reach the known limit within this many seconds: 3600.
    pub critical_horizon_seconds: f64,
    /// An alert resolves when its pattern has not held for this long: 120 s.
    pub resolve_hold_seconds: f64,
    /// Resolved alerts kept: 32.
    pub max_resolved: usize,
    /// Caches followed for per-cache alerts (others are ignored): 64.
    pub max_caches: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            history_samples: 3600,
            warmup_seconds: 20.0,
            growth_windows_seconds: vec![20.0, 120.0, 600.0],
            growth_points: 40,
            growth_min_z: 3.09,
            growth_min_rate_per_minute: 0.002,
            growth_min_rise_fraction: 0.002,
            growth_min_rise_bytes: 1 << 20,
            growth_confirm_samples: 5,
            explained_share: 0.1,
            retention_share: 0.5,
            retention_correlation: 0.5,
            spike_min_z: 8.0,
            spike_min_fraction: 0.05,
            spike_min_bytes: 16 << 20,
            spike_persist_samples: 8,
            spike_baseline_seconds: 300.0,
            over_budget_margin: 0.2,
            over_budget_seconds: 30.0,
            unread_share: 0.5,
            unread_fill: 0.9,
            unread_seconds: 600.0,
            critical_rate_per_minute: 0.05,
            critical_horizon_seconds: 3600.0,
            resolve_hold_seconds: 120.0,
            max_resolved: 32,
            max_caches: 64,
        }
    }
}

/// A [`Config`] the detector cannot run with.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigError {
    /// A setting outside its range.
    OutOfRange {
        /// The field's name.
        setting: &'static str,
        /// Its value.
        value: f64,
        /// What it must be.
        expected: &'static str,
    },
    /// No growth window, or more than [`MAX_GROWTH_WINDOWS`].
    GrowthWindows {
        /// How many were given.
        count: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::OutOfRange {
                setting,
                value,
                expected,
            } => write!(f, "{setting} is {value}; set it to {expected}"),
            ConfigError::GrowthWindows { count } => write!(
                f,
                "growth_windows_seconds has {count} windows; give between 1 and {MAX_GROWTH_WINDOWS}"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Checks every setting.
    ///
    /// # Errors
    ///
    /// The first setting out of its range, saying what it must be.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let range = |setting: &'static str, value: f64, lo: f64, hi: f64, expected| {
            if value.is_finite() && value >= lo && value <= hi {
                Ok(())
            } else {
                Err(ConfigError::OutOfRange {
                    setting,
                    value,
                    expected,
                })
            }
        };
        let day = 86_400.0;
        range(
            "history_samples",
            self.history_samples as f64,
            16.0,
            MAX_HISTORY_SAMPLES as f64,
            "between 16 and 86400",
        )?;
        range(
            "warmup_seconds",
            self.warmup_seconds,
            0.0,
            day,
            "between 0 and 86400",
        )?;
        let n_windows = self.growth_windows_seconds.len();
        if n_windows == 0 || n_windows > MAX_GROWTH_WINDOWS {
            return Err(ConfigError::GrowthWindows { count: n_windows });
        }
        for &w in &self.growth_windows_seconds {
            range(
                "growth_windows_seconds",
                w,
                3.0,
                day,
                "between 3 and 86400 seconds",
            )?;
        }
        range(
            "growth_points",
            self.growth_points as f64,
            8.0,
            128.0,
            "between 8 and 128",
        )?;
        range(
            "growth_min_z",
            self.growth_min_z,
            0.0,
            20.0,
            "between 0 and 20",
        )?;
        let fraction = "a finite fraction between 0 and 1";
        range(
            "growth_min_rate_per_minute",
            self.growth_min_rate_per_minute,
            0.0,
            1.0,
            fraction,
        )?;
        range(
            "growth_min_rise_fraction",
            self.growth_min_rise_fraction,
            0.0,
            1.0,
            fraction,
        )?;
        range(
            "growth_confirm_samples",
            f64::from(self.growth_confirm_samples),
            1.0,
            3600.0,
            "between 1 and 3600",
        )?;
        range("explained_share", self.explained_share, 0.0, 1.0, fraction)?;
        range("retention_share", self.retention_share, 0.0, 1.0, fraction)?;
        range(
            "retention_correlation",
            self.retention_correlation,
            -1.0,
            1.0,
            "between -1 and 1",
        )?;
        range(
            "spike_min_z",
            self.spike_min_z,
            1.0,
            1000.0,
            "between 1 and 1000",
        )?;
        range(
            "spike_min_fraction",
            self.spike_min_fraction,
            0.0,
            1.0,
            fraction,
        )?;
        range(
            "spike_persist_samples",
            f64::from(self.spike_persist_samples),
            1.0,
            600.0,
            "between 1 and 600",
        )?;
        range(
            "spike_baseline_seconds",
            self.spike_baseline_seconds,
            10.0,
            day,
            "between 10 and 86400 seconds",
        )?;
        range(
            "over_budget_margin",
            self.over_budget_margin,
            0.0,
            100.0,
            "between 0 and 100",
        )?;
        range(
            "over_budget_seconds",
            self.over_budget_seconds,
            0.0,
            day,
            "between 0 and 86400",
        )?;
        range("unread_share", self.unread_share, 0.0, 1.0, fraction)?;
        range("unread_fill", self.unread_fill, 0.0, 1.0, fraction)?;
        range(
            "unread_seconds",
            self.unread_seconds,
            0.0,
            day,
            "between 0 and 86400",
        )?;
        range(
            "critical_rate_per_minute",
            self.critical_rate_per_minute,
            0.0,
            1.0,
            fraction,
        )?;
        range(
            "critical_horizon_seconds",
            self.critical_horizon_seconds,
            0.0,
            30.0 * day,
            "between 0 and 30 days",
        )?;
        range(
            "resolve_hold_seconds",
            self.resolve_hold_seconds,
            0.0,
            day,
            "between 0 and 86400",
        )?;
        range(
            "max_resolved",
            self.max_resolved as f64,
            0.0,
            10_000.0,
            "at most 10000",
        )?;
        range(
            "max_caches",
            self.max_caches as f64,
            0.0,
            10_000.0,
            "at most 10000",
        )?;
        Ok(())
    }
}

//! What the detector concludes: alerts with a kind, a severity, a lifetime and evidence.

use cache_traits::Severity;

/// What kind of leak an alert reports.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertKind {
    /// A sustained rise of the memory the caches do not account for.
    Growth,
    /// A sudden jump of that memory which stays.
    Spike,
    /// Bytes the caches let go of that the allocator never sees freed, or entries held long
    /// without being read.
    Retention,
    /// A cache whose values really occupy more than its budget.
    OverBudget,
}

impl AlertKind {
    /// `growth`, `spike`, `retention` or `over_budget`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Growth => "growth",
            AlertKind::Spike => "spike",
            AlertKind::Retention => "retention",
            AlertKind::OverBudget => "over_budget",
        }
    }

    /// The stable finding code: `QC-LEAK-GROWTH`, `QC-LEAK-SPIKE`, `QC-LEAK-RETENTION` or
    /// `QC-LEAK-OVER-BUDGET`.
    pub fn code(self) -> &'static str {
        match self {
            AlertKind::Growth => "QC-LEAK-GROWTH",
            AlertKind::Spike => "QC-LEAK-SPIKE",
            AlertKind::Retention => "QC-LEAK-RETENTION",
            AlertKind::OverBudget => "QC-LEAK-OVER-BUDGET",
        }
    }
}

/// Whether an alert's pattern still holds.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertState {
    /// The pattern holds, or stopped less than the hold period ago.
    Open,
    /// The pattern stopped for the hold period.
    Resolved,
}

impl AlertState {
    /// `open` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Resolved => "resolved",
        }
    }
}

/// One alert: a pattern seen from `first_t` to `last_t`.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// What was seen.
    pub kind: AlertKind,
    /// How much it matters; it only rises while the alert is open.
    pub severity: Severity,
    /// When the pattern was confirmed, in the observations' seconds.
    pub first_t: f64,
    /// When the pattern was last seen to hold.
    pub last_t: f64,
    /// Open or resolved.
    pub state: AlertState,
    /// The cache it is about, for per-cache alerts.
    pub cache: Option<String>,
    /// The figures behind it as of `last_t`, as name and value (slope, window, test score, …).
    pub evidence: Vec<(String, String)>,
    /// What to do.
    pub recommendation: String,
}

impl Alert {
    /// One line for people: what grows, by how much, where.
    ///
    /// # Examples
    ///
    /// ```
    /// # use leak_detector::{Alert, AlertKind};
    /// # fn show(a: &Alert) {
    /// // "memory outside the caches grows 1.0 MiB/s (1.52 %/min of the heap)"
    /// println!("{}", a.summary());
    /// # }
    /// ```
    pub fn summary(&self) -> String {
        let mib = |name: &str| {
            self.evidence_value(name)
                .and_then(|v| v.parse::<f64>().ok())
                .map(|b| format!("{:.1} MiB", b / 1_048_576.0))
        };
        let cache = self.cache.as_deref().unwrap_or("?");
        match self.kind {
            AlertKind::Growth | AlertKind::Retention => {
                let rate = mib("slope_bytes_per_second").unwrap_or_else(|| "?".to_owned());
                let share = self
                    .evidence_value("percent_per_minute")
                    .and_then(|p| p.parse::<f64>().ok())
                    .map(|p| format!(" ({p:.1} %/min of the heap)"))
                    .unwrap_or_default();
                match (self.kind, &self.cache) {
                    (AlertKind::Retention, Some(cache)) => format!(
                        "cache {cache} holds {} in entries never read",
                        mib("unread_bytes").unwrap_or_else(|| "?".to_owned())
                    ),
                    (AlertKind::Retention, None) => format!(
                        "evicted values stay allocated: memory outside the caches grows {rate}/s{share} with the evictions"
                    ),
                    _ => format!("memory outside the caches grows {rate}/s{share}"),
                }
            }
            AlertKind::Spike => format!(
                "memory outside the caches jumped by {} and stays there",
                mib("jump_bytes").unwrap_or_else(|| "?".to_owned())
            ),
            AlertKind::OverBudget => format!(
                "cache {cache} really holds {} against a budget of {}",
                mib("real_bytes").unwrap_or_else(|| "?".to_owned()),
                mib("budget_bytes").unwrap_or_else(|| "?".to_owned())
            ),
        }
    }

    /// The value of the evidence named `name`.
    pub fn evidence_value(&self, name: &str) -> Option<&str> {
        self.evidence
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A change to the alerts that one observation caused.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub enum AlertChange {
    /// A new alert.
    Opened(Alert),
    /// An open alert whose severity rose.
    Escalated(Alert),
    /// An open growth alert found to be retention (the eviction evidence arrived).
    Reclassified(Alert),
    /// An alert whose pattern stopped for the hold period.
    Resolved(Alert),
}

impl AlertChange {
    /// The alert as of the change.
    pub fn alert(&self) -> &Alert {
        match self {
            AlertChange::Opened(a)
            | AlertChange::Escalated(a)
            | AlertChange::Reclassified(a)
            | AlertChange::Resolved(a) => a,
        }
    }
}

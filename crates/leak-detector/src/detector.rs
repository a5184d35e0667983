//! The detector: a bounded history of the memory the caches do not account for, and the
//! growth, spike, retention and over-budget tests run on every observation.

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use cache_traits::Severity;

use crate::alert::{Alert, AlertChange, AlertKind, AlertState};
use crate::config::{Config, ConfigError};
use crate::observation::Observation;
use crate::stats;

/// Finds leaks in a timeline of [`Observation`]s.
///
/// It watches the *residual*: the allocator's allocated bytes less the bytes the caches
/// charge (the resident set less them when the heap is unknown; the raw heap or resident set
/// when no cache figure is known). Memory bounded: it keeps at most
/// [`Config::history_samples`] samples, [`Config::max_resolved`] resolved alerts and
/// [`Config::max_caches`] caches' timers. All methods take `&self` (one mutex inside), so one
/// detector can be shared as an `Arc` and is a [`ReportSource`](cache_traits::ReportSource).
///
/// # Examples
///
/// ```
/// use leak_detector::{AlertKind, Config, LeakDetector, Observation};
/// let detector = LeakDetector::new(Config::default()).expect("the defaults are valid");
/// let mib = 1u64 << 20;
/// for t in 0..900u64 {
///     // The caches hold 600 MiB; from t = 300 s the rest grows by 1 MiB a second.
///     let leaked = t.saturating_sub(300) * mib;
///     detector.observe(Observation::at(t as f64).heap_bytes(900 * mib + leaked).cache_bytes(600 * mib));
/// }
/// let open = detector.open_alerts();
/// assert_eq!(open[0].kind, AlertKind::Growth);
/// ```
#[derive(Debug)]
pub struct LeakDetector {
    config: Config,
    state: Mutex<State>,
}

/// Counters and the latest figures of a [`LeakDetector`].
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    /// Observations accepted.
    pub samples_seen: u64,
    /// Observations ignored: time not finite or not after the previous one.
    pub samples_ignored: u64,
    /// Samples in the history now.
    pub samples_held: usize,
    /// The latest residual, in bytes.
    pub residual_bytes: Option<f64>,
    /// The latest heap (or resident set), in bytes.
    pub heap_bytes: Option<f64>,
    /// The residual's Theil–Sen slope on the growth window that decided, in bytes per second.
    pub residual_slope: Option<f64>,
    /// The window of that slope, in seconds.
    pub slope_window_seconds: Option<f64>,
    /// Alerts open now.
    pub open_alerts: usize,
    /// Alerts opened since the start.
    pub alerts_opened: u64,
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    t: f64,
    residual: f64,
    level: f64,
    /// NaN when unknown.
    cache: f64,
    /// NaN when unknown.
    evicted: f64,
}

#[derive(Debug)]
struct OpenAlert {
    alert: Alert,
    /// When the pattern last held.
    seen_t: f64,
}

#[derive(Debug, Default)]
struct CacheTimers {
    over_since: Option<f64>,
    unread_since: Option<f64>,
}

#[derive(Clone, Copy, Debug)]
struct SpikeState {
    onset_t: f64,
    baseline: f64,
    jump: f64,
    z: f64,
}

#[derive(Clone, Copy, Debug)]
struct GrowthReading {
    window: f64,
    span: f64,
    samples: usize,
    slope: f64,
    z: f64,
    p: f64,
    rise: f64,
    evict_rate: Option<f64>,
    /// Pearson correlation of the residual's and the evicted bytes' block increments.
    evict_correlation: Option<f64>,
    passed: bool,
}

/// A pattern that held on this observation.
struct Hit {
    kind: AlertKind,
    cache: Option<String>,
    severity: Severity,
    evidence: Vec<(String, String)>,
    recommendation: String,
}

#[derive(Debug, Default)]
struct Scratch {
    xs: Vec<f64>,
    ys: Vec<f64>,
    evicted: Vec<f64>,
    pairs: Vec<f64>,
    values: Vec<f64>,
}

#[derive(Debug, Default)]
struct State {
    history: VecDeque<Sample>,
    first_t: Option<f64>,
    last_t: Option<f64>,
    samples_seen: u64,
    samples_ignored: u64,
    alerts_opened: u64,
    growth_streak: u32,
    growth: Option<GrowthReading>,
    spike: Option<SpikeState>,
    limit: Option<f64>,
    open: Vec<OpenAlert>,
    resolved: VecDeque<Alert>,
    caches: HashMap<String, CacheTimers>,
    scratch: Scratch,
}

fn fmt_bytes(v: f64) -> String {
    format!("{v:.0}")
}

fn fmt_num(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else if v > 0.0 {
        "inf".to_owned()
    } else {
        "nan".to_owned()
    }
}

impl LeakDetector {
    /// A detector with this configuration.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the setting out of range.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        let state = State {
            history: VecDeque::with_capacity(config.history_samples),
            ..State::default()
        };
        Ok(Self {
            config,
            state: Mutex::new(state),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one reading and runs the tests; returns the alerts it opened, escalated or
    /// resolved.
    ///
    /// A reading whose time is not finite or not after the previous one is ignored (and
    /// counted in [`Status::samples_ignored`]); a reading without a heap or resident figure only
    /// feeds the per-cache tests.
    pub fn observe(&self, obs: Observation) -> Vec<AlertChange> {
        let mut state = self.lock();
        state.observe(&self.config, obs)
    }

    /// Open alerts, then resolved ones, each oldest first.
    pub fn alerts(&self) -> Vec<Alert> {
        let state = self.lock();
        state
            .open
            .iter()
            .map(|o| o.alert.clone())
            .chain(state.resolved.iter().cloned())
            .collect()
    }

    /// Open alerts, oldest first.
    pub fn open_alerts(&self) -> Vec<Alert> {
        self.lock().open.iter().map(|o| o.alert.clone()).collect()
    }

    /// Counters and the latest figures.
    pub fn status(&self) -> Status {
        let state = self.lock();
        let last = state.history.back();
        Status {
            samples_seen: state.samples_seen,
            samples_ignored: state.samples_ignored,
            samples_held: state.history.len(),
            residual_bytes: last.map(|s| s.residual),
            heap_bytes: last.map(|s| s.level),
            residual_slope: state.growth.map(|g| g.slope),
            slope_window_seconds: state.growth.map(|g| g.window),
            open_alerts: state.open.len(),
            alerts_opened: state.alerts_opened,
        }
    }

    /// The residual over the history as `(t_seconds, bytes)`, thinned to at most `max_points`.
    pub fn residual_series(&self, max_points: usize) -> Vec<(f64, f64)> {
        let state = self.lock();
        let n = state.history.len();
        let step = n.div_ceil(max_points.max(1)).max(1);
        state
            .history
            .iter()
            .step_by(step)
            .map(|s| (s.t, s.residual))
            .collect()
    }
}

impl State {
    fn observe(&mut self, cfg: &Config, obs: Observation) -> Vec<AlertChange> {
        let t = obs.t_seconds;
        if !t.is_finite() || self.last_t.is_some_and(|last| t <= last) {
            self.samples_ignored += 1;
            return Vec::new();
        }
        self.samples_seen += 1;
        self.last_t = Some(t);
        let first_t = *self.first_t.get_or_insert(t);
        self.limit = obs.limit_bytes.map(|v| v as f64).or(self.limit);

        let mut hits = Vec::new();
        let base = obs.heap_bytes.or(obs.resident_bytes).map(|v| v as f64);
        if let Some(level) = base {
            let cache = obs.cache_bytes.map_or(f64::NAN, |v| v as f64);
            let residual = if cache.is_nan() { level } else { level - cache };
            if self.history.len() >= cfg.history_samples {
                self.history.pop_front();
            }
            self.history.push_back(Sample {
                t,
                residual,
                level,
                cache,
                evicted: obs.evicted_bytes_total.map_or(f64::NAN, |v| v as f64),
            });
            if t - first_t >= cfg.warmup_seconds {
                hits.extend(self.spike(cfg));
                hits.extend(self.growth(cfg, first_t));
            }
        }
        self.per_cache(cfg, &obs, &mut hits);
        self.apply(cfg, t, hits)
    }

    /// The growth test on every window; a hit once a window passed on
    /// `growth_confirm_samples` observations in a row (the duration gate).
    fn growth(&mut self, cfg: &Config, first_t: f64) -> Option<Hit> {
        let last = *self.history.back()?;
        let now = last.t;
        let level = last.level.max(1.0);
        let mut decided: Option<GrowthReading> = None;
        let mut longest: Option<GrowthReading> = None;
        let mut retention: Option<GrowthReading> = None;
        for &window in &cfg.growth_windows_seconds {
            // Windows never reach back into the warm-up.
            let from = (now - window).max(first_t + cfg.warmup_seconds);
            let start = self.history.partition_point(|s| s.t < from);
            let Some(reading) = self.window_reading(cfg, start, window, level) else {
                continue;
            };
            longest = Some(reading);
            if reading.passed && decided.is_none_or(|d| reading.slope > d.slope) {
                decided = Some(reading);
            }
            if reading.passed && is_retention(cfg, &reading) {
                retention = Some(reading);
            }
        }
        self.growth = decided.or(longest);
        match decided {
            Some(_) => self.growth_streak = self.growth_streak.saturating_add(1),
            None => self.growth_streak = 0,
        }
        let g = retention.or(decided)?;
        if self.growth_streak < cfg.growth_confirm_samples {
            return None;
        }
        let rate_per_minute = g.slope * 60.0 / level;
        let headroom = self.limit.map(|l| l - last.level);
        let time_to_limit = headroom.map(|h| (h / g.slope).max(0.0));
        let critical = rate_per_minute >= cfg.critical_rate_per_minute
            || time_to_limit.is_some_and(|s| s <= cfg.critical_horizon_seconds);
        let mut evidence = vec![
            ("slope_bytes_per_second".to_owned(), fmt_bytes(g.slope)),
            (
                "percent_per_minute".to_owned(),
                fmt_num(rate_per_minute * 100.0, 3),
            ),
            ("window_seconds".to_owned(), fmt_num(g.span, 0)),
            ("samples".to_owned(), g.samples.to_string()),
            ("mann_kendall_z".to_owned(), fmt_num(g.z, 2)),
            ("p_value".to_owned(), format!("{:.2e}", g.p)),
            ("rise_bytes".to_owned(), fmt_bytes(g.rise)),
            ("residual_bytes".to_owned(), fmt_bytes(last.residual)),
            ("heap_bytes".to_owned(), fmt_bytes(last.level)),
        ];
        if let Some(e) = g.evict_rate {
            evidence.push(("eviction_bytes_per_second".to_owned(), fmt_bytes(e)));
        }
        if let Some(r) = g.evict_correlation {
            evidence.push(("eviction_correlation".to_owned(), fmt_num(r, 2)));
        }
        if let Some(s) = time_to_limit {
            evidence.push(("time_to_limit_seconds".to_owned(), fmt_num(s, 0)));
        }
        let (kind, recommendation) = match retention {
            Some(_) => (
                AlertKind::Retention,
                "values the caches evicted stay alive: look for clones of cached values (Arc) \
                 held outside the cache, in request state, background tasks or other maps, and \
                 drop them when the request ends",
            ),
            None => (
                AlertKind::Growth,
                "memory the caches do not charge keeps growing: take two heap profiles (jemalloc \
                 prof.dump) some minutes apart and compare the allocation sites that grew",
            ),
        };
        Some(Hit {
            kind,
            cache: None,
            severity: if critical {
                Severity::Critical
            } else {
                Severity::Warning
            },
            evidence,
            recommendation: recommendation.to_owned(),
        })
    }

    /// One window's statistics on block means of the samples from `start` on.
    fn window_reading(
        &mut self,
        cfg: &Config,
        start: usize,
        window: f64,
        level: f64,
    ) -> Option<GrowthReading> {
        let n = self.history.len().checked_sub(start)?;
        if n < 8 {
            return None;
        }
        let first = *self.history.get(start)?;
        let last = *self.history.back()?;
        let span = last.t - first.t;
        if span < 0.8 * window {
            return None;
        }
        // A step inside the window is the spike test's business, not a trend.
        if self.spike.is_some_and(|s| s.onset_t >= first.t) {
            return None;
        }
        let n_blocks = n.min(cfg.growth_points);
        let Scratch {
            xs,
            ys,
            evicted,
            pairs,
            ..
        } = &mut self.scratch;
        xs.clear();
        ys.clear();
        evicted.clear();
        let (front, back) = self.history.as_slices();
        let at = |i: usize| {
            if i < front.len() {
                front[i]
            } else {
                back[i - front.len()]
            }
        };
        for b in 0..n_blocks {
            let i0 = start + b * n / n_blocks;
            let i1 = start + (b + 1) * n / n_blocks;
            let (mut st, mut sr, mut se) = (0.0, 0.0, 0.0);
            for i in i0..i1 {
                let s = at(i);
                st += s.t;
                sr += s.residual;
                se += s.evicted;
            }
            let k = (i1 - i0).max(1) as f64;
            xs.push(st / k);
            ys.push(sr / k);
            evicted.push(se / k);
        }
        let slope = stats::theil_sen(xs, ys, pairs)?;
        let mk = stats::mann_kendall(ys)?;
        let half = n_blocks / 2;
        let slope_old = stats::theil_sen(&xs[..half], &ys[..half], pairs).unwrap_or(0.0);
        let slope_new = stats::theil_sen(&xs[half..], &ys[half..], pairs).unwrap_or(0.0);
        let rise = slope * span;
        let per_second = |a: f64, b: f64| {
            let d = b - a;
            (d.is_finite() && span > 0.0).then(|| d / span)
        };
        let cache_rate = per_second(first.cache, last.cache);
        let evict_rate = per_second(first.evicted, last.evicted).filter(|&e| e >= 0.0);
        let evict_correlation = stats::rate_correlation(xs, ys, evicted);
        let explained = cache_rate.is_some_and(|c| c > 0.0 && slope <= cfg.explained_share * c);
        let min_rise = (cfg.growth_min_rise_fraction * level).max(cfg.growth_min_rise_bytes as f64);
        let passed = slope > 0.0
            && mk.z >= cfg.growth_min_z
            && slope * 60.0 >= cfg.growth_min_rate_per_minute * level
            && rise >= min_rise
            && slope_old >= 0.3 * slope
            && slope_new >= 0.3 * slope
            && !explained;
        Some(GrowthReading {
            window,
            span,
            samples: n,
            slope,
            z: mk.z,
            p: mk.p_rising(),
            rise,
            evict_rate,
            evict_correlation,
            passed,
        })
    }

    /// The spike test: the last `spike_persist_samples` residuals all far above the baseline
    /// (median and MAD of the samples before them); once open, it holds while the residual stays
    /// above half the jump.
    fn spike(&mut self, cfg: &Config) -> Option<Hit> {
        let last = *self.history.back()?;
        let level = last.level.max(1.0);
        if let Some(s) = self.spike {
            if last.residual < s.baseline + 0.5 * s.jump {
                return None;
            }
            return Some(spike_hit(&s, &last));
        }
        let persist = cfg.spike_persist_samples as usize;
        let end = self.history.len().checked_sub(persist)?;
        let end_t = self.history.get(end)?.t;
        let start = self
            .history
            .partition_point(|s| s.t < end_t - cfg.spike_baseline_seconds);
        if end.saturating_sub(start) < 30 {
            return None;
        }
        let values = &mut self.scratch.values;
        values.clear();
        values.extend(self.history.range(start..end).map(|s| s.residual));
        let (baseline, mad) = stats::median_mad(values)?;
        let sigma = 1.4826 * mad;
        let min_jump = (cfg.spike_min_fraction * level)
            .max(cfg.spike_min_bytes as f64)
            .max(cfg.spike_min_z * sigma);
        let threshold = baseline + min_jump;
        if self.history.range(end..).any(|s| s.residual < threshold) {
            return None;
        }
        values.clear();
        values.extend(self.history.range(end..).map(|s| s.residual));
        let jump = stats::median(values)? - baseline;
        // Sudden: three samples before the onset the residual was still within half the jump
        // of the baseline (a steep ramp crossing the threshold is the growth test's business).
        let before = self.history.get(end.saturating_sub(3))?.residual;
        if before >= baseline + 0.5 * jump {
            return None;
        }
        let state = SpikeState {
            onset_t: end_t,
            baseline,
            jump,
            z: if sigma > 0.0 {
                jump / sigma
            } else {
                f64::INFINITY
            },
        };
        self.spike = Some(state);
        Some(spike_hit(&state, &last))
    }

    fn per_cache(&mut self, cfg: &Config, obs: &Observation, hits: &mut Vec<Hit>) {
        let t = obs.t_seconds;
        for c in &obs.caches {
            if !self.caches.contains_key(&c.name) && self.caches.len() >= cfg.max_caches {
                continue;
            }
            let timers = self.caches.entry(c.name.clone()).or_default();
            let budget = c.budget_bytes.filter(|&b| b > 0).map(|b| b as f64);

            let over = budget.zip(c.real_bytes.map(|r| r as f64));
            match over {
                Some((b, r)) if r >= b * (1.0 + cfg.over_budget_margin) => {
                    let since = *timers.over_since.get_or_insert(t);
                    if t - since >= cfg.over_budget_seconds {
                        let ratio = r / b;
                        hits.push(Hit {
                            kind: AlertKind::OverBudget,
                            cache: Some(c.name.clone()),
                            severity: if ratio >= 2.0 {
                                Severity::Critical
                            } else {
                                Severity::Warning
                            },
                            evidence: vec![
                                ("real_to_budget".to_owned(), fmt_num(ratio, 2)),
                                ("real_bytes".to_owned(), fmt_bytes(r)),
                                ("budget_bytes".to_owned(), fmt_bytes(b)),
                                ("charged_bytes".to_owned(), c.charged_bytes.to_string()),
                                ("over_seconds".to_owned(), fmt_num(t - since, 0)),
                            ],
                            recommendation: format!(
                                "the values of cache {} occupy more than its budget: make its \
                                 weigher count the heap the values own (HeapSize), or lower its \
                                 budget until it does",
                                c.name
                            ),
                        });
                    }
                }
                _ => timers.over_since = None,
            }

            let charged = c.charged_bytes as f64;
            let unread = budget.zip(c.unread_bytes.map(|u| u as f64));
            match unread {
                Some((b, u))
                    if charged > 0.0
                        && charged >= cfg.unread_fill * b
                        && u >= cfg.unread_share * charged =>
                {
                    let since = *timers.unread_since.get_or_insert(t);
                    if t - since >= cfg.unread_seconds {
                        let share = u / charged;
                        hits.push(Hit {
                            kind: AlertKind::Retention,
                            cache: Some(c.name.clone()),
                            severity: if share >= 0.8 {
                                Severity::Warning
                            } else {
                                Severity::Info
                            },
                            evidence: vec![
                                ("unread_share".to_owned(), fmt_num(share, 2)),
                                ("unread_bytes".to_owned(), fmt_bytes(u)),
                                ("charged_bytes".to_owned(), fmt_bytes(charged)),
                                ("budget_bytes".to_owned(), fmt_bytes(b)),
                                ("held_seconds".to_owned(), fmt_num(t - since, 0)),
                            ],
                            recommendation: format!(
                                "most bytes of cache {} were never read: lower its budget or its \
                                 time to live, or stop inserting values that are not read again",
                                c.name
                            ),
                        });
                    }
                }
                _ => timers.unread_since = None,
            }
        }
    }

    /// Opens, updates and resolves alerts from this observation's hits.
    fn apply(&mut self, cfg: &Config, t: f64, hits: Vec<Hit>) -> Vec<AlertChange> {
        let mut changes = Vec::new();
        for hit in hits {
            // Growth and retention of the residual are one alert: the kind is retention once
            // the eviction evidence is seen, and stays so.
            let global = |k: AlertKind| matches!(k, AlertKind::Growth | AlertKind::Retention);
            let existing = self.open.iter_mut().find(|o| {
                o.alert.cache == hit.cache
                    && (o.alert.kind == hit.kind
                        || (hit.cache.is_none() && global(hit.kind) && global(o.alert.kind)))
            });
            match existing {
                Some(open) => {
                    open.seen_t = t;
                    open.alert.last_t = t;
                    if open.alert.kind == AlertKind::Retention && hit.kind == AlertKind::Growth {
                        // Short windows cannot see the eviction evidence: keep the retention's.
                        continue;
                    }
                    open.alert.evidence = hit.evidence;
                    if open.alert.kind != hit.kind {
                        open.alert.kind = hit.kind;
                        open.alert.recommendation = hit.recommendation.clone();
                        open.alert.severity = open.alert.severity.max(hit.severity);
                        changes.push(AlertChange::Reclassified(open.alert.clone()));
                        continue;
                    }
                    if hit.severity > open.alert.severity {
                        open.alert.severity = hit.severity;
                        open.alert.recommendation = hit.recommendation;
                        changes.push(AlertChange::Escalated(open.alert.clone()));
                    }
                }
                None => {
                    let alert = Alert {
                        kind: hit.kind,
                        severity: hit.severity,
                        first_t: t,
                        last_t: t,
                        state: AlertState::Open,
                        cache: hit.cache,
                        evidence: hit.evidence,
                        recommendation: hit.recommendation,
                    };
                    self.alerts_opened += 1;
                    changes.push(AlertChange::Opened(alert.clone()));
                    self.open.push(OpenAlert { alert, seen_t: t });
                }
            }
        }
        let mut i = 0;
        while i < self.open.len() {
            if t - self.open[i].seen_t >= cfg.resolve_hold_seconds {
                let mut alert = self.open.remove(i).alert;
                alert.state = AlertState::Resolved;
                if alert.kind == AlertKind::Spike {
                    self.spike = None;
                }
                changes.push(AlertChange::Resolved(alert.clone()));
                if cfg.max_resolved > 0 {
                    if self.resolved.len() >= cfg.max_resolved {
                        self.resolved.pop_front();
                    }
                    self.resolved.push_back(alert);
                }
            } else {
                i += 1;
            }
        }
        // A spike state without its alert (never opened) must not block the growth test.
        if self.spike.is_some() && !self.open.iter().any(|o| o.alert.kind == AlertKind::Spike) {
            self.spike = None;
        }
        changes
    }
}

/// Whether a passing window's rise is evicted bytes kept alive: the residual rises at a large
/// share of the eviction rate (not faster than it) and its increments follow the evictions'.
fn is_retention(cfg: &Config, g: &GrowthReading) -> bool {
    let Some(e) = g.evict_rate.filter(|&e| e > 0.0) else {
        return false;
    };
    g.slope >= cfg.retention_share * e
        && g.slope <= 1.5 * e
        && g.evict_correlation
            .is_some_and(|r| r >= cfg.retention_correlation)
}

fn spike_hit(s: &SpikeState, last: &Sample) -> Hit {
    let level = last.level.max(1.0);
    Hit {
        kind: AlertKind::Spike,
        cache: None,
        severity: if s.jump >= 0.25 * (level - s.jump).max(1.0) {
            Severity::Critical
        } else {
            Severity::Warning
        },
        evidence: vec![
            ("jump_bytes".to_owned(), fmt_bytes(s.jump)),
            (
                "jump_percent_of_heap".to_owned(),
                fmt_num(s.jump / (level - s.jump).max(1.0) * 100.0, 2),
            ),
            ("robust_z".to_owned(), fmt_num(s.z, 1)),
            ("baseline_bytes".to_owned(), fmt_bytes(s.baseline)),
            ("residual_bytes".to_owned(), fmt_bytes(last.residual)),
            ("onset_t".to_owned(), fmt_num(s.onset_t, 1)),
        ],
        recommendation: "memory outside the caches jumped and stayed: check what started at \
                         onset_t (a deploy, a bulk load, a new pool or buffer) and whether it is \
                         meant to stay"
            .to_owned(),
    }
}

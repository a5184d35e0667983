//! A bounded history of every metric the sections report, and trend figures over a window.
//!
//! [`History::record`] takes the metrics of a tick's sections as one sample each. Samples of
//! all series share one timeline (the times of the last `samples` calls), so a series costs 8
//! bytes a sample and no timestamp of its own. Both dimensions are bounded: a series keeps at
//! most `samples` values, and at most `max_series` series are kept, the least recently
//! updated giving way to a new one, so label churn cannot grow memory. The bound is about
//! `max_series × samples × 8` bytes (118 MiB at the defaults when every series is full;
//! a few hundred series of an hour's history take a few MiB).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use cache_traits::{Metric, MetricKind, Section, TimeSeries, Unit};

/// Samples a series keeps by default: one hour at one a second.
pub const DEFAULT_SAMPLES: usize = 3600;

/// Series a history keeps by default.
pub const DEFAULT_MAX_SERIES: usize = 4096;

/// What names a series: the section it came from, the metric's name and its labels.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// The [`Section::id`].
    pub section: String,
    /// The [`Metric::name`].
    pub name: String,
    /// The [`Metric::labels`], in their order.
    pub labels: Vec<(String, String)>,
}

impl SeriesKey {
    /// A key from its parts.
    pub fn new(
        section: impl Into<String>,
        name: impl Into<String>,
        labels: Vec<(String, String)>,
    ) -> Self {
        Self {
            section: section.into(),
            name: name.into(),
            labels,
        }
    }

    /// The key of `metric` in the section `section_id`.
    pub fn of(section_id: &str, metric: &Metric) -> Self {
        Self::new(section_id, metric.name.clone(), metric.labels.clone())
    }
}

/// Why a [`HistoryBuilder`] could not build.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryError {
    /// `samples` was zero.
    ZeroSamples,
    /// `max_series` was zero.
    ZeroSeries,
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistoryError::ZeroSamples => {
                f.write_str("a history keeps no samples; pass samples(n) with n of 1 or more")
            }
            HistoryError::ZeroSeries => {
                f.write_str("a history keeps no series; pass max_series(n) with n of 1 or more")
            }
        }
    }
}

impl std::error::Error for HistoryError {}

/// Settings for a [`History`]; from [`History::builder`].
#[derive(Clone, Debug)]
pub struct HistoryBuilder {
    samples: usize,
    max_series: usize,
}

impl HistoryBuilder {
    /// Samples each series keeps ([`DEFAULT_SAMPLES`] unless set): at one call of
    /// [`History::record`] a second, the seconds of history.
    pub fn samples(mut self, samples: usize) -> Self {
        self.samples = samples;
        self
    }

    /// Series kept at most ([`DEFAULT_MAX_SERIES`] unless set).
    pub fn max_series(mut self, max_series: usize) -> Self {
        self.max_series = max_series;
        self
    }

    /// The history.
    ///
    /// # Errors
    ///
    /// [`HistoryError`] when `samples` or `max_series` is zero.
    pub fn build(self) -> Result<History, HistoryError> {
        if self.samples == 0 {
            return Err(HistoryError::ZeroSamples);
        }
        if self.max_series == 0 {
            return Err(HistoryError::ZeroSeries);
        }
        Ok(History::with_bounds(self.samples, self.max_series))
    }
}

/// The values of the series in a history, each in a bounded ring.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cache_traits::{Metric, Section, Unit};
/// use reporter::{History, SeriesKey};
///
/// let mut history = History::default();
/// for second in 0..10u64 {
///     let mut s = Section::new("memory", "Memory");
///     s.metrics.push(Metric::gauge("used_memory", "Bytes held", Unit::Bytes, (second * 100) as f64));
///     history.record(second * 1000, &[s]);
/// }
/// let key = SeriesKey::new("memory", "used_memory", Vec::new());
/// let trend = history.trend(&key, Duration::from_secs(60)).unwrap();
/// assert_eq!(trend.max, 900.0);
/// assert_eq!(trend.slope_per_second, Some(100.0));
/// ```
#[derive(Clone, Debug)]
pub struct History {
    samples: usize,
    max_series: usize,
    /// The times of the last `samples` calls of `record`, oldest first.
    times: VecDeque<u64>,
    /// Calls of `record` so far; the sample index of the next one.
    n_records: u64,
    /// Series created so far; orders series by first appearance.
    n_created: u64,
    index: HashMap<SeriesKey, usize>,
    slots: Vec<Slot>,
}

impl Default for History {
    /// One hour at one second ([`DEFAULT_SAMPLES`]) for up to [`DEFAULT_MAX_SERIES`] series.
    fn default() -> Self {
        Self::with_bounds(DEFAULT_SAMPLES, DEFAULT_MAX_SERIES)
    }
}

/// One series: its metric's description and its values by sample index.
#[derive(Clone, Debug)]
struct Slot {
    key: SeriesKey,
    kind: MetricKind,
    unit: Unit,
    help: String,
    /// Sample index of `values[0]`.
    first: u64,
    /// Values of consecutive samples; NaN where the series had no finite value.
    values: VecDeque<f64>,
    /// Sample index of the latest value.
    updated: u64,
    /// Order of first appearance.
    created: u64,
}

impl Slot {
    fn new(key: SeriesKey, metric: &Metric, created: u64) -> Self {
        Self {
            key,
            kind: metric.kind,
            unit: metric.unit,
            help: metric.help.clone(),
            first: 0,
            values: VecDeque::new(),
            updated: 0,
            created,
        }
    }

    /// Stores `metric`'s value as sample `at_idx`, filling a gap since the last one with NaN.
    fn put(&mut self, at_idx: u64, metric: &Metric, samples: usize) {
        let value = if metric.value.is_finite() {
            metric.value
        } else {
            f64::NAN
        };
        self.kind = metric.kind;
        self.unit = metric.unit;
        if self.help != metric.help {
            self.help.clone_from(&metric.help);
        }
        self.updated = at_idx;
        let next = self.first + self.values.len() as u64;
        if self.values.is_empty() || at_idx >= next + samples as u64 {
            self.values.clear();
            self.first = at_idx;
        } else if at_idx < next {
            // The same series twice in one call: the later value wins.
            if let Some(last) = self.values.back_mut() {
                *last = value;
            }
            return;
        } else {
            for _ in next..at_idx {
                self.values.push_back(f64::NAN);
            }
        }
        self.values.push_back(value);
        while self.values.len() > samples {
            self.values.pop_front();
            self.first += 1;
        }
    }
}

impl History {
    /// An empty history with these bounds (both at least 1).
    fn with_bounds(samples: usize, max_series: usize) -> Self {
        Self {
            samples,
            max_series,
            times: VecDeque::new(),
            n_records: 0,
            n_created: 0,
            index: HashMap::new(),
            slots: Vec::new(),
        }
    }

    /// Settings for a history other than the default.
    ///
    /// # Examples
    ///
    /// ```
    /// let history = reporter::History::builder().samples(600).max_series(256).build()?;
    /// assert_eq!(history.samples(), 600);
    /// # Ok::<(), reporter::HistoryError>(())
    /// ```
    pub fn builder() -> HistoryBuilder {
        HistoryBuilder {
            samples: DEFAULT_SAMPLES,
            max_series: DEFAULT_MAX_SERIES,
        }
    }

    /// Samples each series keeps.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Series kept at most.
    pub fn max_series(&self) -> usize {
        self.max_series
    }

    /// Series held now.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no series is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The time of the latest [`record`](Self::record), in unix milliseconds.
    pub fn latest_unix_millis(&self) -> Option<u64> {
        self.times.back().copied()
    }

    /// Takes every metric of `sections` (counters and gauges) as the sample at
    /// `at_unix_millis`.
    ///
    /// Call it once a tick with every source's sections: a series missing from a call has a gap
    /// there, and a value that is not finite (NaN) counts as missing. A time earlier than the
    /// previous call's counts as the previous call's, so series stay in order. A metric that
    /// appears twice in one call keeps the later value.
    ///
    /// A new series beyond [`max_series`](Self::max_series) replaces the series updated least
    /// recently; when one call brings more series than that bound, the excess is not kept.
    pub fn record(&mut self, at_unix_millis: u64, sections: &[Section]) {
        let at = self
            .times
            .back()
            .map_or(at_unix_millis, |&last| at_unix_millis.max(last));
        let at_idx = self.n_records;
        self.n_records += 1;
        self.times.push_back(at);
        while self.times.len() > self.samples {
            self.times.pop_front();
        }

        let mut pending: Vec<(SeriesKey, &Metric)> = Vec::new();
        for section in sections {
            for metric in &section.metrics {
                let key = SeriesKey::of(&section.id, metric);
                match self.index.get(&key) {
                    Some(&slot_idx) => self.slots[slot_idx].put(at_idx, metric, self.samples),
                    None => pending.push((key, metric)),
                }
            }
        }
        if pending.is_empty() {
            return;
        }

        let room = self.max_series - self.slots.len();
        let mut victims = self.victims(pending.len().saturating_sub(room), at_idx);
        for (key, metric) in pending {
            if let Some(&slot_idx) = self.index.get(&key) {
                self.slots[slot_idx].put(at_idx, metric, self.samples);
                continue;
            }
            let slot = Slot::new(key.clone(), metric, self.n_created);
            let slot_idx = if self.slots.len() < self.max_series {
                self.slots.push(slot);
                self.slots.len() - 1
            } else if let Some(slot_idx) = victims.next() {
                let old = std::mem::replace(&mut self.slots[slot_idx], slot);
                self.index.remove(&old.key);
                slot_idx
            } else {
                continue;
            };
            self.n_created += 1;
            self.index.insert(key, slot_idx);
            self.slots[slot_idx].put(at_idx, metric, self.samples);
        }
    }

    /// Up to `n` slots not updated by the call at `at_idx`, least recently updated first.
    fn victims(&self, n: usize, at_idx: u64) -> std::vec::IntoIter<usize> {
        let mut stale: Vec<(u64, u64, usize)> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.updated < at_idx)
            .map(|(slot_idx, s)| (s.updated, s.created, slot_idx))
            .collect();
        if n < stale.len() {
            stale.select_nth_unstable(n);
            stale.truncate(n);
        }
        stale.sort_unstable();
        stale
            .into_iter()
            .map(|(_, _, slot_idx)| slot_idx)
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// The keys of the series held, in the order they first appeared.
    pub fn keys(&self) -> Vec<&SeriesKey> {
        self.ordered(None).map(|s| &s.key).collect()
    }

    /// Every series held, in the order they first appeared, with its values still on the
    /// timeline (missing and NaN values left out).
    pub fn series(&self) -> Vec<TimeSeries> {
        self.collect(None, None)
            .into_iter()
            .map(|(_, _, ts)| ts)
            .collect()
    }

    /// The series of one section, as [`series`](Self::series).
    pub fn series_of(&self, section_id: &str) -> Vec<TimeSeries> {
        self.collect(Some(section_id), None)
            .into_iter()
            .map(|(_, _, ts)| ts)
            .collect()
    }

    /// The series of `section_id` (every section when `None`) with the points of the last
    /// `window` (every point when `None`) before the latest record, each with its key and
    /// kind; series without a point there are left out.
    pub(crate) fn collect(
        &self,
        section_id: Option<&str>,
        window: Option<Duration>,
    ) -> Vec<(&SeriesKey, MetricKind, TimeSeries)> {
        let since = window.map_or(0, |w| self.window_start(w));
        self.ordered(section_id)
            .filter_map(|slot| {
                let points: Vec<(u64, f64)> =
                    self.points(slot).filter(|&(t, _)| t >= since).collect();
                if points.is_empty() {
                    return None;
                }
                let mut ts = TimeSeries::default();
                ts.name.clone_from(&slot.key.name);
                ts.title.clone_from(&slot.help);
                ts.unit = Some(slot.unit);
                ts.labels.clone_from(&slot.key.labels);
                ts.points = points;
                Some((&slot.key, slot.kind, ts))
            })
            .collect()
    }

    /// Trend figures of the series `key` over the last `window` before the latest record;
    /// `None` when it has no point there.
    pub fn trend(&self, key: &SeriesKey, window: Duration) -> Option<Trend> {
        let slot = &self.slots[*self.index.get(key)?];
        let since = self.window_start(window);
        Trend::compute(self.points(slot).filter(|&(t, _)| t >= since), slot.kind)
    }

    /// The first time inside `window` before the latest record.
    fn window_start(&self, window: Duration) -> u64 {
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        self.latest_unix_millis()
            .map_or(0, |latest| latest.saturating_sub(window_ms))
    }

    /// The slots of `section_id` (all when `None`) in order of first appearance.
    fn ordered(&self, section_id: Option<&str>) -> impl Iterator<Item = &Slot> {
        let mut slots: Vec<&Slot> = self
            .slots
            .iter()
            .filter(|s| section_id.is_none_or(|id| s.key.section == id))
            .collect();
        slots.sort_unstable_by_key(|s| s.created);
        slots.into_iter()
    }

    /// The finite values of `slot` still on the timeline, with their times, oldest first.
    fn points<'a>(&'a self, slot: &'a Slot) -> impl Iterator<Item = (u64, f64)> + 'a {
        // Sample index of `times[0]`.
        let oldest = self.n_records - self.times.len() as u64;
        let skip = oldest.saturating_sub(slot.first);
        (slot.first..)
            .zip(slot.values.iter().copied())
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .filter(|(_, v)| !v.is_nan())
            .filter_map(move |(at_idx, v)| {
                let time_idx = usize::try_from(at_idx - oldest).ok()?;
                Some((*self.times.get(time_idx)?, v))
            })
    }
}

/// Figures of a series over a window: where it started and ended, its spread and its slope.
///
/// Percentiles interpolate linearly between the two nearest values (as NumPy's default and
/// Excel's `PERCENTILE.INC`). The slope is the least-squares fit of value against time.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trend {
    /// Points in the window.
    pub n_points: usize,
    /// Time of the first point, unix milliseconds.
    pub from_unix_millis: u64,
    /// Time of the last point, unix milliseconds.
    pub to_unix_millis: u64,
    /// The first value.
    pub first: f64,
    /// The last value.
    pub last: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// The mean value.
    pub mean: f64,
    /// The median.
    pub p50: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// Change a second by least squares; `None` unless the points span some time.
    pub slope_per_second: Option<f64>,
    /// For a counter, its increase a second over the window, a drop counting as a restart
    /// from zero (as Prometheus's `rate`); `None` for a gauge or a window spanning no time.
    pub rate_per_second: Option<f64>,
}

impl Trend {
    /// The figures of `series` over the last `window` before its latest point, reading it as a
    /// `kind` metric; `None` when it has no point. NaN values are left out.
    ///
    /// The points need not be in time order: they are read in time order (points at one time
    /// in the order they come), so `first` is the value of the earliest point. Points that all
    /// share one time have no slope and no rate.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cache_traits::{MetricKind, TimeSeries};
    /// use reporter::Trend;
    ///
    /// let mut hits = TimeSeries::default();
    /// hits.points = vec![(0, 0.0), (1000, 50.0), (2000, 100.0)];
    /// let trend = Trend::of(&hits, MetricKind::Counter, Duration::from_secs(60)).unwrap();
    /// assert_eq!(trend.rate_per_second, Some(50.0));
    /// ```
    pub fn of(series: &TimeSeries, kind: MetricKind, window: Duration) -> Option<Self> {
        // A copy sorted by time (stable: points at one time keep their order) only when needed.
        let sorted;
        let points: &[(u64, f64)] = if series.points.is_sorted_by_key(|p| p.0) {
            &series.points
        } else {
            let mut copy = series.points.clone();
            copy.sort_by_key(|p| p.0);
            sorted = copy;
            &sorted
        };
        let last = points.last()?.0;
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        let since = last.saturating_sub(window_ms);
        Self::compute(
            points
                .iter()
                .copied()
                .filter(|&(t, v)| t >= since && !v.is_nan()),
            kind,
        )
    }

    /// The figures of `points` (in time order, no NaN); `None` when there are none.
    fn compute(points: impl Iterator<Item = (u64, f64)>, kind: MetricKind) -> Option<Self> {
        let points: Vec<(u64, f64)> = points.collect();
        debug_assert!(points.is_sorted_by_key(|p| p.0), "points out of time order");
        let &(from, first) = points.first()?;
        let &(to, last) = points.last()?;
        let n = points.len() as f64;
        let mean = points.iter().map(|p| p.1).sum::<f64>() / n;

        let mut sorted: Vec<f64> = points.iter().map(|p| p.1).collect();
        sorted.sort_unstable_by(f64::total_cmp);
        let min = sorted[0];
        let max = sorted[sorted.len() - 1];

        // Seconds since the first point, centred on their mean for a stable fit.
        let xs: Vec<f64> = points
            .iter()
            .map(|&(t, _)| t.saturating_sub(from) as f64 / 1000.0)
            .collect();
        let mean_x = xs.iter().sum::<f64>() / n;
        let (mut sxx, mut sxy) = (0.0, 0.0);
        for (x, &(_, y)) in xs.iter().zip(&points) {
            sxx += (x - mean_x) * (x - mean_x);
            sxy += (x - mean_x) * (y - mean);
        }
        let slope_per_second = (sxx > 0.0).then(|| sxy / sxx);

        let span_seconds = to.saturating_sub(from) as f64 / 1000.0;
        let rate_per_second = (kind == MetricKind::Counter && span_seconds > 0.0).then(|| {
            let increase: f64 = points
                .windows(2)
                .map(|w| {
                    let (prev, cur) = (w[0].1, w[1].1);
                    if cur >= prev { cur - prev } else { cur }
                })
                .sum();
            increase / span_seconds
        });

        Some(Self {
            n_points: points.len(),
            from_unix_millis: from,
            to_unix_millis: to,
            first,
            last,
            min,
            max,
            mean,
            p50: percentile(&sorted, 0.50),
            p90: percentile(&sorted, 0.90),
            p99: percentile(&sorted, 0.99),
            slope_per_second,
            rate_per_second,
        })
    }
}

/// The `q` quantile of `sorted` (not empty), interpolating between the nearest ranks.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = q * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

#[cfg(test)]
mod tests;

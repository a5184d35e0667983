//! The report hub: sources, their history, and the report folder.

use std::fs;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cache_traits::{Finding, ReportSource, Section, Severity, TimeSeries};
use reporter::{History, HtmlOptions, Report, ReportKind};

/// Every report source of an application, with the history of their metrics.
///
/// Add the caches, reclaimers and the memory manager (its
/// [`report_source`](crate::MemoryManager::report_source)); call [`record`](Self::record) once
/// a tick (the manager does when it is given the hub with
/// [`MemoryManagerBuilder::reports`](crate::MemoryManagerBuilder::reports)); ask for a
/// [`report`](Self::report), or [`write`](Self::write) every format into a folder.
///
/// Clones share the hub. Its lock is taken to record and to report, never by a cache's `get`
/// or `insert`; sources are read outside it.
///
/// # Examples
///
/// ```
/// use query_cache::{Cache, ReportKind, Reports};
/// use std::sync::Arc;
///
/// let cache: Arc<Cache<u64, String>> = Arc::new(Cache::builder().name("users").max_bytes(1 << 20).build()?);
/// let reports = Reports::new("users service");
/// reports.add_source(cache.clone());
/// cache.insert(1, "ada".to_string());
/// reports.record();
/// let report = reports.report(ReportKind::Detailed);
/// assert!(report.sections.iter().any(|s| s.id == "cache.users"));
/// # Ok::<(), query_cache::BuildError>(())
/// ```
#[derive(Clone)]
pub struct Reports {
    hub: Arc<Mutex<Hub>>,
}

struct Hub {
    title: String,
    sources: Vec<Arc<dyn ReportSource>>,
    history: History,
    /// When the history was last recorded (unix ms), and the least time between records.
    last_record: Option<u64>,
    record_every: Duration,
}

/// The most points of one series a report carries: an hour at one second is cut to 720
/// (min and max of each 10-second bucket), which charts and files need no more than.
const MAX_POINTS: usize = 720;

impl std::fmt::Debug for Reports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hub = self.lock();
        f.debug_struct("Reports")
            .field("title", &hub.title)
            .field("sources", &hub.sources.len())
            .field("series", &hub.history.len())
            .finish()
    }
}

/// The files [`Reports::write`] wrote.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// The folder.
    pub dir: PathBuf,
    /// Every file, relative to the folder.
    pub files: Vec<PathBuf>,
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Reports {
    /// A hub titled `title` keeping an hour of history at one record a second.
    pub fn new(title: impl Into<String>) -> Self {
        Self::with_history(title, History::default(), Duration::from_secs(1))
    }

    /// A hub with a history of its own size, recorded at most once per `record_every` (so a
    /// ring of N samples spans N × `record_every`, however often `record` is called).
    pub fn with_history(
        title: impl Into<String>,
        history: History,
        record_every: Duration,
    ) -> Self {
        Self {
            hub: Arc::new(Mutex::new(Hub {
                title: title.into(),
                sources: Vec::new(),
                history,
                last_record: None,
                record_every,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Hub> {
        self.hub.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a source; its sections come after those of the sources added before it.
    pub fn add_source(&self, source: Arc<dyn ReportSource>) {
        self.lock().sources.push(source);
    }

    /// Every source's sections now, read outside the hub's lock. A source that panics gives a
    /// section with a finding that says so, and the others still report.
    pub fn sections(&self) -> Vec<Section> {
        let sources = self.lock().sources.clone();
        let mut sections = Vec::new();
        for (i, source) in sources.iter().enumerate() {
            match catch_unwind(AssertUnwindSafe(|| source.sections())) {
                Ok(s) => sections.extend(s),
                Err(_) => sections.push(failed_source(i)),
            }
        }
        sections
    }

    /// Records every source's metrics into the history, unless the last record is more recent
    /// than the hub's interval (one second by default).
    pub fn record(&self) {
        let now = unix_millis();
        let every = u64::try_from(self.lock().record_every.as_millis()).unwrap_or(u64::MAX);
        if self
            .lock()
            .last_record
            .is_some_and(|last| now.saturating_sub(last) < every)
        {
            return;
        }
        let sections = self.sections();
        let mut hub = self.lock();
        hub.last_record = Some(now);
        hub.history.record(now, &sections);
    }

    /// A report of `kind` now: a summary, every section in full with its history as series
    /// (detailed), or the trend figures over the last hour.
    pub fn report(&self, kind: ReportKind) -> Report {
        self.report_of(kind, self.sections())
    }

    fn report_of(&self, kind: ReportKind, sections: Vec<Section>) -> Report {
        let now = unix_millis();
        let hub = self.lock();
        let title = hub.title.clone();
        match kind {
            ReportKind::Summary => Report::summary_from_sections(title, now, sections),
            ReportKind::Trend => Report::trend_from_sections(
                title,
                now,
                sections,
                &hub.history,
                Duration::from_secs(3600),
            ),
            _ => {
                let mut report = Report::new(ReportKind::Detailed, title, now);
                for mut section in sections {
                    let history = hub.history.series_of(&section.id);
                    section.series.extend(history.into_iter().map(thin));
                    report.sections.push(section);
                }
                drop(hub);
                if let Some(overview) = overview(&report.sections) {
                    report.sections.insert(0, overview);
                }
                report
            }
        }
    }

    /// Writes the detailed report into `dir` as `report.html`, `report.json`, `report.txt`,
    /// `metrics.prom` and one CSV file per table and series under `csv/`, each replaced
    /// atomically (written beside under a name of its own, then renamed), so a reader never
    /// sees half a file; CSV files in `csv/` that this report did not write (a cache that is
    /// gone) are removed.
    /// `refresh_seconds` makes the HTML page reload itself, for a dashboard.
    ///
    /// # Errors
    ///
    /// When the folder cannot be made or a file cannot be written.
    pub fn write(&self, dir: &Path, refresh_seconds: Option<u32>) -> io::Result<Written> {
        let report = self.report(ReportKind::Detailed);
        write_report(&report, dir, refresh_seconds)
    }

    /// Writes only `report.html` and `report.json` into `dir`, atomically: the dashboard's
    /// files, cheap enough for every few seconds.
    ///
    /// # Errors
    ///
    /// When the folder cannot be made or a file cannot be written.
    pub fn write_dashboard(&self, dir: &Path, refresh_seconds: u32) -> io::Result<Written> {
        let report = self.report(ReportKind::Detailed);
        fs::create_dir_all(dir)?;
        let mut options = HtmlOptions::default();
        options.refresh_seconds = Some(refresh_seconds);
        let files = vec![
            replace(
                dir,
                "report.html",
                reporter::to_html(&report, &options).as_bytes(),
            )?,
            replace(
                dir,
                "report.json",
                reporter::to_json_compact(&report).as_bytes(),
            )?,
        ];
        Ok(Written {
            dir: dir.to_path_buf(),
            files,
        })
    }
}

/// A section in place of a source whose `sections` panicked.
fn failed_source(index: usize) -> Section {
    let mut section = Section::new(format!("source.{index}"), format!("Report source {index}"));
    section.findings.push(
        Finding::new(
            Severity::Warning,
            "QC-SOURCE-PANICKED",
            format!("Report source {index} panicked while reporting"),
            "Fix the source's `sections`; the other sources still report",
        )
        .evidence("source_index", index),
    );
    section
}

/// `series` cut to at most [`MAX_POINTS`]: the lowest and highest point of each bucket, in
/// time order, so spikes survive.
fn thin(mut series: TimeSeries) -> TimeSeries {
    let n = series.points.len();
    if n <= MAX_POINTS {
        return series;
    }
    let per_bucket = n.div_ceil(MAX_POINTS / 2);
    let mut out = Vec::with_capacity(MAX_POINTS);
    for bucket in series.points.chunks(per_bucket) {
        let lo = bucket.iter().min_by(|a, b| a.1.total_cmp(&b.1));
        let hi = bucket.iter().max_by(|a, b| a.1.total_cmp(&b.1));
        if let (Some(&lo), Some(&hi)) = (lo, hi) {
            if lo.0 == hi.0 {
                out.push(lo);
            } else if lo.0 < hi.0 {
                out.extend([lo, hi]);
            } else {
                out.extend([hi, lo]);
            }
        }
    }
    series.points = out;
    series
}

/// The first section of a detailed report: the charts an operator looks at first, taken from
/// the other sections' history. The process's resident set beside its limit, each cache's
/// bytes, the pressure level with the manager's events on its timeline, and each cache's hit
/// ratio over the last interval (from its hit and miss counters, not since it was built).
fn overview(sections: &[Section]) -> Option<Section> {
    let mut overview = Section::new("overview", "Overview");
    let wanted = [
        "used_memory_rss",
        "memory_limit",
        "used_memory",
        "pressure_level",
    ];
    for section in sections {
        for series in &section.series {
            if wanted.contains(&series.name.as_str()) {
                overview.series.push(series.clone());
            }
        }
        let counter = |name: &str| section.series.iter().find(|s| s.name == name);
        if let (Some(hits), Some(misses)) = (counter("keyspace_hits"), counter("keyspace_misses")) {
            let mut ratio = hits.clone();
            ratio.name = "hit_ratio_recent".to_owned();
            ratio.title = "Hit ratio over each interval".to_owned();
            ratio.unit = Some(cache_traits::Unit::Ratio);
            ratio.points = recent_ratio(&hits.points, &misses.points);
            overview.series.push(ratio);
        }
        if section.id == "pressure" {
            overview.events.extend(section.events.iter().cloned());
        }
    }
    (!overview.series.is_empty()).then_some(overview)
}

/// `Δhits / (Δhits + Δmisses)` between consecutive points taken at the same times; an
/// interval without lookups is left out.
fn recent_ratio(hits: &[(u64, f64)], misses: &[(u64, f64)]) -> Vec<(u64, f64)> {
    let mut out = Vec::new();
    // Both come from one history, so their times are mostly the same: merge them in order.
    let mut pairs = Vec::with_capacity(hits.len());
    let mut m = misses.iter().peekable();
    for &(t, h) in hits {
        while m.next_if(|&&(tm, _)| tm < t).is_some() {}
        if let Some(&&(tm, miss)) = m.peek()
            && tm == t
        {
            pairs.push((t, h, miss));
        }
    }
    for w in pairs.windows(2) {
        let (dh, dm) = (w[1].1 - w[0].1, w[1].2 - w[0].2);
        if dh >= 0.0 && dm >= 0.0 && dh + dm > 0.0 {
            out.push((w[1].0, dh / (dh + dm)));
        }
    }
    out
}

/// Writes every format of `report` into `dir` (see [`Reports::write`]).
///
/// # Errors
///
/// When the folder cannot be made or a file cannot be written.
pub fn write_report(
    report: &Report,
    dir: &Path,
    refresh_seconds: Option<u32>,
) -> io::Result<Written> {
    fs::create_dir_all(dir.join("csv"))?;
    let mut options = HtmlOptions::default();
    options.refresh_seconds = refresh_seconds;
    let mut files = vec![
        replace(
            dir,
            "report.html",
            reporter::to_html(report, &options).as_bytes(),
        )?,
        replace(
            dir,
            "report.json",
            reporter::to_json_compact(report).as_bytes(),
        )?,
        replace(dir, "report.txt", reporter::to_text(report).as_bytes())?,
        replace(
            dir,
            "metrics.prom",
            reporter::to_prometheus(report).as_bytes(),
        )?,
    ];
    let mut written = Vec::new();
    for (name, content) in reporter::to_csv_files(report) {
        written.push(replace(&dir.join("csv"), &name, content.as_bytes())?);
    }
    // Files of tables and series that are gone (a cache removed) go too.
    if let Ok(entries) = fs::read_dir(dir.join("csv")) {
        for entry in entries.flatten() {
            let name = PathBuf::from(entry.file_name());
            if name.extension().is_some_and(|e| e == "csv") && !written.contains(&name) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    files.extend(written.into_iter().map(|f| Path::new("csv").join(f)));
    Ok(Written {
        dir: dir.to_path_buf(),
        files,
    })
}

/// Writes `name` in `dir` by writing a temporary file beside it and renaming it over the old.
/// The temporary name is this process's and this call's own, so two writers into one folder
/// (a dashboard and a final write) never share one; it is removed when anything fails.
fn replace(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        io::Write::write_all(&mut file, bytes)?;
        fs::rename(&tmp, dir.join(name))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.map(|()| PathBuf::from(name))
}

#[cfg(test)]
mod tests;

//! Load call sites (feature `backtraces`): one load in `backtrace_period` captures a
//! backtrace, reduced to the first frame outside the cache, the profiler and the standard
//! library, and the profiler adds up the loads and bytes of each such call site.

use std::backtrace::Backtrace;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::profiler::lock;

#[cfg(test)]
mod tests;

/// Distinct call sites kept; loads from further ones count under `"other"`.
const MAX_SITES: usize = 256;

/// Call sites this deep in one thread's stack of unfinished loads are forgotten (loads whose
/// `loaded` never came, because the loader panicked).
const MAX_PENDING: usize = 32;

/// Frames of these crates are not call sites.
const SKIPPED: &[&str] = &[
    "std::",
    "core::",
    "alloc::",
    "backtrace::",
    "profiler::",
    "cache_core::",
    "cache_traits::",
    "query_cache::",
    "rust_begin_unwind",
    "__rust",
    "_start",
    "__libc",
];

thread_local! {
    /// Loads started on this thread and not finished: (profiler id, call site if captured).
    static PENDING: RefCell<Vec<(usize, Option<String>)>> = const { RefCell::new(Vec::new()) };
}

/// What the loads from one call site added up to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SiteTotals {
    pub(crate) loads: u64,
    pub(crate) charged: u64,
    pub(crate) measured_loads: u64,
    pub(crate) allocated: u64,
}

/// The call sites of sampled loads.
pub(crate) struct CallSites {
    period: u64,
    started: AtomicU64,
    sites: Mutex<HashMap<String, SiteTotals>>,
}

impl CallSites {
    pub(crate) fn new(period: u32) -> Self {
        Self {
            period: u64::from(period.max(1)),
            started: AtomicU64::new(0),
            sites: Mutex::new(HashMap::new()),
        }
    }

    /// A load starts on this thread for profiler `id`: captures its call site if its turn.
    pub(crate) fn load_started(&self, id: usize) {
        let n = self.started.fetch_add(1, Ordering::Relaxed);
        let site = (n % self.period == 0)
            .then(|| call_site(&Backtrace::force_capture().to_string(), SKIPPED));
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() >= MAX_PENDING {
                p.remove(0);
            }
            p.push((id, site));
        });
    }

    /// The load last started on this thread for profiler `id` finished.
    pub(crate) fn loaded(&self, id: usize, weight: Option<u64>, allocated: Option<u64>) {
        let site = PENDING.with(|p| {
            let mut p = p.borrow_mut();
            let i = p.iter().rposition(|(owner, _)| *owner == id)?;
            p.remove(i).1
        });
        let Some(site) = site else { return };
        let mut sites = lock(&self.sites);
        let key = if sites.len() < MAX_SITES || sites.contains_key(&site) {
            site
        } else {
            "other".to_owned()
        };
        let t = sites.entry(key).or_default();
        t.loads += 1;
        t.charged = t.charged.saturating_add(weight.unwrap_or(0));
        if let Some(a) = allocated {
            t.measured_loads += 1;
            t.allocated = t.allocated.saturating_add(a);
        }
    }

    /// The `n` call sites that loaded the most bytes (allocated where measured, else
    /// charged), most first.
    pub(crate) fn top(&self, n: usize) -> Vec<(String, SiteTotals)> {
        let mut all: Vec<_> = lock(&self.sites)
            .iter()
            .map(|(s, t)| (s.clone(), t.clone()))
            .collect();
        all.sort_by(|a, b| {
            let bytes = |t: &SiteTotals| t.allocated.max(t.charged);
            bytes(&b.1).cmp(&bytes(&a.1)).then_with(|| a.0.cmp(&b.0))
        });
        all.truncate(n);
        all
    }
}

/// The first frame of a rendered backtrace whose function is not in a `skipped` crate, as
/// `function at file:line`; `"unknown"` when there is none.
pub(crate) fn call_site(backtrace: &str, skipped: &[&str]) -> String {
    let mut lines = backtrace.lines().map(str::trim).peekable();
    while let Some(line) = lines.next() {
        let Some((index, function)) = line.split_once(": ") else {
            continue;
        };
        if index.parse::<u32>().is_err() {
            continue;
        }
        let function = strip_hash(function.trim());
        if function.is_empty() || is_skipped(function, skipped) {
            continue;
        }
        return match lines.peek().and_then(|l| l.strip_prefix("at ")) {
            Some(at) => format!("{function} at {at}"),
            None => function.to_owned(),
        };
    }
    "unknown".to_owned()
}

/// Whether `function` belongs to a skipped crate: its path does, or for a trait method
/// `<Type as Trait>::f`, the type does or the trait is the standard library's (closures and
/// function pointers called through `FnOnce`).
fn is_skipped(function: &str, skipped: &[&str]) -> bool {
    let in_skipped = |path: &str| skipped.iter().any(|s| path.starts_with(s));
    let Some(qualified) = function.strip_prefix('<') else {
        return in_skipped(function);
    };
    let Some((ty, rest)) = qualified.split_once(" as ") else {
        return in_skipped(qualified);
    };
    let std_trait = ["std::", "core::", "alloc::"]
        .iter()
        .any(|s| rest.starts_with(s));
    in_skipped(ty) || std_trait
}

/// `function` without a trailing `::h0123456789abcdef` symbol hash.
fn strip_hash(function: &str) -> &str {
    match function.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head
        }
        _ => function,
    }
}

//! A deterministic suite of generated timelines, healthy and leaking, on virtual time (one
//! sample a second), and the detector's score on it.
//!
//! The scale is a service with about 1 GiB of heap: 256 MiB outside the caches and 768 MiB
//! charged by them. Noise is Gaussian, as a fraction of the heap; leaks start after a healthy
//! prefix of 600 samples.

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use crate::alert::{AlertChange, AlertKind};
use crate::config::{Config, ConfigError};
use crate::detector::LeakDetector;
use crate::observation::{CacheFigures, Observation};

const MIB: f64 = 1_048_576.0;
/// The bytes outside the caches.
const REST: f64 = 256.0 * MIB;
/// The caches' budget.
const CAP: f64 = 768.0 * MIB;
/// The heap at steady state.
const HEAP: f64 = REST + CAP;
/// Where leaks start.
const PREFIX: usize = 600;
/// Bytes the weigher does not charge, as a share of the cache (allocator rounding).
const UNCHARGED: f64 = 0.003;

/// One generated timeline.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct Scenario {
    /// A stable snake_case name.
    pub name: String,
    /// What it shows, in one line.
    pub description: String,
    /// Whether an alert is expected.
    pub expected_leak: bool,
    /// The index of the first leaking sample.
    pub leak_starts_at: Option<usize>,
    /// The most samples from the leak's start to the first alert (growth of 1 %/min or more).
    pub delay_target_samples: Option<u64>,
    /// The timeline.
    pub observations: Vec<Observation>,
}

/// The detector's result on one [`Scenario`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct SuiteResult {
    /// The scenario's name.
    pub scenario: String,
    /// Whether an alert was expected.
    pub expected_leak: bool,
    /// Whether any alert opened.
    pub alerted: bool,
    /// Samples from the leak's start to the first alert opened at or after it.
    pub delay_samples: Option<u64>,
    /// The scenario's target for that delay.
    pub delay_target_samples: Option<u64>,
    /// Alerts opened before the leak started (all of them for a healthy scenario).
    pub false_alerts: usize,
    /// The kinds of the alerts opened, sorted.
    pub kinds: Vec<AlertKind>,
}

impl SuiteResult {
    /// Whether the detector did what the scenario expects: no alert on a healthy timeline;
    /// on a leak, an alert after and none before its start, within the delay target.
    pub fn passed(&self) -> bool {
        if !self.expected_leak {
            return !self.alerted;
        }
        let in_time = match (self.delay_samples, self.delay_target_samples) {
            (Some(d), Some(target)) => d <= target,
            (Some(_), None) => true,
            (None, _) => false,
        };
        self.false_alerts == 0 && in_time
    }
}

/// Runs the detector with `config` over every scenario of [`scenarios`].
///
/// # Errors
///
/// The [`ConfigError`] of an invalid configuration.
pub fn run_suite(config: &Config) -> Result<Vec<SuiteResult>, ConfigError> {
    scenarios()
        .into_iter()
        .map(|s| run_scenario(config, s))
        .collect()
}

/// Runs the detector with `config` over one scenario.
///
/// # Errors
///
/// The [`ConfigError`] of an invalid configuration.
pub fn run_scenario(config: &Config, scenario: Scenario) -> Result<SuiteResult, ConfigError> {
    let detector = LeakDetector::new(config.clone())?;
    let start = scenario.leak_starts_at.unwrap_or(usize::MAX);
    let mut first_after: Option<usize> = None;
    let mut false_alerts = 0;
    for (i, obs) in scenario.observations.into_iter().enumerate() {
        for change in detector.observe(obs) {
            if let AlertChange::Opened(_) = change {
                if i < start {
                    false_alerts += 1;
                } else if first_after.is_none() {
                    first_after = Some(i);
                }
            }
        }
    }
    // The alerts' kinds as they ended (a growth alert may have become retention).
    let kinds: BTreeSet<AlertKind> = detector.alerts().iter().map(|a| a.kind).collect();
    let delay_samples = scenario
        .leak_starts_at
        .zip(first_after)
        .map(|(s, f)| (f - s) as u64);
    Ok(SuiteResult {
        scenario: scenario.name,
        expected_leak: scenario.expected_leak,
        alerted: !kinds.is_empty(),
        delay_samples,
        delay_target_samples: scenario.delay_target_samples,
        false_alerts,
        kinds: kinds.into_iter().collect(),
    })
}

/// SplitMix64: a tiny deterministic generator.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.unit(), self.unit());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// One sample of a scenario before noise: what the caches charge, what the rest of the process
/// holds, the cumulative evicted bytes and the per-cache detail.
#[derive(Default)]
struct Point {
    cache: f64,
    rest: f64,
    evicted: f64,
    detail: Option<CacheFigures>,
}

/// `n` observations from `f`; the heap is `cache + rest` plus Gaussian noise of `noise` of the
/// heap, the resident set 8 % above it.
fn timeline(
    n: usize,
    seed: u64,
    noise: f64,
    mut f: impl FnMut(usize, &mut Rng) -> Point,
) -> Vec<Observation> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let p = f(i, &mut rng);
            let clean = p.cache + p.rest;
            let heap = (clean * (1.0 + noise * rng.normal())).max(0.0);
            let mut obs = Observation::at(i as f64)
                .heap_bytes(heap as u64)
                .resident_bytes((heap * 1.08) as u64)
                .cache_bytes(p.cache as u64)
                .evicted_bytes_total(p.evicted as u64);
            if let Some(d) = p.detail {
                obs = obs.cache(d);
            }
            obs
        })
        .collect()
}

/// A full cache with steady churn: `churn` bytes a second evicted, the level wobbling by a few
/// MiB; the rest of the process at `REST`.
fn steady(i: usize, rng: &mut Rng, churn: f64) -> Point {
    let cache = CAP - 4.0 * MIB * rng.unit();
    Point {
        cache,
        rest: REST + UNCHARGED * cache,
        evicted: churn * i as f64,
        detail: None,
    }
}

fn healthy(name: &str, description: &str, observations: Vec<Observation>) -> Scenario {
    Scenario {
        name: name.to_owned(),
        description: description.to_owned(),
        expected_leak: false,
        leak_starts_at: None,
        delay_target_samples: None,
        observations,
    }
}

fn leak(
    name: &str,
    description: &str,
    target: Option<u64>,
    observations: Vec<Observation>,
) -> Scenario {
    Scenario {
        name: name.to_owned(),
        description: description.to_owned(),
        expected_leak: true,
        leak_starts_at: Some(PREFIX),
        delay_target_samples: target,
        observations,
    }
}

/// A gradual leak of `rate` bytes a second from `PREFIX` on, over a steady cache.
fn growth(n: usize, seed: u64, noise: f64, rate: f64) -> Vec<Observation> {
    timeline(n, seed, noise, |i, rng| {
        let mut p = steady(i, rng, MIB);
        p.rest += rate * i.saturating_sub(PREFIX) as f64;
        p
    })
}

/// The sawtooth: the cache fills from 60 % to 100 % over 240 s, holds 60 s, then an
/// invalidation drops it back to 60 % (the heap frees it 2 s later).
fn sawtooth(i: usize, evicted: &mut f64, last_cache: &mut f64) -> Point {
    let phase = i % 300;
    let low = 0.6 * CAP;
    let cache = if phase < 240 {
        low + (CAP - low) * phase as f64 / 240.0
    } else {
        CAP
    };
    let mut lag = 0.0;
    if cache < *last_cache {
        *evicted += *last_cache - cache;
    }
    if phase < 2 && i >= 300 {
        lag = CAP - low;
    }
    *last_cache = cache;
    *evicted += 0.5 * MIB;
    Point {
        cache,
        rest: REST + UNCHARGED * cache + lag,
        evicted: *evicted,
        detail: None,
    }
}

/// Every scenario, healthy ones first.
pub fn scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    let per_minute = |fraction: f64| fraction * HEAP / 60.0;

    out.push(healthy(
        "steady_quiet",
        "a full cache with churn, 0.05 % noise",
        timeline(3600, 1, 0.0005, |i, rng| steady(i, rng, MIB)),
    ));
    out.push(healthy(
        "steady_noisy",
        "a full cache with churn, 0.2 % noise",
        timeline(3600, 2, 0.002, |i, rng| steady(i, rng, MIB)),
    ));
    out.push(healthy(
        "warm_up",
        "the process starts (20 MiB in its first 20 s) and the cache fills from empty; the rest \
         grows with the cache (40 MiB of per-entry memory the weigher does not charge)",
        timeline(2400, 3, 0.001, |i, _| {
            let cache = CAP * (1.0 - (-(i as f64) / 150.0).exp());
            let startup = 20.0 * MIB * (i.min(20) as f64 / 20.0);
            Point {
                cache,
                rest: 196.0 * MIB + startup + 40.0 * MIB * cache / CAP + UNCHARGED * cache,
                evicted: 0.0,
                detail: None,
            }
        }),
    ));
    let (mut evicted, mut last) = (0.0, 0.0);
    out.push(healthy(
        "sawtooth",
        "fill to the budget, invalidate 40 %, refill, every 5 minutes",
        timeline(3600, 4, 0.001, move |i, _| {
            sawtooth(i, &mut evicted, &mut last)
        }),
    ));
    out.push(healthy(
        "periodic_bursts",
        "request bursts: +80 MiB for 3 s every minute",
        timeline(3600, 5, 0.001, |i, rng| {
            let mut p = steady(i, rng, MIB);
            if i % 60 < 3 {
                p.rest += 80.0 * MIB;
            }
            p
        }),
    ));
    out.push(healthy(
        "resize_double",
        "the budget doubles at 900 s; the cache and the heap grow together",
        timeline(3000, 6, 0.001, |i, _| {
            let f = (i.saturating_sub(900) as f64 / 300.0).min(1.0);
            let cache = CAP * (0.5 + 0.5 * f);
            Point {
                cache,
                rest: REST + UNCHARGED * cache,
                evicted: MIB * i as f64,
                detail: None,
            }
        }),
    ));
    out.push(healthy(
        "resize_halve",
        "the budget halves at 900 s; the heap frees it over 3 s",
        timeline(3000, 7, 0.001, |i, _| {
            let cache = if i < 900 { CAP } else { CAP / 2.0 };
            let lag = match i {
                900..=902 => CAP / 2.0 * (903 - i) as f64 / 3.0,
                _ => 0.0,
            };
            let dropped = if i < 900 { 0.0 } else { CAP / 2.0 };
            Point {
                cache,
                rest: REST + UNCHARGED * cache + lag,
                evicted: MIB * i as f64 + dropped,
                detail: None,
            }
        }),
    ));
    out.push(healthy(
        "workload_shift",
        "at 1500 s churn quadruples, the cache settles at 90 % and the rest steps up 15 MiB",
        timeline(3600, 8, 0.001, |i, rng| {
            if i < 1500 {
                return steady(i, rng, MIB);
            }
            let cache = 0.9 * CAP - 4.0 * MIB * rng.unit();
            Point {
                cache,
                rest: REST + 15.0 * MIB + UNCHARGED * cache,
                evicted: MIB * 1500.0 + 4.0 * MIB * (i - 1500) as f64,
                detail: None,
            }
        }),
    ));
    out.push(healthy(
        "long_healthy",
        "four hours, 0.1 % noise, the rest wandering ±5 MiB over 30 minutes, per-cache detail",
        timeline(14_400, 9, 0.001, |i, rng| {
            let mut p = steady(i, rng, MIB);
            p.rest += 5.0 * MIB * (std::f64::consts::TAU * i as f64 / 1800.0).sin();
            p.detail = Some(
                CacheFigures::new("results", p.cache as u64)
                    .budget_bytes(CAP as u64)
                    .real_bytes((p.cache * 1.05) as u64)
                    .unread_bytes((p.cache * 0.2) as u64),
            );
            p
        }),
    ));

    out.push(leak(
        "growth_0.5pct_min",
        "0.5 % of the heap a minute, 0.05 % noise",
        None,
        growth(PREFIX + 1800, 11, 0.0005, per_minute(0.005)),
    ));
    out.push(leak(
        "growth_1pct_min_quiet",
        "1 % of the heap a minute, 0.05 % noise",
        Some(30),
        growth(PREFIX + 900, 12, 0.0005, per_minute(0.01)),
    ));
    out.push(leak(
        "growth_1pct_min_noisy",
        "1 % of the heap a minute, 0.1 % noise",
        Some(30),
        growth(PREFIX + 900, 13, 0.001, per_minute(0.01)),
    ));
    out.push(leak(
        "growth_5pct_min",
        "5 % of the heap a minute, 0.2 % noise",
        Some(30),
        growth(PREFIX + 600, 14, 0.002, per_minute(0.05)),
    ));
    out.push(leak(
        "growth_1mib_s",
        "1 MiB a second (about 6 % of the heap a minute), 0.1 % noise",
        Some(30),
        growth(PREFIX + 600, 15, 0.001, MIB),
    ));
    let (mut evicted, mut last) = (0.0, 0.0);
    out.push(leak(
        "growth_1pct_min_sawtooth",
        "1 % of the heap a minute under the sawtooth",
        Some(30),
        timeline(PREFIX + 900, 16, 0.001, move |i, _| {
            let mut p = sawtooth(i, &mut evicted, &mut last);
            p.rest += per_minute(0.01) * i.saturating_sub(PREFIX) as f64;
            p
        }),
    ));
    out.push(leak(
        "spike_stays",
        "the rest jumps by 200 MiB and stays",
        None,
        timeline(PREFIX + 900, 17, 0.001, |i, rng| {
            let mut p = steady(i, rng, MIB);
            if i >= PREFIX {
                p.rest += 200.0 * MIB;
            }
            p
        }),
    ));
    out.push(leak(
        "retention",
        "a full cache evicts in waves (1 MiB/s for 20 s, 20 s none); 80 % stays alive (outside Arc clones)",
        None,
        timeline(PREFIX + 900, 18, 0.001, |i, rng| {
            // Evictions come in waves: 1 MiB/s for 20 s, then none for 20 s.
            let evicted_by = |i: usize| MIB * ((i / 40) * 20 + (i % 40).min(20)) as f64;
            let mut p = steady(i, rng, 0.0);
            p.evicted = evicted_by(i);
            p.rest += 0.8 * (evicted_by(i) - evicted_by(PREFIX.min(i)));
            p
        }),
    ));
    out.push(leak(
        "over_budget",
        "the values' real size climbs to 1.7 times the budget over 2 minutes (weigher under-counts)",
        None,
        timeline(PREFIX + 900, 19, 0.001, |i, rng| {
            let mut p = steady(i, rng, MIB);
            let ratio = 1.0 + 0.7 * (i.saturating_sub(PREFIX) as f64 / 120.0).min(1.0);
            let real = p.cache * ratio;
            p.rest += real - p.cache;
            p.detail = Some(
                CacheFigures::new("results", p.cache as u64)
                    .budget_bytes(CAP as u64)
                    .real_bytes(real as u64),
            );
            p
        }),
    ));
    out.push(leak(
        "unread_retention",
        "85 % of a full cache's bytes never read, for good",
        None,
        timeline(PREFIX + 1200, 20, 0.001, |i, rng| {
            let mut p = steady(i, rng, MIB);
            let share = if i < PREFIX { 0.2 } else { 0.85 };
            p.detail = Some(
                CacheFigures::new("results", p.cache as u64)
                    .budget_bytes(CAP as u64)
                    .real_bytes(p.cache as u64)
                    .unread_bytes((p.cache * share) as u64),
            );
            p
        }),
    ));
    out
}

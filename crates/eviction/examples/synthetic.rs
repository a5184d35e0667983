//! Synthetic workloads beside the real traces: every policy on Zipf, shifting, scan, recency and
//! byte-weighted request streams (`cargo run --release -p eviction --example synthetic`).

use eviction::sim::{Belady, SimResult, simulate};
use eviction::trace::Trace;
use eviction::{ArcPolicy, ClockTinyLfu, Hybrid, Lfu, Lru, S3Fifo, Sieve};

/// A deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The cumulative distribution of a Zipf law of exponent `s` over `n` keys.
fn zipf(n: usize, s: f64) -> Vec<f64> {
    let mut cdf = Vec::with_capacity(n);
    let mut acc = 0.0;
    for rank in 1..=n {
        acc += 1.0 / (rank as f64).powf(s);
        cdf.push(acc);
    }
    cdf.iter_mut().for_each(|x| *x /= acc);
    cdf
}

fn draw(cdf: &[f64], rng: &mut Rng) -> u64 {
    let u = rng.unit();
    cdf.partition_point(|&x| x < u) as u64
}

/// Prints one markdown row: every policy at `capacity`, then the default (`clock-tinylfu`) minus
/// the best classic policy (all but our two adaptive ones and OPT).
fn row(name: &str, trace: &Trace, capacity: u64) {
    let results: [(&str, SimResult); 9] = [
        ("lru", simulate(trace, &mut Lru::new(), capacity)),
        ("lfu", simulate(trace, &mut Lfu::new(), capacity)),
        ("s3fifo", simulate(trace, &mut S3Fifo::new(), capacity)),
        ("sieve", simulate(trace, &mut Sieve::new(), capacity)),
        ("arc", simulate(trace, &mut ArcPolicy::new(), capacity)),
        (
            "w-tinylfu 1%",
            simulate(trace, &mut Hybrid::with_static_window(0.01), capacity),
        ),
        ("hybrid", simulate(trace, &mut Hybrid::new(), capacity)),
        (
            "default",
            simulate(trace, &mut ClockTinyLfu::new(), capacity),
        ),
        ("opt", Belady::new(trace).simulate(capacity)),
    ];
    let mut line = format!("| {name} | {capacity} |");
    let mut best_classic = 0.0f64;
    let mut default = 0.0;
    for (policy, r) in &results {
        line += &format!(" {:.2} |", r.hit_ratio());
        match *policy {
            "default" => default = r.hit_ratio(),
            "hybrid" | "opt" => {}
            _ => best_classic = best_classic.max(r.hit_ratio()),
        }
    }
    line += &format!(" {:+.2} |", default - best_classic);
    println!("{line}");
}

fn main() {
    println!(
        "| workload | size | lru | lfu | s3fifo | sieve | arc | w-tinylfu 1% | hybrid | default | \
         opt | default − best classic |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let n = 1_000_000;
    for s in [0.6, 0.8, 1.0, 1.2] {
        let cdf = zipf(100_000, s);
        let trace = Trace::from_keys((0..n).map(|_| draw(&cdf, &mut rng)).collect());
        for capacity in [1000, 10_000] {
            row(&format!("zipf {s}"), &trace, capacity);
        }
    }
    // A key universe a hundred times the larger cache, where the sketch's collision noise is
    // highest.
    let cdf = zipf(1_000_000, 0.8);
    let trace = Trace::from_keys((0..n).map(|_| draw(&cdf, &mut rng)).collect());
    for capacity in [10_000, 50_000] {
        row("zipf 0.8, 10^6 keys", &trace, capacity);
    }
    // Zipf 0.9 over a key space replaced every 100 000 requests.
    let cdf = zipf(100_000, 0.9);
    let keys = (0..n)
        .map(|i| draw(&cdf, &mut rng) + (i as u64 / 100_000) * 1_000_000)
        .collect();
    let trace = Trace::from_keys(keys);
    for capacity in [1000, 10_000] {
        row("zipf 0.9, shifting", &trace, capacity);
    }
    // Zipf 0.9 with a one-time scan of cold keys for 20 % of the time.
    let mut cold = 10_000_000u64;
    let keys = (0..n)
        .map(|i| {
            if (i / 20_000) % 5 == 4 {
                cold += 1;
                cold
            } else {
                draw(&cdf, &mut rng)
            }
        })
        .collect();
    let trace = Trace::from_keys(keys);
    for capacity in [1000, 10_000] {
        row("zipf 0.9 + scans", &trace, capacity);
    }
    // A feed: 30 % new keys, the rest re-reads of recent keys biased to the newest.
    let mut keys = Vec::with_capacity(n);
    let mut recent: std::collections::VecDeque<u64> = std::collections::VecDeque::new();
    let mut next = 0u64;
    for _ in 0..n {
        if recent.is_empty() || rng.unit() < 0.3 {
            keys.push(next);
            recent.push_back(next);
            next += 1;
            if recent.len() > 5000 {
                recent.pop_front();
            }
        } else {
            let back = (rng.unit().powi(3) * recent.len() as f64) as usize;
            keys.push(recent[recent.len() - 1 - back.min(recent.len() - 1)]);
        }
    }
    let trace = Trace::from_keys(keys);
    for capacity in [500, 2000] {
        row("recency feed", &trace, capacity);
    }
    // Zipf 0.9 with sizes of 1..1024 bytes; capacity in bytes.
    let keys: Vec<u64> = (0..n).map(|_| draw(&cdf, &mut rng)).collect();
    let sizes = keys
        .iter()
        .map(|&k| 1 + (k.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as u32)
        .collect();
    let trace = Trace::with_sizes(keys, sizes);
    for capacity in [100_000, 1_000_000] {
        row("zipf 0.9, bytes", &trace, capacity);
    }
}

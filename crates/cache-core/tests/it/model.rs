//! Single-threaded semantics against a reference model: a `HashMap` with deadlines that learns
//! of evictions only through the listener.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cache_core::Cache;
use cache_traits::{ManualClock, RemovalCause};
use eviction::Lru;

use crate::Rng;

type Log = Arc<Mutex<Vec<(u64, u64, RemovalCause)>>>;

struct Model {
    map: HashMap<u64, (u64, u64)>, // key -> (value, deadline)
    now: u64,
}

impl Model {
    /// Applies what the listener reported; every report must match the model.
    fn absorb(&mut self, log: &Log) {
        for (k, v, cause) in log.lock().unwrap().drain(..) {
            match cause {
                RemovalCause::Replaced => {}
                RemovalCause::Size | RemovalCause::Expired | RemovalCause::Explicit => {
                    let (mv, deadline) = self
                        .map
                        .remove(&k)
                        .unwrap_or_else(|| panic!("{k} left ({cause}) but the model lacks it"));
                    assert_eq!(mv, v, "{k} left with a value the model did not hold");
                    if cause == RemovalCause::Expired {
                        assert!(deadline <= self.now, "{k} expired early");
                    }
                }
                other => panic!("unexpected cause {other}"),
            }
        }
    }
}

#[test]
fn random_operations_agree_with_a_reference_model() {
    for seed in 0..4 {
        run(seed);
    }
}

fn run(seed: u64) {
    let clock = Arc::new(ManualClock::new());
    let log: Log = Arc::default();
    let sink = Arc::clone(&log);
    let ttl = Duration::from_secs(100);
    let cache: Cache<u64, u64, Lru> = Cache::builder()
        .max_entries(64)
        .shards(2)
        .time_to_live(ttl)
        .clock(clock.clone())
        .eviction_listener(move |k: &u64, v: &u64, c| sink.lock().unwrap().push((*k, *v, c)))
        .build()
        .unwrap();
    let model = Rc::new(RefCell::new(Model {
        map: HashMap::new(),
        now: 0,
    }));
    let mut rng = Rng::new(seed);
    let ttl_ns = ttl.as_nanos() as u64;
    for step in 0..20_000 {
        let key = rng.below(200);
        let now = {
            use cache_traits::Clock;
            clock.now_nanos()
        };
        model.borrow_mut().now = now;
        match rng.below(100) {
            0..=39 => {
                let got = cache.get(&key);
                model.borrow_mut().absorb(&log);
                let m = model.borrow();
                let expect = m.map.get(&key).filter(|(_, d)| *d > now).map(|(v, _)| *v);
                assert_eq!(got, expect, "seed {seed} step {step}: get {key}");
            }
            40..=69 => {
                let v = rng.next_u64();
                cache.insert(key, v);
                let mut m = model.borrow_mut();
                m.absorb(&log);
                m.map.insert(key, (v, now + ttl_ns));
            }
            70..=74 => {
                let v = rng.next_u64();
                let per_entry = Duration::from_secs(1 + rng.below(200));
                cache.insert_with_ttl(key, v, per_entry);
                let mut m = model.borrow_mut();
                m.absorb(&log);
                m.map.insert(key, (v, now + per_entry.as_nanos() as u64));
            }
            75..=84 => {
                let got = cache.remove(&key);
                let mut m = model.borrow_mut();
                let expect = m.map.get(&key).filter(|(_, d)| *d > now).map(|(v, _)| *v);
                m.absorb(&log);
                assert_eq!(got, expect, "seed {seed} step {step}: remove {key}");
            }
            85..=92 => {
                let fresh = rng.next_u64();
                let got = cache.get_or_insert_with(key, || fresh).unwrap();
                let mut m = model.borrow_mut();
                let before = m.map.get(&key).filter(|(_, d)| *d > now).map(|(v, _)| *v);
                m.absorb(&log);
                match before {
                    Some(v) => {
                        assert_eq!(got, v, "seed {seed} step {step}: loaded over a live value")
                    }
                    None => {
                        assert_eq!(got, fresh);
                        m.map.insert(key, (fresh, now + ttl_ns));
                    }
                }
            }
            93..=96 => clock.advance(Duration::from_secs(rng.below(30))),
            97 => {
                cache.run_maintenance();
                model.borrow_mut().absorb(&log);
            }
            _ => {
                let keep_odd = rng.below(2) == 0;
                cache.retain(|k, _| (k % 2 == 1) == keep_odd);
                model.borrow_mut().absorb(&log);
            }
        }
        let m = model.borrow();
        assert_eq!(
            cache.entry_count(),
            m.map.len() as u64,
            "seed {seed} step {step}: entry count"
        );
        assert!(cache.entry_count() <= 64);
    }
}

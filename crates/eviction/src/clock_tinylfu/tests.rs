//! Tests of CLOCK-TinyLFU: scan resistance, loops, the `is_referenced` contract, weights, clear.

use super::ClockTinyLfu;
use crate::testing::MiniCache;
use cache_traits::EvictionPolicy;

#[test]
fn a_scan_of_cold_keys_does_not_flush_the_hot_set() {
    let mut c = MiniCache::new(ClockTinyLfu::new(), 100);
    for _ in 0..10 {
        c.run(0..50);
    }
    c.run(1_000..3_000);
    let kept = (0..50).filter(|&k| c.contains(k)).count();
    assert!(kept >= 45, "only {kept} of 50 hot keys survived the scan");
}

#[test]
fn a_loop_slightly_larger_than_the_cache_keeps_a_good_fraction() {
    // Like the LIRS `loop` trace: LRU and CLOCK hit nothing, W-TinyLFU about half.
    let mut c = MiniCache::new(ClockTinyLfu::new(), 512);
    let keys: Vec<u64> = (0..100).flat_map(|_| 0..1011).collect();
    let hits = c.run(keys.iter().copied());
    let ratio = hits as f64 / keys.len() as f64;
    assert!(ratio > 0.4, "loop hit ratio {ratio:.3}");
}

/// Drives two policies through the same requests; `extra` also gets `on_access` for every hit
/// that `is_referenced` says would change nothing (as the simulator does), `lean` does not (as
/// the cache does). Returns both eviction orders.
fn eviction_orders(keys: &[u64], capacity: u64) -> (Vec<u32>, Vec<u32>) {
    use std::collections::HashMap;
    let mut extra = ClockTinyLfu::new();
    let mut lean = ClockTinyLfu::new();
    extra.set_capacity(capacity);
    lean.set_capacity(capacity);
    let mut slots: HashMap<u64, u32> = HashMap::new();
    let mut keys_of: HashMap<u32, u64> = HashMap::new();
    let mut free: Vec<u32> = Vec::new();
    let (mut order_extra, mut order_lean) = (Vec::new(), Vec::new());
    let mut skipped = 0;
    for &k in keys {
        let hash = crate::hash::mix64(k);
        if let Some(&slot) = slots.get(&k) {
            assert_eq!(extra.is_referenced(slot), lean.is_referenced(slot));
            if lean.is_referenced(slot) {
                skipped += 1;
            } else {
                lean.on_access(slot, hash);
            }
            extra.on_access(slot, hash);
            continue;
        }
        let slot = free.pop().unwrap_or(slots.len() as u32);
        slots.insert(k, slot);
        keys_of.insert(slot, k);
        extra.on_insert(slot, hash, 1);
        lean.on_insert(slot, hash, 1);
        while slots.len() as u64 > capacity {
            let a = extra.evict().unwrap();
            let b = lean.evict().unwrap();
            order_extra.push(a);
            order_lean.push(b);
            let key = keys_of.remove(&a).unwrap();
            slots.remove(&key);
            free.push(a);
        }
    }
    assert!(skipped > 0, "the workload never exercised a referenced hit");
    (order_extra, order_lean)
}

#[test]
fn on_access_changes_nothing_when_is_referenced() {
    // A skewed stream with recency: many repeated hits on referenced entries.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let keys: Vec<u64> = (0..50_000)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let r = x % 1000;
            if r < 500 {
                r % 40
            } else if r < 800 {
                (i / 10) % 300
            } else {
                r * 7
            }
        })
        .collect();
    let (a, b) = eviction_orders(&keys, 64);
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

#[test]
fn byte_weights_stay_within_capacity_through_evict() {
    // Entries of very different sizes under a byte budget, as in the cache.
    let capacity = 10_000u64;
    let mut p = ClockTinyLfu::new();
    p.set_capacity(capacity);
    let mut weight_of = std::collections::HashMap::new();
    let mut used = 0u64;
    let mut slot_of_key = std::collections::HashMap::new();
    let mut free: Vec<u32> = Vec::new();
    let mut next = 0u32;
    for i in 0..20_000u64 {
        let key = (i * 7919) % 3000;
        let hash = crate::hash::mix64(key);
        if let Some(&slot) = slot_of_key.get(&key) {
            p.on_access(slot, hash);
            continue;
        }
        let w = 16 + (crate::hash::mix64(key ^ 99) % 1500);
        let slot = free.pop().unwrap_or_else(|| {
            next += 1;
            next - 1
        });
        slot_of_key.insert(key, slot);
        weight_of.insert(slot, (key, w));
        used += w;
        p.on_insert(slot, hash, w);
        while used > capacity {
            let v = p.evict().expect("over capacity, a victim exists");
            let (k, vw) = weight_of.remove(&v).expect("victim is resident");
            slot_of_key.remove(&k);
            used -= vw;
            free.push(v);
        }
        assert!(used <= capacity);
    }
    assert!(
        slot_of_key.len() > 5,
        "the cache holds {} entries",
        slot_of_key.len()
    );
    let resident: u64 = weight_of.values().map(|&(_, w)| w).sum();
    assert_eq!(resident, used);
}

#[test]
fn removed_slots_are_not_evicted_and_can_be_reused() {
    let mut p = ClockTinyLfu::new();
    p.set_capacity(4);
    for slot in 0..4 {
        p.on_insert(slot, u64::from(slot), 1);
    }
    p.on_remove(1);
    p.on_insert(1, 100, 1);
    p.on_remove(2);
    let mut out = Vec::new();
    while let Some(v) = p.evict() {
        out.push(v);
    }
    out.sort_unstable();
    assert_eq!(out, vec![0, 1, 3]);
}

#[test]
fn clear_forgets_everything() {
    let mut p = ClockTinyLfu::new();
    p.set_capacity(10);
    for slot in 0..20 {
        p.on_insert(slot, u64::from(slot), 1);
        p.on_access(slot, u64::from(slot));
    }
    p.clear();
    assert_eq!(p.evict(), None);
    assert!(!p.is_referenced(3));
    p.on_insert(3, 3, 1);
    assert_eq!(p.evict(), Some(3));
    assert_eq!(p.evict(), None);
}

#[test]
fn bytes_per_slot_is_small() {
    let p = ClockTinyLfu::new();
    assert!(p.bytes_per_slot() > 0 && p.bytes_per_slot() <= 16);
}

#[test]
fn an_entry_bounded_cache_still_asks_the_admission_filter() {
    // A cache bounded by entry count gives the policy a byte capacity it never reaches, and
    // evicts whenever it holds one entry too many: the scan must still not flush the hot set.
    let mut p = ClockTinyLfu::new();
    p.set_capacity(u64::MAX / 8);
    let mut slot_of = std::collections::HashMap::new();
    let mut key_of = std::collections::HashMap::new();
    let mut free: Vec<u32> = Vec::new();
    let mut request = |p: &mut ClockTinyLfu, key: u64| {
        let hash = crate::hash::mix64(key);
        if let Some(&slot) = slot_of.get(&key) {
            p.on_access(slot, hash);
            return;
        }
        let slot = free.pop().unwrap_or(slot_of.len() as u32);
        slot_of.insert(key, slot);
        key_of.insert(slot, key);
        p.on_insert(slot, hash, 40);
        while slot_of.len() > 100 {
            let v = p.evict().unwrap();
            slot_of.remove(&key_of.remove(&v).unwrap());
            free.push(v);
        }
    };
    for _ in 0..10 {
        for k in 0..50 {
            request(&mut p, k);
        }
    }
    for k in 1_000..3_000 {
        request(&mut p, k);
    }
    let kept = (0..50).filter(|k| slot_of.contains_key(k)).count();
    assert!(kept >= 45, "only {kept} of 50 hot keys survived the scan");
}

#[test]
fn room_from_a_boundary_move_goes_only_to_candidates_that_win() {
    // Main full of keys seen ten times; then the window boundary moves towards main (as the
    // adaptation does in small steps) and a scan of cold keys passes through the window.
    let mut c = MiniCache::new(ClockTinyLfu::with_static_window(0.2), 100);
    for _ in 0..10 {
        c.run(0..100);
    }
    // The first overflow fills main from the window.
    c.run(100..110);
    let main_before = c.policy.main.live;
    assert!(main_before >= 70, "main holds {main_before}");
    c.policy.nudge(-0.1);
    c.run(1_000..1_200);
    assert!(
        c.policy.main.live <= main_before,
        "cold candidates took main's new room: {main_before} -> {}",
        c.policy.main.live
    );
    let kept = (0..100).filter(|&k| c.contains(k)).count();
    assert!(kept >= 75, "only {kept} of 100 warm keys survived the scan");
}

#[test]
fn the_boundary_moves_once_per_period_by_the_net_of_its_signals() {
    let mut c = MiniCache::new(ClockTinyLfu::new(), 1_000);
    c.run(0..1_100);
    c.policy.end_period();
    let (share, window_max) = (c.policy.window_share(), c.policy.window_max);
    // Opposite signals within one period cancel: no move, so no entry changes region for them.
    c.policy.nudge(0.2);
    c.policy.nudge(-0.2);
    c.policy.end_period();
    assert!((c.policy.window_share() - share).abs() < 1e-12);
    assert_eq!(c.policy.window_max, window_max);
    // A net signal waits for the period's end.
    c.policy.nudge(0.1);
    assert_eq!(c.policy.window_max, window_max);
    c.policy.end_period();
    assert!(c.policy.window_max > window_max);
}

#[test]
fn main_tail_signal_counts_hits_on_main_least_frequent_quarter() {
    use super::{HITS, MAIN, STATE, freq};
    let mut c = MiniCache::new(ClockTinyLfu::new(), 1_000);
    // Keys 0..250 are requested eight times and 250..1_000 once; a short scan then fills main.
    for _ in 0..8 {
        c.run(0..250);
    }
    c.run(250..1_000);
    c.run(10_000..10_020);
    let hot = c.slot(5).expect("hot key resident");
    let cold = (250..1_000)
        .filter_map(|k| c.slot(k))
        .find(|&s| c.policy.meta[s as usize] & STATE == MAIN)
        .expect("a once-seen key in main");
    let p = &mut c.policy;
    assert_eq!(p.main_by_freq.iter().sum::<u64>(), p.main.weight);
    p.recompute_tail();
    assert_eq!(p.tail_weight, p.main.weight.div_ceil(4));
    let (f_hot, f_cold) = (freq(p.meta[hot as usize]), freq(p.meta[cold as usize]));
    assert!(
        f_cold <= p.tail_cut && p.tail_cut < f_hot,
        "{f_cold} {} {f_hot}",
        p.tail_cut
    );
    // A hit on a frequent entry is not a hit main would lose if smaller...
    p.meta[hot as usize] &= !HITS;
    p.on_access(hot, 0);
    assert_eq!(p.tail_hits + p.cut_hits, 0);
    // ... one on an entry of its least frequent quarter is, and the histogram follows it.
    p.on_access(cold, 0);
    assert_eq!(p.tail_hits + p.cut_hits, 1);
    assert_eq!(p.main_by_freq.iter().sum::<u64>(), p.main.weight);
    p.apply_tail_hits();
    assert!(
        p.pending_step < 0.0,
        "a tail hit moves the boundary towards the window"
    );
}

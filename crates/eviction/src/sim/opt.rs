//! Belady's offline optimum (MIN) with bypass, the upper bound for every online policy.

use std::collections::BinaryHeap;

use crate::sim::SimResult;
use crate::trace::Trace;

/// "Never used again".
const NEVER: u32 = u32::MAX;

/// Belady's MIN with bypass over one trace, ready to run at several capacities.
///
/// On a miss in a full cache, the resident whose next use is farthest in the future is
/// evicted, unless the newcomer's own next use is farther still: then the newcomer is not
/// admitted (bypass). With unit weights this is optimal (L. A. Belady, "A study of replacement
/// algorithms for a virtual-storage computer", IBM Systems Journal, 1966). With sizes it is the
/// usual greedy extension (evict farthest-next-use until the newcomer fits), a strong bound but
/// not a proven optimum.
///
/// # Examples
///
/// ```
/// use eviction::{sim::Belady, trace::Trace};
///
/// // a b c a b c with room for 2: keep a, bypass c, hit a and b once each.
/// let opt = Belady::new(&Trace::from_keys(vec![1, 2, 3, 1, 2, 3]));
/// assert_eq!(opt.simulate(2).hits, 2);
/// ```
#[derive(Clone, Debug)]
pub struct Belady {
    /// Dense id of each request's key.
    ids: Vec<u32>,
    /// Index of the next request for the same key, or [`NEVER`].
    next: Vec<u32>,
    /// Weight of each request.
    weights: Option<Vec<u32>>,
    n_keys: usize,
}

impl Belady {
    /// Computes every request's next use (one backward pass).
    ///
    /// # Panics
    ///
    /// When the trace has 2³² − 1 requests or more.
    ///
    /// # Examples
    ///
    /// ```
    /// use eviction::{sim::Belady, trace::Trace};
    ///
    /// let opt = Belady::new(&Trace::from_keys(vec![1, 2, 1]));
    /// assert_eq!(opt.simulate(1).hits, 1);
    /// ```
    pub fn new(trace: &Trace) -> Belady {
        let keys = trace.keys();
        assert!(keys.len() < NEVER as usize, "trace too long for Belady");
        let ids = trace.key_ids().to_vec();
        let n_keys = trace.unique_keys();
        let mut last = vec![NEVER; n_keys];
        let mut next = vec![NEVER; keys.len()];
        for i in (0..keys.len()).rev() {
            let id = ids[i] as usize;
            next[i] = last[id];
            last[id] = i as u32;
        }
        let weights = trace.sizes().map(|s| s.iter().map(|&w| w.max(1)).collect());
        Belady {
            ids,
            next,
            weights,
            n_keys,
        }
    }

    /// Replays the trace at `capacity` (entries, or bytes for sized traces).
    ///
    /// # Examples
    ///
    /// ```
    /// use eviction::{sim::Belady, trace::Trace};
    ///
    /// let opt = Belady::new(&Trace::from_keys(vec![1, 2, 3, 1, 2, 3]));
    /// assert_eq!(opt.simulate(3).hits, 3);
    /// assert_eq!(opt.simulate(0).hits, 0);
    /// ```
    pub fn simulate(&self, capacity: u64) -> SimResult {
        // Each resident key has one live heap entry: (its next use, its id). A next use of
        // "never" becomes `u64::MAX - i` so that such entries stay distinct and sort last.
        let mut heap: BinaryHeap<(u64, u32)> = BinaryHeap::new();
        let mut next_of: Vec<u64> = vec![0; self.n_keys];
        let mut resident: Vec<bool> = vec![false; self.n_keys];
        let mut weight_of: Vec<u64> = vec![0; self.n_keys];
        let mut n_resident = 0usize;
        let mut used = 0u64;
        let mut hits = 0u64;
        for (i, (&id, &nx)) in self.ids.iter().zip(&self.next).enumerate() {
            let id_us = id as usize;
            let next_use = if nx == NEVER {
                u64::MAX - i as u64
            } else {
                u64::from(nx)
            };
            let weight = self.weights.as_ref().map_or(1, |w| u64::from(w[i]));
            if resident[id_us] {
                hits += 1;
                next_of[id_us] = next_use;
                heap.push((next_use, id));
                used = used - weight_of[id_us] + weight;
                weight_of[id_us] = weight;
                // A size change can overflow the cache: drop the farthest until it fits.
                while used > capacity {
                    let Some((_, v)) = pop_live(&mut heap, &next_of, &resident) else {
                        break;
                    };
                    resident[v as usize] = false;
                    used -= weight_of[v as usize];
                    n_resident -= 1;
                }
            } else {
                if weight > capacity {
                    continue;
                }
                let mut admit = true;
                while used + weight > capacity {
                    let Some(&(far, v)) = peek_live(&mut heap, &next_of, &resident) else {
                        break;
                    };
                    if far <= next_use {
                        admit = false;
                        break;
                    }
                    heap.pop();
                    resident[v as usize] = false;
                    used -= weight_of[v as usize];
                    n_resident -= 1;
                }
                if admit {
                    resident[id_us] = true;
                    next_of[id_us] = next_use;
                    weight_of[id_us] = weight;
                    used += weight;
                    n_resident += 1;
                    heap.push((next_use, id));
                }
            }
            if heap.len() > 4 * n_resident + 1024 {
                heap.retain(|&(n, v)| resident[v as usize] && next_of[v as usize] == n);
            }
        }
        SimResult {
            requests: self.ids.len() as u64,
            hits,
        }
    }
}

/// The live entry on top of the heap, dropping stale ones on the way.
fn peek_live<'h>(
    heap: &'h mut BinaryHeap<(u64, u32)>,
    next_of: &[u64],
    resident: &[bool],
) -> Option<&'h (u64, u32)> {
    while let Some(&(n, v)) = heap.peek() {
        if resident[v as usize] && next_of[v as usize] == n {
            break;
        }
        heap.pop();
    }
    heap.peek()
}

/// Pops the live entry on top of the heap.
fn pop_live(
    heap: &mut BinaryHeap<(u64, u32)>,
    next_of: &[u64],
    resident: &[bool],
) -> Option<(u64, u32)> {
    peek_live(heap, next_of, resident)?;
    heap.pop()
}

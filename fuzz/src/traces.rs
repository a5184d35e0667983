//! Trace readers on arbitrary bytes: an error or a trace that keeps the readers' promises,
//! then, for small traces, every policy and OPT replaying it.

use eviction::sim::PolicyKind;
use eviction::trace::{ARC_KEYS_PER_BYTE, ARC_KEYS_SLACK, MAX_REQUESTS, Trace, TraceFormat};

/// Traces longer than this are only read, not replayed (to keep executions fast).
const REPLAY_LIMIT: usize = 4096;

/// Reads `data` as `format`; a trace read must respect the readers' limits and number its keys
/// consistently, and every policy must replay it without panicking.
pub fn check(data: &[u8], format: TraceFormat) {
    let Ok(trace) = Trace::parse(data, format) else {
        return;
    };
    let n = trace.len();
    assert!(n as u64 <= MAX_REQUESTS, "{n} requests");
    if format == TraceFormat::Arc {
        let limit = data.len() as u64 * ARC_KEYS_PER_BYTE + ARC_KEYS_SLACK;
        assert!(n as u64 <= limit, "{n} keys from {} bytes", data.len());
    }
    if let Some(sizes) = trace.sizes() {
        assert_eq!(sizes.len(), n);
    }
    let ids = trace.key_ids();
    assert_eq!(ids.len(), n);
    let unique = trace.unique_keys();
    assert!(unique <= n);
    assert!(ids.iter().all(|&id| (id as usize) < unique));
    if n == 0 || n > REPLAY_LIMIT {
        return;
    }
    // A capacity from the input: entries for unit traces, bytes (up to 4 GiB) for sized ones.
    let seed = u64::from(data[0]) | u64::from(data[data.len() - 1]) << 8;
    let capacity = if trace.is_weighted() {
        seed << 16
    } else {
        seed % 64
    };
    for &kind in PolicyKind::ALL {
        let r = kind.run(&trace, capacity);
        assert_eq!(r.requests, n as u64);
        assert!(r.hits <= r.requests);
    }
}

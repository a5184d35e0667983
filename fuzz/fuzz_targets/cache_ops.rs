//! Fuzz target: arbitrary sequences of cache operations against `cache_core::Cache`, with every
//! policy of `eviction`, checked against bounds and a model of the values each key may hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| query_cache_fuzz::ops::check(data));

//! Fuzz target: the `Lirs` trace reader on arbitrary bytes, then the simulator on what it read.
#![no_main]

use eviction::trace::TraceFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| query_cache_fuzz::traces::check(data, TraceFormat::Lirs));
